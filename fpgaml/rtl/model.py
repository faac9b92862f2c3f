"""The converted hls4ml graph as da4ml arithmetic: the same fixed-point operations the HLS firmware performs.

Every value is a da4ml ``FixedVariable`` (an exact interval on a power-of-two grid). Each hls4ml cast is
reproduced with ap_fixed's rounding (TRN, RND, RND_CONV, RND_ZERO, RND_INF, RND_MIN_INF, TRN_ZERO) and
overflow (WRAP, SAT, SAT_SYM) rules. Accumulators follow ``nnet_dense_latency.h`` / ``nnet_conv2d_latency.h``:
every product is cast to ``accum_t`` (``mult[]`` is ``accum_t``), the bias is cast to ``accum_t``, the sum is
taken in ``accum_t`` (exact modulo its width for WRAP) and cast to ``result_t``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from fpgaml.errors import FpgamlError

SUPPORTED = ('Dense', 'EinsumDense (HGQ2)', 'FixedPointQuantizer (HGQ, heterogeneous types)', 'Conv1D/Conv2D (io_parallel)', 'Max/AveragePooling1D/2D and their Global forms (channels last, padding included)', 'ReLU and linear/quantized activations',
             'BatchNormalization (folded or standalone)', 'binary and ternary layers (BatchNormalizationQuantizedTanh)',
             'Flatten/Reshape', 'a final Softmax (left out: the RTL ends at its input)')


class RtlUnsupported(FpgamlError):
    """The graph holds a layer the RTL backend cannot build: never a silent partial design."""


def supported_text() -> str:
    return 'the RTL backend supports: ' + '; '.join(SUPPORTED)


LARGE_MATRIX = 4096  # constant matrices above this size skip da4ml's exhaustive decomposition search
HUGE_MATRIX = 32768  # ... and above this, its common-subexpression search (plain adder trees)


@dataclass
class Fixed:
    """An ap_fixed-like type: sign bit k, integer bits i (without sign), fractional bits f, modes."""

    k: int
    i: int
    f: int
    rnd: str = 'TRN'
    ovf: str = 'WRAP'
    xnor: bool = False

    @property
    def width(self) -> int:
        return self.k + self.i + self.f

    def lo_hi_step(self) -> tuple[float, float, float]:
        step = 2.0 ** -self.f
        return (-(2.0 ** self.i) if self.k else 0.0), 2.0 ** self.i - step, step


def fixed_of(precision, where: str = '') -> Fixed:
    """hls4ml precision object -> :class:`Fixed`."""
    from hls4ml.model.types import FixedPrecisionType, IntegerPrecisionType, XnorPrecisionType

    if isinstance(precision, XnorPrecisionType):
        return Fixed(0, 1, 0, xnor=True)
    if isinstance(precision, IntegerPrecisionType) and not isinstance(precision, FixedPrecisionType):
        s = int(bool(precision.signed))
        return Fixed(s, precision.width - s, 0)
    if isinstance(precision, FixedPrecisionType):
        s = int(bool(precision.signed))
        rnd = str(precision.rounding_mode) if precision.rounding_mode is not None else 'TRN'
        ovf = str(precision.saturation_mode) if precision.saturation_mode is not None else 'WRAP'
        if precision.saturation_bits not in (None, 0):
            raise RtlUnsupported(f'{where}: saturation bits ({precision}) are not supported by the RTL backend')
        if ovf == 'SAT_ZERO':
            raise RtlUnsupported(f'{where}: SAT_ZERO overflow ({precision}) is not supported by the RTL backend; '
                                 f'use SAT, SAT_SYM or WRAP')
        return Fixed(s, precision.integer - s, precision.width - precision.integer, rnd.replace('AP_', ''),
                     ovf.replace('AP_', ''))
    raise RtlUnsupported(f'{where}: type {precision} ({type(precision).__name__}) is not supported by the RTL backend')


# ---- casts ------------------------------------------------------------------------------------------------------
def _cast_var(v, t: Fixed):
    from da4ml.trace import FixedVariable

    if not isinstance(v, FixedVariable):
        raise TypeError(v)
    _k, _i, _f = v.kif
    f = t.f
    if f < _f:  # rounding to fewer fractional bits; the integer part is widened so that nothing wraps here
        e = 2.0 ** -_f
        half = 2.0 ** (-f - 1)
        wide_i = max(_i, t.i) + 2
        mode = t.rnd
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
                w = v + (neg * (2.0 ** -f - e) if neg is not None else 0)
        else:
            raise RtlUnsupported(f'rounding mode {mode} is not supported by the RTL backend')
        v = w.quantize(max(_k, t.k), wide_i, f, 'WRAP', 'TRN')
    ovf = t.ovf if t.ovf in ('WRAP', 'SAT', 'SAT_SYM') else 'WRAP'
    if ovf == 'SAT_SYM' and not t.k:
        ovf = 'SAT'
    return v.quantize(t.k, t.i, t.f, ovf, 'TRN')


def cast(x, t: Fixed):
    """Element-wise ap_fixed cast of a FixedVariableArray (or object ndarray of FixedVariables)."""
    from da4ml.trace import FixedVariableArray

    arr = x._vars if isinstance(x, FixedVariableArray) else np.asarray(x, dtype=object)
    out = np.empty(arr.shape, dtype=object)
    for idx, v in np.ndenumerate(arr):
        out[idx] = _cast_var(v, t)
    return out


def quantize_np(x: np.ndarray, t: Fixed) -> np.ndarray:
    """The same cast on plain numbers (float64), for input data and weights."""
    x = np.asarray(x, dtype=np.float64)
    s = 2.0 ** t.f
    y = x * s
    fl = np.floor(y)
    frac = y - fl
    if t.rnd == 'TRN':
        r = fl
    elif t.rnd == 'RND':
        r = np.floor(y + 0.5)
    elif t.rnd == 'RND_CONV':
        r = np.where(frac == 0.5, fl + (fl % 2), np.floor(y + 0.5))
    elif t.rnd == 'RND_MIN_INF':
        r = np.ceil(y - 0.5)
    elif t.rnd == 'RND_ZERO':
        r = np.where(frac == 0.5, np.where(y > 0, fl, fl + 1), np.floor(y + 0.5))
    elif t.rnd == 'RND_INF':
        r = np.where(frac == 0.5, np.where(y > 0, fl + 1, fl), np.floor(y + 0.5))
    elif t.rnd == 'TRN_ZERO':
        r = np.trunc(y)
    else:
        raise RtlUnsupported(f'rounding mode {t.rnd}')
    lo, hi = (-(2 ** (t.i + t.f)) if t.k else 0), 2 ** (t.i + t.f) - 1
    if t.ovf in ('SAT', 'SAT_SYM'):
        r = np.clip(r, lo + (1 if t.ovf == 'SAT_SYM' and t.k else 0), hi)
    else:
        m = 2 ** t.width
        r = np.mod(r - lo, m) + lo
    return r / s


# ---- layers -----------------------------------------------------------------------------------------------------
@dataclass
class RtlGraph:
    """The da4ml trace of a graph: inputs, outputs and every layer's output, in graph order."""

    inputs: object  # FixedVariableArray (flat)
    input_type: Fixed
    outputs: object  # FixedVariableArray (flat)
    output_layer: str
    output_type: Fixed
    layers: dict[str, object] = field(default_factory=dict)  # name -> flat object ndarray of FixedVariables
    layer_types: dict[str, Fixed] = field(default_factory=dict)
    left_out: list[str] = field(default_factory=list)  # layers after the RTL output (a final softmax)


