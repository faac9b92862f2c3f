"""Cold and warm ``fpgaml build`` against the same job done by hand with hls4ml alone, as whole processes.

    .venv/bin/python benchmarks/build_speed.py [--config models/reference_mlp/config.yml] [--pairs 3]

hls4ml alone: import the ML stack, load the Keras model, a model-level hls4ml config, convert (the config's
part, clock, io type, strategy and reuse factor; what ``convert_from_keras_model`` does, with hls4ml's Keras-2
converter), ``compile()`` (g++), ``predict`` on the validation samples.
fpgaml cold: ``fpgaml build --no-cache`` with an empty cache folder (every step computed, g++ included).
fpgaml warm: ``fpgaml build`` again with that cache filled (a result-cache hit: nothing recomputed).

Runs are paired (hls4ml alone, then fpgaml cold, then warm, ``--pairs`` times) so that both sides see the same
machine load; each row is one process's wall time and CPU time (user + system of it and its children: g++).
The ratios use the medians.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

HLS4ML_ALONE = r"""
import sys, warnings
warnings.filterwarnings('ignore')
import numpy as np
import yaml
from pathlib import Path
config, out = Path(sys.argv[1]), sys.argv[2]
c = yaml.safe_load(config.read_text())
import hls4ml, qkeras
from qkeras.utils import _add_supported_quantized_objects
import tf_keras
co = {}
_add_supported_quantized_objects(co)
model = tf_keras.models.load_model(config.parent / c['model'], custom_objects=co, compile=False)
# (config_from_keras_model, too, takes hls4ml's Keras-3 route here: the model-level config by hand; QKeras
# quantizers set the layers' types in the parser)
hc = {'Model': {'Precision': 'fixed<16,6>', 'ReuseFactor': c.get('reuse_factor', 1),
                'Strategy': c.get('strategy', 'Latency')}}
# hls4ml.converters.convert_from_keras_model, with its Keras-2 converter (with Keras 3 installed hls4ml 1.3.0
# picks its Keras-3 parser, which cannot read a tf_keras model)
from hls4ml.converters import _check_hls_config, _check_model_config, create_config
from hls4ml.converters.keras_v2_to_hls import keras_v2_to_hls
full = create_config(output_dir=out, project_name='myproject', backend=c.get('backend', 'Vivado'), part=c['part'],
                     clock_period=c['clock_period'], io_type=c.get('io_type', 'io_parallel'))
full['KerasModel'] = model
full['HLSConfig'] = {'Model': _check_model_config(hc['Model'])}
full['HLSConfig']['Model']['BitExact'] = None
_check_hls_config(full, hc)
hm = keras_v2_to_hls(full)
hm.compile()
x = np.load(config.parent / c['validation']['data'])['x'][:1000]
y = hm.predict(np.ascontiguousarray(x, dtype=np.float64))
print('hls4ml-alone outputs', np.asarray(y).shape)
"""


def timed(cmd: list[str], env: dict) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the process and its children) of one run of ``cmd``; it must succeed."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    p = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode not in (0,):
        sys.exit(f'{" ".join(cmd[:3])} failed ({p.returncode}):\n{p.stdout[-2000:]}\n{p.stderr[-2000:]}')
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--config', type=Path, default=REPO / 'models' / 'reference_mlp' / 'config.yml')
    ap.add_argument('--pairs', type=int, default=3)
    args = ap.parse_args()
    fpgaml = str(Path(sys.executable).with_name('fpgaml'))
    rows: dict[str, list[tuple[float, float]]] = {'hls4ml alone': [], 'fpgaml cold': [], 'fpgaml warm': []}
    with tempfile.TemporaryDirectory(prefix='fpgaml-build-speed-') as tmp:
        tmp = Path(tmp)
        for i in range(args.pairs):
            cache = tmp / f'cache{i}'
            env = dict(os.environ, TF_USE_LEGACY_KERAS='1', FPGAML_CACHE_DIR=str(cache), NO_COLOR='1')
            hls_env = dict(env, TF_CPP_MIN_LOG_LEVEL='3')
            rows['hls4ml alone'].append(
                timed([sys.executable, '-c', HLS4ML_ALONE, str(args.config.resolve()), str(tmp / f'h{i}')], hls_env)
            )
            build = [fpgaml, 'build', str(args.config), '-o', str(tmp / f'f{i}'), '--force']
            rows['fpgaml cold'].append(timed([*build, '--no-cache'], env))
            rows['fpgaml warm'].append(timed(build, env))
            print(f'pair {i + 1}/{args.pairs}: ' + ', '.join(f'{k} {v[-1][0]:.2f} s' for k, v in rows.items()))
    med = {k: (statistics.median(w for w, _ in v), statistics.median(c for _, c in v)) for k, v in rows.items()}
    base_wall, base_cpu = med['hls4ml alone']
    print(f'\n{args.config} ({os.cpu_count()} cores), medians of {args.pairs} paired runs')
    print(f'{"":14} {"wall s":>8} {"CPU s":>8} {"wall x":>8} {"CPU x":>8}')
    for k, (w, c) in med.items():
        print(f'{k:14} {w:8.2f} {c:8.2f} {w / base_wall:8.2f} {c / base_cpu:8.2f}')


if __name__ == '__main__':
    main()
