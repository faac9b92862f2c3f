"""Jet-tagging data from first principles: Pythia 8 pp collisions at 13 TeV, anti-kt R=0.8 jets (FastJet).

Five classes like the LHC jet-tagging benchmark of hls4ml (gluon, light quark, W, Z, top): each class is
its own hard process, with hadronization, multi-parton interactions and initial/final-state radiation on.
The leading jet of an event is kept when 800 < pT < 1200 GeV and |eta| < 2 and it is *truth-matched*:

  g, q   the hard-process parton closest to the jet axis (within dR < 0.8) is a gluon / a u, d or s quark;
  W, Z   every quark from the boson's hadronic decay lies within dR < 0.8 of the jet axis (fully merged);
  t      b, q and q' from one hadronic top decay all lie within dR < 0.8 of the jet axis (fully merged).

Particles are the visible stable final state (neutrinos removed) at particle level: no detector. Every
jet is stored in four representations (see :data:`fpgaml.data.REPRESENTATIONS`): the 16 high-level
features of the hls4ml jet dataset (computed with fjcontrib's EnergyCorrelator on the mMDT-groomed jet,
beta=0, z_cut=0.1), a 32x32 pT image, a 32-constituent sequence and a 64-vertex point cloud.

Reproducible: class ``k``, chunk ``j`` uses Pythia seed ``derive_seed(seed, k, j)``; the output is the
same for the same ``(n, seed)`` whatever ``workers`` is. The file records the Pythia settings, the
selection, the efficiencies, the timing and the package versions (``meta``).

The Pythia settings per class, the jet selection and the truth match are :mod:`fpgaml.data.jet_events`; this
module generates the events, computes the stored representations and writes the file.

Pythia 8 (``pythia8mc``) and FastJet (``fastjet``) are GPL: they form the optional ``physics`` extra and
are imported only here and in :mod:`fpgaml.data.jet_events`, inside the functions that need them.
"""

from __future__ import annotations

import json
import platform
import time
from concurrent.futures import ProcessPoolExecutor
from importlib import metadata
from pathlib import Path

import numpy as np

from fpgaml.atomic import open_atomic
from fpgaml.data import CLASS_NAMES, CLASSES, HLF_NAMES, REPRESENTATIONS
from fpgaml.data.jet_events import ETA_MAX, PT_RANGE, R_JET, delta_phi, derive_seed, select_batch, settings_for

CHUNK = 500  # jets per (class, chunk) unit of work: the unit of seeding, of parallelism, of progress
BATCH = 100  # events per pythia.nextBatch call
IMAGE_PIXELS = 32
SEQ_LEN = 32
MAX_POINTS = 64


# ---------------------------------------------------------------------------------------------- features
def _padded(jagged, length):
    import awkward as ak

    return ak.to_numpy(ak.fill_none(ak.pad_none(jagged, length, clip=True), 0.0)).astype(np.float32)


