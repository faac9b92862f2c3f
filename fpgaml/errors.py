"""User-facing errors: one clear message, no traceback unless --debug."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class FpgamlError(Exception):
    """An error caused by user input (config, model file, data). Printed as one line."""

    exit_code = 2


class CompileError(FpgamlError):
    """The generated C++ did not compile."""

    exit_code = 3


class CsimMismatch(FpgamlError):
    """C-simulation ran but the firmware does not compute what the model computes."""

    exit_code = 4


class Interrupted(FpgamlError):
    """Ctrl-C: every step cleans up after itself, so nothing half-written is left."""

    exit_code = 130


def suggest(word: str, choices: Iterable[str]) -> str:
    """Return ' (did you mean "X"?)' for a likely typo, else ''."""
    choices = list(choices)
    lowered = {c.lower(): c for c in choices}
    match = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.6)
    return f' (did you mean "{lowered[match[0]]}"?)' if match else ''
