"""Power-of-two (QKeras ``quantized_po2``) weights: hls4ml's ``nnet::product::weight_exponential`` declares a
product type that drops the low bits of ``x * 2^e``. The pass selects fpgaml's exact product
(``fpgaml/firmware_templates/nnet_fpgaml_po2.h``, ``weight_exponential_exact``) for every such layer through
the ``fpgaml_product_type`` attribute, which fpgaml's Dense/Conv template overrides render (and which makes
the project writer ship the header)."""

from __future__ import annotations

from . import Change, FlowContext, Pass

EXACT_PRODUCT = 'weight_exponential_exact'
PO2_CLASSES = ('Dense', 'Conv1D', 'Conv2D', 'PointwiseConv1D', 'PointwiseConv2D')


class ExactPo2Products(Pass):
    name = 'exact_po2_products'
    precondition = ('hls4ml selects nnet::product::weight_exponential for power-of-two weights, only in Dense / '
                    'Conv1D / Conv2D / PointwiseConv layers')
    summary = 'power-of-two weights use fpgaml\'s exact product instead of hls4ml\'s weight_exponential'

    def run(self, ctx: FlowContext) -> list[Change]:
        from hls4ml.model.types import ExponentPrecisionType

        backend = ctx.graph.config.backend
        changes = []
        for node in ctx.graph.get_layers():
            w = node.weights.get('weight') if hasattr(node, 'weights') else None
            if w is None or not isinstance(w.type.precision, ExponentPrecisionType):
                continue
            if node.class_name not in PO2_CLASSES:
                raise self.broken(node.name, f'power-of-two weights in a {node.class_name} layer')
            chosen = backend.product_type(node.get_input_variable().type.precision, w.type.precision)
            if chosen != 'weight_exponential':
                raise self.broken(node.name, f'hls4ml chose product {chosen}')
            node.set_attr('fpgaml_product_type', EXACT_PRODUCT)
            changes.append(Change(node.name, 'power-of-two weights: using fpgaml\'s exact product type '
                                             '(nnet_fpgaml_po2.h) instead of hls4ml\'s weight_exponential, which '
                                             'drops fractional bits'))
        return changes
