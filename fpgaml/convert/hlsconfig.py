"""The hls4ml config dict for a project: fpgaml's typed config, the model's quantizers and fpgaml's type
rules turned into hls4ml's ``HLSConfig``. hls4ml's config dicts live only in ``fpgaml.convert``.

Every per-layer user setting is looked up through :class:`~fpgaml.convert.settings.LayerSettingResolver`
(one precedence rule, see there)."""

from __future__ import annotations

import fnmatch
import math
from collections.abc import Collection
from pathlib import Path
from typing import Any

from fpgaml.config.precision import parse_precision
from fpgaml.config.schema import LayerSettings, ProjectConfig
from fpgaml.config.values import SOFTMAX_STRATEGIES
from fpgaml.convert.conv_implementation import old_pointwise_all_positions, translate_conv_implementation
from fpgaml.convert.quantizer_types import folded_input_types, folded_result_types, quantizer_precisions
from fpgaml.convert.settings import LayerSettingResolver
from fpgaml.errors import FpgamlError
from fpgaml.families import splits_activation
from fpgaml.fixed import Fixed, grid_of
from fpgaml.frontend import LoadedModel

# Softmax input after max-normalisation (x_max - x >= 0): 5 integer bits cover exp(-x) down to e^-32, the
# rest of the bits index the table. hls4ml otherwise derives it from the (possibly very wide) input type and
# indexes its table with the top bits of that type, which turns the softmax into a constant.
SOFTMAX_INP_NORM = 'ufixed<16,5,RND,SAT>'


MERGES = ('Merge', 'Concatenate', 'Dot')


def _auto_types(layer_cls: str, backend: str) -> list[str]:
    """Type attributes that hls4ml can infer exactly ('auto') for this layer class."""
    import hls4ml

    cls = hls4ml.model.layers.layer_map.get(layer_cls)
    if cls is None:
        return []
    merge = cls.__name__ in MERGES
    cls = hls4ml.backends.get_backend(backend).create_layer_class(cls)
    out = []
    for attr in cls.expected_attributes:
        if not isinstance(attr, hls4ml.model.attributes.TypeAttribute) or not attr.configurable:
            continue
        # result/accum: exact widths inferred from the inputs and weights (no silent truncation); hls4ml infers
        # only the result of a merge (its accumulator type is not inferred and must not be left 'auto')
        if attr.name == 'accum_t' and merge:
            continue
        if attr.default is None or (attr.name == 'accum_t' and layer_cls not in ('Softmax', 'Activation')):
            out.append(attr.name[:-2] if attr.name.endswith('_t') else attr.name)
    return out


def _softmax_tables(loaded: LoadedModel, name: str) -> dict[str, str]:
    """Lookup-table types for a softmax over ``n`` values, sized to the values they hold.

    hls4ml indexes its tables with the top bits of these types, so each type's integer bits must match
    its real range: x_max - x in [0, 32) (exp(-32) ~ 1e-14 is 0 at any table width), exp(-x) in (0, 1],
    and the sum of n exponentials in [1, n]."""
    n = 0
    base = name[: -len('_softmax')] if name.endswith('_softmax') else name
    try:
        n = int(loaded.model.get_layer(base).output.shape[-1])
    except Exception:  # noqa: BLE001 - unknown: fall back to a wide sum
        n = 0
    sum_int = max(1, math.ceil(math.log2(n)) + 1) if n > 0 else 8
    return {
        'inp_norm_t': SOFTMAX_INP_NORM,
        'exp_table_t': 'ufixed<18,1,RND,SAT>',
        'inv_table_t': 'ufixed<18,1,RND,SAT>',
        'inv_inp_t': f'ufixed<18,{sum_int},RND,SAT>',
    }


SOFTMAX_TYPES = ('exp_table', 'inv_table', 'inv_inp', 'inp_norm', 'accum')


