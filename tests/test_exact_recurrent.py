"""Exact quantized activations and exact QLSTM / QGRU cells (fpgaml/convert/exact_activation.py,
nnet_fpgaml_activation.h, nnet_fpgaml_recurrent.h, the exact_* passes).

* every exact activation, on every input code of a grid wider than its non-saturated range, equals QKeras's own
  function: the thresholds, the binned table's arithmetic in numpy, and the C++ table compiled with g++;
* a feed-forward model with QActivation(quantized_sigmoid(8)) / quantized_tanh(8) (real and hard) is bit-exact;
* QLSTM / QGRU with a state quantizer are bit-exact under ``bit_exact: auto`` (also behind a quantized input
  activation, whose type differs from the state type, and with hard activations); without one, tolerances and
  a note naming the float state;
* hls4ml's table_size cell stays available, and compiles when the input type differs from its one type;
* the estimator prices the threshold tables.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
from fpgaml_testutil import write

from fpgaml.convert.exact_activation import binned_table, code_range, cpp_table, evaluate, step_function
from fpgaml.fixed import Fixed

GRID = Fixed(18, 6)  # 2^-12 steps on [-32, 32): wider than any non-saturated range below


def _quantizers():
    from qkeras import quantized_sigmoid, quantized_tanh

    return {
        'sigmoid8_real': quantized_sigmoid(8, use_real_sigmoid=True),
        'tanh8_real': quantized_tanh(8, use_real_tanh=True),
        'sigmoid8_hard': quantized_sigmoid(8),
        'tanh8_hard': quantized_tanh(8),
        'sigmoid6_real_symmetric': quantized_sigmoid(6, symmetric=True, use_real_sigmoid=True),
        'tanh4_real': quantized_tanh(4, use_real_tanh=True),
    }


@pytest.mark.parametrize('name', list(_quantizers()))
def test_exact_activation_is_qkeras_on_every_input_code(name):
    q = _quantizers()[name]
    step = step_function(q, GRID)
    table = binned_table(step)
    lo, hi = code_range(GRID)
    codes = np.arange(lo, hi + 1)
    want = evaluate(q, codes, GRID.fractional, step.out_type.fractional)
    assert want.min() == step.out_lo and want.max() == step.out_hi  # the grid covers both saturations
    assert np.array_equal(step(codes), want)
    assert np.array_equal(table(codes), want)
    if name.endswith('8_real'):  # hls4ml's default table holds 1024 entries (and is not exact)
        assert table.entries <= 1024, table.entries


@pytest.mark.slow
def test_exact_activation_tables_in_cpp_are_qkeras(tmp_path):
    """The C++ tables (as fpgaml renders them) through nnet::fpgaml_step, on every input code, compiled."""
    import hls4ml

    qs = _quantizers()
    steps = {n: step_function(q, GRID) for n, q in qs.items()}
    structs = ''.join(cpp_table(f'T_{n}', binned_table(s), indent='') for n, s in steps.items())
    lo, hi = code_range(GRID)
    calls = ''.join(
        f'    {{ ap_fixed<18,6> x; x.range(17, 0) = ap_int<18>(c); auto y = nnet::fpgaml_step<T_{n}>(x);'
        f' std::printf("%d ", (int)(y.to_double() * {2**s.out_type.fractional})); }}\n'
        for n, s in steps.items()
    )
    src = (
        '#include <cstdio>\n#include "nnet_fpgaml_activation.h"\n'
        + structs
        + f'int main() {{ for (long c = {lo}; c <= {hi}; c++) {{\n{calls}    std::printf("\\n"); }} }}\n'
    )
    (tmp_path / 't.cpp').write_text(src)
    tpl = Path(hls4ml.__file__).parent / 'templates' / 'vivado'
    fw = Path(__file__).resolve().parents[1] / 'fpgaml' / 'firmware_templates'
    subprocess.run(
        [
            'g++',
            '-O1',
            '-std=c++14',
            f'-I{tpl / "ap_types"}',
            f'-I{tpl / "nnet_utils"}',
            f'-I{fw}',
            str(tmp_path / 't.cpp'),
            '-o',
            str(tmp_path / 't'),
        ],
        check=True,
        capture_output=True,
    )
    out = subprocess.run([str(tmp_path / 't')], check=True, capture_output=True, text=True).stdout
    got = np.array(out.split(), dtype=np.int64).reshape(hi - lo + 1, len(steps))
    codes = np.arange(lo, hi + 1)
    for k, (n, s) in enumerate(steps.items()):
        want = evaluate(qs[n], codes, GRID.fractional, s.out_type.fractional)
        assert np.array_equal(got[:, k], want), n


def _build(tmp_path, model, x, extra=''):
    from fpgaml.config import load_config
    from fpgaml.flow import build
    from fpgaml.frontend import tf221_compat

    model.save(tmp_path / 'm.h5')
    np.savez(tmp_path / 'v.npz', x=x.astype(np.float32))
    cfg = write(
        tmp_path / 'c.yml',
        'model: m.h5\nname: m\nvalidation: {data: v.npz}\nbit_exact: auto\n'
        'precision: {default: "fixed<16,6>", input: "fixed<12,4>"}\n'
        'tolerance: {max_abs_diff: 2.0, argmax_agreement: 0.0}\n' + extra,
    )
    with tf221_compat():
        return build(load_config(cfg, output_dir=tmp_path / 'prj'), csim=True, force=True)


def _notes(res, name):
    return [c.what for r in res.conversion.flow if r.name == name for c in r.changes]


@pytest.mark.slow
def test_feed_forward_quantized_sigmoid_and_tanh_are_bit_exact(tmp_path):
    import tf_keras as K
    from qkeras import QActivation, QDense, quantized_bits, quantized_sigmoid, quantized_tanh

    K.utils.set_random_seed(3)
    q = dict(kernel_quantizer=quantized_bits(6, 0, alpha=1), bias_quantizer=quantized_bits(6, 0, alpha=1))
    inp = K.layers.Input((4,))
    x = inp
    for i, act in enumerate(
        [
            quantized_sigmoid(8, use_real_sigmoid=True),
            quantized_tanh(8),
            quantized_sigmoid(8),
            quantized_tanh(8, use_real_tanh=True),
        ]
    ):
        x = QDense(8, name=f'd{i}', **q)(x)
        x = QActivation(act, name=f'a{i}')(x)
    xs = np.round(np.random.default_rng(0).uniform(-8, 8, (1000, 4)) * 256) / 256
    res = _build(tmp_path, K.Model(inp, x), xs)
    c = res.csim
    assert c.mode == 'bit-exact' and c.exact_fraction == 1.0 and c.passed, (c.mode, c.exact_fraction, c.failures)
    notes = _notes(res, 'exact_quantized_activations')
    assert len(notes) == 4 and all('exact threshold table' in n for n in notes), notes
    cpp = (tmp_path / 'prj' / 'firmware' / 'm.cpp').read_text()
    assert cpp.count('nnet::fpgaml_exact_activation<') == 4


def _rnn_model(kind: str, state: bool, pre: bool, hard: bool = False):
    import tf_keras as K
    from qkeras import QGRU, QLSTM, QActivation, quantized_bits, quantized_sigmoid, quantized_tanh

    from fpgaml.frontend import tf221_compat

    K.utils.set_random_seed(3)
    q = dict(
        kernel_quantizer=quantized_bits(6, 0, alpha=1),
        bias_quantizer=quantized_bits(6, 0, alpha=1),
        recurrent_quantizer=quantized_bits(6, 0, alpha=1),
    )
    if state:
        q['state_quantizer'] = quantized_bits(10, 2, alpha=1) if kind == 'lstm' else quantized_bits(8, 0, alpha=1)
    extra = {'reset_after': True} if kind == 'gru' else {}
    inp = K.layers.Input((8, 3))
    x = QActivation(quantized_bits(8, 2, alpha=1), name='qin')(inp) if pre else inp
    with tf221_compat():
        x = (QLSTM if kind == 'lstm' else QGRU)(
            6,
            activation=quantized_tanh(8, use_real_tanh=not hard),
            recurrent_activation=quantized_sigmoid(8, use_real_sigmoid=not hard),
            name='rnn',
            **q,
            **extra,
        )(x)
        m = K.Model(inp, x)
    rnn = m.get_layer('rnn')
    rnn.set_weights([np.random.default_rng(1).uniform(-1, 1, w.shape).astype(np.float32) for w in rnn.get_weights()])
    xs = np.round(np.random.default_rng(0).uniform(-4, 4, (500, 8, 3)) * 64) / 64
    return m, xs


@pytest.mark.slow
@pytest.mark.parametrize('kind,pre,hard', [('lstm', True, False), ('gru', False, False), ('lstm', False, True)])
def test_recurrent_with_state_quantizer_is_bit_exact(tmp_path, kind, pre, hard):
    """With a quantized input activation in front (its type differs from the state's) the cell still compiles
    and is exact: fpgaml's cell takes any input type. Hard activations (which hls4ml rejects in recurrent
    layers) too."""
    model, xs = _rnn_model(kind, state=True, pre=pre, hard=hard)
    res = _build(tmp_path, model, xs)
    c = res.csim
    assert res.conversion.bit_exact, res.conversion.bit_exact_reason
    assert c.mode == 'bit-exact' and c.exact_fraction == 1.0 and c.passed, (c.mode, c.exact_fraction, c.failures)
    (note,) = _notes(res, 'exact_recurrent_cells')
    assert 'exact: every tensor is on a fixed-point grid' in note, note
    cpp = (tmp_path / 'prj' / 'firmware' / 'm.cpp').read_text()
    assert f'nnet::fpgaml_{kind}_stack<' in cpp


@pytest.mark.slow
def test_recurrent_without_state_quantizer_uses_tolerances_and_says_why(tmp_path):
    model, xs = _rnn_model('gru', state=False, pre=False)
    res = _build(tmp_path, model, xs)
    assert not res.conversion.bit_exact and res.csim.mode == 'tolerance'
    reason = res.conversion.bit_exact_reason
    assert 'rnn' in reason and 'float state h' in reason and 'state_quantizer=quantized_bits' in reason, reason
    assert res.csim.passed


@pytest.mark.slow
def test_hls4ml_table_cell_stays_available_and_casts_a_different_input_type(tmp_path):
    """table_size set: hls4ml's lookup-table cell; the quantized input activation in front of it has another
    type than hls4ml's one recurrent type: fpgaml casts at the layer boundary (no C++ template error)."""
    model, xs = _rnn_model('lstm', state=True, pre=True)
    res = _build(tmp_path, model, xs, 'layers:\n  rnn:\n    table_size: 1024\n')
    assert res.csim is not None and res.csim.mode == 'tolerance'
    assert 'table_size' in res.conversion.bit_exact_reason
    assert any('cast at the layer boundary' in n for n in _notes(res, 'recurrent_template_types'))
    cpp = (tmp_path / 'prj' / 'firmware' / 'm.cpp').read_text()
    assert 'nnet::fpgaml_lstm_stack_cast<' in cpp
    params = (tmp_path / 'prj' / 'firmware' / 'parameters.h').read_text()
    assert 'static const unsigned table_size = 1024;' in params


