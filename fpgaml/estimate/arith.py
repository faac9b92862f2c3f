"""Arithmetic building blocks of the estimator: fixed-point formats, weight analysis, multiplier binding.

Everything here is physical reasoning about what Vivado/Vitis HLS builds from hls4ml's C++:

* A product ``x * w`` with a *constant* ``w`` (io_parallel/io_stream, Latency strategy, reuse factor 1:
  the weight array is a fully partitioned ``const``) is constant-folded by HLS.  A zero weight removes the
  product, a power-of-two weight is a shift (wiring), and any other constant becomes a shift-and-add
  network in LUTs or a DSP slice.  The cost of the shift-add network grows with the number of non-zero
  digits of the constant in canonical signed digit (CSD) form; HLS binds the product to a DSP when the
  constant (and the other operand) are wide.  We model the binding as a smooth (logistic) function of
  the narrower operand's significant width: ``P(DSP) = 1 / (1 + exp(-(d - DSP_WIDTH_MID) / DSP_WIDTH_SPREAD))``
  where ``d`` is the magnitude width of the constant's odd part (trailing zeros are free shifts) or of the
  data operand, whichever is narrower.  The spread expresses that the decision also depends on context
  (timing slack, adder-tree packing) that a static model cannot see.
* A product whose weight is *not* constant (reuse factor > 1 shares a multiplier between several
  weights; the Resource strategy then reads them from a ROM) is a full ``a x b`` multiplier sized by the
  declared types: a DSP (or several for operands wider than the DSP ports) when wide, LUTs
  (about ``a*b/2``) when narrow.  At reuse factor 1 both strategies multiply by constants.
* Each product is cast to the accumulator type (``accum_t``) and summed in an adder tree: one adder per
  term, one LUT per adder bit (carry chain), the adder width being the accumulator width clipped to the
  bits the product can actually occupy.

The handful of constants below are the only tunables; `benchmarks/estimator_calibration.py` reports how
well they reproduce public synthesis results.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from fpgaml.fixed import Fixed

# ---------------------------------------------------------------------------------------------------------
# Model constants (physically motivated; see module docstring and benchmarks/README_estimator.md)
# ---------------------------------------------------------------------------------------------------------
DSP_WIDTH_MID = 6.0  # bits: significant width at which half of the constant products go to DSPs
DSP_WIDTH_SPREAD = 0.5  # bits: width of the DSP/LUT transition
MIN_DSP_WIDTH = 3  # products with an operand of <= 3 significant bits are never put in a DSP
DSP_SUM_MID = 16.0  # bits: constant products narrower than this (constant's odd part + data) stay in LUTs
DSP_SUM_SPREAD = 1.0  # bits: width of that transition
DSP_WIDTH_METRIC = 'odd'  # "odd": width of the constant's odd part; "bitlen": its full magnitude width
CSD_ADD_LUT_FACTOR = 0.5  # LUTs per bit per extra CSD digit of a LUT-mapped constant multiplication
VAR_MULT_LUT_PER_BIT2 = 0.55  # LUTs per (a*b) bit^2 of a LUT-mapped variable multiplier
T_ADD_NS = 0.7  # ns per adder-tree level (16-bit carry chain, UltraScale+ -2, HLS delay model)
T_DSP_NS = 1.8  # ns: DSP multiplier as HLS schedules it (UltraScale+)
T_LUTMULT_NS = 0.9  # ns: shift-add constant multiplier
T_BRAM_NS = 1.5  # ns: table (ROM) read
T_SRL_READ_NS = 1.0  # ns: shift-register (SRL) read before a stream convolution's multipliers
CLOCK_UNCERTAINTY = 0.125  # HLS default clock uncertainty: 12.5 % of the period


def quantize_to_lsb(data: np.ndarray, fmt: Fixed) -> np.ndarray:
    """Quantize real weights to integers in units of the format's LSB (as the C++ cast would). An estimate, not
    :meth:`Fixed.quantize`: rounds half up or truncates (tolerating float noise) and always saturates."""
    x = np.asarray(data, dtype=np.float64).ravel()
    if fmt.is_xnor:
        return np.where(x >= 0, 1, -1).astype(np.int64)
    if fmt.is_exponent:
        # power-of-two weights: value sign * 2^k; represent as +-1 (odd part 1)
        return np.where(x == 0, 0, np.sign(x)).astype(np.int64)
    if fmt.is_float:
        # floats: treat as a wide fixed-point with 10 fraction bits (rarely used in firmware)
        return np.round(x * 2**10).astype(np.int64)
    scaled = x * (2.0**fmt.fractional)
    if fmt.rounding.startswith('RND'):
        q = np.floor(scaled + 0.5)
    else:
        q = np.floor(scaled + 1e-9)  # TRN: towards -inf (tolerate float noise on exact grid values)
    lo = -(2 ** (fmt.width - 1)) if fmt.signed else 0
    hi = 2 ** (fmt.width - 1) - 1 if fmt.signed else 2**fmt.width - 1
    return np.clip(q, lo, hi).astype(np.int64)


def odd_part_bits(q: np.ndarray) -> np.ndarray:
    """Magnitude width of the odd part of each integer (0 for 0, 1 for powers of two)."""
    v = np.abs(q.astype(np.int64))
    out = np.zeros(v.shape, dtype=np.int64)
    nz = v > 0
    if not nz.any():
        return out
    w = v[nz]
    # strip trailing zeros: w & -w is the lowest set bit
    low = w & (-w)
    w = w // low
    out[nz] = np.floor(np.log2(w)).astype(np.int64) + 1
    return out


def msb_position(q: np.ndarray) -> np.ndarray:
    """Bit length of |q| (0 for 0)."""
    v = np.abs(q.astype(np.int64))
    out = np.zeros(v.shape, dtype=np.int64)
    nz = v > 0
    out[nz] = np.floor(np.log2(v[nz])).astype(np.int64) + 1
    return out


def csd_digits(q: np.ndarray) -> np.ndarray:
    """Number of non-zero digits in the canonical signed digit representation of each integer."""
    x = np.abs(q.astype(np.int64))
    n = np.zeros(x.shape, dtype=np.int64)
    while (x != 0).any():
        odd = (x & 1) == 1
        d = np.where(odd, 2 - (x % 4), 0)
        n += d != 0
        x = (x - d) // 2
    return n


def p_dsp(width_bits: np.ndarray | float) -> np.ndarray:
    """Probability that a product whose narrower operand has ``width_bits`` significant bits uses a DSP."""
    d = np.asarray(width_bits, dtype=np.float64)
    p = 1.0 / (1.0 + np.exp(-(d - DSP_WIDTH_MID) / DSP_WIDTH_SPREAD))
    return np.where(d <= MIN_DSP_WIDTH, 0.0, p)


def dsps_per_mult(a_bits: int, b_bits: int, dsp_ports: tuple[int, int]) -> int:
    """DSP slices for one a x b multiplier (operands wider than the ports are split)."""
    pa, pb = dsp_ports
    a, b = max(a_bits, b_bits), min(a_bits, b_bits)
    return max(1, math.ceil(a / pa)) * max(1, math.ceil(b / pb))


@dataclass
class MacCost:
    """Cost of one parallel instance of a multiply-accumulate array (one output pixel of a Dense/Conv)."""

    n_products: int  # non-zero products (or multipliers, for shared multipliers)
    dsp: float
    lut: float
    adder_width: float  # mean adder-tree width (bits)
    n_out: int
    levels: int  # adder-tree depth
    mult_delay_ns: float  # delay of the multiplier stage (0 if there are no real multipliers)
    # per output: terms summed, probability that one of its products is in a DSP, and the delay of its
    # LUT-mapped products (a shift-add, or 0 when they are all shifts)
    out_terms: np.ndarray
    out_p_dsp: np.ndarray
    out_lut_delay_ns: np.ndarray
    lut_products: float = 0.0  # the part of ``lut`` that is LUT-mapped (shift-add) constant products


def constant_mac(
    w_q: np.ndarray, w_fmt: Fixed, a_fmt: Fixed, acc_fmt: Fixed, has_bias: np.ndarray | None, dsp_ports: tuple[int, int]
) -> MacCost:
    """A fully unrolled MAC array with constant weights ``w_q`` (n_in x n_out integers in LSB units)."""
    w2 = w_q.reshape(w_q.shape[0], -1) if w_q.ndim >= 2 else w_q.reshape(-1, 1)
    n_out = w2.shape[1]
    nz = w2 != 0
    n_products = int(nz.sum())
    terms = nz.sum(axis=0).astype(np.float64)
    if has_bias is not None:
        terms = terms + np.asarray(has_bias, dtype=np.float64).reshape(-1)[:n_out]
    if n_products == 0:
        zero = np.zeros(n_out)
        return MacCost(0, 0.0, 0.0, 0.0, n_out, 0, 0.0, out_terms=terms, out_p_dsp=zero, out_lut_delay_ns=zero)
    q = w2[nz]
    e = odd_part_bits(q)
    k = csd_digits(q)
    msb = msb_position(q)
    a_mag = a_fmt.magnitude_bits
    if a_fmt.is_xnor and w_fmt.is_xnor:
        # XNOR-popcount: one LUT per product, popcount adders grow with log2(n)
        width = np.full(q.shape, 1.0)
        p = np.zeros(q.shape)
        k = np.ones(q.shape, dtype=np.int64)
    else:
        d = np.minimum(e if DSP_WIDTH_METRIC == 'odd' else msb, a_mag)
        # both operands wide enough, and a product wide enough: 8-bit data x 8-bit weights stay in LUTs (DeepSets)
        p = p_dsp(d) / (1.0 + np.exp(-(e + a_mag - DSP_SUM_MID) / DSP_SUM_SPREAD))
        p = np.where(k <= 1, 0.0, p)  # powers of two are shifts
        # bits a product occupies in the accumulator: msb at a_int + w_int, lsb at the accumulator's lsb
        w_int = msb - w_fmt.fractional  # integer bits of |w| (can be negative for small weights)
        prod_msb = a_fmt.integer + w_int + 1  # + sign
        prod_lsb = -min(acc_fmt.fractional, a_fmt.fractional + w_fmt.fractional)
        width = np.clip(prod_msb - prod_lsb, 2, acc_fmt.width).astype(np.float64)
    dsp_each = dsps_per_mult(a_fmt.width, int(e.max()) + 1, dsp_ports)
    dsp = float(p.sum()) * dsp_each
    lut_mult = CSD_ADD_LUT_FACTOR * np.maximum(k - 1, 0) * width * (1.0 - p)
    lut_add = width  # one adder per term (N terms -> N-1 adders, +1 for the bias / output cast)
    lut = float(lut_mult.sum() + lut_add.sum())
    levels = int(math.ceil(math.log2(max(2.0, float(terms.max())))))
    if p.sum() > 0.5:
        mult_delay = T_DSP_NS
    elif (k > 1).any():
        mult_delay = T_LUTMULT_NS
    else:
        mult_delay = 0.0
    col = np.nonzero(nz)[1]  # the output each product feeds
    p_out = 1.0 - np.exp(np.bincount(col, weights=np.log1p(-np.minimum(p, 1.0 - 1e-12)), minlength=n_out))
    shift_add = np.bincount(col, weights=((k > 1) & (p < 1.0)).astype(np.float64), minlength=n_out) > 0
    return MacCost(
        n_products,
        dsp,
        lut,
        float(width.mean()),
        n_out,
        levels,
        mult_delay,
        out_terms=terms,
        out_p_dsp=p_out,
        out_lut_delay_ns=np.where(shift_add, T_LUTMULT_NS, 0.0),
        lut_products=float(lut_mult.sum()),
    )


def variable_mult(a_fmt: Fixed, w_fmt: Fixed, dsp_ports: tuple[int, int]) -> tuple[float, float, float]:
    """(dsp, lut, delay_ns) of one a x w multiplier whose operands are both variables."""
    if w_fmt.is_xnor or a_fmt.is_xnor:
        return 0.0, float(max(a_fmt.width, w_fmt.width)), 0.3
    if w_fmt.is_exponent:
        # shift by a variable amount: barrel shifter
        return 0.0, float(a_fmt.width * max(1, math.ceil(math.log2(max(2, w_fmt.width))))), T_LUTMULT_NS
    d = min(a_fmt.magnitude_bits, w_fmt.magnitude_bits)
    p = float(p_dsp(d))
    dsp = p * dsps_per_mult(a_fmt.width, w_fmt.width, dsp_ports)
    lut = (1.0 - p) * VAR_MULT_LUT_PER_BIT2 * a_fmt.width * w_fmt.width
    return dsp, lut, T_DSP_NS if p >= 0.5 else T_LUTMULT_NS


def cycles(delay_ns: float, clock_ns: float, speed_factor: float, uncertainty: float = CLOCK_UNCERTAINTY) -> int:
    """Pipeline stages HLS needs for a combinational path of ``delay_ns`` (UltraScale+ reference)."""
    t_eff = clock_ns * (1.0 - uncertainty)
    return max(1, int(math.ceil(delay_ns * speed_factor / t_eff - 1e-9)))


def levels_per_cycle(clock_ns: float, speed_factor: float, uncertainty: float = CLOCK_UNCERTAINTY) -> int:
    t_eff = clock_ns * (1.0 - uncertainty)
    return max(1, int(t_eff // (T_ADD_NS * speed_factor)))