def _softmax_user_tables(entry: dict, user: dict) -> None:
    """Where the config sets any of a softmax's table types, fpgaml's own sizing
    (:func:`_softmax_tables`) steps aside for that layer: hls4ml's defaults fill the types the config leaves
    out, so the firmware is the one hls4ml builds from that config (fpgaml's types mixed with the user's could be
    worse than either: a fixed<18,8> exp table summed into fpgaml's ufixed<18,4> inverse-table input wraps)."""
    precision = user.get('Precision') if isinstance(user.get('Precision'), dict) else {}
    set_by_user = {t for t in SOFTMAX_TYPES if f'{t}_t' in user or t in precision}
    if not set_by_user:
        return
    for t in SOFTMAX_TYPES:
        if t not in set_by_user:
            entry.pop(f'{t}_t', None)


def _garnet_types(layer: dict, reuse: int) -> dict[str, str]:
    """GarNet's internal types. Integer bits as hls4ml's config_from_keras_model sizes them: edge weights in
    [0, 1); the aggregation sums over n_vertices / reuse vertices per cycle need log2 of that many integer
    bits (+3 of safety), normalisation 1/n in ufixed<14,4>. Without them every internal GarNet type falls
    back to the model default and the outputs are wrong by up to ~1.

    Fractional bits: hls4ml gives the aggregates 10, but the firmware forms the means by right-shifting
    truncated partial sums (by log2(n_vertices / reuse) per cycle, then by log2(reuse)): each shift drops
    bits off a 10-bit grid, so the means lose up to ~1 LSB, always downwards, and the output transform
    (the contracted FLR x Fout kernel: integers up to n_propagate for ternary transforms) multiplies the
    bias. Measured (C-simulation, a fine-tuned jet_garnet: n_vertices 64, reuse 32): a weighted feature
    mean 0.0120 where Keras has 0.0128; 10 -> 16 fractional bits took the GarNetStack outputs from 197 to 30
    of 512 traced values off (max |diff| 0.57 -> 0.28; the rest: the distance type, see
    ``_garnet_distance_type``, and the input type, to which hls4ml truncates each x * edge weight). The
    aggregates keep the log2(n_vertices) bits the shifts drop: 10 + log2(n_vertices) fractional bits."""
    log2_reuse = int(math.log2(max(1, reuse)))
    n_vertices_width = int(math.log2(max(2, int(layer['n_vertices']))))
    aggr_int = max(log2_reuse, n_vertices_width - log2_reuse) + 3
    frac = 10 + n_vertices_width
    return {
        'edge_weight': 'ufixed<10,0,TRN,SAT>',
        'edge_weight_aggr': f'ufixed<{aggr_int - 3 + frac},{aggr_int - 3},TRN,SAT>',
        'aggr': f'fixed<{aggr_int + frac},{aggr_int},TRN,SAT>',
        'norm': 'ufixed<14,4,TRN,SAT>',
    }


def _settings_to_hls(cfg: ProjectConfig, s: LayerSettings, name: str, cls: str) -> dict:
    """One user setting as hls4ml's per-layer config keys (a softmax strategy is hls4ml's ``implementation``)."""
    out: dict[str, Any] = {}
    if s.precision is not None:
        out['Precision'] = dict(s.precision) if isinstance(s.precision, dict) else s.precision
    if s.reuse_factor is not None:
        out['ReuseFactor'] = s.reuse_factor
    if s.strategy is not None:
        out['Strategy'] = s.strategy
    if s.trace is not None:
        out['Trace'] = s.trace
    out.update(s.extra)
    translate_conv_implementation(out)
    strategy = out.get('Strategy')
    if strategy in SOFTMAX_STRATEGIES or (strategy and cls == 'Softmax' and strategy == 'Latency'):
        if cls != 'Softmax' and not name.endswith('softmax'):
            raise FpgamlError(
                f'{cfg.source}:{s.line}: Strategy "{strategy}" only applies to softmax layers; '
                f'layer "{name}" is a {cls}. Accepted here: Latency, Resource'
            )
        out.pop('Strategy')
        # hls4ml 1.x reads the softmax implementation from ``Implementation`` and ignores ``Strategy`` there
        # (config_from_keras_model writes ``Implementation: stable``, and hls4ml's own test_softmax then sets
        # ``Strategy: latency``, which hls4ml builds as stable): an explicit Implementation wins, as in hls4ml;
        # Strategy chooses it only in configs without one (pre-0.6 hls4ml's spelling)
        out.setdefault('implementation', strategy.lower())
    return out


