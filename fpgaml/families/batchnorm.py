"""Batch normalization (a per-channel scale and bias; profiled from the folded scale/bias) and hls4ml's
ApplyAlpha (the scale QKeras alpha factors split off a layer: compared with the Keras layer's output)."""

from __future__ import annotations

import numpy as np

from fpgaml.estimate.costs import generic
from fpgaml.estimate.primitives import (
    Context,
    LayerCost,
    MacSpec,
    in_fmt,
    mac,
    out_fmt,
    out_var,
    reuse_factor,
    size_of,
    stream_fifos,
    weight,
)
from fpgaml.rtl.ops import RtlInput, cast_var, weights

from .base import Family


def batchnorm(ctx: Context, layer) -> LayerCost:
    s, sf = weight(layer, 'scale')
    if s is None:
        return generic(ctx, layer)
    b, _ = weight(layer, 'bias')
    o = out_fmt(layer)
    n = size_of(out_var(layer))
    per_pixel = s.size
    pixels = max(1, n // max(1, per_pixel))
    # y = x * scale + bias: one constant product per element, no adder tree
    spec = MacSpec(
        s.reshape(1, -1),
        sf,
        in_fmt(layer),
        o,
        o,
        b,
        n_inst=1 if ctx.stream else pixels,
        n_iter=pixels if ctx.stream else 1,
        rf=reuse_factor(layer),
        strategy='latency',
        extra_latency=1 if ctx.stream else 0,
    )
    c = mac(ctx, spec)
    return c.add(stream_fifos(ctx, layer))


def scaled_layer_output(layer, kout: dict, model=None):
    """ApplyAlpha: hls4ml's quantizer scale after a layer has no Keras layer; the scaled Keras layer's output."""
    if layer.name in kout:
        return kout[layer.name]
    src = layer.get_input_node()
    return kout.get(src.name) if src is not None else None


def lower(layer, inp: RtlInput) -> np.ndarray:
    """``y = x * scale + bias`` per channel, cast to the result type."""
    s, _ = weights(layer, 'scale')
    bb, _ = weights(layer, 'bias')
    nf = len(s)
    y = np.empty(inp.x.shape, dtype=object)
    for i, v in enumerate(inp.x):
        y[i] = cast_var(v * float(s[i % nf]) + float(bb[i % nf]), inp.result)
    return y


FAMILY = Family(
    name='batchnorm',
    hls_classes=('BatchNormalization', 'ApplyAlpha'),
    keras_classes=('BatchNormalization', 'QBatchNormalization'),
    cost={'BatchNormalization': batchnorm, 'ApplyAlpha': batchnorm},
    keras_reference_by_class={'ApplyAlpha': scaled_layer_output},
    takes_input_reference=('ApplyAlpha',),  # the layer before ApplyAlpha computes the unscaled output
    lower={'BatchNormalization': lower},
    rtl_supported=('BatchNormalization (folded or standalone)',),
)
