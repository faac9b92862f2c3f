"""fpgaml.divergence: the first divergent layer, as the C-simulation, the regression and the RTL check name it."""

import numpy as np

from fpgaml.divergence import Divergence, LayerValues, first_divergence


def _layers(*pairs):
    return [LayerValues(f'l{i}', 'Dense', np.asarray(e), np.asarray(g)) for i, (e, g) in enumerate(pairs)]


def test_the_first_layer_that_differs_in_network_order():
    same = [[1, 2], [3, 4]]
    d = first_divergence(_layers((same, same), (same, [[1, 2], [3, 5]]), (same, [[0, 0], [0, 0]])))
    assert (d.layer, d.cls, d.values_differing, d.values_compared, d.samples_traced) == ('l1', 'Dense', 1, 4, 2)
    assert (d.first_at, d.expected, d.got, d.max_abs_diff, d.type_change) == ((1, 1), 4, 5, 1.0, None)
    assert first_divergence(_layers((same, same))) is None


def test_values_within_the_slack_agree():
    ref, got = np.array([[0.0, 1.0]]), np.array([[0.01, 1.0]])
    assert first_divergence([LayerValues('a', 'Dense', ref, got, slack=0.02)]) is None
    assert first_divergence([LayerValues('a', 'Dense', ref, got, slack=0.001)]).values_differing == 1


def test_a_changed_type_or_shape_diverges_before_any_value():
    v = np.zeros((2, 3))
    d = first_divergence([LayerValues('a', 'Dense', v, v, expected_type='fixed<8,3>', got_type='fixed<9,3>')])
    assert d.type_change == ('fixed<8,3>', 'fixed<9,3>') and d.values_differing == 0
    assert first_divergence([LayerValues('a', 'Dense', v, np.zeros((2, 4)))]).type_change is not None


def test_no_layer_after_the_divergent_one_is_computed():
    computed = []

    def layers():
        for name, got in (('a', [[1]]), ('b', [[2]]), ('c', [[3]])):
            computed.append(name)
            yield LayerValues(name, 'Dense', np.array([[1]]), np.array(got))

    assert first_divergence(layers()).layer == 'b' and computed == ['a', 'b']


def test_the_report_records_the_same_figures_as_before():
    d = Divergence('fc1', 'Dense', 3, 40, 0.5, 8, (0, 2), 1.0, 1.5)
    assert d.to_json() == {
        'layer': 'fc1',
        'cls': 'Dense',
        'values_differing': 3,
        'values_compared': 40,
        'max_abs_diff': 0.5,
        'samples_traced': 8,
    }
    assert d.describe() == 'fc1 (Dense): 3 of 40 values differ (max |diff| 0.5) over 8 traced samples'
