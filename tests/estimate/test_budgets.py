import pytest
from pydantic import ValidationError

from fpgaml.estimate import estimate
from fpgaml.target import Budgets, check_budgets

PART = 'xcvu9p-flga2104-2L-e'


@pytest.fixture(scope='module')
def est(keras, convert):
    m = keras.Sequential(
        [keras.layers.Dense(32, input_shape=(16,)), keras.layers.Activation('relu'), keras.layers.Dense(5)]
    )
    return estimate(convert(m), PART, 5.0)


def test_validation():
    Budgets(max_latency_ns=100, max_ii_cycles=1, max_resources={'dsp': 1000, 'lut': '60%', 'bram_18k': '12.5 %'})
    with pytest.raises(ValidationError, match='extra'):
        Budgets(max_latency=100)
    with pytest.raises(ValidationError, match='unknown resource'):
        Budgets(max_resources={'dsps': 10})
    with pytest.raises(ValidationError, match='percentage'):
        Budgets(max_resources={'lut': '60'})
    with pytest.raises(ValidationError, match='percentage'):
        Budgets(max_resources={'lut': '160%'})
    with pytest.raises(ValidationError, match='not both'):
        Budgets(max_latency_ns=10, max_latency_cycles=2)
    with pytest.raises(ValidationError):
        Budgets(max_latency_ns=-1)
    with pytest.raises(ValidationError):
        Budgets(max_resources={'dsp': True})


def test_check_pass_and_fail(est):
    t = est.total
    res = check_budgets(
        est,
        {
            'max_latency_ns': t.latency_ns - 5,
            'max_ii_cycles': 1,
            'max_resources': {'dsp': t.dsp + 10, 'lut': '50%', 'ff': max(0, t.ff - 1)},
        },
    )
    by = {r.name: r for r in res}
    assert [r.name for r in res] == ['latency', 'II', 'DSP', 'LUT', 'FF']
    lat = by['latency']
    assert not lat.passed and lat.margin == pytest.approx(-5)
    assert lat.message == f'latency {t.latency_ns:g} ns exceeds budget {t.latency_ns - 5:g} ns by 5 ns'
    assert by['II'].passed
    assert by['DSP'].passed and by['DSP'].margin == 10
    assert by['LUT'].limit == pytest.approx(0.5 * est.device.lut)
    assert '50% of xcvu9p' in by['LUT'].message
    assert not by['FF'].passed and 'exceeds' in by['FF'].message
    for r in res:
        assert '\n' not in r.message


def test_latency_cycles_budget(est):
    (r,) = check_budgets(est, Budgets(max_latency_cycles=est.total.latency_cycles))
    assert r.passed and r.unit == 'cycles' and r.margin == 0


def test_message_example():
    """The format of the issue's example: 'latency 125 ns exceeds budget 100 ns by 25 ns'."""
    from fpgaml.target.budgets import _result

    assert _result('latency', 'ns', 100, 125).message == 'latency 125 ns exceeds budget 100 ns by 25 ns'
