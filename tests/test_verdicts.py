"""C-simulation verdicts (issue 15): every model is built the way hls4ml's own pytest suite builds it
(test/pytest/test_qkeras.py, test_binary_cnn.py, test_btnn.py, test_keras_api.py), converted, compiled with
g++ and C-simulated; the tests check that the verdict, the check applied and its reason are right."""

from __future__ import annotations

import json

import numpy as np
import pytest
from fpgaml_testutil import write

from fpgaml.config import load_config
from fpgaml.flow import build

CONFIG = """\
model: {model}
name: {name}
output_dir: {out}
io_type: {io_type}
{extra}validation:
  data: {val}
"""


def _build(d, model, x, name, io_type='io_parallel', extra='', y=None):
    model.save(d / f'{name}.h5')
    np.savez(d / f'{name}.npz', **({'x': x} if y is None else {'x': x, 'y': y}))
    cfg = load_config(
        write(
            d / f'{name}.yml',
            CONFIG.format(
                model=d / f'{name}.h5',
                name=name,
                out=d / f'{name}_prj',
                io_type=io_type,
                extra=extra,
                val=d / f'{name}.npz',
            ),
        )
    )
    return build(cfg, csim=True, force=True)


def _rand_x(shape, seed=0):
    """hls4ml's randX fixtures: np.random.rand (uniform [0, 1))."""
    return np.random.default_rng(seed).random(shape)


# ---- 1: a leading input quantizer --------------------------------------------------------------------------


def _qin_dense():
    """test_qkeras.py style: quantized_bits(4, 0, alpha=1) as the input quantizer, then a QDense."""
    import tf_keras as K
    from qkeras import QActivation, QDense, quantized_bits

    K.utils.set_random_seed(7)
    return K.Sequential(
        [
            QActivation(quantized_bits(4, 0, alpha=1), input_shape=(16,), name='qin'),
            QDense(
                16,
                name='fc1',
                kernel_quantizer=quantized_bits(4, 0, alpha=1),
                bias_quantizer=quantized_bits(4, 0, alpha=1),
                kernel_initializer='lecun_uniform',
            ),
        ]
    )


@pytest.mark.slow
@pytest.mark.parametrize('io_type', ['io_parallel', 'io_stream'])
def test_leading_quantizer_is_folded_into_the_input_type(tmp_path, io_type):
    res = _build(tmp_path, _qin_dense(), _rand_x((200, 16)), 'qin', io_type)
    c = res.csim
    assert c.input_types == ['fixed<4,1,RND_CONV,SAT>']
    assert any('the type of the quantizer "qin"' in n for n in res.conversion.notes)
    assert c.mode == 'bit-exact' and c.exact_fraction == 1.0, c.failures
    assert c.raw_agreement == 1.0 and c.raw_exact_fraction == 1.0 and c.input_cause is None  # true end to end
    assert c.passed


@pytest.mark.slow
def test_raw_data_disagreement_is_reported_with_its_cause(tmp_path):
    """The user keeps hls4ml's default input type: on the input grid the firmware is exact, on the raw data
    it is not (the default type truncates before the quantizer rounds): both are reported, and why."""
    res = _build(tmp_path, _qin_dense(), _rand_x((200, 16)), 'qin16', extra='precision:\n  input: fixed<16,6>\n')
    c = res.csim
    assert c.exact_fraction == 1.0 and c.passed
    assert c.raw_exact_fraction < 1.0 and c.raw_agreement == c.raw_exact_fraction
    assert c.input_cause and 'input conversion' in c.input_cause and 'fixed<16,6>' in c.input_cause
    rep = json.loads((res.project_dir / 'fpgaml-report.json').read_text())
    assert rep['csim']['raw_agreement'] == c.raw_agreement
    page = (res.project_dir / 'report.html').read_text()
    assert 'raw data' in page and f'{100 * c.raw_agreement:.2f}%' in page


# ---- 2 and 3: binary networks ----------------------------------------------------------------------------


def _binary_cnn():
    """hls4ml test_binary_cnn.py: binary-weight QConv2D / QDense, QBatchNormalization + QActivation('binary')."""
    import tf_keras as K
    from qkeras import QActivation, QBatchNormalization, QConv2D, QDense

    K.utils.set_random_seed(0)
    L = K.layers
    x_in = L.Input(shape=(10, 10, 1))
    x = QConv2D(
        4, (3, 3), kernel_quantizer='binary', name='conv2d_1', use_bias=True, bias_quantizer='quantized_bits(5,2)'
    )(x_in)
    x = QBatchNormalization()(x)
    x = QActivation('binary', name='act1')(x)
    x = QConv2D(8, (3, 3), kernel_quantizer='binary', name='conv2d_2', use_bias=False)(x)
    x = QBatchNormalization()(x)
    x = QActivation('binary', name='act2')(x)
    x = L.MaxPooling2D(pool_size=(2, 2))(x)
    x = L.Flatten()(x)
    x = QDense(10, kernel_quantizer='binary', name='q_dense_6', use_bias=False)(x)
    x = QBatchNormalization()(x)
    x = QActivation('binary_tanh', name='act4')(x)
    x = QDense(10, kernel_quantizer='binary', activation='softmax', name='q_dense_7', use_bias=False)(x)
    return K.Model(x_in, x)


