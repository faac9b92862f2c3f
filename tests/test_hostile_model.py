"""Hostile model files and validation data (issue 15): code in a model file never runs unless the user
trusts it; NaN / Inf weights and data, wrong label counts, Embedding indices and softmax-only models give
one clear message or a verified build, never a traceback or a C-simulation of garbage."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from fpgaml_testutil import EXAMPLES, requires_corpus, write

FPGAML = [sys.executable, '-m', 'fpgaml.cli']


def cli(*args, cwd=None):
    return subprocess.run(
        FPGAML + [str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=600, env=dict(os.environ)
    )


def one_clean_error(p) -> str:
    assert 'Traceback' not in p.stderr + p.stdout
    lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, p.stderr
    assert lines[0].startswith('error: ')
    return lines[0]


# ------------------------------------------------------------------------------------------------------
# 1. code in a model file
# ------------------------------------------------------------------------------------------------------


def _evil_tf_keras(path: Path, marker: Path) -> None:
    """A real tf.keras model whose Lambda body writes ``marker`` (tf.keras marshals the body into the file)."""
    import tf_keras as K

    code = f'lambda x: (__import__("os").system("touch {marker}"), x)[1]'
    m = K.Sequential([K.layers.Dense(4, input_shape=(8,), name='fc1'), K.layers.Lambda(eval(code), name='evil')])
    m.save(path)
    marker.unlink()  # building the model ran the body once: start from no marker


def _evil_keras3(path: Path, marker: Path) -> None:
    """The same with Keras 3: the Lambda body is stored as marshalled bytecode (``__lambda__``)."""
    import keras

    code = f'lambda x: (__import__("os").system("touch {marker}"), x)[1]'
    m = keras.Sequential(
        [
            keras.layers.Input((8,), name='x'),
            keras.layers.Dense(4, name='fc1'),
            keras.layers.Lambda(eval(code), name='evil'),
        ]
    )
    m.save(path)
    marker.unlink()


@pytest.fixture(scope='module')
def evil_models(tmp_path_factory):
    d = tmp_path_factory.mktemp('evil')
    marker = d / 'MARKER'
    _evil_tf_keras(d / 'evil.h5', marker)
    _evil_tf_keras(d / 'evil_tfk.keras', marker)
    _evil_keras3(d / 'evil_k3.keras', marker)
    return d, marker


@pytest.mark.parametrize('fname', ['evil.h5', 'evil_tfk.keras', 'evil_k3.keras'])
def test_lambda_code_never_runs_without_opt_in(evil_models, fname):
    d, marker = evil_models
    cfg = write(d / f'{fname}.yml', f'model: {fname}\nname: evil\noutput_dir: out_{fname.replace(".", "_")}\n')
    p = cli('build', cfg, cwd=d)
    line = one_clean_error(p)
    assert p.returncode == 2
    assert not marker.exists(), 'the Lambda body ran while fpgaml loaded the model'
    assert str(d / fname) in line and 'layer "evil"' in line and 'Lambda' in line and '--trust-model' in line
    assert not (d / f'out_{fname.replace(".", "_")}').exists()


def test_trust_model_flag_loads_it_and_hls4ml_says_unsupported(evil_models):
    """With --trust-model the old behaviour applies: Keras runs the body (the marker proves the refusal above
    is what kept it from running) and the Lambda is then refused as unsupported by hls4ml."""
    d, marker = evil_models
    cfg = write(d / 'trusted.yml', 'model: evil.h5\nname: evil\noutput_dir: out_trusted\n')
    p = cli('convert', cfg, '--trust-model', cwd=d)
    try:
        line = one_clean_error(p)
        assert p.returncode == 2
        assert marker.exists()
        assert 'unsupported layer class Lambda (layer "evil")' in line
    finally:
        marker.unlink(missing_ok=True)


@pytest.mark.parametrize(
    'text',
    [
        'model: evil_k3.keras\nname: evil\ntrust_model: true\n',
        'KerasModel: evil_k3.keras\nProjectName: evil\nTrustModel: true\n',
    ],
)
def test_trust_model_in_yaml_both_formats(evil_models, text):
    from fpgaml.config import load_config
    from fpgaml.frontend import load_model

    d, marker = evil_models
    cfg = load_config(write(d / 'trust.yml', text))
    assert cfg.model.trust
    try:
        lm = load_model(cfg.model)  # Keras 3 loads the marshalled Lambda only with safe_mode off
        assert 'evil' in lm.layer_names and marker.exists()
    finally:
        marker.unlink(missing_ok=True)


def _arch_h5(tmp_path: Path, arch: dict) -> Path:
    """A real .h5 model whose saved architecture is replaced by ``arch`` (what an attacker controls)."""
    import h5py
    import tf_keras as K

    path = tmp_path / 'model.h5'
    K.Sequential([K.layers.Dense(4, input_shape=(8,), name='fc1')]).save(path)
    with h5py.File(path, 'r+') as f:
        f.attrs['model_config'] = json.dumps(arch)
    return path


def _dense_arch(**overrides) -> dict:
    layer = {'class_name': 'Dense', 'config': {'name': 'fc1', 'units': 4, 'activation': 'linear'}}
    layer['config'].update(overrides)
    return {'class_name': 'Sequential', 'config': {'name': 's', 'layers': [layer]}}


@pytest.mark.parametrize(
    'arch, expect',
    [
        (
            {
                'class_name': 'Sequential',
                'config': {'name': 's', 'layers': [{'class_name': 'MyLayer', 'config': {'name': 'custom1'}}]},
            },
            'layer "custom1" uses "MyLayer", which is not a Keras built-in',
        ),
        (
            {
                'class_name': 'Functional',
                'config': {
                    'name': 's',
                    'layers': [{'class_name': 'TFOpLambda', 'config': {'name': 'op', 'function': 'io.write_file'}}],
                },
            },
            'layer "op" is a TFOpLambda layer',
        ),
        (
            _dense_arch(kernel_initializer={'module': 'subprocess', 'class_name': 'Popen', 'config': {}}),
            'layer "fc1" names module "subprocess", which Keras would import',
        ),
        (
            _dense_arch(kernel_initializer={'module': 'builtins', 'class_name': 'eval', 'config': {}}),
            'layer "fc1" names module "builtins"',
        ),
        (
            _dense_arch(activation={'module': 'builtins', 'class_name': 'function', 'config': 'exec'}),
            'layer "fc1" uses "exec"',
        ),
        (
            _dense_arch(activation={'module': 'keras.activations', 'class_name': 'function', 'config': 'system'}),
            'layer "fc1" uses "system"',
        ),
        (_dense_arch(kernel_quantizer='getattr(1)'), 'layer "fc1" calls "getattr"'),
        (
            _dense_arch(activation={'class_name': '__lambda__', 'config': {'code': 'AAAA'}}),
            'layer "fc1" is marshalled Python code',
        ),
    ],
)
def test_hostile_architectures_are_refused_before_loading(tmp_path, arch, expect):
    from fpgaml.config.schema import ModelSource
    from fpgaml.errors import FpgamlError
    from fpgaml.frontend import load_model

    path = _arch_h5(tmp_path, arch)
    with pytest.raises(FpgamlError) as e:
        load_model(ModelSource(file=path))
    assert str(path) in str(e.value) and expect in str(e.value) and '--trust-model' in str(e.value)


def test_hostile_module_in_keras3_archive(tmp_path, keras3_mlp):
    """A .keras archive whose config.json makes Keras 3 import a foreign module."""
    from fpgaml.config.schema import ModelSource
    from fpgaml.errors import FpgamlError
    from fpgaml.frontend import load_model

    src, dst = keras3_mlp / 'k3.keras', tmp_path / 'k3.keras'
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, 'w') as zout:
        for item in zin.namelist():
            data = zin.read(item)
            if item == 'config.json':
                data = data.replace(
                    b'"module": "keras.layers", "class_name": "Dense"', b'"module": "os", "class_name": "Dense"', 1
                )
            zout.writestr(item, data)
    with pytest.raises(FpgamlError, match='names module "os"'):
        load_model(ModelSource(file=dst))


def test_an_h5_named_keras_is_judged_by_content(evil_models, tmp_path):
    """tf_keras loads an HDF5 file whatever its suffix: the check reads the content, not the name."""
    from fpgaml.config.schema import ModelSource
    from fpgaml.errors import FpgamlError
    from fpgaml.frontend import load_model

    d, marker = evil_models
    disguised = tmp_path / 'innocent.keras'
    disguised.write_bytes((d / 'evil.h5').read_bytes())
    with pytest.raises(FpgamlError, match='Lambda layer'):
        load_model(ModelSource(file=disguised))
    assert not marker.exists()


def test_legitimate_models_pass_the_check(qkeras_mlp, keras3_mlp):
    from fpgaml.config.schema import ModelSource
    from fpgaml.frontend import load_model

    assert load_model(ModelSource(file=qkeras_mlp / 'qmlp.h5')).flavor == 'tf_keras'
    assert load_model(ModelSource(file=keras3_mlp / 'k3.keras')).flavor == 'keras3'


@requires_corpus()
def test_published_corpus_architectures_pass_the_check():
    """QKeras, GarNet, binary/ternary, HGQ and Keras-3 QKeras files from example-models are not refused."""
    from fpgaml.frontend.safety import check_architecture, read_architecture

    files = (
        sorted((EXAMPLES / 'keras').glob('*.json'))
        + sorted((EXAMPLES / 'keras').glob('hgq_*.h5'))
        + sorted((EXAMPLES / 'keras').glob('*.keras'))
    )
    assert len(files) >= 20
    for f in files:
        arch = read_architecture(f)
        assert arch is not None, f
        check_architecture(f, arch)


def test_zoo_models_pass_the_check():
    """The reference zoo (pruned models carry TF-MOT schedules) loads without --trust-model."""
    from fpgaml_testutil import REPO

    from fpgaml.frontend.safety import check_architecture, read_architecture

    files = sorted((REPO / 'models').glob('*/model.h5'))
    assert files
    for f in files:
        check_architecture(f, read_architecture(f))


# ------------------------------------------------------------------------------------------------------
# 2. validation data
# ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    'arrays, expect',
    [
        (dict(x=np.where(np.arange(160).reshape(10, 16) % 7 == 0, np.nan, 1.0)), '23 NaN values in x;'),
        (dict(x=np.ones((10, 16)), y=np.array([0, 1, np.inf, 2, 0, 1, 2, 0, 1, 2])), '1 Inf values in y;'),
        (dict(x=np.full((4, 16), -np.inf)), '64 Inf values in x'),
        (dict(x=np.ones((10, 16)), y=np.arange(7)), 'arrays of different lengths: x has 10, y has 7'),
        (dict(x=np.array([['a'] * 16] * 3)), '"x" holds <U1 values, not numbers'),
        (dict(x=np.ones((0, 16))), '"x" holds no samples'),
    ],
)
def test_bad_validation_data(tmp_path, arrays, expect):
    from fpgaml import validation as vdata
    from fpgaml.errors import FpgamlError

    path = tmp_path / 'val.npz'
    np.savez(path, **arrays)
    with pytest.raises(FpgamlError) as e:
        vdata.load(path, [(16,)], 1000)
    assert str(e.value).startswith(f'{path}: ') and expect in str(e.value)


def test_two_inputs_of_different_lengths(tmp_path):
    from fpgaml import validation as vdata
    from fpgaml.errors import FpgamlError

    path = tmp_path / 'val.npz'
    np.savez(path, x0=np.ones((5, 3)), x1=np.ones((6, 2)))
    with pytest.raises(FpgamlError, match='x0 has 5, x1 has 6'):
        vdata.load(path, [(3,), (2,)], 1000)


def test_nan_validation_data_through_the_cli(tmp_path, qkeras_mlp):
    """The user's report: NaN inputs built a project and failed in C-sim; now one line, nothing written."""
    x = np.load(qkeras_mlp / 'val.npz')['x'].copy()
    x.flat[::200] = np.nan
    np.savez(tmp_path / 'val.npz', x=x)
    cfg = write(
        tmp_path / 'c.yml', f'model: {qkeras_mlp / "qmlp.h5"}\nname: q\noutput_dir: out\nvalidation:\n  data: val.npz\n'
    )
    p = cli('build', cfg, cwd=tmp_path)
    line = one_clean_error(p)
    assert p.returncode == 2 and f'{int(np.isnan(x).sum())} NaN values in x' in line and 'val.npz' in line
    assert not (tmp_path / 'out').exists()


