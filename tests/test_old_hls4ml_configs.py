"""Configs written by older hls4ml (0.7-1.2 ``write_config``): ``ConvImplementation: Pointwise`` (hls4ml 1.3.0
refuses it with an internal exception; it chooses its pointwise convolution itself for kernel size 1) is built as
``LineBuffer`` with a line that says so; an unknown value is a config error naming file, line, layer and the
accepted values; the ``KerasModel: !keras_model 'path'`` tag write_config writes is read as the model path."""

from __future__ import annotations

import pytest
from fpgaml_testutil import write

from fpgaml.config import load_config
from fpgaml.errors import FpgamlError
from fpgaml.project import Project

# As hls4ml's write_config dumped model.config.config (yaml.dump: keys sorted, the model as a tagged scalar).
OLD_CONFIG = """\
Backend: Vivado
ClockPeriod: 5
HLSConfig:
  LayerName:
    phi1:
      ConvImplementation: {impl}
      Precision:
        bias: ap_fixed<16,6>
        result: ap_fixed<16,6>
        weight: ap_fixed<16,6>
      Trace: false
  Model:
    Precision: ap_fixed<16,6>
    ReuseFactor: 1
    Strategy: Latency
IOType: {io_type}
InputData: null
KerasModel: !keras_model 'my-hls-test/keras_model.h5'
OutputDir: my-hls-test
OutputPredictions: null
Part: xcvu9p-flga2104-2L-e
ProjectName: myproject
Stamp: 8F0dB7a1
WriterConfig:
  Namespace: null
  WriteTar: false
  WriteWeightsTxt: true
"""


def _conv1d_kernel1():
    import tf_keras as K

    K.utils.set_random_seed(5)
    return K.Sequential(
        [
            K.layers.Input((8, 3)),
            K.layers.Conv1D(4, 1, name='phi1'),
            K.layers.Flatten(name='flat'),
            K.layers.Dense(2, name='out'),
        ]
    )


@pytest.fixture
def old_project(tmp_path, monkeypatch):
    """A model saved where write_config put it, and the config beside it (paths relative to where hls4ml ran)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / 'my-hls-test').mkdir()
    _conv1d_kernel1().save(tmp_path / 'my-hls-test' / 'keras_model.h5')
    return tmp_path


@pytest.mark.parametrize('io_type', ['io_parallel', 'io_stream'])
def test_pointwise_conv_implementation_is_translated(old_project, io_type):
    text = OLD_CONFIG.format(impl='Pointwise', io_type=io_type)
    path = write(old_project / 'my-hls-test' / 'hls4ml_config.yml', text)
    cfg = load_config(path)
    assert cfg.layer_patterns['phi1'].extra['ConvImplementation'] == 'Pointwise'  # as written; translated for hls4ml
    conv = Project(cfg).convert()
    node = conv.graph.graph['phi1']
    assert node.class_name == 'PointwiseConv1D'  # hls4ml 1.3's own choice for kernel size 1
    assert node.get_attr('conv_implementation') == 'LineBuffer' and node.get_attr('implementation') == 'linebuffer'
    note = [n for n in conv.notes if 'ConvImplementation' in n]
    assert len(note) == 1, conv.notes
    assert note[0].startswith(
        f'{path}:5: HLSConfig.LayerName.phi1.ConvImplementation: "Pointwise" (hls4ml before '
        f'1.3) is built as "LineBuffer"'
    ), note
    assert note[0].endswith('(here: phi1)'), note


def test_conv_implementation_spelling_is_hls4mls(old_project):
    """hls4ml 1.3 matches a layer's value case-sensitively: any case is accepted and passed as hls4ml spells it."""
    text = OLD_CONFIG.format(impl='linebuffer', io_type='io_stream')
    cfg = load_config(write(old_project / 'my-hls-test' / 'c.yml', text))
    assert cfg.layer_patterns['phi1'].extra['ConvImplementation'] == 'LineBuffer'
    conv = Project(cfg).convert()
    assert conv.graph.graph['phi1'].get_attr('conv_implementation') == 'LineBuffer'
    assert not [n for n in conv.notes if 'ConvImplementation' in n]


@pytest.mark.parametrize('impl', ['Pointwize', 'Im2col'])
def test_unknown_conv_implementation_is_a_config_error(old_project, impl):
    path = write(old_project / 'my-hls-test' / 'c.yml', OLD_CONFIG.format(impl=impl, io_type='io_parallel'))
    with pytest.raises(FpgamlError) as e:
        load_config(path)
    msg = str(e.value)
    assert msg.startswith(
        f'{path}:6: HLSConfig.LayerName.phi1.ConvImplementation: unknown conv implementation "{impl}"'
    ), msg
    assert 'accepted: LineBuffer, Encoded (hls4ml 1.3.0), Pointwise (hls4ml before 1.3, read as LineBuffer)' in msg
    assert ('did you mean "Pointwise"' in msg) == (impl == 'Pointwize')


def test_unknown_conv_implementation_fpgaml_format(tmp_path):
    (tmp_path / 'm.h5').write_bytes(b'placeholder')
    path = write(tmp_path / 'c.yml', 'model: m.h5\nname: s\nlayers:\n  phi1:\n    conv_implementation: 2\n')
    with pytest.raises(FpgamlError) as e:
        load_config(path)
    assert str(e.value).startswith(
        f'{path}:5: layers.phi1.conv_implementation: unknown conv implementation 2; accepted: LineBuffer, Encoded'
    ), str(e.value)


def test_keras_model_tag_is_the_model_path(old_project):
    cfg = load_config(
        write(old_project / 'my-hls-test' / 'c.yml', OLD_CONFIG.format(impl='Encoded', io_type='io_stream'))
    )
    assert cfg.format == 'hls4ml'
    assert cfg.model.file == (old_project / 'my-hls-test' / 'keras_model.h5').resolve()
    assert cfg.name == 'myproject' and cfg.io_type == 'io_stream'


def test_keras_model_tag_naming_no_file(old_project):
    path = write(
        old_project / 'c.yml',
        OLD_CONFIG.format(impl='Encoded', io_type='io_stream').replace(
            'my-hls-test/keras_model.h5', 'gone/keras_model.h5'
        ),
    )
    with pytest.raises(FpgamlError) as e:
        load_config(path)
    assert str(e.value).startswith(f'{path}:18: KerasModel "gone/keras_model.h5" not found'), str(e.value)
