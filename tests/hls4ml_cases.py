"""hls4ml's own pytest models, re-created as hls4ml's tests build them, and judged by each test's own assertion.

Each :class:`Case` holds what one parametrization of a test in hls4ml's ``test/pytest`` holds: the Keras /
QKeras model, built layer by layer as the test builds it; the hls4ml config the test passes to
``convert_from_keras_model`` (made by ``hls4ml.utils.config_from_keras_model`` with the test's arguments, then
edited as the test edits it); the test's input data; and the test's assertion on hls4ml's ``predict()`` output
against the Keras prediction. Only the Vivado backend is taken (fpgaml writes Vivado/Vitis projects).

:func:`run_case` gives the same model, config and data to fpgaml: the model is saved as ``.h5``, the config is
written as an hls4ml-format YAML file (the test's ``HLSConfig`` verbatim, ``Validation`` pointing at the test's
data), ``fpgaml build`` runs as a user runs it (a subprocess of the CLI), and the firmware that fpgaml compiled
(its C-simulation library, from fpgaml's compile cache) is run on the test's raw inputs, as ``hls_model.predict``
is in the test. The test's assertion then judges the firmware output against the Keras output.

The cases are written from hls4ml's test suite as of hls4ml 1.x (``test_keras_api.py``, ``test_qkeras.py``,
``test_merge.py``, ``test_softmax.py``, ``test_rnn.py``, ``test_garnet.py``, ...); the test files are not
shipped with the hls4ml package, so shapes, data and tolerances follow those tests as closely as known, and
each case names the test it comes from (``source``).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from unittest import mock

import numpy as np

os.environ.setdefault('TF_USE_LEGACY_KERAS', '1')

REPO = Path(__file__).resolve().parents[1]
PROJECT = 'myproject'  # hls4ml's default project name, as the tests leave it


# --------------------------------------------------------------------------------------------------
# The assertions of hls4ml's tests
# --------------------------------------------------------------------------------------------------


def allclose(rtol: float, atol: float) -> Callable:
    def check(y_hls, y_keras):
        np.testing.assert_allclose(y_hls, y_keras, rtol=rtol, atol=atol)

    check.text = f'assert_allclose(rtol={rtol:g}, atol={atol:g})'
    return check


def array_equal() -> Callable:
    def check(y_hls, y_keras):
        np.testing.assert_array_equal(y_keras, y_hls)

    check.text = 'assert_array_equal (bit-exact)'
    return check


def argmax_accuracy(minimum: float) -> Callable:
    def check(y_hls, y_keras):
        acc = float(np.mean(np.argmax(y_keras, axis=-1).ravel() == np.argmax(y_hls, axis=-1).ravel()))
        assert acc >= minimum, f'argmax accuracy relative to Keras {acc:.4f} < {minimum}'

    check.text = f'argmax accuracy vs Keras >= {minimum}'
    return check


def wrong_fraction(binary: bool, maximum: float = 0.005) -> Callable:
    """test_qkeras.py::test_qactivation_kwarg for binary/ternary activations: hls4ml's binary output is 0/1."""

    def check(y_hls, y_keras):
        if binary:
            y_hls = np.where(y_hls == 0, -1, 1)
        wrong = (y_hls != y_keras).ravel()
        frac = float(np.mean(wrong))
        assert frac <= maximum, f'{100 * frac:.2f}% of outputs wrong (at most {100 * maximum:g}%)'

    check.text = f'fraction of wrong outputs <= {maximum}' + (' (binary 0 read as -1)' if binary else '')
    return check


# --------------------------------------------------------------------------------------------------
# Cases
# --------------------------------------------------------------------------------------------------


@dataclass
class Case:
    id: str
    family: str
    source: str  # hls4ml test (file::function[parameters])
    build: Callable  # () -> model
    data: Callable  # () -> list of input arrays (np.random already seeded)
    criterion: Callable  # (y_hls, y_keras) -> raises AssertionError
    io_type: str = 'io_parallel'
    config_kwargs: dict = field(default_factory=dict)  # config_from_keras_model(**kwargs)
    edit: Callable | None = None  # (config dict) -> None: the test's own config edits
    part: str | None = None
    hls_config: Callable | None = None  # (model) -> HLSConfig, for tests that build it by hand
    fast: bool = False  # in the CI subset (tests/test_hls4ml_compat.py)
    backend: str = 'Vivado'
    keras3: bool = False  # a Keras 3 model (``import keras``), saved as ``.keras``
    outputs: int = 1  # a multi-output model: the criterion takes lists of outputs

    @property
    def criterion_text(self) -> str:
        return getattr(self.criterion, 'text', self.criterion.__name__)


def _rand(*shape):
    return lambda: [np.random.rand(*shape)]


def _rand_exact(*shape, negate=False):
    """randX with ``np.round(X * 2**10) * 2**-10``: exact in hls4ml's default ap_fixed<16,6> input."""

    def make():
        x = np.random.rand(*shape)
        x = -x if negate else x
        return [np.round(x * 2**10) * 2**-10]

    return make


def _K():
    import tf_keras as K

    return K


# ---- test_keras_api.py ----------------------------------------------------------------------------


def _dense_elu():
    K = _K()
    m = K.models.Sequential()
    m.add(
        K.layers.Dense(
            2,
            input_shape=(1,),
            name='Dense',
            use_bias=True,
            kernel_initializer=K.initializers.RandomUniform(minval=1, maxval=10),
            bias_initializer='zeros',
        )
    )
    m.add(K.layers.Activation(activation='elu', name='Activation'))
    m.compile(optimizer='adam', loss='mse')
    return m


ACTIVATIONS = {
    'relu': lambda K: K.layers.Activation(activation='relu', name='relu'),
    'leaky_relu': lambda K: K.layers.LeakyReLU(alpha=1.5),
    'thresholded_relu': lambda K: K.layers.ThresholdedReLU(theta=0.75),
    'elu': lambda K: K.layers.ELU(alpha=1.0),
    'prelu': lambda K: K.layers.PReLU(alpha_initializer='zeros'),
    'sigmoid': lambda K: K.layers.Activation(activation='sigmoid', name='sigmoid'),
}


def _activation_model(name):
    def build():
        K = _K()
        m = K.models.Sequential()
        m.add(K.layers.Dense(64, input_shape=(1,), name='Dense', kernel_initializer='lecun_uniform'))
        m.add(ACTIVATIONS[name](K))
        m.compile(optimizer='adam', loss='mse')
        return m

    return build


def _conv1d(padding):
    def build():
        K = _K()
        m = K.models.Sequential()
        m.add(
            K.layers.Conv1D(
                filters=32,
                kernel_size=3,
                strides=1,
                padding=padding,
                activation='relu',
                input_shape=(128, 4),
                kernel_initializer='normal',
                use_bias=False,
                data_format='channels_last',
            )
        )
        m.add(K.layers.Activation(activation='relu'))
        m.compile(optimizer='adam', loss='mse')
        return m

    return build


