"""ctypes front of the compiled C-simulation library (fpgaml_harness.cpp)."""

from __future__ import annotations

import ctypes
from pathlib import Path

import numpy as np

from fpgaml.progress import progress_bar

_DP = ctypes.POINTER(ctypes.c_double)


class CsimLibrary:
    """One compiled firmware: ``predict`` a batch, or ``trace`` chosen layers' outputs per sample."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.lib = ctypes.CDLL(str(self.path))
        self.lib.fpgaml_run.restype = ctypes.c_long
        self.lib.fpgaml_run.argtypes = [ctypes.POINTER(_DP), ctypes.POINTER(_DP), ctypes.c_long, ctypes.c_int,
                                        ctypes.POINTER(ctypes.c_char_p), ctypes.POINTER(ctypes.c_long),
                                        ctypes.POINTER(_DP)]
        self.lib.fpgaml_input_size.restype = ctypes.c_long
        self.lib.fpgaml_output_size.restype = ctypes.c_long
        self.in_sizes = [self.lib.fpgaml_input_size(i) for i in range(self.lib.fpgaml_n_inputs())]
        self.out_sizes = [self.lib.fpgaml_output_size(i) for i in range(self.lib.fpgaml_n_outputs())]

    def _run(self, xs: list[np.ndarray], trace: dict[str, int] | None = None):
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
        rc = self.lib.fpgaml_run(x_ptrs, y_ptrs, n, len(names), c_names, c_sizes, t_ptrs)
        if rc < 0:
            raise RuntimeError(f'layer "{names[-rc - 1]}" produced no trace output')
        return ys, dict(zip(names, touts))

    def predict(self, xs: list[np.ndarray], chunk: int = 256, label: str = 'C-simulation') -> list[np.ndarray]:
        n = xs[0].shape[0]
        parts = []
        with progress_bar(label, n) as advance:
            for start in range(0, n, chunk):
                ys, _ = self._run([x[start:start + chunk] for x in xs])
                parts.append(ys)
                advance(min(chunk, n - start))
        return [np.concatenate([p[k] for p in parts]) for k in range(len(self.out_sizes))]

    def trace(self, xs: list[np.ndarray], layers: dict[str, int]) -> tuple[list[np.ndarray], dict[str, np.ndarray]]:
        return self._run(xs, layers)
