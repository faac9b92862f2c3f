"""The compile cache: hits skip g++, corrupted entries are rebuilt, concurrent builds do not collide."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from fpgaml_testutil import REPO

pytestmark = pytest.mark.slow


@pytest.fixture(scope='module')
def project(tmp_path_factory):
    from fpgaml.config import load_config
    from fpgaml.flow import build

    out = tmp_path_factory.mktemp('cache') / 'ref'
    cfg = load_config(REPO / 'models/reference_mlp/config.yml', output_dir=out)
    build(cfg, csim=False, force=False)
    return out


def test_hit_then_corrupted_entry_is_rebuilt(project, tmp_path):
    from fpgaml.csim.compile import compile_library
    from fpgaml.csim.harness import CsimLibrary

    first = compile_library(project, 'reference_mlp', cache=tmp_path)
    assert not first.cached
    again = compile_library(project, 'reference_mlp', cache=tmp_path)
    assert again.cached and again.path == first.path and again.seconds < 1.0

    data = bytearray(first.path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # a corrupted library must never be loaded
    first.path.write_bytes(bytes(data))
    rebuilt = compile_library(project, 'reference_mlp', cache=tmp_path)
    assert not rebuilt.cached
    lib = CsimLibrary(rebuilt.path)
    assert lib.in_sizes == [16] and lib.out_sizes == [5]


def test_changed_firmware_gets_a_new_entry(project, tmp_path):
    import shutil

    from fpgaml.csim.compile import compile_library

    a = compile_library(project, 'reference_mlp', cache=tmp_path)
    copy = tmp_path / 'copy'
    shutil.copytree(project, copy)
    p = copy / 'firmware' / 'parameters.h'
    p.write_text(p.read_text() + '\n// changed\n')
    b = compile_library(copy, 'reference_mlp', cache=tmp_path)
    assert a.key != b.key and not b.cached


CONCURRENT = """
import sys
from pathlib import Path
from fpgaml.csim.compile import compile_library
from fpgaml.csim.harness import CsimLibrary
import numpy as np
lib = compile_library(Path(sys.argv[1]), 'reference_mlp', cache=sys.argv[2])
y = CsimLibrary(lib.path).predict([np.zeros((3, 16))])
print('cached' if lib.cached else 'compiled', y[0].shape)
"""


def test_concurrent_builds_of_the_same_firmware(project, tmp_path):
    procs = [
        subprocess.Popen(
            [sys.executable, '-c', CONCURRENT, str(project), str(tmp_path / 'c')],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    outs = [p.communicate(timeout=600) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1][-500:] for o in outs]
    kinds = sorted(o[0].split()[0] for o in outs)
    assert kinds == ['cached', 'cached', 'compiled']
    entries = list(Path(tmp_path / 'c').glob('*/*/libfpgaml_csim.so'))
    assert len(entries) == 1
    assert not list(Path(tmp_path / 'c').glob('*/*/build-*'))
