"""Data-driven precision for float models: the ``profile`` precision policy.

The model runs on calibration inputs (the validation data, or the validation samples fpgaml generates);
each layer's result type gets the integer bits its observed range needs plus a margin (saturating, so an
unseen outlier clips instead of wrapping) and the rest of the configured width as fractional bits.
Weights and biases get the integer bits of their largest magnitude. Accumulators get the result's
integer bits + 1 and 3 more fractional bits, so the sum of products loses less than the result keeps.

Nothing here overrides a type the user set: the caller passes the keys already taken (quantizers,
bit-exact ``auto`` types, per-layer and per-layer-type settings) and only the others are filled.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np

from fpgaml.config.schema import PrecisionPolicy, ProjectConfig
from fpgaml.families import profile_rule

# Activations with a non-negative output: an unsigned type gives one more bit.
NON_NEGATIVE = ('relu', 'relu1', 'relu6', 'sigmoid', 'hard_sigmoid', 'softmax', 'softplus')


@dataclass
class ProfiledLayer:
    name: str
    observed: tuple[float, float] | None  # (min, max) of the layer's output on the calibration inputs
    types: dict[str, str] = field(default_factory=dict)

    def describe(self) -> str:
        rng = f'[{self.observed[0]:.4g}, {self.observed[1]:.4g}]' if self.observed else 'weights only'
        return f'{self.name}: {rng} -> ' + ', '.join(f'{k} {v}' for k, v in self.types.items())


def integer_bits(max_abs: float, signed: bool) -> int:
    """Integer bits (sign included when signed) that hold every value of magnitude <= max_abs."""
    if not np.isfinite(max_abs) or max_abs <= 0:
        return 1 if signed else 0
    # values in [2^(k-1), 2^k) need k magnitude bits; 2^k itself needs k + 1
    k = math.floor(math.log2(max_abs)) + 1
    return k + (1 if signed else 0)


def _type(width: int, integer: int, signed: bool, modes: str = ',RND,SAT') -> str:
    # at least one fractional bit left; the integer part is what the range needs
    width = max(width, integer + 1)
    return f'{"fixed" if signed else "ufixed"}<{width},{integer}{modes}>'


def result_type(lo: float, hi: float, policy: PrecisionPolicy, unsigned: bool = False) -> str:
    signed = not (unsigned and lo >= 0)
    i = integer_bits(max(abs(lo), abs(hi)), signed) + policy.margin
    return _type(policy.width, i, signed)


def weight_type(data: np.ndarray, policy: PrecisionPolicy) -> str:
    data = np.asarray(data, dtype=np.float64)
    m = float(np.max(np.abs(data))) if data.size else 0.0
    return _type(policy.width, integer_bits(m, True), True, ',RND')


def accum_type(result: str) -> str:
    """Signed, one more integer bit and three more fractional bits than the (profiled) result type."""
    m = re.match(r'(u?)fixed<(\d+),(-?\d+)', result)
    unsigned, w, i = bool(m.group(1)), int(m.group(2)), int(m.group(3))
    if unsigned:
        i += 1  # the accumulator is signed even when the result is not
        w += 1
    return f'fixed<{w + 4},{i + 1}>'


def _fractional(t: str | None) -> int | None:
    m = re.match(r'u?fixed<(\d+),(-?\d+)', t or '')
    if m:
        return int(m.group(1)) - int(m.group(2))
    return 0 if t and re.match(r'u?int<', t) else None


def _exact_integer_weight_sum(layer: dict | None, chosen: dict[str, str], observed, policy) -> str | None:
    """A dense layer with binary/ternary weights (+-1, 0) sums its inputs exactly when its result keeps the
    input's fractional bits: do so, so a binary/ternary threshold after it sees what Keras sees."""
    if layer is None or type(layer.get('weight_quantizer')).__name__ not in ('BinaryQuantizer', 'TernaryQuantizer'):
        return None
    inputs = layer.get('inputs') or []
    f = _fractional(chosen.get(inputs[0])) if inputs else None
    if f is None:
        return None
    i = integer_bits(max(abs(observed[0]), abs(observed[1])), True) + policy.margin
    return f'fixed<{i + f},{i}>'


def calibration_inputs(cfg: ProjectConfig, loaded, input_types: list) -> tuple[list[np.ndarray], str]:
    """The validation data, or the very samples fpgaml will generate for the C-simulation."""
    from fpgaml import validation as vdata

    shapes = loaded.input_shapes
    n = min(cfg.precision_policy.samples, cfg.validation.samples)
    if cfg.validation_data is not None:
        xs, _ = vdata.load(cfg.validation_data, shapes, n, loaded.index_limits)
        return xs, f'{xs[0].shape[0]} samples of {cfg.validation_data.name}'
    xs = vdata.generate(shapes, input_types, cfg.validation.samples, cfg.validation.seed, loaded.index_limits)
    return [x[:n] for x in xs], f'{n} generated validation samples'


