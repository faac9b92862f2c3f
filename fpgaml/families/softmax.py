"""Softmax: exp and 1/sum lookup tables (never bit for bit against Keras; bit-exact mode compares its input).
Its table types are sized by fpgaml (hlsconfig._softmax_tables); the softmax_config_name pass declares a Keras
Softmax() layer's config struct under the name its call uses."""

from . import Family

FAMILY = Family(
    name='softmax',
    hls_classes=('Softmax',),
    costs={'Softmax': 'softmax'},
    passes=('softmax_config_name:SoftmaxConfigName',),
    keras_reference='fused',
)
