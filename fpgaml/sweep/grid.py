"""The sweep grid: which settings a sweep varies, parsed from ``--grid KEY=V1,V2`` or the YAML ``sweep:``
section, validated with the same rules as the config keys they stand for, and applied to a resolved
:class:`~fpgaml.config.schema.ProjectConfig` (one point = one resolved config).

Keys use the fpgaml-format spelling for either config format (they act on the resolved config):
``reuse_factor``, ``strategy``, ``precision`` (= ``precision.default``), ``precision.input``, ``io_type``,
``clock_period``, ``part``, ``backend``, ``bit_exact`` and, per layer (name or glob, as in ``layers:``),
``layers.NAME.reuse_factor`` / ``layers.NAME.strategy`` / ``layers.NAME.precision``.
"""

from __future__ import annotations

import itertools
from typing import Any

import yaml
from pydantic import TypeAdapter, ValidationError

from fpgaml.errors import FpgamlError, suggest

# grid key -> (ProjectConfig field, validated type name in fpgaml.config.schema)
MODEL_KEYS = {
    'reuse_factor': ('reuse_factor', 'ReuseFactorInt'),
    'strategy': ('strategy', 'StrategyName'),
    'precision': ('default_precision', 'PrecisionStr'),
    'precision.default': ('default_precision', 'PrecisionStr'),
    'precision.input': ('input_precision', 'PrecisionStr'),
    'io_type': ('io_type', 'IOTypeName'),
    'clock_period': ('clock_period', 'ClockPeriod'),
    'part': ('part', 'PartName'),
    'backend': ('backend', 'BackendName'),
    'bit_exact': ('bit_exact', 'BitExactMode'),
}
LAYER_KEYS = {'reuse_factor': 'ReuseFactorInt', 'strategy': 'StrategyName', 'precision': 'PrecisionStr'}
ACCEPTED = ', '.join(list(MODEL_KEYS) + [f'layers.NAME.{k}' for k in LAYER_KEYS])
MAX_POINTS = 100_000

_adapters: dict[str, TypeAdapter] = {}


def _adapter(type_name: str) -> TypeAdapter:
    if type_name not in _adapters:
        from typing import Annotated

        from pydantic import Field

        from fpgaml.config import schema

        typ = Annotated[float, Field(gt=0)] if type_name == 'ClockPeriod' else getattr(schema, type_name)
        _adapters[type_name] = TypeAdapter(typ)
    return _adapters[type_name]


def _type_of(key: str) -> str:
    if key in MODEL_KEYS:
        return MODEL_KEYS[key][1]
    parts = key.split('.')
    if len(parts) >= 3 and parts[0] == 'layers' and parts[-1] in LAYER_KEYS:
        return LAYER_KEYS[parts[-1]]
    raise ValueError(f'cannot sweep "{key}"{suggest(key, list(MODEL_KEYS))}; accepted keys: {ACCEPTED}')


def check_value(key: str, value: Any) -> Any:
    """One grid value, validated like the config key it stands for (ValueError with the config's message)."""
    try:
        return _adapter(_type_of(key)).validate_python(value)
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


def split_values(text: str) -> list[str]:
    """``"fixed<8,3>,fixed<12,4>"`` -> two values: commas inside ``<...>``, ``(...)``, ``[...]`` or quotes do
    not split."""
    out, cur, depth, quote = [], '', 0, None
    for ch in text:
        if quote:
            if ch == quote:
                quote = None
            else:
                cur += ch
            continue
        if ch in '"\'':
            quote = ch
        elif ch in '<([':
            depth += 1
            cur += ch
        elif ch in '>)]':
            depth -= 1
            cur += ch
        elif ch == ',' and depth == 0:
            out.append(cur.strip())
            cur = ''
        else:
            cur += ch
    out.append(cur.strip())
    return out


def parse_grid_options(options: list[str]) -> dict[str, list]:
    """``--grid KEY=V1,V2,...`` options (a key given twice is an error)."""
    grid: dict[str, list] = {}
    for opt in options:
        key, eq, text = opt.partition('=')
        key = key.strip()
        if not eq or not key:
            raise FpgamlError(f'--grid "{opt}": expected KEY=VALUE1,VALUE2,... (e.g. --grid reuse_factor=1,2,4)')
        if key in grid:
            raise FpgamlError(f'--grid {key} is given twice; give all its values in one option')
        values = []
        for v in split_values(text):
            if v == '':
                raise FpgamlError(f'--grid "{opt}": empty value')
            parsed = yaml.safe_load(v) if not v.startswith(('fixed', 'ufixed', 'ap_', 'int<', 'uint<')) else v
            values.append(parsed if isinstance(parsed, (int, float, str, bool)) else v)
        try:
            grid.update(check_grid({key: values}))
        except ValueError as e:
            raise FpgamlError(f'--grid {e}') from None
    return grid


def points(grid: dict[str, list]) -> list[dict[str, Any]]:
    """The cartesian product, in the grid's key order (the last key varies fastest)."""
    keys = list(grid)
    return [dict(zip(keys, combo)) for combo in itertools.product(*(grid[k] for k in keys))]


def label(point: dict[str, Any]) -> str:
    short = {'reuse_factor': 'rf', 'precision.default': 'precision'}
    return ' '.join(f'{short.get(k, k)}={v}' for k, v in point.items()) or '(base config)'


def apply(cfg, point: dict[str, Any]):
    """A copy of the resolved config with the point's settings."""
    from fpgaml.config.schema import LayerSettings

    new = cfg.model_copy(deep=True)
    for key, value in point.items():
        if key in MODEL_KEYS:
            setattr(new, MODEL_KEYS[key][0], value)
            if MODEL_KEYS[key][0] == 'default_precision':
                new.default_precision_explicit = True
        else:
            parts = key.split('.')
            name, attr = '.'.join(parts[1:-1]), parts[-1]
            layer = new.layer_patterns.get(name) or LayerSettings()
            setattr(layer, attr, value)
            new.layer_patterns[name] = layer
    return new
