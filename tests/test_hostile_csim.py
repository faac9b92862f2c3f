"""Hostile cases for the C-simulation compile cache and the compiled library (issue 15).

A tiny QKeras MLP is built once and compiled once into a pristine cache; each test damages a copy of that
cache the way a disk, a user or a killed process would, and checks that fpgaml repairs it (and says so),
runs it where it now lies, uses it read-only, cleans up after a killed compile, or reports a crashed
library in one line with the log of its native stderr. Every case is a real g++ build and a real run.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from fpgaml_testutil import REPO, write

pytestmark = pytest.mark.slow
NAME = 'tiny'
ENV = {**os.environ, 'PYTHONPATH': str(REPO), 'TF_USE_LEGACY_KERAS': '1'}


@pytest.fixture(scope='module')
def tiny(tmp_path_factory):
    """(project folder, pristine cache, validation inputs, reference firmware outputs)."""
    import tf_keras as K
    from qkeras import QActivation, QDense, quantized_bits, quantized_relu

    from fpgaml.config import load_config
    from fpgaml.csim.compile import compile_library
    from fpgaml.csim.harness import CsimLibrary
    from fpgaml.flow import build

    d = tmp_path_factory.mktemp('tiny')
    K.utils.set_random_seed(7)
    q = dict(kernel_quantizer=quantized_bits(6, 0, alpha=1), bias_quantizer=quantized_bits(6, 0, alpha=1))
    inp = K.layers.Input((8,), name='x')
    h = QActivation(quantized_bits(8, 2), name='qin')(inp)
    h = QDense(6, name='fc1', **q)(h)
    h = QActivation(quantized_relu(6), name='relu')(h)
    h = QDense(3, name='fc2', **q)(h)
    K.Model(inp, h).save(d / 'm.h5')
    cfg = load_config(write(d / 'c.yml', f'model: m.h5\nname: {NAME}\noutput_dir: {d / "p"}\n'))
    build(cfg, csim=False, force=False)
    x = np.random.default_rng(2).uniform(-3, 3, (400, 8))
    np.save(d / 'x.npy', x)
    cache = d / 'pristine'
    lib = compile_library(d / 'p', NAME, cache=cache)
    with CsimLibrary(lib.path) as csim:
        ref = csim.predict([x])[0]
    return d / 'p', cache, x, ref


def _copy_cache(pristine: Path, dest: Path) -> Path:
    shutil.copytree(pristine, dest, symlinks=True)
    return dest


def _entry(cache: Path) -> Path:
    (manifest,) = cache.glob('*/*/MANIFEST.sha256')
    return manifest.parent


def _predict(path: Path, x: np.ndarray, **kw) -> np.ndarray:
    from fpgaml.csim.harness import CsimLibrary

    with CsimLibrary(path, **kw) as lib:
        return lib.predict([x])[0]


def _first_dense_weights(entry: Path) -> Path:
    return sorted((entry / 'weights').glob('w*.txt'))[0]  # fc1's kernel (w3.txt: numbered after x and qin)


def _change_one_value(path: Path) -> None:
    values = path.read_text().split(',')
    values[5] = str(float(values[5]) + 0.5)  # one weight, still a valid number: nothing else looks wrong
    path.write_text(','.join(values))


# ---- 1: every file of an entry is covered by its checksum -----------------------------------------------


@pytest.mark.parametrize('damage', ['one value changed', 'emptied', 'deleted'])
def test_damaged_weight_file_is_reinstalled_not_used(tiny, tmp_path, damage):
    from fpgaml.csim.compile import compile_library

    project, pristine, x, ref = tiny
    cache = _copy_cache(pristine, tmp_path / 'cache')
    w = _first_dense_weights(_entry(cache))
    good = w.read_bytes()
    if damage == 'one value changed':
        _change_one_value(w)
    elif damage == 'emptied':
        w.write_text('')
    else:
        w.unlink()
    if w.exists():  # the damage matters: the library would compute something else with it
        assert not np.array_equal(_predict(_entry(cache) / 'libfpgaml_csim.so', x), ref)

    lib = compile_library(project, NAME, cache=cache)
    assert lib.cached  # the library itself is sound: no g++, only the weights are reinstalled
    assert any(f'weights/{w.name}' in n and 'reinstalled' in n for n in lib.notes), lib.notes
    assert w.read_bytes() == good
    np.testing.assert_array_equal(_predict(lib.path, x), ref)
    again = compile_library(project, NAME, cache=cache)
    assert again.cached and not again.notes


@pytest.mark.parametrize('damage', ['library byte flipped', 'manifest garbled'])
def test_damaged_library_or_manifest_is_recompiled(tiny, tmp_path, damage):
    from fpgaml.csim.compile import compile_library

    project, pristine, x, ref = tiny
    cache = _copy_cache(pristine, tmp_path / 'cache')
    entry = _entry(cache)
    if damage == 'library byte flipped':
        so = entry / 'libfpgaml_csim.so'
        data = bytearray(so.read_bytes())
        data[len(data) // 3] ^= 0x10
        so.write_bytes(bytes(data))
    else:
        (entry / 'MANIFEST.sha256').write_bytes(b'\x00\xff not a manifest\n')
    lib = compile_library(project, NAME, cache=cache)
    assert not lib.cached and lib.path.parent == entry
    assert any('recompiled' in n for n in lib.notes), lib.notes
    np.testing.assert_array_equal(_predict(lib.path, x), ref)
    assert compile_library(project, NAME, cache=cache).cached


# ---- 2: a moved cache still works ------------------------------------------------------------------------


def test_moved_cache_is_used_where_it_now_lies(tiny, tmp_path):
    from fpgaml.csim.compile import compile_library

    project, pristine, x, ref = tiny
    old = _copy_cache(pristine, tmp_path / 'old-place')
    new = tmp_path / 'elsewhere' / 'moved'
    new.parent.mkdir()
    shutil.move(old, new)
    lib = compile_library(project, NAME, cache=new)
    assert lib.cached and lib.path.is_relative_to(new) and not lib.notes
    assert str(pristine).encode() not in lib.path.read_bytes()  # no folder is compiled into the library
    np.testing.assert_array_equal(_predict(lib.path, x, threads=3), ref)


# ---- 3: a read-only cache --------------------------------------------------------------------------------

READ_ONLY = """
import json, sys
from pathlib import Path
import numpy as np
from fpgaml.csim.compile import compile_library
from fpgaml.csim.harness import CsimLibrary
project, cache, xs, out = Path(sys.argv[1]), sys.argv[2], np.load(sys.argv[3]), sys.argv[4]
hit = compile_library(project, 'tiny', cache=cache)
with CsimLibrary(hit.path, threads=2) as lib:
    y_hit = lib.predict([xs])[0]
