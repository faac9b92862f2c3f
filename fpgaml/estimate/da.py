"""A cost model of the distributed-arithmetic (DA) form: da4ml's adder graph, counted, not the HLS firmware.

The HLS estimator (:mod:`fpgaml.estimate.estimator`) describes hls4ml's Latency firmware: multipliers, DSPs for
the wider products, HLS pipeline depth. A DA design (``fpgaml rtl``, da4ml) has none of that: it is a graph of
shift-and-add operations cut into register stages. This module counts that graph as fpgaml builds it
(:func:`fpgaml.rtl.model.estimate_da`: the same code path as ``fpgaml rtl``) and turns the counts into
figures:

* DSP = 0 (no multiplier is left in a constant-matrix adder graph);
* cycles = the pipeline's stage count (``fpgaml rtl``'s testbench measures exactly this in Verilator);
* LUT = ``LUT_PER_ADDER_BIT`` x the carry-chain bits of the adders/subtractors + ``LUT_PER_LOGIC_BIT`` x the
  output bits of the other logic (ReLU, MSB multiplexers, bit operations, negations);
* FF = ``FF_PER_REG_BIT`` x the bits crossing each stage boundary (da4ml's ``reg_bits``).

The three factors are fitted against Yosys ``synth_xilinx`` cell counts (Yosys is the reference here, not
Vivado; ``benchmarks/da_estimate.py``, data in ``benchmarks/results/da_yosys.json``).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

# Fitted by benchmarks/da_estimate.py (--refit) on benchmarks/results/da_yosys.json: Yosys 0.70 synth_xilinx
# (classic abc) cell counts of da4ml 0.6.0's Verilog, 11 designs. Yosys keeps every register bit (FF = reg_bits
# on all 11); abc packs some adder bits together with the ReLU/multiplexer logic in front of them.
LUT_PER_ADDER_BIT = 0.871
LUT_PER_LOGIC_BIT = 0.499
FF_PER_REG_BIT = 1.0
# alkaid's fused three-operand adders (ternary_adder.v): Yosys's classic-abc flow has no ternary carry chain, so a
# three-term sum costs about two adder bits per bit. Fitted by benchmarks/rtl_backends.py (fit_ternary) on its 7
# alkaid designs with the factors above held: LUT within -4%..+11% of Yosys (da4ml designs have no ternary adders).
LUT_PER_TERNARY_BIT = 1.69

# da4ml's delay units (about one adder each) per pipeline stage: ``fpgaml rtl``'s default, and the stage the HLS
# distributed-arithmetic estimate cuts hls4ml's adder graphs at (fpgaml.estimate.da_hls)
DEFAULT_CUTOFF = 5.0

# da4ml 0.6.0's opcodes
ADD_OPS = (0, 1, 4)  # a + b<<s, a - b<<s, a + constant
NEG_OPS = (-3,)  # quantize(-x): a negation, one carry chain
LOGIC_OPS = (2, -2, 6, -6, 9, -9, 10)  # ReLU, MSB multiplexer, bit operations: one LUT level per output bit
FREE_OPS = (-1, 3, 5)  # input copy, quantize (wires), constant
# alkaid 0.8's opcodes (ALIR): operands in ``op.addr``, payload tuple in ``op.data``
ALKAID_ADD_OPS = (0, 1, 4, 11)  # a +/- b<<s, a + constant, a signed shifted sum (a fused ternary adder)
ALKAID_NEG_OPS = (-2,)  # -x
ALKAID_LOGIC_OPS = (2, 6, 9, 10)  # ReLU, MSB multiplexer, bit operations
ALKAID_FREE_OPS = (-1, 3, 5)  # input copy, quantize (wires), constant
ALKAID_TABLE_OPS = (8,)  # a lookup table: one LUT per output bit for up to 6 address bits


@dataclass
class DaCounts:
    """Structural counts of one da4ml pipeline (or combinational logic): what the factors multiply."""

    adder_bits: int = 0  # carry-chain bits of the adders/subtractors (and negations)
    adder_out_bits: int = 0  # their full output widths (pass-through low bits included)
    adders: int = 0
    logic_bits: int = 0  # output bits of ReLU, multiplexers, bit operations (and alkaid's lookup tables)
    ternary_adders: int = 0  # alkaid's fused three-operand adders (counted in adders)
    ternary_bits: int = 0  # their carry-chain bits (counted in adder_bits too)
    other_ops: int = 0  # multiplications and lookup tables (none in the designs fpgaml builds)
    reg_bits: int = 0  # register bits at the stage boundaries (inputs and each stage's outputs)
    stages: int = 0  # 0: combinational
    da4ml_cost: float = 0.0

    def to_json(self) -> dict:
        return asdict(self)

    def beside(self, other: DaCounts) -> DaCounts:
        """The counts of two graphs side by side (run in parallel): every count added, the stages the deeper's."""
        both = {k: v + getattr(other, k) for k, v in asdict(self).items()}
        return DaCounts(**{**both, 'stages': max(self.stages, other.stages)})


