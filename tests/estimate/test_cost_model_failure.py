"""A family's cost model that cannot cost a layer says so (:func:`fpgaml.estimate.costs.layer_cost`): the layer gets
the generic estimate, flagged with the model's error; when the generic estimate fails too, the estimate stops with
an error naming the layer. A toy family (hls4ml's LayerNormalization, which no built-in family claims) whose cost
model raises is registered for the test and removed after it."""

from __future__ import annotations

import pytest

from fpgaml.errors import FpgamlError
from fpgaml.estimate import costs, estimate
from fpgaml.families import Family, register_family, unregister_family

PART = 'xcvu9p-flga2104-2L-e'
FAILURE = 'cost model for LayerNormalization failed (ValueError: toy model: no variance table); generic estimate'


def _broken_cost_model(ctx, layer):
    raise ValueError('toy model: no variance table')


@pytest.fixture
def broken_family():
    family = register_family(
        Family(
            name='toy-layernorm',
            hls_classes=('LayerNormalization',),
            cost={'LayerNormalization': _broken_cost_model},
        )
    )
    try:
        yield family
    finally:
        unregister_family(family.name)


@pytest.fixture(scope='module')
def layernorm_graph(keras, convert):
    """Input (4, 6) -> LayerNormalization -> Flatten -> Dense(3), converted by hls4ml (no fpgaml passes)."""
    keras.utils.set_random_seed(0)
    L = keras.layers
    model = keras.Sequential([L.Input((4, 6)), L.LayerNormalization(name='ln'), L.Flatten(), L.Dense(3, name='fc')])
    return convert(model)


def test_a_failing_cost_model_gives_the_flagged_generic_estimate(broken_family, layernorm_graph):
    e = estimate(layernorm_graph, PART, 5.0)
    ln = e.layer('ln')
    assert ln.family == 'toy-layernorm'
    assert FAILURE in ln.flags
    assert "no cost model for layer class 'LayerNormalization': conservative generic estimate" in ln.flags
    assert ln.latency_cycles > 0 and ln.lut > 0
    assert f'ln: {FAILURE}' in e.flags
    assert not any('failed' in f for f in e.layer('fc').flags)  # the other layers keep their own models


def test_a_layer_the_generic_estimate_cannot_read_stops_the_estimate(broken_family, layernorm_graph, monkeypatch):
    def unreadable(ctx, layer):
        raise KeyError('weight')

    monkeypatch.setattr(costs, 'generic', unreadable)
    with pytest.raises(FpgamlError) as e:
        estimate(layernorm_graph, PART, 5.0)
    assert str(e.value) == (
        f'estimate: layer "ln" (LayerNormalization) cannot be costed: {FAILURE}, which failed too '
        "(KeyError: 'weight')"
    )
