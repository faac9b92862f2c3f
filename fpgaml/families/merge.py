"""Merges: Add, Subtract, Multiply, Average, Maximum, Minimum (hls4ml's Merge), Concatenate, Dot."""

from __future__ import annotations

import math

from fpgaml.convert.passes.exact_dot_accumulator import ExactDotAccumulator
from fpgaml.estimate import arith
from fpgaml.estimate.primitives import (
    Context,
    LayerCost,
    attr,
    elementwise_timing,
    in_fmt,
    in_var,
    out_fmt,
    out_var,
    size_of,
    stream_fifos,
)

from .base import Family


def merge(ctx: Context, layer) -> LayerCost:
    op = str(attr(layer, 'op', layer.class_name) or layer.class_name).lower()
    n = size_of(out_var(layer))
    o = out_fmt(layer)
    a = in_fmt(layer)
    b = in_fmt(layer, 1)
    c = LayerCost()
    if layer.class_name == 'Concatenate' or op.startswith('concat'):
        c.process = ctx.stream
        lat, ii, par = elementwise_timing(ctx, layer, n, 0 if not ctx.stream else 1)
        c.latency_cycles, c.ii_cycles = lat, ii
        if ctx.stream:
            c.lut = par * 2
            c.ff = par * o.width
        return c.add(stream_fifos(ctx, layer))
    if layer.class_name == 'Dot' or op == 'dot':
        n_in = size_of(in_var(layer))
        dsp1, lut1, t = arith.variable_mult(a, b, ctx.device.dsp_width)
        c.dsp, c.lut = n_in * dsp1, n_in * (lut1 + o.width)
        c.ff = n_in * o.width / 2
        c.latency_cycles = ctx.cycles(t + math.ceil(math.log2(max(2, n_in))) * arith.T_ADD_NS)
        return c.add(stream_fifos(ctx, layer))
    lat_comb = 1
    if op == 'multiply':
        dsp1, lut1, t = arith.variable_mult(a, b, ctx.device.dsp_width)
        per_dsp, per_lut = dsp1, lut1
        lat_comb = ctx.cycles(t)
    else:  # add, subtract, average, maximum, minimum
        per_dsp, per_lut = 0.0, (1.5 if op in ('maximum', 'minimum') else 1.0) * o.width
    lat, ii, par = elementwise_timing(ctx, layer, n, lat_comb)
    c.dsp, c.lut, c.ff = par * per_dsp, par * per_lut, par * o.width
    c.latency_cycles, c.ii_cycles = lat, ii
    return c.add(stream_fifos(ctx, layer))


FAMILY = Family(
    name='merge',
    hls_classes=('Merge', 'Concatenate', 'Dot'),
    keras_classes=('Add', 'Subtract', 'Multiply', 'Average', 'Maximum', 'Minimum', 'Concatenate', 'Dot'),
    # exact on quantized inputs (hls4ml infers their result types in bit-exact mode); an average divides
    keras_exact=('Add', 'Subtract', 'Multiply', 'Maximum', 'Minimum', 'Concatenate', 'Dot'),
    cost=dict.fromkeys(('Merge', 'Concatenate', 'Dot'), merge),
    passes=(ExactDotAccumulator,),
)
