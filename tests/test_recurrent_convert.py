"""Recurrent layers: fpgaml quantizes QLSTM / QGRU weights hls4ml writes unquantized, and rejects a GRU with
reset_after=False (hls4ml 1.3.0 computes only reset_after=True). Conversion only (no compile)."""

from __future__ import annotations

import numpy as np
import pytest
from fpgaml_testutil import write

from fpgaml.config import load_config
from fpgaml.convert import convert
from fpgaml.errors import FpgamlError
from fpgaml.frontend import load_model, tf221_compat


def _model(tmp_path, kind: str, reset_after: bool = True):
    import tf_keras as K
    from qkeras import QGRU, QLSTM, quantized_bits, quantized_sigmoid, quantized_tanh

    q = quantized_bits(6, 0, alpha=1)
    extra = {'reset_after': reset_after} if kind == 'gru' else {}
    inp = K.layers.Input((4, 2))
    with tf221_compat():  # QKeras's QGRU on TensorFlow 2.21
        x = (QLSTM if kind == 'lstm' else QGRU)(
            3,
            activation=quantized_tanh(8, use_real_tanh=True),
            recurrent_activation=quantized_sigmoid(8, use_real_sigmoid=True),
            kernel_quantizer=q,
            recurrent_quantizer=q,
            bias_quantizer=q,
            name='rnn',
            **extra,
        )(inp)
    m = K.Model(inp, x)
    w = [np.full(v.shape, 0.09, np.float32) for v in m.get_layer('rnn').get_weights()]
    w[0][0, 0] = 1.0  # Clip(-1, 1) allows 1.0, which the 6-bit quantizer maps to 31/32 (a cast would wrap it to -1)
    m.get_layer('rnn').set_weights(w)
    m.save(tmp_path / 'm.h5')
    cfg = write(
        tmp_path / 'c.yml',
        'model: m.h5\nname: r\nprecision: fixed<18,6>\nbit_exact: off\n'
        'layers:\n  rnn:\n    precision: {accum: "fixed<18,6>", result: "fixed<18,6>"}\n',
    )
    cfg = load_config(cfg, output_dir=tmp_path / 'prj')
    return cfg, load_model(cfg.model)


@pytest.mark.parametrize('kind', ['lstm', 'gru'])
def test_recurrent_weights_are_quantized_as_qkeras_does(tmp_path, kind):
    cfg, loaded = _model(tmp_path, kind)
    node = next(n for n in convert(cfg, loaded, tmp_path / 'prj').graph.get_layers() if n.class_name in ('LSTM', 'GRU'))
    w = np.asarray(node.weights['weight'].data)
    assert w.flat[0] == 31 / 32 and np.all(w.flat[1:] == 3 / 32)  # round(0.09 * 32) = 3, not floor = 2
    assert np.all(np.asarray(node.weights['bias'].data) == 3 / 32)
    if kind == 'gru':
        assert np.asarray(node.weights['recurrent_bias'].data).shape == (9,)


def test_gru_reset_before_is_rejected(tmp_path):
    cfg, loaded = _model(tmp_path, 'gru', reset_after=False)
    with pytest.raises(FpgamlError, match='reset_after=False'):
        convert(cfg, loaded, tmp_path / 'prj')


def test_tensorflow_is_left_as_it_was(tmp_path):
    """The QKeras/TF 2.21 aliases exist only while fpgaml loads or runs a model."""
    from tensorflow.python.ops import array_ops
    from tensorflow.python.util import nest

    had = hasattr(nest, 'is_sequence'), hasattr(array_ops, 'unstack')
    cfg, loaded = _model(tmp_path, 'gru')
    loaded.predict(np.zeros((2, 4, 2), np.float32))
    loaded.layer_outputs(np.zeros((2, 4, 2), np.float32))
    assert (hasattr(nest, 'is_sequence'), hasattr(array_ops, 'unstack')) == had == (False, False)
