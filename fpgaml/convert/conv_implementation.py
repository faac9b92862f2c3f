"""Configs written for hls4ml before 1.3 name a ``ConvImplementation`` it no longer has (``Pointwise``): the hls4ml
config fpgaml makes (:mod:`fpgaml.convert.hlsconfig`) gets the hls4ml 1.3 value that builds the same kernel and, for
the old io_parallel pointwise kernel, the parallelization that gives its schedule. The user is told by
``fpgaml.convert.checks.old_conv_implementations``; which values are old is :mod:`fpgaml.config.values`'s table."""

from __future__ import annotations

from fpgaml.config.schema import ProjectConfig
from fpgaml.config.values import OLD_CONV_IMPLEMENTATIONS
from fpgaml.convert.settings import LayerSettingResolver
from fpgaml.frontend import LoadedModel


def translate_conv_implementation(entry: dict) -> None:
    """An older hls4ml's ConvImplementation (``Pointwise``) as the hls4ml 1.3 value it is built as (the user is
    told by checks.old_conv_implementations)."""
    value = entry.get('ConvImplementation')
    if value in OLD_CONV_IMPLEMENTATIONS:
        entry['ConvImplementation'] = OLD_CONV_IMPLEMENTATIONS[value][0]


def _pointwise_width(loaded: LoadedModel, name: str) -> int | None:
    """The number of positions of a kernel-size-1 layer over a sequence (a Conv1D of kernel size 1, or a Dense over
    a 2-D input, which hls4ml 1.3 turns into one), else None."""
    try:
        layer = loaded.model.get_layer(name)
        shape = tuple(layer.output.shape)
    except Exception:  # noqa: BLE001 - not a Keras layer of that name
        return None
    kind = type(layer).__name__
    kernel = tuple(getattr(layer, 'kernel_size', ()) or ())
    if len(shape) != 3 or not (kind in ('Dense', 'QDense') or (kind in ('Conv1D', 'QConv1D') and kernel == (1,))):
        return None
    return int(shape[1]) if shape[1] else None


def old_pointwise_all_positions(
    cfg: ProjectConfig,
    loaded: LoadedModel,
    settings: LayerSettingResolver,
    classes: dict[str, str],
    layer_name: dict[str, dict],
) -> None:
    """``ConvImplementation: Pointwise`` (hls4ml before 1.3) on an io_parallel Latency layer of kernel size 1: that
    hls4ml's pointwise kernel computed every position at once (the positions split into reuse-factor groups, one
    kernel instance each: II = reuse factor) and did not read ``ParallelizationFactor``. hls4ml 1.3 builds the same
    as its batched pointwise kernel (``BatchedDenseForConv1D``), which it selects for one partition:
    ParallelizationFactor = the output width. Its line-buffer kernel would compute one position per reuse-factor
    cycles instead (a published DeepSets tagger at reuse factor 2: II 16 where the published csynth has 2)."""
    if cfg.io_type != 'io_parallel':
        return
    for n, cls in classes.items():
        value, _ = settings.setting(n, cls, 'ConvImplementation')
        if (value or cfg.model_settings.get('ConvImplementation')) != 'Pointwise':
            continue
        entry = layer_name.get(n)
        width = _pointwise_width(loaded, n)
        if entry is None or width is None or str(entry.get('Strategy', cfg.strategy)).lower() != 'latency':
            continue
        entry['ParallelizationFactor'] = width
