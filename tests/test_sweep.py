"""``fpgaml sweep`` and the Dask engine, for real: a LocalCluster, real ``dask scheduler`` + ``dask worker``
processes on the loopback address, a dask-jobqueue job script rendered without a batch system.

Kept small: reference_mlp, two-point grids, 20 validation samples; the compile cache (tests' private one) is
shared with the other tests, so the reference configuration compiles once per checkout."""

from __future__ import annotations

import csv
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fpgaml_testutil import REPO, write

pytest.importorskip('distributed', reason='the cluster extra is not installed (pip install -e ".[cluster]")')

FPGAML = [sys.executable, '-m', 'fpgaml.cli']
REF = REPO / 'models' / 'reference_mlp' / 'config.yml'
GRID = ['--grid', 'reuse_factor=1,2', '--samples', '20']


def run(args, env=None, timeout=900):
    return subprocess.run(
        FPGAML + [str(a) for a in args],
        env=dict(os.environ, **(env or {})),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture(scope='module')
def point_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp('sweep-cache')


# ---- the grid ------------------------------------------------------------------------------------------------
def test_grid_values_split_outside_brackets_and_are_validated():
    from fpgaml.errors import FpgamlError
    from fpgaml.sweep.grid import parse_grid_options, points, split_values

    assert split_values('fixed<8,3>,fixed<12,4>, "ap_fixed<16,6>"') == ['fixed<8,3>', 'fixed<12,4>', 'ap_fixed<16,6>']
    grid = parse_grid_options(
        ['reuse_factor=1,2,4', 'precision.default=fixed<8,3>,fixed<16,6>', 'strategy=latency,Resource']
    )
    assert grid['reuse_factor'] == [1, 2, 4]
    assert grid['strategy'] == ['Latency', 'Resource']  # normalised like the config key
    assert len(points(grid)) == 12
    with pytest.raises(FpgamlError, match=r'reuse_factor: reuse factor must be a positive integer, got 0'):
        parse_grid_options(['reuse_factor=1,0'])
    with pytest.raises(FpgamlError, match=r'cannot sweep "reuse_factr" \(did you mean "reuse_factor"\?\)'):
        parse_grid_options(['reuse_factr=1,2'])
    with pytest.raises(FpgamlError, match=r'precision: "fixed<8>" is not a valid precision'):
        parse_grid_options(['precision=fixed<8>,fixed<16,6>'])
    with pytest.raises(FpgamlError, match=r'expected KEY=VALUE1,VALUE2'):
        parse_grid_options(['reuse_factor'])


def test_a_point_is_the_resolved_config_with_its_settings():
    from fpgaml.config import load_config
    from fpgaml.sweep.grid import apply

    cfg = load_config(REF)
    p = apply(
        cfg, {'reuse_factor': 4, 'precision': 'fixed<12,4>', 'layers.fc1.reuse_factor': 8, 'strategy': 'Resource'}
    )
    assert (p.reuse_factor, p.default_precision, p.strategy) == (4, 'fixed<12,4>', 'Resource')
    assert p.layer_patterns['fc1'].reuse_factor == 8
    assert cfg.reuse_factor == 1 and 'fc1' not in cfg.layer_patterns  # the base config is untouched


def test_yaml_sweep_section_is_validated_with_file_and_line(tmp_path):
    from fpgaml.config import load_config
    from fpgaml.errors import FpgamlError

    base = (
        REF.read_text()
        .replace('model: model.h5', f'model: {REF.parent / "model.h5"}')
        .replace('data: val.npz', f'data: {REF.parent / "val.npz"}')
    )
    good = write(
        tmp_path / 'good.yml',
        base + 'sweep:\n  grid:\n    reuse_factor: [1, 2]\n    strategy: [Latency]\n  samples: 50\n',
    )
    cfg = load_config(good)
    assert cfg.sweep.grid == {'reuse_factor': [1, 2], 'strategy': ['Latency']} and cfg.sweep.samples == 50
    bad = write(tmp_path / 'bad.yml', base + 'sweep:\n  grid:\n    reuse_factor: [1, -2]\n')
    with pytest.raises(FpgamlError, match=r'bad.yml:\d+: sweep.grid: reuse_factor: reuse factor must be a positive'):
        load_config(bad)
    typo = write(tmp_path / 'typo.yml', base + 'sweep:\n  gird: {}\n')
    with pytest.raises(FpgamlError, match=r'unknown key "gird" \(did you mean "grid"\?\)'):
        load_config(typo)


def test_sweep_without_grid_is_a_clear_error(tmp_path):
    p = run(['sweep', REF, '-o', tmp_path / 'o'])
    assert p.returncode == 2 and 'nothing to sweep' in p.stderr and 'Traceback' not in p.stderr


# ---- a real LocalCluster ---------------------------------------------------------------------------------------
def test_local_sweep_results_cache_and_no_cache(tmp_path, point_cache):
    out = tmp_path / 'sw'
    p = run(['sweep', REF, *GRID, '-o', out, '--cache-dir', point_cache, '--workers', '2'])
    assert p.returncode == 0, p.stderr + p.stdout
    assert '2 points (reuse_factor x2); 0 cached, 2 to run' in p.stdout
    assert 'running on a local Dask cluster (2 workers)' in p.stdout
    assert '[2/2]' in p.stderr  # progress, one line per point off a terminal
    rows = list(csv.DictReader(open(out / 'sweep.csv')))
    assert [r['reuse_factor'] for r in rows] == ['1', '2'] and all(r['status'] == 'ok' for r in rows)
    doc = json.loads((out / 'sweep.json').read_text())
    assert doc['executed_on'] == 'local' and doc['computed'] == 2
    for r in doc['rows']:
        assert r['worker'].startswith('tcp://127.0.0.1:') and r['scheduler'] == 'local'
        assert r['config']['reuse_factor'] == r['settings']['reuse_factor']  # the full resolved config
        assert r['samples'] == 20 and r['csim_passed'] and r['bit_exact_fraction'] == 1.0
        assert 0.5 < r['accuracy_firmware'] <= 1.0 and r['lut'] > 0 and r['latency_ns'] > 0
    # reuse factor 1 meets reference_mlp's 100 ns budget; it is the chosen point
    assert doc['best']['chosen (most accurate, then fastest, then fewest LUT)'] == 0
    assert 'best, chosen' in p.stdout and 'point 0 (rf=1)' in p.stdout
    page = (out / 'sweep.html').read_text()
    assert (
        'data:image/png;base64,' in page and '<script' not in page and 'http' not in page.replace('tcp://', '')
    )  # self-contained
    assert (out / 'sweep_pareto.png').read_bytes()[:4] == b'\x89PNG'

    t0 = time.perf_counter()
    p = run(['sweep', REF, *GRID, '-o', out, '--cache-dir', point_cache])
    assert p.returncode == 0 and '2 cached, 0 to run' in p.stdout and 'running on' not in p.stdout
    assert json.loads((out / 'sweep.json').read_text())['cached'] == 2
    assert time.perf_counter() - t0 < 60

    p = run(
        [
            'sweep',
            REF,
            '--grid',
            'reuse_factor=1',
            '--samples',
            '20',
            '-o',
            out,
            '--cache-dir',
            point_cache,
            '--no-cache',
            '--workers',
            '1',
            '--synth',
        ]
    )
    assert p.returncode == 0 and '0 cached, 1 to run' in p.stdout, p.stderr
    row = json.loads((out / 'sweep.json').read_text())['rows'][0]
    from fpgaml.synth.run import find_tool

    if find_tool('Vivado') is None:  # no vendor tool on this worker: said so per point, no figure made up
        assert row['synth'] == 'tool not found' and 'no vendor HLS tool on PATH' in row['synth_message']
        assert 'synth_reports' not in row


def test_a_failing_point_records_its_error_and_the_others_go_on(tmp_path, point_cache):
    out = tmp_path / 'sw'
    # a reuse factor no multiplication block of fc1 admits fails at conversion, on the worker: the point
    # records the error, the other point runs
    p = run(
        [
            'sweep',
            REF,
            '--grid',
            'layers.fc1.reuse_factor=1,100000',
            '--samples',
            '20',
            '-o',
            out,
            '--cache-dir',
            point_cache,
            '--workers',
            '1',
        ]
    )
    doc = json.loads((out / 'sweep.json').read_text())
    status = [r['status'] for r in doc['rows']]
    assert p.returncode == 4, p.stdout + p.stderr
    assert status == ['ok', 'failed'] and doc['failed'] == 1
    assert 'reuse factor 100000 is not valid for layer "fc1"' in doc['rows'][1]['error']
    assert 'failed: point 1' in p.stderr
    assert 'Traceback' not in p.stderr


# ---- worker death -----------------------------------------------------------------------------------------
def _die_once(marker: str) -> str:
    import os as _os
    from pathlib import Path as _P

    if not _P(marker).exists():
        _P(marker).write_text('died')
        _os._exit(1)
    return 'survived'


def _die_always() -> str:
    import os as _os

    _os._exit(1)


def test_a_dead_worker_is_retried_once_then_the_task_is_recorded_as_failed(tmp_path):
    import cloudpickle

    from fpgaml.parallel import engine, map_tasks

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    with engine(workers=1) as eng:
        res = map_tasks(eng, _die_once, [(str(tmp_path / 'marker'),)], ['once'])
        assert res[0].error is None and res[0].result == 'survived'
        res = map_tasks(eng, _die_always, [()], ['always'])
        assert res[0].result is None and 'died twice (retried once)' in res[0].error


# ---- real `dask scheduler` + `dask worker` processes ------------------------------------------------------------
@pytest.fixture
def dask_cluster(tmp_path):
    dask = Path(sys.executable).with_name('dask')
    sched_file = tmp_path / 'scheduler.json'
    env = dict(os.environ, DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES='1')
    procs = [
        subprocess.Popen(
            [dask, 'scheduler', '--host', '127.0.0.1', '--port', '0', '--no-dashboard', '--scheduler-file', sched_file],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    ]
    try:
        deadline = time.time() + 60
        while not sched_file.exists() and time.time() < deadline:
            time.sleep(0.2)
        address = json.loads(sched_file.read_text())['address']
        procs.append(
            subprocess.Popen(
                [
                    dask,
                    'worker',
                    address,
                    '--nworkers',
                    '1',
                    '--nthreads',
                    '1',
                    '--no-dashboard',
                    '--host',
                    '127.0.0.1',
                ],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                cwd=tmp_path,
            )
        )
        from distributed import Client

        with Client(address, timeout='30s') as c:
            c.wait_for_workers(1, timeout=60)
        yield address
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in reversed(procs):
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()


def test_sweep_and_regress_on_a_real_scheduler_and_worker(tmp_path, point_cache, dask_cluster):
    out = tmp_path / 'sw'
    p = run(
        [
            'sweep',
            REF,
            '--grid',
            'reuse_factor=1',
            '--grid',
            'strategy=Latency',
            '--samples',
            '20',
            '-o',
            out,
            '--cache-dir',
            tmp_path / 'fresh-cache',
            '--scheduler',
            dask_cluster,
        ]
    )
    assert p.returncode == 0, p.stderr + p.stdout
    assert f'running on {dask_cluster} (1 worker)' in p.stdout
    row = json.loads((out / 'sweep.json').read_text())['rows'][0]
    assert row['status'] == 'ok' and row['scheduler'] == dask_cluster and row['worker'].startswith('tcp://127.0.0.1:')

    p = run(['regress', 'reference_mlp', '--scheduler', dask_cluster])
    assert p.returncode == 0, p.stderr + p.stdout
    assert 'reference_mlp' in p.stdout and 'pass' in p.stdout


def test_unreachable_scheduler_is_one_clear_error(tmp_path):
    p = run(
        [
            'sweep',
            REF,
            '--grid',
            'reuse_factor=1',
            '-o',
            tmp_path / 'o',
            '--cache-dir',
            tmp_path / 'c',
            '--scheduler',
            'tcp://127.0.0.1:9',
        ]
    )
    assert p.returncode == 2 and 'cannot connect' in p.stderr and 'Traceback' not in p.stderr


# ---- Ctrl-C and resume -----------------------------------------------------------------------------------------
def test_ctrl_c_stops_cleanly_and_the_rerun_resumes(tmp_path, point_cache):
    import psutil

    out = tmp_path / 'sw'
    # 4 points, one worker: the firmware of each is in the compile cache after the tests above, so a point
    # takes seconds; Ctrl-C comes while the second one runs
    args = [
        'sweep',
        REF,
        '--grid',
        'reuse_factor=1,2',
        '--grid',
        'clock_period=5,4',
        '--samples',
        '20',
        '-o',
        out,
        '--cache-dir',
        tmp_path / 'cache',
        '--workers',
        '1',
    ]
    # (SIGINT back to its default: a suite run in the background starts children with SIGINT ignored)
    proc = subprocess.Popen(
        FPGAML + [str(a) for a in args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.time() + 600
    line = ''
    while time.time() < deadline and proc.poll() is None and not line.startswith('[1/4]'):
        line = proc.stderr.readline()
    assert line.startswith('[1/4]'), 'no point finished'
    children = psutil.Process(proc.pid).children(recursive=True)
    assert children  # the local cluster's worker processes
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does: the whole foreground group
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    m = re.search(r'interrupted: (\d) of 4 points finished', err)
    assert m and 'run the same command again to resume' in err, err
    # nothing from Dask's own loggers ("2026-01-01 ... - distributed.nanny - ERROR - Traceback ...")
    assert 'Traceback' not in err and not re.search(r' - (CRITICAL|ERROR|WARNING) - ', err), err
    done = int(m.group(1))
    doc = json.loads((out / 'sweep.json').read_text())
    assert doc['interrupted'] and [r['status'] for r in doc['rows']].count('ok') == done and 1 <= done < 4
    assert [r['status'] for r in doc['rows']].count('not run (interrupted)') == 4 - done
    time.sleep(2)
    assert not [c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]

    p = run(args)
    assert p.returncode == 0 and f'{done} cached, {4 - done} to run' in p.stdout, p.stderr
    assert [r['status'] for r in json.loads((out / 'sweep.json').read_text())['rows']] == ['ok'] * 4


# A Dask error logged while the cluster shuts down after Ctrl-C, forced: the way a nanny logs its worker dying of
# the same Ctrl-C (distributed.utils.log_errors: "distributed.nanny - ERROR - Traceback ... CancelledError"), and
# the event loop's own asyncio logger. Run as the command line runs: workers' fd 2 is /dev/null, Python's stderr
# the terminal, and Dask imported after that (its log handler writes to that stderr).
_DASK_ERRORS_AT_SHUTDOWN = r"""
import asyncio, logging, sys
from fpgaml.cli_signals import silence_native_stderr
silence_native_stderr()
import distributed
from fpgaml import parallel as E
E.SHOW_DASK_LOGS = sys.argv[1] == "--debug"
close, logged = distributed.Client.close, []

def close_logging_errors(self, *args, **kwargs):
    try:
        raise asyncio.CancelledError()
    except asyncio.CancelledError as e:
        logging.getLogger("distributed.nanny").exception(e)
        logging.getLogger("asyncio").error("Task exception was never retrieved", exc_info=True)
    logged.append(self)
    return close(self, *args, **kwargs)

def ctrl_c(outcome):
    raise KeyboardInterrupt

distributed.Client.close = close_logging_errors
try:
    with E.engine(workers=1) as eng:
        E.map_tasks(eng, abs, [(-1,), (-2,)], ["a", "b"], on_done=ctrl_c)
except KeyboardInterrupt:
    print("interrupted; errors logged at shutdown:", len(logged))
logging.getLogger("distributed.nanny").error("logged after the shutdown")
"""


def test_dask_errors_logged_during_the_ctrl_c_shutdown_stay_off_the_terminal():
    def run_script(*args):
        p = subprocess.run(
            [sys.executable, '-c', _DASK_ERRORS_AT_SHUTDOWN, *args], capture_output=True, text=True, timeout=300
        )
        assert p.returncode == 0 and 'interrupted; errors logged at shutdown: 1' in p.stdout, p.stderr + p.stdout
        return p.stderr

    err = run_script('')
    assert 'Traceback' not in err and 'CancelledError' not in err and 'never retrieved' not in err, err
    assert 'distributed.nanny - ERROR - logged after the shutdown' in err  # held only while it lasts
    err = run_script('--debug')  # fpgaml --debug shows them (and so the errors above were real ones)
    assert 'distributed.nanny - ERROR' in err and 'Traceback' in err and 'CancelledError' in err, err
    assert 'Task exception was never retrieved' in err


# ---- dask-jobqueue ---------------------------------------------------------------------------------------------
def test_jobqueue_job_scripts_render_from_the_site_configuration(tmp_path):
    pytest.importorskip('dask_jobqueue')
    conf = write(
        tmp_path / 'dask' / 'jobqueue.yaml',
        """
jobqueue:
  htcondor:
    cores: 2
    memory: 4GB
    disk: 8GB
    processes: 1
    job_extra_directives: {"+JobFlavour": '"workday"'}
    job_script_prologue: ["source /cvmfs/sft.cern.ch/lcg/views/LCG_106/x86_64-el9-gcc13-opt/setup.sh"]
  slurm:
    cores: 4
    memory: 8GB
    queue: short
    walltime: "02:00:00"
""",
    )
    code = """
import dask.config, sys
from fpgaml.parallel import jobqueue_cluster
for kind in ("htcondor", "slurm"):
    c = jobqueue_cluster(kind)
    print("=====", kind)
    print(c.job_script())
    c.close()
"""
    p = subprocess.run(
        [sys.executable, '-c', code],
        env=dict(os.environ, DASK_CONFIG=str(conf.parent)),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert p.returncode == 0, p.stderr
    condor, slurm = p.stdout.split('===== slurm')
    assert 'RequestCpus = MY.DaskWorkerCores' in condor and '+JobFlavour = "workday"' in condor
    assert 'LCG_106' in condor and 'distributed.cli.dask_worker' in condor and '--nthreads 2' in condor
    assert '#SBATCH -p short' in slurm and '#SBATCH -t 02:00:00' in slurm and '#SBATCH --cpus-per-task=4' in slurm
    p = run(['sweep', REF, '--grid', 'reuse_factor=1', '--cluster', 'pbs'])
    assert p.returncode == 2 and 'unknown cluster kind' in p.stderr and 'htcondor, slurm' in p.stderr


# ---- zoo build --all ------------------------------------------------------------------------------------------
def test_zoo_build_all_fans_out_and_installs_the_projects_here(tmp_path):
    import shutil

    models = tmp_path / 'models'
    for name in ('reference_mlp', 'copy_mlp'):
        shutil.copytree(REF.parent, models / name)
    cfg = models / 'copy_mlp' / 'config.yml'
    cfg.write_text(
        cfg.read_text()
        .replace('name: reference_mlp', 'name: copy_mlp')
        .replace('reuse_factor: 1', 'reuse_factor: 1\nvalidation: {data: val.npz, samples: 50}')
        .replace('validation:\n  data: val.npz               # 1000 held-out samples (x, y)\n', '')
    )
    out = tmp_path / 'projects'
    args = ['zoo', 'build', '--all', '--models-dir', models, '--output', out, '--workers', '2']
    p = run(args)
    assert p.returncode == 0, p.stderr + p.stdout
    for name in ('reference_mlp', 'copy_mlp'):
        rep = json.loads((out / name / 'fpgaml-report.json').read_text())
        assert rep['csim']['passed'] and (out / name / 'firmware').is_dir() and (out / name / 'report.html').is_file()
        # the records name this machine's folders, not the worker's scratch folder
        for f in (out / name).rglob('*'):
            if f.is_file() and f.suffix in ('.json', '.md', '.yml', '.tcl', '.html', '.txt', '.sh'):
                assert 'fpgaml-build-task-' not in f.read_text(errors='replace'), f
        assert str(out / name) in (out / name / 'fpgaml-report.json').read_text()
    assert 'copy_mlp' in p.stdout and 'PASSED' in p.stdout
    p = run(args)  # the projects exist: refused before any work, like fpgaml build
    assert p.returncode == 2 and 'already exists; use --force' in p.stderr
    assert not [x for x in out.iterdir() if x.name.startswith('.')]  # no staging folders left


def test_sigterm_during_a_sweep_exits_143(tmp_path, monkeypatch):
    """SIGTERM (which the CLI raises like Ctrl-C, with its signal number) ends a sweep with the shell's 143, as
    every other command does, not Ctrl-C's 130; the partial results are still written."""
    from contextlib import contextmanager

    import fpgaml.parallel as engine_mod
    from fpgaml.config import load_config
    from fpgaml.errors import Interrupted
    from fpgaml.sweep import SweepOptions, run_sweep

    class Terminated(KeyboardInterrupt):
        signum = int(signal.SIGTERM)

    @contextmanager
    def fake_engine(*args, **kwargs):
        yield type('Engine', (), {'where': 'local', 'kind': 'local', 'workers': 1})()

    def terminated(*args, **kwargs):
        raise Terminated()

    monkeypatch.setattr(engine_mod, 'engine', fake_engine)
    monkeypatch.setattr(engine_mod, 'map_tasks', terminated)
    out = tmp_path / 'o'
    with pytest.raises(Interrupted) as e:
        run_sweep(
            load_config(REF),
            SweepOptions(grid={'reuse_factor': [1, 2]}, output=out, cache_dir=tmp_path / 'c'),
            echo=lambda *a: None,
        )
    assert e.value.exit_code == 143 and 'run the same command again to resume' in str(e.value)
    assert (out / 'sweep.json').is_file()
