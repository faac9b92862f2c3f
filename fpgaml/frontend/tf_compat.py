"""TensorFlow 2.21 aliases that QKeras 0.9.0's recurrent layers still call, present only while fpgaml uses Keras."""

from __future__ import annotations

import contextlib


@contextlib.contextmanager
def tf221_compat():
    """QKeras 0.9.0's QGRU calls ``tf.nest.is_sequence``, which TensorFlow 2.21 no longer has (it is
    ``is_nested`` now), and, with ``reset_after=True`` (the only GRU form hls4ml computes),
    ``array_ops.unstack``, which moved to ``array_ops_stack``. Both aliases exist only while fpgaml loads or
    runs a Keras model, and only where TensorFlow lacks them; they are removed afterwards, so importing or
    using fpgaml leaves TensorFlow as it was. Upstream fix: QKeras qrecurrent.py."""
    from tensorflow.python.ops import array_ops, array_ops_stack
    from tensorflow.python.util import nest

    added = []
    for module, name, value in ((nest, 'is_sequence', nest.is_nested), (array_ops, 'unstack', array_ops_stack.unstack)):
        if not hasattr(module, name):
            setattr(module, name, value)
            added.append((module, name))
    try:
        yield
    finally:
        for module, name in added:
            delattr(module, name)
