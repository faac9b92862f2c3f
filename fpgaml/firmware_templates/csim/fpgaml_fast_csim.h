// fpgaml: bit-exact integer fast paths for nnet::dense_latency and nnet::relu, for C-simulation ONLY.
//
// fpgaml compiles its C-simulation library from a private copy of the firmware in which hls4ml's
// nnet::dense_latency and nnet::relu (array and stream versions) call the functions below first (guarded
// by FPGAML_FAST_CSIM and !__SYNTHESIS__); each returns false, and hls4ml's own code runs, for any type
// combination it does not handle. The generated project itself is never changed: Vivado/Vitis synthesis and their
// C-simulation see hls4ml's code exactly as hls4ml wrote it.
//
// What it computes is what hls4ml's dense_latency computes, bit for bit:
//   acc[j] = (accum_t) bias[j] + sum_i (accum_t)(data[i] * weight[i][j])     (accum_t arithmetic)
//   res[j] = nnet::cast<data_T, res_T, CONFIG_T>(acc[j])
// The product of two fixed-point numbers is exact in a 64-bit integer; the cast to accum_t is an
// arithmetic right shift (AP_TRN quantization) or an exact left shift; AP_WRAP overflow is addition
// modulo 2^W, which is associative, so the whole sum may be taken in 64 bits and wrapped once at the end.
// Binary and ternary products (hls4ml's weight_binary, weight_ternary, data_binary, both_binary) are
// integer products of effective values (see product_kind below). Any other case (saturating or rounding
// accumulators, power-of-two or other products, widths that could overflow 64 bits) returns false and
// hls4ml's own ap_fixed code runs instead.
#ifndef FPGAML_FAST_CSIM_H_
#define FPGAML_FAST_CSIM_H_

#ifndef __SYNTHESIS__

#include "ap_fixed.h"
#include "ap_int.h"
#include "hls_stream.h"
#include "nnet_mult.h"
#include <cstdint>
#include <type_traits>
#include <vector>

