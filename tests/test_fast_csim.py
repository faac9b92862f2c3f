"""fpgaml's C-simulation fast paths compute exactly what hls4ml's ap_fixed code computes, bit for bit.

The fast paths (firmware_templates/csim/: integer dense_latency and ReLU, a ring-buffer ap_shift_reg) are
compiled into fpgaml's C-simulation library only; the generated project keeps hls4ml's code.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
from fpgaml_testutil import REPO

pytestmark = pytest.mark.slow


def test_fast_paths_match_hls4ml_code_exhaustively(tmp_path):
    """Every value through every cast the fast paths do (all rounding modes, saturation, wrapping), and
    hls4ml's own dense_latency / relu against the fast ones on random full-range data (overflows included)."""
    import hls4ml

    vivado = Path(hls4ml.__file__).parent / 'templates' / 'vivado'
    exe = tmp_path / 'fast_csim_check'
    cmd = [
        'g++',
        '-O1',
        '-std=c++17',
        '-w',
        f'-I{vivado / "ap_types"}',
        f'-I{vivado}',
        f'-I{vivado / "nnet_utils"}',
        f'-I{REPO / "fpgaml" / "firmware_templates" / "csim"}',
        str(REPO / 'tests' / 'cpp' / 'fast_csim_check.cpp'),
        '-o',
        str(exe),
    ]
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    run = subprocess.run([str(exe)], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout[-3000:]
    checked = int(run.stdout.split('checked ')[1].split(',')[0])
    assert checked > 100_000 and 'failed 0' in run.stdout


def _build(name, tmp_path_factory):
    from fpgaml.config import load_config
    from fpgaml.flow import build

    out = tmp_path_factory.mktemp(name) / name
    cfg = load_config(REPO / 'models' / name / 'config.yml', output_dir=out)
    return name, out, build(cfg, csim=False, force=False)


@pytest.fixture(scope='module', params=['reference_mlp', 'reference_cnn'])
def project(request, tmp_path_factory):
    return _build(request.param, tmp_path_factory)


def test_fast_and_reference_csim_agree_on_full_range_inputs(project, tmp_path):
    from fpgaml import validation as vdata
    from fpgaml.csim.compile import compile_library
    from fpgaml.csim.harness import CsimLibrary

    name, out, res = project
    fast = compile_library(out, name, cache=tmp_path)
    ref = compile_library(out, name, cache=tmp_path, fast=False)
    assert fast.fast and not ref.fast and fast.key != ref.key
    # the project on disk is hls4ml's: the fast paths live only in fpgaml's private copy
    nnet = out / 'firmware' / 'nnet_utils'
    assert 'fpgaml_fast' not in (nnet / 'nnet_dense_latency.h').read_text()
    assert not (nnet / 'fpgaml_fast_csim.h').exists()

    itype = res.conversion.input_types[0]
    shape = res.conversion.loaded.input_shapes[0]
    rng = np.random.default_rng(7)
    lo, hi = itype.min_value, itype.max_value
    x = rng.uniform(lo, hi, size=(150, *shape))  # whole input range: saturating / wrapping layers
    x[:50] = rng.normal(0, 0.5, size=(50, *shape))  # typical values
    x = vdata.quantize(x, itype)
    y_fast = CsimLibrary(fast.path).predict([x])
    y_ref = CsimLibrary(ref.path).predict([x])
    for a, b in zip(y_fast, y_ref):
        assert np.array_equal(a, b), f'{name}: {int(np.sum(a != b))} outputs differ'


def test_env_switches_the_fast_paths_off(tmp_path_factory, tmp_path, monkeypatch):
    from fpgaml.csim.compile import compile_library

    name, out, _ = _build('reference_mlp', tmp_path_factory)
    monkeypatch.setenv('FPGAML_CSIM_FAST', '0')
    lib = compile_library(out, name, cache=tmp_path)
    assert not lib.fast
    monkeypatch.delenv('FPGAML_CSIM_FAST')
    assert compile_library(out, name, cache=tmp_path).fast
    assert os.environ.get('FPGAML_CSIM_FAST') is None
