"""The Keras side of the C-simulation's comparisons: what each firmware value is compared with.

Keras runs on the same samples as the firmware (:func:`keras_outputs`); binary (XNOR, ``uint<1>``) firmware values
are decoded to +-1 first (:func:`decode`). Bit-exact mode compares the model outputs, or a final softmax's input
(:func:`exact_point`: a lookup table follows it). On a mismatch every traced layer is compared with its Keras
reference, by its family's rule (:func:`fpgaml.families.keras_reference`), and the first divergent one is named
(:func:`first_divergent_layer`).
"""

from __future__ import annotations

import numpy as np

from fpgaml.convert import Conversion
from fpgaml.csim.checks import output_layers
from fpgaml.csim.harness import CsimLibrary
from fpgaml.divergence import Divergence, LayerValues, first_divergence, traced_layers
from fpgaml.families import keras_reference, without_keras_reference
from fpgaml.fixed import layer_type, value_type


def is_xnor(precision) -> bool:
    """Whether a firmware value is XNOR-encoded binary (``uint<1>``: 0 and 1 for Keras's -1 and +1)."""
    from fpgaml.convert.passes.exact_binary_thresholds import is_xnor

    return is_xnor(precision)


def decode(values: np.ndarray, precision) -> np.ndarray:
    """Firmware values as Keras computes them: XNOR-encoded binary outputs (0 -> -1, 1 -> +1)."""
    return 2.0 * values - 1.0 if is_xnor(precision) else values


def keras_outputs(loaded, xs: list[np.ndarray], n: int) -> list[np.ndarray]:
    """The Keras model's outputs on the samples ``xs`` (float32, as Keras computes), ``(n, values)`` each."""
    return [np.asarray(y, dtype=np.float64).reshape(n, -1) for y in loaded.predict(keras_input(xs))]


def keras_outputs_of_layers(loaded, xs: list[np.ndarray], n: int) -> list[np.ndarray]:
    """:func:`keras_outputs`, read from the Keras layer outputs on ``xs`` (computed, or remembered, for a
    layer-by-layer comparison anyway); the model is run on its own where an output is no layer's output."""
    kout = loaded.layer_outputs(keras_input(xs))
    ys = loaded.model_outputs_of(kout)
    if ys is None:
        return keras_outputs(loaded, xs, n)
    return [np.asarray(y, dtype=np.float64).reshape(n, -1) for y in ys]


def first_divergent_layer(
    conv: Conversion, lib: CsimLibrary, xs: list[np.ndarray], exact: bool, lsb_slack: float
) -> Divergence | None:
    """The first traced layer whose firmware values differ from its Keras reference on the samples ``xs`` (bit for
    bit if ``exact``, else beyond ``lsb_slack`` or four steps of its type); None when every layer agrees."""
    traced = traced_layers(conv.graph)
    if not traced:
        return None
    _, fw = lib.trace(xs, traced)
    kout = conv.loaded.layer_outputs(keras_input(xs))
    unscaled = without_keras_reference(conv.graph)  # e.g. a layer whose scale hls4ml split off (ApplyAlpha)

    def compared():  # the traced layers with a Keras output of their size, in network order
        for layer in conv.graph.get_layers():
            if layer.name not in fw or layer.name in unscaled:
                continue
            ref = keras_reference(layer, kout, conv.loaded.model)
            if ref is None:
                continue
            ref = np.asarray(ref, dtype=np.float64).reshape(xs[0].shape[0], -1)
            got = decode(fw[layer.name], layer.get_output_variable().type.precision)
            if ref.shape != got.shape:
                continue
            t = layer_type(layer, decoded_xnor=True)
            lsb = 2.0**-t.fractional if t is not None else 0.0
            yield LayerValues(layer.name, layer.class_name, ref, got, None if exact else max(lsb_slack, 4 * lsb))

    return first_divergence(compared())


def keras_input(xs: list[np.ndarray]):
    """The samples as Keras takes them (float32; one array for a one-input model)."""
    return xs[0].astype(np.float32) if len(xs) == 1 else [x.astype(np.float32) for x in xs]


def before_final_softmax(conv: Conversion):
    """The layer feeding a model's only output when that is a softmax (bit-exact mode compares its output);
    None otherwise."""
    out = output_layers(conv.graph)
    return out[0].get_input_node() if len(out) == 1 and out[0].class_name == 'Softmax' else None


def exact_point(conv: Conversion, lib: CsimLibrary, xs, y_fw, y_k, n):
    """What bit-exact mode compares: the outputs, or a final softmax's input (a lookup table follows). Returns
    (firmware values, Keras values, their types, what is compared, in words)."""
    pre = before_final_softmax(conv)
    if pre is not None:
        if pre.class_name == 'Input':  # a softmax-only model: its input is the data both sides were given
            return (
                [xs[0].reshape(n, -1)],
                [xs[0].reshape(n, -1)],
                [layer_type(pre, decoded_xnor=True)],
                'softmax input (the model input); softmax output by tolerance',
            )
        _, tr = lib.trace(xs, {pre.name: pre.get_output_variable().size()})
        ref = keras_reference(pre, conv.loaded.layer_outputs(keras_input(xs)), conv.loaded.model)
        if ref is None:
            raise RuntimeError(f'no Keras output to compare with layer {pre.name}')
        precision = pre.get_output_variable().type.precision
        return (
            [decode(tr[pre.name], precision)],
            [np.asarray(ref, dtype=np.float64).reshape(n, -1)],
            [value_type(precision, decoded_xnor=True)],
            f'softmax input (layer "{pre.name}"); softmax output by tolerance',
        )
    types = [value_type(v.type.precision, decoded_xnor=True) for v in conv.graph.get_output_variables()]
    return y_fw, y_k, types, 'model outputs'
