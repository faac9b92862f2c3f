"""hls4ml merges BatchNormalization + binary/ternary tanh into one
``BatchNormalizationQuantizedTanh`` layer that compares its input with a threshold (``x >= threshold``
-> 1, the XNOR encoding of +1; ``nnet::normalize_binary_tanh``). The Keras activations disagree at 0:
QKeras's ``binary`` quantizer gives +1 where ``scale * x + bias >= 0`` (``sign`` with 0 mapped to +1),
QKeras's ``binary_tanh`` function and the BinaryNet ``binary_tanh`` give +1 only where it is ``> 0``
(``round(hard_sigmoid(0)) = round(0.5) = 0``, half to even). The pass evaluates the model's own activation
at 0 and sets the threshold to the smallest grid value ``g`` (step ``2^-F``) that must give +1:
``ceil(t * 2^F) / 2^F`` for ``>= 0`` semantics, ``floor(t * 2^F) / 2^F + 2^-F`` for ``> 0``, where
``t = -bias/scale``. hls4ml floors ``t``, which is right only for ``>= 0`` and ``t`` on the grid (its
later ``quantize_dense_output`` pass floors the threshold again to an integer, which keeps an integer
threshold unchanged). The ternary thresholds (compared with ``>`` and ``<=``) are right floored, as
hls4ml does. A negative batch-norm scale would flip the comparison, which hls4ml's kernel cannot express:
an error. Upstream fix: ``BatchNormalizationQuantizedTanh.set_thresholds`` in
hls4ml/backends/fpga/fpga_layers.py and the re-flooring in ``QuantizeDenseOutput``
(hls4ml/backends/vivado/passes/bn_quant.py).
"""

from __future__ import annotations

import numpy as np

from fpgaml.errors import FpgamlError

from . import Change, FlowContext, Pass


def _bn_scale_bias(bn) -> tuple[np.ndarray, np.ndarray]:
    """scale and bias of a Keras BatchNormalization layer, in float64, as hls4ml computes them."""
    w = {v.name.split('/')[-1].split(':')[0]: np.asarray(v.numpy(), dtype=np.float64) for v in bn.weights}
    gamma = w.get('gamma', 1.0)
    beta = w.get('beta', 0.0)
    scale = gamma / np.sqrt(w['moving_variance'] + bn.epsilon)
    return scale, beta - scale * w['moving_mean']


def _grid_step(precision) -> float:
    f = getattr(precision, 'fractional', None)
    if f is None:
        width, integer = getattr(precision, 'width', 0), getattr(precision, 'integer', 0)
        f = width - integer
    return 2.0 ** -int(f)


def _type_range(precision) -> tuple[float, float]:
    width, integer = int(getattr(precision, 'width')), int(getattr(precision, 'integer'))
    step = 2.0 ** -(width - integer)
    if getattr(precision, 'signed', True):
        return -(2.0 ** (width - 1)) * step, (2.0 ** (width - 1) - 1) * step
    return 0.0, (2.0 ** width - 1) * step


def _sum_source(node):
    src = node.get_input_node()
    while src is not None and src.class_name == 'Activation' and src.get_attr('activation') == 'linear':
        src = src.get_input_node()
    return src


def _integer_sum_input(node) -> bool:
    """True when ``node``'s input is a binary/ternary Dense fed by another merged binary/ternary tanh (the
    case hls4ml's QuantizeDenseOutput turns into an integer sum)."""
    src = _sum_source(node)
    if src is None or src.class_name != 'Dense':
        return False
    q = type(src.get_attr('weight_quantizer')).__name__
    feed = src.get_input_node()
    return q in ('BinaryQuantizer', 'TernaryQuantizer') and feed is not None and \
        feed.class_name == 'BatchNormalizationQuantizedTanh'


def binary_activation_after(model, bn_name: str):
    """The Keras layer that consumes batch normalization ``bn_name``'s output (its binary activation)."""
    for layer in model.layers:
        for node in getattr(layer, '_inbound_nodes', []):
            inbound = getattr(node, 'inbound_layers', None)
            inbound = inbound if isinstance(inbound, (list, tuple)) else [inbound]
            if any(getattr(i, 'name', None) == bn_name for i in inbound):
                return layer
    return None


