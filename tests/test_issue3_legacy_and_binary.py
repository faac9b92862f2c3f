"""Issue 3, items 3/4/5/6/8: legacy custom layers, exact binary thresholds, GarNet, numpy 2, HGQ proxy layer.

Every model here is built by the test itself (tiny, seconds); one g++ compile of a tiny binary net.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from fpgaml_testutil import write

from fpgaml import validation as vdata
from fpgaml.config import load_config
from fpgaml.config.precision import parse_precision
from fpgaml.config.schema import ModelSource
from fpgaml.convert import convert, write_project
from fpgaml.convert.writer import numpy2_compat
from fpgaml.frontend import load_model
from fpgaml.frontend.legacy import custom_objects, fixed_quantize


def _binary_net(d, ternary=False, far=False):
    """BinaryDense -> BN -> binary_tanh -> BinaryDense -> BN -> binary_tanh -> BinaryDense -> BN, saved as
    JSON + weights like the published example models (tf_keras serializes the activations as dicts)."""
    import tf_keras as K

    co = custom_objects()
    Dense = co['TernaryDense' if ternary else 'BinaryDense']
    act = 'ternary_tanh' if ternary else 'binary_tanh'
    K.utils.set_random_seed(1)
    inp = K.layers.Input((8,), name='x')
    h = Dense(16, use_bias=False, name='fc1')(inp)
    h = K.layers.BatchNormalization(name='bn1', epsilon=1e-6)(h)
    h = K.layers.Activation(co[act], name='act1')(h)
    h = Dense(12, use_bias=False, name='fc2')(h)
    h = K.layers.BatchNormalization(name='bn2', epsilon=1e-6)(h)
    h = K.layers.Activation(co[act], name='act2')(h)
    h = Dense(4, use_bias=False, name='fc3')(h)
    out = K.layers.BatchNormalization(name='bn3', epsilon=1e-6)(h)
    m = K.Model(inp, out)
    rng = np.random.default_rng(0)
    for fc in ('fc1', 'fc2', 'fc3'):  # latent weights in [-1, 1] as trained (Clip constraint)
        lay = m.get_layer(fc)
        lay.set_weights([rng.uniform(-1, 1, lay.kernel.shape)])
    for bn in ('bn1', 'bn2', 'bn3'):
        lay = m.get_layer(bn)
        n = lay.weights[0].shape[0]
        # thresholds -bias/scale at k + 0.25 (integer inputs then land exactly on hls4ml's floor(threshold))
        var = rng.uniform(0.5, 4.0, n)
        gamma = rng.uniform(0.5, 2.0, n)
        mean = rng.integers(-3, 4, n) + 0.25
        if (
            far and bn != 'bn3'
        ):  # constant neurons: thresholds far outside any reachable input (and the input type's range)
            mean[:2], mean[2:4] = 5000.25, -5000.25
        lay.set_weights([gamma, np.zeros(n), mean, var])
    (d / 'net.json').write_text(m.to_json())
    m.save_weights(d / 'net_weights.h5')
    np.savez(d / 'val.npz', x=rng.normal(0, 1.5, (400, 8)).astype(np.float32))
    return d


def test_legacy_layers_load_and_serialize_as_names(tmp_path):
    d = _binary_net(tmp_path)
    raw = json.loads((d / 'net.json').read_text())
    acts = [lay['config']['activation'] for lay in raw['config']['layers'] if lay['class_name'] == 'Activation']
    assert all(isinstance(a, dict) for a in acts)  # what tf_keras 2.21 writes and hls4ml rejects
    lm = load_model(ModelSource(json=d / 'net.json', weights=d / 'net_weights.h5'))
    acts = [lay.get('activation') for lay in lm.parse_layers() if lay['class_name'] == 'Activation']
    assert 'binary_tanh' in acts


def test_legacy_activation_semantics():
    import tensorflow as tf

    co = custom_objects()
    x = tf.constant([-1.0, -0.5, -1e-6, 0.0, 1e-6, 0.5, 0.50001, 2.0])
    assert co['binary_tanh'](x).numpy().tolist() == [-1, -1, -1, -1, 1, 1, 1, 1]
    assert co['ternary_tanh'](x).numpy().tolist() == [-1, -1, 0, 0, 0, 0, 1, 1]
    assert co['relu1'](x).numpy().tolist() == pytest.approx([0, 0, 0, 0, 1e-6, 0.5, 0.50001, 1.0])


@pytest.mark.parametrize('ternary,far', [(False, False), (True, False), (False, True)])
def test_binary_thresholds_are_exact(tmp_path, ternary, far):
    """Each merged batch-norm + binary/ternary tanh layer in the firmware equals Keras's activation (also for
    constant neurons, whose thresholds would otherwise wrap around in the input's fixed-point type)."""
    from fpgaml.csim.compile import compile_library
    from fpgaml.csim.harness import CsimLibrary

    d = _binary_net(tmp_path, ternary, far)
    cfg = load_config(
        write(
            d / 'c.yml',
            f'model: {{json: {d / "net.json"}, weights: {d / "net_weights.h5"}}}\n'
            f'name: bnet\noutput_dir: {d / "out"}\nvalidation: {{data: {d / "val.npz"}}}\n',
        )
    )
    lm = load_model(cfg.model)
    proj = d / 'proj'
    proj.mkdir()
    conv = convert(cfg, lm, proj)
    if not ternary:
        assert any('binary-tanh thresholds' in n for n in conv.notes), conv.notes
    if far:
        assert sum('constant neurons' in n for n in conv.notes) == 2, conv.notes
    write_project(conv, proj)
    xs, _ = vdata.load(cfg.validation_data, lm.input_shapes, 400)
    xs = [vdata.quantize(x, t) for x, t in zip(xs, conv.input_types)]
    lib = CsimLibrary(compile_library(proj, cfg.name).path)
    names = {
        lay.name: lay.get_output_variable().size()
        for lay in conv.graph.get_layers()
        if lay.class_name == 'BatchNormalizationQuantizedTanh'
    }
    assert set(names) == {'bnbt_bn1', 'bnbt_bn2'}
    _, tr = lib.trace(xs, names)
    kout = lm.layer_outputs(xs[0].astype(np.float32))
    for bnbt, act in (('bnbt_bn1', 'act1'), ('bnbt_bn2', 'act2')):
        fw = tr[bnbt]
        if not ternary:
            fw = np.where(fw > 0, 1.0, -1.0)  # binary: firmware 1 bit (0/1) for -1/+1
        assert np.array_equal(fw, kout[act].reshape(fw.shape)), bnbt
    # hls4ml's own floor() thresholds would differ on these inputs (thresholds at k + 0.25, integer sums)
    y = lib.predict(xs)[0]
    assert np.max(np.abs(y - lm.predict(xs[0].astype(np.float32))[0])) < 1e-3


