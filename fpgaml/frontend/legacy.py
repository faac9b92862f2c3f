"""Custom layers and activations that published Keras-2 models use but no installed package provides.

* ``BinaryDense``, ``TernaryDense``, ``binary_tanh``, ``ternary_tanh``, ``Clip`` — the BinaryNet /
  TernaryNet Keras layers (DingKe/nn_playground) that hls4ml's example binary and ternary nets were
  trained with. hls4ml's Keras-2 parser knows the layer *names* (``BinaryDense`` / ``TernaryDense``,
  activations ``binary_tanh`` / ``ternary_tanh``) but the classes themselves ship in no package, and
  tf_keras 2.21 serializes an unknown activation function as a dict that hls4ml rejects.
* ``relu1`` — ``relu`` clipped at 1 (``K.relu(x, max_value=1)``), hls4ml's ``relu1`` activation.
* ``GarNet`` / ``GarNetStack`` — hls4ml's contrib layers, made loadable for the published files:
  ``n_sublayers`` (written by ``GarNetStack.get_config``) is accepted, and ``quantize_transforms=True``
  without bit widths means the original (caloGraphNN / hls4ml <= 0.5) ternary transforms, which is what
  hls4ml's converter assumes for such a layer (``TernaryQuantizer``).
* ``FixedPointQuantizer`` — the HGQ (v1) proxy-model quantizer, so ``hgq_*.h5`` load without HGQ
  (``hgq2`` must not be installed here: it replaces QKeras's ``qkeras`` module).

Every function / class is registered under the name the published JSON uses; see :func:`custom_objects`.
"""

from __future__ import annotations

import numpy as np


def _k():
    import tf_keras

    return tf_keras


# ------------------------------------------------------------------------------------------------
# BinaryNet / TernaryNet (DingKe/nn_playground binarynet + ternarynet)
# ------------------------------------------------------------------------------------------------


def _round_through(x):
    import tensorflow as tf

    return x + tf.stop_gradient(tf.round(x) - x)


def _hard_sigmoid(x):
    import tensorflow as tf

    return tf.clip_by_value(0.5 * x + 0.5, 0.0, 1.0)


def binary_tanh(x):
    """+1 where x > 0, -1 where x <= 0 (``2 * round(hard_sigmoid(x)) - 1``, round half to even)."""
    return 2.0 * _round_through(_hard_sigmoid(x)) - 1.0


def _ternarize(w, h=1.0):
    import tensorflow as tf

    w = w / h
    ones = tf.ones_like(w)
    zeros = tf.zeros_like(w)
    wt = tf.where(w > 0.5, ones, tf.where(w <= -0.5, -ones, zeros)) * h
    return w * h + tf.stop_gradient(wt - w * h)


def ternary_tanh(x):
    """+1 where x > 0.5, -1 where x <= -0.5, else 0 (TernaryNet's ``ternarize(clip(x, -1, 1))``)."""
    import tensorflow as tf

    return _ternarize(tf.clip_by_value(x, -1.0, 1.0))


def relu1(x):
    return _k().backend.relu(x, max_value=1.0)


def _binarize(w, h=1.0):
    return h * binary_tanh(w / h)


def _make_classes():
    K = _k()

    class Clip(K.constraints.Constraint):
        def __init__(self, min_value, max_value=None):
            self.min_value = min_value
            self.max_value = max_value if max_value is not None else -min_value
            if self.min_value > self.max_value:
                self.min_value, self.max_value = self.max_value, self.min_value

        def __call__(self, p):
            return K.backend.clip(p, self.min_value, self.max_value)

        def get_config(self):
            return {'min_value': self.min_value, 'max_value': self.max_value}

    class _QuantizedDense(K.layers.Dense):
        _quantize = staticmethod(_binarize)

        def __init__(self, units, H=1.0, kernel_lr_multiplier='Glorot', bias_lr_multiplier=None, **kwargs):
            super().__init__(units, **kwargs)
            self.H = H
            self.kernel_lr_multiplier = kernel_lr_multiplier
            self.bias_lr_multiplier = bias_lr_multiplier

        def build(self, input_shape):
            super().build(input_shape)
            if self.H == 'Glorot':
                n_in = int(input_shape[-1])
                self.H = float(np.sqrt(1.5 / (n_in + self.units)))

        def call(self, inputs):
            import tensorflow as tf

            kernel = self._quantize(self.kernel, self.H)
            out = tf.linalg.matmul(inputs, tf.cast(kernel, inputs.dtype))
            if self.use_bias:
                out = tf.nn.bias_add(out, tf.cast(self.bias, out.dtype))
            return self.activation(out) if self.activation is not None else out

        def get_config(self):
            cfg = super().get_config()
            cfg.update(
                H=self.H, kernel_lr_multiplier=self.kernel_lr_multiplier, bias_lr_multiplier=self.bias_lr_multiplier
            )
            return cfg

    class BinaryDense(_QuantizedDense):
        """Dense layer whose kernel is binarized to +-H in the forward pass."""

        _quantize = staticmethod(_binarize)

    class TernaryDense(_QuantizedDense):
        """Dense layer whose kernel is ternarized to {-H, 0, +H} in the forward pass."""

        _quantize = staticmethod(lambda w, h: _ternary_forward(w, h))

    return Clip, BinaryDense, TernaryDense


