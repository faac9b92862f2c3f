"""Types right by construction (issue 20): patterns whose firmware fpgaml's own types got wrong, rebuilt with the same
layers, pass with fpgaml's own types (no hand-written precision).

A linear QKeras quantizer after a layer of inferred type is never dropped:

``QActivation(quantized_bits(8, 3, alpha=1))`` after a QDense: in bit-exact mode the Dense result is ``auto`` and
hls4ml's ``MergeLinearActivation`` removed the quantizer with its rounding and saturation (the output stayed the
17-bit sum: 0.2% of samples bit-exact, max |diff| 3.8; in the middle of a network 50%). fpgaml hands the quantizer's
type to the layer that alone feeds it, and that layer is compared with the quantizer's Keras output."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from fpgaml_testutil import run_cli, write

pytestmark = pytest.mark.slow


def _model(path, middle: bool):
    import tf_keras as K
    from qkeras import QActivation, QDense, quantized_bits

    def qdense(n, name):
        q = quantized_bits(6, 0, alpha=1)
        return QDense(n, kernel_quantizer=q, bias_quantizer=q, name=name)

    inp = K.Input((16,), name='x')
    h = qdense(8, 'd1')(inp)
    h = QActivation(quantized_bits(8, 3, alpha=1) if middle else 'quantized_relu(6,2)', name='q1')(h)
    h = qdense(4, 'd2')(h)
    out = QActivation('quantized_relu(6,2)' if middle else quantized_bits(8, 3, alpha=1), name='out')(h)
    K.Model(inp, out).save(path)


def _build(tmp_path, middle: bool, extra: str = ''):
    _model(tmp_path / 'm.h5', middle)
    x = np.round(np.random.default_rng(0).normal(0, 4, (500, 16)) * 8) / 8
    np.save(tmp_path / 'x.npy', x)
    cfg = write(
        tmp_path / 'c.yml',
        f'model: m.h5\nname: q\nprecision:\n  input: fixed<12,6>\nvalidation:\n  data: x.npy\n{extra}',
    )
    return run_cli('build', cfg, '--output', tmp_path / 'prj')


@pytest.mark.parametrize('middle', [False, True], ids=['trailing', 'middle'])
def test_linear_quantizer_after_a_dense_is_kept_and_bit_exact(tmp_path, middle):
    rc, out = _build(tmp_path, middle)
    assert rc == 0, out[-3000:]
    assert 'C-simulation PASSED: bit-exact' in out
    assert 'bit-exact samples (input grid): 100.00%' in out
    report = json.loads((tmp_path / 'prj' / 'fpgaml-report.json').read_text())
    producer, quantizer = ('d1', 'q1') if middle else ('d2', 'out')
    layers = {lay['name']: lay for lay in report['layers']}
    assert layers[producer]['precisions']['result'] == 'fixed<8,4,RND_CONV,SAT,0>'  # quantized_bits(8, 3): 3 + sign
    assert any(
        f'layer "{producer}" typed fixed<8,4,RND_CONV,SAT>' in n and f'"{quantizer}"' in n for n in report['notes']
    )
    assert layers[producer]['type_from'] == 'quantizer'  # the layer table says where the type came from


def test_the_layer_is_compared_with_the_quantizer_output(tmp_path):
    """A failing build names the layer that really diverges: the Dense that took the quantizer's type agrees with
    the quantizer's Keras output, so a too-narrow type set on the last layer is found there, not at ``d1``."""
    rc, out = _build(tmp_path, True, 'layers:\n  out:\n    precision: {result: "ufixed<3,1>"}\n')
    assert rc != 0, out[-3000:]
    assert 'first divergent layer: out' in out, out[-3000:]


def test_binary_weight_dense_on_8_bit_inputs_is_exact(tmp_path):
    """A binary-weight QDense fed by 8-bit inputs, then quantized_relu(4, 2): hls4ml cannot infer a type for xnor
    weights and gave the sum fixed<16,6>, which wrapped (74.6% of samples bit-exact, first divergent layer the
    Dense, max |diff| 64); the accumulator is now sized from the weights."""
    import tf_keras as K
    from qkeras import QActivation, QDense, binary, quantized_bits

    inp = K.Input((16,))
    h = QActivation(quantized_bits(8, 3, alpha=1), name='qin')(inp)
    h = QDense(8, kernel_quantizer=binary(alpha=1), bias_quantizer=quantized_bits(8, 3, alpha=1), name='d1')(h)
    K.Model(inp, QActivation('quantized_relu(4,2)', name='out')(h)).save(tmp_path / 'm.h5')
    np.save(tmp_path / 'x.npy', np.round(np.random.default_rng(0).normal(0, 4, (500, 16)) * 8) / 8)
    cfg = write(tmp_path / 'c.yml', 'model: m.h5\nname: b\nvalidation:\n  data: x.npy\n')
    rc, out = run_cli('build', cfg, '--output', tmp_path / 'prj')
    assert rc == 0, out[-3000:]
    assert 'bit-exact samples (input grid): 100.00%' in out
    report = json.loads((tmp_path / 'prj' / 'fpgaml-report.json').read_text())
    flow = {f['pass']: f for f in report['flow']}
    assert [c['layer'] for c in flow['exact_binary_weight_accumulators']['changes']] == ['d1']
    types = {lay['name']: lay['type_from'] for lay in report['layers']}
    assert types['d1'] == 'exact (exact_binary_weight_accumulators)' and types['out'] == 'quantizer', types


