"""User-facing errors: one clear message, no traceback unless --debug.

Each class carries the exit code the command line ends with (README, "Exit codes"): ``fpgaml.cli`` reads it
from the exception and writes no code of its own.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

INTERNAL_ERROR_EXIT_CODE = 1  # an exception that is not an FpgamlError: a bug of fpgaml's


class FpgamlError(Exception):
    """An error caused by user input (config, model file, data). Printed as one line."""

    exit_code = 2


class CompileError(FpgamlError):
    """The generated C++ did not compile."""

    exit_code = 3


class Verdict(FpgamlError):
    """Not a failure of the command: it ran to the end and its answer is no. It has already printed what failed
    and where (its tables, one line per failure), so the command line prints nothing more, not even with
    --debug, and only exits with the code."""


class CsimMismatch(Verdict):
    """C-simulation ran but the firmware does not compute what the model computes, or a rebuilt reference model's
    bits differ from its golden record."""

    exit_code = 4


class RunsFailed(Verdict):
    """Some of the runs of a command that runs many (sweep points, zoo models) failed; the others finished."""

    exit_code = 4


class BudgetExceeded(Verdict):
    """A latency, throughput or resource budget is violated."""

    exit_code = 5


class Interrupted(FpgamlError):
    """Ctrl-C: every step cleans up after itself, so nothing half-written is left."""

    exit_code = 130


def suggest(word: str, choices: Iterable[str]) -> str:
    """Return ' (did you mean "X"?)' for a likely typo, else ''."""
    choices = list(choices)
    lowered = {c.lower(): c for c in choices}
    match = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.6)
    return f' (did you mean "{lowered[match[0]]}"?)' if match else ''
