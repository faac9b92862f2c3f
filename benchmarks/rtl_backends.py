"""`fpgaml rtl` with each tracing library (issue 23): da4ml 0.6.0 against alkaid 0.8 (da4ml renamed) on the zoo
and the published HGQ2 jet taggers: Yosys LUT/FF, Verilator cycles, mismatching bits, build time.

    .venv/bin/python benchmarks/rtl_backends.py [--models jet_mlp hgq2-0.750 ...] [--backends da4ml alkaid]
        [--samples 10000] [--json benchmarks/results/rtl_backends.json] [--append] [--show]

Each model is built once per backend through the real `fpgaml rtl` path (convert, C-simulation, trace, Verilog,
Verilator against the C-simulation, Yosys synth_xilinx with fpgaml's script) at the default pipeline cutoff (5) and
the model's own clock. Build time = trace + Verilog + Verilator build and run + Yosys, in seconds (the conversion and
C-simulation are the same for both and left out). Verilator builds are cached by content: the column `cached` says
when a library came from the cache (its build then counts 0 s). The zoo's io_stream models are run with io_parallel
(benchmarks/rtl.py); the HGQ2 models are loaded as benchmarks/hgq2_rtl.py does (../shared/realmodels/hgq2-jsc).
The rows are appended to the JSON file as they finish, so that an interrupted run keeps what it measured.

Bit widths (the jet_mlp gap): per model, an EBOPs-like count of its constant-matrix layers (HGQ's effective
bit operations, about a LUT each): the sum over the nonzero weights of bits(input element) x bits(weight), the input
bits as the traced arithmetic sizes them (per element for HGQ), the weight bits from its highest to its lowest set
bit. For the HGQ2 taggers it lands within 10% of the EBOPs in their file names.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault('TF_USE_LEGACY_KERAS', '1')
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / 'benchmarks'))

ZOO = ['reference_mlp', 'jet_ternary', 'jet_binary', 'jet_hgq', 'jet_mlp']
HGQ2 = ['hgq2-0.750', 'hgq2-0.771']
BUILD_STEPS = ('da4ml_trace', 'verilog_write', 'verilator_build', 'verilator_sim', 'yosys')


def _load(name: str, work: Path):
    """(config, cleanup) of a zoo model or a shared HGQ2 model, as benchmarks/rtl.py and hgq2_rtl.py build them."""
    from fpgaml.config import load_config

    if name.startswith('hgq2-'):
        from hgq2_rtl import CLOCK_NS, MODELS, PART, SHARED

        acc = name.removeprefix('hgq2-')
        d = work / name
        d.mkdir(parents=True, exist_ok=True)
        (d / 'config.yml').write_text(
            f'model: {SHARED / MODELS[acc]}\nname: jsc{acc.replace(".", "")}\npart: {PART}\n'
            f'clock_period: {CLOCK_NS:g}\nvalidation:\n  samples: 2000\n'
        )
        return load_config(d / 'config.yml', output_dir=d / 'prj'), None
    from rtl import _config

    path = _config(name, work)
    return load_config(path, output_dir=work / name), path if path.name.startswith('.rtl-bench-') else None


def matched_cutoff(project, backend: str, stages: int) -> float:
    """The pipeline_cutoff that gives ``backend`` ``stages`` register stages on this model: the libraries' delay
    units differ (alkaid's adders are about 1.2-1.4 of da4ml's unit, by width), so cutoff 5 is not the same depth."""
    from fpgaml.rtl.model import pipeline_of

    (block,) = pipeline_of(project.convert().graph, project.cfg.io_type, 0, backend).logic.values()
    return max(op.latency for op in block.ops) / stages * (1 + 1e-6)


def run(name: str, backend: str, samples: int, work: Path, with_bits: bool = False, stages: int | None = None) -> dict:
    from fpgaml.flow import run_flow
    from fpgaml.project import Project
    from fpgaml.rtl import RtlOptions

    cfg, temporary = _load(name, work / f'{backend}-{stages}')
    try:
        cutoff = None
        if stages is not None:  # the same depth as another backend's design
            cutoff = matched_cutoff(Project(cfg), backend, stages)
        t0 = time.perf_counter()
        opts = RtlOptions.from_config(cfg, samples=samples, backend=backend, pipeline_cutoff=cutoff)
        p = run_flow(Project(cfg), 'rtl', force=True, rtl_options=opts)
        wall = time.perf_counter() - t0
    finally:
        if temporary is not None:
            temporary.unlink(missing_ok=True)
    r = p.rtl_result
    syn = (r.synthesis or {}).get('total', {})
    return {
        'model': name,
        'backend': r.backend,
        'pipeline_cutoff': round(r.pipeline_cutoff, 3),
        'LUT': syn.get('LUT'),
        'FF': syn.get('FF'),
        'CARRY': syn.get('CARRY'),
        'DSP': syn.get('DSP'),
        'cycles': r.latency_cycles,
        'stages': r.pipeline_stages,
        'mismatching_bits': r.mismatching_bits,
        'samples': r.samples,
        'register_bits': r.register_bits,
        'library_cost': r.da4ml_cost_lut,
        'da_estimate': r.da_estimate,
        'build_s': round(sum(r.times_s.get(k, 0.0) for k in BUILD_STEPS), 1),
        'times_s': {k: round(v, 1) for k, v in r.times_s.items()},
        'verilator_cached': r.verilator_cached,
        'total_s': round(wall, 1),
        'bits': bit_widths(p) if with_bits else None,
    }


def _magnitude_bits(w: np.ndarray) -> np.ndarray:
    """Bits from the highest to the lowest set bit of each (dyadic) weight; 0 for 0."""
    a = np.abs(w.astype(np.float64))
    out = np.zeros(a.shape, dtype=np.int64)
    nz = a > 0
    lsb = np.full(a.shape, 60)
    for n in range(60, -61, -1):  # the lowest set bit: the smallest n with a * 2^n an integer
        lsb = np.where(nz & (np.mod(a * 2.0**n, 1.0) == 0), n, lsb)
    out[nz] = np.floor(np.log2(a[nz])).astype(np.int64) + lsb[nz] + 1
    return out


def bit_widths(project) -> dict:
    """Per weighted layer: nonzero weights, mean weight bits, mean input bits, EBOPs (see the module docstring)."""
    from fpgaml.rtl.backend import use
    from fpgaml.rtl.model import build_rtl_graph
    from fpgaml.rtl.ops import weights

    graph = project.convert().graph
    with use('da4ml'):  # only the values' widths are read: either library sizes them alike
        rg = build_rtl_graph(graph, project.cfg.io_type)
        layers = []
        for lay in graph.get_layers():
            if 'weight' not in getattr(lay, 'weights', {}) or lay.name not in rg.layers:
                continue
            w, _ = weights(lay, 'weight')
            w = w.reshape(-1, w.shape[-1])
            xb = np.array([sum(v.kif) for v in rg.layers[lay.get_input_node().name]])
            if xb.size != w.shape[0]:
                continue  # a convolution: its rows are patches, not the input (not in this benchmark's models)
            nz, wb = w != 0, _magnitude_bits(w)
            layers.append(
                {
                    'layer': lay.name,
                    'nonzero_weights': int(nz.sum()),
                    'mean_weight_bits': round(float(wb[nz].mean()), 2),
                    'mean_input_bits': round(float(xb.mean()), 2),
                    'ebops': int((xb[:, None] * wb)[nz].sum()),
                }
            )
    return {
        'nonzero_weights': sum(r['nonzero_weights'] for r in layers),
        'ebops': sum(r['ebops'] for r in layers),
        'layers': layers,
    }


def fit_ternary(rows: list[dict]) -> float | None:
    """The LUTs per carry bit of alkaid's fused three-term adders that fit Yosys best (least squares, relative), the
    DA cost model's other factors held: ``fpgaml.estimate.da.LUT_PER_TERNARY_BIT``."""
    from fpgaml.estimate import da

    xs, ys = [], []
    designs = {r['model']: r for r in rows if 'error' not in r and r['backend']['name'] == 'alkaid'}  # one each
    for r in designs.values():
        c = r.get('da_estimate', {}).get('counts', {})
        if not c.get('ternary_bits') or not r['LUT']:
            continue
        rest = da.LUT_PER_ADDER_BIT * (c['adder_bits'] - c['ternary_bits']) + da.LUT_PER_LOGIC_BIT * c['logic_bits']
        xs.append(c['ternary_bits'] / r['LUT'])
        ys.append((r['LUT'] - rest) / r['LUT'])
    if not xs:
        return None
    x, y = np.array(xs), np.array(ys)
    return float(x @ y / (x @ x))