def test_autoencoder_squared_distance_is_exact(tmp_path):
    """An anomaly-detection autoencoder (QDense encoder/decoder with quantized activations, then ``Subtract`` and
    ``Dot`` = the squared distance): the merges compute exactly on quantized inputs, so the model is bit-exact
    with hls4ml's inferred merge types and a Dot accumulator of its result type (before: tolerance mode, 67% of
    outputs within tolerance, first divergent layer ``dist``; with the merges in bit-exact mode and hls4ml's
    default accumulator, 1% bit-exact, max |diff| 448)."""
    import tf_keras as K
    from qkeras import QActivation, QDense, quantized_bits, quantized_relu

    K.utils.set_random_seed(1)
    inp = K.Input((16,), name='inp')
    x = QActivation(quantized_bits(8, 3, alpha=1), name='qin')(inp)
    q6 = dict(kernel_quantizer=quantized_bits(6, 0, alpha=1), bias_quantizer=quantized_bits(6, 0, alpha=1))
    h = QActivation(quantized_relu(6, 2), name='enc_relu')(QDense(8, name='enc', **q6)(x))
    r = QActivation(quantized_bits(8, 3, alpha=1), name='dec_q')(QDense(16, name='dec', **q6)(h))
    d = K.layers.Subtract(name='diff')([x, r])
    K.Model(inp, K.layers.Dot(axes=1, name='dist')([d, d])).save(tmp_path / 'ae.h5')
    np.save(tmp_path / 'x.npy', np.random.default_rng(0).normal(0, 2, (500, 16)))
    cfg = write(tmp_path / 'c.yml', 'model: ae.h5\nname: ae\nvalidation:\n  data: x.npy\n')
    rc, out = run_cli('build', cfg, '--output', tmp_path / 'prj')
    assert rc == 0, out[-3000:]
    assert 'mode: bit-exact' in out and 'bit-exact samples (input grid): 100.00%' in out, out[-3000:]
    report = json.loads((tmp_path / 'prj' / 'fpgaml-report.json').read_text())
    layers = {lay['name']: lay for lay in report['layers']}
    assert layers['diff']['precisions']['result'].startswith('fixed<9,5,')  # an 8-bit difference: one more bit
    dist = layers['dist']['precisions']
    assert dist['result'].startswith('fixed<22,14,') and dist['accum'] == dist['result']
    assert layers['diff']['type_from'] == 'exact (hls4ml)'


def test_deepsets_average_over_the_particles_is_exact(tmp_path):
    """DeepSets as jet taggers build it: a per-particle QDense with quantized_relu(8, 0), GlobalAveragePooling1D over
    8 particles, then QDense. An average over a power-of-two count is exact with 3 more fractional bits: the model
    is bit-exact (before: "not fully quantized", tolerance mode; hls4ml gives the average its input's type, and its
    default fixed<16,6> would cut the 11 fractional bits the average needs)."""
    import tf_keras as K
    from qkeras import QActivation, QDense, quantized_bits, quantized_relu

    K.utils.set_random_seed(2)
    inp = K.Input((8, 3), name='inp')
    x = QActivation(quantized_bits(10, 4, alpha=1), name='qin')(inp)
    q = dict(kernel_quantizer=quantized_bits(6, 0, alpha=1), bias_quantizer=quantized_bits(6, 0, alpha=1))
    h = QActivation(quantized_relu(8, 0), name='phi_relu')(QDense(16, name='phi', **q)(x))
    g = K.layers.GlobalAveragePooling1D(name='gap')(h)
    K.Model(inp, QActivation(quantized_bits(10, 4, alpha=1), name='out')(QDense(5, name='rho', **q)(g))).save(
        tmp_path / 'ds.h5'
    )
    np.save(tmp_path / 'x.npy', np.random.default_rng(0).normal(0, 2, (500, 8, 3)))
    cfg = write(tmp_path / 'c.yml', 'model: ds.h5\nname: ds\nvalidation:\n  data: x.npy\n')
    rc, out = run_cli('build', cfg, '--output', tmp_path / 'prj')
    assert rc == 0, out[-3000:]
    assert 'mode: bit-exact' in out and 'bit-exact samples (input grid): 100.00%' in out, out[-3000:]
    layers = {lay['name']: lay for lay in json.loads((tmp_path / 'prj' / 'fpgaml-report.json').read_text())['layers']}
    assert layers['gap']['precisions']['result'].startswith('ufixed<11,0')  # 8 fractional bits + log2(8)
    assert layers['gap']['type_from'] == 'exact (exact_average_pooling)'


