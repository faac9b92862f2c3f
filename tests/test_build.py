"""Real conversions and real g++ C-simulations of small models the tests build themselves."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fpgaml_testutil import write

from fpgaml.config import load_config
from fpgaml.errors import FpgamlError
from fpgaml.flow import build, run_flow
from fpgaml.project import Project

pytestmark = pytest.mark.slow

QCONFIG = """\
model: {model}
name: qmlp
output_dir: {out}
precision:
  default: fixed<16,6>
validation:
  data: {val}
"""


@pytest.fixture(scope='module')
def qbuild(qkeras_mlp, tmp_path_factory):
    out = tmp_path_factory.mktemp('qout') / 'qmlp'
    cfg = load_config(
        write(qkeras_mlp / 'c.yml', QCONFIG.format(model=qkeras_mlp / 'qmlp.h5', out=out, val=qkeras_mlp / 'val.npz'))
    )
    return build(cfg, csim=True, force=False)


def test_qkeras_mlp_is_bit_exact(qbuild):
    c = qbuild.csim
    assert qbuild.conversion.bit_exact, qbuild.conversion.bit_exact_reason
    assert c.mode == 'bit-exact' and c.samples == 300
    assert c.exact_fraction == 1.0, c.failures
    assert 'softmax input' in c.compared_at  # the LUT softmax itself is checked by tolerance
    assert c.passed and c.first_divergent_layer is None
    assert c.argmax_agreement_decisive >= 0.99


def test_report_json_records_what_a_user_needs(qbuild):
    rep = json.loads((qbuild.project_dir / 'fpgaml-report.json').read_text())
    assert rep['config']['name'] == 'qmlp'
    assert len(rep['model']['sha256']) == 64
    assert rep['tool_versions']['hls4ml'] == '1.3.0'
    dense = next(r for r in rep['layers'] if r['name'] == 'dense_1')
    assert dense['cls'] == 'Dense' and dense['n_weights'] == 16 * 32 + 32 and dense['output_shape'] == [32]
    assert dense['precisions']['weight'].startswith('fixed<6,1') and dense['reuse_factor'] == 1
    for key in (
        'samples',
        'mode',
        'exact_fraction',
        'max_abs_diff',
        'argmax_agreement',
        'passed',
        'first_divergent_layer',
    ):
        assert key in rep['csim']
    assert (qbuild.project_dir / 'README.md').read_text().count('vivado_hls -f build_prj.tcl') == 1
    assert (qbuild.project_dir / 'firmware' / 'qmlp.cpp').is_file()
    assert (qbuild.project_dir / 'build_prj.tcl').is_file()
    # the records name the project where it is, not the staging folder it was written in
    import yaml

    hls = yaml.safe_load((qbuild.project_dir / 'hls4ml_config.yml').read_text())
    assert Path(hls['OutputDir']).resolve() == qbuild.project_dir.resolve()
    assert '.tmp-' not in json.dumps(rep)


def _corrupt_first_value(path):
    text = path.read_text()
    cut = text.index('{') + 1 if path.suffix == '.h' else 0
    first, rest = text[cut:].split(',', 1)
    path.write_text(text[:cut] + ('0.5' if first.strip() != '0.5' else '-0.5') + ',' + rest)


@pytest.fixture
def project_copy(qbuild, tmp_path):
    import shutil

    prj = tmp_path / 'prj'
    shutil.copytree(qbuild.project_dir, prj)
    idx = [lay.index for lay in qbuild.conversion.graph.get_layers() if lay.name == 'dense_2'][0]
    return prj, prj / 'firmware' / 'weights' / f'w{idx}'


def test_a_wrong_weight_is_caught_and_located(qbuild, project_copy):
    """Change one weight of dense_2 in the firmware: C-sim must fail and name that layer."""
    from fpgaml.csim import run_csim

    prj, stem = project_copy
    _corrupt_first_value(stem.with_suffix('.txt'))
    res = run_csim(qbuild.conversion, prj)
    assert not res.passed and res.exact_fraction < 1.0
    assert res.first_divergent_layer['layer'] == 'dense_2'


def test_synthesized_weights_must_match_simulated_ones(qbuild, project_copy):
    from fpgaml.csim import run_csim

    prj, stem = project_copy
    _corrupt_first_value(stem.with_suffix('.h'))
    res = run_csim(qbuild.conversion, prj)
    assert not res.passed
    assert any(
        f'{stem.name}.h (synthesized) and {stem.name}.txt (C-simulated) disagree: 1 values differ' in f
        for f in res.failures
    )


def test_existing_project_is_not_overwritten_without_force(qbuild):
    cfg = qbuild.conversion.config
    before = (qbuild.project_dir / 'fpgaml-report.json').read_text()
    with pytest.raises(FpgamlError, match='already exists; use --force'):
        build(cfg, csim=False, force=False)
    assert (qbuild.project_dir / 'fpgaml-report.json').read_text() == before


def test_csim_on_existing_project_uses_the_compile_cache(qbuild):
    res = run_flow(Project(qbuild.conversion.config), 'csim')
    assert res.csim.compile_cached and res.csim.exact_fraction == 1.0


def test_keras3_model_in_the_same_session(keras3_mlp, qbuild, tmp_path):
    text = (
        f'model: {keras3_mlp / "k3.keras"}\nname: k3\noutput_dir: {tmp_path / "k3"}\n'
        f'precision: fixed<24,10>\nvalidation:\n  data: {keras3_mlp / "val.npy"}\n'
        'tolerance:\n  max_abs_diff: 0.01\n  argmax_agreement: 0.99\n'
    )
    res = build(load_config(write(tmp_path / 'k3.yml', text)), csim=True, force=False)
    assert res.conversion.loaded.flavor == 'keras3'
    assert not res.conversion.bit_exact  # a float model: tolerance mode
    assert res.csim.mode == 'tolerance' and res.csim.passed, res.csim.failures
    assert res.csim.max_abs_diff < 0.01


def test_float_overflow_is_traced_to_the_first_layer(keras3_mlp, tmp_path):
    text = (
        f'model: {keras3_mlp / "k3.keras"}\nname: k3n\noutput_dir: {tmp_path / "k3n"}\n'
        'precision: fixed<8,2>\nvalidation:\n  samples: 200\n'
    )
    res = build(load_config(write(tmp_path / 'k3n.yml', text)), csim=True, force=False)
    assert not res.csim.passed
    assert res.csim.first_divergent_layer['layer'] == 'hidden'


def _qcfg(qkeras_mlp, tmp_path, extra: str):
    text = QCONFIG.format(model=qkeras_mlp / 'qmlp.h5', out=tmp_path / 'x', val=qkeras_mlp / 'val.npz') + extra
    return load_config(write(tmp_path / 'c.yml', text))


def test_reuse_factor_hls4ml_replaces_is_built_with_its_choice_and_named(qkeras_mlp, tmp_path):
    """Resource RF 7 on a 16x32 Dense: hls4ml substitutes 8 (issue 25: build what hls4ml builds, and say so; it
    was an error)."""
    cfg = _qcfg(qkeras_mlp, tmp_path, 'layers:\n  dense_1:\n    reuse_factor: 7\n    strategy: Resource\n')
    res = build(cfg, csim=False, force=False)
    [note] = [n for n in res.conversion.notes if 'reuse factor 7 of layer "dense_1"' in n]
    assert 'c.yml:9:' in note and 'valid reuse factors (1, 2, 4, 8' in note and 'built with 8' in note
    assert {r.name: r.reuse_factor for r in res.conversion.layers}['dense_1'] == 8


def test_override_naming_no_layer_is_an_error(qkeras_mlp, tmp_path):
    cfg = _qcfg(qkeras_mlp, tmp_path, 'layers:\n  dense_3:\n    reuse_factor: 2\n')
    with pytest.raises(FpgamlError, match=r'c.yml:9: layers: "dense_3" matches no layer \(did you mean "dense_'):
        build(cfg, csim=False, force=False)


def test_glob_override_applies_to_every_match(qkeras_mlp, tmp_path):
    cfg = _qcfg(qkeras_mlp, tmp_path, 'layers:\n  dense_?:\n    reuse_factor: 2\n    strategy: Resource\n')
    res = build(cfg, csim=False, force=False)
    rfs = {r.name: (r.reuse_factor, r.strategy) for r in res.conversion.layers}
    assert rfs['dense_1'] == (2, 'resource') and rfs['dense_2'] == (2, 'resource')
    assert rfs['dense_out'] == (1, 'latency')


def test_hls4ml_format_config_builds(tmp_path):
    """JSON architecture + HDF5 weights, configured in hls4ml's own YAML format."""
    import tf_keras as K
    from qkeras import QActivation, QDense, quantized_bits

    q = dict(kernel_quantizer=quantized_bits(6, 0, alpha=1), bias_quantizer=quantized_bits(6, 0, alpha=1))
    K.utils.set_random_seed(11)
    inp = K.layers.Input((10,), name='in0')
    x = QDense(16, name='fc1', **q)(inp)
    x = QActivation('quantized_relu(6)', name='act1')(x)
    x = QDense(4, name='fc2', **q)(x)
    m = K.Model(inp, x)
    (tmp_path / 'arch.json').write_text(m.to_json())
    m.save_weights(tmp_path / 'w.h5')
    text = (
        'KerasJson: arch.json\nKerasH5: w.h5\nOutputDir: hlsprj\nProjectName: myproject\n'
        'Part: xcvu9p-flga2577-2-e\nClockPeriod: 5\nIOType: io_parallel\n'
        'HLSConfig:\n  Model:\n    Precision: ap_fixed<16,6>\n    ReuseFactor: 1\n    Strategy: Latency\n'
        '  LayerName:\n    fc1:\n      ReuseFactor: 5\n'
    )
    cfg = load_config(write(tmp_path / 'h.yml', text), output_dir=tmp_path / 'hlsprj')
    assert cfg.bit_exact == 'auto'
    res = build(cfg, csim=True, force=False)
    assert res.conversion.bit_exact
    assert res.csim.exact_fraction == 1.0 and res.csim.passed, res.csim.failures
    assert 'generated samples' in res.csim.input_source
    assert {r.name: r.reuse_factor for r in res.conversion.layers}['fc1'] == 5
