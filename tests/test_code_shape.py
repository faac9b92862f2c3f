"""The shape of the code a maintainer reads: no module of the package over 400 lines (a module that grows past it
is doing several jobs; split it by job, as ``cli.py`` / ``cli_render.py`` are)."""

from pathlib import Path

MAX_LINES = 400
PACKAGE = Path(__file__).resolve().parents[1] / 'fpgaml'


def test_no_module_over_400_lines():
    long = {
        str(p.relative_to(PACKAGE.parent)): n
        for p in sorted(PACKAGE.rglob('*.py'))
        if (n := len(p.read_text().splitlines())) > MAX_LINES
    }
    assert not long, f'modules over {MAX_LINES} lines (split them by job): {long}'
