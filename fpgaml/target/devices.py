"""Device table: resource totals of common Xilinx/AMD parts.

Totals are the datasheet figures (DS890 UltraScale/UltraScale+ product tables, DS190 7-series/Zynq-7000,
DS891 Zynq UltraScale+ MPSoC, DS962/DS1000 Alveo cards).  BRAM is counted in 18 Kb halves
(one 36 Kb block = two BRAM_18K), which is how Vivado HLS reports it.

Lookup accepts a full part string (``xcvu9p-flga2104-2L-e``), the device name (``xcvu9p``), the short
form Vivado prints in utilization reports (``7z020clg400-1``) or an Alveo card part (``xcu250-figd2104-2L-e``).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ['Device', 'UnknownPartError', 'DEVICES', 'lookup_device', 'known_parts']


class UnknownPartError(ValueError):
    """Raised for a part that is not in the device table; the message lists the known parts."""


@dataclass(frozen=True)
class Device:
    name: str  # device name, e.g. "xcvu9p"
    family: str  # "7series" | "ultrascale" | "ultrascale+"
    dsp: int
    lut: int
    ff: int
    bram_18k: int
    uram: int
    description: str = ''
    part: str = ''  # the full part string that was looked up (filled by lookup_device)

    @property
    def speed_factor(self) -> float:
        """Relative logic/DSP delay versus UltraScale+ -2 (1.0): used to scale operator delays."""
        return {'ultrascale+': 1.0, 'ultrascale': 1.2, '7series': 2.0}[self.family]

    @property
    def dsp_width(self) -> tuple[int, int]:
        """Signed multiplier port widths (A, B) of the DSP slice: DSP48E2 27x18, DSP48E1 25x18."""
        return (27, 18) if self.family != '7series' else (25, 18)

    def totals(self) -> dict[str, int]:
        return {'dsp': self.dsp, 'lut': self.lut, 'ff': self.ff, 'bram_18k': self.bram_18k, 'uram': self.uram}


def _d(name, family, dsp, lut, ff, bram36, uram, description):
    return Device(
        name=name, family=family, dsp=dsp, lut=lut, ff=ff, bram_18k=2 * bram36, uram=uram, description=description
    )


DEVICES: dict[str, Device] = {
    d.name: d
    for d in [
        # Virtex UltraScale+ (DS890)
        _d('xcvu9p', 'ultrascale+', 6840, 1182240, 2364480, 2160, 960, 'Virtex UltraScale+ VU9P'),
        _d('xcvu13p', 'ultrascale+', 12288, 1728000, 3456000, 2688, 1280, 'Virtex UltraScale+ VU13P'),
        _d('xcvu7p', 'ultrascale+', 4560, 788160, 1576320, 1440, 640, 'Virtex UltraScale+ VU7P'),
        _d('xcvu37p', 'ultrascale+', 9024, 1303680, 2607360, 2016, 960, 'Virtex UltraScale+ VU37P (HBM)'),
        # Alveo cards (the FPGA inside: U200/U250 = VU9P/VU13P-class, U280/U55C = VU37P/VU47P-class)
        _d('xcu200', 'ultrascale+', 6840, 1182240, 2364480, 2160, 960, 'Alveo U200 (VU9P)'),
        _d('xcu250', 'ultrascale+', 12288, 1728000, 3456000, 2688, 1280, 'Alveo U250 (VU13P)'),
        _d('xcu280', 'ultrascale+', 9024, 1303680, 2607360, 2016, 960, 'Alveo U280 (VU37P)'),
        _d('xcu55c', 'ultrascale+', 9024, 1303680, 2607360, 2016, 960, 'Alveo U55C (VU47P)'),
        # Kintex UltraScale / UltraScale+
        _d('xcku115', 'ultrascale', 5520, 663360, 1326720, 2160, 0, 'Kintex UltraScale KU115'),
        _d('xcku040', 'ultrascale', 1920, 242400, 484800, 600, 0, 'Kintex UltraScale KU040'),
        _d('xcku15p', 'ultrascale+', 1968, 522720, 1045440, 984, 128, 'Kintex UltraScale+ KU15P'),
        # Zynq UltraScale+ MPSoC (DS891)
        _d('xczu9eg', 'ultrascale+', 2520, 274080, 548160, 912, 0, 'Zynq UltraScale+ ZU9EG'),
        _d('xczu7ev', 'ultrascale+', 1728, 230400, 460800, 312, 96, 'Zynq UltraScale+ ZU7EV'),
        # 7-series / Zynq-7000 (DS180/DS190)
        _d('xc7z020', '7series', 220, 53200, 106400, 140, 0, 'Zynq-7000 Z-7020'),
        _d('xc7z045', '7series', 900, 218600, 437200, 545, 0, 'Zynq-7000 Z-7045'),
        _d('xc7a100t', '7series', 240, 63400, 126800, 135, 0, 'Artix-7 100T'),
        _d('xc7k325t', '7series', 840, 203800, 407600, 445, 0, 'Kintex-7 325T'),
        _d('xc7vx690t', '7series', 3600, 433200, 866400, 1470, 0, 'Virtex-7 690T'),
    ]
}


def known_parts() -> list[str]:
    return sorted(DEVICES)


def lookup_device(part: str) -> Device:
    """Find the device for a part string by longest device-name prefix (case-insensitive)."""
    if not isinstance(part, str) or not part.strip():
        raise UnknownPartError(f'empty part name; known parts: {", ".join(known_parts())}')
    key = part.strip().lower()
    candidates = [key] if key.startswith('xc') else [key, 'xc' + key]
    best: Device | None = None
    for cand in candidates:
        for name, dev in DEVICES.items():
            if cand.startswith(name) and (best is None or len(name) > len(best.name)):
                # the character after the device name must end the name (e.g. "-", package letters)
                rest = cand[len(name) :]
                if rest == '' or rest[0] in '-_ ' or name.startswith('xc7z') or rest[0].isalpha():
                    best = dev
    if best is None:
        raise UnknownPartError(
            f'unknown FPGA part {part!r}; known parts (use the full part string or the device name): '
            + ', '.join(known_parts())
        )
    from dataclasses import replace

    return replace(best, part=part.strip())
