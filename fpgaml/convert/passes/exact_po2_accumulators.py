"""Bit-exact mode: hls4ml infers no accumulator/result type for a Dense layer with power-of-two (QKeras
``quantized_po2``) weights and falls back to the default (e.g. fixed<16,6>), which overflows. Size them exactly
from the input type, the weights' exponent range, the bias type and the fan-in."""

from __future__ import annotations

import math

from fpgaml.config.precision import parse_precision
from fpgaml.fixed import grid_of

from . import Change, FlowContext, Pass
from .exact_po2_products import po2_exponent_range


class ExactPo2Accumulators(Pass):
    name = 'exact_po2_accumulators'
    kind = 'config'
    bit_exact_only = True
    precondition = 'a Dense layer\'s power-of-two weights have an ExponentPrecisionType and an "accum_t" attribute'
    summary = 'Dense layers with power-of-two weights get exact accumulator/result types'

    def run(self, ctx: FlowContext) -> list[Change]:
        entries = ctx.hls_config['HLSConfig']['LayerName']
        changes = []
        for layer in ctx.graph.get_layers():
            exps = po2_exponent_range(layer) if layer.class_name == 'Dense' else None
            if exps is None:
                continue
            prec = entries.setdefault(layer.name, {'Trace': True}).setdefault('Precision', {})
            if not isinstance(prec, dict) or any(prec.get(k, 'auto') != 'auto' for k in ('accum', 'result')):
                continue
            x = grid_of(layer.get_input_variable().type.precision)
            if x is None:
                continue
            e_min, e_max = exps
            frac = x.fractional - e_min
            n_in = int(layer.get_attr('n_in'))
            integer = x.integer + e_max + math.ceil(math.log2(max(2, n_in))) + (0 if x.signed else 1)
            b = layer.weights.get('bias')
            if b is not None:
                bt = grid_of(b.type.precision)
                if bt is not None:
                    frac = max(frac, bt.fractional)
                    integer = max(integer, bt.integer + 1) + 1
            exact = f'fixed<{integer + frac},{integer}>'
            accum = layer.get_attr('accum_t')
            if accum is None:
                raise self.broken(layer.name, 'no accum_t attribute')
            if str(accum.precision) != str(parse_precision(exact).hls4ml_str()):
                prec['accum'] = prec['result'] = exact
                changes.append(Change(layer.name, f'accumulator and result {exact}'))
        return changes
