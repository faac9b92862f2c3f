"""Run vendor HLS synthesis on a generated project when a vendor tool is on PATH."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from fpgaml.errors import FpgamlError
from fpgaml.progress import Spinner
from fpgaml.synth.reports import find_reports
from fpgaml.synth.results import SynthesisResult

# hls4ml's build_prj.tcl runs under both; Vitis HLS 2023.2+ also ships vitis-run.
TOOLS = {'Vivado': ('vivado_hls', 'vitis_hls'), 'Vitis': ('vitis_hls', 'vitis-run', 'vivado_hls')}


@dataclass
class SynthRun:
    tool: str | None
    message: str
    result: SynthesisResult | None = None


def find_tool(backend: str) -> str | None:
    for name in TOOLS.get(backend, TOOLS['Vivado']):
        if shutil.which(name):
            return name
    return None


def run_logged(cmd: list[str], cwd: Path, log: Path, what: str, timeout_s: int | None = None) -> int:
    """Run a vendor tool in ``cwd`` under a spinner, its output in ``log``; return its exit code.

    The vendor tools (``fpgaml build --synth``, ``fpgaml rtl --vivado``) print thousands of lines: the user gets
    one line and the log's path. Outliving ``timeout_s`` is an error naming the log.
    """
    with Spinner(what), open(log, 'w') as f:
        try:
            return subprocess.run(cmd, cwd=cwd, stdout=f, stderr=subprocess.STDOUT, timeout=timeout_s).returncode
        except subprocess.TimeoutExpired:
            raise FpgamlError(f'{cmd[0]} did not finish within {timeout_s} s (log: {log})') from None


def run_synthesis(
    project_dir: Path, backend: str, cosim: bool = False, vsynth: bool = False, timeout_s: int | None = None
) -> SynthRun:
    tool = find_tool(backend)
    if tool is None:
        names = ', '.join(TOOLS.get(backend, TOOLS['Vivado']))
        return SynthRun(None, f'no vendor HLS tool on PATH ({names}): skipping synthesis, showing the estimate')
    args = f'reset=1 synth=1 csim=0 cosim={int(cosim)} validation=0 export=0 vsynth={int(vsynth)}'
    if tool == 'vitis-run':
        cmd = [tool, '--mode', 'hls', '--tcl', 'build_prj.tcl']
    else:
        cmd = [tool, '-f', 'build_prj.tcl', args]
    log = project_dir / 'fpgaml-synth.log'
    rc = run_logged(cmd, project_dir, log, f'HLS synthesis with {tool} (this takes minutes to hours)', timeout_s)
    if rc != 0:
        raise FpgamlError(f'{tool} failed with exit code {rc} (log: {log})')
    result = find_reports(project_dir)
    if result is None:
        raise FpgamlError(f'{tool} finished but wrote no synthesis report under {project_dir} (log: {log})')
    return SynthRun(tool, f'{tool} synthesis finished (log: {log})', result)
