"""Multiply-accumulate layers: Dense and convolutions. Power-of-two (quantized_po2) weights get exact
accumulators and fpgaml's exact product (two passes)."""

from . import Family

FAMILY = Family(
    name='dense/conv',
    hls_classes=('Dense', 'QDense', 'EinsumDense', 'Conv1D', 'Conv2D', 'Conv2DBatchnorm', 'PointwiseConv1D',
                 'PointwiseConv2D', 'DepthwiseConv1D', 'DepthwiseConv2D', 'SeparableConv1D', 'SeparableConv2D'),
    costs={'Dense': 'dense', 'QDense': 'dense', 'EinsumDense': 'dense',
           **{c: 'conv' for c in ('Conv1D', 'Conv2D', 'Conv2DBatchnorm', 'PointwiseConv1D', 'PointwiseConv2D',
                                  'DepthwiseConv1D', 'DepthwiseConv2D')},
           'SeparableConv1D': 'separable', 'SeparableConv2D': 'separable'},
    passes=('exact_po2_accumulators:ExactPo2Accumulators', 'exact_po2_products:ExactPo2Products'),
    profile='result+accum',
)
