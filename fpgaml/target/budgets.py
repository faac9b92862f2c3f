"""Latency / throughput / resource budgets and their check against an estimate.

YAML form (all keys optional)::

    budgets:
      max_latency_ns: 100          # or max_latency_cycles: 20
      max_ii_cycles: 1             # minimum throughput, as the largest acceptable initiation interval
      max_resources:
        dsp: 1000                  # absolute count
        lut: "60%"                 # percent of the target part
      kind: synth                  # which estimate is checked: synth (post-synthesis, default) or csynth
      margin: band                 # check the upper edge of the estimate's uncertainty band (default: none)
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from fpgaml.resources import RESOURCES as RESOURCE_NAMES

__all__ = ['Budgets', 'BudgetResult', 'check_budgets', 'RESOURCE_NAMES']

_PCT = re.compile(r'^\s*(\d+(?:\.\d+)?)\s*%\s*$')

ResourceLimit = int | str


class Budgets(BaseModel):
    """Limits a design must meet.  Unknown keys are rejected."""

    model_config = ConfigDict(extra='forbid')

    max_latency_ns: float | None = Field(default=None, gt=0)
    max_latency_cycles: int | None = Field(default=None, gt=0)
    max_ii_cycles: int | None = Field(default=None, gt=0)
    max_resources: dict[str, ResourceLimit] = Field(default_factory=dict)
    kind: Literal['synth', 'csynth'] = 'synth'
    margin: Literal['none', 'band'] = 'none'

    @field_validator('max_resources', mode='before')
    @classmethod
    def _check_resources(cls, v) -> dict:
        if v is None:
            return {}
        if not isinstance(v, dict):
            raise ValueError("max_resources must be a mapping like {dsp: 1000, lut: '60%'}")
        for name, limit in v.items():
            if name not in RESOURCE_NAMES:
                raise ValueError(f'unknown resource {name!r}; accepted: {", ".join(RESOURCE_NAMES)}')
            if isinstance(limit, bool):
                raise ValueError(f"{name}: limit must be an integer count or a percentage string like '50%'")
            if isinstance(limit, int):
                if limit < 0:
                    raise ValueError(f'{name}: limit must be >= 0, got {limit}')
            elif isinstance(limit, str):
                m = _PCT.match(limit)
                if not m:
                    raise ValueError(f"{name}: {limit!r} is not a percentage like '50%' (or give an integer count)")
                if not 0 < float(m.group(1)) <= 100:
                    raise ValueError(f'{name}: percentage must be in (0, 100], got {limit!r}')
            else:
                raise ValueError(f"{name}: limit must be an integer count or a percentage string like '50%'")
        return v

    @model_validator(mode='after')
    def _one_latency(self):
        if self.max_latency_ns is not None and self.max_latency_cycles is not None:
            raise ValueError('give either max_latency_ns or max_latency_cycles, not both')
        return self


class BudgetResult(BaseModel):
    name: str  # "latency", "ii", "dsp", ...
    unit: str  # "ns", "cycles", "DSP", ...
    limit: float
    value: float
    margin: float  # limit - value (negative: over budget)
    passed: bool
    message: str


def _fmt(x: float) -> str:
    return f'{x:,.0f}' if float(x).is_integer() else f'{x:,.2f}'


def _result(name: str, unit: str, limit: float, value: float, extra: str = '', tag: str = '') -> BudgetResult:
    """``tag`` says which figure ``value`` is (e.g. `` [csynth, band upper edge]``), shown after it."""
    margin = limit - value
    passed = value <= limit
    u = f' {unit}' if unit else ''
    if passed:
        msg = f'{name} {_fmt(value)}{u}{tag} within budget {_fmt(limit)}{u}{extra} (margin {_fmt(margin)}{u})'
    else:
        msg = f'{name} {_fmt(value)}{u}{tag} exceeds budget {_fmt(limit)}{u}{extra} by {_fmt(-margin)}{u}'
    return BudgetResult(name=name, unit=unit, limit=limit, value=value, margin=margin, passed=passed, message=msg)


def check_budgets(estimate, budgets: Budgets | dict) -> list[BudgetResult]:
    """Check an :class:`~fpgaml.estimate.Estimate` against budgets; one result per budget given."""
    if isinstance(budgets, dict):
        budgets = Budgets.model_validate(budgets)
    t = estimate.total
    kind, edge = budgets.kind, ('high' if budgets.margin == 'band' else None)
    tag = (f' [{kind}' + (', band upper edge' if edge else '') + ']') if (kind != 'synth' or edge) else ''

    def value_of(name: str) -> float:
        try:
            return estimate.figure(name, kind, edge if name in ('latency_cycles', 'dsp', 'lut', 'ff') else None)
        except (KeyError, AttributeError):
            if edge is None and kind == 'synth':
                return float(getattr(t, name))
            from fpgaml.errors import FpgamlError

            raise FpgamlError(
                f'budgets: the estimate has no {kind} figure{" band" if edge else ""} for {name} '
                '(recorded by an older fpgaml); rebuild the project'
            ) from None

    out: list[BudgetResult] = []
    if budgets.max_latency_ns is not None:
        lat_ns = value_of('latency_cycles') * estimate.clock_period_ns
        out.append(_result('latency', 'ns', float(budgets.max_latency_ns), round(lat_ns, 3), tag=tag))
    if budgets.max_latency_cycles is not None:
        out.append(_result('latency', 'cycles', float(budgets.max_latency_cycles), value_of('latency_cycles'), tag=tag))
    if budgets.max_ii_cycles is not None:
        out.append(_result('II', 'cycles', float(budgets.max_ii_cycles), float(t.ii_cycles)))
    avail = estimate.device.totals()
    for name, limit in budgets.max_resources.items():
        value = value_of(name)
        label = name.upper() if name != 'bram_18k' else 'BRAM_18K'
        if isinstance(limit, str):
            pct = float(_PCT.match(limit).group(1))
            absolute = avail[name] * pct / 100.0
            out.append(_result(label, '', absolute, value, extra=f' ({pct:g}% of {estimate.device.name})', tag=tag))
        else:
            out.append(_result(label, '', float(limit), value, tag=tag))
    return out
