"""What every cost model is built from: the estimate's :class:`Context` and :class:`LayerCost`, readers of the
converted graph, and the shared structures (a MAC array, ROM tables, stream FIFOs, line buffers, element-wise
timing) with their calibrated constants.

A cost model (one per family of hls4ml layer classes, declared in :mod:`fpgaml.families`) receives the converted
hls4ml layer and a :class:`Context` (device, clock, IO type) and returns a :class:`LayerCost`.  Nothing is looked
up by model or layer *name*: shapes, precisions, reuse factor, strategy and the weight values come from the
converted graph.  The readers read what the layer has; a layer without what a cost model reads fails there, and
the estimator says so (:func:`fpgaml.estimate.estimate`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from fpgaml.estimate import arith
from fpgaml.fixed import Fixed
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
    tool: str = 'vivado_hls'
    uncertainty: float = arith.CLOCK_UNCERTAINTY  # the configured clock uncertainty (fraction of the period)

    @property
    def stream(self) -> bool:
        return self.io_type == 'io_stream'

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
    # the part of lut that is LUT-mapped constant products (calibrated as family "dense/conv/lut_products": the HLS
    # tool's own estimate counts them as generic multipliers, synthesis as the shift-adds they are)
    product_lut: float = 0.0
    # the part of ff that is the layer's output register (calibrated as family "registers": an exact count of bits,
    # not a pipeline's live partial sums)
    reg_ff: float = 0.0
    # the result comes from a memory's own output register (a table read): no output register in the fabric
    output_from_memory: bool = False

    def add(self, other: LayerCost) -> LayerCost:
        self.dsp += other.dsp
        self.lut += other.lut
        self.ff += other.ff
        self.io_lut += other.io_lut
        self.io_ff += other.io_ff
        self.product_lut += other.product_lut
        self.reg_ff += other.reg_ff
        self.bram_18k += other.bram_18k
        self.uram += other.uram
        self.flags += other.flags
        return self


# ---------------------------------------------------------------------------------------------------------
# readers of the converted graph
# ---------------------------------------------------------------------------------------------------------
def attr(layer, name, default=None):
    """A layer attribute; ``default`` where the layer has none (or None)."""
    v = layer.get_attr(name, default)
    return default if v is None else v


def out_var(layer):
    return layer.get_output_variable()


def in_var(layer, i=0):
    """The layer's ``i``-th input variable (None: the layer has no such input, e.g. an Input layer)."""
    names = list(layer.inputs)
    return layer.get_input_variable(names[i]) if i < len(names) else None


def shape_of(var) -> list[int]:
    return [int(s) for s in var.shape] if var is not None else []


def size_of(var) -> int:
    s = shape_of(var)
    return int(np.prod(s)) if s else 0


def out_fmt(layer) -> Fixed:
    return Fixed.from_hls4ml(out_var(layer).type.precision)


def in_fmt(layer, i=0) -> Fixed:
    """The type of the layer's ``i``-th input (a layer without inputs: its output type)."""
    v = in_var(layer, i)
    return Fixed.from_hls4ml(v.type.precision) if v is not None else out_fmt(layer)


def type_fmt(layer, name: str, fallback: Fixed) -> Fixed:
    """A named type of the layer (``accum_t``, ``table_t``, ...), ``fallback`` where the layer has none."""
    t = layer.types.get(name)
    if t is None:
        t = attr(layer, name)
    if t is None or not hasattr(t, 'precision'):
        return fallback
    return Fixed.from_hls4ml(t.precision)


def accum_fmt(layer, o: Fixed) -> Fixed:
    return type_fmt(layer, 'accum_t', o)


def fixed_width(fixed_type, default: int) -> int:
    """Width of an fpgaml Fixed graph attribute (``fpgaml_*``), or ``default`` where the pass set none."""
    return int(fixed_type.width) if fixed_type is not None else default


def weight(layer, name: str):
    """(data, Fixed) of a weight variable, or (None, None) where the layer has none of that name."""
    w = layer.weights.get(name)
    if w is None:
        return None, None
    return np.asarray(w.data), Fixed.from_hls4ml(w.type.precision)


