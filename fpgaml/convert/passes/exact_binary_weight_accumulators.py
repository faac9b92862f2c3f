"""Bit-exact mode: hls4ml infers no accumulator/result type for a Dense or convolution with binary weights
(``binary(alpha=1)``: an ``XnorPrecisionType``, which its precision inference does not handle) and falls back to the
default (e.g. ``fixed<16,6>``): a binary Dense fed by 8-bit inputs wrapped (91.8% of samples bit-exact, max |diff|
64). Where that type cannot hold every reachable value, both are sized exactly from the real weights: each output is a sum of +-x plus the bias, so its reachable interval
is the sum over the kernel column of the interval of ``w * x`` (``x`` in the input type's range) plus the bias, on
the finer grid of the input and the bias."""

from __future__ import annotations

import numpy as np

from fpgaml.fixed import Fixed, grid_of

from . import Change, FlowContext, Pass

CLASSES = ('Dense', 'Conv1D', 'Conv2D', 'PointwiseConv1D', 'PointwiseConv2D')


def binary_weight_columns(layer) -> np.ndarray | None:
    """The layer's kernel as +-1 values, one column per output (filter), when its weights are binary (xnor)."""
    from hls4ml.model.types import XnorPrecisionType

    w = layer.weights.get('weight')
    if w is None or not isinstance(w.type.precision, XnorPrecisionType):
        return None
    data = np.asarray(w.data, dtype=np.float64)
    return np.where(data > 0, 1.0, -1.0).reshape(-1, data.shape[-1])  # xnor bit 1 is +1, 0 is -1


def exact_sum_type(columns: np.ndarray, x: Fixed, bias: np.ndarray | None, bias_t: Fixed | None) -> Fixed:
    """The narrowest type holding every value of ``columns.T @ x + bias`` for ``x`` anywhere in ``x``'s range."""
    lo_terms = np.minimum(columns * x.min_value, columns * x.max_value)
    hi_terms = np.maximum(columns * x.min_value, columns * x.max_value)
    lo, hi = lo_terms.sum(axis=0), hi_terms.sum(axis=0)
    frac = x.fractional
    if bias is not None and bias_t is not None:
        lo, hi = lo + bias, hi + bias
        frac = max(frac, bias_t.fractional)
    return Fixed.covering(float(min(lo.min(), 0.0)), float(max(hi.max(), 0.0)), frac)


def holds(t: Fixed | None, exact: Fixed) -> bool:
    """Whether every value of ``exact`` is a value of ``t`` (same or finer grid, wide enough)."""
    return (
        t is not None
        and t.kind == 'fixed'
        and t.fractional >= exact.fractional
        and t.min_value <= exact.min_value
        and t.max_value >= exact.max_value
    )


class ExactBinaryWeightAccumulators(Pass):
    name = 'exact_binary_weight_accumulators'
    kind = 'config'
    bit_exact_only = True
    precondition = 'binary weights of a Dense/Conv layer have an XnorPrecisionType and the layer an "accum_t"'
    summary = 'Dense/Conv layers with binary weights get exact accumulator/result types from their weights'

    def run(self, ctx: FlowContext) -> list[Change]:
        entries = ctx.hls_config['HLSConfig']['LayerName']
        changes = []
        for layer in ctx.graph.get_layers():
            columns = binary_weight_columns(layer) if layer.class_name in CLASSES else None
            if columns is None:
                continue
            prec = entries.setdefault(layer.name, {'Trace': True}).setdefault('Precision', {})
            if not isinstance(prec, dict) or any(prec.get(k, 'auto') != 'auto' for k in ('accum', 'result')):
                continue  # the user (or a quantizer) fixes them
            x = grid_of(layer.get_input_variable().type.precision)
            if x is None or x.kind != 'fixed':
                continue  # binary inputs: the xnor layer's popcount types are hls4ml's
            b = layer.weights.get('bias')
            bias = np.asarray(b.data, dtype=np.float64).ravel() if b is not None else None
            bias_t = grid_of(b.type.precision) if b is not None else None
            exact = exact_sum_type(columns, x, bias, bias_t)
            accum = layer.get_attr('accum_t')
            if accum is None:
                raise self.broken(layer.name, 'no accum_t attribute')
            now = (grid_of(accum.precision), grid_of(layer.get_output_variable().type.precision))
            if all(holds(t, exact) for t in now):
                continue  # the type hls4ml fell back to already holds every value (e.g. a wide model default)
            prec['accum'] = prec['result'] = exact.hls4ml_str()
            changes.append(
                Change(layer.name, f'accumulator and result {exact.hls4ml_str()} (binary weights, from their values)')
            )
        return changes
