"""fpgaml: trained (Q)Keras model + YAML -> verified hls4ml firmware project.

Importing fpgaml changes nothing in the process; see :mod:`fpgaml._env` for what loading a model needs."""

__version__ = '0.1.0'
