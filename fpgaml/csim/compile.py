"""Compile a generated project's C-simulation library with g++ and the ap_types that hls4ml bundles.

The sources are staged first (:mod:`fpgaml.csim.staging`: a copy, fpgaml's integer fast paths hooked in).
Compiled libraries are cached by content (firmware sources + harness + compiler + flags), so an
unchanged firmware never pays for g++ twice. Cache writes are atomic and locked; every entry carries
its own checksum manifest over every file it uses; a corrupted entry is repaired, never loaded, and a
read-only cache still serves hits. Libraries do not know their own location, so a cache can be moved.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from filelock import FileLock

from fpgaml._owner import host_tag, pid_alive, sha256_file
from fpgaml.atomic import write_text
from fpgaml.convert.writer import TEMPLATES
from fpgaml.csim.staging import fast_csim_default, fast_path_key, stage_sources
from fpgaml.errors import CompileError, FpgamlError
from fpgaml.progress import Spinner

CXX = os.environ.get('CXX', 'g++')
CXXFLAGS = ['-O2', '-std=c++17', '-fPIC', '-fno-gnu-unique', '-w']
WEIGHTS_HEADER = TEMPLATES / 'csim' / 'fpgaml_weights_dir.h'  # weights folder set at run time, not compiled in
WEIGHTS_SOURCE = TEMPLATES / 'csim' / 'fpgaml_weights_dir.cpp'
CACHE_FORMAT = b'fpgaml-csim-cache-2'  # entry layout: MANIFEST.sha256 over every file; relocatable library


def cache_dir(override: str | Path | None = None) -> Path:
    if override:
        return Path(override).expanduser()
    if os.environ.get('FPGAML_CACHE_DIR'):
        return Path(os.environ['FPGAML_CACHE_DIR']).expanduser()
    base = os.environ.get('XDG_CACHE_HOME') or str(Path.home() / '.cache')
    return Path(base) / 'fpgaml' / 'csim'


def _compiler_id() -> str:
    try:
        out = subprocess.run([CXX, '--version'], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        raise FpgamlError(f'C++ compiler "{CXX}" not found: install g++ (or set CXX) to run the C-simulation') from None
    return out.splitlines()[0]


def source_hash(project_dir: Path, project: str, fast: bool = True) -> str:
    """Key of a compiled library: every source the compile reads, the compiler and the flags."""
    h = hashlib.sha256()
    h.update(_compiler_id().encode())
    h.update(' '.join(CXXFLAGS).encode())
    h.update(CACHE_FORMAT + WEIGHTS_HEADER.read_bytes() + WEIGHTS_SOURCE.read_bytes())
    if fast:
        h.update(fast_path_key())
    files = sorted(p for p in (project_dir / 'firmware').rglob('*') if p.is_file())
    files += [project_dir / f'{project}_bridge.cpp', project_dir / 'fpgaml_harness.cpp']
    for p in files:
        h.update(str(p.relative_to(project_dir)).encode())
        h.update(p.read_bytes())
    return h.hexdigest()


@dataclass
class CompiledLibrary:
    path: Path
    key: str
    seconds: float
    cached: bool
    fast: bool = False  # compiled with fpgaml's integer fast path for dense layers
    notes: list[str] = field(default_factory=list)  # what the cache found and did (corrupted entry, read-only)


def _first_error(log: str) -> str:
    for line in log.splitlines():
        if ' error: ' in line or line.startswith('error:') or 'fatal error' in line:
            return line.strip()
    lines = [ln for ln in log.splitlines() if ln.strip()]
    return lines[0].strip() if lines else 'unknown error'


def _kill_group(p: subprocess.Popen) -> None:
    """Kill a compiler and everything it started (g++ runs cc1plus and as as its own children)."""
    if p.poll() is None:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    p.wait()


def _run_parallel(cmds: list[list[str]], cwd: Path, log_path: Path) -> None:
    procs = []
    logs = []
    try:
        for cmd in cmds:
            f = tempfile.TemporaryFile(mode='w+')
            logs.append(f)
            # own process group: on any exception (Ctrl-C, SIGTERM turned into one) the whole g++ tree is killed
            procs.append(subprocess.Popen(cmd, cwd=cwd, stdout=f, stderr=subprocess.STDOUT, start_new_session=True))
        codes = [p.wait() for p in procs]
    except BaseException:  # Ctrl-C included: never leave compilers running
        for p in procs:
            _kill_group(p)
        raise
    finally:
        text = ''
        for cmd, f in zip(cmds, logs):
            f.seek(0)
            text += '$ ' + ' '.join(cmd) + '\n' + f.read()
            f.close()
    if any(codes):
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log_path.write_text(text)
        raise CompileError(f'C++ compilation failed: {_first_error(text)} (full log: {log_path})')


# ---- cache entries ------------------------------------------------------------------------------------------
# An entry is a folder <cache>/<key[:2]>/<key>/ holding the library, the weight files it reads at start-up,
# the fast-path marker and MANIFEST: the SHA-256 of every one of those files (``sha256sum -c`` format),
# written last. An entry is used only if every file the manifest names matches it; a library is never
# given its own folder at compile time (the weights folder is passed at run time), so entries can move.

LIB = 'libfpgaml_csim.so'
WEIGHTS = 'weights'
MANIFEST = 'MANIFEST.sha256'
FAST_MARKER = 'fast-path'
_TMP_DIR = re.compile(r'^(?:build|weights)-(?P<host>.+)-(?P<pid>\d+)-[^-]+$')


def _read_manifest(entry: Path) -> dict[str, str] | None:
    try:
        text = (entry / MANIFEST).read_text()
    except (OSError, UnicodeDecodeError):
        return None
    files = {}
    for line in text.splitlines():
        digest, sep, name = line.partition('  ')
        if not sep or len(digest) != 64 or not name or name.startswith('/') or '..' in Path(name).parts:
            return None
        files[name] = digest
    return files if LIB in files else None


def entry_problems(entry: Path) -> list[str] | None:
    """Files of a cache entry that are missing or differ from the entry's manifest: [] for a sound entry,
    None when there is no usable entry at all (never built, or its manifest is gone or unreadable)."""
    files = _read_manifest(entry)
    if files is None:
        return None
    bad = []
    for name, digest in files.items():
        try:
            if sha256_file(entry / name) != digest:
                bad.append(f'{name} (changed)')
        except OSError:
            bad.append(f'{name} (missing)')
    return bad


def _tmp_name(kind: str) -> str:
    return f'{kind}-{host_tag()}-{os.getpid()}-'


def remove_stale_builds(entry: Path) -> list[str]:
    """Remove the build/weights folders that a killed fpgaml (SIGKILL, power loss) left in ``entry``:
    those of a process of this host that no longer runs. Returns their names."""
    removed = []
    host = host_tag()
    for d in entry.glob('*-*'):
        m = _TMP_DIR.match(d.name)
        if d.is_dir() and m and m['host'] == host and int(m['pid']) != os.getpid() and not pid_alive(int(m['pid'])):
            shutil.rmtree(d, ignore_errors=True)  # (a read-only cache keeps them: nothing to do about it)
            if not d.exists():
                removed.append(d.name)
    return removed


def _umask() -> int:
    mask = os.umask(0o22)
    os.umask(mask)
    return mask


def _note_stale(removed: list[str], notes: list[str]) -> None:
    if removed:
        notes.append(
            f'removed {len(removed)} build folder(s) left in the compile cache by a killed fpgaml: {", ".join(removed)}'
        )


def _install_weights(project_dir: Path, entry: Path) -> dict[str, str]:
    """Copy the weight files the library reads at start-up into its cache entry; returns their checksums."""
    tmp = Path(tempfile.mkdtemp(prefix=_tmp_name('weights'), dir=entry))
    try:
        sums = {}
        for p in sorted((project_dir / 'firmware' / 'weights').glob('*.txt')):
            shutil.copy2(p, tmp / p.name)
            sums[f'{WEIGHTS}/{p.name}'] = sha256_file(tmp / p.name)
        os.chmod(tmp, 0o777 & ~_umask())  # (mkdtemp makes 0700: a shared cache is read by others)
        shutil.rmtree(entry / WEIGHTS, ignore_errors=True)
        os.replace(tmp, entry / WEIGHTS)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return sums


def _compile_into(project_dir: Path, project: str, entry: Path, fast: bool, log_path: Path) -> tuple[dict, bool]:
    """g++ the library in a build folder of ``entry``, then install it and its weight files into ``entry``
    (whose manifest is removed first: the entry is unusable until the caller writes the new one). Returns
    the checksums of the files installed and whether the fast-path hook went in. The build folder is
    removed whatever happens; an interrupted compile leaves ``entry`` as it was."""
    build = Path(tempfile.mkdtemp(prefix=_tmp_name('build'), dir=entry))
    try:
        src = build / 'src'
        hooked = stage_sources(project_dir, project, src, fast)
        for f in (WEIGHTS_HEADER, WEIGHTS_SOURCE):
            shutil.copy2(f, src / f.name)
        inc = [
            f'-I{src / "firmware" / "ap_types"}',
            f'-I{src / "firmware"}',
            f'-I{src}',
            '-include',
            str(src / WEIGHTS_HEADER.name),
            f'-ffile-prefix-map={build}=.',
        ] + (['-DFPGAML_FAST_CSIM'] if hooked else [])  # (prefix map: no build folder in the library's strings)
        sources = [src / 'firmware' / f'{project}.cpp', src / 'fpgaml_harness.cpp', src / WEIGHTS_SOURCE.name]
        objs = [build / f'{s.stem}.o' for s in sources]
        cmds = [[CXX, *CXXFLAGS, *inc, '-c', str(s), '-o', str(o)] for s, o in zip(sources, objs)]
        with Spinner(f'compiling {project} with {CXX} (C-simulation library)'):
            _run_parallel(cmds, project_dir, log_path)
            _run_parallel([[CXX, '-shared', *map(str, objs), '-o', str(build / LIB)]], project_dir, log_path)
        (entry / MANIFEST).unlink(missing_ok=True)
        sums = _install_weights(project_dir, entry)
        sums[LIB] = sha256_file(build / LIB)
        if hooked:
            write_text(entry / FAST_MARKER, 'fpgaml fast paths: dense_latency, relu, ap_shift_reg\n')
            sums[FAST_MARKER] = sha256_file(entry / FAST_MARKER)
        else:
            (entry / FAST_MARKER).unlink(missing_ok=True)
        os.replace(build / LIB, entry / LIB)
        return sums, hooked
    finally:
        shutil.rmtree(build, ignore_errors=True)


def _write_manifest(entry: Path, sums: dict[str, str]) -> None:
    write_text(entry / MANIFEST, ''.join(f'{d}  {n}\n' for n, d in sorted(sums.items())))


def _private_entry() -> Path:
    """A folder of this process's own (removed at exit) for a library the cache cannot hold."""
    d = Path(tempfile.mkdtemp(prefix='fpgaml-csim-'))
    atexit.register(shutil.rmtree, d, True)
    return d


