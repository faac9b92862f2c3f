"""jet_hgq: a jet tagger trained with HGQ2 (heterogeneous quantization: a learned bit width per weight, per bias
and per input of every layer), 16-64-32-32-5, for distributed arithmetic (0 DSP) at a small LUT count.

Model: ``QDense`` 64 / 32 / 32 with ReLU and a ``QDense`` output of 5 logits (no softmax: the firmware's outputs are
the logits, the class is their argmax), kernels L1-regularised (1e-4, as jet_mlp). Quantizers as in the published
HGQ2 jet taggers (../shared/realmodels/hgq2-jsc, from the HGQ paper's artifact repository calad0i/hgq-ae): each
layer quantizes its inputs (``kif`` datalane quantizers, RND, WRAP, one width per feature; started at 1 integer
and 3 fractional bits), its kernel (``kbi``, RND, SAT_SYM, one width per weight; started at 4 bits) and its bias
(``kbi``, RND, WRAP). HGQ trains every width by gradient; the loss adds ``beta * EBOPs`` (HGQ's effective bit
operations, its resource proxy, ~ LUT + 55 x DSP), so widths shrink and weights prune to 0 bits as beta grows.
(The published taggers use ``QEinsumDenseBatchnorm``; in short runs here the batch-norm-free, L1-regularised form
lost less accuracy at the same EBOPs.)

Schedule (``SCHEDULE``, recorded in metrics.json), with HGQ's sugar callbacks (``FreeEBOPs``, ``BetaScheduler``
over a ``PieceWiseSchedule``, ``ParetoFront``): Adam, batch 512, cosine learning-rate decay with warm restarts;
beta 1e-7 while the model learns the task, a log-linear ramp that compresses it, then a long fine-tune at a small
constant beta in which accuracy recovers at about constant EBOPs. Every epoch that improves the (validation accuracy,
EBOPs) Pareto front after the warm-up is saved. Afterwards each saved checkpoint has its WRAP integer bits fixed on
the training split (``trace_minmax``, which also gives its exact EBOPs), and the model kept is the one with the best
validation-split accuracy among those within EBOPS_BUDGET: the EBOPs that, measured with ``fpgaml rtl`` (da4ml +
Yosys), stay under 11k LUT. The test split is used only to report. A float twin (Dense + ReLU, same sizes and L1)
is trained for the comparison column.

Inputs: the 16 high-level features of the generated jets (``zoo.load_split('hlf')``), standardised with the
training split's mean and std and clipped to [-8, 8] (recorded in metrics.json: the firmware takes standardised
inputs), exactly as jet_mlp.

    python models/jet_hgq/train.py                 # ~5 min on 2 shared cores (HGQ training ~4 min); writes
                                                   # model.keras, val.npz, metrics.json (and C-simulates the
                                                   # result, as every zoo model does)
    python models/jet_hgq/train.py --keep DIR      # also keep the Pareto checkpoints (and the history) in DIR
    python models/jet_hgq/train.py --select DIR    # no HGQ training: select again from the checkpoints in DIR

Seeded (NumPy, Python and Keras seeds; TensorFlow on CPU): a rerun retraces the run up to thread-scheduling
differences in float summation.
"""

import argparse
import json
import os
import shutil
import tempfile
import time
from math import cos, pi
from pathlib import Path

os.environ.setdefault('KERAS_BACKEND', 'tensorflow')
os.environ.setdefault('TF_USE_LEGACY_KERAS', '1')  # fpgaml's C-simulation step (zoo.csim) loads QKeras too
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')

import numpy as np  # noqa: E402

from fpgaml.data import zoo  # noqa: E402

HERE = Path(__file__).parent
SEED = 7
SAMPLE = 2000
BATCH = 512
L1 = 1e-4
EPOCHS = int(os.environ.get('JET_HGQ_EPOCHS', 900))
WARMUP, RAMP_END = 120, 360     # beta 1e-7 until WARMUP, log-linear ramp to BETA_MAX at RAMP_END, then BETA_FINE
BETA_LOW, BETA_MAX, BETA_FINE = 1e-7, 3e-5, 2e-6
BETA = [(0, BETA_LOW, 'constant'), (WARMUP, BETA_LOW, 'log'), (RAMP_END, BETA_MAX, 'constant'),
        (RAMP_END + 1, BETA_FINE, 'constant')]
