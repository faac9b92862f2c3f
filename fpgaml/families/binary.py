"""Binary and ternary layers: +-1 / {-1, 0, 1} weights (legacy BinaryDense/TernaryDense), the merged batch
norm + binary/ternary tanh (BatchNormalizationQuantizedTanh). The exact_binary_thresholds pass
makes the merged thresholds compute what Keras computes."""

from . import Family

FAMILY = Family(
    name='binary/ternary',
    hls_classes=('BinaryDense', 'TernaryDense', 'BatchNormalizationQuantizedTanh'),
    costs={'BinaryDense': 'dense', 'TernaryDense': 'dense', 'BatchNormalizationQuantizedTanh': 'batchnorm'},
    passes=('exact_binary_thresholds:ExactBinaryThresholds',),
    profile='result',
    profile_by_class={'BinaryDense': 'result+accum', 'TernaryDense': 'result+accum'},
)