@dataclass
class DaEstimate:
    """The DA form's figures: structural counts times the fitted factors."""

    lut: int
    ff: int
    dsp: int
    cycles: int
    counts: DaCounts

    def to_json(self) -> dict:
        d = asdict(self)
        d['counts'] = self.counts.to_json()
        return d


def _lsb(qint) -> int:
    """Position of the lowest bit (-fractional bits) of a value's interval; 0 for the constant 0."""
    return int(round(math.log2(qint.step))) if qint.step > 0 else 0


def _carry_bits(op, ops, width) -> int:
    """Bits of an addition that go through the carry chain: the output's bits above the lower operand's lowest
    bit (the bits below it are the other operand's, wired through)."""
    w = width(op.qint)
    if op.opcode == 4:  # + constant
        return w
    a, b = ops[op.id0].qint, ops[op.id1].qint
    lo = max(_lsb(a), _lsb(b) + int(op.data))
    return max(0, min(w, w - (lo - _lsb(op.qint))))


def _sum_carry_bits(op, ops, width) -> int:
    """alkaid's signed shifted sum of two or more terms (opcode 11, a ternary adder when three): the output's bits
    above the second-lowest term's lowest bit go through the carry chain (below it one term is wired through)."""
    w = width(op.qint)
    los = sorted(_lsb(ops[a].qint) + int(op.data[2 * n + 1]) for n, a in enumerate(op.addr))
    return max(0, min(w, w - (los[1] - _lsb(op.qint))))


def count_alkaid_logic(comb, counts: DaCounts, width) -> DaCounts:
    """Add the operations of one alkaid ``CombLogic`` (one FSM logic block) to ``counts``; ``width``: a
    QInterval's bits (the library's minimal_kif)."""
    ops = comb.ops
    for op in ops:
        code = op.opcode
        counts.da4ml_cost += float(op.cost)
        if code in ALKAID_FREE_OPS:
            continue
        if code in ALKAID_ADD_OPS:
            counts.adders += 1
            counts.ternary_adders += int(code == 11 and len(op.addr) >= 3)
            if code == 4:
                counts.adder_bits += width(op.qint)
            elif code == 11:
                bits = _sum_carry_bits(op, ops, width)
                counts.adder_bits += bits
                counts.ternary_bits += bits if len(op.addr) >= 3 else 0
            else:  # a +/- b<<s: as da4ml's
                a, b = ops[op.addr[0]].qint, ops[op.addr[1]].qint
                w = width(op.qint)
                lo = max(_lsb(a), _lsb(b) + int(op.data[0]))
                counts.adder_bits += max(0, min(w, w - (lo - _lsb(op.qint))))
            counts.adder_out_bits += width(op.qint)
        elif code in ALKAID_NEG_OPS:
            counts.adders += 1
            counts.adder_bits += max(width(op.qint), width(ops[op.addr[0]].qint))
            counts.adder_out_bits += width(op.qint)
        elif code in ALKAID_LOGIC_OPS:
            counts.logic_bits += width(op.qint)
        elif code in ALKAID_TABLE_OPS:
            address = width(ops[op.addr[0]].qint)
            counts.logic_bits += width(op.qint) * max(1, 2 ** max(0, address - 6))
        else:
            counts.other_ops += 1
    return counts


