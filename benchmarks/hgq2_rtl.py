"""`fpgaml rtl` on the published HGQ2 jet taggers next to da4ml alone on the same models.

    .venv/bin/python benchmarks/hgq2_rtl.py [--models 0.750 0.771] [--samples 10000] [--no-reference] [--json out.json]

Needs ../shared/realmodels/hgq2-jsc (two HGQ2 / Keras 3 taggers, 16 features, 10 outputs; see its SOURCE.txt),
hgq2 (installed by `make test`) and the rtl extra. No data file is shipped with the models: the inputs are
generated, spanning the input type's whole range (fpgaml's validation samples and `fpgaml rtl`'s generated ones).

For each model:
* **fpgaml**: `fpgaml rtl` (build: convert with hls4ml 1.3.0, Latency strategy, 5 ns; C-simulation bit-exact
  against Keras; then the graph lowered to da4ml, Verilog with the default pipeline cutoff 5, Verilator against the
  C-simulation on `--samples` samples, Yosys `synth_xilinx` with fpgaml's script);
* **da4ml alone** (the reference): HGQ's own da4ml tracer on the Keras model, as da4ml 0.6.0's `to_da4ml`
  converter runs it (`trace_model(model, HWConfig(1, -1, -1), {'hard_dc': 2})`), Verilog at 5 ns with latency
  cutoff 5, sized by the same Yosys script (fpgaml's `run_yosys`). Its cycles are its pipeline stages.
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
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SHARED = REPO.parent / 'shared' / 'realmodels' / 'hgq2-jsc'
MODELS = {'0.750': 'jsc_openml_acc0.750_ebops1572.keras', '0.771': 'jsc_openml_acc0.771_ebops13285.keras'}
PART = 'xcvu13p-flga2577-2-e'  # the HGQ paper's part (UltraScale+: Yosys family xcup, as for fpgaml's default)
CLOCK_NS = 5.0
CUTOFF = 5.0


def fpgaml_rtl(acc: str, samples: int, work: Path) -> dict:
    from fpgaml.config import load_config
    from fpgaml.flow import run_flow
    from fpgaml.project import Project
    from fpgaml.rtl import RtlOptions

    d = work / f'fpgaml-{acc}'
    d.mkdir(parents=True, exist_ok=True)
    cfg_path = d / 'config.yml'
    cfg_path.write_text(
        f'model: {SHARED / MODELS[acc]}\nname: jsc{acc.replace(".", "")}\npart: {PART}\n'
        f'clock_period: {CLOCK_NS:g}\nvalidation:\n  samples: 2000\n'
    )
    cfg = load_config(cfg_path, output_dir=d / 'prj')
    t0 = time.perf_counter()
    p = run_flow(
        Project(cfg),
        'rtl',
        force=True,
        rtl_options=RtlOptions.from_config(cfg, samples=samples, pipeline_cutoff=CUTOFF),
    )
    wall = time.perf_counter() - t0
    r, cs = p.rtl_result, p.csim
    return {
        'csim_exact_fraction': cs.exact_fraction,
        'csim_samples': cs.samples,
        'rtl_samples': r.samples,
        'mismatching_bits': r.mismatching_bits,
        'cycles': r.latency_cycles,
        'stages': r.pipeline_stages,
        'register_bits': r.register_bits,
        'da4ml_cost': r.da4ml_cost_lut,
        'yosys': r.synthesis['total'],
        'times_s': {k: round(v, 1) for k, v in r.times_s.items()},
        'total_s': round(wall, 1),
    }


def da4ml_alone(acc: str, work: Path) -> dict:
    import hgq  # noqa: F401 - registers HGQ2's layers
    import keras
    from da4ml.codegen import VerilogModel
    from da4ml.converter import trace_model
    from da4ml.trace import HWConfig, comb_trace

    from fpgaml.rtl.synth import run_yosys

    t0 = time.perf_counter()
    model = keras.saving.load_model(SHARED / MODELS[acc], compile=False)
    inp, out = trace_model(model, HWConfig(1, -1, -1), {'hard_dc': 2})
    comb = comb_trace(inp, out)
    rtl_dir = work / f'da4ml-{acc}'
    vm = VerilogModel(
        comb, 'model', rtl_dir, latency_cutoff=CUTOFF, print_latency=False, part_name=PART, clock_period=CLOCK_NS
    )
    vm.write()
    trace_s = time.perf_counter() - t0
    s = run_yosys(rtl_dir, 'model_wrapper', PART)
    return {
        'cycles': len(vm._pipe.solutions),
        'register_bits': int(vm._pipe.reg_bits),
        'da4ml_cost': float(comb.cost),
        'yosys': s.to_json()['total'],
        'times_s': {'trace_and_verilog': round(trace_s, 1), 'yosys': round(s.wall_s, 1)},
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--models', nargs='*', default=sorted(MODELS), choices=sorted(MODELS))
    ap.add_argument('--samples', type=int, default=10000)
    ap.add_argument('--no-reference', action='store_true', help='skip da4ml alone')
    ap.add_argument('--json', type=Path)
    args = ap.parse_args()
    if not SHARED.is_dir():
        sys.exit(f'the published HGQ2 models are not at {SHARED}')
    work = Path(tempfile.mkdtemp(prefix='fpgaml-hgq2-rtl-'))
    rows = []
    for acc in args.models:
        row: dict = {'model': f'acc {acc} ({MODELS[acc]})'}
        try:
            row['fpgaml'] = fpgaml_rtl(acc, args.samples, work)
        except Exception as e:  # noqa: BLE001 - report and go on
            row['fpgaml'] = {'error': f'{type(e).__name__}: {e}'}
        if not args.no_reference:
            try:
                row['da4ml'] = da4ml_alone(acc, work)
            except Exception as e:  # noqa: BLE001
                row['da4ml'] = {'error': f'{type(e).__name__}: {e}'}
        rows.append(row)
        print(json.dumps(row), flush=True)
    print()
    print(
        f'{"model":10} {"who":7} {"LUT":>7} {"FF":>6} {"DSP":>4} {"CARRY":>6} {"cycles":>6} {"da4ml cost":>10} '
        f'{"bad bits":>8} {"C-sim exact":>11}'
    )
    for row in rows:
        acc = row['model'].split()[1]
        for who in ('fpgaml', 'da4ml'):
            r = row.get(who)
            if not r:
                continue
            if 'error' in r:
                print(f'{acc:10} {who:7} {r["error"]}')
                continue
            y = r['yosys']
            print(
                f'{acc:10} {who:7} {y["LUT"]:>7,} {y["FF"]:>6,} {y["DSP"]:>4} {y["CARRY"]:>6,} {r["cycles"]:>6} '
                f'{r["da4ml_cost"]:>10,.1f} {r.get("mismatching_bits", "-")!s:>8} '
                f'{r.get("csim_exact_fraction", "-")!s:>11}'
            )
        f, d = row.get('fpgaml', {}), row.get('da4ml', {})
        if 'yosys' in f and 'yosys' in d:
            print(
                f'{acc:10} {"diff":7} {100 * (f["yosys"]["LUT"] / d["yosys"]["LUT"] - 1):>+6.1f}% '
                f'{100 * (f["yosys"]["FF"] / max(1, d["yosys"]["FF"]) - 1):>+5.1f}%'
            )
    print(f'\nwork folder: {work}')
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == '__main__':
    main()
