"""One firmware project and the verbs every command is made of.

A :class:`Project` holds one config and what has been made from it so far (the loaded model, the corrected
hls4ml graph, the written project, the compiled C-simulation library, the figures). Its verbs:

=============  ===========================================================================================
``load``       read the model files (untrusted input: inspected before anything is deserialized)
``convert``    the hls4ml graph, corrected by fpgaml's passes: the firmware's one description
``write``      the HLS C++ project (hls4ml's writer, fpgaml's headers and C-simulation harness)
``compile``    the C-simulation library (g++, cached by content)
``predict``    run the firmware on inputs; ``trace``: also per-layer outputs
``verify``     C-simulate on the validation data and compare with the model (bit for bit or by tolerance)
``estimate``   latency / II / resources per layer, and the budgets
``synthesize`` vendor HLS synthesis, when a tool is installed
``rtl``        the same arithmetic as Verilog (da4ml), simulated in Verilator against the C-simulation and
               synthesized by Yosys (``fpgaml.rtl``)
=============  ===========================================================================================

Every command is an ordered list of named steps over a Project (:data:`FLOWS`); ``build`` is the whole
flow and the other commands are slices of it. A written project lands atomically: it is staged in a
temporary folder beside the target and installed (``fpgaml.outdir``) only when every step has succeeded.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import numpy as np

from fpgaml.atomic import write_json
from fpgaml.config import ProjectConfig
from fpgaml.errors import FpgamlError
from fpgaml.outdir import (
    REPORT,
    check_target,
    folder_lock,
    install,
    is_user_os_error,
    project_files,
    remove_stale,
    temp_project_dir,
    update_manifest,
    user_inputs,
    user_os_error,
    write_manifest,
)


class Project:
    def __init__(self, cfg: ProjectConfig, loaded=None):
        self.cfg = cfg
        self.loaded = loaded  # fpgaml.frontend.LoadedModel (loaded on first use unless given)
        self.conversion = None  # fpgaml.convert.Conversion
        self.project_dir: Path | None = None  # where the project is written (a staging folder until installed)
        self.compiled = None  # fpgaml.csim.compile.CompiledLibrary
        self.csim = None  # fpgaml.csim.CsimResult
        self.estimate_result = None  # fpgaml.estimate.Estimate
        self.budgets: list = []
        self.synthesis = None  # fpgaml.synth.run.SynthRun
        self.rtl_result = None  # fpgaml.rtl.RtlResult
        self.report: dict | None = None
        self._lib = None
        self._scratch: Path | None = None

    # ---- verbs -----------------------------------------------------------------------------------------------
    def load(self):
        from fpgaml.frontend import load_model

        if self.loaded is None:
            self.loaded = load_model(self.cfg.model)
        return self.loaded

    def convert(self):
        from fpgaml.convert import convert

        if self.conversion is None:
            where = self.project_dir or self._scratch_dir()
            self.conversion = convert(self.cfg, self.load(), where)
        return self.conversion

    def write(self, directory: Path | None = None) -> Path:
        from fpgaml.convert import write_project

        if directory is not None:
            self.project_dir = Path(directory)
        if self.project_dir is None:
            self.project_dir = self._scratch_dir()
        self.project_dir.mkdir(parents=True, exist_ok=True)
        write_project(self.convert(), self.project_dir)
        self._lib = None
        return self.project_dir

    def compile(self, cache: str | Path | None = None, use_cache: bool = True, fast: bool | None = None):
        from fpgaml.csim.compile import compile_library

        if self.project_dir is None:
            self.write()
        self.compiled = compile_library(self.project_dir, self.cfg.name, cache=cache, use_cache=use_cache, fast=fast)
        self._lib = None
        return self.compiled

    def library(self):
        """The compiled C-simulation library, loaded (compiling with the defaults if needed)."""
        from fpgaml.csim import csim_threads
        from fpgaml.csim.harness import CsimLibrary

        if self._lib is None:
            if self.compiled is None:
                self.compile()
            self._lib = CsimLibrary(self.compiled.path, threads=csim_threads(self.cfg.io_type))
        return self._lib

    def predict(self, xs: list[np.ndarray], **options) -> list[np.ndarray]:
        return self.library().predict(xs, **options)

    def trace(self, xs: list[np.ndarray], layers: dict[str, int]):
        return self.library().trace(xs, layers)

    def verify(self, cache: str | Path | None = None, use_cache: bool = True):
        from fpgaml.csim import run_csim

        if self.project_dir is None:
            self.write()
        # run_csim compiles (through the cache) and records the compile time and whether it was a cache hit
        self.csim = run_csim(self.convert(), self.project_dir, cache=cache, use_cache=use_cache)
        return self.csim

    def estimate(self):
        from fpgaml.estimate import estimate
        from fpgaml.target import check_budgets

        self.estimate_result = estimate(self.convert().graph, self.cfg.part, self.cfg.clock_period)
        self.budgets = check_budgets(self.estimate_result, self.cfg.budgets) if self.cfg.budgets else []
        return self.estimate_result

    def synthesize(self, cosim: bool = False, vsynth: bool = False):
        """Vendor HLS synthesis in the installed project (when a tool exists); its reports join the record."""
        from dataclasses import asdict

        from fpgaml.synth import compare
        from fpgaml.synth.run import run_synthesis

        before = set(project_files(self.project_dir))
        try:
            self.synthesis = run_synthesis(self.project_dir, self.cfg.backend, cosim=cosim, vsynth=vsynth)
            if self.synthesis.result is None:
                return self.synthesis
            self.report['synthesis'] = {
                'tool': self.synthesis.tool,
                'reports': asdict(self.synthesis.result),
                'comparison': compare(self.estimate_result, self.synthesis.result).to_json_dict(),
            }
            self._write_record()
        finally:  # what the vendor tool wrote belongs to the project (a later --force may replace it)
            update_manifest(self.project_dir, set(project_files(self.project_dir)) - before | {REPORT, 'report.html'})
        return self.synthesis

    def rtl(self, options=None, cache: str | Path | None = None):
        """da4ml Verilog in ``rtl/``, Verilator-verified against the C-simulation, Yosys resources."""
        from fpgaml.rtl import RtlOptions, run_rtl

        if self.project_dir is None:
            self.write()
        self.rtl_result = run_rtl(self, options or RtlOptions.from_config(self.cfg), cache=cache)
        return self.rtl_result

    def firmware_hash(self) -> str:
        from fpgaml.convert import firmware_hash

        return firmware_hash(self.project_dir)

    # ---- results -------------------------------------------------------------------------------------------
    @property
    def budgets_failed(self) -> list:
        return [b for b in self.budgets if not b.passed]

    def close(self) -> None:
        """Remove the scratch folder (if any) this project used for an in-memory conversion."""
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = None

    def _scratch_dir(self) -> Path:
        if self._scratch is None:
            self._scratch = Path(tempfile.mkdtemp(prefix=f'fpgaml-{self.cfg.name}-'))
        return self._scratch

    def _write_record(self, final_dir: Path | None = None) -> None:
        """fpgaml-report.json, report.html and the project README from what this project holds."""
        from fpgaml.convert.writer import render_readme
        from fpgaml.report.html import write_html_report
        from fpgaml.report.record import project_record

        if self.report is None:
            self.report = project_record(self)
        else:
            self.report['csim'] = self.csim.to_json() if self.csim else self.report.get('csim')
        if self.rtl_result is not None:
            self.report['rtl'] = self.rtl_result.to_json()
        write_json(self.project_dir / REPORT, self.report, indent=2, default=str)
        write_html_report(
            self.project_dir / 'report.html',
            self.estimate_result,
            synthesis=self.synthesis.result if self.synthesis else None,
            budgets=self.cfg.budgets,
            title=f'{self.cfg.name}: fpgaml report',
            csim=self.csim,
            verification=True,
            flow=self.conversion.flow_table(),
            rtl=(self.report or {}).get('rtl'),
        )
        render_readme(self.conversion, self.project_dir, final_dir or self.project_dir, self.csim)


# ---- the steps of the commands ---------------------------------------------------------------------------------
class Run:
    """One command's run of steps over a Project, with the options the steps read."""

    def __init__(
        self,
        project: Project,
        *,
        force: bool = False,
        cache: str | Path | None = None,
        use_cache: bool = True,
        rtl_options=None,
    ):
        self.project, self.force, self.cache, self.use_cache = project, force, cache, use_cache
        self.target = project.cfg.output_dir
        self.staging: Path | None = None
        self.rtl_options = rtl_options


