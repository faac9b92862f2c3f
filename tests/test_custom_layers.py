"""Custom layers written with hls4ml's extension API, named by the config's ``extensions:``.

The layer is an interaction-network projection (the JEDI-net jet tagger's ``x^T R`` with fixed 0/1 receiving /
sending matrices R over all ordered node pairs): ``NodeEdgeProjection(n, 'sending')`` gives every edge the features
of its sending node, ``NodeEdgeProjection(n, 'aggregate')`` sums at every node the edges it receives. The test
writes the user's extension module (Keras class, hls4ml layer, parser, config and function templates, registered
with hls4ml 1.3.0's API) and its C++ header into a temporary folder, saves a QKeras model that uses the layer, and
builds it through the CLI: with trust given it converts, C-simulates bit for bit, and is estimated as an
uncalibrated "custom" family; without trust the module is never imported and the build stops with one line; a
wrong C++ implementation is caught and traced to the custom layer."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from fpgaml_testutil import write

N_NODES, N_FEAT = 6, 3

# The user's Keras layer (as in their training code). Also exec'd here to build and save the model.
KERAS_SRC = '''
import numpy as np
import tf_keras as keras

MODES = ('receiving', 'sending', 'aggregate')


def incidence(n_nodes):
    """(R_r, R_s): 0/1 matrices (n_nodes, n_edges); edges are the ordered pairs (r, s), r != s, r major."""
    edges = [(r, s) for r in range(n_nodes) for s in range(n_nodes) if s != r]
    rr = np.zeros((n_nodes, len(edges)), np.float32)
    rs = np.zeros((n_nodes, len(edges)), np.float32)
    for e, (r, s) in enumerate(edges):
        rr[r, e] = 1
        rs[s, e] = 1
    return rr, rs


class NodeEdgeProjection(keras.layers.Layer):
    def __init__(self, n_nodes, mode='receiving', **kwargs):
        super().__init__(**kwargs)
        if mode not in MODES:
            raise ValueError(f'mode must be one of {MODES}, got {mode!r}')
        self.n_nodes, self.mode = int(n_nodes), mode
        rr, rs = incidence(self.n_nodes)
        self.matrix = rr.T if mode == 'receiving' else rs.T if mode == 'sending' else rr  # (n_out, n_in)

    def call(self, x):
        import tensorflow as tf
        return tf.einsum('oi,bif->bof', tf.constant(self.matrix), x)

    def get_config(self):
        return dict(super().get_config(), n_nodes=self.n_nodes, mode=self.mode)
'''

# The hls4ml side, registered the way hls4ml 1.3.0's extension API documents it.
HLS_SRC = '''
from pathlib import Path

import hls4ml
from hls4ml.backends import get_backend
from hls4ml.backends.template import FunctionCallTemplate, LayerConfigTemplate
from hls4ml.model.types import FixedPrecisionType, UnspecifiedPrecisionType

Path(__file__).with_name('imported.txt').write_text('the extension ran')  # (the test: was it imported?)

KERAS_CUSTOM_OBJECTS = {'NodeEdgeProjection': NodeEdgeProjection}


class HNodeEdgeProjection(hls4ml.model.layers.Layer):
    """Output shape; result type from the config, or ('auto', bit-exact mode) exact from the input type."""

    def initialize(self):
        inp = self.get_input_variable()
        n, mode = self.get_attr('n_nodes'), self.get_attr('mode')
        n_out = n * (n - 1) if mode != 'aggregate' else n
        self.set_attr('n_feat', inp.shape[1])
        precision, _ = self.model.config.get_precision(self, var='result')
        t = inp.type.precision
        if isinstance(precision, UnspecifiedPrecisionType) and isinstance(t, FixedPrecisionType):
            grow = int(np.ceil(np.log2(n - 1))) if mode == 'aggregate' else 0  # a sum of n - 1 values
            precision = FixedPrecisionType(t.width + grow, t.integer + grow, t.signed)
        self.add_output_variable([n_out, inp.shape[1]], precision=precision)


def parse_node_edge_projection(keras_layer, input_names, input_shapes, data_reader):
    cfg = keras_layer['config']
    n = cfg['n_nodes']
    layer = {'class_name': 'HNodeEdgeProjection', 'name': cfg['name'], 'n_nodes': n, 'mode': cfg['mode'],
             'inputs': input_names}
    return layer, [input_shapes[0][0], n * (n - 1) if cfg['mode'] != 'aggregate' else n, input_shapes[0][2]]


class ConfigTemplate(LayerConfigTemplate):
    def __init__(self):
        super().__init__(HNodeEdgeProjection)

    def format(self, node):
        params = self._default_config_params(node)
        params['mode_id'] = MODES.index(node.get_attr('mode'))
        return ('struct config{index} : nnet::node_edge_config {{\\n'
                '    static const unsigned n_nodes = {n_nodes};\\n'
                '    static const unsigned n_feat = {n_feat};\\n'
                '    static const unsigned mode = {mode_id};\\n'
                '}};\\n').format(**params)


class FunctionTemplate(FunctionCallTemplate):
    def __init__(self):
        super().__init__(HNodeEdgeProjection, include_header=['nnet_utils/nnet_node_edge.h'])

    def format(self, node):
        params = self._default_function_params(node)
        return 'nnet::node_edge_projection<{input_t}, {output_t}, {config}>({input}, {output});'.format(**params)


hls4ml.model.layers.register_layer('HNodeEdgeProjection', HNodeEdgeProjection)
hls4ml.converters.register_keras_v2_layer_handler('NodeEdgeProjection', parse_node_edge_projection)
for backend in ('Vivado', 'Vitis'):
    get_backend(backend).register_template(ConfigTemplate)
    get_backend(backend).register_template(FunctionTemplate)
    get_backend(backend).register_source(Path(__file__).with_name('nnet_node_edge.h').resolve())
'''

HEADER = r"""#ifndef NNET_NODE_EDGE_H_
#define NNET_NODE_EDGE_H_
namespace nnet {
struct node_edge_config {
    static const unsigned n_nodes = 2;
    static const unsigned n_feat = 1;
    static const unsigned mode = 0; // 0: receiving, 1: sending (node -> edge); 2: aggregate (edge -> node)
};
template <class data_T, class res_T, typename CONFIG_T> void node_edge_projection(data_T x[], res_T y[]) {
    #pragma HLS INLINE
    const unsigned n = CONFIG_T::n_nodes, f = CONFIG_T::n_feat;
    if (CONFIG_T::mode == 2) {
        res_T acc[n * f];
        #pragma HLS ARRAY_PARTITION variable=acc complete
        for (unsigned i = 0; i < n * f; i++) acc[i] = 0;
        unsigned e = 0;
        for (unsigned r = 0; r < n; r++) {
            for (unsigned s = 0; s < n; s++) {
                #pragma HLS UNROLL
                if (s == r) continue;
                for (unsigned k = 0; k < f; k++) acc[AGGREGATE_AT * f + k] += x[e * f + k];
                e++;
            }
        }
        for (unsigned i = 0; i < n * f; i++) y[i] = acc[i];
    } else {
        unsigned e = 0;
        for (unsigned r = 0; r < n; r++) {
            for (unsigned s = 0; s < n; s++) {
                #pragma HLS UNROLL
                if (s == r) continue;
                const unsigned src = CONFIG_T::mode == 0 ? r : s;
                for (unsigned k = 0; k < f; k++) y[e * f + k] = x[src * f + k];
                e++;
            }
        }
    }
}
} // namespace nnet
#endif
"""


def _write_extension(folder: Path, aggregate_at: str = 'r') -> None:
    """The user's extension: edge_layers.py and its C++ header. ``aggregate_at='s'``: a wrong header (each node
    sums the edges it sends)."""
    folder.mkdir(parents=True, exist_ok=True)
    write(folder / 'edge_layers.py', KERAS_SRC + HLS_SRC)
    write(folder / 'nnet_node_edge.h', HEADER.replace('AGGREGATE_AT', aggregate_at))


@pytest.fixture(scope='module')
def model_dir(tmp_path_factory) -> Path:
    """A QKeras model with the custom layer: quantized inputs (6 nodes x 3 features) -> sending projection onto
    30 edges -> sum at the receiving nodes -> Flatten -> QDense(5); saved as .h5, with validation inputs."""
    import tf_keras as K
    from qkeras import QActivation, QDense, quantized_bits

    d = tmp_path_factory.mktemp('custom')
    ns: dict = {}
    exec(KERAS_SRC, ns)  # noqa: S102 - the test's own source: the user's Keras class
    proj = ns['NodeEdgeProjection']
    K.utils.set_random_seed(1)
    inp = K.layers.Input((N_NODES, N_FEAT), name='constituents')
    x = QActivation(quantized_bits(8, 2, alpha=1), name='q_in')(inp)
    e = proj(N_NODES, 'sending', name='to_edges')(x)
    a = proj(N_NODES, 'aggregate', name='to_nodes')(e)
    h = K.layers.Flatten(name='flat')(a)
    q = dict(kernel_quantizer=quantized_bits(6, 0, alpha=1), bias_quantizer=quantized_bits(6, 0, alpha=1))
    out = QDense(5, name='out', **q)(h)
    model = K.Model(inp, out)
    model.save(d / 'in_model.h5')
    x_val = np.random.default_rng(0).normal(0, 1.5, (300, N_NODES, N_FEAT)).astype(np.float32)
    np.save(d / 'val.npy', x_val)
    # the layer computes what an interaction network's R matrices compute
    rr, rs = ns['incidence'](N_NODES)
    y = model.layers[3](model.layers[2](x_val[:4])).numpy()  # aggregate(sending(x)), float
    np.testing.assert_allclose(y, np.einsum('ne,bef->bnf', rr, np.einsum('ne,bnf->bef', rs, x_val[:4])), rtol=1e-5)
    return d


CONFIG = """model: ../in_model.h5
name: in_proj
output_dir: {out}
extensions: [edge_layers.py]   # relative to this file's folder
bit_exact: on                  # the projections are exact on fixed-point inputs: compare bit for bit
validation: {{data: ../val.npy}}
"""


def _cli(*args, cwd: Path):
    p = subprocess.run(
        [sys.executable, '-m', 'fpgaml.cli', *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=900,
        env=dict(os.environ),
    )
    return p.returncode, p.stdout + p.stderr


def test_trusted_extension_converts_csimulates_and_estimates(model_dir, tmp_path):
    ext = model_dir / 'ext_ok'
    _write_extension(ext)
    cfg = write(ext / 'config.yml', CONFIG.format(out=tmp_path / 'proj'))
    rc, out = _cli('build', cfg, '--trust-model', cwd=tmp_path)  # run from elsewhere: paths are the config's
    assert 'Traceback' not in out
    assert rc == 0, out
    assert 'C-simulation PASSED: bit-exact' in out and 'bit-exact samples (input grid): 100.00%' in out, out
    assert 'model: HDF5 model file (keras 2.21.0), loaded with tf_keras' in out
    assert f'extensions: {ext / "edge_layers.py"}' in out
    assert 'custom: no calibration data for this layer family' in out, out
    proj = tmp_path / 'proj'
    assert (proj / 'firmware' / 'nnet_utils' / 'nnet_node_edge.h').read_text() == (ext / 'nnet_node_edge.h').read_text()
    rec = json.loads((proj / 'fpgaml-report.json').read_text())
    layers = {r['name']: r for r in rec['layers']}
    assert layers['to_edges']['cls'] == layers['to_nodes']['cls'] == 'HNodeEdgeProjection'
    # the aggregate's type holds a sum of 5 values of the 8-bit input type (fixed<8,3>) exactly: 3 more bits
    assert layers['to_nodes']['precisions']['result'].startswith('fixed<11,6,'), layers['to_nodes']
    est = rec['estimate']
    assert 'custom' in est['uncalibrated']
    assert {l['name']: l['family'] for l in est['layers']}['to_nodes'] == 'custom'
    assert rec['model']['extensions'][0]['extension'] == str(ext / 'edge_layers.py')
    assert len(rec['model']['extensions'][0]['sha256']) == 64


def test_without_trust_the_module_is_not_run(model_dir, tmp_path):
    ext = model_dir / 'ext_untrusted'
    _write_extension(ext)
    cfg = write(ext / 'config.yml', CONFIG.format(out=tmp_path / 'proj'))
    rc, out = _cli('build', cfg, cwd=tmp_path)
    assert rc == 2, out
    assert 'Traceback' not in out
    lines = [ln for ln in out.splitlines() if 'error' in ln.lower()]
    assert len(lines) == 1, out
    assert f'{cfg}:4: extensions: edge_layers.py' in lines[0]
    assert 'is Python code' in lines[0] and '--trust-model' in lines[0] and 'trust_model: true' in lines[0]
    assert not (ext / 'imported.txt').exists()  # refused before anything was imported
    assert not (tmp_path / 'proj').exists()


def test_hls4ml_format_extensions_key(model_dir, tmp_path):
    """``Extensions:`` in an hls4ml-format file, trusted there (``TrustModel: true``): the project is written with
    the layer's header."""
    ext = model_dir / 'ext_hls4ml'
    _write_extension(ext)
    cfg = write(
        ext / 'hls.yml',
        f'KerasH5: ../in_model.h5\nProjectName: in_proj\nOutputDir: {tmp_path / "p"}\n'
        'Extensions:\n  - edge_layers.py\nTrustModel: true\nBitExact: on\n',
    )
    rc, out = _cli('convert', cfg, cwd=tmp_path)
    assert rc == 0, out
    assert (tmp_path / 'p' / 'firmware' / 'nnet_utils' / 'nnet_node_edge.h').is_file()
    assert 'nnet::node_edge_projection<' in (tmp_path / 'p' / 'firmware' / 'in_proj.cpp').read_text()


