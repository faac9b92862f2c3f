"""The ``fpgaml`` command line: convert, csim, build.

Every user error is one line on stderr and a non-zero exit code; ``--debug`` shows tracebacks.

Size: over 400 lines because it holds one small function per command and the terminal tables they print;
the work itself is in :mod:`fpgaml.project` (the flows) and the stage packages.
"""

from __future__ import annotations

import os
import signal
import sys
import warnings
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

import functools

from fpgaml._env import cli_environment
from fpgaml.errors import FpgamlError, Interrupted
from fpgaml.outdir import check_target, is_user_os_error, user_inputs

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help='fpgaml: trained (Q)Keras model + YAML -> hls4ml firmware project, C-simulated bit for bit.')
# markup off: messages carry user text (paths, layer names, "[physics]") that must print verbatim
out = Console(width=None if sys.stdout.isatty() else 120, markup=False, highlight=False)
err = Console(stderr=True, markup=False, highlight=False)
_state = {'debug': False}


def _silence_native_stderr() -> None:
    """TensorFlow's C++ logging (oneDNN, CUDA probes) writes to file descriptor 2 directly, bypassing
    Python. Point fd 2 at /dev/null and give Python (our messages, progress bars) the real stderr."""
    sys.stderr.flush()
    real = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)
    sys.stderr = os.fdopen(real, 'w', buffering=1)


def _import_ml_stack() -> None:
    if not _state['debug']:
        warnings.filterwarnings('ignore')
    import tensorflow  # noqa: F401
    import tf_keras  # noqa: F401
    import qkeras  # noqa: F401
    import hls4ml  # noqa: F401


@app.callback()
def _main(debug: bool = typer.Option(False, '--debug', help='Show Python tracebacks and library logs.')):
    _state['debug'] = debug


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised in the main thread like Ctrl-C so that every clean-up that runs for Ctrl-C
    (temporary project folders, compile processes and their build folders) runs for it too."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def _raise_terminated(signum, frame):
    signal.signal(signum, signal.SIG_IGN)  # a second kill must not cut the clean-up short
    raise Terminated(signum)


def _install_signal_handlers() -> None:
    for sig in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(sig) is not signal.SIG_IGN:  # (nohup stays nohup)
            signal.signal(sig, _raise_terminated)


def _interrupted(e: KeyboardInterrupt) -> Interrupted:
    what = f'terminated by {signal.Signals(e.signum).name}' if isinstance(e, Terminated) else 'interrupted'
    err_ = Interrupted(f'{what}: nothing was written (the previous project, if any, is untouched)')
    if isinstance(e, Terminated):
        err_.exit_code = 128 + e.signum  # the shell's convention: 143 for SIGTERM, 129 for SIGHUP
    return err_


