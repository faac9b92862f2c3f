"""Merges: Add, Subtract, Multiply, Average, Maximum, Minimum (hls4ml's Merge), Concatenate, Dot."""

from . import Family

FAMILY = Family(
    name='merge',
    hls_classes=('Merge', 'Concatenate', 'Dot'),
    costs={'Merge': 'merge', 'Concatenate': 'merge', 'Dot': 'merge'},
)
