"""The error a float model's firmware may show for its precision alone: a first-order bound on the rounding of
every type the firmware uses, propagated through the graph.

A float part of a model (no quantizer) has no exact answer at a given precision: hls4ml truncates each weight to
its weight type, each sum to its accumulator type, each result to its result type, and indexes its activation
tables with the top bits of their input. The tolerance verdict (:mod:`fpgaml.csim`) must not fail a firmware for
errors its own types explain, nor pass one whose errors they do not (an overflow, a wrong layer). So, layer by
layer in graph order, with ``e`` the bound on a tensor's error and ``|x|`` its largest value on the validation
data (Keras's own layer outputs):

* input: 0 (Keras is run on the input type's grid);
* Dense / convolution / batch norm: ``G e_in + n step_w |x| + step_b + step_accum + step_out`` (``G``: the largest
  sum of |weights| into one output, ``n``: the fan-in: the weight truncation times the input);
* activations: ReLU / linear pass ``e_in``; table activations (sigmoid, tanh, softmax, ELU, ...) add the table's
  input resolution times their slope and the table entry's step; bounded activations cap it at their range;
* merges add (Add, Subtract, Average: the mean), take the larger (Concatenate, Maximum, Minimum), or multiply
  by the other input's range (Multiply, Dot); pooling and reshapes pass it on;
* recurrent layers iterate the dense rule over their time steps, capped by the range of their tanh state;
* any other layer passes ``e_in`` and adds its output step.

Every result is truncated (one step). The bound is worst case and first order (it ignores products of errors).
"""

from __future__ import annotations

import numpy as np

from fpgaml.fixed import Fixed, grid_of

# slope (Lipschitz constant), input span of hls4ml's table, output range (None: unbounded)
TABLES = {
    'sigmoid': (0.25, 16.0, 1.0),
    'tanh': (1.0, 16.0, 2.0),
    'softmax': (1.0, 0.0, 1.0),
    'elu': (1.0, 8.0, None),
    'selu': (1.76, 8.0, None),
    'softplus': (1.0, 16.0, None),
    'softsign': (1.0, 16.0, 2.0),
    'hard_sigmoid': (0.2, 0.0, 1.0),
    'hard_tanh': (1.0, 0.0, 2.0),
}
PASS_ACTIVATIONS = (
    'linear',
    'relu',
    'leaky_relu',
    'leakyrelu',
    'thresholded_relu',
    'thresholdedrelu',
    'prelu',
    'relu6',
    'binary_tanh',
    'ternary_tanh',
)
MERGE_SUM = ('Add', 'Subtract', 'Average')
MERGE_MAX = ('Concatenate', 'Maximum', 'Minimum')
RECURRENT = ('LSTM', 'GRU', 'SimpleRNN', 'Bidirectional')


def _step(precision) -> float:
    t = _fixed(precision)
    return 2.0**-t.fractional if t is not None else 0.0


def _fixed(precision) -> Fixed | None:
    try:
        return grid_of(precision)
    except Exception:  # noqa: BLE001 - a type fpgaml does not read (float, custom): no step
        return None


def _type_step(layer, attr: str) -> float:
    t = layer.get_attr(attr)
    return _step(t.precision) if t is not None and hasattr(t, 'precision') else 0.0


def _weight(layer, name: str):
    """(values, rounding error of each value): hls4ml writes the float values and the C++ cast truncates them to
    the weight type (values already on its grid, e.g. quantized ones, lose nothing)."""
    w = layer.weights.get(name) if hasattr(layer, 'weights') else None
    if w is None or getattr(w, 'data', None) is None:
        return None, None
    data = np.asarray(w.data, dtype=np.float64)
    if layer.get_attr('_weights_transposed', False) is True and data.ndim > 1 and name.endswith('weight'):
        data = np.moveaxis(data, 0, -1)  # hls4ml's resource_strategy pass stores these kernels outputs-first
    step = _step(w.type.precision)
    return data, (np.abs(data - np.floor(data / step) * step) if step > 0 else np.zeros_like(data))


