"""Recurrent layers (SimpleRNN, LSTM, GRU; QKeras QLSTM/QGRU/QSimpleRNN). Passes: the QKeras quantizers
applied to the weights hls4ml writes unquantized; QLSTM/QGRU with quantized activations computed by fpgaml's
exact cell (exact types, threshold tables); for layers left to hls4ml's cell (``table_size`` set, float
activations), one table type per activation (the QKeras output grids) and casts at the layer's boundary where
hls4ml's template needs one type."""

from . import Family

FAMILY = Family(
    name='recurrent',
    hls_classes=('SimpleRNN', 'LSTM', 'GRU', 'Bidirectional', 'TimeDistributed'),
    costs={'SimpleRNN': 'recurrent', 'LSTM': 'recurrent', 'GRU': 'recurrent'},
    passes=('quantized_recurrent_weights:QuantizedRecurrentWeights',
            'exact_recurrent_types:ExactRecurrentTypes',
            'exact_recurrent_cells:ExactRecurrentCells',
            'recurrent_activation_tables:RecurrentActivationTables',
            'recurrent_template_types:RecurrentTemplateTypes'),
)
