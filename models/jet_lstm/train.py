"""jet_lstm (and jet_gru): a QKeras QLSTM / QGRU on constituent sequences, with a float twin.

Input: the 32 highest-pT constituents of the jet, pT-ordered, (pT/pT_jet, d-eta, d-phi), with d-eta and d-phi
scaled by 4, put on a 12-fractional-bit grid before training (the firmware input type is fixed<18,6>).
Model: QLSTM(UNITS) (or QGRU) with 6-bit weights, recurrent weights and biases, then QDense(16) + 6-bit
ReLU, QDense(5) and softmax.

GRU: ``reset_after=True`` (tf.keras's default, not QKeras's): hls4ml 1.3.0 computes only that form (fpgaml
rejects ``reset_after=False``, whose firmware hls4ml would write with scalar biases).

Activations: ``quantized_tanh(8, use_real_tanh=True)`` and ``quantized_sigmoid(8, use_real_sigmoid=True)``,
with state quantizers (``STATE``): every tensor of the cell is on a fixed-point grid, and fpgaml computes the
cell exactly (its exact cell, with the activations as threshold tables built from QKeras's own float32
functions), so the firmware equals Keras bit for bit (config.yml: bit_exact auto). The quantized model is
trained from its float twin (LSTM) or from scratch (GRU) and keeps the weights of its best validation epoch.

    python models/jet_lstm/train.py          # ~5 min on 2 cores (1 TF thread)
    python models/jet_gru/train.py           # (imports this file with kind='gru')
"""

import os
import sys
from pathlib import Path

os.environ.setdefault('TF_USE_LEGACY_KERAS', '1')
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

import numpy as np  # noqa: E402
import tf_keras as K  # noqa: E402
from qkeras import QGRU, QLSTM, QActivation, QDense, quantized_bits, quantized_relu  # noqa: E402
from qkeras import quantized_sigmoid, quantized_tanh  # noqa: E402

from fpgaml.data import zoo  # noqa: E402
from fpgaml.frontend import tf221_compat  # noqa: E402

BITS, UNITS, EPOCHS, BATCH, SAMPLE = 6, 16, 25, 128, 500
FRAC = 12                                       # 12 fractional bits; the firmware input type is fixed<18,6>
SCALE = np.array([1.0, 4.0, 4.0], np.float32)   # d-eta, d-phi x 4 (|d| < 0.8 -> < 3.2): order-1 inputs
# State quantizers (QKeras applies them to the carried h and c at the start of every step): with them every
# tensor of the cell is on a fixed-point grid, so the firmware computes the cell bit for bit (fpgaml's exact
# recurrent cell). LSTM: one quantizer for h (in (-1, 1)) and c (which can grow past 1): 2^-7 grid on [-4, 4).
# GRU: h stays in (-1, 1): 2^-7 grid on [-1, 1); 8 bits keep x_h + r * (U_h h + b_rh) within float32's 24
# significant bits for |.| < 16, so Keras computes it exactly too.
STATE = {'lstm': lambda: quantized_bits(10, 2, alpha=1), 'gru': lambda: quantized_bits(8, 0, alpha=1)}


def on_grid(x):
    x = x * SCALE
    return np.clip(np.round(x * 2 ** FRAC), -2 ** (FRAC + 2), 2 ** (FRAC + 2) - 1) / 2 ** FRAC


def build(kind: str, quantized: bool):
    inp = K.layers.Input((32, 3), name='constituents')
    q = dict(kernel_quantizer=quantized_bits(BITS, 0, alpha=1), bias_quantizer=quantized_bits(BITS, 0, alpha=1))
    if quantized:
        rnn = QLSTM if kind == 'lstm' else QGRU
        extra = {} if kind == 'lstm' else {'reset_after': True}  # QGRU defaults to False: hls4ml computes only True
        x = rnn(UNITS, activation=quantized_tanh(8, use_real_tanh=True),
                recurrent_activation=quantized_sigmoid(8, use_real_sigmoid=True),
                recurrent_quantizer=quantized_bits(BITS, 0, alpha=1), state_quantizer=STATE[kind](),
                name='rnn', **q, **extra)(inp)
        x = QDense(16, name='fc1', **q)(x)
        x = QActivation(quantized_relu(BITS), name='relu1')(x)
        x = QDense(5, name='output', **q)(x)
    else:
        rnn = K.layers.LSTM if kind == 'lstm' else K.layers.GRU
        extra = {} if kind == 'lstm' else {'reset_after': True}
        x = rnn(UNITS, recurrent_activation='sigmoid', name='rnn', **extra)(inp)
        x = K.layers.Dense(16, activation='relu', name='fc1')(x)
        x = K.layers.Dense(5, name='output')(x)
    x = K.layers.Activation('softmax', name='softmax')(x)
    return K.Model(inp, x, name=f'jet_{kind}' + ('' if quantized else '_float'))


