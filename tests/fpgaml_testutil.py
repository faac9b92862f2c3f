"""Helpers shared by the tests (imported by name; conftest.py holds only fixtures)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / 'shared' / 'corpus'
EXAMPLES = CORPUS / 'example-models'


def requires_corpus():
    return pytest.mark.skipif(not EXAMPLES.is_dir(), reason=f'external corpus not found at {CORPUS}')


def run_cli(*args, cwd: Path = REPO) -> tuple[int, str]:
    """``fpgaml ARGS`` as a user runs it (a fresh process, no colours, wide lines): (exit code, stdout + stderr)."""
    p = subprocess.run(
        [sys.executable, '-m', 'fpgaml.cli', *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=900,
        env=dict(os.environ, NO_COLOR='1', COLUMNS='200'),
        stdin=subprocess.DEVNULL,
    )
    return p.returncode, p.stdout + p.stderr


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def skip_without_hgq(config: Path) -> None:
    """A zoo model saved by HGQ2 (``model.keras`` naming ``hgq>`` classes: jet_hgq) needs ``import hgq`` (hgq2,
    installed by ``make test`` beside QKeras): skip its test with that reason when hgq2 is missing."""
    import importlib.util

    from fpgaml.frontend.hgq import archive_names_hgq

    model = Path(config).parent / 'model.keras'
    if model.is_file() and archive_names_hgq(model) and importlib.util.find_spec('hgq') is None:
        pytest.skip(f'{Path(config).parent.name} is an HGQ2 model and hgq2 is not installed (make test installs it)')
