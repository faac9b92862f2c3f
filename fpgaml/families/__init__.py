"""Layer families: one module per family declares everything fpgaml knows about its layers, so a new family
or a new layer class touches one place.

A :class:`Family` names

* ``hls_classes`` — hls4ml ModelGraph class names (``node.class_name``);
* ``passes`` — fpgaml's corrections for the family (:mod:`fpgaml.convert.passes`), in flow order;
* ``profile`` — what the ``profile`` precision policy chooses for a layer: ``'skip'`` (nothing: the result is
  the input's type, or the internals have their own types), ``'result'``, or ``'result+accum'``;
* ``keras_reference`` — which Keras output a traced layer is compared with: ``'own'`` (the Keras layer of
  the same name) or ``'fused'`` (an activation hls4ml split off a layer: that layer's post-activation output);
* ``costs`` — the estimator's cost model per class (a function name in :mod:`fpgaml.estimate.costs`).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Family:
    name: str
    hls_classes: tuple[str, ...]
    costs: dict[str, str] = field(default_factory=dict)  # hls4ml class -> cost function in estimate.costs
    passes: tuple[str, ...] = ()  # 'module:Class' in fpgaml.convert.passes
    profile: str = 'result'
    profile_by_class: dict[str, str] = field(default_factory=dict)  # exceptions to ``profile``
    keras_reference: str = 'own'

    def profile_rule(self, hls_class: str) -> str:
        return self.profile_by_class.get(hls_class, self.profile)


def _families() -> list[Family]:
    from . import (activations, batchnorm, binary, dense, garnet, merge, pooling, quantizer, recurrent, softmax,
                   structure)

    return [structure.FAMILY, quantizer.FAMILY, merge.FAMILY, activations.FAMILY, dense.FAMILY, batchnorm.FAMILY,
            binary.FAMILY, pooling.FAMILY, softmax.FAMILY, recurrent.FAMILY, garnet.FAMILY]


FAMILIES: list[Family] = _families()
_BY_CLASS = {cls: f for f in FAMILIES for cls in f.hls_classes}
assert len(_BY_CLASS) == sum(len(f.hls_classes) for f in FAMILIES), 'a layer class is in two families'


def family_of(hls_class: str) -> Family | None:
    return _BY_CLASS.get(hls_class)


def classes(**where) -> tuple[str, ...]:
    """hls4ml classes of the families whose fields equal ``where`` (e.g. ``classes(keras_reference='fused')``,
    ``classes(name='garnet')``)."""
    return tuple(c for f in FAMILIES if all(getattr(f, k) == v for k, v in where.items()) for c in f.hls_classes)


def profile_rule(hls_class: str) -> str:
    """What the ``profile`` precision policy chooses for a layer of this class (see :class:`Family`)."""
    f = family_of(hls_class)
    return f.profile_rule(hls_class) if f is not None else 'result'




def cost_functions() -> dict[str, str]:
    return {c: fn for f in FAMILIES for c, fn in f.costs.items()}


def pass_classes() -> list[type]:
    """fpgaml's passes, family by family (the flow runs config passes before graph passes)."""
    import importlib

    out = []
    for f in FAMILIES:
        for ref in f.passes:
            module, cls = ref.split(':')
            out.append(getattr(importlib.import_module(f'fpgaml.convert.passes.{module}'), cls))
    return out