def _conv2d(padding):
    def build():
        K = _K()
        m = K.models.Sequential()
        m.add(
            K.layers.Conv2D(
                filters=32,
                kernel_size=(4, 4),
                strides=(4, 4),
                padding=padding,
                input_shape=(28, 28, 3),
                kernel_initializer='normal',
                use_bias=False,
                data_format='channels_last',
            )
        )
        m.add(K.layers.Activation(activation='relu'))
        m.compile(optimizer='adam', loss='mse')
        return m

    return build


def _depthwise2d():
    K = _K()
    m = K.models.Sequential()
    m.add(K.layers.DepthwiseConv2D(kernel_size=(3, 3), input_shape=(32, 32, 3)))
    m.compile()
    return m


def _strategy_rf(strategy, rf):
    def edit(c):
        c['Model']['Strategy'] = strategy
        c['Model']['ReuseFactor'] = rf
        for layer in c.get('LayerName', {}).values():
            if isinstance(layer, dict) and 'ReuseFactor' in layer:
                layer['ReuseFactor'] = rf

    return edit


POOLINGS = {
    'MaxPooling1D': (121, 3),
    'AveragePooling1D': (121, 3),
    'MaxPooling2D': (18, 15, 3),
    'AveragePooling2D': (18, 15, 3),
}


def _pooling(name, padding):
    def build():
        K = _K()
        m = K.models.Sequential()
        m.add(getattr(K.layers, name)(padding=padding, input_shape=POOLINGS[name]))
        m.compile()
        return m

    return build


def _keras_api_cases() -> list[Case]:
    cases = []
    for io in ('io_parallel', 'io_stream'):
        cases.append(
            Case(
                f'keras_api/dense[{io}]',
                'dense',
                f'test_keras_api.py::test_dense[Vivado-{io}]',
                _dense_elu,
                _rand(100, 1),
                allclose(1e-2, 0.01),
                io,
                fast=io == 'io_parallel',
            )
        )
    for name in ACTIVATIONS:
        for io in ('io_parallel', 'io_stream') if name in ('relu', 'elu') else ('io_parallel',):
            cases.append(
                Case(
                    f'keras_api/activation_{name}[{io}]',
                    'activations',
                    f'test_keras_api.py::test_activations[{name}-Vivado-{io}]',
                    _activation_model(name),
                    _rand(100, 1),
                    allclose(1e-2, 0.05),
                    io,
                    fast=(name, io) == ('prelu', 'io_parallel'),
                )
            )
    for padding, io in (('same', 'io_parallel'), ('valid', 'io_parallel'), ('same', 'io_stream')):
        cases.append(
            Case(
                f'keras_api/conv1d_{padding}[{io}]',
                'conv',
                f'test_keras_api.py::test_conv1d[{padding}-Vivado-{io}]',
                _conv1d(padding),
                _rand(10, 128, 4),
                allclose(0, 0.05),
                io,
                config_kwargs={'default_precision': 'ap_fixed<32,16>'},
            )
        )
    for padding, io in (('same', 'io_parallel'), ('valid', 'io_parallel'), ('valid', 'io_stream')):
        cases.append(
            Case(
                f'keras_api/conv2d_{padding}[{io}]',
                'conv',
                f'test_keras_api.py::test_conv2d[channels_last-{padding}-Vivado-{io}]',
                _conv2d(padding),
                _rand(100, 28, 28, 3),
                allclose(0, 0.05),
                io,
                config_kwargs={'default_precision': 'ap_fixed<32,16>'},
                fast=(padding, io) == ('valid', 'io_stream'),
            )
        )
    cases.append(
        Case(
            'keras_api/depthwise2d[io_stream]',
            'conv',
            'test_keras_api.py::test_depthwise2d[Vivado-io_stream]',
            _depthwise2d,
            _rand(10, 32, 32, 3),
            allclose(1e-2, 0.01),
            'io_stream',
            config_kwargs={'default_precision': 'fixed<32,12>', 'granularity': 'name'},
        )
    )
    # hls4ml builds a Resource-strategy depthwise convolution at a reuse factor its valid-list rule would not pick
    cases.append(
        Case(
            'keras_api/depthwise2d_resource_rf4[io_stream]',
            'conv',
            'test_keras_api.py::test_depthwise2d[Vivado-io_stream] with Strategy Resource, ReuseFactor 4',
            _depthwise2d,
            _rand_exact(10, 32, 32, 3),
            allclose(1e-2, 0.01),
            'io_stream',
            config_kwargs={'default_precision': 'fixed<32,12>', 'granularity': 'name'},
            edit=_strategy_rf('Resource', 4),
            fast=True,
        )
    )
    for name in POOLINGS:
        cases.append(
            Case(
                f'keras_api/pooling_{name}_valid[io_parallel]',
                'pooling',
                f'test_keras_api.py::test_pooling[{name}-valid-channels_last-Vivado]',
                _pooling(name, 'valid'),
                _rand(100, *POOLINGS[name]),
                allclose(0, 0.05),
                fast=name == 'AveragePooling2D',
            )
        )
    return cases


# ---- test_merge.py --------------------------------------------------------------------------------


def _merge(layer, shape=(10, 10, 3), **kw):
    def build():
        K = _K()
        in1, in2 = K.layers.Input(shape=shape), K.layers.Input(shape=shape)
        out = getattr(K.layers, layer)(**kw)([in1, in2])
        m = K.models.Model(inputs=[in1, in2], outputs=out)
        m.compile(optimizer='adam', loss='mse')
        return m

    return build


def _two(*shape):
    return lambda: [np.random.rand(*shape), np.random.rand(*shape)]


