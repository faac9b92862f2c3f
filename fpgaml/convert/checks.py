"""User settings checked against what hls4ml did with them: a reuse factor hls4ml would replace, an override
that names no layer, or a type that contradicts the layer's own quantizer is said out loud (an error, or a
recorded warning), never silently changed."""

from __future__ import annotations

import fnmatch
import math
import re

import numpy as np

from fpgaml.config.precision import parse_precision
from fpgaml.config.schema import ProjectConfig
from fpgaml.config.values import OLD_CONV_IMPLEMENTATIONS
from fpgaml.convert.quantizer_types import quantizer_precisions
from fpgaml.convert.settings import LayerSettingResolver
from fpgaml.errors import FpgamlError, suggest
from fpgaml.frontend import LoadedModel


def quantizer_conflicts(cfg: ProjectConfig, layer_list: list[dict]) -> list[str]:
    """Explicit precisions that contradict the layer's own QKeras quantizer: kept (the user decides), but
    said out loud, since the firmware then cannot compute what the quantized model computes."""
    settings = LayerSettingResolver(cfg)
    out = []
    for layer in layer_list:
        implied = quantizer_precisions(layer)
        for key, want in implied.items():
            given = settings.precision(layer['name'], layer['class_name'], key)
            if given is None:
                continue
            g, w = parse_precision(given), parse_precision(want)
            same_grid = (
                g.fractional == w.fractional
                and g.rounding == w.rounding
                and g.saturation == w.saturation
                and g.max_value == w.max_value
                and g.min_value <= w.min_value
            )  # e.g. fixed<7,1> for a ufixed<6,0> ReLU
            if not same_grid:
                line = settings.line(layer['name'], layer['class_name'], 'precision')
                out.append(
                    f'{cfg.source}:{line}: layer "{layer["name"]}" {key} type {given} differs from '
                    f"its quantizer's {w.hls4ml_str()}: the firmware will not match "
                    f'the quantized model bit for bit there'
                )
    return out


def _reuse_blocks(backend, layer) -> list[tuple[str, int, int]]:
    """(reuse-factor attribute, n_in, n_out) of each multiplication block whose reuse factor hls4ml checks: one
    for most layers, input + recurrent for LSTM / GRU, and both of those per direction for Bidirectional."""
    if layer.class_name == 'EinsumDense':  # HGQ2's einsum dense: one dense block, n_contract x n_free_kernel
        return [('reuse_factor', layer.get_attr('n_contract'), layer.get_attr('n_free_kernel'))]
    sizes = backend.get_layer_mult_size(layer)
    if isinstance(sizes, list):  # Bidirectional: one (n_in, n_out, n_in_recr, n_out_recr) per direction
        return [
            block
            for d, (n_in, n_out, n_in_r, n_out_r) in zip(('forward', 'backward'), sizes)
            for block in ((f'{d}_reuse_factor', n_in, n_out), (f'{d}_recurrent_reuse_factor', n_in_r, n_out_r))
        ]
    blocks = [('reuse_factor', sizes[0], sizes[1])]
    if len(sizes) == 4:
        blocks.append(('recurrent_reuse_factor', sizes[2], sizes[3]))
    return blocks


