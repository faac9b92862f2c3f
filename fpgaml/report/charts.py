"""The charts of ``report.html``: per-layer latency and II, per-layer resources, device utilization (estimate,
and synthesis when a vendor report is there), drawn with matplotlib (Agg, no display) and returned as base64
PNG, so the page embeds them and needs nothing beside it."""

from __future__ import annotations

import base64
import io

from fpgaml.resources import LABELS, RESOURCES

__all__ = ['report_charts']


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format='png', dpi=96, bbox_inches='tight')
    import matplotlib.pyplot as plt

    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode('ascii')


def report_charts(estimate, synthesis=None) -> list[tuple[str, str]]:
    import matplotlib

    matplotlib.use('Agg', force=True)
    import matplotlib.pyplot as plt

    layers = [l for l in estimate.layers if l.layer_class not in ('Input',)]
    names = [l.name for l in layers]
    charts = []
    height = max(2.5, 0.28 * len(names) + 1.0)

    fig, ax = plt.subplots(figsize=(8, height))
    ax.barh(names, [l.latency_cycles for l in layers], color='#4c72b0', label='latency')
    ax.barh(names, [l.ii_cycles for l in layers], color='#dd8452', alpha=0.6, height=0.4, label='II')
    ax.invert_yaxis()
    ax.set_xlabel('cycles')
    ax.set_title('Per-layer latency and II (estimate)')
    ax.legend(loc='lower right')
    charts.append(('Latency per layer', _png(fig)))

    # constrained layout reserves room for the figure title above the panel titles (they overlapped)
    fig, axes = plt.subplots(1, 4, figsize=(13, height + 0.6), sharey=True, layout='constrained')
    for ax, r, color in zip(axes, ('dsp', 'lut', 'ff', 'bram_18k'), ('#c44e52', '#55a868', '#8172b2', '#ccb974')):
        ax.barh(names, [getattr(l, r) for l in layers], color=color)
        ax.set_title(LABELS[r])
        ax.tick_params(axis='x', labelrotation=30)
    axes[0].invert_yaxis()
    fig.suptitle('Per-layer resources (estimate)')
    charts.append(('Resources per layer', _png(fig)))

    fig, ax = plt.subplots(figsize=(7, 3))
    util = [estimate.utilization[r] for r in RESOURCES]
    labels = [LABELS[r] for r in RESOURCES]
    bars = ax.bar(labels, [min(u, 100.0) if u == u else 0 for u in util], color='#4c72b0', label='estimate')
    if synthesis is not None:
        av = estimate.device.totals()
        meas = []
        for r in RESOURCES:
            v, _ = synthesis.resource(r)
            meas.append(100.0 * v / av[r] if v is not None and av[r] else 0.0)
        ax.scatter(labels, meas, color='#c44e52', zorder=3, label='synthesis')
        ax.legend()
    for b, u in zip(bars, util):
        ax.annotate(f'{u:.1f}%', (b.get_x() + b.get_width() / 2, b.get_height()), ha='center', va='bottom', fontsize=8)
    ax.set_ylim(0, max(10.0, min(110.0, max(util + [0]) * 1.25)))
    ax.axhline(100, color='grey', lw=0.8, ls='--')
    ax.set_ylabel(f'% of {estimate.device.name}')
    ax.set_title('Device utilization')
    charts.append(('Device utilization', _png(fig)))
    return charts
