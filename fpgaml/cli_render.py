"""What the ``fpgaml`` commands print: their terminal tables and verdict lines (rich, no markup).

The commands (:mod:`fpgaml.cli_project`, :mod:`fpgaml.cli_batch`) parse the options and run the flows; each
then hands its result to one function here. Everything goes to :data:`out` (stdout) but failures of single items, which go to :data:`err`.
"""

from __future__ import annotations

import json
import sys

from rich.console import Console
from rich.table import Table
from rich.text import Text

from fpgaml.resources import YOSYS_CELLS

# markup off: messages carry user text (paths, layer names, "[physics]") that must print verbatim
out = Console(width=None if sys.stdout.isatty() else 120, markup=False, highlight=False)
err = Console(stderr=True, markup=False, highlight=False)


def short_precision(precision: str) -> str:
    """fixed<16,6,TRN,WRAP,0> -> fixed<16,6> (hls4ml's default modes left out)."""
    return precision.replace(',TRN,WRAP,0>', '>').replace(',0>', '>')


def print_model(res) -> None:
    """One line: the model's format and the library that loaded it; the extension modules used; whether the
    result was replayed from the result cache."""
    if res.loaded is None and res.report is None:
        return
    loader, extensions = res.model_loader
    if loader:
        out.print(f'model: {loader}')
    if extensions:
        out.print(f'extensions: {", ".join(extensions)}')
    if res.replayed is not None:
        out.print(
            f'result cache: replayed the build of {res.replayed.record.get("created", "?")} (model, config, data '
            f'and tools unchanged; --no-cache recomputes)'
        )


def print_timings(res) -> None:
    """Wall time per step of the flow (``--timings``)."""
    t = Table(title='time per step', title_justify='left')
    t.add_column('step')
    t.add_column('seconds', justify='right')
    for step, s in res.timings.items():
        t.add_row(step, f'{s:.3f}')
    t.add_row('total', f'{sum(res.timings.values()):.3f}')
    out.print(t)


def print_layers(res) -> None:
    rows = res.layer_records
    t = Table(title=f'{res.cfg.name}: {len(rows)} layers', title_justify='left')
    for col in ('layer', 'class', 'output', 'result type', 'type from', 'weight type', 'RF', 'weights', 'zeros'):
        t.add_column(col)
    for r in rows:
        t.add_row(
            r.name,
            r.cls,
            'x'.join(map(str, r.output_shape)),
            short_precision(r.precisions.get('result', '')),
            Text(r.type_from, style='yellow') if r.type_from == 'default' else r.type_from,
            short_precision(r.precisions.get('weight', '')),
            str(r.reuse_factor or ''),
            str(r.n_weights or ''),
            str(r.n_zero_weights or ''),
        )
    out.print(t)


def print_csim(res) -> None:
    c = res.csim
    if c is None:
        return
    out.print(
        Text.assemble(
            'C-simulation ', ('PASSED', 'green') if c.passed else ('FAILED', 'red'), f': {c.mode} on {c.input_source}'
        )
    )
    out.print(f'  mode: {c.mode} ({c.mode_reason})' if c.mode_reason else f'  mode: {c.mode}')
    out.print(f'  compared at: {c.compared_at}; input type {", ".join(c.input_types)}')
    if c.exact_fraction is not None:
        out.print(f'  bit-exact samples (input grid): {100 * c.exact_fraction:.2f}%')
    if c.raw_agreement is not None:
        out.print(
            Text(
                f'  agreement on the raw data: {100 * c.raw_agreement:.2f}%',
                style='yellow' if c.raw_agreement < 1.0 else '',
            )
        )
    for ch in c.checks:
        value = '-' if ch['value'] is None else f'{ch["value"]:.6g}'
        out.print(
            Text.assemble(
                f'  check {ch["output"]}: {ch["kind"]}: {ch["criterion"]} -> {value} ',
                ('pass', 'green') if ch['passed'] else ('FAIL', 'red'),
                f' ({ch["why"]})',
            )
        )
    line = f'  max |diff| {c.max_abs_diff:.4g}, mean |diff| {c.mean_abs_diff:.4g}'
    if c.argmax_agreement is not None:
        line += f', argmax agreement {100 * c.argmax_agreement:.2f}%'
    out.print(line)
    if c.accuracy:
        out.print(f'  accuracy: Keras {100 * c.accuracy["keras"]:.2f}%, firmware {100 * c.accuracy["firmware"]:.2f}%')
    if c.tolerances:
        out.print(f'  tolerances: {c.tolerances}')
    out.print(
        f'  compile {c.compile_seconds:.1f} s{" (cached)" if c.compile_cached else ""}, '
        f'C-sim {c.us_per_sample:.1f} us/sample'
    )
    for n in c.notes:
        out.print(Text(f'  {n}', style='yellow') if n.startswith('warning: ') else f'  note: {n}')
    for f in c.failures:
        out.print(Text(f'  {f}', style='red'))


