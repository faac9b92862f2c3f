"""Element-wise activations (ReLU and friends computed exactly; sigmoid, tanh, ELU ... as lookup tables).
hls4ml splits a layer's ``activation=`` argument into a separate "<layer>_<activation>" layer: its Keras
reference is that layer's post-activation output. The exact_passthrough pass types float ReLU/linear
activations as their input in bit-exact mode; exact_quantized_activations computes QActivation(quantized_sigmoid /
quantized_tanh) as exact threshold tables."""

from . import Family

_CLASSES = ('Activation', 'ReLU', 'ParametrizedActivation', 'PReLU', 'HardActivation', 'LeakyReLU',
            'ThresholdedReLU', 'ELU', 'UnaryLUT', 'TernaryTanh')

FAMILY = Family(
    name='activations',
    hls_classes=_CLASSES,
    costs={c: 'activation' for c in _CLASSES},
    passes=('exact_passthrough:ExactPassthrough', 'exact_quantized_activations:ExactQuantizedActivations'),
    keras_reference='fused',
)
