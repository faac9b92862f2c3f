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

Every command is an ordered list of named steps over a Project (:mod:`fpgaml.flow`); ``build`` is the whole
flow and the other commands are slices of it. A project made before from the same model, config and data is
replayed from the result cache (:mod:`fpgaml.results`): then ``loaded`` and ``conversion`` stay None and the
figures come from the cached record.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import numpy as np

from fpgaml.atomic import write_json
from fpgaml.config import ProjectConfig
from fpgaml.outdir import REPORT, project_files, update_manifest


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
        self.replayed = None  # fpgaml.results.Entry: the cached build this project was restored from
        self.timings: dict[str, float] = {}  # seconds per step of the flow that ran
        self._lib = None
        self._scratch: Path | None = None

    # ---- verbs -----------------------------------------------------------------------------------------------
    def load(self, cache: str | Path | None = None, use_cache: bool = True):
        """The model, loaded; its Keras outputs are remembered in the cache folder (``use_cache=False``:
        recomputed, and the cache refreshed)."""
        from fpgaml import results
        from fpgaml.frontend import load_model

        if self.loaded is None:
            self.loaded = load_model(self.cfg.model)
            self.loaded.references = results.references(self.loaded, self.cfg, cache, read=use_cache)
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
    def layer_records(self) -> list:
        """The layer table (:class:`fpgaml.convert.LayerRecord`), from the conversion or the replayed record."""
        if self.conversion is not None:
            return self.conversion.layers
        from fpgaml.convert import LayerRecord

        return [LayerRecord(**r) for r in self.report['layers']]

    @property
    def model_loader(self) -> tuple[str, list[str]]:
        """The library that loaded the model, and the extension modules used."""
        if self.loaded is not None:
            return self.loaded.loader, list(self.loaded.source.extensions)
        return self.report['model'].get('loader') or '', list(self.cfg.model.extensions)

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
        from fpgaml.report.record import project_record, refresh_record

        if self.report is None:
            self.report = project_record(self)
        else:  # a replayed or csim-updated record: this run's config, budgets and verdict
            self.report['csim'] = self.csim.to_json() if self.csim else self.report.get('csim')
            refresh_record(self.report, self)
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
            flow=self.report['flow'],
            rtl=(self.report or {}).get('rtl'),
            layers=self.report.get('layers'),
        )
        render_readme(
            self.cfg, self.report['model']['sha256'], self.project_dir, final_dir or self.project_dir, self.csim
        )
