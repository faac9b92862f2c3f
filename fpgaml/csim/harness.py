"""ctypes front of the compiled C-simulation library (fpgaml_harness.cpp).

Batches run inside C++ (one call for many samples). To use several cores, each worker thread gets its
own copy of the library (a distinct file, so the dynamic loader gives it its own static state: weights,
lookup tables, io_stream line buffers); ctypes releases the GIL during the call.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from fpgaml.progress import progress_bar

_DP = ctypes.POINTER(ctypes.c_double)


def _replica(path: Path, i: int) -> Path:
    """``path``'s i-th copy beside it (created atomically, verified by content)."""
    rep = path.with_name(f'{path.stem}.replica{i}{path.suffix}')
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if rep.is_file() and hashlib.sha256(rep.read_bytes()).hexdigest() == digest:
        return rep
    fd, tmp = tempfile.mkstemp(prefix='.replica-', dir=path.parent)
    os.close(fd)
    shutil.copy2(path, tmp)
    os.replace(tmp, rep)
    return rep


def _load(path: Path):
    lib = ctypes.CDLL(str(path))
    lib.fpgaml_run.restype = ctypes.c_long
    lib.fpgaml_run.argtypes = [ctypes.POINTER(_DP), ctypes.POINTER(_DP), ctypes.c_long, ctypes.c_int,
                               ctypes.POINTER(ctypes.c_char_p), ctypes.POINTER(ctypes.c_long), ctypes.POINTER(_DP)]
    lib.fpgaml_input_size.restype = ctypes.c_long
    lib.fpgaml_output_size.restype = ctypes.c_long
    return lib


class CsimLibrary:
    """One compiled firmware: ``predict`` a batch (on ``threads`` cores), or ``trace`` layers per sample."""

    def __init__(self, path: Path, threads: int = 1):
        self.path = Path(path)
        self.lib = _load(self.path)
        self.in_sizes = [self.lib.fpgaml_input_size(i) for i in range(self.lib.fpgaml_n_inputs())]
        self.out_sizes = [self.lib.fpgaml_output_size(i) for i in range(self.lib.fpgaml_n_outputs())]
        self.threads = max(1, int(threads))
        self._replicas = None

    def _workers(self):
        if self._replicas is None:
            self._replicas = [self.lib] + [_load(_replica(self.path, i)) for i in range(1, self.threads)]
        return self._replicas

    def _run(self, xs: list[np.ndarray], trace: dict[str, int] | None = None, lib=None):
        lib = lib or self.lib
        n = xs[0].shape[0]
        xs = [np.ascontiguousarray(x.reshape(n, -1), dtype=np.float64) for x in xs]
        for x, size in zip(xs, self.in_sizes):
            if x.shape[1] != size:
                raise ValueError(f'input has {x.shape[1]} values per sample, firmware expects {size}')
        ys = [np.zeros((n, s)) for s in self.out_sizes]
        names = list(trace or {})
        touts = [np.zeros((n, trace[k])) for k in names]
        x_ptrs = (_DP * len(xs))(*[x.ctypes.data_as(_DP) for x in xs])
        y_ptrs = (_DP * len(ys))(*[y.ctypes.data_as(_DP) for y in ys])
        c_names = (ctypes.c_char_p * max(1, len(names)))(*[k.encode() for k in names])
        c_sizes = (ctypes.c_long * max(1, len(names)))(*[trace[k] for k in names])
        t_ptrs = (_DP * max(1, len(names)))(*[t.ctypes.data_as(_DP) for t in touts])
        rc = lib.fpgaml_run(x_ptrs, y_ptrs, n, len(names), c_names, c_sizes, t_ptrs)
        if rc < 0:
            raise RuntimeError(f'layer "{names[-rc - 1]}" produced no trace output')
        return ys, dict(zip(names, touts))

    def predict(self, xs: list[np.ndarray], chunk: int = 512, label: str = 'C-simulation') -> list[np.ndarray]:
        n = xs[0].shape[0]
        workers = self._workers() if self.threads > 1 and n > 1 else [self.lib]
        chunk = max(1, min(chunk, -(-n // len(workers))))  # every worker gets a share
        starts = list(range(0, n, chunk))
        # contiguous ranges per worker: each library copy sees its samples in order, as in a serial run
        per = [starts[k::len(workers)] for k in range(len(workers))]
        results: dict[int, list[np.ndarray]] = {}
        with progress_bar(label, n) as advance:
            def work(k):
                for s in per[k]:
                    results[s], _ = self._run([x[s:s + chunk] for x in xs], lib=workers[k])
                    advance(min(chunk, n - s))
            if len(workers) == 1:
                work(0)
            else:
                with ThreadPoolExecutor(len(workers)) as pool:
                    list(pool.map(work, range(len(workers))))
        return [np.concatenate([results[s][k] for s in starts]) for k in range(len(self.out_sizes))]

    def trace(self, xs: list[np.ndarray], layers: dict[str, int]) -> tuple[list[np.ndarray], dict[str, np.ndarray]]:
        return self._run(xs, layers)
