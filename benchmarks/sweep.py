"""`fpgaml sweep` on Dask, measured: a 24-point jet_mlp sweep cold, warm and resumed after Ctrl-C; 1 vs 2
local workers; the scheduler's overhead per task. Writes benchmarks/sweep_results.json and
docs/sweep_jet_mlp.png (the Pareto plot of the cold sweep).

    nice .venv/bin/python benchmarks/sweep.py [--phases cold,resume,workers,overhead,replot]

(cold includes the warm rerun.)

Every sweep runs the real command (`python -m fpgaml.cli sweep`) with an empty point cache and an empty
compile cache (cold) unless said otherwise, so the times are what a user waits for, g++ included. The grid
is in the YAML (`sweep:` section) of a copy of models/jet_mlp/config.yml with budgets added:
reuse_factor 1,2,4,8 x precision.input fixed<8,3>,fixed<12,4>,fixed<16,6> x strategy Latency,Resource.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
RESULTS = REPO / 'benchmarks' / 'sweep_results.json'
PNG = REPO / 'docs' / 'sweep_jet_mlp.png'
JET = REPO / 'models' / 'jet_mlp'
GRID = """sweep:
  grid:
    reuse_factor: [1, 2, 4, 8]
    precision.input: ["fixed<8,3>", "fixed<12,4>", "fixed<16,6>"]
    strategy: [Latency, Resource]
"""
BUDGETS = """budgets:
  max_latency_ns: 150
  max_resources: {lut: "5%", dsp: "10%"}
