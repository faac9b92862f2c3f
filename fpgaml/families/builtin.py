"""fpgaml's own layer families, registered in flow order (their passes run in this order) when fpgaml is imported
(``fpgaml/__init__.py``), before any stage asks for one; a plug-in family registers after them."""

from __future__ import annotations

from . import activations, batchnorm, binary, dense, garnet, merge, pooling, quantizer, recurrent, softmax, structure
from .base import register_family

BUILTIN = (structure, quantizer, merge, activations, dense, batchnorm, binary, pooling, softmax, recurrent, garnet)

for _module in BUILTIN:
    register_family(_module.FAMILY)