def _representations(consts, jet):
    """Image, sequence, point cloud and the two non-correlator HLFs from the leading-jet constituents."""
    import awkward as ak

    pt = np.hypot(consts.px, consts.py)
    order = ak.argsort(pt, ascending=False)
    c = consts[order]
    pt = pt[order]
    p = np.sqrt(c.px**2 + c.py**2 + c.pz**2)
    eta = np.arctanh(c.pz / p)
    phi = np.arctan2(c.py, c.px)
    jpt, jeta, jphi = jet['pt'], jet['eta'], jet['phi']
    z = pt / jpt[:, None]
    deta = eta - jeta[:, None]
    dphi = delta_phi(phi, jphi[:, None])
    efrac = c.E / jet['E'][:, None]
    seq = np.stack([_padded(z, SEQ_LEN), _padded(deta, SEQ_LEN), _padded(dphi, SEQ_LEN)], axis=-1)
    pts = np.stack(
        [_padded(z, MAX_POINTS), _padded(efrac, MAX_POINTS), _padded(deta, MAX_POINTS), _padded(dphi, MAX_POINTS)],
        axis=-1,
    )
    mult = ak.to_numpy(ak.num(pt)).astype(np.int64)
    n_points = np.minimum(mult, MAX_POINTS).astype(np.int32)
    # image: pT fraction per pixel in [-R, R) x [-R, R)
    flat_z = ak.to_numpy(ak.flatten(z))
    flat_i = np.floor((ak.to_numpy(ak.flatten(deta)) + R_JET) / (2 * R_JET) * IMAGE_PIXELS).astype(np.int64)
    flat_j = np.floor((ak.to_numpy(ak.flatten(dphi)) + R_JET) / (2 * R_JET) * IMAGE_PIXELS).astype(np.int64)
    jet_of = np.repeat(np.arange(len(mult)), mult)
    ok = (flat_i >= 0) & (flat_i < IMAGE_PIXELS) & (flat_j >= 0) & (flat_j < IMAGE_PIXELS)
    img = np.zeros((len(mult), IMAGE_PIXELS, IMAGE_PIXELS), np.float32)
    np.add.at(img, (jet_of[ok], flat_i[ok], flat_j[ok]), flat_z[ok])
    zz = ak.to_numpy(ak.sum(z * np.log(z), axis=1))
    return img, seq, pts, n_points, zz, mult


def _hlf(consts, zlogz, mult):
    """The 16 hls4ml jet-dataset features; correlators on the mMDT-groomed jet (fjcontrib, C/A R=0.8)."""
    import awkward as ak
    import fastjet

    ca = fastjet.JetDefinition(fastjet.cambridge_algorithm, R_JET)
    cs = fastjet.ClusterSequence(consts, ca)
    sd = cs.exclusive_jets_softdrop_grooming(njets=1, beta=0.0, symmetry_cut=0.1, R0=R_JET)
    groomed = ak.zip({k: sd.constituents[k] for k in ('px', 'py', 'pz', 'E')}, with_name='Momentum4D')
    gcs = fastjet.ClusterSequence(groomed, ca)

    def ecfg(npoint, angles, beta):
        return ak.to_numpy(
            gcs.exclusive_jets_energy_correlator(njets=1, npoint=npoint, angles=angles, beta=beta, func='generalized')
        ).astype(np.float64)

    e2 = {b: ecfg(2, -1, b) for b in (0, 1, 2)}
    e3 = {b: ecfg(3, -1, b) for b in (1, 2)}
    e3_1 = {b: ecfg(3, 1, b) for b in (1, 2)}
    e3_2 = {b: ecfg(3, 2, b) for b in (1, 2)}

    def ratio(num, den):  # a jet groomed to one particle has e2 = 0: no substructure, the ratio is set to 0
        with np.errstate(divide='ignore', invalid='ignore'):
            r = num / den
        return np.where(np.isfinite(r), r, 0.0)

    cols = {
        'zlogz': zlogz,
        'c1_b0_mmdt': e2[0],
        'c1_b1_mmdt': e2[1],
        'c1_b2_mmdt': e2[2],
        'c2_b1_mmdt': ratio(e3[1], e2[1] ** 2),
        'c2_b2_mmdt': ratio(e3[2], e2[2] ** 2),
        'd2_b1_mmdt': ratio(e3[1], e2[1] ** 3),
        'd2_b2_mmdt': ratio(e3[2], e2[2] ** 3),
        # D2^(alpha, beta) = e3^(alpha) / (e2^(beta))^(3 alpha / beta), alpha = 1
        'd2_a1_b1_mmdt': ratio(e3[1], e2[1] ** 3),
        'd2_a1_b2_mmdt': ratio(e3[1], e2[2] ** 1.5),
        'm2_b1_mmdt': ratio(e3_1[1], e2[1]),
        'm2_b2_mmdt': ratio(e3_1[2], e2[2]),
        'n2_b1_mmdt': ratio(e3_2[1], e2[1] ** 2),
        'n2_b2_mmdt': ratio(e3_2[2], e2[2] ** 2),
        'mass_mmdt': ak.to_numpy(sd.msoftdrop).astype(np.float64),
        'multiplicity': mult.astype(np.float64),
    }
    n_single = int(np.sum(ak.to_numpy(ak.num(sd.constituents.px)) < 2))
    return np.stack([cols[k] for k in HLF_NAMES], axis=1).astype(np.float32), n_single


