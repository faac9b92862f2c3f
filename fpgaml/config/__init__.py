"""Load a YAML config (fpgaml or hls4ml format) into a validated :class:`ProjectConfig`."""

from __future__ import annotations

import os
import re
from pathlib import Path

from pydantic import ValidationError

from fpgaml.config.hls4ml_format import Hls4mlFormat
from fpgaml.config.schema import (
    FpgamlFormat,
    LayerSettings,
    ModelSource,
    PrecisionPolicy,
    ProjectConfig,
    ValidationSettings,
)
from fpgaml.config.yamlio import LineDict, line_for, load_yaml
from fpgaml.errors import FpgamlError

__all__ = ['load_config', 'ProjectConfig', 'LayerSettings']

HLS4ML_MARKERS = ('KerasJson', 'KerasH5', 'KerasModel', 'HLSConfig', 'OutputDir', 'ProjectName', 'IOType')


def _real_loc(data, loc: tuple) -> tuple:
    """pydantic's error location minus the union-member tags it inserts ('str', 'dict[str,str]', ...)."""
    out, node = [], data
    for part in loc:
        if isinstance(node, dict) and part in node:
            out.append(part)
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            out.append(part)
            node = node[part]
        elif not isinstance(node, (dict, list)) or isinstance(part, int):
            break
        # else: a union tag or a key that is absent (missing keys are handled below)
    return tuple(out)


def _format_errors(path: Path, data: LineDict, err: ValidationError) -> str:
    errors = err.errors()
    # A value that fails one member of a union is reported once per member; keep the specific errors.
    specific = [e for e in errors if not e['type'].endswith('_type')]
    if specific:
        errors = specific
    lines, seen = [], set()
    for e in errors:
        loc = _real_loc(data, e['loc'])
        if e['type'] == 'unknown_key':
            loc = loc + (e['ctx']['key'],)
        elif e['type'] == 'missing':
            loc = loc + (e['loc'][-1],)
        line = line_for(data, loc)
        key = '.'.join(str(p) for p in loc) or '(top level)'
        msg = e['msg']
        for prefix in ('Value error, ', 'Assertion failed, '):
            if msg.startswith(prefix):
                msg = msg[len(prefix) :]
        if e['type'] == 'missing':
            msg = 'required key is missing'
        if e['type'] == 'extra_forbidden':
            msg = f'unknown key "{loc[-1] if loc else "?"}"'
        if key in seen:
            continue
        seen.add(key)
        lines.append(f'{path}:{line}: {key}: {msg}')
    return '\n'.join(lines)


_UNSET_VAR = re.compile(r'\$(\w+|\{[^}]*\})')


def expand_path(text: str | Path, where: str) -> Path:
    """``~``, ``~user``, ``$VAR`` and ``${VAR}`` expanded the same way for every path fpgaml reads or writes;
    an unknown user or an unset variable is an error (never a folder literally named "~" or "$VAR")."""
    text = str(text)
    out = os.path.expandvars(os.path.expanduser(text))
    if out.startswith('~'):
        raise FpgamlError(f'{where}: "{text}": cannot expand "{out.split("/", 1)[0]}" (no such user)')
    unset = _UNSET_VAR.search(out)
    if unset:
        raise FpgamlError(f'{where}: "{text}": environment variable {unset.group(1).strip("{}")} is not set')
    return Path(out)


def _resolve_existing(path_str: str, yaml_path: Path, what: str, line: int) -> Path:
    """Resolve like hls4ml (relative to the current directory), then relative to the YAML's folder."""
    p = expand_path(path_str, f'{yaml_path}:{line}: {what}')
    if p.is_absolute():
        if p.exists():
            return p
        raise FpgamlError(f'{yaml_path}:{line}: {what} "{path_str}" not found')
    tried = [Path.cwd() / p, yaml_path.resolve().parent / p]
    for t in tried:
        if t.exists():
            return t.resolve()
    raise FpgamlError(
        f'{yaml_path}:{line}: {what} "{path_str}" not found; tried {tried[0]} (current directory) and '
        f"{tried[1]} (the config file's folder)"
    )


