"""Bit-exact mode: a float ReLU / linear activation (e.g. ``QConv2D(activation='relu')``) whose result type was
left to inference gets hls4ml's default type, which truncates the exact input it receives. Give it its input's
type instead (ReLU and identity need no other bits)."""

from __future__ import annotations

from . import Change, FlowContext, Pass

PASSTHROUGH_ACTIVATIONS = ('relu', 'linear')


class ExactPassthrough(Pass):
    name = 'exact_passthrough'
    kind = 'config'
    bit_exact_only = True
    precondition = 'hls4ml Activation/ReLU layers carry an "activation" attribute and one input variable'
    summary = 'float ReLU/linear activations take their input type instead of the default type'

    def run(self, ctx: FlowContext) -> list[Change]:
        entries = ctx.hls_config['HLSConfig']['LayerName']
        changes = []
        for layer in ctx.graph.get_layers():
            if layer.class_name not in ('Activation', 'ReLU'):
                continue
            act = layer.get_attr('activation')
            if act is None:
                raise self.broken(layer.name, 'no "activation" attribute')
            if str(act).lower() not in PASSTHROUGH_ACTIVATIONS:
                continue
            entry = entries.setdefault(layer.name, {'Trace': True})
            prec = entry.setdefault('Precision', {})
            if not isinstance(prec, dict) or prec.get('result', 'auto') != 'auto':
                continue  # the user or a quantizer decided this type
            src = layer.get_input_variable().type.precision
            if str(layer.get_output_variable().type.precision) != str(src):
                prec['result'] = str(src)
                changes.append(Change(layer.name, f"result type {src} (its input's)"))
        return changes