def _check_output(run: Run) -> None:
    check_target(run.target, run.force, user_inputs(run.project.cfg))


def _stage(run: Run) -> None:
    """Create the output's parent, clear what killed runs left beside the target, make the staging folder."""
    try:
        run.target.parent.mkdir(parents=True, exist_ok=True)
        with folder_lock(run.target.parent):
            remove_stale(run.target)
        run.staging = temp_project_dir(run.target)
    except OSError as e:
        raise user_os_error(e, run.target, 'cannot write the project') from None
    run.project.project_dir = run.staging


def _check_up_to_date(run: Run) -> None:
    """``csim`` on a written project: the project must be what the config and the model produce now."""
    from fpgaml.convert import firmware_hash

    if not (run.target / REPORT).is_file():
        raise FpgamlError(
            f'{run.target} is not an fpgaml project (no {REPORT}); run "fpgaml convert" or "fpgaml build" first'
        )
    p = run.project
    fresh = firmware_hash(p.write(p._scratch_dir() / 'check'))
    if fresh != firmware_hash(run.target):
        raise FpgamlError(
            f'{run.target} is out of date: its firmware differs from what {p.cfg.source.name} and the '
            f'model produce now; run "fpgaml convert --force" (or "fpgaml build --force")'
        )
    p.project_dir = run.target
    p.conversion.graph.config.config['OutputDir'] = str(run.target)
    p.report = json.loads((run.target / REPORT).read_text())