def _dense_terms(layer, name: str, x_max: float) -> tuple[float, float]:
    """(gain, weight-rounding error) of one weight tensor: the largest sum of |w| into an output, and the
    largest sum of the weights' truncation errors into an output times the largest input."""
    w, dw = _weight(layer, name)
    if w is None or w.size == 0:
        return 1.0, 0.0
    shape = (-1, w.shape[-1]) if w.ndim > 1 else (-1, 1)
    gain = float(np.abs(w.reshape(shape)).sum(axis=0).max())
    return gain, float(dw.reshape(shape).sum(axis=0).max()) * x_max


def _bias_error(layer, name: str = 'bias') -> float:
    _, db = _weight(layer, name)
    return float(db.max()) if db is not None and db.size else 0.0


def output_errors(graph, loaded, xs: list[np.ndarray]) -> list[float]:
    """The bound for each model output of ``graph``, with the ranges of Keras's layer outputs on ``xs``."""
    keras_out = loaded.layer_outputs([x.astype(np.float32) for x in xs] if len(xs) > 1 else xs[0].astype(np.float32))
    input_layers = {lay.name: lay for lay in graph.get_layers() if lay.class_name in ('Input', 'InputLayer')}
    names = [input_layers[n].outputs[0] for n in graph.inputs if n in input_layers]
    err = explained_errors(graph, keras_out, dict(zip(names, xs)))
    return [err.get(name, 0.0) for name in graph.outputs]


def explained_errors(graph, keras_out: dict[str, np.ndarray], inputs: dict[str, np.ndarray]) -> dict[str, float]:
    """Output variable name -> the bound above, for every layer of ``graph`` (hls4ml's ModelGraph).
    ``keras_out``: Keras layer outputs (fpgaml's ``layer_outputs``); ``inputs``: input variable name -> data."""
    err: dict[str, float] = {name: 0.0 for name in inputs}
    amax: dict[str, float] = {name: float(np.max(np.abs(x))) if x.size else 0.0 for name, x in inputs.items()}
    for layer in graph.get_layers():
        ins = [i for i in layer.inputs if i in err]
        e_in = max((err[i] for i in ins), default=0.0)
        x_max = max((amax.get(i, 0.0) for i in ins), default=0.0)
        out_var = layer.get_output_variable()
        s_out = _step(out_var.type.precision)
        cls = layer.class_name
        act = str(layer.get_attr('activation', '') or '').lower()
        if cls in ('Input', 'InputLayer'):
            continue  # error 0, range from the data (above)
        elif cls in RECURRENT:
            e = _recurrent(layer, e_in, x_max, s_out)
        elif 'weight' in getattr(layer, 'weights', {}) or 'scale' in getattr(layer, 'weights', {}):
            gain, dw = _dense_terms(layer, 'weight' if 'weight' in layer.weights else 'scale', x_max)
            e = gain * e_in + dw + _bias_error(layer) + _type_step(layer, 'accum_t') + s_out
        elif cls in MERGE_SUM:
            e = sum(err[i] for i in ins) / (len(ins) if cls == 'Average' else 1) + s_out
        elif cls in ('Multiply', 'Dot'):
            n = int(np.prod(layer.get_input_variable(ins[0]).shape[-1:])) if cls == 'Dot' and ins else 1
            # each factor's error times the other factors' range (by position: Dot(d, d) squares one tensor)
            others = [max(amax.get(b, 0.0) for q, b in enumerate(ins) if q != p) for p in range(len(ins))]
            e = n * sum(err[a] * o for a, o in zip(ins, others)) if len(ins) > 1 else e_in
            e += _type_step(layer, 'accum_t') + s_out
        elif cls in MERGE_MAX:
            e = e_in
        elif act in TABLES or cls == 'Softmax':
            e = _table(layer, 'softmax' if cls == 'Softmax' else act, e_in, x_max, s_out)
        else:  # ReLU / linear / leaky activations, pooling, reshapes, padding, ...: passed on, then truncated
            slope = float(layer.get_attr('activ_param', 1.0) or 1.0) if act in ('leaky_relu', 'leakyrelu') else 1.0
            e = max(1.0, abs(slope)) * e_in + (s_out if cls not in ('Reshape', 'Flatten', 'Transpose') else 0.0)
        t = _fixed(out_var.type.precision)
        if t is not None:  # the firmware's value and Keras's both lie in the type's range (a quantizer's too)
            e = min(e, t.max_value - t.min_value)
        for name in layer.outputs:
            err[name] = e
            ref = keras_out.get(layer.name)
            amax[name] = (
                float(np.max(np.abs(ref))) if ref is not None and np.size(ref) else _range_after(layer, act, x_max)
            )
    return err


