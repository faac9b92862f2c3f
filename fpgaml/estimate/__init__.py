"""Latency / resource estimation of converted hls4ml graphs without vendor tools (target facts: fpgaml.target)."""

from .estimator import estimate
from .result import Estimate, LayerEstimate, TotalEstimate

__all__ = ['estimate', 'Estimate', 'LayerEstimate', 'TotalEstimate']
