"""QActivation(quantized_sigmoid / quantized_tanh), real or hard: exact threshold tables.

hls4ml computes a QKeras ``quantized_sigmoid(use_real_sigmoid=True)`` / ``quantized_tanh(use_real_tanh=True)``
as its sigmoid / tanh lookup table, indexed by a truncated input (never bit for bit what QKeras computes), and
the hard variants with its hard activations. The pass builds the activation's thresholds on the layer's input
grid from QKeras's own float32 function (:mod:`fpgaml.convert.exact_activation`) and sets the
``fpgaml_exact_table`` attribute, which fpgaml's activation template overrides render
(``nnet::fpgaml_exact_activation``, ``nnet_fpgaml_activation.h``). A layer whose ``table_size`` the config
sets keeps hls4ml's table. Where the exact table cannot be built (a boundary the binned table cannot hold, e.g.
``quantized_tanh(8)`` hard on a fine input grid), hls4ml's own activation is kept, as before this pass existed,
the change record says so and the layer is marked ``fpgaml_not_exact`` (the verdict uses tolerances): a model
hls4ml converts is never refused here."""

from __future__ import annotations

from fpgaml.convert.exact_activation import binned_table, cpp_table, exact_activation_kind, step_function
from fpgaml.fixed import grid_of

from . import Change, FlowContext, Pass

CLASSES = ('Activation', 'HardActivation')


class ExactQuantizedActivations(Pass):
    name = 'exact_quantized_activations'
    precondition = 'hls4ml converts QActivation(quantized_sigmoid/quantized_tanh) to Activation / HardActivation'
    summary = 'QActivation(quantized_sigmoid / quantized_tanh) as exact threshold tables on the input grid'

    def run(self, ctx: FlowContext) -> list[Change]:
        changes = []
        for node in ctx.graph.get_layers():
            if node.class_name not in CLASSES:
                continue
            layer = ctx.keras_layer(node.name)
            if layer is None or type(layer).__name__ != 'QActivation':
                continue
            quantizer = getattr(layer, 'quantizer', None)
            if exact_activation_kind(quantizer) is None:
                continue
            if ctx.settings.keeps_hls4ml_tables(node.name, node.class_name):
                changes.append(Change(node.name, "hls4ml's lookup table kept (the config sets table_size)"))
                continue
            x = grid_of(node.get_input_variable().type.precision)
            if x is None or x.width > 62:
                raise self.broken(node.name, 'input type is not a fixed type of at most 62 bits')
            try:
                table = binned_table(step_function(quantizer, x))
            except ValueError as e:
                node.set_attr('fpgaml_not_exact', [f'no exact table on {x.hls4ml_str()}: {e}'])
                changes.append(
                    Change(
                        node.name,
                        f"exact table not possible ({e}); hls4ml's "
                        f'{node.class_name} kept (not bit-exact: compared with tolerances)',
                    )
                )
                continue
            name = f'fpgaml_exact_table{node.index}'
            extra = f'    static const unsigned n_in = {node.get_output_variable().size()};'
            node.set_attr('fpgaml_exact_table', cpp_table(name, table, extra=extra, indent=''))
            node.set_attr('fpgaml_exact_table_name', name)
            node.set_attr('fpgaml_exact_tables', {name: (table.entries, table.entry_bits)})
            if table.approximate:
                node.set_attr(
                    'fpgaml_float32_inexact',
                    [f'{table.step.name} on {x.hls4ml_str()} flips over more than 16 codes next to a threshold'],
                )
            changes.append(
                Change(
                    node.name,
                    f'{table.step.name}: exact threshold table on {x.hls4ml_str()}, '
                    f'{table.entries} bins x {table.entry_bits} bits (hls4ml: '
                    f'{node.get_attr("table_size", "no")} table entries, not exact)',
                )
            )
        return changes
