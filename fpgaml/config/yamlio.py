"""YAML loading that remembers where every key came from, so errors can name the line."""

from __future__ import annotations

import re
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


# Bounds no real config comes near: a config is a few hundred nodes, nested a few levels deep.
MAX_DEPTH = 64  # nested mappings / lists
MAX_NODES = 100_000  # values, as written and after expanding every alias (a "billion laughs" expands to 10^9)

# A plain (unquoted) precision cut at a comma: `{default: fixed<16,6>}` reads as "default: fixed<16" + key "6>".
_CUT_PRECISION = re.compile(r'^(ap_)?u?(fixed|int)<[^>]*$', re.IGNORECASE)


class _Loader(yaml.SafeLoader):
    """SafeLoader with bounded nesting, size and alias expansion, and errors that name the file and line."""

    _depth = 0
    _nodes = 0  # nodes composed so far; an alias adds none (it is the node it names)
    _top_key: tuple[str, int] | None = None  # (key, line) of the top-level value being composed

    def __init__(self, stream):
        super().__init__(stream)
        self._top_sizes: dict[tuple[str, int], int] = {}  # nodes composed under each top-level key so far

    def compose_node(self, parent, index):
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark
                raise FpgamlError(
                    f'{self.name}:{mark.line + 1}: the YAML is nested more than {MAX_DEPTH} levels '
                    f'deep; a config needs a few levels'
                )
            if self._depth == 2:  # a key (index None) or a value (index: its key) of the top-level mapping
                self._top_key = (index.value, index.start_mark.line + 1) if isinstance(index, yaml.ScalarNode) else None
            if not self.check_event(yaml.AliasEvent):
                self._count_node()
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def _count_node(self) -> None:
        """Stop at the first node past MAX_NODES: a big file is refused in a second, not composed for a minute."""
        self._nodes += 1
        if self._top_key is not None:
            self._top_sizes[self._top_key] = self._top_sizes.get(self._top_key, 0) + 1
        if self._nodes > MAX_NODES:
            raise _too_large(self.name, self._top_sizes, self.peek_event().start_mark.line + 1)

    def compose_document(self):
        node = super().compose_document()
        _check_expanded_size(self.name, node)
        return node


def _too_large(name: str, top_sizes: dict[tuple[str, int], int], line: int) -> FpgamlError:
    """A document of more than MAX_NODES values as written (no alias involved): name its largest top-level key,
    or better, where no config format accepts that key, the schema's unknown-key error with its suggestion."""
    if not top_sizes:
        return FpgamlError(
            f'{name}:{line}: the config is too large: more than the {MAX_NODES} values allowed; a '
            f'config needs at most a few hundred'
        )
    (key, key_line), n = max(top_sizes.items(), key=lambda item: item[1])
    unknown = _unknown_top_level_key(key, [k for k, _ in top_sizes])
    if unknown:
        return FpgamlError(f'{name}:{key_line}: {key}: {unknown}')
    return FpgamlError(
        f'{name}:{key_line}: the config is too large: more than the {MAX_NODES} values allowed '
        f'({n} of them under "{key}"); a config needs at most a few hundred'
    )


def _unknown_top_level_key(key: str, top_keys: list[str]) -> str | None:
    """The schema's "unknown key" message for a top-level ``key`` that neither config format accepts, else None.
    Its suggestions are those of the format the keys read so far point at (as load_config decides it)."""
    from pydantic import ValidationError

    from fpgaml.config import HLS4ML_MARKERS
    from fpgaml.config.hls4ml_format import Hls4mlFormat
    from fpgaml.config.schema import FpgamlFormat

    formats = (
        (Hls4mlFormat, FpgamlFormat) if any(k in HLS4ML_MARKERS for k in top_keys) else (FpgamlFormat, Hls4mlFormat)
    )
    messages = []
    for fmt in formats:
        try:
            fmt.model_validate({key: None})  # a known key fails on its value or a missing key instead
        except ValidationError as e:
            messages += [err['msg'] for err in e.errors() if err['type'] == 'unknown_key'][:1]
    return messages[0] if len(messages) == len(formats) else None