def reuse_factor(layer) -> int:
    return max(1, int(attr(layer, 'reuse_factor', 1) or 1))


def strategy(layer) -> str:
    return str(attr(layer, 'strategy', 'latency') or 'latency').lower()


def stream_elements(layer) -> int:
    """io_stream: how many stream elements the layer reads per inference.  hls4ml streams a tensor as one
    element per pixel holding its channels (the last axis of the tensor that produced the stream, looking
    through Reshape / Flatten), so a flat tensor is one element."""
    v = in_var(layer)
    n_in = size_of(v)
    elem = None
    src = layer
    for _ in range(8):
        prev = src.model.graph.get(src.inputs[0]) if src.inputs else None
        if prev is None:
            break
        if prev.class_name not in ('Reshape', 'Flatten'):
            sh = shape_of(out_var(prev))
            elem = sh[-1] if sh else None
            break
        src = prev
    if elem is None:
        sh = shape_of(v)
        elem = sh[-1] if sh else n_in
    return max(1, math.ceil(n_in / max(1, elem)))


# ---------------------------------------------------------------------------------------------------------
# shared structures
# ---------------------------------------------------------------------------------------------------------
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
    pragma = getattr(v, 'pragma', None)
    if not (isinstance(pragma, tuple) and len(pragma) >= 2 and pragma[0] == 'stream'):
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
    elif ctx.tool == 'vitis_hls' and depth <= 2:
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
    return ctx.stream and ctx.tool != 'vitis_hls'


def rom(bits_per_copy: float, copies: int) -> LayerCost:
    """A read-only table replicated ``copies`` times: BRAM when large, LUT ROM (64 bits/LUT6) otherwise."""
    c = LayerCost()
    if bits_per_copy >= BRAM_MIN_BITS * 4:
        c.bram_18k += copies * math.ceil(bits_per_copy / BRAM_18K_BITS)
    else:
        c.lut += copies * math.ceil(bits_per_copy / 64)
    return c


@dataclass
class MacSpec:
    w: np.ndarray  # (terms, outputs) real weights of one kernel instance
    w_fmt: Fixed
    a_fmt: Fixed
    acc_fmt: Fixed
    o_fmt: Fixed
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
    resource = s.strategy.startswith('resource')
    if not shares_multipliers(s.strategy):
        # Latency kernels: the weights are a fully partitioned constant array (function_instantiate), so every
        # product has a constant operand at any reuse factor; PIPELINE II=RF lets HLS share each DSP-bound product's
        # multiplier over RF cycles (ALLOCATION mul limit), while LUT-mapped shift-adds stay one per constant
        m = arith.constant_mac(q, s.w_fmt, s.a_fmt, s.acc_fmt, has_bias, ctx.device.dsp_width)
        depth = ctx.cycles(s.input_delay_ns + m.mult_delay_ns + m.levels * arith.T_ADD_NS) if m.n_products else 1
        # RF > 1: the products and partial sums are also held over the RF cycles they are scheduled in
        ff = _partial_sum_registers(ctx, m, depth + (s.rf if s.rf > 1 else 0), s.input_delay_ns)
        if not (writes_into_srl(ctx) and s.n_iter == 1):
            c.reg_ff = n_out * s.o_fmt.width * s.n_inst  # output register
        c.dsp = m.dsp / s.rf * s.n_inst
        c.lut = m.lut * s.n_inst
        c.product_lut = m.lut_products * s.n_inst
        c.ff = ff * s.n_inst + c.reg_ff
        # RF > 1: the shared products are scheduled over the RF cycles of an iteration before the adder tree
        c.latency_cycles = (s.n_iter - 1) * s.rf + depth + (s.rf if s.rf > 1 else 0) + s.extra_latency
        c.ii_cycles = s.n_iter * s.rf
        return c
    # Resource kernels: the weights are read from a reshaped array (a ROM, one word at reuse factor 1) inside the
    # pipelined reuse loop, so the multipliers see variable weights: zero and power-of-two weights cost as much
    # as any other (nnet_dense_resource.h, nnet_conv2d_resource.h)
    n_all = n_terms * n_out
    n_mult = max(1, math.ceil(n_all / s.rf))
    dsp1, lut1, t_mult = arith.variable_mult(s.a_fmt, s.w_fmt, ctx.device.dsp_width)
    lut = n_mult * lut1
    lut += n_mult * s.a_fmt.width * (s.rf - 1) / 4.0  # input selection multiplexers
    lut += n_mult * s.acc_fmt.width  # accumulation adders
    ff = n_mult * (s.a_fmt.width + s.w_fmt.width) + n_out * s.acc_fmt.width
    c.reg_ff = n_out * s.o_fmt.width * s.n_inst  # output register
    bram = 0.0
    wbits = n_mult * s.w_fmt.width  # one weight per multiplier per cycle, RF words deep
    if resource and s.rf > 1 and s.rf * s.w_fmt.width * n_mult >= BRAM_MIN_BITS * 8 and s.rf >= 32:
        bram = math.ceil(wbits / 36) * math.ceil(s.rf / 512)
    elif s.rf > 1:
        lut += wbits * math.ceil(s.rf / 64)  # LUT ROM (one word at reuse factor 1: constants, no ROM)
    levels = int(math.ceil(math.log2(max(2, n_mult / max(1, n_out) + 1))))
    depth = ctx.cycles(t_mult + levels * arith.T_ADD_NS) + 1
    c.dsp = n_mult * dsp1 * s.n_inst
    c.lut = lut * s.n_inst
    c.ff = ff * s.n_inst + c.reg_ff
    c.bram_18k = bram * s.n_inst
    c.latency_cycles = s.n_iter * s.rf + depth + s.extra_latency
    c.ii_cycles = s.n_iter * s.rf
    return c


