"""Bit-exact mode: hls4ml infers a Dot's result type exactly from its inputs (the width of a product plus the bits
of the sum), but not the accumulator ``dot1d`` sums the products in, which stays at the default type (e.g.
``fixed<16,6>``): the squared distance of an autoencoder-style anomaly model (``Subtract`` then ``Dot`` of the
difference with itself) wrapped there (1% of samples bit-exact, max |diff| 448). The accumulator takes the result
type: it holds every product and every partial sum exactly."""

from __future__ import annotations

from fpgaml.fixed import grid_of

from . import Change, FlowContext, Pass


class ExactDotAccumulator(Pass):
    name = 'exact_dot_accumulator'
    kind = 'config'
    bit_exact_only = True
    precondition = 'hls4ml Dot layers have an "accum_t" type attribute that dot1d sums the products in'
    summary = 'Dot layers accumulate in their exact result type instead of the default type'

    def run(self, ctx: FlowContext) -> list[Change]:
        entries = ctx.hls_config['HLSConfig']['LayerName']
        changes = []
        for layer in ctx.graph.get_layers():
            if layer.class_name != 'Dot':
                continue
            prec = entries.setdefault(layer.name, {'Trace': True}).setdefault('Precision', {})
            if not isinstance(prec, dict) or prec.get('accum', 'auto') != 'auto':
                continue  # the user fixes it
            accum = layer.get_attr('accum_t')
            if accum is None:
                raise self.broken(layer.name, 'no accum_t attribute')
            result = layer.get_output_variable().type.precision
            if grid_of(accum.precision) != grid_of(result):
                prec['accum'] = str(result)
                changes.append(Change(layer.name, f'accumulator type {grid_of(result).hls4ml_str()} (its result type)'))
        return changes
