"""Issue 3, items 1/2/9: the profile precision policy, constant softmax, the large-model warning."""

from __future__ import annotations

import numpy as np
import pytest
from fpgaml_testutil import write

from fpgaml.config import load_config
from fpgaml.config.schema import PrecisionPolicy
from fpgaml.convert import convert
from fpgaml.convert.profile import integer_bits, result_type
from fpgaml.errors import FpgamlError
from fpgaml.frontend import load_model


@pytest.fixture(scope='module')
def wide_float_mlp(tmp_path_factory):
    """A float MLP whose activations reach ~200 (fixed<16,6> overflows) and a softmax output."""
    import tf_keras as K

    d = tmp_path_factory.mktemp('wide')
    K.utils.set_random_seed(7)
    inp = K.layers.Input((10,), name='x')
    h = K.layers.Dense(24, activation='relu', name='fc1')(inp)
    h = K.layers.Dense(16, activation='relu', name='fc2')(h)
    out = K.layers.Dense(4, activation='softmax', name='out')(h)
    m = K.Model(inp, out)
    w = m.get_layer('fc1').get_weights()
    m.get_layer('fc1').set_weights([w[0] * 12, w[1]])
    m.save(d / 'wide.h5')
    np.savez(d / 'val.npz', x=np.random.default_rng(2).normal(0, 1, (400, 10)).astype(np.float32))
    return d


def _cfg(d, extra=''):
    return load_config(
        write(
            d / 'c.yml',
            f'model: {d / "wide.h5"}\nname: wide\noutput_dir: {d / "out"}\n'
            f'validation: {{data: {d / "val.npz"}}}\n{extra}',
        )
    )


def _types(conv):
    return {r.name: r.precisions for r in conv.layers}


def test_integer_bits():
    assert integer_bits(0.9, True) == 1 and integer_bits(1.0, True) == 2 and integer_bits(1.0, False) == 1
    assert integer_bits(200, True) == 9 and integer_bits(0, True) == 1
    p = PrecisionPolicy(width=18, margin=1)
    assert result_type(-3.5, 2.0, p) == 'fixed<18,4,RND,SAT>'
    assert result_type(0, 100, p, unsigned=True) == 'ufixed<18,8,RND,SAT>'


def test_profile_is_default_for_float_models_and_fits_the_range(wide_float_mlp, tmp_path):
    cfg = _cfg(wide_float_mlp)
    assert cfg.precision_policy.policy == 'auto' and not cfg.default_precision_explicit
    conv = convert(cfg, load_model(cfg.model), tmp_path)
    assert any(n.startswith('precision policy auto') and 'profile' in n for n in conv.notes)
    assert any(n.startswith('profiled precision') and 'fc1' in n for n in conv.notes)
    t = _types(conv)
    kout = load_model(cfg.model).layer_outputs(np.load(wide_float_mlp / 'val.npz')['x'])
    peak = float(np.abs(kout['fc1']).max())
    assert peak > 32  # fixed<16,6> would overflow here
    res = t['fc1']['result']
    i = int(res.split(',')[1])
    assert 2.0 ** (i - 1) > peak and res.startswith('fixed<18,')  # no overflow, 18 bits wide
    assert t['fc1']['weight'].startswith('fixed<18,')
    assert t['out_softmax']['result'].startswith('ufixed<18,1')


def test_profile_never_overrides_explicit_settings(wide_float_mlp, tmp_path):
    cfg = _cfg(
        wide_float_mlp,
        'precision:\n  policy: profile\n  width: 20\nlayers:\n  fc2:\n    precision:\n      result: fixed<12,8>\n',
    )
    assert cfg.precision_policy.width == 20
    t = _types(convert(cfg, load_model(cfg.model), tmp_path))
    assert t['fc2']['result'].startswith('fixed<12,8')  # the user's
    assert t['fc1']['result'].startswith('fixed<20,')  # profiled at the configured width
    # a model-wide precision written in the config turns the auto policy off
    cfg = _cfg(wide_float_mlp, 'precision: fixed<16,6>\n')
    conv = convert(cfg, load_model(cfg.model), tmp_path)
    assert _types(conv)['fc1']['result'].startswith('fixed<16,6')
    assert any('the config sets the model precision' in n for n in conv.notes)


def test_hls4ml_format_precision_policy_key(wide_float_mlp, tmp_path):
    text = (
        f'KerasH5: {wide_float_mlp / "wide.h5"}\nOutputDir: {tmp_path / "o"}\nHLSConfig:\n  Model:\n'
        f'    Precision: ap_fixed<16,6>\n  LayerType:\n    Dense:\n      Precision:\n        weight: ap_fixed<10,4>\n'
        f'PrecisionPolicy:\n  policy: profile\n  width: 16\n'
    )
    cfg = load_config(write(tmp_path / 'h.yml', text))
    assert cfg.precision_policy.policy == 'profile' and cfg.default_precision_explicit
    t = _types(convert(cfg, load_model(cfg.model), tmp_path / 'p'))
    assert t['fc1']['weight'].startswith('fixed<10,4')  # LayerType setting kept
    assert t['fc1']['result'].startswith('fixed<16,')
    with pytest.raises(FpgamlError, match='precision policy'):
        load_config(write(tmp_path / 'bad.yml', text.replace('policy: profile', 'policy: profiel')))


def test_profiled_float_model_agrees_with_keras(wide_float_mlp):
    """g++ C-simulation: profile reaches >= 99% argmax agreement where fixed<16,6> overflows."""
    from fpgaml.flow import build

    res = build(_cfg(wide_float_mlp), csim=True, force=True)
    c = res.csim
    assert c.mode == 'tolerance' and c.passed, c.failures
    assert c.argmax_agreement_decisive >= 0.99
    assert c.max_abs_diff < 0.05


def test_large_model_warning_before_compiling(tmp_path):
    import tf_keras as K

    inp = K.layers.Input((300,), name='x')
    m = K.Model(inp, K.layers.Dense(300, name='big')(inp))
    m.save(tmp_path / 'big.h5')
    cfg = load_config(write(tmp_path / 'c.yml', f'model: {tmp_path / "big.h5"}\nname: big\nprecision: fixed<16,6>\n'))
    conv = convert(cfg, load_model(cfg.model), tmp_path / 'p')
    note = next(n for n in conv.notes if n.startswith('large model'))
    assert '90,000 multiplications' in note and 'reuse_factor' in note
    cfg = load_config(
        write(
            tmp_path / 'c2.yml',
            f'model: {tmp_path / "big.h5"}\nname: big\nprecision: fixed<16,6>\nreuse_factor: 30\nstrategy: Resource\n',
        )
    )
    conv = convert(cfg, load_model(cfg.model), tmp_path / 'p2')
    assert not any(n.startswith('large model') for n in conv.notes)
