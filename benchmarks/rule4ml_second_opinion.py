"""rule4ml as a second opinion: its predictions for the calibration designs it can express, against the real figures.

rule4ml (PyPI, a learned predictor of hls4ml resources and latency) needs Keras 3 models and torch, which do not
live beside fpgaml's pinned stack (TF_USE_LEGACY_KERAS=1 tf_keras + QKeras; plain `pip install rule4ml` also pulls
the CUDA torch wheels).  So this script runs in an environment of its own:

    python3.11 -m venv /tmp/r4ml
    /tmp/r4ml/bin/pip install <a torch CPU wheel>  rule4ml==0.2.0 pyyaml
    /tmp/r4ml/bin/python benchmarks/rule4ml_second_opinion.py [--json out.json]

It reads the designs and real figures from fpgaml/estimate/calibration.yml (no fpgaml import), rebuilds the
Dense-only ones as Keras 3 models (rule4ml reads only layer sizes, activations, the model-wide precision's width,
strategy and reuse factor; weights do not matter), maps each part to the rule4ml board of the same FPGA (VU9P:
alveo-u200, VU13P: alveo-u250, xc7z020: pynq-z2) and each tool to rule4ml's nearest hls4ml / Vivado versions,
and prints rule4ml's prediction and its error per figure and kind (csynth or post-synthesis), with the median
absolute error per metric.  rule4ml has no io_type and no clock input: io_stream designs are predicted as its
one form.  Compare with fpgaml's cross-validated errors from benchmarks/estimator_calibration.py.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import warnings
from pathlib import Path

warnings.filterwarnings('ignore')
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')

import yaml  # noqa: E402  (after the TF log level is set)

REPO = Path(__file__).resolve().parents[1]
CALIBRATION = REPO / 'fpgaml' / 'estimate' / 'calibration.yml'
BOARDS = {'xcvu9p': 'alveo-u200', 'xcvu13p': 'alveo-u250', 'xc7z020': 'pynq-z2'}  # same FPGA, rule4ml's names
METRICS = {'lut': 'LUT', 'ff': 'FF', 'dsp': 'DSP', 'latency_cycles': 'CYCLES'}


def _versions(tool: str) -> tuple[str, str]:
    """rule4ml's (hls4ml version, Vivado version) nearest to the point's tool."""
    t = tool.lower()
    for v in ('2024.1', '2023.1', '2020.1', '2019.2'):
        if v in t:
            return ('1.1.0' if v >= '2023' else '0.8.1'), ('2023.2' if v == '2023.1' else v)
    return '1.1.0', '2020.1'


def _model(point: dict):
    import keras
    from keras.layers import Dense, Input

    arch = point['model']['architecture']
    if arch in ('jet_tagger', 'jet_tagger_qkeras6'):
        sizes, acts = [16, 64, 32, 32, 5], ['relu', 'relu', 'relu', 'softmax']
    elif arch == 'dense16x5':
        sizes, acts = [16, 5], ['relu']
    elif arch == 'dense64_act' and point['model'].get('activation') in ('relu', 'sigmoid'):
        sizes, acts = [1, 64], [point['model']['activation']]
    else:
        return None  # convolutions, pooling and ELU are outside what this comparison rebuilds
    i = Input(shape=(sizes[0],))
    x = i
    for n, a in zip(sizes[1:], acts):
        x = Dense(n, activation=a)(x)
    m = keras.Model(i, x, name=f'{arch}_{point["id"]}')
    m.build((None, sizes[0]))
    return m


def _precision(p: str) -> str:
    inner = p.strip().removeprefix('fixed<').removeprefix('ap_fixed<').rstrip('>').split(',')
    return f'ap_fixed<{inner[0].strip()},{inner[1].strip()}>'


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--json', type=Path)
    args = ap.parse_args(argv)
    try:
        from rule4ml.models.wrappers import MultiModelWrapper
    except ImportError as e:
        print(f'rule4ml is not importable here ({e}); see the module docstring for its environment', file=sys.stderr)
        return 2
    est = MultiModelWrapper()
    est.load_default_models()
    points = yaml.safe_load(CALIBRATION.read_text())['points']
    rows, errs = [], {}
    for p in points:
        board = next((b for k, b in BOARDS.items() if p['part'].lower().startswith(k)), None)
        m = _model(p) if board else None
        if m is None:
            print(f'{p["id"]:44s} not expressible (part {p["part"]}, architecture {p["model"]["architecture"]})')
            continue
        hv, vv = _versions(p.get('tool', ''))
        cfg = {
            'board': board,
            'model': {
                'strategy': p['model']['strategy'].lower(),
                'precision': _precision(p['model']['precision']),
                'reuse_factor': int(p['model']['reuse_factor']),
            },
        }
        pred = est.predict(m, hls_configs=cfg, hls4ml_versions=hv, vivado_versions=vv).iloc[0]
        for kind, figs in (p.get('measured') or {}).items():
            for metric, col in METRICS.items():
                real = (figs or {}).get(metric)
                if real is None:
                    continue
                e = 100.0 * (float(pred[col]) - real) / real if real else None
                rows.append(
                    {
                        'id': p['id'],
                        'kind': kind,
                        'metric': metric,
                        'rule4ml': float(pred[col]),
                        'measured': real,
                        'error_pct': e,
                        'board': board,
                        'versions': [hv, vv],
                    }
                )
                if e is not None:
                    errs.setdefault((kind, metric), []).append(abs(e))
                print(
                    f'{p["id"]:44s} {kind:6s} {metric:14s} rule4ml {float(pred[col]):10.0f}  real {real:8}  '
                    + (f'{e:+8.1f} %' if e is not None else '       -')
                )
    print(
        '\nrule4ml median absolute % error (its own fit: these designs are not known to be outside its training set):'
    )
    summary = {}
    for (kind, metric), v in sorted(errs.items()):
        summary[f'{kind}/{metric}'] = {'median_abs_pct': statistics.median(v), 'n': len(v)}
        print(f'  {kind:6s} {metric:14s} {statistics.median(v):8.1f} %  (n={len(v)})')
    if args.json:
        args.json.write_text(json.dumps({'rows': rows, 'summary': summary}, indent=1))
    return 0


if __name__ == '__main__':
    sys.exit(main())
