"""Which setting applies to layer X: one rule, for every setting.

Precedence, lowest first (the same for precision keys, reuse factor, strategy, trace and every other key):

1. the model-wide value (``precision.default``, ``reuse_factor``, ``strategy`` / hls4ml's ``Model``);
2. a setting for the layer's class (``layer_types`` / hls4ml's ``LayerType``);
3. settings by layer name or glob (``layers`` / hls4ml's ``LayerName``), in the order written: a later
   matching pattern overrides an earlier one, key by key.

Types derived from the model itself (QKeras quantizers, bit-exact inference) fill only what no setting
names. Every module asks this resolver; none walks ``layer_patterns`` itself.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from typing import Any

from fpgaml.config.schema import LayerSettings, ProjectConfig

ALL_TYPE_KEYS = ('result', 'weight', 'bias', 'accum', 'scale')
HLS4ML_DEFAULT_TABLE_SIZE = 1024  # what config_from_keras_model writes for every activation / recurrent layer


@dataclass(frozen=True)
class Match:
    """One setting that applies to a layer: where it came from and its settings."""

    source: str  # 'type <Class>' or 'name <pattern>'
    settings: LayerSettings


class LayerSettingResolver:
    def __init__(self, cfg: ProjectConfig):
        self.cfg = cfg

    def matches(self, name: str, cls: str | None) -> list[Match]:
        """The settings that apply to ``name`` (class ``cls``), lowest precedence first."""
        out = []
        if cls is not None and cls in self.cfg.layer_types:
            out.append(Match(f'type {cls}', self.cfg.layer_types[cls]))
        out += [Match(f'name {p}', s) for p, s in self.cfg.layer_patterns.items() if fnmatch.fnmatchcase(name, p)]
        return out

    def keeps_hls4ml_tables(self, name: str, cls: str | None = None) -> bool:
        """Whether the config sets the layer's ``table_size``: then hls4ml's lookup tables are kept and fpgaml's
        exact activations / recurrent cells are not used for it (the one place this rule lives).

        hls4ml's ``config_from_keras_model`` writes ``TableSize: 1024`` (hls4ml's default) into every activation
        and recurrent layer it lists: in an hls4ml-format config that value is the generator's default, not a
        choice of hls4ml's tables, and fpgaml's exact tables (bit for bit what QKeras computes) are kept."""
        value = self.setting(name, cls, 'table_size')[0]
        if value is None:
            return False
        return not (self.cfg.format == 'hls4ml' and value == HLS4ML_DEFAULT_TABLE_SIZE)

    def setting(self, name: str, cls: str | None, key: str) -> tuple[Any, Match | None]:
        """The value of a plain setting (``reuse_factor``, ``strategy``, ``trace`` or an extra hls4ml key) and the
        match that decided it; (None, None) when only the model-wide value applies."""
        found: tuple[Any, Match | None] = (None, None)
        for m in self.matches(name, cls):
            value = getattr(m.settings, key, None) if key in LayerSettings.model_fields else m.settings.extra.get(key)
            if value is not None:
                found = (value, m)
        return found

    def reuse_factor(self, name: str, cls: str | None) -> int:
        value, _ = self.setting(name, cls, 'reuse_factor')
        return value if value is not None else self.cfg.reuse_factor

    def precision(self, name: str, cls: str | None, key: str) -> str | None:
        """The type the config sets for one type key of a layer (``'auto'`` counts as not set), or None."""
        found = None
        for m in self.matches(name, cls):
            p = m.settings.precision
            if isinstance(p, dict):
                value = p.get(key, p.get('default') if key in ALL_TYPE_KEYS else None)
            else:
                value = p if key == 'result' else None
            if value is not None and value != 'auto':
                found = value
        return found

    def precision_keys(self, name: str, cls: str | None) -> set[str]:
        """Type keys of a layer that some setting names (``default`` names them all)."""
        keys: set[str] = set()
        for m in self.matches(name, cls):
            p = m.settings.precision
            if isinstance(p, dict):
                keys |= {'result' if k == 'default' else k for k in p}
                if 'default' in p:
                    keys |= set(ALL_TYPE_KEYS)
            elif p is not None:
                keys.add('result')
        return keys

    def line(self, name: str, cls: str | None, key: str) -> int | None:
        """The config line of the setting that decided ``key`` for this layer (for error messages)."""
        _, m = self.setting(name, cls, key)
        return m.settings.line if m is not None else None
