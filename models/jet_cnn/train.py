"""jet_cnn: the SVHN-paper CNN (Aarrestad et al. 2021) on 32x32 jet images, QKeras 6-bit QAT, 50% pruned.

Conv2D 16-16-24 (3x3, valid) each with batch normalization, ReLU and 2x2 max-pooling; Dense 42-64 with
batch normalization and ReLU; Dense 5 and softmax. io_stream firmware. Inputs are the square roots of the
pT-fraction images of the generated jet dataset, put on the firmware's input grid (ufixed<12,1>) before
training, so Keras and the firmware see the same numbers.

Batch normalization: a separate float BatchNormalization layer is a fixed-point scale and shift in
hls4ml's firmware, never bit-identical to Keras (measured: 87% argmax agreement, max |diff| 0.5 after
the softmax on a first attempt). So the network is trained with batch normalization (QAT), then every
batch normalization is folded into the preceding QConv2D / QDense (w' = w g / sqrt(v + eps), b' = (b - m)
g / sqrt(v + eps) + beta), the folded weights get 6-bit quantizers with the integer bits they need, and
the folded network is fine-tuned (QAT) for a few epochs. The committed model.h5 is the folded one: fully
quantized, hence compared bit for bit.

    python models/jet_cnn/train.py        # ~2.5 min on 2 cores; writes model.h5, val.npz, metrics.json
"""

import os
from pathlib import Path

os.environ.setdefault('TF_USE_LEGACY_KERAS', '1')
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

import numpy as np  # noqa: E402
import tensorflow_model_optimization as tfmot  # noqa: E402
import tf_keras as K  # noqa: E402
from qkeras import QActivation, QConv2D, QDense, quantized_bits, quantized_relu  # noqa: E402

from fpgaml.data import zoo  # noqa: E402

HERE = Path(__file__).parent
BITS, SPARSITY, EPOCHS, BATCH = 6, 0.5, 20, 128
FINE_TUNE_EPOCHS = 6
INPUT_FRAC_BITS = 11          # ufixed<12,1>
SAMPLE = 300
sparsity = tfmot.sparsity.keras


def on_grid(x):
    """sqrt(pT fraction) on the ufixed<12,1> grid: the square root tames the pixel distribution's tail,
    without which batch normalization's running statistics do not describe the batches (unstable
    validation accuracy)."""
    x = np.sqrt(x)
    return np.minimum(np.floor(x * 2 ** INPUT_FRAC_BITS), 2 ** (INPUT_FRAC_BITS + 1) - 1) / 2 ** INPUT_FRAC_BITS