# ------------------------------------------------------------------------------------------------------
# 3. non-finite weights
# ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize('bad', [np.nan, np.inf])
def test_non_finite_weights(tmp_path, bad):
    import tf_keras as K

    from fpgaml.config.schema import ModelSource
    from fpgaml.errors import FpgamlError
    from fpgaml.frontend import load_model

    m = K.Sequential([K.layers.Dense(6, input_shape=(4,), name='fc1'), K.layers.Dense(2, name='fc2')])
    k, b = m.get_layer('fc1').get_weights()
    k[0, :3] = bad
    m.get_layer('fc1').set_weights([k, b])
    m.save(tmp_path / 'diverged.h5')
    with pytest.raises(FpgamlError) as e:
        load_model(ModelSource(file=tmp_path / 'diverged.h5'))
    assert str(tmp_path / 'diverged.h5') in str(e.value)
    assert 'layer fc1 has non-finite weights (3 NaN/Inf values)' in str(e.value)


# ------------------------------------------------------------------------------------------------------
# 4. Embedding (hls4ml 1.3.0 supports it: the inputs are row indices)
# ------------------------------------------------------------------------------------------------------


@pytest.fixture(scope='module')
def embedding_model(tmp_path_factory):
    """As hls4ml's test_embed.py builds it (Embedding -> Flatten -> Dense), with 100 rows so an index does
    not fit fpgaml's default input type."""
    import tf_keras as K

    d = tmp_path_factory.mktemp('emb')
    K.utils.set_random_seed(4)
    m = K.Sequential(
        [
            K.layers.Embedding(
                100,
                8,
                input_length=6,
                input_shape=(6,),
                name='emb',
                embeddings_initializer=K.initializers.RandomUniform(-2, 2),
            ),
            K.layers.Flatten(name='flat'),
            K.layers.Dense(4, name='fc1'),
        ]
    )
    m.save(d / 'emb.h5')
    return d