def _bn_scale_bias(layer: dict) -> tuple[np.ndarray, np.ndarray] | None:
    try:
        gamma = np.asarray(layer.get('gamma_data', 1.0), dtype=np.float64)
        beta = np.asarray(layer.get('beta_data', 0.0), dtype=np.float64)
        mean = np.asarray(layer['mean_data'], dtype=np.float64)
        var = np.asarray(layer['variance_data'], dtype=np.float64)
        eps = float(layer.get('epsilon', 1e-3))
    except (KeyError, TypeError):
        return None
    scale = gamma / np.sqrt(var + eps)
    return scale, beta - mean * scale


def profile(
    cfg: ProjectConfig,
    loaded,
    layer_list: list[dict],
    classes: dict[str, str],
    taken: dict[str, set[str]],
    input_types: list,
) -> tuple[dict[str, dict[str, str]], list[ProfiledLayer], str]:
    """Per-layer types chosen from observed ranges: (layer name -> {key: precision}, records, source)."""
    policy = cfg.precision_policy
    xs, source = calibration_inputs(cfg, loaded, input_types)
    feed = [x.astype(np.float32) for x in xs]
    kout = loaded.layer_outputs(feed if len(feed) > 1 else feed[0])
    by_name = {lay['name']: lay for lay in layer_list}
    input_names = [lay['name'] for lay in layer_list if lay['class_name'] == 'InputLayer']

    out: dict[str, dict[str, str]] = {}
    records: list[ProfiledLayer] = []
    chosen: dict[str, str] = {}  # result type per layer, to follow the data through the graph
    for n, t in zip(input_names, input_types):
        if t is not None:
            chosen[n] = t.hls4ml_str() if hasattr(t, 'hls4ml_str') else str(t)
    previous = None
    for name, cls in classes.items():
        layer = by_name.get(name)
        if layer is not None and not layer.get('inputs') and previous is not None and cls != 'InputLayer':
            layer = dict(layer, inputs=[previous])  # Sequential models: the previous layer
        previous = name
        rule = profile_rule(cls)  # what the layer's family lets the policy choose
        if rule == 'skip':
            continue
        busy = taken.get(name, set())
        types: dict[str, str] = {}
        observed = None
        # ---- result -----------------------------------------------------------------------------
        if cls == 'InputLayer':
            idx = input_names.index(name) if name in input_names else 0
            limit = loaded.index_limits[idx] if idx < len(loaded.index_limits) else None
            if limit is not None and 'result' not in busy:  # Embedding row indices: an exact unsigned integer
                types['result'] = chosen[name] = f'uint<{max(1, (limit - 1).bit_length())}>'
                out[name] = types
                records.append(ProfiledLayer(name, (0.0, float(limit - 1)), types))
                continue
            if layer is not None and layer.get('precision') is not None:
                continue  # an integer input: hls4ml already uses its exact type
            if cfg.validation_data is None:
                continue  # the generated samples are drawn from the input type itself: keep it
            y = xs[idx] if idx < len(xs) else None
        elif name in kout:
            y = kout[name]
        else:
            base = next((b for b in by_name if name.startswith(b + '_') and b + ':post' in kout), None)
            y = kout[base + ':post'] if base else None
        act = (layer or {}).get('activation') if layer is not None else name.rsplit('_', 1)[-1]
        base = name[: -len('_linear')] if name.endswith('_linear') and cls == 'Activation' and act == 'linear' else None
        if base is not None and base in chosen and 'result' not in busy:
            types['result'] = chosen[base]  # the linear activation hls4ml inserts passes its input through
        elif y is not None and 'result' not in busy:
            y = np.asarray(y, dtype=np.float64)
            observed = (float(y.min()), float(y.max()))
            unsigned = cls in ('Softmax',) or (cls == 'Activation' and act in NON_NEGATIVE)
            types['result'] = result_type(observed[0], observed[1], policy, unsigned)
            if cls == 'Softmax':
                types['result'] = _type(policy.width, 1, False)
            exact = _exact_integer_weight_sum(layer, chosen, observed, policy)
            if exact is not None:
                types['result'] = exact
            if rule == 'result+accum' and 'accum' not in busy:
                types['accum'] = exact or accum_type(types['result'])
        if 'result' in types:
            chosen[name] = types['result']
        # ---- weights ----------------------------------------------------------------------------
        if layer is not None:
            for key, wname in (
                ('weight_data', 'weight'),
                ('bias_data', 'bias'),
                ('depthwise_data', 'depthwise'),
                ('pointwise_data', 'pointwise'),
                ('embeddings_data', 'embeddings'),
            ):
                data = layer.get(key)
                if (
                    isinstance(data, np.ndarray)
                    and data.size
                    and wname not in busy
                    and layer.get(f'{wname}_quantizer') is None
                ):
                    types[wname] = weight_type(data, policy)
            if cls == 'BatchNormalization':
                sb = _bn_scale_bias(layer)
                if sb is not None:
                    for wname, data in zip(('scale', 'bias'), sb):
                        if wname not in busy:
                            types[wname] = weight_type(data, policy)
        if types:
            out[name] = types
            records.append(ProfiledLayer(name, observed, types))
    return out, records, source
