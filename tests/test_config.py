"""Config validation: every bad input gives one clear message naming the file, line and key."""

from __future__ import annotations

import pytest
from fpgaml_testutil import EXAMPLES, requires_corpus, write

from fpgaml.config import load_config
from fpgaml.config.precision import parse_precision
from fpgaml.errors import FpgamlError

GOOD = """\
model: m.h5
name: proj
strategy: Latency
reuse_factor: 1
"""


@pytest.fixture
def cfgdir(tmp_path):
    (tmp_path / 'm.h5').write_bytes(b'placeholder')
    return tmp_path


def err(path) -> str:
    with pytest.raises(FpgamlError) as e:
        load_config(path)
    return str(e.value)


def test_good_config_resolves_defaults(cfgdir, monkeypatch):
    monkeypatch.chdir(cfgdir)
    cfg = load_config(write(cfgdir / 'c.yml', GOOD))
    assert cfg.name == 'proj'
    assert cfg.output_dir == (cfgdir / 'vivado_projects' / 'proj').resolve()
    assert cfg.bit_exact == 'auto'
    assert cfg.validation.samples == 1000
    assert cfg.default_precision == 'fixed<16,6>'
    assert cfg.model.file == (cfgdir / 'm.h5').resolve()


def test_typo_in_top_level_key_suggests_the_right_one(cfgdir):
    msg = err(write(cfgdir / 'c.yml', GOOD + 'stratgy: Resource\n'))
    assert 'c.yml:5' in msg and 'unknown key "stratgy"' in msg and 'did you mean "strategy"' in msg


def test_capitalised_typo_is_suggested_in_hls4ml_format(cfgdir):
    text = 'KerasH5: m.h5\nHLSConfig:\n  Model:\n    Precision: fixed<16,6>\n    Stratgy: Latency\n'
    msg = err(write(cfgdir / 'h.yml', text))
    assert 'h.yml:5' in msg and 'HLSConfig.Model.Stratgy' in msg and 'did you mean "Strategy"' in msg


def test_unknown_strategy_is_an_error_not_a_fallback(cfgdir):
    msg = err(write(cfgdir / 'c.yml', GOOD.replace('Latency', 'Fastest')))
    assert 'c.yml:3' in msg and 'unknown strategy "Fastest"' in msg and 'Latency, Resource' in msg


@pytest.mark.parametrize(
    'bad, expect',
    [
        ('fixed<6>', 'need a width and an integer'),
        ('ap_fixed<16,6,AP_RND_UP>', '"AP_RND_UP" is not a rounding mode'),
        ('ap_fixed<16,6,AP_RND,AP_CLAMP>', '"AP_CLAMP" is not a saturation mode'),
        ('float16', 'is not a valid precision'),
        ('fixed<0,0>', 'width must be at least 1'),
    ],
)
def test_malformed_precision(cfgdir, bad, expect):
    msg = err(write(cfgdir / 'c.yml', GOOD + f'precision:\n  default: "{bad}"\n'))
    assert 'c.yml:6' in msg and 'precision.default' in msg and expect in msg


def test_layer_precision_is_validated_with_its_line(cfgdir):
    text = GOOD + 'layers:\n  dense_*:\n    precision:\n      result: fixed<8,3,RND,WRAPPED>\n'
    msg = err(write(cfgdir / 'c.yml', text))
    assert 'c.yml:8' in msg and 'layers.dense_*.precision' in msg and 'saturation mode' in msg


def test_precision_parser_accepts_hls4ml_and_vivado_spellings():
    assert parse_precision('ap_fixed<16, 6, AP_RND, AP_SAT>').hls4ml_str() == 'fixed<16,6,RND,SAT>'
    assert parse_precision('ufixed<8,0>').signed is False
    assert parse_precision('ap_uint<8>').width == 8
    assert parse_precision('auto') is None


