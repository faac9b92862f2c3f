"""The ``fpgaml`` commands on one model's project: convert, csim, build, rtl, estimate, report.

Each parses its options, runs the flow (:func:`fpgaml.project.run_flow`) and hands the result to
:mod:`fpgaml.cli_render`; :mod:`fpgaml.cli` registers them on the command line.
"""

from __future__ import annotations

from pathlib import Path

import typer

from fpgaml import cli_render as show
from fpgaml.cli_common import (
    CacheOpt,
    ConfigArg,
    ForceOpt,
    NoCacheOpt,
    OutputOpt,
    SchedulerOpt,
    TimingsOpt,
    TrustOpt,
    finish,
    load,
)
from fpgaml.cli_render import out
from fpgaml.cli_signals import interruptible
from fpgaml.errors import BudgetExceeded, FpgamlError
from fpgaml.outdir import check_target, user_inputs


@interruptible
def convert(
    config: Path = ConfigArg, output: Path | None = OutputOpt, force: bool = ForceOpt, trust_model: bool = TrustOpt
):
    """Write the HLS firmware project (no compile)."""
    from fpgaml.flow import run_flow
    from fpgaml.project import Project

    res = run_flow(Project(load(config, output, trust_model, force)), 'convert', force=force)
    show.print_model(res)
    out.print(
        f'wrote {res.conversion.config.name}: {len(res.conversion.layers)} layers, '
        f'bit-exact mode {"on" if res.conversion.bit_exact else "off"} ({res.conversion.bit_exact_reason})'
    )
    finish(res, False)


@interruptible
def csim(
    config: Path = ConfigArg,
    output: Path | None = OutputOpt,
    cache_dir: Path | None = CacheOpt,
    no_cache: bool = NoCacheOpt,
    trust_model: bool = TrustOpt,
    timings: bool = TimingsOpt,
):
    """Compile and C-simulate an already written project against the model."""
    from fpgaml.flow import run_flow
    from fpgaml.project import Project

    res = run_flow(Project(load(config, output, trust_model)), 'csim', cache=cache_dir, use_cache=not no_cache)
    show.print_model(res)
    show.print_csim(res)
    if timings:
        show.print_timings(res)
    finish(res, True)


@interruptible
def build_cmd(
    config: Path = ConfigArg,
    output: Path | None = OutputOpt,
    force: bool = ForceOpt,
    cache_dir: Path | None = CacheOpt,
    no_cache: bool = NoCacheOpt,
    synth: bool = typer.Option(
        False, '--synth', help='Also run HLS synthesis when vivado_hls / vitis_hls / vitis-run is on PATH.'
    ),
    cosim: bool = typer.Option(False, '--cosim', help='With --synth: RTL co-simulation too.'),
    vsynth: bool = typer.Option(False, '--vsynth', help='With --synth: Vivado logic synthesis too.'),
    trust_model: bool = TrustOpt,
    timings: bool = TimingsOpt,
    minimize_types: bool = typer.Option(
        False,
        '--minimize-types',
        help='First search, on Dask, the narrowest types fpgaml chose that keep the C-simulation verdict on the '
        'validation data (quantizer and user types stay); build with them; write minimized_types.yml.',
    ),
    scheduler: str | None = SchedulerOpt,
    workers: int | None = typer.Option(
        None, '--workers', min=1, help='With --minimize-types: local worker processes (default: one per core).'
    ),
):
    """Convert, compile and C-simulate, estimate latency/resources; print a summary."""
    from fpgaml.flow import run_flow
    from fpgaml.project import Project

    cfg = load(config, output, trust_model, force)
    found = None
    if minimize_types:
        cfg, found = _minimized(cfg, scheduler, workers, cache_dir, not no_cache)
    res = run_flow(Project(cfg), 'build', force=force, cache=cache_dir, use_cache=not no_cache)
    if found is not None:
        from fpgaml.atomic import write_text
        from fpgaml.outdir import update_manifest

        write_text(res.project_dir / 'minimized_types.yml', found.yaml())
        update_manifest(res.project_dir, ['minimized_types.yml'])
        show.print_minimized(found, res.project_dir / 'minimized_types.yml')
    show.print_model(res)
    show.print_layers(res)
    show.print_csim(res)
    comparison = None
    if synth:
        res.synthesize(cosim=cosim, vsynth=vsynth)
        out.print(res.synthesis.message)
        if res.synthesis.result is not None:
            from fpgaml.synth import compare

            comparison = compare(res.estimate_result, res.synthesis.result)
    show.print_estimate(res.estimate_result, res.budgets, comparison)
    if timings:
        show.print_timings(res)
    finish(res, True)


