"""Validation inputs: load them or generate them, and put them on the input type's grid.

The C-simulation verdict, the ``profile`` precision policy's calibration (:mod:`fpgaml.convert.profile`), the RTL
check and regress all read the same samples, so they live here, outside the :mod:`fpgaml.csim` package: conversion
reads them without importing the C-simulation (which imports conversion).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from fpgaml.errors import FpgamlError

# the casts of validation data onto the input types (and their bit patterns), used as vdata.quantize etc.
from fpgaml.fixed import Fixed, on_grid, quantize, to_bits  # noqa: F401


def generate(
    shapes: list[tuple[int, ...]],
    types: list[Fixed | None],
    n: int,
    seed: int,
    index_limits: list[int | None] | None = None,
) -> list[np.ndarray]:
    """``n`` seeded samples spanning each input type's whole range, saturation included: uniform over the
    representable range, with 5% of the values set exactly to the minimum or maximum. An input of indices
    (``index_limits[i]``: an Embedding's rows, a GarNet's vertices + 1) gets uniform integers in ``[0, limit)``."""
    rng = np.random.default_rng(seed)
    out = []
    for i, (shape, t) in enumerate(zip(shapes, types)):
        limit = index_limits[i] if index_limits else None
        if limit is not None:
            out.append(rng.integers(0, limit, size=(n, *shape)).astype(np.float64))
            continue
        lo, hi = (t.min_value, t.max_value) if t is not None else (-8.0, 8.0)
        x = rng.uniform(lo, hi, size=(n, *shape))
        mask = rng.random(x.shape) < 0.05
        x[mask] = np.where(rng.random(int(mask.sum())) < 0.5, lo, hi)
        out.append(x)
    return out


def _check_indices(path: Path, key: str, x: np.ndarray, limit: int) -> None:
    bad = (x < 0) | (x >= limit) | (x != np.round(x))
    if bad.any():
        raise FpgamlError(
            f'{path}: {int(bad.sum())} values in {key} are outside what the layer it feeds accepts (integers 0 to '
            f"{limit - 1}: an Embedding's row indices, a GarNet vertex count), e.g. {x[bad].flat[0]:g}"
        )


def _numbers(path: Path, key: str, a: np.ndarray) -> np.ndarray:
    """``a`` as float64, refusing non-numeric arrays and NaN / Inf values (the firmware has no NaN)."""
    try:
        a = np.asarray(a, dtype=np.float64)
    except (TypeError, ValueError):
        raise FpgamlError(f'{path}: "{key}" holds {np.asarray(a).dtype} values, not numbers') from None
    nan, inf = int(np.isnan(a).sum()), int(np.isinf(a).sum())
    if nan or inf:
        what = ' and '.join(f'{c} {w}' for c, w in ((nan, 'NaN'), (inf, 'Inf')) if c)
        raise FpgamlError(
            f'{path}: {what} values in {key}; validation data must be finite numbers (drop or replace those samples)'
        )
    return a


def load(
    path: Path, shapes: list[tuple[int, ...]], n: int, index_limits: list[int | None] | None = None
) -> tuple[list[np.ndarray], np.ndarray | None]:
    """Inputs (and labels, if present) from .npy (inputs only) or .npz (``x``/``X``/``x0``.., optional ``y``);
    an input of Embedding indices (``index_limits``) must hold integers in ``[0, rows)``."""
    try:
        raw = np.load(path, allow_pickle=False)
    except Exception as e:  # noqa: BLE001
        raise FpgamlError(f'{path}: cannot read validation data ({type(e).__name__}: {e})') from None
    labels = None
    if isinstance(raw, np.ndarray):
        names, xs = ['x'], [raw]
    else:
        keys = list(raw.keys())
        if len(shapes) > 1:
            names = [f'x{i}' for i in range(len(shapes))]
        else:
            names = [next((k for k in ('x', 'X', 'x0', 'inputs', 'x_test', 'X_test') if k in keys), None)]
        if any(k is None or k not in keys for k in names):
            raise FpgamlError(
                f'{path}: no input array found; expected key "x" (or x0, x1, ... for several inputs), '
                f'found: {", ".join(keys)}'
            )
        xs = [raw[k] for k in names]
        label_key = next((k for k in ('y', 'Y', 'labels', 'y_test') if k in keys), None)
        if label_key is not None:
            labels = _numbers(path, label_key, raw[label_key])
    fixed = []
    for i, (key, x, shape) in enumerate(zip(names, xs, shapes)):
        x = _numbers(path, key, x)
        if index_limits and index_limits[i] is not None:
            _check_indices(path, key, x, index_limits[i])
        if x.ndim == 0 or x.shape[0] == 0:
            raise FpgamlError(f'{path}: "{key}" holds no samples (shape {x.shape})')
        if x.shape[1:] != tuple(shape):
            if int(np.prod(x.shape[1:])) == int(np.prod(shape)):
                x = x.reshape((x.shape[0], *shape))
            else:
                raise FpgamlError(
                    f'{path}: input "{key}" has shape {x.shape[1:]} per sample, the model expects {tuple(shape)}'
                )
        fixed.append(x)
    counts = {key: x.shape[0] for key, x in zip(names, fixed)}
    if labels is not None:
        counts[label_key] = labels.shape[0] if labels.ndim else 0
    if len(set(counts.values())) > 1:
        raise FpgamlError(
            f'{path}: arrays of different lengths: '
            + ', '.join(f'{k} has {v}' for k, v in counts.items())
            + '; every input and the labels need one entry per sample'
        )
    return [x[:n] for x in fixed], (labels[:n] if labels is not None else None)
