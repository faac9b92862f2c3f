"""Binary and ternary layers: +-1 / {-1, 0, 1} weights (legacy BinaryDense/TernaryDense), the merged batch
norm + binary/ternary tanh (BatchNormalizationQuantizedTanh). The exact_binary_thresholds pass
makes the merged thresholds compute what Keras computes; the RTL backend builds the thresholds as comparisons."""

from __future__ import annotations

import numpy as np

from fpgaml.convert.passes.exact_binary_thresholds import ExactBinaryThresholds, binary_activation_after
from fpgaml.rtl.ops import RtlInput, weights

from .base import Family, own_output
from .batchnorm import batchnorm
from .dense_costs import dense


def binary_activation_output(layer, kout: dict, model=None):
    """hls4ml's batch norm + binary/ternary activation: the output of the Keras activation after the batch norm."""
    if model is None:
        return own_output(layer, kout)
    bn = layer.name[len('bnbt_') :] if layer.name.startswith('bnbt_') else layer.name
    act = binary_activation_after(model, bn)
    return kout.get(act.name) if act is not None else None


def lower_thresholds(layer, inp: RtlInput) -> np.ndarray:
    """``x >= threshold`` (binary, 0/1 encoding -1/+1) or ``(x > hi) - (x <= lo)`` (ternary), per channel, with
    the thresholds on the input's grid."""
    in_t = inp.type
    y = np.empty(inp.x.shape, dtype=object)
    if 'threshold' in layer.weights:
        th, _ = weights(layer, 'threshold')
        th = in_t.quantize(th)
        for i, v in enumerate(inp.x):
            y[i] = v >= float(th[i % len(th)])
    else:
        hi, _ = weights(layer, 'threshold_hi')
        lo, _ = weights(layer, 'threshold_lo')
        hi, lo = in_t.quantize(hi), in_t.quantize(lo)
        for i, v in enumerate(inp.x):
            y[i] = (v > float(hi[i % len(hi)])) - (v <= float(lo[i % len(lo)]))
    return y


FAMILY = Family(
    name='binary/ternary',
    hls_classes=('BinaryDense', 'TernaryDense', 'BatchNormalizationQuantizedTanh'),
    keras_classes=('BinaryDense', 'TernaryDense'),
    passes=(ExactBinaryThresholds,),
    cost={'BinaryDense': dense, 'TernaryDense': dense, 'BatchNormalizationQuantizedTanh': batchnorm},
    profile='result',
    profile_by_class={'BinaryDense': 'result+accum', 'TernaryDense': 'result+accum'},
    keras_reference_by_class={'BatchNormalizationQuantizedTanh': binary_activation_output},
    lower={'BatchNormalizationQuantizedTanh': lower_thresholds},
    rtl_supported=('binary and ternary layers (BatchNormalizationQuantizedTanh)',),
)
