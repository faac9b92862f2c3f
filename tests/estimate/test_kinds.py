"""Figure kinds (synth / csynth), uncertainty bands, uncalibrated families and band budgets."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from fpgaml.estimate import Estimate, estimate
from fpgaml.estimate.kinds import Calibration, calibration
from fpgaml.target import Budgets, check_budgets

PART = 'xcvu9p-flga2104-2L-e'
BANDED = ('latency_cycles', 'dsp', 'lut', 'ff')


@pytest.fixture(scope='module')
def mlp(keras, convert):
    L = keras.layers
    m = keras.Sequential(
        [
            L.Dense(32, input_shape=(16,), name='fc1'),
            L.Activation('relu', name='r1'),
            L.Dense(5, name='fc2'),
            L.Activation('softmax', name='sm'),
        ]
    )
    return estimate(convert(m), PART, 5.0)


def test_both_kinds_with_bands_around_the_figure(mlp):
    d = json.loads(json.dumps(mlp.to_json_dict()))
    assert d['default_kind'] == 'synth'
    for kind in ('synth', 'csynth'):
        k = d[kind]
        for m in BANDED:
            lo, hi = k['band'][m]
            assert lo <= k[m] <= hi, (kind, m, lo, k[m], hi)
        assert hi > lo  # a real band, not a point
    # the default kind is what the per-layer table and `total` show
    for m in ('dsp', 'lut', 'ff', 'latency_cycles'):
        assert d['synth'][m] == d['total'][m]
    assert d['uncalibrated'] == []


def test_kinds_are_calibrated_separately(mlp):
    """csynth and synth LUT/FF come from factors fitted on figures of their own kind (calibration.yml)."""
    cal = calibration()
    assert cal.factor('csynth', 'lut', 'dense/conv') != cal.factor('synth', 'lut', 'dense/conv')
    assert mlp.kinds['csynth']['lut'] != mlp.kinds['synth']['lut']
    assert mlp.kinds['csynth']['dsp'] == mlp.kinds['synth']['dsp']  # DSP counts are not kind-scaled


def test_round_trip_keeps_kinds_and_bands(mlp):
    back = Estimate.from_json_dict(json.loads(json.dumps(mlp.to_json_dict())), 5.0, 'io_parallel')
    assert back.kinds['csynth']['band']['lut'] == mlp.kinds['csynth']['band']['lut']
    assert back.figure('lut', 'csynth', 'high') == mlp.kinds['csynth']['band']['lut'][1]


def test_margin_band_checks_the_upper_edge(mlp):
    lut, hi = mlp.kinds['synth']['lut'], mlp.kinds['synth']['band']['lut'][1]
    limit = (lut + hi) // 2  # between the figure and its band's upper edge
    (plain,) = check_budgets(mlp, {'max_resources': {'lut': limit}})
    (banded,) = check_budgets(mlp, {'max_resources': {'lut': limit}, 'margin': 'band'})
    assert plain.passed and plain.value == lut
    assert not banded.passed and banded.value == hi
    assert 'band upper edge' in banded.message and 'exceeds' in banded.message


def test_budget_kind_selects_the_figure(mlp):
    limit = mlp.kinds['csynth']['lut'] - 1
    (r,) = check_budgets(mlp, Budgets(max_resources={'lut': limit}, kind='csynth'))
    assert r.value == mlp.kinds['csynth']['lut'] and not r.passed and '[csynth]' in r.message
    (lat,) = check_budgets(mlp, {'max_latency_ns': 1000, 'margin': 'band'})
    assert lat.value == pytest.approx(mlp.kinds['synth']['band']['latency_cycles'][1] * 5.0)
    with pytest.raises(ValidationError):
        Budgets(kind='vivado')
    with pytest.raises(ValidationError):
        Budgets(margin='10%')


def test_family_without_data_is_flagged_uncalibrated(keras, convert):
    L = keras.layers
    m = keras.Sequential([L.LSTM(8, input_shape=(5, 4), name='lstm'), L.Dense(2, name='out')])
    e = estimate(convert(m), PART, 5.0)
    assert 'recurrent' in e.uncalibrated
    assert any('recurrent' in f and 'uncalibrated' in f for f in e.flags)
    default_lo, default_hi = calibration().default_band
    hi = e.kinds['synth']['band']['lut'][1]
    assert hi >= default_hi * e.layer('lstm').lut  # the LSTM's share carries the wide default band


def test_io_parallel_io_registers_match_csynth(keras, convert):
    """hls4ml's test_activations Dense(1->64)+ReLU: csynth reports 0 cycles and 18 FF (16 input bits + 2)."""
    L = keras.layers
    m = keras.Sequential([L.Dense(64, input_shape=(1,), name='Dense'), L.Activation('relu', name='relu')])
    e = estimate(
        convert(m, {'Model': {'Precision': 'fixed<16,6>', 'ReuseFactor': 1, 'Strategy': 'Latency'}}),
        'xcvu13p-flga2577-2-e',
        5.0,
        calibration=Calibration({}),
    )
    assert e.total.latency_cycles == 0
    assert e.total.ff == 18


