"""Config passes run round after round until none changes anything, and fail loudly when they never settle
(fpgaml.convert.passes.run_passes), with toy passes on a toy graph: no model, no hls4ml build."""

from __future__ import annotations

import pytest

from fpgaml.convert.passes import MAX_CONFIG_ROUNDS, Change, FlowContext, Pass, PassesDoNotSettle, run_passes
from fpgaml.errors import FpgamlError


class _SetType(Pass):
    """Sets the result type of layer ``dense`` in the hls4ml config to its own value."""

    kind = 'config'
    value = ''

    def run(self, ctx):
        entry = ctx.hls_config.setdefault('dense', {})
        if entry.get('result_t') == self.value:
            return []
        old, entry['result_t'] = entry.get('result_t'), self.value
        return [Change('dense', f'result_t {old} -> {self.value}')]


class _Narrow(_SetType):
    name, value = 'narrow', 'fixed<8,3>'


class _Wide(_SetType):
    name, value = 'wide', 'fixed<16,6>'


class _Chase(Pass):
    """Changes the config until the graph built from it reaches ``target`` (one step a round)."""

    name, kind = 'chase', 'config'

    def __init__(self, target: int):
        self.target = target

    def run(self, ctx):
        if ctx.graph >= self.target:
            return []
        ctx.hls_config['steps'] = ctx.graph + 1
        return [Change('dense', f'step {ctx.graph + 1}')]


class _Graph(Pass):
    name = 'graph_pass'

    def run(self, ctx):
        return [Change('dense', f'graph pass saw build {ctx.graph}')]


def _context() -> tuple[FlowContext, list[dict]]:
    """A context whose 'graph' is the number of the step the config asks for; records every rebuild."""
    builds = []

    def rebuild(config):
        builds.append(dict(config))
        return config.get('steps', 0)

    ctx = FlowContext(cfg=None, loaded=None, hls_config={}, graph=0, bit_exact=True, rebuild=rebuild, settings=object())
    return ctx, builds


@pytest.fixture(autouse=True)
def _no_templates(monkeypatch):
    import fpgaml.convert.templates as templates

    monkeypatch.setattr(templates, 'apply_templates', lambda graph: None)


def test_passes_that_settle_in_two_rounds_run_twice_and_rebuild_once():
    ctx, builds = _context()
    records = run_passes(ctx, [_Chase(1), _Graph()])
    assert len(builds) == 1 and ctx.graph == 1  # round 1 changed (rebuild), round 2 changed nothing
    assert [r.notes() for r in records] == [['dense: step 1'], ['dense: graph pass saw build 1']]


def test_passes_go_on_past_the_old_three_rounds_while_they_change_something():
    ctx, builds = _context()
    records = run_passes(ctx, [_Chase(5)])
    assert len(builds) == 5 and ctx.graph == 5
    assert records[0].notes() == [f'dense: step {i}' for i in range(1, 6)]


def test_passes_that_undo_each_other_fail_naming_them_and_what_they_change():
    ctx, builds = _context()
    with pytest.raises(PassesDoNotSettle) as e:
        run_passes(ctx, [_Narrow(), _Wide()])
    assert len(builds) == MAX_CONFIG_ROUNDS
    msg = str(e.value)
    assert f'after {MAX_CONFIG_ROUNDS} rounds' in msg
    assert 'narrow: dense: result_t fixed<16,6> -> fixed<8,3>' in msg
    assert 'wide: dense: result_t fixed<8,3> -> fixed<16,6>' in msg
    assert isinstance(e.value, FpgamlError) and e.value.exit_code == 1


def test_a_pass_that_never_settles_alone_is_named_too():
    ctx, _ = _context()
    with pytest.raises(PassesDoNotSettle, match=r'chase: dense: step \d+$'):
        run_passes(ctx, [_Chase(MAX_CONFIG_ROUNDS + 1)])