def _weights(layer, name: str) -> tuple[np.ndarray, Fixed]:
    if not _in_weights(layer, name) and layer.get_attr('da_codegen', None) is not None:
        # distributed_arithmetic layers: hls4ml folds the constants into da4ml's HLS code and drops them
        raise RtlUnsupported(f'layer "{layer.name}": with Strategy distributed_arithmetic hls4ml keeps no weights in '
                             f'the graph to build RTL from; run "fpgaml rtl" on the Latency (or Resource) strategy: '
                             f'its RTL is itself da4ml distributed arithmetic')
    w = layer.weights[name]
    t = fixed_of(w.type.precision, f'{layer.name}.{name}')
    data = np.asarray(w.data, dtype=np.float64)
    return (data if t.xnor else quantize_np(data, t)), t


def _in_weights(layer, name: str) -> bool:
    try:
        layer.weights[name]
    except KeyError:
        return False
    return True


def _has(layer, name: str) -> bool:
    return _in_weights(layer, name) or layer.get_attr('da_codegen', None) is not None


def _product_kind(data_t: Fixed, w_t: Fixed) -> str:
    if w_t.xnor and data_t.xnor:
        return 'both_binary'
    if w_t.xnor:
        return 'weight_binary'
    if data_t.xnor:
        return 'data_binary'
    return 'mult'


