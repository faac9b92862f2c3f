"""Synthesis reports: parse Vivado/Vitis HLS and Vivado reports; compare them with estimates."""

from .comparison import Comparison, MetricComparison, compare
from .reports import find_reports, parse_cosim_rpt, parse_csynth_rpt, parse_csynth_xml, parse_vivado_synth_rpt
from .results import CosimReport, CsynthReport, InstanceReport, ReportParseError, SynthesisResult, VivadoSynthReport

__all__ = [
    'find_reports',
    'compare',
    'parse_csynth_xml',
    'parse_csynth_rpt',
    'parse_vivado_synth_rpt',
    'parse_cosim_rpt',
    'SynthesisResult',
    'CsynthReport',
    'VivadoSynthReport',
    'CosimReport',
    'InstanceReport',
    'Comparison',
    'MetricComparison',
    'ReportParseError',
]
