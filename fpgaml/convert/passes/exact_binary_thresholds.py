"""hls4ml merges BatchNormalization + binary/ternary tanh into one
``BatchNormalizationQuantizedTanh`` layer that compares its input with a threshold (``x >= threshold``
-> 1, the XNOR encoding of +1; ``nnet::normalize_binary_tanh``). Three things make hls4ml's threshold differ
from what Keras computes, and the pass corrects all three on the graph:

* The Keras activations disagree at 0: QKeras's ``binary`` quantizer gives +1 where its input is ``>= 0``
  (``sign`` with 0 mapped to +1), QKeras's ``binary_tanh`` and the BinaryNet ``binary_tanh`` only where it is
  ``> 0`` (``round(hard_sigmoid(0)) = round(0.5) = 0``, half to even). hls4ml always uses ``>= floor(t)``.
* The layer before the batch norm is a binary/ternary-weight Dense/Conv whose QKeras quantizer scales the
  weights (``alpha``; QDense/QConv set ``auto_po2`` when none is given) and quantizes the bias (``binary``
  maps a 0 bias to +1). hls4ml computes the unscaled sum ``S`` (weights +-1) and folds scale and bias into
  the threshold; the Keras layer's output is ``alpha * S + b``. The unscaled layer is marked
  ``fpgaml_unscaled_output`` (its C-simulation trace has no Keras twin).
* QBatchNormalization quantizes gamma, beta, mean and variance (power-of-two quantizers by default) before
  use; Keras computes the batch norm in float32.

So the pass does not derive the threshold by formula: for each channel it takes the candidate input values
of the merged layer on its input grid around the analytic threshold, maps them through the Keras layers as
Keras computes them (``alpha * (x - b_hls) + b_keras``, then the model's own batch-norm and activation layers,
float32) and sets the threshold to the smallest candidate the model maps to +1. The ternary thresholds
(compared with ``>`` and ``<=``) are kept as hls4ml floors them. A negative batch-norm scale would flip the
comparison, which hls4ml's kernel cannot express: an error. Upstream: ``BatchNormalizationQuantizedTanh.
set_thresholds`` in hls4ml/backends/fpga/fpga_layers.py and ``QuantizeDenseOutput``
(hls4ml/backends/vivado/passes/bn_quant.py).
"""

from __future__ import annotations

import numpy as np

from fpgaml.errors import FpgamlError
from fpgaml.families.base import UNSCALED_OUTPUT
from fpgaml.fixed import Fixed

from . import Change, FlowContext, Pass


def _bn_scale_bias(bn) -> tuple[np.ndarray, np.ndarray]:
    """scale and bias of a Keras (Q)BatchNormalization layer in float64, with QBatchNormalization's
    quantizers applied to its parameters as QKeras applies them at inference."""
    w = {v.name.split('/')[-1].split(':')[0]: v for v in bn.weights}

    def param(name, default):
        if name not in w:
            return default
        q = getattr(bn, f'{name.replace("moving_", "")}_quantizer_internal', None)
        v = q(w[name]) if q is not None else w[name]
        return np.asarray(v, dtype=np.float64)

    gamma, beta = param('gamma', 1.0), param('beta', 0.0)
    scale = gamma / np.sqrt(param('moving_variance', 1.0) + bn.epsilon)
    return scale, beta - scale * param('moving_mean', 0.0)


