"""The :class:`Family` declaration and the registry fpgaml's pipeline asks (by hls4ml class, by Keras class, by graph
layer). The built-in families register themselves in :mod:`fpgaml.families`; see there for what a family holds."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

CostModel = Callable[[Any, Any], Any]  # (estimate.primitives.Context, hls4ml layer) -> LayerCost
Lowering = Callable[[Any, Any], Any]  # (hls4ml layer, rtl.ops.RtlInput) -> flat object array of da4ml variables
KerasReference = Callable[[Any, dict, Any], Any]  # (hls4ml layer, Keras outputs by name, Keras model) -> array


def own_output(layer, kout: dict, model=None):
    """The output of the Keras layer of the same name (None when the Keras model has none)."""
    return kout.get(layer.name)


def activation_output(layer, kout: dict, model=None):
    """An activation hls4ml split off a Keras layer's ``activation=`` argument has no Keras layer of its own: it is
    compared with that layer's post-activation output (``<layer>:post``, ``LoadedModel.layer_outputs``)."""
    if layer.name in kout:
        return kout[layer.name]
    src = layer.get_input_node()
    if src is not None and src.name + ':post' in kout:
        return kout[src.name + ':post']
    return None


@dataclass(frozen=True)
class Family:
    """Everything fpgaml knows about a family of layers. It names its hls4ml classes (``node.class_name``) and the
    Keras classes they come from, and holds, per class where it matters:

    * ``passes`` — fpgaml's corrections (:class:`fpgaml.convert.passes.Pass` subclasses), in flow order;
    * ``cost`` — the estimator's cost model (``cost(ctx, layer) -> LayerCost``, :mod:`fpgaml.estimate.primitives`);
      ``subfamily`` — the calibration family of a layer when its structure differs from the family's (see
      :meth:`Family.calibration`);
    * ``lower`` — the RTL backend's lowering (``lower(layer, inp) -> values``, :mod:`fpgaml.rtl.ops`), ``rtl_check``
      its cheap check run before the C-simulation, ``rtl_supported`` what the family supports, in words (a class
      without a lowering is refused with that list); ``rtl_folds_input`` and ``rtl_left_out_last`` for the graph
      walk's two special cases (an HGQ input quantizer, a final softmax);
    * ``profile`` — what the ``profile`` precision policy chooses for a layer: ``'skip'`` (nothing: the result is
      the input's type, or the internals have their own types), ``'result'``, or ``'result+accum'``;
    * ``keras_reference`` — which Keras output a traced layer is compared with (by default the Keras layer of the
      same name, :func:`own_output`); ``takes_input_reference`` — the classes hls4ml splits off the layer before
      them (ApplyAlpha: a QKeras quantizer's scale), whose Keras reference is that layer's: the layer before has
      none of its own (:func:`without_keras_reference`);
    * ``activation`` — what hls4ml does with the ``activation=`` argument of the family's Keras layers: ``'split'``
      (a layer of its own, ``<layer>_<activation>``), ``'is'`` (the layer is an activation) or ``'inside'`` (the
      layer computes it itself: recurrent cells);
    * ``keras_passthrough`` / ``keras_exact`` / ``keras_passed_over`` — the Keras layers that do not count when fpgaml
      decides whether every layer of a model is quantized (:func:`keras_quantization`).
    * ``keras_input_limits`` — the inputs of a Keras layer that take integers ``0 .. limit - 1`` rather than numbers
      (an Embedding's row indices, a GarNet vertex count), by input position: generated validation inputs stay in
      that domain and loaded ones are checked against it (:func:`keras_input_limits`).
    """

    name: str
    hls_classes: tuple[str, ...]
    keras_classes: tuple[str, ...] = ()
    passes: tuple[type, ...] = ()
    cost: Mapping[str, CostModel] = field(default_factory=dict)
    subfamily: Callable[[Any], str | None] | None = None  # layer -> calibration family other than ``name``
    profile: str = 'result'
    profile_by_class: Mapping[str, str] = field(default_factory=dict)  # exceptions to ``profile``
    keras_reference: KerasReference = own_output
    keras_reference_by_class: Mapping[str, KerasReference] = field(default_factory=dict)
    takes_input_reference: tuple[str, ...] = ()
    activation: str = 'split'
    keras_passthrough: tuple[str, ...] = ()
    keras_exact: tuple[str, ...] = ()
    keras_exact_if: Callable[[Any], bool] | None = None  # Keras layer -> exact on quantized inputs (see keras_exact)
    keras_passed_over: Callable[[Any], bool] | None = None
    keras_input_limits: Callable[[Any], dict[int, int]] | None = None  # Keras layer -> {input position: limit}
    lower: Mapping[str, Lowering] = field(default_factory=dict)
    rtl_check: Callable[[Any], None] | None = None  # raises RtlUnsupported for what ``lower`` would refuse
    rtl_supported: tuple[str, ...] = ()
    rtl_folds_input: Callable[[Any], bool] | None = None  # can this layer, alone reading the input, size it?
    rtl_left_out_last: bool = False  # as the model's last layer, the RTL ends at its input (a final softmax)

    def profile_rule(self, hls_class: str) -> str:
        return self.profile_by_class.get(hls_class, self.profile)

    def calibration(self, layer) -> str:
        """The calibration family of a layer: the family's name, or its ``subfamily`` where the layer's structure
        differs (a lookup table is not a compare-and-select; shared multipliers are not constant products)."""
        sub = self.subfamily(layer) if self.subfamily is not None else None
        return sub or self.name

    def reference(self, layer, kout: dict, model=None):
        return self.keras_reference_by_class.get(layer.class_name, self.keras_reference)(layer, kout, model)


