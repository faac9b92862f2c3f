"""Validation inputs: load them or generate them, and put them on the input type's grid."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from fpgaml.config.precision import FixedType
from fpgaml.errors import FpgamlError


def quantize(x: np.ndarray, t: FixedType | None) -> np.ndarray:
    """Emulate assigning doubles to ``ap_fixed<W,I,Q,O>`` (rounding and overflow modes), in float64."""
    x = np.asarray(x, dtype=np.float64)
    if t is None:
        return x
    scale = 2.0 ** t.fractional
    v = x * scale
    r = t.rounding
    if r == 'TRN':
        q = np.floor(v)
    elif r == 'TRN_ZERO':
        q = np.trunc(v)
    elif r == 'RND':  # half towards +inf
        q = np.floor(v + 0.5)
    elif r == 'RND_ZERO':  # half towards zero
        q = np.where(v >= 0, np.ceil(v - 0.5), np.floor(v + 0.5))
    elif r == 'RND_MIN_INF':  # half towards -inf
        q = np.ceil(v - 0.5)
    elif r == 'RND_INF':  # half away from zero
        q = np.where(v >= 0, np.floor(v + 0.5), np.ceil(v - 0.5))
    elif r == 'RND_CONV':  # half to even
        q = np.round(v)
    else:  # pragma: no cover - validated in config
        raise ValueError(r)
    lo = -(2.0 ** (t.width - 1)) if t.signed else 0.0
    hi = (2.0 ** (t.width - 1) - 1) if t.signed else (2.0**t.width - 1)
    s = t.saturation
    if s == 'WRAP':
        span = 2.0**t.width
        q = np.mod(q - lo, span) + lo
    elif s == 'SAT':
        q = np.clip(q, lo, hi)
    elif s == 'SAT_SYM':
        q = np.clip(q, -hi if t.signed else lo, hi)
    elif s == 'SAT_ZERO':
        q = np.where((q < lo) | (q > hi), 0.0, q)
    return q / scale


def to_bits(values: np.ndarray, t: FixedType) -> np.ndarray:
    """Integer bit patterns (as int64 values, value * 2^F) of numbers that lie on ``t``'s grid."""
    return np.round(np.asarray(values, dtype=np.float64) * 2.0**t.fractional).astype(np.int64)


def on_grid(values: np.ndarray, t: FixedType) -> np.ndarray:
    v = np.asarray(values, dtype=np.float64) * 2.0**t.fractional
    return v == np.round(v)


def generate(shapes: list[tuple[int, ...]], types: list[FixedType | None], n: int, seed: int) -> list[np.ndarray]:
    """``n`` seeded samples spanning each input type's whole range, saturation included: uniform over the
    representable range, with 5% of the values set exactly to the minimum or maximum."""
    rng = np.random.default_rng(seed)
    out = []
    for shape, t in zip(shapes, types):
        lo, hi = (t.min_value, t.max_value) if t is not None else (-8.0, 8.0)
        x = rng.uniform(lo, hi, size=(n, *shape))
        mask = rng.random(x.shape) < 0.05
        x[mask] = np.where(rng.random(int(mask.sum())) < 0.5, lo, hi)
        out.append(x)
    return out


def load(path: Path, shapes: list[tuple[int, ...]], n: int) -> tuple[list[np.ndarray], np.ndarray | None]:
    """Inputs (and labels, if present) from .npy (inputs only) or .npz (``x``/``X``/``x0``.., optional ``y``)."""
    try:
        raw = np.load(path, allow_pickle=False)
    except Exception as e:  # noqa: BLE001
        raise FpgamlError(f'{path}: cannot read validation data ({type(e).__name__}: {e})') from None
    labels = None
    if isinstance(raw, np.ndarray):
        xs = [raw]
    else:
        keys = list(raw.keys())
        if len(shapes) > 1:
            names = [f'x{i}' for i in range(len(shapes))]
        else:
            names = [next((k for k in ('x', 'X', 'x0', 'inputs', 'x_test', 'X_test') if k in keys), None)]
        if any(k is None or k not in keys for k in names):
            raise FpgamlError(f'{path}: no input array found; expected key "x" (or x0, x1, ... for several inputs), '
                              f'found: {", ".join(keys)}')
        xs = [raw[k] for k in names]
        for k in ('y', 'Y', 'labels', 'y_test'):
            if k in keys:
                labels = np.asarray(raw[k])
                break
    fixed = []
    for i, (x, shape) in enumerate(zip(xs, shapes)):
        x = np.asarray(x, dtype=np.float64)
        if x.shape[1:] != tuple(shape):
            if x.ndim >= 1 and int(np.prod(x.shape[1:])) == int(np.prod(shape)):
                x = x.reshape((x.shape[0], *shape))
            else:
                raise FpgamlError(f'{path}: input {i} has shape {x.shape[1:]} per sample, the model expects '
                                  f'{tuple(shape)}')
        fixed.append(x[:n])
    if labels is not None:
        labels = labels[:n]
    return fixed, labels