def _keras_affine(ctx: FlowContext, src) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(alpha, b_keras, b_hls) per output channel such that the Keras layer's output is
    ``alpha * (y_hls - b_hls) + b_keras`` where ``y_hls`` is hls4ml's output of ``src``; None when they are
    equal (alpha 1, same bias)."""
    layer = ctx.keras_layer(src.name) if src is not None else None
    if layer is None or getattr(layer, 'kernel', None) is None or 'weight' not in src.weights:
        return None
    kq = getattr(layer, 'kernel_quantizer_internal', None)
    qk = np.asarray(kq(layer.kernel) if kq is not None else layer.kernel, dtype=np.float64)
    w = src.weights['weight']
    wh = np.asarray(w.data, dtype=np.float64)
    if is_xnor(w.type.precision):
        wh = 2.0 * wh - 1.0
    n_out = qk.shape[-1]
    if wh.size != qk.size:
        return None
    qk2, wh2 = qk.reshape(-1, n_out), wh.reshape(-1, n_out)
    with np.errstate(divide='ignore', invalid='ignore'):
        ratio = np.where(wh2 != 0, qk2 / wh2, np.nan)
    alpha = np.nanmax(np.abs(ratio), axis=0) if np.isfinite(ratio).any() else np.ones(n_out)
    alpha = np.where(np.isfinite(alpha) & (alpha > 0), alpha, 1.0)
    if not np.array_equal(alpha * wh2, qk2):
        return None  # not a per-channel scale of hls4ml's weights: the layer is not a factorized one
    bq = getattr(layer, 'bias_quantizer_internal', None)
    bk = np.zeros(n_out)
    if getattr(layer, 'use_bias', False) and getattr(layer, 'bias', None) is not None:
        bk = np.asarray(bq(layer.bias) if bq is not None else layer.bias, dtype=np.float64).reshape(n_out)
    bh = np.zeros(n_out)
    if 'bias' in src.weights:
        b = src.weights['bias']
        bh = np.asarray(b.data, dtype=np.float64).reshape(-1)
        if is_xnor(b.type.precision):
            bh = 2.0 * bh - 1.0
        bh = np.broadcast_to(bh, (n_out,)) if bh.size in (1, n_out) else np.zeros(n_out)
    if np.all(alpha == 1.0) and np.array_equal(bk, bh):
        return None
    return alpha, bk, np.asarray(bh)


def is_xnor(precision) -> bool:
    """hls4ml's XNOR binary type (ap_uint<1>, 0 meaning -1)."""
    from hls4ml.model.types import XnorPrecisionType

    return isinstance(precision, XnorPrecisionType)


def _keras_plus_one(bn, act, pre: np.ndarray) -> np.ndarray:
    """Whether the model's batch norm + activation map pre-batch-norm values ``pre`` (candidates x channels)
    to +1, computed by the Keras layers themselves (float32)."""
    import tensorflow as tf

    shape = [int(d) for d in bn.input.shape[1:]]
    k, c = pre.shape
    x = np.broadcast_to(pre.reshape([k] + [1] * (len(shape) - 1) + [c]), [k] + shape).astype(np.float32)
    y = np.asarray(act(bn(tf.constant(x), training=False)))
    return y.reshape(k, -1, c)[:, 0, :] > 0


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
    return (
        q in ('BinaryQuantizer', 'TernaryQuantizer')
        and feed is not None
        and feed.class_name == 'BatchNormalizationQuantizedTanh'
    )


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


def _describe(alpha) -> str:
    vals = np.unique(np.asarray(alpha))
    return ', '.join(f'{v:g}' for v in vals[:4]) + (' ...' if vals.size > 4 else '')


def _smallest_plus_one(bn, act, t_hls, step, alpha, bk, bh, zero_is_plus: bool) -> np.ndarray:
    """Per channel, the smallest value on the input grid (step ``step``) that the Keras layers map to +1:
    candidates around the analytic threshold evaluated by Keras; the analytic rule where Keras is not at hand."""
    t_hls = np.atleast_1d(np.asarray(t_hls, dtype=np.float64))
    analytic = np.ceil(t_hls / step) * step if zero_is_plus else np.floor(t_hls / step) * step + step
    if act is None:
        return analytic
    ks = np.arange(-3, 4, dtype=np.float64)
    cand = np.floor(t_hls / step)[None, :] * step + ks[:, None] * step  # candidates x channels
    pre = np.asarray(alpha) * (cand - np.asarray(bh)) + np.asarray(bk)
    plus = _keras_plus_one(bn, act, pre)
    exact = analytic.copy()
    for c in range(cand.shape[1]):
        idx = np.flatnonzero(plus[:, c])
        # monotone: the first candidate mapped to +1, when the window brackets the boundary
        if idx.size and idx[0] > 0 and plus[idx[0] :, c].all():
            exact[c] = cand[idx[0], c]
    return exact