_ACTIVATION_RULES = ('split', 'is', 'inside')
_FAMILIES: list[Family] = []
_BY_CLASS: dict[str, Family] = {}
_BY_KERAS: dict[str, Family] = {}


def register_family(family: Family) -> Family:
    """Add a family (after the built-in ones: its passes run last). A class already in a family is refused."""
    if family.activation not in _ACTIVATION_RULES:
        raise ValueError(
            f'family {family.name}: activation must be one of {_ACTIVATION_RULES}, got {family.activation!r}'
        )
    if any(f.name == family.name for f in _FAMILIES):
        raise ValueError(f'a family named {family.name!r} is registered already')
    for classes, table in ((family.hls_classes, _BY_CLASS), (family.keras_classes, _BY_KERAS)):
        for cls in classes:
            if cls in table:
                raise ValueError(f'family {family.name}: {cls} is in family {table[cls].name} already')
    unknown = sorted((set(family.cost) | set(family.lower)) - set(family.hls_classes))
    if unknown:
        raise ValueError(
            f'family {family.name}: cost models or lowerings for classes it does not list: {", ".join(unknown)}'
        )
    _FAMILIES.append(family)
    _BY_CLASS.update(dict.fromkeys(family.hls_classes, family))
    _BY_KERAS.update(dict.fromkeys(family.keras_classes, family))
    return family


def unregister_family(name: str) -> None:
    """Remove a family :func:`register_family` added (tests and notebooks)."""
    family = next(f for f in _FAMILIES if f.name == name)
    _FAMILIES.remove(family)
    for table in (_BY_CLASS, _BY_KERAS):
        for cls in [c for c, f in table.items() if f is family]:
            del table[cls]


def families() -> tuple[Family, ...]:
    return tuple(_FAMILIES)


def family_of(hls_class: str) -> Family | None:
    """The family of an hls4ml class name (exactly)."""
    return _BY_CLASS.get(hls_class)


def lookup_names(layer) -> list[str]:
    """The class names a layer is known by, most specific first: its ``class_name``, then the classes it derives
    from, each also without a backend's ``Vivado`` prefix (``VivadoDense`` is a ``Dense``)."""
    names = []
    for n in [layer.class_name] + [k.__name__ for k in type(layer).__mro__]:
        names.append(n)
        if n.startswith('Vivado'):
            names.append(n[len('Vivado') :])
    return names


def family_for_layer(layer) -> Family | None:
    """The family of a graph layer, by its class name or a class it derives from (None: no family knows it)."""
    for n in lookup_names(layer):
        if n in _BY_CLASS:
            return _BY_CLASS[n]
    return None


def cost_model(layer) -> CostModel | None:
    """The cost model of a graph layer: the first of its class names (:func:`lookup_names`) a family costs."""
    for n in lookup_names(layer):
        f = _BY_CLASS.get(n)
        if f is not None and n in f.cost:
            return f.cost[n]
    return None


def lowering(layer) -> Lowering | None:
    """The RTL lowering of a graph layer's class (exactly its ``class_name``), or None."""
    f = family_of(layer.class_name)
    return f.lower.get(layer.class_name) if f is not None else None