def _merge_cases() -> list[Case]:
    cases = []
    for layer in ('Add', 'Average', 'Maximum', 'Minimum', 'Multiply', 'Subtract'):
        for io in ('io_parallel', 'io_stream') if layer in ('Add', 'Multiply') else ('io_parallel',):
            cases.append(
                Case(
                    f'merge/{layer.lower()}[{io}]',
                    'merge',
                    f'test_merge.py::test_merge[{io}-{layer}-Vivado]',
                    _merge(layer),
                    _two(100, 10, 10, 3),
                    allclose(0, 0.001),
                    io,
                    config_kwargs={'default_precision': 'ap_fixed<32,16>'},
                    fast=(layer, io) == ('Subtract', 'io_parallel'),
                )
            )
    cases.append(
        Case(
            'merge/dot[io_parallel]',
            'merge',
            'test_merge.py::test_dot[Vivado]',
            _merge('Dot', (10,), axes=1),
            _two(100, 10),
            allclose(0, 0.001),
            config_kwargs={'default_precision': 'ap_fixed<32,16>'},
        )
    )
    cases.append(
        Case(
            'merge/concatenate1d[io_parallel]',
            'merge',
            'test_merge.py::test_concatenate1d[io_parallel-Vivado]',
            _merge('Concatenate', (10,)),
            _two(100, 10),
            allclose(0, 0.001),
            config_kwargs={'default_precision': 'ap_fixed<32,16>'},
        )
    )
    cases.append(
        Case(
            'merge/concatenate3d_axis3[io_stream]',
            'merge',
            'test_merge.py::test_concatenate3d[3-io_stream-Vivado]',
            _merge('Concatenate', (10, 10, 3), axis=3),
            _two(100, 10, 10, 3),
            allclose(0, 0.001),
            'io_stream',
            config_kwargs={'default_precision': 'ap_fixed<32,16>'},
        )
    )
    return cases


# ---- test_qkeras.py -------------------------------------------------------------------------------


def _qdense_relu(bits, alpha):
    def build():
        K = _K()
        from qkeras import QActivation, QDense, quantized_bits, quantized_relu

        m = K.models.Sequential()
        m.add(
            QDense(
                16,
                input_shape=(16,),
                name='fc1',
                kernel_quantizer=quantized_bits(bits, 0, alpha=alpha),
                bias_quantizer=quantized_bits(bits, 0, alpha=1),
                kernel_initializer='lecun_uniform',
            )
        )
        m.add(QActivation(activation=quantized_relu(bits, 0), name='relu1'))
        m.compile()
        return m

    return build


def _qactivation(quantizer: str):
    def build():
        K = _K()
        import qkeras
        from qkeras import QActivation

        m = K.models.Sequential()
        m.add(QActivation(input_shape=(1,), activation=eval(quantizer, vars(qkeras)), name='quantizer'))
        m.compile()
        return m

    return build


def _qdense_kwarg(activation, weight):
    def build():
        K = _K()
        from qkeras import QDense

        inputs = K.layers.Input(shape=(10,))
        outputs = QDense(
            10,
            activation=activation,
            name='qdense',
            kernel_quantizer=weight,
            bias_quantizer=weight,
            kernel_initializer='lecun_uniform',
        )(inputs)
        return K.models.Model(inputs, outputs)

    return build


def _kwarg_criterion(activation):
    import qkeras

    q = eval(activation, vars(qkeras))
    if hasattr(q, 'bits'):
        return allclose(1.0, 2.0**-q.bits)
    return wrong_fraction(binary=activation.startswith('binary'))


def _po2_dense():
    K = _K()
    from qkeras import QDense, quantized_po2

    m = K.models.Sequential()
    m.add(
        QDense(
            6,
            input_shape=(26,),
            name='po2_dense',
            kernel_quantizer=quantized_po2(4, 2),
            bias_quantizer=quantized_po2(4, 2),
            kernel_initializer='lecun_uniform',
        )
    )
    m.compile()
    return m


def _qconv2dbn():
    K = _K()
    from qkeras import QConv2DBatchnorm

    m = K.models.Sequential()
    m.add(
        QConv2DBatchnorm(
            4,
            kernel_size=(3, 3),
            input_shape=(8, 8, 1),
            name='qconv2dbn',
            kernel_quantizer='quantized_bits(8, 0, alpha=1)',
            kernel_initializer='ones',
            bias_quantizer='quantized_bits(8, 0, alpha=1)',
            bias_initializer='zeros',
            activation='quantized_relu(8, 0)',
        )
    )
    m.compile()
    return m


def _qdepthwise():
    K = _K()
    from qkeras import QDepthwiseConv2D

    m = K.models.Sequential()
    m.add(
        QDepthwiseConv2D(
            kernel_size=(3, 3),
            input_shape=(32, 32, 3),
            name='qdepthwise',
            depthwise_quantizer='quantized_bits(6, 0, alpha=1)',
            bias_quantizer='quantized_bits(4, 0, alpha=1)',
        )
    )
    m.compile()
    return m


QUANTIZERS = (
    'quantized_bits(8, 0)',
    'quantized_bits(8, 4)',
    'quantized_bits(4, 2)',
    'quantized_bits(10, 0)',
    'quantized_relu(4)',
    'quantized_relu(8, 4)',
    'quantized_relu(10, 5)',
)
SPECIAL = (
    'quantized_tanh(4, 0, use_real_tanh=True)',
    'quantized_tanh(8, 0, use_real_tanh=True)',
    'quantized_sigmoid(4, use_real_sigmoid=True)',
    'quantized_sigmoid(8, use_real_sigmoid=True)',
)
SPECIAL_HARD = ('quantized_tanh(8)', 'quantized_sigmoid(5)', 'quantized_sigmoid(7, use_real_sigmoid=True)')
KWARGS = (
    ('binary', 'binary'),
    ('ternary', 'ternary'),
    ('quantized_bits(4, 0, alpha=1)', 'quantized_relu(2, 0)'),
    ('quantized_bits(4, 0, alpha=1)', 'quantized_relu(4, 0)'),
    ('quantized_bits(4, 0, alpha=1)', 'quantized_relu(8, 0)'),
)


def _short(q: str) -> str:
    return re.sub(r'[^A-Za-z0-9]+', '_', q.replace('use_real_', '')).strip('_')


