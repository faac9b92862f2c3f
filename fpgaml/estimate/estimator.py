"""Latency / II / resource estimate of a converted hls4ml ModelGraph, without vendor tools.

Entry point: :func:`estimate`.  Per-layer physics lives in :mod:`fpgaml.estimate.costs` and
:mod:`fpgaml.estimate.arith`; this module walks the graph, combines the layers according to the IO type
and reports typed results.

Whole-design composition:

* ``io_parallel`` -- the layers form one pipelined function: latency is the sum of the layer latencies,
  the initiation interval is the largest layer II.
* ``io_stream`` -- each layer is a dataflow process connected by FIFOs, all running concurrently: the II
  is the slowest stage (+1 cycle of dataflow handshake), and the latency is the slowest stage's latency
  plus one start-up cycle per further stage in the pipeline (Vivado HLS's dataflow latency model) and
  two cycles of I/O registering.  Calibrated against Vivado HLS 2020.1 reports (see calibration.yml).

Resources are estimated at the level of a *post-synthesis* (Vivado ``report_utilization``) result, which
is what the public calibration figures are; HLS's own csynth report overstates LUTs and FFs (roughly 2x
for LUTs in the calibration set).  Latency and II are csynth's cycle counts.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

from . import costs
from fpgaml.target.devices import Device, lookup_device

__all__ = ["LayerEstimate", "TotalEstimate", "Estimate", "estimate", "RESOURCES"]

RESOURCES = ("dsp", "lut", "ff", "bram_18k", "uram")
STREAM_STAGE_START_CYCLES = 1  # dataflow: each further process adds one start-up cycle to the latency
STREAM_IO_CYCLES = 2  # dataflow: input/output registering
STREAM_II_HANDSHAKE = 1  # dataflow: one cycle of ap_start/ap_done handshake per iteration


@dataclass
class LayerEstimate:
    name: str
    layer_class: str
    latency_cycles: int
    ii_cycles: int
    dsp: int
    lut: int
    ff: int
    bram_18k: int
    uram: int
    flags: list[str] = field(default_factory=list)

    def to_json_dict(self) -> dict:
        d = asdict(self)
        d["class"] = d.pop("layer_class")
        return d


@dataclass
class TotalEstimate:
    latency_cycles: int
    latency_ns: float
    ii_cycles: int
    dsp: int
    lut: int
    ff: int
    bram_18k: int
    uram: int

    def to_json_dict(self) -> dict:
        return asdict(self)


@dataclass
class Estimate:
    part: str
    clock_period_ns: float
    io_type: str
    total: TotalEstimate
    layers: list[LayerEstimate]
    utilization: dict[str, float]  # percent of the device, per resource
    device: Device
    flags: list[str] = field(default_factory=list)

    def to_json_dict(self) -> dict:
        return {
            "total": self.total.to_json_dict(),
            "layers": [l.to_json_dict() for l in self.layers],
            "part": self.part,
            "utilization": dict(self.utilization),
        }

    def resource(self, name: str) -> float:
        return float(getattr(self.total, name))

    @classmethod
    def from_json_dict(cls, d: dict, clock_period_ns: float, io_type: str) -> "Estimate":
        """Rebuild an estimate stored in fpgaml-report.json (``to_json_dict`` output)."""
        layers = []
        for l in d["layers"]:
            l = dict(l)
            l["layer_class"] = l.pop("class")
            layers.append(LayerEstimate(**l))
        return cls(part=d["part"], clock_period_ns=clock_period_ns, io_type=io_type,
                   total=TotalEstimate(**d["total"]), layers=layers, utilization=dict(d["utilization"]),
                   device=lookup_device(d["part"]))

    def layer(self, name: str) -> LayerEstimate:
        for l in self.layers:
            if l.name == name:
                return l
        raise KeyError(name)


def _round(x: float) -> int:
    return int(math.ceil(x - 1e-9)) if x > 0 else 0


def estimate(graph, part: str | None = None, clock_period_ns: float | None = None) -> Estimate:
    """Estimate latency, II and resources of a converted hls4ml ``ModelGraph``.

    ``part`` and ``clock_period_ns`` default to the graph's own configuration.  An unknown part raises
    :class:`fpgaml.target.devices.UnknownPartError`.
    """
    cfg = graph.config
    if part is None:
        part = cfg.get_config_value("Part")
    if clock_period_ns is None:
        clock_period_ns = float(cfg.get_config_value("ClockPeriod") or 5)
    clock_period_ns = float(clock_period_ns)
    if not clock_period_ns > 0:
        raise ValueError(f"clock period must be positive, got {clock_period_ns!r} ns")
    device = lookup_device(part)
    io_type = str(cfg.get_config_value("IOType") or "io_parallel")
    ctx = costs.Context(device=device, clock_ns=clock_period_ns, io_type=io_type)

    layers: list[LayerEstimate] = []
    processes: list[LayerEstimate] = []
    flags: list[str] = []
    for layer in graph.get_layers():
        fn, known = costs.handler_for(layer)
        try:
            c = fn(ctx, layer)
        except Exception as exc:  # never crash on a layer: fall back and say so
            c = costs.generic(ctx, layer)
            c.flags.append(f"cost model for {layer.class_name} failed ({type(exc).__name__}: {exc}); generic estimate")
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
        )
        if io_type == "io_stream" and c.process and layer.class_name != "Input":
            # an hls4ml dataflow process is not pipelined across invocations: its II is its latency
            le.ii_cycles = max(le.ii_cycles, le.latency_cycles)
            processes.append(le)
        layers.append(le)
        flags += [f"{le.name}: {f}" for f in le.flags]

    if io_type == "io_stream":
        if processes:
            slowest = max(processes, key=lambda l: l.latency_cycles)
            latency = slowest.latency_cycles + STREAM_STAGE_START_CYCLES * (len(processes) - 1) + STREAM_IO_CYCLES
            ii = max(l.ii_cycles for l in processes) + STREAM_II_HANDSHAKE
        else:
            latency, ii = 0, 1
    else:
        latency = sum(l.latency_cycles for l in layers)
        ii = max([l.ii_cycles for l in layers] + [1])
    totals = {r: sum(getattr(l, r) for l in layers) for r in RESOURCES}
    total = TotalEstimate(
        latency_cycles=int(latency),
        latency_ns=round(latency * clock_period_ns, 3),
        ii_cycles=int(ii),
        **totals,
    )
    avail = device.totals()
    utilization = {r: (round(100.0 * totals[r] / avail[r], 2) if avail[r] else (0.0 if totals[r] == 0 else math.inf))
                   for r in RESOURCES}
    return Estimate(part=str(part), clock_period_ns=clock_period_ns, io_type=io_type, total=total, layers=layers,
                    utilization=utilization, device=device, flags=flags)