def rtl_supported() -> list[str]:
    """What the RTL backend builds, family by family, in words."""
    return [text for f in _FAMILIES for text in f.rtl_supported]


def profile_rule(hls_class: str) -> str:
    """What the ``profile`` precision policy chooses for a layer of this class (see :class:`Family`)."""
    f = family_of(hls_class)
    return f.profile_rule(hls_class) if f is not None else 'result'


def keras_reference(layer, kout: dict, model=None):
    """The Keras output a traced graph layer is compared with, by its family's rule (None: none to compare); for a
    layer marked :data:`KERAS_OUTPUT`, that Keras layer's output."""
    moved = layer.get_attr(KERAS_OUTPUT, None)
    if moved is not None:
        return kout.get(moved)
    f = family_for_layer(layer)
    return (f.reference if f is not None else own_output)(layer, kout, model)


# A layer that computes another Keras layer's output is marked with this attribute, naming that layer (a linear
# quantizer hls4ml removed after it: fpgaml.convert.quantizer_types).
KERAS_OUTPUT = 'fpgaml_keras_output'


# A pass that moves part of a layer's computation into a later layer marks the layer with this attribute: its Keras
# twin computes more than it does (exact_binary_thresholds moves a binary layer's scale and bias into a threshold).
UNSCALED_OUTPUT = 'fpgaml_unscaled_output'


def without_keras_reference(graph) -> set[str]:
    """The graph layers whose Keras twin's output is not theirs, so that nothing is compared with them: the layer
    before one whose family takes its reference over (``takes_input_reference``), and a layer a pass marked
    :data:`UNSCALED_OUTPUT`."""
    names = set()
    for layer in graph.get_layers():
        f = family_of(layer.class_name)
        if f is not None and layer.class_name in f.takes_input_reference:
            names.add(layer.get_input_node().name)
        if layer.get_attr(UNSCALED_OUTPUT, False):
            names.add(layer.name)
    return names


def is_activation(hls_class: str) -> bool:
    """Whether the class is an activation (hls4ml makes one of a Keras layer's ``activation=`` argument)."""
    f = family_of(hls_class)
    return f is not None and f.activation == 'is'


def splits_activation(class_name: str, activation) -> bool:
    """Whether hls4ml turns the ``activation=`` argument of a layer of this class (a Keras class, or the class
    hls4ml's parser gave it) into a layer of its own, ``<layer>_<activation>``, as its converter does for every
    layer but activations and recurrent layers. The one rule for both places that ask: the layer names the hls4ml
    config is written for (convert.hlsconfig) and the Keras layers whose pre-activation output the C-simulation
    compares with (frontend). Their two class lists disagreed only on layers hls4ml never splits (recurrent
    layers, hls4ml's TernaryTanh / HardActivation classes), for which the config named layers that never exist."""
    if activation is None:
        return False
    f = _BY_CLASS.get(class_name) or _BY_KERAS.get(class_name)
    return f is None or f.activation == 'split'


def keras_quantization(keras_layer) -> str | None:
    """How a Keras layer counts when fpgaml decides whether every layer of a model is quantized: ``'passthrough'``
    (it computes nothing: its output is on its input's grid), ``'exact'`` (sums, differences, products, maxima,
    concatenations of its inputs: on quantized inputs every result is exact, and bit-exact mode gives it a type
    that holds them all), ``'passed_over'`` (it computes, but keeps a quantized input's grid or is compared by
    tolerance anyway), or None (its own quantizers decide)."""
    cls = type(keras_layer).__name__
    f = _BY_KERAS.get(cls)
    if f is None:
        return None
    if cls in f.keras_passthrough:
        return 'passthrough'
    if cls in f.keras_exact or (f.keras_exact_if is not None and f.keras_exact_if(keras_layer)):
        return 'exact'
    if f.keras_passed_over is not None and f.keras_passed_over(keras_layer):
        return 'passed_over'
    return None


def keras_input_limits(keras_layer) -> dict[int, int]:
    """{input position: limit} for the inputs of a Keras layer whose values are integers ``0 .. limit - 1``."""
    f = _BY_KERAS.get(type(keras_layer).__name__)
    return f.keras_input_limits(keras_layer) if f is not None and f.keras_input_limits is not None else {}


def pass_classes() -> list[type]:
    """fpgaml's passes, family by family (the flow runs config passes before graph passes)."""
    return [p for f in _FAMILIES for p in f.passes]
