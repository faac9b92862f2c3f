"""fpgaml's corrections to hls4ml's ModelGraph: named passes, one per file, in one ordered flow run before
``write()``.

Each pass states its precondition (what it expects of hls4ml's graph or templates) and raises
:class:`PassPreconditionError` when hls4ml does not look that way, never skipping silently. A pass changes
the graph only: its attributes, weights or types. Where hls4ml has no attribute for what must change (GarNet's
distance type, one table type per recurrent activation, the exact power-of-two product), the pass sets an
``fpgaml_*`` attribute that one of fpgaml's template overrides (:mod:`fpgaml.convert.templates`) renders, so
the written C++, the estimate and the report all read the same graph.

Two kinds:

* ``config`` passes fix a type hls4ml's inference leaves at the default; types propagate through the graph
  when it is built, so they change the hls4ml config and the flow rebuilds the graph, round after round until
  no config pass changes anything (past :data:`MAX_CONFIG_ROUNDS` rounds, passes that still change things are
  fighting each other: an error naming them, never a silent stop);
* ``graph`` passes change the built graph.

The flow's record (pass, what changed, on which layers) goes into ``fpgaml-report.json`` and ``report.html``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from fpgaml.config.schema import ProjectConfig
from fpgaml.convert.settings import LayerSettingResolver
from fpgaml.errors import FpgamlError


class PassPreconditionError(FpgamlError):
    """hls4ml's graph or templates are not what a pass was written for (an fpgaml/hls4ml version mismatch)."""

    exit_code = 1


@dataclass
class Change:
    layer: str
    what: str


@dataclass
class FlowContext:
    """What the passes read and change: the graph, the hls4ml config it was built from, the model."""

    cfg: ProjectConfig
    loaded: Any  # fpgaml.frontend.LoadedModel
    hls_config: dict
    graph: Any  # hls4ml ModelGraph
    bit_exact: bool
    rebuild: Callable[[dict], Any]  # hls4ml config -> new graph
    settings: LayerSettingResolver = None
    exact_parts: bool = False  # a partly quantized model whose quantized parts are typed as in bit-exact mode

    def __post_init__(self):
        if self.settings is None:
            self.settings = LayerSettingResolver(self.cfg)

    def keras_layer(self, name: str):
        try:
            return self.loaded.model.get_layer(name)
        except ValueError:
            return None


class Pass:
    """One correction. Subclasses set ``name``, ``kind``, ``precondition`` and implement :meth:`run`."""

    name: ClassVar[str]
    kind: ClassVar[str] = 'graph'  # or 'config'
    bit_exact_only: ClassVar[bool] = False
    precondition: ClassVar[str] = ''
    summary: ClassVar[str] = ''  # one line: what the pass does and why (shown in the report)

    def run(self, ctx: FlowContext) -> list[Change]:
        raise NotImplementedError

    def broken(self, layer: str, what: str) -> PassPreconditionError:
        return PassPreconditionError(
            f'internal error in pass {self.name} (layer "{layer}"): {what}; expected: '
            f'{self.precondition}. This fpgaml was written for hls4ml 1.3.0'
        )


@dataclass
class PassRecord:
    name: str
    kind: str
    summary: str
    ran: bool
    reason: str = ''
    changes: list[Change] = field(default_factory=list)

    def to_json(self) -> dict:
        return {
            'pass': self.name,
            'kind': self.kind,
            'summary': self.summary,
            'ran': self.ran,
            'reason': self.reason,
            'changes': [{'layer': c.layer, 'what': c.what} for c in self.changes],
        }

    def notes(self) -> list[str]:
        return [f'{c.layer}: {c.what}' for c in self.changes]


def _flow() -> list[Pass]:
    """Every family's passes (:mod:`fpgaml.families`), family by family."""
    from fpgaml.families import pass_classes

    return [cls() for cls in pass_classes()]


# The zoo and the tests' models settle in 1 to 3 rounds (the last one changes nothing): a type one pass fixes can
# change what a later layer's pass sees once the graph is rebuilt. Ten rounds that all change something mean that
# passes undo each other's work.
MAX_CONFIG_ROUNDS = 10


class PassesDoNotSettle(FpgamlError):
    """Config passes still change the hls4ml config after :data:`MAX_CONFIG_ROUNDS` rounds (an fpgaml bug)."""

    exit_code = 1


def run_passes(ctx: FlowContext, flow: list[Pass] | None = None) -> list[PassRecord]:
    """Run every pass in order (config passes first, rebuilding the graph until they change nothing), then
    re-render hls4ml's templates so the C++ configs read the corrected graph. ``ctx.graph`` is the result."""
    from fpgaml.convert.templates import apply_templates

    flow = _flow() if flow is None else flow
    records = []
    for p in flow:
        ran = ctx.bit_exact or ctx.exact_parts or not p.bit_exact_only
        records.append(PassRecord(p.name, p.kind, p.summary, ran, '' if ran else 'bit-exact mode is off'))
    active = [(p, r) for p, r in zip(flow, records) if r.ran]
    _settle_config_passes(ctx, [(p, r) for p, r in active if p.kind == 'config'])
    for p, r in active:
        if p.kind == 'graph':
            r.changes += p.run(ctx)
    apply_templates(ctx.graph)
    return records


def _settle_config_passes(ctx: FlowContext, config_passes: list[tuple[Pass, PassRecord]]) -> None:
    """Run the config passes, rebuilding the graph after each round that changed something, until a round
    changes nothing; :class:`PassesDoNotSettle` when :data:`MAX_CONFIG_ROUNDS` rounds all changed something."""
    for _ in range(MAX_CONFIG_ROUNDS):
        changed = {}
        for p, r in config_passes:
            new = p.run(ctx)
            r.changes += new
            if new:
                changed[p.name] = new
        if not changed:
            return
        ctx.graph = ctx.rebuild(ctx.hls_config)
    what = '; '.join(
        f'{name}: ' + ', '.join(f'{c.layer}: {c.what}' for c in changes) for name, changes in changed.items()
    )
    raise PassesDoNotSettle(
        f"internal error: fpgaml's config passes still change the hls4ml config after "
        f"{MAX_CONFIG_ROUNDS} rounds (passes that undo each other's work, or one that never "
        f'settles); in the last round: {what}'
    )


__all__ = ['Pass', 'PassRecord', 'Change', 'FlowContext', 'PassPreconditionError', 'PassesDoNotSettle', 'run_passes']
