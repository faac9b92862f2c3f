"""fpgaml's one fixed-point type: what an ``ap_fixed<W,I,Q,O,N>`` (or an hls4ml precision) holds and does.

Config strings, hls4ml precision objects, validation data, the RTL model, the estimator and the convert passes all
reason about the same thing: a value grid of ``width`` bits, ``integer`` of them (sign included, hls4ml's
convention) before the binary point, plus how a cast onto it rounds (``rounding``) and overflows (``saturation``).
:class:`Fixed` is that type; its operations are

* spelling: :meth:`Fixed.parse` reads every accepted string, :meth:`Fixed.hls4ml_str` / :attr:`Fixed.cpp` write
  hls4ml's and the HLS writer's spellings;
* hls4ml: :meth:`Fixed.from_hls4ml` / :meth:`Fixed.to_hls4ml` (``kind`` keeps what is no plain fixed-point grid:
  XNOR binary, power-of-two exponent and floating-point types, which the estimator costs differently);
* casts: :func:`quantize` is the C++ assignment of doubles to the type, every rounding and overflow mode;
* exact types: :meth:`Fixed.covering` and :func:`sum_type` / :func:`difference_type` / :func:`product_type`,
  the narrowest types that hold a value interval or every result of an operation (type propagation).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

ROUNDING_MODES = ('RND', 'RND_ZERO', 'RND_MIN_INF', 'RND_INF', 'RND_CONV', 'TRN', 'TRN_ZERO')
SATURATION_MODES = ('WRAP', 'SAT', 'SAT_ZERO', 'SAT_SYM')
KINDS = ('fixed', 'xnor', 'exponent', 'float')

# The widest ap_fixed / ap_int Vivado and Vitis HLS compile by default (AP_INT_MAX_W); hls4ml writes types as is.
MAX_WIDTH = 1024

_FIXED = re.compile(r'^(ap_)?(u?)fixed<(.*)>$')
_INT = re.compile(r'^(ap_)?(u?)int<(.*)>$')

ACCEPTED = (
    'fixed<W,I>, ufixed<W,I>, ap_fixed<W,I[,ROUNDING[,SATURATION[,N]]]>, int<W>, uint<W>, ap_int<W>, '
    f'ap_uint<W> or auto; rounding one of {", ".join(ROUNDING_MODES)}; '
    f'saturation one of {", ".join(SATURATION_MODES)} (each optionally prefixed AP_)'
)


class PrecisionError(ValueError):
    pass


# ap_fixed's rounding of a value in units of the target's LSB
_ROUNDING = {
    'TRN': np.floor,
    'TRN_ZERO': np.trunc,
    'RND': lambda v: np.floor(v + 0.5),  # half towards +inf
    'RND_ZERO': lambda v: np.where(v >= 0, np.ceil(v - 0.5), np.floor(v + 0.5)),  # half towards zero
    'RND_MIN_INF': lambda v: np.ceil(v - 0.5),  # half towards -inf
    'RND_INF': lambda v: np.where(v >= 0, np.floor(v + 0.5), np.ceil(v - 0.5)),  # half away from zero
    'RND_CONV': np.round,  # half to even
}


@dataclass(frozen=True)
class Fixed:
    """A fixed-point (or integer) type: ``width`` bits, ``integer`` of them before the binary point (sign included).

    ``kind`` is ``'fixed'`` for every ap_fixed/ap_int; hls4ml's other precisions keep their storage grid and say
    what they are: ``'xnor'`` (one bit, 0 meaning -1: ``ufixed<1,1>``), ``'exponent'`` (power-of-two values,
    ``width`` bits of exponent) and ``'float'``.
    """

    width: int
    integer: int
    signed: bool = True
    rounding: str = 'TRN'
    saturation: str = 'WRAP'
    saturation_bits: int = 0
    kind: str = 'fixed'

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f'Fixed kind {self.kind!r}: one of {", ".join(KINDS)}')

    @classmethod
    def from_kif(cls, k: int, i: int, f: int, rounding: str = 'TRN', saturation: str = 'WRAP') -> Fixed:
        """da4ml's convention: sign bit ``k``, integer bits ``i`` without the sign, fractional bits ``f``."""
        return cls(k + i + f, k + i, bool(k), rounding, saturation)

    # ---- grid --------------------------------------------------------------------------------------------------
    @property
    def fractional(self) -> int:
        return self.width - self.integer

    @property
    def kif(self) -> tuple[int, int, int]:
        """(sign bit, integer bits without the sign, fractional bits): da4ml's and quantizers' convention."""
        k = int(self.signed)
        return k, self.integer - k, self.fractional

    @property
    def step(self) -> float:
        return 2.0**-self.fractional

    @property
    def min_value(self) -> float:
        return -(2.0 ** (self.integer - 1)) if self.signed else 0.0

    @property
    def max_value(self) -> float:
        top = self.integer - 1 if self.signed else self.integer
        return 2.0**top - 2.0 ** (-self.fractional)

    @property
    def magnitude_bits(self) -> int:
        """Bits of magnitude (the width without the sign bit, at least 1)."""
        return max(1, self.width - (1 if self.signed else 0))

    @property
    def is_xnor(self) -> bool:
        return self.kind == 'xnor'

    @property
    def is_exponent(self) -> bool:
        return self.kind == 'exponent'

    @property
    def is_float(self) -> bool:
        return self.kind == 'float'

    # ---- spelling ----------------------------------------------------------------------------------------------
    def _modes(self, prefix: str) -> str:
        if (self.rounding, self.saturation, self.saturation_bits) == ('TRN', 'WRAP', 0):
            return ''
        extra = f',{prefix}{self.rounding},{prefix}{self.saturation}'
        return extra + (f',{self.saturation_bits}' if self.saturation_bits else '')

    def hls4ml_str(self) -> str:
        """hls4ml's spelling (``fixed<16,6,RND,SAT>``); an XNOR type as its storage, ``ufixed<1,1>``."""
        return f'{"" if self.signed else "u"}fixed<{self.width},{self.integer}{self._modes("")}>'

    @property
    def cpp(self) -> str:
        """The C++ type (``ap_fixed<16,6,AP_RND,AP_SAT>``), as hls4ml's Vivado/Vitis writer spells it."""
        return f'{"ap_" if self.signed else "ap_u"}fixed<{self.width},{self.integer}{self._modes("AP_")}>'

    def __str__(self) -> str:
        return self.hls4ml_str()

    @classmethod
    def parse(cls, text: str) -> Fixed:
        """Parse a precision string (every spelling in :data:`ACCEPTED` but ``auto``, which is config's to read).
        Raises PrecisionError with a clear message."""
        if not isinstance(text, str):
            raise PrecisionError(f'precision must be a string such as "fixed<16,6>", got {text!r}')
        return _parse(text, text.strip().replace(' ', ''))

    # ---- hls4ml ------------------------------------------------------------------------------------------------
    @classmethod
    def from_hls4ml(cls, precision) -> Fixed:
        """An hls4ml precision (or a NamedType holding one) as :class:`Fixed`; raises PrecisionError for a type
        that is none of hls4ml's fixed, integer, XNOR, exponent or float precisions."""
        from hls4ml.model.types import (
            ExponentPrecisionType,
            FixedPrecisionType,
            FloatPrecisionType,
            IntegerPrecisionType,
            NamedType,
            StandardFloatPrecisionType,
            XnorPrecisionType,
        )

        if isinstance(precision, NamedType):
            precision = precision.precision
        if isinstance(precision, XnorPrecisionType):
            return cls(1, 1, False, kind='xnor')
        if isinstance(precision, IntegerPrecisionType):
            return cls(precision.width, precision.width, bool(precision.signed))
        if isinstance(precision, FixedPrecisionType):
            rnd = getattr(precision.rounding_mode, 'name', None) or 'TRN'
            sat = getattr(precision.saturation_mode, 'name', None) or 'WRAP'
            return cls(
                precision.width, precision.integer, bool(precision.signed), rnd, sat, precision.saturation_bits or 0
            )
        if isinstance(precision, ExponentPrecisionType):
            return cls(precision.width, precision.width, bool(precision.signed), kind='exponent')
        if isinstance(precision, (FloatPrecisionType, StandardFloatPrecisionType)):
            return cls(precision.width, int(getattr(precision, 'integer', None) or 2), True, kind='float')
        raise PrecisionError(
            f'{precision} ({type(precision).__name__}) is not an hls4ml precision type fpgaml reads '
            f'(fixed, integer, XNOR, exponent or float)'
        )

    def to_hls4ml(self):
        """The hls4ml precision object of this type."""
        from hls4ml.model.types import ExponentPrecisionType, FixedPrecisionType, FloatPrecisionType, XnorPrecisionType

        if self.is_xnor:
            return XnorPrecisionType()
        if self.is_exponent:
            return ExponentPrecisionType(self.width, self.signed)
        if self.is_float:
            return FloatPrecisionType(self.width, self.integer)
        return FixedPrecisionType(
            self.width, self.integer, self.signed, self.rounding, self.saturation, self.saturation_bits or None
        )

    # ---- casts -------------------------------------------------------------------------------------------------
    def quantize(self, x: np.ndarray) -> np.ndarray:
        """Emulate assigning doubles to ``ap_fixed<W,I,Q,O>`` (rounding and overflow modes), in float64.
        Saturation bits (``N``) are not modelled."""
        if self.kind not in ('fixed', 'xnor'):
            raise ValueError(f'{self.kind} type {self}: its values lie on no fixed-point grid to quantize to')
        if self.rounding not in ROUNDING_MODES or self.saturation not in SATURATION_MODES:
            raise ValueError(f'{self}: rounding {self.rounding} / overflow {self.saturation} is no ap_fixed mode')
        x = np.asarray(x, dtype=np.float64)
        if self.saturation == 'WRAP':
            # quantizers (HGQ's) has every ap_fixed rounding mode and WRAP, bit for bit the rules below
            from quantizers.fixed_point.fixed_point_ops_np import get_fixed_quantizer_np

            return get_fixed_quantizer_np(self.rounding, 'WRAP')(x, *self.kif)
        # Saturation stays ours: quantizers has no SAT_ZERO, and for SAT / SAT_SYM it saturates before rounding and
        # its sign-based roundings return -0.0 where these return 0.0 (same values, different float64 bits)
        scale = 2.0**self.fractional
        q = _ROUNDING[self.rounding](x * scale)
        lo = -(2.0 ** (self.width - 1)) if self.signed else 0.0
        hi = (2.0 ** (self.width - 1) - 1) if self.signed else (2.0**self.width - 1)
        if self.saturation == 'SAT':
            q = np.clip(q, lo, hi)
        elif self.saturation == 'SAT_SYM':
            q = np.clip(q, -hi if self.signed else lo, hi)
        else:  # SAT_ZERO
            q = np.where((q < lo) | (q > hi), 0.0, q)
        return q / scale

    # ---- exact types -------------------------------------------------------------------------------------------
    @classmethod
    def covering(cls, lo: float, hi: float, frac_bits: int) -> Fixed:
        """The narrowest type with ``frac_bits`` fractional bits holding every grid value in ``[lo, hi]``
        (signed exactly when ``lo`` < 0; ``lo`` and ``hi`` are rounded outward onto the grid)."""
        if lo > hi:
            raise ValueError(f'empty interval [{lo}, {hi}]')
        low, high = math.floor(lo * 2.0**frac_bits), math.ceil(hi * 2.0**frac_bits)  # in units of the step
        signed = low < 0
        if signed:
            width = 1 + max((-low - 1).bit_length(), high.bit_length())
        else:
            width = max(1, high.bit_length())
        return cls(width, width - frac_bits, signed)