def _record(run: Run) -> None:
    run.project._write_record(final_dir=run.target)
    write_manifest(run.project.project_dir)


def _update_record(run: Run) -> None:
    from fpgaml.convert.writer import render_readme

    p = run.project
    p.report['csim'] = p.csim.to_json()
    write_json(p.project_dir / REPORT, p.report, indent=2, default=str)
    render_readme(p.conversion, p.project_dir, p.project_dir, p.csim)
    update_manifest(p.project_dir, [REPORT, 'README.md'])


def _install(run: Run) -> None:
    install(run.staging, run.target, force=run.force, protected=user_inputs(run.project.cfg))
    run.staging = None
    run.project.project_dir = run.target
    run.project.conversion.graph.config.config['OutputDir'] = str(run.target)


def _synthesize_point(run: Run) -> None:
    """Vendor HLS synthesis of the written (scratch) project, when a tool is on the PATH; otherwise the run
    records that no tool was found (never a made-up figure)."""
    from fpgaml.synth.run import run_synthesis

    run.project.synthesis = run_synthesis(run.project.project_dir, run.project.cfg.backend)


STEPS = {
    'check_output': _check_output,
    'load': lambda run: run.project.load(),
    'stage': _stage,
    'convert': lambda run: run.project.convert(),
    'write': lambda run: run.project.write(),
    'estimate': lambda run: run.project.estimate(),
    'check_up_to_date': _check_up_to_date,
    'verify': lambda run: run.project.verify(cache=run.cache, use_cache=run.use_cache),
    'rtl': lambda run: run.project.rtl(run.rtl_options, cache=run.cache),
    'rtl_check': lambda run: __import__('fpgaml.rtl.model', fromlist=['check_supported']).check_supported(
        run.project.convert().graph, run.project.cfg.io_type
    ),
    'record': _record,
    'update_record': _update_record,
    'install': _install,
    'synthesize_point': _synthesize_point,
}

# The whole flow, and each command as the slice of it that it runs.
BUILD = ('check_output', 'load', 'stage', 'convert', 'write', 'estimate', 'verify', 'record', 'install')
FLOWS = {
    'build': BUILD,
    'convert': tuple(s for s in BUILD if s != 'verify'),
    'csim': ('load', 'convert', 'check_up_to_date', 'verify', 'update_record'),
    'estimate': ('load', 'convert', 'estimate'),
    # one point of ``fpgaml sweep`` on a worker: figures only, nothing installed (fpgaml.sweep.task)
    'sweep': ('load', 'convert', 'write', 'estimate', 'verify'),
    'sweep_synth': ('load', 'convert', 'write', 'estimate', 'verify', 'synthesize_point'),
    'sweep_rtl': ('load', 'convert', 'rtl_check', 'write', 'estimate', 'verify', 'rtl'),
    'sweep_rtl_synth': ('load', 'convert', 'rtl_check', 'write', 'estimate', 'verify', 'rtl', 'synthesize_point'),
    # the build, then the RTL backend on the verified graph (fpgaml.rtl); installed only when it all succeeds
    'rtl': (
        'check_output',
        'load',
        'stage',
        'convert',
        'rtl_check',
        'write',
        'estimate',
        'verify',
        'rtl',
        'record',
        'install',
    ),
}


def run_flow(project: Project, command: str, **options) -> Project:
    """Run ``command``'s steps over ``project``. Any failure (or Ctrl-C / SIGTERM) removes the staging folder:
    an existing project is left as it was."""
    run = Run(project, **options)
    try:
        for step in FLOWS[command]:
            STEPS[step](run)
    except BaseException as e:
        if run.staging is not None:
            shutil.rmtree(run.staging, ignore_errors=True)
        if run.staging is not None and is_user_os_error(e):
            raise user_os_error(e, run.target, 'cannot write the project') from None
        raise
    finally:
        project.close()
    return project


def build(
    cfg: ProjectConfig,
    *,
    csim: bool = True,
    force: bool = False,
    cache: str | Path | None = None,
    use_cache: bool = True,
) -> Project:
    """``fpgaml build`` (or, without ``csim``, ``fpgaml convert``) as a library call."""
    return run_flow(Project(cfg), 'build' if csim else 'convert', force=force, cache=cache, use_cache=use_cache)