@pytest.mark.slow
def test_embedding_model_builds_and_verifies(tmp_path, embedding_model):
    from fpgaml.config import load_config
    from fpgaml.flow import build

    cfg = load_config(write(tmp_path / 'c.yml', f'model: {embedding_model / "emb.h5"}\nname: emb\n'), tmp_path / 'p')
    res = build(cfg, csim=True, force=False)
    types = {r.name: r.precisions for r in res.conversion.layers}
    assert types['emb_input']['result'].startswith('uint<7')  # row indices 0..99
    assert res.csim.passed and res.csim.mode == 'tolerance' and res.csim.argmax_agreement >= 0.99


def test_embedding_indices_out_of_range(tmp_path, embedding_model):
    from fpgaml.config import load_config
    from fpgaml.errors import FpgamlError
    from fpgaml.flow import run_flow
    from fpgaml.project import Project

    np.savez(tmp_path / 'val.npz', x=np.tile(np.array([0, 5, 99, 100, 3, 2.5]), (20, 1)))
    cfg = load_config(
        write(tmp_path / 'c.yml', f'model: {embedding_model / "emb.h5"}\nname: emb\nvalidation:\n  data: val.npz\n')
    )
    with pytest.raises(
        FpgamlError,
        match=r'val.npz: 40 values in x are outside what the layer it feeds accepts \(integers 0 to 99: an '
        r"Embedding's row indices",
    ):
        run_flow(Project(cfg), 'estimate')


