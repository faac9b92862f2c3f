"""Train the shipped reference model: a QKeras jet-tagger MLP 16-64-32-32-5 (6-bit weights and activations).

The data are a synthetic stand-in for the hls4ml LHC jet dataset's 16 high-level features (5 classes:
g, q, W, Z, t): seeded Gaussian mixtures with class-dependent means and correlations, standardised.
They are NOT physics; the real jet data and the full model zoo are separate work (see README).

    python models/reference_mlp/train.py      # ~30 s on 2 CPU cores; writes model.h5, val.npz, metrics.json
"""

import json
import os
from pathlib import Path

os.environ.setdefault('TF_USE_LEGACY_KERAS', '1')
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf_keras as K  # noqa: E402
from qkeras import QActivation, QDense, quantized_bits, quantized_relu  # noqa: E402

HERE = Path(__file__).parent
N_FEATURES, N_CLASSES = 16, 5


def make_data(n, seed):
    rng = np.random.default_rng(seed)
    means = np.random.default_rng(1234).normal(0, 0.25, (N_CLASSES, N_FEATURES))
    mixes = np.random.default_rng(4321).normal(0, 0.12, (N_CLASSES, N_FEATURES, N_FEATURES))
    y = rng.integers(0, N_CLASSES, n)
    z = rng.normal(0, 1, (n, N_FEATURES))
    x = means[y] + np.einsum('nij,nj->ni', mixes[y], z) + 0.6 * z
    x = (x - x.mean(0)) / x.std(0)
    return x.astype(np.float32), y


def build():
    q = dict(kernel_quantizer=quantized_bits(6, 0, alpha=1), bias_quantizer=quantized_bits(6, 0, alpha=1),
             kernel_initializer='lecun_uniform')
    inp = K.layers.Input((N_FEATURES,), name='input_1')
    x = QDense(64, name='fc1', **q)(inp)
    x = QActivation(quantized_relu(6), name='relu1')(x)
    x = QDense(32, name='fc2', **q)(x)
    x = QActivation(quantized_relu(6), name='relu2')(x)
    x = QDense(32, name='fc3', **q)(x)
    x = QActivation(quantized_relu(6), name='relu3')(x)
    x = QDense(N_CLASSES, name='output', **q)(x)
    out = K.layers.Activation('softmax', name='softmax')(x)
    return K.Model(inp, out, name='reference_mlp')


def main():
    tf.random.set_seed(7)
    np.random.seed(7)
    x, y = make_data(60000, seed=1)
    xv, yv = make_data(1000, seed=2)
    model = build()
    model.compile(optimizer=K.optimizers.Adam(3e-3), loss='sparse_categorical_crossentropy', metrics=['accuracy'])
    model.fit(x, y, batch_size=512, epochs=12, validation_split=0.1, verbose=2)
    acc = float(model.evaluate(xv, yv, verbose=0)[1])
    model.save(HERE / 'model.h5', include_optimizer=False)
    np.savez_compressed(HERE / 'val.npz', x=xv, y=yv)
    (HERE / 'metrics.json').write_text(json.dumps({'quantized_keras_accuracy': round(acc, 4),
                                                   'validation_samples': len(yv)}, indent=2) + '\n')
    print(f'validation accuracy (quantized Keras): {acc:.4f}')


if __name__ == '__main__':
    main()
