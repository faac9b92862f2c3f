"""A QKeras ``QDense`` applied to a 2-D or 3-D tensor (per element of a set or sequence, as in DeepSets'
phi layers) is replaced by hls4ml's ``ReplaceMultidimensionalDenseWithConv`` with a kernel-size-1
convolution (then hls4ml's pointwise convolution) built from the layer's *float* ``weight_data`` /
``bias_data``: the ``weight_quantizer`` / ``bias_quantizer`` its QDense parser recorded are not passed on
(``hls4ml/model/optimizer/passes/multi_dense.py``, hls4ml 1.3.0). The weights are then written unquantized
and the C++ casts them into the weight type with ``AP_TRN``, i.e. floored instead of rounded as QKeras
does (measured on a published 4-bit DeepSets tagger: 28% argmax agreement with Keras). fpgaml's config
already gives such a layer the quantizer's weight and bias types; this pass replaces the data by the
quantizer's output, as hls4ml does for a QDense on a flat input. Upstream fix: carry ``weight_quantizer``
and ``bias_quantizer`` into ``conv_attrs`` in ``ReplaceMultidimensionalDenseWithConv.transform``.
"""

from __future__ import annotations

from fpgaml.errors import FpgamlError

from . import Change, FlowContext, Pass
from .quantized_recurrent_weights import _elementwise, quantize_weights

CONV_CLASSES = ('Conv1D', 'Conv2D', 'PointwiseConv1D', 'PointwiseConv2D')


class QuantizedMultidimDense(Pass):
    name = 'quantized_multidim_dense'
    precondition = (
        'a QDense over an n-D input is a Conv1D/Conv2D (or PointwiseConv1D/2D) of the same name holding '
        '"weight" and "bias" weight variables'
    )
    summary = (
        'QKeras quantizers applied to a QDense over a 2-D/3-D input (hls4ml turns it into a convolution '
        'and writes its weights unquantized)'
    )

    def run(self, ctx: FlowContext) -> list[Change]:
        changes = []
        for node in list(ctx.graph.get_layers()):
            if node.class_name not in CONV_CLASSES:
                continue
            layer = ctx.keras_layer(node.name)
            if layer is None or type(layer).__name__ != 'QDense':
                continue

            def q(quantizer, var_name, node=node, layer=layer):
                var = node.weights.get(var_name)
                if quantizer is None:
                    return None
                if var is None:
                    raise self.broken(node.name, f'no "{var_name}" weight variable')
                if getattr(var, 'quantizer', None) is not None:
                    return None  # hls4ml applied the quantizer itself (fixed upstream)
                if not _elementwise(quantizer):
                    raise FpgamlError(
                        f'layer "{node.name}": a QDense over a {len(layer.input.shape) - 1}-D input with '
                        f'the {var_name} quantizer {quantizer} (alpha={quantizer.alpha!r}): hls4ml '
                        f'builds it as a convolution and drops its quantizers, and fpgaml re-applies '
                        f'only quantizers that map each value on its own; use alpha=1'
                    )
                return quantize_weights(var, quantizer)

            changed = {
                name: q(quantizer, name)
                for name, quantizer in (
                    ('weight', getattr(layer, 'kernel_quantizer_internal', None)),
                    ('bias', getattr(layer, 'bias_quantizer_internal', None) if layer.use_bias else None),
                )
            }
            changed = {k: v for k, v in changed.items() if v is not None}
            if changed:
                changes.append(
                    Change(
                        node.name,
                        f'QDense over a {len(layer.input.shape) - 1}-D input, built by hls4ml '
                        f'as {node.class_name}: its QKeras quantizers applied to the weights (hls4ml '
                        'writes them unquantized; values its C++ cast would get wrong: '
                        + ', '.join(f'{k} {v}' for k, v in changed.items())
                        + ')',
                    )
                )
        return changes