def generate_chunk(cls: str, n_jets: int, seed: int, class_index: int, chunk: int, progress_queue=None) -> dict:
    """Generate ``n_jets`` selected, truth-matched jets of one class with one Pythia seed."""
    import awkward as ak
    import fastjet
    import pythia8mc
    import vector

    vector.register_awkward()
    pseed = derive_seed(seed, class_index, chunk)
    pythia = pythia8mc.Pythia('', False)
    for s in settings_for(cls, pseed):
        if not pythia.readString(s):
            raise RuntimeError(f'Pythia rejected the setting {s!r}')
    if not pythia.init():
        raise RuntimeError(f'Pythia failed to initialise for class {cls}')
    jetdef = fastjet.JetDefinition(fastjet.antikt_algorithm, R_JET)
    parts, kin, n_events, n_kin = [], [], 0, 0
    got, t0 = 0, time.perf_counter()
    while got < n_jets:
        c, jet, n_sel, n_ev = select_batch(cls, pythia.nextBatch(BATCH), jetdef)
        n_events += n_ev
        n_kin += n_sel
        if len(jet['pt']):
            parts.append(c)
            kin.append(jet)
            got += len(jet['pt'])
            if progress_queue is not None:
                progress_queue(min(len(jet['pt']), n_jets - (got - len(jet['pt']))))
    consts = ak.concatenate(parts)[:n_jets]
    jet = {k: np.concatenate([d[k] for d in kin])[:n_jets] for k in kin[0]}
    img, seq, pts, n_points, zlogz, mult = _representations(consts, jet)
    hlf, n_single = _hlf(consts, zlogz, mult)
    return {
        'hlf': hlf,
        'image': img,
        'sequence': seq,
        'points': pts,
        'n_points': n_points,
        'y': np.full(n_jets, class_index, np.int64),
        'jet_pt': jet['pt'].astype(np.float32),
        'jet_eta': jet['eta'].astype(np.float32),
        'jet_mass': jet['mass'].astype(np.float32),
        'stats': {
            'class': cls,
            'chunk': chunk,
            'pythia_seed': pseed,
            'events': n_events,
            'passing_kinematics': n_kin,
            'jets': n_jets,
            'groomed_to_one_particle': n_single,
            'seconds': round(time.perf_counter() - t0, 2),
        },
    }


def _chunk_worker(args):
    return generate_chunk(*args)


def _versions() -> dict:
    out = {'python': platform.python_version()}
    for pkg in ('fpgaml', 'pythia8mc', 'fastjet', 'awkward', 'vector', 'numpy'):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = 'not installed'
    return out


