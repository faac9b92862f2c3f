"""Bit-exact details found on published models, reproduced on small models the tests build."""

from __future__ import annotations

import pytest
from fpgaml_testutil import write

from fpgaml.config import load_config
from fpgaml.flow import build

pytestmark = pytest.mark.slow


def test_float_relu_after_a_quantized_layer_stays_exact(tmp_path):
    """QDense(activation='relu') (as in qkeras_mnist_cnn): the split ReLU must keep the exact type."""
    import tf_keras as K
    from qkeras import QActivation, QDense, quantized_bits

    q = dict(kernel_quantizer=quantized_bits(6, 0, alpha=1), bias_quantizer=quantized_bits(6, 0, alpha=1))
    K.utils.set_random_seed(2)
    inp = K.layers.Input((12,), name='x')
    h = QDense(20, activation='relu', name='fc1', **q)(inp)
    h = QActivation('quantized_relu(6,2)', name='act')(h)
    out = QDense(3, name='fc2', **q)(h)
    K.Model(inp, out).save(tmp_path / 'm.h5')
    cfg = load_config(
        write(
            tmp_path / 'c.yml', f'model: m.h5\nname: relu\noutput_dir: {tmp_path / "p"}\nvalidation: {{samples: 300}}\n'
        )
    )
    res = build(cfg, csim=True, force=False)
    assert res.conversion.bit_exact
    relu = next(r for r in res.conversion.layers if r.name == 'fc1_relu')
    dense = next(r for r in res.conversion.layers if r.name == 'fc1')
    assert relu.precisions['result'] == dense.precisions['result']
    assert res.csim.exact_fraction == 1.0, res.csim.failures


def test_hls4ml_format_override_of_a_missing_layer_warns(tmp_path):
    import tf_keras as K

    m = K.Sequential([K.layers.Input((4,), name='inp'), K.layers.Dense(2, name='fc')])
    (tmp_path / 'a.json').write_text(m.to_json())
    m.save_weights(tmp_path / 'w.h5')
    text = (
        'KerasJson: a.json\nKerasH5: w.h5\nOutputDir: prj\nProjectName: p\n'
        'HLSConfig:\n  Model:\n    Precision: ap_fixed<16,6>\n  LayerName:\n    regression_linear:\n'
        '      Precision: ap_fixed<8,3>\n'
    )
    cfg = load_config(write(tmp_path / 'h.yml', text), output_dir=tmp_path / 'prj')
    res = build(cfg, csim=False, force=False)
    assert any(
        '"regression_linear" matches no layer' in n and 'ignored, as hls4ml does' in n for n in res.conversion.notes
    )


def test_power_of_two_weights_are_bit_exact(tmp_path):
    """quantized_po2 weights down to 2^-8 on 2-bit inputs (as in qkeras_mnist_dense): hls4ml's own
    accumulator and product types overflow / drop bits; fpgaml's are exact."""
    import numpy as np
    import tf_keras as K
    from qkeras import QActivation, QDense, quantized_bits, quantized_po2

    K.utils.set_random_seed(4)
    inp = K.layers.Input((64,), name='x')
    h = QActivation('quantized_relu(2)', name='qin')(inp)
    h = QDense(
        8,
        kernel_quantizer=quantized_po2(4, 1),
        bias_quantizer=quantized_bits(4, 0, alpha=1),
        kernel_initializer=K.initializers.RandomUniform(-0.02, 0.02),
        name='po2',
    )(h)
    m = K.Model(inp, h)
    w = m.get_layer('po2').get_weights()
    w[0] = np.sign(w[0]) * 2.0 ** np.random.default_rng(0).integers(-8, 0, w[0].shape)
    m.get_layer('po2').set_weights(w)
    m.save(tmp_path / 'm.h5')
    np.save(tmp_path / 'x.npy', np.random.default_rng(1).uniform(0, 1, (200, 64)))
    cfg = load_config(
        write(
            tmp_path / 'c.yml', f'model: m.h5\nname: po2\noutput_dir: {tmp_path / "p"}\nvalidation: {{data: x.npy}}\n'
        )
    )
    res = build(cfg, csim=True, force=False)
    assert res.csim.exact_fraction == 1.0, res.csim.failures
    assert any('exact product type' in n for n in res.conversion.notes)


def test_explicit_type_contradicting_the_quantizer_is_warned(tmp_path):
    import tf_keras as K
    from qkeras import QActivation, QDense, quantized_bits

    q = dict(kernel_quantizer=quantized_bits(6, 0, alpha=1), bias_quantizer=quantized_bits(6, 0, alpha=1))
    inp = K.layers.Input((4,), name='x')
    h = QActivation('quantized_relu(6)', name='act')(QDense(4, name='fc', **q)(inp))
    K.Model(inp, h).save(tmp_path / 'm.h5')
    text = (
        f'model: m.h5\nname: w\noutput_dir: {tmp_path / "p"}\nlayers:\n  act:\n    precision:\n'
        '      result: fixed<7,1,RND,SAT>\n'
    )
    res = build(load_config(write(tmp_path / 'c.yml', text)), csim=False, force=False)
    assert any(
        'c.yml:5: layer "act" result type fixed<7,1,RND,SAT> differs from its quantizer' in n
        for n in res.conversion.notes
    )
    # an equivalent spelling of the same grid is not a conflict
    text2 = text.replace('fixed<7,1,RND,SAT>', 'fixed<7,1,RND_CONV,SAT>').replace('name: w', 'name: w2')
    res2 = build(
        load_config(write(tmp_path / 'c2.yml', text2.replace(str(tmp_path / 'p'), str(tmp_path / 'p2')))),
        csim=False,
        force=False,
    )
    assert not any('differs from its quantizer' in n for n in res2.conversion.notes)
