"""A sweep's results: ``sweep.csv``, ``sweep.json``, ``sweep.html`` (self-contained: plots embedded as PNG),
``sweep_pareto.png``, and the best point per budget.

Pareto fronts are latency vs LUT and latency vs DSP (both minimised), points coloured by accuracy (the
firmware's accuracy on the labelled validation data, else its argmax agreement with Keras); points that
meet the config's budgets are ringed, the chosen point (most accurate within the budgets, then fastest,
then smallest) is starred.
"""

from __future__ import annotations

import base64
import csv
import datetime as _dt
import html
import io
import json

from fpgaml.atomic import open_atomic, write_bytes, write_text

FIGURES = (
    'latency_cycles',
    'latency_ns',
    'ii_cycles',
    'lut',
    'lut_pct',
    'ff',
    'ff_pct',
    'dsp',
    'dsp_pct',
    'bram_18k',
    'bram_pct',
    'csim_passed',
    'csim_mode',
    'samples',
    'bit_exact_fraction',
    'max_abs_diff',
    'argmax_agreement',
    'accuracy_keras',
    'accuracy_firmware',
    'budgets_passed',
    'synth',
    # with --rtl: the Verilator check and the Yosys counts of the point's RTL (empty otherwise)
    'rtl_mismatching_bits',
    'rtl_samples',
    'rtl_latency_cycles',
    'rtl_latency_ns',
    'rtl_ii_cycles',
    'rtl_lut',
    'rtl_ff',
    'rtl_dsp',
    'rtl_carry',
)
RUN = ('seconds', 'cached', 'scheduler', 'worker', 'host', 'error')


def accuracy(row: dict) -> float | None:
    a = row.get('accuracy_firmware')
    return a if a is not None else row.get('argmax_agreement')


def meets(row: dict) -> bool:
    return row.get('status') == 'ok' and row.get('budgets_passed') is not False


def pareto(rows: list[dict], x: str, y: str) -> list[dict]:
    """The points no other point beats on both ``x`` and ``y`` (both minimised), sorted by ``x``."""
    ok = sorted((r for r in rows if r.get('status') == 'ok'), key=lambda r: (r[x], r[y]))
    front, best_y = [], float('inf')
    for r in ok:
        if r[y] < best_y:
            front.append(r)
            best_y = r[y]
    return front


def best_points(rows: list[dict], cfg) -> dict:
    """The best point per objective among the points that meet the budgets (all points when there are none)."""
    ok = [r for r in rows if meets(r)]
    if not ok:
        return {}
    acc = lambda r: accuracy(r) if accuracy(r) is not None else -1.0  # noqa: E731
    return {
        'chosen (most accurate, then fastest, then fewest LUT)': min(
            ok, key=lambda r: (-acc(r), r['latency_ns'], r['lut'], r['dsp'])
        ),
        'lowest latency': min(ok, key=lambda r: (r['latency_ns'], r['lut'], -acc(r))),
        'fewest LUT': min(ok, key=lambda r: (r['lut'], r['latency_ns'], -acc(r))),
        'fewest DSP': min(ok, key=lambda r: (r['dsp'], r['latency_ns'], -acc(r))),
    }


def chosen(best: dict) -> dict | None:
    return next(iter(best.values()), None)


def write_all(res, cfg, grid: dict) -> dict:
    out = res.output
    files = {
        'csv': out / 'sweep.csv',
        'json': out / 'sweep.json',
        'html': out / 'sweep.html',
        'png': out / 'sweep_pareto.png',
    }
    keys = list(grid)
    with open_atomic(files['csv'], newline='') as f:
        w = csv.writer(f)
        w.writerow(['point', 'status', *keys, *FIGURES, *RUN, 'key', 'config'])
        for r in res.rows:
            w.writerow(
                [
                    r['point'],
                    r['status'],
                    *(r['settings'].get(k) for k in keys),
                    *(_cell(r.get(k)) for k in FIGURES + RUN),
                    r['key'],
                    json.dumps(r['config'], sort_keys=True),
                ]
            )
    doc = {
        'config': str(cfg.source),
        'name': cfg.name,
        'grid': grid,
        'executed_on': res.where,
        'finished': _dt.datetime.now(_dt.UTC).isoformat(timespec='seconds'),
        'seconds': round(res.seconds, 2),
        'points': len(res.rows),
        'computed': res.computed,
        'cached': res.cached,
        'failed': res.failed,
        'interrupted': res.interrupted,
        'budgets': cfg.budgets.model_dump(mode='json') if cfg.budgets else None,
        'best': {k: r['point'] for k, r in res.best.items()},
        'rows': res.rows,
    }
    write_text(files['json'], json.dumps(doc, indent=1, default=str) + '\n')
    png = pareto_png(res.rows, cfg, res.best)
    if png is not None:
        write_bytes(files['png'], png)
    else:
        files.pop('png')
    write_text(files['html'], render_html(res, cfg, grid, png))
    return files


def _cell(v):
    if isinstance(v, float):
        return f'{v:.6g}'
    return '' if v is None else v


