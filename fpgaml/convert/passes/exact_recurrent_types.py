"""Exact QLSTM / QGRU cells: the types of every tensor of the cell, and the layer's result type.

A QKeras QLSTM / QGRU whose activations are ``quantized_sigmoid`` / ``quantized_tanh`` (real or hard) is
computed by fpgaml's exact cell (``nnet_fpgaml_recurrent.h``) instead of hls4ml's lookup-table cell, unless
the config sets the layer's ``table_size`` (hls4ml's tables, kept for models that want them). This config
pass sizes the cell's types from the input type, the quantized weights (their grids and magnitudes) and the
state quantizer, so that no sum or product of the cell drops a bit, and sets the layer's result type to the
exact hidden state (the layer's output is QKeras's unquantized ``h``); the graph pass
``exact_recurrent_cells`` writes the types and activation tables into the layer's config.

With a state quantizer (``quantized_bits`` with alpha=1), the carried states are on its grid: the cell is
exact wherever Keras's float32 is (every tensor within 24 significant bits). Without one, the carried state is
float in Keras: fpgaml carries it in the layer's accumulator type (``precision: {accum: ...}``; rounded and
saturated), and the comparison uses tolerances (see bitexact.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from fpgaml.convert.exact_activation import exact_activation_kind, output_type
from fpgaml.fixed import Fixed, grid_of

from . import Change, FlowContext, Pass

FLOAT32_BITS = 24
RECURRENT = ('LSTM', 'GRU')


def _frac_bits(values: np.ndarray, limit: int = 40) -> int:
    """The fewest fractional bits that hold every value exactly."""
    v = np.asarray(values, dtype=np.float64)
    for f in range(limit + 1):
        s = v * 2.0**f
        if np.all(s == np.round(s)):
            return f
    return limit


def fixed_for(frac: int, bound: float, signed: bool = True, **modes) -> Fixed:
    """The narrowest fixed type with ``frac`` fractional bits holding every value in [-bound, bound]."""
    top = math.floor(math.log2(bound)) + 1 if bound > 0 else 0  # 2^top > bound
    integer = max(top, 1 - frac) + (1 if signed else 0)
    return Fixed(integer + frac, integer, signed, **modes)


def state_type(quantizer) -> Fixed | None:
    """The fixed type whose cast computes a QKeras ``quantized_bits(bits, integer, alpha=1)`` state quantizer:
    round half to even (tf.round), saturate to [-2^integer, 2^integer - 2^-f]."""
    if quantizer is None or type(quantizer).__name__ != 'quantized_bits':
        return None
    alpha = getattr(quantizer, 'alpha', None)
    if isinstance(alpha, str) or (alpha is not None and float(np.max(np.abs(np.asarray(alpha)))) != 1.0):
        return None
    if getattr(quantizer, 'symmetric', False) or getattr(quantizer, 'use_stochastic_rounding', False):
        return None
    bits, integer = int(quantizer.bits), int(quantizer.integer)
    signed = bool(getattr(quantizer, 'keep_negative', True))
    return Fixed(bits, integer + (1 if signed else 0), signed, rounding='RND_CONV', saturation='SAT')


def quantized_weights(cell, kind: str) -> dict[str, np.ndarray]:
    """The cell's weights as QKeras's quantizers compute them (what the firmware holds)."""
    import tensorflow as tf

    def q(quantizer, w):
        w = np.asarray(w, dtype=np.float32)
        return np.asarray(quantizer(tf.constant(w)), np.float64) if quantizer is not None else w.astype(np.float64)

    kernel = q(cell.kernel_quantizer_internal, cell.kernel.numpy())
    recurrent = q(cell.recurrent_quantizer_internal, cell.recurrent_kernel.numpy())
    n = recurrent.shape[1]
    if getattr(cell, 'use_bias', True) and cell.bias is not None:
        bias = q(cell.bias_quantizer_internal, cell.bias.numpy())
    else:
        bias = np.zeros((2, n) if kind == 'GRU' else (n,))
    if kind == 'GRU':
        b, br = (bias[0], bias[1]) if bias.ndim == 2 else (bias, np.zeros_like(bias))
    else:
        b, br = bias, np.zeros_like(bias)
    return {'weight': kernel, 'recurrent_weight': recurrent, 'bias': b, 'recurrent_bias': br}


@dataclass
class CellTypes:
    """The exact cell's types (see nnet_fpgaml_recurrent.h)."""

    kind: str  # 'LSTM' or 'GRU'
    acc: Fixed  # pre-activations x.W + h.U + b
    state: Fixed  # carried h (and c): the state quantizer's type
    c: Fixed  # LSTM: new cell state; GRU: candidate pre-activation x_h + r * (U_h h + b_rh)
    h: Fixed  # new hidden state (the layer's output)
    recr_activation: object  # QKeras quantizers
    activation: object
    state_quantized: bool  # False: no (supported) state quantizer; the state type is fpgaml's choice

    h_bound: float = 0.0  # bound of |U h + b_r| (the recurrent projection)
    zh_frac: int = 0  # its fractional bits

    def float32_inexact(self, reach: float) -> list[str]:
        """The cell's tensors Keras's float32 may round where it matters. ``reach``: the largest |value| of the
        cell state (LSTM) / candidate pre-activation (GRU) at which its consumers (the tanh thresholds, the
        state quantizer's range) still tell values apart: float32 rounding past it keeps the value past it
        (rounding is monotone), so only the bits below it must fit float32's 24."""
        names = {
            'acc': 'pre-activation x.W + h.U + b',
            'c': 'cell state c' if self.kind == 'LSTM' else 'candidate pre-activation x_h + r * (U_h h + b_rh)',
            'h': 'hidden state h',
        }
        out = []
        if _sig(self.acc) > FLOAT32_BITS:  # partial sums of the dot products: the whole accumulator
            out.append(f'{names["acc"]} ({self.acc.hls4ml_str()})')
        gate = output_type(self.recr_activation)
        cand = output_type(self.activation)
        if self.kind == 'LSTM':
            products = max(_sig(gate) + _sig(self.state), _sig(gate) + _sig(cand))
        else:
            zh = fixed_for(self.zh_frac, self.h_bound)
            products = _sig(gate) + _sig(zh)
        top = math.floor(math.log2(reach)) + 1 if reach > 0 else 0
        if products > FLOAT32_BITS or self.c.fractional + top > FLOAT32_BITS:
            out.append(f'{names["c"]} ({self.c.hls4ml_str()})')
        if _sig(self.h) > FLOAT32_BITS:
            out.append(f'{names["h"]} ({self.h.hls4ml_str()})')
        return out


