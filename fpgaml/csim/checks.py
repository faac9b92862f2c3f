"""The C-simulation's pass criteria: which check applies to which output, and how it is measured.

The configured tolerances apply where the config sets them; else each output gets a default chosen from what it is
(class scores: argmax agreement where the scores' top two differ by more than the firmware's types can move them;
anything else: values within a tolerance from the output type's step and the error the types explain,
:mod:`fpgaml.csim.rounding`). Bit-exact mode compares bit patterns (:func:`exact_samples`). Every check records
what it applied and why (:class:`Check`); :func:`fpgaml.csim.run_csim` applies them and words the verdict.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fpgaml import validation as vdata
from fpgaml.convert import Conversion
from fpgaml.families import is_activation
from fpgaml.fixed import layer_type

# the criterion of hls4ml's own softmax tests (test_softmax.py: argmax agreement with Keras >= 0.98), judged on the
# samples the firmware's rounding cannot flip (csim.rounding)
DEFAULT_ARGMAX_AGREEMENT = 0.98


@dataclass
class Check:
    """One pass criterion applied to one compared quantity, and why fpgaml chose it."""

    output: str  # what is compared ('output 0', 'softmax input (layer "fc3")')
    kind: str  # 'bit-exact', 'argmax_agreement', 'within_tolerance', 'max_abs_diff', 'mean_abs_diff'
    criterion: str  # the rule, in words, with its numbers
    why: str  # where the rule comes from (config, or fpgaml's default for this kind of output)
    value: float | None = None  # measured (fraction of samples / values, or the |diff|)
    raw_value: float | None = None  # the same measured against Keras on the raw (unconverted) data
    passed: bool = True


# Default for outputs that are not class scores (regression values, feature maps, sigmoid / softplus outputs,
# recurrent states): at least CLOSE_FRACTION of the values within atol + rtol * |Keras|, with atol the larger
# of CLOSE_STEPS steps of the output type and CLOSE_PEAK of the largest |Keras| output.
CLOSE_STEPS, CLOSE_PEAK, CLOSE_RTOL, CLOSE_FRACTION = 4, 0.01, 0.05, 0.99
EXPLAIN_SAMPLES = 256  # samples whose Keras layer outputs give the ranges of csim.rounding's bound
OVERFLOW_SAMPLES = 1000  # samples whose Keras layer outputs are checked against default-typed layers' ranges
UNBOUNDED = (
    '; the bound leaves fewer than 10% of the samples outside its margin, so every sample counts '
    '(top probability rule only)'
)
MIN_DECISIVE = 0.1
SOFTMAX_DECISIVE = 0.5  # argmax of a softmax judged where the model's top probability is at least this


@dataclass
class Rule:
    """A check and the numbers it is measured with."""

    check: Check
    softmax: bool = False
    margin: float = 0.0  # argmax: judged where Keras's top two scores differ by more than this
    classes: int = 0  # argmax over the last axis of this many classes (a softmax over feature maps)
    atol: float = 0.0
    rtol: float = 0.0
    limit: float = 0.0


def output_layers(graph) -> list:
    """The layers that give the model's outputs, in output order (the last layer if the graph does not name them)."""
    layers = {lay.name: lay for lay in graph.get_layers()}
    outs = [layers[n] for n in getattr(graph, 'outputs', []) if n in layers]
    return outs if len(outs) == len(graph.get_output_variables()) else [list(layers.values())[-1]]


def is_softmax(layer) -> bool:
    """Whether a layer's output is a softmax's (class scores: judged by argmax agreement)."""
    return layer.class_name == 'Softmax' or str(layer.get_attr('activation', '')).lower() == 'softmax'


def _describe_output(layer) -> str:
    act = layer.get_attr('activation')
    what = f'{layer.class_name}' + (f' {act}' if act and is_activation(layer.class_name) else '')
    return f'{what} "{layer.name}", shape {list(layer.get_output_variable().shape)}'


