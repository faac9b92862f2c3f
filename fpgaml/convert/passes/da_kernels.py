"""``Strategy: distributed_arithmetic``: hls4ml solves each Dense/Conv kernel as a da4ml adder graph, writes it as
C++ and then drops the layer's weights from the graph (``DALatencyDenseTemplate``/``DALatencyConvTemplate``), so
nothing downstream can see what the firmware adds. The pass keeps the kernel and bias hls4ml solved, as the
``fpgaml_da_weights`` attribute, taken from a twin graph built with the Latency strategy on those layers (the
same weights: the strategy changes how they are computed, not their values), with the input precisions hls4ml
solved them for (its own ``get_kernel_inp_kif`` on the twin, where an HGQ input quantizer is still in front of the
layer: with DA, hls4ml fuses it into the kernel and removes it). The estimate solves and counts those adder graphs
(:mod:`fpgaml.estimate.da_hls`) and checks their cost against the one hls4ml recorded."""

from __future__ import annotations

import copy

import numpy as np

from . import Change, FlowContext, Pass

DA = 'distributed_arithmetic'
WEIGHTS_ATTR = 'fpgaml_da_weights'


def _is_da(layer) -> bool:
    return str(layer.get_attr('strategy', '') or '').lower() in (DA, 'da') and layer.get_attr('da_codegen') is not None


def latency_twin_config(hls_config: dict, names: list[str]) -> dict:
    """The hls4ml config with the Latency strategy on the layers ``names`` (and the model default, when it is
    distributed arithmetic)."""
    twin = copy.deepcopy(hls_config)
    hc = twin['HLSConfig']
    if str(hc.get('Model', {}).get('Strategy', '')).lower() in (DA, 'da'):
        hc['Model']['Strategy'] = 'Latency'
    for name in names:
        entry = hc.setdefault('LayerName', {}).setdefault(name, {})
        if str(entry.get('Strategy', DA)).lower() in (DA, 'da'):
            entry['Strategy'] = 'Latency'
    return twin


class DaKernels(Pass):
    name = 'da_kernels'
    precondition = (
        'hls4ml marks a distributed-arithmetic layer with strategy "distributed_arithmetic" and a "da_codegen" '
        'attribute, and the same layer built with the Latency strategy keeps weight variables "weight" and "bias"'
    )
    summary = 'distributed-arithmetic layers keep the kernel hls4ml solved (hls4ml drops it) for the estimate'

    def run(self, ctx: FlowContext) -> list[Change]:
        layers = [lay for lay in ctx.graph.get_layers() if _is_da(lay)]
        if not layers:
            return []
        twin = ctx.rebuild(latency_twin_config(ctx.hls_config, [lay.name for lay in layers]))
        changes = []
        for layer in layers:
            other = twin.graph.get(layer.name)
            if other is None or 'weight' not in other.weights:
                raise self.broken(layer.name, 'the Latency twin has no such layer with a "weight" variable')
            layer.set_attr(WEIGHTS_ATTR, _kernels(other))
            changes.append(Change(layer.name, 'kernel kept for the distributed-arithmetic estimate'))
        return changes


def _kernels(layer) -> list[dict]:
    """The constant-matrix products hls4ml's DA codegen solves for ``layer`` (the Latency twin of a DA layer):
    one for Dense/Conv (bias included), one per inplace index for EinsumDense (no bias), each with its input
    (k, i, f) per kernel input, as ``DistributedArithmetic[Einsum]Codegen`` computes them."""
    from hls4ml.backends.vivado.passes.distributed_arithmetic import get_kernel_inp_kif

    kernel = np.array(layer.weights['weight'].data, dtype=np.float64)
    k, i, f = (np.asarray(a) for a in get_kernel_inp_kif(layer))
    if layer.class_name == 'EinsumDense':
        return [{'weight': kernel[n], 'bias': None, 'kif': (k[n], i[n], f[n])} for n in range(kernel.shape[0])]
    bias = np.array(layer.weights['bias'].data, dtype=np.float64).ravel() if 'bias' in layer.weights else None
    return [{'weight': kernel.reshape(-1, kernel.shape[-1]), 'bias': bias, 'kif': (k, i, f)}]