def _qkeras_cases() -> list[Case]:
    cases = []
    for bits, alpha in ((4, 1), (4, 'auto_po2')):
        for io in ('io_parallel', 'io_stream'):
            cases.append(
                Case(
                    f'qkeras/dense_relu_exact_{bits}b_{alpha}[{io}]',
                    'qkeras',
                    f'test_qkeras.py::test_single_dense_activation_exact[{bits}-{alpha}-Vivado-{io}]',
                    _qdense_relu(bits, alpha),
                    _rand_exact(100, 16),
                    allclose(1e-5, 0),
                    io,
                    config_kwargs={'granularity': 'name'},
                    fast=(alpha, io) == (1, 'io_parallel'),
                )
            )
    for q in QUANTIZERS:
        ios = (
            ('io_parallel', 'io_stream')
            if q == 'quantized_relu(4)' or q.startswith('quantized_bits')
            else ('io_parallel',)
        )
        for io in ios:
            # the first quantized_bits cases (a QActivation straight on the input) are hls4ml-test regressions:
            # fpgaml once wrote the input twice into the top function (C++ redefinition)
            cases.append(
                Case(
                    f'qkeras/quantizer_{_short(q)}[{io}]',
                    'qkeras quantizers',
                    f'test_qkeras.py::test_quantizer[{q}-Vivado-{io}]',
                    _qactivation(q),
                    _rand_exact(1000, 1),
                    array_equal(),
                    io,
                    config_kwargs={'granularity': 'name'},
                    fast=(q, io)
                    in (
                        ('quantized_bits(4, 2)', 'io_parallel'),
                        ('quantized_bits(8, 0)', 'io_parallel'),
                        ('quantized_bits(10, 0)', 'io_stream'),
                    ),
                )
            )
    cases.append(
        Case(
            'qkeras/quantizer_quantized_bits_4_2[io_stream-Vitis]',
            'qkeras quantizers',
            'test_qkeras.py::test_quantizer[quantized_bits(4, 2)-Vitis-io_stream]',
            _qactivation('quantized_bits(4, 2)'),
            _rand_exact(1000, 1),
            array_equal(),
            'io_stream',
            config_kwargs={'granularity': 'name'},
            backend='Vitis',
            fast=True,
        )
    )
    for q in SPECIAL:
        cases.append(
            Case(
                f'qkeras/quantizer_special_{_short(q)}[io_parallel]',
                'qkeras quantizers',
                f'test_qkeras.py::test_quantizer_special[{q}-Vivado-io_parallel]',
                _qactivation(q),
                _rand_exact(1000, 1, negate=True),
                allclose(1e-2, 0.02),
                config_kwargs={'granularity': 'name'},
            )
        )
    # hls4ml 1.3's test_quantizer_special: hard tanh / sigmoid (QKeras's defaults) and a real sigmoid, both io types
    for q in SPECIAL_HARD:
        for io in ('io_parallel', 'io_stream'):
            cases.append(
                Case(
                    f'qkeras/quantizer_special_{_short(q)}[{io}]',
                    'qkeras quantizers',
                    f'test_qkeras.py::test_quantizer_special[{q}-Vivado-{io}]',
                    _qactivation(q),
                    _rand_exact(1000, 1),
                    allclose(1e-2, 0.02),
                    io,
                    config_kwargs={'granularity': 'name'},
                    fast=(q, io) in (('quantized_tanh(8)', 'io_parallel'), ('quantized_sigmoid(5)', 'io_stream')),
                )
            )
    for act, weight in KWARGS:
        cases.append(
            Case(
                f'qkeras/qactivation_kwarg_{_short(act)}_{_short(weight)}[io_parallel]',
                'binary/ternary' if act in ('binary', 'ternary') else 'qkeras',
                f'test_qkeras.py::test_qactivation_kwarg[{act}-{weight}-Vivado-io_parallel]',
                _qdense_kwarg(act, weight),
                _rand_exact(100, 10),
                _kwarg_criterion(act),
                config_kwargs={'granularity': 'name'},
                fast=act == 'ternary',
            )
        )
    for strategy in ('Latency', 'Resource'):
        cases.append(
            Case(
                f'qkeras/po2_dense_{strategy.lower()}[io_parallel]',
                'qkeras',
                f'test_qkeras.py::test_quantised_po2_bit_width[{strategy}-Vivado-io_parallel]',
                _po2_dense,
                lambda: [np.random.randint(-32, 32, size=(100, 26)) * 2.0**-2],
                allclose(2e-2, 0),
                config_kwargs={'granularity': 'name'},
                edit=lambda c, s=strategy: c['Model'].__setitem__('Strategy', s),
            )
        )
    cases.append(
        Case(
            'qkeras/qconv2dbatchnorm[io_parallel]',
            'qkeras',
            'test_qkeras.py::test_qconv2dbn[Vivado-io_parallel]',
            _qconv2dbn,
            _rand_exact(100, 8, 8, 1),
            array_equal(),
            config_kwargs={'granularity': 'name', 'default_precision': 'fixed<24,8>'},
        )
    )
    cases.append(
        Case(
            'qkeras/qdepthwiseconv2d[io_stream]',
            'qkeras',
            'test_qkeras.py::test_qdepthwiseconv2d[Vivado-io_stream]',
            _qdepthwise,
            _rand_exact(10, 32, 32, 3),
            allclose(1e-2, 0.01),
            'io_stream',
            config_kwargs={'granularity': 'name', 'default_precision': 'fixed<24,8>'},
        )
    )
    return cases


# ---- test_binary_cnn.py, test_btnn.py ---------------------------------------------------------------


def _binary_cnn():
    K = _K()
    from qkeras import QActivation, QBatchNormalization, QConv2D, QDense

    l2 = K.regularizers.l2
    x_in = K.layers.Input(shape=(28, 28, 1))
    x = QConv2D(
        4,
        (3, 3),
        kernel_quantizer='binary',
        name='conv2d_1',
        kernel_regularizer=l2(0.0001),
        use_bias=True,
        bias_quantizer='quantized_bits(5,2)',
    )(x_in)
    x = QBatchNormalization()(x)
    x = QActivation('binary', name='act1')(x)
    x = QConv2D(8, (3, 3), kernel_quantizer='binary', name='conv2d_2', kernel_regularizer=l2(0.0001), use_bias=False)(x)
    x = QBatchNormalization()(x)
    x = QActivation('binary', name='act2')(x)
    x = K.layers.MaxPooling2D(pool_size=(2, 2))(x)
    x = QConv2D(8, (3, 3), kernel_quantizer='binary', name='conv2d_3', kernel_regularizer=l2(0.0001), use_bias=False)(x)
    x = QBatchNormalization()(x)
    x = QActivation('binary', name='act3')(x)
    x = K.layers.MaxPooling2D(pool_size=(2, 2))(x)
    x = K.layers.Flatten()(x)
    x = QDense(10, kernel_quantizer='binary', name='q_dense_6', use_bias=False)(x)
    x = QBatchNormalization()(x)
    x = QActivation('binary_tanh', name='act4')(x)
    x = QDense(10, kernel_quantizer='binary', activation='linear', name='q_dense_7', use_bias=False)(x)
    m = K.models.Model(inputs=x_in, outputs=x)
    m.compile(loss='categorical_crossentropy', optimizer=K.optimizers.Adam(learning_rate=0.0001), metrics=['accuracy'])
    return m


def _binary_cnn_edit(strategy):
    def edit(c):
        c['Model']['Strategy'] = strategy
        for name, rf in (('conv2d_1', 9), ('conv2d_2', 36), ('conv2d_3', 72), ('q_dense_6', 2000), ('q_dense_7', 100)):
            c['LayerName'][name]['ReuseFactor'] = rf

    return edit


def _btnn(quantizer):
    def build():
        K = _K()
        from qkeras import QActivation, QDense

        x_in = K.layers.Input(shape=(10,))
        x = QDense(5, kernel_quantizer=quantizer, bias_quantizer=quantizer, name='dense1')(x_in)
        x = QActivation(quantizer, name='act1')(x)
        x = QDense(2, kernel_quantizer=quantizer, bias_quantizer=quantizer, name='dense2')(x)
        x = QActivation(quantizer, name='act2')(x)
        return K.models.Model(x_in, x)

    return build


