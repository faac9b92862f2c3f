"""Multiply-accumulate layers: Dense and convolutions. A QDense over a 2-D/3-D input gets its quantizers back (hls4ml
builds it as a convolution without them); power-of-two (quantized_po2) weights get exact accumulators, fpgaml's exact
product and an exact bias type (four passes). Costed as a MAC array of constant or shared multipliers
(:func:`fpgaml.estimate.primitives.mac`; the cost models are :mod:`fpgaml.families.dense_costs`); the RTL backend
builds Dense, EinsumDense and io_parallel Conv1D/Conv2D as da4ml constant-matrix products
(:func:`fpgaml.rtl.ops.affine`)."""

from __future__ import annotations

import numpy as np

from fpgaml.convert.passes.da_kernels import DaKernels
from fpgaml.convert.passes.exact_binary_weight_accumulators import ExactBinaryWeightAccumulators
from fpgaml.convert.passes.exact_po2_accumulators import ExactPo2Accumulators
from fpgaml.convert.passes.exact_po2_bias import ExactPo2Bias
from fpgaml.convert.passes.exact_po2_products import ExactPo2Products
from fpgaml.convert.passes.quantized_multidim_dense import QuantizedMultidimDense
from fpgaml.fixed import Fixed
from fpgaml.rtl.ops import RtlInput, RtlUnsupported, accum_type, affine, has_weights, supported_text, weights

from .base import Family
from .dense_costs import conv, dense, einsum_dense, separable, structure

_CONV = (
    'Conv1D',
    'Conv2D',
    'Conv2DBatchnorm',
    'PointwiseConv1D',
    'PointwiseConv2D',
    'DepthwiseConv1D',
    'DepthwiseConv2D',
)


# ---- RTL ----------------------------------------------------------------------------------------------------------
def _bias(layer, n_out: int) -> tuple[np.ndarray, Fixed]:
    return weights(layer, 'bias') if has_weights(layer, 'bias') else (np.zeros(n_out), Fixed(1, 1, False))


def lower_dense(layer, inp: RtlInput) -> np.ndarray:
    name = layer.name
    W, w_t = weights(layer, 'weight')
    b, b_t = _bias(layer, W.shape[1])
    y = affine(
        inp.x.reshape(1, -1),
        W.reshape(W.shape[0], -1),
        b,
        inp.type,
        w_t,
        b_t,
        accum_type(layer, name),
        inp.result,
        name,
        inp.solver_options,
    ).ravel()
    act = str(layer.get_attr('activation', 'linear')).lower()
    if act not in ('linear', ''):
        raise RtlUnsupported(f'layer "{name}": a fused {act} activation is not supported; {supported_text()}')
    return y


def _conv_rows(x3: np.ndarray, layer, dims: int) -> tuple[np.ndarray, tuple]:
    """im2col of an (H, W, C) object array: rows of (kh, kw, c) patches in the firmware's output order."""
    if dims == 1:
        x3 = x3[None]
        kh, sh, pt, pb = 1, 1, 0, 0
    else:
        kh, sh = layer.get_attr('filt_height'), layer.get_attr('stride_height')
        pt, pb = layer.get_attr('pad_top', 0), layer.get_attr('pad_bottom', 0)
    kw, sw = layer.get_attr('filt_width'), layer.get_attr('stride_width')
    pl, pr = layer.get_attr('pad_left', 0), layer.get_attr('pad_right', 0)
    H, W, C = x3.shape
    if pt or pb or pl or pr:
        from fpgaml.rtl.backend import api

        FixedVariable = api().FixedVariable

        zero = FixedVariable(0.0, 0.0, 1.0, hwconf=x3.flat[0].hwconf)
        p = np.empty((H + pt + pb, W + pl + pr, C), dtype=object)
        p[...] = zero
        p[pt : pt + H, pl : pl + W] = x3
        x3 = p
    Hp, Wp, _ = x3.shape
    oh, ow = (Hp - kh) // sh + 1, (Wp - kw) // sw + 1
    rows = np.empty((oh * ow, kh * kw * C), dtype=object)
    for r in range(oh):
        for c in range(ow):
            rows[r * ow + c] = x3[r * sh : r * sh + kh, c * sw : c * sw + kw, :].ravel()
    return rows, (oh, ow)


