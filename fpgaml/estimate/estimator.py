"""Latency / II / resource estimate of a converted hls4ml ModelGraph, without vendor tools.

Entry point: :func:`estimate`.  Per-layer physics lives in the families' cost models (:mod:`fpgaml.families`),
built from :mod:`fpgaml.estimate.primitives` and :mod:`fpgaml.estimate.arith`; this module walks the graph,
combines the layers according to the IO type and reports typed results (:mod:`fpgaml.estimate.result`).

Whole-design composition:

* ``io_parallel`` -- the layers form one pipelined function: latency is the sum of the layer latencies,
  the initiation interval is the largest layer II.
* ``io_stream`` -- each layer is a dataflow process connected by FIFOs, all running concurrently: the II
  is the slowest stage (+1 cycle of dataflow handshake), and the latency is the slowest stage's latency
  plus one start-up cycle per further stage in the pipeline (Vivado HLS's dataflow latency model) and
  two cycles of I/O registering.  Calibrated against Vivado HLS 2020.1 reports (see calibration.yml).
  When every tensor is flat, each stream carries its whole tensor as one element: the processes run once,
  one after the other, and the latency is the sum of their depths (at least one cycle each), the II the same.

* ``io_parallel`` I/O: the top function registers its input array (its bits + 2 control FFs) and drives
  its outputs from the last pipeline stage (no output register); the first pipeline stage is combinational
  from those input registers, so the latency is the sum of the layer cycles minus one (csynth reports 0
  cycles for a single Dense + ReLU or a pooling layer).

Two kinds of figure are estimated (:mod:`fpgaml.estimate.kinds`): ``synth`` (post-synthesis utilisation,
the default, what ``total`` and the per-layer figures hold) and ``csynth`` (the HLS tool's own estimate).
Each kind scales the structural LUT/FF counts by per-family factors calibrated on figures of its own kind,
and carries a band from the cross-validated error of its layer families.  Latency and II are csynth's cycle
counts.
"""

from __future__ import annotations

import math

from fpgaml.families import family_for_layer
from fpgaml.fixed import Fixed
from fpgaml.resources import RESOURCES
from fpgaml.target.devices import lookup_device

from . import arith, costs, primitives
from . import kinds as _kinds
from .result import Estimate, LayerEstimate, TotalEstimate

__all__ = ['estimate']

STREAM_STAGE_START_CYCLES = 1  # dataflow: each further process adds one start-up cycle to the latency
STREAM_IO_CYCLES = 2  # dataflow: input/output registering
STREAM_II_HANDSHAKE = 1  # dataflow: one cycle of ap_start/ap_done handshake per iteration
VITIS_CLOCK_UNCERTAINTY = 0.27  # hls4ml's default for the Vitis backend (Vivado: arith.CLOCK_UNCERTAINTY)
LUT_PRODUCTS = 'dense/conv/lut_products'  # calibration family of the LUT-mapped constant products
REGISTERS = 'registers'  # calibration family of the layers' output registers (FF)
IO_CTRL_FF = 2  # io_parallel: ap_ctrl registers beside the registered inputs (csynth: input bits + 2)


def _round(x: float) -> int:
    return int(math.ceil(x - 1e-9)) if x > 0 else 0


def family_name(layer) -> str:
    """The calibration family of a layer: its layer family's (``Family.calibration``), "custom" for a layer class
    an extension registered, else "other"."""
    f = family_for_layer(layer)
    if f is not None:
        return f.calibration(layer)
    if _extension_class(layer):
        return 'custom'  # a layer an extension module registered with hls4ml: no cost model, no calibration
    return 'other'


def _extension_class(layer) -> bool:
    """Whether the layer's hls4ml class (or one it derives from) was defined outside hls4ml, i.e. registered
    with ``hls4ml.model.layers.register_layer`` by an extension module (fpgaml.frontend.extensions)."""
    try:
        from hls4ml.model.layers import Layer
    except Exception:  # pragma: no cover - hls4ml is a dependency
        return False
    return any(
        isinstance(k, type)
        and issubclass(k, Layer)
        and k is not Layer
        and not (getattr(k, '__module__', '') or '').startswith('hls4ml')
        for k in type(layer).__mro__
    )