def _sig(t: Fixed) -> int:
    return t.width - (1 if t.signed else 0)


def exact_cell_candidate(ctx: FlowContext, node) -> tuple[object, str | None]:
    """(the Keras cell, None) when fpgaml's exact cell computes ``node``; else (cell or None, why not)."""
    if node.class_name not in RECURRENT:
        return None, 'not an LSTM/GRU'
    cell = getattr(ctx.keras_layer(node.name), 'cell', None)
    if cell is None or not hasattr(cell, 'kernel_quantizer_internal'):
        return None, 'a float Keras layer'
    if ctx.settings.keeps_hls4ml_tables(node.name, node.class_name):
        return cell, "the config sets table_size: hls4ml's lookup tables"
    if (
        exact_activation_kind(cell.activation) != 'tanh'
        or exact_activation_kind(cell.recurrent_activation) != 'sigmoid'
    ):
        return cell, ("activations are not quantized_tanh / quantized_sigmoid (real or hard): hls4ml's lookup tables")
    if ctx.cfg.io_type != 'io_parallel':
        return cell, "io_stream: hls4ml's lookup-table cell (fpgaml's exact cell is io_parallel)"
    if node.get_attr('pass_initial_states', False) or node.get_attr('direction', 'forward') != 'forward':
        return cell, "initial states or a backward layer: hls4ml's cell"
    return cell, None


