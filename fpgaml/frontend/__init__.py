"""Load a trained model (QKeras / tf.keras or Keras 3), strip pruning wrappers, describe its layers.

The model object decides the route through hls4ml: a tf_keras model goes to hls4ml's Keras-2 parser,
a Keras-3 model to its Keras-3 parser — whatever ``keras`` version is installed.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from fpgaml._env import require_legacy_keras
from fpgaml.config.schema import ModelSource
from fpgaml.errors import FpgamlError
from fpgaml.families import keras_input_limits, keras_quantization, splits_activation
from fpgaml.frontend.keras2_arch import keras2_parser_arch
from fpgaml.frontend.references import ReferenceStore
from fpgaml.frontend.tf_compat import tf221_compat

Flavor = Literal['tf_keras', 'keras3']


def _sha256(paths: list[Path]) -> str:
    h = hashlib.sha256()
    for p in paths:
        with open(p, 'rb') as f:
            for chunk in iter(lambda: f.read(1 << 20), b''):
                h.update(chunk)
    return h.hexdigest()


def _tf_keras_custom_objects() -> dict:
    co: dict[str, Any] = {}
    from qkeras.utils import _add_supported_quantized_objects

    _add_supported_quantized_objects(co)
    from fpgaml.frontend.legacy import custom_objects as legacy_objects

    co.update(legacy_objects())  # BinaryDense/TernaryDense, binary/ternary_tanh, relu1, GarNet, HGQ proxy
    try:
        from tensorflow_model_optimization.python.core.sparsity.keras import pruning_wrapper

        co['PruneLowMagnitude'] = pruning_wrapper.PruneLowMagnitude
    except Exception:  # pragma: no cover - tfmot is optional at run time
        pass
    return co


def _one_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return f'{type(e).__name__}: {text[0] if text else ""}'.rstrip(': ')


@dataclass
class LoadedModel:
    """A trained model plus what fpgaml needs to know about it."""

    model: Any
    flavor: Flavor
    sha256: str
    source: ModelSource
    pruning_stripped: list[str] = field(default_factory=list)
    loader: str = ''  # the model's format and the library that loaded it (fpgaml.frontend.archives.loader_line)
    # where its Keras outputs are remembered (in memory; on disk once a Project gives it a cache folder)
    references: ReferenceStore | None = field(default=None, repr=False)
    _readers: dict = field(default_factory=dict, init=False, repr=False)  # Keras models reading layer outputs

    def __post_init__(self):
        if self.references is None:
            self.references = ReferenceStore(self.sha256)

    # ---- description ---------------------------------------------------------------------------
    @property
    def layer_names(self) -> list[str]:
        return [layer.name for layer in self.model.layers]

    @property
    def input_shapes(self) -> list[tuple[int, ...]]:
        inputs = self.model.inputs if isinstance(self.model.inputs, (list, tuple)) else [self.model.inputs]
        return [tuple(int(d) for d in t.shape[1:]) for t in inputs]

    @property
    def index_limits(self) -> list[int | None]:
        """Per model input: ``limit`` when the layer it feeds takes integers ``0 .. limit - 1`` there (an Embedding's
        row indices, a GarNet vertex count: :func:`fpgaml.families.keras_input_limits`), or None for numbers."""
        inputs = self.model.inputs if isinstance(self.model.inputs, (list, tuple)) else [self.model.inputs]
        limits: list[int | None] = [None] * len(inputs)
        for layer in self.model.layers:
            fed = layer.input if isinstance(layer.input, (list, tuple)) else [layer.input]
            for position, limit in keras_input_limits(layer).items():
                for i, t in enumerate(inputs):
                    if position < len(fed) and fed[position] is t:
                        limits[i] = limit
        return limits

    def is_fully_quantized(self) -> tuple[bool, list[str]]:
        """True when every layer that computes is quantized (QKeras quantizers / HGQ).

        Returns (answer, names of the layers that are not quantized)."""
        unquantized, passed_over = [], []
        if any(type(lay).__name__ == 'FixedPointQuantizer' for lay in self.model.layers):
            # HGQ proxy model: a FixedPointQuantizer after every computing layer fixes every type
            return True, []
        quantized_any = False
        for layer in self.model.layers:
            cls = type(layer).__name__
            rule = keras_quantization(layer)  # its family's: computes nothing, or passed over (fpgaml.families)
            if rule in ('passthrough', 'exact'):
                continue
            if rule == 'passed_over':
                passed_over.append(layer.name)
                continue
            if cls == 'QBatchNormalization':  # its quantized statistics still divide by a square root: float
                unquantized.append(layer.name)
                continue
            if cls.startswith('Q') or cls in ('FixedPointQuantizer', 'HQuantize') or cls.startswith('H'):
                quantized_any = True
                continue
            unquantized.append(layer.name)
        if not quantized_any and not unquantized:
            # e.g. a softmax-only model: nothing quantized, nothing to compare bit for bit
            unquantized = passed_over
        return (not unquantized, unquantized)

    # ---- evaluation ----------------------------------------------------------------------------
    def predict(self, x: np.ndarray | list[np.ndarray]) -> list[np.ndarray]:
        """The model's outputs on ``x`` (computed once per samples: :mod:`fpgaml.frontend.references`)."""
        return self.references.remembered('predict', x, self._predict)

    def _predict(self, x) -> list[np.ndarray]:
        with contextlib.redirect_stdout(io.StringIO()), tf221_compat():
            y = self.model.predict(x, verbose=0, batch_size=1024)
        return [np.asarray(a) for a in (y if isinstance(y, (list, tuple)) else [y])]

    def layer_outputs(self, x) -> dict[str, np.ndarray]:
        """Each layer's output on ``x``; for layers with a fused activation, also the output before the
        activation under ``<name>`` and after it under ``<name>:post`` (matching how hls4ml splits them).
        Computed once per samples (:mod:`fpgaml.frontend.references`)."""
        return self.references.remembered('layers', x, self._all_layer_outputs)

    def model_outputs_of(self, kout: dict[str, np.ndarray]) -> list[np.ndarray] | None:
        """The model's outputs picked from :meth:`layer_outputs`'s result (the output after a fused activation);
        None where a model output is not the output of one of its layers."""
        outputs = self.model.outputs if isinstance(self.model.outputs, (list, tuple)) else [self.model.outputs]
        ys = []
        for t in outputs:
            lay = next((lay for lay in self.model.layers if lay.output is t), None)
            if lay is None or lay.name not in kout:
                return None
            ys.append(kout.get(lay.name + ':post', kout[lay.name]))
        return ys

    def _reader(self, name: str, build):
        """A Keras model reading layer outputs (all of them: ``''``; one layer before its activation: its name),
        built once: a second call on other samples (the raw data, a subset) skips building and tracing it."""
        if name not in self._readers:
            self._readers[name] = build()
        return self._readers[name]

    def _all_layer_outputs(self, x) -> dict[str, np.ndarray]:
        with tf221_compat():
            return self._layer_outputs(x)

    def _layer_outputs(self, x) -> dict[str, np.ndarray]:
        if self.flavor == 'tf_keras':
            import tf_keras as K
        else:
            import keras as K
        linear = K.activations.linear
        out: dict[str, np.ndarray] = {}
        layers = [lay for lay in self.model.layers if type(lay).__name__ not in ('InputLayer',)]
        # the layers hls4ml splits an activation off (a linear one: the output before it is the output after it)
        fused = [
            lay
            for lay in layers
            if splits_activation(type(lay).__name__, getattr(lay, 'activation', None))
            and getattr(lay.activation, '__name__', '') != 'linear'
        ]
        post = self._reader('', lambda: K.Model(inputs=self.model.inputs, outputs=[lay.output for lay in layers]))
        with contextlib.redirect_stdout(io.StringIO()):
            ys = post.predict(x, verbose=0, batch_size=1024)
        if len(layers) == 1:
            ys = [ys]
        for lay, y in zip(layers, ys):
            out[lay.name] = np.asarray(y)
        for lay in fused:
            saved = lay.activation
            try:
                lay.activation = linear
                pre = self._reader(lay.name, lambda lay=lay: K.Model(inputs=self.model.inputs, outputs=[lay.output]))
                with contextlib.redirect_stdout(io.StringIO()):
                    y = pre.predict(x, verbose=0, batch_size=1024)
            except Exception:
                continue
            finally:
                lay.activation = saved
            out[lay.name + ':post'] = out[lay.name]
            out[lay.name] = np.asarray(y)
        return out

    # ---- hls4ml parser routing ---------------------------------------------------------------
    def keras_v2_arch(self) -> dict:
        """The tf_keras model's JSON architecture as hls4ml's Keras-2 parser reads it.

        tf_keras 2.21 serializes an activation *function* that is not a Keras built-in (``binary_tanh``,
        ``ternary_tanh``, ``relu1`` from :mod:`fpgaml.frontend.legacy`) as a dict; hls4ml expects the name
        (the form older Keras wrote, and the one the published JSON files hold). QLSTM / QGRU hard
        quantized activations, which hls4ml's parser rejects, are shown to it as the real ones
        (:mod:`fpgaml.frontend.keras2_arch`)."""
        return keras2_parser_arch(json.loads(self.model.to_json()))

    def parse_layers(self) -> list[dict]:
        """hls4ml's layer list for this model, through the parser that matches the model object."""
        if self.flavor == 'tf_keras':
            from hls4ml.converters.keras_v2_to_hls import KerasModelReader, parse_keras_model

            layer_list, *_ = parse_keras_model(self.keras_v2_arch(), KerasModelReader(self.model))
        else:
            from hls4ml.converters.keras_v3_to_hls import parse_keras_v3_model

            layer_list, *_ = parse_keras_v3_model(self.model)
        return layer_list

    def to_hls(self, hls_config: dict):
        """Run hls4ml's converter matching this model's flavour on a full hls4ml config dict."""
        hls_config = dict(hls_config, KerasModel=self.model)
        if self.flavor == 'tf_keras':
            # hls4ml's keras_v2_to_hls, with the architecture from keras_v2_arch()
            from hls4ml.converters.keras_v2_to_hls import KerasModelReader, parse_keras_model
            from hls4ml.model import ModelGraph

            layer_list, input_layers, output_layers, _ = parse_keras_model(
                self.keras_v2_arch(), KerasModelReader(self.model)
            )
            return ModelGraph.from_layer_list(hls_config, layer_list, input_layers, output_layers)
        from hls4ml.converters.keras_v3_to_hls import keras_v3_to_hls

        return keras_v3_to_hls(hls_config, True, True)


