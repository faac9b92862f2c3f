"""Batch normalization (a per-channel scale and bias; profiled from the folded scale/bias) and hls4ml's
ApplyAlpha (the scale QKeras alpha factors split off a layer)."""

from . import Family

FAMILY = Family(
    name='batchnorm',
    hls_classes=('BatchNormalization', 'ApplyAlpha'),
    costs={'BatchNormalization': 'batchnorm', 'ApplyAlpha': 'batchnorm'},
)
