"""Turn a loaded model + typed config into an hls4ml ModelGraph and write the firmware project.

hls4ml's config dicts live only in this module. Every user setting is checked against what hls4ml
actually did with it: a reuse factor hls4ml would have replaced, or an override that names no layer,
is an error instead of a silent fallback.
"""

from __future__ import annotations

import contextlib
import fnmatch
import io
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from fpgaml.config.precision import FixedType, from_hls4ml, parse_precision
from fpgaml.config.schema import SOFTMAX_STRATEGIES, LayerSettings, ProjectConfig
from fpgaml.errors import FpgamlError, suggest
from fpgaml.frontend import LoadedModel

# Softmax input after max-normalisation (x_max - x >= 0): 5 integer bits cover exp(-x) down to e^-32, the
# rest of the bits index the table. hls4ml otherwise derives it from the (possibly very wide) input type and
# indexes its table with the top bits of that type, which turns the softmax into a constant.
SOFTMAX_INP_NORM = 'ufixed<16,5,RND,SAT>'


@dataclass
class LayerRecord:
    name: str
    cls: str
    output_shape: list[int]
    precisions: dict[str, str]
    reuse_factor: int | None
    strategy: str | None
    n_weights: int
    n_zero_weights: int


@dataclass
class Conversion:
    """The converted graph and what fpgaml decided while converting it."""

    graph: Any  # hls4ml ModelGraph
    config: ProjectConfig
    loaded: LoadedModel
    bit_exact: bool
    bit_exact_reason: str
    layers: list[LayerRecord] = field(default_factory=list)
    hls4ml_log: str = ''
    notes: list[str] = field(default_factory=list)

    @property
    def input_types(self) -> list[FixedType]:
        return [from_hls4ml(v.type.precision) for v in self.graph.get_input_variables()]

    @property
    def output_types(self) -> list[FixedType]:
        return [from_hls4ml(v.type.precision) for v in self.graph.get_output_variables()]

    def layer_table(self) -> list[dict]:
        return [asdict(r) for r in self.layers]


# --------------------------------------------------------------------------------------------------


def _decide_bit_exact(cfg: ProjectConfig, loaded: LoadedModel) -> tuple[bool, str]:
    quantized, unquantized = loaded.is_fully_quantized()
    if cfg.bit_exact == 'on':
        return True, 'bit_exact: on (config)'
    if cfg.bit_exact == 'off':
        return False, 'bit_exact: off (config)'
    if quantized:
        return True, 'auto: every computing layer is quantized'
    shown = ', '.join(unquantized[:5]) + (' ...' if len(unquantized) > 5 else '')
    return False, f'auto: not fully quantized ({shown}); comparing with tolerances'


def _quantizer_precisions(layer: dict) -> dict[str, str]:
    """Precisions implied by a layer's QKeras quantizers (as hls4ml's config_from_keras_model does)."""
    from hls4ml.utils.config import _get_precision_from_quantizer

    out = {}
    for qname, q in layer.items():
        if 'quantizer' not in qname or q is None:
            continue
        pname = qname.lower().split('_quantizer')[0]
        if pname == 'activation':
            pname = 'result'
        try:
            prec = _get_precision_from_quantizer(q) if isinstance(q, (dict, str)) else q.hls_type
        except Exception as e:  # noqa: BLE001
            raise FpgamlError(f'layer "{layer["name"]}": unsupported quantizer {qname}: {e}') from None
        out[pname] = str(prec)
    return out


def _auto_types(layer_cls: str, backend: str) -> list[str]:
    """Type attributes that hls4ml can infer exactly ('auto') for this layer class."""
    import hls4ml

    cls = hls4ml.model.layers.layer_map.get(layer_cls)
    if cls is None:
        return []
    cls = hls4ml.backends.get_backend(backend).create_layer_class(cls)
    out = []
    for attr in cls.expected_attributes:
        if not isinstance(attr, hls4ml.model.attributes.TypeAttribute) or not attr.configurable:
            continue
        # result/accum: exact widths inferred from the inputs and weights (no silent truncation)
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


PASSTHROUGH_ACTIVATIONS = ('relu', 'linear')