class BestWeights(K.callbacks.Callback):
    """Keep the weights of the epoch with the best validation accuracy (restored when training ends): the
    quantized models' validation accuracy jumps by a few points between the last epochs."""

    def on_train_begin(self, logs=None):
        self.best, self.weights = -1.0, None

    def on_epoch_end(self, epoch, logs=None):
        if logs['val_accuracy'] > self.best:
            self.best, self.weights = logs['val_accuracy'], self.model.get_weights()

    def on_train_end(self, logs=None):
        if self.weights is not None:
            self.model.set_weights(self.weights)


def train(kind, quantized, xtr, ytr, xva, yva, start=None):
    """Train one model; ``start`` (the float twin) initialises the quantized one (weights clipped to the
    quantizers' [-1, 1] range) and it then trains at a lower learning rate."""
    K.utils.set_random_seed(7)
    model = build(kind, quantized)
    if start is not None:
        for name in ('rnn', 'fc1', 'output'):
            model.get_layer(name).set_weights([np.clip(w, -1, 1) for w in start.get_layer(name).get_weights()])
    lr = 1e-3 if start is not None else 3e-3
    model.compile(optimizer=K.optimizers.Adam(lr), loss='sparse_categorical_crossentropy', metrics=['accuracy'])
    cbs = [K.callbacks.ReduceLROnPlateau(patience=3, factor=0.5, verbose=0)] + ([BestWeights()] if quantized else [])
    model.fit(xtr, ytr, batch_size=BATCH, epochs=EPOCHS, validation_data=(xva, yva), callbacks=cbs, verbose=2)
    return model


def main(kind: str = 'lstm', here: Path | None = None, config: str = 'config.yml', csim: bool = True):
    with tf221_compat():  # QKeras 0.9.0's QGRU on TensorFlow 2.21 (tf.nest.is_sequence)
        _main(kind, here, config, csim)


def _main(kind, here, config, csim):
    here = Path(here or Path(__file__).parent)
    (xtr, ytr), (xva, yva), (xte, yte), meta = zoo.load_split('sequence')
    xtr, xva, xte = (on_grid(x).astype(np.float32) for x in (xtr, xva, xte))
    twin = train(kind, False, xtr, ytr, xva, yva)
    acc_f = float(twin.evaluate(xte, yte, verbose=0)[1])
    # With state quantizers: QLSTM started from its float twin 0.5704 (twin 0.572); QGRU from scratch 0.5584
    # (twin 0.5528). (Without them, a QLSTM from scratch ended 1.6 points below its twin.)
    model = train(kind, True, xtr, ytr, xva, yva, start=twin if kind == 'lstm' else None)
    acc_q = float(model.evaluate(xte, yte, verbose=0)[1])
    model.save(here / 'model.h5', include_optimizer=False)
    xs, ys = xte[:SAMPLE], yte[:SAMPLE]
    np.savez_compressed(here / 'val.npz', x=xs, y=ys)
    metrics = {
        'representation': 'sequence (32 constituents x (pT fraction, 4 d-eta, 4 d-phi), on a 12-fractional-bit grid)',
        'parameters': zoo.count_params(model), **zoo.pruning_summary(model),
        'precision': f'{BITS}-bit weights / recurrent weights / biases; 8-bit real tanh and sigmoid in the '
                     f'recurrent layer (fpgaml\'s exact threshold tables); state quantizer '
                     f'{STATE[kind]().__str__()}; {BITS}-bit ReLU',
        'float_accuracy': round(acc_f, 4), 'quantized_keras_accuracy': round(acc_q, 4),
        'test_jets': int(len(yte)),
        'sample_quantized_keras_accuracy': round(float(model.evaluate(xs, ys, verbose=0)[1]), 4),
        'validation_samples': int(len(ys)),
        'dataset': zoo.dataset_record(meta),
    }
    zoo.write_metrics(here, metrics)
    if not csim:
        return
    metrics.update(zoo.csim(here / config))
    zoo.write_metrics(here, metrics)
    print({k: metrics.get(k) for k in ('float_accuracy', 'quantized_keras_accuracy', 'csim_mode',
                                       'csim_argmax_agreement', 'csim_accuracy')})


if __name__ == '__main__':
    main(sys.argv[1] if len(sys.argv) > 1 else 'lstm', csim='--no-csim' not in sys.argv)
