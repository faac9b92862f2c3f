"""The two accepted YAML formats, as pydantic models, and the one typed config they resolve to.

* fpgaml format (snake_case keys, documented in the README): ``model``, ``name``, ``strategy`` ...
* hls4ml format (as published, e.g. in fastmachinelearning/example-models): ``KerasJson``, ``KerasH5``,
  ``KerasModel``, ``OutputDir``, ``ProjectName``, ``Part``, ``ClockPeriod``, ``IOType``, ``HLSConfig``.

Both resolve to :class:`ProjectConfig`, the only config object the rest of fpgaml sees.

Size: over 400 lines because both formats and every key hls4ml 1.3.0 accepts are declared here, in one place,
with their validators; splitting them would separate the two spellings of the same setting.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal, Optional, Union

from pydantic import (AfterValidator, AliasChoices, BaseModel, BeforeValidator, ConfigDict, Field, create_model,
                      field_validator, model_validator)
from pydantic_core import PydanticCustomError

from fpgaml.config.precision import PrecisionError, normalize
from fpgaml.errors import suggest
from fpgaml.target.budgets import Budgets as BudgetsModel
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


class Strict(BaseModel):
    """Unknown keys are errors, with a suggestion for a likely typo."""

    model_config = ConfigDict(extra='forbid', populate_by_name=True, frozen=False)

    @model_validator(mode='before')
    @classmethod
    def _unknown_keys(cls, data: Any) -> Any:
        if isinstance(data, dict):
            accepted, also = [], set()
            for name, field in cls.model_fields.items():
                accepted.append(field.alias or name)
                if isinstance(field.validation_alias, AliasChoices):
                    also |= {c for c in field.validation_alias.choices if isinstance(c, str)}
            for key in data:
                if key not in accepted and key not in also:
                    raise PydanticCustomError(
                        'unknown_key',
                        'unknown key "{key}"{hint}; accepted keys here: {accepted}',
                        {'key': str(key), 'hint': suggest(str(key), accepted), 'accepted': ', '.join(accepted)},
                    )
        return data


def _choice(value: Any, choices: tuple[str, ...], what: str) -> str:
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
    here and translated where the hls4ml config is made (fpgaml.convert.hlsconfig), which says so."""
    choices = CONV_IMPLEMENTATIONS + tuple(OLD_CONV_IMPLEMENTATIONS)
    if isinstance(value, str):
        for c in choices:
            if value.lower() == c.lower():
                return c
    old = ', '.join(f'{k} (hls4ml before 1.3, read as {v})' for k, (v, _) in OLD_CONV_IMPLEMENTATIONS.items())
    shown = f'"{value}"' if isinstance(value, str) else repr(value)
    hint = suggest(value, choices) if isinstance(value, str) else ''
    raise ValueError(f'unknown conv implementation {shown}{hint}; accepted: {", ".join(CONV_IMPLEMENTATIONS)} '
                     f'(hls4ml 1.3.0), {old}')


def _bit_exact(value: Any) -> str:
    if isinstance(value, bool):  # YAML reads on/off as booleans
        return 'on' if value else 'off'
    return _choice(value, BIT_EXACT, 'bit_exact mode')


# Validated value types, shared by both formats (one rule each, one message each).
ReuseFactorInt = Annotated[int, BeforeValidator(_reuse)]
StrategyName = Annotated[str, AfterValidator(lambda v: _choice(v, STRATEGIES, 'strategy'))]
LayerStrategyName = Annotated[str, AfterValidator(lambda v: _choice(v, STRATEGIES + SOFTMAX_STRATEGIES, 'strategy'))]
BackendName = Annotated[str, AfterValidator(lambda v: _choice(v, BACKENDS, 'backend'))]
IOTypeName = Annotated[str, AfterValidator(lambda v: _choice(v, IO_TYPES, 'io_type'))]
PartName = Annotated[str, AfterValidator(_part)]
BitExactMode = Annotated[str, BeforeValidator(_bit_exact)]
ConvImplementationName = Annotated[str, BeforeValidator(_conv_implementation)]


