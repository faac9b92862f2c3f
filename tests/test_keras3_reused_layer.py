"""A Keras 3 functional model that calls one layer twice (hls4ml's test_keras_v3_api.py::test_reused_layer).

Keras 3 saves each layer call's arguments with its own value markers (``{"class_name": "__keras_tensor__",
"config": {"keras_history": [...]}}``); fpgaml's model-file check once read them as custom objects and refused
the file as untrusted. They are data inside a layer call's args / kwargs, and nowhere else; anything unknown
stays refused."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from fpgaml_testutil import write


@pytest.fixture(scope='module')
def reused(tmp_path_factory) -> Path:
    """The model exactly as hls4ml's test builds it, saved as .keras, with inputs in [0, 1) as the test's."""
    import keras

    d = tmp_path_factory.mktemp('reused')
    keras.utils.set_random_seed(0)
    inp1 = keras.layers.Input(shape=(10, 10))
    inp2 = keras.layers.Input(shape=(10, 10))
    conv = keras.layers.Conv1D(2, 3, activation='relu')
    o1 = conv(inp1)
    o2 = conv(inp2)
    o3 = keras.layers.Add()([o1, o2])
    o4 = keras.layers.Dense(5)(o3)
    _ = keras.layers.Dense(5)(o3)
    model = keras.models.Model(inputs=[inp1, inp2], outputs=[o1, o2, o3, o4])
    _ = model([inp1, inp1])
    model.save(d / 'm.keras')
    rng = np.random.default_rng(0)
    np.savez(
        d / 'val.npz', x0=rng.random((200, 10, 10), dtype=np.float32), x1=rng.random((200, 10, 10), dtype=np.float32)
    )
    return d


def _arch(path: Path) -> dict:
    from fpgaml.frontend.safety import read_architecture

    return read_architecture(path)


def _conv(arch: dict) -> dict:
    return next(layer for layer in arch['config']['layers'] if layer['class_name'] == 'Conv1D')


def test_the_saved_call_arguments_are_keras_tensor_markers(reused):
    """What the fix is about: Keras 3 really writes the marker into the reused layer's nodes."""
    nodes = _conv(_arch(reused / 'm.keras'))['inbound_nodes']
    assert len(nodes) == 2
    assert all(n['args'][0]['class_name'] == '__keras_tensor__' for n in nodes)


def test_the_check_accepts_it(reused):
    from fpgaml.frontend.safety import check_model_files

    check_model_files([reused / 'm.keras'])  # raises FpgamlError when refused


def test_the_cli_builds_it(reused):
    """hls4ml's test config (ap_fixed<32,8>, reuse 1, io_parallel, Vivado) in hls4ml format, through the CLI."""
    cfg = write(
        reused / 'h.yml',
        'KerasModel: m.keras\nProjectName: reused\nOutputDir: out\nBackend: Vivado\n'
        'IOType: io_parallel\nHLSConfig:\n  Model:\n    Precision: ap_fixed<32,8>\n    ReuseFactor: 1\n'
        'Validation:\n  data: val.npz\n',
    )
    p = subprocess.run(
        [sys.executable, '-m', 'fpgaml.cli', 'build', str(cfg)],
        cwd=reused,
        capture_output=True,
        text=True,
        timeout=600,
        env=dict(os.environ),
    )
    out = p.stdout + p.stderr
    assert 'not a Keras built-in' not in out and 'Traceback' not in out
    assert p.returncode == 0, out
    assert 'C-simulation PASSED' in out


@pytest.mark.parametrize(
    'edit, expect',
    [
        # a layer class Keras does not ship
        (lambda a: _conv(a).update(class_name='EvilConv'), 'uses "EvilConv", which is not a Keras built-in'),
        # a call argument that claims a function, and one that is marshalled code
        (
            lambda a: _conv(a)['inbound_nodes'][0]['args'].append({'class_name': 'os.system', 'config': {}}),
            'uses "os.system", which is not a Keras built-in',
        ),
        (
            lambda a: _conv(a)['inbound_nodes'][0]['kwargs'].update(f={'class_name': '__lambda__', 'config': {}}),
            'is marshalled Python code',
        ),
        # a value marker outside a layer call is not data there
        (
            lambda a: _conv(a)['config'].update(kernel_initializer={'class_name': '__keras_tensor__', 'config': {}}),
            'uses "__keras_tensor__", which is not a Keras built-in',
        ),
    ],
)
def test_unknown_objects_are_still_refused(reused, tmp_path, edit, expect):
    """The edited config.json inside a copy of the archive, loaded as a user would load it."""
    from fpgaml.config.schema import ModelSource
    from fpgaml.errors import FpgamlError
    from fpgaml.frontend import load_model

    arch = _arch(reused / 'm.keras')  # a fresh read: edits do not leak between cases
    edit(arch)
    dst = tmp_path / 'edited.keras'
    with zipfile.ZipFile(reused / 'm.keras') as zin, zipfile.ZipFile(dst, 'w') as zout:
        for item in zin.namelist():
            zout.writestr(item, json.dumps(arch) if item == 'config.json' else zin.read(item))
    with pytest.raises(FpgamlError) as e:
        load_model(ModelSource(file=dst))
    name = _conv(_arch(reused / 'm.keras'))['config']['name']  # conv1d, or conv1d_N after other Keras 3 models
    assert str(dst) in str(e.value) and f'layer "{name}"' in str(e.value) and expect in str(e.value)
    assert '--trust-model' in str(e.value)
