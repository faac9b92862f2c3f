"""The ``fpgaml`` command line: convert, csim, build, rtl, estimate, report, regress, sweep, zoo, data.

One small function per command: it parses the options, runs the flow (:mod:`fpgaml.project`, the stage
packages) and hands the result to :mod:`fpgaml.cli_render`, which prints it. The commands live in
:mod:`fpgaml.cli_project` (one model's project) and :mod:`fpgaml.cli_batch` (many designs at a time, data);
this module registers them, in the order ``--help`` lists them, and runs the process: every user error is one
line on stderr and the exit code its class carries (:mod:`fpgaml.errors`); ``--debug`` shows tracebacks.
"""

from __future__ import annotations

import sys

import typer
from rich.text import Text

from fpgaml._env import cli_environment
from fpgaml.cli_batch import data_jets, regress, sweep, zoo_build, zoo_list
from fpgaml.cli_common import state
from fpgaml.cli_project import build_cmd, convert, csim, estimate, report, rtl
from fpgaml.cli_render import err
from fpgaml.cli_signals import install_signal_handlers, interrupted, silence_native_stderr
from fpgaml.errors import INTERNAL_ERROR_EXIT_CODE, FpgamlError, Interrupted, Verdict
from fpgaml.outdir import is_user_os_error

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help='fpgaml: trained (Q)Keras model + YAML -> hls4ml firmware project, C-simulated bit for bit.',
)


@app.callback()
def _main(debug: bool = typer.Option(False, '--debug', help='Show Python tracebacks and library logs.')):
    state['debug'] = debug


# the commands, in the order --help lists them
app.command()(convert)
app.command()(csim)
app.command('build')(build_cmd)
app.command()(rtl)
app.command()(estimate)
app.command()(report)
app.command()(regress)
app.command()(sweep)

zoo_app = typer.Typer(no_args_is_help=True, help='The reference model zoo (models/<name>/).')
data_app = typer.Typer(no_args_is_help=True, help='Training data generators (optional extra: fpgaml[physics]).')
app.add_typer(zoo_app, name='zoo')
app.add_typer(data_app, name='data')
zoo_app.command('list')(zoo_list)
zoo_app.command('build')(zoo_build)
data_app.command('jets')(data_jets)


def main() -> None:
    debug = '--debug' in sys.argv[1:]
    state['debug'] = debug
    cli_environment()
    install_signal_handlers()
    if debug:
        from fpgaml import parallel

        parallel.SHOW_DASK_LOGS = True  # (else a Ctrl-C'd cluster's shutdown logs are held back)
    else:
        silence_native_stderr()
    try:
        rc = app(standalone_mode=False)
        sys.exit(rc if isinstance(rc, int) else 0)
    except Verdict as e:  # the command has printed its answer
        sys.exit(e.exit_code)
    except FpgamlError as e:
        if debug:
            raise
        err.print(Text.assemble(('error: ', 'red'), str(e)), soft_wrap=True)
        sys.exit(e.exit_code)
    except typer.Exit as e:
        sys.exit(e.exit_code)
    except KeyboardInterrupt as e:  # outside a command (typer's own parsing)
        e = interrupted(e)
        err.print(Text.assemble(('error: ', 'red'), str(e)), soft_wrap=True)
        sys.exit(e.exit_code)
    except typer.Abort as e:  # click's rendering of a KeyboardInterrupt (or SIGTERM) outside our commands
        e = (
            interrupted(e.__cause__)
            if isinstance(e.__cause__, KeyboardInterrupt)
            else Interrupted('aborted: nothing was written')
        )
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
        sys.exit(FpgamlError.exit_code)
    except Exception as e:  # unexpected failures
        _internal_error(e, debug)


def _internal_error(e: Exception, debug: bool) -> None:
    if debug:
        raise e
    err.print(
        Text.assemble(('internal error: ', 'red'), f'{type(e).__name__}: {e} (run with --debug for the traceback)'),
        soft_wrap=True,
    )
    sys.exit(INTERNAL_ERROR_EXIT_CODE)


if __name__ == '__main__':
    main()
