"""jet_binary (and jet_ternary): the jet-tagger MLP with binary / ternary weights and activations.

As in "Compressing deep neural networks on FPGAs to binary and ternary precision with hls4ml"
(Ngadiuba et al. 2020): every hidden layer is a QDense with binary (+-1) or ternary (-1, 0, +1) weights
and no bias, then batch normalization, then a binary / ternary activation (hls4ml folds the batch
normalization and the activation into one threshold per neuron). The output layer has 6-bit weights
and biases and no batch normalization (binary output weights give integer logits up to +-width, which
saturate the softmax and stall training: 41-45% accuracy measured), so everything before the softmax is
fixed-point arithmetic and the firmware can be compared bit for bit (``bit_exact: on`` in config.yml:
fpgaml's ``auto`` counts the batch normalizations as float layers, but hls4ml folds each one with the
activation after it into an exact threshold). Layers are WIDTH x the jet_mlp
widths (64-32-32): widened until the model is within 3 points of its float twin (float twin: the same
topology at the base width, float Dense + BN + ReLU, trained the same way).

    python models/jet_binary/train.py           # ~2 min on 2 cores
    python models/jet_ternary/train.py          # (imports this file with kind='ternary')
"""

import os
import sys
from pathlib import Path

os.environ.setdefault('TF_USE_LEGACY_KERAS', '1')
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

import numpy as np  # noqa: E402
import tf_keras as K  # noqa: E402
from qkeras import QActivation, QDense, binary, quantized_bits, ternary  # noqa: E402

from fpgaml.data import zoo  # noqa: E402

EPOCHS, BATCH, SAMPLE = 60, 256, 2000
BASE = (64, 32, 32)


def build(kind: str, width: int):
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
    wq = binary(alpha=1) if kind == 'binary' else ternary(alpha=1, threshold=0.5)
    init = K.initializers.RandomUniform(-1, 1, seed=3)
    for i, u in enumerate(units, 1):
        x = QDense(u, kernel_quantizer=wq, use_bias=False, kernel_initializer=init, name=f'fc{i}')(x)
        x = K.layers.BatchNormalization(name=f'bn{i}')(x)
        aq = binary(alpha=1) if kind == 'binary' else ternary(alpha=1, threshold=0.5)
        x = QActivation(aq, name=f'act{i}')(x)
    x = QDense(5, kernel_quantizer=quantized_bits(6, 0, alpha=1), bias_quantizer=quantized_bits(6, 0, alpha=1),
               name='output')(x)
    return K.Model(inp, K.layers.Activation('softmax', name='softmax')(x), name=f'jet_{kind}')


def train(kind, width, xtr, ytr, xva, yva):
    K.utils.set_random_seed(7)
    model = build(kind, width)
    model.compile(optimizer=K.optimizers.Adam(1e-3 if kind != 'float' else 3e-3),
                  loss='sparse_categorical_crossentropy', metrics=['accuracy'])
    cbs = [K.callbacks.ReduceLROnPlateau(patience=4, factor=0.5, verbose=0)]
    model.fit(xtr, ytr, batch_size=BATCH, epochs=EPOCHS, validation_data=(xva, yva), callbacks=cbs, verbose=2)
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