def _binary_cases() -> list[Case]:
    cases = []
    for io, strategy in (('io_parallel', 'Resource'), ('io_parallel', 'Latency'), ('io_stream', 'Latency')):
        cases.append(
            Case(
                f'binary_cnn/{strategy.lower()}[{io}]',
                'binary/ternary',
                f'test_binary_cnn.py::test_binary_cnn[Vivado-{io}-{strategy.lower()}]',
                _binary_cnn,
                _rand_exact(100, 28, 28, 1),
                allclose(1e-2, 0.01),
                io,
                config_kwargs={'granularity': 'name', 'default_precision': 'fixed<32,12>'},
                edit=_binary_cnn_edit(strategy),
                fast=io == 'io_stream',
            )
        )
    for q in ('binary', 'ternary'):
        for io in ('io_parallel', 'io_stream'):
            cases.append(
                Case(
                    f'btnn/{q}[{io}]',
                    'binary/ternary',
                    f'test_btnn.py::test_btnn[{q}-Vivado-{io}]',
                    _btnn(q),
                    lambda: [np.random.randint(-8, 8, size=(100, 10)) * 0.25],
                    allclose(0, 0),
                    io,
                    config_kwargs={'granularity': 'name'},
                )
            )
    return cases


# ---- test_softmax.py ------------------------------------------------------------------------------


def _softmax_data(shape):
    def make():
        d = np.random.normal(0, 2, (5000, *shape))
        modify = np.random.randint(0, 2, d.shape) < 0.05 * 2  # ~5% of the entries moved far out
        modify &= np.random.rand(*d.shape) < 0.05
        d[modify] = d[modify] * 5 + 10
        return [np.clip(d, -32, 31)]

    return make


def _softmax(shape):
    def build():
        K = _K()
        m = K.models.Sequential()
        m.add(K.layers.Activation(input_shape=shape, activation='softmax', name='softmax'))
        m.compile()
        return m

    return build


def _softmax_edit(strategy, input_bits, table_bits):
    def edit(c):
        c['LayerName']['softmax']['Strategy'] = strategy
        c['LayerName']['softmax']['inv_table_t'] = f'fixed<{table_bits},RND,SAT>'
        c['LayerName']['softmax']['exp_table_t'] = f'fixed<{table_bits},RND,SAT>'
        c['LayerName']['softmax_input']['Precision']['result'] = f'fixed<{input_bits}>'

    return edit


def _softmax_cases() -> list[Case]:
    cases = []
    for strategy in ('stable', 'latency'):
        for input_bits, shape, table_bits, io in (
            ('16,6', (8,), '18,8', 'io_parallel'),
            ('16,6', (8,), '18,8', 'io_stream'),
            ('9,6', (8,), '18,8', 'io_parallel'),
        ):
            sid = f'{strategy}-{input_bits}-{table_bits}'
            cases.append(
                Case(
                    f'softmax/{sid}[{io}]',
                    'softmax',
                    f'test_softmax.py::test_softmax[{io}-{table_bits}-{shape}-{input_bits}-Vivado-{strategy}]',
                    _softmax(shape),
                    _softmax_data(shape),
                    argmax_accuracy(0.98),
                    io,
                    config_kwargs={'granularity': 'name'},
                    edit=_softmax_edit(strategy, input_bits, table_bits),
                    fast=(strategy, input_bits, io) == ('stable', '16,6', 'io_parallel'),
                )
            )
    # multi-dimensional softmax (over the last axis of a feature map), io_stream only
    cases.append(
        Case(
            'softmax/stable-16,6-18,8-8x8x3[io_stream]',
            'softmax',
            'test_softmax.py::test_softmax[io_stream-18,8-(8, 8, 3)-16,6-Vivado-stable]',
            _softmax((8, 8, 3)),
            _softmax_data((8, 8, 3)),
            argmax_accuracy(0.98),
            'io_stream',
            config_kwargs={'granularity': 'name'},
            edit=_softmax_edit('stable', '16,6', '18,8'),
        )
    )

    # the latency implementation chosen by hls4ml 1.x's own key, every table type written out (issue 25's campaign:
    # fpgaml mixed its own table types into these and reached 19.5% argmax agreement)
    def latency_types(c):
        _softmax_edit('latency', '16,6', '18,8')(c)
        sm = c['LayerName']['softmax']
        sm['Implementation'] = 'latency'
        sm['accum_t'] = sm['inv_inp_t'] = 'fixed<18,8,RND,SAT>'

    cases.append(
        Case(
            'softmax/latency-all-types[io_stream]',
            'softmax',
            'test_softmax.py::test_softmax[io_stream-18,8-(8,)-16,6-Vivado-latency] with Implementation, '
            'accum_t and inv_inp_t set',
            _softmax((8,)),
            _softmax_data((8,)),
            argmax_accuracy(0.98),
            'io_stream',
            config_kwargs={'granularity': 'name'},
            edit=latency_types,
            fast=True,
        )
    )
    return cases


# ---- test_reshape.py, test_zeropadding / cropping / upsampling / embed ---------------------------------


def _reshape():
    K = _K()
    m = K.models.Sequential(
        [K.layers.Input(shape=(10,)), K.layers.Dense(10 * 3), K.layers.Reshape((10, 3)), K.layers.ReLU()]
    )
    m.compile(optimizer='adam', loss='mae')
    return m


def _single(layer, shape, **kw):
    def build():
        K = _K()
        m = K.models.Sequential()
        m.add(getattr(K.layers, layer)(input_shape=shape, **kw))
        m.compile()
        return m

    return build


def _embedding():
    K = _K()
    inputs = K.layers.Input(shape=(100,), name='embedding_input')
    embedding = K.layers.Embedding(13, 8, input_length=100, name='embedding')(inputs)
    return K.models.Model(inputs=inputs, outputs=embedding)


def _embed_edit(c):
    c['LayerName']['embedding_input']['Precision']['result'] = 'ap_uint<4>'