def _grid(t: Fixed) -> Fixed:
    if t.kind != 'fixed':
        raise ValueError(f'{t.kind} type {t}: exact result types are defined for fixed-point types only')
    return t


def sum_type(a: Fixed, b: Fixed) -> Fixed:
    """The narrowest type holding ``x + y`` exactly for every ``x`` of ``a`` and ``y`` of ``b``."""
    a, b = _grid(a), _grid(b)
    return Fixed.covering(a.min_value + b.min_value, a.max_value + b.max_value, max(a.fractional, b.fractional))


def difference_type(a: Fixed, b: Fixed) -> Fixed:
    """The narrowest type holding ``x - y`` exactly for every ``x`` of ``a`` and ``y`` of ``b``."""
    a, b = _grid(a), _grid(b)
    return Fixed.covering(a.min_value - b.max_value, a.max_value - b.min_value, max(a.fractional, b.fractional))


def product_type(a: Fixed, b: Fixed) -> Fixed:
    """The narrowest type holding ``x * y`` exactly for every ``x`` of ``a`` and ``y`` of ``b``."""
    a, b = _grid(a), _grid(b)
    corners = [x * y for x in (a.min_value, a.max_value) for y in (b.min_value, b.max_value)]
    return Fixed.covering(min(corners), max(corners), a.fractional + b.fractional)