def _exact_passthrough(hls_config: dict, graph) -> bool:
    """Bit-exact mode: a float ReLU / linear activation (e.g. ``QConv2D(activation='relu')``) whose result
    type was left to inference gets hls4ml's default type, which truncates the exact input it receives.
    Give it its input's type instead (ReLU and identity need no other bits). Returns True when the
    config changed and the graph must be rebuilt."""
    entries = hls_config['HLSConfig']['LayerName']
    changed = False
    for layer in graph.get_layers():
        if layer.class_name not in ('Activation', 'ReLU') or \
                str(layer.get_attr('activation', '')).lower() not in PASSTHROUGH_ACTIVATIONS:
            continue
        entry = entries.setdefault(layer.name, {'Trace': True})
        prec = entry.setdefault('Precision', {})
        if not isinstance(prec, dict) or prec.get('result', 'auto') != 'auto':
            continue  # the user or a quantizer decided this type
        src = layer.get_input_variable().type.precision
        if str(layer.get_output_variable().type.precision) != str(src):
            prec['result'] = str(src)
            changed = True
    return changed


AP_MAX_WIDTH = 1024  # ap_fixed's default width limit (AP_INT_MAX_W)


def _po2_exponent_range(layer) -> tuple[int, int] | None:
    """(smallest, largest) exponent of a layer's power-of-two (QKeras ``quantized_po2``) weights that are
    actually present (zeros aside); None if the layer has no such weights."""
    from hls4ml.model.types import ExponentPrecisionType

    w = layer.weights.get('weight')
    if w is None or not isinstance(w.type.precision, ExponentPrecisionType):
        return None
    data = np.abs(np.asarray(w.data, dtype=np.float64))
    nz = data[data > 0]
    if nz.size == 0:
        return None
    return int(np.floor(np.log2(nz.min()))), int(np.floor(np.log2(nz.max())))


def _exact_po2_dense(hls_config: dict, graph) -> bool:
    """Bit-exact mode: hls4ml infers no accumulator/result type for a Dense layer with power-of-two
    (QKeras ``quantized_po2``) weights and falls back to the default (e.g. fixed<16,6>), which overflows.
    Size them exactly from the input type, the weights' exponent range, the bias type and the fan-in."""
    entries = hls_config['HLSConfig']['LayerName']
    changed = False
    for layer in graph.get_layers():
        exps = _po2_exponent_range(layer) if layer.class_name == 'Dense' else None
        if exps is None:
            continue
        prec = entries.setdefault(layer.name, {'Trace': True}).setdefault('Precision', {})
        if not isinstance(prec, dict) or any(prec.get(k, 'auto') != 'auto' for k in ('accum', 'result')):
            continue
        x = from_hls4ml(layer.get_input_variable().type.precision)
        if x is None:
            continue
        e_min, e_max = exps
        frac = x.fractional - e_min
        n_in = int(layer.get_attr('n_in'))
        integer = x.integer + e_max + math.ceil(math.log2(max(2, n_in))) + (0 if x.signed else 1)
        b = layer.weights.get('bias')
        if b is not None:
            bt = from_hls4ml(b.type.precision)
            if bt is not None:
                frac = max(frac, bt.fractional)
                integer = max(integer, bt.integer + 1) + 1
        exact = f'fixed<{integer + frac},{integer}>'
        if str(layer.get_attr('accum_t').precision) != str(parse_precision(exact).hls4ml_str()):
            prec['accum'] = prec['result'] = exact
            changed = True
    return changed


def _quantizer_conflicts(cfg: ProjectConfig, layer_list: list[dict]) -> list[str]:
    """Explicit precisions that contradict the layer's own QKeras quantizer: kept (the user decides), but
    said out loud, since the firmware then cannot compute what the quantized model computes."""
    out = []
    for layer in layer_list:
        implied = _quantizer_precisions(layer)
        for pattern, st in cfg.layer_patterns.items():
            if not isinstance(st.precision, dict) or not fnmatch.fnmatchcase(layer['name'], pattern):
                continue
            for key, given in st.precision.items():
                want = implied.get(key)
                if want is None or given == 'auto':
                    continue
                g, w = parse_precision(given), parse_precision(want)
                same_grid = (g.fractional == w.fractional and g.rounding == w.rounding
                             and g.saturation == w.saturation and g.max_value == w.max_value
                             and g.min_value <= w.min_value)  # e.g. fixed<7,1> for a ufixed<6,0> ReLU
                if not same_grid:
                    out.append(f'{cfg.source}:{st.line}: layer "{layer["name"]}" {key} type {given} differs from '
                               f'its quantizer\'s {parse_precision(want).hls4ml_str()}: the firmware will not match '
                               f'the quantized model bit for bit there')
    return out


