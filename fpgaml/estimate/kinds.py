"""Figure kinds (csynth / synth), their per-family calibration factors and uncertainty bands.

The structural cost models (each layer family's, :mod:`fpgaml.families`) count hardware: multipliers, adders,
registers, tables, FIFOs.  Two kinds of published figure exist and they differ a lot for LUT/FF:

* ``csynth`` -- the HLS tool's own C-synthesis estimate (Vivado HLS / Vitis HLS ``csynth.rpt``);
* ``synth``  -- Vivado logic synthesis ``report_utilization`` (what the chip uses).

Each kind has, per resource (LUT, FF) and per layer family, a factor that maps the structural count to that
kind's figure.  The factors, and the bands (ratio measured / estimate, from the *cross-validated* errors of
the calibration designs of each family), are written into ``calibration.yml`` by
``benchmarks/estimator_calibration.py --write`` and read here.  DSP, BRAM, latency and II are not scaled:
the structural counts are used as they are for both kinds (the calibration set shows DSP and BRAM the same to
within a few % in both reports; cycles exist only in csynth).

A family with no calibration figure for a kind keeps factor 1 (the structural count) and the default wide
band; it is reported as *uncalibrated*.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml

__all__ = ['KINDS', 'DEFAULT_KIND', 'SCALED', 'BANDED', 'Calibration', 'calibration']

KINDS = ('synth', 'csynth')
DEFAULT_KIND = 'synth'  # budgets check post-synthesis figures unless they name csynth
SCALED = ('lut', 'ff')  # metrics whose figure differs by kind
BANDED = ('latency_cycles', 'dsp', 'lut', 'ff')
CALIBRATION_FILE = Path(__file__).with_name('calibration.yml')
DEFAULT_BAND = (0.5, 2.0)  # ratio measured / estimate assumed for a family without calibration data


class Calibration:
    def __init__(self, doc: dict):
        k = doc.get('kinds') or {}
        self.factors: dict = {kind: (k.get(kind) or {}).get('factors') or {} for kind in KINDS}
        self.bands: dict = {kind: (k.get(kind) or {}).get('bands') or {} for kind in KINDS}
        self.default_band = tuple((doc.get('kinds') or {}).get('default_band') or DEFAULT_BAND)

    def factor(self, kind: str, metric: str, family: str) -> float:
        if metric not in SCALED:
            return 1.0
        return float((self.factors.get(kind, {}).get(metric) or {}).get(family, 1.0))

    def band(self, kind: str, metric: str, family: str) -> tuple[float, float] | None:
        """(low, high) ratio of the real figure to the estimate, or None if the family is uncalibrated."""
        bands = self.bands.get(kind, {}).get(metric) or {}
        b = bands.get(family)
        if b is None and self.calibrated(kind, family):
            b = bands.get('*')  # a family with data but too few designs of its own: the pooled band
        return (float(b[0]), float(b[1])) if b else None

    def calibrated(self, kind: str, family: str) -> bool:
        """Whether figures of this kind with layers of this family are in the calibration set."""
        return any(family in (self.bands.get(kind, {}).get(m) or {}) for m in BANDED) or any(
            family in (self.factors.get(kind, {}).get(m) or {}) for m in SCALED
        )


@lru_cache(maxsize=4)
def _load(path: str, mtime: float) -> Calibration:
    return Calibration(yaml.safe_load(Path(path).read_text()) or {})


def calibration(path: Path | None = None) -> Calibration:
    p = Path(path or CALIBRATION_FILE)
    return _load(str(p), p.stat().st_mtime)