def build(quantized: bool, steps_per_epoch: int):
    def prune(layer):
        sched = sparsity.PolynomialDecay(0.0, SPARSITY, begin_step=2 * steps_per_epoch,
                                         end_step=10 * steps_per_epoch, frequency=steps_per_epoch // 2)
        return sparsity.prune_low_magnitude(layer, pruning_schedule=sched)

    q = dict(kernel_quantizer=quantized_bits(BITS, 0, alpha=1), bias_quantizer=quantized_bits(BITS, 0, alpha=1))

    def conv(f, name):
        return prune(QConv2D(f, 3, name=name, use_bias=True, **q) if quantized else K.layers.Conv2D(f, 3, name=name))

    def dense(u, name):
        return prune(QDense(u, name=name, **q) if quantized else K.layers.Dense(u, name=name))

    def relu(name):
        return QActivation(quantized_relu(BITS, 2), name=name) if quantized else K.layers.ReLU(name=name)

    inp = K.layers.Input((32, 32, 1), name='image')
    x = inp
    for i, f in enumerate((16, 16, 24), 1):
        x = conv(f, f'conv{i}')(x)
        x = K.layers.BatchNormalization(momentum=0.9, name=f'bn{i}')(x)
        x = relu(f'relu{i}')(x)
        x = K.layers.MaxPooling2D(2, name=f'pool{i}')(x)
    x = K.layers.Flatten(name='flatten')(x)
    for i, u in enumerate((42, 64), 4):
        x = dense(u, f'fc{i}')(x)
        x = K.layers.BatchNormalization(momentum=0.9, name=f'bn{i}')(x)
        x = relu(f'relu{i}')(x)
    x = dense(5, 'output')(x)
    x = K.layers.Activation('softmax', name='softmax')(x)
    return K.Model(inp, x, name='jet_cnn' if quantized else 'jet_cnn_float')


def folded(model, steps_per_epoch):
    """The quantized model with every batch normalization folded into the layer before it (pruned weights
    stay zero: the folding scales them), 6-bit quantizers with enough integer bits, pruning kept at 50%."""
    qmodel = sparsity.strip_pruning(model)
    weights, ints = {}, {}
    for lay in qmodel.layers:
        if not lay.name.startswith(('conv', 'fc', 'output')):
            continue
        w, b = lay.get_weights()
        bn = f'bn{lay.name[-1]}' if lay.name != 'output' else None
        if bn is not None:
            g, beta, mean, var = qmodel.get_layer(bn).get_weights()
            s = g / np.sqrt(var + qmodel.get_layer(bn).epsilon)
            w, b = w * s, (b - mean) * s + beta
        weights[lay.name] = (w, b)
        ints[lay.name] = (max(0, int(np.ceil(np.log2(np.abs(w).max() + 1e-9)))),
                          max(0, int(np.ceil(np.log2(np.abs(b).max() + 1e-9)))))

    def prune(layer):
        sched = sparsity.ConstantSparsity(SPARSITY, 0, frequency=steps_per_epoch)
        return sparsity.prune_low_magnitude(layer, pruning_schedule=sched)

    def q(name):
        wi, bi = ints[name]
        return dict(kernel_quantizer=quantized_bits(BITS, wi, alpha=1),
                    bias_quantizer=quantized_bits(BITS, bi, alpha=1),
                    name=name)

    inp = K.layers.Input((32, 32, 1), name='image')
    x = inp
    for i, f in enumerate((16, 16, 24), 1):
        x = prune(QConv2D(f, 3, **q(f'conv{i}')))(x)
        x = QActivation(quantized_relu(BITS, 2), name=f'relu{i}')(x)
        x = K.layers.MaxPooling2D(2, name=f'pool{i}')(x)
    x = K.layers.Flatten(name='flatten')(x)
    for i, u in enumerate((42, 64), 4):
        x = prune(QDense(u, **q(f'fc{i}')))(x)
        x = QActivation(quantized_relu(BITS, 2), name=f'relu{i}')(x)
    x = prune(QDense(5, **q('output')))(x)
    x = K.layers.Activation('softmax', name='softmax')(x)
    new = K.Model(inp, x, name='jet_cnn')
    for lay in new.layers:
        if type(lay).__name__ == 'PruneLowMagnitude':
            lay.layer.set_weights(list(weights[lay.layer.name]))
    return new


def train(quantized, xtr, ytr, xva, yva):
    K.utils.set_random_seed(7)
    spe = int(np.ceil(len(ytr) / BATCH))
    model = build(quantized, spe)
    model.compile(optimizer=K.optimizers.Adam(3e-3), loss='sparse_categorical_crossentropy', metrics=['accuracy'])
    cbs = [sparsity.UpdatePruningStep(), K.callbacks.ReduceLROnPlateau(patience=3, factor=0.5, verbose=0)]
    model.fit(xtr, ytr, batch_size=BATCH, epochs=EPOCHS, validation_data=(xva, yva), callbacks=cbs, verbose=2)
    return model


def main():
    (xtr, ytr), (xva, yva), (xte, yte), meta = zoo.load_split('image')
    xtr, xva, xte = (on_grid(x)[..., None].astype(np.float32) for x in (xtr, xva, xte))
    fmodel = train(False, xtr, ytr, xva, yva)
    bnmodel = train(True, xtr, ytr, xva, yva)
    acc_f = float(fmodel.evaluate(xte, yte, verbose=0)[1])
    acc_bn = float(bnmodel.evaluate(xte, yte, verbose=0)[1])
    spe = int(np.ceil(len(ytr) / BATCH))
    qmodel = folded(bnmodel, spe)
    qmodel.compile(optimizer=K.optimizers.Adam(3e-4), loss='sparse_categorical_crossentropy', metrics=['accuracy'])
    acc_fold0 = float(qmodel.evaluate(xte, yte, verbose=0)[1])
    qmodel.fit(xtr, ytr, batch_size=BATCH, epochs=FINE_TUNE_EPOCHS, validation_data=(xva, yva),
               callbacks=[sparsity.UpdatePruningStep()], verbose=2)
    acc_q = float(qmodel.evaluate(xte, yte, verbose=0)[1])
    qmodel.save(HERE / 'model.h5', include_optimizer=False)   # with the pruning wrappers
    xs, ys = xte[:SAMPLE], yte[:SAMPLE]
    np.savez_compressed(HERE / 'val.npz', x=xs, y=ys)
    stripped = sparsity.strip_pruning(qmodel)
    metrics = {
        'representation': 'image (32x32, sqrt of the pT fraction per pixel, on the ufixed<12,1> grid)',
        'parameters': zoo.count_params(stripped), **zoo.pruning_summary(stripped),
        'precision': f'{BITS}-bit weights, biases and activations; batch normalization folded into the '
                     f'6-bit weights after QAT, then {FINE_TUNE_EPOCHS} epochs of fine-tuning',
        'quantized_with_bn_accuracy': round(acc_bn, 4), 'folded_before_fine_tune_accuracy': round(acc_fold0, 4),
        'float_accuracy': round(acc_f, 4), 'quantized_keras_accuracy': round(acc_q, 4),
        'test_jets': int(len(yte)),
        'sample_quantized_keras_accuracy': round(float(qmodel.evaluate(xs, ys, verbose=0)[1]), 4),
        'validation_samples': int(len(ys)),
        'dataset': zoo.dataset_record(meta),
    }
    zoo.write_metrics(HERE, metrics)
    metrics.update(zoo.csim(HERE / 'config.yml'))
    zoo.write_metrics(HERE, metrics)
    print({k: metrics[k] for k in ('float_accuracy', 'quantized_keras_accuracy', 'sparsity', 'csim_exact_fraction',
                                   'csim_accuracy')})


if __name__ == '__main__':
    main()
