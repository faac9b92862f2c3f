"""Golden-output regression: rebuild every reference model, C-simulate it on its recorded inputs and
compare the firmware's fixed-point bit patterns with the golden record committed beside the model.

A golden record (``models/<name>/golden.json``) holds the input sample, the expected outputs as
integers (value x 2^fractional bits, per output type), the same for every traced layer on the first
few samples (to name the first divergent layer), the firmware content hash and the tool versions.
"""

from __future__ import annotations

import datetime as _dt
import json
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from fpgaml import parallel, results
from fpgaml import validation as vdata
from fpgaml.atomic import write_bytes, write_json
from fpgaml.config import load_config
from fpgaml.config.precision import parse_precision
from fpgaml.convert import firmware_hash
from fpgaml.divergence import LayerValues, first_divergence, traced_layers
from fpgaml.errors import FpgamlError, suggest
from fpgaml.fixed import layer_type
from fpgaml.project import Project
from fpgaml.zoo import MODELS_DIR, zoo

GOLDEN = 'golden.json'
SAMPLES = 100
TRACE_SAMPLES = 8


class _Bits(BaseModel):
    model_config = ConfigDict(extra='allow')
    type: str
    bits: list[list[int]]

    @model_validator(mode='after')
    def _rectangular(self):
        if len({len(row) for row in self.bits}) > 1:
            raise ValueError('rows of "bits" differ in length')
        try:
            parse_precision(self.type)
        except FpgamlError as e:
            raise ValueError(f'type "{self.type}": {e}') from None
        return self


class _Input(_Bits):
    shape: list[int]

    @model_validator(mode='after')
    def _matches_shape(self):
        if self.bits and len(self.bits[0]) != int(np.prod(self.shape)):
            raise ValueError(f'{len(self.bits[0])} values per sample do not fill shape {self.shape}')
        return self


class _Golden(BaseModel):
    """The shape of a golden record (what regress_one reads of it)."""

    model_config = ConfigDict(extra='allow')
    firmware_sha256: str
    tool_versions: dict[str, str]
    samples: int
    inputs: list[_Input]
    outputs: list[_Bits]
    layers: dict[str, _Bits] = {}

    @model_validator(mode='after')
    def _sample_counts(self):
        for x in self.inputs + self.outputs:
            if len(x.bits) != self.samples:
                raise ValueError(f'"samples" is {self.samples} but an input/output holds {len(x.bits)} rows')
        return self


def load_golden(path: Path) -> dict | None:
    """Read and check a golden record; None if there is none. A damaged one is an error naming the file and
    what is wrong."""
    if not path.is_file():
        return None
    fix = f'restore it from version control, or record it anew with "fpgaml regress --update {path.parent.name}"'
    try:
        golden = json.loads(path.read_text())
    except UnicodeDecodeError:
        raise FpgamlError(f'{path}: damaged golden record (not UTF-8 text); {fix}') from None
    except json.JSONDecodeError as e:
        raise FpgamlError(
            f'{path}:{e.lineno}: damaged golden record (not valid JSON: {e.msg} at column {e.colno}); {fix}'
        ) from None
    if not isinstance(golden, dict):
        raise FpgamlError(f'{path}: damaged golden record (a JSON {type(golden).__name__}, not an object); {fix}')
    try:
        _Golden.model_validate(golden)
    except ValidationError as e:
        first = e.errors()[0]
        where = '.'.join(str(p) for p in first['loc']) or '(top level)'
        msg = 'required key is missing' if first['type'] == 'missing' else first['msg'].removeprefix('Value error, ')
        more = f' (and {e.error_count() - 1} more problems)' if e.error_count() > 1 else ''
        raise FpgamlError(f'{path}: damaged golden record: {where}: {msg}{more}; {fix}') from None
    return golden


