"""The result cache: a warm build, csim or estimate of an unchanged model and config replays the cached result
without importing TensorFlow, Keras or hls4ml; anything that changes the result (a config setting, a damaged
entry) recomputes; a changed budget is re-checked on the cached estimate."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from fpgaml_testutil import REPO

pytestmark = pytest.mark.slow

ML_STACK = ('tensorflow', 'keras', 'tf_keras', 'hls4ml', 'qkeras', 'hgq')
# the fpgaml command as a user runs it, then the ML-stack packages that process imported
PROBE = f"""
import json, sys
from fpgaml.cli import main
sys.argv = ['fpgaml', *sys.argv[1:]]
try:
    main()
    code = 0
except SystemExit as e:
    code = e.code
print('IMPORTED=' + json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & set({ML_STACK!r}))))
sys.exit(code)
"""


def fpgaml(*args, cache: Path) -> tuple[int, str, list[str]]:
    env = dict(os.environ, NO_COLOR='1', COLUMNS='200', FPGAML_RESULT_CACHE='1', FPGAML_CACHE_DIR=str(cache))
    p = subprocess.run(
        [sys.executable, '-c', PROBE, *map(str, args)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
        env=env,
        stdin=subprocess.DEVNULL,
    )
    text = p.stdout + p.stderr
    imported = json.loads(text.split('IMPORTED=')[1].splitlines()[0]) if 'IMPORTED=' in text else ['?']
    return p.returncode, text, imported


@pytest.fixture(scope='module')
def work(tmp_path_factory) -> Path:
    """A copy of the reference MLP's folder and a cache filled by one cold build of it."""
    d = tmp_path_factory.mktemp('results')
    shutil.copytree(REPO / 'models' / 'reference_mlp', d / 'model')
    code, text, imported = fpgaml('build', d / 'model' / 'config.yml', '-o', d / 'cold', cache=d / 'cache')
    assert code == 0, text
    assert 'result cache: replayed' not in text and 'tensorflow' in imported
    return d


def test_warm_build_replays_without_the_ml_stack(work):
    moved = work / 'cache-moved'  # entries are relocatable: the cache folder can move
    shutil.copytree(work / 'cache', moved)
    code, text, imported = fpgaml('build', work / 'model' / 'config.yml', '-o', work / 'warm', cache=moved)
    assert code == 0, text
    assert 'result cache: replayed' in text and 'C-simulation PASSED' in text
    assert imported == [], f'a cache hit imported {imported}'
    cold, warm = (json.loads((work / d / 'fpgaml-report.json').read_text()) for d in ('cold', 'warm'))
    assert warm['result_cache']['hit'] and warm['firmware_sha256'] == cold['firmware_sha256']
    assert warm['estimate'] == cold['estimate'] and warm['layers'] == cold['layers']
    assert warm['csim']['exact_fraction'] == cold['csim']['exact_fraction'] == 1.0
    assert warm['config']['output_dir'] == str(work / 'warm')
    hls_cfg = (work / 'warm' / 'hls4ml_config.yml').read_text()
    assert f'OutputDir: {work / "warm"}' in hls_cfg  # the restored project names where it is
    for rel in ('firmware/reference_mlp.cpp', 'firmware/parameters.h', 'report.html', 'README.md'):
        assert (work / 'warm' / rel).is_file(), rel


@pytest.fixture
def edited(work):
    """The config file edited in place (as a user does; the file's path is part of the key), then restored."""
    cfg = work / 'model' / 'config.yml'
    original = cfg.read_text()

    def edit(old: str, new: str) -> Path:
        assert old in original
        cfg.write_text(original.replace(old, new))
        return cfg

    yield edit
    cfg.write_text(original)


def test_changed_budget_is_rechecked_on_the_cached_estimate(work, edited):
    cfg = edited('max_latency_ns: 100', 'max_latency_ns: 20')
    code, out, imported = fpgaml('build', cfg, '-o', work / 'tight', cache=work / 'cache')
    assert 'result cache: replayed' in out and imported == []
    assert code != 0 and 'budget: latency 50 ns' in out, out
    rep = json.loads((work / 'tight' / 'fpgaml-report.json').read_text())
    assert [b['passed'] for b in rep['budgets'] if b['name'] == 'latency'] == [False]


