import pytest

from fpgaml.target.devices import DEVICES, UnknownPartError, known_parts, lookup_device


@pytest.mark.parametrize(
    'part,name',
    [
        ('xcvu9p-flga2104-2L-e', 'xcvu9p'),
        ('xcvu9p-flga2577-2-e', 'xcvu9p'),
        ('xcu250-figd2104-2L-e', 'xcu250'),
        ('xcvu13p-flga2577-2-e', 'xcvu13p'),
        ('XCKU115-FLVB2104-2-I', 'xcku115'),
        ('xczu9eg-ffvb1156-2-e', 'xczu9eg'),
        ('xc7z020-clg400-1', 'xc7z020'),
        ('7z020clg400-1', 'xc7z020'),  # as Vivado prints it in report_utilization
        ('xcu250figd2104-2L', 'xcu250'),
        ('xcvu9p', 'xcvu9p'),
    ],
)
def test_lookup(part, name):
    d = lookup_device(part)
    assert d.name == name
    assert d.part == part


def test_datasheet_totals():
    vu9p = DEVICES['xcvu9p']
    assert (vu9p.dsp, vu9p.lut, vu9p.ff, vu9p.bram_18k, vu9p.uram) == (6840, 1182240, 2364480, 4320, 960)
    z020 = DEVICES['xc7z020']
    assert (z020.dsp, z020.lut, z020.ff, z020.bram_18k, z020.uram) == (220, 53200, 106400, 280, 0)
    u250 = DEVICES['xcu250']
    assert (u250.dsp, u250.lut, u250.ff, u250.bram_18k, u250.uram) == (12288, 1728000, 3456000, 5376, 1280)
    for name in ('xcvu9p', 'xcvu13p', 'xcu250', 'xcku115', 'xczu9eg', 'xc7z020'):
        assert name in DEVICES


def test_unknown_part_lists_known_parts():
    with pytest.raises(UnknownPartError) as exc:
        lookup_device('xcfoo123-abc')
    msg = str(exc.value)
    assert 'xcfoo123-abc' in msg
    for name in known_parts():
        assert name in msg
    assert isinstance(exc.value, ValueError)


def test_empty_part():
    with pytest.raises(UnknownPartError):
        lookup_device('')


def test_totals_match_corpus_reports(corpus):
    """The 'Available' rows of real csynth reports agree with the table."""
    from fpgaml.synth.reports import parse_csynth_rpt

    for folder in ('hls4ml-test-vivado2020.1', 'svhn-pruned-cnn-16bit'):
        r = parse_csynth_rpt(corpus / 'vendor-reports' / folder / 'myproject_csynth.rpt')
        d = lookup_device(r.part)
        for key in ('dsp', 'lut', 'ff', 'bram_18k', 'uram'):
            assert r.available[key] == d.totals()[key], (folder, key)
