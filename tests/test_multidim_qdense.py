"""A QKeras QDense over a 2-D input (per element of a set, as DeepSets' phi layers): hls4ml 1.3.0 turns it into a
kernel-size-1 convolution and drops its quantizers, so the weights were written unquantized (floored by the C++
cast where QKeras rounds); the quantized_multidim_dense pass re-applies them. And an older hls4ml's
``ConvImplementation: Pointwise`` on such a layer (io_parallel, Latency) is built with every position at once, as
that hls4ml's pointwise kernel computed it (one partition: ParallelizationFactor = the output width).
The published DeepSets taggers these come from: tests/test_realmodels_deepsets.py (needs ../shared)."""

from __future__ import annotations

import pytest
from fpgaml_testutil import write

from fpgaml.config import load_config
from fpgaml.flow import build
from fpgaml.project import Project

CONFIG = """\
model: {model}
name: ds
output_dir: {out}
precision:
  input: fixed<12,4,RND,SAT>
validation:
  samples: 400
"""

OLD_CONFIG = """\
Backend: Vivado
HLSConfig:
  LayerName:
    phi:
      ConvImplementation: Pointwise
      ParallelizationFactor: 1
      ReuseFactor: 2
      Strategy: Latency
  Model:
    Precision: fixed<16,6>
    ReuseFactor: 1
    Strategy: {strategy}
IOType: io_parallel
KerasModel: {model}
OutputDir: {out}
ProjectName: ds
"""


def _deepsets_like():
    import tf_keras as K
    from qkeras import QActivation, QDense, quantized_bits

    K.utils.set_random_seed(11)
    q = quantized_bits(4, 0, alpha=1)
    return K.Sequential(
        [
            K.layers.Input((8, 3)),
            QDense(6, kernel_quantizer=q, bias_quantizer=q, name='phi'),
            QActivation('quantized_relu(6, 0)', name='act'),
            K.layers.Flatten(name='flat'),
            QDense(3, kernel_quantizer=q, bias_quantizer=q, name='rho'),
        ]
    )


@pytest.mark.slow
def test_qdense_over_a_set_is_bit_exact(tmp_path):
    _deepsets_like().save(tmp_path / 'm.h5')
    cfg = load_config(write(tmp_path / 'c.yml', CONFIG.format(model=tmp_path / 'm.h5', out=tmp_path / 'prj')))
    res = build(cfg, csim=True, force=True)
    assert res.conversion.graph.graph['phi'].class_name == 'PointwiseConv1D'
    record = next(r for r in res.conversion.flow if r.name == 'quantized_multidim_dense')
    assert [c.layer for c in record.changes] == ['phi'], record.changes  # rho (flat input) is hls4ml's own QDense
    assert res.csim.mode == 'bit-exact' and res.csim.exact_fraction == 1.0, res.csim.failures


@pytest.mark.parametrize('strategy', ['Latency', 'Resource'])
def test_old_pointwise_computes_every_position_at_once(tmp_path, strategy):
    _deepsets_like().save(tmp_path / 'm.h5')
    cfg = load_config(
        write(tmp_path / 'c.yml', OLD_CONFIG.format(model=tmp_path / 'm.h5', out=tmp_path / 'prj', strategy=strategy))
    )
    conv = Project(cfg).convert()
    node = conv.graph.graph['phi']
    assert node.get_attr('conv_implementation') == 'LineBuffer'
    # the layer's own Strategy: Latency wins over the model's: both build the batched kernel
    assert node.get_attr('n_partitions') == 1 and node.get_attr('parallelization_factor') == 8
    assert 'BatchedDenseForConv1D' in node.get_attr('config_cpp')
    note = next(n for n in conv.notes if 'ConvImplementation' in n)
    assert 'every position at once' in note and 'ParallelizationFactor 8' in note and note.endswith('(here: phi)')


def test_old_pointwise_resource_strategy_keeps_the_line_buffer(tmp_path):
    _deepsets_like().save(tmp_path / 'm.h5')
    text = OLD_CONFIG.format(model=tmp_path / 'm.h5', out=tmp_path / 'prj', strategy='Latency')
    text = text.replace('      Strategy: Latency\n', '      Strategy: Resource\n')  # the layer's own strategy
    cfg = load_config(write(tmp_path / 'c.yml', text))
    conv = Project(cfg).convert()
    node = conv.graph.graph['phi']
    assert node.get_attr('parallelization_factor') == 1 and node.get_attr('n_partitions') == 8
    assert 'every position at once' not in next(n for n in conv.notes if 'ConvImplementation' in n)