def lower_conv(layer, inp: RtlInput) -> np.ndarray:
    dims = 1 if layer.class_name == 'Conv1D' else 2
    W, w_t = weights(layer, 'weight')
    b, b_t = _bias(layer, W.shape[-1])
    xs = inp.shape
    rows, _ = _conv_rows(inp.x.reshape(xs if dims == 2 else (xs[0], xs[1])), layer, dims)
    return affine(
        rows,
        W.reshape(-1, W.shape[-1]),
        b,
        inp.type,
        w_t,
        b_t,
        accum_type(layer, layer.name),
        inp.result,
        layer.name,
        inp.solver_options,
    ).ravel()


def lower_einsum_dense(layer, inp: RtlInput) -> np.ndarray:
    """``nnet::einsum_dense`` (Latency): the input transposed to (inplace, free data, contract), for every
    (i, l0) row a ``dense`` with kernel ``i`` (contract x free kernel) and its own bias row, the result transposed
    to the output's order."""
    x, in_t, res_t, solver_options = inp.x, inp.type, inp.result, inp.solver_options
    name = layer.name
    g = layer.get_attr
    n_i, n_l0, n_c, n_l1 = g('n_inplace'), g('n_free_data'), g('n_contract'), g('n_free_kernel')
    W, w_t = weights(layer, 'weight')
    b, b_t = _bias(layer, n_i * n_l0 * n_l1)
    acc_t = accum_type(layer, name)
    xt = x.reshape(tuple(g('inp_shape'))).transpose(tuple(g('inp_tpose_idxs'))).reshape(n_i, n_l0, n_c)
    W = W.reshape(n_i, n_c, n_l1)
    b = np.asarray(b, dtype=np.float64).reshape(n_i, n_l0, n_l1)
    out = np.empty((n_i, n_l0, n_l1), dtype=object)
    for i in range(n_i):
        out[i] = affine(xt[i], W[i], b[i], in_t, w_t, b_t, acc_t, res_t, name, solver_options)
    shape = tuple(g('out_interpert_shape'))
    return out.reshape(shape).transpose(tuple(g('out_tpose_idxs'))).ravel()


FAMILY = Family(
    name='dense/conv',
    hls_classes=('Dense', 'QDense', 'EinsumDense', 'SeparableConv1D', 'SeparableConv2D') + _CONV,
    keras_classes=(
        'Dense',
        'QDense',
        'EinsumDense',
        'Conv1D',
        'Conv2D',
        'QConv1D',
        'QConv2D',
        'QConv2DBatchnorm',
        'DepthwiseConv1D',
        'DepthwiseConv2D',
        'QDepthwiseConv2D',
        'SeparableConv1D',
        'SeparableConv2D',
        'QSeparableConv1D',
        'QSeparableConv2D',
    ),
    passes=(
        QuantizedMultidimDense,
        ExactPo2Accumulators,
        ExactPo2Products,
        ExactPo2Bias,
        ExactBinaryWeightAccumulators,
        DaKernels,
    ),
    cost={
        'Dense': dense,
        'QDense': dense,
        'EinsumDense': einsum_dense,
        **dict.fromkeys(_CONV, conv),
        'SeparableConv1D': separable,
        'SeparableConv2D': separable,
    },
    subfamily=structure,
    profile='result+accum',
    lower={'Dense': lower_dense, 'EinsumDense': lower_einsum_dense, 'Conv1D': lower_conv, 'Conv2D': lower_conv},
    rtl_supported=('Dense', 'EinsumDense (HGQ2)', 'Conv1D/Conv2D (io_parallel)'),
)