def _shape_cases() -> list[Case]:
    cases = []
    for io in ('io_parallel', 'io_stream'):
        cases.append(
            Case(
                f'reshape/dense_reshape_relu[{io}]',
                'reshape',
                f'test_reshape.py::test_reshape_{io[3:]}[Vivado]',
                _reshape,
                _rand(100, 10),
                allclose(0, 1e-2),
                io,
                config_kwargs={'default_precision': 'fixed<32,16>'},
                fast=io == 'io_parallel',
            )
        )
    for layer, shape, kw in (
        ('ZeroPadding1D', (10, 3), {'padding': (1, 2)}),
        ('ZeroPadding2D', (6, 8, 3), {'padding': ((1, 2), (3, 4))}),
    ):
        cases.append(
            Case(
                f'zeropadding/{layer}[io_stream]',
                'reshape',
                f'test_zeropadding.py::test_{layer.lower()}[Vivado-io_stream]',
                _single(layer, shape, **kw),
                _rand(100, *shape),
                allclose(0, 1e-2),
                'io_stream',
                config_kwargs={'default_precision': 'ap_fixed<32,16>'},
            )
        )
    for layer, shape, kw in (
        ('Cropping1D', (8, 4), {'cropping': (1, 2)}),
        ('Cropping2D', (8, 8, 4), {'cropping': ((1, 2), (2, 1))}),
    ):
        cases.append(
            Case(
                f'cropping/{layer}[io_parallel]',
                'reshape',
                f'test_cropping.py::test_cropping[{layer}-Vivado-io_parallel]',
                _single(layer, shape, **kw),
                _rand(100, *shape),
                allclose(0, 1e-2),
                config_kwargs={'default_precision': 'ap_fixed<32,16>'},
            )
        )
    for layer, shape, size, io in (
        ('UpSampling1D', (8, 4), 2, 'io_parallel'),
        ('UpSampling2D', (6, 8, 4), (2, 2), 'io_stream'),
    ):
        cases.append(
            Case(
                f'upsampling/{layer}[{io}]',
                'reshape',
                f'test_upsampling.py::test_upsampling[{layer[-2:].lower()}-{io}-Vivado]',
                _single(layer, shape, size=size),
                _rand(100, *shape),
                allclose(0, 2**-15),
                io,
                config_kwargs={'default_precision': 'ap_fixed<16,1,AP_TRN,AP_WRAP>', 'granularity': 'name'},
            )
        )
    cases.append(
        Case(
            'embed/embedding[io_parallel]',
            'reshape',
            'test_embed.py::test_embedding_accuracy[Vivado-io_parallel]',
            _embedding,
            lambda: [np.random.randint(10, size=(32, 100)).astype(float)],
            allclose(0, 1e-3),
            config_kwargs={'default_precision': 'ap_fixed<16,6>', 'granularity': 'name'},
            edit=_embed_edit,
            fast=True,
        )
    )
    return cases


# ---- test_rnn.py, test_qkeras.py (QSimpleRNN/QLSTM/QGRU) ------------------------------------------------


def _rnn(layer, return_sequences, bidirectional=False):
    def build():
        K = _K()
        name = layer.lower()
        rnn = getattr(K.layers, layer)(
            units=32,
            kernel_initializer='lecun_uniform',
            recurrent_initializer='lecun_uniform',
            bias_initializer='lecun_uniform',
            return_sequences=return_sequences,
            name=name,
        )
        m = K.models.Sequential()
        m.add(K.layers.Input(shape=(12, 8)))
        m.add(K.layers.Bidirectional(rnn, name='bidirectional') if bidirectional else rnn)
        m.compile()
        return m

    return build


def _rnn_edit(layer_name, strategy):
    def edit(c):
        c['LayerName'][layer_name]['static'] = True
        c['Model']['Strategy'] = strategy

    return edit


def _qrnn(layer):
    def build():
        K = _K()
        import qkeras

        q = 'quantized_bits(8, 0, alpha=1)'
        kw = dict(
            kernel_quantizer=q,
            recurrent_quantizer=q,
            bias_quantizer=q,
            state_quantizer=q,
            activation='quantized_tanh(8, use_real_tanh=True)',
        )
        if layer != 'QSimpleRNN':  # hard activations (QKeras's defaults) are rejected by hls4ml ('Hard activation')
            kw['recurrent_activation'] = 'quantized_sigmoid(8, use_real_sigmoid=True)'
        if layer == 'QGRU':
            kw['reset_after'] = True  # the only GRU form hls4ml computes
        # QKeras 0.9.0's QSimpleRNN/QGRU on TensorFlow 2.21: built (and run, keras_predict) inside fpgaml's
        # scoped aliases, which are gone again afterwards (the rest of the test process never sees them)
        from fpgaml.frontend import tf221_compat

        with tf221_compat():
            m = K.models.Sequential()
            m.add(getattr(qkeras, layer)(1, input_shape=(5, 2), name=layer.lower(), **kw))
            m.compile()
        return m

    return build


def _qrnn_data():
    x = np.linspace(-0.5, 0.5, 5)
    return [np.stack([x, x], axis=1).reshape(1, 5, 2)]


def _rnn_cases() -> list[Case]:
    cases = []
    variants = {
        'SimpleRNN': (('io_parallel', 'Latency', False),),
        'LSTM': (
            ('io_parallel', 'Latency', False),
            ('io_parallel', 'Resource', False),
            ('io_parallel', 'Latency', True),
            ('io_stream', 'Resource', False),
        ),
        'GRU': (
            ('io_parallel', 'Latency', False),
            ('io_parallel', 'Resource', False),
            ('io_parallel', 'Latency', True),
            ('io_stream', 'Resource', False),
        ),
    }
    for layer, vs in variants.items():
        for io, strategy, seq in vs:
            cases.append(
                Case(
                    f'rnn/{layer.lower()}_{strategy.lower()}{"_seq" if seq else ""}[{io}]',
                    'rnn',
                    f'test_rnn.py::test_rnn_accuracy[True-{seq}-{layer}-Vivado-{io}-{strategy.lower()}]',
                    _rnn(layer, seq),
                    lambda: [np.random.rand(50, 12, 8) - 0.5],
                    allclose(0, 3e-2),
                    io,
                    config_kwargs={'granularity': 'name', 'default_precision': 'ap_fixed<32, 16>'},
                    edit=_rnn_edit(layer.lower(), strategy),
                    fast=(layer, strategy, seq, io) == ('LSTM', 'Latency', False, 'io_parallel'),
                )
            )
    # issue 25's campaign: the same LSTM at hls4ml's default precision (max |diff| ~0.02, the test allows 0.03-0.05):
    # a float model's verdict comes from its own precision, so fpgaml must not fail it
    cases.append(
        Case(
            'rnn/lstm_latency_16_6[io_parallel]',
            'rnn',
            'test_rnn.py::test_rnn_accuracy[True-False-LSTM-Vivado-io_parallel-latency] at ap_fixed<16,6>',
            _rnn('LSTM', False),
            lambda: [np.random.rand(50, 12, 8) - 0.5],
            allclose(0, 5e-2),
            config_kwargs={'granularity': 'name', 'default_precision': 'ap_fixed<16,6>'},
            edit=_rnn_edit('lstm', 'Latency'),
        )
    )
    cases.append(
        Case(
            'rnn/bidirectional_lstm[io_parallel]',
            'rnn',
            'test_rnn.py::test_bidirectional[LSTM-Vivado-io_parallel]',
            _rnn('LSTM', False, bidirectional=True),
            lambda: [np.random.rand(50, 12, 8) - 0.5],
            allclose(0, 3e-2),
            config_kwargs={'granularity': 'name', 'default_precision': 'ap_fixed<32, 16>'},
        )
    )
    for layer in ('QSimpleRNN', 'QLSTM', 'QGRU'):
        cases.append(
            Case(
                f'qrnn/{layer.lower()}[io_parallel]',
                'rnn',
                f'test_qkeras.py::test_{layer.lower()}[Vivado]',
                _qrnn(layer),
                _qrnn_data,
                allclose(1e-1, 2**-7),
                config_kwargs={'granularity': 'name'},
                fast=layer == 'QLSTM',
            )
        )
    return cases


