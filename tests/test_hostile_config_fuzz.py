"""Fuzz of the config loader (issue 15): generated YAML documents and mutated valid configs (models/*/config.yml and
an hls4ml-format config), both formats, through ``load_config``. The only exception allowed is FpgamlError.
Deterministic (derandomize=True); ~20-40 s."""

from __future__ import annotations

import tempfile
from pathlib import Path

import yaml
from fpgaml_testutil import REPO
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fpgaml.config import load_config
from fpgaml.config.hls4ml_format import Hls4mlFormat, HlsConfigSection, HlsLayerConfig, HlsModelConfig
from fpgaml.config.schema import FpgamlFormat
from fpgaml.errors import FpgamlError

HLS4ML_EXAMPLE = """\
KerasJson: model.json
KerasH5: model.h5
OutputDir: hls_prj
ProjectName: myproject
Part: xcvu9p-flga2104-2L-e
ClockPeriod: 5
IOType: io_parallel
HLSConfig:
  Model:
    Precision: ap_fixed<16,6>
    ReuseFactor: 1
    Strategy: Latency
  LayerType:
    Dense:
      ReuseFactor: 2
  LayerName:
    softmax:
      Strategy: Stable
      exp_table_t: ap_fixed<18,8,AP_RND,AP_SAT>
      table_size: 1024
"""

SEEDS = [p.read_text() for p in sorted((REPO / 'models').glob('*/config.yml'))] + [HLS4ML_EXAMPLE]
FILES = ('model.h5', 'model.json', 'val.npz', 'arch.json', 'weights.h5', 'x.npy')
KEYS = sorted(
    {k for m in (FpgamlFormat, Hls4mlFormat, HlsConfigSection, HlsModelConfig, HlsLayerConfig) for k in m.model_fields}
    | {'default', 'input', 'result', 'weight', 'dense_*', '<<', 'file'}
)
SPECIAL = list('{}[],:&*!|>\'"%@`#?-<> \n\t\\') + [
    'fixed<',
    'ap_fixed<16,6>',
    '&a',
    '*a',
    '!!binary',
    '!keras_model',
    '? ',
    '- ',
    ': ',
    '\x00',
    '\ufeff',
    '\xe9',
    '~',
    '.inf',
    '.nan',
]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True),
    st.sampled_from(
        [
            'fixed<16,6>',
            'fixed<5000,6>',
            'ap_fixed<8,3,AP_RND,AP_SAT,-1>',
            'auto',
            'Latency',
            'Resource',
            'Stable',
            'io_stream',
            'model.h5',
            'val.npz',
            'x.npy',
            '~/m.h5',
            '',
            'a\x00b',
            '../..',
            '/',
        ]
    ),
    st.text(max_size=12),
)
keys = st.one_of(st.sampled_from(KEYS), st.text(max_size=8), st.integers(-3, 3), st.booleans())
values = st.recursive(
    scalars, lambda c: st.one_of(st.lists(c, max_size=4), st.dictionaries(keys, c, max_size=5)), max_leaves=25
)


def _check(text: str | bytes, tmp: Path) -> None:
    p = tmp / 'c.yml'
    p.write_bytes(text if isinstance(text, bytes) else text.encode('utf-8', 'surrogatepass'))
    try:
        load_config(p)
    except FpgamlError:
        pass


def _tmpdir() -> Path:
    d = Path(tempfile.mkdtemp(prefix='fpgaml-fuzz-'))
    for f in FILES:
        (d / f).write_bytes(b'placeholder')
    return d


TMP = _tmpdir()


def fuzz(n: int):
    return settings(
        max_examples=n, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
    )


@fuzz(200)
@given(st.dictionaries(keys, values, max_size=8))
def test_generated_documents(doc):
    _check(yaml.safe_dump(doc, allow_unicode=True), TMP)


@fuzz(800)
@given(
    st.sampled_from(SEEDS),
    st.lists(
        st.tuples(st.integers(0, 10**6), st.integers(0, 6), st.one_of(st.sampled_from(SPECIAL), st.text(max_size=4))),
        min_size=1,
        max_size=4,
    ),
)
def test_mutated_text(seed, edits):
    """Character-level mutations of valid configs: delete a span, insert YAML syntax or odd characters."""
    text = seed
    for pos, delete, insert in edits:
        i = pos % (len(text) + 1)
        text = text[:i] + insert + text[i + delete :]
    _check(text, TMP)


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, prefix + (i,))


@fuzz(300)
@given(st.sampled_from(SEEDS), st.data())
def test_mutated_structure(seed, data):
    """Structural mutations of valid configs: replace any value (at any depth) with a generated one, add keys."""
    doc = yaml.safe_load(seed)
    for _ in range(data.draw(st.integers(1, 3))):
        paths = list(_paths(doc))
        path = data.draw(st.sampled_from(paths))
        new = data.draw(values)
        if not path:
            continue
        parent = doc
        for part in path[:-1]:
            parent = parent[part]
        parent[path[-1]] = new
        if isinstance(parent, dict) and data.draw(st.booleans()):
            parent[data.draw(keys)] = data.draw(values)
    _check(yaml.safe_dump(doc, allow_unicode=True), TMP)


@fuzz(500)
@given(st.binary(max_size=200))
def test_random_bytes(raw):
    _check(raw, TMP)
