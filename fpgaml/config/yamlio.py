"""YAML loading that remembers where every key came from, so errors can name the line."""

from __future__ import annotations

from pathlib import Path

import yaml

from fpgaml.errors import FpgamlError


class KerasModelTag(str):
    """The value of hls4ml's ``!keras_model PATH`` tag: a path to a saved Keras model."""


class LineDict(dict):
    """A dict that knows the line of each of its keys (1-based) and its own line."""

    line: int = 0
    key_lines: dict

    def line_of(self, key) -> int:
        return self.key_lines.get(key, self.line)


class _Loader(yaml.SafeLoader):
    pass


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> LineDict:
    loader.flatten_mapping(node)
    out = LineDict()
    out.line = node.start_mark.line + 1
    out.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in out:
            raise FpgamlError(
                f'{loader.name}:{key_node.start_mark.line + 1}: key "{key}" appears twice '
                f'(first on line {out.key_lines[key]}); YAML would silently keep only the last one'
            )
        out[key] = loader.construct_object(value_node, deep=True)
        out.key_lines[key] = key_node.start_mark.line + 1
    return out


def _construct_keras_model(loader: _Loader, node: yaml.Node) -> KerasModelTag:
    return KerasModelTag(loader.construct_scalar(node))


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_Loader.add_constructor('!keras_model', _construct_keras_model)


def load_yaml(path: Path) -> LineDict:
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise FpgamlError(f'{path}: config file not found') from None
    except OSError as e:
        raise FpgamlError(f'{path}: cannot read config file ({e.strerror})') from None
    loader = _Loader(text)
    loader.name = str(path)
    try:
        data = loader.get_single_data()
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        where = f':{mark.line + 1}' if mark else ''
        raise FpgamlError(f'{path}{where}: invalid YAML: {e.problem or e.context}') from None
    except yaml.YAMLError as e:
        raise FpgamlError(f'{path}: invalid YAML: {e}') from None
    finally:
        loader.dispose()
    if data is None:
        raise FpgamlError(f'{path}: the config file is empty')
    if not isinstance(data, LineDict):
        raise FpgamlError(f'{path}:1: the config must be a mapping of keys to values, got a {type(data).__name__}')
    return data


def line_for(data, loc: tuple) -> int:
    """The line of the deepest key along ``loc`` that exists in ``data``."""
    line = getattr(data, 'line', 1) or 1
    node = data
    for part in loc:
        if isinstance(node, LineDict) and part in node:
            line = node.line_of(part)
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
            line = getattr(node, 'line', line) or line
        else:
            break
    return line
