"""Train the reference CNN: a small QKeras CNN on 16x16 synthetic "jet images", for io_stream firmware.

Conv2D(8, 3x3) - ReLU - MaxPool 2x2 - Conv2D(8, 3x3) - ReLU - MaxPool 2x2 - Dense(5) - softmax, with
6-bit weights and activations. The images are a synthetic stand-in (seeded blobs whose number,
spread and energy sharing depend on the class, like 1-, 2- and 3-prong jets); they are NOT physics.

    python models/reference_cnn/train.py     # ~1 minute on 2 CPU cores; writes model.h5, val.npz, metrics.json
"""

import json
import os
from pathlib import Path

os.environ.setdefault('TF_USE_LEGACY_KERAS', '1')
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf_keras as K  # noqa: E402
from qkeras import QActivation, QConv2D, QDense, quantized_bits, quantized_relu  # noqa: E402

HERE = Path(__file__).parent
SIZE, N_CLASSES = 16, 5


def make_images(n, seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, N_CLASSES, n)
    prongs = np.array([1, 1, 2, 2, 3])[y]
    spread = np.array([3.0, 1.8, 1.2, 1.2, 1.0])[y]
    yy, xx = np.mgrid[0:SIZE, 0:SIZE]
    img = np.zeros((n, SIZE, SIZE), np.float32)
    for i in range(n):
        for p in range(prongs[i]):
            cy, cx = rng.normal(SIZE / 2, 2.0 + 1.5 * p, 2)
            e = rng.uniform(0.5, 1.0) / (1 + p)
            img[i] += e * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * spread[i] ** 2))
    img += rng.exponential(0.02, img.shape)
    img = 3.5 * img / img.max(axis=(1, 2), keepdims=True)
    return img[..., None], y


def build():
    q = dict(kernel_quantizer=quantized_bits(6, 0, alpha=1), bias_quantizer=quantized_bits(6, 0, alpha=1))
    inp = K.layers.Input((SIZE, SIZE, 1), name='image')
    x = QConv2D(8, 3, name='conv1', **q)(inp)
    x = QActivation(quantized_relu(6, 2), name='relu1')(x)
    x = K.layers.MaxPooling2D(2, name='pool1')(x)
    x = QConv2D(8, 3, name='conv2', **q)(x)
    x = QActivation(quantized_relu(6, 2), name='relu2')(x)
    x = K.layers.MaxPooling2D(2, name='pool2')(x)
    x = K.layers.Flatten(name='flatten')(x)
    x = QDense(N_CLASSES, name='output', **q)(x)
    out = K.layers.Activation('softmax', name='softmax')(x)
    return K.Model(inp, out, name='reference_cnn')


def main():
    tf.random.set_seed(7)
    x, y = make_images(12000, seed=1)
    xv, yv = make_images(300, seed=2)
    model = build()
    model.compile(optimizer=K.optimizers.Adam(3e-3), loss='sparse_categorical_crossentropy', metrics=['accuracy'])
    model.fit(x, y, batch_size=256, epochs=6, validation_split=0.1, verbose=2)
    acc = float(model.evaluate(xv, yv, verbose=0)[1])
    model.save(HERE / 'model.h5', include_optimizer=False)
    np.savez_compressed(HERE / 'val.npz', x=xv, y=yv)
    (HERE / 'metrics.json').write_text(json.dumps({'quantized_keras_accuracy': round(acc, 4),
                                                   'validation_samples': len(yv)}, indent=2) + '\n')
    print(f'validation accuracy (quantized Keras): {acc:.4f}')


if __name__ == '__main__':
    main()
