"""GarNet's internal types (fpgaml/convert: ``_garnet_types``, ``_garnet_distance_type``).

No model, no compile: the type derivation and the parameters.h rewrite on a snippet in hls4ml 1.3.0's format.
"""

from __future__ import annotations

from types import SimpleNamespace

from fpgaml.config.precision import parse_precision
from fpgaml.convert import _garnet_distance_type, _garnet_types


def test_aggregates_keep_the_bits_the_normalising_shifts_drop():
    # 64 vertices, reuse 32: hls4ml's integer bits (max(5, 1) + 3 = 8), 10 + log2(64) = 16 fractional bits
    t = _garnet_types({'n_vertices': 64}, 32)
    aggr, ew_aggr = parse_precision(t['aggr']), parse_precision(t['edge_weight_aggr'])
    assert (aggr.width, aggr.integer, aggr.signed) == (24, 8, True)
    assert (ew_aggr.width, ew_aggr.integer, ew_aggr.signed) == (21, 5, False)
    assert parse_precision(t['edge_weight']).fractional == 10
    t = _garnet_types({'n_vertices': 128}, 1)
    assert parse_precision(t['aggr']).fractional == 17


_PARAMS = """
struct config3_base : nnet::garnet_config {
    static const unsigned n_vertices = 64;
    static const unsigned distance_width = 12;
    static const unsigned output_collapse = collapse_mean;

    typedef ap_ufixed<14,4,AP_TRN,AP_SAT,0> norm_t;
    typedef ap_fixed<12, 4, AP_TRN, AP_SAT> distance_t;
    typedef ap_ufixed<10,0,AP_TRN,AP_SAT,0> edge_weight_t;
};
struct config7 : nnet::garnet_config {
    static const unsigned distance_width = 12;
    typedef ap_fixed<12, 4, AP_TRN, AP_SAT> distance_t;
};
"""


def _conv(tmp_path, precision=None):
    (tmp_path / 'firmware').mkdir()
    (tmp_path / 'firmware' / 'parameters.h').write_text(_PARAMS)
    ew = SimpleNamespace(precision=SimpleNamespace(width=10, integer=0))
    nodes = [SimpleNamespace(class_name='GarNetStack', name='garnet', index=3, get_attr=lambda k: ew),
             SimpleNamespace(class_name='GarNet', name='g1', index=7, get_attr=lambda k: None)]
    patterns = {'g1': SimpleNamespace(precision=precision)} if precision else {}
    cfg = SimpleNamespace(layer_types={}, layer_patterns=patterns)
    return SimpleNamespace(graph=SimpleNamespace(get_layers=lambda: nodes), config=cfg, notes=[])


def test_distance_type_widened_in_parameters_h(tmp_path):
    conv = _conv(tmp_path)
    _garnet_distance_type(tmp_path, conv)
    text = (tmp_path / 'firmware' / 'parameters.h').read_text()
    # 4 integer bits as hls4ml, edge weight's 10 fractional bits + 2; the table index width follows
    assert text.count('static const unsigned distance_width = 16;') == 2
    assert text.count('typedef ap_fixed<16, 4, AP_TRN, AP_SAT> distance_t;') == 2
    assert 'distance_width = 12' not in text
    assert any('GarNet distance type' in n for n in conv.notes)


def test_distance_type_from_the_config(tmp_path):
    conv = _conv(tmp_path, precision={'distance': 'fixed<14,4>'})
    _garnet_distance_type(tmp_path, conv)
    text = (tmp_path / 'firmware' / 'parameters.h').read_text()
    assert 'static const unsigned distance_width = 14;\n    typedef ap_fixed<14, 4, AP_TRN, AP_SAT> distance_t;' in text
    assert text.count('distance_width = 16;') == 1  # config3_base: derived
