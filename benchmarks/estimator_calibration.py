"""Rebuild every calibration point of fpgaml/estimate/calibration.yml and cross-validate the estimator.

    TF_USE_LEGACY_KERAS=1 python benchmarks/estimator_calibration.py [--json out.json] [--per-layer] [--write]

The architectures are defined here in code.  Where the public example-models snapshot is available at
``../shared/corpus`` (relative to the repository root) the jet taggers use its trained weights; otherwise
(and always for models whose weights are not public) deterministic random weights are used.  The output
says which.

Every figure is compared with the estimate *of its own kind* (csynth or synth).  The per-family LUT/FF
factors of each kind are fitted here (robust soft-L1 least squares on log(estimate / real), bounded to [0.25, 4], pulled towards 1) and
the errors printed are leave-one-design-out: each design (all tool versions of one model and setting) is
estimated with factors fitted without it.  Bands are 90 % prediction intervals (Student t on the log) of the
other designs' cross-validated ratios (real / estimate) of the same layer family; their coverage is measured the same way (nested: the
held-out design's band comes from fits that never saw it).  ``--write`` stores the factors fitted on all
designs and the bands in calibration.yml (section ``kinds``).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import tempfile
from pathlib import Path

os.environ.setdefault('TF_USE_LEGACY_KERAS', '1')
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')

import numpy as np
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
CORPUS = REPO.parent / 'shared' / 'corpus'
CALIBRATION = REPO / 'fpgaml' / 'estimate' / 'calibration.yml'
METRICS = ('latency_cycles', 'ii_cycles', 'dsp', 'lut', 'ff', 'bram_18k')
SUMMARY_METRICS = ('latency_cycles', 'dsp', 'lut', 'ff')


def _keras():
    import tf_keras as keras

    return keras


def backend_of(point: dict) -> str:
    """hls4ml's backend for the point's tool: Vitis for Vitis HLS, Vivado for Vivado HLS."""
    return 'Vitis' if 'vitis' in str(point.get('tool', '')).lower() else 'Vivado'


def convert(model, hls_config: dict, part: str, clock: float, io_type: str, backend: str = 'Vivado'):
    import hls4ml
    from hls4ml.converters.keras_v2_to_hls import keras_v2_to_hls

    with tempfile.TemporaryDirectory() as tmp:
        cfg = hls4ml.utils.config.create_config(
            output_dir=tmp, project_name='myproject', backend=backend, part=part, clock_period=clock, io_type=io_type
        )
        cfg['KerasModel'] = model
        cfg['HLSConfig'] = hls_config
        return keras_v2_to_hls(cfg)


def _h5_kernels(path: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    import h5py

    out: dict[str, dict[str, np.ndarray]] = {}
    with h5py.File(path, 'r') as f:

        def visit(name, obj):
            if isinstance(obj, h5py.Dataset):
                layer = name.split('/')[0]
                kind = 'kernel' if 'kernel' in name else 'bias' if 'bias' in name else None
                if kind:
                    out.setdefault(layer, {})[kind] = obj[()]

        f.visititems(visit)
    return {k: (v['kernel'], v['bias']) for k, v in out.items() if 'kernel' in v and 'bias' in v}


def build_jet_tagger(point: dict, rng: np.random.Generator):
    keras = _keras()
    L = keras.layers
    names = ['fc1_relu', 'fc2_relu', 'fc3_relu', 'output_softmax']
    model = keras.Sequential(
        [
            L.Dense(64, input_shape=(16,), name=names[0]),
            L.Activation('relu', name='relu1'),
            L.Dense(32, name=names[1]),
            L.Activation('relu', name='relu2'),
            L.Dense(32, name=names[2]),
            L.Activation('relu', name='relu3'),
            L.Dense(5, name=names[3]),
            L.Activation('softmax', name='softmax'),
        ]
    )
    h5 = CORPUS / 'example-models' / 'keras' / 'KERAS_3layer_weights.h5'
    origin = 'random Glorot-uniform'
    if h5.exists():
        kern = _h5_kernels(h5)
        if all(n in kern for n in names):
            for n in names:
                model.get_layer(n).set_weights(list(kern[n]))
            origin = 'corpus KERAS_3layer weights'
    prec = point['model']['precision']
    hls = {
        'Model': {
            'Precision': prec,
            'ReuseFactor': point['model']['reuse_factor'],
            'Strategy': point['model']['strategy'],
        }
    }
    return model, hls, origin


def build_jet_tagger_qkeras6(point: dict, rng: np.random.Generator):
    keras = _keras()
    L = keras.layers
    names = ['fc1', 'fc2', 'fc3', 'output']
    model = keras.Sequential(
        [
            L.Dense(64, input_shape=(16,), name='fc1'),
            L.Activation('relu', name='relu1'),
            L.Dense(32, name='fc2'),
            L.Activation('relu', name='relu2'),
            L.Dense(32, name='fc3'),
            L.Activation('relu', name='relu3'),
            L.Dense(5, name='output'),
            L.Activation('softmax', name='softmax'),
        ]
    )
    h5 = CORPUS / 'example-models' / 'keras' / 'qkeras_3layer_weights.h5'
    origin = 'random weights on the 6-bit grid'
    kern = _h5_kernels(h5) if h5.exists() else {}
    if all(n in kern for n in names):
        origin = 'corpus qkeras_3layer weights'

    def q6(x):  # quantized_bits(6, 0)
        return np.clip(np.round(np.asarray(x) * 32), -32, 31) / 32.0

    for n in names:
        layer = model.get_layer(n)
        k, b = kern[n] if n in kern else [w for w in layer.get_weights()]
        layer.set_weights([q6(k), q6(b)])
    hls = {'Model': {'Precision': 'fixed<16,6>', 'ReuseFactor': 1, 'Strategy': 'Latency'}, 'LayerName': {}}
    for n in names:
        hls['LayerName'][n] = {'Precision': {'weight': 'fixed<6,1>', 'bias': 'fixed<6,1>'}}
    for n in ['relu1', 'relu2', 'relu3']:
        hls['LayerName'][n] = {'Precision': {'result': 'fixed<7,1,RND_CONV,SAT>'}}
    return model, hls, origin


def _prune(model, fraction: float, skip: tuple[str, ...]):
    for layer in model.layers:
        ws = layer.get_weights()
        if not ws or layer.name in skip or fraction <= 0:
            continue
        k = ws[0]
        thr = np.quantile(np.abs(k), fraction)
        ws[0] = np.where(np.abs(k) < thr, 0.0, k)
        layer.set_weights(ws)


def build_svhn(point: dict, rng: np.random.Generator):
    keras = _keras()
    keras.utils.set_random_seed(1234)
    L = keras.layers
    layers = [L.Input((32, 32, 3), name='input_1')]
    for i, f in enumerate((16, 16, 24)):
        layers += [
            L.Conv2D(f, 3, name=f'conv_{i}'),
            L.Activation('relu', name=f'conv_act_{i}'),
            L.MaxPooling2D(2, name=f'pool_{i}'),
        ]
    layers += [
        L.Flatten(name='flatten'),
        L.Dense(42, name='dense_0'),
        L.Activation('relu', name='dense_act_0'),
        L.Dense(64, name='dense_1'),
        L.Activation('relu', name='dense_act_1'),
        L.Dense(10, name='output_dense'),
        L.Activation('softmax', name='output_softmax'),
    ]
    model = keras.Sequential(layers)
    # folded batch norm gives every output channel a bias
    for layer in model.layers:
        ws = layer.get_weights()
        if len(ws) == 2:
            ws[1] = rng.normal(0, 0.1, size=ws[1].shape)
            layer.set_weights(ws)
    _prune(model, float(point['model'].get('pruned_fraction', 0.5)), skip=('output_dense',))
    hls = {'Model': {'Precision': point['model']['precision'], 'ReuseFactor': 1, 'Strategy': 'Latency'}}
    return model, hls, 'random Glorot-uniform, magnitude-pruned'


def build_dense16x5(point: dict, rng: np.random.Generator):
    keras = _keras()
    keras.utils.set_random_seed(42)
    L = keras.layers
    model = keras.Sequential([L.Dense(5, input_shape=(16,), name='fc1'), L.Activation('relu', name='relu1')])
    hls = {'Model': {'Precision': point['model']['precision'], 'ReuseFactor': 1, 'Strategy': 'Latency'}}
    return model, hls, 'random Glorot-uniform (Keras default init)'


def build_dense64_act(point: dict, rng: np.random.Generator):
    """hls4ml test_activations: Input(1) -> Dense(64, lecun_uniform, zero bias) -> activation."""
    keras = _keras()
    keras.utils.set_random_seed(2025)
    L = keras.layers
    act = point['model']['activation']
    last = L.ELU(alpha=1.0, name='elu') if act == 'elu' else L.Activation(act, name=act)
    model = keras.Sequential([L.Dense(64, input_shape=(1,), name='Dense', kernel_initializer='lecun_uniform'), last])
    hls = {'Model': {'Precision': point['model']['precision'], 'ReuseFactor': 1, 'Strategy': 'Latency'}}
    return model, hls, "lecun_uniform, seed 2025 (hls4ml's were unseeded)"


def build_pool(point: dict, rng: np.random.Generator):
    """hls4ml test_pooling: one pooling layer, pool 2, stride = pool, channels_last."""
    keras = _keras()
    L = keras.layers
    m = point['model']
    layer = getattr(L, m['layer'])(padding=m['padding'], input_shape=tuple(m['input_shape']))
    model = keras.Sequential([layer])
    hls = {'Model': {'Precision': m['precision'], 'ReuseFactor': 1, 'Strategy': 'Latency'}}
    return model, hls, 'no weights'


def build_published(point: dict):
    """A published model with the hls4ml config it was synthesized with, read in place (``model.path``, relative to
    the repository root, e.g. ../shared/realmodels/...), converted by fpgaml as ``fpgaml build`` converts it (an old
    ``ConvImplementation: Pointwise`` built as hls4ml 1.3 builds that kernel).  Returns the converted graph, or None
    with the reason when the files are absent."""
    import re

    from fpgaml.config import load_config
    from fpgaml.project import Project

    folder = (REPO / point['model']['path']).resolve()
    cfg_file, h5 = folder / 'hls4ml_config.yml', folder / 'keras_model.h5'
    if not (cfg_file.is_file() and h5.is_file()):
        return None, f'{cfg_file.parent} absent (needs ../shared/realmodels)'
    with tempfile.TemporaryDirectory() as tmp:
        text = re.sub(r'(?m)^KerasModel: .*$', f'KerasModel: {h5}', cfg_file.read_text())
        text = re.sub(r'(?m)^OutputDir: .*$', f'OutputDir: {Path(tmp) / "prj"}', text)
        (Path(tmp) / 'config.yml').write_text(text)
        graph = Project(load_config(Path(tmp) / 'config.yml')).convert().graph
    return graph, f'published weights and config ({point["model"]["path"]})'


GRAPH_BUILDERS = {'published_hls4ml_config': build_published}  # recipes that give the converted graph themselves


BUILDERS = {
    'dense64_act': build_dense64_act,
    'pool': build_pool,
    'jet_tagger': build_jet_tagger,
    'jet_tagger_qkeras6': build_jet_tagger_qkeras6,
    'svhn_cnn': build_svhn,
    'dense16x5': build_dense16x5,
}


SCALED = ('lut', 'ff')
CV_METRICS = ('latency_cycles', 'dsp', 'lut', 'ff')
KIND_NAMES = ('csynth', 'synth')
FACTOR_BOUNDS = (0.25, 4.0)  # a factor outside this range would mean the structure is wrong, not the scale
ROBUST_SCALE = 0.2  # soft-L1 loss: a design off by more than ~20 % (an outlier tool version) pulls linearly
PRIOR_WEIGHT = 0.5  # pull of each log-factor towards 0 (factor 1: the structural count)
BAND_LEVEL = 0.9  # nominal level of the band (a prediction interval for a design not in the calibration set)
BAND_MIN_DESIGNS = 3  # a family with fewer designs (for a kind and metric) uses the pooled band
NOTES = {  # reasons known from the reports themselves, shown for the worst designs
    'avgpool2d_same-io_parallel': 'Vivado HLS 2020.1 builds the division by the number of valid elements of '
    'padded windows in logic (112k LUT, 21 cycles vs 11k LUT, 0 cycles in Vitis)',
    'jet_tagger_6b_qkeras': '6-bit weights and 7-bit activations: post-synthesis keeps fewer registers than the '
    "model's count of live partial sums (and the tool maps twice the narrow products to "
    'DSPs the model expects: 38 vs 19)',
    'dense16x5_xc7z020': 'on the 7-series part the Dense process is a 7-cycle pipeline with 7,860 FF (csynth '
    'instance table: ~98 FF per product, as if each DSP48E1 multiply were 3 register stages); '
    "the model's 7-series operator delays give 3 cycles and ~1.9k FF. Post-synthesis keeps "
    '2,428 FF (the stages go into the DSPs). One 7-series design: not modelled',
    'dense64_relu-io_stream': 'Vivado HLS 2020.1 reports 326 FF, Vitis 2064 for the same design: the depth-1 '
    'stream FIFOs are registers in Vitis and SRLs (not FF) in Vivado HLS',
    'dense64_sigmoid-io_stream': "the lookup's registers differ by tool: Vivado HLS 2020.1 registers the 10-bit "
    'address (968 FF = 326 of the ReLU design + 64 x 10), Vitis 3,026-3,858 FF',
    'dense64_elu-io_stream': "the tool versions differ: 5.7k LUT in Vitis, 8.2k in Vivado HLS; ELU's registers "
    'are the held x and branch flag (17 FF per element) in every version',
    'dense64_elu-io_parallel': 'Vitis HLS 2024.1 builds twice the LUTs (10,082 vs 4,641-4,821) and registers '
    '3,865 FF (vs 2,135) of the other versions',
    'dense64_sigmoid-io_parallel': 'Vivado HLS 2020.1 does not register the 10-bit table address (1,047 FF = the '
    "inputs and the Dense's outputs), Vitis does (1,689 = + 64 x 10; the model's count is 1,682)",
    'svhn_cnn_pruned_16b': "csynth FF: the pipelines' partial sums (family dense/conv) have csynth figures from two "
    'designs, this CNN and the Dense 16x5 on a 7-series part (x4-6 the model there); held out, the factor comes '
    'from the Dense 16x5 alone',
}


def pct(est: float, ref: float) -> float | None:
    if ref == 0:
        return 0.0 if est == 0 else None
    return 100.0 * (est - ref) / ref


def collect(per_layer: bool = False) -> list[dict]:
    """Rebuild every point; the structural (uncalibrated) estimate split by layer family."""
    from fpgaml.estimate import estimate
    from fpgaml.estimate.estimator import split_family
    from fpgaml.estimate.kinds import Calibration

    points = yaml.safe_load(CALIBRATION.read_text())['points']
    rows = []
    for p in points:
        rng = np.random.default_rng(7)
        arch = p['model']['architecture']
        if arch in GRAPH_BUILDERS:
            graph, origin = GRAPH_BUILDERS[arch](p)
            if graph is None:
                print(f'skipping {p["id"]}: {origin}')
                continue
        else:
            model, hls, origin = BUILDERS[arch](p, rng)
            graph = convert(model, hls, p['part'], p['clock_period_ns'], p['model']['io_type'], backend_of(p))
        est = estimate(graph, p['part'], p['clock_period_ns'], calibration=Calibration({}))
        by_fam: dict[str, dict[str, float]] = {}
        for l in est.layers:
            for m in ('dsp', 'lut', 'ff'):
                for f, v in split_family(l, m, est.stream_io, est.parts):
                    by_fam.setdefault(m, {}).setdefault(f, 0.0)
                    by_fam[m][f] += v
        if p['model']['io_type'] == 'io_stream':
            lat_fam = max(est.layers, key=lambda l: l.latency_cycles).family
        else:
            lat: dict[str, int] = {}
            for l in est.layers:
                lat[l.family] = lat.get(l.family, 0) + l.latency_cycles
            lat_fam = max(lat, key=lat.get)
        fams = sorted(
            {l.family for l in est.layers} - {'structure', 'other'}
            | ({'stream'} if est.stream_io else set())
            | {f for sub in est.parts.values() for f, x in sub.values() if x > 0}
        )
        rows.append(
            {
                'id': p['id'],
                'design': p.get('design', p['id']),
                'tool': p.get('tool', ''),
                'weights': origin,
                'raw': est.total.to_json_dict(),
                'by_family': by_fam,
                'latency_family': lat_fam,
                'families': fams,
                'measured': {k: dict(v) for k, v in (p.get('measured') or {}).items() if v},
            }
        )
        if per_layer:
            print(f'\n== {p["id"]} per layer (structural estimate)')
            for l in est.layers:
                print(
                    f'  {l.name:22s} {l.layer_class:18s} {l.family:12s} lat {l.latency_cycles:6d} '
                    f'ii {l.ii_cycles:6d} dsp {l.dsp:6d} lut {l.lut:7d} ff {l.ff:6d} bram {l.bram_18k:4d}'
                )
            if p['id'] == 'svhn_cnn_pruned_16b':
                try:
                    _svhn_per_layer(est)
                except ImportError:
                    pass
    return rows


def _train(rows, kind, metric, exclude: set) -> list[dict]:
    return [
        r
        for r in rows
        if r['design'] not in exclude and metric in r['measured'].get(kind, {}) and r['measured'][kind][metric] > 0
    ]


def fit(rows, kind: str, metric: str, exclude: set = frozenset()) -> dict[str, float]:
    """Per-family factors: robust (soft-L1) least squares on log(estimate / real), each design weighted equally,
    pulled towards 1 (note: the prior residuals go through the same robust loss)."""
    from scipy.optimize import least_squares

    train = _train(rows, kind, metric, exclude)
    fams = sorted({f for r in train for f, v in r['by_family'][metric].items() if v > 0})
    if not train or not fams:
        return {}
    per_design: dict[str, int] = {}
    for r in train:
        per_design[r['design']] = per_design.get(r['design'], 0) + 1
    X = np.array([[r['by_family'][metric].get(f, 0.0) for f in fams] for r in train])
    y = np.array([r['measured'][kind][metric] for r in train], dtype=float)
    w = np.array([1.0 / math.sqrt(per_design[r['design']]) for r in train])

    def residuals(theta):
        est = np.maximum(X @ np.exp(theta), 1e-9)
        return np.concatenate([w * np.log(est / y), PRIOR_WEIGHT * theta])

    lo, hi = math.log(FACTOR_BOUNDS[0]), math.log(FACTOR_BOUNDS[1])
    sol = least_squares(residuals, np.zeros(len(fams)), bounds=(lo, hi), loss='soft_l1', f_scale=ROBUST_SCALE)
    return {f: float(math.exp(v)) for f, v in zip(fams, sol.x)}


def predict(r, metric: str, factors: dict | None) -> float:
    if metric in SCALED:
        return sum(v * (factors or {}).get(f, 1.0) for f, v in r['by_family'][metric].items())
    return float(r['raw'][metric])


def family_of_metric(r, metric: str) -> str:
    if metric == 'latency_cycles':
        return r['latency_family']
    fam = r['by_family'][metric]
    return max(fam, key=fam.get) if fam and max(fam.values()) > 0 else 'structure'


def cv_estimates(rows, kind, metric, exclude: set = frozenset()) -> dict[str, float]:
    """Leave-one-design-out estimate of every point not in ``exclude`` (fits never see ``exclude``)."""
    out = {}
    for d in sorted({r['design'] for r in rows} - set(exclude)):
        factors = fit(rows, kind, metric, set(exclude) | {d}) if metric in SCALED else None
        for r in rows:
            if r['design'] == d:
                out[r['id']] = predict(r, metric, factors)
    return out


def bands_from(rows, kind, metric, cv: dict[str, float]) -> dict[str, list[float]]:
    """Per family (dominant family of the metric), a prediction interval of the design-level ratio real / estimate."""
    per_design: dict[str, list[float]] = {}
    fam_of: dict[str, str] = {}
    for r in rows:
        m = r['measured'].get(kind, {}).get(metric)
        e = cv.get(r['id'])
        if m is None or e is None:
            continue
        if e <= 0:
            if m == 0:
                continue
            ratio = float('inf')
        else:
            ratio = m / e
        per_design.setdefault(r['design'], []).append(ratio)
        fam_of[r['design']] = family_of_metric(r, metric)
    ratios = {d: statistics.median(v) for d, v in per_design.items() if all(math.isfinite(x) for x in v)}
    if not ratios:
        return {}

    def env(vals):
        """Prediction interval of the ratio for a new design: log-normal, Student t, nominal BAND_LEVEL."""
        from scipy.stats import t as student_t

        logs = np.log(np.maximum(np.array(vals, dtype=float), 1e-6))
        n = len(logs)
        half = student_t.ppf(0.5 + BAND_LEVEL / 2, n - 1) * logs.std(ddof=1) * math.sqrt(1 + 1 / n)
        mid = logs.mean()
        return [round(min(1.0, math.exp(mid - half)), 3), round(max(1.0, math.exp(mid + half)), 3)]

    out = {'*': env(list(ratios.values()))}
    for f in sorted(set(fam_of.values())):
        vals = [x for d, x in ratios.items() if fam_of[d] == f]
        out[f] = env(vals) if len(vals) >= BAND_MIN_DESIGNS else out['*']
    return out


def band_of(r, metric, est: float, bands: dict) -> tuple[float, float] | None:
    if not bands:
        return None
    if metric in ('dsp', 'lut', 'ff'):
        total = sum(r['by_family'][metric].values())
        scale = est / total if total > 0 else 0.0
        lo = hi = 0.0
        for f, v in r['by_family'][metric].items():
            b = bands.get(f, bands['*'])
            lo, hi = lo + v * scale * b[0], hi + v * scale * b[1]
        return lo, hi
    b = bands.get(family_of_metric(r, metric), bands['*'])
    return est * b[0], est * b[1]


def run(per_layer: bool = False) -> dict:
    rows = collect(per_layer)
    result: dict = {'points': [], 'kinds': {}, 'fitted': {}, 'bands': {}}
    errs: dict = {}
    for kind in KIND_NAMES:
        for metric in CV_METRICS:
            if not any(metric in r['measured'].get(kind, {}) for r in rows):
                continue
            cv = cv_estimates(rows, kind, metric)
            result['bands'].setdefault(kind, {})[metric] = bands_from(rows, kind, metric, cv)
            if metric in SCALED:
                result['fitted'].setdefault(kind, {})[metric] = {
                    f: round(v, 3) for f, v in fit(rows, kind, metric).items()
                }
            designs = sorted({r['design'] for r in rows if metric in r['measured'].get(kind, {})})
            for d in designs:  # nested: the held-out design's band comes from fits that never saw it
                inner = cv_estimates(rows, kind, metric, exclude={d})
                bands_d = bands_from([r for r in rows if r['design'] != d], kind, metric, inner)
                for r in rows:
                    if r['design'] != d or metric not in r['measured'].get(kind, {}):
                        continue
                    m, e = r['measured'][kind][metric], cv[r['id']]
                    b = band_of(r, metric, e, bands_d)
                    errs.setdefault((kind, metric), []).append(
                        {
                            'id': r['id'],
                            'design': d,
                            'estimate': round(e, 1),
                            'measured': m,
                            'error_pct': pct(e, m),
                            'band': [round(b[0], 1), round(b[1], 1)] if b else None,
                            'covered': (b[0] - 0.5 <= m <= b[1] + 0.5) if b else None,
                            'family': family_of_metric(r, metric),
                            'families': r['families'],
                        }
                    )
    # summaries
    summary: dict = {}
    for (kind, metric), lst in errs.items():
        by_design: dict[str, list[float]] = {}
        for e in lst:
            if e['error_pct'] is not None:
                by_design.setdefault(e['design'], []).append(abs(e['error_pct']))
        design_err = {d: statistics.median(v) for d, v in by_design.items()}
        cov = [e['covered'] for e in lst if e['covered'] is not None]
        fam_err: dict[str, list[float]] = {}
        for e in lst:
            if e['error_pct'] is not None:
                fam_err.setdefault(e['family'], []).append(abs(e['error_pct']))
        summary.setdefault(kind, {})[metric] = {
            'median_abs_pct_designs': statistics.median(design_err.values()) if design_err else None,
            'n_designs': len(design_err),
            'median_abs_pct_points': statistics.median([x for v in by_design.values() for x in v])
            if by_design
            else None,
            'n_points': sum(len(v) for v in by_design.values()),
            'band_coverage': (sum(cov) / len(cov)) if cov else None,
            'n_band': len(cov),
            'by_family': {
                f: {'median_abs_pct': statistics.median(v), 'n_points': len(v)} for f, v in sorted(fam_err.items())
            },
            'design_error': design_err,
        }
    result['summary'] = summary
    result['errors'] = {f'{k}/{m}': v for (k, m), v in errs.items()}
    # worst five designs: largest cross-validated error over metrics and kinds
    worst: dict[str, tuple] = {}
    for (kind, metric), lst in errs.items():
        for e in lst:
            if e['error_pct'] is None:
                continue
            cur = worst.get(e['design'])
            if cur is None or abs(e['error_pct']) > abs(cur[0]):
                worst[e['design']] = (e['error_pct'], kind, metric, e)
    ranked = sorted(worst.items(), key=lambda kv: -abs(kv[1][0]))[:5]
    result['worst'] = []
    for d, (err, kind, metric, e) in ranked:
        meas = [x['measured'] for x in errs[(kind, metric)] if x['design'] == d]
        reason = f'{metric} ({kind}) {e["estimate"]:.0f} vs {e["measured"]}; dominant family {e["family"]}'
        if len(meas) > 1 and min(meas) == 0 < max(meas):
            reason += f'; the tool versions themselves report {min(meas)} to {max(meas)}'
        elif len(meas) > 1 and max(meas) > 1.2 * min(meas):
            reason += f'; the tool versions themselves differ x{max(meas) / min(meas):.1f}'
        if d in NOTES:
            reason += f'; {NOTES[d]}'
        result['worst'].append({'design': d, 'error_pct': err, 'kind': kind, 'metric': metric, 'reason': reason})
    result['points'] = [
        {k: r[k] for k in ('id', 'design', 'tool', 'weights', 'families', 'measured', 'raw')} for r in rows
    ]
    return result


class _NoAliases(yaml.SafeDumper):
    def ignore_aliases(self, data):
        return True


def write_calibration(result: dict) -> None:
    """Store the fitted factors and the cross-validated bands in calibration.yml's ``kinds`` section."""
    text = CALIBRATION.read_text()
    start, end = '# >>> kinds: written by benchmarks/estimator_calibration.py --write', '# <<< kinds'
    doc = {'kinds': {'default_band': [0.5, 2.0]}}
    for kind in KIND_NAMES:
        doc['kinds'][kind] = {'factors': result['fitted'].get(kind, {}), 'bands': result['bands'].get(kind, {})}
    block = (
        start + '\n'
        "# Provenance.  factors: robust (soft-L1) least-squares fit of log(estimate / real), each family's factor\n"
        f'# in [{FACTOR_BOUNDS[0]}, {FACTOR_BOUNDS[1]}], of the per-family structural LUT/FF counts to the figures '
        'of each kind over all points below\n'
        f'# (each design weighted equally, prior weight {PRIOR_WEIGHT} towards 1).  bands: per family (the family '
        'with the largest share\n# of the metric in a design), the '
        f'{BAND_LEVEL:.0%} Student-t prediction interval of log(real / estimate) over the leave-one-design-out\n'
        f"# estimates (pooled '*' where a family dominates < {BAND_MIN_DESIGNS} designs).  Families absent here are "
        'uncalibrated (factor 1,\n# default_band).  DSP, BRAM, latency and II are not scaled (structural counts).\n'
        + yaml.dump(doc, Dumper=_NoAliases, sort_keys=False, default_flow_style=None, width=110)
        + end
        + '\n'
    )
    if start in text:
        text = text[: text.index(start)] + block + text[text.index(end) + len(end) + 1 :]
    else:
        text = text.replace('\npoints:\n', '\n' + block + '\npoints:\n', 1)
    CALIBRATION.write_text(text)