def split_family(le: LayerEstimate, metric: str, io_part: dict, parts: dict | None = None) -> list[tuple[str, float]]:
    """A layer's structural figure split into its family's share, its stream FIFOs' (family "stream") and the
    parts calibrated as families of their own (``parts``: layer -> metric -> (family, value): the LUT-mapped
    constant products, ``LUT_PRODUCTS``; the output registers, ``REGISTERS``)."""
    v = float(getattr(le, metric))
    out = []
    sub = (parts or {}).get(le.name, {}).get(metric)
    if sub and sub[1] > 0:
        p = min(v, sub[1])
        v -= p
        out.append((sub[0], p))
    if metric in ('lut', 'ff') and le.name in io_part:
        io = min(v, io_part[le.name][0 if metric == 'lut' else 1])
        return [(le.family, v - io), ('stream', io)] + out
    return [(le.family, v)] + out


def _io_bits(var) -> int:
    return primitives.size_of(var) * (Fixed.from_hls4ml(var.type.precision).width if var is not None else 0)


def estimate(
    graph,
    part: str | None = None,
    clock_period_ns: float | None = None,
    calibration: _kinds.Calibration | None = None,
) -> Estimate:
    """Estimate latency, II and resources of a converted hls4ml ``ModelGraph``.

    ``part`` and ``clock_period_ns`` default to the graph's own configuration.  An unknown part raises
    :class:`fpgaml.target.devices.UnknownPartError`.  ``calibration`` defaults to ``calibration.yml``'s
    (``kinds.Calibration({})`` gives the uncalibrated structural counts).
    """
    cal = calibration if calibration is not None else _kinds.calibration()
    cfg = graph.config
    if part is None:
        part = cfg.get_config_value('Part')
    if clock_period_ns is None:
        clock_period_ns = float(cfg.get_config_value('ClockPeriod') or 5)
    clock_period_ns = float(clock_period_ns)
    if not clock_period_ns > 0:
        raise ValueError(f'clock period must be positive, got {clock_period_ns!r} ns')
    device = lookup_device(part)
    io_type = str(cfg.get_config_value('IOType') or 'io_parallel')
    ctx = primitives.Context(
        device=device,
        clock_ns=clock_period_ns,
        io_type=io_type,
        tool=hls_tool(graph),
        uncertainty=clock_uncertainty(graph),
    )

    layers: list[LayerEstimate] = []
    processes: list[LayerEstimate] = []
    flags: list[str] = []
    io_part: dict[str, list[float]] = {}  # layer -> [lut, ff] of its stream FIFOs (family "stream")
    parts: dict[str, dict] = {}  # layer -> metric -> (family, value) calibrated as a family of its own
    from_memory: set[str] = set()  # layers whose result is a memory's registered output
    out_names = set(getattr(graph, 'outputs', []) or [])
    for layer in graph.get_layers():
        c = costs.layer_cost(ctx, layer)
        le = LayerEstimate(
            name=layer.name,
            layer_class=layer.class_name,
            latency_cycles=int(c.latency_cycles),
            ii_cycles=max(1, int(c.ii_cycles)) if c.process or c.latency_cycles else 1,
            dsp=_round(c.dsp),
            lut=_round(c.lut),
            ff=_round(c.ff),
            bram_18k=_round(c.bram_18k),
            uram=_round(c.uram),
            flags=list(dict.fromkeys(c.flags)),
            family=family_name(layer),
        )
        sub = {m: (f, float(x)) for m, f, x in (('lut', LUT_PRODUCTS, c.product_lut), ('ff', REGISTERS, c.reg_ff)) if x}
        if sub:
            parts[le.name] = sub
        if c.output_from_memory:
            from_memory.add(le.name)
        if c.io_lut or c.io_ff:
            if io_type == 'io_stream' and set(getattr(layer, 'outputs', []) or []) & out_names:
                # the model's output stream is the top function's port, not an internal FIFO
                le.lut, le.ff = _round(c.lut - c.io_lut), _round(c.ff - c.io_ff)
            else:
                io_part[le.name] = [float(c.io_lut), float(c.io_ff)]
        if io_type == 'io_stream' and c.process and layer.class_name != 'Input':
            # an hls4ml dataflow process is not pipelined across invocations: its II is its latency
            le.ii_cycles = max(le.ii_cycles, le.latency_cycles)
            processes.append(le)
        layers.append(le)
        flags += [f'{le.name}: {f}' for f in le.flags]

    if io_type != 'io_stream' and layers:
        # the top function registers its inputs and drives its outputs from the last stage (no output register)
        try:
            in_bits = sum(_io_bits(graph.get_layer_output_variable(n)) for n in graph.inputs)
            out_bits = sum(_io_bits(graph.get_layer_output_variable(n)) for n in graph.outputs)
        except Exception:
            in_bits = out_bits = 0
        layers[0].ff += in_bits + IO_CTRL_FF
        for le in reversed(layers):
            if le.name in from_memory:  # the last stage is a table read: its register is the memory's own
                break
            if le.ff > 0 and le.family != 'structure':
                dropped = min(le.ff, out_bits)
                le.ff -= dropped
                if 'ff' in parts.get(le.name, {}):
                    f, x = parts[le.name]['ff']
                    parts[le.name]['ff'] = (f, max(0.0, x - dropped))
                break
    raw_layers = [LayerEstimate(**{k: getattr(l, k) for k in l.__dataclass_fields__}) for l in layers]
    for le in layers:  # the per-layer figures are of the default kind (post-synthesis), each with its band
        for m in _kinds.BANDED:
            scaled = [(f, v * cal.factor(_kinds.DEFAULT_KIND, m, f)) for f, v in split_family(le, m, io_part, parts)]
            if m in _kinds.SCALED:
                setattr(le, m, _round(sum(v for _, v in scaled)))
            bands = [(cal.band(_kinds.DEFAULT_KIND, m, f) or cal.default_band, v) for f, v in scaled]
            le.band[m] = [int(math.floor(sum(b[0] * v for b, v in bands))), _round(sum(b[1] * v for b, v in bands))]
    if io_type == 'io_stream':
        if processes and _one_element_streams(graph):
            # every stream carries its whole tensor as one element: each process runs once, one after the
            # other, with no read loop (csynth: Dense(1->64)+ReLU 2 cycles, + a table activation 4 cycles)
            latency = sum(max(1, l.latency_cycles) for l in processes)
            ii = latency
        elif processes:
            slowest = max(processes, key=lambda l: l.latency_cycles)
            latency = slowest.latency_cycles + STREAM_STAGE_START_CYCLES * (len(processes) - 1) + STREAM_IO_CYCLES
            ii = max(l.ii_cycles for l in processes) + STREAM_II_HANDSHAKE
        else:
            latency, ii = 0, 1
    else:
        latency = max(0, sum(l.latency_cycles for l in layers) - 1)  # first stage is combinational
        ii = max([l.ii_cycles for l in layers] + [1])
    totals = {r: sum(getattr(l, r) for l in layers) for r in RESOURCES}
    total = TotalEstimate(
        latency_cycles=int(latency),
        latency_ns=round(latency * clock_period_ns, 3),
        ii_cycles=int(ii),
        **totals,
    )
    avail = device.totals()
    utilization = {
        r: (round(100.0 * totals[r] / avail[r], 2) if avail[r] else (0.0 if totals[r] == 0 else math.inf))
        for r in RESOURCES
    }
    figs = {k: _kind_figures(cal, k, raw_layers, total, io_type, processes, io_part, parts) for k in _kinds.KINDS}
    present = sorted(
        {l.family for l in layers if l.family not in ('structure', 'other')}
        | ({'stream'} if io_part else set())
        | {f for sub in parts.values() for f, x in sub.values() if x > 0}
    )
    uncal = [f for f in present if not cal.calibrated(_kinds.DEFAULT_KIND, f)]
    for f in uncal:
        flags.append(
            f'{f}: no calibration data for this layer family; estimated from structure '
            f'(uncalibrated, default band x{cal.default_band[0]:g}-{cal.default_band[1]:g})'
        )
    return Estimate(
        part=str(part),
        clock_period_ns=clock_period_ns,
        io_type=io_type,
        total=total,
        layers=layers,
        utilization=utilization,
        device=device,
        flags=flags,
        kinds=figs,
        uncalibrated=uncal,
        stream_io=io_part,
        parts=parts,
    )


