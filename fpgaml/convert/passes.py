"""Corrections fpgaml applies to the converted hls4ml graph, and size checks made before compiling.

* :func:`exact_binary_thresholds` — hls4ml merges BatchNormalization + binary/ternary tanh into one
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
* :func:`quantized_recurrent_weights` — hls4ml's LSTM / GRU / SimpleRNN layers (``hls4ml/model/layers.py``)
  never apply the QKeras kernel / recurrent / bias quantizers that its QLSTM / QGRU / QSimpleRNN parser
  records: the float weights are written as they are and the C++ casts them into the quantizer's type with
  ``AP_TRN`` / ``AP_WRAP``, i.e. floored instead of rounded, and a weight of 1.0 (reachable through QKeras's
  ``Clip(-1, 1)`` constraint) wraps to -1.0. The pass replaces the data by the quantizer's output, as hls4ml
  does for QDense. It also rejects a GRU with ``reset_after=False``: hls4ml 1.3.0's GRU template implements
  only ``reset_after=True`` (``r * (U_h h + b_rh)``), and its parser then splits the (3*units,) bias as if it
  were (2, 3*units), writing one scalar for each bias vector. Upstream fix: ``LSTM.initialize`` /
  ``GRU.initialize`` / ``SimpleRNN.initialize`` (pass the quantizers) and ``parse_rnn_layer``
  (hls4ml/converters/keras/recurrent.py).
* :func:`multiplications` / :func:`size_warning` — how many multiplications a model unrolls, and a
  warning before a long compile (io_parallel models with more than ``LARGE_MULTS`` multiplications).
"""

from __future__ import annotations

import math

import numpy as np

from fpgaml.errors import FpgamlError

# Beyond this many multiplications per inference (io_parallel), g++ needs minutes for the C-simulation
# library (KERAS_conv1d: 251k multiplications per output position set, ~480 s) and HLS synthesis of a
# fully unrolled design is impractical; hls4ml's own guidance is <= 4096 multiplications per layer
# and reuse cycle for the Latency strategy.
LARGE_MULTS = 100_000
MULTS_PER_LAYER = 4096


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


def exact_binary_thresholds(graph, loaded) -> list[str]:
    """Recompute binary-tanh thresholds of merged batch-norm layers so the firmware matches Keras bit for
    bit (see the module docstring). Returns one note per corrected layer."""
    notes = []
    for node in list(graph.get_layers()):
        if node.class_name != 'BatchNormalizationQuantizedTanh':
            continue
        bn_name = node.name[len('bnbt_'):] if node.name.startswith('bnbt_') else node.name
        try:
            bn = loaded.model.get_layer(bn_name)
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
        # integer type and floors the threshold to an integer, which keeps an integer threshold unchanged.
        step = 1.0 if _integer_sum_input(node) else _grid_step(node.get_input_variable().type.precision)
        zero_is_plus = binary_zero_is_plus_one(loaded.model, bn_name)
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
        notes.append(f'{node.name}: binary-tanh thresholds set to the smallest input value {rule} '
                     f'(step {step:g}; {changed} of {exact.size} differ from hls4ml\'s floor'
                     + (f'; {outside} constant neurons\' thresholds clamped into [{lo:g}, {hi:g}] instead of '
                        f'wrapping around' if outside else '') + ')')
    return notes


_RECURRENT = ('SimpleRNN', 'LSTM', 'GRU')


def _elementwise(quantizer) -> bool:
    """True when ``quantizer`` maps each value on its own (no data-dependent scale such as alpha='auto')."""
    alpha = getattr(quantizer, 'alpha', None)
    return not isinstance(alpha, str) and (alpha is None or np.all(np.asarray(alpha, dtype=np.float64) == 1.0))


def _set_data(var, data: np.ndarray) -> None:
    var.data = data.astype(np.asarray(var.data).dtype, copy=False).reshape(np.shape(var.data))
    var.nonzeros = int(np.count_nonzero(var.data))
    var.nzeros = var.data_length - var.nonzeros
    var.min, var.max = np.min(var.data), np.max(var.data)


