"""Golden regression of every reference model: a single flipped bit fails the suite."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from fpgaml_testutil import skip_without_hgq

from fpgaml.regress import GOLDEN, MODELS_DIR, regress, regress_one, zoo

pytestmark = pytest.mark.slow


@pytest.mark.parametrize('name', sorted(zoo()))
def test_zoo_model_matches_its_golden_record(name):
    skip_without_hgq(zoo()[name])
    (res,) = regress([name])
    assert res.status == 'pass', (res.first_difference, res.first_divergent_layer)
    assert res.outputs_differing == 0 and res.outputs_compared > 0


def _copy_model(tmp_path, name='reference_mlp'):
    dst = tmp_path / 'models' / name
    shutil.copytree(MODELS_DIR / name, dst)
    return dst


def test_one_flipped_bit_in_the_golden_outputs_is_reported(tmp_path):
    d = _copy_model(tmp_path)
    g = json.loads((d / GOLDEN).read_text())
    g['outputs'][0]['bits'][7][3] ^= 1
    (d / GOLDEN).write_text(json.dumps(g))
    res = regress_one('reference_mlp', d / 'config.yml')
    assert res.status == 'FAIL' and res.outputs_differing == 1
    assert res.first_difference.startswith('sample 7, output 0[3]: expected')


def test_a_changed_weight_names_the_first_divergent_layer(tmp_path):
    import tf_keras

    from fpgaml.frontend import _tf_keras_custom_objects

    d = _copy_model(tmp_path)
    m = tf_keras.models.load_model(d / 'model.h5', custom_objects=_tf_keras_custom_objects(), compile=False)
    w = m.get_layer('fc2').get_weights()
    w[0][0, 0] = -w[0][0, 0] + 0.5  # a different weight in the second dense layer
    m.get_layer('fc2').set_weights(w)
    m.save(d / 'model.h5')
    res = regress_one('reference_mlp', d / 'config.yml')
    assert res.status == 'FAIL' and res.firmware_changed
    assert res.first_divergent_layer.startswith('fc2 (Dense)')


def test_update_rewrites_and_says_what_changed(tmp_path):
    d = _copy_model(tmp_path)
    g = json.loads((d / GOLDEN).read_text())
    g['outputs'][0]['bits'][0][0] += 1
    g['tool_versions']['hls4ml'] = '0.0.1'
    (d / GOLDEN).write_text(json.dumps(g))
    res = regress_one('reference_mlp', d / 'config.yml', update=True)
    assert res.status == 'updated'
    assert '1 output values changed' in res.changes and 'hls4ml 0.0.1 -> 1.3.0' in res.changes
    assert regress_one('reference_mlp', d / 'config.yml').status == 'pass'


def test_threaded_batch_equals_serial(tmp_path):
    """Several library copies in parallel give the same bits as one serial run, io_stream included."""
    from fpgaml.config import load_config
    from fpgaml.csim.compile import compile_library
    from fpgaml.csim.harness import CsimLibrary
    from fpgaml.flow import build

    for name in ('reference_mlp', 'reference_cnn'):
        cfg = load_config(MODELS_DIR / name / 'config.yml', output_dir=tmp_path / name)
        cfg.validation.samples = 50
        build(cfg, csim=False, force=False)
        so = compile_library(tmp_path / name, cfg.name).path
        x = np.load(MODELS_DIR / name / 'val.npz')['x'][:60].astype(np.float64)
        serial = CsimLibrary(so, threads=1).predict([x], chunk=7)
        parallel = CsimLibrary(so, threads=2).predict([x], chunk=7)
        assert np.array_equal(serial[0], parallel[0]), name
