"""From Pythia 8 events to selected, truth-matched leading jets (:mod:`fpgaml.data.jets` generates the dataset).

Each class is its own hard process (:data:`PROCESS_SETTINGS`); jets are anti-kt R=0.8 (FastJet) of the visible
stable final state; the leading jet is kept when 800 < pT < 1200 GeV and |eta| < 2 and it is truth-matched (the
parton or decay quarks of its class within dR < 0.8 of the jet axis). FastJet (the optional, GPL ``physics``
extra, with Pythia) is imported only inside :func:`select_batch`.
"""

from __future__ import annotations

import numpy as np

R_JET = 0.8
PT_RANGE = (800.0, 1200.0)
ETA_MAX = 2.0

COMMON_SETTINGS = [
    'Beams:idA = 2212',
    'Beams:idB = 2212',
    'Beams:eCM = 13000.',
    'PhaseSpace:pTHatMin = 700.',
    'PhaseSpace:pTHatMax = 1400.',
    'PartonLevel:MPI = on',
    'PartonLevel:ISR = on',
    'PartonLevel:FSR = on',
    'HadronLevel:all = on',
    'Print:quiet = on',
    'Next:numberCount = 0',
]
HADRONIC_W = ['24:onMode = off', '24:onIfAny = 1 2 3 4 5']
PROCESS_SETTINGS = {
    'g': ['HardQCD:gg2gg = on', 'HardQCD:qqbar2gg = on'],
    'q': ['HardQCD:qg2qg = on', 'HardQCD:qq2qq = on', 'HardQCD:qqbar2qqbarNew = on', 'HardQCD:nQuarkNew = 3'],
    'w': ['WeakBosonAndParton:qqbar2Wg = on', 'WeakBosonAndParton:qg2Wq = on', *HADRONIC_W],
    'z': [
        'WeakBosonAndParton:qqbar2gmZg = on',
        'WeakBosonAndParton:qg2gmZq = on',
        'WeakZ0:gmZmode = 2',
        '23:onMode = off',
        '23:onIfAny = 1 2 3 4 5',
    ],
    't': ['Top:gg2ttbar = on', 'Top:qqbar2ttbar = on', *HADRONIC_W],
}
_RESONANCE = {'w': 24, 'z': 23, 't': 6}


def derive_seed(seed: int, class_index: int, chunk: int) -> int:
    """Pythia's seed for one (class, chunk): distinct, deterministic, inside Pythia's 1..900000000."""
    return 1 + (int(seed) * 1_000_003 + class_index * 100_019 + chunk * 7_919) % 899_999_999


def settings_for(cls: str, pythia_seed: int) -> list[str]:
    return [*COMMON_SETTINGS, *PROCESS_SETTINGS[cls], 'Random:setSeed = on', f'Random:seed = {pythia_seed}']


# ---------------------------------------------------------------------------------------------- kinematics
def pt_eta_phi(px, py, pz):
    pt = np.hypot(px, py)
    eta = np.arcsinh(np.divide(pz, pt, out=np.zeros_like(pz), where=pt > 0))
    return pt, eta, np.arctan2(py, px)


def delta_phi(a, b):
    return (a - b + np.pi) % (2 * np.pi) - np.pi


# ---------------------------------------------------------------------------------------------- truth match
def _root_resonance(i, ids, mother1, pid):
    """The earliest ancestor of particle ``i`` (global index) with |id| == pid, or -1."""
    root, j, steps = -1, mother1[i], 0
    while j > 0 and steps < 200:
        if abs(ids[j]) == pid:
            root = j
        j, steps = mother1[j], steps + 1
    return root


def _truth_matched(cls, ev, jet_eta, jet_phi) -> bool:
    """``ev``: (ids, status, mother1, px, py, pz) numpy arrays of one event (global indices)."""
    ids, status, mother1, px, py, pz = ev
    hard = np.flatnonzero(status == -23)
    if hard.size == 0:
        return False
    _, eta, phi = pt_eta_phi(px[hard], py[hard], pz[hard])
    dr = np.hypot(eta - jet_eta, delta_phi(phi, jet_phi))
    if cls in ('g', 'q'):
        k = int(np.argmin(dr))
        if dr[k] >= R_JET:
            return False
        pid = abs(ids[hard[k]])
        return pid == 21 if cls == 'g' else 1 <= pid <= 3
    pid = _RESONANCE[cls]
    groups: dict[int, list[float]] = {}
    for k, i in enumerate(hard):
        if abs(ids[i]) > 5:
            continue
        root = _root_resonance(i, ids, mother1, pid)
        if root >= 0:
            groups.setdefault(root, []).append(dr[k])
    need = 3 if cls == 't' else 2
    return any(len(d) >= need and max(d) < R_JET for d in groups.values())


# ---------------------------------------------------------------------------------------------- selection
def select_batch(cls, batch, jetdef):
    """Leading jets passing the selection and the truth match: (constituents, jet kinematics dict)."""
    import awkward as ak
    import fastjet

    prt = batch.prt
    aid = abs(prt.id)
    fs = prt[(prt.status > 0) & (aid != 12) & (aid != 14) & (aid != 16)]
    mom = ak.zip({'px': fs.p.px, 'py': fs.p.py, 'pz': fs.p.pz, 'E': fs.p.e}, with_name='Momentum4D')
    cs = fastjet.ClusterSequence(mom, jetdef)
    jets = cs.inclusive_jets(min_pt=100.0)
    consts = cs.constituents(min_pt=100.0)
    jpt = np.hypot(jets.px, jets.py)
    has = ak.num(jpt) > 0
    lead = ak.argmax(jpt, axis=1, keepdims=True)
    lj = ak.firsts(jets[lead])
    lc = ak.firsts(consts[lead])
    px, py, pz, e = (ak.to_numpy(ak.fill_none(lj[k], 0.0)) for k in ('px', 'py', 'pz', 'E'))
    pt, eta, phi = pt_eta_phi(px, py, pz)
    sel = ak.to_numpy(has) & (pt > PT_RANGE[0]) & (pt < PT_RANGE[1]) & (np.abs(eta) < ETA_MAX)
    # truth match on the (few) selected events, on flat numpy arrays
    counts = ak.to_numpy(ak.num(prt.id))
    offs = np.concatenate([[0], np.cumsum(counts)])
    flat = [ak.to_numpy(ak.flatten(a)) for a in (prt.id, prt.status, prt.mother1, prt.p.px, prt.p.py, prt.p.pz)]
    keep = np.zeros(len(sel), bool)
    for i in np.flatnonzero(sel):
        ev = [a[offs[i] : offs[i + 1]] for a in flat]
        keep[i] = _truth_matched(cls, ev, eta[i], phi[i])
    idx = np.flatnonzero(keep)
    m2 = np.maximum(e**2 - px**2 - py**2 - pz**2, 0.0)
    jet = {'pt': pt[idx], 'eta': eta[idx], 'phi': phi[idx], 'E': e[idx], 'mass': np.sqrt(m2[idx])}
    c = lc[idx]
    c = ak.zip({k: c[k] for k in ('px', 'py', 'pz', 'E')}, with_name='Momentum4D')
    return c, jet, int(sel.sum()), len(sel)
