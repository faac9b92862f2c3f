"""Power-of-two (QKeras ``quantized_po2``) weights: hls4ml's ``nnet::product::weight_exponential`` declares a
product type that drops the low bits of ``x * 2^e``. The pass selects fpgaml's exact product
(``fpgaml/firmware_templates/nnet_fpgaml_po2.h``, ``weight_exponential_exact``) for every such layer through
the ``fpgaml_product_type`` attribute, which fpgaml's Dense/Conv template overrides render (and which makes
the project writer ship the header). Each layer's product is sized from the exponents of the weights it
actually has (``fpgaml_po2_exponents``): the exponent type's whole range (2^-32768 to 2^32767 for
quantized_po2(16)) would be far past ap_fixed's 1024-bit limit."""

from __future__ import annotations

import numpy as np

from fpgaml.errors import FpgamlError
from fpgaml.fixed import grid_of

from . import Change, FlowContext, Pass

EXACT_PRODUCT = 'weight_exponential_exact'
AP_MAX_WIDTH = 1024  # ap_fixed's default width limit (AP_INT_MAX_W)


def po2_exponent_range(layer) -> tuple[int, int] | None:
    """(smallest, largest) exponent of a layer's power-of-two (QKeras ``quantized_po2``) weights that are
    actually present (zeros aside); None if the layer has no such weights."""
    from hls4ml.model.types import ExponentPrecisionType

    w = layer.weights.get('weight') if hasattr(layer, 'weights') else None
    if w is None or not isinstance(w.type.precision, ExponentPrecisionType):
        return None
    data = np.abs(np.asarray(w.data, dtype=np.float64))
    nz = data[data > 0]
    if nz.size == 0:
        return None
    return int(np.floor(np.log2(nz.min()))), int(np.floor(np.log2(nz.max())))


PO2_CLASSES = ('Dense', 'Conv1D', 'Conv2D', 'PointwiseConv1D', 'PointwiseConv2D')


class ExactPo2Products(Pass):
    name = 'exact_po2_products'
    precondition = (
        'hls4ml selects nnet::product::weight_exponential for power-of-two weights, only in Dense / '
        'Conv1D / Conv2D / PointwiseConv layers'
    )
    summary = "power-of-two weights use fpgaml's exact product instead of hls4ml's weight_exponential"

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
            exps = po2_exponent_range(node) or (0, 0)  # all-zero weights: any range is exact
            x = grid_of(node.get_input_variable().type.precision)
            width = (x.width if x else 0) + max(0, -exps[0]) + max(0, exps[1]) + 1
            if width > AP_MAX_WIDTH:
                raise FpgamlError(
                    f'layer "{node.name}": its power-of-two weights span 2^{exps[0]} to 2^{exps[1]}, '
                    f'so an exact product of its {x.width if x else "?"}-bit input needs {width} bits, '
                    f"past ap_fixed's {AP_MAX_WIDTH}-bit limit; limit the exponent range "
                    f"(quantized_po2's max_value, or fewer bits)"
                )
            node.set_attr('fpgaml_product_type', EXACT_PRODUCT)
            node.set_attr('fpgaml_po2_exponents', exps)
            changes.append(
                Change(
                    node.name,
                    "power-of-two weights: using fpgaml's exact product type "
                    "(nnet_fpgaml_po2.h) instead of hls4ml's weight_exponential, which "
                    f"drops fractional bits; products sized from the weights' exponents "
                    f'2^{exps[0]}..2^{exps[1]}',
                )
            )
        return changes
