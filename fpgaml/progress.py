"""Progress display for long steps (compiles, C-simulation), on stderr and only on a terminal."""

from __future__ import annotations

import sys
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

console = Console(stderr=True)


def _interactive() -> bool:
    return console.is_terminal and sys.stderr.isatty()


class Spinner:
    """A spinner with elapsed time while a step without measurable progress runs (e.g. g++)."""

    def __init__(self, text: str):
        self.text = text
        self._progress = None

    def __enter__(self):
        if _interactive():
            self._progress = Progress(
                SpinnerColumn(), TextColumn('{task.description}'), TimeElapsedColumn(), console=console, transient=True
            )
            self._progress.start()
            self._progress.add_task(self.text, total=None)
        return self

    def __exit__(self, *exc):
        if self._progress is not None:
            self._progress.stop()
        return False


@contextmanager
def progress_bar(text: str, total: int):
    """Yields an ``advance(n)`` function."""
    if not _interactive():
        yield lambda n: None
        return
    with Progress(
        SpinnerColumn(),
        TextColumn('{task.description}'),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as p:
        task = p.add_task(text, total=total)
        yield lambda n: p.advance(task, n)
