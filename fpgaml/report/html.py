"""Self-contained offline HTML report: tables plus charts (:mod:`fpgaml.report.charts`) embedded as inline SVG."""

from __future__ import annotations

import html
from pathlib import Path

from fpgaml.atomic import write_text
from fpgaml.report.charts import report_charts
from fpgaml.report.rtl_section import rtl_section
from fpgaml.resources import LABELS, RESOURCES

__all__ = ['write_html_report', 'render_html_report']


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:0.9em}
th,td{border:1px solid #ccc;padding:3px 8px;text-align:right}
th{background:#f0f0f0} td.l,th.l{text-align:left}
tr.total td{font-weight:bold;background:#fafafa}
.pass{color:#1a7f37;font-weight:bold} .fail{color:#cf222e;font-weight:bold} .warn{color:#9a6700;font-weight:bold}
.note{color:#9a6700} svg{max-width:100%;height:auto;display:block;margin:0.5em 0 1.5em}
"""


def _pct(v) -> str:
    return '-' if v is None else f'{100 * v:.2f}%'


def _verification(csim) -> list[str]:
    """The C-simulation verdict section (first on the page): what was compared, how, and the result."""
    e = html.escape
    if csim is None:
        return [
            "<h2 id='verification'>Verification</h2><p class='note'>C-simulation not run "
            '(<code>fpgaml build</code> or <code>fpgaml csim</code>).</p>'
        ]
    c = csim.to_json() if hasattr(csim, 'to_json') else dict(csim)
    cls, word = ('pass', 'PASSED') if c['passed'] else ('fail', 'FAILED')
    div = c.get('first_divergent_layer')
    acc = c.get('accuracy')
    rows = [
        ('verdict', f"<span class='{cls}'>{word}</span>"),
        ('mode', f'{e(c["mode"])} <small>({e(c.get("mode_reason") or "")})</small>'),
        ('data', e(c.get('input_source', ''))),
        ('input type(s)', e(', '.join(c.get('input_types') or []))),
        ('compared at', e(c['compared_at'])),
        ('bit-exact on the input grid', _pct(c.get('exact_fraction'))),
        (
            'agreement on the raw data',
            _pct(c.get('raw_agreement'))
            + (f" <small class='note'>{e(c['input_cause'])}</small>" if c.get('input_cause') else ''),
        ),
        ('accuracy', '-' if not acc else f'Keras {_pct(acc.get("keras"))}, firmware {_pct(acc.get("firmware"))}'),
        (
            'first divergent layer',
            '-'
            if not div
            else e(
                f'{div["layer"]} ({div["cls"]}): {div["values_differing"]} of {div["values_compared"]} values differ'
            ),
        ),
    ]
    parts = ["<h2 id='verification'>Verification (C-simulation)</h2><table>"]
    parts += [f"<tr><td class='l'>{k}</td><td class='l'>{v}</td></tr>" for k, v in rows]
    parts.append(
        "</table><table><tr><th class='l'>compared</th><th class='l'>check applied</th><th class='l'>why"
        "</th><th>input grid</th><th>raw data</th><th class='l'>result</th></tr>"
    )

    def fmt(v):
        return '-' if v is None else f'{v:.6g}'

    for ch in c.get('checks') or []:
        res = "<span class='pass'>PASS</span>" if ch['passed'] else "<span class='fail'>FAIL</span>"
        parts.append(
            f"<tr><td class='l'>{e(ch['output'])}</td><td class='l'>{e(ch['kind'])}: {e(ch['criterion'])}"
            f"</td><td class='l'>{e(ch['why'])}</td><td>{fmt(ch['value'])}</td><td>{fmt(ch['raw_value'])}"
            f"</td><td class='l'>{res}</td></tr>"
        )
    parts.append('</table>')
    items = [f"<li class='fail'>{e(f)}</li>" for f in c.get('failures') or []]
    items += [f"<li class='note'>{e(n)}</li>" for n in c.get('notes') or []]
    if items:
        parts.append('<ul>' + ''.join(items) + '</ul>')
    return parts


def _layer_types(layers: list[dict]) -> list[str]:
    """Each layer's output type and where it came from (fpgaml.convert.provenance)."""
    e = html.escape
    parts = [
        "<h2 id='types'>Layer types</h2><table><tr><th class='l'>layer</th><th class='l'>class</th>"
        "<th class='l'>output type</th><th class='l'>type from</th><th class='l'>weight type</th></tr>"
    ]
    for r in layers:
        source = r.get('type_from', '')
        shown = f"<span class='warn'>{e(source)}</span>" if source == 'default' else e(source)
        parts.append(
            f"<tr><td class='l'>{e(r['name'])}</td><td class='l'>{e(r['cls'])}</td>"
            f"<td class='l'>{e(r['precisions'].get('result', ''))}</td><td class='l'>{shown}</td>"
            f"<td class='l'>{e(r['precisions'].get('weight', ''))}</td></tr>"
        )
    parts.append(
        "</table><p class='note'>type from: quantizer (the model's own), config, exact (hls4ml's inference or "
        'an fpgaml pass), data range (precision policy profile), default (the model-wide precision: nothing chose '
        'it; a C-simulation warns when it overflows on the validation data).</p>'
    )
    return parts


def _flow(flow: list[dict]) -> list[str]:
    """fpgaml's correction passes over hls4ml's graph, in the order they ran, and what each changed."""
    e = html.escape
    parts = [
        "<h2 id='flow'>fpgaml passes over the hls4ml graph</h2><table><tr><th class='l'>pass</th>"
        "<th class='l'>what it does</th><th class='l'>changed</th></tr>"
    ]
    for r in flow:
        if not r['ran']:
            changed = f"<span class='note'>not run: {e(r['reason'])}</span>"
        elif not r['changes']:
            changed = "<span class='note'>nothing to change</span>"
        else:
            changed = '<br>'.join(f'<b>{e(c["layer"])}</b>: {e(c["what"])}' for c in r['changes'])
        parts.append(
            f"<tr><td class='l'>{e(r['pass'])}</td><td class='l'>{e(r['summary'])}</td>"
            f"<td class='l'>{changed}</td></tr>"
        )
    parts.append('</table>')
    return parts


def render_html_report(
    estimate,
    synthesis=None,
    budgets=None,
    title: str = 'fpgaml estimate report',
    csim=None,
    verification: bool = False,
    flow: list[dict] | None = None,
    rtl: dict | None = None,
    layers: list[dict] | None = None,
) -> str:
    """Return the HTML document as a string (see :func:`write_html_report`). With ``verification`` (or a
    ``csim`` result) the page leads with the C-simulation verdict."""
    from fpgaml.target.budgets import check_budgets

    e = html.escape
    t = estimate.total
    parts = [
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{e(title)}</title>",
        f'<style>{_CSS}</style></head><body>',
        f'<h1>{e(title)}</h1>',
    ]
    if verification or csim is not None:
        parts += _verification(csim)
    parts += [
        f'<p>Part <b>{e(estimate.part)}</b> ({e(estimate.device.description)}), clock '
        f'{estimate.clock_period_ns:g} ns, {e(estimate.io_type)}. Estimates computed from the converted '
        'graph (no vendor tools); resources target post-synthesis utilization, latency/II target HLS '
        'C-synthesis.</p>'
    ]
    parts.append(
        "<h2>Estimate summary</h2><table><tr><th class='l'>metric</th><th>estimate</th>"
        + ('<th>synthesis</th><th>difference</th>' if synthesis is not None else '')
        + '<th>% of device</th></tr>'
    )
    comparison = None
    if synthesis is not None:
        from fpgaml.synth.comparison import compare

        comparison = compare(estimate, synthesis)
    for metric, label in (('latency_cycles', 'latency (cycles)'), ('ii_cycles', 'II (cycles)')) + tuple(
        (r, LABELS[r]) for r in RESOURCES
    ):
        val = getattr(t, metric)
        row = f"<tr><td class='l'>{label}</td><td>{val:,}</td>"
        if comparison is not None:
            m = comparison.get(metric)
            meas = '-' if m.measured is None else f'{m.measured:,.0f} <small>({e(m.source or "")})</small>'
            diff = '-' if m.percent is None else f'{m.percent:+.1f}%'
            row += f'<td>{meas}</td><td>{diff}</td>'
        util = estimate.utilization.get(metric)
        row += f'<td>{"" if util is None else f"{util:.2f}%"}</td></tr>'
        parts.append(row)
    parts.append(
        f"<tr><td class='l'>latency (ns)</td><td>{t.latency_ns:g}</td>"
        + ('<td></td><td></td>' if synthesis is not None else '')
        + '<td></td></tr></table>'
    )
    if getattr(estimate, 'kinds', None):
        parts.append(
            '<h2>Figure kinds and uncertainty bands</h2><p>Each figure with its band [low-high], from the '
            'cross-validated error of its layer families on the calibration set; <i>synth</i> is '
            "post-synthesis utilization (the summary above), <i>csynth</i> the HLS tool's own estimate."
            "</p><table><tr><th class='l'>kind</th><th>latency (cycles)</th><th>DSP</th><th>LUT</th>"
            '<th>FF</th></tr>'
        )
        for kind in ('synth', 'csynth'):
            k = estimate.kinds.get(kind)
            if not k:
                continue
            cells = []
            for m in ('latency_cycles', 'dsp', 'lut', 'ff'):
                b = k.get('band', {}).get(m)
                cells.append(f'<td>{k[m]:,}' + (f' <small>[{b[0]:,}-{b[1]:,}]</small>' if b else '') + '</td>')
            parts.append(f"<tr><td class='l'>{kind}</td>{''.join(cells)}</tr>")
        parts.append('</table>')
        if getattr(estimate, 'uncalibrated', None):
            parts.append(
                '<p><b>Uncalibrated</b> (no calibration data; estimated from structure, default band): '
                + e(', '.join(estimate.uncalibrated))
                + '</p>'
            )
    if rtl:
        parts += rtl_section(estimate, rtl, synthesis)
    if budgets is not None:
        results = check_budgets(estimate, budgets)
        parts.append(
            "<h2>Budgets</h2><table><tr><th class='l'>budget</th><th>limit</th><th>value</th>"
            "<th>margin</th><th class='l'>result</th></tr>"
        )
        for r in results:
            cls = 'pass' if r.passed else 'fail'
            parts.append(
                f"<tr><td class='l'>{e(r.name)} {e(r.unit)}</td><td>{r.limit:,.0f}</td><td>{r.value:,.0f}"
                f"</td><td>{r.margin:,.0f}</td><td class='l'><span class='{cls}'>"
                f'{"PASS" if r.passed else "FAIL"}</span> {e(r.message)}</td></tr>'
            )
        parts.append('</table>')
    parts.append('<h2>Charts</h2>')
    for caption, svg in report_charts(estimate, synthesis):
        parts.append(f'<h3>{e(caption)}</h3>{svg}')
    parts.append(
        "<h2>Per-layer estimate</h2><table><tr><th class='l'>layer</th><th class='l'>class</th>"
        '<th>latency</th><th>II</th><th>DSP</th><th>LUT</th><th>FF</th><th>BRAM_18K</th><th>URAM</th></tr>'
    )
    for l in estimate.layers:
        parts.append(
            f"<tr><td class='l'>{e(l.name)}</td><td class='l'>{e(l.layer_class)}</td><td>{l.latency_cycles:,}"
            f'</td><td>{l.ii_cycles:,}</td><td>{l.dsp:,}</td><td>{l.lut:,}</td><td>{l.ff:,}</td>'
            f'<td>{l.bram_18k:,}</td><td>{l.uram:,}</td></tr>'
        )
    parts.append(
        f"<tr class='total'><td class='l'>total</td><td></td><td>{t.latency_cycles:,}</td><td>{t.ii_cycles:,}"
        f'</td><td>{t.dsp:,}</td><td>{t.lut:,}</td><td>{t.ff:,}</td><td>{t.bram_18k:,}</td><td>{t.uram:,}'
        '</td></tr></table>'
    )
    if synthesis is not None and synthesis.csynth is not None and synthesis.csynth.instances:
        parts.append(
            "<h2>HLS C-synthesis instances</h2><table><tr><th class='l'>instance</th><th>latency</th>"
            '<th>II</th><th>DSP</th><th>LUT</th><th>FF</th><th>BRAM_18K</th></tr>'
        )
        for i in synthesis.csynth.instances:
            cells = [i.latency_max, i.ii_max, i.dsp, i.lut, i.ff, i.bram_18k]
            parts.append(
                f"<tr><td class='l'>{e(i.name)}</td>"
                + ''.join(f'<td>{"-" if c is None else f"{c:,}"}</td>' for c in cells)
                + '</tr>'
            )
        parts.append('</table>')
    if layers:
        parts += _layer_types(layers)
    if flow:
        parts += _flow(flow)
    if estimate.flags:
        parts.append('<h2>Notes</h2><ul>' + ''.join(f"<li class='note'>{e(f)}</li>" for f in estimate.flags) + '</ul>')
    parts.append('</body></html>')
    return '\n'.join(parts)


def write_html_report(
    path,
    estimate,
    synthesis=None,
    budgets=None,
    title: str = 'fpgaml estimate report',
    csim=None,
    verification: bool = False,
    flow: list[dict] | None = None,
    rtl: dict | None = None,
    layers: list[dict] | None = None,
) -> Path:
    """Write a self-contained HTML report (no external resources) to ``path``; written atomically."""
    path = Path(path)
    doc = render_html_report(
        estimate,
        synthesis=synthesis,
        budgets=budgets,
        title=title,
        csim=csim,
        verification=verification,
        flow=flow,
        rtl=rtl,
        layers=layers,
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_text(path, doc, encoding='utf-8', mode=0o644)
