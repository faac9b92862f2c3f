"""The two accepted YAML formats, as pydantic models, and the one typed config they resolve to.

* fpgaml format (snake_case keys, documented in the README): ``model``, ``name``, ``strategy`` ... (here, with
  the sections both formats share: validation, tolerance, sweep, rtl);
* hls4ml format (as published, e.g. in fastmachinelearning/example-models): ``KerasJson``, ``KerasH5``,
  ``KerasModel``, ``OutputDir``, ``ProjectName``, ``Part``, ``ClockPeriod``, ``IOType``, ``HLSConfig``
  (:mod:`fpgaml.config.hls4ml_format`).

Both resolve to :class:`ProjectConfig`, the only config object the rest of fpgaml sees. The value types both
formats share (one rule and one message each) and the per-layer settings table are :mod:`fpgaml.config.values`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, create_model, field_validator, model_validator
from pydantic_core import PydanticCustomError

from fpgaml.config.overrides import check_grid
from fpgaml.config.values import (
    LAYER_SETTINGS,
    BackendName,
    BitExactMode,
    ExtensionList,
    IOTypeName,
    PartName,
    PrecisionStr,
    ReuseFactorInt,
    StrategyName,
    StrictBool,
    choice,
    settings_fields,
)
from fpgaml.errors import suggest
from fpgaml.target.budgets import Budgets as BudgetsModel


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


# --------------------------------------------------------------------------------------------------
# fpgaml format
# --------------------------------------------------------------------------------------------------


class ModelFiles(Strict):
    file: str | None = Field(None, description='A whole saved model: .h5 (Keras 2 / QKeras) or .keras (Keras 3)')
    json_: str | None = Field(None, alias='json', description='JSON architecture (use with weights)')
    weights: str | None = Field(None, description='HDF5 weights for the JSON architecture')

    @model_validator(mode='after')
    def _one_source(self):
        if self.file and (self.json_ or self.weights):
            raise ValueError('give either "file" or "json" + "weights", not both')
        if not self.file and not (self.json_ and self.weights):
            raise ValueError(
                'give the model as "file: model.h5" (or .keras), or as "json: arch.json" plus "weights: weights.h5"'
            )
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
        return choice(v, PRECISION_POLICIES, 'precision policy')


class PrecisionSettings(Strict):
    default: PrecisionStr = 'fixed<16,6>'
    input: PrecisionStr | None = None
    policy: str | None = None
    width: int | None = Field(None, ge=4, le=64)
    margin: int | None = Field(None, ge=0, le=16)

    @field_validator('policy')
    @classmethod
    def _p(cls, v):
        return v if v is None else choice(v, PRECISION_POLICIES, 'precision policy')


class _LayerSettingsInBase(Strict):
    precision: PrecisionStr | dict[str, PrecisionStr] | None = None
    reuse_factor: ReuseFactorInt | None = None
    strategy: StrategyName | None = None

    def hls4ml_extra(self) -> dict[str, Any]:
        """The LAYER_SETTINGS that were set, under the keys hls4ml reads."""
        return {hkey: getattr(self, fkey) for fkey, hkey, _, _ in LAYER_SETTINGS if getattr(self, fkey) is not None}


LayerSettingsIn = create_model('LayerSettingsIn', __base__=_LayerSettingsInBase, **settings_fields(False))


class ValidationSettings(Strict):
    data: str | None = Field(None, description='.npy (inputs) or .npz (keys x [and y]) validation inputs')
    samples: int = Field(1000, description='number of samples (generated, or taken from data)', ge=1)
    seed: int = 0


class ToleranceSettings(Strict):
    max_abs_diff: float | None = Field(None, ge=0)
    mean_abs_diff: float | None = Field(None, ge=0)
    argmax_agreement: float | None = Field(None, ge=0, le=1)


class SweepSettings(Strict):
    """``sweep:``: the design-space grid ``fpgaml sweep`` runs (``--grid`` on the command line overrides a key)."""

    grid: dict[str, Any] = Field(default_factory=dict, description='KEY: [values] (see fpgaml.config.overrides)')
    samples: int | None = Field(None, ge=1, description='validation samples C-simulated per point')

    @field_validator('grid')
    @classmethod
    def _grid(cls, v):
        return check_grid(v)


class RtlSettings(Strict):
    """``fpgaml rtl`` (da4ml Verilog, Verilator, Yosys); ``Rtl:`` in hls4ml-format files."""

    pipeline_cutoff: float | None = Field(
        None, ge=0, description='delay per pipeline stage in da4ml units (about one adder); 0: combinational. Default 5'
    )
    synth: StrictBool | None = Field(None, description='run Yosys synth_xilinx (default true)')
    samples: int | None = Field(
        None,
        ge=1,
        description='at least this many samples in the RTL simulation '
        '(validation data, then generated full-range samples; default 10000)',
    )
    dsp: StrictBool | None = Field(None, description='let Yosys put multiplies in DSPs (default false)')
    backend: Literal['da4ml', 'alkaid'] | None = Field(
        None,
        description='the library that traces the arithmetic and writes the Verilog: da4ml (0.6.0) or alkaid '
        '(0.8, da4ml renamed; fuses adders into ternary adders); default: fpgaml.rtl.backend.DEFAULT',
    )
    output: str | None = Field(None, description='project folder for the RTL run (default: output_dir)')


class FpgamlFormat(Strict):
    model: str | ModelFiles
    name: str = Field(pattern=r'^[A-Za-z_][A-Za-z0-9_]*$')
    output_dir: str | None = None
    backend: BackendName = 'Vivado'
    part: PartName = 'xcvu9p-flga2104-2L-e'
    clock_period: float = Field(5.0, gt=0)
    io_type: IOTypeName = 'io_parallel'
    strategy: StrategyName = 'Latency'
    reuse_factor: ReuseFactorInt = 1
    precision: PrecisionStr | PrecisionSettings = PrecisionSettings()
    layers: dict[str, LayerSettingsIn] = {}
    bit_exact: BitExactMode = 'auto'
    validation: ValidationSettings = ValidationSettings()
    tolerance: ToleranceSettings = ToleranceSettings()
    budgets: BudgetsModel | None = None
    trust_model: bool = False  # load Lambda layers / unknown custom objects (code from the model file)
    extensions: ExtensionList = []  # Python modules registering custom layers with hls4ml (need trust)
    sweep: SweepSettings | None = None
    rtl: RtlSettings | None = None

    @field_validator('precision')
    @classmethod
    def _p(cls, v):
        return PrecisionSettings(default=v) if isinstance(v, str) else v


# --------------------------------------------------------------------------------------------------
# The resolved config
# --------------------------------------------------------------------------------------------------


class LayerSettings(BaseModel):
    """Settings for one layer (or one layer type), already validated. Keys follow hls4ml's names."""

    model_config = ConfigDict(extra='forbid')
    precision: str | dict[str, str] | None = None
    reuse_factor: int | None = None
    strategy: str | None = None
    trace: bool | None = None
    extra: dict[str, Any] = {}
    line: int = 0  # where it was written, for error messages


class ModelSource(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    file: Path | None = None  # whole model (.h5/.keras)
    json_: Path | None = Field(None, alias='json')
    weights: Path | None = None
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
    clock_uncertainty: str | float | None = None
    io_type: str
    strategy: str
    reuse_factor: int
    default_precision: str | dict[str, str]
    input_precision: str | None = None
    layer_patterns: dict[str, LayerSettings] = {}  # by exact name or glob
    layer_types: dict[str, LayerSettings] = {}  # by hls4ml class name
    bit_exact: Literal['auto', 'on', 'off'] = 'auto'
    validation: ValidationSettings = ValidationSettings()
    validation_data: Path | None = None
    tolerance: ToleranceSettings = ToleranceSettings()
    budgets: BudgetsModel | None = None
    bram_factor: int | None = None
    model_settings: dict[str, Any] = {}  # other HLSConfig.Model keys, passed to hls4ml as given
    precision_policy: PrecisionPolicy = PrecisionPolicy()
    default_precision_explicit: bool = False  # the config file set the model-wide precision itself
    sweep: SweepSettings | None = None  # the ``sweep:`` section (used by ``fpgaml sweep`` only)
    rtl: RtlSettings | None = None

    def summary(self) -> dict:
        return self.model_dump(mode='json')