def _affine(x: np.ndarray, W: np.ndarray, b: np.ndarray, data_t: Fixed, w_t: Fixed, b_t: Fixed, acc_t: Fixed,
            res_t: Fixed, where: str, solver_options: dict) -> np.ndarray:
    """``res = cast<res>(cast<acc>(b) + sum_i cast<acc>(product(x_i, W_ij)))`` for each output j, for every row
    of ``x`` (rows: output pixels of a convolution, or the single row of a dense layer)."""
    from da4ml.trace import FixedVariableArray

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
    from da4ml.trace import FixedVariable

    bias = quantize_np(b, acc_t)  # (accum_t)biases[j]; one row of biases per row of x (EinsumDense) or shared
    bias = bias.reshape(-1, W.shape[1]) if bias.size != W.shape[1] else bias.reshape(1, -1)
    # products exact in accum_t? (the per-product cast to accum_t is then a no-op). Checked product by product:
    # with heterogeneous types (HGQ) each input has its own fractional bits and each weight its own lowest set bit,
    # and hls4ml's bit-exact pass sizes accum_t for the finest product that occurs, not for max(x_f) + max(w_f).
    x_f = np.array([max(v.kif[2] for v in x[:, i]) for i in range(x.shape[1])], dtype=np.float64)
    nz = Wn != 0
    w_f = np.zeros(Wn.shape)
    if nz.any():
        w_f[nz] = -np.log2(_lsb(Wn[nz]))
    acc_sat = acc_t.ovf in ('SAT', 'SAT_SYM')
    exact_products = bool(np.all((x_f[:, None] + w_f)[nz] <= acc_t.f)) if nz.any() else True
    xa = FixedVariableArray(x, solver_options)
    if exact_products:
        if Wn.size > HUGE_MATRIX and 'method0' not in solver_options:
            # da4ml's shared-subexpression search did not finish in 5 minutes on a 512x256 binary matrix:
            # plain adder trees ('dummy') instead, seconds
            xa = FixedVariableArray(x, {**solver_options, 'method0': 'dummy'})
        elif Wn.size > LARGE_MATRIX and 'search_all_decompose_dc' not in solver_options:
            xa = FixedVariableArray(x, {**solver_options, 'search_all_decompose_dc': False})
        sums = (xa @ Wn)._vars  # da4ml's CMVM: shared adder graph, exact
    else:  # each product cast to accum_t first (as mult[] in the firmware), then summed
        sums = np.empty((x.shape[0], W.shape[1]), dtype=object)
        for r in range(x.shape[0]):
            for j in range(W.shape[1]):
                terms = [_cast_var(x[r, i] * float(Wn[i, j]), acc_t) for i in range(x.shape[1]) if Wn[i, j] != 0]
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
                lo, hi, _ = acc_t.lo_hi_step()
                if not _partial_sums_fit(x[r], Wn[:, j], add, lo, hi):
                    raise RtlUnsupported(f'{where}: the saturating accumulator ({_fmt(acc_t)}) may saturate part-way '
                                         f'through the sum, which depends on the summation order; use a WRAP '
                                         f'accumulator or a wider one')
            v = _cast_var(v, Fixed(acc_t.k, acc_t.i, acc_t.f, 'TRN', 'WRAP'))
            if kind == 'both_binary':  # cast<ap_int<ceillog2(n_in)+2>>(acc * 2 - n_in)
                n_in = W.shape[0]
                bits = int(np.ceil(np.log2(n_in))) + 2
                v = _cast_var(v * 2.0 - float(n_in), Fixed(1, bits - 1, 0))
            out[r, j] = _cast_var(v, res_t)
    return out


