"""A layer family is one plug-in: a toy family in one file teaches fpgaml a layer class no built-in family knows.

hls4ml converts Keras' LayerNormalization (its ``LayerNormalization`` layer), but no fpgaml family claims it: the
estimator falls back to its generic estimate and the RTL backend has no lowering. The test writes the user's
family module, ``layernorm_family.py`` (a cost model, nothing else), names it in the config's ``extensions:``, and
builds the model through the CLI: it converts, C-simulates (within tolerance: hls4ml's inverse square root is a
table), is estimated with the toy cost model (an uncalibrated family of its own), and the RTL backend refuses it
with the layer's name, its class and what the backend supports (the family has no lowering)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from fpgaml_testutil import run_cli, write

FAMILY_SRC = '''"""Everything fpgaml knows about hls4ml's LayerNormalization: what it costs."""

from fpgaml.estimate.primitives import LayerCost, out_fmt, out_var, size_of
from fpgaml.families import Family, register_family


def layernorm(ctx, layer):
    """Toy model: a subtraction, a product and a register per element; three cycles."""
    n = size_of(out_var(layer))
    c = LayerCost(latency_cycles=3, lut=10.0 * n, ff=float(n * out_fmt(layer).width))
    c.flags.append('toy layernorm cost model')
    return c


FAMILY = register_family(Family(
    name='layernorm',
    hls_classes=('LayerNormalization',),
    keras_classes=('LayerNormalization',),
    cost={'LayerNormalization': layernorm},
))
'''

CONFIG = """model: model.h5
name: ln
extensions: [layernorm_family.py]
trust_model: true
validation: {data: val.npy}
tolerance: {max_abs_diff: 0.5}   # hls4ml's 1/sqrt(variance) is a 4096-entry table
"""


@pytest.fixture(scope='module')
def project(tmp_path_factory) -> Path:
    """Input (4, 6) -> LayerNormalization -> Flatten -> Dense(3), float; the family module and config beside it."""
    import tf_keras as K

    d = tmp_path_factory.mktemp('family_plugin')
    K.utils.set_random_seed(0)
    model = K.Sequential(
        [
            K.layers.Input((4, 6), name='x'),
            K.layers.LayerNormalization(name='ln'),
            K.layers.Flatten(name='flat'),
            K.layers.Dense(3, name='out'),
        ]
    )
    model.save(d / 'model.h5')
    # small values: hls4ml's table holds 1/sqrt(v) for variances v up to 1
    np.save(d / 'val.npy', np.random.default_rng(0).normal(0, 0.3, (200, 4, 6)).astype(np.float32))
    write(d / 'layernorm_family.py', FAMILY_SRC)
    write(d / 'config.yml', CONFIG)
    return d


def test_a_family_file_is_converted_csimulated_and_estimated(project):
    rc, out = run_cli('build', 'config.yml', '-o', 'prj', cwd=project)
    assert 'Traceback' not in out
    assert rc == 0, out
    assert 'C-simulation PASSED' in out, out
    rec = json.loads((project / 'prj' / 'fpgaml-report.json').read_text())
    assert {r['name']: r['cls'] for r in rec['layers']}['ln'] == 'LayerNormalization'
    ln = {le['name']: le for le in rec['estimate']['layers']}['ln']
    assert ln['family'] == 'layernorm' and 'toy layernorm cost model' in ln['flags']
    assert (ln['latency_cycles'], ln['lut']) == (3, 240)  # 4 x 6 elements
    assert 'layernorm' in rec['estimate']['uncalibrated']


def test_a_family_without_lowering_is_refused_by_the_rtl_backend(project, monkeypatch):
    """The check ``fpgaml rtl`` runs right after the conversion (no RTL tools needed to see it)."""
    from fpgaml.config import load_config
    from fpgaml.families import family_of, unregister_family
    from fpgaml.project import Project
    from fpgaml.rtl.model import RtlUnsupported, check_supported

    monkeypatch.chdir(project)
    p = Project(load_config(project / 'config.yml', output_dir=project / 'rtl_prj'))
    try:
        graph = p.convert().graph  # loads the extension: the family registers in this process
        assert family_of('LayerNormalization').name == 'layernorm'
        with pytest.raises(RtlUnsupported) as e:
            check_supported(graph, 'io_parallel')
    finally:
        p.close()
        unregister_family('layernorm')
    msg = str(e.value)
    assert msg.startswith('layer "ln" (LayerNormalization) cannot be built as RTL; the RTL backend supports: '), msg
    assert 'Dense' in msg and 'a final Softmax' in msg and e.value.exit_code == 2


def test_a_class_belongs_to_one_family():
    from fpgaml.families import Family, family_of, register_family, unregister_family

    with pytest.raises(ValueError, match='Dense is in family dense/conv already'):
        register_family(Family(name='mine', hls_classes=('Dense',)))
    with pytest.raises(ValueError, match='for classes it does not list: Other'):
        register_family(Family(name='mine', hls_classes=('Mine',), cost={'Other': print}))
    register_family(Family(name='mine', hls_classes=('Mine',)))
    try:
        assert family_of('Mine').name == 'mine'
    finally:
        unregister_family('mine')
    assert family_of('Mine') is None