# ---- test_garnet.py -------------------------------------------------------------------------------

VMAX, FEAT = 16, 3


def _garnet(stack):
    def build():
        K = _K()
        from hls4ml.contrib.garnet import GarNet, GarNetStack

        x = K.layers.Input(shape=(VMAX, FEAT))
        n = K.layers.Input(shape=(1,), dtype='uint16')
        if stack:
            out = GarNetStack(
                [4, 4],
                [4, 4],
                [8, 8],
                simplified=True,
                collapse='mean',
                input_format='xn',
                output_activation=None,
                name='gar_1',
                quantize_transforms=None,
            )([x, n])
        else:
            out = GarNet(
                8,
                8,
                16,
                simplified=True,
                collapse='mean',
                input_format='xn',
                output_activation=None,
                name='gar_1',
                quantize_transforms=False,
            )([x, n])
        return K.models.Model(inputs=[x, n], outputs=out)

    return build


def _garnet_config(model):
    c = _config_from_keras_model(model, granularity='name')
    c['Model'] = {'ReuseFactor': 1, 'Strategy': 'Latency', 'Precision': 'ap_fixed<32,6>'}
    c['LayerName']['gar_1']['Precision'] = {'default': 'ap_fixed<32, 6, AP_RND, AP_SAT>', 'result': 'ap_fixed<32, 6>'}
    return c


def _garnet_data():
    return [np.random.rand(3, VMAX, FEAT), np.random.randint(0, VMAX, size=(3, 1)).astype(np.float64)]


def _garnet_cases() -> list[Case]:
    return [
        Case(
            f'garnet/{"garnet_stack" if stack else "garnet"}[io_parallel]',
            'garnet',
            f'test_garnet.py::test_accuracy{"_stack" if stack else ""}[3]',
            _garnet(stack),
            _garnet_data,
            allclose(0, 0.1),
            part='xc7z020clg400-1',
            hls_config=_garnet_config,
            fast=not stack,
        )
        for stack in (False, True)
    ]


# ---- test_keras_v3_api.py (Keras 3 models, saved as .keras) --------------------------------------------


def _reused_layer():
    import keras

    inp1, inp2 = keras.layers.Input(shape=(10, 10)), keras.layers.Input(shape=(10, 10))
    conv = keras.layers.Conv1D(2, 3, activation='relu')
    o1, o2 = conv(inp1), conv(inp2)
    o3 = keras.layers.Add()([o1, o2])
    o4 = keras.layers.Dense(5)(o3)
    _ = keras.layers.Dense(5)(o3)
    model = keras.models.Model(inputs=[inp1, inp2], outputs=[o1, o2, o3, o4])
    _ = model([inp1, inp1])
    return model


def each_output(*checks) -> Callable:
    """A multi-output test's assertions, one per output (lists of arrays in, as the test compares them)."""

    def check(y_hls, y_keras):
        assert len(y_hls) == len(y_keras) == len(checks), f'{len(y_hls)} firmware outputs, {len(y_keras)} Keras'
        for i, (c, h, k) in enumerate(zip(checks, y_hls, y_keras)):
            try:
                c(np.asarray(h).reshape(np.shape(k)), k)
            except AssertionError as e:
                raise AssertionError(f'output {i}: {e}') from None

    check.text = ' / '.join(c.text for c in checks)
    return check


def _keras3_cases() -> list[Case]:
    return [
        Case(
            'keras3/reused_layer[io_parallel]',
            'keras 3 api',
            'test_keras_v3_api.py::test_reused_layer[io_parallel-Vivado]',
            _reused_layer,
            lambda: [np.random.rand(1000, 10, 10).astype(np.float32) for _ in range(2)],
            each_output(allclose(0, 1e-5), allclose(0, 1e-5), allclose(0, 1e-5), allclose(0, 1e-2)),
            hls_config=lambda m: {'Model': {'Precision': 'ap_fixed<32,8>', 'ReuseFactor': 1}},
            keras3=True,
            outputs=4,
            fast=True,
        )
    ]


def all_cases() -> list[Case]:
    cases = (
        _keras_api_cases()
        + _merge_cases()
        + _qkeras_cases()
        + _binary_cases()
        + _softmax_cases()
        + _shape_cases()
        + _rnn_cases()
        + _garnet_cases()
        + _keras3_cases()
    )
    ids = [c.id for c in cases]
    assert len(ids) == len(set(ids)), 'duplicate case ids'
    return cases


# --------------------------------------------------------------------------------------------------
# Running a case through fpgaml
# --------------------------------------------------------------------------------------------------


def _config_from_keras_model(model, backend='Vivado', **kwargs) -> dict:
    """``hls4ml.utils.config_from_keras_model`` as the tests call it on a tf_keras model.

    hls4ml 1.3.0 picks its Keras-3 parser whenever the ``keras`` package is 3.x, even for a tf_keras (Keras-2)
    model; in the environments hls4ml's QKeras tests run in, ``keras`` is Keras 2. The Keras-2 path is taken."""
    import hls4ml
    import keras

    with mock.patch.object(keras, '__version__', '2.21.0'):
        return hls4ml.utils.config_from_keras_model(model, backend=backend, **kwargs)


def hls_config_for(case: Case, model) -> dict:
    if case.hls_config is not None:
        return case.hls_config(model)
    config = _config_from_keras_model(model, backend=case.backend, **case.config_kwargs)
    if case.edit is not None:
        case.edit(config)
    return config


def _plain(obj):
    """The config as plain YAML-able values (hls4ml's dicts may hold numpy scalars)."""
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


def write_inputs(case: Case, workdir: Path) -> tuple[list[np.ndarray], Path]:
    np.random.seed(0)
    xs = case.data()
    path = workdir / 'data.npz'
    if len(xs) == 1:
        np.savez(path, x=xs[0])
    else:
        np.savez(path, **{f'x{i}': x for i, x in enumerate(xs)})
    return xs, path


