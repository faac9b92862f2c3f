"""HGQ models (a ``FixedPointQuantizer`` in the graph): hls4ml's BitExact pass re-derives every layer's types from
the model's quantizers and replaces the types a config sets for a layer, without a word. fpgaml keeps what the
config sets, as everywhere else (a setting that contradicts the model's own quantizers is kept and warned about):
the result and accumulator types a config names for a layer (by name or class) are put back on the graph after
hls4ml's flow; the written C++, the estimate and the report read them. The firmware then computes with the
user's types, so it will not match the HGQ model bit for bit there, and the warning says so. Weight and bias
types of an HGQ layer are its quantizers' (hls4ml quantizes the data to them): a setting for them is named in
the warning and not applied."""

from __future__ import annotations

from fpgaml.config.precision import parse_precision

from . import Change, FlowContext, Pass

APPLIED = ('result', 'accum')


def hgq_bit_exact_graph(graph) -> bool:
    """hls4ml's BitExact pass ran on this graph: on by default when it holds a FixedPointQuantizer."""
    enabled = graph.config.config['HLSConfig']['Model'].get('BitExact', None)
    has_fpq = any(layer.class_name == 'FixedPointQuantizer' for layer in graph.get_layers())
    return bool(enabled) if enabled is not None else has_fpq


class HgqUserTypes(Pass):
    name = 'hgq_user_types'
    precondition = (
        'hls4ml\'s BitExact pass (HGQ graphs) leaves each layer\'s types as "<key>_t" entries of '
        "layer.types, the result type being the output variable's"
    )
    summary = (
        "HGQ models: result/accumulator types set in the config are kept (hls4ml's bit-exact inference "
        'replaces them), with a warning'
    )

    def run(self, ctx: FlowContext) -> list[Change]:
        graph = ctx.graph
        if not hgq_bit_exact_graph(graph):
            return []
        from hls4ml.backends.fpga.fpga_types import APTypeConverter

        backend = graph.config.backend
        ap = APTypeConverter()  # Vivado / Vitis: the ap_fixed definitions hls4ml's backend gives every type

        def convert(text: str):
            return ap.convert(backend.convert_precision_string(text))

        changes = []
        for layer in graph.get_layers():
            for key in sorted(ctx.settings.precision_keys(layer.name, layer.class_name)):
                want = ctx.settings.precision(layer.name, layer.class_name, key)
                t = layer.types.get(f'{key}_t')
                if want is None or t is None:
                    continue
                wanted = parse_precision(want).hls4ml_str()
                have = parse_precision(str(t.precision)).hls4ml_str()
                if wanted == have:
                    continue
                line = ctx.settings.line(layer.name, layer.class_name, 'precision')
                where = f'{ctx.cfg.source}{f":{line}" if line else ""}'  # the setting's file and line
                if key not in APPLIED:
                    changes.append(
                        Change(
                            layer.name,
                            f'{key} type {wanted} ({where}) not applied: an HGQ '
                            f"layer's {key} type is its quantizer's ({have})",
                        )
                    )
                    continue
                if key == 'result' and layer.get_output_variable().type is not t:
                    raise self.broken(layer.name, "its result_t is not its output variable's type")
                t.precision = convert(wanted)
                changes.append(
                    Change(
                        layer.name,
                        f"{key} type {wanted} ({where}) kept, where hls4ml's "
                        f'bit-exact inference of the HGQ model gives {have}: the firmware '
                        f'will not match the model bit for bit there',
                    )
                )
        return changes