"""


def config(work: Path) -> Path:
    text = (
        (JET / 'config.yml')
        .read_text()
        .replace('model: model.h5', f'model: {JET / "model.h5"}')
        .replace('data: val.npz', f'data: {JET / "val.npz"}')
    )
    p = work / 'jet_mlp_sweep.yml'
    p.write_text(text + BUDGETS + GRID)
    return p


def env(compile_cache: Path) -> dict:
    return dict(os.environ, FPGAML_CACHE_DIR=str(compile_cache), TF_USE_LEGACY_KERAS='1', PYTHONPATH=str(REPO))


def sweep(cfg: Path, out: Path, point_cache: Path, compile_cache: Path, *extra) -> tuple[float, dict]:
    cmd = [
        sys.executable,
        '-m',
        'fpgaml.cli',
        'sweep',
        str(cfg),
        '-o',
        str(out),
        '--cache-dir',
        str(point_cache),
        *map(str, extra),
    ]
    t0 = time.perf_counter()
    p = subprocess.run(cmd, env=env(compile_cache), capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        raise SystemExit(f'sweep failed ({p.returncode}):\n{p.stdout}\n{p.stderr}')
    return wall, json.loads((out / 'sweep.json').read_text())


def point_stats(doc: dict) -> dict:
    secs = [r['seconds'] for r in doc['rows'] if r['status'] == 'ok' and not r.get('cached')]
    return {
        'points_computed': len(secs),
        'sum_point_seconds': round(sum(secs), 1),
        'mean_point_seconds': round(sum(secs) / len(secs), 2) if secs else None,
        'failed': doc['failed'],
    }


def phase_cold(work: Path, res: dict) -> None:
    cfg = config(work)
    wall, doc = sweep(cfg, work / 'cold', work / 'pc-cold', work / 'cc-cold', '--workers', '2')
    res['cold'] = {
        'wall_seconds': round(wall, 1),
        'workers': 2,
        **point_stats(doc),
        'speedup_vs_one_after_another': round(point_stats(doc)['sum_point_seconds'] / wall, 2),
    }
    best = doc['best']
    rows = {r['point']: r for r in doc['rows']}
    pick = rows[next(iter(best.values()))] if best else None
    if pick:
        res['chosen_point'] = {
            k: pick.get(k)
            for k in (
                'label',
                'latency_ns',
                'ii_cycles',
                'lut',
                'lut_pct',
                'dsp',
                'dsp_pct',
                'ff',
                'accuracy_keras',
                'accuracy_firmware',
                'bit_exact_fraction',
                'max_abs_diff',
            )
        }
    res['best'] = {k: rows[v]['label'] for k, v in best.items()}
    res['points'] = [
        {k: r.get(k) for k in ('label', 'latency_ns', 'lut', 'dsp', 'accuracy_firmware', 'budgets_passed', 'seconds')}
        for r in doc['rows']
    ]
    replot(work, res)
    # warm: the same command again, every point from the cache
    wall, doc = sweep(cfg, work / 'cold', work / 'pc-cold', work / 'cc-cold', '--workers', '2')
    res['warm'] = {'wall_seconds': round(wall, 2), 'cached': doc['cached']}


def replot(work: Path, res: dict) -> None:
    """docs/sweep_jet_mlp.png from the recorded points (the plot sweep.html embeds)."""
    from fpgaml.config import load_config
    from fpgaml.sweep.results import pareto_png

    cfg = load_config(config(work))
    rows = [dict(r, status='ok', point=i) for i, r in enumerate(res['points'])]
    by_label = {r['label']: r for r in rows}
    best = {k: by_label[v] for k, v in res['best'].items()}
    PNG.parent.mkdir(exist_ok=True)
    PNG.write_bytes(pareto_png(rows, cfg, best, title=f'jet_mlp: {len(rows)}-point sweep (fpgaml estimate + C-sim)'))


def phase_resume(work: Path, res: dict, stop_after: int = 12) -> None:
    cfg = config(work)
    out, pc, cc = work / 'resume', work / 'pc-resume', work / 'cc-resume'
    cmd = [
        sys.executable,
        '-m',
        'fpgaml.cli',
        'sweep',
        str(cfg),
        '-o',
        str(out),
        '--cache-dir',
        str(pc),
        '--workers',
        '2',
    ]
    t0 = time.perf_counter()
    # (a new process group, as in a terminal; SIGINT back to its default even when this script runs in the
    # background, which starts children with SIGINT ignored)
    proc = subprocess.Popen(
        cmd,
        env=env(cc),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    for line in proc.stderr:
        if line.startswith(f'[{stop_after}/'):
            break
    os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C
    _, err = proc.communicate(timeout=300)
    interrupted = time.perf_counter() - t0
    if proc.returncode != 130:
        raise SystemExit(f'expected exit 130 after Ctrl-C, got {proc.returncode}: {err}')
    done = json.loads((out / 'sweep.json').read_text())
    n_done = sum(r['status'] == 'ok' for r in done['rows'])
    wall, doc = sweep(cfg, out, pc, cc, '--workers', '2')
    res['resume'] = {
        'interrupted_after_seconds': round(interrupted, 1),
        'points_done_before_interrupt': n_done,
        'resumed_wall_seconds': round(wall, 1),
        'resumed_cached': doc['cached'],
        'resumed_computed': doc['computed'],
        'total_seconds': round(interrupted + wall, 1),
    }


def phase_workers(work: Path, res: dict) -> None:
    cfg = config(work)
    grid = [
        '--grid',
        'reuse_factor=1,2',
        '--grid',
        'strategy=Latency,Resource',
        '--grid',
        'precision.input=fixed<16,6>',
    ]
    out = {}
    for n in (1, 2):
        wall, doc = sweep(cfg, work / f'w{n}', work / f'pc-w{n}', work / f'cc-w{n}', '--workers', n, *grid)
        out[f'{n}_workers_wall_seconds'] = round(wall, 1)
        out[f'{n}_workers_points'] = point_stats(doc)
    out['speedup_2_over_1'] = round(out['1_workers_wall_seconds'] / out['2_workers_wall_seconds'], 2)
    res['workers'] = out


def phase_overhead(work: Path, res: dict, n: int = 400) -> None:
    from fpgaml.parallel import engine, map_tasks

    with engine(workers=2) as eng:
        map_tasks(eng, abs, [(-i,) for i in range(20)], [f'warm{i}' for i in range(20)])  # warm the workers
        t0 = time.perf_counter()
        outs = map_tasks(eng, abs, [(-i,) for i in range(n)], [f'noop{i}' for i in range(n)])
        wall = time.perf_counter() - t0
        assert [o.result for o in outs] == list(range(n))
        t0 = time.perf_counter()
        for i in range(20):
            map_tasks(eng, abs, [(-i,)], ['one'])
        one = (time.perf_counter() - t0) / 20
    t0 = time.perf_counter()
    with engine(workers=2):
        pass
    start = time.perf_counter() - t0
    res['overhead'] = {
        'tasks': n,
        'ms_per_task_throughput': round(1000 * wall / n, 2),
        'ms_single_task_round_trip': round(1000 * one, 2),
        'local_cluster_start_stop_seconds': round(start, 2),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--phases', default='cold,resume,workers,overhead')
    args = ap.parse_args()
    res = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    res['machine'] = {'cpus': os.cpu_count(), 'load_average_at_start': round(os.getloadavg()[0], 2)}
    work = Path(tempfile.mkdtemp(prefix='fpgaml-sweep-bench-'))
    try:
        for ph in args.phases.split(','):
            t0 = time.perf_counter()
            {
                'cold': phase_cold,
                'resume': phase_resume,
                'workers': phase_workers,
                'overhead': phase_overhead,
                'replot': replot,
            }[ph](work, res)
            print(f'{ph}: done in {time.perf_counter() - t0:.0f} s', flush=True)
            print(json.dumps({k: v for k, v in res.items() if k != 'points'}, indent=1), flush=True)
            RESULTS.write_text(json.dumps(res, indent=1) + '\n')
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    main()
