"""User extension modules: custom layers written with hls4ml's extension API.

hls4ml converts a layer it does not know when a Python module registers four things for it (hls4ml 1.3.0):

* the hls4ml layer class: ``hls4ml.model.layers.register_layer('MyLayer', MyHlsLayer)``;
* the parser from the Keras layer's config: ``hls4ml.converters.register_keras_v2_layer_handler('MyKerasLayer',
  parse_fn)`` (``parse_fn(keras_layer, input_names, input_shapes, data_reader) -> (layer dict, output shape)``);
* the config and function-call templates, per backend: ``get_backend('Vivado').register_template(Cls)`` (and
  ``'Vitis'``);
* the C++ header: ``get_backend('Vivado').register_source(Path('nnet_my_layer.h').resolve())``.

The config names such modules (``extensions: [my_layers.py, my_package.layers]``; hls4ml format ``Extensions:``):
files relative to the config file's folder, or importable module names. A module may also expose
``KERAS_CUSTOM_OBJECTS = {'MyKerasLayer': MyKerasLayer, ...}``: the Keras classes and functions the model file
names, given to Keras when the model loads (objects registered with ``keras.saving.register_keras_serializable`` /
``tf_keras.saving.register_keras_serializable`` are found by Keras itself).

An extension is code: importing it runs it in fpgaml's process. It is loaded only when the config names it, and
only under the rule that lets a model file's code run (``--trust-model``, ``trust_model: true``,
``TrustModel: true``); otherwise one error says so. A module is imported once per process (the same file with the
same content is not run again).
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import re
import sys
import traceback
from pathlib import Path
from types import ModuleType
from typing import Any

from fpgaml.errors import FpgamlError

# (resolved path or module name) -> (sha256 of the file, '' for a module name; the module)
_LOADED: dict[str, tuple[str, ModuleType]] = {}
OBJECTS_NAME = 'KERAS_CUSTOM_OBJECTS'


def _is_file(entry: str) -> bool:
    return entry.endswith('.py') or '/' in entry


def _where_in(path: str, e: BaseException) -> str:
    """' (my_layers.py, line 12)': the last line of the extension file in the exception's traceback."""
    line = None
    for frame in traceback.extract_tb(e.__traceback__):
        if Path(frame.filename).resolve() == Path(path).resolve():
            line = frame.lineno
    return f' ({Path(path).name}, line {line})' if line else ''


def _import_file(path: str, where: str) -> ModuleType:
    data = Path(path).read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    known = _LOADED.get(path)
    if known is not None and known[0] == digest:
        return known[1]
    stem = re.sub(r'\W', '_', Path(path).stem)
    name = f'fpgaml_extension_{stem}_{digest[:12]}'
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:  # pragma: no cover - a .py file always has a source loader
        raise FpgamlError(f'{where}: cannot import extension {path}')
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # (dataclasses, pickling and Keras look classes up by module name)
    folder = str(Path(path).parent)
    sys.path.insert(0, folder)  # its own helper modules beside it, while it runs
    try:
        spec.loader.exec_module(module)
    except Exception as e:  # noqa: BLE001 - the user's code: one line, where it failed
        del sys.modules[name]
        raise FpgamlError(
            f'{where}: extension {path} failed while loading{_where_in(path, e)}: '
            f'{type(e).__name__}: {_first_line(e)}{_hint(e)}'
        ) from None
    finally:
        if folder in sys.path:
            sys.path.remove(folder)
    _LOADED[path] = (digest, module)
    return module


def _import_module(entry: str, where: str) -> ModuleType:
    known = _LOADED.get(entry)
    if known is not None:
        return known[1]
    try:
        module = importlib.import_module(entry)
    except ModuleNotFoundError as e:
        if e.name is not None and entry.startswith(e.name):
            raise FpgamlError(
                f'{where}: extension module "{entry}" not found on the Python path; give its file '
                f'instead (my_layers.py, relative to the config file) or install it'
            ) from None
        raise FpgamlError(
            f'{where}: extension module "{entry}" failed while loading: ModuleNotFoundError: {_first_line(e)}'
        ) from None
    except Exception as e:  # noqa: BLE001
        file = getattr(sys.modules.get(entry), '__file__', None) or ''
        raise FpgamlError(
            f'{where}: extension module "{entry}" failed while loading'
            f'{_where_in(file, e) if file else ""}: {type(e).__name__}: {_first_line(e)}'
            f'{_hint(e)}'
        ) from None
    _LOADED[entry] = ('', module)
    return module


def _first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return text[0] if text else ''


def _hint(e: BaseException) -> str:
    if 'already registered' in str(e):
        return (
            '; another extension loaded in this process registered the same name with hls4ml: give each '
            'custom layer one module'
        )
    return ''


def _objects(module: ModuleType, entry: str, where: str) -> dict[str, Any]:
    objs = getattr(module, OBJECTS_NAME, None)
    if objs is None:
        return {}
    if not isinstance(objs, dict) or not all(isinstance(k, str) and callable(v) for k, v in objs.items()):
        raise FpgamlError(
            f'{where}: extension {entry}: {OBJECTS_NAME} must be a dict of name -> Keras class or '
            f'function (e.g. {{"MyLayer": MyLayer}}), got {type(objs).__name__}'
        )
    return dict(objs)


def load_extensions(src) -> dict[str, Any]:
    """Import the extension modules ``src`` names (a :class:`~fpgaml.config.schema.ModelSource`); return the Keras
    custom objects they expose. Refused, before anything is imported, unless the user trusts the model's code."""
    if not src.extensions:
        return {}
    where = src.extensions_at or 'extensions'
    if not src.trust:
        from fpgaml.frontend.safety import OPT_IN

        names = ', '.join(Path(e).name if _is_file(e) else e for e in src.extensions)
        raise FpgamlError(
            f'{where}: {names}: an extension is Python code (it registers custom layers with hls4ml '
            f'and runs inside fpgaml when imported); fpgaml runs it only if you trust it: {OPT_IN}'
        )
    objects: dict[str, Any] = {}
    for entry in src.extensions:
        module = _import_file(entry, where) if _is_file(entry) else _import_module(entry, where)
        objects.update(_objects(module, entry, where))
    return objects


def objects_for(src) -> dict[str, Any]:
    """The Keras custom objects of ``src``'s extensions (already loaded by :func:`load_extensions`)."""
    objects: dict[str, Any] = {}
    for entry in src.extensions if src.trust else ():
        known = _LOADED.get(entry)
        if known is not None:
            objects.update(_objects(known[1], entry, src.extensions_at or 'extensions'))
    return objects


def describe(src) -> list[dict]:
    """The record of the extensions a build used: each entry and, for a file, its SHA-256."""
    out = []
    for entry in src.extensions:
        known = _LOADED.get(entry)
        out.append({'extension': entry, 'sha256': known[0] if known and known[0] else None})
    return out