def hls_tool(graph) -> str:
    """The HLS tool of the graph's hls4ml backend: Vitis HLS for ``Vitis``, Vivado HLS otherwise."""
    try:
        name = str(graph.config.backend.name)
    except Exception:
        name = str(graph.config.get_config_value('Backend') or 'Vivado')
    return 'vitis_hls' if name.lower().startswith('vitis') else 'vivado_hls'


def clock_uncertainty(graph) -> float:
    """The configured clock uncertainty as a fraction of the period (hls4ml writes e.g. ``12.5%``); the
    backend's default when absent (Vivado 12.5 %, Vitis 27 %)."""
    v = graph.config.get_config_value('ClockUncertainty')
    try:
        if isinstance(v, str) and v.strip().endswith('%'):
            return float(v.strip()[:-1]) / 100.0
        if v is not None:
            # a plain number is nanoseconds, as the HLS tool's set_clock_uncertainty reads it
            period = float(graph.config.get_config_value('ClockPeriod') or 5)
            return min(0.9, max(0.0, float(v) / period))
    except (TypeError, ValueError):
        pass
    return VITIS_CLOCK_UNCERTAINTY if hls_tool(graph) == 'vitis_hls' else arith.CLOCK_UNCERTAINTY


def _one_element_streams(graph) -> bool:
    """True when every layer reads one stream element (every tensor flat: hls4ml streams each as one element
    holding all of it)."""
    try:
        return all(
            primitives.stream_elements(l) == 1
            for l in graph.get_layers()
            if l.class_name not in ('Input', 'InputLayer')
        )
    except Exception:
        return False


