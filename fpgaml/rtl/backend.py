"""The tracing library behind ``fpgaml rtl``: da4ml 0.6.0 or alkaid 0.8 (da4ml renamed), under one set of names.

This is the only module of the RTL backend (``fpgaml/rtl``, the families' lowerings, the DA cost model) that imports
either library. ``use(name)`` selects one for the code run inside it (a context variable: each thread and task
carries its own); :func:`api` returns the selected library's names. Both trace the same fixed-point arithmetic;
they differ in their optimisations (alkaid fuses adder pairs into ternary adders) and in how their Verilog is laid
out (da4ml: a ``Pipeline`` of ``<name>_stage<i>`` modules; alkaid: an ``FSM`` of ``<name>_logic<i>`` blocks, 64-bit
testbench I/O). hls4ml's own distributed_arithmetic strategy keeps da4ml 0.6.0, the version hls4ml 1.3.0 accepts.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from fpgaml.errors import FpgamlError

BACKENDS = ('da4ml', 'alkaid')
# benchmarks/rtl_backends.py (issue 23): the one with fewer Yosys LUTs at equal cycles and 0 mismatching bits
DEFAULT = 'da4ml'
_selected: contextvars.ContextVar[str] = contextvars.ContextVar('fpgaml_rtl_backend', default=DEFAULT)


@dataclass(frozen=True)
class Written:
    """What a backend's Verilog writer reports: the structure the testbench and the cost model need."""

    top: str  # the I/O wrapper module (uniform bit widths per port)
    in_kif: tuple[int, int, int]  # the wrapper's per-element input (k, i, f)
    out_kif: tuple[int, int, int]
    stages: int  # register stages (0: combinational)
    reg_bits: int
    cost: float  # the library's own LUT estimate
    io_int: str  # the C integer type of the testbench's ioutil.hh helpers
    staged: object  # what the Verilog is: da4ml Pipeline / CombLogic, or alkaid FSM
    binder_files: tuple[str, ...]  # the library's own emulator files under sim/, replaced by fpgaml's testbench


@dataclass(frozen=True)
class Api:
    """One backend's names. ``FixedVariable`` is the class every traced value is an instance of."""

    name: str
    version: str
    FixedVariable: type
    FixedVariableArray: type
    comb_trace: Callable  # (inputs, outputs) -> combinational logic with .predict, .cost, .shape
    input_array: Callable  # (n, solver_options) -> input array sized by the casts applied to it
    raw: Callable  # an array of the library -> plain object ndarray of FixedVariables
    stage: Callable  # (comb, cutoff) -> what the Verilog of cutoff is (pipeline / FSM), comb when cutoff is 0
    write_verilog: Callable  # (comb, rtl_dir, name, cutoff, part, clock_period) -> Written
    load_written: Callable  # (rtl_dir, comb, pipelined) -> the staged object the written Verilog is
    width: Callable  # QInterval -> bits of its minimal fixed-point type
    stages_of: Callable  # staged object -> [CombLogic per stage], register bits, stages (0: combinational)


def use_backend(name: str | None) -> str:
    """``name`` checked (None: the default)."""
    name = name or DEFAULT
    if name not in BACKENDS:
        raise FpgamlError(f'unknown RTL backend "{name}"; choose one of: {", ".join(BACKENDS)}')
    return name


@contextlib.contextmanager
def use(name: str | None) -> Iterator[Api]:
    """Trace and write with backend ``name`` (None: the default) inside the block."""
    token = _selected.set(use_backend(name))
    try:
        yield api()
    finally:
        _selected.reset(token)


def selected() -> str:
    return _selected.get()


def api(name: str | None = None) -> Api:
    """Backend ``name``'s names (None: the selected one), imported on first use."""
    return _api(use_backend(name) if name else _selected.get())


def version(name: str) -> str:
    from importlib import metadata

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return 'not installed'


@cache
def _api(name: str) -> Api:
    try:
        return _da4ml() if name == 'da4ml' else _alkaid()
    except ImportError as e:
        raise FpgamlError(f'the RTL backend "{name}" is not installed ({e}): pip install "fpgaml[rtl]"') from None


