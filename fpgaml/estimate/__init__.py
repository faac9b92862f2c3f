"""Latency / resource estimation of converted hls4ml graphs without vendor tools (target facts: fpgaml.target)."""

from .estimator import Estimate, LayerEstimate, TotalEstimate, estimate

__all__ = ['estimate', 'Estimate', 'LayerEstimate', 'TotalEstimate']
