"""An estimate beside synthesis results: the difference per metric, measured against the report that has it."""

from __future__ import annotations

from dataclasses import dataclass

from fpgaml.resources import RESOURCES
from fpgaml.synth.results import SynthesisResult

__all__ = ['MetricComparison', 'Comparison', 'compare']


@dataclass
class MetricComparison:
    metric: str
    estimate: float
    measured: float | None
    difference: float | None  # estimate - measured
    percent: float | None  # 100 * difference / measured
    source: str | None  # which report the measured value comes from

    @property
    def message(self) -> str:
        if self.measured is None:
            return f'{self.metric}: estimate {_fmt(self.estimate)}, no measurement'
        pct = 'n/a' if self.percent is None else f'{self.percent:+.1f}%'
        diff = _fmt(self.difference, sign=True)
        return f'{self.metric}: estimate {_fmt(self.estimate)} vs {self.source} {_fmt(self.measured)} ({diff}, {pct})'


def _fmt(v, sign: bool = False) -> str:
    """1,234 for whole numbers (LUT counts pass a million), else 4 significant digits."""
    if float(v).is_integer():
        return f'{int(v):+,}' if sign else f'{int(v):,}'
    return f'{v:+,.4g}' if sign else f'{v:,.4g}'


@dataclass
class Comparison:
    metrics: list[MetricComparison]

    def get(self, metric: str) -> MetricComparison:
        for m in self.metrics:
            if m.metric == metric:
                return m
        raise KeyError(metric)

    def to_json_dict(self) -> dict:
        return {
            m.metric: {
                'estimate': m.estimate,
                'measured': m.measured,
                'difference': m.difference,
                'percent': m.percent,
                'source': m.source,
            }
            for m in self.metrics
        }


def compare(estimate, synthesis: SynthesisResult, resources: str | None = None) -> Comparison:
    """Per-metric difference between an :class:`~fpgaml.estimate.Estimate` and synthesis results.

    Latency and II come from co-simulation / csynth; resources from post-synthesis utilization when
    available (compared with the estimate's ``synth`` figure), else from csynth (compared with its ``csynth``
    figure: like with like). ``resources`` ('csynth' or 'vivado_synth') takes them from that report only.
    """
    rows = []
    t = estimate.total

    def row(metric, est, meas, src):
        diff = None if meas is None else est - meas
        pct = None if meas in (None, 0) else 100.0 * diff / meas
        rows.append(MetricComparison(metric, est, meas, diff, pct, src if meas is not None else None))

    lat_src = 'cosim' if synthesis.cosim is not None and synthesis.cosim.latency_max is not None else 'csynth'
    row('latency_cycles', t.latency_cycles, synthesis.latency_cycles, lat_src)
    row('ii_cycles', t.ii_cycles, synthesis.ii_cycles, 'csynth')
    for r in RESOURCES:
        if resources is None:
            v, src = synthesis.resource(r)
        else:
            v, src = getattr(getattr(synthesis, resources), r, None), resources
            v = None if v is None else int(v)
        kinds = getattr(estimate, 'kinds', None) or {}
        est = kinds['csynth'][r] if src == 'csynth' and r in kinds.get('csynth', {}) else getattr(t, r)
        row(r, est, v, src)
    return Comparison(rows)
