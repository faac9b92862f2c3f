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
    # table-based: sigmoid, tanh, elu, selu, softplus, softsign, exp ...
    table_size = int(attr(layer, 'table_size', 1024) or 1024)
    tf = type_fmt(layer, 'table_t', Fixed(18, 8))
    lat, ii, par = elementwise_timing(ctx, layer, n, 2 + ctx.cycles(arith.T_BRAM_NS))
    c.add(rom(table_size * tf.width, max(1, math.ceil(par / 2))))
    c.lut += par * (a.width + 4)  # index computation (scale, clamp)
    c.ff += par * (o.width + math.ceil(math.log2(table_size)))
    c.latency_cycles, c.ii_cycles = lat, ii
    return c.add(stream_fifos(ctx, layer))


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
