"""Exact QLSTM / QGRU cells: fpgaml's cell (``nnet_fpgaml_recurrent.h``) with exact quantized activations.

For every layer :mod:`exact_recurrent_types` sized, the pass renders the cell's types and its activations'
threshold tables (:mod:`fpgaml.convert.exact_activation`: QKeras's own float32 functions, bisected over each
activation's input grid) into the ``fpgaml_exact_cell`` attribute, which fpgaml's recurrent template
overrides render into the layer's config and call (``nnet::fpgaml_lstm_stack`` / ``fpgaml_gru_stack``).
The note says what is exact: with a state quantizer and every tensor within float32's 24 significant bits,
the firmware equals Keras bit for bit; otherwise it names what is not.
"""

from __future__ import annotations

import numpy as np

from fpgaml.convert.exact_activation import binned_table, cpp_table, step_function
from fpgaml.errors import FpgamlError
from fpgaml.frontend.keras2_arch import hard_activation

from . import Change, FlowContext, Pass
from .exact_recurrent_types import cell_types, exact_cell_candidate

RECURRENT_HEADER = 'nnet_utils/nnet_fpgaml_recurrent.h'
ACTIVATION_HEADER = 'nnet_utils/nnet_fpgaml_activation.h'


def cell_tables(t):
    """{C++ name: BinnedTable} of a cell's activations (on the grids of their inputs)."""
    out = {'fpgaml_recr_table': binned_table(step_function(t.recr_activation, t.acc))}
    if t.kind == 'LSTM':
        out['fpgaml_act_table'] = binned_table(step_function(t.activation, t.acc))
        out['fpgaml_act_c_table'] = binned_table(step_function(t.activation, t.c))
    else:
        out['fpgaml_act_table'] = binned_table(step_function(t.activation, t.c))
    return out


class ExactRecurrentCells(Pass):
    name = 'exact_recurrent_cells'
    precondition = "hls4ml LSTM/GRU layers render hls4ml's recurrent config and call templates"
    summary = (
        "QLSTM/QGRU with quantized activations computed by fpgaml's exact cell: exact sums and state "
        'updates, threshold tables for the activations, states cast as the state quantizer'
    )

    def run(self, ctx: FlowContext) -> list[Change]:
        changes = []
        for node in ctx.graph.get_layers():
            cell, why_not = exact_cell_candidate(ctx, node)
            if why_not is not None:
                hard = [a for a in ('activation', 'recurrent_activation') if hard_activation(getattr(cell, a, None))]
                if hard:
                    raise FpgamlError(
                        f'layer "{node.name}": hard quantized {" and ".join(hard)} in a recurrent layer '
                        f"are computed only by fpgaml's exact cell, which this layer cannot use "
                        f'({why_not}); hls4ml 1.3.0 has no hard activations in recurrent layers. '
                        f'Use io_parallel without table_size, or the real functions '
                        f'(use_real_sigmoid / use_real_tanh=True)'
                    )
                if cell is not None and node.class_name in ('LSTM', 'GRU'):
                    changes.append(Change(node.name, f"hls4ml's cell kept: {why_not}"))
                continue
            t = cell_types(ctx, node, cell)
            tables = cell_tables(t)
            lines = [
                f'    typedef {t.acc.cpp} fpgaml_acc_t;',
                f'    typedef {t.state.cpp} fpgaml_state_t;',
                f'    typedef {t.c.cpp} fpgaml_c_t;',
                f'    typedef {t.h.cpp} fpgaml_h_t;',
            ]
            text = '\n'.join(lines) + '\n' + ''.join(cpp_table(n, tb) for n, tb in tables.items())
            node.set_attr('fpgaml_exact_cell', text)
            for attr, ty in (
                ('fpgaml_cell_acc_t', t.acc),
                ('fpgaml_state_t', t.state),
                ('fpgaml_cell_c_t', t.c),
                ('fpgaml_cell_h_t', t.h),
            ):
                node.set_attr(attr, ty)
            node.set_attr('fpgaml_exact_tables', {n: (tb.entries, tb.entry_bits) for n, tb in tables.items()})
            sizes = ', '.join(f'{n[7:]} {tb.entries} x {tb.entry_bits} bits' for n, tb in tables.items())
            what = (
                f"fpgaml's exact cell: pre-activation {t.acc.hls4ml_str()}, state {t.state.hls4ml_str()}, "
                f'{"cell state" if t.kind == "LSTM" else "candidate pre-activation"} {t.c.hls4ml_str()}, '
                f'hidden {t.h.hls4ml_str()}; threshold tables {sizes}'
            )
            c_table = tables['fpgaml_act_c_table' if t.kind == 'LSTM' else 'fpgaml_act_table'].step
            reach = float(np.max(np.abs(c_table.thresholds))) * 2.0**-t.c.fractional
            if t.kind == 'LSTM':
                reach = max(reach, abs(t.state.min_value), t.state.max_value)
            inexact = t.float32_inexact(reach)
            inexact += [
                f"{n[7:]} on {tb.step.in_type.hls4ml_str()} (QKeras's float32 function flips over more than "
                f'16 codes next to a threshold: the table follows the bisection thresholds there)'
                for n, tb in tables.items()
                if tb.approximate
            ]
            node.set_attr('fpgaml_float32_inexact', inexact if t.state_quantized else [])
            if not t.state_quantized:
                what += (
                    '; no state quantizer: Keras carries a float state, fpgaml the accumulator type '
                    f'{t.state.hls4ml_str()} (set state_quantizer=quantized_bits(...) to make the cell exact)'
                )
            elif inexact:
                what += (
                    "; not exact in Keras's float32 (more than 24 significant bits): "
                    + ', '.join(inexact)
                    + ' (narrow the input or state types)'
                )
            else:
                what += "; exact: every tensor is on a fixed-point grid within float32's 24 significant bits"
            changes.append(Change(node.name, what))
        return changes
