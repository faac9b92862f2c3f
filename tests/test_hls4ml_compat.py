"""hls4ml's own test models through fpgaml: one per family, built as hls4ml's tests build them.

Each case (see tests/hls4ml_cases.py) saves the model the hls4ml test builds, writes the test's hls4ml config
as an hls4ml-format YAML file, runs ``fpgaml build`` as a user does (the CLI, in a subprocess), runs the firmware
fpgaml compiled on the test's inputs and applies the hls4ml test's own assertion to it. The whole set (and the
pass rate in the README) is ``benchmarks/hls4ml_compat.py``.
"""

from __future__ import annotations

import pytest
from hls4ml_cases import all_cases, run_case

pytestmark = pytest.mark.slow

# Cases fpgaml does not yet pass (measured with benchmarks/hls4ml_compat.py): strict, so a fix shows up as XPASS.
# (qrnn/qlstm passes since fpgaml computes a QLSTM with quantized activations in its own exact cell, which takes
# any input type; hls4ml's table_size cell gets casts at the layer boundary: tests/test_exact_recurrent.py)
KNOWN_FAILING: dict[str, str] = {}

CASES = [c for c in all_cases() if c.fast]


def _param(case):
    marks = [pytest.mark.xfail(reason=KNOWN_FAILING[case.id], strict=True)] if case.id in KNOWN_FAILING else []
    return pytest.param(case, id=case.id, marks=marks)


@pytest.mark.parametrize('case', [_param(c) for c in CASES])
def test_hls4ml_test_model(case, tmp_path):
    res = run_case(case, tmp_path)
    assert res.clean, f'fpgaml printed a traceback (exit {res.fpgaml_exit})'
    assert res.outcome != 'fpgaml error', f'fpgaml build failed (exit {res.fpgaml_exit}): {res.fpgaml_message}'
    assert res.outcome == 'meets', f'{case.source}: {case.criterion_text} fails on the firmware: {res.detail}'


def test_cases_cover_every_family():
    """The CI subset keeps one model per family of hls4ml's tests."""
    assert {c.family for c in CASES} == {c.family for c in all_cases()}
    assert len(all_cases()) >= 85


def test_po2_bias_builds_and_meets_the_test(tmp_path):
    """quantized_po2 weights and bias (test_qkeras.py::test_quantised_po2_bit_width): hls4ml's exponent-typed bias
    does not compile (in hls4ml alone too); fpgaml's exact_po2_bias pass types it exactly."""
    case = next(c for c in all_cases() if c.id == 'qkeras/po2_dense_latency[io_parallel]')
    res = run_case(case, tmp_path)
    assert res.outcome == 'meets', f'{res.outcome}: {res.fpgaml_message} {res.detail}'
