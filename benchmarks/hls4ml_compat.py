"""Compatibility with hls4ml's own test models: build each with ``fpgaml build``, judge it by the test's assertion.

The cases (``tests/hls4ml_cases.py``) re-create the parametrized models of hls4ml's pytest suite as those tests
build them, with the tests' hls4ml configs (written as hls4ml-format YAML for fpgaml), the tests' input data and
the tests' own assertions on the firmware output. Each case runs in its own process (a fresh TensorFlow).

    .venv/bin/python benchmarks/hls4ml_compat.py [--jobs 2] [--only PATTERN] [--hls4ml] [--json FILE] [--list]

Prints one line per case and the pass rate; writes the results as JSON (default
``benchmarks/results/hls4ml_compat.json``).
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / 'tests'))
sys.path.insert(0, str(REPO))
os.environ.setdefault('TF_USE_LEGACY_KERAS', '1')
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')

import hls4ml_cases  # noqa: E402


def _run_one(case_id: str, root: str, with_hls4ml: bool) -> dict:
    """One case in a worker process (TensorFlow's state never leaks between cases)."""
    case = next(c for c in hls4ml_cases.all_cases() if c.id == case_id)
    workdir = Path(root) / hls4ml_cases.re.sub(r'[^A-Za-z0-9_.-]+', '_', case_id)
    try:
        return hls4ml_cases.run_case(case, workdir, with_hls4ml).to_json()
    except Exception as e:  # noqa: BLE001 - a broken case is reported, not fatal to the run
        return hls4ml_cases.Outcome(
            case.id,
            case.family,
            case.source,
            case.criterion_text,
            outcome='harness error',
            detail=f'{type(e).__name__}: {e}'[:300],
        ).to_json()


def select(pattern: str | None) -> list:
    cases = hls4ml_cases.all_cases()
    if pattern:
        cases = [c for c in cases if pattern in c.id or pattern == c.family or fnmatch.fnmatch(c.id, f'*{pattern}*')]
    return cases


def _line(r: dict) -> str:
    why = r['detail'] if r['outcome'] != 'meets' else ''
    if r.get('hls4ml_outcome'):
        why = f'[hls4ml alone: {r["hls4ml_outcome"]}] {why}'
    own = f'fpgaml: exit {r["fpgaml_exit"]}, {r["fpgaml_verdict"]}' + ('' if r['clean'] else ', TRACEBACK')
    return f'{r["outcome"]:<13} {r["id"]:<58} {r["seconds"]:6.1f}s  {own}  {why}'


def summary(results: list[dict]) -> str:
    n = len(results)
    meets = sum(r['outcome'] == 'meets' for r in results)
    lines = [f"\n{meets} of {n} cases meet their hls4ml test's criterion ({100 * meets / max(n, 1):.0f}%)"]
    fams: dict[str, list[int]] = {}
    for r in results:
        f = fams.setdefault(r['family'], [0, 0])
        f[0] += r['outcome'] == 'meets'
        f[1] += 1
    lines += [f'  {fam:<20} {m}/{t}' for fam, (m, t) in sorted(fams.items())]
    agree = sum(
        (r['fpgaml_verdict'] == 'PASSED') == (r['outcome'] == 'meets')
        for r in results
        if r['fpgaml_verdict'] in ('PASSED', 'FAILED')
    )
    judged = sum(r['fpgaml_verdict'] in ('PASSED', 'FAILED') for r in results)
    alone = [r for r in results if r.get('hls4ml_outcome')]
    if alone:
        lines.append(
            f'of the {len(alone)} others, hls4ml alone meets the criterion in '
            f'{sum(r["hls4ml_outcome"] == "meets" for r in alone)}'
        )
    lines.append(
        f"fpgaml's own verdict agrees with the test's criterion in {agree} of {judged} built cases; "
        f'{sum(not r["clean"] for r in results)} runs printed a traceback'
    )
    return '\n'.join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--jobs', type=int, default=1, help='cases run in parallel (each one compiles with g++)')
    ap.add_argument('--only', help='run the cases whose id contains PATTERN (glob) or whose family is PATTERN')
    ap.add_argument('--json', type=Path, default=REPO / 'benchmarks' / 'results' / 'hls4ml_compat.json')
    ap.add_argument(
        '--hls4ml',
        action='store_true',
        help='run each case fpgaml does not pass through hls4ml alone too (its own compile/predict)',
    )
    ap.add_argument('--list', action='store_true', help='list the cases and exit')
    ap.add_argument('--keep', type=Path, help='keep the projects in this folder (default: a temporary one)')
    args = ap.parse_args(argv)

    cases = select(args.only)
    if args.list or not cases:
        for c in cases:
            print(f'{c.id:<58} {c.io_type:<12} {c.criterion_text:<40} {c.source}')
        print(f'{len(cases)} cases')
        return 0 if cases else 2
    root = args.keep or Path(tempfile.mkdtemp(prefix='fpgaml-hls4ml-compat-'))
    results = []
    t0 = time.perf_counter()
    with ProcessPoolExecutor(max(1, args.jobs)) as pool:
        futures = {pool.submit(_run_one, c.id, str(root), args.hls4ml): c for c in cases}
        for fut in as_completed(futures):
            r = fut.result()
            results.append(r)
            print(_line(r), flush=True)
    order = {c.id: i for i, c in enumerate(cases)}
    results.sort(key=lambda r: order[r['id']])
    print(summary(results))
    print(f'{time.perf_counter() - t0:.0f} s in all; projects in {root}')
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({'cases': results, 'summary': summary(results).strip()}, indent=2) + '\n')
    print(f'results: {args.json}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