def test_missing_model_names_both_places_tried(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    msg = err(write(tmp_path / 'sub' / 'c.yml', 'model: nowhere.h5\nname: p\n'))
    assert 'c.yml:1' in msg and '"nowhere.h5" not found' in msg
    assert str(tmp_path / 'nowhere.h5') in msg and str(tmp_path / 'sub' / 'nowhere.h5') in msg


def test_model_found_beside_the_yaml(tmp_path, monkeypatch):
    (tmp_path / 'sub').mkdir()
    (tmp_path / 'sub' / 'm.h5').write_bytes(b'x')
    monkeypatch.chdir(tmp_path)
    cfg = load_config(write(tmp_path / 'sub' / 'c.yml', 'model: m.h5\nname: p\n'))
    assert cfg.model.file == (tmp_path / 'sub' / 'm.h5').resolve()


@pytest.mark.parametrize(
    'line, expect',
    [
        ('io_type: io_serial\n', 'unknown io_type "io_serial"'),
        ('bit_exact: sometimes\n', 'unknown bit_exact mode "sometimes"'),
        ('reuse_factor: 0\n', 'positive integer'),
        ('backend: Quartus\n', 'unknown backend "Quartus"'),
        ('clock_period: -1\n', 'greater than 0'),
    ],
)
def test_invalid_values(cfgdir, line, expect):
    text = GOOD.replace('reuse_factor: 1\n', '') + line
    msg = err(write(cfgdir / 'c.yml', text))
    assert expect in msg and 'c.yml:' in msg


def test_duplicate_key_is_an_error(cfgdir):
    msg = err(write(cfgdir / 'c.yml', GOOD + 'name: other\n'))
    assert 'c.yml:5' in msg and 'appears twice' in msg


def test_yaml_syntax_error_names_the_line(cfgdir):
    msg = err(write(cfgdir / 'c.yml', GOOD + 'layers: [unclosed\n'))
    assert 'c.yml:' in msg and 'invalid YAML' in msg


def test_missing_required_key(cfgdir):
    msg = err(write(cfgdir / 'c.yml', 'model: m.h5\n'))
    assert 'name: required key is missing' in msg


def test_missing_config_file(tmp_path):
    assert 'config file not found' in err(tmp_path / 'none.yml')


def test_bit_exact_accepts_yaml_booleans(cfgdir):
    assert load_config(write(cfgdir / 'c.yml', GOOD + 'bit_exact: on\n')).bit_exact == 'on'
    assert load_config(write(cfgdir / 'c.yml', GOOD + 'bit_exact: off\n')).bit_exact == 'off'


def test_hls4ml_format_with_keras_model_tag(cfgdir):
    text = (
        'KerasModel: !keras_model m.h5\nOutputDir: out\nProjectName: proj\nPart: xcu250-figd2104-2L-e\n'
        'IOType: io_stream\nHLSConfig:\n  Model:\n    Precision: ap_fixed<12,4>\n    ReuseFactor: 2\n'
    )
    cfg = load_config(write(cfgdir / 'h.yml', text))
    assert cfg.format == 'hls4ml' and cfg.io_type == 'io_stream' and cfg.reuse_factor == 2
    assert cfg.default_precision == 'fixed<12,4>' and cfg.bit_exact == 'auto'


def test_hls4ml_format_unknown_layer_key(cfgdir):
    text = 'KerasH5: m.h5\nHLSConfig:\n  LayerName:\n    fc1:\n      ReuseFactr: 2\n'
    msg = err(write(cfgdir / 'h.yml', text))
    assert 'h.yml:5' in msg and 'did you mean "ReuseFactor"' in msg


@requires_corpus()
def test_published_hls4ml_configs_validate(monkeypatch):
    monkeypatch.chdir(EXAMPLES)
    for path in sorted((EXAMPLES / 'config-files').glob('*.yml')):
        cfg = load_config(path)
        assert cfg.format == 'hls4ml'
        assert all(p.exists() for p in cfg.model.paths())
