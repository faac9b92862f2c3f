"""Exact quantized activations: QKeras ``quantized_sigmoid`` / ``quantized_tanh`` (with the real function or
the hard one) as step functions of a fixed-point input, bit for bit what QKeras computes in float32.

A quantized activation of an input on a fixed-point grid is a monotone step function: it is fully described
by the smallest input code at which each output level is reached (its thresholds). They are found by
bisection over the input's grid, evaluating QKeras's own quantizer on float32 values of grid points, so the
float rounding of ``tf.sigmoid`` / ``tf.tanh`` near a rounding boundary is reproduced as it is.

The firmware form (:class:`BinnedTable`, ``nnet_fpgaml_activation.h``): the input's top bits index a table
of bins, each narrow enough to hold at most one threshold; an entry holds the bin's output level at its lower
edge and the exact threshold's offset in the bin, and the output is that level, or the next one when the full
input is at or past the threshold. Below the first bin the output is the lowest level, above the last the
highest. Over the non-saturated range that is about a thousand entries for an 8-bit sigmoid or tanh and it is
exact on every input code.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fpgaml.config.precision import FixedType

FLOAT32_BITS = 24


def exact_activation_kind(quantizer) -> str | None:
    """``'sigmoid'`` / ``'tanh'`` for a deterministic QKeras ``quantized_sigmoid`` / ``quantized_tanh`` (real or
    hard, symmetric or not), else None (stochastic rounding is not a function of the input)."""
    name = type(quantizer).__name__
    if getattr(quantizer, 'use_stochastic_rounding', False) or not getattr(quantizer, 'bits', None):
        return None
    return {'quantized_sigmoid': 'sigmoid', 'quantized_tanh': 'tanh'}.get(name)


def output_type(quantizer) -> FixedType:
    """The fixed-point grid of a quantized sigmoid (``ufixed<b,0>``) / tanh (``fixed<b,1>``)."""
    bits = int(quantizer.bits)
    if exact_activation_kind(quantizer) == 'sigmoid':
        return FixedType(bits, 0, signed=False)
    return FixedType(bits, 1, signed=True)


def describe(quantizer) -> str:
    kind = exact_activation_kind(quantizer)
    real = getattr(quantizer, 'use_real_sigmoid' if kind == 'sigmoid' else 'use_real_tanh', False)
    sym = ', symmetric' if getattr(quantizer, 'symmetric', False) else ''
    return f'quantized_{kind}({quantizer.bits}{", real" if real else ", hard"}{sym})'


def evaluate(quantizer, codes: np.ndarray, in_frac: int, out_frac: int) -> np.ndarray:
    """QKeras's quantizer on the float32 values of input codes (``code * 2^-in_frac``), as output codes."""
    import tensorflow as tf

    x = (np.asarray(codes, dtype=np.float64) * 2.0 ** -in_frac).astype(np.float32)
    y = np.asarray(quantizer(tf.constant(x)), dtype=np.float64)
    k = y * 2.0 ** out_frac
    if not np.all(k == np.round(k)):
        raise ValueError(f'{describe(quantizer)} returned a value off its 2^-{out_frac} grid')
    return k.astype(np.int64)


@dataclass
class StepFunction:
    """``f(code) = out_lo + #{k: code >= thresholds[k]}`` (output codes), on input codes ``[in_lo, in_hi]``."""

    name: str
    in_type: FixedType
    out_type: FixedType
    out_lo: int
    thresholds: np.ndarray  # int64 input codes, non-decreasing; one per output level above out_lo

    @property
    def out_hi(self) -> int:
        return self.out_lo + len(self.thresholds)

    def __call__(self, codes) -> np.ndarray:
        return self.out_lo + np.searchsorted(self.thresholds, np.asarray(codes, dtype=np.int64), side='right')

    @property
    def float32_exact_input(self) -> bool:
        """Whether every input code is a float32 value (Keras sees the input grid exactly)."""
        return self.in_type.width - (1 if self.in_type.signed else 0) <= FLOAT32_BITS


def code_range(t: FixedType) -> tuple[int, int]:
    if t.signed:
        return -(1 << (t.width - 1)), (1 << (t.width - 1)) - 1
    return 0, (1 << t.width) - 1


def step_function(quantizer, in_type: FixedType) -> StepFunction:
    """The thresholds of ``quantizer`` on ``in_type``'s grid, by vectorised bisection over input codes."""
    out_t = output_type(quantizer)
    f_in, f_out = in_type.fractional, out_t.fractional
    lo_code, hi_code = code_range(in_type)
    out_lo, out_hi = (int(v) for v in evaluate(quantizer, [lo_code, hi_code], f_in, f_out))
    targets = np.arange(out_lo + 1, out_hi + 1, dtype=np.int64)
    # invariant: f(lo) < target <= f(hi); lo starts one below the range (f there is "below everything")
    lo = np.full(targets.shape, lo_code - 1, dtype=np.int64)
    hi = np.full(targets.shape, hi_code, dtype=np.int64)
    while np.any(hi - lo > 1):
        mid = lo + (hi - lo) // 2
        ok = evaluate(quantizer, mid, f_in, f_out) >= targets
        active = hi - lo > 1
        hi = np.where(active & ok, mid, hi)
        lo = np.where(active & ~ok, mid, lo)
    if np.any(np.diff(hi) < 0):
        raise ValueError(f'{describe(quantizer)} is not monotone on the {in_type.hls4ml_str()} grid')
    return StepFunction(describe(quantizer), in_type, out_t, out_lo, hi)


