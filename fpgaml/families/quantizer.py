"""HGQ's heterogeneous quantizer (hls4ml's ``FixedPointQuantizer``: HGQ v1 proxy models and HGQ2 models): one
``ap_fixed`` cast per element, each with its own bit widths (element-wise masks), inlined into the next layer.
TRN/WRAP casts are wiring; rounding and saturation cost logic. No synthesis figure has it yet: uncalibrated."""

from . import Family

FAMILY = Family(
    name='quantizer',
    hls_classes=('FixedPointQuantizer', 'HGQ>FixedPointQuantizer'),
    costs={'FixedPointQuantizer': 'fixed_point_quantizer'},
    passes=('hgq_user_types:HgqUserTypes',),  # types a config sets stay set (hls4ml's BitExact pass replaces them)
    profile='skip',  # the result types are the quantizer's own
)
