"""The output folder as a hostile (or unlucky) user meets it: --force beside their own files, kill -TERM and
kill -9 mid-build, two builds racing for one folder, ~ and $VAR in paths, file systems that refuse, damaged
golden records. Every case drives the real CLI in a subprocess: user files survive, one clean message, the
right exit code, no traceback, nothing half-written left behind."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fpgaml_testutil import REPO, write

FPGAML = [sys.executable, '-m', 'fpgaml.cli']
REF = REPO / 'models' / 'reference_mlp'
CONFIG = REF / 'config.yml'


def run(args, cwd=None, env=None, timeout=600):
    e = dict(os.environ, **(env or {}))
    return subprocess.run(
        FPGAML + [str(a) for a in args], cwd=cwd, env=e, capture_output=True, text=True, timeout=timeout
    )


def one_clean_error(p, code: int = 2) -> str:
    assert 'Traceback' not in p.stderr + p.stdout, p.stderr
    lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, p.stderr
    assert lines[0].startswith('error: '), p.stderr
    assert p.returncode == code, p.stderr
    return lines[0]


def leftovers(parent: Path, name: str) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith(f'.{name}.'))


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob('*')) if p.is_file()}


def user_model_folder(d: Path) -> Path:
    """The reference model as a user keeps it: config, model and data in one folder of their own."""
    d.mkdir(parents=True, exist_ok=True)
    for f in ('config.yml', 'model.h5', 'val.npz'):
        shutil.copy2(REF / f, d / f)
    return d


STRAY_REPORT = json.dumps({'fpgaml_version': '0.1', 'config': {'name': 'something_else'}})


# -- 1. --force never deletes what fpgaml did not write ---------------------------------------------------------


def test_force_refuses_a_user_folder_holding_a_stray_report(tmp_path):
    user = tmp_path / 'analysis'
    write(user / 'fpgaml-report.json', STRAY_REPORT)
    write(user / 'notes.txt', 'three weeks of notes\n')
    write(user / 'results.csv', 'a,b\n1,2\n')
    before = snapshot(user)
    for extra in ([], ['--force']):
        p = run(['convert', CONFIG, '--output', user, *extra])
        line = one_clean_error(p)
        assert 'files fpgaml did not write' in line and 'notes.txt' in line and 'results.csv' in line, line
        assert 'even with --force' in line
        assert snapshot(user) == before
    assert leftovers(tmp_path, 'analysis') == []


def test_force_refuses_the_folder_with_the_config_and_model(tmp_path):
    d = user_model_folder(tmp_path / 'work')
    write(d / 'fpgaml-report.json', STRAY_REPORT)
    write(d / 'notes.txt', 'notes\n')
    before = snapshot(d)
    # --output . in the folder holding the config and the model
    p = run(['convert', 'config.yml', '--output', '.', '--force'], cwd=d)
    line = one_clean_error(p)
    assert 'never replaces it, even with --force' in line and 'config.yml' in line, line
    # a folder above them, from elsewhere
    p = run(['convert', d / 'config.yml', '--output', tmp_path, '--force'], cwd='/')
    line = one_clean_error(p)
    assert f'{tmp_path} holds the config file' in line, line
    assert snapshot(d) == before
    # the current folder (with a stray report, the config elsewhere)
    here = tmp_path / 'here'
    write(here / 'fpgaml-report.json', STRAY_REPORT)
    line = one_clean_error(run(['convert', CONFIG, '--output', '.', '--force'], cwd=here))
    assert 'holds the current folder' in line, line
    assert (here / 'fpgaml-report.json').read_text() == STRAY_REPORT


def test_force_refuses_home_and_root(tmp_path):
    home = tmp_path / 'home'
    write(home / 'thesis.tex', 'chapter 1\n')
    for out, what in ((home, 'your home folder'), (Path('/'), 'the root folder')):
        p = run(['convert', CONFIG, '--output', out, '--force'], env={'HOME': str(home)}, cwd=tmp_path)
        line = one_clean_error(p)
        assert what in line, line
    assert (home / 'thesis.tex').read_text() == 'chapter 1\n'


def test_force_replaces_only_an_untouched_project(tmp_path):
    out = tmp_path / 'prj'
    assert run(['convert', CONFIG, '--output', out]).returncode == 0
    manifest = json.loads((out / '.fpgaml-manifest.json').read_text())['files']
    assert set(manifest) == {str(p.relative_to(out)) for p in out.rglob('*') if p.is_file()} - {'.fpgaml-manifest.json'}

    write(out / 'notes.txt', 'mine\n')  # a file added by the user
    cpp = out / 'firmware' / 'reference_mlp.cpp'
    cpp.write_text(cpp.read_text() + '// hand-tuned pragma\n')  # and a generated file edited by hand
    before = snapshot(out)
    p = run(['convert', CONFIG, '--output', out, '--force'])
    line = one_clean_error(p)
    assert 'notes.txt' in line and 'firmware/reference_mlp.cpp (changed since fpgaml wrote it)' in line, line
    assert snapshot(out) == before

    (out / 'notes.txt').unlink()
    cpp.write_text(cpp.read_text().replace('// hand-tuned pragma\n', ''))
    p = run(['convert', CONFIG, '--output', out, '--force'])
    assert p.returncode == 0, p.stderr
    assert (out / '.fpgaml-manifest.json').is_file() and leftovers(tmp_path, 'prj') == []


def test_projects_written_before_the_manifest(tmp_path):
    """No manifest: replaced only when every file is one an hls4ml/fpgaml project holds (documented in
    fpgaml/outdir.py); a user's file in it, or a README.md that is not fpgaml's, blocks the replacement."""
    out = tmp_path / 'old'
    assert run(['convert', CONFIG, '--output', out]).returncode == 0
    (out / '.fpgaml-manifest.json').unlink()
    write(out / 'notes.txt', 'mine\n')
    readme = out / 'README.md'
    readme.write_text('# my own readme\n')
    line = one_clean_error(run(['convert', CONFIG, '--output', out, '--force']))
    assert 'notes.txt' in line and 'README.md (not the one fpgaml writes)' in line, line
    assert (out / 'notes.txt').is_file() and readme.read_text() == '# my own readme\n'

    (out / 'notes.txt').unlink()
    readme.write_text('# reference_mlp: HLS firmware generated by fpgaml\n')
    p = run(['convert', CONFIG, '--output', out, '--force'])
    assert p.returncode == 0, p.stderr
    assert (out / '.fpgaml-manifest.json').is_file()


# -- 2. SIGTERM cleans up like Ctrl-C; after SIGKILL the next run does -------------------------------------------

FAKE_CXX = """#!/bin/sh
if [ "$1" = "--version" ]; then echo "fake-g++ 1.0"; exit 0; fi
{body}
echo "firmware/x.cpp:1:1: error: simulated compiler failure" >&2
exit 1
"""


def fake_cxx(tmp_path: Path, body: str = '') -> Path:
    cxx = write(tmp_path / 'fake-gxx', FAKE_CXX.format(body=body))
    cxx.chmod(0o755)
    return cxx


def start(args, env, cwd=None) -> subprocess.Popen:
    # default SIGINT/SIGTERM in the child even when the suite runs as a background job
    def defaults():
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)

    return subprocess.Popen(
        FPGAML + [str(a) for a in args],
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=defaults,
    )


def wait_for(cond, proc, timeout=180):
    deadline = time.time() + timeout
    while not cond() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert cond(), f'never happened; exit {proc.poll()}: {proc.stderr.read() if proc.poll() is not None else ""}'


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is dead for our purpose
    stat = Path(f'/proc/{pid}/stat')
    return stat.is_file() and stat.read_text().rsplit(')', 1)[1].split()[0] != 'Z'


def compiling_build(tmp_path: Path):
    """A build whose compiler processes (one per source, in parallel) record their pids and then hang."""
    pids = tmp_path / 'pids'
    pids.mkdir()
    cxx = fake_cxx(tmp_path, body=f'echo $$ > {pids}/$$; sleep 120')
    cache = tmp_path / 'cache'
    env = dict(os.environ, CXX=str(cxx), FPGAML_CACHE_DIR=str(cache))
    proc = start(['build', CONFIG, '--output', tmp_path / 'prj', '--no-cache'], env)
    wait_for(lambda: len(list(pids.iterdir())) >= 2, proc)  # (the compiles run in parallel: 2 or 3 at once)
    time.sleep(0.5)
    return proc, [int(p.name) for p in pids.iterdir()], cache, env


def build_dirs(cache: Path) -> list[Path]:
    return list(cache.glob('*/*/build-*')) + list(cache.glob('*/*/weights-*'))


@pytest.mark.slow
def test_sigterm_during_compile_cleans_up_like_ctrl_c(tmp_path):
    proc, compilers, cache, _ = compiling_build(tmp_path)
    assert build_dirs(cache) and leftovers(tmp_path, 'prj')
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert lines == [
        'error: terminated by SIGTERM: nothing was written (the previous project, if any, is untouched)'
    ], err
    time.sleep(0.2)
    assert not any(alive(pid) for pid in compilers), 'compiler processes outlived fpgaml'
    assert leftovers(tmp_path, 'prj') == [] and not (tmp_path / 'prj').exists()
    assert build_dirs(cache) == []


def test_sigterm_during_convert_leaves_nothing(tmp_path):
    out = tmp_path / 'prj'
    proc = start(['convert', CONFIG, '--output', out], dict(os.environ))
    wait_for(lambda: leftovers(tmp_path, 'prj') != [], proc)  # the temporary project is being written
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    if proc.returncode == 0:
        pytest.fail('convert finished before SIGTERM arrived; the test did not exercise the case')
    assert proc.returncode == 143 and 'terminated by SIGTERM' in err and 'Traceback' not in err, err
    assert leftovers(tmp_path, 'prj') == [] and not out.exists()


@pytest.mark.slow
def test_after_sigkill_the_next_run_removes_the_stale_folders(tmp_path):
    proc, compilers, cache, env = compiling_build(tmp_path)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    for pid in compilers:  # (SIGKILL gives fpgaml no chance; the compilers are the OS's orphans now)
        os.kill(pid, signal.SIGKILL)
    stale = leftovers(tmp_path, 'prj')
    assert stale and build_dirs(cache)
    # the next run (its compiler fails at once) finds and removes what the killed one left
    p = run(
        ['build', CONFIG, '--output', tmp_path / 'prj', '--no-cache'],
        env={**env, 'CXX': str(fake_cxx(tmp_path / 'fail'))},
    )
    assert p.returncode == 3 and 'simulated compiler failure' in one_clean_error(p, 3)
    assert leftovers(tmp_path, 'prj') == [] and build_dirs(cache) == []


def test_stale_clean_up_spares_live_runs_and_restores_a_swapped_out_project(tmp_path):
    from fpgaml._owner import host_tag as _host_tag
    from fpgaml.outdir import remove_stale

    dead = subprocess.Popen(['true'])
    dead.wait()
    host = _host_tag()
    target = tmp_path / 'prj'
    mine = write(tmp_path / f'.prj.tmp-{os.getpid()}-{host}-abcd' / 'x', '')  # a live run's: kept
    gone = write(tmp_path / f'.prj.tmp-{dead.pid}-{host}-abcd' / 'x', '')  # a dead run's: removed
    old = write(tmp_path / f'.prj.old-{dead.pid}-{host}-abcd' / 'fpgaml-report.json', '{}')  # killed mid-swap
    other = write(tmp_path / f'.prj.tmp-{dead.pid}-another_host-abcd' / 'x', '')  # another machine's: kept
    remove_stale(target)
    assert mine.is_file() and other.is_file() and not gone.parent.exists() and not old.parent.exists()
    assert (target / 'fpgaml-report.json').read_text() == '{}'


# -- 3. two builds, one folder ---------------------------------------------------------------------------------


def test_concurrent_builds_into_one_folder_one_wins(tmp_path):
    out = tmp_path / 'prj'
    procs = [start(['convert', CONFIG, '--output', out], dict(os.environ)) for _ in range(2)]
    results = [(p.wait(timeout=600), p.stderr.read()) for p in procs]
    codes = sorted(rc for rc, _ in results)
    assert codes == [0, 2], results
    err = next(e for rc, e in results if rc == 2)
    assert 'already exists' in err and 'Traceback' not in err, err
    assert (out / '.fpgaml-manifest.json').is_file() and leftovers(tmp_path, 'prj') == []


def test_install_into_a_folder_taken_meanwhile_fails(tmp_path):
    """The window the pre-check cannot close: the target appears while this build runs."""
    from fpgaml.errors import FpgamlError
    from fpgaml.outdir import install

    target = tmp_path / 'prj'
    first, second = (write(tmp_path / f'.prj.tmp-{k}' / 'fpgaml-report.json', str(k)).parent for k in (1, 2))
    install(first, target, force=False, protected=[])
    with pytest.raises(FpgamlError, match='already exists'):
        install(second, target, force=False, protected=[])
    assert (target / 'fpgaml-report.json').read_text() == '1' and second.is_dir()


# -- 4. ~ and $VAR in every path -------------------------------------------------------------------------------


def test_tilde_and_variables_in_output_dir_and_model(tmp_path):
    d = user_model_folder(tmp_path / 'models')
    cfg = d / 'config.yml'
    cfg.write_text(
        cfg.read_text()
        .replace('model: model.h5', 'model: $FPGAML_T_MODELS/model.h5')
        .replace('name: reference_mlp', 'name: reference_mlp\noutput_dir: ~/fw')
    )
    home = tmp_path / 'home'
    home.mkdir()
    env = {'HOME': str(home), 'FPGAML_T_MODELS': str(d)}
    p = run(['convert', cfg], cwd=tmp_path, env=env)
    assert p.returncode == 0, p.stderr
    assert (home / 'fw' / 'fpgaml-report.json').is_file() and not (tmp_path / '~').exists()
    p = run(['convert', cfg, '--output', '~/fw2'], cwd=tmp_path, env=env)  # as a quoted --output '~/fw2'
    assert p.returncode == 0 and (home / 'fw2').is_dir() and not (tmp_path / '~').exists(), p.stderr

    line = one_clean_error(run(['convert', cfg], cwd=tmp_path, env={'HOME': str(home)}))
    assert f'{cfg}:' in line and 'environment variable FPGAML_T_MODELS is not set' in line, line
    line = one_clean_error(run(['convert', cfg, '--output', '~nosuchuser_fpgaml/fw'], cwd=tmp_path, env=env))
    assert '--output' in line and 'no such user' in line, line


# -- 5. file systems that refuse -------------------------------------------------------------------------------


def test_file_system_refusals_are_user_errors(tmp_path):
    write(tmp_path / 'a_file', 'x')
    cases = [
        (Path('/sys/fpgaml-out'), '/sys/fpgaml-out: Operation not permitted'),
        (tmp_path / ('n' * 300), 'is 300 bytes; the file system allows 255 per name'),
        (tmp_path / '/'.join(['d' * 200] * 21), 'bytes long'),
        (tmp_path / 'a_file', 'a_file is an existing file, not a folder'),
        (tmp_path / 'a_file' / 'prj', 'a_file is an existing file, not a folder'),
    ]
    for out, expected in cases:
        line = one_clean_error(run(['convert', CONFIG, '--output', out]))
        assert expected in line, line
    assert (tmp_path / 'a_file').read_text() == 'x' and sorted(os.listdir(tmp_path)) == ['a_file']


def test_read_only_file_system(tmp_path):
    ro = tmp_path / 'ro'
    ro.mkdir()
    mounted = subprocess.run(['mount', '-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', str(ro)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(
            f'cannot mount a read-only tmpfs here ({mounted.stderr.decode().strip()}); '
            f'/sys covers EPERM in test_file_system_refusals_are_user_errors'
        )
    try:
        line = one_clean_error(run(['convert', CONFIG, '--output', ro / 'prj']))
        assert f'cannot write the project {ro / "prj"}: Read-only file system' in line, line
    finally:
        subprocess.run(['umount', str(ro)], check=True)


# -- 6./7. regress: damaged golden records, --models-dir -------------------------------------------------------


def zoo_copy(root: Path, golden: str) -> Path:
    d = user_model_folder(root / 'models' / 'reference_mlp')
    (d / 'golden.json').write_text(golden)
    return root / 'models'


@pytest.mark.parametrize(
    'golden, expected',
    [
        ('{"model": "reference_mlp", "inputs": [', 'not valid JSON'),
        ('[1, 2, 3]', 'a JSON list, not an object'),
        ('{"model": "reference_mlp", "outputs": []}', 'firmware_sha256: required key is missing'),
    ],
)
def test_regress_names_a_damaged_golden_record(tmp_path, golden, expected):
    models = zoo_copy(tmp_path, golden)
    line = one_clean_error(run(['regress', '--models-dir', models]))
    assert f'{models / "reference_mlp" / "golden.json"}' in line and expected in line, line
    assert 'fpgaml regress --update reference_mlp' in line


def test_regress_golden_record_of_the_wrong_shape(tmp_path):
    record = json.loads((REF / 'golden.json').read_text())
    del record['inputs']
    line = one_clean_error(run(['regress', '--models-dir', zoo_copy(tmp_path, json.dumps(record))]))
    assert 'damaged golden record: inputs: required key is missing' in line, line
    record = json.loads((REF / 'golden.json').read_text())
    record['inputs'][0]['shape'] = [17]
    line = one_clean_error(run(['regress', '--models-dir', zoo_copy(tmp_path, json.dumps(record))]))
    assert 'inputs.0: 16 values per sample do not fill shape [17]' in line, line


def test_regress_models_dir(tmp_path):
    line = one_clean_error(run(['regress', '--models-dir', tmp_path / 'nope']))
    assert f'--models-dir {tmp_path / "nope"}: no such folder' in line
    line = one_clean_error(run(['regress', '--models-dir', write(tmp_path / 'f', '')]))
    assert 'is a file' in line
    # default: ./models of the current folder (proved by the damaged record it finds there)
    zoo_copy(tmp_path, 'garbage')
    line = one_clean_error(run(['regress'], cwd=tmp_path))
    assert f'{tmp_path / "models" / "reference_mlp" / "golden.json"}' in line, line
