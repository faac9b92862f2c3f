"""Parallel runs on Dask (``distributed``), on this machine or on the user's cluster: the engine behind
``fpgaml sweep``, ``fpgaml regress --scheduler`` and ``fpgaml zoo build --all``.

* default: a :class:`distributed.LocalCluster` of worker processes on this machine (one per core);
* ``--scheduler tcp://host:port``: an existing Dask scheduler (its workers need only fpgaml installed);
* ``--cluster htcondor|slurm``: a dask-jobqueue cluster built from the site's jobqueue configuration
  (``~/.config/dask/jobqueue.yaml`` or ``$DASK_CONFIG``); ``--jobs N`` batch jobs are submitted.

:func:`map_tasks` runs a function over many inputs, as the results arrive: a task whose worker dies is
retried once (the scheduler's ``allowed-failures`` is 1 for clusters fpgaml starts), then recorded as failed;
Ctrl-C cancels what is left and shuts the cluster down, with Dask's own logs held off the terminal
(:func:`hold_dask_logs`). No shared file system is assumed: a task's small input folder travels with it
(:func:`folder_files`, :func:`unpack_folder`).
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fpgaml.errors import FpgamlError

CLUSTERS = ('htcondor', 'slurm')
ALLOWED_FAILURES = 1  # a task whose worker dies runs once more, then is recorded as failed
DASK_LOGGERS = ('distributed', 'tornado', 'asyncio')  # Dask's loggers and those of the event loop it runs on
SHOW_DASK_LOGS = False  # set by ``fpgaml --debug``: Dask's logs stay on the terminal through Ctrl-C too
_held_levels: dict[logging.Logger, int] = {}  # while held: each silenced logger and the level it had


def hold_dask_logs() -> None:
    """Keep Dask's own log records off the terminal until :func:`release_dask_logs` (once held, a no-op).

    Ctrl-C reaches the worker processes too, and while the cluster shuts down Dask's event-loop thread logs
    what that breaks (``distributed.nanny - ERROR - Traceback ... CancelledError``) at times no one controls.
    The interrupt message is all the user needs. Levels, not handlers: Dask installs its handler on import,
    and a logger created later (``distributed.utils.log_errors`` names one per module) inherits the level."""
    if SHOW_DASK_LOGS or _held_levels:
        return
    names = {n for n in list(logging.root.manager.loggerDict) if n.split('.')[0] in DASK_LOGGERS}
    for name in names | set(DASK_LOGGERS):
        logger = logging.getLogger(name)
        _held_levels[logger] = logger.level
        logger.setLevel(logging.CRITICAL + 1)


def release_dask_logs() -> None:
    """Give Dask's loggers back the levels they had before :func:`hold_dask_logs`."""
    while _held_levels:
        logger, level = _held_levels.popitem()
        logger.setLevel(level)


def _need_dask():
    try:
        import dask  # noqa: F401
        import distributed  # noqa: F401
    except ImportError as e:
        raise FpgamlError(f'parallel runs need Dask: pip install "fpgaml[cluster]" ({e})') from None


@dataclass
class Engine:
    client: Any
    where: str  # 'local' or the scheduler's address
    kind: str  # 'local', 'scheduler', 'htcondor', 'slurm'
    workers: int


def jobqueue_cluster(kind: str, **kwargs):
    """The dask-jobqueue cluster object for ``kind`` (not yet scaled: nothing is submitted)."""
    if kind not in CLUSTERS:
        from fpgaml.errors import suggest

        raise FpgamlError(
            f'--cluster {kind}: unknown cluster kind{suggest(kind, CLUSTERS)}; accepted: '
            f"{', '.join(CLUSTERS)} (configured in the site's dask jobqueue YAML)"
        )
    try:
        import dask_jobqueue
    except ImportError as e:
        raise FpgamlError(f'--cluster needs dask-jobqueue: pip install "fpgaml[cluster]" ({e})') from None
    cls = {'htcondor': dask_jobqueue.HTCondorCluster, 'slurm': dask_jobqueue.SLURMCluster}[kind]
    try:
        return cls(**kwargs)
    except ValueError as e:  # e.g. cores / memory missing from the jobqueue configuration
        raise FpgamlError(
            f'--cluster {kind}: {e} (set it in the "jobqueue: {kind}:" section of your dask '
            f'configuration, e.g. ~/.config/dask/jobqueue.yaml)'
        ) from None


@contextmanager
def engine(
    scheduler: str | None = None,
    cluster: str | None = None,
    workers: int | None = None,
    jobs: int | None = None,
    tasks: int | None = None,
):
    """A connected Dask client (closed, and any cluster it started shut down, on exit)."""
    _need_dask()
    import dask
    from distributed import Client, LocalCluster

    if scheduler and cluster:
        raise FpgamlError('give either --scheduler or --cluster, not both')
    closers = []
    with dask.config.set(
        {
            'distributed.scheduler.allowed-failures': ALLOWED_FAILURES,
            'distributed.worker.daemon': False,
            'distributed.admin.tick.limit': '1h',
        }
    ):
        try:
            if scheduler:
                try:
                    client = Client(scheduler, timeout='10s')
                except (OSError, TimeoutError) as e:
                    raise FpgamlError(
                        f'--scheduler {scheduler}: cannot connect ({e}); is "dask scheduler" running there?'
                    ) from None
                closers.append(client.close)
                n = len(client.scheduler_info(n_workers=-1)['workers'])
                eng = Engine(client, scheduler, 'scheduler', n)
            elif cluster:
                c = jobqueue_cluster(cluster)
                closers.append(c.close)
                c.scale(jobs=jobs or 1)
                client = Client(c)
                closers.insert(0, client.close)
                eng = Engine(client, c.scheduler_address, cluster, jobs or 1)
            else:
                n = workers or os.cpu_count() or 1
                if tasks:
                    n = max(1, min(n, tasks))
                c = LocalCluster(
                    n_workers=n,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=None,
                    silence_logs=logging.ERROR,
                    scheduler_port=0,
                )
                closers.append(c.close)
                client = Client(c)
                closers.insert(0, client.close)
                eng = Engine(client, 'local', 'local', n)
            try:
                yield eng
            except BaseException:
                hold_dask_logs()  # (map_tasks held them already on Ctrl-C): the shutdown below is not news
                raise
        finally:
            for close in closers:
                try:
                    close()
                except Exception:  # noqa: BLE001 - shutting down after an error or Ctrl-C: best effort
                    pass
            release_dask_logs()


