"""Cut the committed test sample (sample.npz) out of a generated jet dataset.

20 jets per class from the test split, every representation, and the generator's metadata: enough for
the tests and CI to check shapes and physics without Pythia.

    python models/jet_data/make_sample.py [data/jets.npz]
"""

import json
import sys
from pathlib import Path

import numpy as np

from fpgaml.data import CLASSES, load_jets, split_indices

HERE = Path(__file__).parent
PER_CLASS = 20


def main(src):
    arrays, meta = load_jets(src)
    _, _, test = split_indices(len(arrays['y']))
    pick = np.concatenate([test[arrays['y'][test] == k][:PER_CLASS] for k in range(len(CLASSES))])
    meta = dict(meta, sample_of=str(Path(src).name), sample_jets_per_class=PER_CLASS)
    meta.pop('units', None)
    np.savez_compressed(HERE / 'sample.npz', meta=np.array(json.dumps(meta)),
                        **{k: v[pick] for k, v in arrays.items()})
    print(f'{HERE / "sample.npz"}: {len(pick)} jets, {(HERE / "sample.npz").stat().st_size} bytes')


if __name__ == '__main__':
    main(sys.argv[1] if len(sys.argv) > 1 else HERE.parents[1] / 'data' / 'jets.npz')
