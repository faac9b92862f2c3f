"""jet_binary (and jet_ternary): the jet-tagger MLP with binary / ternary weights and activations.

As in "Compressing deep neural networks on FPGAs to binary and ternary precision with hls4ml"
(Ngadiuba et al. 2020): every hidden layer is a QDense with binary (+-1) or ternary (-1, 0, +1) weights
and no bias, then batch normalization, then a binary / ternary activation (hls4ml folds the batch
normalization and the activation into one threshold per neuron). The input stays at 16-bit fixed point
(fixed<16,6> in config.yml). The output layer has 6-bit weights and biases and no batch normalization
(binary output weights give integer logits up to +-width, which saturate the softmax and stall training:
41-45% accuracy measured), so everything before the softmax is fixed-point arithmetic and the firmware
can be compared bit for bit (``bit_exact: on`` in config.yml: fpgaml's ``auto`` counts the batch
normalizations as float layers, but hls4ml folds each one with the activation after it into an exact
threshold). Layers are WIDTH x the jet_mlp widths (64-32-32): widened until the model is within 3 points
of its float twin (float twin: the same topology at the base width, float Dense + BN + ReLU, trained the
same way).

Training (measured on the 8x binary net, test accuracy; see the README): BinaryNet's training aids
(Courbariaux et al. 2016) -- latent weights clipped to [-1, 1] and a hard-tanh straight-through gradient
for the activations (QKeras's own gradient is the identity) -- 0.596 -> 0.616; Adam 1e-2 with cosine
decay 0.623; batch 64 instead of 256 0.645; Glorot instead of U(-1, 1) initial binary weights 0.654
(ternary keeps U(-1, 1): Glorot-sized weights all round to 0 and the net never trains, 0.197). The aids
change gradients only: the saved model is rebuilt with plain QActivation layers and the same weights.

    python models/jet_binary/train.py           # ~8 min on 2 cores
    python models/jet_ternary/train.py          # (imports this file with kind='ternary')
"""

import os
import sys
from pathlib import Path

os.environ.setdefault('TF_USE_LEGACY_KERAS', '1')
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf_keras as K  # noqa: E402
from qkeras import QActivation, QDense, binary, quantized_bits, ternary  # noqa: E402

from fpgaml.data import zoo  # noqa: E402

EPOCHS, BATCH, SAMPLE = 60, 64, 2000
LR = {'float': 1e-2, 'binary': 1e-2, 'ternary': 1e-2}
# Glorot-sized ternary weights would all round to 0 (threshold 0.5) and never train
INIT = {'binary': 'glorot_uniform', 'ternary': K.initializers.RandomUniform(-1, 1, seed=3)}
BASE = (64, 32, 32)
THRESHOLD_LIMIT = 2048  # > any reachable sum (inputs clipped, fan-in <= 512); < 4096, the range of fixed<24,13>


class TrainingActivation(K.layers.Layer):
    """Training-time stand-in for ``QActivation(q)``: the same forward values (q itself), but the
    hard-tanh straight-through gradient of BinaryNet (Courbariaux et al. 2016: zero where |x| > 1)
    instead of QKeras's identity gradient. Swapped back to QActivation before saving."""

    def __init__(self, quantizer, **kwargs):
        super().__init__(**kwargs)
        self.quantizer = quantizer

    def call(self, x):
        clipped = tf.clip_by_value(x, -1.0, 1.0)
        return clipped + tf.stop_gradient(self.quantizer(x) - clipped)


def _clip_latent(w):
    return tf.clip_by_value(w, -1.0, 1.0)


def quantizer(kind: str):
    return binary(alpha=1) if kind == 'binary' else ternary(alpha=1, threshold=0.5)


def build(kind: str, width: int, training: bool = False):
    """The model; ``training`` adds the BinaryNet training aids (clipped latent weights, hard-tanh
    straight-through activations) that change gradients only, never the forward pass."""
    units = [u * width for u in BASE]
    inp = K.layers.Input((16,), name='input_1')
    x = inp
    if kind == 'float':
        for i, u in enumerate(BASE, 1):
            x = K.layers.Dense(u, name=f'fc{i}')(x)
            x = K.layers.BatchNormalization(name=f'bn{i}')(x)
            x = K.layers.ReLU(name=f'relu{i}')(x)
        x = K.layers.Dense(5, name='output')(x)
        return K.Model(inp, K.layers.Activation('softmax', name='softmax')(x), name='jet_mlp_float_bn')
    for i, u in enumerate(units, 1):
        x = QDense(u, kernel_quantizer=quantizer(kind), use_bias=False, kernel_initializer=INIT[kind],
                   kernel_constraint=_clip_latent if training else None, name=f'fc{i}')(x)
        x = K.layers.BatchNormalization(name=f'bn{i}')(x)
        act = TrainingActivation if training else QActivation
        x = act(quantizer(kind), name=f'act{i}')(x)
    x = QDense(5, kernel_quantizer=quantized_bits(6, 0, alpha=1), bias_quantizer=quantized_bits(6, 0, alpha=1),
               name='output')(x)
    return K.Model(inp, K.layers.Activation('softmax', name='softmax')(x), name=f'jet_{kind}')


