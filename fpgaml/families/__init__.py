"""Layer families: one module per family declares everything fpgaml knows about its layers, so a new layer class
or a new family is one file (see the README's "Adding a layer").

A :class:`Family` is a plain declaration, the way hls4ml attaches templates and passes to a layer class: its
hls4ml and Keras classes, its passes, cost models, calibration sub-families, RTL lowerings and the rules the
pipeline asks of a layer (which Keras output it is compared with, whether hls4ml splits its activation off,
whether it counts for "every layer is quantized"). See :class:`fpgaml.families.base.Family` for each field.

Families are registered in order (the flow runs their passes in that order): fpgaml's own by
:mod:`fpgaml.families.builtin` when fpgaml is imported, a plug-in's by :func:`register_family`. This package holds
the registry only (:mod:`fpgaml.families.base`): the pipeline's stages ask it, the family modules import the
stages' building blocks (passes, :mod:`fpgaml.estimate.primitives`, :mod:`fpgaml.rtl.ops`), and no import goes
round in a circle.
"""

from __future__ import annotations

from .base import (
    Family,
    activation_output,
    cost_model,
    families,
    family_for_layer,
    family_of,
    is_activation,
    keras_input_limits,
    keras_quantization,
    keras_reference,
    lookup_names,
    lowering,
    own_output,
    pass_classes,
    profile_rule,
    register_family,
    rtl_supported,
    splits_activation,
    unregister_family,
    without_keras_reference,
)

__all__ = [
    'Family',
    'activation_output',
    'cost_model',
    'families',
    'family_for_layer',
    'family_of',
    'is_activation',
    'keras_input_limits',
    'keras_quantization',
    'keras_reference',
    'lookup_names',
    'lowering',
    'own_output',
    'pass_classes',
    'profile_rule',
    'register_family',
    'rtl_supported',
    'splits_activation',
    'unregister_family',
    'without_keras_reference',
]
