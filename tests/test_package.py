"""fpgaml as a package: what ``import fpgaml`` does to the process, and a real non-editable install.

The install test builds the wheel, installs it (without dependencies: they come from this environment, so
the test needs no network) into a fresh virtual environment, and builds a copied reference model from a
folder outside the checkout with the installed ``fpgaml`` command."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def test_import_changes_nothing_in_the_process():
    code = (
        'import os, sys; before = dict(os.environ); '
        'import fpgaml, fpgaml.config, fpgaml.estimate, fpgaml.csim, fpgaml.regress, fpgaml.project; '
        'changed = {k for k in set(before) | set(os.environ) if before.get(k) != os.environ.get(k)}; '
        'assert not changed, changed; '
        'assert "tensorflow" not in sys.modules, "importing fpgaml imported TensorFlow"'
    )
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ('TF_USE_LEGACY_KERAS', 'CUDA_VISIBLE_DEVICES', 'TF_CPP_MIN_LOG_LEVEL')
    }
    proc = subprocess.run([sys.executable, '-c', code], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_tensorflow_imported_without_legacy_keras_is_named():
    code = (
        'import tensorflow, fpgaml.frontend as f\n'
        'from fpgaml.errors import FpgamlError\n'
        'from fpgaml.config import load_config\n'
        f'cfg = load_config({str(REPO / "models/reference_mlp/config.yml")!r})\n'
        'try:\n    f.load_model(cfg.model)\nexcept FpgamlError as e:\n    print("ERR", e)\n'
    )
    env = {k: v for k, v in os.environ.items() if k != 'TF_USE_LEGACY_KERAS'}
    proc = subprocess.run([sys.executable, '-c', code], env=env, capture_output=True, text=True, timeout=300)
    assert 'ERR' in proc.stdout and 'TF_USE_LEGACY_KERAS=1' in proc.stdout, proc.stdout + proc.stderr[-2000:]


@pytest.mark.slow
def test_wheel_installs_and_builds_from_another_folder(tmp_path):
    wheels = tmp_path / 'wheels'
    proc = subprocess.run(
        [sys.executable, '-m', 'pip', 'wheel', '--no-deps', '-q', '-w', str(wheels), str(REPO)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    (whl,) = wheels.glob('fpgaml-*.whl')
    names = zipfile.ZipFile(whl).namelist()
    for needed in (
        'fpgaml/firmware_templates/fpgaml_harness.cpp',
        'fpgaml/firmware_templates/csim/fpgaml_fast_csim.h',
        'fpgaml/firmware_templates/nnet_fpgaml_po2.h',
        'fpgaml/estimate/calibration.yml',
    ):
        assert needed in names, f'{needed} missing from the wheel'

    venv = tmp_path / 'venv'
    subprocess.run([sys.executable, '-m', 'venv', '--without-pip', str(venv)], check=True, timeout=300)
    site = Path(
        subprocess.run(
            [str(venv / 'bin' / 'python'), '-c', 'import sysconfig; print(sysconfig.get_paths()["purelib"])'],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    # the dependencies (TensorFlow, hls4ml, ...) from this environment, after the fresh one's own site-packages
    (site / 'zz_dependencies.pth').write_text(sysconfig.get_paths()['purelib'] + '\n')
    proc = subprocess.run(
        [sys.executable, '-m', 'pip', '--python', str(venv / 'bin' / 'python'), 'install', '--no-deps', '-q', str(whl)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]

    work = tmp_path / 'elsewhere'
    shutil.copytree(REPO / 'models' / 'reference_mlp', work / 'reference_mlp')
    env = {k: v for k, v in os.environ.items() if k not in ('PYTHONPATH',)}
    env['FPGAML_CACHE_DIR'] = str(tmp_path / 'cache')
    where = subprocess.run(
        [str(venv / 'bin' / 'python'), '-c', 'import fpgaml; print(fpgaml.__file__)'],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert where.stdout.startswith(str(venv)), f'fpgaml imported from {where.stdout!r}{where.stderr[-1000:]}'
    proc = subprocess.run(
        [str(venv / 'bin' / 'fpgaml'), 'build', 'reference_mlp/config.yml', '--output', 'fw'],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    report = json.loads((work / 'fw' / 'fpgaml-report.json').read_text())
    assert report['csim']['passed'] is True
    assert (work / 'fw' / 'fpgaml_harness.cpp').is_file() or list((work / 'fw').rglob('fpgaml_harness.cpp'))
