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

from fpgaml.fixed import Fixed

FLOAT32_BITS = 24
WINDOW = 512  # input codes on each side of a threshold evaluated exhaustively
MASK_BITS = 16  # the longest run of codes over which the output may flip next to a threshold


def exact_activation_kind(quantizer) -> str | None:
    """``'sigmoid'`` / ``'tanh'`` for a deterministic QKeras ``quantized_sigmoid`` / ``quantized_tanh`` (real or
    hard, symmetric or not), else None (stochastic rounding is not a function of the input)."""
    name = type(quantizer).__name__
    if getattr(quantizer, 'use_stochastic_rounding', False) or not getattr(quantizer, 'bits', None):
        return None
    return {'quantized_sigmoid': 'sigmoid', 'quantized_tanh': 'tanh'}.get(name)


def output_type(quantizer) -> Fixed:
    """The fixed-point grid of a quantized sigmoid (``ufixed<b,0>``) / tanh (``fixed<b,1>``)."""
    bits = int(quantizer.bits)
    if exact_activation_kind(quantizer) == 'sigmoid':
        return Fixed(bits, 0, signed=False)
    return Fixed(bits, 1, signed=True)


def describe(quantizer) -> str:
    kind = exact_activation_kind(quantizer)
    real = getattr(quantizer, 'use_real_sigmoid' if kind == 'sigmoid' else 'use_real_tanh', False)
    sym = ', symmetric' if getattr(quantizer, 'symmetric', False) else ''
    return f'quantized_{kind}({quantizer.bits}{", real" if real else ", hard"}{sym})'


def evaluate(quantizer, codes: np.ndarray, in_frac: int, out_frac: int) -> np.ndarray:
    """QKeras's quantizer on the float32 values of input codes (``code * 2^-in_frac``), as output codes."""
    import tensorflow as tf

    x = (np.asarray(codes, dtype=np.float64) * 2.0**-in_frac).astype(np.float32)
    y = np.asarray(quantizer(tf.constant(x)), dtype=np.float64)
    k = y * 2.0**out_frac
    if not np.all(k == np.round(k)):
        raise ValueError(f'{describe(quantizer)} returned a value off its 2^-{out_frac} grid')
    return k.astype(np.int64)


@dataclass
class StepFunction:
    """QKeras's activation on input codes: ``thresholds[k]`` is the smallest code at which the output reaches
    level ``out_lo + k + 1`` (found by bisection); ``breaks`` / ``values`` are the exact piecewise-constant
    function (``values[i]`` from ``breaks[i]`` on, ``out_lo`` before ``breaks[0]``), which also holds where
    float32 rounding makes QKeras's function flip back and forth over a few codes next to a threshold
    (tf.tanh / tf.sigmoid are not monotone to the last bit)."""

    name: str
    in_type: Fixed
    out_type: Fixed
    out_lo: int
    thresholds: np.ndarray  # int64 input codes, non-decreasing; one per output level above out_lo
    breaks: np.ndarray = None
    values: np.ndarray = None

    @property
    def out_hi(self) -> int:
        return self.out_lo + len(self.thresholds)

    def __call__(self, codes) -> np.ndarray:
        c = np.asarray(codes, dtype=np.int64)
        if self.breaks is None:
            return self.out_lo + np.searchsorted(self.thresholds, c, side='right')
        i = np.searchsorted(self.breaks, c, side='right') - 1
        return np.where(i < 0, self.out_lo, self.values[np.clip(i, 0, None)] if len(self.values) else self.out_lo)

    @property
    def float32_exact_input(self) -> bool:
        """Whether every input code is a float32 value (Keras sees the input grid exactly)."""
        return self.in_type.width - (1 if self.in_type.signed else 0) <= FLOAT32_BITS


def code_range(t: Fixed) -> tuple[int, int]:
    if t.signed:
        return -(1 << (t.width - 1)), (1 << (t.width - 1)) - 1
    return 0, (1 << t.width) - 1


def step_function(quantizer, in_type: Fixed) -> StepFunction:
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
    step = StepFunction(describe(quantizer), in_type, out_t, out_lo, hi)
    # the exact function around each threshold (every code within WINDOW of one): float32 rounding can make
    # the output flip over a few codes there; elsewhere it is constant between thresholds
    th = np.unique(hi[(hi > lo_code) & (hi <= hi_code)])
    if len(th) == 0:
        step.breaks, step.values = np.zeros(0, np.int64), np.zeros(0, np.int64)
        return step
    codes = np.unique((th[:, None] + np.arange(-WINDOW, WINDOW + 1)[None, :]).ravel())
    codes = codes[(codes >= lo_code) & (codes <= hi_code)]
    f = evaluate(quantizer, codes, f_in, f_out)
    prev = step(codes - 1)  # the monotone model just below each code (exact away from the windows)
    inside = np.isin(codes - 1, codes)
    prev_true = np.where(inside, np.concatenate([[out_lo], f[:-1]]), prev)
    change = f != prev_true
    step.breaks, step.values = codes[change], f[change]
    if np.any(f[-1:] != step(codes[-1:] + 1)) and codes[-1] < hi_code:
        raise ValueError(f'{describe(quantizer)}: output changes at the edge of a search window')
    return step


