"""Published models and configs from ../shared/corpus (never copied into this repository)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from fpgaml_testutil import EXAMPLES, requires_corpus

pytestmark = [requires_corpus(), pytest.mark.slow]


def test_published_qkeras_3layer_config_builds_bit_exact(tmp_path):
    """The issue's acceptance command, run from example-models/ as hls4ml users do."""
    out = tmp_path / 'qkeras_3layer'
    p = subprocess.run(
        [sys.executable, '-m', 'fpgaml.cli', 'build', 'config-files/qkeras_3layer_config.yml', '--output', str(out)],
        cwd=EXAMPLES,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert p.returncode == 0, p.stderr + p.stdout
    rep = json.loads((out / 'fpgaml-report.json').read_text())
    assert rep['config']['format'] == 'hls4ml'
    assert rep['bit_exact']['enabled']
    assert rep['csim']['exact_fraction'] == 1.0 and rep['csim']['passed']
    assert rep['csim']['samples'] == 1000
