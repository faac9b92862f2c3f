"""Convert + compile + C-simulate the reference MLP: fpgaml next to raw hls4ml doing the same work.

    .venv/bin/python benchmarks/convert_compile_csim.py [--samples 1000]

Raw hls4ml 1.3.0 cannot convert a QKeras (tf_keras) model through its public API in this environment
(it picks the Keras-3 parser), so the raw path calls its Keras-2 converter directly, with the same
per-layer config, then `compile()` (its build_lib.sh: g++ -O3) and `predict()` one sample per call.
fpgaml is timed cold (empty compile cache) and warm (unchanged firmware, cache hit).
"""

from __future__ import annotations

import argparse
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
    ap.add_argument('--samples', type=int, default=1000)
    args = ap.parse_args()

    from fpgaml.config import load_config
    from fpgaml.convert.hlsconfig import build_hls_config
    from fpgaml.project import Project
    from fpgaml.validation import quantize

    work = Path(tempfile.mkdtemp(prefix='fpgaml-bench-'))
    os.environ['FPGAML_CACHE_DIR'] = str(work / 'cache')
    cfg = load_config(REPO / 'models/reference_mlp/config.yml', output_dir=work / 'fpgaml')
    cfg.validation.samples = args.samples
    project = Project(cfg)
    loaded = project.load()
    rows = []

    # ---- fpgaml --------------------------------------------------------------------------------
    t0 = time.perf_counter()
    project.write(work / 'fpgaml')
    conv = project.conversion
    t_convert = time.perf_counter() - t0
    cold = project.verify()
    warm = project.verify()
    rows.append(('fpgaml (cold cache)', t_convert, cold.compile_seconds, cold.us_per_sample, cold.exact_fraction))
    rows.append(('fpgaml (warm cache)', t_convert, warm.compile_seconds, warm.us_per_sample, warm.exact_fraction))

    # ---- raw hls4ml ------------------------------------------------------------------------------
    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()):
        t0 = time.perf_counter()
        hls_cfg, _, _ = build_hls_config(cfg, loaded, loaded.parse_layers(), True, work / 'raw')
        hls_cfg['WriterConfig']['WriteWeightsTxt'] = True  # hls4ml's default
        hls_cfg['TraceOutput'] = False
        graph = loaded.to_hls(hls_cfg)
        graph.write()
        t_raw_convert = time.perf_counter() - t0
        t0 = time.perf_counter()
        graph._compile()
        t_raw_compile = time.perf_counter() - t0
    x = np.load(REPO / 'models/reference_mlp/val.npz')['x'][: args.samples]
    xq = np.ascontiguousarray(quantize(x, conv.input_types[0]))
    t0 = time.perf_counter()
    graph.predict(xq)
    t_raw_pred = time.perf_counter() - t0
    rows.append(('raw hls4ml', t_raw_convert, t_raw_compile, 1e6 * t_raw_pred / len(xq), None))

    print(f'reference MLP 16-64-32-32-5 (QKeras 6-bit), {args.samples} samples, {os.cpu_count()} cores')
    print(f'{"":22s} {"convert+write s":>16s} {"compile s":>10s} {"C-sim us/sample":>16s} {"bit-exact":>10s}')
    for name, conv_s, comp_s, us, exact in rows:
        ex = '-' if exact is None else f'{100 * exact:.1f}%'
        print(f'{name:22s} {conv_s:16.2f} {comp_s:10.2f} {us:16.1f} {ex:>10s}')
    print(f'C-sim speed-up over hls4ml predict(): {rows[-1][3] / rows[0][3]:.1f}x')
    shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    main()
