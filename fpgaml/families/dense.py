"""Multiply-accumulate layers: Dense and convolutions. A QDense over a 2-D/3-D input gets its quantizers back (hls4ml
builds it as a convolution without them); power-of-two (quantized_po2) weights get exact accumulators, fpgaml's exact
product and an exact bias type (four passes). Costed as a MAC array of constant or shared multipliers
(:func:`fpgaml.estimate.primitives.mac`); the RTL backend builds Dense, EinsumDense and io_parallel Conv1D/Conv2D
as da4ml constant-matrix products (:func:`fpgaml.rtl.ops.affine`)."""

from __future__ import annotations

import numpy as np

from fpgaml.convert.passes.exact_po2_accumulators import ExactPo2Accumulators
from fpgaml.convert.passes.exact_po2_bias import ExactPo2Bias
from fpgaml.convert.passes.exact_po2_products import ExactPo2Products
from fpgaml.convert.passes.quantized_multidim_dense import QuantizedMultidimDense
from fpgaml.estimate import arith
from fpgaml.estimate.costs import generic
from fpgaml.estimate.primitives import (
    Context,
    LayerCost,
    MacSpec,
    accum_fmt,
    attr,
    in_fmt,
    in_var,
    line_buffer,
    mac,
    out_fmt,
    reuse_factor,
    shares_multipliers,
    size_of,
    strategy,
    stream_elements,
    stream_fifos,
    type_fmt,
    weight,
)
from fpgaml.fixed import Fixed
from fpgaml.rtl.ops import RtlInput, RtlUnsupported, accum_type, affine, has_weights, supported_text, weights

from .base import Family

_CONV = (
    'Conv1D',
    'Conv2D',
    'Conv2DBatchnorm',
    'PointwiseConv1D',
    'PointwiseConv2D',
    'DepthwiseConv1D',
    'DepthwiseConv2D',
)


# ---- cost models --------------------------------------------------------------------------------------------------
def _stream_reads(ctx: Context, layer) -> int:
    """Cycles a stream layer spends reading its input when it consumes a whole tensor (Dense)."""
    if not ctx.stream:
        return 0
    reads = stream_elements(layer)
    # one element holding the whole tensor: read and write sit in the pipeline's first and last cycle
    return 0 if reads == 1 else reads + 1  # reads + write


