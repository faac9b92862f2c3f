"""The process environment fpgaml depends on, in one place.

``import fpgaml`` changes nothing. Loading a (Q)Keras model needs QKeras 0.9.0's Keras-2 API, selected by
``TF_USE_LEGACY_KERAS=1`` before TensorFlow is first imported: :func:`require_legacy_keras` sets it then (and
only then), and names the problem when TensorFlow was already imported without it. The command line adds its
own quiet settings (:func:`cli_environment`): no TensorFlow C++ logs and no CUDA probing (fpgaml never needs a
GPU), which a library user's training script must not inherit.
"""

from __future__ import annotations

import os
import sys

from fpgaml.errors import FpgamlError


def require_legacy_keras() -> None:
    """Make sure TensorFlow's ``tf.keras`` is tf_keras (Keras 2), as QKeras 0.9.0 needs."""
    if os.environ.get('TF_USE_LEGACY_KERAS') == '1':
        return
    if 'tensorflow' in sys.modules:
        raise FpgamlError(
            'TensorFlow was imported before fpgaml without TF_USE_LEGACY_KERAS=1; QKeras 0.9.0 needs '
            'the Keras-2 API (tf_keras). Set TF_USE_LEGACY_KERAS=1 in the environment (or before '
            'importing TensorFlow)'
        )
    os.environ['TF_USE_LEGACY_KERAS'] = '1'


def cli_environment() -> None:
    """Settings of the ``fpgaml`` command (not of library use)."""
    os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
    os.environ.setdefault('CUDA_VISIBLE_DEVICES', '')
    require_legacy_keras()