def _merge(dst: dict, src: dict) -> None:
    for k, v in src.items():
        if k == 'Precision' and isinstance(v, dict) and isinstance(dst.get(k), dict):
            dst[k].update(v)
        elif k == 'Precision' and isinstance(v, str) and isinstance(dst.get(k), dict):
            # a single precision string for a layer: hls4ml reads it as the layer's result type
            dst[k]['result'] = v
        else:
            dst[k] = dict(v) if isinstance(v, dict) else v


def use_profile(cfg: ProjectConfig, bit_exact: bool) -> tuple[bool, str]:
    """Whether the ``profile`` precision policy applies, and why."""
    policy = cfg.precision_policy.policy
    if policy == 'profile':
        return True, 'precision policy: profile (config)'
    if policy == 'default':
        return False, 'precision policy: default (config)'
    if bit_exact:
        return False, 'precision policy auto: bit-exact model, types come from its quantizers'
    if cfg.default_precision_explicit:
        return False, f'precision policy auto: the config sets the model precision ({cfg.default_precision})'
    return True, 'precision policy auto: float model without a model-wide precision -> profile'


def _taken_types(settings: LayerSettingResolver, name: str, cls: str, entry: dict | None) -> set[str]:
    """Type keys of one layer that are already decided (quantizers, bit-exact, user settings)."""
    taken: set[str] = set()
    if entry and isinstance(entry.get('Precision'), dict):
        taken |= set(entry['Precision'])
    elif entry and entry.get('Precision') is not None:
        taken.add('result')
    return taken | settings.precision_keys(name, cls)


def _result(entry: dict):
    p = entry.get('Precision')
    return p.get('result') if isinstance(p, dict) else p


def _fold_linear_quantizers(layer_list: list[dict], layer_name: dict[str, dict]) -> None:
    """A layer left ``auto`` that feeds only a linear quantizer gets the quantizer's final type (after the user's
    settings), which hls4ml would otherwise drop with the quantizer (:mod:`fpgaml.convert.quantizer_types`)."""
    auto = {n for n, e in layer_name.items() if _result(e) == 'auto'}
    for name, (_, qname) in folded_result_types(layer_list, auto).items():
        qtype = _result(layer_name.get(qname, {}))
        if isinstance(qtype, str) and qtype != 'auto':
            layer_name[name]['Precision']['result'] = qtype


def _planned_input_types(cfg: ProjectConfig, layer_list: list[dict]) -> list[Fixed | None]:
    """The input types the graph will get (before it exists): to generate the same calibration samples."""
    out = []
    folded = folded_input_types(cfg, layer_list)
    for layer in layer_list:
        if layer['class_name'] != 'InputLayer':
            continue
        if layer['name'] in folded:
            out.append(parse_precision(folded[layer['name']][0]))
            continue
        if layer.get('precision') is not None:
            out.append(grid_of(layer['precision']))
            continue
        text = cfg.input_precision or (
            cfg.default_precision
            if isinstance(cfg.default_precision, str)
            else cfg.default_precision.get('default', 'fixed<16,6>')
        )
        out.append(parse_precision(text))
    return out


