"""Fixtures for the estimator / report tests (no g++ or vendor tools needed)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

os.environ.setdefault('TF_USE_LEGACY_KERAS', '1')
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')

import pytest

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO.parent / 'shared' / 'corpus'
FIXTURES = Path(__file__).resolve().parent / 'fixtures'


@pytest.fixture
def corpus() -> Path:
    if not (CORPUS / 'vendor-reports').is_dir():
        pytest.skip(f'external corpus not found at {CORPUS} (only present beside the project checkout)')
    return CORPUS


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES


def _convert(model, hls_config=None, io_type='io_parallel', part='xcvu9p-flga2104-2L-e', clock=5.0, backend='Vivado'):
    """Convert a tf_keras model with hls4ml's Keras-2 converter (no project is written)."""
    import hls4ml
    from hls4ml.converters.keras_v2_to_hls import keras_v2_to_hls

    with tempfile.TemporaryDirectory() as tmp:
        cfg = hls4ml.utils.config.create_config(
            output_dir=tmp, project_name='myproject', backend=backend, part=part, clock_period=clock, io_type=io_type
        )
        cfg['KerasModel'] = model
        cfg['HLSConfig'] = hls_config or {
            'Model': {'Precision': 'fixed<16,6>', 'ReuseFactor': 1, 'Strategy': 'Latency'}
        }
        return keras_v2_to_hls(cfg)


@pytest.fixture(scope='session')
def convert():
    return _convert


@pytest.fixture(scope='session')
def keras():
    import tf_keras

    return tf_keras
