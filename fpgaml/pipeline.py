"""The whole pipeline in one place: config -> model -> hls4ml project -> C-simulation -> record.

Projects are written into a temporary folder beside the target and renamed into place only when
everything (including the C-simulation of ``build``) has succeeded; any failure, Ctrl-C or SIGTERM leaves
the previous state untouched. What may be replaced, and how, is fpgaml.outdir's business.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from string import Template

import fpgaml
from fpgaml.config import ProjectConfig
from fpgaml.convert import Conversion, convert, firmware_hash, write_project
from fpgaml.csim import CsimResult, run_csim
from fpgaml.convert.writer import TEMPLATES
from fpgaml.errors import FpgamlError
from fpgaml.estimate import Estimate, estimate
from fpgaml.target import check_budgets
from fpgaml.frontend import load_model
from fpgaml.outdir import (REPORT, check_target, folder_lock, install, is_user_os_error, project_files, remove_stale,
                           temp_project_dir, update_manifest, user_inputs, user_os_error, write_manifest)
from fpgaml.report.html import write_html_report


@dataclass
class BuildResult:
    project_dir: Path
    conversion: Conversion
    csim: CsimResult | None
    report: dict
    estimate: Estimate | None = None
    budgets: list = None
    synthesis: object = None  # fpgaml.synth.run.SynthRun

    @property
    def budgets_failed(self) -> list:
        return [b for b in (self.budgets or []) if not b.passed]


def tool_versions() -> dict[str, str]:
    out = {'fpgaml': fpgaml.__version__, 'python': platform.python_version()}
    for pkg in ('hls4ml', 'tensorflow', 'tf_keras', 'keras', 'qkeras', 'numpy'):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = 'not installed'
    try:
        cxx = os.environ.get('CXX', 'g++')
        out['cxx'] = subprocess.run([cxx, '--version'], capture_output=True, text=True).stdout.splitlines()[0]
    except (OSError, IndexError):
        out['cxx'] = 'not found'
    return out


def _report(conv: Conversion, project_dir: Path, csim: CsimResult | None, est: Estimate | None = None,
            budgets: list | None = None) -> dict:
    cfg = conv.config
    return {
        'estimate': est.to_json_dict() if est is not None else None,
        'budgets': [b.model_dump() for b in budgets or []],
        'fpgaml_version': fpgaml.__version__,
        'created': _dt.datetime.now(_dt.timezone.utc).isoformat(timespec='seconds'),
        'config': cfg.summary(),
        'tool_versions': tool_versions(),
        'model': {'files': [str(p) for p in cfg.model.paths()], 'sha256': conv.loaded.sha256,
                  'flavor': conv.loaded.flavor, 'pruning_wrappers_stripped': conv.loaded.pruning_stripped},
        'firmware_sha256': firmware_hash(project_dir),
        'bit_exact': {'enabled': conv.bit_exact, 'reason': conv.bit_exact_reason},
        'layers': conv.layer_table(),
        'notes': conv.notes,
        'csim': csim.to_json() if csim else None,
    }


def _write_json_atomic(path: Path, obj: dict) -> None:
    tmp = path.with_name(path.name + '.tmp')
    tmp.write_text(json.dumps(obj, indent=2, default=str) + '\n')
    os.replace(tmp, path)


def _render_readme(conv: Conversion, project_dir: Path, final_dir: Path, csim: CsimResult | None) -> None:
    cfg = conv.config
    if csim is None:
        summary = 'not run (`fpgaml csim` or `fpgaml build`)'
    else:
        summary = f'{"PASSED" if csim.passed else "FAILED"}: {csim.mode}, {csim.samples} samples'
        if csim.exact_fraction is not None:
            summary += f', {100 * csim.exact_fraction:.2f}% bit-exact'
    text = Template((TEMPLATES / 'project_README.md').read_text()).substitute(
        project=cfg.name, version=fpgaml.__version__, hls4ml_version=tool_versions()['hls4ml'],
        date=_dt.date.today().isoformat(), model=cfg.model.describe(), model_sha256=conv.loaded.sha256,
        config=cfg.source, backend=cfg.backend, part=cfg.part, clock_period=cfg.clock_period, io_type=cfg.io_type,
        strategy=cfg.strategy, reuse_factor=cfg.reuse_factor, csim_summary=summary,
        project_dir_name=final_dir.name)
    (project_dir / 'README.md').write_text(text)


def _new_temp_project(target: Path) -> Path:
    """Create the output's parent, clear what killed runs left beside ``target``, and make the temporary folder."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with folder_lock(target.parent):
            remove_stale(target)
        return temp_project_dir(target)
    except OSError as e:
        raise user_os_error(e, target, 'cannot write the project') from None


