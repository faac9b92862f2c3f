"""The fixed-point operations of the HLS firmware as da4ml arithmetic, shared by the RTL backend's graph walk
(:mod:`fpgaml.rtl.model`) and the families' lowerings (``Family.lower``, :mod:`fpgaml.families`).

Every value is a da4ml ``FixedVariable`` (an exact interval on a power-of-two grid). Each hls4ml cast is
reproduced with ap_fixed's rounding (TRN, RND, RND_CONV, RND_ZERO, RND_INF, RND_MIN_INF, TRN_ZERO) and
overflow (WRAP, SAT, SAT_SYM) rules. Accumulators follow ``nnet_dense_latency.h`` / ``nnet_conv2d_latency.h``:
every product is cast to ``accum_t`` (``mult[]`` is ``accum_t``), the bias is cast to ``accum_t``, the sum is
taken in ``accum_t`` (exact modulo its width for WRAP) and cast to ``result_t``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from fpgaml.errors import FpgamlError
from fpgaml.families import rtl_supported
from fpgaml.fixed import Fixed, PrecisionError


class RtlUnsupported(FpgamlError):
    """The graph holds a layer the RTL backend cannot build: never a silent partial design."""


def supported_text() -> str:
    """What the RTL backend builds, family by family (each family's ``rtl_supported``)."""
    return 'the RTL backend supports: ' + '; '.join(rtl_supported())


@dataclass
class RtlInput:
    """What a family's lowering (``lower(layer, inp)``) receives: the values of the layer's input, their shape and
    type, and the layer's result type."""

    x: np.ndarray  # flat object array of da4ml FixedVariables
    shape: tuple  # the input tensor's shape
    type: Fixed
    result: Fixed
    solver_options: dict
    folded: bool = False  # x are da4ml's input variables, not yet sized: the layer's casts size them


LARGE_MATRIX = 4096  # constant matrices above this size skip da4ml's exhaustive decomposition search
HUGE_MATRIX = 32768  # ... and above this, its common-subexpression search (plain adder trees)


def rtl_type(precision, where: str = '') -> Fixed:
    """hls4ml precision object -> :class:`Fixed`, refusing the types the RTL backend cannot cast."""
    try:
        t = Fixed.from_hls4ml(precision)
    except PrecisionError:
        t = None
    if t is None or t.kind not in ('fixed', 'xnor'):
        raise RtlUnsupported(
            f'{where}: type {precision} ({type(precision).__name__}) is not supported by the RTL backend'
        )
    if t.saturation_bits:
        raise RtlUnsupported(f'{where}: saturation bits ({precision}) are not supported by the RTL backend')
    if t.saturation == 'SAT_ZERO':
        raise RtlUnsupported(
            f'{where}: SAT_ZERO overflow ({precision}) is not supported by the RTL backend; use SAT, SAT_SYM or WRAP'
        )
    return t


# ---- casts ------------------------------------------------------------------------------------------------------
def cast_var(v, t: Fixed):
    """One ap_fixed cast of a da4ml variable to ``t`` (its rounding, then its overflow mode)."""
    from fpgaml.rtl.backend import api

    if not isinstance(v, api().FixedVariable):
        raise TypeError(v)
    _k, _i, _f = v.kif
    k, i, f = t.kif
    if f < _f:  # rounding to fewer fractional bits; the integer part is widened so that nothing wraps here
        e = 2.0**-_f
        half = 2.0 ** (-f - 1)
        wide_i = max(_i, i) + 2
        mode = t.rounding
        if mode == 'TRN':
            w = v
        elif mode == 'RND':
            w = v + half
        elif mode == 'RND_CONV':  # half to even: add half - e, plus e when the kept LSB is odd
            lsb = v.quantize(0, 1 - f, f, 'WRAP', 'TRN')  # the bit of weight 2^-f (as 0 or 2^-f)
            w = v + (half - e) + lsb * (2.0 ** (f - _f))
        elif mode == 'RND_MIN_INF':
            w = v + (half - e)
        elif mode in ('RND_ZERO', 'RND_INF', 'TRN_ZERO'):
            neg = (v < 0) if _k else None
            if mode == 'RND_ZERO':  # ties toward zero: positive ties go down
                w = v + (half - e) + (neg * e if neg is not None else 0)
            elif mode == 'RND_INF':  # ties away from zero: negative ties go down
                w = v + half - (neg * e if neg is not None else 0)
            else:  # toward zero: negative values round up
                w = v + (neg * (2.0**-f - e) if neg is not None else 0)
        else:
            raise RtlUnsupported(f'rounding mode {mode} is not supported by the RTL backend')
        v = w.quantize(max(_k, k), wide_i, f, 'WRAP', 'TRN')
    ovf = t.saturation if t.saturation in ('WRAP', 'SAT', 'SAT_SYM') else 'WRAP'
    if ovf == 'SAT_SYM' and not k:
        ovf = 'SAT'
    return v.quantize(k, i, f, ovf, 'TRN')


def cast(x, t: Fixed):
    """Element-wise ap_fixed cast of a FixedVariableArray (or object ndarray of FixedVariables)."""
    from fpgaml.rtl.backend import api

    lib = api()
    arr = lib.raw(x) if isinstance(x, lib.FixedVariableArray) else np.asarray(x, dtype=object)
    out = np.empty(arr.shape, dtype=object)
    for idx, v in np.ndenumerate(arr):
        out[idx] = cast_var(v, t)
    return out


def weights(layer, name: str) -> tuple[np.ndarray, Fixed]:
    """(values on the weight type's grid, the type) of a weight variable (XNOR weights: their 0/1 encoding)."""
    if not _in_weights(layer, name) and layer.get_attr('da_codegen', None) is not None:
        # distributed_arithmetic layers: hls4ml folds the constants into da4ml's HLS code and drops them
        raise RtlUnsupported(
            f'layer "{layer.name}": with Strategy distributed_arithmetic hls4ml keeps no weights in '
            f'the graph to build RTL from; run "fpgaml rtl" on the Latency (or Resource) strategy: '
            f'its RTL is itself da4ml distributed arithmetic'
        )
    w = layer.weights[name]
    t = rtl_type(w.type.precision, f'{layer.name}.{name}')
    data = np.asarray(w.data, dtype=np.float64)
    return (data if t.is_xnor else t.quantize(data)), t


def _in_weights(layer, name: str) -> bool:
    try:
        layer.weights[name]
    except KeyError:
        return False
    return True


def has_weights(layer, name: str) -> bool:
    """Whether the layer has the weight variable (or, with distributed_arithmetic, had it: see :func:`weights`)."""
    return _in_weights(layer, name) or layer.get_attr('da_codegen', None) is not None


def _product_kind(data_t: Fixed, w_t: Fixed) -> str:
    if w_t.is_xnor and data_t.is_xnor:
        return 'both_binary'
    if w_t.is_xnor:
        return 'weight_binary'
    if data_t.is_xnor:
        return 'data_binary'
    return 'mult'


def affine(
    x: np.ndarray,
    W: np.ndarray,
    b: np.ndarray,
    data_t: Fixed,
    w_t: Fixed,
    b_t: Fixed,
    acc_t: Fixed,
    res_t: Fixed,
    where: str,
    solver_options: dict,
) -> np.ndarray:
    """``res = cast<res>(cast<acc>(b) + sum_i cast<acc>(product(x_i, W_ij)))`` for each output j, for every row
    of ``x`` (rows: output pixels of a convolution, or the single row of a dense layer)."""
    from fpgaml.rtl.backend import api

    lib = api()
    FixedVariable = lib.FixedVariable
    kind = _product_kind(data_t, w_t)
    const = np.zeros(W.shape[1])
    if kind == 'weight_binary':  # w == 0 -> -a, else a
        Wn = np.where(W == 0, -1.0, 1.0)
    elif kind == 'data_binary':  # a == 0 -> -w, else w: 2*a*w - w
        Wn, const = 2.0 * W, -W.sum(axis=0)
    elif kind == 'both_binary':  # a == w: a if w else 1 - a
        Wn = np.where(W == 0, -1.0, 1.0)
        const = (W == 0).sum(axis=0).astype(np.float64)
    else:
        Wn = W
    bias = acc_t.quantize(b)  # (accum_t)biases[j]; one row of biases per row of x (EinsumDense) or shared
    bias = bias.reshape(-1, W.shape[1]) if bias.size != W.shape[1] else bias.reshape(1, -1)
    # products exact in accum_t? (the per-product cast to accum_t is then a no-op). Checked product by product:
    # with heterogeneous types (HGQ) each input has its own fractional bits and each weight its own lowest set bit,
    # and hls4ml's bit-exact pass sizes accum_t for the finest product that occurs, not for max(x_f) + max(w_f).
    x_f = np.array([max(v.kif[2] for v in x[:, i]) for i in range(x.shape[1])], dtype=np.float64)
    nz = Wn != 0
    w_f = np.zeros(Wn.shape)
    if nz.any():
        w_f[nz] = -np.log2(_lsb(Wn[nz]))
    acc_sat = acc_t.saturation in ('SAT', 'SAT_SYM')
    exact_products = bool(np.all((x_f[:, None] + w_f)[nz] <= acc_t.fractional)) if nz.any() else True
    xa = lib.FixedVariableArray(x, solver_options)
    if exact_products:
        if Wn.size > HUGE_MATRIX and 'method0' not in solver_options:
            # da4ml's shared-subexpression search did not finish in 5 minutes on a 512x256 binary matrix:
            # plain adder trees ('dummy') instead, seconds
            xa = lib.FixedVariableArray(x, {**solver_options, 'method0': 'dummy'})
        elif Wn.size > LARGE_MATRIX and 'search_all_decompose_dc' not in solver_options:
            xa = lib.FixedVariableArray(x, {**solver_options, 'search_all_decompose_dc': False})
        sums = lib.raw(xa @ Wn)  # da4ml's CMVM: shared adder graph, exact
    else:  # each product cast to accum_t first (as mult[] in the firmware), then summed
        sums = np.empty((x.shape[0], W.shape[1]), dtype=object)
        for r in range(x.shape[0]):
            for j in range(W.shape[1]):
                terms = [cast_var(x[r, i] * float(Wn[i, j]), acc_t) for i in range(x.shape[1]) if Wn[i, j] != 0]
                s = terms[0] if terms else FixedVariable(0.0, 0.0, 1.0, hwconf=xa.hwconf)
                for t in terms[1:]:
                    s = s + t
                sums[r, j] = s
    out = np.empty(sums.shape, dtype=object)
    for r in range(sums.shape[0]):
        for j in range(sums.shape[1]):
            v = sums[r, j]
            add = float(bias[r if bias.shape[0] > 1 else 0, j] + const[j])
            if not isinstance(v, FixedVariable):
                v = FixedVariable(float(v), float(v), 1.0, hwconf=xa.hwconf)
            v = v + add if add != 0 else v
            if acc_sat:
                lo, hi = acc_t.min_value, acc_t.max_value
                if not _partial_sums_fit(x[r], Wn[:, j], add, lo, hi):
                    raise RtlUnsupported(
                        f'{where}: the saturating accumulator ({_fmt(acc_t)}) may saturate part-way '
                        f'through the sum, which depends on the summation order; use a WRAP '
                        f'accumulator or a wider one'
                    )
            v = cast_var(v, replace(acc_t, rounding='TRN', saturation='WRAP'))
            if kind == 'both_binary':  # cast<ap_int<ceillog2(n_in)+2>>(acc * 2 - n_in)
                n_in = W.shape[0]
                bits = int(np.ceil(np.log2(n_in))) + 2
                v = cast_var(v * 2.0 - float(n_in), Fixed(bits, bits))
            out[r, j] = cast_var(v, res_t)
    return out


def _lsb(a: np.ndarray) -> np.ndarray:
    """The weight of the lowest set bit of each (dyadic) value."""
    a = np.abs(a)
    f = np.zeros_like(a)
    for n in range(-60, 60):
        m = (f == 0) & (np.mod(a * 2.0**n, 1.0) == 0)
        f[m] = 2.0**-n
    return f


def _partial_sums_fit(xrow: np.ndarray, w: np.ndarray, add: float, lo: float, hi: float) -> bool:
    pos, neg = add, add
    for v, c in zip(xrow, w):
        if c == 0:
            continue
        a, b = float(v.low) * c, float(v.high) * c
        pos += max(a, b, 0.0)
        neg += min(a, b, 0.0)
    return lo <= neg and pos <= hi


def _fmt(t: Fixed) -> str:
    return f'{"fixed" if t.signed else "ufixed"}<{t.width},{t.integer},{t.rounding},{t.saturation}>'


# hls4ml's distributed_arithmetic strategy computes the exact sum of products (da4ml) and casts it to the result
# type once: an accumulator wide enough that nothing is ever rounded or wrapped.
EXACT_ACCUM = Fixed(71, 41)


def accum_type(layer, name: str) -> Fixed:
    """The accumulator type a MAC layer's strategy sums in."""
    strategy = str(layer.get_attr('strategy', 'latency')).lower()
    if strategy in ('distributed_arithmetic', 'da'):
        return EXACT_ACCUM
    if strategy not in ('latency', 'resource', ''):
        raise RtlUnsupported(
            f'layer "{name}": strategy {layer.get_attr("strategy")} is not supported by the RTL '
            f'backend (Latency, Resource and distributed_arithmetic are)'
        )
    return rtl_type(layer.get_attr('accum_t').precision, f'{name}.accum_t')