def _da4ml() -> Api:
    from da4ml.trace import FixedVariable, FixedVariableArray, FixedVariableArrayInput, HWConfig, comb_trace
    from da4ml.trace.pipeline import to_pipeline
    from da4ml.types import Pipeline

    from fpgaml.estimate.da import da4ml_names

    names = da4ml_names()  # how a QInterval's width and a pipeline's stages are read (the DA cost model's)

    def input_array(n, solver_options):
        return FixedVariableArrayInput((n,), HWConfig(1, -1, -1), solver_options=solver_options)

    def stage(comb, cutoff):
        return to_pipeline(comb, cutoff, verbose=False) if cutoff > 0 else comb

    def load_written(rtl_dir, comb, pipelined):
        return Pipeline.load(str(Path(rtl_dir) / 'model' / 'pipeline.json')) if pipelined else comb

    return Api(
        'da4ml',
        version('da4ml'),
        FixedVariable,
        FixedVariableArray,
        comb_trace,
        input_array,
        lambda a: a._vars,
        stage,
        _write_da4ml,
        load_written,
        names.width,
        names.stages_of,
    )


def _write_da4ml(comb, rtl_dir: Path, name: str, cutoff: float, part: str, clock_period: float) -> Written:
    from da4ml.codegen import VerilogModel
    from da4ml.codegen.rtl.rtl_model import get_io_kifs

    model = VerilogModel(
        comb, name, rtl_dir, latency_cutoff=cutoff, print_latency=False, part_name=part, clock_period=clock_period
    )
    model.write()
    pipe = model._pipe
    kin, kout = get_io_kifs(comb)
    return Written(
        f'{name}_wrapper',
        tuple(int(np.max(a)) for a in kin),
        tuple(int(np.max(a)) for a in kout),
        len(pipe.solutions) if pipe is not None else 0,
        int(pipe.reg_bits) if pipe is not None else 0,
        float(comb.cost),
        'int32_t',
        pipe if pipe is not None else comb,
        ('build_binder.mk', f'{name}_wrapper_binder.cc', 'binder_util.hh'),
    )


def _alkaid() -> Api:
    from alkaid.stateful import FSM
    from alkaid.trace import FVariable, FVArray, FVArrayInput, HWConfig, trace

    def input_array(n, solver_options):
        return FVArrayInput((n,), HWConfig(1, -1, -1), solver_options=solver_options)

    def stage(comb, cutoff):  # the FSM RTLModel writes (its adders fused), without writing it
        return _rtl_model(comb, Path('/nonexistent'), 'staged', cutoff).fsm

    def load_written(rtl_dir, comb, pipelined):
        return FSM.load(Path(rtl_dir) / 'model' / 'fsm.json.gz')

    return Api(
        'alkaid',
        version('alkaid'),
        FVariable,
        FVArray,
        trace,
        input_array,
        lambda a: np.asarray(a).view(np.ndarray),
        stage,
        _write_alkaid,
        load_written,
        lambda q: int(sum(q.kif)),
        _fsm_stages,
    )


def _fsm_stages(staged):
    """alkaid FSM -> its logic blocks, register bits and register stages; a CombLogic is one block, no registers."""
    if not hasattr(staged, 'logic'):
        return [staged], 0, 0
    reg_bits = sum(s.width for s in staged.signals.values() if s.reg)  # width: all elements
    clocked = reg_bits > 0
    return list(staged.logic.values()), reg_bits, len(staged.logic) if clocked else 0


def _rtl_model(comb, rtl_dir: Path, name: str, cutoff: float, part: str = 'xcvu13p-flga2577-2-e', clock: float = 5):
    """alkaid's RTLModel as fpgaml writes it: ternary-adder fusion on (alkaid's default), latency_cutoff stages
    with registered input and output (the layout of da4ml's pipeline: cutoff > 0 gives as many cycles)."""
    from alkaid.codegen import RTLModel

    return RTLModel(
        comb,
        rtl_dir,
        prj_name=name,
        latency_cutoff=cutoff if cutoff > 0 else -1,
        print_latency=False,
        part_name=part,
        clock_period=clock,
    )


def _write_alkaid(comb, rtl_dir: Path, name: str, cutoff: float, part: str, clock_period: float) -> Written:
    model = _rtl_model(comb, rtl_dir, name, cutoff, part, clock_period)
    model.write()
    fsm = model.fsm
    (inp,), (out,) = fsm.inp_signals, fsm.out_signals
    blocks, reg_bits, stages = _fsm_stages(fsm)
    return Written(
        f'{name}_wrapper',
        tuple(int(v) for v in np.max(np.asarray(inp.precisions, dtype=np.int64), axis=0)),
        tuple(int(v) for v in np.max(np.asarray(out.precisions, dtype=np.int64), axis=0)),
        stages,
        reg_bits,
        float(sum(b.cost for b in blocks)),
        'int64_t',
        fsm,
        ('build_fsm_binder.mk', 'fsm_wrapper.hh', 'fsm_binder.cc', 'fsm_config.hh'),
    )
