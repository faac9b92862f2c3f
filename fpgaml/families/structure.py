"""Wiring: inputs, reshapes, padding, cropping, embeddings (a table lookup). No arithmetic. (HGQ's
FixedPointQuantizer: fpgaml.families.quantizer.)"""

from __future__ import annotations

from fpgaml.estimate.primitives import Context, LayerCost, elementwise_timing, out_fmt, out_var, size_of, stream_fifos

from .base import Family

_SKIP = ('Reshape', 'Flatten', 'Dropout', 'Permute', 'Transpose')


def wiring(ctx: Context, layer) -> LayerCost:
    """Reshape / Flatten / Transpose / padding / cropping / Input: wiring in io_parallel."""
    c = LayerCost(latency_cycles=0, ii_cycles=1, process=False)
    if ctx.stream and layer.class_name not in ('Input', 'Reshape', 'Flatten', 'InputLayer'):
        n = size_of(out_var(layer))
        o = out_fmt(layer)
        lat, ii, par = elementwise_timing(ctx, layer, n, 1)
        c.latency_cycles, c.ii_cycles, c.process = lat, ii, True
        c.lut = par * 2 + 20
        c.ff = par * o.width + 20
        c.add(stream_fifos(ctx, layer))
    return c


def same_values(layer, inp):
    """RTL: the layer moves no value (an input, a reshape)."""
    return inp.x


_WIRES = (
    'Input',
    'InputLayer',
    'Reshape',
    'Flatten',
    'Transpose',
    'ZeroPadding1D',
    'ZeroPadding2D',
    'Cropping1D',
    'Cropping2D',
    'Resize',
    'Constant',
    'Repack',
    'Clone',
    'Quant',
)


def embedding_rows(keras_layer) -> dict[int, int]:
    """An Embedding's input holds row indices: integers 0 to ``input_dim - 1``."""
    return {0: int(keras_layer.input_dim)} if type(keras_layer).__name__ == 'Embedding' else {}


FAMILY = Family(
    name='structure',
    hls_classes=(
        'Input',
        'InputLayer',
        'Reshape',
        'Flatten',
        'Transpose',
        'Permute',
        'Dropout',
        'ZeroPadding1D',
        'ZeroPadding2D',
        'Cropping1D',
        'Cropping2D',
        'Resize',
        'Constant',
        'Repack',
        'Clone',
        'Quant',
        'Embedding',
    ),
    keras_classes=(
        'InputLayer',
        'Reshape',
        'Flatten',
        'Permute',
        'Dropout',
        'ZeroPadding1D',
        'ZeroPadding2D',
        'Cropping1D',
        'Cropping2D',
        'UpSampling1D',
        'UpSampling2D',
        'Embedding',
    ),
    # their output is their input's values: a model is as quantized as the layers that compute
    keras_passthrough=('InputLayer', 'Flatten', 'Reshape', 'Dropout', 'Permute', 'ZeroPadding1D', 'ZeroPadding2D'),
    cost=dict.fromkeys(_WIRES, wiring),
    profile='result',
    profile_by_class=dict.fromkeys(_SKIP, 'skip'),  # the result is the input's type: nothing to choose
    lower=dict.fromkeys(('Input', 'InputLayer', 'Reshape', 'Flatten'), same_values),
    rtl_supported=('Flatten/Reshape',),
    keras_input_limits=embedding_rows,
)
