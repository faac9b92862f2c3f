"""GarNet / GarNetStack (hls4ml's graph-network layer). Its internal types (edge weights, aggregates, norms)
are sized by fpgaml (hlsconfig._garnet_types); the garnet_distance_type pass widens the distance type."""

from . import Family

FAMILY = Family(
    name='garnet',
    hls_classes=('GarNet', 'GarNetStack'),
    costs={'GarNet': 'garnet', 'GarNetStack': 'garnet'},
    passes=('garnet_distance_type:GarnetDistanceType',),
    profile='skip',
)
