"""The commands as ordered lists of named steps over a :class:`~fpgaml.project.Project` (:data:`FLOWS`).

``build`` is the whole flow and the other commands are slices of it. A written project lands atomically: it is
staged in a temporary folder beside the target and installed (``fpgaml.outdir``) only when every step has
succeeded.

A flow that starts with ``lookup`` consults the result cache (:mod:`fpgaml.results`): on a hit, each step named
in :data:`REPLAY` is replaced by its replay (or skipped), so a warm ``build`` or ``csim`` restores the project and
its figures without loading the model — without TensorFlow, Keras or hls4ml. ``store`` keeps what a miss made.
Every step's wall time is kept in ``Project.timings`` (``--timings``).
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

from fpgaml import results
from fpgaml.atomic import write_json
from fpgaml.config import ProjectConfig
from fpgaml.errors import FpgamlError
from fpgaml.outdir import (
    REPORT,
    check_target,
    folder_lock,
    install,
    is_user_os_error,
    remove_stale,
    temp_project_dir,
    update_manifest,
    user_inputs,
    user_os_error,
    write_manifest,
)
from fpgaml.project import Project


class Run:
    """One command's run of steps over a Project, with the options the steps read."""

    def __init__(
        self,
        project: Project,
        *,
        force: bool = False,
        cache: str | Path | None = None,
        use_cache: bool = True,
        rtl_options=None,
    ):
        self.project, self.force, self.cache, self.use_cache = project, force, cache, use_cache
        self.target = project.cfg.output_dir
        self.staging: Path | None = None
        self.rtl_options = rtl_options
        self.key: str | None = None  # the result cache's key (flows that look it up)


def _check_output(run: Run) -> None:
    check_target(run.target, run.force, user_inputs(run.project.cfg))


def _stage(run: Run) -> None:
    """Create the output's parent, clear what killed runs left beside the target, make the staging folder."""
    try:
        run.target.parent.mkdir(parents=True, exist_ok=True)
        with folder_lock(run.target.parent):
            remove_stale(run.target)
        run.staging = temp_project_dir(run.target)
    except OSError as e:
        raise user_os_error(e, run.target, 'cannot write the project') from None
    run.project.project_dir = run.staging


def _require_project(target: Path) -> None:
    if not (target / REPORT).is_file():
        raise FpgamlError(
            f'{target} is not an fpgaml project (no {REPORT}); run "fpgaml convert" or "fpgaml build" first'
        )


def _check_up_to_date(run: Run) -> None:
    """``csim`` on a written project: the project must be what the config and the model produce now."""
    from fpgaml.convert import firmware_hash

    _require_project(run.target)
    p = run.project
    fresh = firmware_hash(p.write(p._scratch_dir() / 'check'))
    if fresh != firmware_hash(run.target):
        raise FpgamlError(
            f'{run.target} is out of date: its firmware differs from what {p.cfg.source.name} and the '
            f'model produce now; run "fpgaml convert --force" (or "fpgaml build --force")'
        )
    p.project_dir = run.target
    p.conversion.graph.config.config['OutputDir'] = str(run.target)
    p.report = json.loads((run.target / REPORT).read_text())


def _lookup(run: Run) -> None:
    """The result cache's key for this config; a sound entry makes the run a replay (:data:`REPLAY`)."""
    if not results.enabled():
        return
    run.key = results.result_key(run.project.cfg)
    if run.use_cache:
        run.project.replayed = results.lookup(run.key, run.cache)


def _restore(run: Run) -> None:
    """The cached project's files into the staging folder, and its record, estimate and verdict."""
    entry, p = run.project.replayed, run.project
    entry.restore(p.project_dir)
    p.report = {k: v for k, v in entry.record.items() if k != 'result_cache'}
    p.report['result_cache'] = {'key': entry.key, 'hit': True, 'built': entry.record.get('created')}


def _replay_figures(run: Run) -> None:
    from fpgaml.csim import CsimResult
    from fpgaml.estimate import Estimate

    rec, cfg = run.project.replayed.record, run.project.cfg
    run.project.estimate_result = Estimate.from_json_dict(rec['estimate'], cfg.clock_period, cfg.io_type)
    run.project.csim = CsimResult(**rec['csim']) if rec.get('csim') else None


def _replay_estimate(run: Run) -> None:
    """The cached estimate and verdict; the budgets checked on it (budgets are not part of the key)."""
    from fpgaml.target import check_budgets

    _replay_figures(run)
    p = run.project
    p.budgets = check_budgets(p.estimate_result, p.cfg.budgets) if p.cfg.budgets else []


def _check_replayed_up_to_date(run: Run) -> None:
    """``csim`` replayed: the written project must hold the firmware of the cached build."""
    _require_project(run.target)
    from fpgaml.convert import firmware_hash

    p = run.project
    if p.replayed.record.get('csim') is None or firmware_hash(run.target) != p.replayed.record['firmware_sha256']:
        p.replayed = None  # not what the cache holds: the command runs in full
        for step in ('load', 'convert', 'check_up_to_date'):  # ('verify' follows in the flow)
            STEPS[step](run)
        return
    _replay_figures(run)
    p.project_dir = run.target
    p.report = json.loads((run.target / REPORT).read_text())


