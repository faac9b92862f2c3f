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

:func:`run_csim` runs both sides and words the verdict; the checks and how they are measured are in
:mod:`fpgaml.csim.checks`, what Keras gives to compare with (and the first divergent layer) in
:mod:`fpgaml.csim.reference`.
"""

from __future__ import annotations

import os
import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from fpgaml import validation as vdata
from fpgaml.convert import Conversion
from fpgaml.convert.provenance import BOUNDED, DEFAULT, default_overflows
from fpgaml.csim import rounding
from fpgaml.csim.checks import (
    EXPLAIN_SAMPLES,
    OVERFLOW_SAMPLES,
    SOFTMAX_DECISIVE,
    Check,
    choose_rules,
    exact_samples,
    is_softmax,
    measure,
    meets,
    output_layers,
)
from fpgaml.csim.compile import compile_library
from fpgaml.csim.harness import CsimLibrary
from fpgaml.csim.reference import (
    before_final_softmax,
    decode,
    exact_point,
    first_divergent_layer,
    is_xnor,
    keras_input,
    keras_outputs,
    keras_outputs_of_layers,
)


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


def _default_type_overflows(conv: Conversion, xs: list[np.ndarray]) -> list[str]:
    """Layers typed by the model-wide default (nothing chose their type) whose Keras outputs on the samples
    leave that type (:func:`fpgaml.convert.provenance.default_overflows`)."""
    sources = {r.name: r.type_from for r in conv.layers}
    if not any(sources.get(lay.name) == DEFAULT and lay.class_name not in BOUNDED for lay in conv.graph.get_layers()):
        return []
    kout = conv.loaded.layer_outputs(keras_input([x[:OVERFLOW_SAMPLES] for x in xs]))
    return default_overflows(conv, kout, sources)


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
        source = (
            f'{cfg.validation.samples} generated samples (seed {cfg.validation.seed}) spanning the input range: '
            f'no validation data, so the verdict rests on generated inputs, not on data of yours'
        )
    xs = [vdata.quantize(x, t) for x, t in zip(raw, in_types)]  # the firmware's inputs, for Keras
    n = xs[0].shape[0]

    on_grid = all(np.array_equal(r, x) for r, x in zip(raw, xs))
    pre = before_final_softmax(conv) if conv.bit_exact else None
    # bit-exact mode compares a final softmax's input with its Keras layer output: the model outputs (compared by
    # tolerance) are read from the same layer outputs instead of running the model a second time
    outputs = keras_outputs if pre is None or pre.class_name == 'Input' else keras_outputs_of_layers
    with ThreadPoolExecutor(1, thread_name_prefix='fpgaml-keras') as keras:
        # Keras computes its side while g++ compiles the firmware (the compile only waits on processes)
        k_grid = keras.submit(outputs, loaded, xs, n)
        k_raw = None if on_grid else keras.submit(outputs, loaded, raw, n)
        compiled = compile_library(project_dir, cfg.name, cache=cache, use_cache=use_cache)
        y_k = k_grid.result()
        y_raw = y_k if on_grid else k_raw.result()
    lib = CsimLibrary(compiled.path, threads=csim_threads(cfg.io_type))
    t0 = time.perf_counter()
    y_fw = lib.predict(raw)  # the firmware converts the raw data itself (its input type)
    run_s = time.perf_counter() - t0
    out_vars = conv.graph.get_output_variables()
    y_fw = [decode(y, v.type.precision) for y, v in zip(y_fw, out_vars)]

    failures: list[str] = check_weight_files(project_dir)
    notes: list[str] = list(compiled.notes)
    native = lib.native_output().strip()
    if native:
        notes.append(
            f'the C-simulation library wrote to stderr: "{native.splitlines()[0][:200]}" (all of it: {lib.log})'
        )
    if any(is_xnor(v.type.precision) for v in out_vars):
        notes.append("binary (XNOR) firmware outputs decoded 0 -> -1 before comparing with Keras's +-1")
    checks: list[Check] = []
    ok_grid = np.ones(n, dtype=bool)
    ok_raw = np.ones(n, dtype=bool)

    # ---- exact comparison of bit patterns ----------------------------------------------------------
    exact_fraction = raw_exact = None
    compared_at = 'model outputs'
    if conv.bit_exact:
        fw_e, k_e, types, compared_at = exact_point(conv, lib, xs, y_fw, y_k, n)
        same = exact_samples(fw_e, k_e, types, notes)
        if on_grid:
            same_raw = same
        else:
            k_raw_e = exact_point(conv, lib, raw, y_fw, y_raw, n)[1] if compared_at != 'model outputs' else y_raw
            same_raw = exact_samples(fw_e, k_raw_e, types, None)
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
    softmax = [is_softmax(lay) for lay in output_layers(conv.graph)]
    softmax = softmax if len(softmax) == len(y_k) else [False] * len(y_k)
    rules = []
    if not conv.bit_exact or any(softmax):
        explained = (
            [0.0] * len(y_k)
            if conv.bit_exact and not any(softmax)
            else rounding.output_errors(conv.graph, loaded, [x[:EXPLAIN_SAMPLES] for x in xs])
        )
        rules = choose_rules(conv, y_k, labels, softmax, notes, explained)
    index = {('output' if len(y_k) == 1 else f'output {i}'): i for i in range(len(y_k))}
    for rule in rules:
        i = index[rule.check.output]
        value, per_sample = measure(rule, y_fw[i], y_k[i])
        raw_value, per_sample_raw = measure(rule, y_fw[i], y_raw[i])
        rule.check.value, rule.check.raw_value, rule.check.passed = value, raw_value, meets(rule, value)
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

    notes += [f'warning: {w}' for w in _default_type_overflows(conv, xs)]

    # ---- first divergent layer --------------------------------------------------------------------------
    divergence = None
    if failures:
        bad = np.where(~ok_grid)[0]
        idx = bad[:64] if bad.size else np.arange(min(n, 64))
        lsb_slack = next((r.limit for r in rules if r.check.kind == 'max_abs_diff'), 0.0)
        div = first_divergent_layer(conv, lib, [x[idx] for x in xs], conv.bit_exact, lsb_slack)
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
