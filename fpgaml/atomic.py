"""Atomic file writes: a reader sees the old file or the new one, never a half-written one.

Golden records, project reports, cache entries and sweep tables are rewritten while other processes may read
them, and two fpgaml runs may write the same file at once (two regressions, two sweeps sharing a point cache).
Each write goes to a temporary file with a unique name beside the target (same file system, so
:func:`os.replace` is atomic), which is renamed over it; on any error the temporary file is removed. The file
gets the permissions an ordinary ``open(path, 'w')`` would give it (0666 less the umask) unless ``mode`` says
otherwise.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

__all__ = ['open_atomic', 'write_bytes', 'write_json', 'write_text']


def _umask() -> int:
    """The process's umask, read without setting it where Linux shows it (``os.umask`` sets it for every thread)."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path('/proc/self/status').read_text().splitlines():
            if line.startswith('Umask:'):
                return int(line.split()[1], 8)
    mask = os.umask(0o22)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def open_atomic(
    path: str | Path,
    binary: bool = False,
    *,
    encoding: str | None = None,
    newline: str | None = None,
    mode: int | None = None,
) -> Iterator[IO]:
    """A file object for writers that need one (``csv.writer``, ``np.savez``): what is written there replaces
    ``path`` when the block ends without an exception, and is thrown away otherwise."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f'.{path.name}.', suffix='.tmp')
    try:
        with os.fdopen(fd, 'wb') if binary else os.fdopen(fd, 'w', encoding=encoding, newline=newline) as f:
            yield f
        os.chmod(tmp, 0o666 & ~_umask() if mode is None else mode)  # (mkstemp makes 0600)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_text(path: str | Path, text: str, *, encoding: str | None = None, mode: int | None = None) -> Path:
    """Replace ``path`` by ``text``, atomically."""
    with open_atomic(path, encoding=encoding, mode=mode) as f:
        f.write(text)
    return Path(path)


def write_bytes(path: str | Path, data: bytes) -> Path:
    """Replace ``path`` by ``data``, atomically."""
    with open_atomic(path, binary=True) as f:
        f.write(data)
    return Path(path)


def write_json(path: str | Path, obj, **dumps) -> Path:
    """Replace ``path`` by ``json.dumps(obj, **dumps)`` and a newline, atomically."""
    return write_text(path, json.dumps(obj, **dumps) + '\n')
