"""fpgaml.fixed: the one fixed-point type: spelling, hls4ml conversion, casts and exact result types."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from fpgaml.fixed import (
    ACCEPTED,
    DECODED_XNOR,
    Fixed,
    PrecisionError,
    difference_type,
    grid_of,
    layer_type,
    on_grid,
    product_type,
    quantize,
    sum_type,
    to_bits,
    value_type,
)

ROUNDINGS = ('TRN', 'TRN_ZERO', 'RND', 'RND_ZERO', 'RND_MIN_INF', 'RND_INF', 'RND_CONV')
OVERFLOWS = ('WRAP', 'SAT', 'SAT_SYM', 'SAT_ZERO')


# ---- spelling ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    'text, hls4ml, cpp',
    [
        ('fixed<16,6>', 'fixed<16,6>', 'ap_fixed<16,6>'),
        ('ap_fixed<16, 6>', 'fixed<16,6>', 'ap_fixed<16,6>'),
        ('ufixed<8,0>', 'ufixed<8,0>', 'ap_ufixed<8,0>'),
        ('ap_ufixed<8,3,AP_RND_CONV,AP_SAT>', 'ufixed<8,3,RND_CONV,SAT>', 'ap_ufixed<8,3,AP_RND_CONV,AP_SAT>'),
        ('fixed<10,4,rnd,sat_sym,2>', 'fixed<10,4,RND,SAT_SYM,2>', 'ap_fixed<10,4,AP_RND,AP_SAT_SYM,2>'),
        ('fixed<10,4,TRN,WRAP>', 'fixed<10,4>', 'ap_fixed<10,4>'),
        ('int<8>', 'fixed<8,8>', 'ap_fixed<8,8>'),
        ('ap_uint<3>', 'ufixed<3,3>', 'ap_ufixed<3,3>'),
        ('uint<1>', 'ufixed<1,1>', 'ap_ufixed<1,1>'),
    ],
)
def test_every_spelling_parses_and_prints(text, hls4ml, cpp):
    t = Fixed.parse(text)
    assert (t.hls4ml_str(), t.cpp, str(t)) == (hls4ml, cpp, hls4ml)
    assert Fixed.parse(t.hls4ml_str()) == t and Fixed.parse(t.cpp) == t


@pytest.mark.parametrize(
    'text, message',
    [
        ('fixed<16>', 'fixed types need a width and an integer bit count'),
        ('fixed<a,6>', 'width and integer bits must be integers'),
        ('fixed<0,0>', 'width must be at least 1 bit'),
        ('fixed<2000,6>', 'exceeds 1024 bits'),
        ('fixed<16,6,ROUND>', '"ROUND" is not a rounding mode'),
        ('fixed<16,6,RND,CLIP>', '"CLIP" is not a saturation mode'),
        ('fixed<16,6,RND,SAT,20>', 'saturation bits must be between 0 and the width (16), got 20'),
        ('int<x>', 'integer types take one width'),
        ('fixed<16', 'is cut short'),
        ('float', 'Accepted: ' + ACCEPTED),
        (16, 'precision must be a string'),
    ],
)
def test_bad_spellings_fail_loudly(text, message):
    with pytest.raises(PrecisionError) as e:
        Fixed.parse(text)
    assert message in str(e.value)


def test_grid_properties():
    t = Fixed(8, 3)
    assert (t.fractional, t.kif, t.step, t.min_value, t.max_value) == (5, (1, 2, 5), 1 / 32, -4.0, 4 - 1 / 32)
    u = Fixed(8, 3, False)
    assert (u.kif, u.min_value, u.max_value, u.magnitude_bits) == ((0, 3, 5), 0.0, 8 - 1 / 32, 8)
    assert Fixed.from_kif(1, 2, 5, 'RND', 'SAT') == Fixed(8, 3, True, 'RND', 'SAT')
    with pytest.raises(ValueError, match='kind'):
        Fixed(8, 3, kind='posit')


# ---- hls4ml --------------------------------------------------------------------------------------------------------
def test_from_hls4ml_reads_every_precision_class():
    from hls4ml.model.types import (
        ExponentPrecisionType,
        FixedPrecisionType,
        FloatPrecisionType,
        IntegerPrecisionType,
        NamedType,
        StandardFloatPrecisionType,
        UnspecifiedPrecisionType,
        XnorPrecisionType,
    )

    fixed = FixedPrecisionType(10, 4, True, 'RND_CONV', 'SAT_SYM', 2)
    assert Fixed.from_hls4ml(fixed) == Fixed(10, 4, True, 'RND_CONV', 'SAT_SYM', 2)
    assert Fixed.from_hls4ml(NamedType('layer_t', fixed)) == Fixed.from_hls4ml(fixed)
    assert Fixed.from_hls4ml(FixedPrecisionType(8, 2, False)) == Fixed(8, 2, False)
    assert Fixed.from_hls4ml(IntegerPrecisionType(6, False)) == Fixed(6, 6, False)
    assert Fixed.from_hls4ml(XnorPrecisionType()) == Fixed(1, 1, False, kind='xnor')
    assert Fixed.from_hls4ml(ExponentPrecisionType(4, True)) == Fixed(4, 4, True, kind='exponent')
    assert Fixed.from_hls4ml(FloatPrecisionType(33, 3)) == Fixed(33, 3, True, kind='float')
    assert Fixed.from_hls4ml(StandardFloatPrecisionType(32, 8)) == Fixed(32, 2, True, kind='float')
    with pytest.raises(PrecisionError, match='not an hls4ml precision type'):
        Fixed.from_hls4ml('fixed<8,3>')
    # the value grids: XNOR as its ufixed<1,1> storage, none for floats, exponents and not yet inferred types
    assert grid_of(XnorPrecisionType()) == Fixed(1, 1, False, kind='xnor')
    assert grid_of(XnorPrecisionType()).hls4ml_str() == 'ufixed<1,1>'
    assert grid_of(ExponentPrecisionType(4, True)) is None and grid_of(FloatPrecisionType()) is None
    assert grid_of(UnspecifiedPrecisionType()) is None
    assert value_type(XnorPrecisionType(), decoded_xnor=True) == DECODED_XNOR
    assert value_type(XnorPrecisionType(), decoded_xnor=False).is_xnor
    assert value_type(fixed, decoded_xnor=True) == Fixed.from_hls4ml(fixed)


def test_layer_type_reads_the_output_variable():
    from hls4ml.model.types import NamedType, XnorPrecisionType

    class Var:
        type = NamedType('out_t', XnorPrecisionType())

    class Layer:
        def get_output_variable(self):
            return Var()

    assert layer_type(Layer(), decoded_xnor=True) == Fixed(2, 2, True)
    assert layer_type(Layer(), decoded_xnor=False).hls4ml_str() == 'ufixed<1,1>'


@pytest.mark.parametrize(
    't',
    [
        Fixed(10, 4, True, 'RND_CONV', 'SAT_SYM', 2),
        Fixed(8, 8, False),
        Fixed(5, -1),
        Fixed(1, 1, False, kind='xnor'),
        Fixed(4, 4, True, kind='exponent'),
        Fixed(33, 3, True, kind='float'),
    ],
)
def test_to_hls4ml_round_trips(t):
    assert Fixed.from_hls4ml(t.to_hls4ml()) == t


# ---- casts ---------------------------------------------------------------------------------------------------------
# x in units of fixed<3,3> (integers -4..3): ties at +-0.5, +-1.5, +-2.5, overflow at 3.5, 4, -4.5, -5
X = np.array([-5.0, -4.5, -2.5, -1.5, -1.2, -0.5, -0.2, 0.0, 0.2, 0.5, 1.5, 2.5, 2.7, 3.5, 4.0])
ROUNDED = {  # hand-computed: ap_fixed's rounding before overflow
    'TRN': [-5, -5, -3, -2, -2, -1, -1, 0, 0, 0, 1, 2, 2, 3, 4],
    'TRN_ZERO': [-5, -4, -2, -1, -1, 0, 0, 0, 0, 0, 1, 2, 2, 3, 4],
    'RND': [-5, -4, -2, -1, -1, 0, 0, 0, 0, 1, 2, 3, 3, 4, 4],
    'RND_ZERO': [-5, -4, -2, -1, -1, 0, 0, 0, 0, 0, 1, 2, 3, 3, 4],
    'RND_MIN_INF': [-5, -5, -3, -2, -1, -1, 0, 0, 0, 0, 1, 2, 3, 3, 4],
    'RND_INF': [-5, -5, -3, -2, -1, -1, 0, 0, 0, 1, 2, 3, 3, 4, 4],
    'RND_CONV': [-5, -4, -2, -2, -1, 0, 0, 0, 0, 0, 2, 2, 3, 4, 4],
}


def _overflow(q: np.ndarray, mode: str) -> np.ndarray:
    if mode == 'WRAP':
        return np.mod(q + 4, 8) - 4
    if mode == 'SAT':
        return np.clip(q, -4, 3)
    if mode == 'SAT_SYM':
        return np.clip(q, -3, 3)
    return np.where((q < -4) | (q > 3), 0, q)


@pytest.mark.parametrize('rounding, overflow', list(itertools.product(ROUNDINGS, OVERFLOWS)))
def test_quantize_matches_hand_computed_casts(rounding, overflow):
    want = _overflow(np.array(ROUNDED[rounding], dtype=np.float64), overflow)
    t = Fixed(3, 3, True, rounding, overflow)
    assert np.array_equal(t.quantize(X), want)
    # the same cast on a grid of quarter steps (fixed<3,1>): the ties are then at +-1/8, ...
    assert np.array_equal(Fixed(3, 1, True, rounding, overflow).quantize(X / 4), want / 4)


def test_quantize_unsigned_and_without_type():
    t = Fixed(3, 2, False, 'RND', 'SAT_SYM')  # 0 .. 3.5 in steps of 0.5
    assert np.array_equal(t.quantize([-1.0, 0.2, 0.25, 3.6, 9.0]), [0.0, 0.0, 0.5, 3.5, 3.5])
    assert np.array_equal(Fixed(3, 2, False).quantize([-0.5, 4.25]), [3.5, 0.0])  # WRAP modulo 4
    x = np.array([0.1, -7.3])
    assert np.array_equal(quantize(x, None), x)
    with pytest.raises(ValueError, match='no fixed-point grid'):
        Fixed(8, 8, kind='float').quantize(x)


def _reference(x: np.ndarray, t: Fixed) -> np.ndarray:
    """The ap_fixed cast written out on integers (signed zeros as the emulation returns them)."""
    rnd = {
        'TRN': np.floor,
        'TRN_ZERO': np.trunc,
        'RND': lambda v: np.floor(v + 0.5),
        'RND_CONV': np.round,
        'RND_ZERO': lambda v: np.where(v >= 0, np.ceil(v - 0.5), np.floor(v + 0.5)),
        'RND_MIN_INF': lambda v: np.ceil(v - 0.5),
        'RND_INF': lambda v: np.where(v >= 0, np.floor(v + 0.5), np.ceil(v - 0.5)),
    }[t.rounding]
    q = rnd(x * 2.0**t.fractional)
    lo = -(2.0 ** (t.width - 1)) if t.signed else 0.0
    hi = 2.0 ** (t.width - 1) - 1 if t.signed else 2.0**t.width - 1
    if t.saturation == 'WRAP':
        q = np.mod(q - lo, 2.0**t.width) + lo
    elif t.saturation == 'SAT':
        q = np.clip(q, lo, hi)
    elif t.saturation == 'SAT_SYM':
        q = np.clip(q, -hi if t.signed else lo, hi)
    else:
        q = np.where((q < lo) | (q > hi), 0.0, q)
    return q / 2.0**t.fractional


@pytest.mark.parametrize(
    'width, integer, signed',
    [
        (3, 3, True),
        (8, 3, True),
        (8, 3, False),
        (6, 0, True),
        (5, -2, True),
        (4, 6, False),
        (1, 1, False),
        (18, 6, True),
    ],
)
def test_quantize_is_bit_identical_to_the_reference_on_random_data(width, integer, signed):
    """quantizers (WRAP) and fpgaml's own saturation, against the cast written out, bit for bit: random values,
    every tie of the grid, overflow by several ranges, signed zeros."""
    rng = np.random.default_rng(width * 100 + integer)
    f = width - integer
    span = 2.0**integer
    stride = 1 if width <= 8 else 2 ** (width - 8) + 1  # odd: ties and grid values, all of them or 4096
    ties = np.arange(-8 * 2**width, 8 * 2**width, stride) / 2 ** (f + 1)
    x = np.concatenate([rng.uniform(-4 * span, 4 * span, 2000), ties, [0.0, -0.0, 1e-300, -1e-300]])
    for rounding, overflow in itertools.product(ROUNDINGS, OVERFLOWS):
        t = Fixed(width, integer, signed, rounding, overflow)
        got, want = t.quantize(x), _reference(x, t)
        assert np.array_equal(got.view(np.int64), want.view(np.int64)), (rounding, overflow)


def test_bits_and_grid():
    t = Fixed(8, 3)
    assert to_bits([1.5, -0.03125], t).tolist() == [48, -1]
    assert on_grid([1.5, 0.01], t).tolist() == [True, False]


# ---- exact types ---------------------------------------------------------------------------------------------------
def test_covering_is_the_narrowest_type_holding_the_interval():
    assert Fixed.covering(-4.0, 3.75, 2) == Fixed(5, 3)
    assert Fixed.covering(-4.25, 3.75, 2) == Fixed(6, 4)
    assert Fixed.covering(0.0, 4.0, 1) == Fixed(4, 3, False)
    assert Fixed.covering(0.0, 0.0, 3) == Fixed(1, -2, False)
    assert Fixed.covering(-0.1, 0.1, 2) == Fixed(2, 0)  # rounded outward onto the grid: [-0.25, 0.25]
    for t in (Fixed(8, 3), Fixed(7, 2, False), Fixed(4, -1)):
        assert Fixed.covering(t.min_value, t.max_value, t.fractional) == t
    with pytest.raises(ValueError, match='empty'):
        Fixed.covering(1.0, 0.0, 0)


def _exhaustive(a: Fixed, b: Fixed, op) -> tuple[float, float]:
    xs = np.arange(a.min_value, a.max_value + a.step / 2, a.step)
    ys = np.arange(b.min_value, b.max_value + b.step / 2, b.step)
    r = op(xs[:, None], ys[None, :])
    return float(r.min()), float(r.max())


@pytest.mark.parametrize(
    'a, b',
    [
        (Fixed(8, 4), Fixed(8, 4)),
        (Fixed(6, 2, False), Fixed(5, 3)),
        (Fixed(4, 4, False), Fixed(7, 1)),
        (Fixed(3, 0), Fixed(3, 3, False)),
    ],
)
def test_result_types_hold_every_result_and_no_more(a, b):
    for fn, op in ((sum_type, np.add), (difference_type, np.subtract), (product_type, np.multiply)):
        t = fn(a, b)
        lo, hi = _exhaustive(a, b, op)
        assert t.min_value <= lo and hi <= t.max_value, (fn.__name__, t)
        assert t == Fixed.covering(lo, hi, t.fractional), (fn.__name__, t)  # the narrowest such type
        assert (t.rounding, t.saturation) == ('TRN', 'WRAP')


def test_classic_result_widths():
    assert sum_type(Fixed(8, 4), Fixed(8, 4)) == Fixed(9, 5)
    assert product_type(Fixed(8, 4), Fixed(8, 4)) == Fixed(16, 8)
    assert product_type(Fixed(8, 8, False), Fixed(8, 8, False)) == Fixed(16, 16, False)
    with pytest.raises(ValueError, match='fixed-point types only'):
        sum_type(Fixed(1, 1, False, kind='xnor'), Fixed(8, 4))
