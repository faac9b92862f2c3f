"""The first divergent layer: where, in network order, two computations of a model part ways.

Three checks name it when their outputs differ: the C-simulation against Keras (:mod:`fpgaml.csim`), a rebuild
against its golden record (:mod:`fpgaml.regress`) and the da4ml RTL model against the C-simulation
(:mod:`fpgaml.rtl`). Each hands the layers' values on both sides, in network order, to
:func:`first_divergence` and words the :class:`Divergence` it gets back for its own report.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

import numpy as np

__all__ = ['Divergence', 'LayerValues', 'first_divergence', 'traced_layers']


def traced_layers(graph, among: Collection[str] | None = None) -> dict[str, int]:
    """{name: output size} of the layers whose outputs the C-simulation library traces, in network order: the
    layers compiled with tracing on, or, given ``among``, those of them named there."""
    return {
        lay.name: lay.get_output_variable().size()
        for lay in graph.get_layers()
        if (lay.get_attr('trace', False) if among is None else lay.name in among)
        and lay.get_attr('function_cpp', None) is not None
    }


@dataclass
class LayerValues:
    """One layer's values on both sides of a comparison, ``(samples, values)`` each."""

    layer: str
    cls: str
    expected: np.ndarray
    got: np.ndarray
    slack: float | None = None  # None: bit for bit; else values within ``slack`` of each other agree
    expected_type: str | None = None  # given both, a layer whose type changed diverges before any value
    got_type: str | None = None


@dataclass
class Divergence:
    """The first layer whose values differ, how many of its values differ and where the first one is."""

    layer: str
    cls: str
    values_differing: int
    values_compared: int
    max_abs_diff: float
    samples_traced: int
    first_at: tuple[int, int] | None = None  # (sample, index) of the first differing value
    expected: float | int | None = None  # the values there
    got: float | int | None = None
    type_change: tuple[str, str] | None = None  # (was, is) when the layer's type or shape changed

    def describe(self) -> str:
        return (
            f'{self.layer} ({self.cls}): {self.values_differing} of {self.values_compared} values differ '
            f'(max |diff| {self.max_abs_diff:.6g}) over {self.samples_traced} traced samples'
        )

    def to_json(self) -> dict:
        """The figures a project's report records (the C-simulation's ``first_divergent_layer``)."""
        return {
            'layer': self.layer,
            'cls': self.cls,
            'values_differing': self.values_differing,
            'values_compared': self.values_compared,
            'max_abs_diff': self.max_abs_diff,
            'samples_traced': self.samples_traced,
        }


def first_divergence(layers: Iterable[LayerValues]) -> Divergence | None:
    """The first of ``layers`` (network order) whose values differ; None when every layer agrees. ``layers`` may
    be a generator: no layer after the divergent one is computed."""
    for lv in layers:
        exp, got = np.asarray(lv.expected), np.asarray(lv.got)
        n = exp.shape[0] if exp.ndim else 0
        if exp.shape != got.shape or (lv.expected_type is not None and lv.expected_type != lv.got_type):
            return Divergence(
                lv.layer,
                lv.cls,
                0,
                0,
                float('nan'),
                n,
                type_change=(lv.expected_type or str(exp.shape), lv.got_type or str(got.shape)),
            )
        diff = np.abs(got - exp)
        bad = got != exp if lv.slack is None else diff > lv.slack
        if bad.any():
            where = tuple(map(int, np.argwhere(bad)[0]))
            return Divergence(
                lv.layer,
                lv.cls,
                int(bad.sum()),
                int(bad.size),
                float(diff.max()),
                n,
                where,
                exp[where].item(),
                got[where].item(),
            )
    return None
