"""The graph is the firmware: every type, table size, table type and reuse factor written into
``parameters.h`` / ``defines.h`` is what the converted graph says (and so what the estimator and the report's
layer table read). Checked on every zoo model and the corpus models the suite builds (convert + write, no
compile)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from fpgaml_testutil import EXAMPLES, REPO

ZOO = sorted(p.name for p in (REPO / 'models').iterdir() if (p / 'config.yml').is_file())
CORPUS = [
    'KERAS_3layer',
    'KERAS_3layer_binary_smaller',
    'KERAS_3layer_ternary_small',
    'keras_bnn',
    'hgq_jet_classifier',
    'KERAS_conv1d_small',
]


def _struct(text: str, name: str) -> str | None:
    """The body of ``struct <name> ...{ ... };`` (nested braces included), or None."""
    m = re.search(r'struct ' + re.escape(name) + r'\b[^{;]*\{', text)
    if m is None:
        return None
    depth, i = 1, m.end()
    while depth:
        depth += {'{': 1, '}': -1}.get(text[i], 0)
        i += 1
    return text[m.end() : i - 1]


def _static(body: str, key: str) -> int | None:
    m = re.search(r'static const (?:unsigned|int|bool) ' + key + r' = (\w+);', body)
    return int(m.group(1)) if m and m.group(1).isdigit() else None


def _typedef(body: str, name: str) -> str | None:
    m = re.search(r'typedef ([^;]+?) ' + name + r';', body)
    return m.group(1).replace(' ', '') if m else None


def _convert(cfg_path: Path, tmp_path: Path):
    from fpgaml.config import load_config
    from fpgaml.convert import convert, write_project
    from fpgaml.frontend import load_model

    cfg = load_config(cfg_path, output_dir=tmp_path / 'unused')
    conv = convert(cfg, load_model(cfg.model), tmp_path / 'prj')
    write_project(conv, tmp_path / 'prj')
    fw = tmp_path / 'prj' / 'firmware'
    return conv, (fw / 'defines.h').read_text(), (fw / 'parameters.h').read_text()


def check_graph_is_firmware(conv, defines: str, params: str) -> int:
    """Assert the written C++ equals the graph; returns the number of facts compared."""
    text = defines + params
    rows = {r['name']: r for r in conv.layer_table()}
    compared = 0
    for node in conv.graph.get_layers():
        i, row = node.index, rows[node.name]
        act_t, recr_t, dist_t = (
            node.get_attr(a) for a in ('fpgaml_act_table_t', 'fpgaml_recr_table_t', 'fpgaml_distance_t')
        )
        # every hls4ml type of the layer is written with the graph's definition
        for key, t in node.types.items():
            if key == 'table_t' and act_t is not None:
                continue  # replaced by fpgaml's per-table types (checked below); not in the layer table
            assert t.definition_cpp().strip() in text, f'{node.name}: {key} {t.precision} not in the firmware'
            compared += 1
        # reuse factor of the layer's own config struct(s)
        rf = node.get_attr('reuse_factor')
        for s in (f'config{i}', f'config{i}_base'):
            body = _struct(params, s)
            if body is not None and rf is not None and _static(body, 'reuse_factor') is not None:
                assert _static(body, 'reuse_factor') == rf == row['reuse_factor'], (node.name, s)
                compared += 1
        # lookup tables: size and (fpgaml) type of each activation config of the layer
        for m in re.finditer(r'struct (\w+_config' + str(i) + r'(?:_recr)?) : nnet::activ_config', params):
            body = _struct(params, m.group(1))
            size = node.get_attr('table_size')
            if _static(body, 'exp_table_size') is not None:  # softmax: two tables, sized from table_size
                for key in ('exp_table_size', 'inv_table_size'):
                    assert _static(body, key) == node.get_attr(key, size), (node.name, key)
                assert _typedef(body, 'inv_inp_t') == node.get_attr('inv_inp_t').name, node.name
                compared += 3
            elif size is not None:
                assert _static(body, 'table_size') == size == row['table_size'], (node.name, m.group(1))
                compared += 1
            want = recr_t if m.group(1).endswith('_recr') else act_t
            if want is not None:
                assert _typedef(body, 'table_t') == want.cpp.replace(' ', ''), (node.name, m.group(1))
                key = 'recr_table' if m.group(1).endswith('_recr') else 'act_table'
                assert row['precisions'][key] == want.hls4ml_str()
                compared += 1
        if dist_t is not None:
            body = _struct(params, f'config{i}_base') or _struct(params, f'config{i}')
            assert _static(body, 'distance_width') == dist_t.width, node.name
            assert _typedef(body, 'distance_t') == dist_t.cpp.replace(' ', ''), node.name
            assert row['precisions']['distance'] == dist_t.hls4ml_str()
            compared += 2
        if node.get_attr('fpgaml_exact_cell') is not None:  # fpgaml's exact recurrent cell: its types
            body = _struct(params, f'config{i}')
            for attr, name in (
                ('fpgaml_cell_acc_t', 'fpgaml_acc_t'),
                ('fpgaml_state_t', 'fpgaml_state_t'),
                ('fpgaml_cell_c_t', 'fpgaml_c_t'),
                ('fpgaml_cell_h_t', 'fpgaml_h_t'),
            ):
                assert _typedef(body, name) == node.get_attr(attr).cpp.replace(' ', ''), (node.name, name)
                compared += 1
        for name, (entries, _bits) in (node.get_attr('fpgaml_exact_tables') or {}).items():
            assert _static(_struct(params, name), 'n_bins') == entries, (node.name, name)  # threshold tables
            compared += 1
        if node.get_attr('fpgaml_product_type') is not None:
            e_min, e_max = node.get_attr('fpgaml_po2_exponents')
            body = _struct(params, f'config{i}') or ''
            assert f'nnet::product::{node.get_attr("fpgaml_product_type")}<x_T, y_T, {e_min}, {e_max}>' in body, (
                node.name
            )
            assert 'nnet_utils/nnet_fpgaml_po2.h' in params
            compared += 1
    return compared


@pytest.mark.slow
@pytest.mark.parametrize('name', ZOO)
def test_zoo_graph_is_firmware(name, tmp_path):
    conv, defines, params = _convert(REPO / 'models' / name / 'config.yml', tmp_path)
    assert check_graph_is_firmware(conv, defines, params) > 0
    if name in ('jet_lstm', 'jet_gru'):  # fpgaml's exact cell (state quantizers, quantized activations)
        assert any(n.get_attr('fpgaml_exact_cell') is not None for n in conv.graph.get_layers())
    if name == 'jet_garnet':
        assert any(n.get_attr('fpgaml_distance_t') is not None for n in conv.graph.get_layers())


@pytest.mark.slow
@pytest.mark.skipif(not EXAMPLES.is_dir(), reason='external corpus (../shared/corpus) not found')
@pytest.mark.parametrize('name', CORPUS)
def test_corpus_graph_is_firmware(name, tmp_path):
    sys.path.insert(0, str(REPO / 'benchmarks'))
    import corpus

    e = next(m for m in corpus.MODELS if m.name == name)
    e = corpus.Entry(e.name, e.model, e.inputs, 50, e.extra)
    conv, defines, params = _convert(corpus.generated_config(e, tmp_path), tmp_path)
    assert check_graph_is_firmware(conv, defines, params) > 0


@pytest.mark.slow
def test_po2_product_is_in_the_graph_and_the_firmware(tmp_path):
    """A QKeras quantized_po2 Dense: the exact product is a graph attribute rendered by fpgaml's template."""
    import numpy as np
    import tf_keras as K
    from qkeras import QDense, quantized_bits, quantized_po2

    K.utils.set_random_seed(1)
    inp = K.layers.Input((8,), name='x')
    out = QDense(4, kernel_quantizer=quantized_po2(4), bias_quantizer=quantized_bits(8, 3), name='fc')(inp)
    K.Model(inp, out).save(tmp_path / 'po2.h5')
    np.savez(tmp_path / 'val.npz', x=np.random.default_rng(0).uniform(-2, 2, (50, 8)).astype(np.float32))
    (tmp_path / 'c.yml').write_text(
        'model: po2.h5\nname: po2\nvalidation: {data: val.npz}\n'
        'precision: {default: "fixed<16,6>", input: "fixed<10,4>"}\n'
    )
    conv, defines, params = _convert(tmp_path / 'c.yml', tmp_path)
    fc = next(n for n in conv.graph.get_layers() if n.name == 'fc')
    assert fc.get_attr('fpgaml_product_type') == 'weight_exponential_exact'
    assert (tmp_path / 'prj' / 'firmware' / 'nnet_utils' / 'nnet_fpgaml_po2.h').is_file()
    assert check_graph_is_firmware(conv, defines, params) > 0
    assert 'weight_exponential<' not in params


