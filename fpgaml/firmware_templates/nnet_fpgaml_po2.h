// fpgaml: exact product for power-of-two (QKeras quantized_po2) weights.
// hls4ml 1.3.0's nnet::product::weight_exponential shifts into
// ap_fixed<2*(We+Wx), We+Wx>, which drops fractional bits when an exponent is below -(We+Wx-Fx)
// (e.g. ufixed<2,0> inputs with 2^-8 weights). This type holds x * 2^e exactly (and its negation) for
// every exponent e in [EMIN, EMAX], so the firmware computes what the quantized Keras model computes.
// fpgaml writes each layer's EMIN/EMAX from the exponents of the weights it actually has; the defaults,
// the exponent type's whole range, are only for layers fpgaml does not size (and fail to compile,
// rather than misbehave, when that range is past ap_fixed's width limit). Synthesizes to the same
// shifts and wires; only the declared width differs.
#ifndef NNET_FPGAML_PO2_H_
#define NNET_FPGAML_PO2_H_

#include "nnet_mult.h"

namespace nnet {
namespace product {

template <class x_T, class w_T, int EMIN = -(1 << (decltype(w_T::weight)::width - 1)),
          int EMAX = (1 << (decltype(w_T::weight)::width - 1)) - 1>
class weight_exponential_exact : public Product {
  public:
    static const int F = x_T::width - x_T::iwidth + (EMIN < 0 ? -EMIN : 0); // fractional bits
    static const int I = x_T::iwidth + (EMAX > 0 ? EMAX : 0) + 1;           // integer bits (+1: negation)
    static_assert(I + F <= AP_INT_MAX_W, "fpgaml: power-of-two product wider than ap_fixed allows "
                                         "(limit the weights' exponent range)");
    using r_T = ap_fixed<I + F, I>;
    static r_T product(x_T a, w_T w) {
        #pragma HLS INLINE
        r_T y = static_cast<r_T>(a) << w.weight;
        return w.sign == 1 ? y : static_cast<r_T>(-y);
    }
};

} // namespace product
} // namespace nnet

#endif