def build_hls_config(
    cfg: ProjectConfig,
    loaded: LoadedModel,
    layer_list: list[dict],
    bit_exact: bool,
    output_dir: Path,
    profiled: dict[str, dict[str, str]] | None = None,
    exact_parts: Collection[str] = (),
) -> tuple[dict, dict[str, list[str]], dict[str, str]]:
    """The full hls4ml config dict. Returns (config, pattern -> matched names, layer name -> class).

    ``profiled``: per-layer types from the ``profile`` policy; they fill only keys nothing else set.
    ``exact_parts``: layers typed by exact inference as in bit-exact mode (:func:`~fpgaml.convert.bitexact.exact_parts`)."""
    from hls4ml.utils.config import create_config

    settings = LayerSettingResolver(cfg)

    kwargs = dict(part=cfg.part, clock_period=cfg.clock_period, io_type=cfg.io_type)
    if cfg.clock_uncertainty is not None:
        kwargs['clock_uncertainty'] = cfg.clock_uncertainty
    config = create_config(output_dir=str(output_dir), project_name=cfg.name, backend=cfg.backend, **kwargs)
    # hls4ml's default: the C-simulation reads weights from firmware/weights/*.txt at start-up instead of
    # compiling them in (4x faster g++ on the reference MLP: constant weights make g++ fold every product).
    config.setdefault('WriterConfig', {})['WriteWeightsTxt'] = True
    # Per-layer trace hooks for the layer-by-layer comparison; hls4ml emits them inside
    # #ifndef __SYNTHESIS__, so the synthesized design is unchanged.
    config['TraceOutput'] = True

    model_cfg: dict[str, Any] = {
        'Precision': cfg.default_precision,
        'ReuseFactor': cfg.reuse_factor,
        'Strategy': cfg.strategy,
    }
    if cfg.bram_factor is not None:
        model_cfg['BramFactor'] = cfg.bram_factor
    model_cfg.update(cfg.model_settings)
    translate_conv_implementation(model_cfg)

    # Names hls4ml will create: the parsed layers, plus "<name>_<activation>" for the activations it splits off.
    classes: dict[str, str] = {}
    for layer in layer_list:
        classes[layer['name']] = layer['class_name']
        act = layer.get('activation')
        if isinstance(act, str) and splits_activation(layer['class_name'], act):
            classes[f'{layer["name"]}_{act}'] = 'Softmax' if act == 'softmax' else 'Activation'

    layer_name: dict[str, dict] = {}
    folded = folded_input_types(cfg, layer_list)
    for layer in layer_list:
        entry: dict[str, Any] = {'Trace': True, 'Precision': {}}
        if bit_exact or layer['name'] in exact_parts:
            for t in _auto_types(layer['class_name'], cfg.backend):
                entry['Precision'][t] = 'auto'
        entry['Precision'].update(quantizer_precisions(layer))
        if layer['class_name'] in ('GarNet', 'GarNetStack'):
            entry['Precision'].update(_garnet_types(layer, settings.reuse_factor(layer['name'], layer['class_name'])))
        if layer['class_name'] == 'InputLayer' and cfg.input_precision:
            entry['Precision']['result'] = cfg.input_precision
        elif layer['name'] in folded:
            entry['Precision']['result'] = folded[layer['name']][0]
        layer_name[layer['name']] = entry
    for name, cls in classes.items():
        layer_name.setdefault(name, {'Trace': True, 'Precision': {}})
        if cls == 'Softmax':
            layer_name[name].update(_softmax_tables(loaded, name))

    # User settings, by the one precedence rule (class, then names/globs in the order written), over the
    # types derived from the model.
    matched: dict[str, list[str]] = {p: [n for n in classes if fnmatch.fnmatchcase(n, p)] for p in cfg.layer_patterns}
    for n, cls in classes.items():
        user: dict[str, Any] = {}
        for m in settings.matches(n, cls):
            _merge(user, _settings_to_hls(cfg, m.settings, n, cls))
        if cls == 'Softmax':
            _softmax_user_tables(layer_name[n], user)
        _merge(layer_name.setdefault(n, {'Trace': True, 'Precision': {}}), user)
    old_pointwise_all_positions(cfg, loaded, settings, classes, layer_name)
    if bit_exact or exact_parts:
        _fold_linear_quantizers(layer_list, layer_name)
    for entry in layer_name.values():
        if isinstance(entry.get('Precision'), dict) and not entry['Precision']:
            entry.pop('Precision')
        if (
            'Precision' in entry
            and isinstance(entry['Precision'], dict)
            and 'default' in entry['Precision']
            and len(entry['Precision']) == 1
        ):
            entry['Precision'] = entry['Precision']['default']

    # hls4ml applies LayerType to layers fpgaml does not name (e.g. layers its optimizers insert)
    layer_type = {t: _settings_to_hls(cfg, s, t, t) for t, s in cfg.layer_types.items()}
    if profiled:
        for name, types in profiled.items():
            entry = layer_name.setdefault(name, {'Trace': True})
            entry.setdefault('Precision', {})
            if not isinstance(entry['Precision'], dict):
                continue  # a single precision string set by the user for the whole layer
            for k, v in types.items():
                entry['Precision'].setdefault(k, v)
    config['HLSConfig'] = {'Model': model_cfg, 'LayerName': layer_name}
    if layer_type:
        config['HLSConfig']['LayerType'] = layer_type
    return config, matched, classes
