"""What an estimate is: the typed per-layer and whole-design figures :func:`fpgaml.estimate.estimate` returns, its
figures of each kind with their bands (:mod:`fpgaml.estimate.kinds`), and their JSON form in fpgaml-report.json
(written by the report, read back by ``Estimate.from_json_dict``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from fpgaml.target.devices import Device, lookup_device

from . import kinds as _kinds

__all__ = ['LayerEstimate', 'TotalEstimate', 'Estimate']


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
    family: str = ''
    band: dict[str, list[int]] = field(default_factory=dict)  # synth figures' band, from the family's CV error

    def to_json_dict(self) -> dict:
        d = asdict(self)
        d['class'] = d.pop('layer_class')
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
    # per figure kind ("synth", "csynth"): totals and "band" {metric: [low, high]}
    kinds: dict[str, dict] = field(default_factory=dict)
    uncalibrated: list[str] = field(default_factory=list)  # layer families without calibration data
    stream_io: dict[str, list[float]] = field(default_factory=dict, repr=False)  # layer -> FIFO [lut, ff]
    # layer -> metric -> (family, value): parts calibrated as families of their own (LUT products, output registers)
    parts: dict[str, dict] = field(default_factory=dict, repr=False)

    def to_json_dict(self) -> dict:
        d = {
            'total': self.total.to_json_dict(),
            'layers': [l.to_json_dict() for l in self.layers],
            'part': self.part,
            'utilization': dict(self.utilization),
        }
        for k, v in self.kinds.items():
            d[k] = {m: (list(x) if isinstance(x, tuple) else x) for m, x in v.items()}
        d['default_kind'] = _kinds.DEFAULT_KIND
        d['uncalibrated'] = list(self.uncalibrated)
        return d

    def resource(self, name: str) -> float:
        return float(getattr(self.total, name))

    def figure(self, name: str, kind: str = _kinds.DEFAULT_KIND, edge: str | None = None) -> float:
        """The ``kind`` figure of a metric; ``edge="high"`` gives the upper edge of its band."""
        k = self.kinds.get(kind)
        if k is None:
            if kind != _kinds.DEFAULT_KIND:
                raise KeyError(f'no {kind} figures in this estimate')
            v = float(getattr(self.total, name))
        else:
            v = float(k[name])
        if edge == 'high':
            band = (k or {}).get('band', {}).get(name)
            if band is None:
                raise KeyError(f'no band for {name} ({kind}) in this estimate')
            v = float(band[1])
        return v

    @classmethod
    def from_json_dict(cls, d: dict, clock_period_ns: float, io_type: str) -> Estimate:
        """Rebuild an estimate stored in fpgaml-report.json (``to_json_dict`` output)."""
        layers = []
        for l in d['layers']:
            l = dict(l)
            l['layer_class'] = l.pop('class')
            layers.append(LayerEstimate(**l))
        return cls(
            part=d['part'],
            clock_period_ns=clock_period_ns,
            io_type=io_type,
            total=TotalEstimate(**d['total']),
            layers=layers,
            utilization=dict(d['utilization']),
            device=lookup_device(d['part']),
            kinds={k: d[k] for k in _kinds.KINDS if k in d},
            uncalibrated=list(d.get('uncalibrated', [])),
        )

    def layer(self, name: str) -> LayerEstimate:
        for l in self.layers:
            if l.name == name:
                return l
        raise KeyError(name)
