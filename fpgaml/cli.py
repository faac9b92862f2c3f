"""The ``fpgaml`` command line: convert, csim, build, rtl, estimate, report, regress, sweep, zoo, data.

One small function per command: it parses the options, runs the flow (:mod:`fpgaml.project`, the stage
packages) and hands the result to :mod:`fpgaml.cli_render`, which prints it. Every user error is one line on
stderr and the exit code its class carries (:mod:`fpgaml.errors`); ``--debug`` shows tracebacks.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import typer
from rich.text import Text

from fpgaml import cli_render as show
from fpgaml._env import cli_environment
from fpgaml.cli_render import err, out
from fpgaml.cli_signals import install_signal_handlers, interrupted, interruptible, silence_native_stderr
from fpgaml.errors import (
    INTERNAL_ERROR_EXIT_CODE,
    BudgetExceeded,
    CsimMismatch,
    FpgamlError,
    Interrupted,
    RunsFailed,
    Verdict,
)
from fpgaml.outdir import check_target, is_user_os_error, user_inputs

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help='fpgaml: trained (Q)Keras model + YAML -> hls4ml firmware project, C-simulated bit for bit.',
)
_state = {'debug': False}


def _import_ml_stack() -> None:
    if not _state['debug']:
        warnings.filterwarnings('ignore')
    import hls4ml  # noqa: F401
    import qkeras  # noqa: F401
    import tensorflow  # noqa: F401
    import tf_keras  # noqa: F401


@app.callback()
def _main(debug: bool = typer.Option(False, '--debug', help='Show Python tracebacks and library logs.')):
    _state['debug'] = debug


ConfigArg = typer.Argument(..., help='YAML config (fpgaml format or hls4ml format).', show_default=False)
OutputOpt = typer.Option(None, '--output', '-o', help='Output folder (overrides the config).')
ForceOpt = typer.Option(False, '--force', help='Replace an existing project.')
CacheOpt = typer.Option(
    None, '--cache-dir', help='Compile cache folder (default: $FPGAML_CACHE_DIR or ~/.cache/fpgaml/csim).'
)
NoCacheOpt = typer.Option(False, '--no-cache', help='Recompile even if a cached library exists.')
TrustOpt = typer.Option(
    False,
    '--trust-model',
    help='Load the model file even if its architecture holds code (Lambda layers) or unknown custom objects.',
)


def _load(config: Path, output: Path | None, trust_model: bool = False, force: bool | None = None):
    """Read the config; for commands that write a project (``force`` given), check the output folder before
    the seconds-long import of the ML stack."""
    from fpgaml.config import load_config

    cfg = load_config(config, output_dir=output)
    cfg.model.trust = cfg.model.trust or trust_model
    if force is not None:
        check_target(cfg.output_dir, force, user_inputs(cfg))
    _import_ml_stack()
    return cfg


def _finish(res, csim: bool) -> None:
    """Where the project is; then the command's verdict: the C-simulation (when ``csim``), the budgets."""
    show.print_project(res)
    if csim and res.csim is not None and not res.csim.passed:
        raise CsimMismatch(f'C-simulation failed: {"; ".join(res.csim.failures)}')
    if res.budgets_failed:
        show.print_budgets_failed(res)
        raise BudgetExceeded('; '.join(b.message for b in res.budgets_failed))


@app.command()
@interruptible
def convert(
    config: Path = ConfigArg, output: Path | None = OutputOpt, force: bool = ForceOpt, trust_model: bool = TrustOpt
):
    """Write the HLS firmware project (no compile)."""
    from fpgaml.project import Project, run_flow

    res = run_flow(Project(_load(config, output, trust_model, force)), 'convert', force=force)
    show.print_model(res)
    out.print(
        f'wrote {res.conversion.config.name}: {len(res.conversion.layers)} layers, '
        f'bit-exact mode {"on" if res.conversion.bit_exact else "off"} ({res.conversion.bit_exact_reason})'
    )
    _finish(res, False)


@app.command()
@interruptible
def csim(
    config: Path = ConfigArg,
    output: Path | None = OutputOpt,
    cache_dir: Path | None = CacheOpt,
    no_cache: bool = NoCacheOpt,
    trust_model: bool = TrustOpt,
):
    """Compile and C-simulate an already written project against the model."""
    from fpgaml.project import Project, run_flow

    res = run_flow(Project(_load(config, output, trust_model)), 'csim', cache=cache_dir, use_cache=not no_cache)
    show.print_model(res)
    show.print_csim(res)
    _finish(res, True)


