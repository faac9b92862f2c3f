"""Hostile config files (issue 15): each is refused with one FpgamlError line naming the file, never a traceback, or
accepted where hls4ml 1.3.0 accepts it. The CLI cases run the real ``fpgaml build`` and check exit code 2 and that
nothing was written."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from fpgaml_testutil import REPO, write

from fpgaml.config import load_config
from fpgaml.config.hls4ml_format import HlsLayerConfig
from fpgaml.errors import FpgamlError

HLS = 'KerasH5: m.h5\nOutputDir: prj\n'


@pytest.fixture
def d(tmp_path, monkeypatch):
    (tmp_path / 'm.h5').write_bytes(b'placeholder')
    monkeypatch.chdir(tmp_path)
    return tmp_path


def err(path) -> str:
    with pytest.raises(FpgamlError) as e:
        load_config(path)
    return str(e.value)


def billion_laughs() -> str:
    text = HLS + 'WriterConfig:\n  a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n'
    prev = 'a'
    for name in 'bcdefghi':
        text += f'  {name}: &{name} [' + ', '.join([f'*{prev}'] * 9) + ']\n'
        prev = name
    return text


# (file name, bytes, what the one-line message must say). Each was accepted, or crashed with a traceback (exit 1).
HOSTILE_FILES = [
    ('bomb.yml', billion_laughs().encode(), 'aliases (*name) expand this document to more than 100000'),
    ('garbage.yml', bytes(range(256)) * 8, 'binary file, not a YAML config'),
    ('latin1.yml', 'model: m.h5\nname: caf\xe9\n'.encode('latin-1'), ':2: the config is not UTF-8 text (byte 0xe9'),
    ('complex.yml', b'model: m.h5\nname: x\n? [a, b]\n: 1\n', ':3: a key must be a plain name, not a list'),
    ('complex_map.yml', b'model: m.h5\nname: x\n? {a: 1}\n: 1\n', ':3: a key must be a plain name, not a mapping'),
    (
        'deep.yml',
        b'model: m.h5\nname: x\nlayers: ' + b'[' * 20000 + b']' * 20000 + b'\n',
        ':3: the YAML is nested more than 64 levels',
    ),
    ('deep_map.yml', b'model: m.h5\nname: x\nlayers: ' + b'{a: ' * 5000 + b'1' + b'}' * 5000 + b'\n', 'nested more'),
    ('flow.yml', b'model: m.h5\nname: x\nprecision: {default: fixed<16,6>}\n', ':3: "fixed<16" was cut at a comma'),
    ('wide.yml', b'model: m.h5\nname: x\nprecision: fixed<5000,6>\n', 'width 5000 exceeds 1024 bits'),
    (
        'negsat.yml',
        b'model: m.h5\nname: x\nprecision: fixed<16,6,RND,WRAP,-3>\n',
        'saturation bits must be between 0 and the width (16), got -3',
    ),
    ('bigsat.yml', b'model: m.h5\nname: x\nprecision: fixed<16,6,RND,WRAP,17>\n', 'saturation bits must be between'),
    ('wideint.yml', b'model: m.h5\nname: x\nprecision: ap_int<4096>\n', 'width 4096 exceeds 1024'),
    (
        'writer.yml',
        (HLS + 'WriterConfig:\n  Namespace: ns\n  WriteTars: true\n').encode(),
        ':5: WriterConfig.WriteTars: unknown key "WriteTars" (did you mean "WriteTar"?)',
    ),
    ('writer_type.yml', (HLS + 'WriterConfig:\n  WriteTar: [1]\n').encode(), 'WriterConfig.WriteTar'),
    (
        'skip_typo.yml',
        (HLS + 'HLSConfig:\n  LayerName:\n    softmax:\n      skp: true\n').encode(),
        'unknown key "skp" (did you mean "skip"?)',
    ),
    (
        'static_type.yml',
        (HLS + 'HLSConfig:\n  LayerName:\n    lstm:\n      static: maybe\n').encode(),
        'HLSConfig.LayerName.lstm.static',
    ),
    (
        'table_t.yml',
        (HLS + 'HLSConfig:\n  LayerName:\n    sm:\n      exp_table_t: float16\n').encode(),
        'is not a valid precision',
    ),
    ('empty.yml', b'', 'the config file is empty'),
    ('list.yml', b'- a\n- b\n', 'must be a mapping'),
    ('bom_nul.yml', b'\xef\xbb\xbfmodel: m.h5\x00\n', 'binary file'),
]


@pytest.mark.parametrize('name, data, expect', HOSTILE_FILES, ids=[c[0] for c in HOSTILE_FILES])
def test_hostile_file_is_one_clear_error(d, name, data, expect):
    p = d / name
    p.write_bytes(data)
    msg = err(p)
    assert str(p) in msg and expect in msg
    assert '\n' not in msg


def test_cli_exit_code_2_names_the_file_and_writes_nothing(d):
    """The CLI maps each hostile file to exit 2, one line, no traceback (was exit 1 with a traceback)."""
    env = dict(os.environ, PYTHONPATH=str(REPO), TF_USE_LEGACY_KERAS='1')
    for name, data, expect in HOSTILE_FILES[:6]:
        (d / name).write_bytes(data)
        r = subprocess.run(
            [sys.executable, '-m', 'fpgaml.cli', 'build', name],
            cwd=d,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        out = r.stdout + r.stderr
        assert r.returncode == 2, (name, out)
        assert 'Traceback' not in out and name in out and expect.split(':')[-1].strip()[:20] in out.replace('\n', ' ')
    assert sorted(p.name for p in d.iterdir()) == sorted(['m.h5'] + [c[0] for c in HOSTILE_FILES[:6]])


def test_a_huge_list_under_an_unknown_key_is_that_key_not_an_alias_bomb(d):
    """A few MB of plain values (no alias) under a misspelt key: the unknown-key error, with its suggestion, found
    after the first MAX_NODES values (seconds, not the minute composing it all takes); was "an alias bomb?"."""
    big = d / 'big.yml'
    big.write_text('model: m.h5\nname: x\nvalidaton:\n' + '  - 0.125\n' * 400_000)  # 4 MB
    env = dict(os.environ, PYTHONPATH=str(REPO), TF_USE_LEGACY_KERAS='1')
    r = subprocess.run(
        [sys.executable, '-m', 'fpgaml.cli', 'build', big.name],
        cwd=d,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 2 and not r.stdout and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert 'big.yml:3: validaton: unknown key "validaton" (did you mean "validation"?)' in r.stderr
    assert 'alias' not in r.stderr and 'Traceback' not in r.stderr


def test_a_huge_config_without_aliases_is_too_large_and_names_its_largest_key(d, monkeypatch):
    from fpgaml.config import yamlio

    monkeypatch.setattr(yamlio, 'MAX_NODES', 1000)  # (the real bound: the test above)
    big = write(
        d / 'big.yml',
        'model: m.h5\nname: x\nlayers: {}\nbudgets:\n  latency_ns: 5\ntolerance: [' + ', '.join(['1'] * 1500) + ']\n',
    )
    msg = err(big)
    assert msg.startswith(f'{big}:6: the config is too large: more than the 1000 values allowed (')
    assert 'of them under "tolerance"); a config needs at most a few hundred' in msg
    assert 'alias' not in msg and '\n' not in msg


def test_quoted_flow_precision_and_anchors_within_bounds_still_load(d):
    text = 'model: m.h5\nname: x\nprecision: {default: "fixed<16,6>"}\nlayers:\n  a: &s {reuse_factor: 2}\n  b: *s\n'
    cfg = load_config(write(d / 'ok.yml', text))
    assert cfg.default_precision == 'fixed<16,6>'
    assert cfg.layer_patterns['b'].reuse_factor == 2


def test_hls4ml_layer_keys_are_accepted_and_passed_through(d):
    text = (
        HLS + 'WriterConfig:\n  Namespace: ns\n  WriteWeightsTxt: true\nHLSConfig:\n  Model:\n'
        '    Precision: fixed<16,6>\n    PipelineStyle: dataflow\n  LayerName:\n    lstm:\n      static: false\n'
        '    softmax:\n      skip: true\n      table_size: 2048\n      exp_table_t: ap_fixed<18,8>\n'
        '      implementation: stable\n    conv:\n      ParallelizationFactor: 4\n      ConvImplementation: Encoded\n'
        '  LayerType:\n    Dense:\n      Compression: true\n      TableSize: 512\n'
    )
    cfg = load_config(write(d / 'h.yml', text))
    assert cfg.layer_patterns['lstm'].extra == {'static': False}
    assert cfg.layer_patterns['softmax'].extra == {
        'skip': True,
        'table_size': 2048,
        'implementation': 'stable',
        'exp_table_t': 'fixed<18,8>',
    }
    assert cfg.layer_patterns['conv'].extra == {'ParallelizationFactor': 4, 'ConvImplementation': 'Encoded'}
    assert cfg.layer_types['Dense'].extra == {'Compression': True, 'table_size': 512}
    assert cfg.model_settings == {'PipelineStyle': 'dataflow'}


def test_fpgaml_format_offers_the_same_layer_settings(d):
    text = (
        'model: m.h5\nname: x\nlayers:\n  softmax:\n    skip: true\n    table_size: 2048\n  lstm:\n'
        '    static: false\n  conv:\n    parallelization_factor: 4\n'
    )
    cfg = load_config(write(d / 'f.yml', text))
    assert cfg.layer_patterns['softmax'].extra == {'skip': True, 'table_size': 2048}
    assert cfg.layer_patterns['lstm'].extra == {'static': False}
    assert cfg.layer_patterns['conv'].extra == {'ParallelizationFactor': 4}


def test_every_configurable_hls4ml_attribute_is_accepted():
    """Against the installed hls4ml: each configurable attribute of every Vivado / Vitis layer class, in hls4ml's
    snake_case spelling, is a key HlsLayerConfig accepts (so hls4ml-format files are not refused for it)."""
    import hls4ml
    from hls4ml.model.attributes import TypeAttribute

    values = {bool: True, int: 2, float: 0.5}
    missing = []
    for backend in ('Vivado', 'Vitis'):
        b = hls4ml.backends.get_backend(backend)
        for cls in hls4ml.model.layers.layer_map.values():
            for a in b.create_layer_class(cls).expected_attributes:
                if not a.configurable or a.name in ('reuse_factor', 'trace', 'strategy'):
                    continue
                if isinstance(a, TypeAttribute):
                    value = 'fixed<8,3>'
                elif getattr(a, 'choices', None):
                    value = a.choices[0]
                elif a.default is not None:
                    value = a.default
                else:
                    value = values.get(a.value_type, 'x')
                try:
                    HlsLayerConfig.model_validate({a.name: value})
                except Exception as e:  # noqa: BLE001 - collect every refusal
                    missing.append(f'{cls.__name__}.{a.name}: {e}')
    assert not missing, '\n'.join(sorted(set(missing)))


def test_readme_hls4ml_and_model_configs_load(d):
    """The configs shipped in models/ still load (they are the seeds of the fuzz test)."""
    for p in sorted(Path(REPO, 'models').glob('*/config.yml')):
        assert load_config(p).name == p.parent.name
