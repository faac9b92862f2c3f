"""Pooling (max / average, global)."""

from . import Family

FAMILY = Family(
    name='pooling',
    hls_classes=('Pooling1D', 'Pooling2D', 'GlobalPooling1D', 'GlobalPooling2D'),
    costs={c: 'pooling' for c in ('Pooling1D', 'Pooling2D', 'GlobalPooling1D', 'GlobalPooling2D')},
)
