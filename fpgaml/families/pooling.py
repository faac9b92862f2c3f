"""Pooling (max / average, global). The RTL backend builds the io_parallel, channels-last kernels
(``nnet::pooling{1,2}d_cl`` / ``global_pooling{1,2}d_cl``), padding included."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from fpgaml.convert.passes.exact_average_pooling import ExactAveragePooling, power_of_two
from fpgaml.estimate import arith
from fpgaml.estimate.primitives import (
    Context,
    LayerCost,
    attr,
    in_fmt,
    in_var,
    line_buffer,
    out_fmt,
    out_var,
    shape_of,
    size_of,
    stream_fifos,
)
from fpgaml.fixed import Fixed
from fpgaml.rtl.ops import RtlInput, RtlUnsupported, cast_var, rtl_type

from .base import Family

_CLASSES = ('Pooling1D', 'Pooling2D', 'GlobalPooling1D', 'GlobalPooling2D')


def pooling(ctx: Context, layer) -> LayerCost:
    cls = layer.class_name
    o = out_fmt(layer)
    a = in_fmt(layer)
    op = str(attr(layer, 'pool_op', 'Max') or 'Max').lower()
    n_filt = int(attr(layer, 'n_filt', shape_of(out_var(layer))[-1] if shape_of(out_var(layer)) else 1))
    if cls.startswith('Global'):
        in_sz = size_of(in_var(layer))
        win = max(1, in_sz // max(1, n_filt))
        out_pix = 1
        iw, fh = win, 1
    else:
        iw = int(attr(layer, 'in_width', attr(layer, 'n_in', 1)))
        fh = int(attr(layer, 'pool_height', 1))
        fw = int(attr(layer, 'pool_width', 1))
        win = fh * fw
        out_pix = max(1, size_of(out_var(layer)) // max(1, n_filt))
    per_op = (1.5 if op == 'max' else 1.0) * a.width
    c = LayerCost()
    lg = math.ceil(math.log2(max(2, win)))
    if ctx.stream:
        if cls.startswith('Global'):
            c.lut = n_filt * per_op
            c.ff = n_filt * a.width
        else:
            c.lut = n_filt * (win - 1) * per_op
            c.add(line_buffer(ctx, layer, fh, win // max(1, fh), iw, n_filt, a))
        in_pix = max(1, size_of(in_var(layer)) // max(1, n_filt))
        c.latency_cycles = in_pix + ctx.cycles(lg * arith.T_ADD_NS) + 1
        c.ii_cycles = in_pix
    else:
        c.lut = out_pix * n_filt * (win - 1) * per_op
        c.ff = out_pix * n_filt * o.width
        c.latency_cycles = ctx.cycles(lg * arith.T_ADD_NS)
        c.ii_cycles = 1
    if op != 'max' and win & (win - 1):
        c.lut += out_pix * n_filt * o.width  # division by a non power of two (constant multiplication)
    return c.add(stream_fifos(ctx, layer))


def average(layer) -> str | None:
    """Calibration: average pooling is an adder tree and a division, another structure than max's compare/select."""
    return 'pooling/average' if str(attr(layer, 'pool_op', 'Max') or 'Max').lower() != 'max' else None


# ---- RTL ----------------------------------------------------------------------------------------------------------
def check(layer) -> None:
    op = str(layer.get_attr('pool_op', 'Max'))
    if op not in ('Max', 'Average'):
        raise RtlUnsupported(
            f'layer "{layer.name}": {op} pooling is not supported by the RTL backend (Max and Average are)'
        )
    fmt = str(layer.get_attr('data_format', 'channels_last'))
    if fmt != 'channels_last':
        raise RtlUnsupported(
            f'layer "{layer.name}": data_format {fmt}: the RTL backend builds channels_last pooling only'
        )


def _pool_geometry(layer, dims: int, shape: tuple) -> tuple:
    """(pool h, pool w, stride h, stride w, pad top, bottom, left, right) of a (Global)Pooling1D/2D layer."""
    if layer.class_name.startswith('GlobalPooling'):
        h, w = (1, shape[0]) if dims == 1 else (shape[0], shape[1])
        return h, w, h, w, 0, 0, 0, 0
    g = layer.get_attr
    pw, sw, pl, pr = g('pool_width'), g('stride_width'), g('pad_left', 0) or 0, g('pad_right', 0) or 0
    if dims == 1:
        return 1, pw, 1, sw, 0, 0, pl, pr
    return g('pool_height'), pw, g('stride_height'), sw, g('pad_top', 0) or 0, g('pad_bottom', 0) or 0, pl, pr


def _pad_value(op: str, t: Fixed) -> float:
    """``nnet::pad_val``: 0 for Average; for Max the value with only the top bit set (the type's minimum when
    signed)."""
    if op != 'Max':
        return 0.0
    return t.min_value if t.signed else 2.0 ** (t.integer - 1)


