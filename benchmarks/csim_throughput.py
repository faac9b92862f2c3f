"""C-simulation throughput and rebuild/regression times for the reference zoo.

    .venv/bin/python benchmarks/csim_throughput.py [--samples 2000]

For each reference model, on the same generated firmware:
  * hls4ml's own workflow: ModelGraph._compile() (its build_lib.sh, g++ -O3, ap_fixed arithmetic) and
    predict() (a Python loop, one ctypes call per sample),
  * fpgaml's batch harness (one C++ call per chunk) on a library compiled with hls4ml's ap_fixed code
    throughout (FPGAML_CSIM_FAST=0), on 1 core,
  * fpgaml's default C-simulation library (bit-exact integer fast paths for dense layers and ReLUs,
    ring-buffer line buffers: firmware_templates/csim/) on 1 core and on all cores (library copies).
All outputs are checked bit for bit against hls4ml's predict().
Then: a warm rebuild (unchanged firmware: convert + cache hit, in-process) per model, and the whole
golden regression cold (empty compile cache) and warm. Timings depend on machine load: run it idle.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault('TF_USE_LEGACY_KERAS', '1')
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--samples', type=int, default=2000)
    ap.add_argument('--models', nargs='*', help='only these zoo models (default: all)')
    ap.add_argument('--no-regression', action='store_true', help='skip the whole-zoo regression timing')
    args = ap.parse_args()

    from fpgaml import validation as vdata
    from fpgaml.config import load_config
    from fpgaml.csim.harness import CsimLibrary
    from fpgaml.project import Project
    from fpgaml.regress import regress, zoo

    work = Path(tempfile.mkdtemp(prefix='fpgaml-bench-'))
    cache = work / 'cache'
    cores = os.cpu_count() or 1
    print(f'{cores} cores; {args.samples} samples per model\n')
    print('us/sample' + ' ' * 24 + 'fpgaml C-sim')
    print(
        f'{"model":16s} {"hls4ml predict":>15s} {"ap_fixed 1 core":>16s} {"fast 1 core":>12s} '
        f'{"fast " + str(cores) + " cores":>12s} {"speed-up":>9s} {"warm rebuild":>13s}'
    )
    for name, config in zoo().items():
        if args.models and name not in args.models:
            continue
        cfg = load_config(config, output_dir=work / name)
        project = Project(cfg)
        loaded = project.load()
        if len(loaded.input_shapes) != 1:
            print(f'{name:16s} (skipped: {len(loaded.input_shapes)} inputs; this benchmark feeds one)')
            continue
        project.write(work / name)
        conv = project.conversion
        so = project.compile(cache=cache).path
        x = vdata.load(cfg.validation_data, loaded.input_shapes, 10**9)[0][0]
        x = np.concatenate([x] * (args.samples // len(x) + 1))[: args.samples]
        x = vdata.quantize(x, conv.input_types[0])

        graph = conv.graph  # hls4ml's own compile of the same project, and its predict()
        with contextlib.redirect_stdout(io.StringIO()):
            graph._compile()
        t0 = time.perf_counter()
        y_hls = np.asarray(graph.predict(np.ascontiguousarray(x.reshape(len(x), -1)))).reshape(len(x), -1)
        t_hls = time.perf_counter() - t0

        timings = []
        ref = project.compile(cache=cache, fast=False).path
        for path, threads in ((ref, 1), (so, 1), (so, cores)):
            lib = CsimLibrary(path, threads=threads)
            lib.predict([x[:4]])  # load weights / tables in every copy first
            t0 = time.perf_counter()
            y = lib.predict([x])
            timings.append(time.perf_counter() - t0)
            assert np.array_equal(y[0], y_hls), f'{name}: fpgaml C-sim and hls4ml predict() disagree'

        t0 = time.perf_counter()  # warm rebuild: unchanged firmware
        again = Project(cfg, loaded)
        again.write(work / f'{name}-again')
        hit = again.compile(cache=cache)
        t_warm = time.perf_counter() - t0
        assert hit.cached
        us = [1e6 * t / len(x) for t in (t_hls, *timings)]
        print(
            f'{name:16s} {us[0]:15.1f} {us[1]:16.1f} {us[2]:12.1f} {us[3]:12.1f} {us[0] / us[3]:8.1f}x {t_warm:11.2f} s'
        )

    if args.no_regression:
        shutil.rmtree(work, ignore_errors=True)
        return
    shutil.rmtree(cache, ignore_errors=True)
    t0 = time.perf_counter()
    res = regress(cache=str(cache))
    t_cold = time.perf_counter() - t0
    t0 = time.perf_counter()
    res2 = regress(cache=str(cache))
    t_warm = time.perf_counter() - t0
    ok = all(r.passed for r in res + res2)
    print(
        f'\nwhole zoo regression ({len(res)} models, in-process): cold {t_cold:.1f} s, warm {t_warm:.1f} s, '
        f'{"all pass" if ok else "FAILURES"}'
    )
    shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    main()
