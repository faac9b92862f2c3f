"""Which cost model costs a layer, and the estimator's fallback.

Each family of hls4ml layer classes declares its cost models (``Family.cost``, :mod:`fpgaml.families`), built
from the shared structures of :mod:`fpgaml.estimate.primitives`; :func:`generic` is the conservative estimate
for a layer class no family costs (a custom layer, say), flagged as such.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from fpgaml.errors import FpgamlError
from fpgaml.estimate import arith
from fpgaml.estimate.primitives import (
    Context,
    LayerCost,
    in_fmt,
    in_var,
    out_fmt,
    out_var,
    reuse_factor,
    shape_of,
    size_of,
    stream_fifos,
)
from fpgaml.families import cost_model


def cost_model_for(layer) -> Callable[[Context, object], LayerCost]:
    """The cost model of the layer's family (by its class name, then the classes it derives from), else
    :func:`generic`."""
    return cost_model(layer) or generic


def layer_cost(ctx: Context, layer) -> LayerCost:
    """The layer's cost by its cost model. A model that cannot cost the layer says so: the generic estimate,
    flagged with the model's error (an estimate never stops a build); a layer not even the generic estimate can
    read is an error naming the layer."""
    try:
        return cost_model_for(layer)(ctx, layer)
    except Exception as e:  # noqa: BLE001 - any failure of a cost model: reported in the flag
        failure = f'cost model for {layer.class_name} failed ({type(e).__name__}: {e}); generic estimate'
    try:
        c = generic(ctx, layer)
    except Exception as e:  # noqa: BLE001 - the layer lacks what every estimate reads
        raise FpgamlError(
            f'estimate: layer "{layer.name}" ({layer.class_name}) cannot be costed: {failure}, which '
            f'failed too ({type(e).__name__}: {e})'
        ) from None
    c.flags.append(failure)
    return c


def generic(ctx: Context, layer) -> LayerCost:
    """Conservative estimate for a layer class the estimator has no model for."""
    n_in = max(1, size_of(in_var(layer)))
    n_out = max(1, size_of(out_var(layer)))
    o = out_fmt(layer)
    c = LayerCost()
    n_w = sum(int(np.count_nonzero(np.asarray(wv.data))) for wv in layer.weights.values())
    dsp1, lut1, t = arith.variable_mult(in_fmt(layer), o, ctx.device.dsp_width)
    rf = reuse_factor(layer)
    c.dsp = math.ceil(n_w / rf) * dsp1
    c.lut = math.ceil(n_w / rf) * (lut1 + o.width) + (n_in + n_out) * o.width
    c.ff = 2 * n_out * o.width
    channels = shape_of(out_var(layer))[-1] if shape_of(out_var(layer)) else 1
    c.latency_cycles = max(2, ctx.cycles(t + math.ceil(math.log2(max(2, n_in))) * arith.T_ADD_NS) + 1) * (
        1 if not ctx.stream else max(1, n_out // max(1, channels))
    )
    c.ii_cycles = rf
    c.flags.append(f'no cost model for layer class {layer.class_name!r}: conservative generic estimate')
    return c.add(stream_fifos(ctx, layer))
