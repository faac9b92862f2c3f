"""A representative subset of ../shared/corpus/example-models built through benchmarks/corpus.py.

Float (profile policy), binary and ternary nets (exact thresholds, legacy layers), an HGQ proxy model
(bit-exact), a small CNN and the numpy-2 path of a QKeras po2 model. The full corpus (26 models + 5
configs) is ``benchmarks/corpus.py``; it takes too long for CI (KERAS_conv1d alone compiles for minutes).
"""

from __future__ import annotations

import sys

import pytest
from fpgaml_testutil import REPO, requires_corpus

pytestmark = [requires_corpus(), pytest.mark.slow]

sys.path.insert(0, str(REPO / 'benchmarks'))

SUBSET = [
    'KERAS_3layer',
    'KERAS_3layer_binary_smaller',
    'KERAS_3layer_ternary_small',
    'keras_bnn',
    'hgq_jet_classifier',
    'KERAS_conv1d_small',
]


@pytest.mark.parametrize('name', SUBSET)
def test_corpus_model_builds_and_agrees(name, tmp_path):
    import corpus

    e = next(m for m in corpus.MODELS if m.name == name)
    e = corpus.Entry(e.name, e.model, e.inputs, min(e.samples, 500), e.extra)
    row = corpus.build_one(
        name, corpus.generated_config(e, tmp_path), use_cache=True, inputs=e.inputs, samples=e.samples
    )
    assert row.status == 'PASS', corpus.fmt_row(row)
    if name.startswith('hgq'):
        assert row.exact_fraction == 1.0
    elif row.argmax is not None:
        assert row.argmax >= 0.99
