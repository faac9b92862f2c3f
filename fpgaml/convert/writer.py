"""The project writer: hls4ml's ``write()`` of the (corrected) graph, the fpgaml headers the graph's configs
use, and fpgaml's C-simulation harness. Owns fpgaml's C++ templates (package data, ``firmware_templates/``)."""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import io
import shutil
from importlib import metadata
from pathlib import Path
from string import Template

import numpy as np

import fpgaml

TEMPLATES = Path(__file__).resolve().parents[1] / 'firmware_templates'  # package data


@contextlib.contextmanager
def numpy2_compat():
    """hls4ml 1.3.0 writes power-of-two (QKeras ``quantized_po2``) weights with ``np.product``, removed in
    numpy 2.0 (``ExponentWeightVariable.__iter__`` in hls4ml/model/types.py). Provide the alias only while
    hls4ml writes a project, and only when numpy lacks it. Upstream fix: ``np.prod`` in hls4ml."""
    added = not hasattr(np, 'product')
    if added:
        np.product = np.prod
    try:
        yield
    finally:
        if added:
            del np.product


def write_project(conv, directory: Path) -> None:
    """Write the hls4ml project of ``conv.graph``, plus fpgaml's headers and C-simulation harness, into
    ``directory``."""
    graph = conv.graph
    graph.config.config['OutputDir'] = str(directory)
    # hls4ml's hls4ml_config.yml would embed the whole Keras model as a pickle (1.2 MB and ~1 s of pure-Python
    # YAML for jet_binary; loading it back runs arbitrary code): name the model file and its SHA-256 instead.
    keras_model = graph.config.config.pop('KerasModel', None)
    graph.config.config['KerasModelSource'] = {'file': conv.loaded.source.describe(), 'sha256': conv.loaded.sha256}
    try:
        with contextlib.redirect_stdout(io.StringIO()) as log, numpy2_compat():
            graph.write()
    finally:
        del graph.config.config['KerasModelSource']
        if keras_model is not None:
            graph.config.config['KerasModel'] = keras_model
    conv.hls4ml_log += log.getvalue()
    copy_fpgaml_headers(graph, directory)
    render_harness(directory, graph)  # fpgaml's batch C-simulation harness is part of every project


def copy_fpgaml_headers(graph, directory: Path) -> list[str]:
    """Ship the fpgaml headers (``nnet_utils/nnet_fpgaml_*.h``) that the graph's layers include."""
    import re

    todo = sorted(
        {
            h
            for layer in graph.get_layers()
            for h in (layer.get_attr('include_header', ()) or ())
            if Path(h).name.startswith('nnet_fpgaml_')
        }
    )
    headers = []
    while todo:  # and the fpgaml headers they include
        h = todo.pop(0)
        if h in headers:
            continue
        headers.append(h)
        shutil.copy(TEMPLATES / Path(h).name, directory / 'firmware' / h)
        for inc in re.findall(r'#include "(nnet_fpgaml_[a-z0-9_]+\.h)"', (TEMPLATES / Path(h).name).read_text()):
            todo.append(str(Path(h).parent / inc))
    return sorted(headers)


def render_harness(project_dir: Path, graph) -> Path:
    """Write fpgaml_harness.cpp (from firmware_templates/) into the project."""
    name = graph.config.get_project_name()
    ins = [v.size() for v in graph.get_input_variables()]
    outs = [v.size() for v in graph.get_output_variables()]
    args = [f'const_cast<double *>(xs[{k}] + i * FPGAML_IN_SIZES[{k}])' for k in range(len(ins))]
    args += [f'ys[{k}] + i * FPGAML_OUT_SIZES[{k}]' for k in range(len(outs))]
    text = Template((TEMPLATES / 'fpgaml_harness.cpp').read_text()).substitute(
        project=name,
        version=fpgaml.__version__,
        in_sizes=', '.join(map(str, ins)),
        out_sizes=', '.join(map(str, outs)),
        n_inputs=len(ins),
        n_outputs=len(outs),
        call_args=', '.join(args),
    )
    path = project_dir / 'fpgaml_harness.cpp'
    path.write_text(text)
    return path


def render_readme(cfg, model_sha256: str, project_dir: Path, final_dir: Path, csim) -> None:
    """The project's README.md (what it is, how it was made, its C-simulation verdict)."""
    if csim is None:
        summary = 'not run (`fpgaml csim` or `fpgaml build`)'
    else:
        summary = f'{"PASSED" if csim.passed else "FAILED"}: {csim.mode}, {csim.samples} samples'
        if csim.exact_fraction is not None:
            summary += f', {100 * csim.exact_fraction:.2f}% bit-exact'
    text = Template((TEMPLATES / 'project_README.md').read_text()).substitute(
        project=cfg.name,
        version=fpgaml.__version__,
        hls4ml_version=metadata.version('hls4ml'),
        date=_dt.date.today().isoformat(),
        model=cfg.model.describe(),
        model_sha256=model_sha256,
        config=cfg.source,
        backend=cfg.backend,
        part=cfg.part,
        clock_period=cfg.clock_period,
        io_type=cfg.io_type,
        strategy=cfg.strategy,
        reuse_factor=cfg.reuse_factor,
        csim_summary=summary,
        project_dir_name=final_dir.name,
    )
    (project_dir / 'README.md').write_text(text)


def firmware_hash(directory: Path) -> str:
    """SHA-256 over the firmware sources (what the C-simulation compiles), excluding bundled headers."""
    h = hashlib.sha256()
    fw = directory / 'firmware'
    for p in sorted(fw.rglob('*')):
        rel = p.relative_to(fw)
        if p.is_dir() or rel.parts[0] in ('ap_types', 'nnet_utils'):
            continue
        h.update(str(rel).encode())
        h.update(p.read_bytes())
    return h.hexdigest()
