"""Fixed-point precision strings: parse, validate and normalise.

Accepted spellings (hls4ml's and Vivado's): ``fixed<W,I>``, ``ufixed<W,I>``, ``ap_fixed<W,I>``,
``ap_ufixed<W,I>`` with optional rounding and saturation modes (``RND``/``AP_RND`` ...) and saturation
bits; ``int<W>``, ``uint<W>``, ``ap_int<W>``, ``ap_uint<W>``; and ``auto`` (let fpgaml/hls4ml infer
the exact type). Anything else is an error: hls4ml would otherwise misread it silently.

The type and its parser are :mod:`fpgaml.fixed`; ``auto`` is the configuration's own word.
"""

from __future__ import annotations

from fpgaml.fixed import ACCEPTED, Fixed, PrecisionError

__all__ = ['ACCEPTED', 'PrecisionError', 'normalize', 'parse_precision']


def parse_precision(text: str) -> Fixed | None:
    """Parse a precision string. Returns None for ``auto``. Raises PrecisionError with a clear message."""
    if isinstance(text, str) and text.strip().replace(' ', '').lower() == 'auto':
        return None
    return Fixed.parse(text)


def normalize(text: str) -> str:
    """Validate and return the hls4ml spelling ('auto' stays 'auto')."""
    t = parse_precision(text)
    return 'auto' if t is None else t.hls4ml_str()