def shares_multipliers(strategy: str) -> bool:
    """Whether a MAC array multiplies by variable weights: the Resource strategy at any reuse factor (its weights
    come from a ROM read in the reuse loop).  The Latency kernels multiply by constants at any reuse factor (only
    their DSPs are shared, see :func:`mac`)."""
    return str(strategy).lower().startswith('resource')


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


def elementwise_timing(ctx: Context, layer, n: int, comb_cycles: int) -> tuple[int, int, int]:
    """(latency, ii, per-iteration parallel elements) for an element-wise layer."""
    if ctx.stream:
        sh = shape_of(out_var(layer))
        chan = sh[-1] if sh else n
        pixels = max(1, n // max(1, chan))
        if pixels == 1:  # one element: no read loop, the process is its combinational depth (at least a cycle)
            return max(1, comb_cycles), 1, chan
        return pixels + comb_cycles + 1, pixels, chan
    return comb_cycles, 1, n


def line_buffer(ctx: Context, layer, fh: int, fw: int, iw: int, n_chan: int, a: Fixed) -> LayerCost:
    """io_stream windows (convolution, pooling): shift registers holding the previous rows and the window."""
    c = LayerCost()
    if not ctx.stream or (fh <= 1 and fw <= 1):
        return c
    sr_bits = max(0, fh - 1) * iw * n_chan * a.width  # shift registers holding previous rows
    c.lut += sr_bits / 32.0  # SRLC32E
    c.ff += fh * fw * n_chan * a.width  # the sliding window
    return c


def exact_table(entries: int, entry_bits: int, lookups: int, in_width: int) -> LayerCost:
    """fpgaml's exact activation (nnet_fpgaml_activation.h): a binned threshold table of ``entries`` x
    ``entry_bits`` (level, threshold offset) read once per lookup (dual-ported: a copy per two lookups), plus
    per lookup the bin index's range checks, the offset comparator and the level increment."""
    c = rom(entries * entry_bits, max(1, math.ceil(lookups / 2)))
    c.lut += lookups * (in_width + entry_bits + 4)
    c.ff += lookups * entry_bits
    return c
