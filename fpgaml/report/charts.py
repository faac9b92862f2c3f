"""The charts of ``report.html``: per-layer latency and II, per-layer resources, device utilization (estimate,
and synthesis when a vendor report is there), written as small inline SVG by hand. matplotlib drew them before;
its import and PNG rendering were most of a warm rebuild's time, and SVG also scales and shows a tooltip per bar.
The page embeds the markup, so it needs nothing beside it and works offline."""

from __future__ import annotations

import math
from html import escape

from fpgaml.resources import LABELS, RESOURCES

__all__ = ['report_charts']

_BLUE, _ORANGE, _RED = '#4c72b0', '#dd8452', '#c44e52'  # the colours of the former matplotlib charts
_PANELS = (('dsp', _RED), ('lut', '#55a868'), ('ff', '#8172b2'), ('bram_18k', '#ccb974'))
_ROW = 22  # px per layer row
_CHAR = 7  # px per character of 12 px text, to size the margin of the layer names


def _f(v: float) -> str:
    """A coordinate, short enough to keep the markup small."""
    return f'{v:.1f}'


def _num(v: float) -> str:
    """A figure as the report's tables write it: thousands separated, no needless decimals."""
    return f'{v:,.0f}' if float(v).is_integer() else f'{v:,.2f}'.rstrip('0').rstrip('.')


def _value(v: float) -> float:
    """What a bar can draw: NaN and negative figures as 0."""
    return v if v == v and v > 0 else 0.0


def _ticks(top: float, count: int = 5, integer: bool = True) -> list[float]:
    """Round tick values from 0 to at least ``top``: about ``count`` steps of 1, 2 or 5 times a power of ten."""
    if not top > 0:
        return [0.0, 1.0]
    raw = top / count
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw * (1 - 1e-9))
    if integer:
        step = max(step, 1)
    return [i * step for i in range(math.ceil(top / step - 1e-9) + 1)]


def _svg(width: float, height: float, label: str, body: list[str]) -> str:
    return (
        f"<svg viewBox='0 0 {_f(width)} {_f(height)}' width='{_f(width)}' height='{_f(height)}' role='img' "
        f"aria-label='{escape(label)}' font-size='12'>" + ''.join(body) + '</svg>'
    )


def _text(x: float, y: float, s: str, anchor: str = 'start', extra: str = '') -> str:
    return f"<text x='{_f(x)}' y='{_f(y)}' text-anchor='{anchor}'{extra}>{escape(s)}</text>"


def _bar(x: float, y: float, w: float, h: float, color: str, tip: str, extra: str = '') -> str:
    return (
        f"<rect x='{_f(x)}' y='{_f(y)}' width='{_f(w)}' height='{_f(h)}' fill='{color}'{extra}>"
        f'<title>{escape(tip)}</title></rect>'
    )


def _legend(right: float, y: float, items: list[tuple[str, str, str]]) -> list[str]:
    """Legend entries (label, colour, 'bar' or 'dot') in a row that ends at ``right``."""
    x = right - sum(22 + _CHAR * len(label) + 10 for label, _, _ in items)
    out = []
    for label, color, shape in items:
        if shape == 'dot':
            out.append(f"<circle cx='{_f(x + 7)}' cy='{_f(y - 4)}' r='4' fill='{color}'/>")
        else:
            out.append(f"<rect x='{_f(x)}' y='{_f(y - 9)}' width='14' height='10' fill='{color}'/>")
        out.append(_text(x + 20, y, label))
        x += 22 + _CHAR * len(label) + 10
    return out


def _x_axis(left: float, top: float, width: float, height: float, ticks: list[float]) -> list[str]:
    """Frame, vertical grid lines and tick labels below a horizontal-bar plot whose x runs 0..ticks[-1]."""
    out = []
    for t in ticks:
        x = left + width * t / ticks[-1]
        out.append(f"<line x1='{_f(x)}' y1='{_f(top)}' x2='{_f(x)}' y2='{_f(top + height + 4)}' stroke='#ddd'/>")
        out.append(_text(x, top + height + 16, _num(t), 'middle', " font-size='10'"))
    out.append(
        f"<rect x='{_f(left)}' y='{_f(top)}' width='{_f(width)}' height='{_f(height)}' fill='none' stroke='#888'/>"
    )
    return out


def _names(left: float, top: float, names: list[str]) -> list[str]:
    """Layer names right-aligned against the plot, one per row."""
    return [_text(left - 6, top + _ROW * i + _ROW / 2 + 4, n, 'end') for i, n in enumerate(names)]


def _name_margin(names: list[str]) -> float:
    return max(50, _CHAR * max((len(n) for n in names), default=0) + 14)


def _latency_chart(layers) -> str:
    names = [l.name for l in layers]
    left, top, width = _name_margin(names), 44, 520
    height = _ROW * max(1, len(layers))
    ticks = _ticks(max([_value(l.latency_cycles) for l in layers] + [_value(l.ii_cycles) for l in layers] + [0]))
    scale = width / ticks[-1]
    out = [_text(left + width / 2, 16, 'Per-layer latency and II (estimate)', 'middle', " font-weight='bold'")]
    out += _legend(left + width, 36, [('latency', _BLUE, 'bar'), ('II', _ORANGE, 'bar')])
    out += _x_axis(left, top, width, height, ticks)
    for i, l in enumerate(layers):
        y = top + _ROW * i
        lat, ii = _value(l.latency_cycles), _value(l.ii_cycles)
        out.append(_bar(left, y + 4, lat * scale, _ROW - 8, _BLUE, f'{l.name}: latency {_num(lat)} cycles'))
        out.append(
            _bar(left, y + 8, ii * scale, _ROW - 16, _ORANGE, f'{l.name}: II {_num(ii)} cycles', " opacity='0.75'")
        )
    out += _names(left, top, names)
    out.append(_text(left + width / 2, top + height + 34, 'cycles', 'middle'))
    return _svg(left + width + 24, top + height + 44, 'Latency per layer', out)


