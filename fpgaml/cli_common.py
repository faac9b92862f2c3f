"""What the ``fpgaml`` commands share: the ``--debug`` state, the arguments and options several commands take,
loading a config (then the ML stack), and the verdict a project command ends with.

:mod:`fpgaml.cli` registers the commands of :mod:`fpgaml.cli_project` and :mod:`fpgaml.cli_batch`; both build on
this module, which imports neither (no circle).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import typer

from fpgaml import cli_render as show
from fpgaml.errors import BudgetExceeded, CsimMismatch
from fpgaml.outdir import check_target, user_inputs

state = {'debug': False}


def quiet_warnings() -> None:
    """The ML stack's deprecation chatter is shown with --debug only."""
    if not state['debug']:
        warnings.filterwarnings('ignore')


ConfigArg = typer.Argument(..., help='YAML config (fpgaml format or hls4ml format).', show_default=False)
OutputOpt = typer.Option(None, '--output', '-o', help='Output folder (overrides the config).')
ForceOpt = typer.Option(False, '--force', help='Replace an existing project.')
CacheOpt = typer.Option(
    None, '--cache-dir', help='Compile cache folder (default: $FPGAML_CACHE_DIR or ~/.cache/fpgaml/csim).'
)
NoCacheOpt = typer.Option(
    False,
    '--no-cache',
    help='Recompute everything: neither the result cache nor the compile cache is read (both are refreshed).',
)
TimingsOpt = typer.Option(False, '--timings', help='Print the wall time of each step.')
TrustOpt = typer.Option(
    False,
    '--trust-model',
    help='Load the model file even if its architecture holds code (Lambda layers) or unknown custom objects.',
)
SchedulerOpt = typer.Option(
    None,
    '--scheduler',
    help='Run on an existing Dask scheduler (tcp://host:port); default: a local Dask cluster (one worker per core).',
)


def load(config: Path, output: Path | None, trust_model: bool = False, force: bool | None = None):
    """Read the config; for commands that write a project (``force`` given), check the output folder. The ML
    stack is imported only when the model is loaded (a result-cache hit never imports it)."""
    from fpgaml.config import load_config

    cfg = load_config(config, output_dir=output)
    cfg.model.trust = cfg.model.trust or trust_model
    if force is not None:
        check_target(cfg.output_dir, force, user_inputs(cfg))
    quiet_warnings()
    return cfg


def finish(res, csim: bool) -> None:
    """Where the project is; then the command's verdict: the C-simulation (when ``csim``), the budgets."""
    show.print_project(res)
    if csim and res.csim is not None and not res.csim.passed:
        raise CsimMismatch(f'C-simulation failed: {"; ".join(res.csim.failures)}')
    if res.budgets_failed:
        show.print_budgets_failed(res)
        raise BudgetExceeded('; '.join(b.message for b in res.budgets_failed))
