"""Helpers shared by the jet model zoo's training scripts (``models/jet_*/train.py``).

Every zoo model trains on the generated dataset (``fpgaml data jets``; default ``data/jets.npz`` in the
checkout, or ``$FPGAML_JETS``) with the same deterministic train / validation / test split, writes a
small committed sample of its test split (``val.npz``: x, y) and ``metrics.json`` with the float twin's,
the quantized Keras model's and the C-simulation's accuracies.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from fpgaml.data import load_jets, split_indices

REPO = Path(__file__).resolve().parents[2]
MODELS = REPO / 'models'


def dataset_path() -> Path:
    p = Path(os.environ.get('FPGAML_JETS', REPO / 'data' / 'jets.npz'))
    if not p.is_file():
        raise SystemExit(
            f'{p} not found: generate it first (python -m fpgaml.data.jets --n 2500 --out {p}; '
            f'needs the physics extra), or point $FPGAML_JETS at a generated file'
        )
    return p


def load_split(representation: str, seed: int = 0):
    """``(train, val, test, meta)``, each ``(x, y)``; ``x`` is ``(points, n_points)`` for 'points'."""
    x, y, meta = load_jets(dataset_path(), representation)
    tr, va, te = split_indices(len(y), seed)

    def take(idx):
        if isinstance(x, tuple):
            return tuple(a[idx] for a in x), y[idx]
        return x[idx], y[idx]

    return take(tr), take(va), take(te), meta


def dataset_record(meta: dict) -> dict:
    return {k: meta.get(k) for k in ('generator', 'seed', 'jets_per_class', 'events_generated', 'versions')}


def pruning_summary(model) -> dict:
    """Sparsity of the prunable kernels of a (stripped or wrapped) model."""
    total = zero = 0
    for w in model.weights:
        if 'kernel' in w.name and 'mask' not in w.name:
            a = w.numpy()
            total += a.size
            zero += int(np.sum(a == 0))
    return {'kernel_weights': total, 'zero_kernel_weights': zero, 'sparsity': round(zero / max(total, 1), 4)}


def count_params(model) -> int:
    return int(sum(np.prod(w.shape) for w in model.trainable_weights))


def csim(config: Path, samples: int | None = None) -> dict:
    """Build ``config`` into a scratch folder and C-simulate it; the report's figures for metrics.json."""
    from fpgaml.config import load_config
    from fpgaml.flow import build

    scratch = Path(tempfile.mkdtemp(prefix='fpgaml-zoo-'))
    try:
        cfg = load_config(config, output_dir=scratch / 'prj')
        if samples is not None:
            cfg.validation.samples = samples
        t0 = time.perf_counter()
        res = build(cfg, csim=True, force=True)
        c = res.csim
        out = {
            'csim_samples': c.samples,
            'csim_mode': c.mode,
            'csim_compared_at': c.compared_at,
            'csim_exact_fraction': c.exact_fraction,
            'csim_max_abs_diff': c.max_abs_diff,
            'csim_argmax_agreement': c.argmax_agreement,
            'csim_passed': c.passed,
            'csim_accuracy': c.accuracy,
            'compile_seconds': round(c.compile_seconds, 1),
            'csim_us_per_sample': round(c.us_per_sample, 1),
            'build_seconds': round(time.perf_counter() - t0, 1),
            'pruning_wrappers_stripped': res.conversion.loaded.pruning_stripped,
        }
        if res.estimate_result is not None:
            est = res.estimate_result.to_json_dict()
            out['estimate_total'] = est.get('total', est)
        return out
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def write_metrics(here: Path, metrics: dict) -> None:
    (Path(here) / 'metrics.json').write_text(json.dumps(metrics, indent=2, default=float) + '\n')
