"""C-simulation: compile the generated firmware, run it on validation inputs, compare with the model.

Bit-exact mode compares fixed-point bit patterns (integers), 100% identical being the pass criterion;
a final softmax (a lookup table in firmware) is compared at its input exactly and at its output with
tolerances. Tolerance mode (float models) reports max/mean |diff| and argmax agreement. On a mismatch
every traced layer is compared with the Keras intermediate outputs and the first divergent one named.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from fpgaml.config.precision import FixedType, from_hls4ml
from fpgaml.convert import Conversion
from fpgaml.csim import data as vdata
from fpgaml.csim.compile import compile_library
from fpgaml.csim.harness import CsimLibrary

ACTIVATION_CLASSES = ('Activation', 'ParametrizedActivation', 'PReLU', 'Softmax', 'TernaryTanh', 'HardActivation',
                      'LeakyReLU', 'ThresholdedReLU', 'ELU')
DEFAULT_ARGMAX_AGREEMENT = 0.99


@dataclass
class Divergence:
    layer: str
    cls: str
    values_differing: int
    values_compared: int
    max_abs_diff: float
    samples_traced: int

    def describe(self) -> str:
        return (f'{self.layer} ({self.cls}): {self.values_differing} of {self.values_compared} values differ '
                f'(max |diff| {self.max_abs_diff:.6g}) over {self.samples_traced} traced samples')


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

    def to_json(self) -> dict:
        return asdict(self)


def _layer_type(layer) -> FixedType | None:
    return from_hls4ml(layer.get_output_variable().type.precision)


def _keras_ref(layer, kout: dict[str, np.ndarray]) -> np.ndarray | None:
    if layer.name in kout:
        return kout[layer.name]
    if layer.class_name in ACTIVATION_CLASSES:
        src = layer.get_input_node()
        if src is not None and src.name + ':post' in kout:
            return kout[src.name + ':post']
    return None


def _traced_layers(graph) -> dict[str, int]:
    return {lay.name: lay.get_output_variable().size() for lay in graph.get_layers()
            if lay.get_attr('trace', False) and lay.get_attr('function_cpp', None) is not None}


def _first_divergence(conv: Conversion, lib: CsimLibrary, xs: list[np.ndarray], exact: bool,
                      lsb_slack: float) -> Divergence | None:
    traced = _traced_layers(conv.graph)
    if not traced:
        return None
    _, fw = lib.trace(xs, traced)
    kout = conv.loaded.layer_outputs([x.astype(np.float32) for x in xs] if len(xs) > 1 else xs[0].astype(np.float32))
    for layer in conv.graph.get_layers():
        if layer.name not in fw:
            continue
        ref = _keras_ref(layer, kout)
        if ref is None:
            continue
        n = xs[0].shape[0]
        ref = np.asarray(ref, dtype=np.float64).reshape(n, -1)
        got = fw[layer.name]
        if ref.shape != got.shape:
            continue
        diff = np.abs(got - ref)
        t = _layer_type(layer)
        if exact:
            bad = got != ref
        else:
            lsb = 2.0 ** -t.fractional if t is not None else 0.0
            bad = diff > max(lsb_slack, 4 * lsb)
        if bad.any():
            return Divergence(layer.name, layer.class_name, int(bad.sum()), int(bad.size), float(diff.max()), n)
    return None


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
        a = np.array([float(v) for v in _NUMBER.findall(text[start + 1:end])])
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


def run_csim(conv: Conversion, project_dir: Path, cache: str | Path | None = None, use_cache: bool = True) -> CsimResult:
    cfg, graph, loaded = conv.config, conv.graph, conv.loaded
    shapes = loaded.input_shapes
    in_types = conv.input_types
    if cfg.validation_data is not None:
        xs, labels = vdata.load(cfg.validation_data, shapes, cfg.validation.samples)
        source = f'{cfg.validation_data} ({xs[0].shape[0]} samples)'
    else:
        xs = vdata.generate(shapes, in_types, cfg.validation.samples, cfg.validation.seed)
        labels = None
        source = f'{cfg.validation.samples} generated samples (seed {cfg.validation.seed}) spanning the input range'
    xs = [vdata.quantize(x, t) for x, t in zip(xs, in_types)]  # firmware and Keras see the same numbers
    n = xs[0].shape[0]

    compiled = compile_library(project_dir, cfg.name, cache=cache, use_cache=use_cache)
    lib = CsimLibrary(compiled.path, threads=csim_threads(cfg.io_type))
    t0 = time.perf_counter()
    y_fw = lib.predict(xs)
    run_s = time.perf_counter() - t0
    kin = xs[0].astype(np.float32) if len(xs) == 1 else [x.astype(np.float32) for x in xs]
    y_k = [np.asarray(y, dtype=np.float64).reshape(n, -1) for y in loaded.predict(kin)]

    out_layers = [list(graph.get_layers())[-1]] if len(y_fw) == 1 else []
    softmax_last = bool(out_layers) and out_layers[0].class_name == 'Softmax'
    failures: list[str] = check_weight_files(project_dir)
    notes: list[str] = list(compiled.notes)
    native = lib.native_output().strip()
    if native:
        notes.append(f'the C-simulation library wrote to stderr: "{native.splitlines()[0][:200]}" '
                     f'(all of it: {lib.log})')

    # ---- exact comparison of bit patterns ----------------------------------------------------------
    exact_fraction = None
    compared_at = 'model outputs'
    if conv.bit_exact:
        if softmax_last:
            pre = out_layers[0].get_input_node()
            compared_at = f'softmax input (layer "{pre.name}"); softmax output by tolerance'
            _, tr = lib.trace(xs, {pre.name: pre.get_output_variable().size()})
            fw_exact = [tr[pre.name]]
            ref = _keras_ref(pre, loaded.layer_outputs(kin))
            types = [_layer_type(pre)]
            if ref is None:
                raise RuntimeError(f'no Keras output to compare with layer {pre.name}')
            k_exact = [np.asarray(ref, dtype=np.float64).reshape(n, -1)]
        else:
            fw_exact, k_exact, types = y_fw, y_k, conv.output_types
        same = np.ones(n, dtype=bool)
        for f, k, t in zip(fw_exact, k_exact, types):
            if t is not None and not vdata.on_grid(k, t).all():
                notes.append('some Keras reference values are not on the firmware type\'s grid (the model is '
                             'not quantized at that point); they count as differences')
            same &= np.all(vdata.to_bits(f, t) * 1.0 == k * 2.0 ** t.fractional, axis=1) if t is not None else \
                np.all(f == k, axis=1)
        exact_fraction = float(same.mean())
        if exact_fraction < 1.0:
            failures.append(f'bit-exact: {int((~same).sum())} of {n} samples differ at the {compared_at.split(";")[0]}')

    # ---- tolerance comparison of the final outputs ----------------------------------------------------
    diffs = np.concatenate([np.abs(f - k).ravel() for f, k in zip(y_fw, y_k)])
    max_abs, mean_abs = float(diffs.max()), float(diffs.mean())
    argmax = argmax_decisive = None
    if y_k[0].shape[1] > 1:
        agree = np.argmax(y_fw[0], axis=1) == np.argmax(y_k[0], axis=1)
        argmax = float(np.mean(agree))
        argmax_decisive = argmax
        if softmax_last:
            # Near-ties flip with any lookup-table softmax; judge agreement where the model is decisive.
            decisive = y_k[0].max(axis=1) >= 0.5
            argmax_decisive = float(np.mean(agree[decisive])) if decisive.any() else 1.0
    tol = cfg.tolerance
    tolerances = {k: v for k, v in tol.model_dump().items() if v is not None}
    check_tol = (not conv.bit_exact) or softmax_last
    if check_tol and not tolerances and argmax is not None:
        tolerances = {'argmax_agreement': DEFAULT_ARGMAX_AGREEMENT}
        notes.append(f'no tolerances configured: default argmax_agreement >= {DEFAULT_ARGMAX_AGREEMENT}')
    if check_tol:
        if 'max_abs_diff' in tolerances and max_abs > tolerances['max_abs_diff']:
            failures.append(f'max |diff| {max_abs:.6g} exceeds tolerance {tolerances["max_abs_diff"]}')
        if 'mean_abs_diff' in tolerances and mean_abs > tolerances['mean_abs_diff']:
            failures.append(f'mean |diff| {mean_abs:.6g} exceeds tolerance {tolerances["mean_abs_diff"]}')
        if 'argmax_agreement' in tolerances and argmax is not None and \
                argmax_decisive < tolerances['argmax_agreement']:
            where = ' (samples with top-class probability >= 0.5)' if softmax_last else ''
            failures.append(f'argmax agreement {argmax_decisive:.4f}{where} below tolerance '
                            f'{tolerances["argmax_agreement"]}')
    else:
        tolerances = {}

    accuracy = None
    if labels is not None and labels.ndim == 1 and argmax is not None:
        accuracy = {'keras': float(np.mean(np.argmax(y_k[0], 1) == labels)),
                    'firmware': float(np.mean(np.argmax(y_fw[0], 1) == labels))}

    # ---- first divergent layer --------------------------------------------------------------------------
    divergence = None
    if failures:
        if conv.bit_exact and exact_fraction is not None and exact_fraction < 1.0:
            bad = np.where(~same)[0]
        else:
            bad = np.where(np.any(np.abs(y_fw[0] - y_k[0]) > 0, axis=1))[0]
        idx = bad[:64] if bad.size else np.arange(min(n, 64))
        div = _first_divergence(conv, lib, [x[idx] for x in xs], conv.bit_exact, tolerances.get('max_abs_diff', 0.0))
        if div is not None:
            divergence = asdict(div)
            failures.append('first divergent layer: ' + div.describe())

    return CsimResult(
        samples=n, mode='bit-exact' if conv.bit_exact else 'tolerance', compared_at=compared_at,
        exact_fraction=exact_fraction, max_abs_diff=max_abs, mean_abs_diff=mean_abs, argmax_agreement=argmax,
        argmax_agreement_decisive=argmax_decisive,
        passed=not failures, first_divergent_layer=divergence, failures=failures, tolerances=tolerances,
        input_source=source, accuracy=accuracy, compile_seconds=round(compiled.seconds, 3),
        compile_cached=compiled.cached, run_seconds=round(run_s, 4), us_per_sample=round(1e6 * run_s / n, 2),
        notes=notes)