@dataclass
class RegressResult:
    model: str
    status: str  # 'pass', 'FAIL', 'updated', 'created'
    samples: int = 0
    outputs_compared: int = 0
    outputs_differing: int = 0
    first_difference: str | None = None
    first_divergent_layer: str | None = None
    firmware_changed: bool = False
    seconds: float = 0.0
    compile_cached: bool = False
    changes: list[str] = field(default_factory=list)
    replayed: bool = False  # the pass of an earlier run with the same model, config, golden record and tools

    @property
    def passed(self) -> bool:
        return self.status != 'FAIL'


def _bits(values: np.ndarray, t) -> list:
    return vdata.to_bits(values, t).tolist()


def _record(name, cfg, conv, project_dir, xs, ys, traces) -> dict:
    from fpgaml.report.record import tool_versions

    layers = {}
    for layer in conv.graph.get_layers():
        if layer.name in traces:
            t = layer_type(layer, decoded_xnor=False)
            layers[layer.name] = {'type': t.hls4ml_str(), 'bits': _bits(traces[layer.name], t)}
    return {
        'model': name,
        'created': _dt.datetime.now(_dt.UTC).isoformat(timespec='seconds'),
        'firmware_sha256': firmware_hash(project_dir),
        'tool_versions': tool_versions(),
        'csim_arithmetic': "hls4ml's ap_fixed code (fpgaml fast paths off)",
        'samples': int(xs[0].shape[0]),
        'inputs': [
            {'type': t.hls4ml_str(), 'shape': list(x.shape[1:]), 'bits': _bits(x.reshape(len(x), -1), t)}
            for x, t in zip(xs, conv.input_types)
        ],
        'outputs': [{'type': t.hls4ml_str(), 'bits': _bits(y, t)} for y, t in zip(ys, conv.output_types)],
        'trace_samples': TRACE_SAMPLES,
        'layers': layers,
    }


def _inputs_from_golden(golden: dict) -> list[np.ndarray]:
    xs = []
    for inp in golden['inputs']:
        t = parse_precision(inp['type'])
        bits = np.asarray(inp['bits'], dtype=np.float64)
        xs.append((bits / 2.0**t.fractional).reshape(len(bits), *inp['shape']))
    return xs


def _fresh_inputs(cfg, conv, loaded) -> list[np.ndarray]:
    shapes = loaded.input_shapes
    if cfg.validation_data is not None:
        xs, _ = vdata.load(cfg.validation_data, shapes, SAMPLES)
    else:
        xs = vdata.generate(shapes, conv.input_types, SAMPLES, cfg.validation.seed)
    return [vdata.quantize(x, t) for x, t in zip(xs, conv.input_types)]


def _first_divergent_layer(conv, golden: dict, traces: dict) -> str | None:
    def compared():  # the layers traced now and in the record, as bit patterns of the record's types
        for layer in conv.graph.get_layers():
            g = golden['layers'].get(layer.name)
            if g is not None and layer.name in traces:
                got = _bits(traces[layer.name], parse_precision(g['type']))
                now = layer_type(layer, decoded_xnor=False).hls4ml_str()
                yield LayerValues(
                    layer.name,
                    layer.class_name,
                    np.asarray(g['bits']),
                    np.asarray(got),
                    expected_type=g['type'],
                    got_type=now,
                )

    d = first_divergence(compared())
    if d is None:
        return None
    if d.type_change is not None:
        return f'{d.layer} ({d.cls}): type or shape changed ({d.type_change[0]} -> {d.type_change[1]})'
    s, i = d.first_at
    return (
        f'{d.layer} ({d.cls}): {d.values_differing} of {d.values_compared} values differ; first at '
        f'sample {s}, index {i}: {d.expected} -> {d.got}'
    )