def cell_types(ctx: FlowContext, node, cell) -> CellTypes:
    kind = node.class_name
    w = quantized_weights(cell, kind)
    x = grid_of(node.get_input_variable().type.precision)
    state = state_type(getattr(cell, 'state_quantizer_internal', None))
    quantized = state is not None
    if state is None:  # the state is float in Keras: carried in the layer's accumulator type, rounded, saturated
        base = grid_of(node.get_attr('accum_t').precision) or Fixed(16, 6)
        state = Fixed(base.width, base.integer, True, 'RND_CONV', 'SAT')
    sig, th = cell.recurrent_activation, cell.activation
    gate, cand = output_type(sig), output_type(th)
    gate_max = 1.0 - 2.0**-gate.fractional
    x_max = max(abs(x.min_value), abs(x.max_value))
    s_max = max(abs(state.min_value), abs(state.max_value))
    f_zx = max(x.fractional + _frac_bits(w['weight']), _frac_bits(w['bias']))
    f_zh = max(state.fractional + _frac_bits(w['recurrent_weight']), _frac_bits(w['recurrent_bias']))
    f_acc = max(f_zx, f_zh)
    bx = np.abs(w['weight']).sum(axis=0) * x_max + np.abs(w['bias'])
    bh = np.abs(w['recurrent_weight']).sum(axis=0) * s_max + np.abs(w['recurrent_bias'])
    acc = fixed_for(f_acc, float(np.max(bx + bh)))
    if kind == 'LSTM':
        f_c = max(gate.fractional + state.fractional, gate.fractional + cand.fractional)
        c = fixed_for(f_c, gate_max * s_max + gate_max * 1.0)
        h = fixed_for(gate.fractional + cand.fractional, gate_max * 1.0)
    else:
        n = w['recurrent_weight'].shape[1] // 3
        f_pre = max(f_zx, gate.fractional + f_zh)
        c = fixed_for(f_pre, float(np.max(bx[2 * n :] + gate_max * bh[2 * n :])))
        f_h = max(gate.fractional + state.fractional, gate.fractional + cand.fractional)
        h = fixed_for(f_h, s_max + 1.0)
    return CellTypes(kind, acc, state, c, h, sig, th, quantized, float(np.max(bh)), f_zh)


class ExactRecurrentTypes(Pass):
    name = 'exact_recurrent_types'
    kind = 'config'
    precondition = 'hls4ml LSTM/GRU layers have one input variable and an output variable with a fixed type'
    summary = (
        'QLSTM/QGRU with quantized activations: exact cell types sized from the input, the quantized '
        "weights and the state quantizer; the layer's result is the exact hidden state"
    )

    def run(self, ctx: FlowContext) -> list[Change]:
        entries = ctx.hls_config['HLSConfig']['LayerName']
        changes = []
        for node in ctx.graph.get_layers():
            cell, why_not = exact_cell_candidate(ctx, node)
            if why_not is not None:
                continue
            if grid_of(node.get_input_variable().type.precision) is None:
                raise self.broken(node.name, 'input type is not fixed-point')
            t = cell_types(ctx, node, cell)
            if 'result' in ctx.settings.precision_keys(node.name, node.class_name):
                continue  # the config's result type is kept (the cast to it is QKeras-free: a user choice)
            prec = entries.setdefault(node.name, {'Trace': True}).setdefault('Precision', {})
            if not isinstance(prec, dict):
                continue
            want = t.h.hls4ml_str()
            if prec.get('result') != want:
                prec['result'] = want
                changes.append(
                    Change(
                        node.name,
                        f'result {want}: the exact hidden state o * tanh(c)'
                        if t.kind == 'LSTM'
                        else f'result {want}: the exact hidden state z * h + (1 - z) * hh',
                    )
                )
        return changes
