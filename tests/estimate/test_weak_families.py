"""Structures of the layer families the calibration set had no figure of (issue 23): parametric ReLUs cost by their
constant slope, io_parallel convolutions over several partitions pay for the window multiplexer, Latency kernels at
reuse factor > 1 keep constant products, table activations cost the index logic their template builds, and the
published DeepSets points load from ../shared (skipped without)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from fpgaml.estimate import estimate
from fpgaml.estimate.kinds import Calibration

REPO = Path(__file__).resolve().parents[2]

PART = 'xcvu9p-flga2104-2L-e'
DEEPSETS = REPO.parent / 'shared' / 'realmodels' / 'l1-jet-id-deepsets'


def _hls(**layers):
    return {'Model': {'Precision': 'fixed<16,6>', 'ReuseFactor': 1, 'Strategy': 'Latency'}, 'LayerName': layers}


@pytest.mark.parametrize('alpha', [1.0, 0.0, 0.5])
def test_leaky_relu_with_a_trivial_slope_costs_no_multiplier(keras, convert, alpha):
    """``x > 0 ? x : alpha * x``: a slope of 1 builds nothing, 0 is a ReLU, a power of two a shift; only other slopes
    add shift-adds."""
    L = keras.layers
    relu = estimate(convert(keras.Sequential([L.ReLU(input_shape=(32,), name='act')])), PART, 5.0)
    leaky = estimate(convert(keras.Sequential([L.LeakyReLU(alpha, input_shape=(32,), name='act')])), PART, 5.0)
    odd = estimate(convert(keras.Sequential([L.LeakyReLU(0.3, input_shape=(32,), name='act')])), PART, 5.0)
    assert leaky.layer('act').lut <= relu.layer('act').lut
    assert odd.layer('act').lut > relu.layer('act').lut
    if alpha == 1.0:
        assert leaky.layer('act').lut == 0


def test_prelu_costs_each_slope(keras, convert):
    L = keras.layers
    m = keras.Sequential([L.PReLU(input_shape=(32,), name='act')])
    m.get_layer('act').set_weights([np.zeros(32)])
    zero = estimate(convert(m), PART, 5.0).layer('act').lut
    m.get_layer('act').set_weights([np.full(32, 0.3)])
    odd = estimate(convert(m), PART, 5.0).layer('act').lut
    assert 0 < zero < odd


def test_io_parallel_depthwise_pays_for_its_window_multiplexer(keras, convert):
    """hls4ml's generated fill_buffer picks each window element from one of n_partitions positions: computing one
    output pixel at a time (ParallelizationFactor 1) costs multiplexers that all pixels at once do not need."""
    L = keras.layers
    m = keras.Sequential([L.DepthwiseConv2D(3, input_shape=(10, 10, 4), name='dw')])
    one = estimate(convert(m, _hls(dw={'ParallelizationFactor': 1})), PART, 5.0).layer('dw')
    every = estimate(convert(m, _hls(dw={'ParallelizationFactor': 64})), PART, 5.0).layer('dw')
    assert one.ii_cycles == 64 and every.ii_cycles == 1
    # 3x3x4 window elements x 16 bits x 63/3 LUTs of a 64-input multiplexer, beside one kernel's products
    assert one.lut > 3 * 3 * 4 * 16 * 63 / 3
    assert one.dsp < every.dsp


def test_latency_reuse_factor_shares_only_dsps(keras, convert):
    """Latency kernels at reuse factor > 1 keep constant weights: the DSP-bound products share their DSPs over the
    reuse factor, the LUT-mapped ones stay one per constant (narrow weights: the same LUTs at any reuse factor)."""
    L = keras.layers
    m = keras.Sequential([L.Dense(32, input_shape=(32,), name='fc')])
    rng = np.random.default_rng(1)
    m.get_layer('fc').set_weights([rng.integers(-7, 8, size=(32, 32)) / 8.0, np.zeros(32)])
    hls = {'Model': {'Precision': 'fixed<16,6>', 'ReuseFactor': 1, 'Strategy': 'Latency'}}
    narrow = {'fc': {'Precision': {'weight': 'fixed<4,1>'}}}
    raw = Calibration({})  # structural counts (the two are calibration families of their own)
    e1 = estimate(convert(m, {**hls, 'LayerName': narrow}), PART, 5.0, raw).layer('fc')
    e2 = estimate(convert(m, {**hls, 'LayerName': {'fc': {**narrow['fc'], 'ReuseFactor': 2}}}), PART, 5.0, raw)
    e2 = e2.layer('fc')
    assert e1.dsp == e2.dsp == 0
    assert e2.lut == e1.lut and e2.ii_cycles == 2


def _dense64(keras, last):
    L = keras.layers
    return keras.Sequential([L.Dense(64, input_shape=(1,), name='fc'), last])


def test_table_activations_cost_what_their_template_indexes(keras, convert):
    """nnet_activation.h: sigmoid indexes a symmetric table (offset, clamps on both sides, rounding towards zero of
    a negative index), ELU reads its table only for x < 0 (a negation, one clamp) and selects between the branches.
    Per lookup the ROM is the same; the index logic and the registers differ (csynth of Dense(1->64): sigmoid
    costs 2-3x ELU's LUTs; ELU holds x and the branch flag over the read, 17 FF per element; sigmoid registers
    its 10-bit address)."""
    L = keras.layers
    raw = Calibration({})
    sig = estimate(convert(_dense64(keras, L.Activation('sigmoid', name='act'))), PART, 5.0, raw)
    elu = estimate(convert(_dense64(keras, L.ELU(1.0, name='act'))), PART, 5.0, raw)
    s, e = sig.layer('act'), elu.layer('act')
    assert s.bram_18k == e.bram_18k == 32  # 1024 x 18 bits, dual-ported: a copy per two lookups
    assert s.lut > 1.5 * e.lut > 0
    assert (s.ff, e.ff) == (64 * 10, 64 * (16 + 1))
    # the table read is the last stage: its register is the ROM's own, so no output register is dropped from it
    assert sig.total.ff == 16 + 2 + 64 * 16 + 64 * 10


def test_elu_of_unsigned_data_is_its_linear_branch(keras, convert):
    """``datareg >= 0`` always holds for unsigned data: HLS keeps no table and no index logic."""
    L = keras.layers
    m = keras.Sequential([L.ELU(1.0, input_shape=(8,), name='act')])
    hls = {'Model': {'Precision': 'ufixed<8,0>', 'ReuseFactor': 1, 'Strategy': 'Latency'}}
    act = estimate(convert(m, hls), PART, 5.0, Calibration({})).layer('act')
    assert act.bram_18k == act.lut == 0


def _benchmark():
    sys.path.insert(0, str(REPO / 'benchmarks'))
    try:
        import estimator_calibration
    finally:
        sys.path.remove(str(REPO / 'benchmarks'))
    return estimator_calibration


def test_deepsets_points_skip_without_shared(tmp_path):
    bench = _benchmark()
    graph, reason = bench.build_published({'model': {'path': str(tmp_path / 'absent')}})
    assert graph is None and 'absent' in reason


@pytest.mark.skipif(not DEEPSETS.is_dir(), reason=f'published DeepSets taggers not found at {DEEPSETS}')
def test_deepsets_points_load_from_shared():
    """The calibration points read the published model and config in place and convert them as fpgaml build does."""
    import yaml

    bench = _benchmark()
    points = {p['id']: p for p in yaml.safe_load(bench.CALIBRATION.read_text())['points']}
    p = points['deepsets_4bits_8const']
    assert p['model']['path'].startswith('../shared/')
    graph, origin = bench.build_published(p)
    assert graph is not None, origin
    e = estimate(graph)
    assert e.total.ii_cycles == 2 and abs(e.total.latency_cycles - 19) <= 2
    assert e.layer('phi2').family == 'dense/conv/reuse'
