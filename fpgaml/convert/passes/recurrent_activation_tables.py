"""Give the sigmoid and tanh lookup tables of QLSTM / QGRU layers the output grids of their QKeras
``quantized_sigmoid`` / ``quantized_tanh`` activations.

hls4ml gives both tables of a recurrent layer one type (``table_t``, default fixed<18,8> truncated), so its
gates hold the real function's value truncated to 10 fractional bits where QKeras rounds it to the quantizer's
grid (2^-8 for quantized_sigmoid(8), 2^-7 for quantized_tanh(8)); the difference feeds back through every time
step. Each table entry is computed as ``table_t(f(x))``, so a table type with the quantizer's width, rounding
and saturation holds exactly the QKeras value of ``f`` at the table's input ``x``. The pass sets one type per
table (``fpgaml_act_table_t``, ``fpgaml_recr_table_t``), rendered by fpgaml's recurrent template override; a
layer whose ``table`` type the config sets keeps hls4ml's. Upstream: hls4ml's recurrent layers should derive
each table's type from its activation quantizer (``parse_qrnn_layer`` records them)."""

from __future__ import annotations

from fpgaml.fixed import Fixed, grid_of

from . import Change, FlowContext, Pass


def qkeras_activation_type(quantizer) -> Fixed | None:
    """The type whose float-to-fixed conversion computes a QKeras ``quantized_sigmoid`` / ``quantized_tanh``
    (with the real function) from the function's value: ``round(p * 2^bits) / 2^bits`` (tf.round: half to even
    = RND_CONV), clipped to [0, 1 - 2^-bits] / [-1, 1 - 2^-(bits-1)] (SAT)."""
    name = type(quantizer).__name__
    if getattr(quantizer, 'symmetric', False) or getattr(quantizer, 'use_stochastic_rounding', False):
        return None
    bits = getattr(quantizer, 'bits', None)
    if name == 'quantized_sigmoid' and getattr(quantizer, 'use_real_sigmoid', False) and bits:
        return Fixed(int(bits), 0, signed=False, rounding='RND_CONV', saturation='SAT')
    if name == 'quantized_tanh' and getattr(quantizer, 'use_real_tanh', False) and bits:
        return Fixed(int(bits), 1, signed=True, rounding='RND_CONV', saturation='SAT')
    return None


class RecurrentActivationTables(Pass):
    name = 'recurrent_activation_tables'
    precondition = 'hls4ml LSTM/GRU layers have one "table_t" type for both activation tables'
    summary = "QLSTM/QGRU activation tables typed as their QKeras activations' output grids"

    def run(self, ctx: FlowContext) -> list[Change]:
        changes = []
        for node in ctx.graph.get_layers():
            if node.class_name not in ('LSTM', 'GRU'):
                continue
            if 'table' in ctx.settings.precision_keys(node.name, node.class_name):
                continue
            if node.get_attr('fpgaml_exact_cell') is not None:
                continue  # fpgaml's exact cell: threshold tables, no hls4ml table
            cell = getattr(ctx.keras_layer(node.name), 'cell', None)
            if cell is None:
                continue
            act = qkeras_activation_type(getattr(cell, 'activation', None))
            recr = qkeras_activation_type(getattr(cell, 'recurrent_activation', None))
            if act is None and recr is None:
                continue
            table_t = node.get_attr('table_t')
            if table_t is None:
                raise self.broken(node.name, 'no table_t attribute')
            hls = grid_of(table_t.precision)
            node.set_attr('fpgaml_act_table_t', act or hls)
            node.set_attr('fpgaml_recr_table_t', recr or hls)
            changes.append(
                Change(
                    node.name,
                    f'activation table {(act or hls).hls4ml_str()}, recurrent activation '
                    f'table {(recr or hls).hls4ml_str()} (hls4ml: one table type '
                    f'{hls.hls4ml_str()})',
                )
            )
        return changes
