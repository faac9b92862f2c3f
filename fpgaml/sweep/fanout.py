"""``fpgaml regress --scheduler`` and ``fpgaml zoo build --all``: one task per reference model on the Dask
engine (:mod:`fpgaml.sweep.engine`).

A model's folder (config, model, validation data, golden record: a few hundred kB) travels with its task; the
worker runs it in a private temporary folder and sends back what the client keeps: the regression result and
a rewritten golden record (``--update``), or the built project as a tar archive that the client installs
like ``fpgaml build`` does (atomically, ``--force`` to replace). No shared file system is assumed.
"""

from __future__ import annotations

import io
import shutil
import tarfile
import tempfile
from dataclasses import asdict
from pathlib import Path

from fpgaml.errors import FpgamlError

MAX_FILE = 64 << 20  # a model folder's files larger than this are not shipped (datasets left beside a model)


def folder_files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())
            if p.is_file() and not p.name.startswith('.') and p.stat().st_size <= MAX_FILE}


def _unpack(files: dict[str, bytes], root: Path, name: str) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    for fname, data in files.items():
        (folder / Path(fname).name).write_bytes(data)
    return folder / 'config.yml'


def regress_task(name: str, files: dict[str, bytes], update: bool) -> tuple[dict, bytes | None]:
    """On a worker: :func:`fpgaml.regress.regress_one` on a private copy of the model folder."""
    from fpgaml._env import require_legacy_keras

    require_legacy_keras()
    from fpgaml.regress import GOLDEN, regress_one

    root = Path(tempfile.mkdtemp(prefix=f'fpgaml-regress-task-{name}-'))
    try:
        config = _unpack(files, root, name)
        res = regress_one(name, config, update=update)
        golden = (config.parent / GOLDEN).read_bytes() if res.status in ('updated', 'created') else None
        return asdict(res), golden
    finally:
        shutil.rmtree(root, ignore_errors=True)


def regress_distributed(names: list[str], models: dict[str, Path], update: bool, scheduler: str | None):
    from fpgaml.regress import GOLDEN, RegressResult
    from fpgaml.sweep.engine import ProgressLine, engine, map_tasks

    results: list = [None] * len(names)
    with engine(scheduler, tasks=len(names)) as eng:
        progress = ProgressLine('regress', len(names))
        try:
            def done(o):
                name = names[o.index]
                if o.error is not None:
                    results[o.index] = RegressResult(model=name, status='FAIL', first_difference=o.error)
                else:
                    d, golden = o.result
                    results[o.index] = RegressResult(**d)
                    if golden is not None:  # --update: the record the worker wrote comes back here
                        path = models[name].parent / GOLDEN
                        tmp = path.with_name(path.name + '.tmp')
                        tmp.write_bytes(golden)
                        tmp.replace(path)
                progress.advance(f'{name}: {results[o.index].status}')

            map_tasks(eng, regress_task, [(n, folder_files(models[n].parent), update) for n in names],
                      [f'regress-{n}' for n in names], on_done=done)
        finally:
            progress.close()
    return results


def build_task(name: str, files: dict[str, bytes]) -> tuple[dict, bytes]:
    """On a worker: ``fpgaml build`` of one model in a private folder; returns its summary and the project as
    a tar archive."""
    from fpgaml._env import require_legacy_keras

    require_legacy_keras()
    from fpgaml.config import load_config
    from fpgaml.project import Project, run_flow

    root = Path(tempfile.mkdtemp(prefix=f'fpgaml-build-task-{name}-'))
    try:
        config = _unpack(files, root / 'models', name)
        p = run_flow(Project(load_config(config, output_dir=root / 'out' / name)), 'build')
        t = p.estimate_result.total
        summary = {'model': name, 'csim_passed': p.csim.passed, 'csim_mode': p.csim.mode,
                   'latency_ns': t.latency_ns, 'ii_cycles': t.ii_cycles, 'lut': t.lut, 'dsp': t.dsp,
                   'budgets_failed': [b.message for b in p.budgets_failed],
                   # the worker's own folders, which the project's records name: relocated on install
                   'worker_paths': {'project': str(root / 'out' / name), 'model_dir': str(config.parent)}}
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode='w:gz') as tar:
            tar.add(root / 'out' / name, arcname='.')
        return summary, buf.getvalue()
    finally:
        shutil.rmtree(root, ignore_errors=True)


def build_all(models: dict[str, Path], output_root: Path | None, force: bool, scheduler: str | None,
              workers: int | None = None) -> list[dict]:
    """Build every zoo model on the engine and install each project locally; one failure does not stop the
    others (it is returned with its error)."""
    from fpgaml.config import load_config
    from fpgaml.outdir import check_target, install, relocate, temp_project_dir, user_inputs
    from fpgaml.sweep.engine import ProgressLine, engine, map_tasks

    names = list(models)
    targets = {}
    for n in names:  # every target checked before anything runs
        cfg = load_config(models[n], output_dir=(output_root / n) if output_root else None)
        check_target(cfg.output_dir, force, user_inputs(cfg))
        targets[n] = (cfg.output_dir, user_inputs(cfg))
    rows: list = [None] * len(names)
    with engine(None if scheduler == 'local' else scheduler, workers=workers, tasks=len(names)) as eng:
        progress = ProgressLine('zoo build', len(names))
        try:
            def done(o):
                name = names[o.index]
                target, protected = targets[name]
                if o.error is not None:
                    rows[o.index] = {'model': name, 'error': o.error}
                else:
                    summary, archive = o.result
                    worker = summary.pop('worker_paths', {})
                    target.parent.mkdir(parents=True, exist_ok=True)
                    staging = temp_project_dir(target)
                    try:
                        with tarfile.open(fileobj=io.BytesIO(archive), mode='r:gz') as tar:
                            tar.extractall(staging, filter='data')
                        relocate(staging, {worker.get('project'): str(target),
                                           worker.get('model_dir'): str(models[name].parent.resolve())})
                        install(staging, target, force=force, protected=protected)
                    except BaseException:
                        shutil.rmtree(staging, ignore_errors=True)
                        raise
                    rows[o.index] = {**summary, 'project': str(target), 'where': eng.where}
                r = rows[o.index]
                progress.advance(f'{name}: ' + (f'FAILED: {r["error"]}' if 'error' in r else
                                                f'{"PASSED" if r["csim_passed"] else "FAILED"} C-sim, '
                                                f'{r["latency_ns"]:g} ns, {r["lut"]} LUT -> {target}'))

            def task_error(o):
                try:
                    done(o)
                except FpgamlError as e:
                    rows[o.index] = {'model': names[o.index], 'error': str(e)}

            map_tasks(eng, _build_or_error, [(n, folder_files(models[n].parent)) for n in names],
                      [f'build-{n}' for n in names], on_done=task_error)
        finally:
            progress.close()
    return rows


def _build_or_error(name: str, files: dict[str, bytes]):
    from fpgaml.errors import FpgamlError as _E

    try:
        return build_task(name, files)
    except _E as e:  # a user-level failure of one model (e.g. a C-simulation mismatch) is that model's result
        raise RuntimeError(str(e)) from None