namespace fpgaml_fast {

// Fixed-point traits: total width, fractional bits, signedness, quantization/overflow modes.
template <int W, int F, bool S, bool INTEGER, ap_q_mode Q, ap_o_mode O, int N> struct fx_traits {
    static constexpr bool ok = W <= 62, integer = INTEGER;
    static constexpr int w = W, f = F, n = N;
    static constexpr bool s = S;
    static constexpr bool trn = Q == AP_TRN, wrap = O == AP_WRAP && N == 0;
    static constexpr ap_q_mode q = Q;
    static constexpr ap_o_mode o = O;
};

template <class T> struct fx : fx_traits<0, 0, false, false, AP_TRN, AP_WRAP, 0> {
    static constexpr bool ok = false; // not a fixed-point type: hls4ml's code runs
};
template <int W, int I, ap_q_mode Q, ap_o_mode O, int N>
struct fx<ap_fixed<W, I, Q, O, N>> : fx_traits<W, W - I, true, false, Q, O, N> {};
template <int W, int I, ap_q_mode Q, ap_o_mode O, int N>
struct fx<ap_ufixed<W, I, Q, O, N>> : fx_traits<W, W - I, false, false, Q, O, N> {};
template <int W> struct fx<ap_int<W>> : fx_traits<W, 0, true, true, AP_TRN, AP_WRAP, 0> {};
template <int W> struct fx<ap_uint<W>> : fx_traits<W, 0, false, true, AP_TRN, AP_WRAP, 0> {};

// The W-bit pattern of x as a (sign-extended) 64-bit integer.
template <class T> inline int64_t raw(const T &x) {
    constexpr int W = fx<T>::w;
    const uint64_t u = static_cast<uint64_t>(x.V.to_uint64()) & ((W == 64) ? ~0ULL : ((1ULL << W) - 1));
    if (fx<T>::s && (u >> (W - 1)) & 1ULL)
        return static_cast<int64_t>(u | ~((1ULL << W) - 1));
    return static_cast<int64_t>(u);
}

// v modulo 2^W, as the W-bit signed / unsigned value (AP_WRAP).
template <int W, bool S> inline int64_t wrap(int64_t v) {
    const uint64_t m = (1ULL << W) - 1;
    uint64_t u = static_cast<uint64_t>(v) & m;
    if (S && (u >> (W - 1)) & 1ULL)
        return static_cast<int64_t>(u | ~m);
    return static_cast<int64_t>(u);
}

template <class T> inline T from_raw(int64_t v) {
    T t;
    t.V = static_cast<unsigned long long>(v); // ap_private keeps the low W bits (sign-extended if signed)
    return t;
}

// Can a value with FROM_W bits, FROM_F of them fractional, be cast to T by cast_raw below?
// (Every quantization mode; overflow modes AP_SAT, AP_SAT_ZERO and AP_WRAP without saturation bits.
// AP_SAT_SYM and AP_WRAP_SM fall back to ap_fixed, and so does a fraction converted to ap_int / ap_uint,
// which C++ truncates toward zero whatever the source's quantization mode.)
template <class T, int FROM_W, int FROM_F> struct castable {
    static constexpr bool value = fx<T>::ok && FROM_W <= 62 && !(fx<T>::integer && FROM_F > 0) && (fx<T>::o == AP_SAT || fx<T>::o == AP_SAT_ZERO ||
                                                                (fx<T>::o == AP_WRAP && fx<T>::n == 0)) &&
                                  (FROM_F >= fx<T>::f || FROM_W + (fx<T>::f - FROM_F) <= 62);
};

// The raw value of T nearest (by T's quantization and overflow modes) to v * 2^-FROM_F:
// ap_fixed's assignment semantics, in integers (checked exhaustively by fpgaml's tests).
template <class T, int FROM_F> inline int64_t cast_raw(int64_t v) {
    typedef fx<T> R;
    constexpr int d = FROM_F - R::f;
    int64_t q;
    if constexpr (d <= 0) {
        q = v * (int64_t(1) << (-d));
    } else {
        const int64_t fl = v >> d; // floor
        const int64_t rem = v & ((int64_t(1) << d) - 1);
        const int64_t half = int64_t(1) << (d - 1);
        if constexpr (R::q == AP_TRN) {
            q = fl;
        } else if constexpr (R::q == AP_TRN_ZERO) {
            q = (v < 0 && rem) ? fl + 1 : fl;
        } else if constexpr (R::q == AP_RND) {
            q = rem >= half ? fl + 1 : fl;
        } else if constexpr (R::q == AP_RND_MIN_INF) {
            q = rem > half ? fl + 1 : fl;
        } else if constexpr (R::q == AP_RND_ZERO) {
            q = (rem > half || (rem == half && v < 0)) ? fl + 1 : fl;
        } else if constexpr (R::q == AP_RND_INF) {
            q = (rem > half || (rem == half && v >= 0)) ? fl + 1 : fl;
        } else { // AP_RND_CONV: half to even
            q = (rem > half || (rem == half && (fl & 1))) ? fl + 1 : fl;
        }
    }
    constexpr int64_t lo = R::s ? -(int64_t(1) << (R::w - 1)) : 0;
    constexpr int64_t hi = R::s ? (int64_t(1) << (R::w - 1)) - 1 : (int64_t(1) << R::w) - 1;
    if constexpr (R::o == AP_SAT) {
        return q < lo ? lo : (q > hi ? hi : q);
    } else if constexpr (R::o == AP_SAT_ZERO) {
        return (q < lo || q > hi) ? 0 : q;
    } else {
        return wrap<R::w, R::s>(q);
    }
}

template <class data_T, class res_T, typename CONFIG_T>
inline bool relu(data_T data[CONFIG_T::n_in], res_T res[CONFIG_T::n_in]) {
    if constexpr (!(fx<data_T>::ok && castable<res_T, fx<data_T>::w, fx<data_T>::f>::value)) {
        return false;
    } else {
        const res_T zero = from_raw<res_T>(0);
        for (int i = 0; i < CONFIG_T::n_in; i++) {
            const int64_t v = raw(data[i]);
            res[i] = v > 0 ? from_raw<res_T>(cast_raw<res_T, fx<data_T>::f>(v)) : zero;
        }
        return true;
    }
}

template <class data_T, class res_T, typename CONFIG_T>
inline bool relu(hls::stream<data_T> &data, hls::stream<res_T> &res) {
    typedef typename data_T::value_type d_T;
    typedef typename res_T::value_type r_T;
    if constexpr (!(fx<d_T>::ok && castable<r_T, fx<d_T>::w, fx<d_T>::f>::value) || data_T::size != res_T::size) {
        return false;
    } else {
        const r_T zero = from_raw<r_T>(0);
        for (int i = 0; i < CONFIG_T::n_in / res_T::size; i++) {
            data_T in_data = data.read();
            res_T out_data;
            for (int j = 0; j < res_T::size; j++) {
                const int64_t v = raw(in_data[j]);
                out_data[j] = v > 0 ? from_raw<r_T>(cast_raw<r_T, fx<d_T>::f>(v)) : zero;
            }
            res.write(out_data);
        }
        return true;
    }
}

constexpr int bits_for(long n) { return n <= 1 ? 1 : 1 + bits_for((n + 1) / 2); }

// hls4ml's product kinds (nnet_mult.h), each an integer product of "effective" data and weight values:
//   mult            x * w
//   weight_binary   w == 0 ? -x : x          (effective weight -1 / +1, no fractional bits)
//   weight_ternary  w == 0 ? 0 : w == -1 ? -x : x
//   data_binary     x == 0 ? -w : w          (effective data -1 / +1)
//   both_binary     x == w (0 or 1)          (= (1 + x' w') / 2 with x' = 2x - 1, w' = 2w - 1)
enum product_kind { K_NONE, K_MULT, K_WBIN, K_WTERN, K_DBIN, K_BBIN };
template <class Prod> struct pkind { static constexpr product_kind k = K_NONE; };
template <class x_T, class w_T> struct pkind<nnet::product::mult<x_T, w_T>> { static constexpr product_kind k = K_MULT; };
template <class x_T, class w_T> struct pkind<nnet::product::weight_binary<x_T, w_T>> {
    static constexpr product_kind k = K_WBIN;
};
template <class x_T, class w_T> struct pkind<nnet::product::weight_ternary<x_T, w_T>> {
    static constexpr product_kind k = K_WTERN;
};
template <class x_T, class w_T> struct pkind<nnet::product::data_binary<x_T, w_T>> {
    static constexpr product_kind k = K_DBIN;
};
template <class x_T, class w_T> struct pkind<nnet::product::both_binary<x_T, w_T>> {
    static constexpr product_kind k = K_BBIN;
};

template <class data_T, class res_T, typename CONFIG_T> struct dense_plan {
    typedef typename CONFIG_T::weight_t w_T;
    typedef typename CONFIG_T::accum_t a_T;
    typedef fx<data_T> X;
    typedef fx<w_T> Wt;
    typedef fx<a_T> A;
    static constexpr product_kind kind = pkind<typename CONFIG_T::template product<data_T, w_T>>::k;
    static constexpr bool one_bit_data = X::w == 1 && !X::s, one_bit_weight = Wt::w == 1 && !Wt::s;
    static constexpr bool kind_ok = kind == K_MULT || kind == K_WTERN || (kind == K_WBIN && one_bit_weight) ||
                                    (kind == K_DBIN && one_bit_data) ||
                                    (kind == K_BBIN && one_bit_data && one_bit_weight);
    static constexpr bool types_ok = X::ok && Wt::ok && A::ok && kind_ok;
    static constexpr int fx_eff = (kind == K_DBIN || kind == K_BBIN) ? 0 : X::f;
    static constexpr int fw_eff = (kind == K_WBIN || kind == K_WTERN || kind == K_BBIN) ? 0 : Wt::f;
    static constexpr int fp = types_ok ? fx_eff + fw_eff : 0; // fractional bits of the exact product
    static constexpr int fa = types_ok ? A::f : 0;
    static constexpr int up = fa > fp ? fa - fp : 0;
    static constexpr int down = fp > fa ? fp - fa : 0;
    static constexpr int logn = bits_for(CONFIG_T::n_in + 1);
    static constexpr bool ok = types_ok && A::wrap && (down == 0 || A::trn) &&
                               (X::w + Wt::w + 2 + up + logn <= 62) && (A::w + logn + 1 <= 62);
    // the result cast: nnet::cast is (res_T) acc except for both_binary, which it rescales
    static constexpr bool fast_result = kind != K_BBIN && castable<res_T, A::w, A::f>::value;

    static int64_t weight(const w_T &w) {
        if constexpr (kind == K_WBIN || kind == K_BBIN)
            return w == 0 ? -1 : 1;
        else if constexpr (kind == K_WTERN)
            return w == 0 ? 0 : (w == -1 ? -1 : 1);
        else
            return raw(w);
    }
    static int64_t datum(const data_T &x) {
        if constexpr (kind == K_DBIN || kind == K_BBIN)
            return x == 0 ? -1 : 1;
        else
            return raw(x);
    }
    static int64_t product(int64_t x, int64_t w) {
        if constexpr (kind == K_BBIN)
            return (1 + x * w) >> 1;
        else
            return x * w;
    }
};

template <class data_T, class res_T, typename CONFIG_T>
inline bool dense_latency(data_T data[CONFIG_T::n_in], res_T res[CONFIG_T::n_out],
                          typename CONFIG_T::weight_t weights[CONFIG_T::n_in * CONFIG_T::n_out],
                          typename CONFIG_T::bias_t biases[CONFIG_T::n_out]) {
    typedef dense_plan<data_T, res_T, CONFIG_T> P;
    if constexpr (!P::ok) {
        return false;
    } else {
        typedef typename P::a_T a_T;
        constexpr int NI = CONFIG_T::n_in, NO = CONFIG_T::n_out;
        // Integer weights and biases, converted once per weight array: the firmware's weight arrays never
        // change after the C-simulation has loaded them (hls4ml loads them once, on the first call), and the
        // pointer is checked in case another array comes with the same config.
        thread_local std::vector<int64_t> w, b;
        thread_local const void *seen = nullptr;
        if (seen != static_cast<const void *>(weights) || w.empty()) {
            w.resize(static_cast<size_t>(NI) * NO);
            b.resize(NO);
            for (int k = 0; k < NI * NO; k++)
                w[k] = P::weight(weights[k]);
            for (int j = 0; j < NO; j++)
                b[j] = raw(static_cast<a_T>(biases[j]));
            seen = static_cast<const void *>(weights);
        }
        int64_t acc[NO];
        for (int j = 0; j < NO; j++)
            acc[j] = b[j];
        for (int i = 0; i < NI; i++) {
            const int64_t x = P::datum(data[i]);
            if (P::kind != K_BBIN && x == 0)
                continue; // (a zero product is zero after any shift)
            const int64_t *wi = w.data() + static_cast<size_t>(i) * NO;
            if (P::down == 0) {
                for (int j = 0; j < NO; j++)
                    acc[j] += P::product(x, wi[j]) * (int64_t(1) << P::up); // exact: accum_t has more fraction
            } else {
                for (int j = 0; j < NO; j++)
                    acc[j] += P::product(x, wi[j]) >> P::down; // arithmetic shift: floor, as AP_TRN
            }
        }
        for (int j = 0; j < NO; j++) {
            const int64_t a = wrap<P::A::w, P::A::s>(acc[j]);
            if constexpr (P::fast_result)
                res[j] = from_raw<res_T>(cast_raw<res_T, P::A::f>(a)); // = nnet::cast: (res_T) acc
            else
                res[j] = nnet::cast<data_T, res_T, CONFIG_T>(from_raw<a_T>(a));
        }
        return true;
    }
}

} // namespace fpgaml_fast

#endif // __SYNTHESIS__
#endif // FPGAML_FAST_CSIM_H_