def test_batchnorm_on_raw_inputs_then_pointwise_convolutions_passes(tmp_path):
    """A jet tagger on particle candidates: float BatchNormalization on raw features, pointwise QConv1D +
    quantized_relu twice, GlobalAveragePooling1D over 16 particles, QDense, float Dense + softmax; no validation data.
    Before: every float tensor typed from the data, including the sums of the quantized convolutions and the pooling
    sum (hls4ml's default type): the average wrapped (firmware [-2, 2] for Keras [0, 8]) and 19% of the argmax
    agreed (FAILED). Now the float parts (bn, out) are typed from the data and the quantized parts exactly from them:
    the only error left is the float parts' rounding, and the verdict passes."""
    import tf_keras as K
    from qkeras import QActivation, QConv1D, QDense, quantized_bits, quantized_relu

    K.utils.set_random_seed(3)
    q = dict(kernel_quantizer=quantized_bits(8, 0, alpha=1), bias_quantizer=quantized_bits(8, 0, alpha=1))
    inp = K.Input((16, 6), name='inp')
    bn = K.layers.BatchNormalization(name='bn')
    h = QActivation(quantized_relu(8, 3), name='relu1')(QConv1D(32, 1, name='conv1', **q)(bn(inp)))
    h = QActivation(quantized_relu(8, 3), name='relu2')(QConv1D(16, 1, name='conv2', **q)(h))
    g = K.layers.GlobalAveragePooling1D(name='gap')(h)
    d = QActivation(quantized_relu(8, 3), name='relu3')(QDense(16, name='d1', **q)(g))
    model = K.Model(inp, K.layers.Dense(5, activation='softmax', name='out')(d))
    rng = np.random.default_rng(0)  # raw features: pt (GeV), angles, large-valued coordinates
    x = np.concatenate([rng.exponential(30, (2000, 16, 1)), rng.normal(0, 2, (2000, 16, 2)),
                        rng.normal(0, 50, (2000, 16, 3))], axis=-1).reshape(-1, 6)  # fmt: skip
    bn.set_weights([np.ones(6), np.zeros(6), x.mean(0), x.var(0)])
    model.save(tmp_path / 'm.h5')
    cfg = write(tmp_path / 'c.yml', 'model: m.h5\nname: bn\n')
    rc, out = run_cli('build', cfg, '--output', tmp_path / 'prj')
    assert rc == 0 and 'C-simulation PASSED' in out, out[-3000:]
    report = json.loads((tmp_path / 'prj' / 'fpgaml-report.json').read_text())
    layers = {lay['name']: lay for lay in report['layers']}
    assert layers['bn']['type_from'] == 'data range' and layers['out']['type_from'] == 'data range'
    assert layers['conv1']['type_from'] == layers['d1']['type_from'] == 'exact (hls4ml)'
    assert layers['gap']['type_from'] == 'exact (exact_average_pooling)'
    assert report['csim']['argmax_agreement'] > 0.95 and report['csim']['max_abs_diff'] < 0.05


def test_minimize_types_cuts_what_the_verdict_does_not_need(tmp_path):
    """``build --minimize-types``: the Dense result fpgaml typed exactly (fixed<23,12>: 11 fractional bits) keeps only
    the bits the trailing quantizer's rounding needs; the firmware stays bit-exact and its estimate is smaller. The
    quantizer's type is not touched, and the types found are written for the user's config."""
    import yaml

    _model(tmp_path / 'm.h5', False)
    np.save(tmp_path / 'x.npy', np.round(np.random.default_rng(0).normal(0, 4, (500, 16)) * 8) / 8)
    cfg = write(
        tmp_path / 'c.yml', 'model: m.h5\nname: q\nprecision:\n  input: fixed<12,6>\nvalidation:\n  data: x.npy\n'
    )
    rc, out = run_cli(
        'build', cfg, '--output', tmp_path / 'prj', '--minimize-types', '--workers', '2', '--cache-dir', tmp_path / 'c'
    )
    assert rc == 0 and 'C-simulation PASSED: bit-exact' in out, out[-3000:]
    flat = ' '.join(out.split())  # (the console wraps long lines)
    assert 'type search (' in flat and 'verdict kept (bit-exact)' in flat, out[-3000:]
    found = yaml.safe_load((tmp_path / 'prj' / 'minimized_types.yml').read_text())['layers']
    assert set(found) == {'d1'}  # d2's type is its quantizer's
    layers = {lay['name']: lay for lay in json.loads((tmp_path / 'prj' / 'fpgaml-report.json').read_text())['layers']}
    d1 = layers['d1']['precisions']['result']
    assert d1.startswith(found['d1']['precision']['result'][:-1]) and layers['d1']['type_from'].startswith('config')
    width = int(d1.split('<')[1].split(',')[0])
    assert 12 < width < 23
    lut = [int(v.replace(',', '')) for v in re.search(r'estimated LUT ([\d,]+) -> ([\d,]+)', flat).groups()]
    assert lut[1] < lut[0]