def _requested_reuse_plain(cfg: ProjectConfig, layer: dict) -> int:
    for pattern, st in cfg.layer_patterns.items():
        if st.reuse_factor is not None and fnmatch.fnmatchcase(layer['name'], pattern):
            return st.reuse_factor
    lt = cfg.layer_types.get(layer['class_name'])
    return lt.reuse_factor if lt is not None and lt.reuse_factor is not None else cfg.reuse_factor


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


def _settings_to_hls(s: LayerSettings, layer_cls: str | None = None) -> dict:
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


def _taken_types(cfg: ProjectConfig, name: str, cls: str, entry: dict | None) -> set[str]:
    """Type keys of one layer that are already decided (quantizers, bit-exact, user settings)."""
    taken: set[str] = set()
    if entry and isinstance(entry.get('Precision'), dict):
        taken |= set(entry['Precision'])
    elif entry and entry.get('Precision') is not None:
        taken.add('result')
    settings = [s for p, s in cfg.layer_patterns.items() if fnmatch.fnmatchcase(name, p)]
    if cls in cfg.layer_types:
        settings.append(cfg.layer_types[cls])
    for s in settings:
        if isinstance(s.precision, dict):
            taken |= {'result' if k == 'default' else k for k in s.precision}
            if 'default' in s.precision:
                taken |= {'result', 'weight', 'bias', 'accum', 'scale'}
        elif s.precision is not None:
            taken.add('result')
    return taken


def _planned_input_types(cfg: ProjectConfig, layer_list: list[dict]) -> list[FixedType | None]:
    """The input types the graph will get (before it exists): to generate the same calibration samples."""
    out = []
    for layer in layer_list:
        if layer['class_name'] != 'InputLayer':
            continue
        if layer.get('precision') is not None:
            out.append(from_hls4ml(layer['precision']))
            continue
        text = cfg.input_precision or (cfg.default_precision if isinstance(cfg.default_precision, str)
                                       else cfg.default_precision.get('default', 'fixed<16,6>'))
        out.append(parse_precision(text))
    return out


def build_hls_config(cfg: ProjectConfig, loaded: LoadedModel, layer_list: list[dict], bit_exact: bool,
                     output_dir: Path, profiled: dict[str, dict[str, str]] | None = None
                     ) -> tuple[dict, dict[str, list[str]], dict[str, str]]:
    """The full hls4ml config dict. Returns (config, pattern -> matched names, layer name -> class).

    ``profiled``: per-layer types from the ``profile`` policy; they fill only keys nothing else set."""
    from hls4ml.utils.config import create_config

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

    # Names hls4ml will create: the parsed layers, plus "<name>_<activation>" for fused activations.
    classes: dict[str, str] = {}
    for layer in layer_list:
        classes[layer['name']] = layer['class_name']
        act = layer.get('activation')
        if isinstance(act, str) and act is not None and layer['class_name'] not in (
                'Activation', 'QActivation', 'Softmax', 'ReLU', 'LeakyReLU', 'ELU', 'PReLU', 'ThresholdedReLU'):
            classes[f'{layer["name"]}_{act}'] = 'Softmax' if act == 'softmax' else 'Activation'

    layer_name: dict[str, dict] = {}
    for layer in layer_list:
        entry: dict[str, Any] = {'Trace': True, 'Precision': {}}
        if bit_exact:
            for t in _auto_types(layer['class_name'], cfg.backend):
                entry['Precision'][t] = 'auto'
        entry['Precision'].update(_quantizer_precisions(layer))
        if layer['class_name'] in ('GarNet', 'GarNetStack'):
            entry['Precision'].update(_garnet_types(layer, _requested_reuse_plain(cfg, layer)))
        if layer['class_name'] == 'InputLayer' and cfg.input_precision:
            entry['Precision']['result'] = cfg.input_precision
        layer_name[layer['name']] = entry
    for name, cls in classes.items():
        layer_name.setdefault(name, {'Trace': True, 'Precision': {}})
        if cls == 'Softmax':
            layer_name[name].update(_softmax_tables(loaded, name))

    # User overrides: by exact name or glob, applied in the order written.
    matched: dict[str, list[str]] = {}
    for pattern, s in cfg.layer_patterns.items():
        names = [n for n in classes if fnmatch.fnmatchcase(n, pattern)]
        matched[pattern] = names
        for n in names:
            hls = _settings_to_hls(s)
            strategy = hls.get('Strategy')
            if strategy in SOFTMAX_STRATEGIES or (strategy and classes[n] == 'Softmax' and strategy == 'Latency'):
                if classes[n] != 'Softmax' and not n.endswith('softmax'):
                    raise FpgamlError(f'{cfg.source}:{s.line}: Strategy "{strategy}" only applies to softmax layers; '
                                      f'layer "{n}" is a {classes[n]}. Accepted here: Latency, Resource')
                hls.pop('Strategy')
                hls['implementation'] = strategy.lower()
            _merge(layer_name.setdefault(n, {'Trace': True, 'Precision': {}}), hls)
    for entry in layer_name.values():
        if isinstance(entry.get('Precision'), dict) and not entry['Precision']:
            entry.pop('Precision')
        if 'Precision' in entry and isinstance(entry['Precision'], dict) and 'default' in entry['Precision'] \
                and len(entry['Precision']) == 1:
            entry['Precision'] = entry['Precision']['default']

    layer_type = {t: _settings_to_hls(s) for t, s in cfg.layer_types.items()}
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


