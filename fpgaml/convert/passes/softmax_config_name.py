"""The config struct of a Keras ``Softmax`` layer.

hls4ml names a softmax's config struct ``{activation}_config{index}`` (``SoftmaxConfigTemplate``) but its call
always passes ``softmax_config{index}`` (``SoftmaxFunctionTemplate``). ``Activation('softmax')`` has the
activation ``softmax``, so the two agree; the layer ``Softmax()`` gets its class name, ``Softmax``, as its
activation (the Keras parser's ``layer['activation'] = layer['class_name']``), and the project declares
``Softmax_config4`` where the top function uses ``softmax_config4``: a C++ compile error, io_parallel and
io_stream alike (in hls4ml alone too). The pass gives such a layer the activation its call names, so the struct
is declared under the name the call uses; nothing else reads the spelling (hls4ml and fpgaml lowercase it).

Upstream: the function template should name the config ``{activation}_config{index}`` as the other activations
do (or the Keras parser should write ``softmax``)."""

from __future__ import annotations

import re

from . import Change, FlowContext, Pass


class SoftmaxConfigName(Pass):
    name = 'softmax_config_name'
    precondition = (
        "hls4ml renders a Softmax layer's call (function_cpp, passing <name>_config<index>) and its "
        'config (config_cpp, "struct {activation}_config<index>") when the graph is built'
    )
    summary = "a Keras Softmax() layer's config struct is declared under the name its call uses"

    def run(self, ctx: FlowContext) -> list[Change]:
        changes = []
        for node in ctx.graph.get_layers():
            if node.class_name != 'Softmax':
                continue
            act, call, config = (node.get_attr(a) for a in ('activation', 'function_cpp', 'config_cpp'))
            if not isinstance(act, str) or not isinstance(call, str) or not isinstance(config, str):
                raise self.broken(node.name, 'no "activation", "function_cpp" or "config_cpp" attribute')
            used = re.search(rf'\b(\w+)_config{node.index}\b', call)
            declared = re.search(rf'\bstruct\s+(\w+)_config{node.index}\b', config)
            if used is None or declared is None or declared.group(1) != act:
                raise self.broken(
                    node.name,
                    f'call {call.strip()!r}, config declaring '
                    f'{declared.group(0) if declared else "no struct"!r}, activation {act!r}',
                )
            if used.group(1) != act:
                node.set_attr('activation', used.group(1))
                changes.append(
                    Change(
                        node.name,
                        f'config struct {used.group(1)}_config{node.index}, the name its '
                        f'call uses (hls4ml declares {act}_config{node.index})',
                    )
                )
        return changes