@app.command('build')
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
):
    """Convert, compile and C-simulate, estimate latency/resources; print a summary."""
    from fpgaml.project import Project, run_flow

    res = run_flow(
        Project(_load(config, output, trust_model, force)),
        'build',
        force=force,
        cache=cache_dir,
        use_cache=not no_cache,
    )
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
    _finish(res, True)


@app.command()
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
    no_synth: bool = typer.Option(False, '--no-synth', help='Skip the Yosys synthesis.'),
    samples: int | None = typer.Option(
        None, '--samples', min=1, help='At least this many samples in the RTL simulation (default 10000).'
    ),
    cache_dir: Path | None = CacheOpt,
    trust_model: bool = TrustOpt,
):
    """Build, C-simulate, then the same arithmetic as Verilog (da4ml): Verilator against the C-simulation
    (0 mismatching bits, latency and II in cycles) and Yosys resources, beside the estimate."""
    from fpgaml.project import Project, run_flow
    from fpgaml.rtl import RtlOptions, check_tools, use_rtl_output

    cfg = _load(config, output, trust_model, None)
    if output is None:
        use_rtl_output(cfg)
    check_target(cfg.output_dir, force, user_inputs(cfg))
    opts = RtlOptions.from_config(
        cfg, pipeline_cutoff=pipeline_cutoff, samples=samples, synth=False if no_synth else None
    )
    check_tools(opts.synth)
    res = run_flow(Project(cfg), 'rtl', force=force, cache=cache_dir, rtl_options=opts)
    show.print_csim(res)
    show.print_rtl(res)
    _finish(res, True)


@app.command()
@interruptible
def estimate(
    config: Path = ConfigArg,
    json_out: bool = typer.Option(False, '--json', help='Print machine-readable JSON only.'),
    trust_model: bool = TrustOpt,
):
    """Estimate latency, II and resources per layer and in total (no vendor tools, nothing written)."""
    import json

    from fpgaml.project import Project, run_flow

    project = run_flow(Project(_load(config, None, trust_model)), 'estimate')
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


@app.command()
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


@app.command()
@interruptible
def regress(
    models: list[str] | None = typer.Argument(None, help='Reference models (default: all in models/).'),
    update: bool = typer.Option(
        False, '--update', help='Rewrite the golden records deliberately and say what changed.'
    ),
    models_dir: Path | None = typer.Option(
        None,
        '--models-dir',
        help="Folder of reference models (default: ./models if it exists, else the checkout's models/).",
    ),
    cache_dir: Path | None = CacheOpt,
    scheduler: str | None = typer.Option(
        None,
        '--scheduler',
        help='Fan the models out on Dask: '
        'tcp://host:port of an existing scheduler, or "local" for a '
        'local Dask cluster (one worker per core).',
    ),
):
    """Rebuild and C-simulate reference models; compare bit patterns with their golden records."""
    from fpgaml.regress import regress as run_regress
    from fpgaml.zoo import default_models_dir, models_folder

    folder = models_folder(models_dir) if models_dir is not None else default_models_dir()
    if scheduler is None:
        _import_ml_stack()
    results = run_regress(models, update=update, models_dir=folder, cache=cache_dir, scheduler=scheduler)
    show.print_regress(results)
    failed = [r.model for r in results if not r.passed]
    if failed:
        raise CsimMismatch(
            f'{len(failed)} of {len(results)} models differ from their golden records: {", ".join(failed)}'
        )


SchedulerOpt = typer.Option(
    None,
    '--scheduler',
    help='Run on an existing Dask scheduler (tcp://host:port); default: a local Dask cluster (one worker per core).',
)


