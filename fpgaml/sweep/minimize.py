"""``fpgaml build --minimize-types``: the cheapest types that keep the verdict.

fpgaml's own types are safe by construction: exact where the model is quantized, from the data's range (with a
margin) where it is not. Many of them carry fractional bits the outputs never need. The search cuts them, tensor by
tensor, and keeps a cut only where the C-simulation on the validation data still gives the same verdict: still
bit-exact for a bit-exact model; otherwise still within tolerance, with at most 0.5 percentage points less argmax
agreement and at most twice the max |diff| of the types fpgaml chose (:func:`keeps_verdict`). Types a quantizer or the user fixed are never
touched. Every candidate is one point of the sweep engine (:func:`fpgaml.sweep.evaluate`: on Dask, through the
point cache), so a repeated search costs nothing.

1. One round: each searchable tensor alone with 1, 2, 4, 8 fewer fractional bits (all points at once).
2. Each tensor keeps its largest cut that kept the verdict; all together are checked; while they fail, the
   cut that saved the fewest LUT alone is dropped.
The result is a config (``layers: NAME: precision: {...}``) with the smallest estimated LUT found; the build
writes it as ``minimized_types.yml`` beside the project.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from fpgaml import parallel
from fpgaml.fixed import Fixed

CUTS = (1, 2, 4, 8)
SEARCHED = ('exact', 'data range', 'default')  # type sources fpgaml chose (type_from); quantizer/config stay


@dataclass
class Tensor:
    layer: str
    result: Fixed
    with_accum: bool  # the accumulator has the result's type (exact Dense/Conv): cut together

    def cut(self, bits: int) -> dict:
        t = Fixed(
            self.result.width - bits,
            self.result.integer,
            self.result.signed,
            self.result.rounding,
            self.result.saturation,
            self.result.saturation_bits,
        )
        prec = {'result': t.hls4ml_str()}
        if self.with_accum:
            prec['accum'] = t.hls4ml_str()
        return {f'layers.{self.layer}.precision': prec}


@dataclass
class Minimized:
    base: dict  # the row of the config as given
    chosen: dict  # the row of the chosen point
    settings: dict  # the chosen point's sweep keys ({} when nothing could be cut)
    cuts: dict[str, int] = field(default_factory=dict)  # layer -> fractional bits cut
    evaluated: int = 0

    def yaml(self) -> str:
        lines = ['# fpgaml build --minimize-types: the cheapest types found that keep the verdict', 'layers:']
        for key, prec in self.settings.items():
            name = key.split('.')[1]
            body = ', '.join(f'{k}: "{v}"' for k, v in prec.items())
            lines.append(f'  {name}:\n    precision: {{{body}}}')
        return '\n'.join(lines if self.settings else lines[:1] + ['layers: {}']) + '\n'


def searchable(conv) -> list[Tensor]:
    """The layers whose result type fpgaml chose and that have fractional bits to cut."""
    out = []
    for rec in conv.layers:
        text = rec.precisions.get('result')
        if rec.cls == 'Input' or not text or not rec.type_from.startswith(SEARCHED):
            continue
        try:
            t = Fixed.parse(text)
        except ValueError:
            continue
        if t.kind != 'fixed' or t.fractional < 1:
            continue
        out.append(Tensor(rec.name, t, rec.precisions.get('accum') == text))
    return out


# In tolerance mode the verdict's own bound grows with coarser types, so it alone would let the search trade the
# outputs away: a cut must also keep the outputs as close to Keras as the types fpgaml chose kept them.
ARGMAX_LOSS = 0.005  # at most half a percentage point less argmax agreement
DIFF_GROWTH = 2.0  # at most twice the max |diff|


def keeps_verdict(row: dict, base: dict) -> bool:
    if row.get('status') != 'ok' or not row.get('csim_passed'):
        return False
    if base.get('csim_mode') == 'bit-exact':
        return row.get('csim_mode') == 'bit-exact' and row.get('bit_exact_fraction') == 1.0
    if base.get('argmax_agreement') is not None and row['argmax_agreement'] < base['argmax_agreement'] - ARGMAX_LOSS:
        return False
    return row['max_abs_diff'] <= DIFF_GROWTH * base['max_abs_diff']


def minimize(cfg, options, echo=print) -> Minimized:
    """Search (module docstring); ``options`` are the sweep engine's (:class:`fpgaml.sweep.SweepOptions`)."""
    from fpgaml.errors import FpgamlError
    from fpgaml.project import Project
    from fpgaml.sweep import evaluate

    tensors = searchable(Project(cfg).convert())
    if not parallel.SHOW_DASK_LOGS:  # the ML stack, loaded here, gave the root logger an INFO handler
        for handler in logging.root.handlers:
            handler.setLevel(logging.ERROR)
    single = [(t, bits) for t in tensors for bits in CUTS if bits <= t.result.fractional]
    points = [{}] + [t.cut(bits) for t, bits in single]
    echo(
        f'type search: {len(tensors)} tensor(s) fpgaml typed ({", ".join(t.layer for t in tensors) or "none"}), '
        f'{len(single)} single cuts'
    )
    ev = evaluate(cfg, points, options, echo, f'types {cfg.name}')
    if ev.interrupted:
        raise KeyboardInterrupt
    base = ev.rows[0]
    if base.get('status') != 'ok' or not base.get('csim_passed'):
        raise FpgamlError(
            f'--minimize-types: the config as given does not pass its C-simulation '
            f'({base.get("error") or "verdict FAILED"}); fix that first (fpgaml build without --minimize-types)'
        )
    best: dict[str, tuple[int, int]] = {}  # layer -> (bits, LUT saved alone)
    for (t, bits), row in zip(single, ev.rows[1:]):
        if keeps_verdict(row, base) and bits > best.get(t.layer, (0, 0))[0]:
            best[t.layer] = (bits, base['lut'] - row['lut'])
    by_name = {t.layer: t for t in tensors}
    kept = sorted(best, key=lambda n: best[n][1], reverse=True)  # largest saving first
    result = Minimized(base, base, {}, evaluated=len(points))
    while kept:
        point = {k: v for n in kept for k, v in by_name[n].cut(best[n][0]).items()}
        row = evaluate(cfg, [point], options, echo, f'types {cfg.name} combined').rows[0]
        result.evaluated += 1
        if keeps_verdict(row, base) and row['lut'] <= base['lut']:
            result.chosen, result.settings = row, point
            result.cuts = {n: best[n][0] for n in kept}
            break
        kept.pop()  # drop the cut that saved the least alone
    return result
