"""Turn a loaded model + typed config into the firmware's one description: hls4ml's ModelGraph, corrected by
fpgaml's passes.

* :mod:`~fpgaml.convert.settings` — which setting applies to which layer (one precedence rule);
* :mod:`~fpgaml.convert.hlsconfig` — the hls4ml config dict (hls4ml's dicts live only in this package);
* :mod:`~fpgaml.convert.profile` — the ``profile`` precision policy;
* :mod:`~fpgaml.convert.checks` — user settings checked against what hls4ml did with them;
* :mod:`~fpgaml.convert.passes` — the named, ordered corrections (one per file);
* :mod:`~fpgaml.convert.templates` — hls4ml template overrides that render the passes' attributes;
* :mod:`~fpgaml.convert.writer` — the project writer.

After :func:`convert`, every type, table and reuse factor of the firmware is in ``Conversion.graph``; the
estimator, the report's layer table and the written C++ all read it.
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from fpgaml.config.precision import parse_precision
from fpgaml.config.schema import ProjectConfig
from fpgaml.convert import checks
from fpgaml.convert.bitexact import confirm_bit_exact, decide_bit_exact, exact_parts
from fpgaml.convert.hlsconfig import (
    _planned_input_types,
    _taken_types,
    build_hls_config,
    folded_input_types,
    use_profile,
)
from fpgaml.convert.passes import FlowContext, PassRecord, run_passes
from fpgaml.convert.provenance import output_type_sources
from fpgaml.convert.quantizer_types import keras_outputs_moved
from fpgaml.convert.settings import LayerSettingResolver
from fpgaml.convert.writer import firmware_hash, write_project
from fpgaml.errors import FpgamlError
from fpgaml.families.base import KERAS_OUTPUT
from fpgaml.fixed import Fixed, grid_of
from fpgaml.frontend import LoadedModel


@dataclass
class LayerRecord:
    name: str
    cls: str
    output_shape: list[int]
    precisions: dict[str, str]  # hls4ml's types, and fpgaml's (act_table, recr_table, distance) where set
    reuse_factor: int | None
    strategy: str | None
    n_weights: int
    n_zero_weights: int
    table_size: int | None = None
    type_from: str = ''  # where the output type came from (fpgaml.convert.provenance)


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
    flow: list[PassRecord] = field(default_factory=list)

    @property
    def input_types(self) -> list[Fixed]:
        return [grid_of(v.type.precision) for v in self.graph.get_input_variables()]

    @property
    def output_types(self) -> list[Fixed]:
        return [grid_of(v.type.precision) for v in self.graph.get_output_variables()]

    def layer_table(self) -> list[dict]:
        return [asdict(r) for r in self.layers]

    def flow_table(self) -> list[dict]:
        return [r.to_json() for r in self.flow]


FPGAML_TYPE_ATTRS = {
    'fpgaml_act_table_t': 'act_table',
    'fpgaml_recr_table_t': 'recr_table',
    'fpgaml_distance_t': 'distance',
    'fpgaml_cell_acc_t': 'cell_preactivation',
    'fpgaml_state_t': 'state',
    'fpgaml_cell_c_t': 'cell_state',
    'fpgaml_cell_h_t': 'cell_hidden',
}


def layer_records(graph, sources: dict[str, str] | None = None) -> list[LayerRecord]:
    """The report's layer table, read from the graph; ``sources``: where each output type came from."""
    records = []
    for layer in graph.get_layers():
        precisions = {}
        overridden = layer.get_attr('fpgaml_act_table_t') is not None  # hls4ml's one table_t is not used
        for tname, t in layer.types.items():
            if tname == 'index_t' or (tname == 'table_t' and overridden):
                continue
            precisions[tname[:-2] if tname.endswith('_t') else tname] = str(t.precision)
        for attr, key in FPGAML_TYPE_ATTRS.items():
            if layer.get_attr(attr) is not None:
                precisions[key] = layer.get_attr(attr).hls4ml_str()
        n_w = n_zero = 0
        for w in layer.get_weights():
            data = np.asarray(w.data)
            n_w += int(data.size)
            n_zero += int(np.count_nonzero(data == 0))
        out = layer.get_output_variable()
        strategy = layer.get_attr('strategy')
        table_size = layer.get_attr('table_size')
        records.append(
            LayerRecord(
                name=layer.name,
                cls=layer.class_name,
                output_shape=[int(d) for d in out.shape],
                precisions=precisions,
                reuse_factor=layer.get_attr('reuse_factor'),
                strategy=str(strategy) if strategy is not None else None,
                n_weights=n_w,
                n_zero_weights=n_zero,
                table_size=int(table_size) if table_size is not None else None,
                type_from=(sources or {}).get(layer.name, ''),
            )
        )
    return records


def _profiled_types(cfg, loaded, layer_list, classes, hls_config) -> tuple[dict, str]:
    from fpgaml.convert.profile import profile

    settings = LayerSettingResolver(cfg)
    entries = hls_config['HLSConfig']['LayerName']
    taken = {n: _taken_types(settings, n, c, entries.get(n)) for n, c in classes.items()}
    try:
        profiled, records, source = profile(
            cfg, loaded, layer_list, classes, taken, _planned_input_types(cfg, layer_list)
        )
    except FpgamlError:
        raise
    except Exception as e:  # noqa: BLE001
        raise FpgamlError(f'precision profiling failed: {type(e).__name__}: {e}') from None
    w, m = cfg.precision_policy.width, cfg.precision_policy.margin
    return profiled, (
        f'profiled precision ({w} bits, {m} margin bit(s)) from {source}: ' + '; '.join(r.describe() for r in records)
    )