def regress_one(
    name: str, config: Path, update: bool = False, cache: str | None = None, use_cache: bool = True
) -> RegressResult:
    """Rebuild ``name``, C-simulate it on its golden inputs and compare. A pass is kept in the result cache
    (:mod:`fpgaml.results`): while the model, config, golden record, tools and fpgaml are unchanged it is
    replayed without rebuilding (``use_cache=False`` rebuilds); a failure is always recomputed."""
    t0 = time.perf_counter()
    golden_path = config.parent / GOLDEN
    try:
        golden = load_golden(golden_path)
    except FpgamlError:
        if not update:
            raise
        golden = None  # --update records a damaged record anew
    work = Path(tempfile.mkdtemp(prefix=f'fpgaml-regress-{name}-'))
    try:
        cfg = load_config(config, output_dir=work / name)
        key = results.verdict_key('regress', cfg, golden_path) if results.enabled() and golden is not None else None
        held = results.recall_verdict(key, cache) if key is not None and use_cache and not update else None
        if held is not None:
            return replace(RegressResult(**held), replayed=True, seconds=round(time.perf_counter() - t0, 2))
        project = Project(cfg)
        project.load(cache=cache, use_cache=use_cache)
        project.write(work / name)
        conv = project.conversion
        # A golden record is always written by hls4ml's own ap_fixed code (fpgaml's C-simulation fast paths
        # off); checking against it uses the fast paths, so every regression run also proves them exact.
        recording = update or golden is None
        compiled = project.compile(cache=cache, use_cache=use_cache, fast=False if recording else None)
        xs = _inputs_from_golden(golden) if golden and not update else _fresh_inputs(cfg, conv, project.loaded)
        ys = project.predict(xs, label=f'C-simulation of {name}')
        _, traces = project.trace([x[:TRACE_SAMPLES] for x in xs], traced_layers(conv.graph))
        record = _record(name, cfg, conv, work / name, xs, ys, traces)
        fast_mismatch = None
        if recording and project.compile(cache=cache, use_cache=use_cache).fast:
            ys_fast = project.predict(xs, label=f'C-simulation of {name} (fast paths)')
            bad = sum(int(np.sum(a != b)) for a, b in zip(ys, ys_fast))
            if bad:
                fast_mismatch = (
                    f"fpgaml's C-simulation fast paths differ from hls4ml's code on {bad} output "
                    f'values (an fpgaml bug: please report it; FPGAML_CSIM_FAST=0 avoids it)'
                )
    finally:
        shutil.rmtree(work, ignore_errors=True)

    res = RegressResult(model=name, status='pass', samples=record['samples'], compile_cached=compiled.cached)
    if fast_mismatch:
        res.status, res.first_difference = 'FAIL', fast_mismatch
        res.seconds = round(time.perf_counter() - t0, 2)
        return res
    if golden is not None:
        res.firmware_changed = golden['firmware_sha256'] != record['firmware_sha256']
        n_diff = n_all = 0
        for k, (g, r) in enumerate(zip(golden['outputs'], record['outputs'])):
            exp, got = np.asarray(g['bits']), np.asarray(r['bits'])
            if exp.shape != got.shape or g['type'] != r['type']:
                res.first_difference = (
                    f'output {k}: type/shape changed {g["type"]} {exp.shape} -> {r["type"]} {got.shape}'
                )
                n_diff += max(exp.size, got.size)
                n_all += max(exp.size, got.size)
                continue
            bad = exp != got
            n_all += bad.size
            n_diff += int(bad.sum())
            if bad.any() and res.first_difference is None:
                s, i = map(int, np.argwhere(bad)[0])
                res.first_difference = (
                    f'sample {s}, output {k}[{i}]: expected {exp[s, i]}, got {got[s, i]} ({g["type"]} bit patterns)'
                )
        res.outputs_compared, res.outputs_differing = n_all, n_diff
        if n_diff:
            res.first_divergent_layer = _first_divergent_layer(conv, golden, traces)
            res.status = 'FAIL'
        if update:
            res.changes = _describe_changes(golden, record, n_diff)
    else:
        res.outputs_compared = sum(np.asarray(o['bits']).size for o in record['outputs'])
    if update or golden is None:
        if golden is None and not update:
            res.status = 'FAIL'
            res.first_difference = f'no golden record ({golden_path.name}); run "fpgaml regress --update {name}"'
        else:
            write_json(golden_path, record, separators=(',', ':'))
            res.status = 'created' if golden is None else 'updated'
            if golden is None:
                res.changes = [
                    f'new golden record: {record["samples"]} samples, firmware {record["firmware_sha256"][:12]}'
                ]
    res.seconds = round(time.perf_counter() - t0, 2)
    if key is not None and res.status == 'pass':
        results.keep_verdict(key, asdict(res), cache)
    return res