@dataclass
class BinnedTable:
    """The firmware table of a :class:`StepFunction`: bin ``i`` covers input codes
    ``[(first_bin + i) << shift, (first_bin + i + 1) << shift)``; ``level[i]`` is the output code at its lower
    edge, ``offset[i]`` the position of the bin's threshold in it (``1 << shift``: none), ``upper[i]`` the
    output code from there on (``level[i] + 1`` unless thresholds coincide)."""

    step: StepFunction
    shift: int
    first_bin: int
    level: np.ndarray
    offset: np.ndarray
    upper: np.ndarray

    @property
    def entries(self) -> int:
        return len(self.level)

    @property
    def unit_steps(self) -> bool:
        return bool(np.all(self.upper - self.level <= 1))

    @property
    def entry_bits(self) -> int:
        """Bits stored per entry: the level, the threshold's offset in the bin (+1 for "none"), and the upper
        level only where a bin jumps more than one level."""
        out_bits = self.step.out_type.width
        return out_bits + self.shift + 1 + (0 if self.unit_steps else out_bits)

    @property
    def bits(self) -> int:
        return self.entries * self.entry_bits

    def __call__(self, codes) -> np.ndarray:
        """The firmware's arithmetic in numpy (output codes), for tests and the estimator."""
        c = np.asarray(codes, dtype=np.int64)
        b = (c >> self.shift) - self.first_bin
        inside = (b >= 0) & (b < self.entries)
        bi = np.clip(b, 0, self.entries - 1)
        off = c - ((bi + self.first_bin) << self.shift)
        out = np.where(off >= self.offset[bi], self.upper[bi], self.level[bi])
        return np.where(inside, out, np.where(b < 0, self.step.out_lo, self.step.out_hi))


def binned_table(step: StepFunction) -> BinnedTable:
    """The widest bins (largest power of two in input codes) that hold at most one distinct threshold each."""
    th = np.unique(step.thresholds)
    lo_code, hi_code = code_range(step.in_type)
    th = th[(th > lo_code) & (th <= hi_code)]  # thresholds past the range are never reached
    if len(th) == 0:
        shift, first, n = 0, 0, 1
    else:
        shift = step.in_type.width
        while shift > 0 and len(np.unique(th >> shift)) < len(th):
            shift -= 1
        first = int(th[0] >> shift)
        n = int(th[-1] >> shift) - first + 1
    starts = (np.arange(n, dtype=np.int64) + first) << shift
    level = step(starts) if len(th) else np.full(1, step.out_lo)
    offset = np.full(n, 1 << shift, dtype=np.int64)
    upper = level.copy()
    for t in th:
        i = int((t >> shift) - first)
        offset[i] = t - starts[i]
        upper[i] = step(np.array([t]))[0]
        level[i] = step(np.array([t - 1]))[0]
    return BinnedTable(step, shift, first, level.astype(np.int64), offset, upper.astype(np.int64))


def _cpp_array(ctype: str, values) -> str:
    return f'static const {ctype} t[{len(values)}] = {{{", ".join(str(int(v)) for v in values)}}};'


def _ctype(values) -> str:
    lo, hi = int(np.min(values)), int(np.max(values))
    return 'short' if -(2 ** 15) <= lo and hi < 2 ** 15 else 'int'


def cpp_table(name: str, table: BinnedTable, extra: str = '', indent: str = '    ') -> str:
    """The C++ TABLE struct ``nnet::fpgaml_step`` reads (``nnet_fpgaml_activation.h``)."""
    s = table.step
    upper = ('return level(i) + 1;' if table.unit_steps
             else f'{_cpp_array(_ctype(table.upper), table.upper)} return t[i];')
    lines = [
        f'struct {name} {{',
        f'    // {s.name} on {s.in_type.hls4ml_str()}: {table.entries} bins of 2^{table.shift} input codes',
        f'    typedef {s.in_type.cpp} in_t;',
        f'    typedef {s.out_type.cpp} out_t;',
        f'    static const int shift = {table.shift};',
        f'    static const long long first_bin = {table.first_bin}LL;',
        f'    static const int n_bins = {table.entries};',
        f'    static const int out_lo = {s.out_lo};',
        f'    static const int out_hi = {s.out_hi};',
        f'    static int level(int i) {{ {_cpp_array(_ctype(table.level), table.level)} return t[i]; }}',
        f'    static int offset(int i) {{ {_cpp_array(_ctype(table.offset), table.offset)} return t[i]; }}',
        f'    static int upper(int i) {{ {upper} }}',
    ]
    if extra:
        lines.append(extra)
    lines.append('};')
    return ''.join(indent + ln + '\n' for ln in lines)
