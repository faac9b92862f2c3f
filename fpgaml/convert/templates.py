"""fpgaml's overrides of hls4ml's layer config templates.

Each override is hls4ml's own template class with a few placeholders replaced by ``fpgaml_*`` graph
attributes that an fpgaml pass sets; it matches only the nodes that carry that attribute, so every other
layer keeps hls4ml's template untouched. The overrides are registered on the project's hls4ml backend (after
hls4ml's own templates, so they render last) the first time a project is converted, and
:func:`apply_templates` re-renders the graph's configs after the passes.

A replaced placeholder that is missing from hls4ml's template (a different hls4ml version) is an error when
the override is built, never a silently unchanged firmware.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fpgaml.errors import FpgamlError

FPGAML_PO2_HEADER = 'nnet_utils/nnet_fpgaml_po2.h'
FPGAML_RECURRENT_HEADER = 'nnet_utils/nnet_fpgaml_recurrent.h'
FPGAML_ACTIVATION_HEADER = 'nnet_utils/nnet_fpgaml_activation.h'


@dataclass(frozen=True)
class Override:
    name: str
    base: str  # 'module:Class' in hls4ml.backends.vivado.passes
    attr: str  # the node attribute (set by a pass) that selects the nodes this override renders
    edits: dict = field(default_factory=dict)  # template field -> {hls4ml text: fpgaml text}
    include: str | None = None  # an fpgaml header the rendered config needs
    # {hls4ml text: fpgaml text} applied to the rendered text (for templates hls4ml keeps in module globals,
    # such as the recurrent call); at least one must occur
    rendered: dict = field(default_factory=dict)


_PO2 = {
    '{product_type}<x_T, y_T>': '{fpgaml_product_type}<x_T, y_T, {fpgaml_po2_exponents[0]}, {fpgaml_po2_exponents[1]}>'
}
_TABLE = 'typedef {table_t.name} table_t;'
_DISTANCE = {
    'static const unsigned distance_width = {distance_width};': 'static const unsigned distance_width = {fpgaml_distance_t.width};',
    'typedef ap_fixed<{distance_width}, {distance_nint}, AP_TRN, AP_SAT> distance_t;': 'typedef {fpgaml_distance_t.cpp} distance_t;',
}

_RECR_END = {
    '    static const bool pytorch_order = {pytorch};\n}};': '    static const bool pytorch_order = {pytorch};\n{fpgaml_exact_cell}}};'
}
_ACT_TABLE = {'struct {type}_config{index}': '{fpgaml_exact_table}struct {type}_config{index}'}

OVERRIDES = (
    Override(
        'fpgaml_po2_dense',
        'core_templates:DenseConfigTemplate',
        'fpgaml_product_type',
        {'template': _PO2},
        FPGAML_PO2_HEADER,
    ),
    Override(
        'fpgaml_po2_conv1d',
        'convolution_templates:Conv1DConfigTemplate',
        'fpgaml_product_type',
        {'mult_template': _PO2},
        FPGAML_PO2_HEADER,
    ),
    Override(
        'fpgaml_po2_conv2d',
        'convolution_templates:Conv2DConfigTemplate',
        'fpgaml_product_type',
        {'mult_template': _PO2},
        FPGAML_PO2_HEADER,
    ),
    Override(
        'fpgaml_po2_pointwise1d',
        'pointwise:PointwiseConv1DConfigTemplate',
        'fpgaml_product_type',
        {'mult_template': _PO2},
        FPGAML_PO2_HEADER,
    ),
    Override(
        'fpgaml_po2_pointwise2d',
        'pointwise:PointwiseConv2DConfigTemplate',
        'fpgaml_product_type',
        {'mult_template': _PO2},
        FPGAML_PO2_HEADER,
    ),
    Override(
        'fpgaml_recurrent_tables',
        'recurrent_templates:RecurrentConfigTemplate',
        'fpgaml_act_table_t',
        {
            'act_template': {_TABLE: 'typedef {fpgaml_act_table_t.cpp} table_t;'},
            'recr_act_template': {_TABLE: 'typedef {fpgaml_recr_table_t.cpp} table_t;'},
        },
    ),
    Override(
        'fpgaml_exact_recurrent_config',
        'recurrent_templates:RecurrentConfigTemplate',
        'fpgaml_exact_cell',
        {'template': _RECR_END},
    ),
    Override(
        'fpgaml_exact_recurrent_call',
        'recurrent_templates:RecurrentFunctionTemplate',
        'fpgaml_exact_cell',
        include=FPGAML_RECURRENT_HEADER,
        rendered={'nnet::lstm_stack<': 'nnet::fpgaml_lstm_stack<', 'nnet::gru_stack<': 'nnet::fpgaml_gru_stack<'},
    ),
    Override(
        'fpgaml_recurrent_cast_call',
        'recurrent_templates:RecurrentFunctionTemplate',
        'fpgaml_recurrent_cast',
        include=FPGAML_RECURRENT_HEADER,
        rendered={
            'nnet::lstm_stack<': 'nnet::fpgaml_lstm_stack_cast<',
            'nnet::gru_stack<': 'nnet::fpgaml_gru_stack_cast<',
        },
    ),
    Override(
        'fpgaml_exact_activation_config',
        'core_templates:ActivationConfigTemplate',
        'fpgaml_exact_table',
        {'template': _ACT_TABLE},
    ),
    Override(
        'fpgaml_exact_hard_activation_config',
        'core_templates:HardActivationConfigTemplate',
        'fpgaml_exact_table',
        {'template': _ACT_TABLE},
    ),
    Override(
        'fpgaml_exact_activation_call',
        'core_templates:ActivationFunctionTemplate',
        'fpgaml_exact_table',
        {
            'template': {
                'nnet::{activation}<{input_t}, {output_t}, {config}>': 'nnet::fpgaml_exact_activation<{input_t}, {output_t}, {fpgaml_exact_table_name}>'
            }
        },
        FPGAML_ACTIVATION_HEADER,
    ),
    Override(
        'fpgaml_garnet_distance', 'garnet_templates:GarNetConfigTemplate', 'fpgaml_distance_t', {'template': _DISTANCE}
    ),
    Override(
        'fpgaml_garnet_stack_distance',
        'garnet_templates:GarNetStackConfigTemplate',
        'fpgaml_distance_t',
        {'template': _DISTANCE},
    ),
)
OVERRIDDEN_PLACEHOLDERS = {
    'fpgaml_product_type',
    'fpgaml_act_table_t',
    'fpgaml_recr_table_t',
    'fpgaml_distance_t',
    'fpgaml_exact_cell',
    'fpgaml_exact_table',
    'fpgaml_exact_table_name',
}


def _patch(text, edits: dict, where: str):
    """Apply ``edits`` to a template (a string or a tuple of strings); every hls4ml text must occur."""
    parts = [text] if isinstance(text, str) else list(text)
    for old, new in edits.items():
        if not any(old in p for p in parts):
            raise FpgamlError(
                f'internal error: hls4ml\'s template {where} no longer contains "{old}"; fpgaml\'s '
                f'override cannot apply (fpgaml is written for hls4ml 1.3.0)'
            )
        parts = [p.replace(old, new) for p in parts]
    return parts[0] if isinstance(text, str) else tuple(parts)


def _template_class(ov: Override):
    import importlib

    module, cls_name = ov.base.split(':')
    base = getattr(importlib.import_module(f'hls4ml.backends.vivado.passes.{module}'), cls_name)

    class FpgamlOverride(base):
        def __init__(self):
            super().__init__()
            self.name = ov.name
            for field_name, edits in ov.edits.items():
                setattr(self, field_name, _patch(getattr(self, field_name), edits, f'{ov.base}.{field_name}'))

        def match(self, node):
            return super().match(node) and node.get_attr(ov.attr) is not None

        def format(self, node):
            text = super().format(node)
            if ov.rendered:
                if not any(old in text for old in ov.rendered):
                    raise FpgamlError(
                        f"internal error: hls4ml's {ov.base} rendered none of "
                        f'{", ".join(ov.rendered)} for layer "{node.name}"; fpgaml\'s override '
                        f'{ov.name} cannot apply (fpgaml is written for hls4ml 1.3.0)'
                    )
                for old, new in ov.rendered.items():
                    text = text.replace(old, new)
            return text

        def transform(self, model, node):
            super().transform(model, node)
            if ov.include is not None:
                node.set_attr('include_header', list(node.get_attr('include_header', []) or []) + [ov.include])
            return False

    FpgamlOverride.__name__ = FpgamlOverride.__qualname__ = f'Fpgaml_{cls_name}'
    return FpgamlOverride


def register_overrides(backend) -> None:
    """Register fpgaml's template overrides on an hls4ml backend (once per backend and process)."""
    from hls4ml.model.optimizer.optimizer import optimizer_map

    for ov in OVERRIDES:
        if f'{backend.name.lower()}:{ov.name}' not in optimizer_map:
            backend.register_template(_template_class(ov))


def apply_templates(graph) -> None:
    """Re-render the graph's layer configs (hls4ml renders them when the graph is built, before fpgaml's
    passes), with fpgaml's overrides in the flow."""
    backend = graph.config.backend
    register_overrides(backend)
    graph.apply_flow(f'{backend.name.lower()}:apply_templates')
