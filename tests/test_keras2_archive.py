"""Keras 2.13-2.15 ``.keras`` archives with QKeras layers (how e.g. the CMS Phase-2 L1 jet tagger is published).

Keras 3 cannot rebuild them ("Could not deserialize class 'Functional' because its parent module
keras.src.engine.functional cannot be imported"); fpgaml recognises them by their metadata / config and loads them
with tf_keras and QKeras's objects, after the same inspection of config.json as any model file.

How the archive is made. TensorFlow / Keras 2.15 cannot be installed here (Python 3.11 with TensorFlow 2.21), so the
test saves the model with tf_keras 2.21 (Keras 2.15's continuation: the same saving code, the same zip members
``metadata.json``, ``config.json``, ``model.weights.h5`` and weights layout) and rewrites, inside the zip, exactly
what tf_keras spells differently from Keras 2.15 (the test asserts each of these is there before the rewrite, and
that no "tf_keras" is left after it):

1. config.json, the model class's module: ``tf_keras.src.engine.functional`` -> ``keras.src.engine.functional``
   (Keras 2.13-2.15 keep their code under ``keras.src``; that is the module Keras 3 fails to import). Built-in
   layers are written by their public name (``keras.layers``, ``keras.initializers``) by both, QKeras's by its own
   modules (``qkeras.qlayers``, ``qkeras.quantizers``), so nothing else names a module;
2. metadata.json: ``"keras_version": "2.21.0"`` -> ``"2.15.0"``;
3. config.json, the InputLayer config: the ``"optional": false`` key is removed. tf_keras 2.21's
   ``InputLayer.get_config`` writes it; the Keras 2 ``input_layer.py`` we could read (keras-team/keras,
   ``get_config``: batch_input_shape, dtype, sparse, ragged, name) does not, and False is the default either way.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from fpgaml_testutil import run_cli, write


def _rewrite(src: Path, dst: Path, config=None, metadata=None) -> None:
    """Copy a .keras zip, passing config.json / metadata.json (parsed) through the given edit functions."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, 'w') as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == 'config.json' and config is not None:
                data = json.dumps(config(json.loads(data))).encode()
            if info.filename == 'metadata.json' and metadata is not None:
                data = json.dumps(metadata(json.loads(data))).encode()
            zout.writestr(info, data)


def _as_keras_215(arch: dict) -> dict:
    assert arch['module'] == 'tf_keras.src.engine.functional', arch['module']  # what tf_keras 2.21 writes
    arch['module'] = 'keras.src.engine.functional'
    inputs = [lay for lay in arch['config']['layers'] if lay['class_name'] == 'InputLayer']
    assert inputs and all('optional' in lay['config'] for lay in inputs)
    for lay in inputs:
        del lay['config']['optional']
    return arch


def _version_215(meta: dict) -> dict:
    assert meta['keras_version'] == '2.21.0', meta
    return dict(meta, keras_version='2.15.0')


@pytest.fixture(scope='module')
def archives(tmp_path_factory) -> Path:
    """A QKeras jet tagger (16 features -> 32 -> 16 -> 5, 6-8 bit; quantizers as objects and as strings), saved by
    tf_keras 2.21 as ``tagger_tfkeras.keras`` and rewritten to Keras 2.15's spelling as ``tagger_k215.keras``."""
    import tf_keras as K
    from qkeras import QActivation, QDense, quantized_bits, quantized_relu

    d = tmp_path_factory.mktemp('k2archive')
    K.utils.set_random_seed(7)
    q = dict(kernel_quantizer=quantized_bits(6, 0, alpha=1), bias_quantizer=quantized_bits(6, 0, alpha=1))
    inp = K.layers.Input((16,), name='jet_features')
    x = QActivation(quantized_bits(10, 4, alpha=1), name='q_input')(inp)
    x = QDense(32, name='dense_1', **q)(x)
    x = QActivation(quantized_relu(8), name='relu_1')(x)  # a quantizer object: a nested config in the archive
    x = QDense(16, name='dense_2', **q)(x)
    x = QActivation('quantized_relu(6)', name='relu_2')(x)  # a quantizer string
    x = QDense(5, name='dense_out', **q)(x)
    out = K.layers.Activation('softmax', name='softmax')(x)
    model = K.Model(inp, out, name='l1_jet_tagger')
    model.save(d / 'tagger_tfkeras.keras')
    _rewrite(d / 'tagger_tfkeras.keras', d / 'tagger_k215.keras', _as_keras_215, _version_215)
    with zipfile.ZipFile(d / 'tagger_k215.keras') as z:
        text = z.read('config.json').decode()
        assert 'tf_keras' not in text and '"keras.src.engine.functional"' in text
        assert json.loads(z.read('metadata.json'))['keras_version'] == '2.15.0'
        assert sorted(z.namelist()) == ['config.json', 'metadata.json', 'model.weights.h5']
    x_val = np.random.default_rng(2).normal(0, 2, (400, 16)).astype(np.float32)
    np.save(d / 'val.npy', x_val)
    np.save(d / 'keras_out.npy', model.predict(x_val, verbose=0))
    return d


