"""hls4ml's LSTM / GRU / SimpleRNN layers (``hls4ml/model/layers.py``)
never apply the QKeras kernel / recurrent / bias quantizers that its QLSTM / QGRU / QSimpleRNN parser
records: the float weights are written as they are and the C++ casts them into the quantizer's type with
``AP_TRN`` / ``AP_WRAP``, i.e. floored instead of rounded, and a weight of 1.0 (reachable through QKeras's
``Clip(-1, 1)`` constraint) wraps to -1.0. The pass replaces the data by the quantizer's output, as hls4ml
does for QDense. It also rejects a GRU with ``reset_after=False``: hls4ml 1.3.0's GRU template implements
only ``reset_after=True`` (``r * (U_h h + b_rh)``), and its parser then splits the (3*units,) bias as if it
were (2, 3*units), writing one scalar for each bias vector. Upstream fix: ``LSTM.initialize`` /
``GRU.initialize`` / ``SimpleRNN.initialize`` (pass the quantizers) and ``parse_rnn_layer``
(hls4ml/converters/keras/recurrent.py).
"""

from __future__ import annotations

import numpy as np

from fpgaml.errors import FpgamlError
from fpgaml.fixed import grid_of

from . import Change, FlowContext, Pass

RECURRENT_CLASSES = ('SimpleRNN', 'LSTM', 'GRU')


def _elementwise(quantizer) -> bool:
    """True when ``quantizer`` maps each value on its own (no data-dependent scale such as alpha='auto')."""
    alpha = getattr(quantizer, 'alpha', None)
    return not isinstance(alpha, str) and (alpha is None or np.all(np.asarray(alpha, dtype=np.float64) == 1.0))


def _set_data(var, data: np.ndarray) -> None:
    var.data = data.astype(np.asarray(var.data).dtype, copy=False).reshape(np.shape(var.data))
    var.nonzeros = int(np.count_nonzero(var.data))
    var.nzeros = var.data_length - var.nonzeros
    var.min, var.max = np.min(var.data), np.max(var.data)


def _as_typed(values: np.ndarray, var) -> np.ndarray:
    """``values`` as the C++ cast into ``var``'s fixed-point type computes them (AP_TRN / AP_WRAP by default,
    as hls4ml writes its weight types), for the note on how many values the pass corrects."""
    t = grid_of(var.type.precision)
    return values if t is None else t.quantize(values)


def quantize_weights(var, quantizer) -> int:
    """Replace the float values of hls4ml's weight variable ``var`` by what QKeras's ``quantizer`` computes
    (elementwise quantizers only: the caller checks ``_elementwise``); returns how many values hls4ml's C++ cast
    would have got wrong."""
    import tensorflow as tf

    old = np.asarray(var.data, dtype=np.float64)
    new = np.asarray(quantizer(tf.constant(old, tf.float32)).numpy(), dtype=np.float64)
    _set_data(var, new)
    return int(np.sum(_as_typed(old, var) != new))


class QuantizedRecurrentWeights(Pass):
    name = 'quantized_recurrent_weights'
    precondition = (
        'hls4ml recurrent layers hold "weight", "recurrent_weight", "bias" (and GRU "recurrent_bias") weights'
    )
    summary = 'QKeras quantizers applied to QLSTM/QGRU/QSimpleRNN weights (hls4ml writes them unquantized)'

    def run(self, ctx: FlowContext) -> list[Change]:
        changes = []
        for node in list(ctx.graph.get_layers()):
            if node.class_name not in RECURRENT_CLASSES:
                continue
            if node.class_name == 'GRU' and node.get_attr('apply_reset_gate') == 'before':
                raise FpgamlError(
                    f'layer "{node.name}": GRU with reset_after=False is not supported: hls4ml 1.3.0 '
                    f'computes only reset_after=True (the reset gate applied after the recurrent '
                    f'matrix product, with a separate recurrent bias); its firmware would silently '
                    f'differ from the model. Train the GRU with reset_after=True'
                )
            try:
                cell = getattr(ctx.loaded.model.get_layer(node.name), 'cell', None)
            except ValueError:
                continue
            if cell is None or not hasattr(cell, 'kernel_quantizer_internal'):
                continue  # a float Keras layer: hls4ml's weights are the model's

            def q(quantizer, var_name, node=node):
                var = node.weights.get(var_name)
                if quantizer is None or var is None:
                    return None
                if not _elementwise(quantizer):
                    raise FpgamlError(
                        f'layer "{node.name}": the {var_name} quantizer {quantizer} scales its values '
                        f'(alpha={quantizer.alpha!r}), which hls4ml cannot express in a recurrent '
                        f'layer: use alpha=1'
                    )
                return quantize_weights(var, quantizer)

            changed = {
                name: q(quantizer, name)
                for name, quantizer in (
                    ('weight', cell.kernel_quantizer_internal),
                    ('recurrent_weight', cell.recurrent_quantizer_internal),
                    ('bias', cell.bias_quantizer_internal),
                    ('recurrent_bias', cell.bias_quantizer_internal if node.class_name == 'GRU' else None),
                )
            }
            changed = {k: v for k, v in changed.items() if v is not None}
            if changed:
                changes.append(
                    Change(
                        node.name,
                        "QKeras quantizers applied to the recurrent layer's weights (hls4ml "
                        'writes them unquantized; values its C++ cast would get wrong: '
                        + ', '.join(f'{k} {v}' for k, v in changed.items())
                        + ')',
                    )
                )
        return changes
