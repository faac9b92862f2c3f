"""fpgaml: trained (Q)Keras model + YAML -> verified hls4ml firmware project."""

import os as _os

# QKeras 0.9.0 only works with the Keras-2 API (tf_keras). Keras-3 models still load through `keras`.
_os.environ.setdefault('TF_USE_LEGACY_KERAS', '1')
_os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
# fpgaml never needs a GPU; without this TensorFlow probes CUDA and logs an error on machines without one.
_os.environ.setdefault('CUDA_VISIBLE_DEVICES', '')

__version__ = '0.1.0'
