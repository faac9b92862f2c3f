"""hls4ml's YAML config format, as published (e.g. in fastmachinelearning/example-models): ``KerasJson``,
``KerasH5``, ``KerasModel``, ``OutputDir``, ``ProjectName``, ``Part``, ``ClockPeriod``, ``IOType``, ``HLSConfig``,
plus fpgaml's additions under CamelCase keys.

Its own module beside :mod:`fpgaml.config.schema` (the fpgaml format, the sections both formats share and the
resolved :class:`~fpgaml.config.schema.ProjectConfig`): every key hls4ml 1.3.0 reads is declared here, so a typo
or foreign content in an hls4ml-format file is an error.
"""

from __future__ import annotations

from typing import Any

from pydantic import AliasChoices, Field, create_model, field_validator, model_validator
from pydantic_core import PydanticCustomError

from fpgaml.config.schema import PrecisionPolicy as PolicyModel  # the hls4ml-format key of that name shadows it
from fpgaml.config.schema import RtlSettings, Strict, SweepSettings, ToleranceSettings, ValidationSettings
from fpgaml.config.values import (
    BackendName,
    BitExactMode,
    ConvImplementationName,
    ExtensionList,
    IOTypeName,
    LayerStrategyName,
    PartName,
    PositiveInt,
    PrecisionStr,
    ReuseFactorInt,
    StrategyName,
    StrictBool,
    choice,
    settings_fields,
)
from fpgaml.target.budgets import Budgets as BudgetsModel


class _HlsLayerConfigBase(Strict):
    Precision: PrecisionStr | dict[str, PrecisionStr] | None = None
    ReuseFactor: ReuseFactorInt | None = None
    Strategy: LayerStrategyName | None = None
    Trace: StrictBool | None = None

    @model_validator(mode='before')
    @classmethod
    def _one_spelling(cls, data: Any) -> Any:
        """hls4ml's own ``config_from_keras_model`` writes some keys twice (``Static`` and ``static``): the
        spellings of one setting are accepted together when they agree, and refused when they do not."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        for field in cls.model_fields.values():
            if not isinstance(field.validation_alias, AliasChoices):
                continue
            present = [c for c in field.validation_alias.choices if isinstance(c, str) and c in data]
            for other in present[1:]:
                if data[other] != data[present[0]]:
                    raise PydanticCustomError(
                        'conflicting_spellings',
                        '"{a}: {va}" and "{b}: {vb}" are one setting with two values; keep one of them',
                        {'a': present[0], 'va': str(data[present[0]]), 'b': other, 'vb': str(data[other])},
                    )
                del data[other]
        return data


# Every per-layer key hls4ml 1.3.0 reads from a LayerName / LayerType entry.
HlsLayerConfig = create_model('HlsLayerConfig', __base__=_HlsLayerConfigBase, **settings_fields(True))


PIPELINE_STYLES = ('auto', 'pipeline', 'dataflow')


class WriterSettings(Strict):
    """hls4ml 1.3.0's WriterConfig keys (read by its Vivado / Vitis writers). fpgaml writes the project itself
    with weights in firmware/weights/*.txt; these are validated so a typo or foreign content is an error."""

    Namespace: str | None = Field(None, pattern=r'^[A-Za-z_][A-Za-z0-9_]*$')
    WriteWeightsTxt: StrictBool | None = None
    WriteTar: StrictBool | None = None
    WriteEmulationConstants: StrictBool | None = None


class HlsModelConfig(Strict):
    Precision: PrecisionStr | dict[str, PrecisionStr] = 'fixed<16,6>'
    ReuseFactor: ReuseFactorInt = 1
    Strategy: StrategyName = 'Latency'
    BramFactor: int | None = None
    TraceOutput: StrictBool | None = None
    BitExact: BitExactMode | None = None
    # passed through to hls4ml (HLSConfig.Model keys it reads)
    TargetCycles: PositiveInt | None = None
    ConvImplementation: ConvImplementationName | None = None
    Compression: StrictBool | None = None
    PipelineStyle: str | None = None
    PipelineInterval: PositiveInt | None = None
    ParallelizationFactor: PositiveInt | None = None

    @field_validator('PipelineStyle')
    @classmethod
    def _ps(cls, v):
        return v if v is None else choice(v, PIPELINE_STYLES, 'pipeline style')

    def hls4ml_extra(self) -> dict[str, Any]:
        keys = (
            'TargetCycles',
            'ConvImplementation',
            'Compression',
            'PipelineStyle',
            'PipelineInterval',
            'ParallelizationFactor',
        )
        return {k: getattr(self, k) for k in keys if getattr(self, k) is not None}


class HlsConfigSection(Strict):
    Model: HlsModelConfig = HlsModelConfig()
    LayerType: dict[str, HlsLayerConfig] = {}
    LayerName: dict[str, HlsLayerConfig] = {}


class Hls4mlFormat(Strict):
    KerasJson: str | None = None
    KerasH5: str | None = None
    KerasModel: str | None = None
    OutputDir: str = 'my-hls-test'
    ProjectName: str = Field('myproject', pattern=r'^[A-Za-z_][A-Za-z0-9_]*$')
    Backend: BackendName = 'Vivado'
    Part: PartName = 'xcvu9p-flga2104-2L-e'
    Board: str | None = None
    ClockPeriod: float = Field(5.0, gt=0)
    ClockUncertainty: str | float | None = None
    IOType: IOTypeName = 'io_parallel'
    HLSConfig: HlsConfigSection = HlsConfigSection()
    Version: str | None = None
    Stamp: str | None = None
    WriterConfig: WriterSettings | None = None
    InputData: str | None = None
    OutputPredictions: str | None = None
    # fpgaml additions, accepted in hls4ml-format files too
    BitExact: BitExactMode = 'auto'
    Validation: ValidationSettings = ValidationSettings()
    Tolerance: ToleranceSettings = ToleranceSettings()
    Budgets: BudgetsModel | None = None
    PrecisionPolicy: str | PolicyModel | None = None  # fpgaml addition: see PrecisionPolicy
    TrustModel: bool = False  # fpgaml addition: see FpgamlFormat.trust_model
    Extensions: ExtensionList = []  # fpgaml addition: see FpgamlFormat.extensions
    Sweep: SweepSettings | None = None  # fpgaml addition: see FpgamlFormat.sweep
    Rtl: RtlSettings | None = None  # fpgaml addition: see FpgamlFormat.rtl

    @field_validator('PrecisionPolicy')
    @classmethod
    def _pp(cls, v):
        return PolicyModel(policy=v) if isinstance(v, str) else v

    @model_validator(mode='after')
    def _model_source(self):
        if self.KerasModel and (self.KerasJson or self.KerasH5):
            raise ValueError('give either KerasModel or KerasJson + KerasH5, not both')
        if not self.KerasModel and not self.KerasJson and not self.KerasH5:
            raise ValueError(
                'no model given: set KerasJson + KerasH5 (architecture + weights), KerasH5 alone '
                '(a whole saved model), or KerasModel'
            )
        if self.KerasJson and not self.KerasH5:
            raise ValueError('KerasJson needs KerasH5 (the weights file) beside it')
        return self
