"""What a config setting may hold, shared by both YAML formats (:mod:`fpgaml.config.schema`) and by the keys
a sweep overrides (:mod:`fpgaml.config.overrides`): the validated value types, one rule and one message each,
and the per-layer settings hls4ml reads, under both spellings, with their types.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, AliasChoices, BeforeValidator, Field

from fpgaml.config.precision import PrecisionError, normalize
from fpgaml.errors import suggest
from fpgaml.target.devices import UnknownPartError, lookup_device

STRATEGIES = ('Latency', 'Resource', 'distributed_arithmetic')  # the last: hls4ml's DA (C++ from da4ml)
# Published hls4ml configs (pre-0.6) choose the softmax implementation with `Strategy: Stable` etc.
SOFTMAX_STRATEGIES = ('Stable', 'Argmax', 'Legacy')
# ConvImplementation: hls4ml 1.3.0's choices (a ChoiceAttribute of the Vivado / Vitis convolution and pooling layers,
# matched case-sensitively there), and the values configs of older hls4ml (write_config of 0.7-1.2) carry, with the
# 1.3 value they are built as and why. Older hls4ml's ``Pointwise`` selected its pointwise convolution, valid for
# kernel size 1 only; hls4ml 1.3 has no such setting: its optimize_pointwise_conv pass replaces every Conv1D /
# Conv2D of kernel size 1 by its pointwise convolution, line buffer or encoded alike.
CONV_IMPLEMENTATIONS = ('LineBuffer', 'Encoded')
OLD_CONV_IMPLEMENTATIONS = {
    'Pointwise': ('LineBuffer', 'hls4ml 1.3 uses its pointwise convolution by itself where the kernel size is 1'),
}
IO_TYPES = ('io_parallel', 'io_stream')
BACKENDS = ('Vivado', 'Vitis')
BIT_EXACT = ('auto', 'on', 'off')


def choice(value: Any, choices: tuple[str, ...], what: str) -> str:
    """``value`` spelled as in ``choices`` (compared without case); ValueError naming the accepted ones."""
    if not isinstance(value, str):
        raise ValueError(f'{what} must be one of {", ".join(choices)}, got {value!r}')
    for c in choices:
        if value.lower() == c.lower():
            return c
    raise ValueError(f'unknown {what} "{value}"{suggest(value, choices)}; accepted: {", ".join(choices)}')


def _precision(value: Any) -> str:
    try:
        return normalize(value)
    except PrecisionError as e:
        raise ValueError(str(e)) from None


PrecisionStr = Annotated[str, AfterValidator(lambda v: _precision(v))]


def _part(value: Any) -> str:
    try:
        lookup_device(value)
    except UnknownPartError as e:
        raise ValueError(str(e)) from None
    return value


def _reuse(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f'reuse factor must be a positive integer, got {value!r}')
    return value


def _conv_implementation(value: Any) -> str:
    """A ConvImplementation, spelled as hls4ml spells it; an old value (OLD_CONV_IMPLEMENTATIONS) is kept as written
    here and translated where the hls4ml config is made (fpgaml.convert.conv_implementation), which says so."""
    choices = CONV_IMPLEMENTATIONS + tuple(OLD_CONV_IMPLEMENTATIONS)
    if isinstance(value, str):
        for c in choices:
            if value.lower() == c.lower():
                return c
    old = ', '.join(f'{k} (hls4ml before 1.3, read as {v})' for k, (v, _) in OLD_CONV_IMPLEMENTATIONS.items())
    shown = f'"{value}"' if isinstance(value, str) else repr(value)
    hint = suggest(value, choices) if isinstance(value, str) else ''
    raise ValueError(
        f'unknown conv implementation {shown}{hint}; accepted: {", ".join(CONV_IMPLEMENTATIONS)} (hls4ml 1.3.0), {old}'
    )


def _bit_exact(value: Any) -> str:
    if isinstance(value, bool):  # YAML reads on/off as booleans
        return 'on' if value else 'off'
    return choice(value, BIT_EXACT, 'bit_exact mode')


# Validated value types, shared by both formats (one rule each, one message each).
ReuseFactorInt = Annotated[int, BeforeValidator(_reuse)]
StrategyName = Annotated[str, AfterValidator(lambda v: choice(v, STRATEGIES, 'strategy'))]
LayerStrategyName = Annotated[str, AfterValidator(lambda v: choice(v, STRATEGIES + SOFTMAX_STRATEGIES, 'strategy'))]
BackendName = Annotated[str, AfterValidator(lambda v: choice(v, BACKENDS, 'backend'))]
IOTypeName = Annotated[str, AfterValidator(lambda v: choice(v, IO_TYPES, 'io_type'))]
PartName = Annotated[str, AfterValidator(_part)]
BitExactMode = Annotated[str, BeforeValidator(_bit_exact)]
ConvImplementationName = Annotated[str, BeforeValidator(_conv_implementation)]


def _extension(value: Any) -> str:
    """An ``extensions`` entry: a Python file (``my_layers.py``, relative to the config file) or an importable
    module name (``my_package.hls_layers``); resolved in fpgaml.config."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(
            f'an extension is a Python file (my_layers.py) or a module name (my_package.layers), got {value!r}'
        )
    return value.strip()