def _requested_reuse(cfg: ProjectConfig, hls_config: dict, name: str, cls: str) -> int:
    ln = hls_config['HLSConfig'].get('LayerName', {}).get(name, {})
    if 'ReuseFactor' in ln:
        return ln['ReuseFactor']
    lt = hls_config['HLSConfig'].get('LayerType', {}).get(cls, {})
    if 'ReuseFactor' in lt:
        return lt['ReuseFactor']
    return cfg.reuse_factor


def _check_reuse_factors(cfg: ProjectConfig, hls_config: dict, graph) -> None:
    """Every multiplying layer's requested reuse factor must be one hls4ml accepts for its size, whatever
    the strategy (with Resource, hls4ml would silently substitute the closest valid one)."""
    backend = graph.config.backend
    for layer in graph.get_layers():
        if layer.get_attr('reuse_factor') is None or not layer.get_weights():
            continue
        try:
            n_in, n_out = backend.get_layer_mult_size(layer)[:2]
        except Exception:  # noqa: BLE001 - layers without a multiplication block (e.g. batch norm)
            continue
        requested = _requested_reuse(cfg, hls_config, layer.name, layer.class_name)
        valid = backend.get_valid_reuse_factors(n_in, n_out)
        if requested in valid and layer.get_attr('reuse_factor') == requested:
            continue
        shown = ', '.join(map(str, valid[:40])) + (' ...' if len(valid) > 40 else '')
        lines = [s.line for p, s in cfg.layer_patterns.items()
                 if s.reuse_factor is not None and fnmatch.fnmatchcase(layer.name, p)]
        where = f':{lines[-1]}' if lines else ''
        raise FpgamlError(
            f'{cfg.source}{where}: reuse factor {requested} is not valid for layer "{layer.name}" ({layer.class_name}, '
            f'{n_in} inputs x {n_out} outputs per multiplication block); valid reuse factors: {shown}'
        )


def _check_overrides_matched(cfg: ProjectConfig, matched: dict[str, list[str]], graph, classes) -> list[str]:
    """An override naming no layer is an error in fpgaml-format configs. hls4ml-format files are read as
    hls4ml reads them (published configs rely on it: example-models' garnet configs name a layer the model
    no longer has), so there it is a warning, printed and recorded, never silent."""
    graph_names = [lay.name for lay in graph.get_layers()]
    warnings = []
    for pattern, names in matched.items():
        if names or any(fnmatch.fnmatchcase(n, pattern) for n in graph_names):
            continue
        line = cfg.layer_patterns[pattern].line
        key = 'LayerName' if cfg.format == 'hls4ml' else 'layers'
        known = sorted(set(classes) | set(graph_names))
        msg = (f'{cfg.source}:{line}: {key}: "{pattern}" matches no layer{suggest(pattern, known)}; the model\'s '
               f'layers are: {", ".join(known)}')
        if cfg.format != 'hls4ml':
            raise FpgamlError(msg)
        warnings.append(msg + ' (ignored, as hls4ml does, because this is an hls4ml-format config)')
    import hls4ml

    known_types = set(hls4ml.model.layers.layer_map)
    for t, s in cfg.layer_types.items():
        if t not in known_types:
            raise FpgamlError(f'{cfg.source}:{s.line}: LayerType: "{t}" is not an hls4ml layer type'
                              f'{suggest(t, known_types)}')
    return warnings


