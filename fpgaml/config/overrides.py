"""Settings that override a resolved config by key: the keys ``fpgaml sweep`` varies (``--grid KEY=V1,V2`` or the
YAML ``sweep: grid:`` section), validated with the same value types as the config keys they stand for
(:mod:`fpgaml.config.values`); :data:`MODEL_KEYS` names the :class:`~fpgaml.config.schema.ProjectConfig` field
each one sets.

Keys use the fpgaml-format spelling for either config format (they act on the resolved config):
``reuse_factor``, ``strategy``, ``precision`` (= ``precision.default``), ``precision.input``, ``io_type``,
``clock_period``, ``part``, ``backend``, ``bit_exact`` and, per layer (name or glob, as in ``layers:``),
``layers.NAME.reuse_factor`` / ``layers.NAME.strategy`` / ``layers.NAME.precision``.

It lives here, below :mod:`fpgaml.config.schema` (whose ``sweep:`` section validates its grid with
:func:`check_grid`), so that the config depends on nothing of the sweep; :mod:`fpgaml.sweep.grid` parses the
command line's ``--grid`` options into these keys and applies a point of the grid to a resolved config.
"""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter, ValidationError

from fpgaml.config.values import (
    BackendName,
    BitExactMode,
    ClockPeriod,
    IOTypeName,
    PartName,
    PrecisionStr,
    ReuseFactorInt,
    StrategyName,
)
from fpgaml.errors import suggest

# key -> (ProjectConfig field, its validator)
MODEL_KEYS = {
    'reuse_factor': ('reuse_factor', TypeAdapter(ReuseFactorInt)),
    'strategy': ('strategy', TypeAdapter(StrategyName)),
    'precision': ('default_precision', TypeAdapter(PrecisionStr)),
    'precision.default': ('default_precision', TypeAdapter(PrecisionStr)),
    'precision.input': ('input_precision', TypeAdapter(PrecisionStr)),
    'io_type': ('io_type', TypeAdapter(IOTypeName)),
    'clock_period': ('clock_period', TypeAdapter(ClockPeriod)),
    'part': ('part', TypeAdapter(PartName)),
    'backend': ('backend', TypeAdapter(BackendName)),
    'bit_exact': ('bit_exact', TypeAdapter(BitExactMode)),
}
# layers.NAME.<key> -> its validator
LAYER_KEYS = {
    'reuse_factor': TypeAdapter(ReuseFactorInt),
    'strategy': TypeAdapter(StrategyName),
    'precision': TypeAdapter(PrecisionStr),
}
ACCEPTED = ', '.join(list(MODEL_KEYS) + [f'layers.NAME.{k}' for k in LAYER_KEYS])
MAX_POINTS = 100_000


def _validator(key: str) -> TypeAdapter:
    if key in MODEL_KEYS:
        return MODEL_KEYS[key][1]
    parts = key.split('.')
    if len(parts) >= 3 and parts[0] == 'layers' and parts[-1] in LAYER_KEYS:
        return LAYER_KEYS[parts[-1]]
    raise ValueError(f'cannot sweep "{key}"{suggest(key, list(MODEL_KEYS))}; accepted keys: {ACCEPTED}')


def check_value(key: str, value: Any) -> Any:
    """One grid value, validated like the config key it stands for (ValueError with the config's message)."""
    try:
        return _validator(key).validate_python(value)
    except ValidationError as e:
        msg = e.errors()[0]['msg'].removeprefix('Value error, ')
        raise ValueError(f'{key}: {msg}') from None


def check_grid(grid: dict[str, Any]) -> dict[str, list]:
    """A whole grid (``{key: [values]}``), validated; ValueError names the key and the value."""
    out = {}
    for key, values in grid.items():
        key = str(key)
        if not isinstance(values, list):
            values = [values]
        if not values:
            raise ValueError(f'{key}: no values to sweep')
        checked = [check_value(key, v) for v in values]
        if len(set(map(repr, checked))) != len(checked):
            raise ValueError(f'{key}: a value is given twice ({values})')
        out[key] = checked
    n = 1
    for v in out.values():
        n *= len(v)
    if n > MAX_POINTS:
        raise ValueError(f'the grid has {n} points (more than {MAX_POINTS}); sweep fewer values')
    return out