def _describe_changes(old: dict, new: dict, n_diff: int) -> list[str]:
    out = []
    if old['firmware_sha256'] != new['firmware_sha256']:
        out.append(f'firmware {old["firmware_sha256"][:12]} -> {new["firmware_sha256"][:12]}')
    out.append(f'{n_diff} output values changed' if n_diff else 'outputs unchanged')
    for k in sorted(set(old['tool_versions']) | set(new['tool_versions'])):
        a, b = old['tool_versions'].get(k), new['tool_versions'].get(k)
        if a != b:
            out.append(f'{k} {a} -> {b}')
    return out


def regress(
    names: list[str] | None = None,
    update: bool = False,
    models_dir: Path = MODELS_DIR,
    cache: str | None = None,
    scheduler: str | None = None,
    use_cache: bool = True,
) -> list[RegressResult]:
    """Regress the models here, one after another, or (``scheduler``: ``"local"`` or ``tcp://host:port``) as
    one Dask task each (:func:`regress_distributed`)."""
    models = zoo(models_dir)
    if not models:
        raise FpgamlError(f'no reference models (folders with config.yml) in {models_dir}')
    for n in names or []:
        if n not in models:
            raise FpgamlError(f'unknown model "{n}"{suggest(n, models)}; reference models: {", ".join(models)}')
    if not update:  # a damaged record fails now, not after the models before it were rebuilt
        for n in names or list(models):
            load_golden(models[n].parent / GOLDEN)
    if scheduler is not None:
        return regress_distributed(names or list(models), models, update, None if scheduler == 'local' else scheduler)
    return [regress_one(n, models[n], update=update, cache=cache, use_cache=use_cache) for n in (names or list(models))]


def regress_task(name: str, files: dict[str, bytes], update: bool) -> tuple[dict, bytes | None]:
    """On a worker: :func:`regress_one` on a private copy of the model folder (its files travel with the task:
    no shared file system is assumed); returns the result and, if it wrote one, the golden record."""
    from fpgaml._env import require_legacy_keras

    require_legacy_keras()
    root = Path(tempfile.mkdtemp(prefix=f'fpgaml-regress-task-{name}-'))
    try:
        config = parallel.unpack_folder(files, root, name) / 'config.yml'
        res = regress_one(name, config, update=update)
        golden = (config.parent / GOLDEN).read_bytes() if res.status in ('updated', 'created') else None
        return asdict(res), golden
    finally:
        shutil.rmtree(root, ignore_errors=True)


def regress_distributed(names: list[str], models: dict[str, Path], update: bool, scheduler: str | None):
    """``fpgaml regress --scheduler``: one :func:`regress_task` per model on the Dask engine; a golden record a
    worker rewrote (``--update``) is written here."""
    results: list = [None] * len(names)
    with parallel.engine(scheduler, tasks=len(names)) as eng:
        progress = parallel.ProgressLine('regress', len(names))
        try:

            def done(o):
                name = names[o.index]
                if o.error is not None:
                    results[o.index] = RegressResult(model=name, status='FAIL', first_difference=o.error)
                else:
                    d, golden = o.result
                    results[o.index] = RegressResult(**d)
                    if golden is not None:  # --update: the record the worker wrote comes back here
                        write_bytes(models[name].parent / GOLDEN, golden)
                progress.advance(f'{name}: {results[o.index].status}')

            parallel.map_tasks(
                eng,
                regress_task,
                [(n, parallel.folder_files(models[n].parent), update) for n in names],
                [f'regress-{n}' for n in names],
                on_done=done,
            )
        finally:
            progress.close()
    return results