def _store(run: Run) -> None:
    """Keep what this build made in the result cache (a cache that cannot be written: a note, no failure)."""
    p = run.project
    if run.key is None or p.replayed is not None:
        return
    note = results.store(run.key, p.project_dir, p.report, run.cache)
    if note and p.csim is not None:
        p.csim.notes.append(note)


def _record(run: Run) -> None:
    run.project._write_record(final_dir=run.target)
    write_manifest(run.project.project_dir)


def _update_record(run: Run) -> None:
    from fpgaml.convert.writer import render_readme

    p = run.project
    p.report['csim'] = p.csim.to_json()
    write_json(p.project_dir / REPORT, p.report, indent=2, default=str)
    render_readme(p.cfg, p.report['model']['sha256'], p.project_dir, p.project_dir, p.csim)
    update_manifest(p.project_dir, [REPORT, 'README.md'])


def _install(run: Run) -> None:
    install(run.staging, run.target, force=run.force, protected=user_inputs(run.project.cfg))
    run.staging = None
    run.project.project_dir = run.target
    if run.project.conversion is not None:
        run.project.conversion.graph.config.config['OutputDir'] = str(run.target)


def _synthesize_point(run: Run) -> None:
    """Vendor HLS synthesis of the written (scratch) project, when a tool is on the PATH; otherwise the run
    records that no tool was found (never a made-up figure)."""
    from fpgaml.synth.run import run_synthesis

    run.project.synthesis = run_synthesis(run.project.project_dir, run.project.cfg.backend)


STEPS = {
    'check_output': _check_output,
    'load': lambda run: run.project.load(cache=run.cache, use_cache=run.use_cache),
    'stage': _stage,
    'convert': lambda run: run.project.convert(),
    'write': lambda run: run.project.write(),
    'estimate': lambda run: run.project.estimate(),
    'check_up_to_date': _check_up_to_date,
    'verify': lambda run: run.project.verify(cache=run.cache, use_cache=run.use_cache),
    'rtl': lambda run: run.project.rtl(run.rtl_options, cache=run.cache),
    'rtl_check': lambda run: __import__('fpgaml.rtl.model', fromlist=['check_supported']).check_supported(
        run.project.convert().graph, run.project.cfg.io_type
    ),
    'record': _record,
    'update_record': _update_record,
    'install': _install,
    'synthesize_point': _synthesize_point,
    'lookup': _lookup,
    'store': _store,
    'restore': _restore,
    'replay_estimate': _replay_estimate,
    'check_replayed_up_to_date': _check_replayed_up_to_date,
}

# On a result-cache hit: the replay of each step (None: skipped); the steps not named run as they are.
REPLAY = {
    'load': None,
    'convert': None,
    'write': 'restore',
    'estimate': 'replay_estimate',
    'verify': None,
    'check_up_to_date': 'check_replayed_up_to_date',
}

# The whole flow, and each command as the slice of it that it runs.
BUILD = (
    'check_output',
    'lookup',
    'load',
    'stage',
    'convert',
    'write',
    'estimate',
    'verify',
    'record',
    'store',
    'install',
)
FLOWS = {
    'build': BUILD,
    'convert': tuple(s for s in BUILD if s not in ('lookup', 'verify', 'store')),
    'csim': ('lookup', 'load', 'convert', 'check_up_to_date', 'verify', 'update_record'),
    'estimate': ('lookup', 'load', 'convert', 'estimate'),
    # one point of ``fpgaml sweep`` on a worker: figures only, nothing installed (fpgaml.sweep.task)
    'sweep': ('load', 'convert', 'write', 'estimate', 'verify'),
    'sweep_synth': ('load', 'convert', 'write', 'estimate', 'verify', 'synthesize_point'),
    'sweep_rtl': ('load', 'convert', 'rtl_check', 'write', 'estimate', 'verify', 'rtl'),
    'sweep_rtl_synth': ('load', 'convert', 'rtl_check', 'write', 'estimate', 'verify', 'rtl', 'synthesize_point'),
    # the build, then the RTL backend on the verified graph (fpgaml.rtl); installed only when it all succeeds
    'rtl': (
        'check_output',
        'load',
        'stage',
        'convert',
        'rtl_check',
        'write',
        'estimate',
        'verify',
        'rtl',
        'record',
        'install',
    ),
}


def run_flow(project: Project, command: str, **options) -> Project:
    """Run ``command``'s steps over ``project``. Any failure (or Ctrl-C / SIGTERM) removes the staging folder:
    an existing project is left as it was."""
    run = Run(project, **options)
    try:
        for step in FLOWS[command]:
            if project.replayed is not None and step in REPLAY:
                step = REPLAY[step]
            if step is None:
                continue
            t0 = time.perf_counter()
            STEPS[step](run)
            project.timings[step] = project.timings.get(step, 0.0) + time.perf_counter() - t0
    except BaseException as e:
        if run.staging is not None:
            shutil.rmtree(run.staging, ignore_errors=True)
        if run.staging is not None and is_user_os_error(e):
            raise user_os_error(e, run.target, 'cannot write the project') from None
        raise
    finally:
        project.close()
    return project


def build(
    cfg: ProjectConfig,
    *,
    csim: bool = True,
    force: bool = False,
    cache: str | Path | None = None,
    use_cache: bool = True,
) -> Project:
    """``fpgaml build`` (or, without ``csim``, ``fpgaml convert``) as a library call."""
    return run_flow(Project(cfg), 'build' if csim else 'convert', force=force, cache=cache, use_cache=use_cache)
