"""Where each layer's output type came from: the layer table, ``fpgaml-report.json`` and ``report.html`` say it,
and a C-simulation warns when a type nothing chose (the model-wide default) cannot hold what the layer computes
on the validation data (:func:`default_overflows`).

The sources, in the order they win: ``exact (<pass>)``, a pass of fpgaml's that set the type exactly; ``config``
(``precision`` of the layer or its type; ``config (input)``: ``precision: input``); ``quantizer``, a QKeras/HGQ
quantizer (the layer's own, or the linear quantizer that alone reads it); ``exact (hls4ml)``, hls4ml's exact
inference (``auto`` in bit-exact mode); ``data range`` (``precision: profile``); ``default``, the model-wide
default (hls4ml's ``fixed<16,6>`` unless the config sets ``precision: default``), also where hls4ml's inference
fell back to it; ``hls4ml rule``, another rule of hls4ml's (an activation typed from its input).
"""

from __future__ import annotations

import numpy as np

from fpgaml.config.precision import parse_precision
from fpgaml.convert.quantizer_types import quantizer_precisions
from fpgaml.convert.settings import LayerSettingResolver
from fpgaml.fixed import Fixed, layer_type

DEFAULT = 'default'  # the source of a type nothing chose
# layer classes whose output range is bounded by their function whatever their input (no overflow to warn about)
BOUNDED = frozenset({'Softmax', 'Sigmoid', 'TanH', 'HardSigmoid', 'HardTanh'})


def _user_sets_result(settings: LayerSettingResolver, name: str, cls: str | None) -> bool:
    for m in settings.matches(name, cls):
        p = m.settings.precision
        if isinstance(p, str) or (isinstance(p, dict) and ('result' in p or 'default' in p)):
            return True
    return False


def _result_entry(hls_config: dict, name: str) -> str | None:
    p = hls_config['HLSConfig'].get('LayerName', {}).get(name, {}).get('Precision')
    return p.get('result') if isinstance(p, dict) else p


def output_type_sources(
    cfg, layer_list: list[dict], hls_config: dict, profiled: dict, flow, graph, folded: set[str]
) -> dict[str, str]:
    """Layer name -> where its output type came from (module docstring), for every layer of ``graph``.
    ``folded``: the layers typed by a linear quantizer that alone reads them, and the inputs typed by theirs."""
    settings = LayerSettingResolver(cfg)
    by_pass: dict[str, str] = {}
    for record in flow:
        for change in record.changes:
            by_pass.setdefault(change.layer, record.name)  # (the first pass that changed it)
    parsed = {layer['name']: layer for layer in layer_list}
    out = {}
    for layer in graph.get_layers():
        name, cls = layer.name, layer.class_name
        keras_cls = parsed.get(name, {}).get('class_name')
        is_default = _same_type(layer_type(layer, decoded_xnor=False), _default_precision(cfg))
        if name in by_pass:
            out[name] = f'exact ({by_pass[name]})'
        elif cls == 'Input' and cfg.input_precision:
            out[name] = 'config (input)'
        elif _user_sets_result(settings, name, keras_cls or cls):
            out[name] = 'config'
        elif name in parsed and 'result' in quantizer_precisions(parsed[name]):
            out[name] = 'quantizer'
        elif name in folded:
            out[name] = 'quantizer'  # a linear quantizer folded into the layer that alone feeds it, an input's
        elif _result_entry(hls_config, name) == 'auto' and not is_default:  # (else hls4ml fell back to it)
            out[name] = 'exact (hls4ml)'
        elif name in (profiled or {}):
            out[name] = 'data range'
        elif is_default:
            out[name] = DEFAULT
        else:
            out[name] = 'hls4ml rule'  # e.g. an activation hls4ml types from its input
    return out


def _default_precision(cfg) -> Fixed | None:
    p = cfg.default_precision
    p = p.get('default', p.get('result')) if isinstance(p, dict) else p
    return parse_precision(p) if p else None


def _same_type(a: Fixed | None, b: Fixed | None) -> bool:
    return a is not None and b is not None and a.hls4ml_str() == b.hls4ml_str()


def default_overflows(conv, keras_out: dict[str, np.ndarray], sources: dict[str, str]) -> list[str]:
    """A warning for each layer typed by the model-wide default whose Keras output on the samples leaves the
    type's range, naming the layer, the type, the values and what to do."""
    from fpgaml.families import keras_reference

    default = 'the config\'s "precision: default"' if conv.config.default_precision_explicit else "hls4ml's default"
    warnings = []
    for layer in conv.graph.get_layers():
        if sources.get(layer.name) != DEFAULT or layer.class_name in BOUNDED:
            continue
        t = layer_type(layer, decoded_xnor=True)
        ref = keras_reference(layer, keras_out, conv.loaded.model)
        if t is None or ref is None or not np.size(ref):
            continue
        lo, hi = float(np.min(ref)), float(np.max(ref))
        if lo < t.min_value or hi > t.max_value:
            warnings.append(
                f'layer "{layer.name}" ({layer.class_name}) has {default} type {t.hls4ml_str()} (range '
                f'{t.min_value:g} .. {t.max_value:g}), but computes {lo:.4g} .. {hi:.4g} on the validation samples: '
                f'it overflows; set its type (layers: {{{layer.name}: {{precision: ...}}}}) or type it from the '
                f'data (precision: {{policy: profile}})'
            )
    return warnings
