"""Model files fpgaml cannot load get one clear message saying why and what to do."""

from __future__ import annotations

import json
import zipfile

import pytest

from fpgaml.config.schema import ModelSource
from fpgaml.errors import FpgamlError
from fpgaml.frontend import load_model


def test_keras3_qkeras_file_names_the_package_it_needs(tmp_path):
    path = tmp_path / 'q.keras'
    config = {
        'class_name': 'Sequential',
        'config': {
            'layers': [
                {'class_name': 'QDense', 'module': 'qkeras.qlayers', 'registered_name': 'qkeras>QDense', 'config': {}}
            ]
        },
    }
    with zipfile.ZipFile(path, 'w') as z:
        z.writestr('metadata.json', json.dumps({'keras_version': '3.14.1'}))
        z.writestr('config.json', json.dumps(config))
        z.writestr('model.weights.h5', b'')
    with pytest.raises(FpgamlError) as e:
        load_model(ModelSource(file=path))
    msg = str(e.value)
    assert 'saved by Keras 3.14.1 with QKeras for Keras 3' in msg and 'QKeras 0.9.0' in msg and '.h5' in msg


def test_unsupported_file_type(tmp_path):
    p = tmp_path / 'model.onnx'
    p.write_bytes(b'x')
    with pytest.raises(FpgamlError, match='unsupported model file type ".onnx"'):
        load_model(ModelSource(file=p))


def test_corrupt_h5_is_one_line(tmp_path):
    p = tmp_path / 'model.h5'
    p.write_bytes(b'not an hdf5 file')
    with pytest.raises(FpgamlError) as e:
        load_model(ModelSource(file=p))
    assert 'cannot load the model' in str(e.value) and '\n' not in str(e.value)