def _layer_records(graph) -> list[LayerRecord]:
    records = []
    for layer in graph.get_layers():
        precisions = {}
        for tname, t in layer.types.items():
            if tname == 'index_t':
                continue
            precisions[tname[:-2] if tname.endswith('_t') else tname] = str(t.precision)
        n_w = n_zero = 0
        for w in layer.get_weights():
            data = np.asarray(w.data)
            n_w += int(data.size)
            n_zero += int(np.count_nonzero(data == 0))
        out = layer.get_output_variable()
        strategy = layer.get_attr('strategy')
        records.append(LayerRecord(
            name=layer.name, cls=layer.class_name, output_shape=[int(d) for d in out.shape],
            precisions=precisions, reuse_factor=layer.get_attr('reuse_factor'),
            strategy=str(strategy) if strategy is not None else None, n_weights=n_w, n_zero_weights=n_zero))
    return records


def convert(cfg: ProjectConfig, loaded: LoadedModel, output_dir: Path) -> Conversion:
    """Build the hls4ml graph for ``cfg`` (written later by :func:`write_project`)."""
    bit_exact, reason = _decide_bit_exact(cfg, loaded)
    log = io.StringIO()
    try:
        with contextlib.redirect_stdout(log):
            layer_list = loaded.parse_layers()
    except Exception as e:  # noqa: BLE001
        raise FpgamlError(_unsupported_message(e, loaded)) from None
    hls_config, matched, classes = build_hls_config(cfg, loaded, layer_list, bit_exact, output_dir)
    profiling, policy_reason = use_profile(cfg, bit_exact)
    profile_notes: list[str] = [policy_reason]
    if profiling:
        from fpgaml.convert.profile import profile

        entries = hls_config['HLSConfig']['LayerName']
        taken = {n: _taken_types(cfg, n, c, entries.get(n)) for n, c in classes.items()}
        try:
            profiled, records, source = profile(cfg, loaded, layer_list, classes, taken,
                                                _planned_input_types(cfg, layer_list))
        except FpgamlError:
            raise
        except Exception as e:  # noqa: BLE001
            raise FpgamlError(f'precision profiling failed: {type(e).__name__}: {e}') from None
        hls_config, matched, classes = build_hls_config(cfg, loaded, layer_list, bit_exact, output_dir, profiled)
        w, m = cfg.precision_policy.width, cfg.precision_policy.margin
        profile_notes.append(f'profiled precision ({w} bits, {m} margin bit(s)) from {source}: '
                             + '; '.join(r.describe() for r in records))
    try:
        with contextlib.redirect_stdout(log):
            graph = loaded.to_hls(hls_config)
            for _ in range(3):  # bit-exact types hls4ml's inference leaves at the default: fix, rebuild
                if not bit_exact or not (_exact_passthrough(hls_config, graph) | _exact_po2_dense(hls_config, graph)):
                    break
                graph = loaded.to_hls(hls_config)
    except FpgamlError:
        raise
    except Exception as e:  # noqa: BLE001
        raise FpgamlError(_unsupported_message(e, loaded)) from None
    override_warnings = _check_overrides_matched(cfg, matched, graph, classes)
    _check_reuse_factors(cfg, hls_config, graph)
    from fpgaml.convert.passes import exact_binary_thresholds, quantized_recurrent_weights, size_warning

    profile_notes.extend(quantized_recurrent_weights(graph, loaded))
    profile_notes.extend(exact_binary_thresholds(graph, loaded))
    conflicts = _quantizer_conflicts(cfg, layer_list)
    for warning in override_warnings + conflicts + [size_warning(graph, cfg.io_type)]:
        if not warning:
            continue
        from rich.text import Text

        from fpgaml.progress import console

        console.print(Text.assemble(('warning: ', 'yellow'), warning), highlight=False, soft_wrap=True)
        profile_notes.append(warning)
    conv = Conversion(graph=graph, config=cfg, loaded=loaded, bit_exact=bit_exact, bit_exact_reason=reason,
                      layers=_layer_records(graph), hls4ml_log=log.getvalue())
    conv.notes.extend(profile_notes)
    if loaded.pruning_stripped:
        conv.notes.append(f'stripped pruning wrappers from: {", ".join(loaded.pruning_stripped)}')
    for t in conv.input_types + conv.output_types:
        if t is not None and t.width > 53:
            conv.notes.append(f'a model input/output type is {t.width} bits wide; C-simulation reads it through '
                              f'a double, which is exact only up to 53 bits')
    return conv