miss = compile_library(project, 'tiny', cache=cache, fast=False)  # another key: not in the cache
with CsimLibrary(miss.path) as lib:
    y_miss = lib.predict([xs])[0]
np.save(out, np.stack([y_hit, y_miss]))
print(json.dumps({'hit': [hit.cached, hit.notes], 'miss': [miss.cached, miss.notes, str(miss.path)]}))
"""


def _snapshot(root: Path) -> dict:
    return {str(p.relative_to(root)): (p.stat().st_mtime_ns, p.stat().st_size) for p in root.rglob('*')}


def _run_with_read_only(cache: Path, argv: list[str]) -> subprocess.CompletedProcess:
    """Run ``argv`` with ``cache`` truly read-only: a read-only bind mount for root (who ignores file
    modes), the write permission bits removed otherwise."""
    if os.geteuid() == 0:
        if shutil.which('unshare') is None:
            pytest.skip('running as root without unshare: cannot make a read-only folder')
        cmd = ['unshare', '-m', 'sh', '-c', 'mount --bind -o ro "$0" "$0" || exit 97; exec "$@"', str(cache), *argv]
        res = subprocess.run(cmd, capture_output=True, text=True, env=ENV, timeout=600)
        if res.returncode == 97 or 'unshare failed' in res.stderr:
            pytest.skip(f'cannot mount read-only here: {res.stderr.strip()[-200:]}')
        return res
    modes = {p: p.stat().st_mode for p in [cache, *cache.rglob('*')]}
    for p in modes:
        p.chmod(modes[p] & ~0o222)
    try:
        return subprocess.run(argv, capture_output=True, text=True, env=ENV, timeout=600)
    finally:
        for p, m in modes.items():
            p.chmod(m)


def test_read_only_cache_hit_writes_nothing_and_miss_compiles_privately(tiny, tmp_path):
    import json

    project, pristine, x, ref = tiny
    cache = _copy_cache(pristine, tmp_path / 'ro-cache')
    before = _snapshot(cache)
    res = _run_with_read_only(
        cache,
        [
            sys.executable,
            '-c',
            READ_ONLY,
            str(project),
            str(cache),
            str(project.parent / 'x.npy'),
            str(tmp_path / 'y.npy'),
        ],
    )
    assert res.returncode == 0, res.stderr[-2000:]
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert out['hit'] == [True, []]
    cached, notes, private = out['miss']
    assert not cached and any('cannot be written' in n and 'not cached' in n for n in notes), notes
    assert not Path(private).is_relative_to(cache) and not Path(private).exists()  # removed at exit
    y = np.load(tmp_path / 'y.npy')
    np.testing.assert_array_equal(y[0], ref)
    np.testing.assert_array_equal(y[1], ref)
    assert _snapshot(cache) == before


# ---- 4: killed compiles ------------------------------------------------------------------------------------

COMPILE = """
import signal, sys
from pathlib import Path
signal.signal(signal.SIGINT, signal.default_int_handler)  # (a background job starts with SIGINT ignored)
from fpgaml.csim.compile import compile_library
compile_library(Path(sys.argv[1]), 'tiny', cache=sys.argv[2], use_cache=False)
"""


def _processes_mentioning(text: str) -> list[str]:
    found = []
    for d in Path('/proc').iterdir():
        if not d.name.isdigit() or int(d.name) == os.getpid():
            continue
        try:
            cmd = (d / 'cmdline').read_bytes().replace(b'\0', b' ').decode(errors='replace')
        except OSError:
            continue
        if text in cmd and 'python' not in cmd.split(' ')[0]:
            found.append(f'{d.name}: {cmd[:120]}')
    return found


def _start_compile_and_wait_for_gxx(project: Path, cache: Path, code: str = COMPILE) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, '-c', code, str(project), str(cache)],
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    deadline = time.monotonic() + 300
    while not any('cc1plus' in p for p in _processes_mentioning(str(cache))):
        assert proc.poll() is None, proc.communicate()[1][-2000:]
        assert time.monotonic() < deadline, 'g++ never started'
        time.sleep(0.05)
    return proc


def _wait_until_gone(text: str, seconds: float) -> list[str]:
    deadline = time.monotonic() + seconds
    while (left := _processes_mentioning(text)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


@pytest.mark.parametrize('sig', [signal.SIGINT, signal.SIGTERM])
def test_interrupted_compile_kills_its_compilers_and_removes_its_build_folder(tiny, tmp_path, sig):
    from fpgaml.csim.compile import entry_problems

    project, pristine, _, _ = tiny
    cache = _copy_cache(pristine, tmp_path / 'cache')
    # SIGTERM as the CLI handles it (another module): the same exception path as Ctrl-C
    code = (
        COMPILE.replace(
            'compile_library(Path', 'signal.signal(signal.SIGTERM, signal.default_int_handler)\ncompile_library(Path'
        )
        if sig == signal.SIGTERM
        else COMPILE
    )
    proc = _start_compile_and_wait_for_gxx(project, cache, code)
    os.kill(proc.pid, sig)
    proc.communicate(timeout=60)
    assert proc.returncode != 0
    assert _wait_until_gone(str(cache), 2) == []  # no g++/cc1plus/as left running
    assert not list(cache.glob('*/*/build-*'))
    assert entry_problems(_entry(cache)) == []  # the entry being rebuilt is untouched


def test_build_folder_of_a_killed_compile_is_removed_by_the_next_run(tiny, tmp_path):
    from fpgaml.csim.compile import compile_library

    project, pristine, x, ref = tiny
    cache = _copy_cache(pristine, tmp_path / 'cache')
    proc = _start_compile_and_wait_for_gxx(project, cache)
    proc.kill()  # SIGKILL: nothing runs in fpgaml any more
    proc.wait()
    _wait_until_gone(str(cache), 300)  # (compilers of a SIGKILLed process finish on their own)
    stale = list(cache.glob('*/*/build-*'))
    assert len(stale) == 1
    lib = compile_library(project, NAME, cache=cache)
    assert lib.cached  # the killed compile never touched the entry itself
    assert not list(cache.glob('*/*/build-*'))
    assert any('removed 1 build folder' in n and stale[0].name in n for n in lib.notes), lib.notes
    np.testing.assert_array_equal(_predict(lib.path, x), ref)


def test_only_build_folders_of_dead_processes_of_this_host_are_removed(tmp_path):
    from fpgaml.csim.compile import _tmp_name, remove_stale_builds

    dead = subprocess.Popen(['true'])
    dead.wait()
    host = socket.gethostname().replace('-', '_')
    mine = tmp_path / (_tmp_name('build') + 'abc')  # this process: alive
    alive = tmp_path / f'build-{host}-1-abc'  # pid 1 always runs
    other_host = tmp_path / f'build-{host}x-{dead.pid}-abc'
    gone = tmp_path / f'build-{host}-{dead.pid}-abc'
    for d in (mine, alive, other_host, gone):
        (d / 'src').mkdir(parents=True)
    assert remove_stale_builds(tmp_path) == [gone.name]
    assert mine.is_dir() and alive.is_dir() and other_host.is_dir() and not gone.exists()


# ---- 5: power-of-two weights with a wide exponent ---------------------------------------------------------


def test_wide_exponent_po2_weights_are_sized_from_the_weights_present(tmp_path):
    """quantized_po2(16, 1): hls4ml's exponent type is ap_int<16>; sizing the product from its whole range
    asked for ap_fixed<65553,...> (past ap_fixed's 1024 bits): the C-sim segfaulted."""
    import tf_keras as K
    from qkeras import QActivation, QDense, quantized_bits, quantized_po2

    from fpgaml.config import load_config
    from fpgaml.flow import build

    K.utils.set_random_seed(1)
    inp = K.layers.Input((8,), name='x')
    h = QActivation(quantized_bits(8, 2), name='qin')(inp)
    h = QDense(6, kernel_quantizer=quantized_po2(16, 1), bias_quantizer=quantized_bits(8, 2), name='fc1')(h)
    h = QActivation('quantized_relu(8,3)', name='r')(h)
    h = QDense(
        3, kernel_quantizer=quantized_bits(6, 0, alpha=1), bias_quantizer=quantized_bits(6, 0, alpha=1), name='fc2'
    )(h)
    K.Model(inp, h).save(tmp_path / 'm.h5')
    np.save(tmp_path / 'x.npy', np.random.default_rng(1).uniform(-3, 3, (300, 8)))
    cfg = load_config(
        write(
            tmp_path / 'c.yml', f'model: m.h5\nname: po2w\noutput_dir: {tmp_path / "p"}\nvalidation: {{data: x.npy}}\n'
        )
    )
    res = build(cfg, csim=True, force=False, cache=tmp_path / 'cache')
    assert res.csim.exact_fraction == 1.0, res.csim.failures
    (m,) = re.findall(
        r'weight_exponential_exact<x_T, y_T, (-?\d+), (-?\d+)>',
        (res.project_dir / 'firmware' / 'parameters.h').read_text(),
    )
    e_min, e_max = map(int, m)
    assert -16 < e_min <= e_max <= 1  # the exponents of fc1's weights, not ap_int<16>'s -32768..32767
    assert any(n.startswith('fc1:') and f'2^{e_min}..2^{e_max}' in n for n in res.conversion.notes), (
        res.conversion.notes
    )


# ---- 6: a crash of the library is one clear error ----------------------------------------------------------


def test_library_exiting_on_a_missing_weight_file_is_a_clear_error(tiny, tmp_path):
    from fpgaml.csim.harness import CsimCrash, CsimLibrary

    _, pristine, x, _ = tiny
    empty = tmp_path / 'no-weights'
    empty.mkdir()
    lib = CsimLibrary(_entry(pristine) / 'libfpgaml_csim.so', weights_dir=empty, log=tmp_path / 'native.log')
    with pytest.raises(CsimCrash) as e:
        lib.predict([x])
    msg = str(e.value)
    assert '\n' not in msg and e.value.exit_code == 3
    assert 'exited with status 1 while running samples 0..399' in msg and 'does not exist' in msg
    assert str(tmp_path / 'native.log') in msg
    first = _first_dense_weights(_entry(pristine)).name
    assert f'ERROR: file {empty}/{first} does not exist' in (tmp_path / 'native.log').read_text()


def test_segfaulting_library_is_a_clear_error_and_fpgaml_survives(tiny, tmp_path):
    from fpgaml.csim.compile import compile_library
    from fpgaml.csim.harness import CsimCrash, CsimLibrary

    project, _, x, _ = tiny
    bad = tmp_path / 'edited'
    shutil.copytree(project, bad)
    top = bad / 'firmware' / f'{NAME}.cpp'
    # a hand edit that writes through a null pointer (a firmware bug of the kind that segfaults a C-sim)
    text, n = re.subn(
        rf'(void {NAME}\s*\([^)]*\)\s*\{{)',
        r'\1\n    std::fprintf(stderr, "about to crash\\n"); *fpgaml_bad_pointer = 1;\n',
        top.read_text(),
        count=1,
    )
    assert n == 1
    top.write_text('#include <cstdio>\nstatic int *volatile fpgaml_bad_pointer = nullptr;\n' + text)
    lib = compile_library(bad, NAME, cache=tmp_path / 'cache')
    with CsimLibrary(lib.path, threads=2, log=tmp_path / 'native.log') as csim:
        with pytest.raises(CsimCrash) as e:
            csim.predict([x])
    msg = str(e.value)
    assert '\n' not in msg and 'crashed (SIGSEGV) while running samples' in msg and 'about to crash' in msg
    assert msg.endswith(f'native stderr is in {tmp_path / "native.log"}')
    assert 'about to crash' in (tmp_path / 'native.log').read_text()