def _divide_trunc(y, n: int, acc_t: Fixed):
    """``accum_t y; y /= n`` of ``nnet::avg``: ap_fixed division by an integer keeps y's fractional bits and
    truncates toward zero.  Built as a product with ceil(2^K / n) / 2^K, K = width + ceil(log2 n), which gives
    floor(|Y| / n) exactly for every |Y| < 2^width (Y: y in units of its LSB), then a cast toward zero."""
    if n == 1:
        return y
    toward_zero = replace(acc_t, rounding='TRN_ZERO', saturation='WRAP')
    if n & (n - 1) == 0:
        return cast_var(y * (1.0 / n), toward_zero)
    K = acc_t.width + math.ceil(math.log2(n))
    m = -(-(2**K) // n)
    return cast_var(y * (m / 2.0**K), toward_zero)


def _pool(x3: np.ndarray, layer, dims: int, in_t: Fixed, acc_t: Fixed, res_t: Fixed) -> np.ndarray:
    """``nnet::pooling{1,2}d_cl`` / ``global_pooling{1,2}d_cl`` (io_parallel, channels last): padded cells get
    ``pad_val``; Max keeps the largest value; Average sums in ``accum_t`` (a cast after every addition, in the
    template's order), divides by the window's count of image cells (or the full window with ``count_pad``),
    then the result is cast to ``result_t``."""
    from fpgaml.rtl.backend import api

    FixedVariable = api().FixedVariable

    op = str(layer.get_attr('pool_op', 'Max'))
    if dims == 1:
        x3 = x3[None]
    H, W, C = x3.shape
    ph, pw, sh, sw, pt, pb, pl, pr = _pool_geometry(layer, dims, (W,) if dims == 1 else (H, W))
    oh, ow = (H + pt + pb - ph) // sh + 1, (W + pl + pr - pw) // sw + 1
    count_pad = bool(layer.get_attr('count_pad', False))
    pad = _pad_value(op, in_t)
    hwconf = x3.flat[0].hwconf
    pad_var = FixedVariable(pad, pad, in_t.step, hwconf=hwconf)
    out = np.empty((oh, ow, C), dtype=object)
    for r in range(oh):
        for c in range(ow):
            cells = [(r * sh + kk - pt, c * sw + ll - pl) for kk in range(ph) for ll in range(pw)]
            inside = [0 <= i < H and 0 <= j < W for i, j in cells]
            for ch in range(C):
                win = [x3[i, j, ch] if ok else None for (i, j), ok in zip(cells, inside)]
                if op == 'Max':
                    vals = [v if v is not None else pad_var for v in win]
                    m = vals[0]
                    for v in vals[1:]:
                        m = v.max_of(m)
                    out[r, c, ch] = cast_var(cast_var(m, acc_t), res_t)
                else:  # Average: padded cells are 0 and add nothing
                    terms = [v for v in win if v is not None]
                    y = cast_var(terms[0], acc_t)
                    for v in terms[1:]:
                        y = cast_var(y + v, acc_t)
                    n = ph * pw if count_pad else sum(inside)
                    out[r, c, ch] = cast_var(_divide_trunc(y, n, acc_t), res_t)
    return out.ravel()


def lower(layer, inp: RtlInput) -> np.ndarray:
    check(layer)
    dims = 1 if layer.class_name.endswith('1D') else 2
    acc_t = rtl_type(layer.get_attr('accum_t').precision, f'{layer.name}.accum_t')
    xs = inp.shape
    x3 = inp.x.reshape(xs if dims == 2 else (xs[0], xs[1]))
    return _pool(x3, layer, dims, inp.type, acc_t, inp.result)


def keras_exact_average(keras_layer) -> bool:
    """A Keras average pooling that averages a power-of-two count everywhere (no padding): exact on quantized
    inputs, in float32 and with the type :class:`ExactAveragePooling` gives it."""
    cls = type(keras_layer).__name__
    if 'Average' not in cls or getattr(keras_layer, 'data_format', 'channels_last') != 'channels_last':
        return False
    shape = keras_layer.input_shape
    if cls.startswith('Global'):
        n = int(np.prod(shape[1:-1])) if all(d is not None for d in shape[1:-1]) else None
    elif str(getattr(keras_layer, 'padding', 'valid')).lower() != 'valid':
        return False
    else:
        n = int(np.prod(keras_layer.pool_size))
    return power_of_two(n)


FAMILY = Family(
    name='pooling',
    hls_classes=_CLASSES,
    keras_classes=(
        'MaxPooling1D',
        'MaxPooling2D',
        'AveragePooling1D',
        'AveragePooling2D',
        'GlobalMaxPooling1D',
        'GlobalMaxPooling2D',
        'GlobalAveragePooling1D',
        'GlobalAveragePooling2D',
    ),
    keras_passthrough=('MaxPooling1D', 'MaxPooling2D', 'GlobalMaxPooling1D', 'GlobalMaxPooling2D'),  # keep the grid
    keras_exact_if=keras_exact_average,
    passes=(ExactAveragePooling,),
    cost=dict.fromkeys(_CLASSES, pooling),
    subfamily=average,
    lower=dict.fromkeys(_CLASSES, lower),
    rtl_check=check,
    rtl_supported=('Max/AveragePooling1D/2D and their Global forms (channels last, padding included)',),
)
