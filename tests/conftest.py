"""Shared fixtures: small real models built by the tests themselves, a private compile cache."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]

os.environ.setdefault('TF_USE_LEGACY_KERAS', '1')


def pytest_configure(config):
    # C-simulation libraries compiled by the tests go to a cache inside the checkout, so tests never
    # depend on (or pollute) a developer's own cache.
    os.environ.setdefault('FPGAML_CACHE_DIR', str(REPO / '.pytest_cache' / 'fpgaml-csim'))
    # No replayed results: a test may change fpgaml's behaviour in-process (monkeypatch) where no cache key can
    # see it. The result cache's own tests (tests/test_result_cache.py) turn it on.
    os.environ['FPGAML_RESULT_CACHE'] = '0'


@pytest.fixture(scope='session')
def qkeras_mlp(tmp_path_factory) -> Path:
    """A QKeras 16-32-16-5 MLP, 6-bit quantized throughout, softmax output, saved as .h5."""
    import tf_keras as K
    from qkeras import QActivation, QDense, quantized_bits, quantized_relu

    d = tmp_path_factory.mktemp('qmlp')
    K.utils.set_random_seed(3)
    q = dict(kernel_quantizer=quantized_bits(6, 0, alpha=1), bias_quantizer=quantized_bits(6, 0, alpha=1))
    inp = K.layers.Input((16,), name='inputs')
    x = QDense(32, name='dense_1', **q)(inp)
    x = QActivation(quantized_relu(6), name='relu_1')(x)
    x = QDense(16, name='dense_2', **q)(x)
    x = QActivation(quantized_relu(6), name='relu_2')(x)
    x = QDense(5, name='dense_out', **q)(x)
    out = K.layers.Activation('softmax', name='softmax')(x)
    model = K.Model(inp, out)
    model.save(d / 'qmlp.h5')
    rng = np.random.default_rng(0)
    np.savez(d / 'val.npz', x=rng.normal(0, 1.5, (300, 16)).astype(np.float32))
    return d


@pytest.fixture(scope='session')
def keras3_mlp(tmp_path_factory) -> Path:
    """A float Keras-3 MLP saved as .keras (converted through hls4ml's Keras-3 parser)."""
    import keras

    d = tmp_path_factory.mktemp('k3')
    keras.utils.set_random_seed(5)
    m = keras.Sequential(
        [
            keras.layers.Input((8,), name='x'),
            keras.layers.Dense(12, activation='relu', name='hidden'),
            keras.layers.Dense(3, name='logits'),
        ]
    )
    m.save(d / 'k3.keras')
    rng = np.random.default_rng(1)
    np.save(d / 'val.npy', rng.uniform(-2, 2, (200, 8)).astype(np.float32))
    return d
