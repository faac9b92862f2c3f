"""Compile a generated project's C-simulation library with g++ and the ap_types that hls4ml bundles.

Compiled libraries are cached by content (firmware sources + harness + compiler + flags), so an
unchanged firmware never pays for g++ twice. Cache writes are atomic and locked; every entry carries
its own checksum and a corrupted entry is rebuilt, never loaded.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock

from fpgaml.convert.writer import TEMPLATES
from fpgaml.errors import CompileError, FpgamlError
from fpgaml.progress import Spinner

CXX = os.environ.get('CXX', 'g++')
CXXFLAGS = ['-O2', '-std=c++17', '-fPIC', '-fno-gnu-unique', '-w']
FAST_HEADER = TEMPLATES / 'csim' / 'fpgaml_fast_csim.h'
FAST_SHIFT_REG = TEMPLATES / 'csim' / 'ap_shift_reg.h'  # replaces ap_types/ap_shift_reg.h (same behaviour)
# (file in nnet_utils, the hls4ml function's signature up to its opening brace, the fpgaml_fast call)
_FAST_HOOKS = (
    ('nnet_dense_latency.h', r'void\s+dense_latency\s*\([^)]*\)\s*\{',
     'fpgaml_fast::dense_latency<data_T, res_T, CONFIG_T>(data, res, weights, biases)'),
    ('nnet_activation.h', r'void\s+relu\s*\(\s*data_T\s+data\[CONFIG_T::n_in\],\s*res_T\s+res\[CONFIG_T::n_in\]\s*\)\s*\{',
     'fpgaml_fast::relu<data_T, res_T, CONFIG_T>(data, res)'),
    ('nnet_activation_stream.h',
     r'void\s+relu\s*\(\s*hls::stream<data_T>\s*&\s*data,\s*hls::stream<res_T>\s*&\s*res\s*\)\s*\{',
     'fpgaml_fast::relu<data_T, res_T, CONFIG_T>(data, res)'),
)


def fast_csim_default() -> bool:
    """The integer fast path is on unless ``FPGAML_CSIM_FAST=0`` asks for hls4ml's ap_fixed code throughout."""
    return os.environ.get('FPGAML_CSIM_FAST', '1').strip().lower() not in ('0', 'false', 'no', 'off')


def _stage_sources(project_dir: Path, project: str, dest: Path, fast: bool) -> bool:
    """Copy the sources the C-simulation compiles into ``dest``; with ``fast``, hook the integer fast path
    into the copy of nnet_dense_latency.h (the project itself is never modified). Returns whether the hook
    went in (False if this hls4ml's dense_latency does not look as expected: hls4ml's own code then runs)."""
    shutil.copytree(project_dir / 'firmware', dest / 'firmware', ignore=shutil.ignore_patterns('*.txt'))
    for name in (f'{project}_bridge.cpp', 'fpgaml_harness.cpp'):
        shutil.copy2(project_dir / name, dest / name)
    if not fast:
        return False
    hooked = False
    for name, signature, call in _FAST_HOOKS:
        header = dest / 'firmware' / 'nnet_utils' / name
        if not header.is_file():
            continue
        text = header.read_text()
        hook = f'\n#if defined(FPGAML_FAST_CSIM) && !defined(__SYNTHESIS__)\n    if ({call})\n        return;\n#endif\n'
        text, n = re.subn(f'({signature})', lambda m: m.group(1) + hook, text, count=1)
        if n != 1 or '#include "nnet_common.h"' not in text:
            continue  # this hls4ml's function does not look as expected: its own code runs
        text = text.replace('#include "nnet_common.h"', '#include "nnet_common.h"\n#include "fpgaml_fast_csim.h"', 1)
        header.write_text(text)
        hooked = True
    if hooked:
        shutil.copy2(FAST_HEADER, dest / 'firmware' / 'nnet_utils' / FAST_HEADER.name)
    shift_reg = dest / 'firmware' / 'ap_types' / FAST_SHIFT_REG.name
    if shift_reg.is_file():
        shutil.copy2(FAST_SHIFT_REG, shift_reg)
        hooked = True
    return hooked


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
        raise FpgamlError(f'C++ compiler "{CXX}" not found: install g++ (or set CXX) to run the C-simulation') \
            from None
    return out.splitlines()[0]


def source_hash(project_dir: Path, project: str, fast: bool = True) -> str:
    """Key of a compiled library: every source the compile reads, the compiler and the flags."""
    h = hashlib.sha256()
    h.update(_compiler_id().encode())
    h.update(' '.join(CXXFLAGS).encode())
    if fast:
        h.update(b'fast-csim\0' + repr(_FAST_HOOKS).encode() + FAST_HEADER.read_bytes() + FAST_SHIFT_REG.read_bytes())
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


def _first_error(log: str) -> str:
    for line in log.splitlines():
        if ' error: ' in line or line.startswith('error:') or 'fatal error' in line:
            return line.strip()
    lines = [ln for ln in log.splitlines() if ln.strip()]
    return lines[0].strip() if lines else 'unknown error'