class ExactBinaryThresholds(Pass):
    name = 'exact_binary_thresholds'
    precondition = (
        'hls4ml merged BatchNormalization + binary/ternary tanh into BatchNormalizationQuantizedTanh '
        'layers named "bnbt_<batch norm>" with a "threshold" weight and a "quantize" attribute'
    )
    summary = 'binary-tanh thresholds of merged batch norms set to what Keras computes'

    def run(self, ctx: FlowContext) -> list[Change]:
        changes = []
        for node in list(ctx.graph.get_layers()):
            if node.class_name != 'BatchNormalizationQuantizedTanh':
                continue
            bn_name = node.name[len('bnbt_') :] if node.name.startswith('bnbt_') else node.name
            try:
                bn = ctx.loaded.model.get_layer(bn_name)
            except ValueError:
                continue
            scale, bias = _bn_scale_bias(bn)
            if np.any(scale <= 0):
                raise FpgamlError(
                    f'layer "{bn_name}": batch normalization with a non-positive scale before a '
                    f'binary/ternary tanh cannot be converted exactly (hls4ml compares with a '
                    f'threshold assuming a positive scale)'
                )
            if node.get_attr('quantize') != 2:
                continue  # ternary: floor() with `>` / `<=` is exact, as hls4ml computes it
            t = -bias / scale  # Keras: bn(pre) >= 0 where pre >= t (positive scale)
            var = node.weights['threshold']
            # The input's grid; 1 when the input is a sum of binary activations times binary/ternary weights:
            # hls4ml's quantize_dense_output pass (run when the project is written) then makes that sum an
            # integer type and floors the threshold to an integer, which keeps an integer threshold unchanged.
            integer_sum = _integer_sum_input(node)
            in_type = Fixed.from_hls4ml(node.get_input_variable().type.precision)
            step = 1.0 if integer_sum else in_type.step
            src = _sum_source(node)
            affine = _keras_affine(ctx, src)
            alpha, bk, bh = affine if affine is not None else (1.0, 0.0, 0.0)
            t_hls = (t - bk) / alpha + bh  # the threshold on hls4ml's (unscaled) input
            act = binary_activation_after(ctx.loaded.model, bn_name)
            zero_is_plus = binary_zero_is_plus_one(ctx.loaded.model, bn_name)
            exact = _smallest_plus_one(bn, act, t_hls, step, alpha, bk, bh, zero_is_plus)
            if affine is not None:
                src.set_attr(UNSCALED_OUTPUT, True)
            # A threshold outside the input's range would wrap around in its fixed-point type and flip a
            # constant neuron. Clamp it: to [-n_in, n_in + 1] for an integer sum of n_in +-1 terms (exact), else
            # to the input type's range (exact below; above, the neuron fires only at the type's maximum).
            if step == 1.0 and integer_sum:
                n_in = int(src.get_attr('n_in'))
                lo, hi = -float(n_in), float(n_in + 1)
            else:
                lo, hi = in_type.min_value, in_type.max_value
            outside = int(np.sum((exact < lo) | (exact > hi)))
            exact = np.clip(exact, lo, hi)
            old = np.asarray(var.data, dtype=np.float64).reshape(exact.shape)
            changed = int(np.sum(old != exact))
            var.data = exact.reshape(np.shape(var.data))
            if affine is not None:
                changes.append(
                    Change(
                        src.name,
                        f'output unscaled in the firmware (QKeras scale {_describe(alpha)}, '
                        f"bias moved into {node.name}'s threshold): traced, not compared",
                    )
                )
            rule = (
                '>= -bias/scale (the activation maps 0 to +1)'
                if zero_is_plus
                else '> -bias/scale (the activation maps 0 to -1)'
            )
            changes.append(
                Change(
                    node.name,
                    f'binary-tanh thresholds set to the smallest input value {rule} '
                    f'(step {step:g}; {changed} of {exact.size} differ from '
                    f"hls4ml's floor"
                    + (
                        f"; {outside} constant neurons' thresholds clamped into [{lo:g}, {hi:g}] "
                        f'instead of wrapping around'
                        if outside
                        else ''
                    )
                    + ')',
                )
            )
        return changes
