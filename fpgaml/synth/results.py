"""What vendor reports say, as typed numbers: one dataclass per report, and :class:`SynthesisResult`, the
reports of one design together (the parsers in :mod:`fpgaml.synth.reports` fill them)."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ['ReportParseError', 'InstanceReport', 'CsynthReport', 'VivadoSynthReport', 'CosimReport', 'SynthesisResult']


class ReportParseError(ValueError):
    """A report file exists but does not have the expected structure."""


@dataclass
class InstanceReport:
    name: str
    module: str
    latency_min: int | None = None
    latency_max: int | None = None
    ii_min: int | None = None
    ii_max: int | None = None
    pipeline_type: str | None = None
    bram_18k: int | None = None
    dsp: int | None = None
    ff: int | None = None
    lut: int | None = None
    uram: int | None = None


@dataclass
class CsynthReport:
    path: str
    tool_version: str | None = None
    part: str | None = None
    top: str | None = None
    target_clock_ns: float | None = None
    estimated_clock_ns: float | None = None
    clock_uncertainty_ns: float | None = None
    latency_min: int | None = None
    latency_max: int | None = None
    ii_min: int | None = None
    ii_max: int | None = None
    pipeline_type: str | None = None
    bram_18k: int | None = None
    dsp: int | None = None
    ff: int | None = None
    lut: int | None = None
    uram: int | None = None
    available: dict[str, int] = field(default_factory=dict)
    instances: list[InstanceReport] = field(default_factory=list)

    @property
    def latency_ns(self) -> float | None:
        if self.latency_max is None or self.target_clock_ns is None:
            return None
        return self.latency_max * self.target_clock_ns


@dataclass
class VivadoSynthReport:
    path: str
    tool_version: str | None = None
    device: str | None = None
    lut: int | None = None
    lut_as_logic: int | None = None
    lut_as_memory: int | None = None
    ff: int | None = None
    dsp: int | None = None
    bram_tiles: float | None = None  # 36 Kb tiles (may be fractional)
    ramb36: int | None = None
    ramb18: int | None = None
    uram: int | None = None
    available: dict[str, int] = field(default_factory=dict)

    @property
    def bram_18k(self) -> int | None:
        if self.ramb18 is None and self.ramb36 is None:
            return None if self.bram_tiles is None else int(round(2 * self.bram_tiles))
        return int((self.ramb18 or 0) + 2 * (self.ramb36 or 0))


@dataclass
class CosimReport:
    path: str
    rtl: str | None = None
    status: str | None = None
    latency_min: int | None = None
    latency_avg: float | None = None
    latency_max: int | None = None
    ii_min: int | None = None
    ii_avg: float | None = None
    ii_max: int | None = None
    total_execution_cycles: int | None = None


@dataclass
class SynthesisResult:
    csynth: CsynthReport | None = None
    vivado_synth: VivadoSynthReport | None = None
    cosim: CosimReport | None = None

    @property
    def latency_cycles(self) -> int | None:
        if self.cosim is not None and self.cosim.latency_max is not None:
            return self.cosim.latency_max
        return self.csynth.latency_max if self.csynth else None

    @property
    def ii_cycles(self) -> int | None:
        return self.csynth.ii_max if self.csynth else None

    def resource(self, name: str) -> tuple[int | None, str | None]:
        """(value, source) of a resource: post-synthesis when available, else csynth."""
        if self.vivado_synth is not None:
            v = getattr(self.vivado_synth, name, None)
            if v is not None:
                return int(v), 'vivado_synth'
        if self.csynth is not None:
            v = getattr(self.csynth, name, None)
            if v is not None:
                return int(v), 'csynth'
        return None, None