def test_every_layer_carries_a_band(mlp):
    for layer in mlp.to_json_dict()['layers']:
        for m in BANDED:
            lo, hi = layer['band'][m]
            assert lo <= layer[m] <= hi, (layer['name'], m)


def test_reports_show_kinds_bands_and_uncalibrated_families(mlp, keras, convert):
    from fpgaml.report.html import render_html_report
    from fpgaml.report.table import estimate_table_text

    text = estimate_table_text(mlp)
    lo, hi = mlp.kinds['csynth']['band']['lut']
    assert f'LUT {mlp.kinds["csynth"]["lut"]:,} [{lo:,}-{hi:,}]' in text and 'csynth' in text
    L = keras.layers
    lstm = estimate(convert(keras.Sequential([L.GRU(4, input_shape=(3, 2), name='gru')])), PART, 5.0)
    page = render_html_report(lstm)
    assert 'uncertainty bands' in page and 'Uncalibrated' in page and 'recurrent' in page


def test_every_structural_constant_has_its_provenance():
    """calibration.yml lists each numeric module constant of the cost models with its value and source."""
    import sys

    import yaml

    from fpgaml.estimate import arith, costs, estimator, primitives
    from fpgaml.estimate.kinds import CALIBRATION_FILE
    from fpgaml.families import families

    listed = yaml.safe_load(CALIBRATION_FILE.read_text())['constants']
    cost_modules = {sys.modules[fn.__module__] for f in families() for fn in f.cost.values()}
    for mod in (arith, primitives, costs, estimator, *sorted(cost_modules, key=lambda m: m.__name__)):
        short = mod.__name__.rsplit('.', 1)[1]
        for name, value in vars(mod).items():
            if name.isupper() and isinstance(value, (int, float)) and not isinstance(value, bool):
                entry = listed.get(f'{short}.{name}')
                assert entry is not None, f'{short}.{name} has no provenance in calibration.yml'
                assert entry['value'] == value and entry['provenance'], f'{short}.{name}'


def test_structures_without_data_are_uncalibrated(keras, convert):
    """The Resource strategy (shared multipliers) and depthwise convolutions have no calibration figure yet."""
    L = keras.layers
    m = keras.Sequential([L.Dense(32, input_shape=(16,), name='fc')])
    shared = estimate(
        convert(m, {'Model': {'Precision': 'fixed<16,6>', 'ReuseFactor': 4, 'Strategy': 'Resource'}}), PART, 5.0
    )
    assert shared.layer('fc').family == 'dense/conv/shared' and 'dense/conv/shared' in shared.uncalibrated
    dw = estimate(convert(keras.Sequential([L.DepthwiseConv2D(3, input_shape=(8, 8, 4), name='dw')])), PART, 5.0)
    assert 'dense/conv/depthwise' in dw.uncalibrated