@pytest.mark.slow
def test_binary_cnn_thresholds_follow_qkeras_binary(tmp_path):
    x = np.round(_rand_x((200, 10, 10, 1)) * 2**10) * 2**-10  # as the hls4ml test: exact on the input grid
    res = _build(tmp_path, _binary_cnn(), x, 'bcnn', extra='precision:\n  default: fixed<32,12>\nbit_exact: on\n')
    c = res.csim
    assert c.exact_fraction == 1.0, c.failures
    assert c.passed
    notes = ' '.join(res.conversion.notes)
    assert 'maps 0 to +1' in notes and 'maps 0 to -1' in notes  # binary (act1, act2) vs binary_tanh (act4)


def _btnn(io_type_act='binary'):
    """hls4ml test_btnn.py: binary Dense + BatchNormalization + binary activation, XNOR-encoded output."""
    import tf_keras as K
    from qkeras import QActivation, QDense

    K.utils.set_random_seed(1)
    return K.Sequential(
        [
            QDense(10, input_shape=(16,), kernel_quantizer='binary', bias_quantizer='binary', name='dense'),
            K.layers.BatchNormalization(name='bn'),
            QActivation(io_type_act, name='act'),
        ]
    )


@pytest.mark.slow
def test_binary_outputs_are_decoded_before_comparing(tmp_path):
    x = np.round((_rand_x((100, 16)) * 2 - 1) * 2**10) * 2**-10
    res = _build(tmp_path, _btnn(), x, 'btnn', extra='bit_exact: on\n')
    c = res.csim
    assert c.exact_fraction == 1.0 and c.passed, c.failures
    assert any('XNOR' in n for n in c.notes)


# ---- 4 and 5: the check chosen for what the output is -----------------------------------------------------


@pytest.mark.slow
def test_sigmoid_regression_output_gets_a_value_tolerance(tmp_path):
    """test_keras_api.py style Dense + sigmoid: not class scores, no argmax check; a table: no bit-exact.
    (fpgaml computes a QActivation(quantized_sigmoid) exactly unless the config sets its table_size, as here:
    hls4ml's lookup table; the exact form is tests/test_exact_recurrent.py.)"""
    import tf_keras as K
    from qkeras import QActivation, QDense, quantized_bits, quantized_sigmoid

    K.utils.set_random_seed(2)
    m = K.Sequential(
        [
            QDense(
                4,
                input_shape=(8,),
                kernel_quantizer=quantized_bits(6, 0, alpha=1),
                bias_quantizer=quantized_bits(6, 0, alpha=1),
                name='fc',
            ),
            QActivation(quantized_sigmoid(7, use_real_sigmoid=True), name='sig'),
        ]
    )
    res = _build(tmp_path, m, _rand_x((200, 8)) * 4 - 2, 'sig', extra='layers:\n  sig:\n    table_size: 1024\n')
    c = res.csim
    assert c.mode == 'tolerance' and 'use_real_sigmoid' in res.conversion.bit_exact_reason
    kinds = [ch['kind'] for ch in c.checks]
    assert kinds == ['within_tolerance'] and 'not class scores' in c.checks[0]['why']
    assert c.passed, c.failures


@pytest.mark.slow
def test_wide_fixed_point_is_not_compared_bit_for_bit(tmp_path):
    """A ZeroPadding-only model with ap_fixed<32,1>: 31 fractional bits float32 cannot hold."""
    import tf_keras as K

    m = K.Sequential([K.layers.ZeroPadding2D(((1, 0), (0, 1)), input_shape=(4, 4, 2), name='pad')])
    res = _build(tmp_path, m, _rand_x((50, 4, 4, 2)) - 0.5, 'pad', extra='precision:\n  default: fixed<32,1>\n')
    c = res.csim
    assert not res.conversion.bit_exact and 'float32' in res.conversion.bit_exact_reason
    assert c.mode == 'tolerance' and c.checks[0]['kind'] == 'within_tolerance'
    assert c.passed, c.failures


@pytest.mark.slow
def test_single_value_float_output_is_always_checked(tmp_path):
    """A float regression model (one value per sample), no tolerance configured: still checked, by value."""
    import tf_keras as K

    K.utils.set_random_seed(4)
    m = K.Sequential(
        [K.layers.Dense(8, activation='relu', input_shape=(6,), name='fc1'), K.layers.Dense(1, name='out')]
    )
    res = _build(tmp_path, m, _rand_x((200, 6)), 'reg')
    c = res.csim
    assert c.mode == 'tolerance' and c.argmax_agreement is None
    assert [ch['kind'] for ch in c.checks] == ['within_tolerance'] and c.checks[0]['value'] >= 0.99
    assert c.passed, c.failures