ExtensionName = Annotated[str, BeforeValidator(_extension)]
ExtensionList = Annotated[list[ExtensionName], BeforeValidator(lambda v: [v] if isinstance(v, str) else v)]

ClockPeriod = Annotated[float, Field(gt=0)]  # ns (the formats' own fields say gt=0 themselves)
PositiveInt = Annotated[int, Field(ge=1, strict=True)]
StrictBool = Annotated[bool, Field(strict=True)]

# The per-layer settings hls4ml 1.3.0 reads besides Precision / ReuseFactor / Strategy / Trace: the keys it reads by
# name (ModelGraph's HLSConfig parsing, ``get_layer_config_value``) and every configurable attribute of a Vivado /
# Vitis layer class (a layer copies each LayerName / LayerType key, snake_cased, into its attributes).
# (fpgaml-format key, key passed to hls4ml, other spellings hls4ml accepts, value type). Type keys (``*_t``) are below.
LAYER_SETTINGS: tuple[tuple[str, str, tuple[str, ...], Any], ...] = (
    ('target_cycles', 'TargetCycles', (), PositiveInt),
    ('conv_implementation', 'ConvImplementation', ('conv_implementation',), ConvImplementationName),
    ('compression', 'Compression', ('compression',), StrictBool),
    ('parallelization_factor', 'ParallelizationFactor', ('parallelization_factor',), PositiveInt),
    ('implementation', 'implementation', ('Implementation',), str),
    ('skip', 'skip', ('Skip',), StrictBool),
    ('static', 'static', ('Static',), StrictBool),
    ('table_size', 'table_size', ('TableSize',), PositiveInt),
    ('table_range_power2', 'table_range_power2', ('TableRangePower2',), int),
    ('time_step_loop_parallelism', 'time_step_loop_parallelism', ('TimeStepLoopParallelism',), str),
    ('algorithm', 'algorithm', ('Algorithm',), str),
    ('direction', 'direction', ('Direction',), str),
    ('recurrent_reuse_factor', 'recurrent_reuse_factor', ('RecurrentReuseFactor',), PositiveInt),
    ('forward_reuse_factor', 'forward_reuse_factor', ('ForwardReuseFactor',), PositiveInt),
    ('backward_reuse_factor', 'backward_reuse_factor', ('BackwardReuseFactor',), PositiveInt),
    ('forward_recurrent_reuse_factor', 'forward_recurrent_reuse_factor', ('ForwardRecurrentReuseFactor',), PositiveInt),
    (
        'backward_recurrent_reuse_factor',
        'backward_recurrent_reuse_factor',
        ('BackwardRecurrentReuseFactor',),
        PositiveInt,
    ),
    ('depthwise_reuse_factor', 'depthwise_reuse_factor', ('DepthwiseReuseFactor',), PositiveInt),
    ('pointwise_reuse_factor', 'pointwise_reuse_factor', ('PointwiseReuseFactor',), PositiveInt),
    ('exp_scale', 'exp_scale', (), float),
    ('n_partitions', 'n_partitions', (), PositiveInt),
    ('bram_factor', 'BramFactor', (), int),
)

# Type attributes hls4ml reads as ``<name>_t`` keys of a LayerName / LayerType entry (fpgaml format: ``precision:
# {<name>: ...}``, which hls4ml reads the same way).
LAYER_TYPE_KEYS = (
    'accum',
    'bias',
    'weight',
    'result',
    'scale',
    'shift',
    'slope',
    'param',
    'table',
    'exp_table',
    'inv_table',
    'inv_inp',
    'inp_norm',
    'embeddings',
    'recurrent_weight',
    'recurrent_bias',
    'depthwise',
    'depthwise_accum',
    'depthwise_result',
    'pointwise',
    'pointwise_accum',
    'forward_weight',
    'forward_bias',
    'forward_recurrent_weight',
    'forward_recurrent_bias',
    'backward_weight',
    'backward_bias',
    'backward_recurrent_weight',
    'backward_recurrent_bias',
)


def _optional_precision(v):
    return v if v is None else _precision(v)


OptionalPrecision = Annotated[str | None, AfterValidator(_optional_precision)]


def settings_fields(hls4ml_format: bool) -> dict:
    """pydantic fields for the LAYER_SETTINGS (and, in hls4ml format, the ``*_t`` type keys)."""
    fields = {}
    for fkey, hkey, others, typ in LAYER_SETTINGS:
        if hls4ml_format:
            names = tuple(dict.fromkeys((hkey,) + others))
            fields[hkey] = (typ | None, Field(None, validation_alias=AliasChoices(*names)))
        else:
            fields[fkey] = (typ | None, None)
    if hls4ml_format:
        for t in LAYER_TYPE_KEYS:
            pascal = ''.join(w.capitalize() for w in t.split('_')) + 'T'
            fields[f'{t}_t'] = (OptionalPrecision, Field(None, validation_alias=AliasChoices(f'{t}_t', pascal)))
    return fields
