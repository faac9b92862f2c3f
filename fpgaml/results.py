"""Whole results cached by content: a warm ``build`` or ``csim`` replays them without TensorFlow, Keras or hls4ml.

What a build makes (the project's files, its record: estimate, C-simulation verdict, layer table, flow) is a
function of the model's bytes, the resolved config, the validation data and the versions of fpgaml, hls4ml, the
ML stack and the compiler. :func:`result_key` hashes exactly these; the output folder and the budgets are left
out (a changed budget is re-checked on the cached estimate). An entry holds the project's files and its record.

Same integrity rules as the compile cache (:mod:`fpgaml.csim.compile`): an entry is used only when every file
matches its checksum manifest; an entry is written under a lock into a temporary folder and appears by one
rename, so a killed run leaves nothing half-written; a read-only cache still serves hits (a cache that cannot be
written only costs recomputation); entries hold no absolute path that is used as-is (the folder the project was
written in is rewritten into the restored copy), so a cache folder can be moved.

``FPGAML_RESULT_CACHE=0`` (or ``--no-cache``) turns the lookup off; the test suite does so outside the tests of
this module, since a test may change fpgaml's behaviour in-process where no key can see it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from functools import cache
from importlib import metadata
from pathlib import Path

import fpgaml
from fpgaml._owner import sha256_file
from fpgaml.atomic import write_json, write_text

FORMAT = b'fpgaml-results-1'
RECORD = 'record.json'
FILES = 'project'
MANIFEST = 'MANIFEST.sha256'
# written from the record on every build (the record's time, paths and budgets are this run's): not cached
RECORD_FILES = frozenset({'fpgaml-report.json', 'report.html', 'README.md', '.fpgaml-manifest.json'})
VERSIONED = ('hls4ml', 'tensorflow', 'tf_keras', 'keras', 'qkeras', 'hgq2', 'numpy', 'da4ml', 'alkaid')


def enabled() -> bool:
    return os.environ.get('FPGAML_RESULT_CACHE', '1') != '0'


@cache
def code_digest() -> str:
    """Digest of fpgaml's own code and templates: a changed fpgaml (a new release, a developer's edit) never
    replays what an older one made."""
    h = hashlib.sha256(fpgaml.__version__.encode())
    root = Path(fpgaml.__file__).parent
    for p in sorted(root.rglob('*')):
        if p.is_file() and '__pycache__' not in p.parts:
            h.update(str(p.relative_to(root)).encode() + b'\0' + p.read_bytes())
    return h.hexdigest()


def _version(pkg: str) -> str:
    try:
        return metadata.version(pkg)
    except metadata.PackageNotFoundError:
        return '-'


def _extension_files(cfg) -> list[Path]:
    """The Python files of the model's extension modules (custom layers): their code shapes the result."""
    from importlib.util import find_spec

    out = []
    for ext in cfg.model.extensions:
        if ext.endswith('.py'):
            out.append(Path(ext))
            continue
        try:
            spec = find_spec(ext)
        except (ImportError, ValueError):
            spec = None
        if spec is not None and spec.origin and Path(spec.origin).is_file():
            out.append(Path(spec.origin))
    return out


def _library_versions() -> str:
    return ''.join(f'{pkg}={_version(pkg)};' for pkg in VERSIONED)


def references(loaded, cfg, cache: str | Path | None = None, read: bool = True):
    """The store of ``loaded``'s Keras outputs (:mod:`fpgaml.frontend.references`), on disk in the cache folder
    unless the result cache is off; keyed by the model's bytes, the samples, its extension code, the library
    versions and fpgaml's code."""
    from fpgaml.csim.compile import cache_dir
    from fpgaml.frontend.references import ReferenceStore

    if not enabled():
        return ReferenceStore(loaded.sha256)
    h = hashlib.sha256(code_digest().encode() + _library_versions().encode())
    for p in _extension_files(cfg):
        h.update(str(p).encode() + b'\0' + sha256_file(p).encode())
    return ReferenceStore(loaded.sha256, h.hexdigest(), cache_dir(cache) / 'keras', read)


def environment() -> str:
    """Digest of everything beside the inputs that shapes a result: fpgaml's code, the versions of hls4ml and the
    ML stack, the compiler and the C-simulation's fast paths (a sweep point's cache key holds it too)."""
    from fpgaml.csim.compile import _compiler_id
    from fpgaml.csim.staging import fast_csim_default

    text = f'{code_digest()};{_library_versions()};{_compiler_id()};fast={fast_csim_default()}'
    return hashlib.sha256(text.encode()).hexdigest()


def result_key(cfg) -> str:
    """The content key of what ``cfg`` builds: model files, extension code, validation data, the config (all
    but the output folder and the budgets), fpgaml's code, the versions of the libraries and the compiler."""
    h = hashlib.sha256(FORMAT + environment().encode())
    settings = cfg.summary()
    for k in ('output_dir', 'budgets', 'sweep'):
        settings.pop(k, None)
    h.update(json.dumps(settings, sort_keys=True, default=str).encode())
    files = [*cfg.model.paths(), *_extension_files(cfg)]
    if cfg.validation_data is not None:
        files.append(Path(cfg.validation_data))
    for p in files:
        h.update(str(p).encode() + b'\0' + sha256_file(p).encode())
    return h.hexdigest()


