"""Wiring: inputs, reshapes, padding, cropping, embeddings (a table lookup). No arithmetic. (HGQ's
FixedPointQuantizer: fpgaml.families.quantizer.)"""

from . import Family

_SKIP = ('Reshape', 'Flatten', 'Dropout', 'Permute', 'Transpose')

FAMILY = Family(
    name='structure',
    hls_classes=('Input', 'InputLayer', 'Reshape', 'Flatten', 'Transpose', 'Permute', 'Dropout', 'ZeroPadding1D',
                 'ZeroPadding2D', 'Cropping1D', 'Cropping2D', 'Resize', 'Constant', 'Repack', 'Clone', 'Quant',
                 'Embedding'),
    costs={c: 'wiring' for c in ('Input', 'InputLayer', 'Reshape', 'Flatten', 'Transpose', 'ZeroPadding1D',
                                 'ZeroPadding2D', 'Cropping1D', 'Cropping2D', 'Resize', 'Constant', 'Repack',
                                 'Clone', 'Quant')},
    profile='result',
    profile_by_class={c: 'skip' for c in _SKIP},  # the result is the input's type: nothing to choose
)