@app.command()
@interruptible
def sweep(
    config: Path = ConfigArg,
    grid: list[str] | None = typer.Option(
        None,
        '--grid',
        help='KEY=V1,V2,... (repeatable), e.g. '
        '--grid reuse_factor=1,2,4 --grid precision="fixed<8,3>,fixed<16,6>"; '
        'overrides the same key of the YAML "sweep: grid:".',
    ),
    output: Path | None = typer.Option(
        None, '--output', '-o', help='Sweep folder (default: beside the project, <output_dir>_sweep).'
    ),
    scheduler: str | None = SchedulerOpt,
    cluster: str | None = typer.Option(
        None,
        '--cluster',
        help='htcondor or slurm: a dask-jobqueue cluster from your dask jobqueue YAML (~/.config/dask/jobqueue.yaml).',
    ),
    jobs: int | None = typer.Option(None, '--jobs', min=1, help='With --cluster: batch jobs to submit.'),
    workers: int | None = typer.Option(
        None, '--workers', min=1, help='Local worker processes (default: one per core).'
    ),
    samples: int | None = typer.Option(
        None,
        '--samples',
        min=1,
        help="Validation samples C-simulated per point (default: the config's validation.samples).",
    ),
    synth: bool = typer.Option(
        False,
        '--synth',
        help='Also run vendor HLS synthesis per point where a tool '
        "is on the worker's PATH (else recorded as not found).",
    ),
    rtl: bool = typer.Option(
        False,
        '--rtl',
        help='Also build each point as RTL (da4ml Verilog), check it in Verilator against the C-simulation and size it with Yosys (needs the rtl extra on the workers).',
    ),
    cache_dir: Path | None = typer.Option(
        None, '--cache-dir', help='Point cache (default: $FPGAML_SWEEP_CACHE or ~/.cache/fpgaml/sweep).'
    ),
    no_cache: bool = typer.Option(
        False, '--no-cache', help='Recompute every point (the content-addressed compile cache is still used).'
    ),
    trust_model: bool = TrustOpt,
):
    """Design-space sweep: convert, C-simulate and estimate every point of a grid, on Dask; Pareto plots."""
    from fpgaml.config import load_config
    from fpgaml.sweep import SweepOptions, run_sweep
    from fpgaml.sweep.grid import parse_grid_options

    cfg = load_config(config)
    cfg.model.trust = cfg.model.trust or trust_model
    opts = SweepOptions(
        grid=parse_grid_options(grid or []),
        output=output,
        scheduler=scheduler,
        cluster=cluster,
        workers=workers,
        jobs=jobs,
        samples=samples,
        synth=synth,
        rtl=rtl,
        use_cache=not no_cache,
        cache_dir=cache_dir,
    )
    res = run_sweep(cfg, opts, echo=out.print)
    show.print_sweep(res, cfg)
    if res.failed:
        raise RunsFailed(f'{res.failed} of {len(res.rows)} points failed')


zoo_app = typer.Typer(no_args_is_help=True, help='The reference model zoo (models/<name>/).')
data_app = typer.Typer(no_args_is_help=True, help='Training data generators (optional extra: fpgaml[physics]).')
app.add_typer(zoo_app, name='zoo')
app.add_typer(data_app, name='data')


@zoo_app.command('list')
def zoo_list():
    """List the reference models with their recorded metrics."""
    from fpgaml.zoo import zoo

    show.print_zoo(zoo())


@zoo_app.command('build')
@interruptible
def zoo_build(
    name: str | None = typer.Argument(None, help='Model name (see "fpgaml zoo list").'),
    all_models: bool = typer.Option(False, '--all', help='Build every zoo model, in parallel on Dask.'),
    output: Path | None = typer.Option(
        None, '--output', '-o', help='Output folder (with --all: the folder the projects go in, one per model).'
    ),
    force: bool = ForceOpt,
    scheduler: str | None = SchedulerOpt,
    workers: int | None = typer.Option(
        None, '--workers', min=1, help='With --all: local worker processes (default: one per core).'
    ),
    models_dir: Path | None = typer.Option(
        None,
        '--models-dir',
        help="Folder of reference models (default: ./models if it exists, else the checkout's models/).",
    ),
):
    """Build, C-simulate and estimate one zoo model (same as fpgaml build models/NAME/config.yml), or --all."""
    from fpgaml.errors import suggest
    from fpgaml.zoo import default_models_dir, models_folder, zoo

    models = zoo(models_folder(models_dir) if models_dir is not None else default_models_dir())
    if not models:
        raise FpgamlError('no reference models (folders with config.yml) found')
    if all_models:
        if name is not None:
            raise FpgamlError(f'give a model name or --all, not both (got "{name}" and --all)')
        from fpgaml.zoo import build_all

        rows = build_all(models, output, force, scheduler, workers)
        show.print_zoo_build(rows)
        failed = [r['model'] for r in rows if 'error' in r or not r['csim_passed']]
        if failed:
            raise RunsFailed(f'{len(failed)} of {len(rows)} models failed: {", ".join(failed)}')
        return
    if name is None:
        raise FpgamlError(f'give a model name or --all; available: {", ".join(models)}')
    if scheduler is not None or workers is not None:
        raise FpgamlError('--scheduler and --workers go with --all (one model builds here)')
    if name not in models:
        raise FpgamlError(f'unknown zoo model "{name}"{suggest(name, models)}; available: {", ".join(models)}')
    build_cmd(
        models[name],
        output=output,
        force=force,
        cache_dir=None,
        no_cache=False,
        synth=False,
        cosim=False,
        vsynth=False,
        trust_model=False,
    )


