"""HGQ's heterogeneous quantizer (hls4ml's ``FixedPointQuantizer``: HGQ v1 proxy models and HGQ2 models): one
``ap_fixed`` cast per element, each with its own bit widths (element-wise masks), inlined into the next layer.
TRN/WRAP casts are wiring; rounding and saturation cost logic. No synthesis figure has it yet: uncalibrated."""

from __future__ import annotations

import numpy as np

from fpgaml.convert.passes.hgq_user_types import HgqUserTypes
from fpgaml.estimate.costs import generic
from fpgaml.estimate.primitives import Context, LayerCost, in_var, out_var, shape_of
from fpgaml.fixed import Fixed
from fpgaml.rtl.ops import RtlInput, RtlUnsupported, cast_var, supported_text

from .base import Family


def fixed_point_quantizer(ctx: Context, layer) -> LayerCost:
    """HGQ's heterogeneous quantizer (hls4ml ``FixedPointQuantizer``, io_parallel only): one inlined ``ap_fixed``
    cast per element with that element's widths (``mask_kbi``; 0 bits: the element is the constant 0). A
    TRN/WRAP cast is wiring; RND adds an incrementer over the element's bits, SAT/SAT_SYM a compare-and-select
    of about as many LUTs. It chains into the next layer's first cycle (no register, no cycle of its own)."""
    mask = getattr(layer, 'mask_kbi', None)
    if mask is None:
        return generic(ctx, layer)
    shape = tuple(shape_of(in_var(layer)) or shape_of(out_var(layer)))
    bits = np.broadcast_to(np.asarray(mask[1])[0], shape).astype(np.int64)
    rnd = str(getattr(layer, 'RND', 'TRN')).replace('AP_', '')
    sat = str(getattr(layer, 'SAT', 'WRAP')).replace('AP_', '')
    per_bit = (1.0 if rnd != 'TRN' else 0.0) + (1.0 if sat.startswith('SAT') else 0.0)
    c = LayerCost(latency_cycles=0, ii_cycles=1, process=False)
    c.lut = per_bit * float(bits[bits > 0].sum())
    return c


def folds_input(layer) -> bool:
    """RTL: whether this quantizer, alone reading the model input, can apply its casts to da4ml's input variables
    themselves: when it wraps (WRAP) and truncates or rounds half up (TRN, RND). On values of the input type,
    wrapping to fewer integer bits and truncating to one bit below the kept ones before rounding half up give what
    the firmware's cast of the full value gives (both are exact modulo 2^(k+i) and floor-based), so each input is
    only as wide as its quantizer's type (HGQ's own da4ml tracer does the same)."""
    return (
        getattr(layer, 'mask_kbi', None) is not None
        and str(layer.SAT).replace('AP_', '') == 'WRAP'
        and str(layer.RND).replace('AP_', '') in ('TRN', 'RND')
    )


def lower(layer, inp: RtlInput) -> np.ndarray:
    """HGQ's ``FixedPointQuantizer`` as hls4ml writes it (``generate_mask_fn``, io_parallel): element ``n`` is cast
    to ``ap_[u]fixed<b[n], i[n], AP_<RND>, AP_<SAT>>`` (``k[n]``: signed), or set to 0 where ``b[n]`` is 0, then
    stored in the layer's result type. ``inp.folded``: the values are da4ml's (not yet sized) input variables and
    the casts size them (:func:`folds_input`)."""
    from fpgaml.rtl.backend import api

    FixedVariable = api().FixedVariable

    x, res_t = inp.x, inp.result
    mask = getattr(layer, 'mask_kbi', None)
    if mask is None:
        raise RtlUnsupported(
            f'layer "{layer.name}" (FixedPointQuantizer) has no bit-width masks (hls4ml\'s '
            f'mask_kbi); {supported_text()}'
        )
    rnd, sat = str(layer.RND).replace('AP_', ''), str(layer.SAT).replace('AP_', '')
    if sat not in ('WRAP', 'SAT', 'SAT_SYM'):
        raise RtlUnsupported(
            f'layer "{layer.name}": FixedPointQuantizer overflow mode {sat} is not supported by the '
            f'RTL backend (WRAP, SAT, SAT_SYM are)'
        )
    shape = tuple(layer.get_input_variable().shape)
    ks, bs, is_ = (np.broadcast_to(np.asarray(a)[0], shape).ravel() for a in mask)
    y = np.empty(x.shape, dtype=object)
    for n, v in enumerate(x):
        k, b, i = int(ks[n]), int(bs[n]), int(is_[n])
        if b == 0:
            y[n] = cast_var(FixedVariable(0.0, 0.0, 1.0, hwconf=v.hwconf), res_t)
            continue
        if inp.folded:
            y[n] = cast_var(v.quantize(k, i - k, b - i, 'WRAP', rnd), res_t)
            continue
        y[n] = cast_var(cast_var(v, Fixed(b, i, bool(k), rnd, sat)), res_t)
    return y


FAMILY = Family(
    name='quantizer',
    hls_classes=('FixedPointQuantizer', 'HGQ>FixedPointQuantizer'),
    keras_classes=('FixedPointQuantizer',),
    passes=(HgqUserTypes,),  # types a config sets stay set (hls4ml's BitExact pass replaces them)
    cost={'FixedPointQuantizer': fixed_point_quantizer},
    profile='skip',  # the result types are the quantizer's own
    lower={'FixedPointQuantizer': lower},
    rtl_folds_input=folds_input,
    rtl_supported=('FixedPointQuantizer (HGQ, heterogeneous types)',),
)
