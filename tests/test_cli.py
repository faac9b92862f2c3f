"""The command line as a user meets it: exit codes, one-line messages, no tracebacks, nothing half-written."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fpgaml_testutil import REPO, write

FPGAML = [sys.executable, '-m', 'fpgaml.cli']


def run(args, cwd=None, env=None, timeout=600):
    e = dict(os.environ, **(env or {}))
    return subprocess.run(
        FPGAML + [str(a) for a in args], cwd=cwd, env=e, capture_output=True, text=True, timeout=timeout
    )


def one_clean_error(p) -> str:
    assert 'Traceback' not in p.stderr + p.stdout
    lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, p.stderr
    assert lines[0].startswith('error: ')
    return lines[0]


@pytest.mark.parametrize('cmd', [[], ['build'], ['convert'], ['csim']])
def test_help_everywhere(cmd):
    p = run(cmd + ['--help'])
    assert p.returncode == 0 and 'Usage' in p.stdout


def test_missing_config_file(tmp_path):
    p = run(['build', tmp_path / 'nope.yml'])
    assert p.returncode == 2
    assert 'nope.yml: config file not found' in one_clean_error(p)


def test_bad_key_names_line_and_suggestion(tmp_path):
    (tmp_path / 'm.h5').write_bytes(b'x')
    cfg = write(tmp_path / 'c.yml', 'model: m.h5\nname: p\nreuse_factr: 2\n')
    p = run(['convert', cfg])
    assert p.returncode == 2
    line = one_clean_error(p)
    assert 'c.yml:3' in line and 'did you mean "reuse_factor"' in line


def test_unsupported_layer_names_layer_and_class(tmp_path):
    import tf_keras as K

    m = K.Sequential(
        [
            K.layers.Input((8,)),
            K.layers.Dense(4, name='fc'),
            K.layers.GaussianNoise(0.1, name='noise'),
            K.layers.Dense(2, name='out'),
        ]
    )
    m.save(tmp_path / 'm.h5')
    cfg = write(tmp_path / 'c.yml', f'model: m.h5\nname: p\noutput_dir: {tmp_path / "out"}\n')
    p = run(['build', cfg])
    assert p.returncode == 2
    line = one_clean_error(p)
    assert 'GaussianNoise' in line and '"noise"' in line
    assert not (tmp_path / 'out').exists()


def test_debug_shows_the_traceback(tmp_path):
    p = run(['--debug', 'build', tmp_path / 'nope.yml'])
    assert p.returncode != 0 and 'Traceback' in p.stderr


FAKE_CXX = """#!/bin/sh
if [ "$1" = "--version" ]; then echo "fake-g++ 1.0"; exit 0; fi
{sleep}
echo "firmware/x.cpp:12:3: error: simulated compiler failure" >&2
exit 1
"""


def _fake_cxx(tmp_path: Path, sleep: str = '') -> Path:
    cxx = write(tmp_path / 'fake-gxx', FAKE_CXX.format(sleep=sleep))
    cxx.chmod(0o755)
    return cxx


def _leftovers(parent: Path, name: str) -> list[Path]:
    return [p for p in parent.iterdir() if p.name == name or p.name.startswith(f'.{name}.')]


def test_compile_failure_reports_first_error_and_log_and_writes_nothing(tmp_path):
    out = tmp_path / 'prj'
    p = run(
        ['build', REPO / 'models/reference_mlp/config.yml', '--output', out, '--no-cache'],
        env={'CXX': str(_fake_cxx(tmp_path)), 'FPGAML_CACHE_DIR': str(tmp_path / 'cache'), 'TMPDIR': str(tmp_path)},
    )
    assert p.returncode == 3
    line = one_clean_error(p)
    assert 'C++ compilation failed: firmware/x.cpp:12:3: error: simulated compiler failure' in line
    log = Path(line.split('full log: ')[1].rstrip(')'))
    assert log.is_file() and 'simulated compiler failure' in log.read_text()
    assert _leftovers(tmp_path, 'prj') == []


def test_ctrl_c_during_compile_leaves_nothing(tmp_path):
    out = tmp_path / 'prj'
    marker = tmp_path / 'compiling'
    cxx = _fake_cxx(tmp_path, sleep=f'touch {marker}; sleep 60')
    env = dict(os.environ, CXX=str(cxx), FPGAML_CACHE_DIR=str(tmp_path / 'cache'))
    # (the child gets the default SIGINT disposition even when this suite runs as a background job, which
    # inherits SIGINT ignored and would make the Ctrl-C below a no-op)
    proc = subprocess.Popen(
        FPGAML + ['build', str(REPO / 'models/reference_mlp/config.yml'), '--output', str(out)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.time() + 120
    while not marker.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)
    assert marker.exists(), 'the compiler was never started'
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert 'interrupted' in err and 'Traceback' not in err
    assert _leftovers(tmp_path, 'prj') == []


def test_build_then_refuse_overwrite_then_force(tmp_path):
    out = tmp_path / 'ref'
    args = ['build', REPO / 'models/reference_mlp/config.yml', '--output', out]
    p = run(args)
    assert p.returncode == 0, p.stderr
    assert 'C-simulation PASSED' in p.stdout and 'bit-exact samples (input grid): 100.00%' in p.stdout
    rep = json.loads((out / 'fpgaml-report.json').read_text())
    assert rep['csim']['passed'] and rep['csim']['exact_fraction'] == 1.0

    stamp = (out / 'fpgaml-report.json').stat().st_mtime_ns
    p = run(args)
    assert p.returncode == 2 and 'already exists; use --force' in one_clean_error(p)
    assert (out / 'fpgaml-report.json').stat().st_mtime_ns == stamp

    p = run(args + ['--force'])
    assert p.returncode == 0 and (out / 'fpgaml-report.json').stat().st_mtime_ns != stamp
    assert _leftovers(tmp_path, 'ref') == [out]

    p = run(['csim', REPO / 'models/reference_mlp/config.yml', '--output', out])
    assert p.returncode == 0 and '(cached)' in p.stdout


def test_convert_then_csim(tmp_path):
    out = tmp_path / 'conv'
    p = run(['convert', REPO / 'models/reference_mlp/config.yml', '--output', out])
    assert p.returncode == 0, p.stderr
    assert json.loads((out / 'fpgaml-report.json').read_text())['csim'] is None
    p = run(['csim', REPO / 'models/reference_mlp/config.yml', '--output', out])
    assert p.returncode == 0, p.stderr
    assert json.loads((out / 'fpgaml-report.json').read_text())['csim']['passed']


def test_csim_without_project_says_what_to_do(tmp_path):
    p = run(['csim', REPO / 'models/reference_mlp/config.yml', '--output', tmp_path / 'none'])
    assert p.returncode == 2 and 'run "fpgaml convert" or "fpgaml build" first' in one_clean_error(p)
