"""Terminal tables of an estimate (rich when available, plain text otherwise)."""

from __future__ import annotations

import io

from fpgaml.resources import LABELS, RESOURCES

__all__ = ['estimate_table_text', 'print_estimate_table', 'budget_lines', 'kind_lines', 'vendor_lines']

_COLS = ('latency_cycles', 'ii_cycles', *RESOURCES)
_HEAD = ('layer', 'class', 'latency', 'II', *(LABELS[r] for r in RESOURCES))


def _rows(estimate):
    for l in estimate.layers:
        yield [l.name, l.layer_class] + [f'{getattr(l, c):,}' for c in _COLS]
    t = estimate.total
    yield ['TOTAL', f'{t.latency_ns:g} ns'] + [f'{getattr(t, c):,}' for c in _COLS]
    u = estimate.utilization
    yield ['% of ' + estimate.device.name, ''] + ['', ''] + [f'{u[c]:.1f}%' for c in RESOURCES]


_KIND_TITLE = {'synth': 'synth (post-synthesis, the table above)', 'csynth': "csynth (HLS tool's own estimate)"}


def kind_lines(estimate) -> list[str]:
    """One line per figure kind: its totals and its uncertainty band (cross-validated, per layer family)."""
    out = []
    for kind in ('synth', 'csynth'):
        k = getattr(estimate, 'kinds', {}).get(kind)
        if not k:
            continue
        band = k.get('band', {})
        parts = []
        for m, label in (('latency_cycles', 'latency'), ('dsp', 'DSP'), ('lut', 'LUT'), ('ff', 'FF')):
            b = band.get(m)
            rng = f' [{b[0]:,}-{b[1]:,}]' if b else ''
            parts.append(f'{label} {k[m]:,}{rng}')
        out.append(f'{_KIND_TITLE[kind]}: ' + ', '.join(parts))
    if out:
        out.append(
            '[low-high] = band from the cross-validated error of each layer family '
            '(benchmarks/estimator_calibration.py)'
        )
    return out


def estimate_table_text(estimate, comparison=None) -> str:
    """Plain-text table (fixed-width columns), suitable for logs and files."""
    rows = [list(_HEAD)] + list(_rows(estimate))
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(_HEAD))]
    out = io.StringIO()
    title = f'Estimate for {estimate.part} @ {estimate.clock_period_ns:g} ns ({estimate.io_type})'
    out.write(title + '\n')
    for k, r in enumerate(rows):
        out.write('  '.join(str(c).ljust(w) if i < 2 else str(c).rjust(w) for i, (c, w) in enumerate(zip(r, widths))))
        out.write('\n')
        if k == 0 or k == len(rows) - 3:
            out.write('  '.join('-' * w for w in widths) + '\n')
    for line in kind_lines(estimate):
        out.write(line + '\n')
    if comparison is not None:
        out.write('\nEstimate vs synthesis:\n')
        for m in comparison.metrics:
            out.write('  ' + m.message + '\n')
    for f in estimate.flags:
        out.write(f'note: {f}\n')
    return out.getvalue()


def budget_lines(results) -> list[str]:
    return [('PASS ' if r.passed else 'FAIL ') + r.message for r in results]


def print_estimate_table(estimate, budgets=None, comparison=None, console=None) -> None:
    """Print a rich table (falls back to plain text when rich is unavailable)."""
    try:
        from rich.console import Console
        from rich.table import Table
        from rich.text import Text
    except ImportError:  # pragma: no cover
        print(estimate_table_text(estimate, comparison))
        for line in budget_lines(budgets or []):
            print(line)
        return
    console = console or Console()
    table = Table(title=f'Estimate for {estimate.part} @ {estimate.clock_period_ns:g} ns ({estimate.io_type})')
    for i, h in enumerate(_HEAD):
        table.add_column(h, justify='left' if i < 2 else 'right')
    rows = list(_rows(estimate))
    for k, r in enumerate(rows):
        table.add_row(*r, style='bold' if k >= len(rows) - 2 else None, end_section=(k == len(rows) - 3))
    console.print(table)
    for line in kind_lines(estimate):
        console.print(line, highlight=False)
    if comparison is not None:
        for m in comparison.metrics:
            console.print('  ' + m.message)
    for r in budgets or []:
        console.print(Text.assemble(('PASS ', 'green') if r.passed else ('FAIL ', 'red'), r.message))
    for f in estimate.flags:
        console.print(Text.assemble(('note', 'yellow'), f': {f}'))


def vendor_lines(estimate, synthesis, part: str | None = None, clock_period: float | None = None) -> list[str]:
    """The estimate beside each vendor report present, like with like: the HLS tool's csynth figures against the
    estimate's ``csynth`` kind, Vivado post-synthesis utilisation against its ``synth`` kind (latency and II only
    from csynth / co-simulation), each line with the difference; and a note where a report was made for another
    part, clock or top function than the project."""
    from fpgaml.synth.comparison import compare

    out = []
    c, v = synthesis.csynth, synthesis.vivado_synth
    blocks = []
    if c is not None and v is not None:
        blocks.append(
            (
                f'estimate (csynth kind) vs HLS C-synthesis report {c.path} ({c.tool_version or "?"}):',
                compare(estimate, synthesis, resources='csynth').metrics,
            )
        )
        blocks.append(
            (
                f'estimate (synth kind) vs Vivado post-synthesis report {v.path} ({v.tool_version or "?"}):',
                [
                    m
                    for m in compare(estimate, synthesis, resources='vivado_synth').metrics
                    if m.metric not in ('latency_cycles', 'ii_cycles')
                ],
            )
        )
    else:
        srcs = [
            f'{r.path} ({r.tool_version or "?"})'
            for r in (c, v, synthesis.cosim)
            if r is not None and getattr(r, 'path', None)
        ]
        blocks.append(('estimate vs ' + ', '.join(srcs) + ':', compare(estimate, synthesis).metrics))
    for title, metrics in blocks:
        out.append(title)
        out += ['  ' + m.message for m in metrics]
    if c is not None:
        if part and c.part and c.part.lower() != part.lower():
            out.append(f'note: the csynth report is for part {c.part}, the project for {part}')
        if clock_period and c.target_clock_ns and abs(c.target_clock_ns - clock_period) > 1e-9:
            out.append(
                f'note: the csynth report is for a {c.target_clock_ns:g} ns clock, the project for {clock_period:g} ns'
            )
    return out