def _ternary_forward(w, h):
    import tensorflow as tf

    w = w / h
    return h * tf.where(w > 0.5, tf.ones_like(w), tf.where(w <= -0.5, -tf.ones_like(w), tf.zeros_like(w)))


# ------------------------------------------------------------------------------------------------
# GarNet (hls4ml contrib) made loadable for the published files
# ------------------------------------------------------------------------------------------------


def _make_garnet():
    from hls4ml.contrib import garnet as g
    from qkeras import QActivation  # noqa: F401  (imported by hls4ml.contrib.garnet too)

    K = _k()

    def ternary_transforms(layer, p, a, f, suffix=''):
        """quantize_transforms without bit widths: the original ternary(alpha=1, threshold=0.5) kernels."""
        flr = g.NamedQDense(p, kernel_quantizer=g.ternary_1_05(), bias_quantizer=g.ternary_1_05(), name=f'FLR{suffix}')
        fout = g.NamedQDense(f, kernel_quantizer=g.ternary_1_05(), name=f'Fout{suffix}')
        return flr, g.NamedDense(a, name=f'S{suffix}'), fout, K.layers.Activation(layer._output_activation)

    class GarNet(g.GarNet):
        def __init__(self, *args, n_sublayers=None, **kwargs):
            super().__init__(*args, **kwargs)

        def _setup_transforms(self, n_aggregators, n_filters, n_propagate):
            if self._quantize_transforms and self._total_bits is None:
                flr, s, fout, act = ternary_transforms(self, n_propagate, n_aggregators, n_filters)
                self._input_feature_transform, self._aggregator_distance = flr, s
                self._output_feature_transform, self._output_activation_transform = fout, act
                self._sublayers = [flr, s, fout, act]
                return
            super()._setup_transforms(n_aggregators, n_filters, n_propagate)

    class GarNetStack(g.GarNetStack):
        def __init__(self, *args, n_sublayers=None, **kwargs):
            super().__init__(*args, **kwargs)

        def _setup_transforms(self, n_aggregators, n_filters, n_propagate):
            if self._quantize_transforms and self._total_bits is None:
                self._transform_layers = []
                for it, (p, a, f) in enumerate(zip(n_propagate, n_aggregators, n_filters)):
                    self._transform_layers.append(ternary_transforms(self, p, a, f, suffix=str(it)))
                self._sublayers = sum((list(t) for t in self._transform_layers), [])
                return
            if not self._quantize_transforms:
                # hls4ml 1.3.0 tests `quantize_transforms is not None` here, so False builds QDense with
                # total_bits=None and fails; build the float transforms as GarNet does.
                self._transform_layers = []
                for it, (p, a, f) in enumerate(zip(n_propagate, n_aggregators, n_filters)):
                    self._transform_layers.append(
                        (
                            g.NamedDense(p, name=f'FLR{it}'),
                            g.NamedDense(a, name=f'S{it}'),
                            g.NamedDense(f, name=f'Fout{it}'),
                            K.layers.Activation(self._output_activation),
                        )
                    )
                self._sublayers = sum((list(t) for t in self._transform_layers), [])
                return
            super()._setup_transforms(n_aggregators, n_filters, n_propagate)

    return GarNet, GarNetStack


# ------------------------------------------------------------------------------------------------
# HGQ (v1) proxy model quantizer
# ------------------------------------------------------------------------------------------------