def _kind_figures(
    cal,
    kind: str,
    raw_layers: list[LayerEstimate],
    total: TotalEstimate,
    io_type: str,
    processes: list[LayerEstimate],
    io_part: dict,
    parts: dict,
) -> dict:
    """Totals of one figure kind and their bands (ratio real / estimate per family, summed over layers)."""
    out: dict = {'latency_cycles': total.latency_cycles, 'ii_cycles': total.ii_cycles}
    band: dict = {}
    for m in RESOURCES:
        vals = []
        for l in raw_layers:
            scaled = [(f, v * cal.factor(kind, m, f)) for f, v in split_family(l, m, io_part, parts)]
            out.setdefault(m, 0)
            out[m] += _round(sum(v for _, v in scaled))
            vals += scaled
        out[m] = int(out[m])
        if m in _kinds.BANDED:
            lo = hi = 0.0
            for fam, v in vals:
                b = cal.band(kind, m, fam) or cal.default_band
                lo, hi = lo + v * b[0], hi + v * b[1]
            band[m] = [int(math.floor(lo)), _round(hi)]
    # latency: the band of the family that sets it (io_parallel: most cycles; io_stream: slowest process)
    pool = processes if io_type == 'io_stream' and processes else raw_layers
    if pool and total.latency_cycles:
        fam = max(pool, key=lambda l: l.latency_cycles).family
        b = cal.band(kind, 'latency_cycles', fam) or cal.default_band
        band['latency_cycles'] = [int(math.floor(total.latency_cycles * b[0])), _round(total.latency_cycles * b[1])]
    else:
        band['latency_cycles'] = [total.latency_cycles, total.latency_cycles]
    out['band'] = band
    return out
