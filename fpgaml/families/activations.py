"""Element-wise activations (ReLU and friends computed exactly; sigmoid, tanh, ELU ... as lookup tables).
hls4ml splits a layer's ``activation=`` argument into a separate "<layer>_<activation>" layer: its Keras
reference is that layer's post-activation output. The exact_passthrough pass types float ReLU/linear
activations as their input in bit-exact mode; exact_quantized_activations computes QActivation(quantized_sigmoid /
quantized_tanh) as exact threshold tables. The RTL backend builds ReLU and linear (quantized) activations."""

from __future__ import annotations

import math

import numpy as np

from fpgaml.convert.passes.exact_passthrough import ExactPassthrough
from fpgaml.convert.passes.exact_quantized_activations import ExactQuantizedActivations
from fpgaml.estimate import arith
from fpgaml.estimate.primitives import (
    Context,
    LayerCost,
    attr,
    elementwise_timing,
    exact_table,
    in_fmt,
    out_fmt,
    out_var,
    rom,
    size_of,
    stream_fifos,
    type_fmt,
    weight,
    writes_into_srl,
)
from fpgaml.fixed import Fixed
from fpgaml.rtl.ops import RtlInput, RtlUnsupported, cast, cast_var, supported_text

from .base import Family, activation_output
from .softmax import softmax

_CLASSES = (
    'Activation',
    'ReLU',
    'ParametrizedActivation',
    'PReLU',
    'HardActivation',
    'LeakyReLU',
    'ThresholdedReLU',
    'ELU',
    'UnaryLUT',
    'TernaryTanh',
)
_CHEAP = {
    'relu',
    'relu6',
    'linear',
    'binary_tanh',
    'ternary_tanh',
    'step',
    'sign',
    'hard_sigmoid',
    'hard_tanh',
    'leaky_relu',
    'thresholdedrelu',
    'thresholded_relu',
    'prelu',
    'binary',
    'ternary',
}


def is_table_activation(layer) -> bool:
    """A table-based activation (sigmoid, tanh, elu, softmax, ...): a different structure from compare/select."""
    act = str(attr(layer, 'activation', layer.class_name) or '').lower()
    if layer.class_name == 'Softmax' or act == 'softmax' or act == 'linear':
        return False
    return not (act in _CHEAP or 'relu' in act or layer.class_name in ('TernaryTanh', 'PReLU', 'HardActivation'))


def table(layer) -> str | None:
    """Calibration: lookup tables are another structure than compare / select."""
    return 'activations/table' if is_table_activation(layer) else None


def activation(ctx: Context, layer) -> LayerCost:
    act = str(attr(layer, 'activation', layer.class_name) or '').lower()
    if layer.class_name == 'Softmax' or act == 'softmax':
        return softmax(ctx, layer)
    n = size_of(out_var(layer))
    o = out_fmt(layer)
    a = in_fmt(layer)
    c = LayerCost()
    exact = attr(layer, 'fpgaml_exact_tables')
    if exact:  # QActivation(quantized_sigmoid / quantized_tanh): fpgaml's exact threshold table
        lat, ii, par = elementwise_timing(ctx, layer, n, 2 + ctx.cycles(arith.T_BRAM_NS))
        for entries, bits in exact.values():
            c.add(exact_table(entries, bits, par, a.width))
        c.ff += par * o.width
        c.latency_cycles, c.ii_cycles = lat, ii
        return c.add(stream_fifos(ctx, layer))
    if act == 'linear':
        c.process = ctx.stream
        lat, ii, par = elementwise_timing(ctx, layer, n, 0)
        c.latency_cycles, c.ii_cycles = lat, ii
        return c.add(stream_fifos(ctx, layer))
    if act in _CHEAP or 'relu' in act or layer.class_name in ('TernaryTanh', 'PReLU', 'HardActivation'):
        # a compare-and-select chains into the producer's last cycle (csynth shows 0-cycle ReLUs)
        lat, ii, par = elementwise_timing(ctx, layer, n, 0)
        per = 0.5 * o.width  # compare (sign) + select
        if 'leaky' in act or act == 'prelu' or layer.class_name == 'PReLU':
            per = slope_lut(layer, o, n)  # the select and the product by a constant slope
        elif act == 'elu':
            per += 1.0 * o.width  # multiplication by a constant slope
        if act.startswith('hard'):
            per += 1.5 * o.width
        if a.width > o.width or o.rounding.startswith('RND'):
            per += 2  # saturation / rounding
        c.lut = par * per
        # Vitis registers a pixel stream's results; one element (ii 1) goes out combinationally and Vivado HLS
        # writes into the FIFO's shift registers (csynth of the SVHN CNN: 3-18 FF per ReLU process)
        c.ff = par * o.width if ctx.stream and ii > 1 and not writes_into_srl(ctx) else 0.0
        c.latency_cycles, c.ii_cycles = lat, ii
        return c.add(stream_fifos(ctx, layer))
    # table-based: sigmoid, tanh, elu, selu, softplus, softsign ...
    table_size = int(attr(layer, 'table_size', 1024) or 1024)
    tf = type_fmt(layer, 'table_t', Fixed(18, 8))
    lat, ii, par = elementwise_timing(ctx, layer, n, 2 + ctx.cycles(arith.T_BRAM_NS))
    lut, ff = table_lookup(layer, act, a, o, tf, table_size)
    if lut is not None:  # (an ELU / SELU of unsigned data is its linear branch: wires)
        c.add(rom(table_size * tf.width, max(1, math.ceil(par / 2))))
        c.lut += par * lut
        c.ff += par * ff
        c.output_from_memory = True
    c.latency_cycles, c.ii_cycles = lat, ii
    return c.add(stream_fifos(ctx, layer))


