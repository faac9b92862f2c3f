"""A Keras ``Softmax()`` layer (not ``Activation('softmax')``): hls4ml 1.3.0 declares its config struct as
``Softmax_config<i>`` while the top function passes ``softmax_config<i>`` (a g++ error); the softmax_config_name
pass declares it under the name the call uses. Built, compiled and C-simulated in both io types."""

from __future__ import annotations

import numpy as np
import pytest
from fpgaml_testutil import write

from fpgaml.config import load_config
from fpgaml.flow import build

CONFIG = """\
model: {model}
name: s
output_dir: {out}
io_type: {io_type}
validation:
  data: {val}
"""


def _dense_softmax():
    import tf_keras as K

    K.utils.set_random_seed(3)
    return K.Sequential([K.layers.Input((4,)), K.layers.Dense(5, name='fc'), K.layers.Softmax(name='prob')])


@pytest.mark.slow
@pytest.mark.parametrize('io_type', ['io_parallel', 'io_stream'])
def test_keras_softmax_layer_compiles_and_simulates(tmp_path, io_type):
    _dense_softmax().save(tmp_path / 'm.h5')
    np.save(tmp_path / 'x.npy', np.random.default_rng(0).normal(size=(200, 4)).astype('float32'))
    cfg = load_config(
        write(
            tmp_path / 'c.yml',
            CONFIG.format(model=tmp_path / 'm.h5', out=tmp_path / 'prj', io_type=io_type, val=tmp_path / 'x.npy'),
        )
    )
    res = build(cfg, csim=True, force=True)

    node = next(n for n in res.conversion.graph.get_layers() if n.name == 'prob')
    assert node.class_name == 'Softmax'
    assert f'struct softmax_config{node.index} ' in node.get_attr('config_cpp')
    assert f'softmax_config{node.index}>' in node.get_attr('function_cpp')
    record = next(r for r in res.conversion.flow if r.name == 'softmax_config_name')
    assert [c.layer for c in record.changes] == ['prob']
    written = (tmp_path / 'prj' / 'firmware' / 'parameters.h').read_text()
    assert f'struct softmax_config{node.index} ' in written and 'Softmax_config' not in written
    assert res.csim is not None and res.csim.passed, res.csim.failures if res.csim else None