def fixed_quantize(x, keep_negative, bits, integers, rnd: str = 'TRN', sat: str = 'WRAP'):
    """Quantize ``x`` to ``ap_fixed<bits, integers, rnd, sat>`` (``ap_ufixed`` where keep_negative is 0),
    element-wise with broadcast bit widths; ``integers`` includes the sign bit (HGQ's convention)."""
    import tensorflow as tf

    x = tf.cast(x, tf.float32)
    k = tf.cast(keep_negative, tf.float32)
    b = tf.cast(bits, tf.float32)
    i = tf.cast(integers, tf.float32)
    f = b - i
    scale = tf.pow(2.0, f)
    v = x * scale
    if rnd == 'TRN':
        q = tf.floor(v)
    elif rnd == 'RND':
        q = tf.floor(v + 0.5)
    elif rnd == 'RND_CONV':
        q = tf.round(v)
    elif rnd == 'RND_ZERO':
        q = tf.where(v >= 0, tf.math.ceil(v - 0.5), tf.floor(v + 0.5))
    elif rnd == 'RND_INF':
        q = tf.where(v >= 0, tf.floor(v + 0.5), tf.math.ceil(v - 0.5))
    elif rnd == 'RND_MIN_INF':
        q = tf.math.ceil(v - 0.5)
    elif rnd == 'TRN_ZERO':
        q = tf.where(v >= 0, tf.floor(v), tf.math.ceil(v))
    else:
        raise ValueError(f'unsupported rounding mode {rnd}')
    lo = -k * tf.pow(2.0, b - 1.0)
    hi = tf.pow(2.0, b - k) - 1.0
    if sat == 'WRAP':
        span = tf.pow(2.0, b)
        q = tf.math.floormod(q - lo, span) + lo
    elif sat == 'SAT':
        q = tf.clip_by_value(q, lo, hi)
    elif sat == 'SAT_SYM':
        q = tf.clip_by_value(q, tf.where(k > 0, -hi, lo), hi)
    else:
        raise ValueError(f'unsupported saturation mode {sat}')
    return tf.where(b > 0, q / scale, tf.zeros_like(q))


def _make_fixed_point_quantizer():
    K = _k()

    class FixedPointQuantizer(K.layers.Layer):
        """HGQ v1's proxy-model quantizer: ``ap_fixed`` rounding/overflow of its input, with bit widths that
        may differ per element (``keep_negative`` / ``bits`` / ``integers`` weights, int8)."""

        def __init__(self, RND='TRN', SAT='WRAP', shape=None, overrides=None, fusible=None, **kwargs):
            kwargs.pop('keep_negative', None)
            super().__init__(**kwargs)
            self.RND, self.SAT = RND, SAT
            self.shape = list(shape) if shape is not None else None
            self.overrides = overrides or {}
            self.fusible = fusible

        def build(self, input_shape):
            shape = tuple(self.shape) if self.shape else (1,)
            if self.fusible and int(np.prod(shape)) == 1:
                shape = (1,) if len(shape) == 1 else shape
            for name in ('keep_negative', 'bits', 'integers'):
                setattr(
                    self,
                    name,
                    self.add_weight(name=name, shape=shape, dtype='int8', trainable=False, initializer='zeros'),
                )
            super().build(input_shape)

        def call(self, x):
            return fixed_quantize(x, self.keep_negative, self.bits, self.integers, self.RND, self.SAT)

        def get_config(self):
            cfg = super().get_config()
            cfg.update(RND=self.RND, SAT=self.SAT, shape=self.shape, overrides=self.overrides, fusible=self.fusible)
            return cfg

    return FixedPointQuantizer


def custom_objects() -> dict:
    """Every legacy class / function above, under the names the published model files use."""
    Clip, BinaryDense, TernaryDense = _make_classes()
    co = {
        'Clip': Clip,
        'BinaryDense': BinaryDense,
        'TernaryDense': TernaryDense,
        'binary_tanh': binary_tanh,
        'ternary_tanh': ternary_tanh,
        'relu1': relu1,
    }
    try:
        GarNet, GarNetStack = _make_garnet()
        co.update(GarNet=GarNet, GarNetStack=GarNetStack)
    except Exception:  # pragma: no cover - hls4ml.contrib is part of hls4ml 1.3.0
        pass
    fpq = _make_fixed_point_quantizer()
    co.update({'FixedPointQuantizer': fpq, 'HGQ>FixedPointQuantizer': fpq})
    return co