def reuse_factors(cfg: ProjectConfig, graph) -> list[str]:
    """Every multiplying layer's requested reuse factor must be one hls4ml builds; returns the warnings.

    * Resource strategy: hls4ml keeps a reuse factor its rule (``get_valid_reuse_factors`` for each
      multiplication block) accepts, and silently substitutes the closest valid one for another
      (``set_closest_reuse_factor``; some layers, e.g. io_stream depthwise convolutions, keep any value). fpgaml
      builds what hls4ml builds: the reuse factor in hls4ml's graph, with a warning naming it when it is not the
      one requested.
    * Latency strategy: hls4ml keeps any reuse factor, which only sets the pipeline interval and the multiplier
      limit (DIV_ROUNDUP(n_in * n_out, RF)); anything from 1 to n_in * n_out works. Larger is an error."""
    settings = LayerSettingResolver(cfg)
    backend = graph.config.backend
    warnings = []
    for layer in graph.get_layers():
        if layer.get_attr('reuse_factor') is None or not layer.get_weights():
            continue
        try:
            blocks = _reuse_blocks(backend, layer)
        except Exception:  # noqa: BLE001 - layers without a multiplication block (e.g. batch norm)
            continue
        requested = settings.reuse_factor(layer.name, layer.class_name)
        latency = str(layer.get_attr('strategy', 'latency')).lower() == 'latency'
        line = settings.line(layer.name, layer.class_name, 'reuse_factor')
        where = f'{cfg.source}{f":{line}" if line else ""}'
        for attr, n_in, n_out in blocks:
            block = '' if attr == 'reuse_factor' else f' {attr.replace("_reuse_factor", "")} block'
            if latency:
                if 1 <= requested <= n_in * n_out:
                    continue
                raise FpgamlError(
                    f'{where}: reuse factor {requested} is not valid for layer "{layer.name}"{block} '
                    f'({layer.class_name}, {n_in} inputs x {n_out} outputs per multiplication block); with the '
                    f'Latency strategy it must be from 1 to {n_in * n_out} (the number of multiplications); it sets '
                    f'the pipeline interval'
                )
            used = layer.get_attr(attr)
            if used == requested:
                continue
            valid = backend.get_valid_reuse_factors(n_in, n_out)
            shown = ', '.join(map(str, valid[:40])) + (' ...' if len(valid) > 40 else '')
            warnings.append(
                f'{where}: reuse factor {requested} of layer "{layer.name}"{block} ({layer.class_name}, Resource '
                f"strategy, {n_in} inputs x {n_out} outputs) is not one of hls4ml's valid reuse factors ({shown}): "
                f'hls4ml substitutes {used}, and the firmware is built with {used}; set {used} to silence this'
            )
    return warnings


def overrides_matched(cfg: ProjectConfig, matched: dict[str, list[str]], graph, classes) -> list[str]:
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
        msg = (
            f'{cfg.source}:{line}: {key}: "{pattern}" matches no layer{suggest(pattern, known)}; the model\'s '
            f'layers are: {", ".join(known)}'
        )
        if cfg.format != 'hls4ml':
            raise FpgamlError(msg)
        warnings.append(msg + ' (ignored, as hls4ml does, because this is an hls4ml-format config)')
    import hls4ml

    known_types = set(hls4ml.model.layers.layer_map)
    for t, s in cfg.layer_types.items():
        if t not in known_types:
            raise FpgamlError(
                f'{cfg.source}:{s.line}: LayerType: "{t}" is not an hls4ml layer type{suggest(t, known_types)}'
            )
    return warnings


def old_conv_implementations(cfg: ProjectConfig, graph, classes: dict[str, str]) -> list[str]:
    """One line per ConvImplementation of an older hls4ml (``Pointwise``, as 0.7-1.2 write_config wrote it) that
    fpgaml.convert.hlsconfig translated: where it is written, the hls4ml 1.3 value built, why, and which of the
    layers it applies to hls4ml 1.3 builds as its pointwise convolution."""
    hls = cfg.format == 'hls4ml'
    entries = [
        (
            f'{cfg.source}',
            'HLSConfig.Model.ConvImplementation',
            cfg.model_settings.get('ConvImplementation'),
            list(classes),
        )
    ]
    for t, s in cfg.layer_types.items():
        entries.append(
            (
                f'{cfg.source}:{s.line}',
                f'HLSConfig.LayerType.{t}.ConvImplementation',
                s.extra.get('ConvImplementation'),
                [n for n, c in classes.items() if c == t],
            )
        )
    for p, s in cfg.layer_patterns.items():
        key = f'HLSConfig.LayerName.{p}.ConvImplementation' if hls else f'layers.{p}.conv_implementation'
        entries.append(
            (
                f'{cfg.source}:{s.line}',
                key,
                s.extra.get('ConvImplementation'),
                [n for n in classes if fnmatch.fnmatchcase(n, p)],
            )
        )
    notes = []
    for where, key, value, names in entries:
        if value not in OLD_CONV_IMPLEMENTATIONS:
            continue
        new, why = OLD_CONV_IMPLEMENTATIONS[value]
        nodes = [graph.graph[n] for n in names if n in graph.graph]
        pointwise = [n.name for n in nodes if n.class_name.startswith('PointwiseConv')]
        here = f'here: {", ".join(pointwise)}' if pointwise else 'no layer here has kernel size 1'
        batched = [
            n
            for n in nodes
            if n.class_name == 'PointwiseConv1D'
            and n.get_attr('n_partitions') == 1
            and (n.get_attr('parallelization_factor') or 1) > 1
        ]
        if batched:  # see fpgaml.convert.conv_implementation.old_pointwise_all_positions
            why += (
                f"; in io_parallel (Latency) every position at once, as that hls4ml's pointwise kernel computed "
                f'it: ParallelizationFactor {batched[0].get_attr("parallelization_factor")} (the output width; '
                f"that kernel did not read the setting), hls4ml 1.3's batched pointwise kernel, II = reuse factor"
            )
        notes.append(f'{where}: {key}: "{value}" (hls4ml before 1.3) is built as "{new}": {why} ({here})')
    return notes