def write_config(case: Case, model, workdir: Path, data: Path, n: int) -> Path:
    import yaml

    cfg = {
        **({'KerasModel': str(workdir / 'model.keras')} if case.keras3 else {'KerasH5': str(workdir / 'model.h5')}),
        'OutputDir': str(workdir / 'prj'),
        'ProjectName': PROJECT,
        'Backend': case.backend,
        'IOType': case.io_type,
        'HLSConfig': _plain(hls_config_for(case, model)),
        'Validation': {'data': str(data), 'samples': n},
    }
    if case.part:
        cfg['Part'] = case.part
    path = workdir / 'config.yml'
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


@dataclass
class Outcome:
    id: str
    family: str
    source: str
    criterion: str
    outcome: str = ''  # 'meets' | 'fails' | 'fpgaml error'
    detail: str = ''  # assertion message or fpgaml's error line
    fpgaml_exit: int | None = None
    fpgaml_verdict: str = ''  # fpgaml's own C-simulation verdict: PASSED / FAILED / none
    fpgaml_message: str = ''  # its first failure line, or its error line
    clean: bool = True  # no Python traceback on the terminal
    seconds: float = 0.0
    hls4ml_outcome: str = ''  # the same case through hls4ml alone (run_hls4ml): 'meets' | 'fails' | 'error'
    hls4ml_detail: str = ''

    def to_json(self) -> dict:
        return dict(self.__dict__)


def _cli(config: Path, env_extra: dict | None = None, timeout: float = 1800) -> subprocess.CompletedProcess:
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get('PYTHONPATH', '')]).rstrip(os.pathsep),
        TF_USE_LEGACY_KERAS='1',
        NO_COLOR='1',
        COLUMNS='200',
        **(env_extra or {}),
    )
    return subprocess.run(
        [sys.executable, '-m', 'fpgaml.cli', 'build', str(config), '--force'],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def _error_line(text: str) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    for ln in lines:
        if ln.lower().startswith(('error', 'fpgaml: error')):
            return ln
    return lines[-1] if lines else ''


def firmware_predict(project_dir: Path, xs: list[np.ndarray], outputs: int = 1):
    """The compiled firmware of ``project_dir`` (fpgaml's C-simulation library, a compile-cache hit after the
    build) run on the raw inputs, as ``hls_model.predict(X)`` runs hls4ml's library in the test (every output
    of a multi-output model, as a list)."""
    from fpgaml.csim.compile import compile_library
    from fpgaml.csim.harness import CsimLibrary

    lib = CsimLibrary(compile_library(project_dir, PROJECT).path, threads=1)
    ys = lib.predict([np.asarray(x, dtype=np.float64) for x in xs], label='firmware')
    return ys[0] if outputs == 1 else list(ys)


def keras_predict(model, xs: list[np.ndarray]):
    from fpgaml.frontend import tf221_compat

    with contextlib.redirect_stdout(sys.stderr), tf221_compat():
        y = model.predict(xs[0] if len(xs) == 1 else xs, verbose=0)
    return [np.asarray(v) for v in y] if isinstance(y, (list, tuple)) else np.asarray(y)


def _judge(case: Case, y_hls, y_keras) -> tuple[str, str]:
    try:
        if case.outputs == 1:
            case.criterion(np.asarray(y_hls).reshape(y_keras.shape), y_keras)
        else:
            case.criterion(y_hls, y_keras)
        return 'meets', ''
    except AssertionError as e:
        return 'fails', ' '.join(ln.strip() for ln in str(e).strip().splitlines() if ln.strip())[:300]


def hls4ml_alone(case: Case, model, xs: list[np.ndarray], workdir: Path) -> tuple[str, str]:
    """The case as the hls4ml test runs it: ``convert_from_keras_model``, ``compile()``, ``predict()``
    (hls4ml's own build, no fpgaml code), judged by the same assertion."""
    import hls4ml
    import keras

    config = hls_config_for(case, model)
    kw = {'part': case.part} if case.part else {}
    from fpgaml.frontend import tf221_compat

    version = keras.__version__ if case.keras3 else '2.21.0'
    try:
        with (
            mock.patch.object(keras, '__version__', version),
            mock.patch.object(np, 'product', np.prod, create=True),
            tf221_compat(),
        ):
            hls_model = hls4ml.converters.convert_from_keras_model(
                model,
                hls_config=config,
                output_dir=str(workdir / 'hls4ml_prj'),
                backend=case.backend,
                io_type=case.io_type,
                **kw,
            )
            hls_model.compile()
        y_hls = hls_model.predict(xs[0] if len(xs) == 1 else xs)
        y_hls = np.asarray(y_hls) if case.outputs == 1 else list(y_hls)
    except Exception as e:  # noqa: BLE001 - recorded as the outcome
        return 'error', f'{type(e).__name__}: {e}'.splitlines()[0][:300]
    return _judge(case, y_hls, keras_predict(model, xs))


def run_case(case: Case, workdir: Path, with_hls4ml: bool = False) -> Outcome:
    """Build ``case`` with ``fpgaml build`` and judge the firmware by the hls4ml test's assertion; with
    ``with_hls4ml``, a case fpgaml does not pass is also run through hls4ml alone."""
    if case.keras3:
        import keras as K
    else:
        import tf_keras as K

    t0 = time.perf_counter()
    res = Outcome(case.id, case.family, case.source, case.criterion_text)
    workdir.mkdir(parents=True, exist_ok=True)
    K.utils.set_random_seed(0)
    model = case.build()
    model.save(workdir / ('model.keras' if case.keras3 else 'model.h5'))
    xs, data = write_inputs(case, workdir)
    config = write_config(case, model, workdir, data, xs[0].shape[0])

    proc = _cli(config)
    text = proc.stdout + '\n' + proc.stderr
    res.fpgaml_exit = proc.returncode
    res.clean = 'Traceback (most recent call last)' not in text
    report = workdir / 'prj' / 'fpgaml-report.json'
    csim = json.loads(report.read_text()).get('csim') if report.is_file() else None
    if csim is None:
        res.outcome, res.fpgaml_verdict = 'fpgaml error', 'none'
        res.detail = res.fpgaml_message = _error_line(proc.stderr or proc.stdout)
    else:
        res.fpgaml_verdict = 'PASSED' if csim['passed'] else 'FAILED'
        res.fpgaml_message = (csim.get('failures') or [''])[0]
        y_keras = keras_predict(model, xs)
        res.outcome, res.detail = _judge(case, firmware_predict(workdir / 'prj', xs, case.outputs), y_keras)
    if with_hls4ml and res.outcome != 'meets':
        res.hls4ml_outcome, res.hls4ml_detail = hls4ml_alone(case, model, xs, workdir)
    res.seconds = round(time.perf_counter() - t0, 1)
    return res