# ------------------------------------------------------------------------------------------------------
# 5. softmax-only models (hls4ml's test_softmax)
# ------------------------------------------------------------------------------------------------------


@pytest.fixture(scope='module')
def softmax_model(tmp_path_factory):
    import tf_keras as K

    d = tmp_path_factory.mktemp('softmax')
    K.Sequential([K.layers.Activation('softmax', input_shape=(8,), name='softmax')]).save(d / 'softmax.h5')
    rng = np.random.default_rng(7)
    np.savez(d / 'val.npz', x=rng.uniform(-8, 8, (400, 8)))
    return d


@pytest.mark.slow
@pytest.mark.parametrize(
    'io_type, layer, extra',
    [
        ('io_parallel', {}, ''),
        ('io_stream', {}, ''),
        (
            'io_parallel',
            {
                'Strategy': 'Stable',
                'exp_table_t': 'ap_fixed<18,8,AP_RND,AP_SAT>',
                'inv_table_t': 'ap_fixed<18,8,AP_RND,AP_SAT>',
                'table_size': 2048,
            },
            '',
        ),
        ('io_stream', {'Strategy': 'Stable', 'table_size': 1024}, 'BitExact: on\n'),
    ],
)
def test_softmax_only_model_builds_and_verifies(tmp_path, softmax_model, io_type, layer, extra):
    from fpgaml.config import load_config
    from fpgaml.flow import build

    lines = ''.join(f'      {k}: {v}\n' for k, v in layer.items())
    text = (
        f'KerasH5: {softmax_model / "softmax.h5"}\nOutputDir: {tmp_path / "p"}\nProjectName: sm\n'
        f'IOType: {io_type}\nInputData: {softmax_model / "val.npz"}\n{extra}'
        f'HLSConfig:\n  Model:\n    Precision: ap_fixed<16,6>\n'
        f'  LayerName:\n    softmax_input:\n      Precision: ap_fixed<16,6>\n'
        + (f'    softmax:\n{lines}' if lines else '')
    )
    res = build(load_config(write(tmp_path / 'c.yml', text)), csim=True, force=False)
    c = res.csim
    assert c.passed, c.failures
    # where the config sets the softmax's table types, the firmware is hls4ml's own softmax from that config
    # (fpgaml's table sizing steps aside: mixing the two can be far worse than either), 0.108 off here
    assert c.argmax_agreement >= 0.99 and c.max_abs_diff < (0.15 if 'exp_table_t' in layer else 0.1)
    if extra:  # bit_exact on: the exact part is the softmax input (the model input itself)
        assert c.mode == 'bit-exact' and c.compared_at.startswith('softmax input') and c.exact_fraction == 1.0
    else:
        assert c.mode == 'tolerance'
