"""Helpers shared by the tests (imported by name; conftest.py holds only fixtures)."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / 'shared' / 'corpus'
EXAMPLES = CORPUS / 'example-models'

def requires_corpus():
    return pytest.mark.skipif(not EXAMPLES.is_dir(), reason=f'external corpus not found at {CORPUS}')


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path