def _resolve_model_file(value: str, output_dir: str, yaml_path: Path, what: str, line: int) -> Path:
    """A model path of an hls4ml-format file. hls4ml's ``write_config`` puts the config and the model into
    ``OutputDir`` and writes both paths relative to where hls4ml ran: a model path under ``OutputDir`` is also looked
    for at its place relative to the config file's folder (a published ``hls4ml_config.yml`` used as it is)."""
    try:
        return _resolve_existing(value, yaml_path, what, line)
    except FpgamlError as e:
        try:
            rel = Path(os.path.normpath(value)).relative_to(os.path.normpath(output_dir))
        except ValueError:
            raise e from None
        candidate = yaml_path.resolve().parent / rel
        if candidate.exists():
            return candidate.resolve()
        raise FpgamlError(
            f'{e}, and {candidate} (the config file\'s folder as OutputDir "{output_dir}", where '
            f"hls4ml's write_config puts the model)"
        ) from None


def _validation_file(value: str, path: Path, line: int, key: str) -> Path:
    vdata = _resolve_existing(value, path, 'validation data', line)
    if vdata.suffix not in ('.npy', '.npz'):
        raise FpgamlError(f'{path}:{line}: {key}: "{value}" must be a .npy or .npz file')
    return vdata


_MODULE_NAME = re.compile(r'^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$')


def _extensions(src: ModelSource, entries: list[str], yaml_path: Path, data: LineDict, key: str) -> None:
    """Resolve ``extensions`` / ``Extensions`` into ``src``: a Python file (``.py``, or any entry with a path
    separator) relative to the config file's folder, or an importable module name. Nothing is imported here."""
    if not entries:
        return
    where = f'{yaml_path}:{data.line_of(key)}: {key}'
    out = []
    for entry in entries:
        if entry.endswith('.py') or '/' in entry or os.sep in entry:
            p = expand_path(entry, where)
            p = p if p.is_absolute() else yaml_path.resolve().parent / p
            if not p.is_file():
                raise FpgamlError(
                    f'{where}: extension file "{entry}" not found (looked for {p}; relative paths are '
                    f"relative to the config file's folder)"
                )
            if p.suffix != '.py':
                raise FpgamlError(
                    f'{where}: extension "{entry}" is not a Python file; give a .py file or a module '
                    f'name (my_package.hls_layers)'
                )
            out.append(str(p.resolve()))
        elif _MODULE_NAME.match(entry):
            out.append(entry)
        else:
            raise FpgamlError(
                f'{where}: "{entry}" is neither a Python file (my_layers.py) nor a module name (my_package.hls_layers)'
            )
    src.extensions = list(dict.fromkeys(out))
    src.extensions_at = where


def load_config(path: str | Path, output_dir: str | Path | None = None) -> ProjectConfig:
    """Read, validate and resolve one config file. Raises FpgamlError with file:line messages."""
    path = expand_path(path, 'config file')
    data = load_yaml(path)
    is_hls4ml = any(k in data for k in HLS4ML_MARKERS)
    try:
        cfg = _from_hls4ml(path, data) if is_hls4ml else _from_fpgaml(path, data)
    except ValidationError as e:
        raise FpgamlError(_format_errors(path, data, e)) from None
    if output_dir is not None:
        cfg.output_dir = expand_path(output_dir, '--output').resolve()
    return cfg


def _from_fpgaml(path: Path, data: LineDict) -> ProjectConfig:
    raw = FpgamlFormat.model_validate(data)
    mline = data.line_of('model')
    if isinstance(raw.model, str):
        src = ModelSource(file=_resolve_existing(raw.model, path, 'model file', mline))
    else:
        mdata = data['model']
        src = ModelSource(
            file=_resolve_existing(raw.model.file, path, 'model file', mdata.line_of('file'))
            if raw.model.file
            else None,
            json_=_resolve_existing(raw.model.json_, path, 'model JSON', mdata.line_of('json'))
            if raw.model.json_
            else None,
            weights=_resolve_existing(raw.model.weights, path, 'model weights', mdata.line_of('weights'))
            if raw.model.weights
            else None,
        )
    src.trust = raw.trust_model
    _extensions(src, raw.extensions, path, data, 'extensions')
    layers = {}
    ldata = data.get('layers') or {}
    for pattern, s in raw.layers.items():
        layers[pattern] = LayerSettings(
            precision=s.precision,
            reuse_factor=s.reuse_factor,
            strategy=s.strategy,
            extra=s.hls4ml_extra(),
            line=ldata.line_of(pattern) if isinstance(ldata, LineDict) else 0,
        )
    vdata = None
    if raw.validation.data:
        vdata = _validation_file(raw.validation.data, path, data['validation'].line_of('data'), 'validation.data')
    output = (
        expand_path(raw.output_dir, f'{path}:{data.line_of("output_dir")}: output_dir')
        if raw.output_dir
        else Path('vivado_projects') / raw.name
    )
    pdata = data.get('precision')
    explicit_default = isinstance(pdata, str) or (isinstance(pdata, dict) and 'default' in pdata)
    policy = PrecisionPolicy(
        **{
            k: v
            for k, v in (
                ('policy', raw.precision.policy),
                ('width', raw.precision.width),
                ('margin', raw.precision.margin),
            )
            if v is not None
        }
    )
    return ProjectConfig(
        source=path.resolve(),
        format='fpgaml',
        model=src,
        name=raw.name,
        output_dir=output.resolve(),
        backend=raw.backend,
        part=raw.part,
        clock_period=raw.clock_period,
        io_type=raw.io_type,
        strategy=raw.strategy,
        reuse_factor=raw.reuse_factor,
        default_precision=raw.precision.default,
        input_precision=raw.precision.input,
        layer_patterns=layers,
        bit_exact=raw.bit_exact,
        validation=raw.validation,
        validation_data=vdata,
        tolerance=raw.tolerance,
        budgets=raw.budgets,
        precision_policy=policy,
        default_precision_explicit=explicit_default,
        sweep=raw.sweep,
        rtl=raw.rtl,
    )