def _strip_pruning(model, flavor: Flavor) -> tuple[Any, list[str]]:
    """Remove TF-MOT pruning wrappers. ``strip_pruning`` returns a model whose layers still belong to the
    wrapped graph (``layer.output`` points into it, so intermediate outputs fail with "Graph
    disconnected"); a round trip through a temporary .h5 gives a model with a graph of its own."""
    names = [lay.name for lay in model.layers if type(lay).__name__ == 'PruneLowMagnitude']
    if not names:
        return model, []
    import tempfile

    import tensorflow_model_optimization as tfmot
    import tf_keras

    stripped = tfmot.sparsity.keras.strip_pruning(model)
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / 'stripped.h5'
        stripped.save(path, include_optimizer=False)
        co = _tf_keras_custom_objects()
        with tf_keras.utils.custom_object_scope(co):
            stripped = tf_keras.models.load_model(path, custom_objects=co, compile=False)
    return stripped, names


def check_finite_weights(model, src: ModelSource) -> None:
    """NaN / Inf weights (a diverged training) would be written into the firmware: refuse them."""
    from fpgaml.frontend.hgq import weights_to_check  # HGQ2's i_decay_speed is inf by design

    for layer in model.layers:
        bad = sum(int(np.size(w) - np.count_nonzero(np.isfinite(w))) for w in weights_to_check(layer))
        if bad:
            raise FpgamlError(
                f'{src.describe()}: layer {layer.name} has non-finite weights ({bad} NaN/Inf values); '
                f'retrain or fix the model (a diverged training leaves NaN weights)'
            )