def _unsupported_message(e: Exception, loaded: LoadedModel) -> str:
    text = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    if 'Unsupported layer type' in text or 'not supported' in text.lower():
        # hls4ml: "ERROR: Unsupported layer type: Foo"
        cls = text.rsplit(':', 1)[-1].strip()
        names = [lay.name for lay in loaded.model.layers if type(lay).__name__ == cls]
        which = f' (layer "{names[0]}")' if names else ''
        return f'unsupported layer class {cls}{which}: hls4ml 1.3.0 cannot convert it'
    return f'hls4ml could not convert the model: {type(e).__name__}: {text}'


@contextlib.contextmanager
def numpy2_compat():
    """hls4ml 1.3.0 writes power-of-two (QKeras ``quantized_po2``) weights with ``np.product``, removed in
    numpy 2.0 (``ExponentWeightVariable.__iter__`` in hls4ml/model/types.py). Provide the alias only while
    hls4ml writes a project, and only when numpy lacks it. Upstream fix: ``np.prod`` in hls4ml."""
    added = not hasattr(np, 'product')
    if added:
        np.product = np.prod
    try:
        yield
    finally:
        if added:
            del np.product


def write_project(conv: Conversion, directory: Path) -> None:
    """Write the hls4ml project, plus fpgaml's C-simulation harness, into ``directory``."""
    graph = conv.graph
    graph.config.config['OutputDir'] = str(directory)
    # hls4ml's hls4ml_config.yml would embed the whole Keras model as a pickle (1.2 MB and ~1 s of pure-Python
    # YAML for jet_binary; loading it back runs arbitrary code): name the model file and its SHA-256 instead.
    keras_model = graph.config.config.pop('KerasModel', None)
    graph.config.config['KerasModelSource'] = {'file': conv.loaded.source.describe(),
                                               'sha256': conv.loaded.sha256}
    try:
        with contextlib.redirect_stdout(io.StringIO()) as log, numpy2_compat():
            graph.write()
    finally:
        del graph.config.config['KerasModelSource']
        if keras_model is not None:
            graph.config.config['KerasModel'] = keras_model
    conv.hls4ml_log += log.getvalue()
    _exact_po2_products(directory, conv)
    _recurrent_activation_tables(directory, conv)
    _garnet_distance_type(directory, conv)
    from fpgaml.csim.compile import render_harness

    render_harness(directory, graph)  # fpgaml's batch C-simulation harness is part of every project


def _exact_po2_products(directory: Path, conv: Conversion) -> None:
    """Use fpgaml's exact power-of-two product (firmware_templates/nnet_fpgaml_po2.h) instead of hls4ml's,
    whose declared product width drops low bits; see the header for the details. Each layer's product is
    sized from the exponents of the weights it actually has (the exponent type's whole range, e.g. 2^-32768
    to 2^32767 for quantized_po2(16), would be far past ap_fixed's 1024-bit limit)."""
    params = directory / 'firmware' / 'parameters.h'
    text = params.read_text()
    if 'nnet::product::weight_exponential<' not in text:
        return
    import shutil

    from fpgaml.csim.compile import TEMPLATES

    ranges = {}  # weight type name -> (layer, smallest exponent, largest exponent)
    for layer in conv.graph.get_layers():
        exps = _po2_exponent_range(layer)
        if exps is None:
            continue
        x = from_hls4ml(layer.get_input_variable().type.precision)
        width = (x.width if x else 0) + max(0, -exps[0]) + max(0, exps[1]) + 1
        if width > AP_MAX_WIDTH:
            raise FpgamlError(f'layer "{layer.name}": its power-of-two weights span 2^{exps[0]} to 2^{exps[1]}, so '
                              f'an exact product of its {x.width if x else "?"}-bit input needs {width} bits, past '
                              f'ap_fixed\'s {AP_MAX_WIDTH}-bit limit; limit the exponent range (quantized_po2\'s '
                              f'max_value, or fewer bits)')
        ranges[layer.weights['weight'].type.name] = (layer.name, *exps)
    blocks = text.split('\nstruct ')
    for i, block in enumerate(blocks):
        if 'nnet::product::weight_exponential<x_T, y_T>' not in block:
            continue
        for wname, (lname, e_min, e_max) in ranges.items():
            if f'typedef {wname} weight_t;' in block:
                blocks[i] = block.replace('nnet::product::weight_exponential<x_T, y_T>',
                                          f'nnet::product::weight_exponential_exact<x_T, y_T, {e_min}, {e_max}>')
                break
    text = '\nstruct '.join(blocks)
    # any other power-of-two product (a layer fpgaml does not recognise) keeps the exponent type's range
    text = text.replace('nnet::product::weight_exponential<', 'nnet::product::weight_exponential_exact<')
    shutil.copy(TEMPLATES / 'nnet_fpgaml_po2.h', directory / 'firmware' / 'nnet_utils' / 'nnet_fpgaml_po2.h')
    first_include = text.index('#include')
    text = text[:first_include] + '#include "nnet_utils/nnet_fpgaml_po2.h"\n' + text[first_include:]
    params.write_text(text)
    sized = ', '.join(f'{n} 2^{a}..2^{b}' for n, a, b in ranges.values())
    conv.notes.append('power-of-two weights: using fpgaml\'s exact product type (nnet_fpgaml_po2.h) instead of '
                      'hls4ml\'s weight_exponential, which drops fractional bits' +
                      (f'; products sized from the weights\' exponents ({sized})' if sized else ''))


