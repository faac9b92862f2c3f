"""Recurrent layers (SimpleRNN, LSTM, GRU; QKeras QLSTM/QGRU/QSimpleRNN). Passes: the QKeras quantizers
applied to the weights hls4ml writes unquantized; QLSTM/QGRU with quantized activations computed by fpgaml's
exact cell (exact types, threshold tables); for layers left to hls4ml's cell (``table_size`` set, float
activations), one table type per activation (the QKeras output grids) and casts at the layer's boundary where
hls4ml's template needs one type. hls4ml computes their activations inside the cell (none is split off)."""

from __future__ import annotations

import math

from fpgaml.convert.passes.exact_recurrent_cells import ExactRecurrentCells
from fpgaml.convert.passes.exact_recurrent_types import ExactRecurrentTypes
from fpgaml.convert.passes.quantized_recurrent_weights import QuantizedRecurrentWeights
from fpgaml.convert.passes.recurrent_activation_tables import RecurrentActivationTables
from fpgaml.convert.passes.recurrent_template_types import RecurrentTemplateTypes
from fpgaml.estimate import arith
from fpgaml.estimate.costs import generic
from fpgaml.estimate.primitives import (
    Context,
    LayerCost,
    MacSpec,
    accum_fmt,
    attr,
    exact_table,
    fixed_width,
    in_fmt,
    in_var,
    mac,
    out_fmt,
    reuse_factor,
    rom,
    shape_of,
    strategy,
    stream_fifos,
    type_fmt,
    weight,
)
from fpgaml.fixed import Fixed

from .base import Family


def recurrent(ctx: Context, layer) -> LayerCost:
    w, wf = weight(layer, 'weight')
    wr, wrf = weight(layer, 'recurrent_weight')
    if w is None or wr is None:
        return generic(ctx, layer)
    in_shape = shape_of(in_var(layer))
    n_t = in_shape[0] if len(in_shape) >= 2 else 1
    n_out = int(attr(layer, 'n_out', wr.shape[0]))
    o = out_fmt(layer)
    a = in_fmt(layer)
    acc = accum_fmt(layer, o)
    rf, st = reuse_factor(layer), strategy(layer)
    gates = {'LSTM': 4, 'GRU': 3}.get(layer.class_name, 1)
    state = Fixed(o.width, o.integer)
    k = mac(ctx, MacSpec(w.reshape(w.shape[0], -1), wf, a, acc, o, weight(layer, 'bias')[0], 1, 1, rf, st))
    r = mac(ctx, MacSpec(wr.reshape(wr.shape[0], -1), wrf, state, acc, o, None, 1, 1, rf, st))
    c = LayerCost().add(k).add(r)
    # gate non-linearities: one lookup per gate output in the recurrent activation's table (sigmoid), the
    # others (candidate, and tanh(c) of an LSTM) in the activation's; each table typed as the graph says
    # (fpgaml's per-table types where the recurrent_activation_tables pass set them, else hls4ml's table_t)
    n_recr = (gates - 1) * n_out
    n_act = n_out + (n_out if gates == 4 else 0)
    exact = attr(layer, 'fpgaml_exact_tables')
    if exact:
        # fpgaml's exact cell: binned threshold tables (entries x bits each), one lookup per gate output: the
        # sigmoid table for the gates, the candidate's tanh table, and (LSTM) the tanh(c) table
        lookups = {'fpgaml_recr_table': n_recr, 'fpgaml_act_table': n_out, 'fpgaml_act_c_table': n_out}
        for name, (entries, bits) in exact.items():
            c.add(exact_table(entries, bits, lookups.get(name, n_out), a.width))
    else:
        table_size = int(attr(layer, 'table_size', 1024) or 1024)
        shared = type_fmt(layer, 'table_t', Fixed(18, 8))
        recr_w = fixed_width(attr(layer, 'fpgaml_recr_table_t'), shared.width)
        act_w = fixed_width(attr(layer, 'fpgaml_act_table_t'), shared.width)
        c.add(rom(table_size * recr_w, max(1, math.ceil(n_recr / 2))))
        c.add(rom(table_size * act_w, max(1, math.ceil(n_act / 2))))
    # element-wise products of the cell update
    n_ew = {4: 3, 3: 3}.get(gates, 0) * n_out
    dsp1, lut1, t = arith.variable_mult(o, o, ctx.device.dsp_width)
    c.dsp += n_ew * dsp1
    c.lut += n_ew * (lut1 + o.width)
    c.ff += (gates + 2) * n_out * o.width
    step = k.latency_cycles + r.latency_cycles + 2 * ctx.cycles(arith.T_BRAM_NS) + ctx.cycles(t) + 1
    c.latency_cycles = n_t * step + 1
    c.ii_cycles = c.latency_cycles  # hls4ml's recurrent loop keeps its state: no overlap between samples
    c.flags.append('recurrent: time steps are sequential; II = latency')
    return c.add(stream_fifos(ctx, layer))


FAMILY = Family(
    name='recurrent',
    hls_classes=('SimpleRNN', 'LSTM', 'GRU', 'Bidirectional', 'TimeDistributed'),
    keras_classes=('SimpleRNN', 'LSTM', 'GRU', 'QSimpleRNN', 'QLSTM', 'QGRU', 'Bidirectional', 'TimeDistributed'),
    passes=(
        QuantizedRecurrentWeights,
        ExactRecurrentTypes,
        ExactRecurrentCells,
        RecurrentActivationTables,
        RecurrentTemplateTypes,
    ),
    cost=dict.fromkeys(('SimpleRNN', 'LSTM', 'GRU'), recurrent),
    activation='inside',
)