@pytest.mark.slow
def test_the_estimate_reads_the_exact_tables_the_firmware_has(tmp_path):
    """jet_lstm's exact cell: the estimator prices the threshold tables the pass wrote into the firmware."""
    from fpgaml.estimate import estimate

    conv, _, params = _convert(REPO / 'models' / 'jet_lstm' / 'config.yml', tmp_path)
    node = next(n for n in conv.graph.get_layers() if n.get_attr('fpgaml_exact_tables'))
    tables = node.get_attr('fpgaml_exact_tables')
    for name, (entries, _bits) in tables.items():
        body = _struct(params, name)
        assert body is not None and _static(body, 'n_bins') == entries <= 1024, name
    cfg = conv.config
    bram = next(l.bram_18k for l in estimate(conv.graph, cfg.part, cfg.clock_period).layers if l.name == node.name)
    node.set_attr('fpgaml_exact_tables', {k: (4 * e, b) for k, (e, b) in tables.items()})
    bram_larger = next(
        l.bram_18k for l in estimate(conv.graph, cfg.part, cfg.clock_period).layers if l.name == node.name
    )
    assert bram_larger > bram > 0


@pytest.mark.slow
@pytest.mark.parametrize('name,attrs', [('jet_garnet', ('fpgaml_distance_t',))])
def test_the_estimate_reads_the_tables_the_firmware_has(name, attrs, tmp_path):
    """The estimator prices the tables fpgaml's passes put in the firmware, not hls4ml's defaults."""
    from fpgaml.estimate import estimate
    from fpgaml.fixed import Fixed

    conv, _, _ = _convert(REPO / 'models' / name / 'config.yml', tmp_path)
    node = next(n for n in conv.graph.get_layers() if n.get_attr(attrs[0]) is not None)
    cfg = conv.config
    bram = next(l.bram_18k for l in estimate(conv.graph, cfg.part, cfg.clock_period).layers if l.name == node.name)
    wider = Fixed(node.get_attr(attrs[0]).width + 4, 4)
    for a in attrs:
        node.set_attr(a, wider)
    bram_wider = next(
        l.bram_18k for l in estimate(conv.graph, cfg.part, cfg.clock_period).layers if l.name == node.name
    )
    assert bram_wider > bram > 0