# Measured, not HGQ's rule of thumb (EBOPs ~ LUT): on this task's sparse HGQ models da4ml + Yosys gave 0.24-0.43 LUT
# per EBOP (4.6k / 23k / 38k EBOPs -> 1.9k / 6.6k / 9.5k Yosys LUT), so 35k EBOPs stays under the 11k-LUT target.
EBOPS_BUDGET = int(os.environ.get('JET_HGQ_EBOPS_BUDGET', 35000))
SAVE_BELOW = 50000              # Pareto checkpoints are saved only at or below this many EBOPs
LR, LR_PERIOD, LR_DECAY, LR_MIN = 3e-3, 50, 0.97, 1e-5
FLOAT_EPOCHS = 100
SCHEDULE = {
    'optimizer': 'Adam', 'batch': BATCH, 'epochs': EPOCHS, 'kernel_l1': L1,
    'learning_rate': f'cosine decay with warm restarts: {LR:g} -> {LR_MIN:g} every {LR_PERIOD} epochs, '
                     f'each restart x{LR_DECAY}',
    'beta': f'{BETA_LOW:g} for epochs 0-{WARMUP}, log-linear to {BETA_MAX:g} at epoch {RAMP_END}, then '
            f'{BETA_FINE:g} to the end (fine-tune)',
    'checkpoints': f'Pareto front of (validation accuracy, EBOPs) over the epochs from {WARMUP} with EBOPs <= '
                   f'{SAVE_BELOW}',
    'selection': f'best validation-split accuracy with EBOPs <= {EBOPS_BUDGET} after trace_minmax on the '
                 f'training split',
    'initial_widths': 'inputs kif 1 integer + 3 fractional bits (RND, WRAP); kernels kbi 4 bits (RND, SAT_SYM); '
                      'biases kbi 4 bits (RND, WRAP)',
    'float_twin': f'Dense + ReLU, same sizes and L1, Adam 2e-3, batch 256, up to {FLOAT_EPOCHS} epochs, '
                  f'the best validation epoch kept',
}


def lr_at(epoch: int) -> float:
    cycle, t = divmod(epoch, LR_PERIOD)
    return LR_MIN + 0.5 * (LR - LR_MIN) * (1 + cos(pi * t / LR_PERIOD)) * LR_DECAY ** cycle


def build_hgq():
    import keras
    from hgq.config import QuantizerConfigScope
    from hgq.layers import QDense

    with (QuantizerConfigScope(place='weight', overflow_mode='SAT_SYM', b0=4, trainable=True),
          QuantizerConfigScope(place='bias', overflow_mode='WRAP', b0=4, trainable=True),
          QuantizerConfigScope(place='datalane', i0=1, f0=3)):
        inp = keras.Input((16,), name='inputs')
        x = inp
        for i, units in enumerate((64, 32, 32), 1):
            x = QDense(units, activation='relu', kernel_regularizer=keras.regularizers.l1(L1), name=f'fc{i}')(x)
        out = QDense(5, kernel_regularizer=keras.regularizers.l1(L1), name='output')(x)
    return keras.Model(inp, out, name='jet_hgq')


def build_float():
    import keras

    inp = keras.Input((16,), name='inputs')
    x = inp
    for i, units in enumerate((64, 32, 32), 1):
        x = keras.layers.Dense(units, activation='relu', kernel_regularizer=keras.regularizers.l1(L1),
                               name=f'fc{i}')(x)
    out = keras.layers.Dense(5, kernel_regularizer=keras.regularizers.l1(L1), name='output')(x)
    return keras.Model(inp, out, name='jet_hgq_float')


def accuracy(model, x, y) -> float:
    return float(np.mean(np.argmax(model.predict(x, batch_size=4096, verbose=0), axis=1) == y))


