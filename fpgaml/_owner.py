"""Who owns a temporary folder, and file digests: shared by the output-folder guard (fpgaml.outdir) and the
compile cache (fpgaml.csim.compile), which both name their temporary folders after this host and process so
that a later run can remove what a killed one left."""

from __future__ import annotations

import hashlib
import os
import re
import socket
from pathlib import Path


def host_tag() -> str:
    """This host's name as a file-name-safe tag (no '-', which separates the fields of a folder name)."""
    return re.sub(r'[^A-Za-z0-9]', '_', socket.gethostname())[:32] or 'host'


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` of this host is running (this process counts as running)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            h.update(block)
    return h.hexdigest()