def generate_jets(n: int, out, seed: int = 1, progress: bool = True, workers: int = 1) -> Path:
    """Generate ``n`` jets per class (5 classes) into ``out`` (.npz) and return its path.

    ``workers`` > 1 runs (class, chunk) units in parallel processes; the file is identical either way.
    """
    try:
        import fastjet  # noqa: F401
        import pythia8mc  # noqa: F401
    except ImportError as e:
        raise ImportError(
            'jet generation needs the optional physics extra (GPL): pip install "pythia8mc==8.317.2" "fastjet==3.5.2"'
        ) from e
    if n < 1:
        raise ValueError('n must be >= 1 jets per class')
    out = Path(out)
    units = [
        (cls, min(CHUNK, n - j * CHUNK), int(seed), k, j)
        for k, cls in enumerate(CLASSES)
        for j in range((n + CHUNK - 1) // CHUNK)
    ]
    t0 = time.perf_counter()
    results = _run_units(units, n * len(CLASSES), progress, workers)
    seconds = time.perf_counter() - t0
    keys = ('hlf', 'image', 'sequence', 'points', 'n_points', 'y', 'jet_pt', 'jet_eta', 'jet_mass')
    arrays = {k: np.concatenate([r[k] for r in results]) for k in keys}
    stats = [r['stats'] for r in results]
    events = sum(s['events'] for s in stats)
    meta = {
        'generator': 'fpgaml.data.jets',
        'seed': int(seed),
        'jets_per_class': n,
        'classes': list(CLASSES),
        'class_names': list(CLASS_NAMES),
        'collisions': 'pp at sqrt(s) = 13 TeV',
        'jets': f'anti-kt R = {R_JET}, visible stable final state',
        'selection': {
            'leading_jet_pt_gev': list(PT_RANGE),
            'abs_eta_max': ETA_MAX,
            'truth_match': 'g/q: nearest hard parton within dR<0.8 is g / u,d,s; W/Z/t: all decay '
            'quarks within dR<0.8 of the jet axis',
        },
        'grooming': 'mMDT (soft drop beta=0, z_cut=0.1, R0=0.8) on the C/A-reclustered jet',
        'pythia_settings': {
            cls: settings_for(cls, 0)[:-1] + ['Random:seed = derive_seed(seed, class, chunk)'] for cls in CLASSES
        },
        'chunk_jets': CHUNK,
        'batch_events': BATCH,
        'representations': {k: {'key': v[0], 'shape': list(v[1]), 'doc': v[2]} for k, v in REPRESENTATIONS.items()},
        'hlf_names': list(HLF_NAMES),
        'events_generated': events,
        'seconds': round(seconds, 1),
        'workers': workers,
        'events_per_second': round(events / seconds, 1),
        'jets_per_second': round(n * len(CLASSES) / seconds, 1),
        'groomed_to_one_particle': sum(s['groomed_to_one_particle'] for s in stats),
        'units': stats,
        'versions': _versions(),
        'host': platform.node(),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    with open_atomic(out, binary=True) as f:
        np.savez_compressed(f, meta=np.array(json.dumps(meta)), **arrays)
    return out


def _run_units(units, total, progress, workers):
    bar = None
    if progress:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        bar = Progress(TextColumn('jets'), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
        bar.start()
        task = bar.add_task('jets', total=total)
    try:
        if workers <= 1:
            results = []
            for u in units:
                cb = (lambda k: bar.advance(task, k)) if bar else None
                results.append(generate_chunk(*u, progress_queue=cb))
            return results
        with ProcessPoolExecutor(max_workers=workers) as ex:
            futs = [ex.submit(_chunk_worker, u) for u in units]
            results = []
            for u, f in zip(units, futs):
                results.append(f.result())
                if bar:
                    bar.advance(task, u[1])
            return results
    finally:
        if bar:
            bar.stop()


def main(argv=None) -> int:
    """``fpgaml data jets --n N --out FILE [--seed S] [--workers W] [--quiet]`` (also ``python -m``)."""
    import argparse

    ap = argparse.ArgumentParser(
        prog='fpgaml data jets',
        description='generate the 5-class jet-tagging dataset (Pythia 8 + FastJet; needs the physics extra)',
    )
    ap.add_argument('--n', type=int, required=True, help='jets per class')
    ap.add_argument('--out', required=True, help='output .npz')
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--workers', type=int, default=1)
    ap.add_argument('--quiet', action='store_true')
    a = ap.parse_args(argv)
    path = generate_jets(a.n, a.out, seed=a.seed, progress=not a.quiet, workers=a.workers)
    meta = json.loads(str(np.load(path)['meta']))
    print(
        f'{path}: {a.n} jets x {len(CLASSES)} classes, {meta["events_generated"]} events in {meta["seconds"]} s '
        f'({meta["events_per_second"]} events/s)'
    )
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
