"""Reuse factors as hls4ml 1.3.0 treats them (issues 15, 25): Resource builds what hls4ml builds (a value hls4ml
replaces is built with hls4ml's choice and a warning names it), Latency keeps any value that builds, Bidirectional
RNNs are checked per direction and block. Real Keras models converted through hls4ml; the slow test compiles and C-simulates one."""

from __future__ import annotations

import numpy as np
import pytest
from fpgaml_testutil import write

from fpgaml.config import load_config
from fpgaml.convert import convert
from fpgaml.errors import FpgamlError
from fpgaml.frontend import load_model


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
    text = (
        f'model: m.h5\nname: r\nprecision: fixed<16,6>\nbit_exact: off\nlayers:\n  {layer}:\n'
        f'    reuse_factor: {rf}\n    strategy: {strategy}\n'
    )
    cfg = load_config(write(tmp_path / 'c.yml', text), output_dir=tmp_path / 'prj')
    return convert(cfg, load_model(cfg.model), tmp_path / 'prj')


def _rf(conv, name):
    return next(n for n in conv.graph.get_layers() if n.name == name).get_attr('reuse_factor')


def test_unusual_latency_reuse_factor_is_kept_as_hls4ml_keeps_it(tmp_path):
    assert _rf(_convert(tmp_path, 'pointwise', 'pw', 14, 'Latency'), 'pw') == 14


def test_latency_reuse_factor_beyond_the_products_is_an_error(tmp_path):
    with pytest.raises(FpgamlError, match=r'c.yml:6: reuse factor 29 is not valid for layer "pw".*from 1 to 28'):
        _convert(tmp_path, 'pointwise', 'pw', 29, 'Latency')


def _warned(conv, *parts):
    return [n for n in conv.notes if all(p in n for p in parts)]


def test_resource_reuse_factor_hls4ml_replaces_builds_with_its_choice_and_says_so(tmp_path):
    """hls4ml accepts RF 4 for a 9-product depthwise kernel and builds it with 3: so does fpgaml, with a warning
    (it was an error, although hls4ml's own test builds such a layer)."""
    conv = _convert(tmp_path, 'depthwise', 'dw', 4, 'Resource')
    used = _rf(conv, 'dw')
    assert used in (3, 4)
    if used != 4:
        [note] = _warned(conv, 'c.yml:6: reuse factor 4 of layer "dw"', f'built with {used}', '1, 3, 9')


def test_resource_reuse_factor_valid_by_hls4ml_rule_is_accepted(tmp_path):
    conv = _convert(tmp_path, 'depthwise', 'dw', 3, 'Resource')
    assert _rf(conv, 'dw') == 3 and not _warned(conv, 'reuse factor')


def test_pointwise_resource_builds_what_hls4ml_builds(tmp_path):
    """hls4ml's pointwise pass re-applies the requested RF 14 after its rule picked 4: fpgaml builds the graph's
    value (14) and only warns when the firmware's reuse factor is not the requested one."""
    conv = _convert(tmp_path, 'pointwise', 'pw', 14, 'Resource')
    used = _rf(conv, 'pw')
    assert bool(_warned(conv, 'reuse factor 14 of layer "pw"', f'built with {used}')) == (used != 14)


@pytest.mark.parametrize('rf, ok', [(1, True), (3, False)])
def test_bidirectional_rnn_reuse_factor_is_checked_per_direction(tmp_path, rf, ok):
    # Was: TypeError from passing hls4ml's per-direction size tuples to get_valid_reuse_factors.
    conv = _convert(tmp_path, 'bidir', 'bi', rf, 'Resource')
    node = next(n for n in conv.graph.get_layers() if n.class_name == 'Bidirectional')
    if ok:
        assert node.get_attr('forward_reuse_factor') == node.get_attr('backward_recurrent_reuse_factor') == 1
    else:
        assert node.get_attr('forward_recurrent_reuse_factor') == 2
        assert _warned(conv, 'reuse factor 3 of layer "bi" forward_recurrent block', 'built with 2')


@pytest.mark.slow
def test_unusual_latency_reuse_factor_builds_and_matches(tmp_path):
    """The kept value really builds: g++ C-simulation of the PointwiseConv1D with RF 14 agrees with Keras."""
    from fpgaml.flow import build

    _save(tmp_path, 'pointwise')
    np.save(tmp_path / 'x.npy', np.random.default_rng(0).uniform(-1, 1, (50, 10, 4)).astype(np.float32))
    text = (
        'model: m.h5\nname: pw14\nprecision: fixed<24,8>\nbit_exact: off\nvalidation:\n  data: x.npy\n'
        'layers:\n  pw:\n    reuse_factor: 14\n'
    )
    res = build(load_config(write(tmp_path / 'c.yml', text), output_dir=tmp_path / 'prj'), csim=True, force=False)
    assert res.csim.passed
    assert {r.name: r.reuse_factor for r in res.conversion.layers}['pw'] == 14