def binary_zero_is_plus_one(model, bn_name: str) -> bool:
    """Whether the binary activation after ``bn_name`` maps an input of exactly 0 to +1 (QKeras ``binary``)
    or to -1 (QKeras / BinaryNet ``binary_tanh``): evaluated on the model's own layer. hls4ml's choice
    (``>=``) when the activation cannot be found."""
    import tensorflow as tf

    act = binary_activation_after(model, bn_name)
    if act is None:
        return True
    shape = [1] + [int(d) for d in act.input.shape[1:]]
    y = np.asarray(act(tf.zeros(shape, tf.float32)))
    return bool(np.all(y > 0))


class ExactBinaryThresholds(Pass):
    name = 'exact_binary_thresholds'
    precondition = ('hls4ml merged BatchNormalization + binary/ternary tanh into BatchNormalizationQuantizedTanh '
                    'layers named "bnbt_<batch norm>" with a "threshold" weight and a "quantize" attribute')
    summary = 'binary-tanh thresholds of merged batch norms set to what Keras computes'

    def run(self, ctx: FlowContext) -> list[Change]:
        changes = []
        for node in list(ctx.graph.get_layers()):
            if node.class_name != 'BatchNormalizationQuantizedTanh':
                continue
            bn_name = node.name[len('bnbt_'):] if node.name.startswith('bnbt_') else node.name
            try:
                bn = ctx.loaded.model.get_layer(bn_name)
            except ValueError:
                continue
            scale, bias = _bn_scale_bias(bn)
            if np.any(scale <= 0):
                raise FpgamlError(f'layer "{bn_name}": batch normalization with a non-positive scale before a '
                                  f'binary/ternary tanh cannot be converted exactly (hls4ml compares with a '
                                  f'threshold assuming a positive scale)')
            if node.get_attr('quantize') != 2:
                continue  # ternary: floor() with `>` / `<=` is exact, as hls4ml computes it
            t = -bias / scale
            var = node.weights['threshold']
            # The input's grid; 1 when the input is a sum of binary activations times binary/ternary weights:
            # hls4ml's quantize_dense_output pass (run when the project is written) then makes that sum an
            # integer type and floors the threshold to an integer, which keeps floor(t) + 1 unchanged.
            step = 1.0 if _integer_sum_input(node) else _grid_step(node.get_input_variable().type.precision)
            zero_is_plus = binary_zero_is_plus_one(ctx.loaded.model, bn_name)
            exact = np.ceil(t / step) * step if zero_is_plus else np.floor(t / step) * step + step
            # A threshold outside the input's range would wrap around in its fixed-point type and flip a
            # constant neuron. Clamp it: to [-n_in, n_in + 1] for an integer sum of n_in +-1 terms (exact), else
            # to the input type's range (exact below; above, the neuron fires only at the type's maximum).
            if step == 1.0 and _integer_sum_input(node):
                n_in = int(_sum_source(node).get_attr('n_in'))
                lo, hi = -float(n_in), float(n_in + 1)
            else:
                lo, hi = _type_range(node.get_input_variable().type.precision)
            outside = int(np.sum((exact < lo) | (exact > hi)))
            exact = np.clip(exact, lo, hi)
            old = np.asarray(var.data, dtype=np.float64).reshape(exact.shape)
            changed = int(np.sum(old != exact))
            var.data = exact.reshape(np.shape(var.data))
            rule = '>= -bias/scale (the activation maps 0 to +1)' if zero_is_plus else \
                '> -bias/scale (the activation maps 0 to -1)'
            changes.append(Change(node.name, f'binary-tanh thresholds set to the smallest input value {rule} '
                                             f'(step {step:g}; {changed} of {exact.size} differ from '
                                             f'hls4ml\'s floor'
                                  + (f'; {outside} constant neurons\' thresholds clamped into [{lo:g}, {hi:g}] '
                                     f'instead of wrapping around' if outside else '') + ')'))
        return changes
