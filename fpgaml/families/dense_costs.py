"""The cost models of the Dense/Conv family (:mod:`fpgaml.families.dense`, which declares them with the rest of
what fpgaml knows about these layers): each layer is a MAC array of constant or shared multipliers
(:func:`fpgaml.estimate.primitives.mac`) -- Dense and EinsumDense once per row, convolutions per output pixel or,
in io_stream, per input pixel behind a line buffer, separable convolutions as a depthwise and a pointwise array
-- and structures without calibration figures are calibration sub-families of their own."""

from __future__ import annotations

import numpy as np

from fpgaml.convert.passes.da_kernels import DA as DA_STRATEGY
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


def _stream_reads(ctx: Context, layer) -> int:
    """Cycles a stream layer spends reading its input when it consumes a whole tensor (Dense)."""
    if not ctx.stream:
        return 0
    reads = stream_elements(layer)
    # one element holding the whole tensor: read and write sit in the pipeline's first and last cycle
    return 0 if reads == 1 else reads + 1  # reads + write


def distributed_arithmetic(ctx: Context, layer) -> LayerCost:
    """``Strategy: distributed_arithmetic``: hls4ml's adder graphs of the kernels (:mod:`fpgaml.estimate.da_hls`), no
    DSP; once per row (Dense, EinsumDense) or output pixel (Conv) in io_parallel, one instance over the pixels in
    io_stream."""
    from fpgaml.estimate.da_hls import kernel

    k = kernel(layer)
    if k is None:
        c = generic(ctx, layer)
        c.flags.append('distributed arithmetic without the kernel hls4ml solved: generic estimate')
        return c
    rows = max(1, size_of(layer.get_output_variable()) // max(1, k.outputs))  # Dense rows, Conv pixels, Einsum free
    inst = 1 if ctx.stream else rows
    c = LayerCost(
        latency_cycles=k.estimate.cycles + (rows - 1 if ctx.stream else 0),
        ii_cycles=rows if ctx.stream else 1,
        lut=inst * k.estimate.lut,
        ff=inst * k.estimate.ff,
    )
    if not k.matches_firmware:
        c.flags.append(
            f'the adder graph solved for the estimate costs {k.cost:.0f} where hls4ml recorded '
            f'{k.recorded_cost:.0f}: the estimate may not describe the written kernel'
        )
    return c.add(stream_fifos(ctx, layer))


def dense(ctx: Context, layer) -> LayerCost:
    if strategy(layer) == DA_STRATEGY:
        return distributed_arithmetic(ctx, layer)
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
    all unrolled, with kernel ``i`` for inplace index ``i``; the transposes around it are wiring."""
    if strategy(layer) == DA_STRATEGY:
        return distributed_arithmetic(ctx, layer)
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


def im2col_mux(ctx: Context, n_elements: int, width: int, n_part: int) -> LayerCost:
    """io_parallel convolutions over several partitions: hls4ml's generated ``fill_buffer`` copies each window element
    of the partition the pipelined PartitionLoop is at from one of ``n_part`` input positions (a branch per
    partition), a multiplexer of ``n_part`` inputs per bit; a LUT6 is a 4:1 mux, so (n_part - 1) / 3 LUTs per bit."""
    c = LayerCost()
    if not ctx.stream and n_part > 1:
        c.lut = n_elements * width * (n_part - 1) / 3.0
    return c


def conv(ctx: Context, layer) -> LayerCost:
    if strategy(layer) == DA_STRATEGY:
        return distributed_arithmetic(ctx, layer)
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
    c.add(im2col_mux(ctx, n_inst * fh * fw * n_chan, a.width, n_iter))
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
    c.add(im2col_mux(ctx, n_inst * fh * fw * n_chan, a.width, n_iter))  # the depthwise kernel's window
    c.add(im2col_mux(ctx, n_inst * n_chan, mid.width, n_iter))  # the pointwise kernel's (one position)
    c.add(line_buffer(ctx, layer, fh, fw, iw, n_chan, a))
    return c.add(stream_fifos(ctx, layer))


def structure(layer) -> str | None:
    """Calibration: structures the calibration set has no figure of are families of their own (uncalibrated)."""
    if 'Depthwise' in layer.class_name or 'Separable' in layer.class_name:
        return 'dense/conv/depthwise'
    if strategy(layer) == DA_STRATEGY:
        return 'dense/conv/da'  # hls4ml's adder graphs: the DA cost model (fitted to Yosys), no vendor figure
    if shares_multipliers(strategy(layer)):
        return 'dense/conv/shared'  # Resource strategy: variable weights from a ROM, shared multipliers
    if reuse_factor(layer) > 1:
        # Latency kernel pipelined at II = reuse factor: constant products, DSPs and their input multiplexers shared
        return 'dense/conv/reuse'
    return None