def test_a_wrong_implementation_is_traced_to_the_custom_layer(model_dir, tmp_path):
    ext = model_dir / 'ext_wrong'
    _write_extension(ext, aggregate_at='s')  # sums the edges a node sends, not those it receives
    cfg = write(ext / 'config.yml', CONFIG.format(out=tmp_path / 'proj'))
    rc, out = _cli('build', cfg, '--trust-model', cwd=tmp_path)
    assert 'Traceback' not in out
    assert rc == 4, out
    assert 'first divergent layer: to_nodes (HNodeEdgeProjection)' in out, out


@pytest.mark.parametrize(
    'entry, expect',
    [
        ('[missing.py]', 'extension file "missing.py" not found'),
        ('["not a module!"]', 'is neither a Python file (my_layers.py) nor a module name'),
        ('[{a: 1}]', 'an extension is a Python file (my_layers.py) or a module name'),
    ],
)
def test_bad_extension_entries(tmp_path, entry, expect):
    write(tmp_path / 'm.h5', 'x')
    cfg = write(tmp_path / 'c.yml', f'model: m.h5\nname: t\nextensions: {entry}\n')
    rc, out = _cli('convert', cfg, cwd=tmp_path)
    assert rc == 2 and 'Traceback' not in out, out
    assert 'c.yml:3: extensions' in out and expect in out, out
