"""Whether the firmware can be compared with Keras bit for bit, decided before conversion (the model's
layers) and confirmed after it (the graph's input/output types)."""

from __future__ import annotations

from fpgaml.config.schema import ProjectConfig
from fpgaml.fixed import Fixed, grid_of
from fpgaml.frontend import LoadedModel

# Activations hls4ml computes with lookup tables (never bit for bit what Keras computes in float32).
TABLE_ACTIVATIONS = ('sigmoid', 'tanh', 'softplus', 'softsign', 'elu', 'selu', 'exponential', 'swish', 'gelu', 'silu')
RECURRENT_CLASSES = ('SimpleRNN', 'LSTM', 'GRU', 'QSimpleRNN', 'QLSTM', 'QGRU', 'Bidirectional')
# float32 (Keras) holds 24 significant bits: a fixed-point grid needs width - sign bits <= 24 of them.
FLOAT32_BITS = 24


def _table_activation(act) -> str | None:
    """The name of a lookup-table activation (``sigmoid``, ``quantized_sigmoid(use_real_sigmoid=True)``, ...),
    or None for activations hls4ml computes exactly (relu, linear, quantized_bits, binary, ...)."""
    if act is None:
        return None
    name = getattr(act, '__name__', None) or type(act).__name__
    if name in TABLE_ACTIVATIONS:
        return name
    if name == 'quantized_sigmoid' and getattr(act, 'use_real_sigmoid', False):
        return f'{name}(use_real_sigmoid=True)'
    if name == 'quantized_tanh' and getattr(act, 'use_real_tanh', False):
        return f'{name}(use_real_tanh=True)'
    return None


def _table_size_set(cfg: ProjectConfig, name: str) -> bool:
    from fpgaml.convert.settings import LayerSettingResolver

    return LayerSettingResolver(cfg).keeps_hls4ml_tables(name)


def _recurrent_blocker(cfg: ProjectConfig, layer) -> str | None:
    """Why a recurrent layer cannot be bit-exact (the float tensor and what to set), or None: a QLSTM / QGRU
    with quantized_sigmoid / quantized_tanh activations (real or hard) and a quantized_bits state quantizer is
    computed by fpgaml's exact cell (every tensor on a fixed-point grid)."""
    from fpgaml.convert.exact_activation import exact_activation_kind
    from fpgaml.convert.passes.exact_recurrent_types import state_type

    cls = type(layer).__name__
    if cls not in ('QLSTM', 'QGRU'):
        return f'{layer.name} ({cls}: float weights and states; use QLSTM / QGRU with quantizers)'
    cell = layer.cell
    if _table_size_set(cfg, layer.name):
        return f"{layer.name} ({cls}: table_size set: hls4ml's lookup-table gates)"
    for what, act, kind in (
        ('activation', cell.activation, 'tanh'),
        ('recurrent_activation', cell.recurrent_activation, 'sigmoid'),
    ):
        if exact_activation_kind(act) != kind:
            return (
                f'{layer.name} ({cls}: float {what} {getattr(act, "__name__", None) or act}; set '
                f'{what}=quantized_{kind}(8) to make it exact)'
            )
    if state_type(getattr(cell, 'state_quantizer_internal', None)) is None:
        return (
            f'{layer.name} ({cls}: float state h{", c" if cls == "QLSTM" else ""}; set '
            f'state_quantizer=quantized_bits(bits, integer, alpha=1) to make it exact)'
        )
    if cfg.io_type != 'io_parallel':
        return f"{layer.name} ({cls}: io_stream: hls4ml's lookup-table gates)"
    return None


def _bit_exact_blockers(cfg: ProjectConfig, loaded: LoadedModel) -> list[str]:
    """Layers whose firmware cannot equal Keras bit for bit: recurrent layers with a float tensor
    (:func:`_recurrent_blocker`) and lookup-table activations; QKeras quantized_sigmoid / quantized_tanh in a
    QActivation are exact threshold tables (unless the config sets the layer's table_size). A final softmax is
    exempt: compared at its input."""
    from fpgaml.convert.exact_activation import exact_activation_kind

    out = []
    layers = loaded.model.layers
    for layer in layers:
        cls = type(layer).__name__
        if cls in RECURRENT_CLASSES:
            why = _recurrent_blocker(cfg, layer)
            if why is not None:
                out.append(why)
            continue
        act = getattr(layer, 'quantizer', None) if cls == 'QActivation' else getattr(layer, 'activation', None)
        if cls == 'QActivation' and exact_activation_kind(act) is not None and not _table_size_set(cfg, layer.name):
            continue  # fpgaml's exact threshold table
        table = _table_activation(act)
        if table is not None:
            out.append(f'{layer.name} ({table}: a lookup table in firmware)')
    return out


