"""Types a QKeras quantizer fixes, as hls4ml's config reads them, and the two places where a linear quantizer
(``QActivation(quantized_bits(..., alpha=1))``) must hand its type to a neighbour because hls4ml removes it.

hls4ml turns such a quantizer into a ``linear`` Activation with the quantizer's result type. Two of its
optimizers then remove that layer: ``EliminateLinearActivation`` when its input already has its type, and
``MergeLinearActivation`` when the layer before it (Dense, Conv, BatchNormalization, Activation) has an inferred
(``auto``) result type — which it sets from the activation's QONNX-style ``quantizer`` attribute, absent for a
QKeras quantizer: the quantizer's rounding and saturation were simply lost. In bit-exact mode fpgaml gives every
Dense/Conv result the ``auto`` type, so every such quantizer after one was dropped (a trailing
``QActivation(quantized_bits(8, 3))`` left the output the 17-bit sum). The quantizer's type therefore goes to the
layer that alone feeds it (:func:`folded_result_types`), as the input's does (:func:`folded_input_types`)."""

from __future__ import annotations

from fpgaml.config.schema import ProjectConfig
from fpgaml.errors import FpgamlError


def quantizer_precisions(layer: dict) -> dict[str, str]:
    """Precisions implied by a layer's QKeras quantizers (as hls4ml's config_from_keras_model does)."""
    from hls4ml.utils.config import _get_precision_from_quantizer

    out = {}
    for qname, q in layer.items():
        if 'quantizer' not in qname or q is None:
            continue
        pname = qname.lower().split('_quantizer')[0]
        if pname == 'activation':
            pname = 'result'
        try:
            prec = _get_precision_from_quantizer(q) if isinstance(q, (dict, str)) else q.hls_type
        except Exception as e:  # noqa: BLE001
            raise FpgamlError(f'layer "{layer["name"]}": unsupported quantizer {qname}: {e}') from None
        out[pname] = str(prec)
    return out


def linear_quantizer_type(layer: dict) -> str | None:
    """The result type of a QActivation that is a plain ``quantized_bits`` / ``linear`` quantizer (alpha 1, no
    stochastic rounding), which hls4ml builds as a linear Activation; None for anything else."""
    q = layer.get('activation_quantizer')
    if layer['class_name'] != 'Activation' or not isinstance(q, dict):
        return None
    cfg_q = q.get('config', {})
    if (
        q.get('class_name') not in ('linear', 'quantized_bits')
        or cfg_q.get('alpha', 1) not in (1, None)
        or cfg_q.get('use_stochastic_rounding')
    ):
        return None
    return quantizer_precisions(layer).get('result')


def _sources(layer_list: list[dict], j: int) -> list[str]:
    """What layer ``j`` reads: its ``inputs``, or the layer before it where the parser names none (a Sequential
    model's layers, the ``<layer>_linear`` activations hls4ml splits off)."""
    lay = layer_list[j]
    if 'inputs' in lay:
        return list(lay['inputs'] or [])
    return [layer_list[j - 1]['name']] if j > 0 else []


def _readers(layer_list: list[dict], name: str) -> list[dict]:
    return [lay for j, lay in enumerate(layer_list) if name in _sources(layer_list, j)]


def _plain_linear(layer: dict) -> bool:
    """A linear Activation without a quantizer: hls4ml removes it, its input passes through unchanged."""
    return (
        layer['class_name'] == 'Activation'
        and layer.get('activation') == 'linear'
        and layer.get('activation_quantizer') is None
    )


def _only_reader(layer_list: list[dict], name: str) -> dict | None:
    readers = _readers(layer_list, name)
    return readers[0] if len(readers) == 1 and _sources(layer_list, layer_list.index(readers[0])) == [name] else None


def folded_input_types(cfg: ProjectConfig, layer_list: list[dict]) -> dict[str, tuple[str, str]]:
    """Input layer -> (type, quantizer layer) for inputs read only by a leading QKeras ``quantized_bits``
    quantizer (``QActivation(quantized_bits(..., alpha=1))`` as the first layer), when the config does not
    set the input precision. Such an input is given the quantizer's own type (round half to even, saturate),
    as hls4ml's bit-exact flow does: the firmware then converts raw inputs exactly as Keras quantizes them.
    Otherwise the firmware would first cut the raw value to the model's default type (truncating) and round
    it to the quantizer's grid afterwards, which differs from Keras on values next to a rounding tie.

    Not when that quantizer is itself a model output (a model that is one quantizer on its input, as in hls4ml's
    ``test_quantizer``): with its input already of its type, hls4ml eliminates it as a linear activation and
    writes the input as the output too, which does not compile (``redefinition of ... quantizer_input``)."""
    if cfg.input_precision:
        return {}
    out = {}
    for layer in layer_list:
        if layer['class_name'] != 'InputLayer':
            continue
        nxt = _only_reader(layer_list, layer['name'])
        if nxt is None or not _readers(layer_list, nxt['name']):
            continue  # read by several layers, or the quantizer is a model output (see above)
        result = linear_quantizer_type(nxt)
        if result:
            out[layer['name']] = (result, nxt['name'])
    return out


def folded_result_types(layer_list: list[dict], auto_result: set[str]) -> dict[str, tuple[str, str]]:
    """Layer -> (type, quantizer layer) for the layers whose ``auto`` result (``auto_result``: the names fpgaml
    leaves to hls4ml's inference) is read only by a linear quantizer that hls4ml's ``MergeLinearActivation`` would
    remove with its type (see the module docstring). The layer's result takes the quantizer's type: its sum, exact
    in its accumulator, is then cast once with the quantizer's rounding and saturation, which is what QKeras
    computes (and what hls4ml does when the activation carries its quantizer)."""
    import hls4ml
    from hls4ml.model.optimizer.passes.linear import _safe_parents  # MergeLinearActivation's parents

    out = {}
    for layer in layer_list:
        cls = hls4ml.model.layers.layer_map.get(layer['class_name'])
        if layer['name'] not in auto_result or cls is None or not issubclass(cls, _safe_parents):
            continue
        if layer.get('activation') not in (None, 'linear'):
            continue  # hls4ml splits the activation off: the quantizer reads that layer, not this one
        nxt = _only_reader(layer_list, layer['name'])
        while nxt is not None and _plain_linear(nxt):  # e.g. the '<layer>_linear' hls4ml splits off a QDense
            nxt = _only_reader(layer_list, nxt['name'])
        result = linear_quantizer_type(nxt) if nxt is not None else None
        if result:
            out[layer['name']] = (result, nxt['name'])
    return out


def keras_outputs_moved(layer_list: list[dict], hls_layers: dict[str, dict]) -> dict[str, str]:
    """Layer -> the linear quantizer whose Keras output it computes: the layers whose final result type (in the
    config's ``LayerName`` entries, ``hls_layers``) is the type of the linear quantizer that alone reads them —
    hls4ml then removes the quantizer and the layer's firmware values are the quantizer's outputs."""

    def result(name):
        p = hls_layers.get(name, {}).get('Precision')
        return p.get('result') if isinstance(p, dict) else p

    folded = folded_result_types(layer_list, {lay['name'] for lay in layer_list})
    return {name: q for name, (_, q) in folded.items() if result(name) is not None and result(name) == result(q)}
