"""Fixed-point precision strings: parse, validate and normalise.

Accepted spellings (hls4ml's and Vivado's): ``fixed<W,I>``, ``ufixed<W,I>``, ``ap_fixed<W,I>``,
``ap_ufixed<W,I>`` with optional rounding and saturation modes (``RND``/``AP_RND`` ...) and saturation
bits; ``int<W>``, ``uint<W>``, ``ap_int<W>``, ``ap_uint<W>``; and ``auto`` (let fpgaml/hls4ml infer
the exact type). Anything else is an error: hls4ml would otherwise misread it silently.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ROUNDING_MODES = ('RND', 'RND_ZERO', 'RND_MIN_INF', 'RND_INF', 'RND_CONV', 'TRN', 'TRN_ZERO')
SATURATION_MODES = ('WRAP', 'SAT', 'SAT_ZERO', 'SAT_SYM')

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


@dataclass(frozen=True)
class FixedType:
    """A fixed-point (or integer) type: ``width`` bits, ``integer`` of them before the binary point."""

    width: int
    integer: int
    signed: bool = True
    rounding: str = 'TRN'
    saturation: str = 'WRAP'
    saturation_bits: int = 0

    @property
    def fractional(self) -> int:
        return self.width - self.integer

    @property
    def min_value(self) -> float:
        return -(2.0 ** (self.integer - 1)) if self.signed else 0.0

    @property
    def max_value(self) -> float:
        top = self.integer - 1 if self.signed else self.integer
        return 2.0**top - 2.0 ** (-self.fractional)

    def hls4ml_str(self) -> str:
        prefix = '' if self.signed else 'u'
        extra = ''
        if (self.rounding, self.saturation, self.saturation_bits) != ('TRN', 'WRAP', 0):
            extra = f',{self.rounding},{self.saturation}'
            if self.saturation_bits:
                extra += f',{self.saturation_bits}'
        return f'{prefix}fixed<{self.width},{self.integer}{extra}>'

    @property
    def cpp(self) -> str:
        """The C++ type (``ap_fixed<16,6,AP_RND,AP_SAT>``), as hls4ml's Vivado/Vitis writer spells it."""
        prefix = 'ap_' if self.signed else 'ap_u'
        extra = ''
        if (self.rounding, self.saturation, self.saturation_bits) != ('TRN', 'WRAP', 0):
            extra = f',AP_{self.rounding},AP_{self.saturation}'
            if self.saturation_bits:
                extra += f',{self.saturation_bits}'
        return f'{prefix}fixed<{self.width},{self.integer}{extra}>'

    def __str__(self) -> str:  # pragma: no cover - convenience
        return self.hls4ml_str()


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
        raise PrecisionError(f'"{text}": width {width} exceeds {MAX_WIDTH} bits, the widest ap_fixed/ap_int type '
                             f'Vivado/Vitis HLS (and so hls4ml) accept')


def parse_precision(text: str) -> FixedType | None:
    """Parse a precision string. Returns None for ``auto``. Raises PrecisionError with a clear message."""
    if not isinstance(text, str):
        raise PrecisionError(f'precision must be a string such as "fixed<16,6>", got {text!r}')
    s = text.strip()
    compact = s.replace(' ', '')
    if compact.lower() == 'auto':
        return None
    m = _FIXED.match(compact)
    if m:
        signed = m.group(2) != 'u'
        parts = [p for p in m.group(3).split(',')]
        if len(parts) < 2 or len(parts) > 5 or any(p == '' for p in parts):
            raise PrecisionError(f'"{text}" is not a valid precision: fixed types need a width and an integer '
                                 f'bit count, e.g. fixed<16,6>. Accepted: {ACCEPTED}')
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
        return FixedType(width, integer, signed, rounding, saturation, nbits)
    m = _INT.match(compact)
    if m:
        signed = m.group(2) != 'u'
        try:
            width = int(m.group(3))
        except ValueError:
            raise PrecisionError(f'"{text}" is not a valid precision: integer types take one width, e.g. int<8>') \
                from None
        _check_width(text, width)
        return FixedType(width, width, signed)
    if '<' in compact and not compact.endswith('>'):
        raise PrecisionError(f'"{text}" is cut short: inside {{ }} or [ ] YAML reads a comma as a separator; quote the '
                             f'type, e.g. "fixed<16,6>"')
    raise PrecisionError(f'"{text}" is not a valid precision. Accepted: {ACCEPTED}')


def normalize(text: str) -> str:
    """Validate and return the hls4ml spelling ('auto' stays 'auto')."""
    t = parse_precision(text)
    return 'auto' if t is None else t.hls4ml_str()


def from_hls4ml(precision) -> FixedType | None:
    """Convert an hls4ml PrecisionType to a FixedType (None for non-fixed types such as floats)."""
    from hls4ml.model.types import FixedPrecisionType, IntegerPrecisionType, XnorPrecisionType

    if isinstance(precision, XnorPrecisionType):
        return FixedType(1, 1, False)
    if isinstance(precision, IntegerPrecisionType):
        return FixedType(precision.width, precision.width, precision.signed)
    if isinstance(precision, FixedPrecisionType):
        rnd = getattr(precision.rounding_mode, 'name', None) or 'TRN'
        sat = getattr(precision.saturation_mode, 'name', None) or 'WRAP'
        return FixedType(precision.width, precision.integer, precision.signed, rnd, sat,
                         precision.saturation_bits or 0)
    return None
