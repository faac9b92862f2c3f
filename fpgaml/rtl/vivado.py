"""Vendor figures for the RTL backend: an out-of-context Vivado synthesis script beside da4ml's Verilog.

Yosys counts cells without Vivado's LUT packing and timing. Every ``fpgaml rtl`` run writes ``vivado_ooc.tcl``
(and, for a pipelined design, the clock in ``vivado_ooc.xdc``) into ``rtl/``, so that a user with Vivado gets
vendor numbers for the exact Verilog that Verilator verified: ``vivado -mode batch -source vivado_ooc.tcl`` by
hand, or ``fpgaml rtl --vivado``, which runs it when ``vivado`` is on PATH and reads its utilization and timing
reports into the ``rtl`` section of ``fpgaml-report.json`` (``vivado``), as ``fpgaml build --synth`` does for HLS.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import time
from pathlib import Path

from fpgaml.errors import FpgamlError
from fpgaml.rtl.synth import _sources
from fpgaml.synth.report_text import number, section
from fpgaml.synth.reports import parse_vivado_synth_rpt
from fpgaml.synth.results import ReportParseError
from fpgaml.synth.run import run_logged

SCRIPT = 'vivado_ooc.tcl'
XDC = 'vivado_ooc.xdc'
LOG = 'vivado.log'
UTILIZATION = 'vivado_utilization.rpt'
TIMING = 'vivado_timing.rpt'
CHECKPOINT = 'vivado_ooc.dcp'
CLOCK_PORT = 'clk'  # da4ml's pipelined wrapper (its own template.xdc times the same port)
BY_HAND = f'vivado -mode batch -source {SCRIPT}'


def vivado_script(top: str, part: str, sources: list[str], memfiles: list[str], clocked: bool) -> str:
    """The Tcl of a non-project, out-of-context synthesis; every path relative to the script's folder."""
    lines = [
        f'# fpgaml: out-of-context Vivado synthesis of {top}, the da4ml RTL that Verilator checked (generated).',
        f'# Run it by hand in this folder: {BY_HAND}',
        '# ("fpgaml rtl --vivado" runs it when vivado is on PATH.) Paths are relative to this folder.',
        'cd [file dirname [file normalize [info script]]]',
        '',
        "# -flatten_hierarchy: rebuilt (Vivado's default), full or none",
        'set flatten rebuilt',
        '# 1: let synth_design move registers (-retiming); 0 keeps them where da4ml put its pipeline stages',
        'set retiming 0',
        '',
        f'read_verilog {{{" ".join(sources)}}}',
    ]
    if memfiles:
        lines.append(f'read_mem {{{" ".join(memfiles)}}}')
    if clocked:
        lines.append(f'read_xdc -mode out_of_context {XDC}')
    lines += [
        f'set opts [list -top {top} -part {part} -mode out_of_context -flatten_hierarchy $flatten]',
        'if {$retiming} { lappend opts -retiming }',
        'synth_design {*}$opts',
        f'report_utilization -file {UTILIZATION}',
        f'report_timing_summary -file {TIMING}',
        f'write_checkpoint -force {CHECKPOINT}',
        '',
    ]
    return '\n'.join(lines)


def clock_xdc(top: str, clock_period: float) -> str:
    """The config's clock on the wrapper's clock port; inputs and outputs timed against the whole period (as if
    registered just outside the block), so the first and last stages' logic is timed too."""
    return (
        f"# fpgaml: the clock of {top} for {SCRIPT} (the config's clock_period)\n"
        f'create_clock -period {clock_period:.3f} -name {CLOCK_PORT} [get_ports {CLOCK_PORT}]\n'
        f'set_input_delay -clock {CLOCK_PORT} 0.000 [get_ports -filter {{DIRECTION == IN && NAME != {CLOCK_PORT}}}]\n'
        f'set_output_delay -clock {CLOCK_PORT} 0.000 [all_outputs]\n'
    )