def _open_entry(entry: Path) -> FileLock:
    """Create the entry folder and take its lock; OSError if the cache cannot be written."""
    entry.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(entry / '.lock'))
    lock.acquire()
    return lock


def compile_library(
    project_dir: Path,
    project: str,
    cache: str | Path | None = None,
    use_cache: bool = True,
    log_dir: Path | None = None,
    fast: bool | None = None,
) -> CompiledLibrary:
    """Compile (or fetch from the cache) the C-simulation library of the project in ``project_dir``.

    ``fast`` (default: on unless ``FPGAML_CSIM_FAST=0``) compiles dense layers and ReLUs with fpgaml's
    bit-exact integer fast paths (firmware_templates/csim/fpgaml_fast_csim.h) instead of ap_fixed arithmetic.

    A sound cache entry is used without writing anything (a read-only cache works). A corrupted one is
    repaired under the entry's lock (weights reinstalled, or the library recompiled) and the returned
    ``notes`` say so; a cache that cannot be written gets a private, temporary library instead.
    """
    project_dir = Path(project_dir).resolve()
    fast = fast_csim_default() if fast is None else fast
    key = source_hash(project_dir, project, fast)
    root = cache_dir(cache)
    entry = root / key[:2] / key
    log_path = (log_dir or Path(tempfile.gettempdir())) / f'fpgaml-{project}-compile.log'
    t0 = time.perf_counter()
    notes: list[str] = []

    def done(where: Path, cached: bool) -> CompiledLibrary:
        return CompiledLibrary(
            where / LIB, key, time.perf_counter() - t0, cached, (where / FAST_MARKER).is_file(), notes
        )

    problems = entry_problems(entry) if use_cache else None
    if problems == []:
        _note_stale(remove_stale_builds(entry), notes)  # (only if there are any: a hit writes nothing else)
        return done(entry, True)  # a read-only cache serves hits
    try:
        lock = _open_entry(entry)
    except OSError as e:
        if problems:
            notes.append(
                f'compile cache entry {entry} is corrupted ({", ".join(problems)}) and the cache cannot '
                f'be written: not used'
            )
        notes.append(
            f'the compile cache {root} cannot be written ({e.strerror or e}): the library was compiled '
            f'in a temporary folder and is not cached (set --cache-dir or FPGAML_CACHE_DIR to a writable '
            f'folder to keep it)'
        )
        private = _private_entry()
        _write_manifest(private, _compile_into(project_dir, project, private, fast, log_path)[0])
        return done(private, False)
    try:
        _note_stale(remove_stale_builds(entry), notes)
        if use_cache:
            problems = entry_problems(entry)  # another process may have built or repaired it meanwhile
            if problems == []:
                return done(entry, True)
        old = _read_manifest(entry) or {}
        if use_cache and problems is None and (entry / LIB).exists():
            problems = [f'{MANIFEST} (missing or unreadable)']
        if problems and all(p.startswith(f'{WEIGHTS}/') for p in problems):
            # the library itself is sound: reinstalling the weight files from the project repairs the entry
            (entry / MANIFEST).unlink(missing_ok=True)  # unusable until its new manifest is in place
            sums = _install_weights(project_dir, entry)
            sums.update({n: d for n, d in old.items() if not n.startswith(f'{WEIGHTS}/')})
            notes.append(
                f'compile cache entry {entry} was corrupted ({", ".join(problems)}): the weight files '
                f'were reinstalled from the project'
            )
            cached = True
        else:
            if problems:
                notes.append(
                    f'compile cache entry {entry} was corrupted ({", ".join(problems)}): the library was recompiled'
                )
            sums = _compile_into(project_dir, project, entry, fast, log_path)[0]
            cached = False
        _write_manifest(entry, sums)
        return done(entry, cached)
    finally:
        lock.release()