def _qkeras_activation_type(quantizer) -> str | None:
    """The C++ type whose float-to-fixed conversion computes a QKeras ``quantized_sigmoid`` /
    ``quantized_tanh`` (with the real function) from the function's value: ``round(p * 2^bits) / 2^bits``
    (tf.round: half to even = AP_RND_CONV), clipped to [0, 1 - 2^-bits] / [-1, 1 - 2^-(bits-1)] (AP_SAT)."""
    name = type(quantizer).__name__
    if getattr(quantizer, 'symmetric', False) or getattr(quantizer, 'use_stochastic_rounding', False):
        return None
    bits = getattr(quantizer, 'bits', None)
    if name == 'quantized_sigmoid' and getattr(quantizer, 'use_real_sigmoid', False) and bits:
        return f'ap_ufixed<{int(bits)},0,AP_RND_CONV,AP_SAT>'
    if name == 'quantized_tanh' and getattr(quantizer, 'use_real_tanh', False) and bits:
        return f'ap_fixed<{int(bits)},1,AP_RND_CONV,AP_SAT>'
    return None


def _recurrent_activation_tables(directory: Path, conv: Conversion) -> None:
    """Give the sigmoid and tanh lookup tables of QLSTM / QGRU layers the output grids of their QKeras
    ``quantized_sigmoid`` / ``quantized_tanh`` activations.

    hls4ml gives both tables of a recurrent layer one type (``table_t``, default fixed<18,8> truncated), so
    its gates hold the real function's value truncated to 10 fractional bits where QKeras rounds it to the
    quantizer's grid (2^-8 for quantized_sigmoid(8), 2^-7 for quantized_tanh(8)); the difference feeds back
    through every time step. Each table entry is computed as ``table_t(f(x))``, so a table type with the
    quantizer's width, rounding and saturation holds exactly the QKeras value of ``f`` at the table's input
    ``x``. Skipped for a layer whose ``table`` type the config sets. Upstream: hls4ml's recurrent layers
    should derive each table's type from its activation quantizer (``parse_qrnn_layer`` records them)."""
    import re

    edits = []
    for node in conv.graph.get_layers():
        if node.class_name not in ('LSTM', 'GRU'):
            continue
        if 'table' in _taken_types(conv.config, node.name, node.class_name, None):
            continue
        try:
            cell = getattr(conv.loaded.model.get_layer(node.name), 'cell', None)
        except ValueError:
            continue
        if cell is None:
            continue
        for struct, quantizer in ((f'{node.get_attr("recurrent_activation")}_config{node.index}_recr',
                                   getattr(cell, 'recurrent_activation', None)),
                                  (f'{node.get_attr("activation")}_config{node.index}',
                                   getattr(cell, 'activation', None))):
            ctype = _qkeras_activation_type(quantizer)
            if ctype is None:
                continue
            pattern = re.compile(r'(struct ' + re.escape(struct) + r' : nnet::activ_config \{[^}]*?typedef )'
                                 r'([\w:<>, ]+)( table_t;)')
            edits.append((pattern, lambda m, ctype=ctype: m.group(1) + ctype + m.group(3), f'{struct}: {ctype}'))
    _edit_parameters(directory, conv, edits, 'recurrent-layer lookup tables typed as their QKeras activations\' '
                     'output grids (hls4ml gives them one truncated type): ')


