"""The sweep grid: which settings a sweep varies, parsed from ``--grid KEY=V1,V2`` (the YAML ``sweep:`` section
is read with the config), and applied to a resolved :class:`~fpgaml.config.schema.ProjectConfig` (one point =
one resolved config). The keys and their validation are :mod:`fpgaml.config.overrides`.
"""

from __future__ import annotations

import itertools
from typing import Any

import yaml

from fpgaml.config.overrides import MODEL_KEYS, check_grid
from fpgaml.config.schema import LayerSettings
from fpgaml.errors import FpgamlError


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