def write_vivado_script(rtl_dir: Path, top: str, part: str, clock_period: float, clocked: bool) -> Path:
    """Write ``vivado_ooc.tcl`` (and the clock's ``vivado_ooc.xdc`` when the design is pipelined) into ``rtl_dir``,
    reading the Verilog that Yosys reads and the lookup tables' memory files."""
    memfiles = [f'src/memfiles/{p.name}' for p in sorted((rtl_dir / 'src' / 'memfiles').glob('*')) if p.is_file()]
    (rtl_dir / XDC).unlink(missing_ok=True)
    if clocked:
        (rtl_dir / XDC).write_text(clock_xdc(top, clock_period))
    path = rtl_dir / SCRIPT
    path.write_text(vivado_script(top, part, _sources(rtl_dir), memfiles, clocked))
    return path


def parse_timing_summary(path: Path) -> dict:
    """WNS and WHS (ns) from the 'Design Timing Summary' of ``report_timing_summary``; None where Vivado prints
    no number (a design without a clock)."""
    lines = path.read_text(errors='replace').splitlines()
    start = section(lines, 'Design Timing Summary')
    for i in range(start or 0, len(lines)):
        if 'WNS(ns)' not in lines[i]:
            continue
        heads = re.split(r'\s{2,}', lines[i].strip())
        for row in lines[i + 1 : i + 4]:
            values = row.split()
            if values and set(row.strip()) - set('- '):
                return {
                    key: number(values[heads.index(col)]) if col in heads and heads.index(col) < len(values) else None
                    for key, col in (('wns_ns', 'WNS(ns)'), ('whs_ns', 'WHS(ns)'))
                }
    return {'wns_ns': None, 'whs_ns': None}


def read_vivado_reports(rtl_dir: Path, clock_period: float | None) -> dict:
    """The ``vivado`` entry of the rtl section: LUT/FF/DSP/BRAM (18 kb units, as Yosys's) and the timing slack."""
    rpt = parse_vivado_synth_rpt(rtl_dir / UTILIZATION)
    out = {
        'tool_version': rpt.tool_version,
        'device': rpt.device,
        'LUT': rpt.lut,
        'FF': rpt.ff,
        'DSP': rpt.dsp,
        'BRAM': rpt.bram_18k,
        'LUTRAM': rpt.lut_as_memory,
        'clock_period_ns': clock_period,
        'wns_ns': None,
        'whs_ns': None,
    }
    if (rtl_dir / TIMING).is_file():
        out.update(parse_timing_summary(rtl_dir / TIMING))
    out['script'], out['log'] = SCRIPT, LOG
    return out


def _first_error(log: Path) -> str:
    errs = [ln.strip() for ln in log.read_text(errors='replace').splitlines() if ln.startswith('ERROR')]
    return f': {errs[0][:300]}' if errs else ''


def _kept(rtl_dir: Path) -> Path:
    """A copy of ``rtl/`` (script, Verilog, log) outside the staged project, which is removed on failure."""
    kept = Path(tempfile.mkdtemp(prefix='fpgaml-rtl-vivado-')) / 'rtl'
    shutil.copytree(rtl_dir, kept, ignore=shutil.ignore_patterns('*.dcp'))
    return kept


def run_vivado(rtl_dir: Path, clock_period: float | None) -> dict:
    """Run ``vivado_ooc.tcl`` in ``rtl_dir`` (``vivado`` must be on PATH) and read its reports.

    A failing tool is an FpgamlError (exit 2, as ``--synth``'s) naming a kept copy of the log."""
    t0 = time.perf_counter()
    cmd = ['vivado', '-mode', 'batch', '-source', SCRIPT, '-nolog', '-nojournal']
    rc = run_logged(cmd, rtl_dir, rtl_dir / LOG, 'Vivado: out-of-context synthesis of the RTL (minutes)')
    if rc != 0:
        said = _first_error(rtl_dir / LOG)
        raise FpgamlError(f'vivado failed with exit code {rc}{said} (log: {_kept(rtl_dir) / LOG})')
    if not (rtl_dir / UTILIZATION).is_file():
        raise FpgamlError(f'vivado finished but wrote no {UTILIZATION} (log: {_kept(rtl_dir) / LOG})')
    try:
        out = read_vivado_reports(rtl_dir, clock_period)
    except ReportParseError as e:
        raise FpgamlError(f'vivado wrote a report fpgaml cannot read: {e} (log: {_kept(rtl_dir) / LOG})') from None
    out['wall_s'] = time.perf_counter() - t0
    return out


def not_found_note(rtl_dir: Path) -> str:
    return f'vivado not found on PATH: no Vivado synthesis; to run it by hand: cd {rtl_dir} && {BY_HAND}'
