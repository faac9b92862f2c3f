"""`fpgaml rtl` on the zoo models: RTL verified against the C-simulation, measured cycles and Yosys cells next to
the estimate (and a vendor report where one exists), wall time per step, simulation throughput.

    .venv/bin/python benchmarks/rtl.py [--models jet_mlp reference_mlp ...] [--samples 10000] [--json out.json]

io_stream zoo models (jet_cnn, reference_cnn) are run with io_type: io_parallel (the RTL backend builds
fully parallel designs); their estimate is then the io_parallel one. The zoo models were trained here, so no
vendor report exists for them: the column shows "-" and the README lists the published anchors instead.
Verilator builds are cached by content in $FPGAML_CACHE_DIR (default ~/.cache/fpgaml/csim/verilator): a
second run reports verilator_build 0 s.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault('TF_USE_LEGACY_KERAS', '1')
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

DEFAULT = ['jet_mlp', 'jet_hgq', 'reference_mlp', 'jet_ternary', 'jet_binary', 'reference_cnn']


def _config(name: str, work: Path) -> Path:
    src = REPO / 'models' / name / 'config.yml'
    text = src.read_text()
    if 'io_type: io_stream' not in text:
        return src
    alt = REPO / 'models' / name / f'.rtl-bench-{os.getpid()}.yml'  # beside the model (relative paths)
    alt.write_text(text.replace('io_type: io_stream', 'io_type: io_parallel'))
    return alt


def run(name: str, samples: int, work: Path) -> dict:
    from fpgaml.config import load_config
    from fpgaml.flow import run_flow
    from fpgaml.project import Project
    from fpgaml.rtl import RtlOptions

    path = _config(name, work)
    try:
        cfg = load_config(path, output_dir=work / name)
        t0 = time.perf_counter()
        p = run_flow(Project(cfg), 'rtl', force=True, rtl_options=RtlOptions.from_config(cfg, samples=samples))
        wall = time.perf_counter() - t0
    finally:
        if path.name.startswith('.rtl-bench-'):
            path.unlink(missing_ok=True)
    r, est = p.rtl_result, p.estimate_result.total
    syn = (r.synthesis or {}).get('total', {})
    return {
        'model': name,
        'samples': r.samples,
        'mismatching_bits': r.mismatching_bits,
        'latency_cycles': r.latency_cycles,
        'latency_ns': r.latency_ns,
        'ii': r.ii_cycles,
        'estimate': {'LUT': est.lut, 'FF': est.ff, 'DSP': est.dsp, 'latency_cycles': est.latency_cycles},
        'yosys': syn,
        'vendor': None,
        'times_s': r.times_s,
        'total_s': wall,
        'throughput': r.throughput,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--models', nargs='*', default=DEFAULT)
    ap.add_argument('--samples', type=int, default=10000)
    ap.add_argument('--json', type=Path)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix='fpgaml-rtl-bench-'))
    rows = []
    for m in args.models:
        try:
            rows.append(run(m, args.samples, work))
        except Exception as e:  # noqa: BLE001 - report and continue with the next model
            rows.append({'model': m, 'error': f'{type(e).__name__}: {e}'})
        print(json.dumps(rows[-1], default=str), flush=True)
    print()
    hdr = (
        f'{"model":14} {"samples":>7} {"bad bits":>8} {"cycles":>6} {"ns":>5} {"II":>3} | {"est LUT":>8} '
        f'{"yosys LUT":>9} {"LUT err":>7} | {"est FF":>7} {"yosys FF":>8} | {"est DSP":>7} {"yosys DSP":>9} | '
        f'{"vendor":>6} | {"verilator build":>15} {"sim":>5} {"yosys":>6} | {"RTL sim/s":>10} {"C-sim/s":>8}'
    )
    print(hdr)
    for r in rows:
        if 'error' in r:
            print(f'{r["model"]:14} {r["error"]}')
            continue
        e, y, t, th = r['estimate'], r['yosys'], r['times_s'], r['throughput']
        err = f'{100 * (e["LUT"] - y["LUT"]) / y["LUT"]:+.0f}%' if y.get('LUT') else '-'
        print(
            f'{r["model"]:14} {r["samples"]:>7} {r["mismatching_bits"]:>8} {r["latency_cycles"]:>6} '
            f'{r["latency_ns"]:>5g} {r["ii"]:>3} | {e["LUT"]:>8,} {y.get("LUT", 0):>9,} {err:>7} | {e["FF"]:>7,} '
            f'{y.get("FF", 0):>8,} | {e["DSP"]:>7,} {y.get("DSP", 0):>9,} | {"-":>6} | '
            f'{t.get("verilator_build", 0):>13.0f} s {t.get("verilator_sim", 0):>4.1f}s {t.get("yosys", 0):>5.0f}s | '
            f'{th["verilator_samples_per_s"]:>10,.0f} {th["csim_samples_per_s"]:>8,.0f}'
        )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2, default=str))


if __name__ == '__main__':
    main()
