"""jet_mlp: the hls4ml jet tagger, 16-64-32-32-5, QKeras 6-bit QAT, pruned to 50% with TF-MOT.

Trains on the 16 high-level features of the generated jet dataset (``fpgaml data jets``), standardised
with the training split's mean and std (recorded in ``metrics.json``: the firmware takes standardised
inputs). The model is saved STILL WRAPPED in TF-MOT pruning wrappers: fpgaml strips them when it loads.
A float twin (Dense + ReLU, same pruning, same schedule) is trained the same way for the comparison.

    python models/jet_mlp/train.py        # ~1-2 min on 2 cores; writes model.h5, val.npz, metrics.json
"""

import os
from pathlib import Path

os.environ.setdefault('TF_USE_LEGACY_KERAS', '1')
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

import numpy as np  # noqa: E402
import tensorflow_model_optimization as tfmot  # noqa: E402
import tf_keras as K  # noqa: E402
from qkeras import QActivation, QDense, quantized_bits, quantized_relu  # noqa: E402

from fpgaml.data import zoo  # noqa: E402

HERE = Path(__file__).parent
BITS, SPARSITY, EPOCHS, BATCH = 6, 0.5, 60, 256
SAMPLE = 2000
sparsity = tfmot.sparsity.keras


def prune(layer, steps_per_epoch):
    sched = sparsity.PolynomialDecay(0.0, SPARSITY, begin_step=5 * steps_per_epoch,
                                     end_step=30 * steps_per_epoch, frequency=steps_per_epoch)
    return sparsity.prune_low_magnitude(layer, pruning_schedule=sched)


def build(quantized: bool, steps_per_epoch: int):
    q = dict(kernel_quantizer=quantized_bits(BITS, 0, alpha=1), bias_quantizer=quantized_bits(BITS, 0, alpha=1))
    init = dict(kernel_initializer='lecun_uniform', kernel_regularizer=K.regularizers.l1(1e-4))
    inp = K.layers.Input((16,), name='input_1')
    x = inp
    for i, units in enumerate((64, 32, 32), 1):
        dense = QDense(units, name=f'fc{i}', **q, **init) if quantized else K.layers.Dense(units, name=f'fc{i}', **init)
        x = prune(dense, steps_per_epoch)(x)
        x = QActivation(quantized_relu(BITS), name=f'relu{i}')(x) if quantized else K.layers.ReLU(name=f'relu{i}')(x)
    out = QDense(5, name='output', **q, **init) if quantized else K.layers.Dense(5, name='output', **init)
    x = prune(out, steps_per_epoch)(x)
    x = K.layers.Activation('softmax', name='softmax')(x)
    return K.Model(inp, x, name='jet_mlp' if quantized else 'jet_mlp_float')


def train(quantized, xtr, ytr, xva, yva):
    K.utils.set_random_seed(7)
    spe = int(np.ceil(len(ytr) / BATCH))
    model = build(quantized, spe)
    model.compile(optimizer=K.optimizers.Adam(2e-3), loss='sparse_categorical_crossentropy', metrics=['accuracy'])
    cbs = [sparsity.UpdatePruningStep(), K.callbacks.ReduceLROnPlateau(patience=6, factor=0.5, verbose=0)]
    model.fit(xtr, ytr, batch_size=BATCH, epochs=EPOCHS, validation_data=(xva, yva), callbacks=cbs, verbose=2)
    return model


def main():
    (xtr, ytr), (xva, yva), (xte, yte), meta = zoo.load_split('hlf')
    mean, std = xtr.mean(0), xtr.std(0)

    def norm(x):
        return np.clip((x - mean) / std, -8, 8).astype(np.float32)

    xtr, xva, xte = norm(xtr), norm(xva), norm(xte)
    fmodel = train(False, xtr, ytr, xva, yva)
    qmodel = train(True, xtr, ytr, xva, yva)
    acc_f = float(fmodel.evaluate(xte, yte, verbose=0)[1])
    acc_q = float(qmodel.evaluate(xte, yte, verbose=0)[1])
    qmodel.save(HERE / 'model.h5', include_optimizer=False)   # with the pruning wrappers
    xs, ys = xte[:SAMPLE], yte[:SAMPLE]
    np.savez_compressed(HERE / 'val.npz', x=xs, y=ys)
    stripped = sparsity.strip_pruning(qmodel)
    metrics = {
        'representation': 'hlf (16 standardised high-level features)',
        'parameters': zoo.count_params(stripped), **zoo.pruning_summary(stripped),
        'precision': f'{BITS}-bit weights, biases and activations (QKeras quantized_bits / quantized_relu)',
        'float_accuracy': round(acc_f, 4), 'quantized_keras_accuracy': round(acc_q, 4),
        'test_jets': int(len(yte)),
        'sample_quantized_keras_accuracy': round(float(qmodel.evaluate(xs, ys, verbose=0)[1]), 4),
        'validation_samples': int(len(ys)),
        'standardisation': {'mean': mean.round(6).tolist(), 'std': std.round(6).tolist(), 'clip': 8},
        'dataset': zoo.dataset_record(meta),
    }
    zoo.write_metrics(HERE, metrics)
    metrics.update(zoo.csim(HERE / 'config.yml'))
    zoo.write_metrics(HERE, metrics)
    print({k: metrics[k] for k in ('float_accuracy', 'quantized_keras_accuracy', 'sparsity', 'csim_exact_fraction',
                                   'csim_accuracy')})


if __name__ == '__main__':
    main()