def decide_bit_exact(cfg: ProjectConfig, loaded: LoadedModel) -> tuple[bool, str]:
    """Bit-exact comparison (``auto``): only where it can hold: every computing layer quantized, no lookup
    table activations or recurrent layers (:func:`_bit_exact_blockers`); :func:`confirm_bit_exact` then checks
    the converted graph's types."""
    quantized, unquantized = loaded.is_fully_quantized()
    if cfg.bit_exact == 'on':
        return True, 'bit_exact: on (config)'
    if cfg.bit_exact == 'off':
        return False, 'bit_exact: off (config)'
    if not quantized:
        shown = ', '.join(unquantized[:5]) + (' ...' if len(unquantized) > 5 else '')
        return False, f'auto: not fully quantized ({shown}); comparing with tolerances'
    blockers = _bit_exact_blockers(cfg, loaded)
    if blockers:
        shown = ', '.join(blockers[:4]) + (' ...' if len(blockers) > 4 else '')
        return False, f'auto: quantized, but bit-exact cannot hold: {shown}; comparing with tolerances'
    return True, 'auto: every computing layer is quantized'


def _float32_unholdable(t: Fixed | None) -> bool:
    return t is not None and t.width - (1 if t.signed else 0) > FLOAT32_BITS


def confirm_bit_exact(cfg: ProjectConfig, graph, bit_exact: bool, reason: str) -> tuple[bool, str, str | None]:
    """After conversion: a model input or output type with more significant bits than float32 holds (e.g.
    fixed<32,1>: 31 fractional bits) cannot be compared bit for bit with Keras. ``auto`` falls back to
    tolerances; ``on`` is kept, with a warning. Returns (bit_exact, reason, warning or None)."""
    if not bit_exact:
        return bit_exact, reason, None
    fallback = [
        f'{n.name} ({"; ".join(n.get_attr("fpgaml_not_exact"))})'
        for n in graph.get_layers()
        if n.get_attr('fpgaml_not_exact')
    ]
    if fallback:
        why = f"hls4ml's own implementation kept where fpgaml has no exact one: {'; '.join(fallback)}"
        if cfg.bit_exact == 'on':
            return True, reason, f'bit_exact: on, but {why}: differences are expected'
        return False, f'auto: {why}; comparing with tolerances', None
    inexact = [
        f'{n.name} ({", ".join(n.get_attr("fpgaml_float32_inexact"))})'
        for n in graph.get_layers()
        if n.get_attr('fpgaml_float32_inexact')
    ]
    if inexact:
        why = (
            f"recurrent cell tensors with more than {FLOAT32_BITS} significant bits, which Keras's float32 "
            f'rounds: {"; ".join(inexact)}'
        )
        if cfg.bit_exact == 'on':
            return True, reason, f'bit_exact: on, but {why}: differences in the last bits are possible'
        return False, f'auto: {why}; comparing with tolerances', None
    wide = [
        f'{kind} {grid_of(v.type.precision).hls4ml_str()}'
        for kind, vs in (('input', graph.get_input_variables()), ('output', graph.get_output_variables()))
        for v in vs
        if _float32_unholdable(grid_of(v.type.precision))
    ]
    if not wide:
        return bit_exact, reason, None
    why = f"{', '.join(wide)} has more than {FLOAT32_BITS} significant bits, which Keras's float32 cannot hold"
    if cfg.bit_exact == 'on':
        return True, reason, f'bit_exact: on, but {why}: differences in the last bits are expected'
    return False, f'auto: {why}; comparing with tolerances', None


def exact_parts(loaded: LoadedModel) -> set[str]:
    """The parts of a partly quantized model whose types follow exactly from their inputs: its quantized layers and
    the layers that compute exactly on their inputs (merges, power-of-two average pooling). With its float parts
    typed from data (``precision: profile``), these take hls4ml's exact inference from those types, as in bit-exact
    mode, instead of types guessed from the data: the rounding of the float parts is then the only error left.
    Empty for a float model; recurrent layers keep their own types."""
    from fpgaml.families import keras_quantization

    layers = loaded.model.layers
    if not any(type(lay).__name__.startswith('Q') for lay in layers):
        return set()
    unquantized = set(loaded.is_fully_quantized()[1])
    parts = set()
    for layer in layers:
        cls, rule = type(layer).__name__, keras_quantization(layer)
        if layer.name in unquantized or rule == 'passed_over' or cls in (*RECURRENT_CLASSES, 'InputLayer'):
            continue
        if cls.startswith('Q') or rule in ('passthrough', 'exact'):
            parts.add(layer.name)
    return parts
