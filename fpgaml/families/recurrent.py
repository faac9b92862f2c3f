"""Recurrent layers (SimpleRNN, LSTM, GRU; QKeras QLSTM/QGRU/QSimpleRNN). Two passes: the QKeras quantizers
applied to the weights hls4ml writes unquantized, and one table type per activation (the QKeras output grids)."""

from . import Family

FAMILY = Family(
    name='recurrent',
    hls_classes=('SimpleRNN', 'LSTM', 'GRU', 'Bidirectional', 'TimeDistributed'),
    costs={'SimpleRNN': 'recurrent', 'LSTM': 'recurrent', 'GRU': 'recurrent'},
    passes=('quantized_recurrent_weights:QuantizedRecurrentWeights',
            'recurrent_activation_tables:RecurrentActivationTables'),
)