@dataclass
class Outcome:
    index: int
    result: Any = None
    error: str | None = None  # set when the task could not run to its end (worker died twice, ...)
    seconds: float = 0.0


def map_tasks(
    eng: Engine,
    fn: Callable,
    args: list[tuple],
    names: list[str],
    *,
    shared: dict | None = None,
    on_done: Callable[[Outcome], None] | None = None,
) -> list[Outcome]:
    """Run ``fn(*args[i], **shared)`` for every i on the engine's workers; call ``on_done`` as each ends.

    ``shared`` (large values every task needs) is scattered to the workers once. Returns the outcomes in
    input order. KeyboardInterrupt cancels the rest and propagates (the caller records what finished)."""
    from distributed import as_completed
    from distributed.client import FutureCancelledError

    try:
        from distributed.scheduler import KilledWorker
    except ImportError:  # pragma: no cover - older distributed
        from distributed import KilledWorker
    client = eng.client
    kwargs = {}
    if shared:
        for k, v in shared.items():
            kwargs[k] = client.scatter(v, broadcast=False, hash=False)
    started = time.perf_counter()
    futures = {}
    for i, (a, name) in enumerate(zip(args, names)):
        f = client.submit(fn, *a, **kwargs, key=f'fpgaml-{name}-{i}-{os.getpid()}-{int(started)}', pure=False)
        futures[f] = i
    outcomes: list[Outcome | None] = [None] * len(args)
    try:
        for f in as_completed(list(futures)):
            i = futures[f]
            o = Outcome(i)
            try:
                o.result = f.result()
            except KilledWorker:
                o.error = f'the worker running it died twice (retried once): {names[i]}'
            except FutureCancelledError:
                o.error = 'cancelled'
            except Exception as e:  # noqa: BLE001 - the task's own exception, recorded for this task only
                o.error = f'{type(e).__name__}: {e}'
            o.seconds = time.perf_counter() - started
            outcomes[i] = o
            f.release()
            if on_done is not None:
                on_done(o)
    except BaseException:
        hold_dask_logs()  # first: the workers got the Ctrl-C too, and their nannies log it as they die
        client.cancel(list(futures), force=True)
        raise
    return outcomes  # type: ignore[return-value]


MAX_FILE = 64 << 20  # a folder's files larger than this are not shipped (datasets left beside a model)


def folder_files(folder: Path) -> dict[str, bytes]:
    """A small folder's files (not hidden ones, nor those over :data:`MAX_FILE`), to send with a task."""
    return {
        p.name: p.read_bytes()
        for p in sorted(folder.iterdir())
        if p.is_file() and not p.name.startswith('.') and p.stat().st_size <= MAX_FILE
    }


def unpack_folder(files: dict[str, bytes], root: Path, name: str) -> Path:
    """On a worker: :func:`folder_files`' files written to the new folder ``root/name``; returns that folder."""
    folder = root / name
    folder.mkdir(parents=True)
    for fname, data in files.items():
        (folder / Path(fname).name).write_bytes(data)
    return folder


class ProgressLine:
    """Progress with an ETA: a rich bar on a terminal, else one line per finished task on stderr."""

    def __init__(self, title: str, total: int, cached: int = 0):
        self.title, self.total, self.done, self.computed = title, total, cached, 0
        self.t0 = time.perf_counter()
        self._bar = None
        from fpgaml.progress import _interactive, console

        if _interactive():
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self._bar = Progress(
                TextColumn('{task.description}'),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn('ETA'),
                TimeRemainingColumn(),
                console=console,
                transient=True,
            )
            self._bar.start()
            self._task = self._bar.add_task(title, total=total, completed=cached)
        self._console = console

    def eta(self) -> float | None:
        if not self.computed:
            return None
        return (time.perf_counter() - self.t0) / self.computed * (self.total - self.done)

    def advance(self, text: str) -> None:
        self.done += 1
        self.computed += 1
        if self._bar is not None:
            self._bar.advance(self._task)
            self._bar.console.print(text)
            return
        eta = self.eta()
        left = f', ETA {_fmt_s(eta)}' if eta is not None and self.done < self.total else ''
        print(f'[{self.done}/{self.total}] {text}{left}', file=sys.stderr, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


def _fmt_s(s: float) -> str:
    s = int(round(s))
    return f'{s // 3600}h{s % 3600 // 60:02d}m' if s >= 3600 else (f'{s // 60}m{s % 60:02d}s' if s >= 60 else f'{s}s')
