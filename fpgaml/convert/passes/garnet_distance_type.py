"""GarNet's distance type.

hls4ml's template fixes it at ap_fixed<12,4,AP_TRN,AP_SAT> (``distance_width = 12``), 8 fractional bits. Each
term x * w of the distance sum is truncated to that grid, so the distance is off by up to
(n_in_features + 1) * 2^-8 and exp(-d^2) (slope up to 0.86) by ~0.02 per aggregator, 20 times the edge
weight's own step (ufixed<10,0>); the per-vertex outputs multiply it by the aggregated features. Measured
(C-simulation) on a fine-tuned jet_garnet with the aggregates widened: 8 fractional bits left the GarNetStack
output off by up to 0.24, 12 within the trace tolerance of Keras. A numpy model of the rounding shows the error
falling to the edge-weight / output grid's own (~0.03 there) at 12 fractional bits and no lower with more:
fpgaml uses fixed<16,4> (12 = the edge weight's 10 + 2; 4 integer bits as hls4ml, saturating at +-8, where
exp(-64) = 0 on any edge-weight grid). The lookup table has 2^width entries: 64k x 10 bits at width 16, 16 times
hls4ml's. A layer precision ``distance: fixed<W,I>`` sets the type instead.

The pass sets ``fpgaml_distance_t``, rendered by fpgaml's GarNet template overrides and read by the estimator.
Upstream: the distance type should be a configurable layer type in hls4ml's GarNet templates."""

from __future__ import annotations

from fpgaml.config.precision import parse_precision
from fpgaml.fixed import Fixed

from . import Change, FlowContext, Pass

GARNET_DISTANCE = Fixed(16, 4, signed=True, rounding='TRN', saturation='SAT')


class GarnetDistanceType(Pass):
    name = 'garnet_distance_type'
    precondition = 'hls4ml GarNet/GarNetStack templates fix distance_t at ap_fixed<12,4,AP_TRN,AP_SAT>'
    summary = "GarNet distance type widened from hls4ml's fixed<12,4> (8 fractional bits)"

    def run(self, ctx: FlowContext) -> list[Change]:
        changes = []
        for node in ctx.graph.get_layers():
            if node.class_name not in ('GarNet', 'GarNetStack'):
                continue
            given = ctx.settings.precision(node.name, node.class_name, 'distance')
            if given is not None:
                ft = parse_precision(given)
                t = Fixed(ft.width, ft.integer, signed=True, rounding='TRN', saturation='SAT')
            else:
                t = GARNET_DISTANCE
            node.set_attr('fpgaml_distance_t', t)
            changes.append(
                Change(
                    node.name,
                    f'GarNet distance type {t.hls4ml_str()} ({2**t.width} table entries; hls4ml: fixed<12,4,TRN,SAT>)',
                )
            )
        return changes