def _warn(message: str) -> None:
    from rich.text import Text

    from fpgaml.progress import console

    console.print(Text.assemble(('warning: ', 'yellow'), message), highlight=False, soft_wrap=True)


def convert(cfg: ProjectConfig, loaded: LoadedModel, output_dir: Path) -> Conversion:
    """Build the corrected hls4ml graph for ``cfg`` (written later by :func:`write_project`)."""
    bit_exact, reason = decide_bit_exact(cfg, loaded)
    log = io.StringIO()
    try:
        with contextlib.redirect_stdout(log):
            layer_list = loaded.parse_layers()
    except Exception as e:  # noqa: BLE001
        raise FpgamlError(checks.unsupported_message(e, loaded)) from None
    profiling, policy_reason = use_profile(cfg, bit_exact)
    notes: list[str] = [policy_reason]
    exact = set() if bit_exact or not profiling else exact_parts(loaded)
    hls_config, matched, classes = build_hls_config(cfg, loaded, layer_list, bit_exact, output_dir, exact_parts=exact)
    profiled: dict = {}
    if profiling:
        profiled, note = _profiled_types(cfg, loaded, layer_list, classes, hls_config)
        hls_config, matched, classes = build_hls_config(
            cfg, loaded, layer_list, bit_exact, output_dir, profiled, exact_parts=exact
        )
        notes.append(note)
    if exact:
        notes.append(
            f'quantized parts typed exactly from the types of their inputs (as in bit-exact mode): {", ".join(sorted(exact))}'
        )

    def rebuild(config: dict):
        with contextlib.redirect_stdout(log):
            return loaded.to_hls(config)

    try:
        ctx = FlowContext(
            cfg=cfg,
            loaded=loaded,
            hls_config=hls_config,
            graph=rebuild(hls_config),
            bit_exact=bit_exact,
            rebuild=rebuild,
            exact_parts=bool(exact),
        )
        flow = run_passes(ctx)
    except FpgamlError:
        raise
    except Exception as e:  # noqa: BLE001
        raise FpgamlError(checks.unsupported_message(e, loaded)) from None
    graph = ctx.graph
    moved = keras_outputs_moved(layer_list, ctx.hls_config['HLSConfig'].get('LayerName', {}))
    moved = {n: q for n, q in moved.items() if n in graph.graph}  # not those hls4ml removed
    for layer in graph.get_layers():
        if layer.name in moved:  # its Keras reference is the quantizer hls4ml removed (quantizer_types)
            layer.set_attr(KERAS_OUTPUT, moved[layer.name])
    warnings = checks.overrides_matched(cfg, matched, graph, classes)
    warnings += checks.old_conv_implementations(cfg, graph, classes)
    bit_exact, reason, wide_warning = confirm_bit_exact(cfg, graph, bit_exact, reason)
    warnings.append(wide_warning)
    warnings += checks.reuse_factors(cfg, graph)
    warnings += checks.quantizer_conflicts(cfg, layer_list)
    warnings.append(checks.size_warning(graph, cfg.io_type))
    for r in flow:
        if r.name == 'hgq_user_types':  # a setting hls4ml would have replaced, kept: said out loud
            warnings += [f'layer "{c.layer}": {c.what}' for c in r.changes]
            continue
        notes.extend(r.notes())
    for warning in filter(None, warnings):
        _warn(warning)
        notes.append(warning)
    conv = Conversion(
        graph=graph,
        config=cfg,
        loaded=loaded,
        bit_exact=bit_exact,
        bit_exact_reason=reason,
        layers=layer_records(
            graph,
            output_type_sources(
                cfg, layer_list, ctx.hls_config, profiled, flow, graph, {*moved, *folded_input_types(cfg, layer_list)}
            ),
        ),
        hls4ml_log=log.getvalue(),
        notes=notes,
        flow=flow,
    )
    for name, qname in moved.items():
        conv.notes.append(
            f'layer "{name}" typed {parse_precision(ctx.hls_config["HLSConfig"]["LayerName"][name]["Precision"]["result"]).hls4ml_str()}: the type of '
            f'the quantizer "{qname}" that alone reads it (hls4ml removes that quantizer, with its rounding and '
            f'saturation, after a layer of inferred type)'
        )
    for inp, (ptype, qname) in folded_input_types(cfg, layer_list).items():
        conv.notes.append(
            f'input "{inp}" typed {parse_precision(ptype).hls4ml_str()}: the type of the quantizer '
            f'"{qname}" that reads it (precision: input is not set), so the firmware converts raw '
            f'inputs exactly as Keras quantizes them'
        )
    if loaded.pruning_stripped:
        conv.notes.append(f'stripped pruning wrappers from: {", ".join(loaded.pruning_stripped)}')
    for t in conv.input_types + conv.output_types:
        if t is not None and t.width > 53:
            conv.notes.append(
                f'a model input/output type is {t.width} bits wide; C-simulation reads it through '
                f'a double, which is exact only up to 53 bits'
            )
    return conv


__all__ = ['convert', 'write_project', 'Conversion', 'LayerRecord', 'firmware_hash', 'layer_records']
