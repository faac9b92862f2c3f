"""The cost of exact types: fpgaml's estimate of each zoo model with the types fpgaml gives it (exact by
construction) against the same model with hls4ml's defaults (what ``config_from_keras_model`` and hls4ml's
model-wide ``fixed<16,6>`` give: quantizer types where the model has quantizers, the default everywhere else).

    .venv/bin/python benchmarks/type_cost.py [MODEL ...] [--csim]

Both variants are converted by fpgaml (same flow, same estimator); the hls4ml-default variant is the model's
config with ``bit_exact: off`` and ``precision: {policy: default}``. ``--csim`` also C-simulates both and shows the
verdict (bit-exact fraction, or agreement), which is what the extra LUTs buy. ``--minimize`` also runs the type
search of ``fpgaml build --minimize-types`` (local Dask, ``--workers``) and shows the minimized exact types' LUT:
the cost of exactness once the bits the verdict does not need are cut.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault('TF_USE_LEGACY_KERAS', '1')
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def hls4ml_defaults(cfg):
    """The config as hls4ml alone would type it: no bit-exact inference, every unset type the default."""
    new = cfg.model_copy(deep=True)
    new.bit_exact = 'off'
    new.precision_policy = new.precision_policy.model_copy(update={'policy': 'default'})
    return new


def figures(cfg, csim: bool) -> tuple[dict, str]:
    from fpgaml.project import Project

    p = Project(cfg)
    p.convert()
    est = p.estimate()
    verdict = ''
    if csim:
        c = p.verify()
        verdict = (
            f'{100 * c.exact_fraction:.1f}% bit-exact'
            if c.exact_fraction is not None
            else f'{"pass" if c.passed else "FAIL"}, max |diff| {c.max_abs_diff:.3g}'
        )
    return est.total.to_json_dict(), verdict


def minimized(cfg, default: dict, cache: Path, workers: int | None) -> None:
    from fpgaml.sweep import SweepOptions
    from fpgaml.sweep.minimize import minimize

    found = minimize(cfg, SweepOptions(workers=workers, cache_dir=cache), echo=lambda *a: None)
    lut = found.chosen['lut']
    cut = ', '.join(f'{n} -{k}' for n, k in found.cuts.items()) or 'nothing'
    print(
        f'{cfg.name}: minimized exact types: LUT {lut:,.0f} ({100 * (lut - default["lut"]) / default["lut"]:+.1f}% vs '
        f'hls4ml defaults), verdict {found.chosen["csim_mode"]}, {found.evaluated} points; cut: {cut}',
        flush=True,
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('models', nargs='*')
    ap.add_argument('--csim', action='store_true')
    ap.add_argument('--minimize', action='store_true')
    ap.add_argument('--workers', type=int, default=None)
    args = ap.parse_args()
    from fpgaml.config import load_config
    from fpgaml.zoo import zoo

    models = zoo(REPO / 'models')
    names = args.models or list(models)
    rows = []
    with tempfile.TemporaryDirectory(prefix='fpgaml-type-cost-') as tmp:
        for name in names:
            cfg = load_config(models[name], output_dir=Path(tmp) / name)
            exact, v_exact = figures(cfg, args.csim)
            default, v_default = figures(hls4ml_defaults(cfg), args.csim)
            rows.append((name, exact, default, v_exact, v_default))
            print(f'{name}: LUT {exact["lut"]:,.0f} vs {default["lut"]:,.0f}', flush=True)
            if args.minimize:
                minimized(cfg, default, Path(tmp) / 'points', args.workers)
    print(f'\n{"model":15} {"exact LUT / FF / DSP":>26} {"hls4ml defaults":>26} {"LUT":>8}', end='')
    print(f'  {"verdict exact":>20} {"verdict defaults":>28}' if args.csim else '')
    for name, e, d, ve, vd in rows:
        fig = lambda t: f'{t["lut"]:,.0f} / {t["ff"]:,.0f} / {t["dsp"]:,.0f}'  # noqa: E731
        dl = 100 * (e['lut'] - d['lut']) / d['lut'] if d['lut'] else float('nan')
        print(f'{name:15} {fig(e):>26} {fig(d):>26} {dl:+7.1f}%', end='')
        print(f'  {ve:>20} {vd:>28}' if args.csim else '')


if __name__ == '__main__':
    main()