def _extension(value: Any) -> str:
    """An ``extensions`` entry: a Python file (``my_layers.py``, relative to the config file) or an importable
    module name (``my_package.hls_layers``); resolved in fpgaml.config."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f'an extension is a Python file (my_layers.py) or a module name (my_package.layers), '
                         f'got {value!r}')
    return value.strip()


ExtensionName = Annotated[str, BeforeValidator(_extension)]
ExtensionList = Annotated[list[ExtensionName], BeforeValidator(lambda v: [v] if isinstance(v, str) else v)]


# --------------------------------------------------------------------------------------------------
# fpgaml format
# --------------------------------------------------------------------------------------------------


class ModelFiles(Strict):
    file: Optional[str] = Field(None, description='A whole saved model: .h5 (Keras 2 / QKeras) or .keras (Keras 3)')
    json_: Optional[str] = Field(None, alias='json', description='JSON architecture (use with weights)')
    weights: Optional[str] = Field(None, description='HDF5 weights for the JSON architecture')

    @model_validator(mode='after')
    def _one_source(self):
        if self.file and (self.json_ or self.weights):
            raise ValueError('give either "file" or "json" + "weights", not both')
        if not self.file and not (self.json_ and self.weights):
            raise ValueError('give the model as "file: model.h5" (or .keras), or as "json: arch.json" plus '
                             '"weights: weights.h5"')
        return self


PRECISION_POLICIES = ('auto', 'profile', 'default')


class PrecisionPolicy(Strict):
    """How fpgaml chooses the types of layers the user did not set.

    * ``profile``: run the model on calibration inputs (the validation data, else the generated validation
      samples) and give each layer's result the integer bits its observed range needs (plus ``margin``
      bits, saturating) and the rest of ``width`` as fractional bits; weights and biases get the integer
      bits of their largest value. Never overrides a precision set explicitly (per layer, per layer type,
      or a model-wide default given in the config when the policy is ``auto``).
    * ``default``: every unset type is the model-wide default precision (hls4ml's behaviour).
    * ``auto`` (the default): ``profile`` for float (not fully quantized) models whose config sets no
      model-wide precision; ``default`` otherwise. Quantized models use their quantizers (bit-exact mode).
    """

    policy: str = 'auto'
    width: int = Field(18, ge=4, le=64, description='total bits of profiled result/weight types')
    margin: int = Field(1, ge=0, le=16, description='extra integer bits above the observed range')
    samples: int = Field(1000, ge=1, description='calibration samples (at most)')

    @field_validator('policy')
    @classmethod
    def _p(cls, v):
        return _choice(v, PRECISION_POLICIES, 'precision policy')


PolicyModel = PrecisionPolicy  # (the hls4ml-format key of the same name shadows the class there)


class PrecisionSettings(Strict):
    default: PrecisionStr = 'fixed<16,6>'
    input: Optional[PrecisionStr] = None
    policy: Optional[str] = None
    width: Optional[int] = Field(None, ge=4, le=64)
    margin: Optional[int] = Field(None, ge=0, le=16)

    @field_validator('policy')
    @classmethod
    def _p(cls, v):
        return v if v is None else _choice(v, PRECISION_POLICIES, 'precision policy')


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
    ('backward_recurrent_reuse_factor', 'backward_recurrent_reuse_factor', ('BackwardRecurrentReuseFactor',),
     PositiveInt),
    ('depthwise_reuse_factor', 'depthwise_reuse_factor', ('DepthwiseReuseFactor',), PositiveInt),
    ('pointwise_reuse_factor', 'pointwise_reuse_factor', ('PointwiseReuseFactor',), PositiveInt),
    ('exp_scale', 'exp_scale', (), float),
    ('n_partitions', 'n_partitions', (), PositiveInt),
    ('bram_factor', 'BramFactor', (), int),
)

# Type attributes hls4ml reads as ``<name>_t`` keys of a LayerName / LayerType entry (fpgaml format: ``precision:
# {<name>: ...}``, which hls4ml reads the same way).
LAYER_TYPE_KEYS = (
    'accum', 'bias', 'weight', 'result', 'scale', 'shift', 'slope', 'param', 'table', 'exp_table', 'inv_table',
    'inv_inp', 'inp_norm', 'embeddings', 'recurrent_weight', 'recurrent_bias', 'depthwise', 'depthwise_accum',
    'depthwise_result', 'pointwise', 'pointwise_accum', 'forward_weight', 'forward_bias', 'forward_recurrent_weight',
    'forward_recurrent_bias', 'backward_weight', 'backward_bias', 'backward_recurrent_weight', 'backward_recurrent_bias',
)


def _optional_precision(v):
    return v if v is None else _precision(v)


OptionalPrecision = Annotated[Optional[str], AfterValidator(_optional_precision)]


def _settings_fields(hls4ml_format: bool) -> dict:
    """pydantic fields for the LAYER_SETTINGS (and, in hls4ml format, the ``*_t`` type keys)."""
    fields = {}
    for fkey, hkey, others, typ in LAYER_SETTINGS:
        if hls4ml_format:
            names = tuple(dict.fromkeys((hkey,) + others))
            fields[hkey] = (Optional[typ], Field(None, validation_alias=AliasChoices(*names)))
        else:
            fields[fkey] = (Optional[typ], None)
    if hls4ml_format:
        for t in LAYER_TYPE_KEYS:
            pascal = ''.join(w.capitalize() for w in t.split('_')) + 'T'
            fields[f'{t}_t'] = (OptionalPrecision, Field(None, validation_alias=AliasChoices(f'{t}_t', pascal)))
    return fields


class _LayerSettingsInBase(Strict):
    precision: Union[PrecisionStr, dict[str, PrecisionStr], None] = None
    reuse_factor: Optional[ReuseFactorInt] = None
    strategy: Optional[StrategyName] = None

    def hls4ml_extra(self) -> dict[str, Any]:
        """The LAYER_SETTINGS that were set, under the keys hls4ml reads."""
        return {hkey: getattr(self, fkey) for fkey, hkey, _, _ in LAYER_SETTINGS if getattr(self, fkey) is not None}


LayerSettingsIn = create_model('LayerSettingsIn', __base__=_LayerSettingsInBase, **_settings_fields(False))


class ValidationSettings(Strict):
    data: Optional[str] = Field(None, description='.npy (inputs) or .npz (keys x [and y]) validation inputs')
    samples: int = Field(1000, description='number of samples (generated, or taken from data)', ge=1)
    seed: int = 0


class ToleranceSettings(Strict):
    max_abs_diff: Optional[float] = Field(None, ge=0)
    mean_abs_diff: Optional[float] = Field(None, ge=0)
    argmax_agreement: Optional[float] = Field(None, ge=0, le=1)


class SweepSettings(Strict):
    """``sweep:``: the design-space grid ``fpgaml sweep`` runs (``--grid`` on the command line overrides a key)."""

    grid: dict[str, Any] = Field(default_factory=dict, description='KEY: [values] (see fpgaml.sweep.grid)')
    samples: Optional[int] = Field(None, ge=1, description='validation samples C-simulated per point')

    @field_validator('grid')
    @classmethod
    def _grid(cls, v):
        from fpgaml.sweep.grid import check_grid

        return check_grid(v)


class RtlSettings(Strict):
    """``fpgaml rtl`` (da4ml Verilog, Verilator, Yosys); ``Rtl:`` in hls4ml-format files."""

    pipeline_cutoff: Optional[float] = Field(None, ge=0, description='delay per pipeline stage in da4ml units '
                                             '(about one adder); 0: combinational. Default 5')
    synth: Optional[StrictBool] = Field(None, description='run Yosys synth_xilinx (default true)')
    samples: Optional[int] = Field(None, ge=1, description='at least this many samples in the RTL simulation '
                                   '(validation data, then generated full-range samples; default 10000)')
    dsp: Optional[StrictBool] = Field(None, description='let Yosys put multiplies in DSPs (default false)')
    output: Optional[str] = Field(None, description='project folder for the RTL run (default: output_dir)')


class FpgamlFormat(Strict):
    model: Union[str, ModelFiles]
    name: str = Field(pattern=r'^[A-Za-z_][A-Za-z0-9_]*$')
    output_dir: Optional[str] = None
    backend: BackendName = 'Vivado'
    part: PartName = 'xcvu9p-flga2104-2L-e'
    clock_period: float = Field(5.0, gt=0)
    io_type: IOTypeName = 'io_parallel'
    strategy: StrategyName = 'Latency'
    reuse_factor: ReuseFactorInt = 1
    precision: Union[PrecisionStr, PrecisionSettings] = PrecisionSettings()
    layers: dict[str, LayerSettingsIn] = {}
    bit_exact: BitExactMode = 'auto'
    validation: ValidationSettings = ValidationSettings()
    tolerance: ToleranceSettings = ToleranceSettings()
    budgets: Optional[BudgetsModel] = None
    trust_model: bool = False  # load Lambda layers / unknown custom objects (code from the model file)
    extensions: ExtensionList = []  # Python modules registering custom layers with hls4ml (need trust)
    sweep: Optional[SweepSettings] = None
    rtl: Optional[RtlSettings] = None

    @field_validator('precision')
    @classmethod
    def _p(cls, v):
        return PrecisionSettings(default=v) if isinstance(v, str) else v


# --------------------------------------------------------------------------------------------------
# hls4ml format
# --------------------------------------------------------------------------------------------------

class _HlsLayerConfigBase(Strict):
    Precision: Union[PrecisionStr, dict[str, PrecisionStr], None] = None
    ReuseFactor: Optional[ReuseFactorInt] = None
    Strategy: Optional[LayerStrategyName] = None
    Trace: Optional[StrictBool] = None

    @model_validator(mode='before')
    @classmethod
    def _one_spelling(cls, data: Any) -> Any:
        """hls4ml's own ``config_from_keras_model`` writes some keys twice (``Static`` and ``static``): the
        spellings of one setting are accepted together when they agree, and refused when they do not."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        for name, field in cls.model_fields.items():
            if not isinstance(field.validation_alias, AliasChoices):
                continue
            present = [c for c in field.validation_alias.choices if isinstance(c, str) and c in data]
            for other in present[1:]:
                if data[other] != data[present[0]]:
                    raise PydanticCustomError(
                        'conflicting_spellings', '"{a}: {va}" and "{b}: {vb}" are one setting with two values; '
                        'keep one of them',
                        {'a': present[0], 'va': str(data[present[0]]), 'b': other, 'vb': str(data[other])})
                del data[other]
        return data


# Every per-layer key hls4ml 1.3.0 reads from a LayerName / LayerType entry.
HlsLayerConfig = create_model('HlsLayerConfig', __base__=_HlsLayerConfigBase, **_settings_fields(True))


PIPELINE_STYLES = ('auto', 'pipeline', 'dataflow')


class WriterSettings(Strict):
    """hls4ml 1.3.0's WriterConfig keys (read by its Vivado / Vitis writers). fpgaml writes the project itself
    with weights in firmware/weights/*.txt; these are validated so a typo or foreign content is an error."""

    Namespace: Optional[str] = Field(None, pattern=r'^[A-Za-z_][A-Za-z0-9_]*$')
    WriteWeightsTxt: Optional[StrictBool] = None
    WriteTar: Optional[StrictBool] = None
    WriteEmulationConstants: Optional[StrictBool] = None


class HlsModelConfig(Strict):
    Precision: Union[PrecisionStr, dict[str, PrecisionStr]] = 'fixed<16,6>'
    ReuseFactor: ReuseFactorInt = 1
    Strategy: StrategyName = 'Latency'
    BramFactor: Optional[int] = None
    TraceOutput: Optional[StrictBool] = None
    BitExact: Optional[BitExactMode] = None
    # passed through to hls4ml (HLSConfig.Model keys it reads)
    TargetCycles: Optional[PositiveInt] = None
    ConvImplementation: Optional[ConvImplementationName] = None
    Compression: Optional[StrictBool] = None
    PipelineStyle: Optional[str] = None
    PipelineInterval: Optional[PositiveInt] = None
    ParallelizationFactor: Optional[PositiveInt] = None

    @field_validator('PipelineStyle')
    @classmethod
    def _ps(cls, v):
        return v if v is None else _choice(v, PIPELINE_STYLES, 'pipeline style')

    def hls4ml_extra(self) -> dict[str, Any]:
        keys = ('TargetCycles', 'ConvImplementation', 'Compression', 'PipelineStyle', 'PipelineInterval',
                'ParallelizationFactor')
        return {k: getattr(self, k) for k in keys if getattr(self, k) is not None}


class HlsConfigSection(Strict):
    Model: HlsModelConfig = HlsModelConfig()
    LayerType: dict[str, HlsLayerConfig] = {}
    LayerName: dict[str, HlsLayerConfig] = {}


class Hls4mlFormat(Strict):
    KerasJson: Optional[str] = None
    KerasH5: Optional[str] = None
    KerasModel: Optional[str] = None
    OutputDir: str = 'my-hls-test'
    ProjectName: str = Field('myproject', pattern=r'^[A-Za-z_][A-Za-z0-9_]*$')
    Backend: BackendName = 'Vivado'
    Part: PartName = 'xcvu9p-flga2104-2L-e'
    Board: Optional[str] = None
    ClockPeriod: float = Field(5.0, gt=0)
    ClockUncertainty: Optional[Union[str, float]] = None
    IOType: IOTypeName = 'io_parallel'
    HLSConfig: HlsConfigSection = HlsConfigSection()
    Version: Optional[str] = None
    Stamp: Optional[str] = None
    WriterConfig: Optional[WriterSettings] = None
    InputData: Optional[str] = None
    OutputPredictions: Optional[str] = None
    # fpgaml additions, accepted in hls4ml-format files too
    BitExact: BitExactMode = 'auto'
    Validation: ValidationSettings = ValidationSettings()
    Tolerance: ToleranceSettings = ToleranceSettings()
    Budgets: Optional[BudgetsModel] = None
    PrecisionPolicy: Union[str, PolicyModel, None] = None  # fpgaml addition: see PrecisionPolicy
    TrustModel: bool = False  # fpgaml addition: see FpgamlFormat.trust_model
    Extensions: ExtensionList = []  # fpgaml addition: see FpgamlFormat.extensions
    Sweep: Optional[SweepSettings] = None  # fpgaml addition: see FpgamlFormat.sweep
    Rtl: Optional[RtlSettings] = None  # fpgaml addition: see FpgamlFormat.rtl

    @field_validator('PrecisionPolicy')
    @classmethod
    def _pp(cls, v):
        return PolicyModel(policy=v) if isinstance(v, str) else v

    @model_validator(mode='after')
    def _model_source(self):
        if self.KerasModel and (self.KerasJson or self.KerasH5):
            raise ValueError('give either KerasModel or KerasJson + KerasH5, not both')
        if not self.KerasModel and not self.KerasJson and not self.KerasH5:
            raise ValueError('no model given: set KerasJson + KerasH5 (architecture + weights), KerasH5 alone '
                             '(a whole saved model), or KerasModel')
        if self.KerasJson and not self.KerasH5:
            raise ValueError('KerasJson needs KerasH5 (the weights file) beside it')
        return self


# --------------------------------------------------------------------------------------------------
# The resolved config
# --------------------------------------------------------------------------------------------------


class LayerSettings(BaseModel):
    """Settings for one layer (or one layer type), already validated. Keys follow hls4ml's names."""

    model_config = ConfigDict(extra='forbid')
    precision: Union[str, dict[str, str], None] = None
    reuse_factor: Optional[int] = None
    strategy: Optional[str] = None
    trace: Optional[bool] = None
    extra: dict[str, Any] = {}
    line: int = 0  # where it was written, for error messages


class ModelSource(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    file: Optional[Path] = None  # whole model (.h5/.keras)
    json_: Optional[Path] = Field(None, alias='json')
    weights: Optional[Path] = None
    trust: bool = False  # the user vouches for the file: skip fpgaml.frontend.safety's architecture check
    # Python modules that register custom layers with hls4ml (fpgaml.frontend.extensions): absolute paths of .py
    # files or importable module names; code, so loaded only with ``trust``. ``extensions_at``: "config:line: key".
    extensions: list[str] = []
    extensions_at: str = ''

    def describe(self) -> str:
        return str(self.file) if self.file else f'{self.json_} + {self.weights}'

    def paths(self) -> list[Path]:
        return [p for p in (self.file, self.json_, self.weights) if p is not None]


class ProjectConfig(BaseModel):
    """Everything fpgaml needs to build one firmware project; the only config the pipeline sees."""

    model_config = ConfigDict(extra='forbid')
    source: Path  # the YAML file
    format: Literal['fpgaml', 'hls4ml']
    model: ModelSource
    name: str
    output_dir: Path
    backend: str
    part: str
    clock_period: float
    clock_uncertainty: Optional[Union[str, float]] = None
    io_type: str
    strategy: str
    reuse_factor: int
    default_precision: Union[str, dict[str, str]]
    input_precision: Optional[str] = None
    layer_patterns: dict[str, LayerSettings] = {}  # by exact name or glob
    layer_types: dict[str, LayerSettings] = {}  # by hls4ml class name
    bit_exact: Literal['auto', 'on', 'off'] = 'auto'
    validation: ValidationSettings = ValidationSettings()
    validation_data: Optional[Path] = None
    tolerance: ToleranceSettings = ToleranceSettings()
    budgets: Optional[BudgetsModel] = None
    bram_factor: Optional[int] = None
    model_settings: dict[str, Any] = {}  # other HLSConfig.Model keys, passed to hls4ml as given
    precision_policy: PrecisionPolicy = PrecisionPolicy()
    default_precision_explicit: bool = False  # the config file set the model-wide precision itself
    sweep: Optional[SweepSettings] = None  # the ``sweep:`` section (used by ``fpgaml sweep`` only)
    rtl: Optional[RtlSettings] = None

    def summary(self) -> dict:
        return self.model_dump(mode='json')
