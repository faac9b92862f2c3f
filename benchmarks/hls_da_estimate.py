"""hls4ml's ``Strategy: distributed_arithmetic``: fpgaml's estimate of the HLS firmware against Yosys.

    .venv/bin/python benchmarks/hls_da_estimate.py [--designs jet_hgq hgq2_jsc_0750 ...]

No C-synthesis report of an hls4ml DA design exists here (no Vivado/Vitis), so the reference is the nearest real
figure: the Yosys ``synth_xilinx`` count of the same network built as da4ml RTL by ``fpgaml rtl``
(``benchmarks/results/da_yosys.json``, measured by ``benchmarks/da_estimate.py --measure``). For HGQ models (typed
bit-exact, so every sum is exact in both) the two designs compute the same constant-matrix products; the HLS design
adds its own ReLU/quantizer logic and registers each layer's inputs and outputs. For QKeras models with a fixed
accumulator the RTL follows the Latency arithmetic, so the comparison is looser (shown, marked).

For each design: the estimate's total LUT / FF / DSP / cycles with the DA strategy, its DA layers' share, whether
each kernel solved for the estimate has the cost hls4ml recorded when it wrote the C++ (it must), and the Yosys
figures of the RTL design. Also printed: the Latency strategy's estimate of the same model (what the estimate said
for a DA design before it modelled DA).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault('TF_USE_LEGACY_KERAS', '1')
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / 'benchmarks'))
RESULTS = REPO / 'benchmarks' / 'results' / 'da_yosys.json'
EXACT = ('jet_hgq', 'hgq2_jsc_0750', 'hgq2_jsc_0771')  # bit-exact HGQ: the same products in both designs
DEFAULT = [*EXACT, 'own_mlp4', 'own_mlp8', 'own_conv1d', 'jet_mlp']


def estimate(name: str, work: Path, strategy: str):
    import da_estimate

    from fpgaml.config import load_config
    from fpgaml.estimate.da_hls import kernel
    from fpgaml.project import Project

    path = da_estimate._config(name, work)
    if path is None:
        return None
    cfg = load_config(path, output_dir=work / f'{name}-{strategy}')
    cfg.strategy = strategy
    t0 = time.perf_counter()
    p = Project(cfg)
    est = p.estimate()
    seconds = time.perf_counter() - t0
    layers = [lay for lay in p.convert().graph.get_layers() if lay.get_attr('fpgaml_da_weights') is not None]
    kernels = [kernel(lay) for lay in layers]
    da_lut = sum(le.lut for le in est.layers if le.family == 'dense/conv/da')
    return est, da_lut, sum(k.matches_firmware for k in kernels), len(kernels), seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--designs', nargs='*', default=DEFAULT)
    args = ap.parse_args()
    rows = json.loads(RESULTS.read_text())
    work = Path(tempfile.mkdtemp(prefix='fpgaml-hls-da-'))
    print('Reference: Yosys synth_xilinx of the same network as da4ml RTL (fpgaml rtl); * = same products (HGQ)')
    print(
        f'{"design":15} {"DA est LUT":>10} {"of it DA":>8} {"FF":>6} {"DSP":>3} {"cyc":>3} | {"Yosys LUT":>9} '
        f'{"FF":>6} {"cyc":>3} | {"LUT err":>7} | {"Latency est LUT":>15} {"DSP":>4} | kernels = hls4ml | s'
    )
    errs = []
    for name in args.designs:
        if name not in rows:
            print(f'{name}: no Yosys figure in {RESULTS.name} (run benchmarks/da_estimate.py --measure)')
            continue
        got = estimate(name, work, 'distributed_arithmetic')
        if got is None:
            continue
        est, da_lut, same, n, seconds = got
        lat, *_ = estimate(name, work, 'Latency')
        y, t = rows[name]['yosys'], est.total
        err = 100.0 * (t.lut - y['LUT']) / y['LUT']
        if name in EXACT:
            errs.append(abs(err))
        mark = '*' if name in EXACT else ' '
        print(
            f'{name:14}{mark} {t.lut:>10,} {da_lut:>8,} {t.ff:>6,} {t.dsp:>3} {t.latency_cycles:>3} | {y["LUT"]:>9,} '
            f'{y["FF"]:>6,} {rows[name]["verilator_cycles"]:>3} | {err:>+6.0f}% | {lat.total.lut:>15,} '
            f'{lat.total.dsp:>4} | {same}/{n} | {seconds:.0f}',
            flush=True,
        )
    if errs:
        print(
            f'median |LUT error| on the designs with the same products (*): {statistics.median(errs):.1f}% ({len(errs)})'
        )


if __name__ == '__main__':
    main()