def estimate_config(cfg: ProjectConfig) -> tuple[Conversion, Estimate, list]:
    """Convert in memory and estimate latency/resources (nothing is written)."""
    loaded = load_model(cfg.model)
    scratch = Path(tempfile.mkdtemp(prefix='fpgaml-estimate-'))
    try:
        conv = convert(cfg, loaded, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    est = estimate(conv.graph, cfg.part, cfg.clock_period)
    return conv, est, check_budgets(est, cfg.budgets) if cfg.budgets else []


def _html(path: Path, cfg: ProjectConfig, est: Estimate, synthesis=None, csim: CsimResult | None = None) -> None:
    write_html_report(path, est, synthesis=synthesis, budgets=cfg.budgets, title=f'{cfg.name}: fpgaml report',
                      csim=csim, verification=True)


def synthesize(res: 'BuildResult', cosim: bool = False, vsynth: bool = False) -> None:
    """Run vendor HLS synthesis in the installed project (when a tool exists) and record the reports."""
    from dataclasses import asdict

    from fpgaml.synth import compare
    from fpgaml.synth.run import run_synthesis

    cfg = res.conversion.config
    before = set(project_files(res.project_dir))
    try:
        run = run_synthesis(res.project_dir, cfg.backend, cosim=cosim, vsynth=vsynth)
        res.synthesis = run
        if run.result is None:
            return
        res.report['synthesis'] = {'tool': run.tool, 'reports': asdict(run.result),
                                   'comparison': compare(res.estimate, run.result).to_json_dict()}
        _write_json_atomic(res.project_dir / REPORT, res.report)
        _html(res.project_dir / 'report.html', cfg, res.estimate, run.result, res.csim)
    finally:  # what the vendor tool wrote belongs to the project (a later --force may replace it)
        update_manifest(res.project_dir, set(project_files(res.project_dir)) - before | {REPORT, 'report.html'})


def build(cfg: ProjectConfig, *, csim: bool, force: bool, cache: str | None = None,
          use_cache: bool = True) -> BuildResult:
    """Convert (and with ``csim`` C-simulate) ``cfg`` into ``cfg.output_dir``, atomically."""
    target = cfg.output_dir
    protected = user_inputs(cfg)
    check_target(target, force, protected)
    loaded = load_model(cfg.model)
    tmp = _new_temp_project(target)
    try:
        conv = convert(cfg, loaded, tmp)
        write_project(conv, tmp)
        est = estimate(conv.graph, cfg.part, cfg.clock_period)
        budgets = check_budgets(est, cfg.budgets) if cfg.budgets else []
        result = run_csim(conv, tmp, cache=cache, use_cache=use_cache) if csim else None
        _render_readme(conv, tmp, target, result)
        report = _report(conv, tmp, result, est, budgets)
        _write_json_atomic(tmp / REPORT, report)
        _html(tmp / 'report.html', cfg, est, csim=result)
        write_manifest(tmp)
        install(tmp, target, force=force, protected=protected)
    except BaseException as e:
        shutil.rmtree(tmp, ignore_errors=True)
        if is_user_os_error(e):
            raise user_os_error(e, target, 'cannot write the project') from None
        raise
    conv.graph.config.config['OutputDir'] = str(target)
    return BuildResult(target, conv, result, report, est, budgets)


def csim_existing(cfg: ProjectConfig, *, cache: str | None = None, use_cache: bool = True) -> BuildResult:
    """C-simulate the project already written for ``cfg``; refuse if it is out of date."""
    target = cfg.output_dir
    if not (target / REPORT).is_file():
        raise FpgamlError(f'{target} is not an fpgaml project (no {REPORT}); run "fpgaml convert" or '
                          f'"fpgaml build" first')
    loaded = load_model(cfg.model)
    scratch = Path(tempfile.mkdtemp(prefix='fpgaml-check-'))
    try:
        conv = convert(cfg, loaded, scratch)
        write_project(conv, scratch)
        fresh = firmware_hash(scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    on_disk = firmware_hash(target)
    if fresh != on_disk:
        raise FpgamlError(f'{target} is out of date: its firmware differs from what {cfg.source.name} and the '
                          f'model produce now; run "fpgaml convert --force" (or "fpgaml build --force")')
    conv.graph.config.config['OutputDir'] = str(target)
    result = run_csim(conv, target, cache=cache, use_cache=use_cache)
    report = json.loads((target / REPORT).read_text())
    report['csim'] = result.to_json()
    _write_json_atomic(target / REPORT, report)
    _render_readme(conv, target, target, result)
    update_manifest(target, [REPORT, 'README.md'])
    return BuildResult(target, conv, result, report)
