"""The command line's process: Ctrl-C, SIGTERM and SIGHUP become :class:`~fpgaml.errors.Interrupted` (so every
clean-up that runs for Ctrl-C runs for a kill too, and the user reads what happened), and native libraries'
logging on file descriptor 2 is kept off the terminal."""

from __future__ import annotations

import functools
import os
import signal
import sys

from fpgaml.errors import Interrupted

__all__ = ['Terminated', 'install_signal_handlers', 'interruptible', 'interrupted', 'silence_native_stderr']


def silence_native_stderr() -> None:
    """TensorFlow's C++ logging (oneDNN, CUDA probes) writes to file descriptor 2 directly, bypassing
    Python. Point fd 2 at /dev/null and give Python (our messages, progress bars) the real stderr."""
    sys.stderr.flush()
    real = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)
    sys.stderr = os.fdopen(real, 'w', buffering=1)


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised in the main thread like Ctrl-C so that every clean-up that runs for Ctrl-C
    (temporary project folders, compile processes and their build folders) runs for it too."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def _raise_terminated(signum, frame):
    signal.signal(signum, signal.SIG_IGN)  # a second kill must not cut the clean-up short
    raise Terminated(signum)


def install_signal_handlers() -> None:
    for sig in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(sig) is not signal.SIG_IGN:  # (nohup stays nohup)
            signal.signal(sig, _raise_terminated)


def interrupted(e: KeyboardInterrupt) -> Interrupted:
    what = f'terminated by {signal.Signals(e.signum).name}' if isinstance(e, Terminated) else 'interrupted'
    err_ = Interrupted(f'{what}: nothing was written (the previous project, if any, is untouched)')
    if isinstance(e, Terminated):
        err_.exit_code = 128 + e.signum  # the shell's convention: 143 for SIGTERM, 129 for SIGHUP
    return err_


def interruptible(fn):
    """typer turns Ctrl-C into a silent exit 130; say what happened instead."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except KeyboardInterrupt as e:
            raise interrupted(e) from None

    return wrapper