def test_changed_setting_or_damaged_entry_recomputes(work, edited):
    cfg = edited('clock_period: 5 ', 'clock_period: 4 ')
    code, text, imported = fpgaml('build', cfg, '-o', work / 'rf', cache=work / 'cache')
    assert code == 0, text
    assert 'result cache: replayed' not in text and 'hls4ml' in imported

    entries = [p for p in (work / 'cache' / 'results').glob('*/*') if p.is_dir()]
    assert len(entries) == 2
    for e in entries:  # damage every entry: a changed file is never replayed
        f = e / 'project' / 'firmware' / 'parameters.h'
        f.write_text(f.read_text() + '\n// changed\n')
    code, text, imported = fpgaml('build', cfg, '-o', work / 'rf', '--force', cache=work / 'cache')
    assert code == 0 and 'result cache: replayed' not in text, text
    code, text, imported = fpgaml('build', cfg, '-o', work / 'rf', '--force', cache=work / 'cache')
    assert code == 0 and 'result cache: replayed' in text and imported == [], text  # the entry was repaired


def test_no_cache_recomputes(work):
    code, text, imported = fpgaml(
        'build', work / 'model' / 'config.yml', '-o', work / 'cold', '--force', '--no-cache', cache=work / 'cache'
    )
    assert code == 0 and 'result cache: replayed' not in text and 'tensorflow' in imported, text


def test_csim_and_estimate_replay_and_a_changed_project_is_refused(work):
    code, text, imported = fpgaml('csim', work / 'model' / 'config.yml', '-o', work / 'cold', cache=work / 'cache')
    assert code == 0 and 'C-simulation PASSED' in text and imported == [], text
    code, text, imported = fpgaml('estimate', work / 'model' / 'config.yml', '--json', cache=work / 'cache')
    assert code == 0 and imported == [], text
    assert json.loads(text.split('IMPORTED=')[0])['total']['lut'] > 0

    f = work / 'cold' / 'firmware' / 'parameters.h'  # a project edited by hand is not what the cache holds
    f.write_text(f.read_text() + '\n// edited\n')
    code, text, _ = fpgaml('csim', work / 'model' / 'config.yml', '-o', work / 'cold', cache=work / 'cache')
    assert code != 0 and 'out of date' in text, text


def test_changed_reuse_factor_reconverts_but_reuses_the_keras_outputs(work, edited):
    cfg = edited('reuse_factor: 1', 'reuse_factor: 2')
    code, text, imported = fpgaml('build', cfg, '-o', work / 'rf2', cache=work / 'cache')
    # (reuse 2 doubles the latency: past the config's budget, so the command fails on that after building)
    assert 'result cache: replayed' not in text and 'C-simulation PASSED' in text, text
    assert 'II 2 cycles exceeds budget' in text
    rep = json.loads((work / 'rf2' / 'fpgaml-report.json').read_text())
    assert rep['config']['reuse_factor'] == 2 and rep['result_cache']['hit'] is False
    # the model outputs and the layer outputs (softmax input, error bounds) were read, not recomputed
    assert rep['result_cache']['keras_outputs_cached'] >= 2
    cold = json.loads((work / 'cold' / 'fpgaml-report.json').read_text())
    assert cold['result_cache']['keras_outputs_cached'] == 0


def test_warm_regress_replays_a_pass_and_recomputes_when_the_golden_record_changes(tmp_path):
    models = tmp_path / 'models'
    shutil.copytree(REPO / 'models' / 'reference_mlp', models / 'reference_mlp')
    args = ('regress', '--models-dir', models)
    code, text, imported = fpgaml(*args, cache=tmp_path / 'cache')
    assert code == 0 and '(replayed)' not in text and 'hls4ml' in imported, text
    code, text, imported = fpgaml(*args, cache=tmp_path / 'cache')
    assert code == 0 and '1 of 1 passes replayed' in text and imported == [], text

    golden = models / 'reference_mlp' / 'golden.json'
    record = json.loads(golden.read_text())
    record['outputs'][0]['bits'][0][0] += 1  # a changed expectation is checked again, and fails
    golden.write_text(json.dumps(record))
    code, text, _ = fpgaml(*args, cache=tmp_path / 'cache')
    assert code != 0 and 'replayed' not in text and 'sample 0, output 0[0]' in text, text


def test_help_and_report_never_import_the_ml_stack(work):
    code, text, imported = fpgaml('--help', cache=work / 'cache')
    assert code == 0 and 'build' in text and imported == [], text
    code, text, imported = fpgaml('report', work / 'cold', cache=work / 'cache')
    assert code == 0 and 'LUT' in text and imported == [], (text, imported)