def test_quantizer_after_a_qlstm_and_qdense_is_kept_and_bit_exact(tmp_path):
    """QLSTM -> QDense -> QActivation(quantized_bits(12, 4)): the output was the 26-bit Dense sum, half a step off,
    and passed only in tolerance mode. Now the Dense takes the quantizer's type and the model is bit-exact."""
    import tf_keras as K
    from qkeras import QLSTM, QActivation, QDense, quantized_bits

    K.utils.set_random_seed(1)
    q = quantized_bits(8, 0, alpha=1)
    inp = K.Input((8, 4), name='x')
    h = QLSTM(8, kernel_quantizer=q, recurrent_quantizer=q, bias_quantizer=q, name='lstm',
              state_quantizer=quantized_bits(10, 2, alpha=1), activation='quantized_tanh(8)',
              recurrent_activation='quantized_sigmoid(8)')(inp)  # fmt: skip
    out = QActivation(quantized_bits(12, 4, alpha=1), name='out')(QDense(4, kernel_quantizer=q, bias_quantizer=q)(h))
    K.Model(inp, out).save(tmp_path / 'm.h5')
    np.save(tmp_path / 'x.npy', np.round(np.random.default_rng(0).normal(0, 1, (500, 8, 4)) * 32) / 32)
    cfg = write(
        tmp_path / 'c.yml', 'model: m.h5\nname: l\nprecision:\n  input: fixed<10,4>\nvalidation:\n  data: x.npy\n'
    )
    rc, out = run_cli('build', cfg, '--output', tmp_path / 'prj')
    assert rc == 0 and 'C-simulation PASSED: bit-exact' in out, out[-3000:]
    assert 'bit-exact samples (input grid): 100.00%' in out
    layers = json.loads((tmp_path / 'prj' / 'fpgaml-report.json').read_text())['layers']
    assert layers[-1]['precisions']['result'].startswith('fixed<12,5,RND_CONV,SAT')


def test_quantized_batchnorm_is_a_float_part(tmp_path):
    """QBatchNormalization quantizes its statistics but still divides by sqrt(variance + epsilon): its output is not
    on any fixed-point grid. It was counted as quantized (bit-exact mode: 80.8% of samples bit-exact, FAILED); it is
    now a float part, typed from the data, and the Dense before it stays exact."""
    import tf_keras as K
    from qkeras import QActivation, QBatchNormalization, QDense, quantized_bits, quantized_relu

    K.utils.set_random_seed(1)
    q = quantized_bits(8, 0, alpha=1)
    inp = K.Input((16,), name='x')
    bn = QBatchNormalization(**{f'{k}_quantizer': quantized_bits(8, 2, alpha=1) for k in ('gamma', 'beta', 'mean')},
                             variance_quantizer=quantized_bits(8, 4, alpha=1), name='bn')  # fmt: skip
    h = QActivation(quantized_relu(8, 3), name='r')(
        bn(QDense(16, kernel_quantizer=q, bias_quantizer=q, name='d1')(inp))
    )
    out = QActivation(quantized_bits(10, 4, alpha=1), name='out')(QDense(4, kernel_quantizer=q, bias_quantizer=q)(h))
    model = K.Model(inp, out)
    bn.set_weights([np.full(16, 1.5), np.full(16, 0.25), np.full(16, 0.5), np.full(16, 4.0)])
    model.save(tmp_path / 'm.h5')
    np.save(tmp_path / 'x.npy', np.round(np.random.default_rng(0).normal(0, 1, (500, 16)) * 32) / 32)
    cfg = write(
        tmp_path / 'c.yml', 'model: m.h5\nname: qbn\nprecision:\n  input: fixed<10,4>\nvalidation:\n  data: x.npy\n'
    )
    rc, out = run_cli('build', cfg, '--output', tmp_path / 'prj')
    assert rc == 0 and 'C-simulation PASSED: tolerance' in out and 'not fully quantized (bn)' in out, out[-3000:]
    layers = {lay['name']: lay for lay in json.loads((tmp_path / 'prj' / 'fpgaml-report.json').read_text())['layers']}
    assert layers['bn']['type_from'] == 'data range' and layers['d1']['type_from'] == 'exact (hls4ml)'