def count_logic(comb, counts: DaCounts, width) -> DaCounts:
    """Add the operations of one da4ml ``CombLogic`` (one pipeline stage) to ``counts``; ``width``: a QInterval's
    bits (the library's minimal_kif)."""
    ops = comb.ops
    for op in ops:
        code = op.opcode
        counts.da4ml_cost += float(op.cost)
        if code in FREE_OPS:
            continue
        if code in ADD_OPS:
            counts.adders += 1
            counts.adder_bits += _carry_bits(op, ops, width)
            counts.adder_out_bits += width(op.qint)
        elif code in NEG_OPS:  # -x, then the cast: a borrow chain over the input's bits (a sign test when 1 bit)
            counts.adders += 1
            counts.adder_bits += max(width(op.qint), width(ops[op.id0].qint))
            counts.adder_out_bits += width(op.qint)
        elif code in LOGIC_OPS:
            counts.logic_bits += width(op.qint)
        else:
            counts.other_ops += 1
    return counts


def da4ml_names():
    """The names :func:`count` needs for da4ml 0.6.0's structures (``fpgaml rtl`` passes its backend's own, da4ml's
    being these; hls4ml's distributed_arithmetic strategy is da4ml 0.6.0: :mod:`fpgaml.estimate.da_hls`)."""
    from types import SimpleNamespace

    from da4ml.types import Pipeline, minimal_kif

    def stages_of(staged):
        if isinstance(staged, Pipeline):
            return list(staged.solutions), int(staged.reg_bits), len(staged.solutions)
        return [staged], 0, 0

    return SimpleNamespace(name='da4ml', width=lambda q: int(sum(minimal_kif(q))), stages_of=stages_of)


def count(staged, lib=None) -> DaCounts:
    """Structural counts of what a backend's Verilog is: a da4ml ``Pipeline`` (registered stages) or ``CombLogic``
    (combinational), or an alkaid ``FSM`` (logic blocks). ``lib``: that backend's names
    (:func:`fpgaml.rtl.backend.api`, passed in so that this module does not import the RTL backend); None: da4ml's."""
    lib = lib or da4ml_names()
    counts = DaCounts()
    blocks, counts.reg_bits, counts.stages = lib.stages_of(staged)
    per_block = count_alkaid_logic if lib.name == 'alkaid' else count_logic
    for block in blocks:
        per_block(block, counts, lib.width)
    return counts


def figures(counts: DaCounts, factors: dict | None = None) -> DaEstimate:
    """The DA figures of structural counts; ``factors`` (``lut_adder``, ``lut_ternary``, ``lut_logic``, ``ff``) override the
    fitted module constants (the benchmark's cross-validation passes its own)."""
    f = {
        'lut_adder': LUT_PER_ADDER_BIT,
        'lut_ternary': LUT_PER_TERNARY_BIT,
        'lut_logic': LUT_PER_LOGIC_BIT,
        'ff': FF_PER_REG_BIT,
        **(factors or {}),
    }
    binary = counts.adder_bits - counts.ternary_bits
    lut = f['lut_adder'] * binary + f['lut_ternary'] * counts.ternary_bits + f['lut_logic'] * counts.logic_bits
    ff = f['ff'] * counts.reg_bits
    return DaEstimate(int(round(lut)), int(round(ff)), 0, counts.stages, counts)


def estimate_written(staged, lib=None) -> DaEstimate:
    """The figures of a design ``fpgaml rtl`` wrote with backend ``lib``: ``staged`` is what its Verilog is
    (``Design.staged``: da4ml's pipeline, its combinational logic at pipeline_cutoff 0, or alkaid's FSM)."""
    return figures(count(staged, lib))


def summary_line(est: dict) -> str:
    """One line for the ``fpgaml rtl`` report, beside the Yosys figures (``RtlResult.da_estimate``)."""
    c = est['counts']
    return (
        f'estimate (DA): LUT {est["lut"]:,}, FF {est["ff"]:,}, DSP 0, {est["cycles"]} cycles (adder graph: '
        f'{c["adder_bits"]:,} adder bits, {c["logic_bits"]:,} logic bits, {c["reg_bits"]:,} register bits; '
        f'factors fitted to Yosys cell counts)'
    )
