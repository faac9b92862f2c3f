"""The reference-model zoo (``models/``): where it is, which models it holds, and ``fpgaml zoo build --all``,
one task per model on the Dask engine (:mod:`fpgaml.parallel`).

A model's folder (config, model, validation data, golden record: a few hundred kB) travels with its task; the
worker builds it in a private temporary folder and sends back the project as a tar archive, which the client
installs like ``fpgaml build`` does (atomically, ``--force`` to replace). No shared file system is assumed.
(The training scripts' own helpers are :mod:`fpgaml.data.zoo`.)
"""

from __future__ import annotations

import io
import shutil
import tarfile
import tempfile
from pathlib import Path

from fpgaml import parallel
from fpgaml.errors import FpgamlError

MODELS_DIR = Path(__file__).resolve().parents[1] / 'models'


def default_models_dir() -> Path:
    """``./models`` of the current folder when there is one, else the checkout's ``models/``."""
    here = Path.cwd() / 'models'
    return here if here.is_dir() else MODELS_DIR


def models_folder(path: Path) -> Path:
    """A --models-dir given by the user, checked."""
    from fpgaml.config import expand_path

    folder = expand_path(path, '--models-dir')
    if not folder.exists():
        raise FpgamlError(f'--models-dir {path}: no such folder')
    if not folder.is_dir():
        raise FpgamlError(f'--models-dir {path}: is a file, not a folder of reference models')
    return folder


def zoo(models_dir: Path = MODELS_DIR) -> dict[str, Path]:
    """Every reference model: a folder of ``models/`` with a ``config.yml``."""
    return {p.parent.name: p for p in sorted(Path(models_dir).glob('*/config.yml'))}


def build_task(name: str, files: dict[str, bytes]) -> tuple[dict, bytes]:
    """On a worker: ``fpgaml build`` of one model in a private folder; returns its summary and the project as
    a tar archive."""
    from fpgaml._env import require_legacy_keras

    require_legacy_keras()
    from fpgaml.config import load_config
    from fpgaml.flow import run_flow
    from fpgaml.project import Project
    from fpgaml.report.summary import project_summary

    root = Path(tempfile.mkdtemp(prefix=f'fpgaml-build-task-{name}-'))
    try:
        config = parallel.unpack_folder(files, root / 'models', name) / 'config.yml'
        p = run_flow(Project(load_config(config, output_dir=root / 'out' / name)), 'build')
        summary = {
            'model': name,
            **project_summary(p),
            # the worker's own folders, which the project's records name: relocated on install
            'worker_paths': {'project': str(root / 'out' / name), 'model_dir': str(config.parent)},
        }
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode='w:gz') as tar:
            tar.add(root / 'out' / name, arcname='.')
        return summary, buf.getvalue()
    finally:
        shutil.rmtree(root, ignore_errors=True)


def build_all(
    models: dict[str, Path], output_root: Path | None, force: bool, scheduler: str | None, workers: int | None = None
) -> list[dict]:
    """Build every zoo model on the engine and install each project locally; one failure does not stop the
    others (it is returned with its error)."""
    from fpgaml.config import load_config
    from fpgaml.outdir import check_target, install, relocate, temp_project_dir, user_inputs

    names = list(models)
    targets = {}
    for n in names:  # every target checked before anything runs
        cfg = load_config(models[n], output_dir=(output_root / n) if output_root else None)
        check_target(cfg.output_dir, force, user_inputs(cfg))
        targets[n] = (cfg.output_dir, user_inputs(cfg))
    rows: list = [None] * len(names)
    with parallel.engine(None if scheduler == 'local' else scheduler, workers=workers, tasks=len(names)) as eng:
        progress = parallel.ProgressLine('zoo build', len(names))
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
                        relocate(
                            staging,
                            {
                                worker.get('project'): str(target),
                                worker.get('model_dir'): str(models[name].parent.resolve()),
                            },
                        )
                        install(staging, target, force=force, protected=protected)
                    except BaseException:
                        shutil.rmtree(staging, ignore_errors=True)
                        raise
                    rows[o.index] = {**summary, 'project': str(target), 'where': eng.where}
                r = rows[o.index]
                progress.advance(
                    f'{name}: '
                    + (
                        f'FAILED: {r["error"]}'
                        if 'error' in r
                        else f'{"PASSED" if r["csim_passed"] else "FAILED"} C-sim, '
                        f'{r["latency_ns"]:g} ns, {r["lut"]} LUT -> {target}'
                    )
                )

            def task_error(o):
                try:
                    done(o)
                except FpgamlError as e:
                    rows[o.index] = {'model': names[o.index], 'error': str(e)}

            parallel.map_tasks(
                eng,
                _build_or_error,
                [(n, parallel.folder_files(models[n].parent)) for n in names],
                [f'build-{n}' for n in names],
                on_done=task_error,
            )
        finally:
            progress.close()
    return rows


def _build_or_error(name: str, files: dict[str, bytes]):
    from fpgaml.errors import FpgamlError as _E

    try:
        return build_task(name, files)
    except _E as e:  # a user-level failure of one model (e.g. a C-simulation mismatch) is that model's result
        raise RuntimeError(str(e)) from None