# ---- values on a grid ------------------------------------------------------------------------------------------
def quantize(x: np.ndarray, t: Fixed | None) -> np.ndarray:
    """``x`` cast to ``t`` (:meth:`Fixed.quantize`); float64 ``x`` unchanged where there is no type (floats)."""
    x = np.asarray(x, dtype=np.float64)
    return x if t is None else t.quantize(x)


def to_bits(values: np.ndarray, t: Fixed) -> np.ndarray:
    """Integer bit patterns (as int64 values, value * 2^F) of numbers that lie on ``t``'s grid."""
    return np.round(np.asarray(values, dtype=np.float64) * 2.0**t.fractional).astype(np.int64)


def on_grid(values: np.ndarray, t: Fixed) -> np.ndarray:
    v = np.asarray(values, dtype=np.float64) * 2.0**t.fractional
    return v == np.round(v)


def grid_of(precision) -> Fixed | None:
    """The fixed-point grid of an hls4ml precision (XNOR: its ``ufixed<1,1>`` storage), or None for float and
    power-of-two types, whose values lie on no fixed grid (compared and fed as floats), and for an ``auto`` type
    hls4ml has not inferred yet."""
    from hls4ml.model.types import UnspecifiedPrecisionType

    if isinstance(precision, UnspecifiedPrecisionType):
        return None
    t = Fixed.from_hls4ml(precision)
    return t if t.kind in ('fixed', 'xnor') else None