def table(rows: list[dict]) -> None:
    print(
        f'\n{"model":14} {"backend":14} {"cutoff":>6} {"LUT":>7} {"FF":>6} {"CARRY":>6} {"cycles":>6} {"bad bits":>8} '
        f'{"build s":>7} {"cached":>6} | {"est LUT":>7} {"est err":>7} | {"adder bits":>10} {"EBOPs":>7}'
    )
    ebops = {r['model']: r['bits']['ebops'] for r in rows if r.get('bits')}
    for r in rows:
        if 'error' in r:
            print(f'{r["model"]:14} {r["backend"]:14} {r["error"][:160]}')
            continue
        b = f'{r["backend"]["name"]} {r["backend"]["version"]}'
        est = r['da_estimate']['lut']
        err = f'{100 * (est / r["LUT"] - 1):+.0f}%' if r['LUT'] else '-'
        print(
            f'{r["model"]:14} {b:14} {r.get("pipeline_cutoff", 5):>6.3g} {r["LUT"] or 0:>7,} {r["FF"] or 0:>6,} {r["CARRY"] or 0:>6,} {r["cycles"]:>6} '
            f'{r["mismatching_bits"]:>8} {r["build_s"]:>7.0f} {str(r["verilator_cached"]):>6} | {est:>7,} {err:>7} | '
            f'{r["da_estimate"]["counts"]["adder_bits"]:>10,} {ebops.get(r["model"], 0):>7,}'
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--models', nargs='*', default=ZOO + HGQ2)
    ap.add_argument(
        '--backends',
        nargs='*',
        default=['da4ml', 'alkaid', 'alkaid@da4ml'],
        help='a backend at the default cutoff; "A@B": backend A at the cutoff that gives the cycles of B\'s design',
    )
    ap.add_argument('--samples', type=int, default=10000)
    ap.add_argument('--json', type=Path, default=REPO / 'benchmarks' / 'results' / 'rtl_backends.json')
    ap.add_argument('--show', action='store_true', help='print the table of the JSON file, run nothing')
    ap.add_argument('--append', action='store_true', help='keep the rows already in the JSON file (and match them)')
    args = ap.parse_args()
    if args.show:
        rows = json.loads(args.json.read_text())
        table(rows)
        print(f'\nLUT per ternary-adder carry bit fitted on these alkaid designs: {fit_ternary(rows)}')
        return
    work = Path(tempfile.mkdtemp(prefix='fpgaml-rtl-backends-'))
    rows: list[dict] = json.loads(args.json.read_text()) if args.append and args.json.is_file() else []
    for m in args.models:
        for n, spec in enumerate(args.backends):
            b, _, like = spec.partition('@')
            try:
                stages = None
                if like:
                    (ref,) = [r for r in rows if r['model'] == m and 'error' not in r and r['backend']['name'] == like]
                    stages = ref['stages']
                rows.append(run(m, b, args.samples, work, with_bits=n == 0, stages=stages))
            except Exception as e:  # noqa: BLE001 - report and continue with the next build
                rows.append({'model': m, 'backend': b, 'error': f'{type(e).__name__}: {e}'})
            print(json.dumps(rows[-1], default=str), flush=True)
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(rows, indent=1, default=str))
    table(rows)
    print(f'\nLUT per ternary-adder carry bit fitted on these alkaid designs: {fit_ternary(rows)}')
    print(f'work folder: {work}')


if __name__ == '__main__':
    main()
