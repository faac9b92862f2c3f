"""Softmax: exp and 1/sum lookup tables (never bit for bit against Keras; bit-exact mode compares its input).
Its table types are sized by fpgaml (hlsconfig._softmax_tables)."""

from . import Family

FAMILY = Family(
    name='softmax',
    hls_classes=('Softmax',),
    costs={'Softmax': 'softmax'},
    keras_reference='fused',
)
