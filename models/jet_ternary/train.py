"""jet_ternary: the jet-tagger MLP with ternary weights and activations (see ../jet_binary/train.py).

    python models/jet_ternary/train.py          # ~5 min on 2 cores; writes model.h5, val.npz, metrics.json
"""

import importlib.util
from pathlib import Path

HERE = Path(__file__).parent
_spec = importlib.util.spec_from_file_location('jet_binary_train', HERE.parent / 'jet_binary' / 'train.py')
_mod = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_mod)

if __name__ == '__main__':
    _mod.main('ternary', HERE)