def _lsb(a: np.ndarray) -> np.ndarray:
    """The weight of the lowest set bit of each (dyadic) value."""
    a = np.abs(a)
    f = np.zeros_like(a)
    for n in range(-60, 60):
        m = (f == 0) & (np.mod(a * 2.0 ** n, 1.0) == 0)
        f[m] = 2.0 ** -n
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
    return f'{"fixed" if t.k else "ufixed"}<{t.width},{t.i + t.k},{t.rnd},{t.ovf}>'


def _activation(layer, x: np.ndarray, res_t: Fixed) -> np.ndarray:
    act = str(layer.get_attr('activation', '')).lower()
    if layer.class_name in ('Activation', 'ReLU', 'QActivation') and act in ('relu',):
        y = np.empty(x.shape, dtype=object)
        for idx, v in np.ndenumerate(x):
            y[idx] = _cast_var(v.max_of(0.0) if v.low < 0 else v, res_t)
        return y
    if act in ('linear', ''):
        return cast(x, res_t)
    raise RtlUnsupported(f'layer "{layer.name}" ({layer.class_name}, activation {act}): {supported_text()}')


def _conv_rows(x3: np.ndarray, layer, dims: int) -> tuple[np.ndarray, tuple]:
    """im2col of an (H, W, C) object array: rows of (kh, kw, c) patches in the firmware's output order."""
    if dims == 1:
        x3 = x3[None]
        kh, sh, pt, pb = 1, 1, 0, 0
    else:
        kh, sh = layer.get_attr('filt_height'), layer.get_attr('stride_height')
        pt, pb = layer.get_attr('pad_top', 0), layer.get_attr('pad_bottom', 0)
    kw, sw = layer.get_attr('filt_width'), layer.get_attr('stride_width')
    pl, pr = layer.get_attr('pad_left', 0), layer.get_attr('pad_right', 0)
    H, W, C = x3.shape
    if pt or pb or pl or pr:
        from da4ml.trace import FixedVariable

        zero = FixedVariable(0.0, 0.0, 1.0, hwconf=x3.flat[0].hwconf)
        p = np.empty((H + pt + pb, W + pl + pr, C), dtype=object)
        p[...] = zero
        p[pt:pt + H, pl:pl + W] = x3
        x3 = p
    Hp, Wp, _ = x3.shape
    oh, ow = (Hp - kh) // sh + 1, (Wp - kw) // sw + 1
    rows = np.empty((oh * ow, kh * kw * C), dtype=object)
    for r in range(oh):
        for c in range(ow):
            rows[r * ow + c] = x3[r * sh:r * sh + kh, c * sw:c * sw + kw, :].ravel()
    return rows, (oh, ow)


def _pool_geometry(layer, dims: int, shape: tuple) -> tuple:
    """(pool h, pool w, stride h, stride w, pad top, bottom, left, right) of a (Global)Pooling1D/2D layer."""
    if layer.class_name.startswith('GlobalPooling'):
        h, w = (1, shape[0]) if dims == 1 else (shape[0], shape[1])
        return h, w, h, w, 0, 0, 0, 0
    g = layer.get_attr
    pw, sw, pl, pr = g('pool_width'), g('stride_width'), g('pad_left', 0) or 0, g('pad_right', 0) or 0
    if dims == 1:
        return 1, pw, 1, sw, 0, 0, pl, pr
    return g('pool_height'), pw, g('stride_height'), sw, g('pad_top', 0) or 0, g('pad_bottom', 0) or 0, pl, pr


def _pad_value(op: str, t: Fixed) -> float:
    """``nnet::pad_val``: 0 for Average; for Max the value with only the top bit set (the type's minimum when
    signed)."""
    if op != 'Max':
        return 0.0
    return -(2.0 ** t.i) if t.k else 2.0 ** (t.width - 1 - t.f)