def _resources_chart(layers) -> str:
    names = [l.name for l in layers]
    left, top, width, gap = _name_margin(names), 48, 180, 40
    height = _ROW * max(1, len(layers))
    out = [
        _text(left + (4 * width + 3 * gap) / 2, 16, 'Per-layer resources (estimate)', 'middle', " font-weight='bold'")
    ]
    for p, (r, color) in enumerate(_PANELS):
        x0 = left + p * (width + gap)
        values = [_value(getattr(l, r)) for l in layers]
        ticks = _ticks(max(values + [0]), count=4)
        out.append(_text(x0 + width / 2, top - 8, LABELS[r], 'middle'))
        out += _x_axis(x0, top, width, height, ticks)
        for i, (l, v) in enumerate(zip(layers, values)):
            out.append(
                _bar(x0, top + _ROW * i + 4, v * width / ticks[-1], _ROW - 8, color, f'{l.name}: {_num(v)} {LABELS[r]}')
            )
    out += _names(left, top, names)
    return _svg(left + 4 * width + 3 * gap + 24, top + height + 28, 'Resources per layer', out)


def _measured(estimate, synthesis) -> dict[str, tuple[float, str]]:
    """Percent of the device and a tooltip per resource that the synthesis result measured (0 where it did not)."""
    av = estimate.device.totals()
    out = {}
    for r in RESOURCES:
        v, source = synthesis.resource(r)
        pct = 100.0 * v / av[r] if v is not None and av[r] else 0.0
        tip = (
            f'{LABELS[r]}: {_num(v)} of {_num(av[r])} ({pct:.2f}%, {source})'
            if v is not None
            else f'{LABELS[r]}: not reported'
        )
        out[r] = (pct, f'synthesis {tip}')
    return out


def _utilization_chart(estimate, synthesis) -> str:
    left, top, slot, height = 64, 44, 90, 200
    width = slot * len(RESOURCES)
    util = {r: estimate.utilization[r] for r in RESOURCES}
    meas = _measured(estimate, synthesis) if synthesis is not None else {}
    highest = max([_value(u) for u in util.values()] + [_value(m) for m, _ in meas.values()] + [0])
    ymax = max(10.0, min(110.0, highest * 1.25))
    ticks = [t for t in _ticks(ymax) if t <= ymax + 1e-9]

    def y(pct: float) -> float:
        return top + height * (1 - min(pct, ymax) / ymax)

    out = [_text(left + width / 2, 16, 'Device utilization', 'middle', " font-weight='bold'")]
    if meas:
        out += _legend(left + width, 36, [('estimate', _BLUE, 'bar'), ('synthesis', _RED, 'dot')])
    for t in ticks:
        out.append(f"<line x1='{_f(left - 4)}' y1='{_f(y(t))}' x2='{_f(left + width)}' y2='{_f(y(t))}' stroke='#ddd'/>")
        out.append(_text(left - 7, y(t) + 4, _num(t), 'end', " font-size='10'"))
    if ymax >= 100:
        out.append(
            f"<line x1='{_f(left)}' y1='{_f(y(100))}' x2='{_f(left + width)}' y2='{_f(y(100))}' stroke='grey' "
            "stroke-dasharray='5 3'/>"
        )
    for i, r in enumerate(RESOURCES):
        u, x = util[r], left + slot * i
        shown = min(_value(u), 100.0)
        label = f'{u:.1f}%' if u == u else 'n/a'
        tip = f'{LABELS[r]}: {_num(estimate.resource(r))} of {_num(estimate.device.totals()[r])} ({label}, estimate)'
        out.append(_bar(x + slot * 0.2, y(shown), slot * 0.6, y(0) - y(shown), _BLUE, tip))
        if r in meas:  # before the annotation, so the text stays readable over the dot
            pct, mtip = meas[r]
            out.append(f"<circle cx='{_f(x + slot / 2)}' cy='{_f(y(pct))}' r='5' fill='{_RED}'>")
            out.append(f'<title>{escape(mtip)}</title></circle>')
        out.append(_text(x + slot / 2, y(shown) - 4, label, 'middle', " font-size='10'"))
        out.append(_text(x + slot / 2, top + height + 16, LABELS[r], 'middle'))
    out.append(
        f"<rect x='{_f(left)}' y='{_f(top)}' width='{_f(width)}' height='{_f(height)}' fill='none' stroke='#888'/>"
    )
    ylabel = f'% of {estimate.device.name}'
    out.append(_text(16, top + height / 2, ylabel, 'middle', f" transform='rotate(-90 16 {_f(top + height / 2)})'"))
    return _svg(left + width + 20, top + height + 28, 'Device utilization', out)


def report_charts(estimate, synthesis=None) -> list[tuple[str, str]]:
    """(caption, inline SVG markup) of each chart; Input layers are left out (nothing to draw)."""
    layers = [l for l in estimate.layers if l.layer_class not in ('Input',)]
    return [
        ('Latency per layer', _latency_chart(layers)),
        ('Resources per layer', _resources_chart(layers)),
        ('Device utilization', _utilization_chart(estimate, synthesis)),
    ]
