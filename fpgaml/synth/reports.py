"""Parsers for Vivado HLS / Vitis HLS and Vivado reports, into typed numbers.

* ``*_csynth.xml`` / ``*_csynth.rpt`` -- HLS C-synthesis: latency, II, clock, resources, available
  resources and (``.rpt``) the per-instance (per-layer) breakdown.
* ``vivado_synth.rpt`` -- Vivado ``report_utilization`` after logic synthesis.
* ``*_cosim.rpt`` -- C/RTL co-simulation latency and interval.

The numbers and ASCII tables of the text reports are read with :mod:`fpgaml.synth.report_text`.
:func:`find_reports` looks in the usual hls4ml project locations and returns a :class:`SynthesisResult`
(:mod:`fpgaml.synth.results`); :func:`fpgaml.synth.comparison.compare` puts an estimate next to it.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

from fpgaml.synth.report_text import cells, integer, number, section, tables, to_ns
from fpgaml.synth.results import (
    CosimReport,
    CsynthReport,
    InstanceReport,
    ReportParseError,
    SynthesisResult,
    VivadoSynthReport,
)

__all__ = ['parse_csynth_xml', 'parse_csynth_rpt', 'parse_vivado_synth_rpt', 'parse_cosim_rpt', 'find_reports']

_DSP_KEYS = ('DSP48E', 'DSP', 'DSP48E1', 'DSP48E2', 'DSP58')


# ---------------------------------------------------------------------------------------------------------
# csynth
# ---------------------------------------------------------------------------------------------------------
def parse_csynth_xml(path) -> CsynthReport:
    path = Path(path)
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise ReportParseError(f'{path}: not a valid csynth XML report ({exc})') from exc

    def text(xpath):
        el = root.find(xpath)
        return el.text if el is not None else None

    r = CsynthReport(path=str(path))
    r.tool_version = text('./ReportVersion/Version')
    r.part = text('./UserAssignments/Part')
    r.top = text('./UserAssignments/TopModelName')
    r.target_clock_ns = number(text('./UserAssignments/TargetClockPeriod'))
    r.clock_uncertainty_ns = number(text('./UserAssignments/ClockUncertainty'))
    pe = './PerformanceEstimates'
    r.estimated_clock_ns = number(text(f'{pe}/SummaryOfTimingAnalysis/EstimatedClockPeriod'))
    r.pipeline_type = text(f'{pe}/PipelineType')
    lat = f'{pe}/SummaryOfOverallLatency'
    r.latency_min = integer(text(f'{lat}/Best-caseLatency'))
    r.latency_max = integer(text(f'{lat}/Worst-caseLatency'))
    r.ii_min = integer(text(f'{lat}/Interval-min'))
    r.ii_max = integer(text(f'{lat}/Interval-max'))
    if r.target_clock_ns is None and r.latency_max is None and root.find('./AreaEstimates') is None:
        raise ReportParseError(f'{path}: no UserAssignments/PerformanceEstimates/AreaEstimates: not a csynth report')
    res = './AreaEstimates/Resources'
    r.bram_18k = integer(text(f'{res}/BRAM_18K'))
    for k in _DSP_KEYS:
        if root.find(f'{res}/{k}') is not None:
            r.dsp = integer(text(f'{res}/{k}'))
            break
    r.ff = integer(text(f'{res}/FF'))
    r.lut = integer(text(f'{res}/LUT'))
    r.uram = integer(text(f'{res}/URAM'))
    av = root.find('./AreaEstimates/AvailableResources')
    if av is not None:
        for el in av:
            key = 'dsp' if el.tag in _DSP_KEYS else el.tag.lower()
            v = integer(el.text)
            if v is not None:
                r.available[key] = v
    return r


def parse_csynth_rpt(path) -> CsynthReport:
    path = Path(path)
    lines = path.read_text(errors='replace').splitlines()
    r = CsynthReport(path=str(path))
    for l in lines:
        m = re.match(r'\*\s*Version:\s*(\S+)', l.strip())
        if m and r.tool_version is None:
            r.tool_version = m.group(1)
        m = re.match(r'\*\s*Target device:\s*(\S+)', l.strip())
        if m:
            r.part = m.group(1)
        m = re.match(r"==\s*(?:Vivado|Vitis) HLS Report for '([^']+)'", l.strip())
        if m:
            r.top = m.group(1)
    i_perf = section(lines, '== Performance Estimates')
    i_util = section(lines, '== Utilization Estimates')
    i_intf = section(lines, '== Interface')
    if i_perf is None or i_util is None:
        raise ReportParseError(
            f"{path}: missing 'Performance Estimates' / 'Utilization Estimates': not a csynth report"
        )
    # timing
    for hdr, rows, _ in tables(lines, i_perf, i_util):
        if hdr and 'Clock' in ' '.join(hdr[0]) and rows:
            c = rows[0]
            if len(c) >= 4:
                r.target_clock_ns, r.estimated_clock_ns, r.clock_uncertainty_ns = to_ns(c[1]), to_ns(c[2]), to_ns(c[3])
            break
    # latency summary and instance detail
    i_lat = section(lines[i_perf:i_util], '+ Latency:')
    i_lat = i_perf + (i_lat or 0)
    i_inst = section(lines[i_lat:i_util], '* Instance:')
    i_inst = None if i_inst is None else i_lat + i_inst
    for _, rows, _ in tables(lines, i_lat, i_inst or i_util):
        for c in rows:
            nums = [x for x in c]
            if len(nums) >= 7:
                r.latency_min, r.latency_max = integer(nums[0]), integer(nums[1])
                r.ii_min, r.ii_max = integer(nums[4]), integer(nums[5])
                r.pipeline_type = nums[6] or None
                break
        break
    inst_by_name: dict[str, InstanceReport] = {}
    if i_inst is not None:
        i_loop = section(lines[i_inst:i_util], '* Loop:')
        stop = i_inst + i_loop if i_loop is not None else i_util
        for _, rows, _ in tables(lines, i_inst, stop):
            for c in rows:
                if len(c) >= 9 and c[0]:
                    inst = InstanceReport(
                        name=c[0],
                        module=c[1],
                        latency_min=integer(c[2]),
                        latency_max=integer(c[3]),
                        ii_min=integer(c[6]),
                        ii_max=integer(c[7]),
                        pipeline_type=c[8] or None,
                    )
                    inst_by_name[inst.name] = inst
            break
    # utilization summary
    i_detail = section(lines[i_util:], '+ Detail:')
    i_detail = i_util + i_detail if i_detail is not None else (i_intf or len(lines))
    for hdr, rows, _ in tables(lines, i_util, i_detail):
        head = hdr[0] if hdr else (rows[0] if rows else [])
        cols = [h.strip().upper() for h in head]
        if 'NAME' not in cols:
            continue

        def col(row, key, cols=cols):
            for k in [key] if key != 'DSP' else list(_DSP_KEYS):
                if k.upper() in cols:
                    idx = cols.index(k.upper())
                    return integer(row[idx]) if idx < len(row) else None
            return None

        for c in rows:
            label = c[0].strip().lower() if c else ''
            if label == 'total':
                r.bram_18k, r.dsp, r.ff, r.lut, r.uram = (
                    col(c, 'BRAM_18K'),
                    col(c, 'DSP'),
                    col(c, 'FF'),
                    col(c, 'LUT'),
                    col(c, 'URAM'),
                )
            elif label == 'available':
                for key, name in (
                    ('BRAM_18K', 'bram_18k'),
                    ('DSP', 'dsp'),
                    ('FF', 'ff'),
                    ('LUT', 'lut'),
                    ('URAM', 'uram'),
                ):
                    v = col(c, key)
                    if v is not None:
                        r.available[name] = v
        break
    # per-instance utilization
    i_uinst = section(lines[i_detail:], '* Instance:') if i_detail < len(lines) else None
    if i_uinst is not None:
        start = i_detail + i_uinst
        for hdr, rows, _ in tables(lines, start, i_intf):
            cols = [h.strip().upper() for h in (hdr[0] if hdr else [])]
            for c in rows:
                if not c or not c[0] or c[0].strip().lower() == 'total':
                    continue
                inst = inst_by_name.setdefault(c[0], InstanceReport(name=c[0], module=c[1] if len(c) > 1 else ''))

                def col(key, row=c, cols=cols):
                    keys = list(_DSP_KEYS) if key == 'DSP' else [key]
                    for k in keys:
                        if k in cols:
                            idx = cols.index(k)
                            return integer(row[idx]) if idx < len(row) else None
                    return None

                inst.bram_18k, inst.dsp, inst.ff, inst.lut, inst.uram = (
                    col('BRAM_18K'),
                    col('DSP'),
                    col('FF'),
                    col('LUT'),
                    col('URAM'),
                )
            break
    r.instances = list(inst_by_name.values())
    return r


# ---------------------------------------------------------------------------------------------------------
# Vivado post-synthesis utilization
# ---------------------------------------------------------------------------------------------------------
def parse_vivado_synth_rpt(path) -> VivadoSynthReport:
    path = Path(path)
    lines = path.read_text(errors='replace').splitlines()
    r = VivadoSynthReport(path=str(path))
    found = False
    i_used, i_avail = 1, 3  # column positions; updated from each table's header row
    for l in lines:
        m = re.match(r'\|\s*Tool Version\s*:\s*(.+?)\s*$', l)
        if m:
            r.tool_version = m.group(1)
        m = re.match(r'\|\s*Device\s*:\s*(\S+)', l)
        if m:
            r.device = m.group(1)
        c = cells(l)
        if len(c) < 2:
            continue
        if c[0] == 'Site Type':
            heads = [h.strip().lower() for h in c]
            i_used = heads.index('used') if 'used' in heads else 1
            i_avail = heads.index('available') if 'available' in heads else 3
            continue
        label = c[0].rstrip('*').strip()
        used = number(c[i_used]) if i_used < len(c) else None
        avail = integer(c[i_avail]) if i_avail < len(c) else None
        if used is None:
            continue
        key = {
            'CLB LUTs': 'lut',
            'Slice LUTs': 'lut',
            'LUT as Logic': 'lut_as_logic',
            'LUT as Memory': 'lut_as_memory',
            'CLB Registers': 'ff',
            'Slice Registers': 'ff',
            'DSPs': 'dsp',
            'Block RAM Tile': 'bram_tiles',
            'RAMB36/FIFO': 'ramb36',
            'RAMB18': 'ramb18',
            'URAM': 'uram',
        }.get(label)
        if key is None or getattr(r, key) is not None:
            continue
        setattr(r, key, float(used) if key == 'bram_tiles' else int(used))
        found = True
        if avail is not None:
            name = {'ramb18': 'bram_18k'}.get(key, key)
            r.available[name] = avail
    if not found:
        raise ReportParseError(f'{path}: no utilization table (Slice/CLB LUTs, Registers, DSPs) found')
    return r


# ---------------------------------------------------------------------------------------------------------
# co-simulation
# ---------------------------------------------------------------------------------------------------------
def parse_cosim_rpt(path) -> CosimReport:
    path = Path(path)
    lines = path.read_text(errors='replace').splitlines()
    best: CosimReport | None = None
    for l in lines:
        c = cells(l)
        if len(c) >= 9 and c[0].lower() in ('verilog', 'vhdl', 'systemc'):
            rep = CosimReport(
                path=str(path),
                rtl=c[0],
                status=c[1],
                latency_min=integer(c[2]),
                latency_avg=number(c[3]),
                latency_max=integer(c[4]),
                ii_min=integer(c[5]),
                ii_avg=number(c[6]),
                ii_max=integer(c[7]),
                total_execution_cycles=integer(c[8]),
            )
            if best is None or (rep.status or '').lower() == 'pass':
                best = rep
    if best is None:
        raise ReportParseError(f'{path}: no RTL / Status / Latency table found: not a cosim report')
    return best


# ---------------------------------------------------------------------------------------------------------
# discovery
# ---------------------------------------------------------------------------------------------------------
def _first(paths) -> Path | None:
    paths = sorted(set(paths))
    return paths[0] if paths else None


def find_reports(project_dir) -> SynthesisResult | None:
    """Find and parse the reports of an hls4ml project (or a folder holding report files).

    Looks in ``<project>_prj/solution*/syn/report/`` (csynth), ``<project>_prj/solution*/sim/report/``
    (cosim), ``vivado_synth.rpt`` in the project folder, and report files directly in ``project_dir``.
    Returns ``None`` when no report exists.
    """
    d = Path(project_dir)
    if not d.is_dir():
        return None
    syn_dirs = sorted(d.glob('*_prj/solution*/syn/report')) + [d]
    xml = rpt = None
    for sd in syn_dirs:
        xml = xml or _first(p for p in sd.glob('*csynth.xml'))
        rpt = rpt or _first(p for p in sd.glob('*_csynth.rpt'))
        if xml or rpt:
            break
    # prefer the top-level report: hls4ml names it after the project (<project>_prj -> <project>_csynth.*)
    for prj in sorted(d.glob('*_prj')):
        top = prj.name[: -len('_prj')]
        for cand in sorted(prj.glob(f'solution*/syn/report/{top}_csynth.xml')):
            xml = cand
        for cand in sorted(prj.glob(f'solution*/syn/report/{top}_csynth.rpt')):
            rpt = cand
    cosim_path = _first(list(d.glob('*_prj/solution*/sim/report/*_cosim.rpt')) + list(d.glob('*_cosim.rpt')))
    vsynth_path = _first(list(d.glob('vivado_synth.rpt')) + list(d.glob('*_prj/vivado_synth.rpt')))
    res = SynthesisResult()
    if rpt is not None:
        res.csynth = parse_csynth_rpt(rpt)
        if xml is not None:  # the XML has the authoritative totals; keep the rpt's instance breakdown
            x = parse_csynth_xml(xml)
            x.instances = res.csynth.instances
            res.csynth = x
    elif xml is not None:
        res.csynth = parse_csynth_xml(xml)
    if vsynth_path is not None:
        res.vivado_synth = parse_vivado_synth_rpt(vsynth_path)
    if cosim_path is not None:
        res.cosim = parse_cosim_rpt(cosim_path)
    if res.csynth is None and res.vivado_synth is None and res.cosim is None:
        return None
    return res