def print_estimate(est, budgets, comparison=None) -> None:
    from fpgaml.report.table import print_estimate_table

    print_estimate_table(est, budgets=budgets, comparison=comparison, console=out)


def print_project(res) -> None:
    """Where the project and its reports are."""
    out.print(f'project: {res.project_dir}')
    out.print(f'report:  {res.project_dir / "fpgaml-report.json"} and {res.project_dir / "report.html"}')


def print_budgets_failed(res) -> None:
    for b in res.budgets_failed:
        err.print(Text.assemble(('budget: ', 'red'), b.message))


def print_side_by_side(name: str, estimate, rtl: dict, synthesis) -> None:
    from fpgaml.report.rtl_section import RTL_LABELS, side_by_side_rows

    t = Table(title=f'{name}: estimate vs RTL measurement vs vendor report', title_justify='left')
    t.add_column('metric')
    for label in RTL_LABELS:
        t.add_column(label, justify='right')
    for row in side_by_side_rows(estimate, rtl, synthesis):
        t.add_row(*row)
    out.print(t)


def print_rtl(res) -> None:
    r = res.rtl_result
    if r is None:
        return
    out.print(
        Text.assemble(
            'RTL simulation ',
            ('PASSED', 'green'),
            f': {r.samples:,} samples ({r.samples_validation:,} validation + {r.samples_generated:,} '
            f'generated full-range), {r.mismatching_bits} mismatching output bits vs the C-simulation',
        )
    )
    out.print(
        f'  latency {r.latency_cycles} cycles = {r.latency_ns:g} ns at {r.clock_period_ns:g} ns, II {r.ii_cycles} '
        f'(measured in Verilator); {r.pipeline_stages} pipeline stages, cutoff {r.pipeline_cutoff:g}'
        + (f'; traced by {r.backend["name"]} {r.backend["version"]}' if r.backend else '')
    )
    ts = r.times_s
    out.print(
        '  wall time: '
        + ', '.join(f'{k} {v:.1f} s' for k, v in ts.items())
        + (' (Verilator build cached)' if r.verilator_cached else '')
    )
    out.print(
        f'  simulation: Verilator {r.throughput["verilator_samples_per_s"]:,.0f} samples/s, '
        f'C-simulation {r.throughput["csim_samples_per_s"]:,.0f} samples/s'
    )
    for n in r.notes:
        out.print(f'  note: {n}')
    print_side_by_side(res.cfg.name, res.estimate_result, r.to_json(), res.synthesis.result if res.synthesis else None)
    if r.da_estimate:
        from fpgaml.estimate.da import summary_line

        out.print(f'  {summary_line(r.da_estimate)}', soft_wrap=True)
    if r.synthesis:
        s = r.synthesis
        m = Table(
            title=f'Yosys synth_xilinx -family {s["family"]} (classic abc'
            f'{", DSPs allowed" if s["dsp_allowed"] else ", no DSPs"}): cells per module',
            title_justify='left',
        )
        for col in ('module', *YOSYS_CELLS):
            m.add_column(col, justify='left' if col == 'module' else 'right')
        for name, v in list(s['modules'].items()) + [('total', s['total'])]:
            m.add_row(name, *(f'{v[k]:,}' for k in YOSYS_CELLS))
        out.print(m)
    if r.vivado:
        out.print(_vivado_line(r.vivado), soft_wrap=True)


def _vivado_line(v: dict) -> str:
    """``fpgaml rtl --vivado``: Vivado's out-of-context figures, one line (the reports are in rtl/)."""

    def f(x):
        return '-' if x is None else f'{x:,}'

    timing = (
        f'; WNS {v["wns_ns"]:.3f} ns at {v["clock_period_ns"]:g} ns'
        if v.get('wns_ns') is not None and v.get('clock_period_ns')
        else ''
    )
    return (
        f'Vivado out-of-context synthesis ({v.get("tool_version") or "vivado"}): LUT {f(v["LUT"])}, FF {f(v["FF"])}, '
        f'DSP {f(v["DSP"])}, BRAM {f(v["BRAM"])} (18 kb){timing} (rtl/vivado_utilization.rpt, rtl/vivado_timing.rpt)'
    )


def print_report(rep: dict, est, budgets: list, synthesis) -> None:
    """``fpgaml report``: a written project's record, beside its vendor reports when there are some."""
    if synthesis is None:
        out.print('no vendor synthesis reports in this project; showing the estimate')
    c = rep.get('csim')
    if c:
        out.print(f'C-simulation: {"PASSED" if c["passed"] else "FAILED"} ({c["mode"]}, {c["samples"]} samples)')
    print_estimate(est, budgets)
    if synthesis is not None:
        from fpgaml.report.table import vendor_lines

        for line in vendor_lines(est, synthesis, rep['config'].get('part'), rep['config'].get('clock_period')):
            out.print(line, soft_wrap=True)  # paths unbroken
    if rep.get('rtl'):
        print_side_by_side(rep['config']['name'], est, rep['rtl'], synthesis)


