"""fpgaml: trained (Q)Keras model + YAML -> verified hls4ml firmware project.

Importing fpgaml registers its layer families (:mod:`fpgaml.families.builtin`) and changes nothing else in the
process; see :mod:`fpgaml._env` for what loading a model needs."""

from fpgaml.families import builtin as _builtin_families  # noqa: F401 - registers fpgaml's layer families

__version__ = '0.1.0'
