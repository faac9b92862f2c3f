"""Bit-exact mode: an average over a power-of-two count of quantized values is exact with ``log2(count)`` more
fractional bits than its input (the average stays within the input's range), and Keras's float32 computes it
exactly. hls4ml gives the result the input's type, which truncates the average, and (for global pooling) leaves
the sum at the default type; a DeepSets-style ``GlobalAveragePooling1D`` over 8 particles then differs from Keras
before the next layer (92.4% of samples bit-exact). The sum and the result take their exact types instead."""

from __future__ import annotations

from fpgaml.fixed import Fixed, grid_of

from . import Change, FlowContext, Pass

CLASSES = ('Pooling1D', 'Pooling2D', 'GlobalPooling1D', 'GlobalPooling2D')


def pooled_count(layer) -> int | None:
    """How many values one output of an hls4ml average pooling layer averages, when every output averages the
    same count (no padding); None otherwise."""
    g = layer.get_attr
    if layer.class_name.startswith('Global'):
        return int(g('n_in', 0) or 0) if layer.class_name.endswith('1D') else int(g('in_height')) * int(g('in_width'))
    if any(g(p, 0) for p in ('pad_left', 'pad_right', 'pad_top', 'pad_bottom')):
        return None
    return int(g('pool_width')) * (int(g('pool_height')) if layer.class_name.endswith('2D') else 1)


def power_of_two(n: int | None) -> bool:
    return n is not None and n > 0 and n & (n - 1) == 0


class ExactAveragePooling(Pass):
    name = 'exact_average_pooling'
    kind = 'config'
    bit_exact_only = True
    precondition = 'hls4ml pooling layers carry "pool_op" and their window sizes (n_in / in_* / pool_*)'
    summary = 'average pooling over a power-of-two count keeps the exact average (log2(count) more fractional bits)'

    def run(self, ctx: FlowContext) -> list[Change]:
        entries = ctx.hls_config['HLSConfig']['LayerName']
        changes = []
        for layer in ctx.graph.get_layers():
            if layer.class_name not in CLASSES or str(layer.get_attr('pool_op', '')).lower() != 'average':
                continue
            n = pooled_count(layer)
            if not power_of_two(n):
                continue
            prec = entries.setdefault(layer.name, {'Trace': True}).setdefault('Precision', {})
            if not isinstance(prec, dict) or any(prec.get(k, 'auto') != 'auto' for k in ('result', 'accum')):
                continue  # the user or a quantizer decided these types
            x = grid_of(layer.get_input_variable().type.precision)
            accum = layer.get_attr('accum_t')
            if x is None or x.kind != 'fixed' or accum is None:
                continue
            extra = n.bit_length() - 1
            # the sum needs log2(n) more integer bits, and avg() divides it in place: log2(n) more fractional bits
            total = Fixed(x.width + 2 * extra, x.integer + extra, x.signed)
            exact = Fixed(x.width + extra, x.integer, x.signed)
            now = (grid_of(accum.precision), grid_of(layer.get_output_variable().type.precision))
            if now != (total, exact):
                prec['accum'], prec['result'] = total.hls4ml_str(), exact.hls4ml_str()
                changes.append(
                    Change(
                        layer.name,
                        f'sum {total.hls4ml_str()}, result {exact.hls4ml_str()} (the exact average of {n} values)',
                    )
                )
        return changes
