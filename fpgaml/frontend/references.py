"""The Keras model's outputs on the validation samples, computed once and cached by content.

A C-simulation compares the firmware with Keras on the same samples (the model outputs, every layer's output
to name a divergent layer or bound a float part, and the profile that types float layers). These depend on
the model's bytes, its extension code, the samples and the ML stack -- not on the reuse factor, the strategy,
the precisions or the part. So a build that changes only those reconverts the model but reads the Keras side
from here instead of running it again, and within one build each is computed once however many checks use it.

An entry is one file, ``<cache>/keras/<key[:2]>/<key>.npz``: the SHA-256 of the rest, a newline, then a
NumPy archive (no pickles). An entry whose checksum fails is recomputed and rewritten; a cache that cannot be
written only costs recomputation; entries larger than :data:`MAX_BYTES` are kept in memory only.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from pathlib import Path

import numpy as np

from fpgaml.atomic import write_bytes

FORMAT = b'fpgaml-keras-references-1'
MAX_BYTES = 256 << 20
MEMORY = 4  # values held in memory: a C-simulation's model and layer outputs, on its samples and the raw data


def _digest_inputs(x) -> str:
    h = hashlib.sha256()
    for a in x if isinstance(x, (list, tuple)) else [x]:
        a = np.ascontiguousarray(a)
        h.update(f'{a.dtype.str}{a.shape};'.encode())
        h.update(a.tobytes())
    return h.hexdigest()


def _pack(value) -> bytes:
    """A list of arrays (``predict``) or a name -> array dict (``layer_outputs``) as a NumPy archive."""
    names = list(value) if isinstance(value, dict) else []
    arrays = list(value.values()) if isinstance(value, dict) else list(value)
    buf = io.BytesIO()
    np.savez(
        buf,
        names=np.array(names, dtype=str),
        dict=np.array(isinstance(value, dict)),
        **{f'a{i}': a for i, a in enumerate(arrays)},
    )
    data = buf.getvalue()
    return hashlib.sha256(data).hexdigest().encode() + b'\n' + data


def _unpack(blob: bytes):
    digest, _, data = blob.partition(b'\n')
    if hashlib.sha256(data).hexdigest().encode() != digest:
        return None
    with np.load(io.BytesIO(data), allow_pickle=False) as z:
        arrays = [z[f'a{i}'] for i in range(len(z.files) - 2)]
        if bool(z['dict']):
            return dict(zip(z['names'].tolist(), arrays))
        return arrays


def _copy(value):
    """A caller's own copy: a remembered value is never changed through what was handed out."""
    if isinstance(value, dict):
        return {k: np.array(v) for k, v in value.items()}
    return [np.array(v) for v in value]


class ReferenceStore:
    """Where a loaded model's Keras outputs are remembered: the last few in memory, and, with a
    ``root``, on disk under a key that adds ``salt`` (extension code, library versions, fpgaml's code) to the
    model's digest. ``read=False`` (``--no-cache``) recomputes but still refreshes the disk entry."""

    def __init__(self, model_sha256: str, salt: str = '', root: Path | None = None, read: bool = True):
        self.model_sha256, self.salt, self.root, self.read = model_sha256, salt, root, read
        self.memory: dict[tuple[str, str], object] = {}  # (kind, samples' digest) -> value, the last MEMORY ones
        self.hits = 0  # values served from the disk cache (tests and --timings read it)

    def _path(self, kind: str, digest: str) -> Path | None:
        if self.root is None:
            return None
        key = hashlib.sha256(FORMAT + f'{self.salt};{self.model_sha256};{kind};{digest}'.encode()).hexdigest()
        return self.root / key[:2] / f'{key}.npz'

    def remembered(self, kind: str, x, compute: Callable):
        """``compute(x)``, or what it returned before for the same model, kind and samples."""
        digest = _digest_inputs(x)
        if (kind, digest) in self.memory:
            return _copy(self.memory[kind, digest])
        path = self._path(kind, digest)
        value = self._read(path) if path is not None and self.read else None
        if value is None:
            value = compute(x)
            if path is not None:
                self._write(path, value)
        else:
            self.hits += 1
        self.memory[kind, digest] = value
        while len(self.memory) > MEMORY:
            del self.memory[next(iter(self.memory))]  # (the oldest)
        return _copy(value)

    @staticmethod
    def _read(path: Path):
        try:
            blob = path.read_bytes()
        except OSError:
            return None
        try:
            return _unpack(blob)
        except (ValueError, KeyError, OSError, EOFError):
            return None  # a damaged entry: recomputed and rewritten

    @staticmethod
    def _write(path: Path, value) -> None:
        blob = _pack(value)
        if len(blob) > MAX_BYTES:
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            write_bytes(path, blob)
        except OSError:
            pass  # a cache that cannot be written only costs recomputation next time
