"""C-simulation: compile the generated firmware, run it on validation inputs, compare with the model.

Bit-exact mode compares fixed-point bit patterns (integers), 100% identical being the pass criterion;
a final softmax (a lookup table in firmware) is compared at its input exactly and at its output with
tolerances. Tolerance mode applies the configured tolerances, else a default chosen from what each output
is (class scores: argmax agreement; anything else: values within a tolerance from the output type's step);
every check applied, and why, is recorded. Binary (XNOR, ``uint<1>``) firmware values are decoded to +-1.
Both comparisons are made twice: against Keras on the data put on the input type's grid (the pass
criterion: what the hardware computes on) and against Keras on the raw data (``raw_agreement``: what the
user's model computes on), and a difference caused by the input conversion alone is named. On a mismatch
every traced layer is compared with the Keras intermediate outputs and the first divergent one named.

Size: over 400 lines because the verdict (which check applies to which output, bit-exact vs tolerance,
input-grid vs raw-data agreement, the first divergent layer) is one decision and reads best in one place.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from fpgaml.convert import Conversion
from fpgaml.csim import data as vdata
from fpgaml.csim import rounding
from fpgaml.csim.compile import compile_library
from fpgaml.csim.harness import CsimLibrary
from fpgaml.divergence import Divergence, LayerValues, first_divergence, traced_layers
from fpgaml.families import is_activation, keras_reference
from fpgaml.fixed import layer_type, value_type

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


@dataclass
class CsimResult:
    samples: int
    mode: str  # 'bit-exact' or 'tolerance'
    compared_at: str
    exact_fraction: float | None
    max_abs_diff: float
    mean_abs_diff: float
    argmax_agreement: float | None
    argmax_agreement_decisive: float | None
    passed: bool
    first_divergent_layer: dict | None
    failures: list[str] = field(default_factory=list)
    tolerances: dict = field(default_factory=dict)
    input_source: str = ''
    accuracy: dict | None = None
    compile_seconds: float = 0.0
    compile_cached: bool = False
    run_seconds: float = 0.0
    us_per_sample: float = 0.0
    notes: list[str] = field(default_factory=list)
    mode_reason: str = ''
    checks: list[dict] = field(default_factory=list)
    # What the user's model sees: Keras on the raw data vs the firmware on the raw data (converted to the input
    # type by the firmware itself); None when the data is already on the input grid (then equal to the above).
    raw_agreement: float | None = None
    raw_exact_fraction: float | None = None
    input_types: list[str] = field(default_factory=list)
    input_cause: str | None = None

    def to_json(self) -> dict:
        return asdict(self)


def _is_xnor(precision) -> bool:
    from fpgaml.convert.passes.exact_binary_thresholds import is_xnor

    return is_xnor(precision)


def decode(values: np.ndarray, precision) -> np.ndarray:
    """Firmware values as Keras computes them: XNOR-encoded binary outputs (0 -> -1, 1 -> +1)."""
    return 2.0 * values - 1.0 if _is_xnor(precision) else values


def _keras_ref(layer, kout: dict[str, np.ndarray], model=None) -> np.ndarray | None:
    """The Keras output a traced layer is compared with: by its family's rule (an activation hls4ml split off a
    layer: that layer's post-activation output; see :mod:`fpgaml.families`), by default the Keras layer of the
    same name; None when there is none."""
    return keras_reference(layer, kout, model)


def _first_divergence(
    conv: Conversion, lib: CsimLibrary, xs: list[np.ndarray], exact: bool, lsb_slack: float
) -> Divergence | None:
    traced = traced_layers(conv.graph)
    if not traced:
        return None
    _, fw = lib.trace(xs, traced)
    kout = conv.loaded.layer_outputs([x.astype(np.float32) for x in xs] if len(xs) > 1 else xs[0].astype(np.float32))
    # A layer whose QKeras quantizer scales (alpha) is split by hls4ml into the unscaled layer and an ApplyAlpha
    # node: the Keras layer's output is the ApplyAlpha node's, so the unscaled layer has no Keras reference.
    # Likewise a layer whose scale and bias fpgaml's exact_binary_thresholds pass moved into the next threshold.
    scaled = {lay.get_input_node().name for lay in conv.graph.get_layers() if lay.class_name == 'ApplyAlpha'}
    scaled |= {lay.name for lay in conv.graph.get_layers() if lay.get_attr('fpgaml_unscaled_output', False)}

    def compared():  # the traced layers with a Keras output of their size, in network order
        for layer in conv.graph.get_layers():
            if layer.name not in fw or layer.name in scaled:
                continue
            ref = _keras_ref(layer, kout, conv.loaded.model)
            if ref is None:
                continue
            ref = np.asarray(ref, dtype=np.float64).reshape(xs[0].shape[0], -1)
            got = decode(fw[layer.name], layer.get_output_variable().type.precision)
            if ref.shape != got.shape:
                continue
            t = layer_type(layer, decoded_xnor=True)
            lsb = 2.0**-t.fractional if t is not None else 0.0
            yield LayerValues(layer.name, layer.class_name, ref, got, None if exact else max(lsb_slack, 4 * lsb))

    return first_divergence(compared())


_NUMBER = re.compile(r'[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?')  # also inside {sign, exponent} pairs


def check_weight_files(project_dir: Path) -> list[str]:
    """The C-simulation reads weights from firmware/weights/*.txt; synthesis compiles the initialisers in
    firmware/weights/*.h. Both are written by hls4ml from the same arrays: prove they still agree."""
    problems = []
    wdir = project_dir / 'firmware' / 'weights'
    for txt in sorted(wdir.glob('*.txt')):
        header = txt.with_suffix('.h')
        if not header.is_file():
            problems.append(f'{header.name} missing beside {txt.name}')
            continue
        text = header.read_text()
        start = text.find('{', text.find('#else'))
        end = text.find('}', start)
        if start < 0 or end < 0:
            problems.append(f'{header.name}: no initialiser found')
            continue
        end = text.rfind('}', start, text.find('#endif', start) if '#endif' in text[start:] else len(text))
        a = np.array([float(v) for v in _NUMBER.findall(text[start + 1 : end])])
        b = np.array([float(v) for v in _NUMBER.findall(txt.read_text())])
        if a.shape != b.shape or not np.array_equal(a, b):
            diff = int(np.sum(a != b)) if a.shape == b.shape else -1
            what = f'{diff} values differ' if diff >= 0 else f'{a.size} vs {b.size} values'
            problems.append(f'{header.name} (synthesized) and {txt.name} (C-simulated) disagree: {what}')
    return problems


def csim_threads(io_type: str = '') -> int:
    """Worker threads for batch C-simulation (each with its own copy of the library):
    $FPGAML_CSIM_THREADS, else the number of cores."""
    env = os.environ.get('FPGAML_CSIM_THREADS')
    return max(1, int(env)) if env else (os.cpu_count() or 1)


# ---- checks ------------------------------------------------------------------------------------------------
# Default for outputs that are not class scores (regression values, feature maps, sigmoid / softplus outputs,
# recurrent states): at least CLOSE_FRACTION of the values within atol + rtol * |Keras|, with atol the larger
# of CLOSE_STEPS steps of the output type and CLOSE_PEAK of the largest |Keras| output.
CLOSE_STEPS, CLOSE_PEAK, CLOSE_RTOL, CLOSE_FRACTION = 4, 0.01, 0.05, 0.99
EXPLAIN_SAMPLES = 256  # samples whose Keras layer outputs give the ranges of csim.rounding's bound
UNBOUNDED = (
    '; the bound leaves fewer than 10% of the samples outside its margin, so every sample counts '
    '(top probability rule only)'
)
MIN_DECISIVE = 0.1
SOFTMAX_DECISIVE = 0.5  # argmax of a softmax judged where the model's top probability is at least this


@dataclass
class _Rule:
    check: Check
    softmax: bool = False
    margin: float = 0.0  # argmax: judged where Keras's top two scores differ by more than this
    classes: int = 0  # argmax over the last axis of this many classes (a softmax over feature maps)
    atol: float = 0.0
    rtol: float = 0.0
    limit: float = 0.0


def _output_layers(graph) -> list:
    layers = {lay.name: lay for lay in graph.get_layers()}
    outs = [layers[n] for n in getattr(graph, 'outputs', []) if n in layers]
    return outs if len(outs) == len(graph.get_output_variables()) else [list(layers.values())[-1]]


def _is_softmax(layer) -> bool:
    return layer.class_name == 'Softmax' or str(layer.get_attr('activation', '')).lower() == 'softmax'


def _describe_output(layer) -> str:
    act = layer.get_attr('activation')
    what = f'{layer.class_name}' + (f' {act}' if act and is_activation(layer.class_name) else '')
    return f'{what} "{layer.name}", shape {list(layer.get_output_variable().shape)}'


def _choose_rules(
    conv: Conversion, y_k: list[np.ndarray], labels, softmax: list[bool], notes: list[str], explained: list[float]
) -> list[_Rule]:
    """The tolerance checks for each output: the configured tolerances, else a default chosen from what the
    output is (class scores -> argmax agreement where the scores' top two differ by more than the firmware's
    types can move them; anything else -> values within a tolerance from the output type's step and the error
    the types explain, :mod:`fpgaml.csim.rounding`). Every output gets at least one check."""
    tol = {k: v for k, v in conv.config.tolerance.model_dump().items() if v is not None}
    rules = []
    for i, (layer, k) in enumerate(zip(_output_layers(conv.graph), y_k)):
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
                _Rule(
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
                _Rule(
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
            _Rule(
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


def _measure(rule: _Rule, f: np.ndarray, k: np.ndarray) -> tuple[float, np.ndarray]:
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


def _meets(rule: _Rule, value: float) -> bool:
    return value >= rule.limit if rule.check.kind in ('argmax_agreement', 'within_tolerance') else value <= rule.limit


def _exact_samples(fw: list[np.ndarray], ref: list[np.ndarray], types: list, notes: list[str] | None) -> np.ndarray:
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


def _keras(loaded, xs: list[np.ndarray], n: int) -> list[np.ndarray]:
    kin = xs[0].astype(np.float32) if len(xs) == 1 else [x.astype(np.float32) for x in xs]
    return [np.asarray(y, dtype=np.float64).reshape(n, -1) for y in loaded.predict(kin)]


def _exact_point(conv: Conversion, lib: CsimLibrary, xs, y_fw, y_k, n):
    """What bit-exact mode compares: the outputs, or a final softmax's input (a lookup table follows)."""
    out = _output_layers(conv.graph)
    if len(out) == 1 and out[0].class_name == 'Softmax':
        pre = out[0].get_input_node()
        if pre.class_name == 'Input':  # a softmax-only model: its input is the data both sides were given
            return (
                [xs[0].reshape(n, -1)],
                [xs[0].reshape(n, -1)],
                [layer_type(pre, decoded_xnor=True)],
                'softmax input (the model input); softmax output by tolerance',
            )
        _, tr = lib.trace(xs, {pre.name: pre.get_output_variable().size()})
        kin = xs[0].astype(np.float32) if len(xs) == 1 else [x.astype(np.float32) for x in xs]
        ref = _keras_ref(pre, conv.loaded.layer_outputs(kin), conv.loaded.model)
        if ref is None:
            raise RuntimeError(f'no Keras output to compare with layer {pre.name}')
        precision = pre.get_output_variable().type.precision
        return (
            [decode(tr[pre.name], precision)],
            [np.asarray(ref, dtype=np.float64).reshape(n, -1)],
            [value_type(precision, decoded_xnor=True)],
            f'softmax input (layer "{pre.name}"); softmax output by tolerance',
        )
    types = [value_type(v.type.precision, decoded_xnor=True) for v in conv.graph.get_output_variables()]
    return y_fw, y_k, types, 'model outputs'


def _hgq_input_quantizer(graph) -> str | None:
    """The name of the HGQ quantizer (FixedPointQuantizer) that reads the model input, if one does."""
    try:
        ins = set(graph.inputs)
        for layer in graph.get_layers():
            if layer.class_name == 'FixedPointQuantizer' and any(
                getattr(src, 'name', None) in ins for src in [layer.get_input_node()]
            ):
                return layer.name
    except Exception:  # noqa: BLE001 - only the wording of a note depends on it
        return None
    return None


def _input_cause(conv: Conversion, n_input_only: int, n: int) -> str:
    types = ', '.join(t.hls4ml_str() if t is not None else '?' for t in conv.input_types)
    folded = any(note.startswith('input "') and 'the type of the quantizer' in note for note in conv.notes)
    advice = (
        ''
        if folded or conv.config.input_precision
        else (
            '; the model\'s first layer does not quantize its inputs: set "precision: input" to the grid the data '
            'is on, or put a QActivation(quantized_bits(...)) first (fpgaml then uses its type as the input type)'
        )
    )
    if conv.config.input_precision:
        advice = (
            '; "precision: input" is set in the config: the type of the model\'s leading quantizer (if any) '
            'converts raw data exactly as Keras does'
        )
    hgq = _hgq_input_quantizer(conv.graph)
    if hgq is not None:
        advice = (
            f'; the model quantizes its inputs itself (HGQ quantizer "{hgq}"), and Keras receives the raw data '
            f"as float32 (24 significant bits): a raw value within that rounding of one of the quantizer's "
            f'rounding boundaries lands on the other side of it in Keras (data with at most 24 significant bits, '
            f'or on the input grid, agrees exactly)'
        )
    return (
        f'input conversion: {n_input_only} of {n} samples agree with Keras on the input grid but not on the '
        f'raw data: the firmware converts each raw input to its input type ({types}), Keras does not{advice}'
    )


def run_csim(
    conv: Conversion, project_dir: Path, cache: str | Path | None = None, use_cache: bool = True
) -> CsimResult:
    """Compile and run the firmware, and judge it (module docstring). The firmware always reads the raw data
    and converts it with its own input type; Keras is run twice: on that data put on the input type's grid
    (what the hardware computes on: the pass criterion) and on the raw data (what the user's model computes
    on: reported as ``raw_agreement``; a difference there alone is the input type's, and is named, but does
    not fail the check)."""
    cfg, loaded = conv.config, conv.loaded
    shapes, in_types = loaded.input_shapes, conv.input_types
    if cfg.validation_data is not None:
        raw, labels = vdata.load(cfg.validation_data, shapes, cfg.validation.samples, loaded.index_limits)
        source = f'{cfg.validation_data} ({raw[0].shape[0]} samples)'
    else:
        raw = vdata.generate(shapes, in_types, cfg.validation.samples, cfg.validation.seed, loaded.index_limits)
        labels = None
        source = f'{cfg.validation.samples} generated samples (seed {cfg.validation.seed}) spanning the input range'
    xs = [vdata.quantize(x, t) for x, t in zip(raw, in_types)]  # the firmware's inputs, for Keras
    n = xs[0].shape[0]

    compiled = compile_library(project_dir, cfg.name, cache=cache, use_cache=use_cache)
    lib = CsimLibrary(compiled.path, threads=csim_threads(cfg.io_type))
    t0 = time.perf_counter()
    y_fw = lib.predict(raw)  # the firmware converts the raw data itself (its input type)
    run_s = time.perf_counter() - t0
    out_vars = conv.graph.get_output_variables()
    y_fw = [decode(y, v.type.precision) for y, v in zip(y_fw, out_vars)]
    y_k = _keras(loaded, xs, n)
    on_grid = all(np.array_equal(r, x) for r, x in zip(raw, xs))
    y_raw = y_k if on_grid else _keras(loaded, raw, n)

    failures: list[str] = check_weight_files(project_dir)
    notes: list[str] = list(compiled.notes)
    native = lib.native_output().strip()
    if native:
        notes.append(
            f'the C-simulation library wrote to stderr: "{native.splitlines()[0][:200]}" (all of it: {lib.log})'
        )
    if any(_is_xnor(v.type.precision) for v in out_vars):
        notes.append("binary (XNOR) firmware outputs decoded 0 -> -1 before comparing with Keras's +-1")
    checks: list[Check] = []
    ok_grid = np.ones(n, dtype=bool)
    ok_raw = np.ones(n, dtype=bool)

    # ---- exact comparison of bit patterns ----------------------------------------------------------
    exact_fraction = raw_exact = None
    compared_at = 'model outputs'
    if conv.bit_exact:
        fw_e, k_e, types, compared_at = _exact_point(conv, lib, xs, y_fw, y_k, n)
        same = _exact_samples(fw_e, k_e, types, notes)
        if on_grid:
            same_raw = same
        else:
            k_raw_e = _exact_point(conv, lib, raw, y_fw, y_raw, n)[1] if compared_at != 'model outputs' else y_raw
            same_raw = _exact_samples(fw_e, k_raw_e, types, None)
        exact_fraction, raw_exact = float(same.mean()), float(same_raw.mean())
        ok_grid &= same
        ok_raw &= same_raw
        where = compared_at.split(';')[0]
        checks.append(
            Check(
                where,
                'bit-exact',
                '100% of samples identical bit for bit',
                conv.bit_exact_reason,
                exact_fraction,
                raw_exact,
                exact_fraction == 1.0,
            )
        )
        if exact_fraction < 1.0:
            failures.append(f'bit-exact: {int((~same).sum())} of {n} samples differ at the {where}')

    # ---- tolerance checks of the final outputs --------------------------------------------------------
    softmax = [_is_softmax(lay) for lay in _output_layers(conv.graph)]
    softmax = softmax if len(softmax) == len(y_k) else [False] * len(y_k)
    rules = []
    if not conv.bit_exact or any(softmax):
        explained = (
            [0.0] * len(y_k)
            if conv.bit_exact and not any(softmax)
            else rounding.output_errors(conv.graph, loaded, [x[:EXPLAIN_SAMPLES] for x in xs])
        )
        rules = _choose_rules(conv, y_k, labels, softmax, notes, explained)
    index = {('output' if len(y_k) == 1 else f'output {i}'): i for i in range(len(y_k))}
    for rule in rules:
        i = index[rule.check.output]
        value, per_sample = _measure(rule, y_fw[i], y_k[i])
        raw_value, per_sample_raw = _measure(rule, y_fw[i], y_raw[i])
        rule.check.value, rule.check.raw_value, rule.check.passed = value, raw_value, _meets(rule, value)
        ok_grid &= per_sample
        ok_raw &= per_sample_raw
        checks.append(rule.check)
        if not rule.check.passed:
            failures.append(f'{rule.check.output}: {rule.check.kind} {value:.6g} fails "{rule.check.criterion}"')
    if not checks:  # never pass without a check
        failures.append('no check applies to these outputs: set tolerance (max_abs_diff / mean_abs_diff)')

    diffs = np.concatenate([np.abs(f - k).ravel() for f, k in zip(y_fw, y_k)])
    max_abs, mean_abs = float(diffs.max()), float(diffs.mean())
    argmax = argmax_decisive = None
    if y_k[0].shape[1] > 1:
        agree = np.argmax(y_fw[0], axis=1) == np.argmax(y_k[0], axis=1)
        argmax = argmax_decisive = float(np.mean(agree))
        if softmax[0]:
            decisive = y_k[0].max(axis=1) >= SOFTMAX_DECISIVE
            argmax_decisive = float(np.mean(agree[decisive])) if decisive.any() else 1.0

    raw_agreement = float(ok_raw.mean())
    input_only = int(np.sum(ok_grid & ~ok_raw))
    cause = _input_cause(conv, input_only, n) if input_only else None
    if cause:
        notes.append(cause)

    accuracy = None
    if labels is not None and labels.ndim == 1 and y_k[0].shape[1] > 1:
        accuracy = {
            'keras': float(np.mean(np.argmax(y_raw[0], 1) == labels)),
            'keras_on_input_grid': float(np.mean(np.argmax(y_k[0], 1) == labels)),
            'firmware': float(np.mean(np.argmax(y_fw[0], 1) == labels)),
        }

    # ---- first divergent layer --------------------------------------------------------------------------
    divergence = None
    if failures:
        bad = np.where(~ok_grid)[0]
        idx = bad[:64] if bad.size else np.arange(min(n, 64))
        lsb_slack = next((r.limit for r in rules if r.check.kind == 'max_abs_diff'), 0.0)
        div = _first_divergence(conv, lib, [x[idx] for x in xs], conv.bit_exact, lsb_slack)
        if div is not None:
            divergence = div.to_json()
            failures.append('first divergent layer: ' + div.describe())

    tolerances = {r.check.kind: r.limit for r in rules}
    return CsimResult(
        samples=n,
        mode='bit-exact' if conv.bit_exact else 'tolerance',
        compared_at=compared_at,
        exact_fraction=exact_fraction,
        max_abs_diff=max_abs,
        mean_abs_diff=mean_abs,
        argmax_agreement=argmax,
        argmax_agreement_decisive=argmax_decisive,
        passed=not failures,
        first_divergent_layer=divergence,
        failures=failures,
        tolerances=tolerances,
        input_source=source,
        accuracy=accuracy,
        compile_seconds=round(compiled.seconds, 3),
        compile_cached=compiled.cached,
        run_seconds=round(run_s, 4),
        us_per_sample=round(1e6 * run_s / n, 2),
        notes=notes,
        mode_reason=conv.bit_exact_reason,
        checks=[asdict(c) for c in checks],
        raw_agreement=raw_agreement,
        raw_exact_fraction=raw_exact,
        input_types=[t.hls4ml_str() if t is not None else '?' for t in in_types],
        input_cause=cause,
    )
