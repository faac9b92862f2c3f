"""The project's record, ``fpgaml-report.json``: what was built from what, with which tools, and its figures."""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path

import fpgaml
from fpgaml.errors import FpgamlError
from fpgaml.frontend.extensions import describe as extension_record


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


def project_record(project) -> dict:
    """The JSON record of a written :class:`fpgaml.project.Project`."""
    conv, cfg, est = project.conversion, project.cfg, project.estimate_result
    return {
        'estimate': est.to_json_dict() if est is not None else None,
        'budgets': [b.model_dump() for b in project.budgets],
        'fpgaml_version': fpgaml.__version__,
        'created': _dt.datetime.now(_dt.UTC).isoformat(timespec='seconds'),
        'config': cfg.summary(),
        'tool_versions': tool_versions(),
        'model': {
            'files': [str(p) for p in cfg.model.paths()],
            'sha256': conv.loaded.sha256,
            'flavor': conv.loaded.flavor,
            'loader': conv.loaded.loader,
            'extensions': extension_record(cfg.model),
            'pruning_wrappers_stripped': conv.loaded.pruning_stripped,
        },
        'firmware_sha256': project.firmware_hash(),
        'bit_exact': {'enabled': conv.bit_exact, 'reason': conv.bit_exact_reason},
        'flow': conv.flow_table(),
        'layers': conv.layer_table(),
        'notes': conv.notes,
        'csim': project.csim.to_json() if project.csim else None,
        'rtl': project.rtl_result.to_json() if getattr(project, 'rtl_result', None) is not None else None,
        # computed, not replayed; how many of the Keras model's outputs came from the cache (fpgaml.results)
        'result_cache': {'hit': False, 'keras_outputs_cached': conv.loaded.references.hits},
    }


def refresh_record(record: dict, project) -> None:
    """A record made by an earlier run (a replayed build, a project being C-simulated again), brought up to this
    run: its config (output folder, budgets), the budgets' verdicts, the date, the tools, the model's paths."""
    cfg = project.cfg
    record.update(
        created=_dt.datetime.now(_dt.UTC).isoformat(timespec='seconds'),
        config=cfg.summary(),
        budgets=[b.model_dump() for b in project.budgets],
        tool_versions=tool_versions(),
    )
    record['model']['files'] = [str(p) for p in cfg.model.paths()]


def read_record(project: Path) -> tuple[dict, object, list]:
    """A written project's record, with its estimate (:class:`~fpgaml.estimate.Estimate`) and budgets
    (:class:`~fpgaml.target.budgets.BudgetResult`) read back; FpgamlError for a folder that has none."""
    from fpgaml.estimate import Estimate
    from fpgaml.target.budgets import BudgetResult

    path = project / 'fpgaml-report.json'
    if not path.is_file():
        raise FpgamlError(f'{project}: not an fpgaml project (no fpgaml-report.json)')
    rep = json.loads(path.read_text())
    if not rep.get('estimate'):
        raise FpgamlError(f'{path}: no estimate recorded (written by an older fpgaml); rebuild the project')
    est = Estimate.from_json_dict(rep['estimate'], rep['config']['clock_period'], rep['config']['io_type'])
    return rep, est, [BudgetResult(**b) for b in rep.get('budgets', [])]
