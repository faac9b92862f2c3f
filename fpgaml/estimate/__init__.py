"""Latency / resource estimation of converted hls4ml graphs without vendor tools."""

from .budgets import BudgetResult, Budgets, check_budgets
from .devices import DEVICES, Device, UnknownPartError, known_parts, lookup_device
from .estimator import Estimate, LayerEstimate, TotalEstimate, estimate

__all__ = [
    "estimate", "Estimate", "LayerEstimate", "TotalEstimate",
    "Device", "DEVICES", "UnknownPartError", "lookup_device", "known_parts",
    "Budgets", "BudgetResult", "check_budgets",
]
