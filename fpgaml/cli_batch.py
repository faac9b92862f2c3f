"""The ``fpgaml`` commands over many designs at a time -- regress (the reference models against their golden
records), sweep (the points of a grid), zoo (list, build one or all) -- which fan out on Dask, and data (the
training-data generators). :mod:`fpgaml.cli` registers them on the command line.
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
    SchedulerOpt,
    TrustOpt,
    quiet_warnings,
)
from fpgaml.cli_project import build_cmd
from fpgaml.cli_render import out
from fpgaml.cli_signals import interruptible
from fpgaml.errors import CsimMismatch, FpgamlError, RunsFailed


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
    no_cache: bool = NoCacheOpt,
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
    quiet_warnings()  # (the ML stack is imported only for the models that are rebuilt, not replayed)
    results = run_regress(
        models, update=update, models_dir=folder, cache=cache_dir, scheduler=scheduler, use_cache=not no_cache
    )
    show.print_regress(results)
    failed = [r.model for r in results if not r.passed]
    if failed:
        raise CsimMismatch(
            f'{len(failed)} of {len(results)} models differ from their golden records: {", ".join(failed)}'
        )


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


def zoo_list():
    """List the reference models with their recorded metrics."""
    from fpgaml.zoo import zoo

    show.print_zoo(zoo())


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