def _minimized(cfg, scheduler, workers, cache_dir, use_cache):
    """The config with the cheapest types that keep the verdict (:mod:`fpgaml.sweep.minimize`), and the search."""
    from fpgaml.sweep import SweepOptions
    from fpgaml.sweep import grid as grids
    from fpgaml.sweep.minimize import minimize

    options = SweepOptions(scheduler=scheduler, workers=workers, use_cache=use_cache)
    if cache_dir is not None:
        options.cache_dir = Path(cache_dir) / 'sweep-points'
    found = minimize(cfg, options, echo=out.print)
    return grids.apply(cfg, found.settings), found


@interruptible
def rtl(
    config: Path = ConfigArg,
    output: Path | None = OutputOpt,
    force: bool = ForceOpt,
    pipeline_cutoff: float | None = typer.Option(
        None,
        '--pipeline-cutoff',
        min=0,
        help='Delay per pipeline stage in da4ml units (about one adder); 0 for a combinational design. Default 5.',
    ),
    backend: str | None = typer.Option(
        None,
        '--backend',
        help='The library that traces the arithmetic and writes the Verilog: da4ml or alkaid (default: rtl.backend '
        'in the config, else da4ml).',
    ),
    no_synth: bool = typer.Option(False, '--no-synth', help='Skip the Yosys synthesis.'),
    vivado: bool = typer.Option(
        False, '--vivado', help='Also run rtl/vivado_ooc.tcl (out-of-context Vivado synthesis) when vivado is on PATH.'
    ),
    samples: int | None = typer.Option(
        None, '--samples', min=1, help='At least this many samples in the RTL simulation (default 10000).'
    ),
    cache_dir: Path | None = CacheOpt,
    trust_model: bool = TrustOpt,
):
    """Build, C-simulate, then the same arithmetic as Verilog (da4ml): Verilator against the C-simulation
    (0 mismatching bits, latency and II in cycles) and Yosys resources, beside the estimate."""
    from fpgaml.flow import run_flow
    from fpgaml.project import Project
    from fpgaml.rtl import RtlOptions, check_tools, use_rtl_output

    cfg = load(config, output, trust_model, None)
    if output is None:
        use_rtl_output(cfg)
    check_target(cfg.output_dir, force, user_inputs(cfg))
    opts = RtlOptions.from_config(
        cfg,
        pipeline_cutoff=pipeline_cutoff,
        samples=samples,
        synth=False if no_synth else None,
        vivado=vivado or None,
        backend=backend,
    )
    check_tools(opts.synth, opts.backend)
    res = run_flow(Project(cfg), 'rtl', force=force, cache=cache_dir, rtl_options=opts)
    show.print_csim(res)
    show.print_rtl(res)
    finish(res, True)


@interruptible
def estimate(
    config: Path = ConfigArg,
    json_out: bool = typer.Option(False, '--json', help='Print machine-readable JSON only.'),
    trust_model: bool = TrustOpt,
):
    """Estimate latency, II and resources per layer and in total (no vendor tools, nothing written)."""
    import json

    from fpgaml.flow import run_flow
    from fpgaml.project import Project

    project = run_flow(Project(load(config, None, trust_model)), 'estimate')
    est, budgets = project.estimate_result, project.budgets
    if json_out:
        doc = est.to_json_dict()
        if budgets:
            doc['budgets'] = [b.model_dump() for b in budgets]
        print(json.dumps(doc, indent=2))
    else:
        show.print_estimate(est, budgets)
    if any(not b.passed for b in budgets):
        raise BudgetExceeded('; '.join(b.message for b in budgets if not b.passed))


@interruptible
def report(
    project: Path = typer.Argument(..., help='A project folder written by fpgaml.', show_default=False),
    reports: Path | None = typer.Option(
        None,
        '--reports',
        help='A folder holding vendor reports for this '
        'design (*_csynth.xml / *_csynth.rpt, vivado_synth.rpt, *_cosim.rpt, '
        'or an hls4ml project with them), e.g. published ones; default: '
        'the project folder.',
    ),
):
    """Show a project's estimate, and its vendor synthesis reports beside it when present."""
    from fpgaml.report.record import read_record
    from fpgaml.synth import find_reports

    rep, est, budgets = read_record(project)
    if reports is not None and not reports.is_dir():
        raise FpgamlError(f'--reports {reports}: not a folder')
    synthesis = find_reports(reports if reports is not None else project)
    if synthesis is None and reports is not None:
        raise FpgamlError(
            f'--reports {reports}: no vendor report there (*_csynth.xml, *_csynth.rpt, '
            f"vivado_synth.rpt, *_cosim.rpt, or an hls4ml project's <name>_prj/solution*/ reports)"
        )
    show.print_report(rep, est, budgets, synthesis)
