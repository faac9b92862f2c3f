// fpgaml: exact product for power-of-two (QKeras quantized_po2) weights.
// hls4ml 1.3.0's nnet::product::weight_exponential shifts into
// ap_fixed<2*(We+Wx), We+Wx>, which drops fractional bits when an exponent is below -(We+Wx-Fx)
// (e.g. ufixed<2,0> inputs with 2^-8 weights). This type holds every shift of x by an exponent of
// We bits exactly, so the firmware computes what the quantized Keras model computes. Synthesizes
// to the same shifts and wires; only the declared width differs.
#ifndef NNET_FPGAML_PO2_H_
#define NNET_FPGAML_PO2_H_

#include "nnet_mult.h"

namespace nnet {
namespace product {

template <class x_T, class w_T> class weight_exponential_exact : public Product {
  public:
    static const int E = 1 << (decltype(w_T::weight)::width - 1); // largest |exponent| (+1)
    using r_T = ap_fixed<x_T::width + 2 * E + 1, x_T::iwidth + E + 1>;
    static r_T product(x_T a, w_T w) {
        #pragma HLS INLINE
        r_T y = static_cast<r_T>(a) << w.weight;
        return w.sign == 1 ? y : static_cast<r_T>(-y);
    }
};

} // namespace product
} // namespace nnet

#endif
