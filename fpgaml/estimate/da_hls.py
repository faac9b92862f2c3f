"""hls4ml's ``Strategy: distributed_arithmetic``: the adder graph each Dense/Conv kernel becomes, solved the way
hls4ml's ``DistributedArithmeticCodegen`` solves it, and counted by the DA cost model (:mod:`fpgaml.estimate.da`).

hls4ml drops the weights of a DA layer once its C++ is written; the ``da_kernels`` pass keeps them
(``fpgaml_da_weights``). The kernel is solved again here with hls4ml's own inputs (its input-precision helper,
its solver options, the bias added before tracing), so the adder graph is the one in the firmware: its cost must
equal the ``da_kernel_cost`` hls4ml recorded, and a difference is flagged on the layer.

The figures: DSP 0; LUT and FF from the graph's adder bits, logic bits and stage registers (the factors fitted to
Yosys, :mod:`fpgaml.estimate.da`); cycles = the stages of the graph cut at :data:`fpgaml.estimate.da.DEFAULT_CUTOFF`
(the delay per stage ``fpgaml rtl`` uses). No C-synthesis report of a DA design was available to check the HLS
tool's own scheduling against: the layer is its own calibration family (``dense/conv/da``), uncalibrated.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from fpgaml.convert.passes.da_kernels import WEIGHTS_ATTR
from fpgaml.estimate.da import DEFAULT_CUTOFF, DaCounts, DaEstimate, count, figures


@dataclass
class DaKernel:
    """One instance of a DA layer's adder graphs (EinsumDense: all its kernels) and what it costs."""

    estimate: DaEstimate
    outputs: int  # outputs of one instance (all its kernels)
    cost: float  # da4ml's own cost of the solution
    recorded_cost: float | None  # the cost hls4ml recorded when it wrote the C++

    @property
    def matches_firmware(self) -> bool:
        return self.recorded_cost is None or abs(self.cost - self.recorded_cost) <= 1e-6 * max(1.0, self.cost)


def solve(kept: dict):
    """The combinational adder graph hls4ml builds for one kept kernel (da4ml ``CombLogic``): its own solver
    options, the bias added before tracing."""
    from da4ml.trace import FixedVariableArray, HWConfig, comb_trace

    k, i, f = kept['kif']
    options = {'hard_dc': int(os.environ.get('DA_HARD_DC', 2)), 'search_all_decompose_dc': True}
    inp = FixedVariableArray.from_kif(k, i, f, HWConfig(1, -1, -1), solver_options=options)
    out = inp @ kept['weight']
    if kept['bias'] is not None:
        out += kept['bias']
    return comb_trace(inp, out)


def kernel(layer) -> DaKernel | None:
    """The figures of the layer's DA kernels, one instance of each (EinsumDense: one kernel per inplace index, side
    by side), or None when the layer is not a distributed-arithmetic layer with its kernels kept. Cached on the
    layer: the solve takes seconds on large kernels."""
    from da4ml.trace.pipeline import to_pipeline

    cached = layer.get_attr('fpgaml_da_kernel_figures')
    if cached is not None:
        return cached
    kept = layer.get_attr(WEIGHTS_ATTR)
    if not kept:
        return None
    counts, cost = DaCounts(), 0.0
    for one in kept:
        comb = solve(one)
        cost += float(comb.cost)
        counts = counts.beside(count(to_pipeline(comb, DEFAULT_CUTOFF, verbose=False)))
    outputs = sum(int(one['weight'].shape[-1]) for one in kept)
    recorded = layer.get_attr('da_kernel_cost')
    result = DaKernel(figures(counts), outputs, cost, None if recorded is None else float(recorded))
    layer.set_attr('fpgaml_da_kernel_figures', result)
    return result
