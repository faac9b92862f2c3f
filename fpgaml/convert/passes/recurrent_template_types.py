"""hls4ml's LSTM / GRU templates (``nnet_recurrent.h``) instantiate ``nnet::dense<data_T, res_T>`` on arrays of
the accumulator type and of the result type: a layer whose input, accumulator and result types are not one
type fails in g++ (``no matching function for call to dense<...>``), e.g. a QLSTM behind a quantized
activation. For layers computed by hls4ml's cell (fpgaml's exact cell takes any input type), the pass selects
fpgaml's boundary casts (``nnet::fpgaml_lstm_stack_cast`` / ``fpgaml_gru_stack_cast`` in
``nnet_fpgaml_recurrent.h``): the input is cast into the accumulator type, hls4ml's cell runs on that one
type, and its output is cast to the result type."""

from __future__ import annotations

from fpgaml.fixed import grid_of

from . import Change, FlowContext, Pass


def _holds(outer, inner) -> bool:
    return (
        outer is not None
        and inner is not None
        and outer.fractional >= inner.fractional
        and outer.integer - outer.signed >= inner.integer - inner.signed
        and (outer.signed or not inner.signed)
    )


class RecurrentTemplateTypes(Pass):
    name = 'recurrent_template_types'
    precondition = 'hls4ml LSTM/GRU layers have "accum_t" and render hls4ml\'s recurrent call template'
    summary = 'hls4ml LSTM/GRU cells whose input/result type differs from the accumulator type: casts at the boundary'

    def run(self, ctx: FlowContext) -> list[Change]:
        changes = []
        for node in ctx.graph.get_layers():
            if node.class_name not in ('LSTM', 'GRU') or node.get_attr('fpgaml_exact_cell') is not None:
                continue
            if ctx.cfg.io_type != 'io_parallel' or node.get_attr('pass_initial_states', False):
                continue
            accum = node.get_attr('accum_t')
            if accum is None:
                raise self.broken(node.name, 'no accum_t attribute')
            a = str(accum.precision)
            x = node.get_input_variable().type.precision
            y = node.get_output_variable().type.precision
            if str(x) == a and str(y) == a:
                continue
            node.set_attr('fpgaml_recurrent_cast', True)
            what = (
                f'input {grid_of(x).hls4ml_str()} / result {grid_of(y).hls4ml_str()} differ from the '
                f"accumulator {grid_of(accum.precision).hls4ml_str()} that hls4ml's cell needs for all "
                'three: cast at the layer boundary'
            )
            if not _holds(grid_of(accum.precision), grid_of(x)):
                what += ' (the accumulator type does not hold every input value: the input cast rounds/wraps)'
            changes.append(Change(node.name, what))
        return changes
