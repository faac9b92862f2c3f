"""The sources a C-simulation library is compiled from: a copy of the project's, with fpgaml's integer fast paths
hooked in.

The fast paths (``firmware_templates/csim/fpgaml_fast_csim.h``) compute hls4ml's dense layers and ReLUs bit for bit
on integers instead of ``ap_fixed`` objects, and replace ``ap_shift_reg.h`` by a faster one of the same behaviour.
They go into the staged copy only, never into the project (which synthesis reads), and only where this hls4ml's
function looks as expected; otherwise hls4ml's own code runs. What they add to a library's cache key is
:func:`fast_path_key`.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from fpgaml.convert.writer import TEMPLATES

FAST_HEADER = TEMPLATES / 'csim' / 'fpgaml_fast_csim.h'
FAST_SHIFT_REG = TEMPLATES / 'csim' / 'ap_shift_reg.h'  # replaces ap_types/ap_shift_reg.h (same behaviour)
# (file in nnet_utils, the hls4ml function's signature up to its opening brace, the fpgaml_fast call)
_FAST_HOOKS = (
    (
        'nnet_dense_latency.h',
        r'void\s+dense_latency\s*\([^)]*\)\s*\{',
        'fpgaml_fast::dense_latency<data_T, res_T, CONFIG_T>(data, res, weights, biases)',
    ),
    (
        'nnet_activation.h',
        r'void\s+relu\s*\(\s*data_T\s+data\[CONFIG_T::n_in\],\s*res_T\s+res\[CONFIG_T::n_in\]\s*\)\s*\{',
        'fpgaml_fast::relu<data_T, res_T, CONFIG_T>(data, res)',
    ),
    (
        'nnet_activation_stream.h',
        r'void\s+relu\s*\(\s*hls::stream<data_T>\s*&\s*data,\s*hls::stream<res_T>\s*&\s*res\s*\)\s*\{',
        'fpgaml_fast::relu<data_T, res_T, CONFIG_T>(data, res)',
    ),
)


def fast_csim_default() -> bool:
    """The integer fast path is on unless ``FPGAML_CSIM_FAST=0`` asks for hls4ml's ap_fixed code throughout."""
    return os.environ.get('FPGAML_CSIM_FAST', '1').strip().lower() not in ('0', 'false', 'no', 'off')


def stage_sources(project_dir: Path, project: str, dest: Path, fast: bool) -> bool:
    """Copy the sources the C-simulation compiles into ``dest``; with ``fast``, hook the integer fast path
    into the copy of nnet_dense_latency.h (the project itself is never modified). Returns whether the hook
    went in (False if this hls4ml's dense_latency does not look as expected: hls4ml's own code then runs)."""
    shutil.copytree(project_dir / 'firmware', dest / 'firmware', ignore=shutil.ignore_patterns('*.txt'))
    for name in (f'{project}_bridge.cpp', 'fpgaml_harness.cpp'):
        shutil.copy2(project_dir / name, dest / name)
    if not fast:
        return False
    hooked = False
    for name, signature, call in _FAST_HOOKS:
        header = dest / 'firmware' / 'nnet_utils' / name
        if not header.is_file():
            continue
        text = header.read_text()
        hook = f'\n#if defined(FPGAML_FAST_CSIM) && !defined(__SYNTHESIS__)\n    if ({call})\n        return;\n#endif\n'
        text, n = re.subn(f'({signature})', lambda m, hook=hook: m.group(1) + hook, text, count=1)
        if n != 1 or '#include "nnet_common.h"' not in text:
            continue  # this hls4ml's function does not look as expected: its own code runs
        text = text.replace('#include "nnet_common.h"', '#include "nnet_common.h"\n#include "fpgaml_fast_csim.h"', 1)
        header.write_text(text)
        hooked = True
    if hooked:
        shutil.copy2(FAST_HEADER, dest / 'firmware' / 'nnet_utils' / FAST_HEADER.name)
    shift_reg = dest / 'firmware' / 'ap_types' / FAST_SHIFT_REG.name
    if shift_reg.is_file():
        shutil.copy2(FAST_SHIFT_REG, shift_reg)
        hooked = True
    return hooked


def fast_path_key() -> bytes:
    """What the fast paths add to a compiled library's cache key: the hooks and the files they bring."""
    return b'fast-csim\0' + repr(_FAST_HOOKS).encode() + FAST_HEADER.read_bytes() + FAST_SHIFT_REG.read_bytes()