def print_regress(results) -> None:
    t = Table(title='golden regression', title_justify='left')
    for col in ('model', 'status', 'samples', 'outputs', 'differing', 'firmware', 'seconds'):
        t.add_column(col)
    for r in results:
        style = 'red' if not r.passed else ('yellow' if r.status in ('updated', 'created') else 'green')
        t.add_row(
            r.model,
            Text(r.status, style=style),
            str(r.samples),
            str(r.outputs_compared),
            str(r.outputs_differing),
            'changed' if r.firmware_changed else 'same',
            f'{r.seconds:.1f}' + (' (replayed)' if r.replayed else ' (cached)' if r.compile_cached else ''),
        )
    out.print(t)
    replayed = sum(r.replayed for r in results)
    if replayed:
        out.print(
            f'result cache: {replayed} of {len(results)} passes replayed (model, config, golden record and tools '
            f'unchanged; --no-cache rebuilds)'
        )
    for r in results:
        if r.first_difference:
            out.print(f'{r.model}: first difference at {r.first_difference}')
        if r.first_divergent_layer:
            out.print(f'{r.model}: first divergent layer {r.first_divergent_layer}')
        for c in r.changes:
            out.print(f'{r.model}: {c}')
    failed = [r.model for r in results if not r.passed]
    if failed:
        err.print(
            Text.assemble(
                ('regression: ', 'red'),
                f'{len(failed)} of {len(results)} models differ from their golden records: {", ".join(failed)}',
            )
        )


def print_sweep(res, cfg) -> None:
    from fpgaml.sweep.results import accuracy

    out.print(
        f'{len(res.rows)} points: {res.computed} computed, {res.cached} cached, {res.failed} failed '
        f'({res.seconds:.1f} s)'
    )
    for what, r in res.best.items():
        a = accuracy(r)
        out.print(
            f'best, {what}: point {r["point"]} ({r["label"]}): {r["latency_ns"]:g} ns, II {r["ii_cycles"]}, '
            f'{r["lut"]} LUT, {r["dsp"]} DSP' + ('' if a is None else f', accuracy {100 * a:.2f}%')
        )
    if not res.best:
        out.print('no point meets the budgets' if cfg.budgets else 'no point succeeded')
    for r in res.rows:
        if r['status'] == 'failed':
            err.print(Text.assemble(('failed: ', 'red'), f'point {r["point"]} ({r["label"]}): {r.get("error")}'))
    out.print(f'results: {res.files["csv"]}, {res.files["json"].name}, {res.files["html"].name}')


def print_minimized(found, path) -> None:
    """The type search's outcome (``build --minimize-types``): what was cut, and what it saved."""
    b, c = found.base, found.chosen
    cuts = ', '.join(f'{n} -{k}' for n, k in found.cuts.items()) or 'none kept the verdict'
    out.print(
        f'type search ({found.evaluated} points): fractional bits cut: {cuts}; estimated LUT {b["lut"]:,} -> '
        f'{c["lut"]:,}, FF {b["ff"]:,} -> {c["ff"]:,}, DSP {b["dsp"]} -> {c["dsp"]}; verdict kept ({c["csim_mode"]}); '
        f'types: {path}'
    )


def print_zoo(models: dict) -> None:
    """``fpgaml zoo list``: each reference model with the metrics recorded beside it."""

    def pct(v):
        return f'{100 * v:.1f}%' if isinstance(v, (int, float)) else '-'

    t = Table(title='fpgaml model zoo (models/<name>/metrics.json)', title_justify='left')
    for col in ('model', 'parameters', 'sparsity', 'float acc', 'quantized acc', 'C-sim acc', 'golden'):
        t.add_column(col)
    for name, config in models.items():
        m = config.parent / 'metrics.json'
        d = json.loads(m.read_text()) if m.is_file() else {}
        csim = d.get('csim_accuracy')
        if isinstance(csim, dict):
            csim = csim.get('firmware')
        t.add_row(
            name,
            str(d.get('parameters', '-')),
            pct(d.get('sparsity')),
            pct(d.get('float_accuracy')),
            pct(d.get('quantized_keras_accuracy')),
            pct(csim),
            'yes' if (config.parent / 'golden.json').is_file() else 'no',
        )
    out.print(t)


def print_zoo_build(rows: list[dict]) -> None:
    t = Table(title='zoo build', title_justify='left')
    for col in ('model', 'C-sim', 'latency ns', 'II', 'LUT', 'DSP', 'project / error'):
        t.add_column(col)
    for r in rows:
        if 'error' in r:
            t.add_row(r['model'], Text('error', style='red'), '', '', '', '', r['error'])
        else:
            t.add_row(
                r['model'],
                Text('PASSED', style='green') if r['csim_passed'] else Text('FAILED', style='red'),
                f'{r["latency_ns"]:g}',
                str(r['ii_cycles']),
                str(r['lut']),
                str(r['dsp']),
                r['project'],
            )
    out.print(t)