def _check_expanded_size(name: str, root: yaml.Node) -> None:
    """Reject a document whose aliases expand it beyond MAX_NODES (counted without expanding it). As written it
    has at most MAX_NODES values (:meth:`_Loader._count_node`), so here the aliases are the cause."""
    sizes: dict[int, int] = {}
    stack = [(root, False)]
    while stack:  # iterative post-order walk: each distinct node is sized once
        node, children_done = stack.pop()
        if id(node) in sizes:
            continue
        if isinstance(node, yaml.ScalarNode):
            sizes[id(node)] = 1
            continue
        children = [c for pair in node.value for c in pair] if isinstance(node, yaml.MappingNode) else node.value
        if not children_done:
            stack.append((node, True))
            stack.extend((c, False) for c in children if id(c) not in sizes)
            continue
        size = 1 + sum(sizes.get(id(c), 0) for c in children)
        if size > MAX_NODES:
            raise FpgamlError(
                f'{name}:{node.start_mark.line + 1}: YAML aliases (*name) expand this document to '
                f'more than {MAX_NODES} values; refusing it (an "alias bomb"?). A config needs a '
                f'few hundred'
            )
        sizes[id(node)] = size


def _check_key_node(loader: _Loader, key_node: yaml.Node) -> None:
    if not isinstance(key_node, yaml.ScalarNode):
        kind = 'list' if isinstance(key_node, yaml.SequenceNode) else 'mapping'
        raise FpgamlError(
            f'{loader.name}:{key_node.start_mark.line + 1}: a key must be a plain name, not a {kind} '
            f'(YAML "? [a, b] : value" complex keys are not accepted)'
        )


def _check_cut_precision(loader: _Loader, node: yaml.MappingNode) -> None:
    """In a flow mapping ``{...}``, YAML splits an unquoted ``fixed<16,6>`` at the comma."""
    if not node.flow_style:
        return
    for key_node, value_node in node.value:
        for n in (key_node, value_node):
            if isinstance(n, yaml.ScalarNode) and n.style is None and _CUT_PRECISION.match(n.value):
                raise FpgamlError(
                    f'{loader.name}:{n.start_mark.line + 1}: "{n.value}" was cut at a comma: inside {{ }} YAML reads '
                    f'a comma as a separator; quote the type, e.g. {{default: "fixed<16,6>"}}'
                )


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> LineDict:
    loader.flatten_mapping(node)
    _check_cut_precision(loader, node)
    out = LineDict()
    out.line = node.start_mark.line + 1
    out.key_lines = {}
    for key_node, value_node in node.value:
        _check_key_node(loader, key_node)
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


def _decode(path: Path, raw: bytes) -> str:
    if b'\0' in raw[:4096]:
        raise FpgamlError(f'{path}: this is a binary file, not a YAML config (is it the model file?)')
    try:
        return raw.decode('utf-8-sig')
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b'\n') + 1
        raise FpgamlError(
            f'{path}:{line}: the config is not UTF-8 text (byte 0x{raw[e.start]:02x} at offset '
            f'{e.start}); save it as UTF-8'
        ) from None


def load_yaml(path: Path) -> LineDict:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise FpgamlError(f'{path}: config file not found') from None
    except OSError as e:
        raise FpgamlError(f'{path}: cannot read config file ({e.strerror})') from None
    text = _decode(path, raw)
    loader = None
    try:
        loader = _Loader(text)  # reads the whole text: a non-printable character is a ReaderError here
        loader.name = str(path)
        data = loader.get_single_data()
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        where = f':{mark.line + 1}' if mark else ''
        raise FpgamlError(f'{path}{where}: invalid YAML: {e.problem or e.context}') from None
    except yaml.YAMLError as e:
        raise FpgamlError(f'{path}: invalid YAML: {e}') from None
    except RecursionError:  # a bound above should come first; never a traceback
        raise FpgamlError(f'{path}: the YAML is nested too deeply') from None
    finally:
        if loader is not None:
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