def quantized_recurrent_weights(graph, loaded) -> list[str]:
    """Apply the QKeras quantizers of QLSTM / QGRU / QSimpleRNN layers to the weights hls4ml writes, and
    reject GRUs hls4ml cannot compute (see the module docstring). Returns one note per corrected layer."""
    notes = []
    for node in list(graph.get_layers()):
        if node.class_name not in _RECURRENT:
            continue
        if node.class_name == 'GRU' and node.get_attr('apply_reset_gate') == 'before':
            raise FpgamlError(f'layer "{node.name}": GRU with reset_after=False is not supported: hls4ml 1.3.0 '
                              f'computes only reset_after=True (the reset gate applied after the recurrent '
                              f'matrix product, with a separate recurrent bias); its firmware would silently '
                              f'differ from the model. Train the GRU with reset_after=True')
        try:
            cell = getattr(loaded.model.get_layer(node.name), 'cell', None)
        except ValueError:
            continue
        if cell is None or not hasattr(cell, 'kernel_quantizer_internal'):
            continue  # a float Keras layer: hls4ml's weights are the model's
        import tensorflow as tf

        def q(quantizer, var_name):
            var = node.weights.get(var_name)
            if quantizer is None or var is None:
                return None
            if not _elementwise(quantizer):
                raise FpgamlError(f'layer "{node.name}": the {var_name} quantizer {quantizer} scales its values '
                                  f'(alpha={quantizer.alpha!r}), which hls4ml cannot express in a recurrent '
                                  f'layer: use alpha=1')
            old = np.asarray(var.data, dtype=np.float64)
            new = np.asarray(quantizer(tf.constant(old, tf.float32)).numpy(), dtype=np.float64)
            _set_data(var, new)
            return int(np.sum(_as_typed(old, var) != new))

        changed = {name: q(quantizer, name) for name, quantizer in (
            ('weight', cell.kernel_quantizer_internal), ('recurrent_weight', cell.recurrent_quantizer_internal),
            ('bias', cell.bias_quantizer_internal),
            ('recurrent_bias', cell.bias_quantizer_internal if node.class_name == 'GRU' else None))}
        changed = {k: v for k, v in changed.items() if v is not None}
        if changed:
            notes.append(f'{node.name}: QKeras quantizers applied to the recurrent layer\'s weights (hls4ml writes '
                         f'them unquantized; values its C++ cast would get wrong: '
                         + ', '.join(f'{k} {v}' for k, v in changed.items()) + ')')
    return notes


def _as_typed(values: np.ndarray, var) -> np.ndarray:
    """``values`` as the C++ cast into ``var``'s fixed-point type computes them (AP_TRN / AP_WRAP by default,
    as hls4ml writes its weight types), for the note on how many values the pass corrects."""
    p = var.type.precision
    width, integer = getattr(p, 'width', None), getattr(p, 'integer', None)
    if width is None or integer is None or not hasattr(p, 'signed'):
        return values
    f = width - integer
    rnd = str(getattr(p, 'rounding_mode', '') or '').upper()
    scaled = values * 2.0 ** f
    k = np.round(scaled) if 'RND' in rnd else np.floor(scaled)
    lo, hi = (-(2 ** (width - 1)), 2 ** (width - 1) - 1) if p.signed else (0, 2 ** width - 1)
    if 'SAT' in str(getattr(p, 'saturation_mode', '') or '').upper():
        k = np.clip(k, lo, hi)
    else:
        k = (k - lo) % 2 ** width + lo
    return k / 2.0 ** f


# ------------------------------------------------------------------------------------------------
# size


def multiplications(graph) -> list[tuple[str, int, int]]:
    """(layer, multiplications per inference, multiplications per reuse cycle) for each weighted layer."""
    out = []
    for layer in graph.get_layers():
        w = layer.weights.get('weight') if hasattr(layer, 'weights') else None
        if w is None:
            continue
        n_w = int(np.asarray(w.data).size)
        shape = layer.get_output_variable().shape
        positions = int(np.prod(shape[:-1])) if len(shape) > 1 else 1
        total = n_w * positions
        rf = layer.get_attr('reuse_factor') or 1
        out.append((layer.name, total, math.ceil(n_w / rf)))
    return out


def size_warning(graph, io_type: str) -> str | None:
    """A warning for models whose fully unrolled (io_parallel) implementation is very large."""
    mults = multiplications(graph)
    total = sum(m for _, m, _ in mults)
    if io_type != 'io_parallel' or not mults:
        return None
    per_layer = max(mults, key=lambda t: t[2])
    if total <= LARGE_MULTS and per_layer[2] <= MULTS_PER_LAYER:
        return None
    has_conv = any(layer.class_name.startswith('Conv') for layer in graph.get_layers())
    big = next(lay for lay in graph.get_layers() if lay.name == per_layer[0])
    n_w = int(np.asarray(big.weights['weight'].data).size)
    rf = max(1, math.ceil(n_w / MULTS_PER_LAYER))
    try:  # suggest a reuse factor hls4ml accepts for this layer's size
        backend = graph.config.backend
        valid = backend.get_valid_reuse_factors(*backend.get_layer_mult_size(big)[:2])
        rf = next((v for v in valid if v >= rf), rf)
    except Exception:  # noqa: BLE001 - layers without a multiplication block size: keep the estimate
        pass
    advice = []
    if has_conv:
        advice.append('io_type: io_stream (convolutions then compute one output position at a time)')
    advice.append(f'a larger reuse_factor (e.g. >= {rf} for layer "{per_layer[0]}", with strategy: Resource)')
    return (f'large model: {total:,} multiplications per inference with io_parallel (layer "{per_layer[0]}": '
            f'{per_layer[2]:,} per cycle); the C-simulation compile may take minutes and synthesis may not fit. '
            f'Consider ' + ' or '.join(advice))