@data_app.command('jets')
@interruptible
def data_jets(
    n: int = typer.Option(..., '--n', min=1, help='Number of jets to generate.'),
    out_file: Path = typer.Option(..., '--out', help='Output file.'),
    seed: int = typer.Option(1, '--seed', help='Random seed (reproducible output).'),
    workers: int = typer.Option(1, '--workers', min=1, help='Processes (same output for any number).'),
):
    """Generate LHC-style jets (g, q, W, Z, t) with Pythia 8 + FastJet: features, images, sequences, clouds."""
    try:
        from fpgaml.data.jets import generate_jets
    except ImportError as e:
        raise FpgamlError(
            f'the jet generator needs the optional physics extra (GPL: Pythia 8, FastJet): '
            f'pip install -e ".[physics]" ({e})'
        ) from None
    generate_jets(n, out_file, seed=seed, progress=True, workers=workers)
    out.print(f'wrote {n} jets to {out_file}')


def main() -> None:
    debug = '--debug' in sys.argv[1:]
    _state['debug'] = debug
    cli_environment()
    install_signal_handlers()
    if debug:
        from fpgaml import parallel

        parallel.SHOW_DASK_LOGS = True  # (else a Ctrl-C'd cluster's shutdown logs are held back)
    else:
        silence_native_stderr()
    try:
        rc = app(standalone_mode=False)
        sys.exit(rc if isinstance(rc, int) else 0)
    except Verdict as e:  # the command has printed its answer
        sys.exit(e.exit_code)
    except FpgamlError as e:
        if debug:
            raise
        err.print(Text.assemble(('error: ', 'red'), str(e)), soft_wrap=True)
        sys.exit(e.exit_code)
    except typer.Exit as e:
        sys.exit(e.exit_code)
    except KeyboardInterrupt as e:  # outside a command (typer's own parsing)
        e = interrupted(e)
        err.print(Text.assemble(('error: ', 'red'), str(e)), soft_wrap=True)
        sys.exit(e.exit_code)
    except typer.Abort as e:  # click's rendering of a KeyboardInterrupt (or SIGTERM) outside our commands
        e = (
            interrupted(e.__cause__)
            if isinstance(e.__cause__, KeyboardInterrupt)
            else Interrupted('aborted: nothing was written')
        )
        err.print(Text.assemble(('error: ', 'red'), f'{e}'), soft_wrap=True)
        sys.exit(e.exit_code)
    except typer.TyperException as e:  # usage errors: unknown option, missing argument ...
        e.show()
        sys.exit(e.exit_code)
    except OSError as e:  # a file system refusing (permissions, read-only, full, names too long): not a bug
        if debug or not is_user_os_error(e):
            _internal_error(e, debug)
        where = f'{e.filename}: ' if e.filename else ''
        err.print(Text.assemble(('error: ', 'red'), f'{where}{e.strerror or e}'), soft_wrap=True)
        sys.exit(FpgamlError.exit_code)
    except Exception as e:  # unexpected failures
        _internal_error(e, debug)


def _internal_error(e: Exception, debug: bool) -> None:
    if debug:
        raise e
    err.print(
        Text.assemble(('internal error: ', 'red'), f'{type(e).__name__}: {e} (run with --debug for the traceback)'),
        soft_wrap=True,
    )
    sys.exit(INTERNAL_ERROR_EXIT_CODE)


if __name__ == '__main__':
    main()
