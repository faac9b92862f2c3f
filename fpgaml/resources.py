"""The names of FPGA resources, in the order every estimate, budget, report and table lists them."""

from __future__ import annotations

__all__ = ['LABELS', 'RESOURCES', 'YOSYS_CELLS']

RESOURCES = ('dsp', 'lut', 'ff', 'bram_18k', 'uram')  # what an estimate, a budget and a vendor report count
LABELS = {'dsp': 'DSP', 'lut': 'LUT', 'ff': 'FF', 'bram_18k': 'BRAM_18K', 'uram': 'URAM'}  # their column titles
YOSYS_CELLS = ('LUT', 'FF', 'CARRY', 'DSP', 'SRL', 'BRAM')  # the cell classes of a Yosys run the tables show