@dataclass
class BinnedTable:
    """The firmware table of a :class:`StepFunction`: bin ``i`` covers input codes
    ``[(first_bin + i) << shift, (first_bin + i + 1) << shift)``; ``offset[i]`` is where the bin's boundary
    starts (``1 << shift``: none); before it the output is ``level[i]``, from ``offset[i] + mask_bits`` on
    ``upper[i]``, and in between bit ``k`` of ``mask[i]`` chooses upper (1) or level (0) (only where
    QKeras's float32 function flips next to a threshold; ``mask_bits`` is 0 where it never does)."""

    step: StepFunction
    shift: int
    first_bin: int
    level: np.ndarray
    offset: np.ndarray
    upper: np.ndarray
    mask: np.ndarray
    mask_bits: int
    approximate: bool = False  # the flips next to some threshold exceed the mask: bisection thresholds used

    @property
    def entries(self) -> int:
        return len(self.level)

    @property
    def unit_steps(self) -> bool:
        return bool(np.all(self.upper - self.level == np.where(self.offset < (1 << self.shift), 1, 0)))

    @property
    def entry_bits(self) -> int:
        """Bits stored per entry: the level, the boundary's offset in the bin (+1 for "none"), the upper level
        only where a bin jumps other than one level, the flip mask only where the function flips."""
        out_bits = self.step.out_type.width
        return out_bits + self.shift + 1 + (0 if self.unit_steps else out_bits) + self.mask_bits

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
        d = off - self.offset[bi]
        flip = (d < self.mask_bits) & (((self.mask[bi] >> np.clip(d, 0, 62)) & 1) == 0)
        out = np.where(d < 0, self.level[bi], np.where(flip, self.level[bi], self.upper[bi]))
        return np.where(inside, out, np.where(b < 0, self.step.out_lo, self.step.out_hi))


def _parts(breaks: np.ndarray, shift: int) -> list[np.ndarray]:
    """Breaks grouped into boundaries (runs closer than MASK_BITS codes), split at bin edges."""
    groups, cur = [], [breaks[0]]
    for b in breaks[1:]:
        if b - cur[0] < MASK_BITS and (b >> shift) == (cur[0] >> shift):
            cur.append(b)
        else:
            groups.append(np.array(cur))
            cur = [b]
    groups.append(np.array(cur))
    return groups


def binned_table(step: StepFunction) -> BinnedTable:
    """The widest bins (largest power of two in input codes) that hold at most one boundary each. Where
    QKeras's float32 function flips over more than MASK_BITS codes next to a threshold (very fine input grids),
    the table follows the bisection thresholds and is marked ``approximate``."""
    try:
        return _binned_table(step)
    except ValueError:
        import dataclasses

        th = np.asarray(step.thresholds, dtype=np.int64)
        mono = dataclasses.replace(step, breaks=None, values=None)
        lo_code, hi_code = code_range(step.in_type)
        keep = (th > lo_code) & (th <= hi_code)
        brk, idx = np.unique(th[keep], return_index=True)
        mono.breaks, mono.values = brk, mono(brk)
        table = _binned_table(mono)
        table.step, table.approximate = step, True
        return table


def _binned_table(step: StepFunction) -> BinnedTable:
    lo_code, hi_code = code_range(step.in_type)
    br = step.breaks
    if br is None or len(br) == 0:
        z = np.zeros(1, np.int64)
        return BinnedTable(step, 0, 0, z + step.out_lo, z + 1, z + step.out_lo, z, 0)
    shift = step.in_type.width
    while True:
        parts = _parts(br, shift)
        bins = [int(g[0] >> shift) for g in parts]
        if len(set(bins)) == len(bins) or shift == 0:
            break
        shift -= 1
    if len(set(bins)) != len(bins):
        raise ValueError(f'{step.name}: boundaries too close for a binned table')
    first = bins[0]
    n = bins[-1] - first + 1
    starts = (np.arange(n, dtype=np.int64) + first) << shift
    level = step(starts)
    offset = np.full(n, 1 << shift, dtype=np.int64)
    upper = level.copy()
    mask = np.zeros(n, dtype=np.int64)
    mask_bits = MASK_BITS if any(len(g) > 1 for g in parts) else 0
    for g in parts:
        i = int((g[0] >> shift) - first)
        p0, p1 = int(g[0]), int(g[-1])
        run = np.arange(p0, p1 + 1)
        vals = step(run)
        up = int(vals[-1])
        lv = int(step(np.array([p0 - 1]))[0]) if p0 > starts[i] else next((int(v) for v in vals if v != up), up)
        if not set(vals.tolist()) <= {lv, up} or p1 - p0 >= max(mask_bits, 1):
            raise ValueError(f'{step.name}: a boundary spans more than two levels or {MASK_BITS} codes')
        offset[i], level[i], upper[i] = p0 - starts[i], lv, up
        if mask_bits:
            ks = np.arange(MASK_BITS)
            v = step(p0 + ks)
            v[p0 + ks > p1] = up
            v[p0 + ks >= starts[i] + (1 << shift)] = up
            mask[i] = int(np.sum((v == up).astype(np.int64) << ks))
    return BinnedTable(step, shift, first, level, offset, upper, mask, mask_bits)


def _cpp_array(ctype: str, values) -> str:
    return f'static const {ctype} t[{len(values)}] = {{{", ".join(str(int(v)) for v in values)}}};'


def _ctype(values) -> str:
    lo, hi = int(np.min(values)), int(np.max(values))
    return 'short' if -(2**15) <= lo and hi < 2**15 else 'int'


def cpp_table(name: str, table: BinnedTable, extra: str = '', indent: str = '    ') -> str:
    """The C++ TABLE struct ``nnet::fpgaml_step`` reads (``nnet_fpgaml_activation.h``)."""
    s = table.step
    upper = (
        'return level(i) + 1;' if table.unit_steps else f'{_cpp_array(_ctype(table.upper), table.upper)} return t[i];'
    )
    mask = f'{_cpp_array("int", table.mask)} return t[i];' if table.mask_bits else 'return 0;'
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
        f'    static const int mask_bits = {table.mask_bits};',
        f'    static int mask(int i) {{ {mask} }}',
    ]
    if extra:
        lines.append(extra)
    lines.append('};')
    return ''.join(indent + ln + '\n' for ln in lines)
