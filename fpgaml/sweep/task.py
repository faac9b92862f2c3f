"""What runs on a Dask worker: one sweep point, from bytes to figures.

A point travels as its resolved config (JSON) plus the model and validation-data files as bytes (scattered
once per sweep and shared by its points), so a worker needs fpgaml installed and nothing else: no shared
file system, no path of the client's. The worker writes them to a private temporary folder, runs the
``sweep`` flow over a :class:`~fpgaml.project.Project` (load, convert, write, estimate, C-simulate; vendor
synthesis when asked and a tool exists) and returns plain figures. Any error is caught and returned as the
point's error: one failing point never stops the others.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import socket
import tempfile
import time
import traceback
from pathlib import Path

from fpgaml.report.summary import project_summary

CACHE_FORMAT = 'fpgaml-sweep-1'


def model_files(cfg) -> dict:
    """The files a point needs, by role: ``{'file'|'json'|'weights'|'data': (basename, bytes)}``."""
    files = {}
    for role, path in (
        ('file', cfg.model.file),
        ('json', cfg.model.json_),
        ('weights', cfg.model.weights),
        ('data', cfg.validation_data),
    ):
        if path is not None:
            files[role] = (Path(path).name, Path(path).read_bytes())
    return files


def portable_config(cfg) -> dict:
    """The resolved config as JSON without the client's paths (what the cache key and the worker see)."""
    d = cfg.model_dump(mode='json')
    for k in ('source', 'output_dir', 'validation_data', 'sweep'):
        d.pop(k, None)
    d['model'] = {
        k: (Path(v).name if isinstance(v, str) and k in ('file', 'json', 'weights') else v)
        for k, v in d['model'].items()
    }
    return d


def point_key(config: dict, files: dict, options: dict) -> str:
    """sha256 of the resolved config, the model and data bytes, the options, fpgaml's code and the tool versions
    (:func:`fpgaml.results.environment`)."""
    from fpgaml import results

    h = hashlib.sha256()
    h.update(
        json.dumps(
            {'format': CACHE_FORMAT, 'fpgaml': results.environment(), 'config': config, 'options': options},
            sort_keys=True,
        ).encode()
    )
    for role in sorted(files):
        name, data = files[role]
        h.update(f'\0{role}\0{name}\0{len(data)}\0'.encode())
        h.update(data)
    for entry in (config.get('model') or {}).get('extensions') or []:
        # an extension file (code loaded on the worker from its path): its content is part of the point
        if Path(entry).is_absolute() and Path(entry).is_file():
            h.update(b'\0extension\0' + Path(entry).read_bytes())
    return h.hexdigest()


def _where() -> dict:
    try:
        from distributed import get_worker

        w = get_worker()
        return {'worker': w.address, 'host': socket.gethostname()}
    except (ImportError, ValueError):
        return {'worker': f'pid {os.getpid()}', 'host': socket.gethostname()}


def run_point(config: dict, options: dict, files: dict) -> dict:
    """Run one point on this worker; never raises (a failure is returned as ``status: failed``)."""
    t0 = time.perf_counter()
    out = {'status': 'failed', **_where(), 'python': platform.python_version()}
    work = Path(tempfile.mkdtemp(prefix='fpgaml-sweep-'))
    try:
        out.update(_run(config, files, options, work))
        out['status'] = 'ok'
    except BaseException as e:  # noqa: BLE001 - a point's failure is its result
        from fpgaml.errors import FpgamlError

        if isinstance(e, (KeyboardInterrupt, SystemExit)) and not isinstance(e, FpgamlError):
            raise
        out['error'] = f'{type(e).__name__}: {e}' if not isinstance(e, FpgamlError) else str(e)
        if not isinstance(e, FpgamlError):
            out['traceback'] = traceback.format_exc(limit=8)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    out['seconds'] = round(time.perf_counter() - t0, 3)
    return out


def _run(config: dict, files: dict, options: dict, work: Path) -> dict:
    from fpgaml._env import require_legacy_keras

    require_legacy_keras()
    os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
    os.environ.setdefault('CUDA_VISIBLE_DEVICES', '')
    import warnings

    warnings.filterwarnings('ignore')
    from fpgaml.config.schema import ProjectConfig
    from fpgaml.flow import run_flow
    from fpgaml.project import Project

    paths = {}
    for role, (name, data) in files.items():
        (work / role).mkdir()
        paths[role] = work / role / name
        paths[role].write_bytes(data)
    d = json.loads(json.dumps(config))
    d['model'] = {**d['model'], 'file': paths.get('file'), 'json': paths.get('json'), 'weights': paths.get('weights')}
    d.update(source=work / 'sweep.yml', output_dir=work / 'out', validation_data=paths.get('data'))
    if options.get('samples'):
        d['validation'] = {**d['validation'], 'samples': int(options['samples'])}
    cfg = ProjectConfig.model_validate(d)
    flow = 'sweep_synth' if options.get('synth') else 'sweep'
    rtl_options = None
    if options.get('rtl'):
        from fpgaml.rtl import RtlOptions, check_tools

        check_tools(synth=RtlOptions.from_config(cfg).synth)  # the worker needs the rtl extra: say so first
        flow, rtl_options = flow.replace('sweep', 'sweep_rtl'), RtlOptions.from_config(cfg)
    project = run_flow(Project(cfg), flow, use_cache=options.get('use_cache', True), rtl_options=rtl_options)
    return project_summary(project)