def train(kind, width, xtr, ytr, xva, yva):
    """Adam with cosine learning-rate decay, batch 64 (binary nets need many small steps); the float
    twin is trained exactly the same way."""
    K.utils.set_random_seed(7)
    model = build(kind, width, training=True)
    steps = EPOCHS * int(np.ceil(len(ytr) / BATCH))
    lr = K.optimizers.schedules.CosineDecay(LR[kind], steps, alpha=0.01)
    model.compile(optimizer=K.optimizers.Adam(lr), loss='sparse_categorical_crossentropy', metrics=['accuracy'])
    model.fit(xtr, ytr, batch_size=BATCH, epochs=EPOCHS, validation_data=(xva, yva), verbose=2)
    if kind == 'float':
        return model
    final = build(kind, width)  # the same weights without the training aids
    final.set_weights(model.get_weights())
    final.compile(loss='sparse_categorical_crossentropy', metrics=['accuracy'])
    return final


def positive_bn_scales(model, kind):
    """Make every batch-norm scale positive without changing the model: hls4ml folds BN + binary/ternary
    activation into a threshold assuming a positive scale (fpgaml refuses the conversion otherwise). For
    a neuron with gamma < 0, negate its kernel column, its moving mean and its gamma: the
    normalized value is unchanged, and the binary/ternary quantizers are odd (q(-w) = -q(w); exact zeros,
    which binary maps to +1, are nudged first).

    Binary only: a neuron whose threshold t = -bias / scale lies beyond any reachable input sum (|sum| <=
    512 here) is constant; its t is moved to +-THRESHOLD_LIMIT (same constant output), because hls4ml
    stores t in the default fixed<24,13> type, where e.g. t = 5498 wraps and flips the neuron (measured:
    0.4% bit-exact before, on the 8x binary net)."""
    for i in range(1, len(BASE) + 1):
        dense, bn = model.get_layer(f'fc{i}'), model.get_layer(f'bn{i}')
        (kernel,) = dense.get_weights()
        gamma, beta, mean, var = bn.get_weights()
        flip = gamma < 0
        if kind == 'binary':
            scale = gamma / np.sqrt(var + bn.epsilon)
            t = mean - beta / scale
            far = np.abs(t) > THRESHOLD_LIMIT
            if far.any():
                beta = np.where(far, -(np.sign(t) * THRESHOLD_LIMIT - mean) * scale, beta).astype(np.float32)
                bn.set_weights([gamma, beta, mean, var])
                print(f'{bn.name}: {int(far.sum())} constant neurons: threshold moved to +-{THRESHOLD_LIMIT}')
        if not flip.any():
            continue
        if kind == 'binary':
            kernel = np.where(kernel == 0, np.float32(1e-6), kernel)
        kernel[:, flip] *= -1
        gamma, mean = np.where(flip, -gamma, gamma), np.where(flip, -mean, mean)
        dense.set_weights([kernel])
        bn.set_weights([gamma, beta, mean, var])
        print(f'{bn.name}: {int(flip.sum())} negative scales made positive')
    return model


def main(kind: str = 'binary', here: Path | None = None, widths=(1, 2, 4, 8)):
    here = Path(here or Path(__file__).parent)
    (xtr, ytr), (xva, yva), (xte, yte), meta = zoo.load_split('hlf')
    mean, std = xtr.mean(0), xtr.std(0)

    def norm(x):
        return np.clip((x - mean) / std, -8, 8).astype(np.float32)

    xtr, xva, xte = norm(xtr), norm(xva), norm(xte)
    acc_f = float(train('float', 1, xtr, ytr, xva, yva).evaluate(xte, yte, verbose=0)[1])
    tried = {}
    for width in widths:
        model = train(kind, width, xtr, ytr, xva, yva)
        acc = float(model.evaluate(xte, yte, verbose=0)[1])
        tried[width] = round(acc, 4)
        print(f'{kind} width x{width}: test accuracy {acc:.4f} (float twin {acc_f:.4f})')
        if acc >= acc_f - 0.03:
            break
    positive_bn_scales(model, kind)
    assert float(model.evaluate(xte, yte, verbose=0)[1]) == acc, 'the sign flips changed the model'
    model.save(here / 'model.h5', include_optimizer=False)
    xs, ys = xte[:SAMPLE], yte[:SAMPLE]
    np.savez_compressed(here / 'val.npz', x=xs, y=ys)
    metrics = {
        'representation': 'hlf (16 standardised high-level features)',
        'width_multiplier': width, 'layers': [u * width for u in BASE] + [5],
        'accuracy_by_width': tried,
        'parameters': zoo.count_params(model), **zoo.pruning_summary(model),
        'precision': f'{kind} weights and activations; batch normalization folded into thresholds; '
                     f'output layer 6-bit weights and bias',
        'training': f'Adam {LR[kind]:g} with cosine decay, {EPOCHS} epochs, batch {BATCH}; latent weights clipped to '
                    f'[-1, 1] and hard-tanh straight-through activation gradients (training only); float twin '
                    f'Adam {LR["float"]:g}, same schedule',
        'float_accuracy': round(acc_f, 4), 'quantized_keras_accuracy': round(acc, 4),
        'test_jets': int(len(yte)),
        'sample_quantized_keras_accuracy': round(float(model.evaluate(xs, ys, verbose=0)[1]), 4),
        'validation_samples': int(len(ys)),
        'standardisation': {'mean': mean.round(6).tolist(), 'std': std.round(6).tolist(), 'clip': 8},
        'dataset': zoo.dataset_record(meta),
    }
    zoo.write_metrics(here, metrics)
    metrics.update(zoo.csim(here / 'config.yml'))
    zoo.write_metrics(here, metrics)
    print({k: metrics.get(k) for k in ('float_accuracy', 'quantized_keras_accuracy', 'width_multiplier',
                                       'csim_exact_fraction', 'csim_accuracy')})


if __name__ == '__main__':
    main(sys.argv[1] if len(sys.argv) > 1 else 'binary')