def unsupported_message(e: Exception, loaded: LoadedModel) -> str:
    """One line for an exception hls4ml raised while converting the model."""
    text = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    cls = None
    if 'Unsupported layer type' in text or 'not supported' in text.lower():
        cls = text.rsplit(':', 1)[-1].strip()  # hls4ml's Keras-2 parser: "ERROR: Unsupported layer type: Foo"
    m = re.match(r"Layer <class '[\w.]*?(\w+)'> not found in registry", text)  # its Keras-3 parser
    if m:
        cls = m.group(1)
    if cls is not None:
        names = [lay.name for lay in loaded.model.layers if type(lay).__name__ == cls]
        which = f' (layer "{names[0]}")' if names else ''
        return f'unsupported layer class {cls}{which}: hls4ml 1.3.0 cannot convert it'
    return f'hls4ml could not convert the model: {type(e).__name__}: {text}'


# Beyond this many multiplications per inference (io_parallel), g++ needs minutes for the C-simulation
# library (KERAS_conv1d: 251k multiplications per output position set, ~480 s) and HLS synthesis of a
# fully unrolled design is impractical; hls4ml's own guidance is <= 4096 multiplications per layer
# and reuse cycle for the Latency strategy.
LARGE_MULTS = 100_000
MULTS_PER_LAYER = 4096


def multiplications(graph) -> list[tuple[str, int, int]]:
    """(layer, multiplications per inference, multiplications per reuse cycle) for each weighted layer."""
    out = []
    for layer in graph.get_layers():
        w = layer.weights.get('weight') if hasattr(layer, 'weights') else None
        if w is None:
            continue
        n_w = int(np.asarray(w.data).size)
        shape = layer.get_output_variable().shape
        positions = int(np.prod(shape[:-1])) if len(shape) > 1 else 1
        total = n_w * positions
        rf = layer.get_attr('reuse_factor') or 1
        out.append((layer.name, total, math.ceil(n_w / rf)))
    return out


def size_warning(graph, io_type: str) -> str | None:
    """A warning for models whose fully unrolled (io_parallel) implementation is very large."""
    mults = multiplications(graph)
    total = sum(m for _, m, _ in mults)
    if io_type != 'io_parallel' or not mults:
        return None
    per_layer = max(mults, key=lambda t: t[2])
    if total <= LARGE_MULTS and per_layer[2] <= MULTS_PER_LAYER:
        return None
    has_conv = any(layer.class_name.startswith('Conv') for layer in graph.get_layers())
    big = next(lay for lay in graph.get_layers() if lay.name == per_layer[0])
    n_w = int(np.asarray(big.weights['weight'].data).size)
    rf = max(1, math.ceil(n_w / MULTS_PER_LAYER))
    try:  # suggest a reuse factor hls4ml accepts for this layer's size
        backend = graph.config.backend
        valid = backend.get_valid_reuse_factors(*backend.get_layer_mult_size(big)[:2])
        rf = next((v for v in valid if v >= rf), rf)
    except Exception:  # noqa: BLE001 - layers without a multiplication block size: keep the estimate
        pass
    advice = []
    if has_conv:
        advice.append('io_type: io_stream (convolutions then compute one output position at a time)')
    advice.append(f'a larger reuse_factor (e.g. >= {rf} for layer "{per_layer[0]}", with strategy: Resource)')
    return (
        f'large model: {total:,} multiplications per inference with io_parallel (layer "{per_layer[0]}": '
        f'{per_layer[2]:,} per cycle); the C-simulation compile may take minutes and synthesis may not fit. '
        f'Consider ' + ' or '.join(advice)
    )