# hls4ml 1.3's table activations (nnet_activation.h, nnet_activation_stream.h): index = int(x * N / R) + offset
_SYMMETRIC = {'sigmoid': 16, 'softplus': 16, 'softsign': 16, 'tanh': 8}  # R; the table spans [-R/2, R/2), offset N/2
_NEGATIVE_HALF = {'elu', 'selu'}  # x >= 0 ? linear : table[int(x * N / -8)]: the table spans [-8, 0)
_SELU_LAMBDA = 1.0507009873554805


def table_lookup(layer, act: str, a: Fixed, o: Fixed, tf: Fixed, table_size: int) -> tuple[float | None, float]:
    """(LUTs, FFs) per element of a table activation besides its ROM, from what the template computes.

    *Symmetric tables* (sigmoid, tanh, softplus, softsign): ``index = int(x * N / R) + N / 2``, clamped to
    [0, N - 1] on both sides.  ``x * N / R`` is a shift; the ``int`` conversion rounds towards zero (ap_fixed's C
    semantics: +1 for a negative value with a non-zero dropped fraction: an OR of those bits, an incrementer and
    two selects over the index width); the offset is an adder, the lower clamp a select on the sign, the upper one
    a compare and a select on the address bits.  The index width is the integer bits of ``x * N / R`` plus a sign
    (13 for ap_fixed<16,6>, N = 1024, as HLS's RTL of hls4ml's sigmoid shows).  The address is registered
    before the ROM read.
    *Negative half* (elu, selu): only ``x < 0`` reads the table, at ``int(x * N / -8)``: a negation (positive, so
    no rounding correction), one clamp (compare + select on the address bits), then a select between the linear
    branch and the table value (alpha * table for ELU, lambda * x for SELU: constant products, shift-adds per
    extra CSD digit); the linear branch's value and the branch flag are held over the table read.  For
    unsigned data only the linear branch exists (LUTs None: no table).
    ``unary_lut`` (UnaryLUT) slices the top bits of ``x``: no index logic."""
    addr = max(1, math.ceil(math.log2(table_size)))
    if act in _NEGATIVE_HALF:
        if not a.signed:
            return None, 0.0
        w = a.integer + max(0, addr - 3) + 1
        lut = w + _compare_lut(w - addr) + addr + o.width
        if act == 'elu':
            alpha = float(attr(layer, 'activ_param', 1.0) or 1.0)
            lut += _constant_product_lut(alpha, type_fmt(layer, 'param_t', o), tf.width)
        else:  # nnet_activation.h: lambda is an ap_ufixed<16,1> constant
            lut += _constant_product_lut(_SELU_LAMBDA, Fixed(16, 1, False), a.width)
        return float(lut), float(a.width + 1)
    if layer.class_name == 'UnaryLUT':
        return 0.0, float(addr)
    scale = max(0, addr - int(math.log2(_SYMMETRIC.get(act, 16))))
    w = max(a.integer + scale, addr) + 1
    lut = w + _compare_lut(w - 1 - addr) + addr  # offset adder, upper clamp
    if a.signed:
        dropped = max(0, a.fractional - scale)
        lut += (w - 1) + (math.ceil(dropped / 6) + 3 * w if dropped else 0)  # lower clamp, rounding to zero
    return float(lut), float(addr)


