"""HGQ2 (``hgq``, Keras 3) models: import ``hgq`` only for a model that names its classes, and know its objects.

Every hgq2 wheel ships a top-level ``qkeras`` package of its own, so a plain ``pip install hgq2`` replaces
QKeras 0.9.0 (which fpgaml's tf_keras / QKeras route needs). ``make test`` installs it instead with
``pip install --no-deps --target .venv/hgq2 hgq2==0.2.0`` and a ``.pth`` file in the venv's site-packages
that *appends* that folder to ``sys.path``: ``import hgq`` finds hgq2 there, ``import qkeras`` still finds
QKeras 0.9.0 first in site-packages. hgq2's one other dependency, ``quantizers``, comes with da4ml.

A Keras 3 archive records each custom class as ``"registered_name": "hgq>QDense"`` (a few ``hgq2>...``):
Keras 3 resolves those names only after ``import hgq`` has registered them, so fpgaml imports it right
before loading such a model (and before the safety check reads its names), and never otherwise.
"""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path
from typing import Any

from fpgaml.errors import FpgamlError

HGQ2_VERSION = '0.2.0'
# the Keras registration packages hgq2 0.2.0 uses (register_keras_serializable(package=...))
HGQ_PACKAGES = ('hgq', 'hgq2')
INSTALL_HINT = (
    f'install hgq2 {HGQ2_VERSION} beside QKeras as `make test` does: .venv/bin/pip install --no-deps '
    f'--target .venv/hgq2 hgq2=={HGQ2_VERSION}, plus a file .venv/lib/python3.11/site-packages/'
    f'fpgaml-hgq2.pth holding the line ../../../hgq2 (never a plain `pip install hgq2`: its wheel '
    f'ships a `qkeras` package that replaces QKeras 0.9.0)'
)


def is_hgq_name(name: Any) -> bool:
    return isinstance(name, str) and '>' in name and name.split('>', 1)[0] in HGQ_PACKAGES


def is_hgq_module(module: Any) -> bool:
    return isinstance(module, str) and module.split('.', 1)[0] == 'hgq'


def arch_names_hgq(arch: Any) -> list[str]:
    """The HGQ registered names (``hgq>...``) or ``hgq.*`` modules a saved architecture uses, in order, once
    each."""
    found: dict[str, None] = {}

    def walk(node: Any) -> None:
        if isinstance(node, list):
            for v in node:
                walk(v)
        elif isinstance(node, dict):
            for key in ('registered_name', 'module'):
                v = node.get(key)
                if is_hgq_name(v) or (key == 'module' and is_hgq_module(v)):
                    found.setdefault(v, None)
            for v in node.values():
                walk(v)

    walk(arch)
    return list(found)


def archive_names_hgq(path: Path) -> list[str]:
    """The HGQ names in a ``.keras`` archive's ``config.json`` (judged by content: [] for anything else)."""
    try:
        if not zipfile.is_zipfile(path):
            return []
        with zipfile.ZipFile(path) as z:
            text = z.read('config.json').decode()
    except (KeyError, OSError, ValueError, zipfile.BadZipFile, UnicodeDecodeError):
        return []
    if 'hgq' not in text:
        return []
    try:
        return arch_names_hgq(json.loads(text))
    except ValueError:
        return sorted(set(re.findall(r'"(hgq2?>[A-Za-z0-9_]+)"', text)))


def import_hgq(path: Path | str, names: list[str]):
    """``import hgq`` for the model file ``path`` that uses ``names``; one clear FpgamlError when hgq2 is not
    importable, is another version, or was installed the way that replaces QKeras."""
    shown = ', '.join(names[:3]) + (' ...' if len(names) > 3 else '')
    try:
        import hgq
    except ImportError as e:
        raise FpgamlError(
            f'{path}: the model uses HGQ2 layers ({shown}), and hgq (hgq2 {HGQ2_VERSION}) is not '
            f'importable ({type(e).__name__}: {e}); {INSTALL_HINT}'
        ) from None
    version = getattr(hgq, '__version__', '?')
    if version != HGQ2_VERSION:
        raise FpgamlError(
            f'{path}: the model uses HGQ2 layers ({shown}); the importable hgq is {version} '
            f'({Path(hgq.__file__).parent}), fpgaml is tested with hgq2 {HGQ2_VERSION}: '
            f'{INSTALL_HINT}'
        )
    try:
        import qkeras
    except ImportError:  # QKeras is a dependency of fpgaml; its absence is reported where it is used
        return hgq
    if (
        Path(qkeras.__file__).resolve().parent.parent == Path(hgq.__file__).resolve().parent.parent
        and getattr(qkeras, '__version__', None) != '0.9.0'
    ):
        raise FpgamlError(
            f'{path}: hgq2 was installed into the same folder as QKeras and its `qkeras` package '
            f'replaced QKeras 0.9.0 ({qkeras.__file__}): reinstall QKeras 0.9.0 and '
            f'{INSTALL_HINT}'
        )
    return hgq


def import_hgq_if_named(path: Path | str | None):
    """Import hgq when the Keras 3 archive ``path`` uses HGQ2 classes (only then); return it or None."""
    if path is None:
        return None
    names = archive_names_hgq(Path(path))
    return import_hgq(path, names) if names else None


def registered_objects(path: Path | str, names: list[str]) -> dict[str, type]:
    """hgq's registered Keras serializables, ``{registered name: class or function}``: what Keras 3 resolves
    an HGQ2 archive's ``registered_name`` to (imports hgq)."""
    import_hgq(path, names)
    import keras

    return {
        name: obj
        for name, obj in keras.saving.get_custom_objects().items()
        if is_hgq_name(name) and is_hgq_module(getattr(obj, '__module__', None))
    }


def weights_to_check(layer) -> list:
    """A layer's weights that must be finite. HGQ2 quantizers keep a training hyperparameter as a variable,
    ``i_decay_speed`` (how fast unused integer bits decay; ``inf`` for weight and bias quantizers: never), which
    is infinite by design and never reaches the firmware; every other weight counts."""
    if not is_hgq_module(type(layer).__module__):
        return layer.get_weights()
    import numpy as np

    return [
        np.asarray(v)
        for v in layer.weights
        if not (getattr(v, 'path', None) or getattr(v, 'name', '')).endswith('i_decay_speed')
    ]
