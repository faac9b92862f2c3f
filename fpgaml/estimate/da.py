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

# da4ml's delay units (about one adder each) per pipeline stage: ``fpgaml rtl``'s default, and the stage the HLS
# distributed-arithmetic estimate cuts hls4ml's adder graphs at (fpgaml.estimate.da_hls)
DEFAULT_CUTOFF = 5.0

ADD_OPS = (0, 1, 4)  # a + b<<s, a - b<<s, a + constant
NEG_OPS = (-3,)  # quantize(-x): a negation, one carry chain
LOGIC_OPS = (2, -2, 6, -6, 9, -9, 10)  # ReLU, MSB multiplexer, bit operations: one LUT level per output bit
FREE_OPS = (-1, 3, 5)  # input copy, quantize (wires), constant


@dataclass
class DaCounts:
    """Structural counts of one da4ml pipeline (or combinational logic): what the factors multiply."""

    adder_bits: int = 0  # carry-chain bits of the adders/subtractors (and negations)
    adder_out_bits: int = 0  # their full output widths (pass-through low bits included)
    adders: int = 0
    logic_bits: int = 0  # output bits of ReLU, multiplexers, bit operations
    other_ops: int = 0  # multiplications and lookup tables (none in the designs fpgaml builds)
    reg_bits: int = 0  # register bits at the stage boundaries (inputs and each stage's outputs)
    stages: int = 0  # 0: combinational
    da4ml_cost: float = 0.0

    def to_json(self) -> dict:
        return asdict(self)


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


def _width(qint) -> int:
    from da4ml.types import minimal_kif

    return int(sum(minimal_kif(qint)))


def _lsb(qint) -> int:
    """Position of the lowest bit (-fractional bits) of a value's interval; 0 for the constant 0."""
    return int(round(math.log2(qint.step))) if qint.step > 0 else 0


def _carry_bits(op, ops) -> int:
    """Bits of an addition that go through the carry chain: the output's bits above the lower operand's lowest
    bit (the bits below it are the other operand's, wired through)."""
    w = _width(op.qint)
    if op.opcode == 4:  # + constant
        return w
    a, b = ops[op.id0].qint, ops[op.id1].qint
    lo = max(_lsb(a), _lsb(b) + int(op.data))
    return max(0, min(w, w - (lo - _lsb(op.qint))))


def count_logic(comb, counts: DaCounts) -> DaCounts:
    """Add the operations of one da4ml ``CombLogic`` (one pipeline stage) to ``counts``."""
    ops = comb.ops
    for op in ops:
        code = op.opcode
        counts.da4ml_cost += float(op.cost)
        if code in FREE_OPS:
            continue
        if code in ADD_OPS:
            counts.adders += 1
            counts.adder_bits += _carry_bits(op, ops)
            counts.adder_out_bits += _width(op.qint)
        elif code in NEG_OPS:  # -x, then the cast: a borrow chain over the input's bits (a sign test when 1 bit)
            counts.adders += 1
            counts.adder_bits += max(_width(op.qint), _width(ops[op.id0].qint))
            counts.adder_out_bits += _width(op.qint)
        elif code in LOGIC_OPS:
            counts.logic_bits += _width(op.qint)
        else:
            counts.other_ops += 1
    return counts


def count(pipe_or_comb) -> DaCounts:
    """Structural counts of a da4ml ``Pipeline`` (registered stages) or ``CombLogic`` (combinational)."""
    from da4ml.types import Pipeline

    counts = DaCounts()
    if isinstance(pipe_or_comb, Pipeline):
        for stage in pipe_or_comb.solutions:
            count_logic(stage, counts)
        counts.reg_bits = int(pipe_or_comb.reg_bits)
        counts.stages = len(pipe_or_comb.solutions)
    else:
        count_logic(pipe_or_comb, counts)
    return counts


def figures(counts: DaCounts, factors: dict | None = None) -> DaEstimate:
    """The DA figures of structural counts; ``factors`` (``lut_adder``, ``lut_logic``, ``ff``) override the
    fitted module constants (the benchmark's cross-validation passes its own)."""
    f = {'lut_adder': LUT_PER_ADDER_BIT, 'lut_logic': LUT_PER_LOGIC_BIT, 'ff': FF_PER_REG_BIT, **(factors or {})}
    lut = f['lut_adder'] * counts.adder_bits + f['lut_logic'] * counts.logic_bits
    ff = f['ff'] * counts.reg_bits
    return DaEstimate(int(round(lut)), int(round(ff)), 0, counts.stages, counts)


def estimate_written(rtl_dir, comb, pipelined: bool) -> DaEstimate:
    """The figures of a design ``fpgaml rtl`` wrote: da4ml's pipeline as saved in ``rtl/model/pipeline.json`` (the
    pipeline its Verilog is), or ``comb`` itself when the design is combinational (pipeline_cutoff 0)."""
    from pathlib import Path

    from da4ml.types import Pipeline

    return figures(count(Pipeline.load(str(Path(rtl_dir) / 'model' / 'pipeline.json')) if pipelined else comb))


def summary_line(est: dict) -> str:
    """One line for the ``fpgaml rtl`` report, beside the Yosys figures (``RtlResult.da_estimate``)."""
    c = est['counts']
    return (
        f'estimate (DA): LUT {est["lut"]:,}, FF {est["ff"]:,}, DSP 0, {est["cycles"]} cycles (da4ml adder graph: '
        f'{c["adder_bits"]:,} adder bits, {c["logic_bits"]:,} logic bits, {c["reg_bits"]:,} register bits; '
        f'factors fitted to Yosys cell counts)'
    )
