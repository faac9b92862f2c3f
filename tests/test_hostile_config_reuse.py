"""Reuse factors as hls4ml 1.3.0 treats them (issue 15): Resource keeps hls4ml's rule (an invalid value is an error
naming the one hls4ml would substitute), Latency keeps any value that builds, Bidirectional RNNs are checked per
direction and block. Real Keras models converted through hls4ml; the slow test compiles and C-simulates one."""

from __future__ import annotations

import numpy as np
import pytest

from fpgaml.config import load_config
from fpgaml.convert import convert
from fpgaml.errors import FpgamlError
from fpgaml.frontend import load_model
from fpgaml_testutil import write


def _save(tmp_path, kind: str):
    import tf_keras as K

    K.utils.set_random_seed(7)
    if kind == 'pointwise':  # Conv1D with a 1-wide kernel: hls4ml's PointwiseConv1D (4 x 7 = 28 products)
        inp = K.layers.Input((10, 4))
        x = K.layers.Conv1D(7, 1, name='pw')(inp)
    elif kind == 'depthwise':  # 3x3 kernel over 1 channel: 9 x 1 products, valid RFs (Resource) 1, 3, 9
        inp = K.layers.Input((6, 6, 1))
        x = K.layers.DepthwiseConv2D(3, name='dw')(inp)
    elif kind == 'bidir':
        inp = K.layers.Input((5, 3))
        x = K.layers.Bidirectional(K.layers.LSTM(4, name='lstm'), name='bi')(inp)
    else:  # dense: 12 x 8
        inp = K.layers.Input((12,))
        x = K.layers.Dense(8, name='fc')(inp)
    K.Model(inp, x).save(tmp_path / 'm.h5')


def _convert(tmp_path, kind: str, layer: str, rf: int, strategy: str):
    _save(tmp_path, kind)
    text = (f'model: m.h5\nname: r\nprecision: fixed<16,6>\nbit_exact: off\nlayers:\n  {layer}:\n'
            f'    reuse_factor: {rf}\n    strategy: {strategy}\n')
    cfg = load_config(write(tmp_path / 'c.yml', text), output_dir=tmp_path / 'prj')
    return convert(cfg, load_model(cfg.model), tmp_path / 'prj')


def _rf(conv, name):
    return next(n for n in conv.graph.get_layers() if n.name == name).get_attr('reuse_factor')


def test_unusual_latency_reuse_factor_is_kept_as_hls4ml_keeps_it(tmp_path):
    assert _rf(_convert(tmp_path, 'pointwise', 'pw', 14, 'Latency'), 'pw') == 14


def test_latency_reuse_factor_beyond_the_products_is_an_error(tmp_path):
    with pytest.raises(FpgamlError, match=r'c.yml:6: reuse factor 29 is not valid for layer "pw".*from 1 to 28'):
        _convert(tmp_path, 'pointwise', 'pw', 29, 'Latency')


def test_resource_reuse_factor_hls4ml_would_replace_is_an_error_naming_its_choice(tmp_path):
    with pytest.raises(FpgamlError) as e:
        _convert(tmp_path, 'depthwise', 'dw', 4, 'Resource')
    msg = str(e.value)
    assert 'c.yml:6: reuse factor 4 is not valid for layer "dw"' in msg
    assert 'valid reuse factors: 1, 3, 9' in msg and 'hls4ml would silently use 3' in msg


def test_resource_reuse_factor_valid_by_hls4ml_rule_is_accepted(tmp_path):
    assert _rf(_convert(tmp_path, 'depthwise', 'dw', 3, 'Resource'), 'dw') == 3


def test_pointwise_resource_keeps_hls4ml_rule(tmp_path):
    with pytest.raises(FpgamlError, match=r'reuse factor 14 is not valid.*valid reuse factors: 1, 2, 4, 28'):
        _convert(tmp_path, 'pointwise', 'pw', 14, 'Resource')


@pytest.mark.parametrize('rf, ok', [(1, True), (3, False)])
def test_bidirectional_rnn_reuse_factor_is_checked_per_direction(tmp_path, rf, ok):
    # Was: TypeError from passing hls4ml's per-direction size tuples to get_valid_reuse_factors.
    if ok:
        conv = _convert(tmp_path, 'bidir', 'bi', rf, 'Resource')
        node = next(n for n in conv.graph.get_layers() if n.class_name == 'Bidirectional')
        assert node.get_attr('forward_reuse_factor') == node.get_attr('backward_recurrent_reuse_factor') == 1
    else:
        with pytest.raises(FpgamlError, match=r'reuse factor 3 is not valid for layer "bi" forward_recurrent block.*hls4ml would silently use 2'):
            _convert(tmp_path, 'bidir', 'bi', rf, 'Resource')


@pytest.mark.slow
def test_unusual_latency_reuse_factor_builds_and_matches(tmp_path):
    """The kept value really builds: g++ C-simulation of the PointwiseConv1D with RF 14 agrees with Keras."""
    from fpgaml.project import build

    _save(tmp_path, 'pointwise')
    np.save(tmp_path / 'x.npy', np.random.default_rng(0).uniform(-1, 1, (50, 10, 4)).astype(np.float32))
    text = ('model: m.h5\nname: pw14\nprecision: fixed<24,8>\nbit_exact: off\nvalidation:\n  data: x.npy\n'
            'layers:\n  pw:\n    reuse_factor: 14\n')
    res = build(load_config(write(tmp_path / 'c.yml', text), output_dir=tmp_path / 'prj'), csim=True, force=False)
    assert res.csim.passed
    assert {r.name: r.reuse_factor for r in res.conversion.layers}['pw'] == 14
