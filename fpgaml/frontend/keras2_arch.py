"""A tf_keras model's JSON architecture as hls4ml 1.3.0's Keras-2 parser reads it.

Two rewrites, on the architecture only (the model is not changed): activation *functions* that are not Keras
built-ins, which tf_keras 2.21 serializes as dicts, become their names (the form older Keras wrote); QLSTM /
QGRU hard quantized activations, which the parser rejects, are shown to it as the real ones.
"""

from __future__ import annotations

__all__ = ['hard_activation', 'keras2_parser_arch']


def keras2_parser_arch(arch: dict) -> dict:
    """``arch`` (from ``model.to_json()``) with both rewrites applied."""
    return _recurrent_hard_activations(_activation_names(arch))


def hard_activation(quantizer) -> bool:
    """A QKeras quantized_sigmoid / quantized_tanh with the hard (piecewise-linear) function."""
    name = type(quantizer).__name__
    return (name == 'quantized_sigmoid' and not getattr(quantizer, 'use_real_sigmoid', False)) or (
        name == 'quantized_tanh' and not getattr(quantizer, 'use_real_tanh', False)
    )


def _recurrent_hard_activations(arch: dict) -> dict:
    """hls4ml 1.3.0 rejects QLSTM / QGRU with hard quantized activations ("Hard activation not supported").
    fpgaml computes them in its exact cell from the Keras layer's own quantizers (the
    exact_recurrent_cells pass, which refuses the layers it cannot compute that way), so hls4ml's parser is
    shown the real variants, only to build the layer."""
    from qkeras.quantizers import get_quantizer

    for layer in (arch.get('config') or {}).get('layers', []):
        if layer.get('class_name') not in ('QLSTM', 'QGRU'):
            continue
        cfg = layer.get('config', {})
        for key in ('activation', 'recurrent_activation'):
            if not isinstance(cfg.get(key), dict):
                continue  # a plain activation name
            try:
                q = get_quantizer(cfg[key])
            except Exception:  # noqa: BLE001 - left to hls4ml's parser, which says what it rejects
                continue
            if hard_activation(q):
                real = 'use_real_sigmoid' if type(q).__name__ == 'quantized_sigmoid' else 'use_real_tanh'
                cfg[key] = {'class_name': type(q).__name__, 'config': {**q.get_config(), real: True}}
    return arch


def _activation_names(node):
    """Replace serialized plain-function activations ({'class_name': 'function', 'config': 'relu1', ...}) by
    their names, everywhere in a Keras JSON architecture."""
    if isinstance(node, list):
        return [_activation_names(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for k, v in node.items():
        if (
            k == 'activation'
            and isinstance(v, dict)
            and v.get('class_name') == 'function'
            and isinstance(v.get('config'), str)
        ):
            out[k] = v['config']
        else:
            out[k] = _activation_names(v)
    return out