def _run_parallel(cmds: list[list[str]], cwd: Path, log_path: Path) -> None:
    procs = []
    logs = []
    try:
        for cmd in cmds:
            f = tempfile.TemporaryFile(mode='w+')
            logs.append(f)
            procs.append(subprocess.Popen(cmd, cwd=cwd, stdout=f, stderr=subprocess.STDOUT))
        codes = [p.wait() for p in procs]
    except BaseException:  # Ctrl-C included: never leave compilers running
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        raise
    text = ''
    for cmd, f in zip(cmds, logs):
        f.seek(0)
        text += '$ ' + ' '.join(cmd) + '\n' + f.read()
        f.close()
    if any(codes):
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log_path.write_text(text)
        raise CompileError(f'C++ compilation failed: {_first_error(text)} (full log: {log_path})')


def _sidecar(lib: Path) -> Path:
    return lib.with_suffix('.sha256')


def _valid(lib: Path) -> bool:
    side = _sidecar(lib)
    if not lib.is_file() or not side.is_file() or not (lib.parent / 'weights' / '.complete').is_file():
        return False
    return hashlib.sha256(lib.read_bytes()).hexdigest() == side.read_text().strip()


def _install_weights(project_dir: Path, entry: Path) -> Path:
    """Copy the weight files the library reads at start-up into its (immutable) cache entry."""
    wdir = entry / 'weights'
    if (wdir / '.complete').is_file():
        return wdir
    shutil.rmtree(wdir, ignore_errors=True)
    tmp = Path(tempfile.mkdtemp(prefix='weights-', dir=entry))
    for p in (project_dir / 'firmware' / 'weights').glob('*.txt'):
        shutil.copy2(p, tmp / p.name)
    (tmp / '.complete').write_text('')
    os.replace(tmp, wdir)
    return wdir


def compile_library(project_dir: Path, project: str, cache: str | Path | None = None,
                    use_cache: bool = True, log_dir: Path | None = None,
                    fast: bool | None = None) -> CompiledLibrary:
    """Compile (or fetch from the cache) the C-simulation library of the project in ``project_dir``.

    ``fast`` (default: on unless ``FPGAML_CSIM_FAST=0``) compiles dense layers and ReLUs with fpgaml's
    bit-exact integer fast paths (firmware_templates/csim/fpgaml_fast_csim.h) instead of ap_fixed arithmetic.
    """
    project_dir = Path(project_dir).resolve()
    fast = fast_csim_default() if fast is None else fast
    key = source_hash(project_dir, project, fast)
    root = cache_dir(cache)
    entry = root / key[:2] / key
    lib = entry / 'libfpgaml_csim.so'
    log_path = (log_dir or Path(tempfile.gettempdir())) / f'fpgaml-{project}-compile.log'
    t0 = time.perf_counter()
    try:
        entry.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise FpgamlError(f'cannot create the compile cache folder {entry} ({e.strerror}); set FPGAML_CACHE_DIR '
                          f'or --cache-dir to a writable folder') from None
    with FileLock(str(entry / '.lock')):
        for stale in [*entry.glob('build-*'), *entry.glob('weights-*')]:  # left by a killed run (we hold the lock)
            shutil.rmtree(stale, ignore_errors=True)
        if use_cache and _valid(lib):
            return CompiledLibrary(lib, key, time.perf_counter() - t0, True, (entry / 'fast-path').is_file())
        shutil.rmtree(entry / 'weights', ignore_errors=True)  # rebuilt with the library
        wdir = _install_weights(project_dir, entry)
        build = Path(tempfile.mkdtemp(prefix='build-', dir=entry))
        try:
            src = build / 'src'
            hooked = _stage_sources(project_dir, project, src, fast)
            inc = [f'-I{src / "firmware" / "ap_types"}', f'-I{src / "firmware"}', f'-I{src}',
                   f'-DWEIGHTS_DIR="{wdir}"'] + (['-DFPGAML_FAST_CSIM'] if hooked else [])
            objs = [build / 'firmware.o', build / 'harness.o']
            cmds = [
                [CXX, *CXXFLAGS, *inc, '-c', str(src / 'firmware' / f'{project}.cpp'), '-o', str(objs[0])],
                [CXX, *CXXFLAGS, *inc, '-c', str(src / 'fpgaml_harness.cpp'), '-o', str(objs[1])],
            ]
            with Spinner(f'compiling {project} with {CXX} (C-simulation library)'):
                _run_parallel(cmds, project_dir, log_path)
                _run_parallel([[CXX, '-shared', *map(str, objs), '-o', str(build / 'lib.so')]], project_dir,
                              log_path)
            digest = hashlib.sha256((build / 'lib.so').read_bytes()).hexdigest()
            marker = entry / 'fast-path'  # (the key includes the mode: this only records whether the hook went in)
            if hooked:
                marker.write_text('fpgaml fast paths: dense_latency, relu, ap_shift_reg\n')
            else:
                marker.unlink(missing_ok=True)
            os.replace(build / 'lib.so', lib)
            tmp_side = build / 'sha'
            tmp_side.write_text(digest + '\n')
            os.replace(tmp_side, _sidecar(lib))
        finally:
            shutil.rmtree(build, ignore_errors=True)
    return CompiledLibrary(lib, key, time.perf_counter() - t0, False, hooked)