def choose_rules(
    conv: Conversion, y_k: list[np.ndarray], labels, softmax: list[bool], notes: list[str], explained: list[float]
) -> list[Rule]:
    """The tolerance checks for each output: the configured tolerances, else a default chosen from what the
    output is (class scores -> argmax agreement where the scores' top two differ by more than the firmware's
    types can move them; anything else -> values within a tolerance from the output type's step and the error
    the types explain, :mod:`fpgaml.csim.rounding`). Every output gets at least one check."""
    tol = {k: v for k, v in conv.config.tolerance.model_dump().items() if v is not None}
    rules = []
    for i, (layer, k) in enumerate(zip(output_layers(conv.graph), y_k)):
        name = f'output {i}' if len(y_k) > 1 else 'output'
        shape = list(layer.get_output_variable().shape)
        classes = int(shape[-1]) if softmax[i] and len(shape) > 1 else 0
        if 'argmax_agreement' in tol and k.shape[1] < 2:
            notes.append(f'{name} has one value per sample: argmax_agreement does not apply to it')
        for kind in ('max_abs_diff', 'mean_abs_diff', 'argmax_agreement'):
            if kind not in tol or (kind == 'argmax_agreement' and k.shape[1] < 2):
                continue
            rel = '>=' if kind == 'argmax_agreement' else '<='
            where = (
                f' (samples with top probability >= {SOFTMAX_DECISIVE})'
                if kind == 'argmax_agreement' and softmax[i]
                else ''
            )
            rules.append(
                Rule(
                    Check(name, kind, f'{kind} {rel} {tol[kind]}{where}', 'tolerance (config)'),
                    softmax=softmax[i],
                    limit=tol[kind],
                    classes=classes,
                )
            )
        if any(r.check.output == name for r in rules):
            continue
        e = explained[i] if i < len(explained) else 0.0
        classifier = softmax[i] or (labels is not None and labels.ndim == 1 and len(y_k) == 1 and k.shape[1] > 1)
        if classifier:
            why = (
                'default for a softmax (class-score) output'
                if softmax[i]
                else 'default for a classifier head (the validation data has class labels)'
            )
            where = [f'top probability >= {SOFTMAX_DECISIVE}'] if softmax[i] else []
            if e > 0:
                where.append(
                    f"top two scores more than {2 * e:.3g} apart (twice the {e:.3g} the firmware's types "
                    f'can move a score)'
                )
            where = f' (samples with {" and ".join(where)})' if where else ''
            over = f' per position over the last axis ({classes} classes)' if classes else ''
            rules.append(
                Rule(
                    Check(
                        name,
                        'argmax_agreement',
                        f'argmax agreement{over} >= {DEFAULT_ARGMAX_AGREEMENT}{where}',
                        f'{why}: {_describe_output(layer)}',
                    ),
                    softmax=softmax[i],
                    limit=DEFAULT_ARGMAX_AGREEMENT,
                    margin=2 * e,
                    classes=classes,
                )
            )
            continue
        t = layer_type(layer, decoded_xnor=True)
        step = 2.0**-t.fractional if t is not None else 0.0
        peak = float(np.max(np.abs(k))) if k.size else 0.0
        if e >= peak:  # a bound as large as the outputs themselves explains nothing: a check must be able to fail
            notes.append(
                f"{name}: the error the firmware's types can explain ({e:.3g}) is not below the largest "
                f'|Keras| output ({peak:.3g}); it is not used as a tolerance'
            )
            e = 0.0
        atol = max(CLOSE_STEPS * step, CLOSE_PEAK * peak, e)
        rules.append(
            Rule(
                Check(
                    name,
                    'within_tolerance',
                    f'>= {100 * CLOSE_FRACTION:g}% of values within {atol:.3g} + {CLOSE_RTOL:g} x '
                    f'|Keras| (atol: max of {CLOSE_STEPS} output-type steps ({step:.3g}), '
                    f'{100 * CLOSE_PEAK:g}% of the largest |Keras| output {peak:.3g} and the error the '
                    f"firmware's types explain, {e:.3g})",
                    f'default for an output that is not class scores: {_describe_output(layer)}',
                ),
                atol=atol,
                rtol=CLOSE_RTOL,
                limit=CLOSE_FRACTION,
            )
        )
    return rules


def measure(rule: Rule, f: np.ndarray, k: np.ndarray) -> tuple[float, np.ndarray]:
    """(the check's value, whether each sample meets it on its own)."""
    kind = rule.check.kind
    d = np.abs(f - k)
    if kind == 'argmax_agreement':
        n = len(k)
        fc, kc = (
            (f.reshape(n, -1, rule.classes), k.reshape(n, -1, rule.classes))
            if rule.classes
            else (f[:, None, :], k[:, None, :])
        )
        agree = np.argmax(fc, axis=-1) == np.argmax(kc, axis=-1)  # (samples, positions)
        top2 = np.sort(kc, axis=-1)[..., -2:]
        decisive = top2[..., 1] >= SOFTMAX_DECISIVE if rule.softmax else np.ones(agree.shape, dtype=bool)
        margin = decisive & (top2[..., 1] - top2[..., 0] > rule.margin)
        if margin.sum() >= MIN_DECISIVE * margin.size:
            decisive = margin
        elif rule.margin > 0 and UNBOUNDED not in rule.check.criterion:
            # the bound is too loose to leave a sample to judge (it grows through wide layers): a check that
            # counts no sample must not pass; judge every sample instead, and say so
            rule.check.criterion += UNBOUNDED
        value = float(np.mean(agree[decisive])) if decisive.any() else 1.0
        return value, np.all(agree | ~decisive, axis=1)
    if kind == 'within_tolerance':
        close = d <= rule.atol + rule.rtol * np.abs(k)
        return float(np.mean(close)), np.all(close, axis=1)
    if kind == 'max_abs_diff':
        return float(d.max()), np.all(d <= rule.limit, axis=1)
    return float(d.mean()), d.mean(axis=1) <= rule.limit  # mean_abs_diff


def meets(rule: Rule, value: float) -> bool:
    return value >= rule.limit if rule.check.kind in ('argmax_agreement', 'within_tolerance') else value <= rule.limit


def exact_samples(fw: list[np.ndarray], ref: list[np.ndarray], types: list, notes: list[str] | None) -> np.ndarray:
    """Per sample: every compared value identical bit for bit (Keras values off the type's grid differ)."""
    same = np.ones(fw[0].shape[0], dtype=bool)
    for f, k, t in zip(fw, ref, types):
        if t is None:
            same &= np.all(f == k, axis=1)
            continue
        if notes is not None and not vdata.on_grid(k, t).all():
            notes.append(
                "some Keras reference values are not on the firmware type's grid (the model is not "
                'quantized at that point); they count as differences'
            )
        same &= np.all(vdata.to_bits(f, t) * 1.0 == k * 2.0**t.fractional, axis=1)
    return same