def root(cache: str | Path | None = None) -> Path:
    from fpgaml.csim.compile import cache_dir

    return cache_dir(cache) / 'results'


@dataclass
class Entry:
    """A sound cache entry: the project's files and the record of the build that made them."""

    path: Path
    key: str
    record: dict

    @property
    def files(self) -> Path:
        return self.path / FILES

    def restore(self, staging: Path) -> None:
        """Copy the project's files into ``staging``; the folder they were written in becomes ``staging``."""
        from fpgaml.outdir import relocate

        shutil.copytree(self.files, staging, dirs_exist_ok=True)
        written_in = self.record.get('result_cache', {}).get('written_in')
        relocate(staging, {written_in: str(staging)} if written_in else {})


def _entry_path(key: str, cache: str | Path | None) -> Path:
    return root(cache) / key[:2] / key


def _manifest(path: Path) -> dict[str, str] | None:
    try:
        lines = (path / MANIFEST).read_text().splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    files = {}
    for line in lines:
        digest, sep, name = line.partition('  ')
        if not sep or len(digest) != 64 or name.startswith('/') or '..' in Path(name).parts:
            return None
        files[name] = digest
    return files if RECORD in files else None


def lookup(key: str, cache: str | Path | None = None) -> Entry | None:
    """The sound entry for ``key``, or None (never built, or any file missing or changed: recomputed)."""
    path = _entry_path(key, cache)
    files = _manifest(path)
    if files is None:
        return None
    try:
        if any(sha256_file(path / name) != digest for name, digest in files.items()):
            return None
        record = json.loads((path / RECORD).read_text())
    except (OSError, ValueError):
        return None
    return Entry(path, key, record)


def store(key: str, project_dir: Path, record: dict, cache: str | Path | None = None) -> str | None:
    """Keep the project in ``project_dir`` and its record under ``key``. Returns a note when the cache cannot
    be written (the build itself is not affected)."""
    from filelock import FileLock

    path = _entry_path(key, cache)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(str(path) + '.lock'):
            if lookup(key, cache) is not None:
                return None  # another run stored the same result meanwhile
            tmp = Path(tempfile.mkdtemp(prefix=f'{key[:16]}.tmp-{os.getpid()}-', dir=path.parent))
            try:
                _write_entry(tmp, project_dir, {**record, 'result_cache': {'key': key, 'written_in': str(project_dir)}})
                shutil.rmtree(path, ignore_errors=True)  # (a corrupted entry of the same key)
                os.replace(tmp, path)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
    except OSError as e:
        return f'the result cache {root(cache)} cannot be written ({e.strerror or e}): this build is not kept'
    return None


def _write_entry(tmp: Path, project_dir: Path, record: dict) -> None:
    from fpgaml.outdir import project_files

    sums = {}
    for rel in project_files(project_dir):
        src = project_dir / rel
        if rel in RECORD_FILES or src.is_symlink() or not src.is_file():
            continue
        dst = tmp / FILES / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dst)
        sums[f'{FILES}/{rel}'] = sha256_file(dst)
    write_text(tmp / RECORD, json.dumps(record, default=str))
    sums[RECORD] = sha256_file(tmp / RECORD)
    write_text(tmp / MANIFEST, ''.join(f'{d}  {n}\n' for n, d in sorted(sums.items())))
    os.chmod(tmp, 0o755)  # (mkdtemp makes 0700: a shared cache is read by others)


# ---- verdicts: small JSON results (a regression's pass) -------------------------------------------------------
def verdict_key(kind: str, cfg, *files: Path) -> str:
    """The key of a verdict about what ``cfg`` builds, checked against ``files`` (e.g. a golden record)."""
    h = hashlib.sha256(kind.encode() + b'\0' + result_key(cfg).encode())
    for p in files:
        h.update(str(p).encode() + b'\0' + sha256_file(p).encode())
    return h.hexdigest()


def _verdict_path(key: str, cache: str | Path | None) -> Path:
    return root(cache) / 'verdicts' / key[:2] / f'{key}.json'


def recall_verdict(key: str, cache: str | Path | None = None) -> dict | None:
    """The verdict stored under ``key``, or None (never stored, or damaged: recomputed)."""
    try:
        held = json.loads(_verdict_path(key, cache).read_text())
        value = held['verdict']
        digest = hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return value if held.get('sha256') == digest else None


def keep_verdict(key: str, verdict: dict, cache: str | Path | None = None) -> None:
    """Store ``verdict`` under ``key`` (a cache that cannot be written only costs recomputation)."""
    digest = hashlib.sha256(json.dumps(verdict, sort_keys=True).encode()).hexdigest()
    path = _verdict_path(key, cache)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_json(path, {'sha256': digest, 'verdict': verdict})
    except OSError:
        pass