def dense(ctx: Context, layer) -> LayerCost:
    w, wf = weight(layer, 'weight')
    if w is None:
        return generic(ctx, layer)
    n_in = int(attr(layer, 'n_in', w.shape[0]))
    n_out = int(attr(layer, 'n_out', w.shape[-1]))
    w2 = w.reshape(n_in, n_out) if w.size == n_in * n_out else w.reshape(w.shape[0], -1)
    b, _ = weight(layer, 'bias')
    o = out_fmt(layer)
    rows = max(1, size_of(in_var(layer)) // max(1, n_in))
    reads = _stream_reads(ctx, layer)
    spec = MacSpec(
        w2,
        wf,
        in_fmt(layer),
        accum_fmt(layer, o),
        o,
        b,
        n_inst=1 if ctx.stream else rows,
        n_iter=rows if ctx.stream else 1,
        rf=reuse_factor(layer),
        strategy=strategy(layer),
        extra_latency=reads,
    )
    c = mac(ctx, spec)
    if reads:
        # DataPrepare reads the stream over several cycles into a partitioned ``data`` array: registers
        # (SVHN CNN csynth: the 96-input Dense after Flatten, 6,159 FF against 4.6k without them)
        c.ff += n_in * in_fmt(layer).width
    c.flags += heterogeneous_input_flag(layer)
    return c.add(stream_fifos(ctx, layer))


def heterogeneous_input_flag(layer) -> list[str]:
    """A note when the layer reads an HGQ quantizer whose elements have different widths: the cost model sizes
    every product for the widest (the quantizer's result type), an upper bound."""
    try:
        src = layer.get_input_node()
    except Exception:  # noqa: BLE001 - no single input node
        return []
    mask = getattr(src, 'mask_kbi', None) if src is not None else None
    if mask is None:
        return []
    bits = np.asarray(mask[1])
    if bits.size <= 1 or int(bits.min()) == int(bits.max()):
        return []
    return [
        f'inputs of heterogeneous widths ({int(bits.min())}-{int(bits.max())} bits, HGQ): products sized for '
        f'the widest ({in_fmt(layer).width} bits), an upper bound'
    ]


def einsum_dense(ctx: Context, layer) -> LayerCost:
    """hls4ml's EinsumDense (HGQ2's QEinsumDense / QEinsumDenseBatchnorm; io_parallel): ``nnet::einsum_dense``
    runs the Latency dense kernel (n_contract inputs x n_free_kernel outputs) once per (inplace, free data) row,
    all unrolled, with kernel ``i`` for inplace index ``i``; the transposes around it are wiring. With
    ``distributed_arithmetic`` hls4ml keeps no weights in the graph: generic estimate."""
    w, wf = weight(layer, 'weight')
    n_i, n_l0 = int(attr(layer, 'n_inplace', 1) or 1), int(attr(layer, 'n_free_data', 1) or 1)
    n_c, n_l1 = attr(layer, 'n_contract'), attr(layer, 'n_free_kernel')
    if w is None or n_c is None or n_l1 is None or w.size != n_i * int(n_c) * int(n_l1):
        return generic(ctx, layer)
    n_c, n_l1 = int(n_c), int(n_l1)
    w3 = w.reshape(n_i, n_c, n_l1)
    b, _ = weight(layer, 'bias')
    b3 = np.abs(b).reshape(n_i, n_l0, n_l1).max(axis=1) if b is not None and b.size == n_i * n_l0 * n_l1 else None
    o = out_fmt(layer)
    total = LayerCost()
    for i in range(n_i):
        spec = MacSpec(
            w3[i],
            wf,
            in_fmt(layer),
            accum_fmt(layer, o),
            o,
            None if b3 is None else b3[i],
            n_inst=n_l0,
            n_iter=1,
            rf=reuse_factor(layer),
            strategy=strategy(layer),
        )
        c = mac(ctx, spec)
        total.add(c)
        total.latency_cycles = max(total.latency_cycles, c.latency_cycles)
        total.ii_cycles = max(total.ii_cycles, c.ii_cycles)
    total.flags += heterogeneous_input_flag(layer)
    return total


def _conv_geometry(layer):
    oh = int(attr(layer, 'out_height', 1))
    ow = int(attr(layer, 'out_width', 1))
    ih = int(attr(layer, 'in_height', 1))
    iw = int(attr(layer, 'in_width', 1))
    fh = int(attr(layer, 'filt_height', 1))
    fw = int(attr(layer, 'filt_width', 1))
    return ih, iw, oh, ow, fh, fw


def _conv_iterations(ctx: Context, layer, out_pixels: int, in_pixels: int) -> tuple[int, int]:
    """(parallel instances, sequential iterations) of the kernel."""
    if ctx.stream:
        return 1, in_pixels  # line buffer: one iteration per input pixel
    n_part = int(attr(layer, 'n_partitions', 0) or 0)
    if n_part <= 0:
        pf = int(attr(layer, 'parallelization_factor', 1) or 1)
        n_part = max(1, out_pixels // max(1, pf))
    return max(1, out_pixels // n_part), n_part


def _window_read_delay(ctx: Context) -> float:
    """io_stream convolution: the newest column of the kernel window comes, in the multipliers' own cycle, from
    the input stream's FIFO and the line buffer's shift registers (``shift_line_buffer`` is inlined into the
    pipelined pixel loop), so an SRL read precedes the products."""
    return arith.T_SRL_READ_NS if ctx.stream else 0.0


def conv(ctx: Context, layer) -> LayerCost:
    w, wf = weight(layer, 'weight')
    if w is None:
        return generic(ctx, layer)
    ih, iw, oh, ow, fh, fw = _conv_geometry(layer)
    n_chan = int(attr(layer, 'n_chan', w.shape[-2] if w.ndim >= 2 else 1))
    n_filt = int(attr(layer, 'n_filt', w.shape[-1]))
    depthwise = 'Depthwise' in layer.class_name
    o = out_fmt(layer)
    a = in_fmt(layer)
    if depthwise:
        k = fh * fw
        w2 = w.reshape(k, -1)  # each output channel sums over its own kernel window only
    else:
        w2 = w.reshape(-1, n_filt)
    b, _ = weight(layer, 'bias')
    n_inst, n_iter = _conv_iterations(ctx, layer, oh * ow, ih * iw)
    spec = MacSpec(
        w2,
        wf,
        a,
        accum_fmt(layer, o),
        o,
        b,
        n_inst,
        n_iter,
        reuse_factor(layer),
        strategy(layer),
        extra_latency=1 if ctx.stream else 0,
        input_delay_ns=_window_read_delay(ctx),
    )
    c = mac(ctx, spec)
    c.add(line_buffer(ctx, layer, fh, fw, iw, n_chan, a))
    return c.add(stream_fifos(ctx, layer))


def separable(ctx: Context, layer) -> LayerCost:
    dw, dwf = weight(layer, 'depthwise')
    pw, pwf = weight(layer, 'pointwise')
    if dw is None or pw is None:
        return generic(ctx, layer)
    ih, iw, oh, ow, fh, fw = _conv_geometry(layer)
    n_chan = int(attr(layer, 'n_chan', 1))
    n_filt = int(attr(layer, 'n_filt', pw.shape[-1]))
    o = out_fmt(layer)
    a = in_fmt(layer)
    mid = type_fmt(layer, 'depthwise_result_t', o)
    n_inst, n_iter = _conv_iterations(ctx, layer, oh * ow, ih * iw)
    rf, st = reuse_factor(layer), strategy(layer)
    c1 = mac(
        ctx,
        MacSpec(
            dw.reshape(fh * fw, -1),
            dwf,
            a,
            type_fmt(layer, 'depthwise_accum_t', mid),
            mid,
            None,
            n_inst,
            n_iter,
            rf,
            st,
            extra_latency=1 if ctx.stream else 0,
            input_delay_ns=_window_read_delay(ctx),
        ),
    )
    c2 = mac(
        ctx,
        MacSpec(
            pw.reshape(-1, n_filt),
            pwf,
            mid,
            type_fmt(layer, 'pointwise_accum_t', o),
            o,
            weight(layer, 'bias')[0],
            n_inst,
            oh * ow if ctx.stream else n_iter,
            rf,
            st,
        ),
    )
    c = LayerCost(
        latency_cycles=c1.latency_cycles + c2.latency_cycles - (n_iter - 1 if not ctx.stream else 0),
        ii_cycles=max(c1.ii_cycles, c2.ii_cycles),
    )
    c.add(c1).add(c2)
    if ctx.stream:
        c.latency_cycles = max(c1.latency_cycles, c2.latency_cycles) + 3
    c.add(line_buffer(ctx, layer, fh, fw, iw, n_chan, a))
    return c.add(stream_fifos(ctx, layer))


def structure(layer) -> str | None:
    """Calibration: structures the calibration set has no figure of are families of their own (uncalibrated)."""
    if 'Depthwise' in layer.class_name or 'Separable' in layer.class_name:
        return 'dense/conv/depthwise'
    if shares_multipliers(reuse_factor(layer)):
        return 'dense/conv/shared'  # reuse factor > 1: shared multipliers
    return None


# ---- RTL ----------------------------------------------------------------------------------------------------------
def _bias(layer, n_out: int) -> tuple[np.ndarray, Fixed]:
    return weights(layer, 'bias') if has_weights(layer, 'bias') else (np.zeros(n_out), Fixed(1, 1, False))


def lower_dense(layer, inp: RtlInput) -> np.ndarray:
    name = layer.name
    W, w_t = weights(layer, 'weight')
    b, b_t = _bias(layer, W.shape[1])
    y = affine(
        inp.x.reshape(1, -1),
        W.reshape(W.shape[0], -1),
        b,
        inp.type,
        w_t,
        b_t,
        accum_type(layer, name),
        inp.result,
        name,
        inp.solver_options,
    ).ravel()
    act = str(layer.get_attr('activation', 'linear')).lower()
    if act not in ('linear', ''):
        raise RtlUnsupported(f'layer "{name}": a fused {act} activation is not supported; {supported_text()}')
    return y


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
        p[pt : pt + H, pl : pl + W] = x3
        x3 = p
    Hp, Wp, _ = x3.shape
    oh, ow = (Hp - kh) // sh + 1, (Wp - kw) // sw + 1
    rows = np.empty((oh * ow, kh * kw * C), dtype=object)
    for r in range(oh):
        for c in range(ow):
            rows[r * ow + c] = x3[r * sh : r * sh + kh, c * sw : c * sw + kw, :].ravel()
    return rows, (oh, ow)


def lower_conv(layer, inp: RtlInput) -> np.ndarray:
    dims = 1 if layer.class_name == 'Conv1D' else 2
    W, w_t = weights(layer, 'weight')
    b, b_t = _bias(layer, W.shape[-1])
    xs = inp.shape
    rows, _ = _conv_rows(inp.x.reshape(xs if dims == 2 else (xs[0], xs[1])), layer, dims)
    return affine(
        rows,
        W.reshape(-1, W.shape[-1]),
        b,
        inp.type,
        w_t,
        b_t,
        accum_type(layer, layer.name),
        inp.result,
        layer.name,
        inp.solver_options,
    ).ravel()


def lower_einsum_dense(layer, inp: RtlInput) -> np.ndarray:
    """``nnet::einsum_dense`` (Latency): the input transposed to (inplace, free data, contract), for every
    (i, l0) row a ``dense`` with kernel ``i`` (contract x free kernel) and its own bias row, the result transposed
    to the output's order."""
    x, in_t, res_t, solver_options = inp.x, inp.type, inp.result, inp.solver_options
    name = layer.name
    g = layer.get_attr
    n_i, n_l0, n_c, n_l1 = g('n_inplace'), g('n_free_data'), g('n_contract'), g('n_free_kernel')
    W, w_t = weights(layer, 'weight')
    b, b_t = _bias(layer, n_i * n_l0 * n_l1)
    acc_t = accum_type(layer, name)
    xt = x.reshape(tuple(g('inp_shape'))).transpose(tuple(g('inp_tpose_idxs'))).reshape(n_i, n_l0, n_c)
    W = W.reshape(n_i, n_c, n_l1)
    b = np.asarray(b, dtype=np.float64).reshape(n_i, n_l0, n_l1)
    out = np.empty((n_i, n_l0, n_l1), dtype=object)
    for i in range(n_i):
        out[i] = affine(xt[i], W[i], b[i], in_t, w_t, b_t, acc_t, res_t, name, solver_options)
    shape = tuple(g('out_interpert_shape'))
    return out.reshape(shape).transpose(tuple(g('out_tpose_idxs'))).ravel()


FAMILY = Family(
    name='dense/conv',
    hls_classes=('Dense', 'QDense', 'EinsumDense', 'SeparableConv1D', 'SeparableConv2D') + _CONV,
    keras_classes=(
        'Dense',
        'QDense',
        'EinsumDense',
        'Conv1D',
        'Conv2D',
        'QConv1D',
        'QConv2D',
        'QConv2DBatchnorm',
        'DepthwiseConv1D',
        'DepthwiseConv2D',
        'QDepthwiseConv2D',
        'SeparableConv1D',
        'SeparableConv2D',
        'QSeparableConv1D',
        'QSeparableConv2D',
    ),
    passes=(QuantizedMultidimDense, ExactPo2Accumulators, ExactPo2Products, ExactPo2Bias),
    cost={
        'Dense': dense,
        'QDense': dense,
        'EinsumDense': einsum_dense,
        **dict.fromkeys(_CONV, conv),
        'SeparableConv1D': separable,
        'SeparableConv2D': separable,
    },
    subfamily=structure,
    profile='result+accum',
    lower={'Dense': lower_dense, 'EinsumDense': lower_einsum_dense, 'Conv1D': lower_conv, 'Conv2D': lower_conv},
    rtl_supported=('Dense', 'EinsumDense (HGQ2)', 'Conv1D/Conv2D (io_parallel)'),
)
