// fpgaml: exact quantized activations (QKeras quantized_sigmoid / quantized_tanh, real or hard).
// A quantized activation of a fixed-point input is a monotone step function; fpgaml computes its thresholds
// on the input's grid from QKeras's own float32 function (fpgaml/convert/exact_activation.py) and writes a
// binned table: the input's top bits (code >> shift) select a bin holding at most one threshold; an entry
// stores the bin's output level at its lower edge and the threshold's offset in the bin, and the output is
// that level or the next one (one comparison of the input's low bits). Below the first bin the output is
// the lowest level, above the last the highest. Bit for bit what QKeras computes, for every input code.
//
// TABLE (rendered by fpgaml into the layer's config) provides:
//   typedef ... in_t;  typedef ... out_t;   (the input grid the table was built for; the output grid)
//   static const int shift; static const long long first_bin; static const int n_bins;
//   static const int out_lo, out_hi;        (output codes below / above the table)
//   static int level(int), offset(int), upper(int);
//   static const int mask_bits; static int mask(int);  (where QKeras's float32 function is not monotone to
//   the last bit next to a threshold, bit k of mask chooses upper (1) or level (0) at offset + k)
#ifndef NNET_FPGAML_ACTIVATION_H_
#define NNET_FPGAML_ACTIVATION_H_

#include "ap_fixed.h"
#include "ap_int.h"
#include "hls_stream.h"
#include "nnet_common.h"

namespace nnet {

// The integer code of a fixed-point value (value * 2^fractional bits), sign-extended.
template <class T> struct fpgaml_code;
template <int W, int I, ap_q_mode Q, ap_o_mode O, int N> struct fpgaml_code<ap_fixed<W, I, Q, O, N> > {
    static long long get(ap_fixed<W, I, Q, O, N> x) {
        #pragma HLS INLINE
        ap_int<W> c = x.range(W - 1, 0);
        return c.to_int64();
    }
};
template <int W, int I, ap_q_mode Q, ap_o_mode O, int N> struct fpgaml_code<ap_ufixed<W, I, Q, O, N> > {
    static long long get(ap_ufixed<W, I, Q, O, N> x) {
        #pragma HLS INLINE
        ap_uint<W> c = x.range(W - 1, 0);
        return (long long)c.to_uint64();
    }
};

// The value of an output code on out_T's grid.
template <class out_T> out_T fpgaml_from_code(int code) {
    #pragma HLS INLINE
    out_T r;
    ap_int<out_T::width> c = code;
    r.range(out_T::width - 1, 0) = c.range(out_T::width - 1, 0);
    return r;
}

template <class TABLE> typename TABLE::out_t fpgaml_step(typename TABLE::in_t x) {
    #pragma HLS INLINE
    const long long code = fpgaml_code<typename TABLE::in_t>::get(x);
    const long long bin = (code >> TABLE::shift) - TABLE::first_bin;
    int out;
    if (bin < 0) {
        out = TABLE::out_lo;
    } else if (bin >= TABLE::n_bins) {
        out = TABLE::out_hi;
    } else {
        const long long off = code - ((bin + TABLE::first_bin) << TABLE::shift);
        const long long d = off - TABLE::offset(bin);
        if (d < 0)
            out = TABLE::level(bin);
        else if (d < TABLE::mask_bits && !((TABLE::mask(bin) >> d) & 1))
            out = TABLE::level(bin); // QKeras's float32 function flips back next to this threshold
        else
            out = TABLE::upper(bin);
    }
    return fpgaml_from_code<typename TABLE::out_t>(out);
}

// The activation layer (QActivation(quantized_sigmoid / quantized_tanh)): CONFIG_T is a TABLE plus n_in.
template <class data_T, class res_T, typename CONFIG_T>
void fpgaml_exact_activation(data_T data[CONFIG_T::n_in], res_T res[CONFIG_T::n_in]) {
    #pragma HLS PIPELINE
    for (int i = 0; i < CONFIG_T::n_in; i++) {
        #pragma HLS UNROLL
        res[i] = (res_T)fpgaml_step<CONFIG_T>((typename CONFIG_T::in_t)data[i]);
    }
}

// The same for io_stream: one stream element (data_T::size values) per step, as hls4ml's stream activations.
template <class data_T, class res_T, typename CONFIG_T>
void fpgaml_exact_activation(hls::stream<data_T> &data, hls::stream<res_T> &res) {
FpgamlExactActivationLoop:
    for (int i = 0; i < CONFIG_T::n_in / res_T::size; i++) {
        #pragma HLS PIPELINE
        data_T in_data = data.read();
        res_T out_data;
        PRAGMA_DATA_PACK(out_data)
        for (int j = 0; j < res_T::size; j++) {
            #pragma HLS UNROLL
            out_data[j] = (typename res_T::value_type)fpgaml_step<CONFIG_T>((typename CONFIG_T::in_t)in_data[j]);
        }
        res.write(out_data);
    }
}

} // namespace nnet

#endif