def _range_after(layer, act: str, x_max: float) -> float:
    bound = TABLES.get('softmax' if layer.class_name == 'Softmax' else act, (0, 0, None))[2]
    return bound / (2 if bound == 2.0 else 1) if bound is not None else x_max


def _table(layer, act: str, e_in: float, x_max: float, s_out: float) -> float:
    """A lookup-table activation: slope x (input error + the table's input resolution) + the entry's step."""
    slope, span, out_range = TABLES[act]
    size = int(layer.get_attr('table_size', 1024) or 1024)
    if act == 'softmax':
        # exp(x - max) from a table indexed over the input type's range (latency) or inp_norm_t's (stable),
        # summed over n values and inverted from a second table
        norm = layer.get_attr('inp_norm_t')
        stable = str(layer.get_attr('implementation', 'stable')).lower() == 'stable'
        t = _fixed(norm.precision if stable and norm is not None else layer.get_input_variable().type.precision)
        span = (t.max_value - t.min_value) if t is not None else 2 * x_max
        n = int(layer.get_output_variable().shape[-1])
        table_steps = n * _type_step(layer, 'exp_table_t') + _type_step(layer, 'inv_table_t')
    else:
        table_steps = _type_step(layer, 'table_t')
    e = slope * (e_in + span / size) + table_steps + s_out
    return min(e, out_range) if out_range is not None else e


def _recurrent(layer, e_in: float, x_max: float, s_out: float) -> float:
    """The dense rule per time step; a Bidirectional layer: the larger of its two directions."""
    if layer.class_name == 'Bidirectional':
        return max(_recurrent_cell(layer, d, e_in, x_max, s_out) for d in ('forward_', 'backward_'))
    return _recurrent_cell(layer, '', e_in, x_max, s_out)


def _recurrent_cell(layer, prefix: str, e_in: float, x_max: float, s_out: float) -> float:
    """One direction of a recurrent layer over its time steps. The input path is bounded as a Dense layer; the
    state path is not: the worst-case sum of |U| over the state (above 1 for any trained cell) makes a
    first-order bound grow without limit over the steps. There the state's error is propagated root-sum-square
    (the rounding errors of different state elements are independent): the recurrent kernel's gain is the largest
    sqrt(sum u^2) into one gate, times the steepest gate slope on that path (tanh: 1 for the candidate, sigmoid
    gates 1/4, both multiplied by a gate output below 1). Every step adds its own rounding (input path, weights,
    tables, accumulator, result) and the state stays within the tanh range (error at most 2)."""
    gain_x, dw_x = _dense_terms(layer, f'{prefix}weight', x_max)
    u, du = _weight(layer, f'{prefix}recurrent_weight')
    if u is not None and u.size:
        shape = (-1, u.shape[-1]) if u.ndim > 1 else (-1, 1)
        gain_h = float(np.sqrt((u.reshape(shape) ** 2).sum(axis=0)).max())
        dw_h = float(du.reshape(shape).sum(axis=0).max())
    else:
        gain_h, dw_h = 0.0, 0.0
    db = _bias_error(layer, f'{prefix}bias')
    tables = 16.0 / int(layer.get_attr('table_size', 1024) or 1024) + _type_step(layer, 'table_t')
    steps = int(layer.get_attr('n_timesteps', 1) or 1)
    fresh = gain_x * e_in + dw_x + dw_h + db + tables + _type_step(layer, 'accum_t') + s_out
    e = 0.0
    for _ in range(steps):
        e = min(2.0, float(np.hypot(gain_h * e, fresh)) if gain_h * e > 0 else fresh)
    return e
