"""Recurrent layers: fpgaml's exact cell (threshold tables) against hls4ml's lookup-table cell.

For jet_lstm and jet_gru (retrained with state quantizers), prints

* the estimated BRAM_18K / LUT (model total and the recurrent layer) of the committed config (fpgaml's exact
  cell and threshold tables) and of the same model with hls4ml's cell and 16384-entry tables (the configuration
  the zoo used before: ``table_size: 16384``, one fixed<22,6> type for input, accumulator and result), and the
  entries of every activation table;
* the C-simulation against Keras on the committed sample and on 1,000 generated full-range sequences (every
  feature uniform over the input type's whole range, on its grid): bit-exact fraction and max |diff|.

    .venv/bin/python benchmarks/recurrent_tables.py [--samples N]     # ~2 min on 2 cores (4 builds)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault('TF_USE_LEGACY_KERAS', '1')
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

import numpy as np  # noqa: E402
import yaml  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
OLD = {
    'precision': {'default': 'fixed<16,6>', 'input': 'fixed<22,6>'},
    'bit_exact': 'off',
    'layers': {'rnn': {'precision': {'accum': 'fixed<22,6>', 'result': 'fixed<22,6>'}, 'table_size': 16384}},
}


def _config(name: str, tmp: Path, old: bool, data: Path | None = None) -> Path:
    here = REPO / 'models' / name
    c = yaml.safe_load((here / 'config.yml').read_text())
    c['model'] = str(here / c['model'])
    c['validation'] = {'data': str(data or here / 'val.npz')}
    if old:
        c.update(OLD)
    path = tmp / f'{name}-{"old" if old else "new"}-{data.stem if data else "val"}.yml'
    path.write_text(yaml.safe_dump(c))
    return path


def _estimate(cfg_path: Path, tmp: Path) -> dict:
    from fpgaml.config import load_config
    from fpgaml.project import Project

    p = Project(load_config(cfg_path, output_dir=tmp / 'prj'))
    est = p.estimate()
    rnn = next(l for l in est.layers if l.name == 'rnn')
    node = next(n for n in p.conversion.graph.get_layers() if n.name == 'rnn')
    exact = node.get_attr('fpgaml_exact_tables')
    tables = (
        {k[7:]: v[0] for k, v in exact.items()}
        if exact
        else {'sigmoid': int(node.get_attr('table_size')), 'tanh': int(node.get_attr('table_size'))}
    )
    return {
        'bram_18k': est.total.bram_18k,
        'lut': est.total.lut,
        'rnn_bram_18k': rnn.bram_18k,
        'rnn_lut': rnn.lut,
        'table_entries': tables,
    }


def _csim(cfg_path: Path, tmp: Path, samples: int | None) -> dict:
    from fpgaml.config import load_config
    from fpgaml.flow import build

    cfg = load_config(cfg_path, output_dir=tmp / 'csim')
    if samples:
        cfg.validation.samples = samples
    c = build(cfg, csim=True, force=True).csim
    return {
        'mode': c.mode,
        'samples': c.samples,
        'exact_fraction': c.exact_fraction,
        'max_abs_diff': c.max_abs_diff,
        'argmax_agreement': c.argmax_agreement,
        'passed': c.passed,
    }


def full_range_sequences(n: int = 1000, seed: int = 0) -> np.ndarray:
    """``n`` sequences of 32 x 3 features uniform over fixed<16,4>'s range [-8, 8) on its 2^-12 grid."""
    rng = np.random.default_rng(seed)
    return (rng.integers(-(2**15), 2**15, size=(n, 32, 3)) / 2**12).astype(np.float32)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--samples', type=int, default=None, help='committed-sample size (default: all 500)')
    ap.add_argument('--json', default=str(REPO / 'benchmarks' / 'results' / 'recurrent_tables.json'))
    args = ap.parse_args()
    out = {}
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        gen = tmp / 'full_range.npz'
        np.savez(gen, x=full_range_sequences())
        for name in ('jet_lstm', 'jet_gru'):
            m = json.loads((REPO / 'models' / name / 'metrics.json').read_text())
            r = {k: m.get(k) for k in ('float_accuracy', 'quantized_keras_accuracy')}
            r['new'] = _estimate(_config(name, tmp, False), tmp / f'{name}-new')
            r['old'] = _estimate(_config(name, tmp, True), tmp / f'{name}-old')
            r['csim_sample'] = _csim(_config(name, tmp, False), tmp / f'{name}-s', args.samples)
            r['csim_full_range'] = _csim(_config(name, tmp, False, gen), tmp / f'{name}-g', None)
            out[name] = r
            o, n = r['old'], r['new']
            print(f'{name}: accuracy float {r["float_accuracy"]}, quantized {r["quantized_keras_accuracy"]}')
            print(
                f'  hls4ml tables (16384 entries): BRAM_18K {o["bram_18k"]} (rnn {o["rnn_bram_18k"]}), '
                f'LUT {o["lut"]} (rnn {o["rnn_lut"]})'
            )
            print(
                f'  fpgaml exact tables {n["table_entries"]}: BRAM_18K {n["bram_18k"]} (rnn {n["rnn_bram_18k"]}), '
                f'LUT {n["lut"]} (rnn {n["rnn_lut"]})'
            )
            for k in ('csim_sample', 'csim_full_range'):
                c = r[k]
                print(
                    f'  {k}: {c["mode"]}, {c["samples"]} samples, exact {c["exact_fraction"]}, '
                    f'max |diff| {c["max_abs_diff"]}, passed {c["passed"]}'
                )
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(out, indent=2) + '\n')
    exact = all(r[k]['exact_fraction'] == 1.0 for r in out.values() for k in ('csim_sample', 'csim_full_range'))
    return 0 if exact else 1


if __name__ == '__main__':
    sys.exit(main())