def test_estimate_prices_the_threshold_tables():
    from fpgaml.estimate.primitives import exact_table, rom

    small = exact_table(729, 15, 12, 18)
    assert small.bram_18k > 0 and small.lut > 0
    assert exact_table(729, 15, 24, 18).bram_18k > small.bram_18k  # a copy per two lookups
    assert rom(16384 * 8, 6).bram_18k > small.bram_18k  # hls4ml's 16384-entry tables cost more


@pytest.mark.slow
def test_hard_recurrent_activations_need_the_exact_cell(tmp_path):
    """hls4ml has no hard activations in recurrent layers: with table_size set (hls4ml's cell) it is an error
    naming the layer, not a firmware that computes the real functions."""
    from fpgaml.errors import FpgamlError

    model, xs = _rnn_model('gru', state=True, pre=False, hard=True)
    with pytest.raises(FpgamlError, match='layer "rnn": hard quantized activation and recurrent_activation'):
        _build(tmp_path, model, xs, 'layers:\n  rnn:\n    table_size: 1024\n')


def test_exact_activation_follows_float32_flips_next_to_thresholds():
    """On a fine grid (2^-20, a GRU candidate pre-activation's) tf.tanh's float32 rounding makes QKeras's
    quantized_tanh flip between two levels over a few codes next to some thresholds: the table reproduces
    every code around every threshold."""
    from qkeras import quantized_tanh

    q = quantized_tanh(8, use_real_tanh=True)
    t = Fixed(26, 6)
    step = step_function(q, t)
    table = binned_table(step)
    th = np.unique(step.thresholds)
    codes = np.unique((th[:, None] + np.arange(-2048, 2049)[None, :]).ravel())
    want = evaluate(q, codes, t.fractional, step.out_type.fractional)
    assert np.any(np.diff(want) < 0), 'no float32 flips on this grid (the case this test is about)'
    assert table.mask_bits > 0
    assert np.array_equal(table(codes), want)
