"""Which Keras wrote a ``.keras`` archive, and the loader for those Keras 2 wrote.

Keras 2.13-2.15 (and tf_keras, its continuation) save the same zip as Keras 3 (``metadata.json``, ``config.json``,
``model.weights.h5``), but with Keras 2's classes: ``metadata.json`` says ``"keras_version": "2.15.0"`` and the
model's ``module`` is ``keras.src.engine.functional`` (2.13-2.15; ``keras.engine.functional`` before,
``tf_keras.src.engine.functional`` from tf_keras). Keras 3 cannot rebuild it ("Could not deserialize class
'Functional' because its parent module keras.src.engine.functional cannot be imported"); tf_keras can: it maps
``keras.*`` modules to ``tf_keras.*`` and reads the same weights layout. The archive is recognised by that content,
never by its suffix, and loaded with tf_keras and QKeras's objects. Its ``config.json`` is inspected like every
architecture (:mod:`fpgaml.frontend.safety`) before anything is deserialized.

QKeras 0.9.0 itself cannot read a ``QActivation`` back from such an archive when its activation is a quantizer
object (``QActivation(quantized_relu(6))``): the archive stores the quantizer as a nested config, which
``QActivation.__init__`` keeps as a dict and later calls ("'dict' object is not callable"). The ``.h5`` format
marks such nested configs for deserialization; this one does not. :func:`qactivation_class` gives the loader a
``QActivation`` that turns that config back into the quantizer (with QKeras's own ``get_quantizer``) and is
otherwise QKeras's class. Upstream fix: ``QActivation.from_config`` in qkeras/qlayers.py.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

# config.json "module" of the model class as Keras 2 writes it (Keras 3: keras.src.models.* or "keras")
KERAS2_MODEL_MODULES = ('keras.src.engine.', 'keras.engine.', 'tf_keras.')


@dataclass(frozen=True)
class Archive:
    """What a ``.keras`` archive says about the Keras that wrote it."""

    keras_version: str  # from metadata.json ('' when absent)
    model_module: str  # config.json's top-level "module" ('' when absent)
    batch_input_shape: bool = False  # an InputLayer config spelled as Keras 2 spells it (Keras 3: batch_shape)

    @property
    def keras2(self) -> bool:
        """Written by Keras 2: the recorded version, else the model class's module, else the InputLayer spelling."""
        major = self.keras_version.split('.', 1)[0]
        if major.isdigit():
            return major == '2'
        return self.model_module.startswith(KERAS2_MODEL_MODULES) or self.batch_input_shape


def read_archive(path: Path | None) -> Archive | None:
    """The archive's metadata, or None when ``path`` is not a Keras zip archive (judged by content)."""
    if path is None:
        return None
    try:
        if not zipfile.is_zipfile(path):
            return None
        with zipfile.ZipFile(path) as z:
            names = z.namelist()
            if 'config.json' not in names:
                return None
            meta = json.loads(z.read('metadata.json')) if 'metadata.json' in names else {}
            text = z.read('config.json').decode()
            config = json.loads(text)
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, UnicodeDecodeError):
        return None
    version = meta.get('keras_version') if isinstance(meta, dict) else None
    module = config.get('module') if isinstance(config, dict) else None
    return Archive(
        keras_version=version if isinstance(version, str) else '',
        model_module=module if isinstance(module, str) else '',
        batch_input_shape='"batch_input_shape"' in text,
    )


def qactivation_class():
    """QKeras's QActivation, able to read its quantizer back from a ``.keras`` archive (see the module text)."""
    import qkeras
    from qkeras.quantizers import get_quantizer

    class QActivation(qkeras.QActivation):
        @classmethod
        def from_config(cls, config):
            act = config.get('activation')
            if isinstance(act, dict):
                # {"module": "qkeras.quantizers", "class_name": "quantized_relu", "config": {...}}: QKeras's class
                # by its name and config (checked before loading by fpgaml.frontend.safety)
                config = dict(
                    config,
                    activation=get_quantizer({'class_name': act.get('class_name'), 'config': act.get('config') or {}}),
                )
            return super().from_config(config)

    QActivation.__module__ = qkeras.QActivation.__module__
    QActivation.__qualname__ = 'QActivation'
    return QActivation


def load_keras2_archive(path: Path, custom_objects: dict, trust: bool):
    """A Keras 2 ``.keras`` archive, rebuilt by tf_keras with QKeras's (and fpgaml's) custom objects."""
    import tf_keras

    co = dict(custom_objects, QActivation=qactivation_class())
    with tf_keras.utils.custom_object_scope(co):
        return tf_keras.models.load_model(path, custom_objects=co, compile=False, safe_mode=not trust)


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:  # pragma: no cover
        return '?'


def loader_line(src, flavor: str, archive: Archive | None) -> str:
    """One line: the model's format and the library that loaded it (printed by the CLI, kept in the record)."""
    with_ = (
        f'tf_keras {_version("tf_keras")} + QKeras {_version("QKeras")}'
        if flavor == 'tf_keras'
        else f'keras {_version("keras")}'
    )
    if src.file is None:
        what = 'JSON architecture + HDF5 weights'
    elif archive is not None:
        kind = 'Keras 2' if archive.keras2 else 'Keras 3'
        what = f'{kind} .keras archive (keras {archive.keras_version or "version not recorded"})'
    else:
        what = f'HDF5 model file{_h5_version(src.file)}'
    return f'{what}, loaded with {with_}'


def _h5_version(path: Path) -> str:
    try:
        import h5py

        with h5py.File(path, 'r') as f:
            v = f.attrs.get('keras_version')
        v = v.decode() if isinstance(v, bytes) else v
        return f' (keras {v})' if isinstance(v, str) and v else ''
    except Exception:  # noqa: BLE001 - only a description
        return ''