def pareto_png(rows: list[dict], cfg, best: dict, title: str | None = None) -> bytes | None:
    ok = [r for r in rows if r.get('status') == 'ok']
    if not ok:
        return None
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    accs = [accuracy(r) for r in ok]
    have_acc = any(a is not None for a in accs)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.8), constrained_layout=True)
    pick = chosen(best)
    for ax, res in zip(axes, ('lut', 'dsp')):
        xs, ys = [r['latency_ns'] for r in ok], [r[res] for r in ok]
        c = [a if a is not None else 0.0 for a in accs] if have_acc else 'tab:blue'
        sc = ax.scatter(xs, ys, c=c, cmap='viridis', s=40, zorder=3, edgecolors='none')
        ring = [r for r in ok if cfg.budgets and meets(r)]
        if ring:
            ax.scatter(
                [r['latency_ns'] for r in ring],
                [r[res] for r in ring],
                s=120,
                facecolors='none',
                edgecolors='black',
                linewidths=1.2,
                zorder=4,
                label='meets the budgets',
            )
        front = pareto(ok, 'latency_ns', res)
        ax.step(
            [r['latency_ns'] for r in front],
            [r[res] for r in front],
            where='post',
            color='tab:red',
            lw=1.2,
            zorder=2,
            label='Pareto front',
        )
        if pick is not None:
            ax.scatter(
                [pick['latency_ns']],
                [pick[res]],
                marker='*',
                s=320,
                color='tab:orange',
                edgecolors='black',
                zorder=5,
                label=f'chosen: {pick["label"]}',
            )
        ax.set_xlabel('latency (ns, estimate)')
        ax.set_ylabel(f'{res.upper()} (estimate)')
        ax.grid(alpha=0.3)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc='outside lower center', ncol=3, fontsize=8, frameon=False)
    if have_acc:
        cb = fig.colorbar(sc, ax=list(axes))
        cb.set_label(
            'firmware accuracy' if ok[0].get('accuracy_firmware') is not None else 'argmax agreement with Keras'
        )
    fig.suptitle(title or f'{cfg.name}: {len(ok)} points, latency vs resources')
    buf = io.BytesIO()
    fig.savefig(buf, format='png', dpi=110)
    plt.close(fig)
    return buf.getvalue()


def render_html(res, cfg, grid: dict, png: bytes | None) -> str:
    e = html.escape
    keys = list(grid)
    head = [
        '#',
        'status',
        *keys,
        'latency ns',
        'II',
        'LUT',
        'DSP',
        'FF',
        'BRAM',
        'accuracy',
        'bit-exact',
        'max |diff|',
        'budgets',
        'seconds',
        'where',
    ]
    body = []
    for r in res.rows:
        ok = r['status'] == 'ok'
        a = accuracy(r)
        cells = [
            r['point'],
            r['status'] + (' (cached)' if r.get('cached') else ''),
            *(r['settings'].get(k) for k in keys),
        ]
        if ok:
            be = r.get('bit_exact_fraction')
            cells += [
                f'{r["latency_ns"]:g}',
                r['ii_cycles'],
                r['lut'],
                r['dsp'],
                r['ff'],
                r['bram_18k'],
                '-' if a is None else f'{100 * a:.2f}%',
                '-' if be is None else f'{100 * be:.1f}%',
                f'{r["max_abs_diff"]:.3g}',
                {True: 'met', False: 'over', None: '-'}[r.get('budgets_passed')],
                f'{r.get("seconds", 0):.1f}',
                r.get('worker', '') if not r.get('cached') else 'cache',
            ]
        else:
            cells += [r.get('error', '')] + [''] * (len(head) - len(cells) - 1)
        body.append('<tr>' + ''.join(f'<td>{e(str(c))}</td>' for c in cells) + '</tr>')
    best = ''.join(
        f'<li><b>{e(k)}</b>: point {r["point"]} ({e(r["label"])}): {r["latency_ns"]:g} ns, {r["lut"]} LUT, '
        f'{r["dsp"]} DSP, accuracy {"-" if accuracy(r) is None else f"{100 * accuracy(r):.2f}%"}</li>'
        for k, r in res.best.items()
    )
    img = (
        f'<img alt="Pareto fronts" src="data:image/png;base64,{base64.b64encode(png).decode()}">'
        if png
        else '<p>no successful point to plot</p>'
    )
    budgets = e(json.dumps(cfg.budgets.model_dump(mode='json', exclude_none=True))) if cfg.budgets else 'none'
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>{e(cfg.name)}: fpgaml sweep</title>
<style>body{{font-family:sans-serif;margin:1.5em}}table{{border-collapse:collapse;font-size:13px}}
td,th{{border:1px solid #ccc;padding:2px 6px;text-align:right}}th{{background:#eee}}img{{max-width:100%}}</style>
</head><body><h1>{e(cfg.name)}: design-space sweep</h1>
<p>{len(res.rows)} points ({e(', '.join(f'{k}: {v}' for k, v in grid.items()))}); {res.computed} computed,
{res.cached} from the cache, {res.failed} failed{'; INTERRUPTED' if res.interrupted else ''}; executed on
{e(res.where)}; {res.seconds:.1f} s. Budgets: {budgets}. Latency and resources are fpgaml's estimates;
accuracy and bit-exactness come from the C-simulation on the validation data.</p>
{img}<h2>Best points within the budgets</h2><ul>{best or '<li>no point meets the budgets</li>'}</ul>
<h2>All points</h2><table><tr>{''.join(f'<th>{e(h)}</th>' for h in head)}</tr>{''.join(body)}</table>
</body></html>
"""
