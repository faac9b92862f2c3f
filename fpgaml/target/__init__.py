"""Facts about the target: FPGA parts (resources, DSP/LUT/BRAM primitives) and the budgets a design must meet.

Both the config (which validates ``part`` and ``budgets``) and the estimator (which prices a graph on a part)
read these; neither imports the other."""

from .budgets import RESOURCE_NAMES, BudgetResult, Budgets, check_budgets
from .devices import DEVICES, Device, UnknownPartError, known_parts, lookup_device

__all__ = [
    'Device',
    'DEVICES',
    'UnknownPartError',
    'lookup_device',
    'known_parts',
    'Budgets',
    'BudgetResult',
    'check_budgets',
    'RESOURCE_NAMES',
]