# hls4ml's binary (XNOR) values: ap_uint<1>, 0 meaning -1. Decoded to -1/+1 they lie on this grid.
DECODED_XNOR = Fixed(2, 2, True)


def value_type(precision, decoded_xnor: bool) -> Fixed | None:
    """The grid of values of an hls4ml precision (:func:`grid_of`). XNOR values are stored as 0/1 but mean -1/+1:
    C-simulation compares decoded values (``decoded_xnor=True``: :data:`DECODED_XNOR`), regression records keep
    the firmware's bits (``False``: ``ufixed<1,1>``)."""
    t = grid_of(precision)
    return DECODED_XNOR if decoded_xnor and t is not None and t.is_xnor else t


def layer_type(layer, decoded_xnor: bool) -> Fixed | None:
    """:func:`value_type` of an hls4ml layer's output."""
    return value_type(layer.get_output_variable().type.precision, decoded_xnor)


# ---- parsing ---------------------------------------------------------------------------------------------------
def _mode(token: str, allowed: tuple[str, ...], what: str, text: str) -> str:
    t = token.strip().upper()
    if t.startswith('AP_'):
        t = t[3:]
    if t not in allowed:
        raise PrecisionError(
            f'"{text}": "{token.strip()}" is not a {what} mode; accepted: {", ".join("AP_" + a for a in allowed)}'
        )
    return t


def _check_width(text: str, width: int) -> None:
    if width < 1:
        raise PrecisionError(f'"{text}": width must be at least 1 bit')
    if width > MAX_WIDTH:
        raise PrecisionError(
            f'"{text}": width {width} exceeds {MAX_WIDTH} bits, the widest ap_fixed/ap_int type '
            f'Vivado/Vitis HLS (and so hls4ml) accept'
        )


def _parse_fixed(text: str, signed: bool, body: str) -> Fixed:
    parts = body.split(',')
    if len(parts) < 2 or len(parts) > 5 or any(p == '' for p in parts):
        raise PrecisionError(
            f'"{text}" is not a valid precision: fixed types need a width and an integer '
            f'bit count, e.g. fixed<16,6>. Accepted: {ACCEPTED}'
        )
    try:
        width, integer = int(parts[0]), int(parts[1])
    except ValueError:
        raise PrecisionError(f'"{text}": width and integer bits must be integers. Accepted: {ACCEPTED}') from None
    _check_width(text, width)
    rounding = _mode(parts[2], ROUNDING_MODES, 'rounding', text) if len(parts) > 2 else 'TRN'
    saturation = _mode(parts[3], SATURATION_MODES, 'saturation', text) if len(parts) > 3 else 'WRAP'
    nbits = 0
    if len(parts) > 4:
        try:
            nbits = int(parts[4])
        except ValueError:
            raise PrecisionError(f'"{text}": saturation bits must be an integer') from None
        if not 0 <= nbits <= width:
            raise PrecisionError(f'"{text}": saturation bits must be between 0 and the width ({width}), got {nbits}')
    return Fixed(width, integer, signed, rounding, saturation, nbits)


def _parse(text: str, compact: str) -> Fixed:
    m = _FIXED.match(compact)
    if m:
        return _parse_fixed(text, m.group(2) != 'u', m.group(3))
    m = _INT.match(compact)
    if m:
        try:
            width = int(m.group(3))
        except ValueError:
            raise PrecisionError(
                f'"{text}" is not a valid precision: integer types take one width, e.g. int<8>'
            ) from None
        _check_width(text, width)
        return Fixed(width, width, m.group(2) != 'u')
    if '<' in compact and not compact.endswith('>'):
        raise PrecisionError(
            f'"{text}" is cut short: inside {{ }} or [ ] YAML reads a comma as a separator; quote the '
            f'type, e.g. "fixed<16,6>"'
        )
    raise PrecisionError(f'"{text}" is not a valid precision. Accepted: {ACCEPTED}')