def _from_hls4ml(path: Path, data: LineDict) -> ProjectConfig:
    raw = Hls4mlFormat.model_validate(data)

    def model_file(key: str) -> Path:
        return _resolve_model_file(getattr(raw, key), raw.OutputDir, path, key, data.line_of(key))

    if raw.KerasModel:
        src = ModelSource(file=model_file('KerasModel'))
    elif raw.KerasJson:
        src = ModelSource(json_=model_file('KerasJson'), weights=model_file('KerasH5'))
    else:
        src = ModelSource(file=model_file('KerasH5'))
    src.trust = raw.TrustModel
    _extensions(src, raw.Extensions, path, data, 'Extensions')

    hls = data.get('HLSConfig') or LineDict()

    def settings(section: str) -> dict[str, LayerSettings]:
        out = {}
        sec_data = hls.get(section) if isinstance(hls, dict) else None
        for name, c in getattr(raw.HLSConfig, section).items():
            extra = {
                k: v
                for k, v in c.model_dump(exclude_none=True).items()
                if k not in ('Precision', 'ReuseFactor', 'Strategy', 'Trace')
            }
            out[name] = LayerSettings(
                precision=c.Precision,
                reuse_factor=c.ReuseFactor,
                strategy=c.Strategy,
                trace=c.Trace,
                extra=extra,
                line=sec_data.line_of(name) if isinstance(sec_data, LineDict) else 0,
            )
        return out

    m = raw.HLSConfig.Model
    bit_exact = raw.BitExact
    if m.BitExact is not None and 'BitExact' not in data:
        bit_exact = m.BitExact
    vdata = None
    if raw.InputData:
        vdata = _resolve_existing(raw.InputData, path, 'InputData', data.line_of('InputData'))
    validation = raw.Validation
    if isinstance(validation, ValidationSettings) and validation.data:
        vline = data['Validation'].line_of('data')
        if vdata is not None:
            raise FpgamlError(f'{path}:{vline}: Validation.data and InputData both name validation data; keep one')
        vdata = _validation_file(validation.data, path, vline, 'Validation.data')
    return ProjectConfig(
        source=path.resolve(),
        format='hls4ml',
        model=src,
        name=raw.ProjectName,
        output_dir=expand_path(raw.OutputDir, f'{path}:{data.line_of("OutputDir")}: OutputDir').resolve(),
        backend=raw.Backend,
        part=raw.Part,
        clock_period=raw.ClockPeriod,
        clock_uncertainty=raw.ClockUncertainty,
        io_type=raw.IOType,
        strategy=m.Strategy,
        reuse_factor=m.ReuseFactor,
        default_precision=m.Precision,
        layer_patterns=settings('LayerName'),
        layer_types=settings('LayerType'),
        bit_exact=bit_exact,
        validation=validation if isinstance(validation, ValidationSettings) else ValidationSettings(),
        validation_data=vdata,
        tolerance=raw.Tolerance,
        bram_factor=m.BramFactor,
        model_settings=m.hls4ml_extra(),
        budgets=raw.Budgets,
        precision_policy=raw.PrecisionPolicy or PrecisionPolicy(),
        default_precision_explicit='Precision' in (hls.get('Model') or {}),
        sweep=raw.Sweep,
        rtl=raw.Rtl,
    )
