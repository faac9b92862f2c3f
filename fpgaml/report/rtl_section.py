"""The RTL section of ``report.html`` and of ``fpgaml rtl``'s terminal table: the figures of each source side by
side (the HLS estimate, the DA estimate of the RTL, Yosys, Vivado out-of-context, the HLS vendor report)."""

from __future__ import annotations

import html

from fpgaml.resources import YOSYS_CELLS


def side_by_side_rows(estimate, rtl: dict | None, synthesis=None) -> list[tuple[str, ...]]:
    """(metric, one figure per :data:`RTL_LABELS` source) rows: each source's figures side by side, '-' where a
    source has none (no Vivado on PATH, no vendor report of the HLS project)."""
    t = estimate.total
    rtl = rtl or {}
    tot = (rtl.get('synthesis') or {}).get('total') or {}
    da = rtl.get('da_estimate') or {}
    viv = rtl.get('vivado') or {}
    vend = {}
    if synthesis is not None:
        from fpgaml.synth.comparison import compare

        c = compare(estimate, synthesis)
        for m in ('latency_cycles', 'ii_cycles', 'lut', 'ff', 'dsp', 'bram_18k'):
            try:
                meas = c.get(m)
            except KeyError:
                meas = None
            vend[m] = '-' if meas is None or meas.measured is None else f'{meas.measured:,.0f}'

    def fmt(v):
        return '-' if v is None else f'{v:,.0f}' if isinstance(v, (int, float)) else str(v)

    cycles = rtl.get('latency_cycles')
    wns = viv.get('wns_ns')
    return [
        (
            'latency (cycles)',
            fmt(t.latency_cycles),
            fmt(da.get('cycles')),
            fmt(cycles),
            '-',
            vend.get('latency_cycles', '-'),
        ),
        ('latency (ns)', f'{t.latency_ns:g}', '-', fmt(rtl.get('latency_ns')), '-', '-'),
        (
            'II (cycles)',
            fmt(t.ii_cycles),
            fmt(1 if da else None),
            fmt(rtl.get('ii_cycles')),
            '-',
            vend.get('ii_cycles', '-'),
        ),
        ('LUT', fmt(t.lut), fmt(da.get('lut')), fmt(tot.get('LUT')), fmt(viv.get('LUT')), vend.get('lut', '-')),
        ('FF', fmt(t.ff), fmt(da.get('ff')), fmt(tot.get('FF')), fmt(viv.get('FF')), vend.get('ff', '-')),
        ('DSP', fmt(t.dsp), fmt(da.get('dsp')), fmt(tot.get('DSP')), fmt(viv.get('DSP')), vend.get('dsp', '-')),
        (
            'BRAM (18 kb)',
            fmt(t.bram_18k),
            fmt(0 if da else None),
            fmt(tot.get('BRAM')),
            fmt(viv.get('BRAM')),
            vend.get('bram_18k', '-'),
        ),
        ('CARRY', '-', '-', fmt(tot.get('CARRY')), '-', '-'),
        ('SRL', '-', '-', fmt(tot.get('SRL')), '-', '-'),
        ('timing slack WNS (ns)', '-', '-', '-', '-' if wns is None else f'{wns:g}', '-'),
    ]


RTL_LABELS = (
    'estimate (fpgaml model of the HLS firmware)',
    'estimate of this RTL (DA cost model)',
    'RTL measured (Verilog: Verilator cycles, Yosys synth_xilinx cells)',
    'RTL in Vivado (out-of-context synthesis, --vivado)',
    'vendor report of the HLS project (HLS/Vivado)',
)


def rtl_section(estimate, rtl: dict, synthesis=None) -> list[str]:
    e = html.escape
    lib = rtl.get('backend') or {'name': 'da4ml'}  # reports written before the choice of backend: da4ml
    parts = [f'<h2>RTL backend ({e(lib["name"])}): estimate vs measured</h2>']
    parts.append(
        f'<p>Traced and written by {e(lib["name"])} {e(lib.get("version", ""))}; Verilog in <code>{e(str(rtl.get("rtl_dir", "rtl")))}/</code> (in the project); Verilator simulation of '
        f'{rtl["samples"]:,} samples ({rtl["samples_validation"]:,} validation, {rtl["samples_generated"]:,} '
        f"generated full-range) against the C-simulation: <span class='pass'>{rtl['mismatching_bits']} "
        f'mismatching output bits</span>. {rtl["pipeline_stages"]} pipeline stages '
        f'(cutoff {rtl["pipeline_cutoff"]:g}) at {rtl["clock_period_ns"]:g} ns.</p>'
    )
    parts.append("<table><tr><th class='l'>metric</th>" + ''.join(f'<th>{e(l)}</th>' for l in RTL_LABELS) + '</tr>')
    for row in side_by_side_rows(estimate, rtl, synthesis):
        parts.append(
            "<tr><td class='l'>" + e(row[0]) + '</td>' + ''.join(f'<td>{e(c)}</td>' for c in row[1:]) + '</tr>'
        )
    parts.append('</table>')
    if rtl.get('da_estimate'):
        from fpgaml.estimate.da import summary_line

        parts.append(f'<p>{e(summary_line(rtl["da_estimate"]))}</p>')
    syn = rtl.get('synthesis')
    if syn and syn.get('modules'):
        parts.append(
            f'<h3>Yosys cells per module ({e(syn["tool"])}, -family {e(syn["family"])})</h3><table><tr>'
            "<th class='l'>module</th>" + ''.join(f'<th>{c}</th>' for c in YOSYS_CELLS) + '</tr>'
        )
        for name, r in syn['modules'].items():
            parts.append(
                f"<tr><td class='l'>{e(name)}</td>" + ''.join(f'<td>{r[k]:,}</td>' for k in YOSYS_CELLS) + '</tr>'
            )
        parts.append('</table>')
    ts = rtl.get('times_s') or {}
    thr = rtl.get('throughput') or {}
    parts.append(
        '<p>Wall time: '
        + ', '.join(f'{e(k)} {v:.1f} s' for k, v in ts.items())
        + (
            f'. Simulation: Verilator {thr.get("verilator_samples_per_s", 0):,.0f} samples/s, C-simulation '
            f'{thr.get("csim_samples_per_s", 0):,.0f} samples/s.'
            if thr
            else ''
        )
        + '</p>'
    )
    for n in rtl.get('notes') or []:
        parts.append(f"<p class='note'>{e(n)}</p>")
    return parts
