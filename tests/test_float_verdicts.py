"""Verdicts for float models come from the model's own precision (issue 25): the error the firmware's types
explain (fpgaml/csim/rounding.py) widens the default tolerance, so a float model at hls4ml's default precision
that meets hls4ml's own test criterion is not failed by fpgaml, while an overflow the types do not explain still
fails. Models built as hls4ml's tests build them, converted, compiled with g++ and C-simulated."""

from __future__ import annotations

import numpy as np
import pytest
from fpgaml_testutil import write

from fpgaml.config import load_config
from fpgaml.flow import build

pytestmark = pytest.mark.slow

CONFIG = """\
model: {model}
name: {name}
output_dir: {out}
precision: {precision}
validation:
  data: {val}
"""


def _build(d, model, x, name, precision='fixed<16,6>'):
    model.save(d / f'{name}.h5')
    np.save(d / f'{name}.npy', x)
    cfg = load_config(
        write(
            d / f'{name}.yml',
            CONFIG.format(
                model=d / f'{name}.h5', name=name, out=d / f'{name}_prj', precision=precision, val=d / f'{name}.npy'
            ),
        )
    )
    return build(cfg, csim=True, force=True)


def _conv1d_elu():
    """test_keras_api.py's Conv1D (kernel 3, 'normal' weights) with an ELU: a float model, every tensor at
    hls4ml's default fixed<16,6>: the ELU table and the truncations put it ~0.01 off Keras."""
    import tf_keras as K

    K.utils.set_random_seed(0)
    m = K.Sequential(
        [
            K.layers.Conv1D(8, 3, input_shape=(32, 4), kernel_initializer='normal', name='conv'),
            K.layers.ELU(name='elu'),
            K.layers.Conv1D(4, 3, kernel_initializer='normal', name='conv2'),
        ]
    )
    return m


def test_float_model_at_default_precision_passes_with_the_error_its_types_explain(tmp_path):
    x = np.random.default_rng(0).random((200, 32, 4))
    res = _build(tmp_path, _conv1d_elu(), x, 'c1d')
    c = res.csim
    assert c.mode == 'tolerance'
    [check] = c.checks
    assert "the error the firmware's types explain" in check['criterion']
    bound = float(check['criterion'].split('types explain, ')[1].rstrip(')'))
    assert 0 < bound < 0.5, check['criterion']
    assert c.max_abs_diff <= bound, f'the first-order bound {bound} does not cover the firmware ({c.max_abs_diff})'
    assert c.passed, c.failures
    # every tensor has the default type (nothing chose it), and it holds what each layer computes: no warning
    assert {r.type_from for r in res.layer_records if r.cls != 'Input'} == {'default'}
    assert not [n for n in c.notes if n.startswith('warning: ')], c.notes


def test_overflow_is_not_explained_by_the_types_and_still_fails(tmp_path):
    """The same model with an input scale that overflows fixed<8,3>'s range in the first convolution: the
    bound stays small (the types' steps), the errors are the wrap-around, the verdict is FAILED and names it."""
    x = np.random.default_rng(0).random((200, 32, 4)) * 3.9
    import tf_keras as K

    K.utils.set_random_seed(0)
    m = K.Sequential(
        [
            K.layers.Conv1D(
                8, 3, input_shape=(32, 4), kernel_initializer=K.initializers.RandomNormal(1, 0.1), name='conv'
            ),
            K.layers.Conv1D(4, 1, name='conv2'),
        ]
    )
    res = _build(tmp_path, m, x, 'ovf', precision='fixed<8,3>')
    c = res.csim
    assert not c.passed
    assert c.first_divergent_layer and c.first_divergent_layer['layer'] == 'conv'
    # the default type that overflows is named, with the values it cannot hold
    warnings = [n for n in c.notes if n.startswith('warning: ')]
    assert [w.split('"')[1] for w in warnings] == ['conv', 'conv2'], warnings
    assert 'precision: default" type fixed<8,3> (range -4 .. 3.96875)' in warnings[0]
    assert 'it overflows' in warnings[0] and 'policy: profile' in warnings[0]
