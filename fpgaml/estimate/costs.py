"""Per-layer cost models: one small function per family of hls4ml layer classes.

Each function receives the converted hls4ml layer and a :class:`Context` (device, clock, IO type) and
returns a :class:`LayerCost`.  Nothing is looked up by model or layer *name*: shapes, precisions, reuse
factor, strategy and the weight values come from the converted graph.

Size: over 400 lines because the cost models of all layer families share the primitives here (``mac``,
``rom``, stream FIFOs) and the calibrated constants; which class uses which model is declared by its family
(:mod:`fpgaml.families`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from . import arith
from .arith import Fmt, fmt_of
from fpgaml.families import cost_functions
from fpgaml.target.devices import Device

BRAM_MIN_BITS = 1024  # memories / FIFOs smaller than this end up in LUTs (SRL / LUTRAM) after synthesis
BRAM_18K_BITS = 18 * 1024
STREAM_CTRL_LUT = 12  # handshake logic of one FIFO (full/empty, read/write enables)
FIFO_BRAM_LUT = 44  # a BRAM FIFO's address counters and flags, beside STREAM_CTRL_LUT
FIFO_BRAM_FF = 10  # a BRAM FIFO's registers: FIFO_BRAM_FF + FIFO_BRAM_FF_PER_ADDR_BIT per address bit
FIFO_BRAM_FF_PER_ADDR_BIT = 4
FIFO_SRL_FF = 5  # a shift-register FIFO of depth <= 4 (one more per address bit above 2)


@dataclass
class Context:
    device: Device
    clock_ns: float
    io_type: str  # "io_parallel" | "io_stream"
    # the HLS tool the hls4ml backend drives: "vivado_hls" (backend Vivado) or "vitis_hls" (backend Vitis)
    tool: str = "vivado_hls"
    uncertainty: float = arith.CLOCK_UNCERTAINTY  # the configured clock uncertainty (fraction of the period)

    @property
    def stream(self) -> bool:
        return self.io_type == "io_stream"

    @property
    def t_eff(self) -> float:
        """The part of the clock period HLS schedules logic into."""
        return self.clock_ns * (1.0 - self.uncertainty)

    def cycles(self, delay_ns: float) -> int:
        return arith.cycles(delay_ns, self.clock_ns, self.device.speed_factor, self.uncertainty)

    @property
    def levels_per_cycle(self) -> int:
        return arith.levels_per_cycle(self.clock_ns, self.device.speed_factor, self.uncertainty)


@dataclass
class LayerCost:
    latency_cycles: int = 0
    ii_cycles: int = 1
    dsp: float = 0.0
    lut: float = 0.0
    ff: float = 0.0
    bram_18k: float = 0.0
    uram: float = 0.0
    flags: list[str] = field(default_factory=list)
    process: bool = True  # is a dataflow process of its own in io_stream (False for pure wiring)
    # the part of lut / ff that is io_stream FIFOs and their handshakes (calibrated as family "stream")
    io_lut: float = 0.0
    io_ff: float = 0.0

    def add(self, other: "LayerCost") -> "LayerCost":
        self.dsp += other.dsp
        self.lut += other.lut
        self.ff += other.ff
        self.io_lut += other.io_lut
        self.io_ff += other.io_ff
        self.bram_18k += other.bram_18k
        self.uram += other.uram
        self.flags += other.flags
        return self


# ---------------------------------------------------------------------------------------------------------
# helpers reading the converted graph
# ---------------------------------------------------------------------------------------------------------
def attr(layer, name, default=None):
    try:
        v = layer.get_attr(name, default)
    except Exception:  # pragma: no cover - defensive: exotic layers
        v = default
    return default if v is None else v


def out_var(layer):
    try:
        return layer.get_output_variable()
    except Exception:
        return None


def in_var(layer, i=0):
    try:
        names = list(layer.inputs)
        if i >= len(names):
            return None
        return layer.get_input_variable(names[i])
    except Exception:
        return None


def shape_of(var) -> list[int]:
    if var is None:
        return []
    try:
        return [int(s) for s in var.shape]
    except Exception:
        return []


def size_of(var) -> int:
    s = shape_of(var)
    return int(np.prod(s)) if s else 0


def out_fmt(layer) -> Fmt:
    v = out_var(layer)
    return fmt_of(v.type.precision) if v is not None else arith.DEFAULT_FMT


def in_fmt(layer, i=0) -> Fmt:
    v = in_var(layer, i)
    return fmt_of(v.type.precision) if v is not None else out_fmt(layer)


def type_fmt(layer, name: str, fallback: Fmt) -> Fmt:
    t = layer.types.get(name) if hasattr(layer, "types") else None
    if t is None:
        t = attr(layer, name)
    if t is None or not hasattr(t, "precision"):
        return fallback
    return fmt_of(t.precision)


def _fixed_width(fixed_type, default: int) -> int:
    """Width of an fpgaml FixedType graph attribute (``fpgaml_*``), or ``default`` where the pass set none."""
    return int(fixed_type.width) if fixed_type is not None else default


GARNET_HLS4ML_DISTANCE_WIDTH = 12  # hls4ml's GarNet template without fpgaml's garnet_distance_type pass


def weight(layer, name: str):
    """(data, Fmt) of a weight variable, or (None, None)."""
    w = layer.weights.get(name) if hasattr(layer, "weights") else None
    if w is None:
        return None, None
    return np.asarray(w.data), fmt_of(w.type.precision)


def reuse_factor(layer) -> int:
    return max(1, int(attr(layer, "reuse_factor", 1) or 1))


def strategy(layer) -> str:
    return str(attr(layer, "strategy", "latency") or "latency").lower()


def stream_fifos(ctx: Context, layer, channels: int | None = None) -> LayerCost:
    """Output FIFOs of an io_stream process: one per channel (hls4ml's ``nnet::array`` is split into a FIFO per
    element), depth from hls4ml's stream pragma.  Deep ones go to BRAM; shallow ones are shift registers
    (SRL, one LUT per bit and 32 entries, a few FFs of pointer) in Vivado HLS -- csynth of the Dense 16x5
    design: 5 FF and 28 LUT per depth-1 16-bit FIFO -- while Vitis HLS builds a depth-1/2 FIFO from registers
    (a word of FFs per entry and a LUT per bit to load it: Dense(1->64)+ReLU, 2,064 FF in Vitis, 326 in Vivado HLS)."""
    c = LayerCost()
    if not ctx.stream:
        return c
    v = out_var(layer)
    pragma = getattr(v, "pragma", None)
    if not (isinstance(pragma, tuple) and len(pragma) >= 2 and pragma[0] == "stream"):
        return c
    depth = max(1, int(pragma[1]))
    shape = shape_of(v)
    n = channels if channels is not None else (shape[-1] if shape else 1)
    w = out_fmt(layer).width
    bits = depth * w
    addr = math.ceil(math.log2(depth)) if depth > 1 else 0
    if bits >= BRAM_MIN_BITS:
        # csynth of the SVHN CNN (Vivado HLS 2020.1): 33-49 FF per BRAM FIFO of depth 36-900, ~56 LUT
        c.bram_18k += n * math.ceil(bits / BRAM_18K_BITS)
        c.lut += n * (STREAM_CTRL_LUT + FIFO_BRAM_LUT)
        c.ff += n * (FIFO_BRAM_FF_PER_ADDR_BIT * addr + FIFO_BRAM_FF)
    elif ctx.tool == "vitis_hls" and depth <= 2:
        c.ff += n * w * depth
        c.lut += n * (w + STREAM_CTRL_LUT)
    else:
        # SRL FIFOs of the SVHN CNN / Dense 16x5 reports: 5 FF at depth 1-4, 7 at depth 16; 28 LUT at 16 bits
        c.lut += n * (w * math.ceil(depth / 32) + STREAM_CTRL_LUT)
        c.ff += n * (FIFO_SRL_FF + max(0, addr - 2))
    c.io_lut, c.io_ff = c.lut, c.ff
    return c


def writes_into_srl(ctx: Context) -> bool:
    """Vivado HLS writes a stream process's results straight into its output FIFO's shift registers (no
    output register: Dense(1->64)+ReLU io_stream, 326 FF; the SVHN CNN's ReLU processes, 3-18 FF); Vitis HLS
    registers them first (2,064 FF).  Dense/Conv apply it to processes that run once per inference; element-wise
    processes on a pixel stream to every pixel."""
    return ctx.stream and ctx.tool != "vitis_hls"


def rom(bits_per_copy: float, copies: int) -> LayerCost:
    """A read-only table replicated ``copies`` times: BRAM when large, LUT ROM (64 bits/LUT6) otherwise."""
    c = LayerCost()
    if bits_per_copy >= BRAM_MIN_BITS * 4:
        c.bram_18k += copies * math.ceil(bits_per_copy / BRAM_18K_BITS)
    else:
        c.lut += copies * math.ceil(bits_per_copy / 64)
    return c


# ---------------------------------------------------------------------------------------------------------
# multiply-accumulate layers: Dense, Conv, Depthwise, Pointwise, Separable, BatchNorm
# ---------------------------------------------------------------------------------------------------------
@dataclass
class MacSpec:
    w: np.ndarray  # (terms, outputs) real weights of one kernel instance
    w_fmt: Fmt
    a_fmt: Fmt
    acc_fmt: Fmt
    o_fmt: Fmt
    bias: np.ndarray | None
    n_inst: int  # parallel kernel instances
    n_iter: int  # sequential iterations (pipelined with II = reuse factor)
    rf: int
    strategy: str
    extra_latency: int = 0  # e.g. stream reads
    input_delay_ns: float = 0.0  # logic between the input registers and the multipliers in the first cycle


def mac(ctx: Context, s: MacSpec) -> LayerCost:
    c = LayerCost()
    n_terms, n_out = s.w.shape
    q = arith.quantize_to_lsb(s.w, s.w_fmt).reshape(n_terms, n_out)
    has_bias = None
    if s.bias is not None:
        has_bias = (np.asarray(s.bias).reshape(-1)[:n_out] != 0).astype(np.float64)
        if has_bias.size < n_out:
            has_bias = np.resize(has_bias, n_out)
    resource = s.strategy.startswith("resource")
    # reuse factor 1: the Resource kernels' reuse loop has one iteration, so every weight index is a constant
    # and HLS folds the one-word weight ROM into constant products, as in the Latency kernel
    shared = shares_multipliers(s.rf)
    if not shared:
        m = arith.constant_mac(q, s.w_fmt, s.a_fmt, s.acc_fmt, has_bias, ctx.device.dsp_width)
        depth = ctx.cycles(s.input_delay_ns + m.mult_delay_ns + m.levels * arith.T_ADD_NS) if m.n_products else 1
        ff = _partial_sum_registers(ctx, m, depth, s.input_delay_ns)
        if not (writes_into_srl(ctx) and s.n_iter == 1):
            ff += n_out * s.o_fmt.width  # output register
        c.dsp = m.dsp * s.n_inst
        c.lut = m.lut * s.n_inst
        c.ff = ff * s.n_inst
        ii = 1
        c.latency_cycles = (s.n_iter - 1) * ii + depth + s.extra_latency
        c.ii_cycles = s.n_iter * ii
        return c
    # shared multipliers: weights are no longer constants at the multiplier input
    n_all = n_terms * n_out if resource else int((q != 0).sum())
    n_mult = max(1, math.ceil(n_all / s.rf))
    dsp1, lut1, t_mult = arith.variable_mult(s.a_fmt, s.w_fmt, ctx.device.dsp_width)
    lut = n_mult * lut1
    lut += n_mult * s.a_fmt.width * (s.rf - 1) / 4.0  # input selection multiplexers
    lut += n_mult * s.acc_fmt.width  # accumulation adders
    ff = n_mult * (s.a_fmt.width + s.w_fmt.width) + n_out * s.acc_fmt.width + n_out * s.o_fmt.width
    bram = 0.0
    wbits = n_mult * s.w_fmt.width  # one weight per multiplier per cycle, RF words deep
    if resource and s.rf > 1 and s.rf * s.w_fmt.width * n_mult >= BRAM_MIN_BITS * 8 and s.rf >= 32:
        bram = math.ceil(wbits / 36) * math.ceil(s.rf / 512)
    else:
        lut += wbits * math.ceil(s.rf / 64)  # LUT ROM
    levels = int(math.ceil(math.log2(max(2, n_mult / max(1, n_out) + 1))))
    depth = ctx.cycles(t_mult + levels * arith.T_ADD_NS) + 1
    c.dsp = n_mult * dsp1 * s.n_inst
    c.lut = lut * s.n_inst
    c.ff = ff * s.n_inst
    c.bram_18k = bram * s.n_inst
    c.latency_cycles = s.n_iter * s.rf + depth + s.extra_latency
    c.ii_cycles = s.n_iter * s.rf
    return c


def shares_multipliers(rf: int) -> bool:
    """Whether a MAC array shares its multipliers between weights (variable operands): reuse factor > 1, in
    either strategy.  At reuse factor 1 the weights are constants (Resource's one-word ROM folds away)."""
    return rf > 1


def _partial_sum_registers(ctx: Context, m: arith.MacCost, depth: int, input_delay_ns: float = 0.0) -> float:
    """Registers of a constant MAC array's pipeline: at each cycle boundary, the partial sums of each output
    still live.  Each output's adder tree starts when its slowest product is ready -- a DSP product if it has
    one (with the probability of that), else a shift-add or a shift -- and a finished output's sum is carried
    to the layer's last stage (one register per boundary)."""
    if depth <= 1:
        return 0.0
    budget = ctx.t_eff / ctx.device.speed_factor - input_delay_ns
    ff = 0.0
    for delay, weight in ((np.full(m.n_out, arith.T_DSP_NS), m.out_p_dsp), (m.out_lut_delay_ns, 1.0 - m.out_p_dsp)):
        done = np.maximum(0, np.floor((budget - delay) / arith.T_ADD_NS))  # adder levels in the first cycle
        for _ in range(1, depth):
            live = np.maximum(1.0, np.ceil(m.out_terms / 2.0**done))
            ff += float((weight * live).sum()) * m.adder_width
            done = done + ctx.levels_per_cycle
    return ff


def _accum(layer, o: Fmt) -> Fmt:
    return type_fmt(layer, "accum_t", o)


def stream_elements(layer) -> int:
    """io_stream: how many stream elements the layer reads per inference.  hls4ml streams a tensor as one
    element per pixel holding its channels (the last axis of the tensor that produced the stream, looking
    through Reshape / Flatten), so a flat tensor is one element."""
    v = in_var(layer)
    n_in = size_of(v)
    elem = None
    src = layer
    for _ in range(8):
        try:
            prev = src.model.graph.get(src.inputs[0]) if hasattr(src.model, "graph") else None
        except Exception:
            prev = None
        if prev is None:
            break
        if prev.class_name not in ("Reshape", "Flatten"):
            sh = shape_of(out_var(prev))
            elem = sh[-1] if sh else None
            break
        src = prev
    if elem is None:
        sh = shape_of(v)
        elem = sh[-1] if sh else n_in
    return max(1, math.ceil(n_in / max(1, elem)))


def _stream_reads(ctx: Context, layer) -> int:
    """Cycles a stream layer spends reading its input when it consumes a whole tensor (Dense)."""
    if not ctx.stream:
        return 0
    reads = stream_elements(layer)
    # one element holding the whole tensor: read and write sit in the pipeline's first and last cycle
    return 0 if reads == 1 else reads + 1  # reads + write


def dense(ctx: Context, layer) -> LayerCost:
    w, wf = weight(layer, "weight")
    if w is None:
        return generic(ctx, layer)
    n_in = int(attr(layer, "n_in", w.shape[0]))
    n_out = int(attr(layer, "n_out", w.shape[-1]))
    w2 = w.reshape(n_in, n_out) if w.size == n_in * n_out else w.reshape(w.shape[0], -1)
    b, _ = weight(layer, "bias")
    o = out_fmt(layer)
    rows = max(1, size_of(in_var(layer)) // max(1, n_in))
    reads = _stream_reads(ctx, layer)
    spec = MacSpec(w2, wf, in_fmt(layer), _accum(layer, o), o, b, n_inst=1 if ctx.stream else rows,
                   n_iter=rows if ctx.stream else 1, rf=reuse_factor(layer), strategy=strategy(layer),
                   extra_latency=reads)
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
    mask = getattr(src, "mask_kbi", None) if src is not None else None
    if mask is None:
        return []
    bits = np.asarray(mask[1])
    if bits.size <= 1 or int(bits.min()) == int(bits.max()):
        return []
    return [f"inputs of heterogeneous widths ({int(bits.min())}-{int(bits.max())} bits, HGQ): products sized for "
            f"the widest ({in_fmt(layer).width} bits), an upper bound"]


def einsum_dense(ctx: Context, layer) -> LayerCost:
    """hls4ml's EinsumDense (HGQ2's QEinsumDense / QEinsumDenseBatchnorm; io_parallel): ``nnet::einsum_dense``
    runs the Latency dense kernel (n_contract inputs x n_free_kernel outputs) once per (inplace, free data) row,
    all unrolled, with kernel ``i`` for inplace index ``i``; the transposes around it are wiring. With
    ``distributed_arithmetic`` hls4ml keeps no weights in the graph: generic estimate."""
    w, wf = weight(layer, "weight")
    n_i, n_l0 = int(attr(layer, "n_inplace", 1) or 1), int(attr(layer, "n_free_data", 1) or 1)
    n_c, n_l1 = attr(layer, "n_contract"), attr(layer, "n_free_kernel")
    if w is None or n_c is None or n_l1 is None or w.size != n_i * int(n_c) * int(n_l1):
        return generic(ctx, layer)
    n_c, n_l1 = int(n_c), int(n_l1)
    w3 = w.reshape(n_i, n_c, n_l1)
    b, _ = weight(layer, "bias")
    b3 = np.abs(b).reshape(n_i, n_l0, n_l1).max(axis=1) if b is not None and b.size == n_i * n_l0 * n_l1 else None
    o = out_fmt(layer)
    total = LayerCost()
    for i in range(n_i):
        spec = MacSpec(w3[i], wf, in_fmt(layer), _accum(layer, o), o, None if b3 is None else b3[i], n_inst=n_l0,
                       n_iter=1, rf=reuse_factor(layer), strategy=strategy(layer))
        c = mac(ctx, spec)
        total.add(c)
        total.latency_cycles = max(total.latency_cycles, c.latency_cycles)
        total.ii_cycles = max(total.ii_cycles, c.ii_cycles)
    total.flags += heterogeneous_input_flag(layer)
    return total


def fixed_point_quantizer(ctx: Context, layer) -> LayerCost:
    """HGQ's heterogeneous quantizer (hls4ml ``FixedPointQuantizer``, io_parallel only): one inlined ``ap_fixed``
    cast per element with that element's widths (``mask_kbi``; 0 bits: the element is the constant 0). A
    TRN/WRAP cast is wiring; RND adds an incrementer over the element's bits, SAT/SAT_SYM a compare-and-select
    of about as many LUTs. It chains into the next layer's first cycle (no register, no cycle of its own)."""
    mask = getattr(layer, "mask_kbi", None)
    if mask is None:
        return generic(ctx, layer)
    shape = tuple(shape_of(in_var(layer)) or shape_of(out_var(layer)))
    bits = np.broadcast_to(np.asarray(mask[1])[0], shape).astype(np.int64)
    rnd = str(getattr(layer, "RND", "TRN")).replace("AP_", "")
    sat = str(getattr(layer, "SAT", "WRAP")).replace("AP_", "")
    per_bit = (1.0 if rnd != "TRN" else 0.0) + (1.0 if sat.startswith("SAT") else 0.0)
    c = LayerCost(latency_cycles=0, ii_cycles=1, process=False)
    c.lut = per_bit * float(bits[bits > 0].sum())
    return c


def _conv_geometry(layer):
    oh = int(attr(layer, "out_height", 1))
    ow = int(attr(layer, "out_width", 1))
    ih = int(attr(layer, "in_height", 1))
    iw = int(attr(layer, "in_width", 1))
    fh = int(attr(layer, "filt_height", 1))
    fw = int(attr(layer, "filt_width", 1))
    return ih, iw, oh, ow, fh, fw


def _conv_iterations(ctx: Context, layer, out_pixels: int, in_pixels: int) -> tuple[int, int]:
    """(parallel instances, sequential iterations) of the kernel."""
    if ctx.stream:
        return 1, in_pixels  # line buffer: one iteration per input pixel
    n_part = int(attr(layer, "n_partitions", 0) or 0)
    if n_part <= 0:
        pf = int(attr(layer, "parallelization_factor", 1) or 1)
        n_part = max(1, out_pixels // max(1, pf))
    return max(1, out_pixels // n_part), n_part


def _window_read_delay(ctx: Context) -> float:
    """io_stream convolution: the newest column of the kernel window comes, in the multipliers' own cycle, from
    the input stream's FIFO and the line buffer's shift registers (``shift_line_buffer`` is inlined into the
    pipelined pixel loop), so an SRL read precedes the products."""
    return arith.T_SRL_READ_NS if ctx.stream else 0.0


def _line_buffer(ctx: Context, layer, fh: int, fw: int, iw: int, n_chan: int, a: Fmt) -> LayerCost:
    c = LayerCost()
    if not ctx.stream or (fh <= 1 and fw <= 1):
        return c
    sr_bits = max(0, fh - 1) * iw * n_chan * a.width  # shift registers holding previous rows
    c.lut += sr_bits / 32.0  # SRLC32E
    c.ff += fh * fw * n_chan * a.width  # the sliding window
    return c


def conv(ctx: Context, layer) -> LayerCost:
    w, wf = weight(layer, "weight")
    if w is None:
        return generic(ctx, layer)
    ih, iw, oh, ow, fh, fw = _conv_geometry(layer)
    n_chan = int(attr(layer, "n_chan", w.shape[-2] if w.ndim >= 2 else 1))
    n_filt = int(attr(layer, "n_filt", w.shape[-1]))
    depthwise = "Depthwise" in layer.class_name
    o = out_fmt(layer)
    a = in_fmt(layer)
    if depthwise:
        k = fh * fw
        w2 = w.reshape(k, -1)  # each output channel sums over its own kernel window only
    else:
        w2 = w.reshape(-1, n_filt)
    b, _ = weight(layer, "bias")
    n_inst, n_iter = _conv_iterations(ctx, layer, oh * ow, ih * iw)
    spec = MacSpec(w2, wf, a, _accum(layer, o), o, b, n_inst, n_iter, reuse_factor(layer), strategy(layer),
                   extra_latency=1 if ctx.stream else 0, input_delay_ns=_window_read_delay(ctx))
    c = mac(ctx, spec)
    c.add(_line_buffer(ctx, layer, fh, fw, iw, n_chan, a))
    return c.add(stream_fifos(ctx, layer))


def separable(ctx: Context, layer) -> LayerCost:
    dw, dwf = weight(layer, "depthwise")
    pw, pwf = weight(layer, "pointwise")
    if dw is None or pw is None:
        return generic(ctx, layer)
    ih, iw, oh, ow, fh, fw = _conv_geometry(layer)
    n_chan = int(attr(layer, "n_chan", 1))
    n_filt = int(attr(layer, "n_filt", pw.shape[-1]))
    o = out_fmt(layer)
    a = in_fmt(layer)
    mid = type_fmt(layer, "depthwise_result_t", o)
    n_inst, n_iter = _conv_iterations(ctx, layer, oh * ow, ih * iw)
    rf, st = reuse_factor(layer), strategy(layer)
    c1 = mac(ctx, MacSpec(dw.reshape(fh * fw, -1), dwf, a, type_fmt(layer, "depthwise_accum_t", mid), mid, None,
                          n_inst, n_iter, rf, st, extra_latency=1 if ctx.stream else 0,
                          input_delay_ns=_window_read_delay(ctx)))
    c2 = mac(ctx, MacSpec(pw.reshape(-1, n_filt), pwf, mid, type_fmt(layer, "pointwise_accum_t", o), o,
                          weight(layer, "bias")[0], n_inst, oh * ow if ctx.stream else n_iter, rf, st))
    c = LayerCost(latency_cycles=c1.latency_cycles + c2.latency_cycles - (n_iter - 1 if not ctx.stream else 0),
                  ii_cycles=max(c1.ii_cycles, c2.ii_cycles))
    c.add(c1).add(c2)
    if ctx.stream:
        c.latency_cycles = max(c1.latency_cycles, c2.latency_cycles) + 3
    c.add(_line_buffer(ctx, layer, fh, fw, iw, n_chan, a))
    return c.add(stream_fifos(ctx, layer))


def batchnorm(ctx: Context, layer) -> LayerCost:
    s, sf = weight(layer, "scale")
    if s is None:
        return generic(ctx, layer)
    b, _ = weight(layer, "bias")
    o = out_fmt(layer)
    n = size_of(out_var(layer))
    per_pixel = s.size
    pixels = max(1, n // max(1, per_pixel))
    # y = x * scale + bias: one constant product per element, no adder tree
    spec = MacSpec(s.reshape(1, -1), sf, in_fmt(layer), o, o, b, n_inst=1 if ctx.stream else pixels,
                   n_iter=pixels if ctx.stream else 1, rf=reuse_factor(layer), strategy="latency",
                   extra_latency=1 if ctx.stream else 0)
    c = mac(ctx, spec)
    return c.add(stream_fifos(ctx, layer))


# ---------------------------------------------------------------------------------------------------------
# activations
# ---------------------------------------------------------------------------------------------------------
_CHEAP = {"relu", "relu6", "linear", "binary_tanh", "ternary_tanh", "step", "sign", "hard_sigmoid",
          "hard_tanh", "leaky_relu", "thresholdedrelu", "thresholded_relu", "prelu", "binary", "ternary"}


def _elementwise_timing(ctx: Context, layer, n: int, comb_cycles: int) -> tuple[int, int, int]:
    """(latency, ii, per-iteration parallel elements) for an element-wise layer."""
    if ctx.stream:
        sh = shape_of(out_var(layer))
        chan = sh[-1] if sh else n
        pixels = max(1, n // max(1, chan))
        if pixels == 1:  # one element: no read loop, the process is its combinational depth (at least a cycle)
            return max(1, comb_cycles), 1, chan
        return pixels + comb_cycles + 1, pixels, chan
    return comb_cycles, 1, n


def is_table_activation(layer) -> bool:
    """A table-based activation (sigmoid, tanh, elu, softmax, ...): a different structure from compare/select."""
    act = str(attr(layer, "activation", layer.class_name) or "").lower()
    if layer.class_name == "Softmax" or act == "softmax" or act == "linear":
        return False
    return not (act in _CHEAP or "relu" in act or layer.class_name in ("TernaryTanh", "PReLU", "HardActivation"))


def exact_table(entries: int, entry_bits: int, lookups: int, in_width: int) -> LayerCost:
    """fpgaml's exact activation (nnet_fpgaml_activation.h): a binned threshold table of ``entries`` x
    ``entry_bits`` (level, threshold offset) read once per lookup (dual-ported: a copy per two lookups), plus
    per lookup the bin index's range checks, the offset comparator and the level increment."""
    c = rom(entries * entry_bits, max(1, math.ceil(lookups / 2)))
    c.lut += lookups * (in_width + entry_bits + 4)
    c.ff += lookups * entry_bits
    return c


def activation(ctx: Context, layer) -> LayerCost:
    act = str(attr(layer, "activation", layer.class_name) or "").lower()
    if layer.class_name == "Softmax" or act == "softmax":
        return softmax(ctx, layer)
    n = size_of(out_var(layer))
    o = out_fmt(layer)
    a = in_fmt(layer)
    c = LayerCost()
    exact = attr(layer, "fpgaml_exact_tables")
    if exact:  # QActivation(quantized_sigmoid / quantized_tanh): fpgaml's exact threshold table
        lat, ii, par = _elementwise_timing(ctx, layer, n, 2 + ctx.cycles(arith.T_BRAM_NS))
        for entries, bits in exact.values():
            c.add(exact_table(entries, bits, par, a.width))
        c.ff += par * o.width
        c.latency_cycles, c.ii_cycles = lat, ii
        return c.add(stream_fifos(ctx, layer))
    if act == "linear":
        c.process = ctx.stream
        lat, ii, par = _elementwise_timing(ctx, layer, n, 0)
        c.latency_cycles, c.ii_cycles = lat, ii
        return c.add(stream_fifos(ctx, layer))
    if act in _CHEAP or "relu" in act or layer.class_name in ("TernaryTanh", "PReLU", "HardActivation"):
        # a compare-and-select chains into the producer's last cycle (csynth shows 0-cycle ReLUs)
        lat, ii, par = _elementwise_timing(ctx, layer, n, 0)
        per = 0.5 * o.width  # compare (sign) + select
        if "leaky" in act or act in ("prelu", "elu") or layer.class_name == "PReLU":
            per += 1.0 * o.width  # multiplication by a constant slope
        if act.startswith("hard"):
            per += 1.5 * o.width
        if a.width > o.width or o.rounding.startswith("RND"):
            per += 2  # saturation / rounding
        c.lut = par * per
        # Vitis registers a pixel stream's results; one element (ii 1) goes out combinationally and Vivado HLS
        # writes into the FIFO's shift registers (csynth of the SVHN CNN: 3-18 FF per ReLU process)
        c.ff = par * o.width if ctx.stream and ii > 1 and not writes_into_srl(ctx) else 0.0
        c.latency_cycles, c.ii_cycles = lat, ii
        return c.add(stream_fifos(ctx, layer))
    # table-based: sigmoid, tanh, elu, selu, softplus, softsign, exp ...
    table_size = int(attr(layer, "table_size", 1024) or 1024)
    tf = type_fmt(layer, "table_t", Fmt(18, 8))
    lat, ii, par = _elementwise_timing(ctx, layer, n, 2 + ctx.cycles(arith.T_BRAM_NS))
    c.add(rom(table_size * tf.width, max(1, math.ceil(par / 2))))
    c.lut += par * (a.width + 4)  # index computation (scale, clamp)
    c.ff += par * (o.width + math.ceil(math.log2(table_size)))
    c.latency_cycles, c.ii_cycles = lat, ii
    return c.add(stream_fifos(ctx, layer))


def softmax(ctx: Context, layer) -> LayerCost:
    n_total = size_of(out_var(layer))
    n = int(attr(layer, "n_in", n_total) or n_total)
    n_outer = max(1, n_total // max(1, n))
    impl = str(attr(layer, "implementation", "stable") or "stable").lower()
    table_size = int(attr(layer, "table_size", 1024) or 1024)
    exp_size = int(attr(layer, "exp_table_size", table_size) or table_size)
    inv_size = int(attr(layer, "inv_table_size", table_size) or table_size)
    ef = type_fmt(layer, "exp_table_t", Fmt(18, 8))
    inf = type_fmt(layer, "inv_table_t", Fmt(18, 8))
    o = out_fmt(layer)
    a = in_fmt(layer)
    c = LayerCost()
    if impl == "argmax":
        c.lut = (n - 1) * 1.5 * a.width + n
        c.ff = n * o.width
        c.latency_cycles = ctx.cycles(math.ceil(math.log2(max(2, n))) * arith.T_ADD_NS)
    else:
        lg = math.ceil(math.log2(max(2, n)))
        c.add(rom(exp_size * ef.width, math.ceil(n / 2)))  # exp table, dual-ported
        c.add(rom(inv_size * inf.width, 1))  # 1/sum table
        dsp1, lut1, t_mult = arith.variable_mult(ef, inf, ctx.device.dsp_width)
        c.dsp += n * dsp1
        c.lut += n * lut1
        c.lut += n * ef.width  # sum tree
        if impl == "stable":
            c.lut += (n - 1) * 1.5 * a.width + n * a.width  # max tree + subtraction
        c.lut += n * 8  # index formation
        c.ff += n * (ef.width + o.width) * 2
        # one combinational chain, pipelined by HLS: max tree, subtract, exp lookup, sum tree, 1/sum lookup,
        # multiplication
        chain = lg * arith.T_ADD_NS * (2 if impl == "stable" else 1) + arith.T_ADD_NS + 2 * arith.T_BRAM_NS + t_mult
        c.latency_cycles = ctx.cycles(chain)
    c.dsp *= n_outer
    c.lut *= n_outer
    c.ff *= n_outer
    c.bram_18k *= 1 if ctx.stream else n_outer
    if ctx.stream:
        c.latency_cycles += n_outer + 1
        c.ii_cycles = n_outer
    return c.add(stream_fifos(ctx, layer))


# ---------------------------------------------------------------------------------------------------------
# pooling, merges, wiring
# ---------------------------------------------------------------------------------------------------------
def pooling(ctx: Context, layer) -> LayerCost:
    cls = layer.class_name
    o = out_fmt(layer)
    a = in_fmt(layer)
    op = str(attr(layer, "pool_op", "Max") or "Max").lower()
    n_filt = int(attr(layer, "n_filt", shape_of(out_var(layer))[-1] if shape_of(out_var(layer)) else 1))
    if cls.startswith("Global"):
        in_sz = size_of(in_var(layer))
        win = max(1, in_sz // max(1, n_filt))
        out_pix = 1
        ih, iw, fh = 1, win, 1
    else:
        ih = int(attr(layer, "in_height", 1))
        iw = int(attr(layer, "in_width", attr(layer, "n_in", 1)))
        fh = int(attr(layer, "pool_height", 1))
        fw = int(attr(layer, "pool_width", 1))
        win = fh * fw
        out_pix = max(1, size_of(out_var(layer)) // max(1, n_filt))
    per_op = (1.5 if op == "max" else 1.0) * a.width
    c = LayerCost()
    lg = math.ceil(math.log2(max(2, win)))
    if ctx.stream:
        if cls.startswith("Global"):
            c.lut = n_filt * per_op
            c.ff = n_filt * a.width
        else:
            c.lut = n_filt * (win - 1) * per_op
            c.add(_line_buffer(ctx, layer, fh, win // max(1, fh), iw, n_filt, a))
        in_pix = max(1, size_of(in_var(layer)) // max(1, n_filt))
        c.latency_cycles = in_pix + ctx.cycles(lg * arith.T_ADD_NS) + 1
        c.ii_cycles = in_pix
    else:
        c.lut = out_pix * n_filt * (win - 1) * per_op
        c.ff = out_pix * n_filt * o.width
        c.latency_cycles = ctx.cycles(lg * arith.T_ADD_NS)
        c.ii_cycles = 1
    if op != "max" and win & (win - 1):
        c.lut += out_pix * n_filt * o.width  # division by a non power of two (constant multiplication)
    return c.add(stream_fifos(ctx, layer))


def merge(ctx: Context, layer) -> LayerCost:
    op = str(attr(layer, "op", layer.class_name) or layer.class_name).lower()
    n = size_of(out_var(layer))
    o = out_fmt(layer)
    a = in_fmt(layer)
    b = in_fmt(layer, 1)
    c = LayerCost()
    if layer.class_name == "Concatenate" or op.startswith("concat"):
        c.process = ctx.stream
        lat, ii, par = _elementwise_timing(ctx, layer, n, 0 if not ctx.stream else 1)
        c.latency_cycles, c.ii_cycles = lat, ii
        if ctx.stream:
            c.lut = par * 2
            c.ff = par * o.width
        return c.add(stream_fifos(ctx, layer))
    if layer.class_name == "Dot" or op == "dot":
        n_in = size_of(in_var(layer))
        dsp1, lut1, t = arith.variable_mult(a, b, ctx.device.dsp_width)
        c.dsp, c.lut = n_in * dsp1, n_in * (lut1 + o.width)
        c.ff = n_in * o.width / 2
        c.latency_cycles = ctx.cycles(t + math.ceil(math.log2(max(2, n_in))) * arith.T_ADD_NS)
        return c.add(stream_fifos(ctx, layer))
    lat_comb = 1
    if op == "multiply":
        dsp1, lut1, t = arith.variable_mult(a, b, ctx.device.dsp_width)
        per_dsp, per_lut = dsp1, lut1
        lat_comb = ctx.cycles(t)
    else:  # add, subtract, average, maximum, minimum
        per_dsp, per_lut = 0.0, (1.5 if op in ("maximum", "minimum") else 1.0) * o.width
    lat, ii, par = _elementwise_timing(ctx, layer, n, lat_comb)
    c.dsp, c.lut, c.ff = par * per_dsp, par * per_lut, par * o.width
    c.latency_cycles, c.ii_cycles = lat, ii
    return c.add(stream_fifos(ctx, layer))


def wiring(ctx: Context, layer) -> LayerCost:
    """Reshape / Flatten / Transpose / padding / cropping / Input: wiring in io_parallel."""
    c = LayerCost(latency_cycles=0, ii_cycles=1, process=False)
    if ctx.stream and layer.class_name not in ("Input", "Reshape", "Flatten", "InputLayer"):
        n = size_of(out_var(layer))
        o = out_fmt(layer)
        lat, ii, par = _elementwise_timing(ctx, layer, n, 1)
        c.latency_cycles, c.ii_cycles, c.process = lat, ii, True
        c.lut = par * 2 + 20
        c.ff = par * o.width + 20
        c.add(stream_fifos(ctx, layer))
    return c


# ---------------------------------------------------------------------------------------------------------
# recurrent layers
# ---------------------------------------------------------------------------------------------------------
def recurrent(ctx: Context, layer) -> LayerCost:
    w, wf = weight(layer, "weight")
    wr, wrf = weight(layer, "recurrent_weight")
    if w is None or wr is None:
        return generic(ctx, layer)
    in_shape = shape_of(in_var(layer))
    n_t = in_shape[0] if len(in_shape) >= 2 else 1
    n_out = int(attr(layer, "n_out", wr.shape[0]))
    o = out_fmt(layer)
    a = in_fmt(layer)
    acc = _accum(layer, o)
    rf, st = reuse_factor(layer), strategy(layer)
    gates = {"LSTM": 4, "GRU": 3}.get(layer.class_name, 1)
    state = Fmt(o.width, o.integer)
    k = mac(ctx, MacSpec(w.reshape(w.shape[0], -1), wf, a, acc, o, weight(layer, "bias")[0], 1, 1, rf, st))
    r = mac(ctx, MacSpec(wr.reshape(wr.shape[0], -1), wrf, state, acc, o, None, 1, 1, rf, st))
    c = LayerCost().add(k).add(r)
    # gate non-linearities: one lookup per gate output in the recurrent activation's table (sigmoid), the
    # others (candidate, and tanh(c) of an LSTM) in the activation's; each table typed as the graph says
    # (fpgaml's per-table types where the recurrent_activation_tables pass set them, else hls4ml's table_t)
    n_recr = (gates - 1) * n_out
    n_act = n_out + (n_out if gates == 4 else 0)
    exact = attr(layer, "fpgaml_exact_tables")
    if exact:
        # fpgaml's exact cell: binned threshold tables (entries x bits each), one lookup per gate output: the
        # sigmoid table for the gates, the candidate's tanh table, and (LSTM) the tanh(c) table
        lookups = {"fpgaml_recr_table": n_recr, "fpgaml_act_table": n_out, "fpgaml_act_c_table": n_out}
        for name, (entries, bits) in exact.items():
            c.add(exact_table(entries, bits, lookups.get(name, n_out), a.width))
    else:
        table_size = int(attr(layer, "table_size", 1024) or 1024)
        shared = type_fmt(layer, "table_t", Fmt(18, 8))
        recr_w = _fixed_width(attr(layer, "fpgaml_recr_table_t"), shared.width)
        act_w = _fixed_width(attr(layer, "fpgaml_act_table_t"), shared.width)
        c.add(rom(table_size * recr_w, max(1, math.ceil(n_recr / 2))))
        c.add(rom(table_size * act_w, max(1, math.ceil(n_act / 2))))
    # element-wise products of the cell update
    n_ew = {4: 3, 3: 3}.get(gates, 0) * n_out
    dsp1, lut1, t = arith.variable_mult(o, o, ctx.device.dsp_width)
    c.dsp += n_ew * dsp1
    c.lut += n_ew * (lut1 + o.width)
    c.ff += (gates + 2) * n_out * o.width
    step = k.latency_cycles + r.latency_cycles + 2 * ctx.cycles(arith.T_BRAM_NS) + ctx.cycles(t) + 1
    c.latency_cycles = n_t * step + 1
    c.ii_cycles = c.latency_cycles  # hls4ml's recurrent loop keeps its state: no overlap between samples
    c.flags.append("recurrent: time steps are sequential; II = latency")
    return c.add(stream_fifos(ctx, layer))


# ---------------------------------------------------------------------------------------------------------
# GarNet / GarNetStack (hls4ml contrib graph layer)
# ---------------------------------------------------------------------------------------------------------
def garnet(ctx: Context, layer) -> LayerCost:
    v = int(attr(layer, "n_vertices", 1))
    n_in = int(attr(layer, "n_in_features", 1) if not isinstance(attr(layer, "n_in_features", 1), list)
               else attr(layer, "n_in_features")[0])
    aggs = attr(layer, "n_aggregators", 1)
    outs = attr(layer, "n_out_features", 1)
    aggs = list(aggs) if isinstance(aggs, (list, tuple)) else [aggs]
    outs = list(outs) if isinstance(outs, (list, tuple)) else [outs]
    rf = reuse_factor(layer)
    o = out_fmt(layer)
    a = in_fmt(layer)
    c = LayerCost()
    lat = 0
    feat = n_in
    for n_a, n_f in zip(aggs, outs):
        # per vertex: distance to each aggregator (n_in x A), edge weight table, transformed features (n_in x A x F)
        per_vertex = feat * n_a + feat * n_a * n_f + n_a * n_f
        # hls4ml unrolls the vertex loop by n_vertices / reuse_factor: RF iterations per pass
        n_mult = math.ceil(per_vertex * v / rf)
        dsp1, lut1, t = arith.variable_mult(a, Fmt(16, 6), ctx.device.dsp_width)
        c.dsp += n_mult * dsp1
        c.lut += n_mult * (lut1 + o.width)
        c.ff += n_mult * o.width / 2 + n_a * n_f * 2 * o.width
        # exp(-d^2) edge-weight table, indexed by the distance: 2^width entries of the edge-weight type
        dist_w = _fixed_width(attr(layer, "fpgaml_distance_t"), GARNET_HLS4ML_DISTANCE_WIDTH)
        ew = type_fmt(layer, "edge_weight_t", Fmt(10, 0, False))
        c.add(rom(2 ** dist_w * ew.width, max(1, math.ceil(v / rf / 2))))
        depth = ctx.cycles(t + math.ceil(math.log2(max(2, feat * v / rf))) * arith.T_ADD_NS) + ctx.cycles(
            arith.T_BRAM_NS)
        lat += 2 * (rf + depth)  # aggregation pass + output pass
        feat = n_f
    c.latency_cycles = int(lat)
    c.ii_cycles = 2 * rf
    c.flags.append("garnet: vertex loop unrolled by n_vertices / reuse_factor")
    return c.add(stream_fifos(ctx, layer))


# ---------------------------------------------------------------------------------------------------------
# fallback
# ---------------------------------------------------------------------------------------------------------
def generic(ctx: Context, layer) -> LayerCost:
    """Conservative estimate for a layer class the estimator has no model for."""
    n_in = max(1, size_of(in_var(layer)))
    n_out = max(1, size_of(out_var(layer)))
    o = out_fmt(layer)
    c = LayerCost()
    n_w = 0
    for wv in getattr(layer, "weights", {}).values():
        try:
            n_w += int(np.count_nonzero(np.asarray(wv.data)))
        except Exception:
            pass
    dsp1, lut1, t = arith.variable_mult(in_fmt(layer), o, ctx.device.dsp_width)
    rf = reuse_factor(layer)
    c.dsp = math.ceil(n_w / rf) * dsp1
    c.lut = math.ceil(n_w / rf) * (lut1 + o.width) + (n_in + n_out) * o.width
    c.ff = 2 * n_out * o.width
    c.latency_cycles = max(2, ctx.cycles(t + math.ceil(math.log2(max(2, n_in))) * arith.T_ADD_NS) + 1) * (
        1 if not ctx.stream else max(1, n_out // max(1, shape_of(out_var(layer))[-1] if shape_of(out_var(layer)) else 1)))
    c.ii_cycles = rf
    c.flags.append(f"no cost model for layer class {layer.class_name!r}: conservative generic estimate")
    return c.add(stream_fifos(ctx, layer))


# The cost model of each hls4ml class, as its layer family declares it (fpgaml.families).
HANDLERS: dict[str, Callable[[Context, object], LayerCost]] = {cls: globals()[fn] for cls, fn in cost_functions().items()}


def handler_for(layer) -> tuple[Callable[[Context, object], LayerCost], bool]:
    """The cost function for a layer and whether it is a known class (by class name, then base classes)."""
    names = [layer.class_name] + [k.__name__ for k in type(layer).__mro__]
    for n in names:
        if n in HANDLERS:
            return HANDLERS[n], True
        if n.startswith("Vivado") and n[len("Vivado"):] in HANDLERS:
            return HANDLERS[n[len("Vivado"):]], True
    return generic, False