def _divide_trunc(y, n: int, acc_t: Fixed):
    """``accum_t y; y /= n`` of ``nnet::avg``: ap_fixed division by an integer keeps y's fractional bits and
    truncates toward zero.  Built as a product with ceil(2^K / n) / 2^K, K = width + ceil(log2 n), which gives
    floor(|Y| / n) exactly for every |Y| < 2^width (Y: y in units of its LSB), then a cast toward zero."""
    if n == 1:
        return y
    toward_zero = Fixed(acc_t.k, acc_t.i, acc_t.f, 'TRN_ZERO', 'WRAP')
    if n & (n - 1) == 0:
        return _cast_var(y * (1.0 / n), toward_zero)
    K = acc_t.width + math.ceil(math.log2(n))
    m = -(-(2 ** K) // n)
    return _cast_var(y * (m / 2.0 ** K), toward_zero)


def _pool(x3: np.ndarray, layer, dims: int, in_t: Fixed, acc_t: Fixed, res_t: Fixed) -> np.ndarray:
    """``nnet::pooling{1,2}d_cl`` / ``global_pooling{1,2}d_cl`` (io_parallel, channels last): padded cells get
    ``pad_val``; Max keeps the largest value; Average sums in ``accum_t`` (a cast after every addition, in the
    template's order), divides by the window's count of image cells (or the full window with ``count_pad``),
    then the result is cast to ``result_t``."""
    from da4ml.trace import FixedVariable

    op = str(layer.get_attr('pool_op', 'Max'))
    if dims == 1:
        x3 = x3[None]
    H, W, C = x3.shape
    ph, pw, sh, sw, pt, pb, pl, pr = _pool_geometry(layer, dims, (W,) if dims == 1 else (H, W))
    oh, ow = (H + pt + pb - ph) // sh + 1, (W + pl + pr - pw) // sw + 1
    count_pad = bool(layer.get_attr('count_pad', False))
    pad = _pad_value(op, in_t)
    hwconf = x3.flat[0].hwconf
    pad_var = FixedVariable(pad, pad, 2.0 ** -in_t.f, hwconf=hwconf)
    out = np.empty((oh, ow, C), dtype=object)
    for r in range(oh):
        for c in range(ow):
            cells = [(r * sh + kk - pt, c * sw + ll - pl) for kk in range(ph) for ll in range(pw)]
            inside = [0 <= i < H and 0 <= j < W for i, j in cells]
            for ch in range(C):
                win = [x3[i, j, ch] if ok else None for (i, j), ok in zip(cells, inside)]
                if op == 'Max':
                    vals = [v if v is not None else pad_var for v in win]
                    m = vals[0]
                    for v in vals[1:]:
                        m = v.max_of(m)
                    out[r, c, ch] = _cast_var(_cast_var(m, acc_t), res_t)
                else:  # Average: padded cells are 0 and add nothing
                    terms = [v for v in win if v is not None]
                    y = _cast_var(terms[0], acc_t)
                    for v in terms[1:]:
                        y = _cast_var(y + v, acc_t)
                    n = ph * pw if count_pad else sum(inside)
                    out[r, c, ch] = _cast_var(_divide_trunc(y, n, acc_t), res_t)
    return out.ravel()


# hls4ml's distributed_arithmetic strategy computes the exact sum of products (da4ml) and casts it to the result
# type once: an accumulator wide enough that nothing is ever rounded or wrapped.
EXACT_ACCUM = Fixed(1, 40, 30, 'TRN', 'WRAP')


def _accum(layer, name: str) -> Fixed:
    strategy = str(layer.get_attr('strategy', 'latency')).lower()
    if strategy in ('distributed_arithmetic', 'da'):
        return EXACT_ACCUM
    if strategy not in ('latency', 'resource', ''):
        raise RtlUnsupported(f'layer "{name}": strategy {layer.get_attr("strategy")} is not supported by the RTL '
                             f'backend (Latency, Resource and distributed_arithmetic are)')
    return fixed_of(layer.get_attr('accum_t').precision, f'{name}.accum_t')


POOLING_CLASSES = ('Pooling1D', 'Pooling2D', 'GlobalPooling1D', 'GlobalPooling2D')
SUPPORTED_CLASSES = ('Input', 'InputLayer', 'Dense', 'EinsumDense', 'FixedPointQuantizer', 'Conv1D', 'Conv2D',
                     'Activation', 'ReLU', 'BatchNormalization', 'BatchNormalizationQuantizedTanh', 'Reshape',
                     'Flatten') + POOLING_CLASSES


def _input_quantizer(layers):
    """The FixedPointQuantizer that alone reads the model input, when it wraps (WRAP) and truncates or rounds half
    up (TRN, RND), else None. Its casts can then be applied to da4ml's input variables themselves: on values of
    the input type, wrapping to fewer integer bits and truncating to one bit below the kept ones before rounding
    half up give what the firmware's cast of the full value gives (both are exact modulo 2^(k+i) and floor-based),
    so each input is only as wide as its quantizer's type (HGQ's own da4ml tracer does the same)."""
    if len(layers) < 2:
        return None
    first, head = layers[0], layers[1]
    out = first.outputs[0] if getattr(first, 'outputs', None) else None
    readers = [lay for lay in layers[1:] if out in lay.inputs]
    if (head.class_name != 'FixedPointQuantizer' or readers != [head] or getattr(head, 'mask_kbi', None) is None
            or str(head.SAT).replace('AP_', '') != 'WRAP' or str(head.RND).replace('AP_', '') not in ('TRN', 'RND')):
        return None
    return head


def _fixed_point_quantizer(layer, x: np.ndarray, res_t: Fixed, on_input: bool = False) -> np.ndarray:
    """HGQ's ``FixedPointQuantizer`` as hls4ml writes it (``generate_mask_fn``, io_parallel): element ``n`` is cast
    to ``ap_[u]fixed<b[n], i[n], AP_<RND>, AP_<SAT>>`` (``k[n]``: signed), or set to 0 where ``b[n]`` is 0, then
    stored in the layer's result type. ``on_input``: ``x`` are da4ml's (not yet sized) input variables and the
    casts size them (:func:`_input_quantizer`)."""
    from da4ml.trace import FixedVariable

    mask = getattr(layer, 'mask_kbi', None)
    if mask is None:
        raise RtlUnsupported(f'layer "{layer.name}" (FixedPointQuantizer) has no bit-width masks (hls4ml\'s '
                             f'mask_kbi); {supported_text()}')
    rnd, sat = str(layer.RND).replace('AP_', ''), str(layer.SAT).replace('AP_', '')
    if sat not in ('WRAP', 'SAT', 'SAT_SYM'):
        raise RtlUnsupported(f'layer "{layer.name}": FixedPointQuantizer overflow mode {sat} is not supported by the '
                             f'RTL backend (WRAP, SAT, SAT_SYM are)')
    shape = tuple(layer.get_input_variable().shape)
    ks, bs, is_ = (np.broadcast_to(np.asarray(a)[0], shape).ravel() for a in mask)
    y = np.empty(x.shape, dtype=object)
    for n, v in enumerate(x):
        k, b, i = int(ks[n]), int(bs[n]), int(is_[n])
        if b == 0:
            y[n] = _cast_var(FixedVariable(0.0, 0.0, 1.0, hwconf=v.hwconf), res_t)
            continue
        if on_input:
            y[n] = _cast_var(v.quantize(k, i - k, b - i, 'WRAP', rnd), res_t)
            continue
        y[n] = _cast_var(_cast_var(v, Fixed(k, i - k, b - i, rnd, sat)), res_t)
    return y


def _einsum_dense(layer, x: np.ndarray, in_t: Fixed, res_t: Fixed, solver_options: dict) -> np.ndarray:
    """``nnet::einsum_dense`` (Latency): the input transposed to (inplace, free data, contract), for every
    (i, l0) row a ``dense`` with kernel ``i`` (contract x free kernel) and its own bias row, the result transposed
    to the output's order."""
    name = layer.name
    g = layer.get_attr
    n_i, n_l0, n_c, n_l1 = g('n_inplace'), g('n_free_data'), g('n_contract'), g('n_free_kernel')
    W, w_t = _weights(layer, 'weight')
    b, b_t = _weights(layer, 'bias') if _has(layer, 'bias') else (np.zeros(n_i * n_l0 * n_l1), Fixed(0, 1, 0))
    acc_t = _accum(layer, name)
    xt = x.reshape(tuple(g('inp_shape'))).transpose(tuple(g('inp_tpose_idxs'))).reshape(n_i, n_l0, n_c)
    W = W.reshape(n_i, n_c, n_l1)
    b = np.asarray(b, dtype=np.float64).reshape(n_i, n_l0, n_l1)
    out = np.empty((n_i, n_l0, n_l1), dtype=object)
    for i in range(n_i):
        out[i] = _affine(xt[i], W[i], b[i], in_t, w_t, b_t, acc_t, res_t, name, solver_options)
    shape = tuple(g('out_interpert_shape'))
    return out.reshape(shape).transpose(tuple(g('out_tpose_idxs'))).ravel()


def _check_pooling(layer) -> None:
    op = str(layer.get_attr('pool_op', 'Max'))
    if op not in ('Max', 'Average'):
        raise RtlUnsupported(f'layer "{layer.name}": {op} pooling is not supported by the RTL backend (Max and '
                             f'Average are)')
    fmt = str(layer.get_attr('data_format', 'channels_last'))
    if fmt != 'channels_last':
        raise RtlUnsupported(f'layer "{layer.name}": data_format {fmt}: the RTL backend builds channels_last '
                             f'pooling only')


def check_supported(graph, io_type: str) -> None:
    """The cheap part of :func:`build_rtl_graph`'s checks (layer classes, io_type, activations), run right after
    the conversion so that an unsupported model stops before the compile and C-simulation."""
    if io_type != 'io_parallel':
        raise RtlUnsupported(f'io_type {io_type}: the RTL backend builds fully parallel designs (io_parallel) only '
                             f'(no io_stream line buffers); set io_type: io_parallel; {supported_text()}')
    layers = list(graph.get_layers())
    for idx, layer in enumerate(layers):
        cls = layer.class_name
        if cls == 'Softmax' and idx == len(layers) - 1:
            continue
        if cls not in SUPPORTED_CLASSES or len(layer.inputs) > 1:
            raise RtlUnsupported(f'layer "{layer.name}" ({cls}) cannot be built as RTL; {supported_text()}')
        if cls in ('Activation', 'ReLU') and str(layer.get_attr('activation', '')).lower() not in ('relu', 'linear'):
            raise RtlUnsupported(f'layer "{layer.name}" ({cls}, activation {layer.get_attr("activation")}): '
                                 f'{supported_text()}')
        if cls in POOLING_CLASSES:
            _check_pooling(layer)


def build_rtl_graph(graph, io_type: str, solver_options: dict | None = None) -> RtlGraph:
    """Trace ``graph`` (a converted hls4ml ModelGraph) into da4ml variables; raise :class:`RtlUnsupported` for
    anything that is not in :data:`SUPPORTED`."""
    from da4ml.trace import FixedVariableArray, FixedVariableArrayInput

    solver_options = dict(solver_options or {})
    if io_type != 'io_parallel':
        raise RtlUnsupported(f'io_type {io_type}: the RTL backend builds fully parallel designs (io_parallel) only '
                             f'(no io_stream line buffers); set io_type: io_parallel; {supported_text()}')
    layers = list(graph.get_layers())
    ins = graph.get_input_variables()
    if len(ins) != 1 or len(graph.get_output_variables()) != 1:
        raise RtlUnsupported(f'the RTL backend builds single-input, single-output models; this one has {len(ins)} '
                             f'inputs and {len(graph.get_output_variables())} outputs')
    vals: dict[str, np.ndarray] = {}
    types: dict[str, Fixed] = {}
    shapes: dict[str, tuple] = {}
    first = layers[0]
    in_t = fixed_of(first.get_output_variable().type.precision, first.name)
    shape = tuple(first.get_output_variable().shape)
    n = int(np.prod(shape))
    inp = FixedVariableArrayInput((n,), solver_options=solver_options)
    fold = _input_quantizer(layers)
    # da4ml sizes each input by the casts applied to it: cast to the input type, or (HGQ) straight to the input
    # quantizer's element types, so that every input carries only the bits its quantizer keeps
    x0 = inp._vars if fold is not None else inp.quantize(in_t.k, in_t.i, in_t.f, 'WRAP', 'TRN')._vars
    vals[first.name], types[first.name], shapes[first.name] = x0, in_t, shape
    left_out: list[str] = []
    last = first.name
    for idx, layer in enumerate(layers[1:], start=1):
        cls = layer.class_name
        name = layer.name
        srcs = layer.inputs
        if len(srcs) != 1:
            raise RtlUnsupported(f'layer "{name}" ({cls}) has {len(srcs)} inputs; {supported_text()}')
        src_name = layer.get_input_node().name
        x = vals[src_name]
        xs = shapes[src_name]
        in_t = types[src_name]
        out_var = layer.get_output_variable()
        res_t = fixed_of(out_var.type.precision, name)
        oshape = tuple(out_var.shape)
        if cls == 'Softmax' and idx == len(layers) - 1:
            left_out.append(name)
            break
        if cls in ('Dense',):
            W, w_t = _weights(layer, 'weight')
            b, b_t = _weights(layer, 'bias') if _has(layer, 'bias') else (np.zeros(W.shape[1]), Fixed(0, 1, 0))
            acc_t = _accum(layer, name)
            y = _affine(x.reshape(1, -1), W.reshape(W.shape[0], -1), b, in_t, w_t, b_t, acc_t, res_t, name,
                        solver_options).ravel()
            act = str(layer.get_attr('activation', 'linear')).lower()
            if act not in ('linear', ''):
                raise RtlUnsupported(f'layer "{name}": a fused {act} activation is not supported; {supported_text()}')
        elif cls == 'EinsumDense':
            y = _einsum_dense(layer, x, in_t, res_t, solver_options)
        elif cls == 'FixedPointQuantizer':
            y = _fixed_point_quantizer(layer, x, res_t, on_input=layer is fold)
        elif cls in ('Conv1D', 'Conv2D'):
            dims = 1 if cls == 'Conv1D' else 2
            W, w_t = _weights(layer, 'weight')
            b, b_t = _weights(layer, 'bias') if _has(layer, 'bias') else (np.zeros(W.shape[-1]), Fixed(0, 1, 0))
            acc_t = _accum(layer, name)
            x3 = x.reshape(xs if dims == 2 else (xs[0], xs[1]))
            rows, _ = _conv_rows(x3, layer, dims)
            y = _affine(rows, W.reshape(-1, W.shape[-1]), b, in_t, w_t, b_t, acc_t, res_t, name,
                        solver_options).ravel()
        elif cls in ('Activation', 'ReLU'):
            y = _activation(layer, x, res_t)
        elif cls == 'BatchNormalization':
            s, s_t = _weights(layer, 'scale')
            bb, _ = _weights(layer, 'bias')
            nf = len(s)
            y = np.empty(x.shape, dtype=object)
            for i, v in enumerate(x):
                y[i] = _cast_var(v * float(s[i % nf]) + float(bb[i % nf]), res_t)
        elif cls == 'BatchNormalizationQuantizedTanh':
            y = np.empty(x.shape, dtype=object)
            if 'threshold' in layer.weights:
                th, _ = _weights(layer, 'threshold')
                th = quantize_np(th, in_t)
                for i, v in enumerate(x):
                    y[i] = v >= float(th[i % len(th)])
            else:
                hi, _ = _weights(layer, 'threshold_hi')
                lo, _ = _weights(layer, 'threshold_lo')
                hi, lo = quantize_np(hi, in_t), quantize_np(lo, in_t)
                for i, v in enumerate(x):
                    y[i] = (v > float(hi[i % len(hi)])) - (v <= float(lo[i % len(lo)]))
        elif cls in ('Reshape', 'Flatten'):
            y = x
        elif cls in POOLING_CLASSES:
            _check_pooling(layer)
            dims = 1 if cls.endswith('1D') else 2
            acc_t = fixed_of(layer.get_attr('accum_t').precision, f'{name}.accum_t')
            x3 = x.reshape(xs if dims == 2 else (xs[0], xs[1]))
            y = _pool(x3, layer, dims, in_t, acc_t, res_t)
        else:
            raise RtlUnsupported(f'layer "{name}" ({cls}) cannot be built as RTL; {supported_text()}')
        vals[name], types[name], shapes[name] = np.asarray(y, dtype=object).ravel(), res_t, oshape
        last = name
    out = FixedVariableArray(vals[last], solver_options)
    return RtlGraph(inp, types[first.name], out, last, types[last], vals, types, left_out)