def _interruptible(fn):
    """typer turns Ctrl-C into a silent exit 130; say what happened instead."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except KeyboardInterrupt as e:
            raise _interrupted(e) from None

    return wrapper


ConfigArg = typer.Argument(..., help='YAML config (fpgaml format or hls4ml format).', show_default=False)
OutputOpt = typer.Option(None, '--output', '-o', help='Output folder (overrides the config).')
ForceOpt = typer.Option(False, '--force', help='Replace an existing project.')
CacheOpt = typer.Option(None, '--cache-dir', help='Compile cache folder (default: $FPGAML_CACHE_DIR or '
                                                  '~/.cache/fpgaml/csim).')
NoCacheOpt = typer.Option(False, '--no-cache', help='Recompile even if a cached library exists.')
TrustOpt = typer.Option(False, '--trust-model', help='Load the model file even if its architecture holds code '
                                                     '(Lambda layers) or unknown custom objects.')


def _load(config: Path, output: Optional[Path], trust_model: bool = False, force: Optional[bool] = None):
    """Read the config; for commands that write a project (``force`` given), check the output folder before
    the seconds-long import of the ML stack."""
    from fpgaml.config import load_config

    cfg = load_config(config, output_dir=output)
    cfg.model.trust = cfg.model.trust or trust_model
    if force is not None:
        check_target(cfg.output_dir, force, user_inputs(cfg))
    _import_ml_stack()
    return cfg


def _short(precision: str) -> str:
    """fixed<16,6,TRN,WRAP,0> -> fixed<16,6> (hls4ml's default modes left out)."""
    return precision.replace(',TRN,WRAP,0>', '>').replace(',0>', '>')


def _print_model(res) -> None:
    """One line: the model's format and the library that loaded it; the extension modules used."""
    loaded = res.loaded
    if loaded is not None and loaded.loader:
        out.print(f'model: {loaded.loader}')
    if loaded is not None and loaded.source.extensions:
        out.print(f'extensions: {", ".join(loaded.source.extensions)}')


def _print_layers(res) -> None:
    t = Table(title=f'{res.conversion.config.name}: {len(res.conversion.layers)} layers', title_justify='left')
    for col in ('layer', 'class', 'output', 'result type', 'weight type', 'RF', 'weights', 'zeros'):
        t.add_column(col)
    for r in res.conversion.layers:
        t.add_row(r.name, r.cls, 'x'.join(map(str, r.output_shape)), _short(r.precisions.get('result', '')),
                  _short(r.precisions.get('weight', '')), str(r.reuse_factor or ''), str(r.n_weights or ''),
                  str(r.n_zero_weights or ''))
    out.print(t)


def _print_csim(res) -> None:
    c = res.csim
    if c is None:
        return
    out.print(Text.assemble('C-simulation ', ('PASSED', 'green') if c.passed else ('FAILED', 'red'),
                            f': {c.mode} on {c.input_source}'))
    out.print(f'  mode: {c.mode} ({c.mode_reason})' if c.mode_reason else f'  mode: {c.mode}')
    out.print(f'  compared at: {c.compared_at}; input type {", ".join(c.input_types)}')
    if c.exact_fraction is not None:
        out.print(f'  bit-exact samples (input grid): {100 * c.exact_fraction:.2f}%')
    if c.raw_agreement is not None:
        out.print(Text(f'  agreement on the raw data: {100 * c.raw_agreement:.2f}%',
                       style='yellow' if c.raw_agreement < 1.0 else ''))
    for ch in c.checks:
        value = '-' if ch['value'] is None else f'{ch["value"]:.6g}'
        out.print(Text.assemble(f'  check {ch["output"]}: {ch["kind"]}: {ch["criterion"]} -> {value} ',
                                ('pass', 'green') if ch['passed'] else ('FAIL', 'red'), f' ({ch["why"]})'))
    line = f'  max |diff| {c.max_abs_diff:.4g}, mean |diff| {c.mean_abs_diff:.4g}'
    if c.argmax_agreement is not None:
        line += f', argmax agreement {100 * c.argmax_agreement:.2f}%'
    out.print(line)
    if c.accuracy:
        out.print(f'  accuracy: Keras {100 * c.accuracy["keras"]:.2f}%, firmware {100 * c.accuracy["firmware"]:.2f}%')
    if c.tolerances:
        out.print(f'  tolerances: {c.tolerances}')
    out.print(f'  compile {c.compile_seconds:.1f} s{" (cached)" if c.compile_cached else ""}, '
              f'C-sim {c.us_per_sample:.1f} us/sample')
    for n in c.notes:
        out.print(f'  note: {n}')
    for f in c.failures:
        out.print(Text(f'  {f}', style='red'))


def _print_estimate(est, budgets, comparison=None) -> None:
    from fpgaml.report.table import print_estimate_table

    print_estimate_table(est, budgets=budgets, comparison=comparison, console=out)


def _finish(res, csim: bool) -> None:
    out.print(f'project: {res.project_dir}')
    out.print(f'report:  {res.project_dir / "fpgaml-report.json"} and {res.project_dir / "report.html"}')
    if csim and res.csim is not None and not res.csim.passed:
        raise typer.Exit(4)
    if res.budgets_failed:
        for b in res.budgets_failed:
            err.print(Text.assemble(('budget: ', 'red'), b.message))
        raise typer.Exit(5)


@app.command()
@_interruptible
def convert(config: Path = ConfigArg, output: Optional[Path] = OutputOpt, force: bool = ForceOpt,
            trust_model: bool = TrustOpt):
    """Write the HLS firmware project (no compile)."""
    from fpgaml.project import Project, run_flow

    res = run_flow(Project(_load(config, output, trust_model, force)), 'convert', force=force)
    _print_model(res)
    out.print(f'wrote {res.conversion.config.name}: {len(res.conversion.layers)} layers, '
              f'bit-exact mode {"on" if res.conversion.bit_exact else "off"} ({res.conversion.bit_exact_reason})')
    _finish(res, False)


@app.command()
@_interruptible
def csim(config: Path = ConfigArg, output: Optional[Path] = OutputOpt, cache_dir: Optional[Path] = CacheOpt,
         no_cache: bool = NoCacheOpt, trust_model: bool = TrustOpt):
    """Compile and C-simulate an already written project against the model."""
    from fpgaml.project import Project, run_flow

    res = run_flow(Project(_load(config, output, trust_model)), 'csim', cache=cache_dir, use_cache=not no_cache)
    _print_model(res)
    _print_csim(res)
    _finish(res, True)


@app.command('build')
@_interruptible
def build_cmd(config: Path = ConfigArg, output: Optional[Path] = OutputOpt, force: bool = ForceOpt,
              cache_dir: Optional[Path] = CacheOpt, no_cache: bool = NoCacheOpt,
              synth: bool = typer.Option(False, '--synth', help='Also run HLS synthesis when vivado_hls / '
                                                                'vitis_hls / vitis-run is on PATH.'),
              cosim: bool = typer.Option(False, '--cosim', help='With --synth: RTL co-simulation too.'),
              vsynth: bool = typer.Option(False, '--vsynth', help='With --synth: Vivado logic synthesis too.'),
              trust_model: bool = TrustOpt):
    """Convert, compile and C-simulate, estimate latency/resources; print a summary."""
    from fpgaml.project import Project, run_flow

    res = run_flow(Project(_load(config, output, trust_model, force)), 'build', force=force, cache=cache_dir,
                   use_cache=not no_cache)
    _print_model(res)
    _print_layers(res)
    _print_csim(res)
    comparison = None
    if synth:
        res.synthesize(cosim=cosim, vsynth=vsynth)
        out.print(res.synthesis.message)
        if res.synthesis.result is not None:
            from fpgaml.synth import compare

            comparison = compare(res.estimate_result, res.synthesis.result)
    _print_estimate(res.estimate_result, res.budgets, comparison)
    _finish(res, True)


def _print_side_by_side(name: str, estimate, rtl: dict, synthesis) -> None:
    from fpgaml.report.html import RTL_LABELS, side_by_side_rows

    t = Table(title=f'{name}: estimate vs RTL measurement vs vendor report', title_justify='left')
    t.add_column('metric')
    for label in RTL_LABELS:
        t.add_column(label, justify='right')
    for row in side_by_side_rows(estimate, rtl, synthesis):
        t.add_row(*row)
    out.print(t)


def _print_rtl(res) -> None:
    r = res.rtl_result
    if r is None:
        return
    out.print(Text.assemble('RTL simulation ', ('PASSED', 'green'),
                            f': {r.samples:,} samples ({r.samples_validation:,} validation + {r.samples_generated:,} '
                            f'generated full-range), {r.mismatching_bits} mismatching output bits vs the C-simulation'))
    out.print(f'  latency {r.latency_cycles} cycles = {r.latency_ns:g} ns at {r.clock_period_ns:g} ns, II {r.ii_cycles} '
              f'(measured in Verilator); {r.pipeline_stages} pipeline stages, cutoff {r.pipeline_cutoff:g}')
    ts = r.times_s
    out.print('  wall time: ' + ', '.join(f'{k} {v:.1f} s' for k, v in ts.items())
              + (' (Verilator build cached)' if r.verilator_cached else ''))
    out.print(f'  simulation: Verilator {r.throughput["verilator_samples_per_s"]:,.0f} samples/s, '
              f'C-simulation {r.throughput["csim_samples_per_s"]:,.0f} samples/s')
    for n in r.notes:
        out.print(f'  note: {n}')
    _print_side_by_side(res.cfg.name, res.estimate_result, r.to_json(),
                        res.synthesis.result if res.synthesis else None)
    if r.synthesis:
        s = r.synthesis
        m = Table(title=f'Yosys synth_xilinx -family {s["family"]} (classic abc'
                        f'{", DSPs allowed" if s["dsp_allowed"] else ", no DSPs"}): cells per module',
                  title_justify='left')
        for col in ('module', 'LUT', 'FF', 'CARRY', 'DSP', 'SRL', 'BRAM'):
            m.add_column(col, justify='left' if col == 'module' else 'right')
        for name, v in list(s['modules'].items()) + [('total', s['total'])]:
            m.add_row(name, *(f'{v[k]:,}' for k in ('LUT', 'FF', 'CARRY', 'DSP', 'SRL', 'BRAM')))
        out.print(m)


@app.command()
@_interruptible
def rtl(config: Path = ConfigArg, output: Optional[Path] = OutputOpt, force: bool = ForceOpt,
        pipeline_cutoff: Optional[float] = typer.Option(None, '--pipeline-cutoff', min=0,
                                                        help='Delay per pipeline stage in da4ml units (about one '
                                                             'adder); 0 for a combinational design. Default 5.'),
        no_synth: bool = typer.Option(False, '--no-synth', help='Skip the Yosys synthesis.'),
        samples: Optional[int] = typer.Option(None, '--samples', min=1, help='At least this many samples in the '
                                                                           'RTL simulation (default 10000).'),
        cache_dir: Optional[Path] = CacheOpt, trust_model: bool = TrustOpt):
    """Build, C-simulate, then the same arithmetic as Verilog (da4ml): Verilator against the C-simulation
    (0 mismatching bits, latency and II in cycles) and Yosys resources, beside the estimate."""
    from fpgaml.project import Project, run_flow
    from fpgaml.rtl import RtlOptions, check_tools

    cfg = _load(config, output, trust_model, None)
    rtl_cfg = cfg.rtl
    if output is None and rtl_cfg is not None and rtl_cfg.output:
        from fpgaml.config import expand_path

        cfg.output_dir = expand_path(rtl_cfg.output, f'{cfg.source}: rtl.output').resolve()
    check_target(cfg.output_dir, force, user_inputs(cfg))
    opts = RtlOptions.from_config(cfg, pipeline_cutoff=pipeline_cutoff, samples=samples,
                                  synth=False if no_synth else None)
    check_tools(opts.synth)
    res = run_flow(Project(cfg), 'rtl', force=force, cache=cache_dir, rtl_options=opts)
    _print_csim(res)
    _print_rtl(res)
    _finish(res, True)


@app.command()
@_interruptible
def estimate(config: Path = ConfigArg,
             json_out: bool = typer.Option(False, '--json', help='Print machine-readable JSON only.'),
             trust_model: bool = TrustOpt):
    """Estimate latency, II and resources per layer and in total (no vendor tools, nothing written)."""
    import json

    from fpgaml.project import Project, run_flow

    project = run_flow(Project(_load(config, None, trust_model)), 'estimate')
    est, budgets = project.estimate_result, project.budgets
    if json_out:
        doc = est.to_json_dict()
        if budgets:
            doc['budgets'] = [b.model_dump() for b in budgets]
        print(json.dumps(doc, indent=2))
    else:
        _print_estimate(est, budgets)
    if any(not b.passed for b in budgets):
        raise typer.Exit(5)


@app.command()
@_interruptible
def report(project: Path = typer.Argument(..., help='A project folder written by fpgaml.', show_default=False),
           reports: Optional[Path] = typer.Option(None, '--reports', help='A folder holding vendor reports for this '
                                                  'design (*_csynth.xml / *_csynth.rpt, vivado_synth.rpt, *_cosim.rpt, '
                                                  'or an hls4ml project with them), e.g. published ones; default: '
                                                  'the project folder.')):
    """Show a project's estimate, and its vendor synthesis reports beside it when present."""
    import json

    from fpgaml.estimate import Estimate
    from fpgaml.synth import find_reports

    path = project / 'fpgaml-report.json'
    if not path.is_file():
        raise FpgamlError(f'{project}: not an fpgaml project (no fpgaml-report.json)')
    rep = json.loads(path.read_text())
    if not rep.get('estimate'):
        raise FpgamlError(f'{path}: no estimate recorded (written by an older fpgaml); rebuild the project')
    est = Estimate.from_json_dict(rep['estimate'], rep['config']['clock_period'], rep['config']['io_type'])
    if reports is not None and not reports.is_dir():
        raise FpgamlError(f'--reports {reports}: not a folder')
    synthesis = find_reports(reports if reports is not None else project)
    if synthesis is None:
        if reports is not None:
            raise FpgamlError(f'--reports {reports}: no vendor report there (*_csynth.xml, *_csynth.rpt, '
                              f'vivado_synth.rpt, *_cosim.rpt, or an hls4ml project\'s <name>_prj/solution*/ reports)')
        out.print('no vendor synthesis reports in this project; showing the estimate')
    c = rep.get('csim')
    if c:
        out.print(f'C-simulation: {"PASSED" if c["passed"] else "FAILED"} ({c["mode"]}, {c["samples"]} samples)')
    budgets = [__import__('fpgaml.target.budgets', fromlist=['BudgetResult']).BudgetResult(**b)
               for b in rep.get('budgets', [])]
    _print_estimate(est, budgets)
    if synthesis is not None:
        from fpgaml.report.table import vendor_lines

        for line in vendor_lines(est, synthesis, rep['config'].get('part'), rep['config'].get('clock_period')):
            out.print(line, soft_wrap=True)  # paths unbroken
    if rep.get('rtl'):
        _print_side_by_side(rep['config']['name'], est, rep['rtl'], synthesis)


@app.command()
@_interruptible
def regress(models: Optional[list[str]] = typer.Argument(None, help='Reference models (default: all in models/).'),
            update: bool = typer.Option(False, '--update', help='Rewrite the golden records deliberately and say '
                                                                 'what changed.'),
            models_dir: Optional[Path] = typer.Option(None, '--models-dir', help='Folder of reference models '
                                                      '(default: ./models if it exists, else the checkout\'s models/).'),
            cache_dir: Optional[Path] = CacheOpt,
            scheduler: Optional[str] = typer.Option(None, '--scheduler', help='Fan the models out on Dask: '
                                                    'tcp://host:port of an existing scheduler, or "local" for a '
                                                    'local Dask cluster (one worker per core).')):
    """Rebuild and C-simulate reference models; compare bit patterns with their golden records."""
    from fpgaml.regress import default_models_dir, models_folder
    from fpgaml.regress import regress as run_regress

    folder = models_folder(models_dir) if models_dir is not None else default_models_dir()
    if scheduler is None:
        _import_ml_stack()
    results = run_regress(models, update=update, models_dir=folder, cache=cache_dir, scheduler=scheduler)
    t = Table(title='golden regression', title_justify='left')
    for col in ('model', 'status', 'samples', 'outputs', 'differing', 'firmware', 'seconds'):
        t.add_column(col)
    for r in results:
        style = 'red' if not r.passed else ('yellow' if r.status in ('updated', 'created') else 'green')
        t.add_row(r.model, Text(r.status, style=style), str(r.samples), str(r.outputs_compared),
                  str(r.outputs_differing), 'changed' if r.firmware_changed else 'same',
                  f'{r.seconds:.1f}' + (' (cached)' if r.compile_cached else ''))
    out.print(t)
    for r in results:
        if r.first_difference:
            out.print(f'{r.model}: first difference at {r.first_difference}')
        if r.first_divergent_layer:
            out.print(f'{r.model}: first divergent layer {r.first_divergent_layer}')
        for c in r.changes:
            out.print(f'{r.model}: {c}')
    failed = [r.model for r in results if not r.passed]
    if failed:
        err.print(Text.assemble(('regression: ', 'red'), f'{len(failed)} of {len(results)} models differ from '
                                f'their golden records: {", ".join(failed)}'))
        raise typer.Exit(4)


SchedulerOpt = typer.Option(None, '--scheduler', help='Run on an existing Dask scheduler (tcp://host:port); '
                                                       'default: a local Dask cluster (one worker per core).')


@app.command()
@_interruptible
def sweep(config: Path = ConfigArg,
          grid: Optional[list[str]] = typer.Option(None, '--grid', help='KEY=V1,V2,... (repeatable), e.g. '
                                                   '--grid reuse_factor=1,2,4 --grid precision="fixed<8,3>,fixed<16,6>"; '
                                                   'overrides the same key of the YAML "sweep: grid:".'),
          output: Optional[Path] = typer.Option(None, '--output', '-o', help='Sweep folder (default: beside the '
                                                'project, <output_dir>_sweep).'),
          scheduler: Optional[str] = SchedulerOpt,
          cluster: Optional[str] = typer.Option(None, '--cluster', help='htcondor or slurm: a dask-jobqueue cluster '
                                                'from your dask jobqueue YAML (~/.config/dask/jobqueue.yaml).'),
          jobs: Optional[int] = typer.Option(None, '--jobs', min=1, help='With --cluster: batch jobs to submit.'),
          workers: Optional[int] = typer.Option(None, '--workers', min=1, help='Local worker processes (default: '
                                                'one per core).'),
          samples: Optional[int] = typer.Option(None, '--samples', min=1, help='Validation samples C-simulated per '
                                                'point (default: the config\'s validation.samples).'),
          synth: bool = typer.Option(False, '--synth', help='Also run vendor HLS synthesis per point where a tool '
                                                            'is on the worker\'s PATH (else recorded as not found).'),
          rtl: bool = typer.Option(False, '--rtl', help='Also build each point as RTL (da4ml Verilog), check it in Verilator against the C-simulation and size it with Yosys (needs the rtl extra on the workers).'),
          cache_dir: Optional[Path] = typer.Option(None, '--cache-dir', help='Point cache (default: '
                                                   '$FPGAML_SWEEP_CACHE or ~/.cache/fpgaml/sweep).'),
          no_cache: bool = typer.Option(False, '--no-cache', help='Recompute every point (the content-addressed compile cache is still used).'),
          trust_model: bool = TrustOpt):
    """Design-space sweep: convert, C-simulate and estimate every point of a grid, on Dask; Pareto plots."""
    from fpgaml.config import load_config
    from fpgaml.sweep import SweepOptions, run_sweep
    from fpgaml.sweep.grid import parse_grid_options
    from fpgaml.sweep.results import accuracy

    cfg = load_config(config)
    cfg.model.trust = cfg.model.trust or trust_model
    opts = SweepOptions(grid=parse_grid_options(grid or []), output=output, scheduler=scheduler, cluster=cluster,
                        workers=workers, jobs=jobs, samples=samples, synth=synth, rtl=rtl, use_cache=not no_cache,
                        cache_dir=cache_dir)
    res = run_sweep(cfg, opts, echo=out.print)
    out.print(f'{len(res.rows)} points: {res.computed} computed, {res.cached} cached, {res.failed} failed '
              f'({res.seconds:.1f} s)')
    for what, r in res.best.items():
        a = accuracy(r)
        out.print(f'best, {what}: point {r["point"]} ({r["label"]}): {r["latency_ns"]:g} ns, II {r["ii_cycles"]}, '
                  f'{r["lut"]} LUT, {r["dsp"]} DSP' + ('' if a is None else f', accuracy {100 * a:.2f}%'))
    if not res.best:
        out.print('no point meets the budgets' if cfg.budgets else 'no point succeeded')
    for r in res.rows:
        if r['status'] == 'failed':
            err.print(Text.assemble(('failed: ', 'red'), f'point {r["point"]} ({r["label"]}): {r.get("error")}'))
    out.print(f'results: {res.files["csv"]}, {res.files["json"].name}, {res.files["html"].name}')
    if res.failed:
        raise typer.Exit(4)


zoo_app = typer.Typer(no_args_is_help=True, help='The reference model zoo (models/<name>/).')
data_app = typer.Typer(no_args_is_help=True, help='Training data generators (optional extra: fpgaml[physics]).')
app.add_typer(zoo_app, name='zoo')
app.add_typer(data_app, name='data')


@zoo_app.command('list')
def zoo_list():
    """List the reference models with their recorded metrics."""
    import json

    from fpgaml.regress import zoo

    def pct(v):
        return f'{100 * v:.1f}%' if isinstance(v, (int, float)) else '-'

    t = Table(title='fpgaml model zoo (models/<name>/metrics.json)', title_justify='left')
    for col in ('model', 'parameters', 'sparsity', 'float acc', 'quantized acc', 'C-sim acc', 'golden'):
        t.add_column(col)
    for name, config in zoo().items():
        m = config.parent / 'metrics.json'
        d = json.loads(m.read_text()) if m.is_file() else {}
        csim = d.get('csim_accuracy')
        if isinstance(csim, dict):
            csim = csim.get('firmware')
        t.add_row(name, str(d.get('parameters', '-')), pct(d.get('sparsity')), pct(d.get('float_accuracy')),
                  pct(d.get('quantized_keras_accuracy')), pct(csim),
                  'yes' if (config.parent / 'golden.json').is_file() else 'no')
    out.print(t)


@zoo_app.command('build')
@_interruptible
def zoo_build(name: Optional[str] = typer.Argument(None, help='Model name (see "fpgaml zoo list").'),
              all_models: bool = typer.Option(False, '--all', help='Build every zoo model, in parallel on Dask.'),
              output: Optional[Path] = typer.Option(None, '--output', '-o', help='Output folder (with --all: the '
                                                    'folder the projects go in, one per model).'),
              force: bool = ForceOpt, scheduler: Optional[str] = SchedulerOpt,
              workers: Optional[int] = typer.Option(None, '--workers', min=1, help='With --all: local worker '
                                                    'processes (default: one per core).'),
              models_dir: Optional[Path] = typer.Option(None, '--models-dir', help='Folder of reference models '
                                                        '(default: ./models if it exists, else the checkout\'s '
                                                        'models/).')):
    """Build, C-simulate and estimate one zoo model (same as fpgaml build models/NAME/config.yml), or --all."""
    from fpgaml.errors import suggest
    from fpgaml.regress import default_models_dir, models_folder, zoo

    models = zoo(models_folder(models_dir) if models_dir is not None else default_models_dir())
    if not models:
        raise FpgamlError('no reference models (folders with config.yml) found')
    if all_models:
        if name is not None:
            raise FpgamlError(f'give a model name or --all, not both (got "{name}" and --all)')
        from fpgaml.sweep.fanout import build_all

        rows = build_all(models, output, force, scheduler, workers)
        t = Table(title='zoo build', title_justify='left')
        for col in ('model', 'C-sim', 'latency ns', 'II', 'LUT', 'DSP', 'project / error'):
            t.add_column(col)
        for r in rows:
            if 'error' in r:
                t.add_row(r['model'], Text('error', style='red'), '', '', '', '', r['error'])
            else:
                t.add_row(r['model'], Text('PASSED', style='green') if r['csim_passed'] else Text('FAILED', style='red'),
                          f'{r["latency_ns"]:g}', str(r['ii_cycles']), str(r['lut']), str(r['dsp']), r['project'])
        out.print(t)
        if any('error' in r or not r['csim_passed'] for r in rows):
            raise typer.Exit(4)
        return
    if name is None:
        raise FpgamlError(f'give a model name or --all; available: {", ".join(models)}')
    if scheduler is not None or workers is not None:
        raise FpgamlError('--scheduler and --workers go with --all (one model builds here)')
    if name not in models:
        raise FpgamlError(f'unknown zoo model "{name}"{suggest(name, models)}; available: {", ".join(models)}')
    build_cmd(models[name], output=output, force=force, cache_dir=None, no_cache=False, synth=False, cosim=False,
              vsynth=False, trust_model=False)


@data_app.command('jets')
@_interruptible
def data_jets(n: int = typer.Option(..., '--n', min=1, help='Number of jets to generate.'),
              out_file: Path = typer.Option(..., '--out', help='Output file.'),
              seed: int = typer.Option(1, '--seed', help='Random seed (reproducible output).'),
              workers: int = typer.Option(1, '--workers', min=1, help='Processes (same output for any number).')):
    """Generate LHC-style jets (g, q, W, Z, t) with Pythia 8 + FastJet: features, images, sequences, clouds."""
    try:
        from fpgaml.data.jets import generate_jets
    except ImportError as e:
        raise FpgamlError(f'the jet generator needs the optional physics extra (GPL: Pythia 8, FastJet): '
                          f'pip install -e ".[physics]" ({e})') from None
    generate_jets(n, out_file, seed=seed, progress=True, workers=workers)
    out.print(f'wrote {n} jets to {out_file}')


def main() -> None:
    debug = '--debug' in sys.argv[1:]
    _state['debug'] = debug
    cli_environment()
    _install_signal_handlers()
    if debug:
        from fpgaml.sweep import engine

        engine.SHOW_DASK_LOGS = True  # (else a Ctrl-C'd cluster's shutdown logs are held back)
    else:
        _silence_native_stderr()
    try:
        rc = app(standalone_mode=False)
        sys.exit(rc if isinstance(rc, int) else 0)
    except FpgamlError as e:
        if debug:
            raise
        err.print(Text.assemble(('error: ', 'red'), str(e)), soft_wrap=True)
        sys.exit(e.exit_code)
    except typer.Exit as e:
        sys.exit(e.exit_code)
    except KeyboardInterrupt as e:  # outside a command (typer's own parsing)
        e = _interrupted(e)
        err.print(Text.assemble(('error: ', 'red'), str(e)), soft_wrap=True)
        sys.exit(e.exit_code)
    except typer.Abort as e:  # click's rendering of a KeyboardInterrupt (or SIGTERM) outside our commands
        e = _interrupted(e.__cause__) if isinstance(e.__cause__, KeyboardInterrupt) else Interrupted('aborted: nothing was written')
        err.print(Text.assemble(('error: ', 'red'), f'{e}'), soft_wrap=True)
        sys.exit(e.exit_code)
    except typer.TyperException as e:  # usage errors: unknown option, missing argument ...
        e.show()
        sys.exit(e.exit_code)
    except OSError as e:  # a file system refusing (permissions, read-only, full, names too long): not a bug
        if debug or not is_user_os_error(e):
            _internal_error(e, debug)
        where = f'{e.filename}: ' if e.filename else ''
        err.print(Text.assemble(('error: ', 'red'), f'{where}{e.strerror or e}'), soft_wrap=True)
        sys.exit(2)
    except Exception as e:  # unexpected failures
        _internal_error(e, debug)


def _internal_error(e: Exception, debug: bool) -> None:
    if debug:
        raise e
    err.print(Text.assemble(('internal error: ', 'red'),
                            f'{type(e).__name__}: {e} (run with --debug for the traceback)'), soft_wrap=True)
    sys.exit(1)


if __name__ == '__main__':
    main()