def test_keras3_cannot_rebuild_it(archives):
    """The failure the issue reports, reproduced with the rewritten archive: Keras 3 cannot import the module."""
    import keras

    with pytest.raises(TypeError, match='parent module keras.src.engine.functional cannot be imported'):
        keras.saving.load_model(archives / 'tagger_k215.keras', compile=False)


def test_cli_builds_it_bit_exact(archives, tmp_path):
    cfg = write(
        archives / 'c215.yml',
        f'model: tagger_k215.keras\nname: l1_jet_tagger\n'
        f'output_dir: {tmp_path / "proj"}\nvalidation: {{data: val.npy}}\n',
    )
    rc, out = run_cli('build', cfg, cwd=archives)
    assert 'Traceback' not in out
    assert rc == 0, out
    assert 'model: Keras 2 .keras archive (keras 2.15.0), loaded with tf_keras 2.21.0 + QKeras 0.9.0' in out, out
    assert 'C-simulation PASSED: bit-exact' in out and 'bit-exact samples (input grid): 100.00%' in out, out
    rec = json.loads((tmp_path / 'proj' / 'fpgaml-report.json').read_text())
    assert rec['model']['loader'].startswith('Keras 2 .keras archive (keras 2.15.0)')
    assert rec['model']['flavor'] == 'tf_keras'


def test_tf_keras_own_archive_loads_and_predicts(archives):
    """The archive tf_keras 2.21 writes (keras_version 2.21.0) takes the same route; QKeras 0.9.0 alone cannot read
    its QActivation(quantized_relu(8)) back (the quantizer is a nested config), fpgaml's loader can, and the model
    computes what the saved one computed."""
    import tf_keras as K
    from qkeras.utils import _add_supported_quantized_objects

    from fpgaml.config.schema import ModelSource
    from fpgaml.frontend import load_model

    co: dict = {}
    _add_supported_quantized_objects(co)
    with pytest.raises(TypeError, match='QActivation'):
        K.models.load_model(archives / 'tagger_tfkeras.keras', custom_objects=co, compile=False)
    x_val, expected = np.load(archives / 'val.npy'), np.load(archives / 'keras_out.npy')
    for name, version in (('tagger_tfkeras.keras', '2.21.0'), ('tagger_k215.keras', '2.15.0')):
        loaded = load_model(ModelSource(file=archives / name))
        assert loaded.flavor == 'tf_keras'
        assert loaded.loader.startswith(f'Keras 2 .keras archive (keras {version}), loaded with tf_keras')
        np.testing.assert_array_equal(loaded.predict(x_val)[0], expected)


@pytest.mark.parametrize(
    'forge, expect',
    [
        # a layer class no package fpgaml trusts provides, in a module Keras would import
        (
            lambda a: a['config']['layers'][2].update(
                class_name='EvilDense', module='evil.layers', registered_name='EvilDense'
            ),
            'layer "dense_1" names module "evil.layers", which Keras would import',
        ),
        (
            lambda a: a['config']['layers'][2].update(class_name='EvilDense', registered_name='EvilDense'),
            'layer "dense_1" uses "EvilDense", which is not a Keras built-in',
        ),
    ],
)
def test_forged_archive_is_refused(archives, tmp_path, forge, expect):
    def edit(arch):
        forge(arch)
        return arch

    forged = tmp_path / 'forged.keras'
    _rewrite(archives / 'tagger_k215.keras', forged, edit)
    cfg = write(tmp_path / 'c.yml', f'model: {forged}\nname: forged\noutput_dir: {tmp_path / "p"}\n')
    rc, out = run_cli('convert', cfg, cwd=tmp_path)
    assert rc == 2 and 'Traceback' not in out, out
    assert f'{forged}: {expect}' in out and 'refuses to load untrusted model code' in out, out
    assert 'loaded with' not in out and not (tmp_path / 'p').exists()


def test_detected_by_content(archives, tmp_path, keras3_mlp):
    """Keras 2 or 3 is read from the archive (metadata, else the model's module, else the InputLayer spelling)."""
    from fpgaml.frontend.archives import read_archive

    assert read_archive(archives / 'tagger_k215.keras').keras2
    assert not read_archive(keras3_mlp / 'k3.keras').keras2
    assert read_archive(tmp_path / 'missing.keras') is None
    write(tmp_path / 'not_a_zip.keras', 'text')
    assert read_archive(tmp_path / 'not_a_zip.keras') is None
    no_version = tmp_path / 'no_version.keras'
    _rewrite(archives / 'tagger_k215.keras', no_version, metadata=lambda m: {})
    assert read_archive(no_version).keras_version == '' and read_archive(no_version).keras2
    bare = tmp_path / 'bare.keras'  # no version, no module: the InputLayer's batch_input_shape
    _rewrite(archives / 'tagger_k215.keras', bare, config=lambda a: dict(a, module='keras'), metadata=lambda m: {})
    assert read_archive(bare).keras2
    k3_bare = tmp_path / 'k3_bare.keras'
    _rewrite(keras3_mlp / 'k3.keras', k3_bare, metadata=lambda m: {})
    assert not read_archive(k3_bare).keras2