def _compare_lut(bits: int) -> int:
    """A compare against a constant over ``bits`` bits: one LUT6 per 6 bits (none where there are none)."""
    return math.ceil(max(0, bits) / 6)


def _constant_product_lut(const: float, fmt: Fixed, width: int) -> float:
    """A product by a constant of type ``fmt`` (``nnet::elu``'s alpha, SELU's lambda) on ``width`` bits: a
    shift-add per extra CSD digit; nothing for 0, 1 or a power of two."""
    k = int(arith.csd_digits(arith.quantize_to_lsb(np.array([const]), fmt))[0])
    return arith.CSD_ADD_LUT_FACTOR * max(0, k - 1) * width


def slope_lut(layer, o: Fixed, n: int) -> float:
    """LUTs per element of a parametric ReLU (``nnet::leaky_relu``: ``x > 0 ? x : alpha * x`` with the literal
    ``activ_param``; ``nnet::prelu``: one ``alpha`` per element from its ``param`` weights).  Each slope is a constant
    of ``param_t``: a shift-add per extra CSD digit beside the select; none for 0 (a ReLU) or a power of two (a
    shift), and for a slope of exactly 1 both branches are ``x``, so nothing is built."""
    w, wf = weight(layer, 'param')
    if w is None:
        w, wf = np.array([float(attr(layer, 'activ_param', 1.0))]), type_fmt(layer, 'param_t', o)
    alpha = np.resize(np.asarray(w, dtype=np.float64).ravel(), max(1, n))
    k = arith.csd_digits(arith.quantize_to_lsb(alpha, wf))
    per = 0.5 * o.width + arith.CSD_ADD_LUT_FACTOR * np.maximum(k - 1, 0) * o.width
    return float(np.where(alpha == 1.0, 0.0, per).mean())


def passed_over(keras_layer) -> bool:
    """A Keras ``Activation`` that does not decide whether a model is quantized: relu after a quantized layer keeps
    the grid; softmax is a LUT, checked by tolerance."""
    return type(keras_layer).__name__ == 'Activation' and getattr(keras_layer.activation, '__name__', '') in (
        'linear',
        'softmax',
        'relu',
    )


# ---- RTL ----------------------------------------------------------------------------------------------------------
def check(layer) -> None:
    if str(layer.get_attr('activation', '')).lower() not in ('relu', 'linear'):
        raise RtlUnsupported(
            f'layer "{layer.name}" ({layer.class_name}, activation {layer.get_attr("activation")}): {supported_text()}'
        )


def lower(layer, inp: RtlInput) -> np.ndarray:
    x, res_t = inp.x, inp.result
    act = str(layer.get_attr('activation', '')).lower()
    if layer.class_name in ('Activation', 'ReLU', 'QActivation') and act in ('relu',):
        y = np.empty(x.shape, dtype=object)
        for idx, v in np.ndenumerate(x):
            y[idx] = cast_var(v.max_of(0.0) if v.low < 0 else v, res_t)
        return y
    if act in ('linear', ''):
        return cast(x, res_t)
    raise RtlUnsupported(f'layer "{layer.name}" ({layer.class_name}, activation {act}): {supported_text()}')


FAMILY = Family(
    name='activations',
    hls_classes=_CLASSES,
    keras_classes=('Activation', 'QActivation', 'ReLU', 'LeakyReLU', 'ThresholdedReLU', 'ELU', 'PReLU'),
    passes=(ExactPassthrough, ExactQuantizedActivations),
    cost=dict.fromkeys(_CLASSES, activation),
    subfamily=table,
    keras_reference=activation_output,
    activation='is',
    keras_passed_over=passed_over,
    lower=dict.fromkeys(('Activation', 'ReLU'), lower),
    rtl_check=check,
    rtl_supported=('ReLU and linear/quantized activations',),
)
