"""The converted hls4ml graph as da4ml or alkaid arithmetic (:mod:`fpgaml.rtl.backend`): the same fixed-point
operations the HLS firmware performs.

The graph is walked layer by layer; each layer is built by its family's lowering (``Family.lower``,
:mod:`fpgaml.families`) from the fixed-point operations of :mod:`fpgaml.rtl.ops`. A layer whose family has no
lowering for its class is refused with the list of what the backend supports: never a silent partial design.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from fpgaml.families import family_of, lowering
from fpgaml.fixed import Fixed
from fpgaml.rtl.ops import RtlInput, RtlUnsupported, rtl_type, supported_text

__all__ = ['RtlGraph', 'RtlUnsupported', 'build_rtl_graph', 'check_supported', 'rtl_type', 'supported_text']


@dataclass
class RtlGraph:
    """The da4ml trace of a graph: inputs, outputs and every layer's output, in graph order."""

    inputs: object  # FixedVariableArray (flat)
    input_type: Fixed
    outputs: object  # FixedVariableArray (flat)
    output_layer: str
    output_type: Fixed
    layers: dict[str, object] = field(default_factory=dict)  # name -> flat object ndarray of FixedVariables
    layer_types: dict[str, Fixed] = field(default_factory=dict)
    left_out: list[str] = field(default_factory=list)  # layers after the RTL output (a final softmax)


def _check_io_type(io_type: str) -> None:
    if io_type != 'io_parallel':
        raise RtlUnsupported(
            f'io_type {io_type}: the RTL backend builds fully parallel designs (io_parallel) only '
            f'(no io_stream line buffers); set io_type: io_parallel; {supported_text()}'
        )


def _left_out(layer, idx: int, layers: list) -> bool:
    """Whether the RTL ends at this layer's input: the model's last layer, of a family that says so (softmax)."""
    family = family_of(layer.class_name)
    return idx == len(layers) - 1 and family is not None and family.rtl_left_out_last


def _lowering(layer):
    """The layer's lowering, or :class:`RtlUnsupported` naming the layer, its class and what is supported."""
    lower = lowering(layer)
    if lower is None or len(layer.inputs) > 1:
        raise RtlUnsupported(f'layer "{layer.name}" ({layer.class_name}) cannot be built as RTL; {supported_text()}')
    return lower


def check_supported(graph, io_type: str) -> None:
    """The cheap part of :func:`build_rtl_graph`'s checks (io_type, each layer's lowering and its family's
    ``rtl_check``), run right after the conversion so that an unsupported model stops before the compile and
    C-simulation."""
    _check_io_type(io_type)
    layers = list(graph.get_layers())
    for idx, layer in enumerate(layers):
        if _left_out(layer, idx, layers):
            continue
        _lowering(layer)
        check = family_of(layer.class_name).rtl_check
        if check is not None:
            check(layer)


def _folded_input(layers):
    """The layer that alone reads the model input when its family can size da4ml's input variables with its own
    casts (``Family.rtl_folds_input``: an HGQ quantizer), else None."""
    if len(layers) < 2:
        return None
    first, head = layers[0], layers[1]
    out = first.outputs[0] if getattr(first, 'outputs', None) else None
    readers = [lay for lay in layers[1:] if out in lay.inputs]
    family = family_of(head.class_name)
    if readers != [head] or family is None or family.rtl_folds_input is None or not family.rtl_folds_input(head):
        return None
    return head


def build_rtl_graph(graph, io_type: str, solver_options: dict | None = None) -> RtlGraph:
    """Trace ``graph`` (a converted hls4ml ModelGraph) into da4ml variables; raise :class:`RtlUnsupported` for
    anything no family lowers (:func:`supported_text`)."""
    from fpgaml.rtl.backend import api

    lib = api()
    solver_options = dict(solver_options or {})
    _check_io_type(io_type)
    layers = list(graph.get_layers())
    ins = graph.get_input_variables()
    if len(ins) != 1 or len(graph.get_output_variables()) != 1:
        raise RtlUnsupported(
            f'the RTL backend builds single-input, single-output models; this one has {len(ins)} '
            f'inputs and {len(graph.get_output_variables())} outputs'
        )
    vals: dict[str, np.ndarray] = {}
    types: dict[str, Fixed] = {}
    shapes: dict[str, tuple] = {}
    first = layers[0]
    in_t = rtl_type(first.get_output_variable().type.precision, first.name)
    shape = tuple(first.get_output_variable().shape)
    n = int(np.prod(shape))
    inp = lib.input_array(n, solver_options)
    fold = _folded_input(layers)
    # da4ml sizes each input by the casts applied to it: cast to the input type, or (HGQ) straight to the input
    # quantizer's element types, so that every input carries only the bits its quantizer keeps
    x0 = lib.raw(inp) if fold is not None else lib.raw(inp.quantize(*in_t.kif, 'WRAP', 'TRN'))
    vals[first.name], types[first.name], shapes[first.name] = x0, in_t, shape
    left_out: list[str] = []
    last = first.name
    for idx, layer in enumerate(layers[1:], start=1):
        name = layer.name
        if len(layer.inputs) != 1:
            raise RtlUnsupported(
                f'layer "{name}" ({layer.class_name}) has {len(layer.inputs)} inputs; {supported_text()}'
            )
        src_name = layer.get_input_node().name
        out_var = layer.get_output_variable()
        res_t = rtl_type(out_var.type.precision, name)
        if _left_out(layer, idx, layers):
            left_out.append(name)
            break
        lower = _lowering(layer)
        y = lower(
            layer,
            RtlInput(vals[src_name], shapes[src_name], types[src_name], res_t, solver_options, folded=layer is fold),
        )
        vals[name], types[name], shapes[name] = np.asarray(y, dtype=object).ravel(), res_t, tuple(out_var.shape)
        last = name
    out = lib.FixedVariableArray(vals[last], solver_options)
    return RtlGraph(inp, types[first.name], out, last, types[last], vals, types, left_out)


def pipeline_of(graph, io_type: str, pipeline_cutoff: float, backend: str | None = None):
    """The staged logic of a converted graph, exactly as ``fpgaml rtl`` builds it with ``backend``
    (:mod:`fpgaml.rtl.backend`; None: the one selected): its Verilog is this da4ml pipeline (the combinational
    logic when ``pipeline_cutoff`` is 0) or alkaid FSM."""
    from fpgaml.rtl.backend import selected, use

    with use(backend or selected()) as lib:
        rg = build_rtl_graph(graph, io_type)
        return lib.stage(lib.comb_trace(rg.inputs, rg.outputs), pipeline_cutoff)


def estimate_da(graph, io_type: str, pipeline_cutoff: float, backend: str | None = None):
    """LUT/FF/DSP/cycles of the DA form of a converted graph (what ``fpgaml rtl`` would build and Yosys count):
    :mod:`fpgaml.estimate.da` applied to :func:`pipeline_of`."""
    from fpgaml.estimate.da import count, figures
    from fpgaml.rtl.backend import selected, use

    with use(backend or selected()) as lib:
        return figures(count(pipeline_of(graph, io_type, pipeline_cutoff), lib))
