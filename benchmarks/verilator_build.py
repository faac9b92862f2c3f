"""Verilator build time of the zoo models' RTL simulation, old build options against the current ones, same bits.

    .venv/bin/python benchmarks/verilator_build.py [--models jet_mlp reference_mlp] [--samples 10000] [--work DIR]

Each model's Verilog, its input samples and the C-simulation's outputs are written once into ``--work`` (reused
on a rerun); then the testbench library is built twice, each time into a fresh cache (never a cache hit): with the
options fpgaml used before issue 24 (one Verilator/make job, g++ -O1) and with the current ones
(``fpgaml.rtl.sim``: -O0, one job per available core). Both libraries simulate the same samples; the table shows
the build seconds (wall, and the CPU seconds of the compilers, which do not depend on the number of cores), the
simulation seconds and whether the two simulations agree bit for bit, every cycle, and with the C-simulation.

Measured on 2 shared cores, 10,000 samples (build wall old -> new; sim): jet_mlp 78.5 -> 22.6 s (3.5x; 0.09 ->
0.22 s), reference_mlp 140.6 -> 31.9 s (4.4x; 0.14 -> 0.33 s), jet_binary 357.8 -> 213.7 s (1.7x; 0.75 -> 4.0 s:
Verilator's own single-threaded conversion, about 120 s of it, is untouched); same bits on all three.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault('TF_USE_LEGACY_KERAS', '1')
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

# What fpgaml.rtl.sim built with before issue 24 (run_rtl called build_sim with its default of one job)
OLD = {'VERILATOR_CFLAGS': '-std=c++17 -fPIC -O1', 'jobs': 1}


def prepare(name: str, samples: int, work: Path) -> Path:
    """The model's Verilog (``<work>/<name>-<samples>/rtl``), inputs and C-simulation outputs, written once."""
    out = work / f'{name}-{samples}'
    if (out / 'design.pkl').is_file():
        return out
    from da4ml.trace import comb_trace

    from fpgaml.config import load_config
    from fpgaml.project import Project
    from fpgaml.rtl import _csim_layer, _input_samples, build_rtl_graph
    from fpgaml.rtl.sim import write_design

    src = REPO / 'models' / name / 'config.yml'
    text = src.read_text()
    path = src
    if 'io_type: io_stream' in text:  # as benchmarks/rtl.py: the RTL backend builds io_parallel designs
        path = src.with_name(f'.verilator-bench-{os.getpid()}.yml')
        path.write_text(text.replace('io_type: io_stream', 'io_type: io_parallel'))
    try:
        cfg = load_config(path, output_dir=out / 'project')
    finally:
        if path != src:
            path.unlink()
    p = Project(cfg)
    p.write(out / 'project')
    conv = p.convert()
    rg = build_rtl_graph(conv.graph, cfg.io_type)
    comb = comb_trace(rg.inputs, rg.outputs)
    d = write_design(comb, out / 'rtl', f'{cfg.name}_rtl', 5.0, cfg.part, cfg.clock_period)
    x, _, _ = _input_samples(p, samples, 0)
    expected = _csim_layer(p, x, {rg.output_layer: d.n_out})[rg.output_layer]
    np.save(out / 'x.npy', x)
    np.save(out / 'expected.npy', expected)
    (out / 'design.pkl').write_bytes(pickle.dumps(d))
    p.close()
    return out


def measure(out: Path, flavour: dict | None) -> dict:
    """Build the testbench library into a fresh cache with ``flavour``'s options (None: the current ones), run it."""
    from fpgaml.rtl import sim

    d = pickle.loads((out / 'design.pkl').read_bytes())
    x, expected = np.load(out / 'x.npy'), np.load(out / 'expected.npy')
    saved = {'VERILATOR_CFLAGS': sim.VERILATOR_CFLAGS}
    jobs = None
    if flavour is not None:
        jobs = flavour['jobs']
        for k in saved:
            setattr(sim, k, flavour[k])
    try:
        with tempfile.TemporaryDirectory(prefix='fpgaml-verilator-bench-') as cache:
            cpu0 = _children_cpu_s()
            lib = sim.build_sim(d, Path(cache), jobs=jobs)
            cpu = _children_cpu_s() - cpu0
            assert not lib.cached
            t0 = time.perf_counter()
            cycles = sim.Simulator(lib.path, d).run_cycles(x, d.stages + 3)
            sim_s = time.perf_counter() - t0
    finally:
        for k, v in saved.items():
            setattr(sim, k, v)
    n = x.shape[0]
    latency = next((L for L in range(d.stages + 4) if np.array_equal(cycles[L : L + n], expected)), None)
    return {'build_s': lib.build_s, 'build_cpu_s': cpu, 'sim_s': sim_s, 'cycles': cycles, 'latency': latency}


def _children_cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--models', nargs='*', default=['jet_mlp', 'reference_mlp'])
    ap.add_argument('--samples', type=int, default=10000)
    ap.add_argument('--work', type=Path, default=Path(tempfile.gettempdir()) / 'fpgaml-verilator-bench')
    ap.add_argument('--json', type=Path)
    args = ap.parse_args()
    from fpgaml.rtl.sim import build_jobs

    rows = []
    for m in args.models:
        out = prepare(m, args.samples, args.work)
        old, new = measure(out, OLD), measure(out, None)
        rows.append(
            {
                'model': m,
                'old_build_s': old['build_s'],
                'new_build_s': new['build_s'],
                'ratio': old['build_s'] / new['build_s'],
                'old_build_cpu_s': old['build_cpu_s'],
                'new_build_cpu_s': new['build_cpu_s'],
                'old_sim_s': old['sim_s'],
                'new_sim_s': new['sim_s'],
                'same_outputs': bool(np.array_equal(old['cycles'], new['cycles'])),
                'equals_csim': old['latency'] is not None and new['latency'] == old['latency'],
            }
        )
        print(json.dumps(rows[-1]), flush=True)
    print(f'\nnew: {build_jobs()} build jobs (cores available), old: 1; samples: {args.samples}')
    print(
        f'{"model":14} {"old build":>9} {"new build":>9} {"ratio":>5} | {"CPU old":>7} {"CPU new":>7} {"ratio":>5} | '
        f'{"old sim":>7} {"new sim":>7} | same bits'
    )
    for r in rows:
        same = 'yes' if r['same_outputs'] and r['equals_csim'] else 'NO'
        print(
            f'{r["model"]:14} {r["old_build_s"]:>8.1f}s {r["new_build_s"]:>8.1f}s {r["ratio"]:>5.2f} | '
            f'{r["old_build_cpu_s"]:>6.1f}s {r["new_build_cpu_s"]:>6.1f}s '
            f'{r["old_build_cpu_s"] / r["new_build_cpu_s"]:>5.2f} | '
            f'{r["old_sim_s"]:>6.2f}s {r["new_sim_s"]:>6.2f}s | {same}'
        )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == '__main__':
    main()