def test_garnet_stack_published_config_loads():
    """GarNetStack.get_config writes n_sublayers; quantize_transforms=True without bit widths means the
    original ternary transforms."""
    import tf_keras as K

    co = custom_objects()
    cfg = {
        'name': 'gar_1',
        'simplified': True,
        'collapse': 'mean',
        'input_format': 'xn',
        'output_activation': None,
        'quantize_transforms': True,
        'mean_by_nvert': False,
        'n_propagate': [4, 4],
        'n_aggregators': [2, 2],
        'n_filters': [4, 4],
        'n_sublayers': 2,
    }
    layer = co['GarNetStack'].from_config(cfg)
    x = K.layers.Input((16, 3))
    n = K.layers.Input((1,), dtype='int32')
    out = layer([x, n])
    assert tuple(out.shape) == (None, 4)
    names = sorted(w.name.split('/')[-1] for w in layer.weights)
    assert 'FLR0_kernel:0' in names and 'Fout1_kernel:0' in names
    cfg1 = dict(cfg, n_propagate=4, n_aggregators=2, n_filters=4, quantize_transforms=False)
    cfg1.pop('n_sublayers')
    assert co['GarNet'].from_config(dict(cfg1, n_sublayers=None)).get_config()['n_filters'] == 4


def test_numpy2_compat_is_scoped():
    assert not hasattr(np, 'product') or np.product is np.prod
    had = hasattr(np, 'product')
    with numpy2_compat():
        assert np.product((2, 3)) == 6
    assert hasattr(np, 'product') == had


def test_po2_weights_write_with_numpy2(tmp_path):
    """QKeras power-of-two weights: hls4ml 1.3.0 writes them with np.product (removed in numpy 2)."""
    import tf_keras as K
    from qkeras import QActivation, QDense, quantized_bits, quantized_po2

    inp = K.layers.Input((6,), name='x')
    h = QActivation(quantized_bits(8, 2), name='qin')(inp)
    h = QDense(4, kernel_quantizer=quantized_po2(4, 1), bias_quantizer=quantized_bits(4, 1), name='d')(h)
    K.Model(inp, h).save(tmp_path / 'po2.h5')
    cfg = load_config(write(tmp_path / 'c.yml', f'model: {tmp_path / "po2.h5"}\nname: po2\n'))
    conv = convert(cfg, load_model(cfg.model), tmp_path / 'proj')
    write_project(conv, tmp_path / 'proj')
    assert (tmp_path / 'proj' / 'firmware' / 'po2.cpp').is_file()
    assert not hasattr(np, 'product') or np.product is np.prod


@pytest.mark.parametrize(
    'text',
    [
        'fixed<8,3>',
        'ufixed<6,2,RND,SAT>',
        'fixed<10,4,RND,SAT>',
        'ufixed<5,1>',
        'fixed<6,2,RND_CONV,WRAP>',
        'fixed<7,-1,TRN,SAT>',
    ],
)
def test_hgq_fixed_quantize_matches_ap_fixed(text):
    t = parse_precision(text)
    x = np.random.default_rng(0).uniform(-40, 40, 5000)
    x[:100] = np.linspace(-2, 2, 100)
    got = fixed_quantize(x, int(t.signed), t.width, t.integer, t.rounding, t.saturation).numpy()
    assert np.array_equal(got, vdata.quantize(x.astype(np.float32), t).astype(np.float32))


def test_hgq_proxy_layer_loads_from_h5(tmp_path):
    import tf_keras as K

    fpq = custom_objects()['FixedPointQuantizer']
    inp = K.layers.Input((4,), name='x')
    q = fpq(RND='RND', SAT='SAT', shape=[1, 4], overrides={}, fusible=False, name='q')
    out = K.layers.Dense(2, name='d')(q(inp))
    m = K.Model(inp, out)
    q.set_weights(
        [np.array([[1, 1, 0, 1]], np.int8), np.array([[6, 6, 4, 8]], np.int8), np.array([[2, 3, 1, 4]], np.int8)]
    )
    m.save(tmp_path / 'hgq.h5')
    lm = load_model(ModelSource(file=tmp_path / 'hgq.h5'))
    assert lm.is_fully_quantized() == (True, [])
    y = lm.model.get_layer('q')(np.array([[0.3, 0.3, 0.3, -0.3]], np.float32)).numpy()
    # fixed<6,2,RND,SAT> 0.3 -> 0.3125; fixed<6,3> -> 0.25; ufixed<4,1> 0.3 -> 0.25; fixed<8,4> -0.3 -> -0.3125
    assert y.tolist() == [[0.3125, 0.25, 0.25, -0.3125]]
