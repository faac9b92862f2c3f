"""``fpgaml sweep``: a design-space grid over one config, run on Dask (see :mod:`fpgaml.parallel`).

Each point is the config resolved with the point's settings (:mod:`fpgaml.sweep.grid`), run on a worker by
:func:`fpgaml.sweep.task.run_point` and cached on the client by the sha256 of the resolved config, the model
and data bytes and the options: a repeated sweep costs nothing, an interrupted one resumes where it stopped,
``--no-cache`` recomputes. A failed point records its error and the others go on (failures are not cached,
so a rerun tries them again). Results: ``sweep.csv``, ``sweep.json`` and ``sweep.html``
(:mod:`fpgaml.sweep.results`).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from fpgaml import parallel
from fpgaml.atomic import write_text
from fpgaml.config import overrides
from fpgaml.errors import FpgamlError, Interrupted
from fpgaml.sweep import grid as grids
from fpgaml.sweep.task import model_files, point_key, portable_config, run_point

__all__ = ['SweepOptions', 'SweepResult', 'Evaluation', 'evaluate', 'run_sweep', 'default_cache', 'default_output']


def default_cache() -> Path:
    if os.environ.get('FPGAML_SWEEP_CACHE'):
        return Path(os.environ['FPGAML_SWEEP_CACHE']).expanduser()
    base = os.environ.get('XDG_CACHE_HOME') or str(Path.home() / '.cache')
    return Path(base) / 'fpgaml' / 'sweep'


def default_output(cfg) -> Path:
    """Beside the project: ``vivado_projects/<name>_sweep``."""
    return cfg.output_dir.with_name(cfg.output_dir.name + '_sweep')


@dataclass
class SweepOptions:
    grid: dict = field(default_factory=dict)  # --grid (overrides the YAML's keys)
    output: Path | None = None
    scheduler: str | None = None
    cluster: str | None = None
    workers: int | None = None
    jobs: int | None = None
    samples: int | None = None
    synth: bool = False
    rtl: bool = False  # da4ml Verilog per point, Verilator-checked against the C-simulation, Yosys resources
    use_cache: bool = True  # the point cache (the content-addressed compile cache is always used)
    cache_dir: Path | None = None


@dataclass
class SweepResult:
    rows: list[dict]
    output: Path
    where: str
    seconds: float
    computed: int
    cached: int
    failed: int
    interrupted: bool = False
    files: dict = field(default_factory=dict)
    best: dict = field(default_factory=dict)


def plan(cfg, options: SweepOptions) -> tuple[dict, list[dict]]:
    grid = dict(cfg.sweep.grid) if cfg.sweep else {}
    grid.update(options.grid)
    if not grid:
        raise FpgamlError(
            f'{cfg.source}: nothing to sweep: give --grid KEY=V1,V2,... or a "sweep: grid:" section '
            f'(keys: {overrides.ACCEPTED})'
        )
    return grid, grids.points(grid)


def run_sweep(cfg, options: SweepOptions, echo=print) -> SweepResult:
    from fpgaml.sweep import results as out

    t0 = time.perf_counter()
    grid, pts = plan(cfg, options)
    output = (options.output or default_output(cfg)).resolve()
    try:
        output.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise FpgamlError(f'--output {output}: cannot create the sweep folder ({e.strerror or e})') from None
    header = f'sweep of {cfg.name}: {len(pts)} points ({", ".join(f"{k} x{len(v)}" for k, v in grid.items())})'
    ev = evaluate(cfg, pts, options, echo, f'sweep {cfg.name}', header)
    cache = (options.cache_dir or default_cache()).expanduser()
    rows, where, interrupted, signum = ev.rows, ev.where, ev.interrupted, ev.signum
    n_cached = ev.cached
    for r in rows:
        r.setdefault('status', 'not run (interrupted)')
    res = SweepResult(
        rows=rows,
        output=output,
        where=where,
        seconds=time.perf_counter() - t0,
        computed=sum(1 for r in rows if r.get('cached') is False and r['status'] == 'ok'),
        cached=n_cached,
        failed=sum(1 for r in rows if r['status'] == 'failed'),
        interrupted=interrupted,
    )
    res.best = out.best_points(rows, cfg)
    res.files = out.write_all(res, cfg, grid)
    if interrupted:
        done_n = sum(1 for r in rows if r['status'] == 'ok')
        err = Interrupted(
            f'interrupted: {done_n} of {len(rows)} points finished (cached in {cache}; partial '
            f'results in {output}); run the same command again to resume'
        )
        if signum:
            err.exit_code = 128 + signum  # the shell's convention: 143 for SIGTERM, as every other command
        raise err
    return res


@dataclass
class Evaluation:
    """Points of one config run (or read from the point cache): one row per point, in order."""

    rows: list[dict]
    where: str
    cached: int
    interrupted: bool = False
    signum: int | None = None


def evaluate(
    cfg, pts: list[dict], options: SweepOptions, echo=print, title: str = 'points', header: str = ''
) -> Evaluation:
    """Run every point (a dict of sweep keys over ``cfg``) on Dask, through the point cache; Ctrl-C stops the
    rest and is reported in the result. Used by ``fpgaml sweep`` and by the type search (:mod:`.minimize`)."""
    samples = options.samples or (cfg.sweep.samples if cfg.sweep else None)
    task_options = {'synth': options.synth, 'samples': samples}
    if options.rtl:  # (only then: the cache keys of sweeps without --rtl stay as they were)
        task_options['rtl'] = True
    files = model_files(cfg)
    cache = (options.cache_dir or default_cache()).expanduser()
    rows, todo = [], []
    for i, p in enumerate(pts):
        config = portable_config(grids.apply(cfg, p))
        key = point_key(config, files, task_options)
        row = {'point': i, 'label': grids.label(p), 'settings': p, 'key': key, 'config': config}
        hit = _read_cache(cache, key) if options.use_cache else None
        if hit is not None:
            row.update(hit, cached=True)
        else:
            todo.append(i)
        rows.append(row)
    ev = Evaluation(rows, 'cache', len(pts) - len(todo))
    echo(f'{header or f"{title}: {len(pts)} points"}; {ev.cached} cached, {len(todo)} to run')
    if not todo:
        return ev
    progress = None
    try:
        with parallel.engine(options.scheduler, options.cluster, options.workers, options.jobs, tasks=len(todo)) as eng:
            ev.where = eng.where
            echo(
                f'running on {"a local Dask cluster" if eng.kind == "local" else eng.where} '
                f'({eng.workers} worker{"s" if eng.workers != 1 else ""})'
            )
            progress = parallel.ProgressLine(title, len(pts), ev.cached)

            def done(o):
                row = rows[todo[o.index]]
                res = o.result if o.error is None else {'status': 'failed', 'error': o.error}
                row.update(res, cached=False, scheduler=ev.where)
                if res.get('status') == 'ok':  # (--no-cache recomputes, and refreshes the entry)
                    _write_cache(cache, row['key'], res)
                progress.advance(_describe(row))

            parallel.map_tasks(
                eng,
                run_point,
                [(rows[i]['config'], dict(task_options)) for i in todo],
                [f'{title.replace(" ", "-")}-{i}' for i in todo],
                shared={'files': files},
                on_done=done,
            )
    except KeyboardInterrupt as e:
        ev.interrupted = True
        ev.signum = getattr(e, 'signum', None)  # SIGTERM / SIGHUP (the CLI raises them like Ctrl-C)
    finally:
        if progress is not None:
            progress.close()
    return ev


def _describe(row: dict) -> str:
    if row.get('status') != 'ok':
        return f'{row["label"]}: FAILED: {row.get("error", "")}'
    acc = row.get('accuracy_firmware')
    acc = f', acc {100 * acc:.1f}%' if acc is not None else ''
    return (
        f'{row["label"]}: {row["latency_ns"]:g} ns, {row["lut"]} LUT, {row["dsp"]} DSP{acc} '
        f'({row["seconds"]:.1f} s on {row.get("worker", "?")})'
    )


def _read_cache(cache: Path, key: str) -> dict | None:
    p = cache / key[:2] / f'{key}.json'
    try:
        d = json.loads(p.read_text())
    except (OSError, ValueError):
        return None
    return d if isinstance(d, dict) and d.get('status') == 'ok' else None


def _write_cache(cache: Path, key: str, res: dict) -> None:
    try:
        d = cache / key[:2]
        d.mkdir(parents=True, exist_ok=True)
        write_text(d / f'{key}.json', json.dumps(res, default=str))
    except OSError:
        pass  # a read-only cache only costs recomputation
