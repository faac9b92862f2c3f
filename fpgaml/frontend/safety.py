"""Inspect a model file's saved architecture before anything in it is deserialized.

A model file is untrusted input. Keras rebuilds a model by *running* what its architecture names: a
``Lambda`` layer's marshalled Python bytecode (tf.keras ``.h5`` loads it without asking), a
``TFOpLambda``'s TensorFlow call by name, a Keras-3 ``module`` it imports, a QKeras quantizer string it
calls. So fpgaml reads the architecture JSON itself (``model_config`` of an HDF5 file, ``config.json``
of a ``.keras`` archive, or the JSON file of a JSON + weights model) and refuses, with one line,

* layers that carry code: ``Lambda``, ``TFOpLambda`` / ``SlicingOpLambda``, marshalled ``__lambda__``
  functions, Keras-3 ``TorchModuleWrapper`` / ``TFSMLayer`` / ``JaxLayer`` / ``FlaxLayer``;
* objects that are not a Keras built-in, a QKeras object, or a custom object fpgaml registers;
* a ``module`` outside keras / tf_keras / qkeras / hls4ml / fpgaml (Keras 3 imports it); an HGQ2 object
  (``hgq>`` registered name or ``hgq.*`` module) is known only as exactly one of hgq's registered Keras
  serializables (name, class and module), enumerated after ``import hgq`` (done only for such a file);
* quantizer / activation strings whose function is not such an object (QKeras calls them).

Keras 3 saves a functional model's layer calls (``inbound_nodes``) with its own markers for plain values
(``__keras_tensor__`` for a layer's input, ``__numpy__`` for a constant array, ...): there, and only there,
they are data.

The user opts out with ``--trust-model`` (or ``trust_model: true`` in the config).
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fpgaml.errors import FpgamlError
from fpgaml.frontend.hgq import arch_names_hgq, is_hgq_module, is_hgq_name, registered_objects

# Built-in layers that embed code (or a foreign model) instead of describing a computation.
CODE_LAYERS = (
    'Lambda',
    'TFOpLambda',
    'SlicingOpLambda',
    'TorchModuleWrapper',
    'TFSMLayer',
    'JaxLayer',
    'FlaxLayer',
    '__lambda__',
)
SAFE_MODULE_ROOTS = ('keras', 'tf_keras', 'qkeras', 'hls4ml', 'fpgaml')
MODEL_CLASSES = ('Sequential', 'Functional', 'Model')
# Keras 3's markers for plain values in the saved call arguments of a functional model's layers (written by
# keras/src/saving/serialization_lib.py for keras/src/models/functional.py's serialize_node): a symbolic input
# (``keras_history`` names the layer it comes from), a constant tensor or array, bytes, Ellipsis, a slice. Keras
# turns them back into values without importing or running anything. ``__lambda__`` (code) is not one of them,
# nor ``__typespec__`` (it names a class Keras looks up).
CALL_ARG_MARKERS = ('__keras_tensor__', '__tensor__', '__numpy__', '__bytes__', '__ellipsis__', '__slice__')
OPT_IN = 'pass --trust-model (or set trust_model: true in the config, TrustModel: true in hls4ml format)'


def read_architecture(path: Path) -> Any | None:
    """The saved architecture JSON of a model file (judged by content, not by suffix), or None when the
    file holds none (no Keras loader can then build a model from it)."""
    import h5py

    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as z:
                return json.loads(z.read('config.json'))
        if h5py.is_hdf5(path):
            with h5py.File(path, 'r') as f:
                raw = f.attrs.get('model_config')
            if raw is None:
                return None
            return json.loads(raw.decode() if isinstance(raw, bytes) else raw)
        return json.loads(Path(path).read_text())
    except (KeyError, OSError, ValueError, zipfile.BadZipFile, UnicodeDecodeError):
        return None


def _known_names() -> set[str]:
    """Names Keras may resolve in an architecture without running anything from the file."""
    from fpgaml.frontend import _tf_keras_custom_objects

    names = set(_tf_keras_custom_objects()) | set(MODEL_CLASSES)
    import tf_keras

    modules = [
        tf_keras.layers,
        tf_keras.initializers,
        tf_keras.regularizers,
        tf_keras.constraints,
        tf_keras.activations,
        tf_keras.mixed_precision,
    ]
    try:
        import keras

        modules += [
            keras,
            keras.layers,
            keras.initializers,
            keras.regularizers,
            keras.constraints,
            keras.activations,
            keras.models,
        ]
    except ImportError:  # pragma: no cover - keras 3 is installed with TensorFlow 2.16+
        pass
    try:  # the schedules inside TF-MOT PruneLowMagnitude wrappers (stripped after loading)
        from tensorflow_model_optimization.python.core.sparsity.keras import pruning_schedule

        modules.append(pruning_schedule)
    except ImportError:  # pragma: no cover - tfmot is optional at run time
        pass
    for mod in modules:
        names.update(n for n in dir(mod) if not n.startswith('_') and callable(getattr(mod, n, None)))
    return names - set(CODE_LAYERS)


def _objects(node: Any, layer: str = '', key: str = '', call: bool = False) -> Iterator[tuple[str, str, Any]]:
    """(layer name, key, node) for every serialized object and every quantizer/activation string. ``call``:
    inside the args / kwargs of a layer call (an item of ``inbound_nodes``), where Keras 3's value markers
    are data, not objects."""
    if isinstance(node, list):
        for v in node:
            yield from _objects(v, layer, key, call)
    elif isinstance(node, dict):
        cfg = node.get('config')
        cls = node.get('class_name')
        if isinstance(cls, str) and not (call and cls in CALL_ARG_MARKERS):
            if key == 'layers' and isinstance(cfg, dict) and isinstance(cfg.get('name'), str):
                layer = cfg['name']
            yield layer, key, node
        for k, v in node.items():
            if k != 'compile_config':  # optimizer / loss: never deserialized (models load with compile=False)
                yield from _objects(v, layer, k, call or (key == 'inbound_nodes' and k in ('args', 'kwargs')))
    elif isinstance(node, str) and ('quantizer' in key or key in ('activation', 'recurrent_activation')):
        yield layer, key, node


def _hgq_problem(cls: Any, module: Any, registered: Any, hgq_objects: dict[str, type]) -> str | None:
    """An object naming HGQ2 (a ``hgq>`` registered name or an ``hgq.*`` module) is safe only as exactly one
    of hgq's registered Keras serializables: its registered name, class name and module all that object's."""
    obj = hgq_objects.get(registered) if isinstance(registered, str) else None
    if obj is not None and cls == getattr(obj, '__name__', None) and module == getattr(obj, '__module__', None):
        return None
    return f'uses "{registered or cls}" (module "{module}"), which is not one of hgq2\'s registered Keras objects'


def _problem(node: Any, known: set[str], hgq_objects: dict[str, type] | None = None) -> str | None:
    """Why Keras must not rebuild this object from an untrusted file, or None. ``hgq_objects``: hgq's
    registered Keras serializables, for an architecture that uses HGQ2 (:mod:`fpgaml.frontend.hgq`)."""
    if isinstance(node, str):
        head = node.split('(', 1)[0].strip()
        if head and head not in known:
            return f'calls "{head}", which is not a Keras, QKeras or fpgaml function'
        return None
    cls = node['class_name']
    if cls in CODE_LAYERS:
        what = 'marshalled Python code' if cls == '__lambda__' else f'a {cls} layer'
        return f'is {what}, whose code would run while the model loads'
    module = node.get('module')
    registered = node.get('registered_name')
    if cls == 'function' and isinstance(node.get('config'), str):
        # a function by name (activations; tf_keras writes module "builtins" for plain functions, and Keras
        # looks such a name up among its own functions / the custom objects): the name must be known
        cls, registered = node['config'], None
        if module == 'builtins':
            module = None
    if is_hgq_name(registered) or is_hgq_module(module):
        return _hgq_problem(cls, module, registered, hgq_objects or {})
    if isinstance(module, str) and module.split('.')[0] not in SAFE_MODULE_ROOTS:
        return f'names module "{module}", which Keras would import'
    for name in (cls, registered if isinstance(registered, str) and registered != cls else None):
        if name is not None and name not in known and name.split('>')[-1] not in known:
            return f'uses "{name}", which is not a Keras built-in, a QKeras object or a custom object fpgaml provides'
    return None


def check_architecture(path: Path, arch: Any) -> None:
    """Raise FpgamlError (one line: file, layer, opt-in) at the first object that is not safe to rebuild."""
    known = _known_names()
    hgq_names = arch_names_hgq(arch)
    # HGQ2 classes: hgq is imported (only for such a file) and its registered objects are the known ones
    hgq_objects = registered_objects(path, hgq_names) if hgq_names else {}
    for layer, _key, node in _objects(arch):
        why = _problem(node, known, hgq_objects)
        if why is not None:
            where = f'layer "{layer}"' if layer else 'the architecture'
            raise FpgamlError(
                f'{path}: {where} {why}; fpgaml refuses to load untrusted model code. If you trust this file, {OPT_IN}'
            )


def check_model_files(paths: list[Path]) -> None:
    """Inspect every file that may hold an architecture (a whole model, or the JSON of JSON + weights)."""
    for path in paths:
        arch = read_architecture(path)
        if arch is not None:
            check_architecture(path, arch)
