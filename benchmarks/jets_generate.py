"""Jet generation speed (Pythia 8 + FastJet, one process): events/s and selected jets/s.

.venv/bin/python benchmarks/jets_generate.py [JETS_PER_CLASS]     # default 200 (~25 s on one core)
"""

import json
import sys
import tempfile
from pathlib import Path

import numpy as np

from fpgaml.data.jets import generate_jets


def main(n=200):
    with tempfile.TemporaryDirectory() as d:
        path = generate_jets(n, Path(d) / 'jets.npz', seed=123, progress=False)
        meta = json.loads(str(np.load(path)['meta']))
    print(
        f'{n} jets/class x 5: {meta["events_generated"]} events in {meta["seconds"]} s -> '
        f'{meta["events_per_second"]} events/s, {meta["jets_per_second"]} jets/s (one process)'
    )
    for u in meta['units']:
        print(
            f'  {u["class"]}: {u["events"]} events, {u["passing_kinematics"]} pass pT/eta, {u["jets"]} kept, '
            f'{u["seconds"]} s'
        )


if __name__ == '__main__':
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
