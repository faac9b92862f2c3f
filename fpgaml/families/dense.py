"""Multiply-accumulate layers: Dense and convolutions. A QDense over a 2-D/3-D input gets its quantizers back (hls4ml
builds it as a convolution without them); power-of-two (quantized_po2) weights get exact accumulators, fpgaml's exact
product and an exact bias type (four passes)."""

from . import Family

FAMILY = Family(
    name='dense/conv',
    hls_classes=('Dense', 'QDense', 'EinsumDense', 'Conv1D', 'Conv2D', 'Conv2DBatchnorm', 'PointwiseConv1D',
                 'PointwiseConv2D', 'DepthwiseConv1D', 'DepthwiseConv2D', 'SeparableConv1D', 'SeparableConv2D'),
    costs={'Dense': 'dense', 'QDense': 'dense', 'EinsumDense': 'einsum_dense',
           **{c: 'conv' for c in ('Conv1D', 'Conv2D', 'Conv2DBatchnorm', 'PointwiseConv1D', 'PointwiseConv2D',
                                  'DepthwiseConv1D', 'DepthwiseConv2D')},
           'SeparableConv1D': 'separable', 'SeparableConv2D': 'separable'},
    passes=('quantized_multidim_dense:QuantizedMultidimDense', 'exact_po2_accumulators:ExactPo2Accumulators',
            'exact_po2_products:ExactPo2Products', 'exact_po2_bias:ExactPo2Bias'),
    profile='result+accum',
)
