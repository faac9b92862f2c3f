"""jet_gru: a QKeras QGRU on constituent sequences, with a float GRU twin (see ../jet_lstm/train.py).

    python models/jet_gru/train.py           # ~4 min on 2 cores; writes model.h5, val.npz, metrics.json
"""

import importlib.util
from pathlib import Path

HERE = Path(__file__).parent
_spec = importlib.util.spec_from_file_location('jet_lstm_train', HERE.parent / 'jet_lstm' / 'train.py')
_mod = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_mod)

if __name__ == '__main__':
    import sys

    _mod.main('gru', HERE, csim='--no-csim' not in sys.argv)