def _load_tf_keras(src: ModelSource):
    import tf_keras

    from fpgaml.frontend.archives import load_keras2_archive, read_archive
    from fpgaml.frontend.extensions import objects_for

    co = {**_tf_keras_custom_objects(), **objects_for(src)}  # + the Keras classes of the config's extensions
    with tf_keras.utils.custom_object_scope(co), tf221_compat():
        archive = read_archive(src.file)
        if archive is not None and archive.keras2:
            return load_keras2_archive(src.file, co, src.trust)
        if src.file is not None:
            return tf_keras.models.load_model(src.file, custom_objects=co, compile=False, safe_mode=not src.trust)
        model = tf_keras.models.model_from_json(Path(src.json_).read_text(), custom_objects=co)
        model.load_weights(src.weights)
        return model


def _load_keras3(src: ModelSource):
    import keras

    if src.file is None:
        raise ValueError('Keras 3 models are loaded from a single .keras file')
    from fpgaml.frontend.extensions import objects_for

    return keras.saving.load_model(
        src.file, custom_objects=objects_for(src) or None, compile=False, safe_mode=not src.trust
    )


def _keras3_packages(path: Path) -> tuple[str, set[str]]:
    """(keras version, packages of custom layers) recorded inside a .keras archive."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as z:
            meta = json.loads(z.read('metadata.json')) if 'metadata.json' in z.namelist() else {}
            text = z.read('config.json').decode()
    except (zipfile.BadZipFile, KeyError, OSError, ValueError):
        return '', set()
    packages = {m.split('>')[0] for m in re.findall(r'"registered_name":\s*"([^"]+>[^"]+)"', text)}
    return meta.get('keras_version', ''), packages


def load_model(src: ModelSource) -> LoadedModel:
    """Load the model files named by the config. Raises FpgamlError with one clear line.

    Unless ``src.trust``, the saved architecture is inspected first (:mod:`fpgaml.frontend.safety`): a
    model file is untrusted input and Keras runs what it names while loading it."""
    require_legacy_keras()  # before the first TensorFlow import
    paths = src.paths()
    for p in paths:
        if not Path(p).is_file():
            raise FpgamlError(f'{p}: model file not found')
    from fpgaml.frontend.archives import loader_line, read_archive
    from fpgaml.frontend.extensions import load_extensions

    load_extensions(src)  # the config's extension modules: code, refused here unless trusted
    if src.file is not None and src.file.suffix not in ('.h5', '.hdf5', '.keras'):
        raise FpgamlError(
            f'{src.file}: unsupported model file type "{src.file.suffix}"; accepted: .h5 / .hdf5 '
            f'(Keras 2 / QKeras), .keras (Keras 3), or a JSON architecture plus .h5 weights'
        )
    if not src.trust:
        from fpgaml.frontend.safety import check_model_files

        check_model_files([src.file] if src.file is not None else [src.json_])
    from fpgaml.frontend.hgq import import_hgq_if_named

    import_hgq_if_named(src.file)  # a Keras 3 archive naming hgq> classes: import hgq first (only then)
    order = ['keras3', 'tf_keras'] if (src.file is not None and src.file.suffix == '.keras') else ['tf_keras', 'keras3']
    archive = read_archive(src.file)
    if archive is not None and archive.keras2:  # Keras 2.13-2.15 / tf_keras wrote it (by content): tf_keras only
        order = ['tf_keras']
    errors = []
    for flavor in order:
        if flavor == 'keras3' and src.file is None:
            continue
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                model = _load_tf_keras(src) if flavor == 'tf_keras' else _load_keras3(src)
        except Exception as e:  # noqa: BLE001 - every loader failure becomes one user message below
            if archive is not None and archive.keras2:
                errors.append(
                    f'as a Keras 2 .keras archive (keras {archive.keras_version or "?"}) with tf_keras: {_one_line(e)}'
                )
            else:
                errors.append(f'as {"Keras 3" if flavor == "keras3" else "tf.keras/QKeras"}: {_one_line(e)}')
            continue
        model, stripped = _strip_pruning(model, flavor)
        check_finite_weights(model, src)
        return LoadedModel(
            model=model,
            flavor=flavor,
            sha256=_sha256(paths),
            source=src,
            pruning_stripped=stripped,
            loader=loader_line(src, flavor, archive),
        )
    if src.file is not None and src.file.suffix == '.keras':
        version, packages = _keras3_packages(src.file)
        if 'qkeras' in packages:
            raise FpgamlError(
                f'{src.file}: saved by Keras {version or "3"} with QKeras for Keras 3 (layers registered as '
                f'"qkeras>..."); this environment has QKeras 0.9.0, which works only with tf_keras (Keras 2). '
                f'Re-save the model from QKeras 0.9.0 / tf_keras as .h5, or use a Keras-3 port of QKeras '
                f'in a separate environment'
            )
    raise FpgamlError(f'{src.describe()}: cannot load the model ({"; ".join(errors)})')
