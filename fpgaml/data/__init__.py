"""Datasets for the model zoo.

``fpgaml.data.jets`` generates LHC-style jet-tagging data from first principles (Pythia 8 + FastJet,
the optional ``physics`` extra, GPL-licensed and imported only by the generator). Reading a generated
file needs only NumPy: :func:`load_jets` and :func:`split_indices` live here so that training scripts
and tests never import the generator.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

CLASSES = ('g', 'q', 'w', 'z', 't')
CLASS_NAMES = ('gluon', 'light quark', 'W boson', 'Z boson', 'top quark')
HLF_NAMES = (
    'zlogz',
    'c1_b0_mmdt',
    'c1_b1_mmdt',
    'c1_b2_mmdt',
    'c2_b1_mmdt',
    'c2_b2_mmdt',
    'd2_b1_mmdt',
    'd2_b2_mmdt',
    'd2_a1_b1_mmdt',
    'd2_a1_b2_mmdt',
    'm2_b1_mmdt',
    'm2_b2_mmdt',
    'n2_b1_mmdt',
    'n2_b2_mmdt',
    'mass_mmdt',
    'multiplicity',
)
#: representation name -> (array key in the file, shape of one jet, what it holds)
REPRESENTATIONS = {
    'hlf': ('hlf', (16,), 'the 16 high-level features of the hls4ml jet dataset (HLF_NAMES)'),
    'image': ('image', (32, 32), 'pT fraction per pixel, 32x32 in (d-eta, d-phi) in [-0.8, 0.8) around the jet axis'),
    'sequence': ('sequence', (32, 3), '32 highest-pT constituents, pT-ordered: (pT/pT_jet, d-eta, d-phi), zero-padded'),
    'points': (
        'points',
        (64, 4),
        'up to 64 highest-pT constituents as vertices: (pT/pT_jet, E/E_jet, d-eta, d-phi), '
        'zero-padded; the count is "n_points"',
    ),
}


def load_jets(path, representation: str | None = None):
    """Read a generated jet file: ``(x, y, meta)`` for one representation, or ``(dict, meta)`` for all."""
    with np.load(Path(path), allow_pickle=False) as f:
        meta = json.loads(str(f['meta'])) if 'meta' in f else {}
        if representation is None:
            return {k: f[k] for k in f.files if k != 'meta'}, meta
        if representation not in REPRESENTATIONS:
            raise KeyError(f'unknown representation {representation!r}; one of {", ".join(REPRESENTATIONS)}')
        x = f[REPRESENTATIONS[representation][0]]
        if representation == 'points':
            x = (x, f['n_points'])
        return x, f['y'], meta


def split_indices(n: int, seed: int = 0, fractions=(0.7, 0.1, 0.2)):
    """Deterministic train / validation / test index split of ``n`` jets."""
    perm = np.random.default_rng(seed).permutation(n)
    a = int(round(fractions[0] * n))
    b = a + int(round(fractions[1] * n))
    return perm[:a], perm[a:b], perm[b:]
