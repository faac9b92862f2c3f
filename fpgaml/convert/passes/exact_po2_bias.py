"""Power-of-two (QKeras ``quantized_po2``) biases: hls4ml gives them its exponent type (``{sign, exponent}``
pairs), which the Dense/Conv kernels cannot use to initialise the accumulator (``ap_fixed(bias_t&)`` has no
constructor: a g++ error, in hls4ml alone too). The pass gives each such bias the smallest fixed-point type that
holds its values exactly (sized from the exponents present), so the firmware adds exactly what QKeras adds."""

from __future__ import annotations

import numpy as np

from . import Change, FlowContext, Pass


def _BACKEND_TYPES():
    from hls4ml.backends.vivado.passes.transform_types import TransformTypes

    return TransformTypes()


class ExactPo2Bias(Pass):
    name = 'exact_po2_bias'
    precondition = (
        'a power-of-two bias is a weight variable named "bias" of hls4ml\'s ExponentPrecisionType '
        'holding the quantized values (powers of two or 0)'
    )
    summary = "power-of-two biases get an exact fixed-point type (hls4ml's exponent type does not compile)"

    def run(self, ctx: FlowContext) -> list[Change]:
        from hls4ml.model.types import ExponentPrecisionType, FixedPrecisionType

        changes = []
        for node in ctx.graph.get_layers():
            b = node.weights.get('bias') if hasattr(node, 'weights') else None
            if b is None or not isinstance(b.type.precision, ExponentPrecisionType):
                continue
            data = np.asarray(b.data, dtype=np.float64)
            nz = np.abs(data[data != 0])
            exps = np.log2(nz) if nz.size else np.zeros(1)
            if not np.all(np.isfinite(exps)) or not np.array_equal(exps, np.round(exps)):
                raise self.broken(node.name, 'its power-of-two bias holds values that are not powers of two')
            lo, hi = int(exps.min()), int(exps.max())
            frac, integer = max(0, -lo), max(1, hi + 2)  # the sign bit and 2^hi
            precision = FixedPrecisionType(width=integer + frac, integer=integer, signed=True)
            storage = getattr(b, 'storage', None)
            node.add_weights_variable(name='bias', var_name='b{index}', precision=precision, data=data)
            new = _BACKEND_TYPES().weight_var_converter.convert(node.weights['bias'])  # as hls4ml's backend does
            if storage is not None:
                new.storage = storage
            node.set_attr('bias', new)
            changes.append(
                Change(
                    node.name,
                    f"power-of-two bias 2^{lo}..2^{hi}: typed {precision} (exact) instead of hls4ml's exponent type",
                )
            )
        return changes