# GarNet's distance type: hls4ml's template fixes it at ap_fixed<12,4,AP_TRN,AP_SAT> (distance_width = 12),
# 8 fractional bits. Each term x * w of the distance sum is truncated to that grid, so the distance is off by
# up to (n_in_features + 1) * 2^-8 and exp(-d^2) (slope up to 0.86) by ~0.02 per aggregator, 20 times the
# edge weight's own step (ufixed<10,0>); the per-vertex outputs multiply it by the aggregated features.
# Measured (C-simulation) on a fine-tuned jet_garnet with the aggregates widened (``_garnet_types``): 8
# fractional bits left the GarNetStack output off by up to 0.24, 12 within the trace tolerance of Keras. A
# numpy model of the rounding shows the error falling to the edge-weight / output grid's own (~0.03 there)
# at 12 fractional bits and no lower with more: fpgaml uses fixed<16,4> (12 = the edge weight's 10 + 2;
# 4 integer bits as hls4ml, saturating at +-8, where exp(-64) = 0 on any edge-weight grid). The lookup table
# has 2^width entries: 64k x 10 bits at width 16, 16 times hls4ml's. A layer precision ``distance:
# fixed<W,I>`` sets the type instead.
GARNET_DISTANCE_WIDTH, GARNET_DISTANCE_INTEGER = 16, 4


def _garnet_distance_type(directory: Path, conv: Conversion) -> None:
    """Widen GarNet's distance type (see above) in the written parameters.h. Upstream: the distance type
    should be a configurable layer type in hls4ml's GarNet templates (garnet_templates.py)."""
    import re

    edits = []
    for node in conv.graph.get_layers():
        if node.class_name not in ('GarNet', 'GarNetStack'):
            continue
        given = _layer_precision_setting(conv.config, node.name, node.class_name, 'distance')
        if given is not None:
            ft = parse_precision(given)
            width, integer = ft.width, ft.integer
        else:
            width, integer = GARNET_DISTANCE_WIDTH, GARNET_DISTANCE_INTEGER
        struct = f'config{node.index}_base' if node.class_name == 'GarNetStack' else f'config{node.index}'
        pattern = re.compile(r'(struct ' + re.escape(struct) + r' : nnet::garnet_config \{[^}]*?'
                             r'static const unsigned distance_width = )\d+(;[^}]*?typedef )'
                             r'ap_fixed<\d+, *\d+, *AP_TRN, *AP_SAT>( distance_t;)')
        edits.append((pattern, lambda m, w=width, i=integer: f'{m.group(1)}{w}{m.group(2)}ap_fixed<{w}, {i}, AP_TRN, '
                                                             f'AP_SAT>{m.group(3)}',
                      f'{node.name}: fixed<{width},{integer},TRN,SAT> ({2 ** width} table entries)'))
    _edit_parameters(directory, conv, edits, 'GarNet distance type widened from hls4ml\'s fixed<12,4> (8 fractional '
                     'bits): ')


def _edit_parameters(directory: Path, conv: Conversion, edits: list, note: str) -> None:
    """Apply ``(pattern, replacement, description)`` edits (first match each) to the written parameters.h and
    note the ones that applied."""
    if not edits:
        return
    params = directory / 'firmware' / 'parameters.h'
    text = params.read_text()
    changed = []
    for pattern, repl, description in edits:
        text, n = pattern.subn(repl, text, count=1)
        if n:
            changed.append(description)
    if changed:
        params.write_text(text)
        conv.notes.append(note + '; '.join(changed))


def _layer_precision_setting(cfg: ProjectConfig, name: str, cls: str, key: str) -> str | None:
    """A layer type the config sets by name / glob (last match wins) or by class, or None."""
    found = None
    lt = cfg.layer_types.get(cls)
    if lt is not None and isinstance(lt.precision, dict) and lt.precision.get(key) not in (None, 'auto'):
        found = lt.precision[key]
    for pattern, st in cfg.layer_patterns.items():
        if isinstance(st.precision, dict) and fnmatch.fnmatchcase(name, pattern) and \
                st.precision.get(key) not in (None, 'auto'):
            found = st.precision[key]
    return found


def firmware_hash(directory: Path) -> str:
    """SHA-256 over the firmware sources (what the C-simulation compiles), excluding bundled headers."""
    import hashlib

    h = hashlib.sha256()
    fw = directory / 'firmware'
    for p in sorted(fw.rglob('*')):
        rel = p.relative_to(fw)
        if p.is_dir() or rel.parts[0] in ('ap_types', 'nnet_utils'):
            continue
        h.update(str(rel).encode())
        h.update(p.read_bytes())
    return h.hexdigest()


__all__ = ['convert', 'write_project', 'Conversion', 'LayerRecord', 'firmware_hash', 'math']