def _svhn_per_layer(est):
    """Per-layer csynth comparison for the SVHN CNN (DSP and latency are comparable; csynth LUT/FF are not)."""
    rpt = CORPUS / 'vendor-reports' / 'svhn-pruned-cnn-16bit' / 'myproject_csynth.rpt'
    if not rpt.exists():
        print('  (corpus report absent: no per-layer comparison)')
        return
    from fpgaml.synth.reports import parse_csynth_rpt

    r = parse_csynth_rpt(rpt)
    ours = [l for l in est.layers if l.layer_class not in ('Input', 'Reshape')]
    kinds = {
        'Conv2D': 'conv_2d',
        'Dense': 'dense',
        'Pooling2D': 'pooling2d',
        'Activation': 'relu',
        'Softmax': 'softmax',
    }
    print('  per-layer vs csynth (matched in order of kind):')
    used = set()
    for l in ours:
        key = kinds.get(l.layer_class)
        cands = [i for i in r.instances if key and i.module.startswith(key) and i.name not in used]
        # csynth instance names carry the config index; match by hls4ml's index order
        cands.sort(key=lambda i: int(''.join(ch for ch in i.name.split('config')[-1] if ch.isdigit()) or 0))
        if not cands:
            continue
        inst = cands[0]
        used.add(inst.name)
        print(
            f'  {l.name:16s} est lat {l.latency_cycles:5d} dsp {l.dsp:5d} | csynth {inst.name[:40]:40s} lat '
            f'{inst.latency_max:5d} dsp {inst.dsp:5d}'
        )


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--json', help='write the results to this JSON file')
    ap.add_argument('--per-layer', action='store_true', help='print per-layer structural estimates')
    ap.add_argument('--write', action='store_true', help='store fitted factors and bands in calibration.yml')
    args = ap.parse_args(argv)
    out = run(per_layer=args.per_layer)
    hdr = f'{"point":42s} {"kind":6s} {"metric":14s} {"CV est.":>9s} {"measured":>9s} {"error %":>8s} {"band":>17s}'
    print('\nLeave-one-design-out estimates (each figure against the estimate of its own kind)')
    print(hdr + '\n' + '-' * len(hdr))
    for key, lst in out['errors'].items():
        kind, metric = key.split('/')
        for e in lst:
            es = 'n/a' if e['error_pct'] is None else f'{e["error_pct"]:+.1f}'
            bs = '' if e['band'] is None else f'{e["band"][0]:.0f}-{e["band"][1]:.0f}{"" if e["covered"] else " !"}'
            print(
                f'{e["id"][:42]:42s} {kind:6s} {metric:14s} {e["estimate"]:>9.0f} {e["measured"]:>9} {es:>8s} {bs:>17s}'
            )
    print('\nCross-validated median absolute % error (median over designs; over points in brackets), band coverage:')
    for kind, ms in out['summary'].items():
        for metric, s in ms.items():
            cov = 'n/a' if s['band_coverage'] is None else f'{100 * s["band_coverage"]:.0f}% of {s["n_band"]}'
            print(
                f'  {kind:6s} {metric:14s} {s["median_abs_pct_designs"]:6.1f} % (n={s["n_designs"]} designs)'
                f'  [{s["median_abs_pct_points"]:6.1f} % over {s["n_points"]} points]  band covers {cov}'
            )
            for f, fs in s['by_family'].items():
                print(f'         {"":14s} family {f:14s} {fs["median_abs_pct"]:6.1f} %  (n={fs["n_points"]} points)')
    print('\nWorst five designs (largest cross-validated error):')
    for w in out['worst']:
        print(f'  {w["design"]:32s} {w["error_pct"]:+8.1f} %  {w["reason"]}')
    print('\nFitted per-family factors (all designs):', json.dumps(out['fitted']))
    if args.write:
        write_calibration(out)
        print(f'wrote factors and bands to {CALIBRATION}')
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2, default=str))
    return out


if __name__ == '__main__':
    main()
