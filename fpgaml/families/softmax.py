"""Softmax: exp and 1/sum lookup tables (never bit for bit against Keras; bit-exact mode compares its input).
Its table types are sized by fpgaml (hlsconfig._softmax_tables); the softmax_config_name pass declares a Keras
Softmax() layer's config struct under the name its call uses. The RTL backend leaves a final softmax out (the RTL
ends at its input)."""

from __future__ import annotations

import math

from fpgaml.convert.passes.softmax_config_name import SoftmaxConfigName
from fpgaml.estimate import arith
from fpgaml.estimate.primitives import (
    Context,
    LayerCost,
    attr,
    in_fmt,
    out_fmt,
    out_var,
    rom,
    size_of,
    stream_fifos,
    type_fmt,
)
from fpgaml.fixed import Fixed

from .base import Family, activation_output


def softmax(ctx: Context, layer) -> LayerCost:
    n_total = size_of(out_var(layer))
    n = int(attr(layer, 'n_in', n_total) or n_total)
    n_outer = max(1, n_total // max(1, n))
    impl = str(attr(layer, 'implementation', 'stable') or 'stable').lower()
    table_size = int(attr(layer, 'table_size', 1024) or 1024)
    exp_size = int(attr(layer, 'exp_table_size', table_size) or table_size)
    inv_size = int(attr(layer, 'inv_table_size', table_size) or table_size)
    ef = type_fmt(layer, 'exp_table_t', Fixed(18, 8))
    inf = type_fmt(layer, 'inv_table_t', Fixed(18, 8))
    o = out_fmt(layer)
    a = in_fmt(layer)
    c = LayerCost()
    if impl == 'argmax':
        c.lut = (n - 1) * 1.5 * a.width + n
        c.ff = n * o.width
        c.latency_cycles = ctx.cycles(math.ceil(math.log2(max(2, n))) * arith.T_ADD_NS)
    else:
        lg = math.ceil(math.log2(max(2, n)))
        c.add(rom(exp_size * ef.width, math.ceil(n / 2)))  # exp table, dual-ported
        c.add(rom(inv_size * inf.width, 1))  # 1/sum table
        dsp1, lut1, t_mult = arith.variable_mult(ef, inf, ctx.device.dsp_width)
        c.dsp += n * dsp1
        c.lut += n * lut1
        c.lut += n * ef.width  # sum tree
        if impl == 'stable':
            c.lut += (n - 1) * 1.5 * a.width + n * a.width  # max tree + subtraction
        c.lut += n * 8  # index formation
        c.ff += n * (ef.width + o.width) * 2
        # one combinational chain, pipelined by HLS: max tree, subtract, exp lookup, sum tree, 1/sum lookup,
        # multiplication
        chain = lg * arith.T_ADD_NS * (2 if impl == 'stable' else 1) + arith.T_ADD_NS + 2 * arith.T_BRAM_NS + t_mult
        c.latency_cycles = ctx.cycles(chain)
    c.dsp *= n_outer
    c.lut *= n_outer
    c.ff *= n_outer
    c.bram_18k *= 1 if ctx.stream else n_outer
    if ctx.stream:
        c.latency_cycles += n_outer + 1
        c.ii_cycles = n_outer
    return c.add(stream_fifos(ctx, layer))


FAMILY = Family(
    name='softmax',
    hls_classes=('Softmax',),
    keras_classes=('Softmax',),
    passes=(SoftmaxConfigName,),
    cost={'Softmax': softmax},
    keras_reference=activation_output,
    activation='is',
    rtl_left_out_last=True,
    rtl_supported=('a final Softmax (left out: the RTL ends at its input)',),
)
