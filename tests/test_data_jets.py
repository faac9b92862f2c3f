"""The jet data: the committed sample has the documented shapes; a tiny real generation when Pythia is here."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from fpgaml.data import CLASSES, HLF_NAMES, REPRESENTATIONS, load_jets, split_indices

SAMPLE = Path(__file__).resolve().parents[1] / 'models' / 'jet_data' / 'sample.npz'
HAVE_PHYSICS = all(importlib.util.find_spec(m) is not None for m in ('pythia8mc', 'fastjet'))


def _check_arrays(arrays: dict, n: int):
    for name, (key, shape, _) in REPRESENTATIONS.items():
        assert arrays[key].shape == (n, *shape), name
        assert arrays[key].dtype == np.float32 and np.isfinite(arrays[key]).all(), name
    assert arrays['y'].shape == (n,) and set(np.unique(arrays['y'])) <= set(range(len(CLASSES)))
    assert arrays['n_points'].shape == (n,) and (arrays['n_points'] >= 1).all()
    assert (arrays['n_points'] <= REPRESENTATIONS['points'][1][0]).all()
    # padding beyond the count is zero, the pT fractions are pT-ordered
    pts, cnt = arrays['points'], arrays['n_points']
    for i in range(n):
        assert not pts[i, cnt[i] :].any()
        z = pts[i, : cnt[i], 0]
        assert (np.diff(z) <= 1e-6).all() and z.min() > 0
    assert np.allclose(arrays['sequence'][..., 0], arrays['points'][:, :32, 0])
    # image: the pT fractions of the constituents inside the 32x32 window
    assert ((arrays['image'].sum(axis=(1, 2)) > 0.5) & (arrays['image'].sum(axis=(1, 2)) < 1.2)).all()
    hlf = arrays['hlf']
    assert (hlf[:, HLF_NAMES.index('multiplicity')] >= cnt - 1e-6).all()
    assert (hlf[:, HLF_NAMES.index('zlogz')] < 0).all()
    assert ((arrays['jet_pt'] > 800) & (arrays['jet_pt'] < 1200)).all() and (np.abs(arrays['jet_eta']) < 2).all()


def test_committed_sample_has_the_documented_shapes():
    arrays, meta = load_jets(SAMPLE)
    n = len(arrays['y'])
    assert n >= 50 and SAMPLE.stat().st_size < 1_000_000
    assert set(np.unique(arrays['y'])) == set(range(len(CLASSES)))
    _check_arrays(arrays, n)
    assert meta['hlf_names'] == list(HLF_NAMES) and meta['versions']['pythia8mc']
    x, y, _ = load_jets(SAMPLE, 'points')
    assert isinstance(x, tuple) and x[0].shape == (n, 64, 4) and y.shape == (n,)


def test_sample_physics_is_sane():
    arrays, _ = load_jets(SAMPLE)
    mass = arrays['hlf'][:, HLF_NAMES.index('mass_mmdt')]
    med = [np.median(mass[arrays['y'] == k]) for k in range(len(CLASSES))]
    g, q, w, z, t = med
    assert 60 < w < 95 and 75 < z < 105 and 140 < t < 200 and q < 40 and g < 80, med


def test_split_is_deterministic_and_disjoint():
    a = split_indices(1000, seed=0)
    b = split_indices(1000, seed=0)
    assert all((x == y).all() for x, y in zip(a, b))
    assert sorted(np.concatenate(a).tolist()) == list(range(1000))
    assert [len(x) for x in a] == [700, 100, 200]


def test_unknown_representation_is_named():
    with pytest.raises(KeyError, match='image'):
        load_jets(SAMPLE, 'pictures')


@pytest.mark.skipif(not HAVE_PHYSICS, reason='pythia8mc / fastjet (the optional physics extra) are not installed')
def test_tiny_generation_is_reproducible(tmp_path):
    from fpgaml.data.jets import generate_jets

    a = generate_jets(2, tmp_path / 'a.npz', seed=11, progress=False)
    b = generate_jets(2, tmp_path / 'b.npz', seed=11, progress=False)
    arrays, meta = load_jets(a)
    _check_arrays(arrays, 2 * len(CLASSES))
    assert np.bincount(arrays['y']).tolist() == [2] * len(CLASSES)
    other, _ = load_jets(b)
    for k in arrays:
        assert np.array_equal(arrays[k], other[k]), k
    assert meta['seed'] == 11 and meta['events_generated'] > 0 and meta['versions']['fastjet'] != 'not installed'
    assert 'PartonLevel:MPI = on' in meta['pythia_settings']['g']
    json.dumps(meta)
