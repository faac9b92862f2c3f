import json
import re
import subprocess
import sys

from fpgaml.estimate import estimate
from fpgaml.report import estimate_table_text, print_estimate_table, write_html_report
from fpgaml.synth import SynthesisResult, parse_csynth_rpt


def _est(keras, convert, io_type='io_stream'):
    L = keras.layers
    m = keras.Sequential(
        [
            L.Conv2D(4, 3, input_shape=(8, 8, 2), name='conv'),
            L.Activation('relu', name='relu'),
            L.Flatten(name='flat'),
            L.Dense(4, name='dense'),
            L.Activation('softmax', name='sm'),
        ]
    )
    return estimate(convert(m, io_type=io_type), 'xcu250-figd2104-2L-e', 5.0)


def test_html_self_contained(tmp_path, keras, convert, fixtures):
    e = _est(keras, convert)
    synth = SynthesisResult(csynth=parse_csynth_rpt(fixtures / 'toy_csynth.rpt'))
    out = write_html_report(
        tmp_path / 'sub' / 'report.html',
        e,
        synthesis=synth,
        budgets={'max_latency_ns': 10, 'max_resources': {'dsp': '50%'}},
        title='My <model>',
    )
    text = out.read_text()
    assert text.startswith('<!DOCTYPE html>')
    svgs = re.findall(r'<svg .*?</svg>', text, re.S)
    assert len(svgs) == 3 and text.count('<svg') == 3
    assert all(s.count('<rect ') >= 5 and '<title>' in s for s in svgs)  # bars, each with a tooltip
    assert 'Device utilization' in svgs[2] and 'synthesis' in svgs[2] and 'circle' in svgs[2]
    assert 'http://' not in text and 'https://' not in text  # works offline
    assert 'My &lt;model&gt;' in text
    for name in ('conv', 'dense', 'sm'):
        assert all(f'>{name}<' in s for s in svgs[:2])
    assert 'FAIL' in text and 'PASS' in text
    assert 'dense_config2_U0' in text  # csynth instance table
    assert not list(tmp_path.glob('sub/.report.html.*'))  # no temporary leftovers


def test_html_without_optional_parts(tmp_path, keras, convert):
    e = _est(keras, convert, 'io_parallel')
    out = write_html_report(tmp_path / 'r.html', e)
    assert out.read_text().count('<svg') == 3


_NO_MATPLOTLIB = """
import json, sys
from fpgaml.estimate import Estimate
from fpgaml.report import write_html_report
est = Estimate.from_json_dict(json.loads(open(sys.argv[1]).read()), 5.0, 'io_parallel')
write_html_report(sys.argv[2], est)
print('matplotlib' in sys.modules)
"""


def test_html_report_does_not_import_matplotlib(tmp_path, keras, convert):
    # matplotlib's import and rendering were most of a warm rebuild's time; the charts are hand-written SVG now
    est = tmp_path / 'est.json'
    est.write_text(json.dumps(_est(keras, convert, 'io_parallel').to_json_dict()))
    p = subprocess.run(
        [sys.executable, '-c', _NO_MATPLOTLIB, est, tmp_path / 'r.html'], capture_output=True, text=True, timeout=120
    )
    assert p.returncode == 0, p.stderr[-2000:]
    assert p.stdout.strip() == 'False'
    assert (tmp_path / 'r.html').read_text().count('<svg') == 3


def test_text_table(keras, convert):
    e = _est(keras, convert)
    txt = estimate_table_text(e)
    assert 'TOTAL' in txt and 'conv' in txt and 'xcu250' in txt
    from rich.console import Console

    con = Console(record=True, width=140)
    print_estimate_table(e, console=con)
    assert 'TOTAL' in con.export_text()