def train_float(xtr, ytr, xva, yva, xte, yte) -> float:
    import keras

    keras.utils.set_random_seed(SEED)
    m = build_float()
    m.compile(optimizer=keras.optimizers.Adam(2e-3),
              loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=['accuracy'])
    m.fit(xtr, ytr, batch_size=256, epochs=FLOAT_EPOCHS, validation_data=(xva, yva), verbose=0,
          callbacks=[keras.callbacks.ReduceLROnPlateau(patience=6, factor=0.5),
                     keras.callbacks.EarlyStopping('val_accuracy', patience=20, restore_best_weights=True)])
    return accuracy(m, xte, yte)


def train_hgq(xtr, ytr, xva, yva, ckpt: Path):
    import keras
    from hgq.utils.sugar import BetaScheduler, FreeEBOPs, ParetoFront, PieceWiseSchedule

    keras.utils.set_random_seed(SEED)
    model = build_hgq()
    model.compile(optimizer=keras.optimizers.Adam(LR),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=['accuracy'])
    history = []

    class Log(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            history.append({'epoch': epoch, 'ebops': int(logs['ebops']),
                            'val_accuracy': round(logs['val_accuracy'], 4), 'beta': float(f'{logs["beta"]:.3g}')})
            if epoch % 25 == 0 or epoch == EPOCHS - 1:
                print(f'epoch {epoch}: loss {logs["loss"]:.3f} acc {logs["accuracy"]:.4f} val_acc '
                      f'{logs["val_accuracy"]:.4f} ebops {int(logs["ebops"])} beta {logs["beta"]:.2e} '
                      f'lr {lr_at(epoch):.2e}', flush=True)

    pareto = ParetoFront(ckpt, ['val_accuracy', 'ebops'], [1, -1],
                         fname_format='epoch={epoch}-val_acc={val_accuracy:.4f}-ebops={ebops:.0f}.keras',
                         enable_if=lambda logs: logs['epoch'] >= WARMUP and logs['ebops'] <= SAVE_BELOW)
    cbs = [FreeEBOPs(), BetaScheduler(PieceWiseSchedule(BETA)), keras.callbacks.LearningRateScheduler(lr_at), Log(),
           pareto]
    t0 = time.perf_counter()
    model.fit(xtr, ytr, batch_size=BATCH, epochs=EPOCHS, validation_data=(xva, yva), callbacks=cbs, verbose=0)
    return history, time.perf_counter() - t0


def select(ckpt: Path, xtr, xva, yva):
    """(model, record) of the checkpoint with the best validation accuracy within EBOPS_BUDGET, and the front."""
    import keras
    from hgq.utils import trace_minmax

    front, best = [], None
    for path in sorted(ckpt.glob('*.keras'), key=lambda p: int(p.name.split('-')[0].split('=')[1])):
        m = keras.saving.load_model(path, compile=False)
        ebops = int(trace_minmax(m, xtr, batch_size=4096))
        rec = {'epoch': int(path.name.split('-')[0].split('=')[1]), 'ebops': ebops,
               'val_accuracy': round(accuracy(m, xva, yva), 4)}
        front.append(rec)
        if ebops <= EBOPS_BUDGET and (best is None or rec['val_accuracy'] > best[1]['val_accuracy']):
            best = (m, rec)
    if best is None:
        raise SystemExit(f'no checkpoint within {EBOPS_BUDGET} EBOPs: {front}')
    return best[0], best[1], front


def weight_stats(model) -> dict:
    """Parameters (kernels and biases), pruned kernel weights (0 bits, or quantized to 0) and the kernel widths HGQ
    learned (bits of the weights that are not pruned)."""
    import keras

    params = total = zero = 0
    bits = []
    for layer in model.layers:
        if getattr(layer, 'kq', None) is None:
            continue
        k = keras.ops.convert_to_numpy(layer.qkernel)
        b = np.broadcast_to(keras.ops.convert_to_numpy(layer.kq.bits), k.shape)
        params += k.size + int(np.prod(layer.bias.shape))
        total += k.size
        pruned = (b == 0) | (k == 0)
        zero += int(pruned.sum())
        bits.append(b[~pruned])
    b = np.round(np.concatenate(bits)).astype(int)
    return {'parameters': params, 'kernel_weights': total, 'zero_kernel_weights': zero,
            'sparsity': round(zero / max(total, 1), 4),
            'kernel_bits_of_nonzero_weights': {'mean': round(float(b.mean()), 2), 'max': int(b.max()),
                                               'histogram': {int(v): int(c) for v, c in
                                                             zip(*np.unique(b, return_counts=True))}}}


def main():
    ap = argparse.ArgumentParser(description='Train jet_hgq (see the module docstring).')
    ap.add_argument('--keep', type=Path, help='keep the Pareto checkpoints and the history in this folder')
    ap.add_argument('--select', type=Path, help='no HGQ training: select from the checkpoints kept in this folder')
    args = ap.parse_args()

    (xtr, ytr), (xva, yva), (xte, yte), meta = zoo.load_split('hlf')
    mean, std = xtr.mean(0), xtr.std(0)

    def norm(x):
        return np.clip((x - mean) / std, -8, 8).astype(np.float32)

    xtr, xva, xte = norm(xtr), norm(xva), norm(xte)
    import hgq  # noqa: F401 - registers HGQ2's layers
    import keras

    t0 = time.perf_counter()
    acc_f = train_float(xtr, ytr, xva, yva, xte, yte)
    float_s = time.perf_counter() - t0
    ckpt = args.select or args.keep or Path(tempfile.mkdtemp(prefix='jet_hgq-ckpt-'))
    try:
        if args.select:
            run = json.loads((ckpt / 'history.json').read_text())
        else:
            history, hgq_s = train_hgq(xtr, ytr, xva, yva, ckpt)
            run = {'history': history, 'hgq_seconds': round(hgq_s, 1)}
            (ckpt / 'history.json').write_text(json.dumps(run))
        model, chosen, front = select(ckpt, xtr, xva, yva)
    finally:
        if not (args.select or args.keep):
            shutil.rmtree(ckpt, ignore_errors=True)
    history = run['history']
    acc_q = accuracy(model, xte, yte)
    model.save(HERE / 'model.keras')
    xs, ys = xte[:SAMPLE], yte[:SAMPLE]
    np.savez_compressed(HERE / 'val.npz', x=xs, y=ys)
    metrics = {
        'representation': 'hlf (16 standardised high-level features)',
        'framework': f'HGQ2 {hgq.__version__} (Keras {keras.__version__}, {keras.backend.backend()} backend)',
        **weight_stats(model),
        'precision': 'heterogeneous (HGQ2): a learned width per kernel weight, per bias and per input feature of '
                     'each layer; pruned weights have 0 bits',
        'float_accuracy': round(acc_f, 4), 'quantized_keras_accuracy': round(acc_q, 4),
        'test_jets': int(len(yte)),
        'sample_quantized_keras_accuracy': round(accuracy(model, xs, ys), 4),
        'validation_samples': int(len(ys)),
        'ebops': chosen['ebops'], 'ebops_budget': EBOPS_BUDGET, 'chosen_epoch': chosen['epoch'],
        'chosen_val_accuracy': chosen['val_accuracy'],
        'pareto_front': front,
        'schedule': SCHEDULE, 'seed': SEED,
        'train_seconds': {'float_twin': round(float_s, 1), 'hgq': run['hgq_seconds']},
        'history_every_25_epochs': history[::25] + history[-1:],
        'standardisation': {'mean': mean.round(6).tolist(), 'std': std.round(6).tolist(), 'clip': 8},
        'dataset': zoo.dataset_record(meta),
    }
    zoo.write_metrics(HERE, metrics)
    metrics.update(zoo.csim(HERE / 'config.yml'))
    zoo.write_metrics(HERE, metrics)
    print({k: metrics[k] for k in ('float_accuracy', 'quantized_keras_accuracy', 'ebops', 'chosen_epoch',
                                   'sparsity', 'csim_exact_fraction', 'csim_accuracy')})


if __name__ == '__main__':
    main()
