"""Estimates, budgets, vendor-synthesis hand-off and the HTML report, through the command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fpgaml_testutil import REPO, write

FPGAML = [sys.executable, '-m', 'fpgaml.cli']
REF = REPO / 'models' / 'reference_mlp'
FIXTURES = REPO / 'tests' / 'estimate' / 'fixtures'


def run(args, env=None, cwd=None):
    return subprocess.run(
        FPGAML + [str(a) for a in args],
        capture_output=True,
        text=True,
        timeout=600,
        env=dict(os.environ, **(env or {})),
        cwd=cwd,
    )


def ref_config(tmp_path: Path, extra: str = '', part: str = 'xcvu9p-flga2104-2L-e') -> Path:
    text = (
        f'model: {REF / "model.h5"}\nname: ref\npart: {part}\nprecision:\n  default: fixed<16,6>\n'
        f'validation:\n  data: {REF / "val.npz"}\n  samples: 200\n' + extra
    )
    return write(tmp_path / 'c.yml', text)


def test_estimate_json_has_the_documented_shape(tmp_path):
    p = run(['estimate', ref_config(tmp_path), '--json'])
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert set(doc['total']) == {'latency_cycles', 'latency_ns', 'ii_cycles', 'dsp', 'lut', 'ff', 'bram_18k', 'uram'}
    assert doc['part'] == 'xcvu9p-flga2104-2L-e'
    assert [la['name'] for la in doc['layers']][:2] == ['input_1', 'fc1']
    assert doc['total']['latency_ns'] == doc['total']['latency_cycles'] * 5
    assert 0 < doc['utilization']['lut'] < 100
    assert doc['default_kind'] == 'synth'
    for kind in ('synth', 'csynth'):  # both figure kinds, each with its band
        lo, hi = doc[kind]['band']['lut']
        assert lo <= doc[kind]['lut'] <= hi


def test_violated_budget_fails_with_margin_and_passing_ones_are_shown(tmp_path):
    cfg = ref_config(tmp_path, 'budgets:\n  max_latency_ns: 10\n  max_resources: {dsp: "50%"}\n  margin: band\n')
    p = run(['estimate', cfg])
    assert p.returncode == 5
    assert 'PASS DSP' in p.stdout and '[synth, band upper edge] within budget' in p.stdout
    assert '(50% of xcvu9p)' in p.stdout
    assert 'synth (post-synthesis' in p.stdout and 'csynth (HLS' in p.stdout  # both kinds, with their bands
    assert 'FAIL latency' in p.stdout and 'exceeds budget 10 ns by' in p.stdout
    d = run(['--debug', 'estimate', cfg])  # a verdict (errors.BudgetExceeded), not a failure: no traceback
    assert d.returncode == 5 and 'Traceback' not in d.stderr, d.stderr[-2000:]


def test_unknown_part_lists_known_parts(tmp_path):
    p = run(['estimate', ref_config(tmp_path, part='xc9zz999-foo')])
    assert p.returncode == 2 and 'Traceback' not in p.stderr
    assert 'c.yml:3' in p.stderr and 'xcvu9p' in p.stderr and 'xc7z020' in p.stderr


def test_bad_budget_key_is_a_config_error(tmp_path):
    p = run(['estimate', ref_config(tmp_path, 'budgets:\n  max_latency_us: 1\n')])
    assert p.returncode == 2 and 'c.yml:10' in p.stderr and 'unknown key "max_latency_us"' in p.stderr


FAKE_HLS = """#!/bin/sh
# stands in for vivado_hls: writes a synthesis report where hls4ml's build_prj.tcl would
mkdir -p ref_prj/solution1/syn/report
cp {fixture} ref_prj/solution1/syn/report/ref_csynth.rpt
echo "fake synthesis done"
"""


def test_build_synth_without_and_with_a_vendor_tool(tmp_path):
    cfg = ref_config(tmp_path)
    out = tmp_path / 'prj'
    no_tools = {'PATH': f'{Path(sys.executable).parent}:/usr/bin:/bin'}
    p = run(['build', cfg, '--output', out, '--synth'], env=no_tools)
    assert p.returncode == 0, p.stderr
    assert 'no vendor HLS tool on PATH' in p.stdout and 'skipping synthesis, showing the estimate' in p.stdout
    html = (out / 'report.html').read_text()
    assert html.count('<svg') >= 2 and 'http' not in html.split('<body', 1)[1]

    bindir = tmp_path / 'bin'
    tool = write(bindir / 'vivado_hls', FAKE_HLS.format(fixture=FIXTURES / 'toy_csynth.rpt'))
    tool.chmod(0o755)
    p = run(['build', cfg, '--output', out, '--synth', '--force'], env={'PATH': f'{bindir}:{no_tools["PATH"]}'})
    assert p.returncode == 0, p.stderr
    assert 'vivado_hls synthesis finished' in p.stdout
    assert 'latency_cycles: estimate' in p.stdout and 'vs csynth 14' in p.stdout
    rep = json.loads((out / 'fpgaml-report.json').read_text())
    assert rep['synthesis']['tool'] == 'vivado_hls'
    assert rep['synthesis']['comparison']['latency_cycles']['measured'] == 14

    p = run(['report', out])
    assert p.returncode == 0, p.stderr
    assert 'vs csynth 14' in p.stdout and 'C-simulation: PASSED' in p.stdout


def test_failing_vendor_tool_is_reported(tmp_path):
    bindir = tmp_path / 'bin'
    tool = write(bindir / 'vivado_hls', '#!/bin/sh\necho "ERROR: [HLS 200-70] license" ; exit 1\n')
    tool.chmod(0o755)
    p = run(
        ['build', ref_config(tmp_path), '--output', tmp_path / 'prj', '--synth'],
        env={'PATH': f'{bindir}:{Path(sys.executable).parent}:/usr/bin:/bin'},
    )
    assert p.returncode == 2 and 'vivado_hls failed with exit code 1' in p.stderr
    assert 'fpgaml-synth.log' in p.stderr


@pytest.mark.skipif(not Path('/usr/bin/chromium').exists(), reason='Chromium not installed (apt install chromium)')
def test_report_html_renders_in_headless_chromium(tmp_path):
    cfg = ref_config(tmp_path)
    out = tmp_path / 'prj'
    assert run(['convert', cfg, '--output', out]).returncode == 0
    shot = tmp_path / 'shot.png'
    p = subprocess.run(
        [
            '/usr/bin/chromium',
            '--headless',
            '--no-sandbox',
            '--disable-gpu',
            '--disable-quic',
            '--no-first-run',
            '--disable-background-networking',
            '--disable-component-update',
            '--disable-sync',
            f'--user-data-dir={tmp_path / "chrome"}',
            f'--screenshot={shot}',
            '--window-size=1200,2000',
            f'file://{out / "report.html"}',
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert shot.is_file() and shot.stat().st_size > 20000, p.stderr[-2000:]
    dom = subprocess.run(
        [
            '/usr/bin/chromium',
            '--headless',
            '--no-sandbox',
            '--disable-gpu',
            '--disable-background-networking',
            f'--user-data-dir={tmp_path / "chrome2"}',
            '--dump-dom',
            f'file://{out / "report.html"}',
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert '<svg' in dom.stdout and 'ref' in dom.stdout
