// Checks fpgaml's C-simulation fast paths (firmware_templates/csim/) against hls4ml's own code, bit for bit.
// Built and run by tests/test_fast_csim.py with hls4ml's ap_types and nnet_utils on the include path.
// Prints one line per failure and "checked N" at the end; exits non-zero on any failure.
#include "ap_fixed.h"
#include "ap_int.h"
#include "nnet_utils/nnet_activation.h"
#include "nnet_utils/nnet_dense_latency.h"
#include "nnet_utils/nnet_mult.h"
#include "fpgaml_fast_csim.h"

#include <cstdio>
#include <random>

static long checked = 0, failed = 0;

template <class T> static int64_t bits(const T &x) { return fpgaml_fast::raw(x); }

// Every value of From cast to To: ap_fixed assignment vs fpgaml_fast::cast_raw.
template <class From, class To> static void check_cast(const char *name) {
    typedef fpgaml_fast::fx<From> F;
    static_assert(fpgaml_fast::castable<To, F::w, F::f>::value, "pair not handled by the fast path");
    const int64_t lo = F::s ? -(int64_t(1) << (F::w - 1)) : 0, hi = F::s ? (int64_t(1) << (F::w - 1)) : (int64_t(1) << F::w);
    for (int64_t v = lo; v < hi; v++) {
        From x = fpgaml_fast::from_raw<From>(v);
        To ref = x;
        int64_t fast = fpgaml_fast::cast_raw<To, F::f>(v);
        checked++;
        if (bits(ref) != fast) {
            if (failed++ < 40)
                std::printf("cast %s: raw %lld -> ap_fixed %lld, fast %lld\n", name, (long long)v, (long long)bits(ref),
                            (long long)fast);
        }
    }
}

template <class data_T, class weight_T, class accum_T, class res_T, unsigned NI, unsigned NO,
          template <class, class> class PRODUCT>
struct dense_cfg {
    static const unsigned n_in = NI, n_out = NO, reuse_factor = 1, strategy = nnet::latency, n_zeros = 0,
                          multiplier_limit = NI * NO;
    static const bool store_weights_in_bram = false;
    typedef accum_T accum_t;
    typedef weight_T weight_t;
    typedef weight_T bias_t;
    typedef ap_uint<1> index_t;
    template <class x_T, class y_T> using product = PRODUCT<x_T, y_T>;
};

// hls4ml's dense_latency vs fpgaml_fast::dense_latency on random data, weights and biases (full range:
// overflowing accumulators included).
template <class data_T, class weight_T, class accum_T, class res_T, unsigned NI, unsigned NO,
          template <class, class> class PRODUCT = nnet::product::mult>
static void check_dense(const char *name, unsigned seed) {
    typedef dense_cfg<data_T, weight_T, accum_T, res_T, NI, NO, PRODUCT> C;
    static_assert(fpgaml_fast::dense_plan<data_T, res_T, C>::ok, "dense case not handled by the fast path");
    std::mt19937_64 rng(seed);
    // a fresh weight array per repetition: the fast path converts a layer's weights once per array, as the
    // firmware's weights never change after the C-simulation has loaded them
    static weight_T w_all[200][NI * NO], b[NO];
    auto rnd = [&](auto t) {
        typedef decltype(t) T;
        typedef fpgaml_fast::fx<T> X;
        uint64_t u = rng() & ((1ULL << X::w) - 1);
        return fpgaml_fast::from_raw<T>(fpgaml_fast::wrap<X::w, X::s>((int64_t)u));
    };
    for (int rep = 0; rep < 200; rep++) {
        weight_T *w = w_all[rep];
        for (unsigned k = 0; k < NI * NO; k++)
            w[k] = (rep % 3 == 0 && k % 4 == 0) ? weight_T(0) : rnd(weight_T());
        for (unsigned k = 0; k < NO; k++)
            b[k] = rnd(weight_T());
        data_T x[NI];
        for (unsigned k = 0; k < NI; k++)
            x[k] = (rep % 2 == 0 && k % 3 == 0) ? data_T(0) : rnd(data_T());
        res_T ref[NO], fast[NO];
        nnet::dense_latency<data_T, res_T, C>(x, ref, w, b);
        bool ok = fpgaml_fast::dense_latency<data_T, res_T, C>(x, fast, w, b);
        for (unsigned j = 0; j < NO; j++) {
            checked++;
            if (!ok || bits(ref[j]) != bits(fast[j])) {
                if (failed++ < 20)
                    std::printf("dense %s: rep %d out %u: hls4ml %lld, fast %lld\n", name, rep, j, (long long)bits(ref[j]),
                                (long long)bits(fast[j]));
            }
        }
    }
}

template <class data_T, class res_T> struct relu_cfg {
    static const unsigned n_in = 64;
};

template <class data_T, class res_T> static void check_relu(const char *name) {
    typedef fpgaml_fast::fx<data_T> F;
    const int64_t lo = F::s ? -(int64_t(1) << (F::w - 1)) : 0, hi = F::s ? (int64_t(1) << (F::w - 1)) : (int64_t(1) << F::w);
    data_T x[64];
    res_T ref[64], fast[64];
    for (int64_t base = lo; base < hi; base += 64) {
        for (int k = 0; k < 64; k++)
            x[k] = fpgaml_fast::from_raw<data_T>(base + k < hi ? base + k : lo);
        nnet::relu<data_T, res_T, relu_cfg<data_T, res_T>>(x, ref);
        fpgaml_fast::relu<data_T, res_T, relu_cfg<data_T, res_T>>(x, fast);
        for (int k = 0; k < 64; k++) {
            checked++;
            if (bits(ref[k]) != bits(fast[k]) && failed++ < 20)
                std::printf("relu %s: raw %lld: hls4ml %lld, fast %lld\n", name, (long long)(base + k),
                            (long long)bits(ref[k]), (long long)bits(fast[k]));
        }
    }
}


int main() {
    // every quantization mode, narrowing and widening, signed and unsigned, each overflow mode handled
    {
        typedef ap_fixed<12, 4> F_;
        typedef ap_fixed<6, 2, AP_TRN, AP_WRAP> T_;
        check_cast<F_, T_>("ap_fixed<12, 4> -> ap_fixed<6, 2, AP_TRN, AP_WRAP>");
    }
    {
        typedef ap_fixed<12, 4> F_;
        typedef ap_fixed<6, 2, AP_TRN_ZERO, AP_SAT> T_;
        check_cast<F_, T_>("ap_fixed<12, 4> -> ap_fixed<6, 2, AP_TRN_ZERO, AP_SAT>");
    }
    {
        typedef ap_fixed<12, 4> F_;
        typedef ap_fixed<6, 2, AP_RND, AP_SAT> T_;
        check_cast<F_, T_>("ap_fixed<12, 4> -> ap_fixed<6, 2, AP_RND, AP_SAT>");
    }
    {
        typedef ap_fixed<12, 4> F_;
        typedef ap_fixed<6, 2, AP_RND_ZERO, AP_SAT> T_;
        check_cast<F_, T_>("ap_fixed<12, 4> -> ap_fixed<6, 2, AP_RND_ZERO, AP_SAT>");
    }
    {
        typedef ap_fixed<12, 4> F_;
        typedef ap_fixed<6, 2, AP_RND_MIN_INF, AP_SAT> T_;
        check_cast<F_, T_>("ap_fixed<12, 4> -> ap_fixed<6, 2, AP_RND_MIN_INF, AP_SAT>");
    }
    {
        typedef ap_fixed<12, 4> F_;
        typedef ap_fixed<6, 2, AP_RND_INF, AP_SAT> T_;
        check_cast<F_, T_>("ap_fixed<12, 4> -> ap_fixed<6, 2, AP_RND_INF, AP_SAT>");
    }
    {
        typedef ap_fixed<12, 4> F_;
        typedef ap_fixed<6, 2, AP_RND_CONV, AP_SAT> T_;
        check_cast<F_, T_>("ap_fixed<12, 4> -> ap_fixed<6, 2, AP_RND_CONV, AP_SAT>");
    }
    {
        typedef ap_fixed<12, 4> F_;
        typedef ap_fixed<6, 2, AP_RND_CONV, AP_WRAP> T_;
        check_cast<F_, T_>("ap_fixed<12, 4> -> ap_fixed<6, 2, AP_RND_CONV, AP_WRAP>");
    }
    {
        typedef ap_fixed<12, 4> F_;
        typedef ap_fixed<7, 3, AP_RND, AP_SAT_ZERO> T_;
        check_cast<F_, T_>("ap_fixed<12, 4> -> ap_fixed<7, 3, AP_RND, AP_SAT_ZERO>");
    }
    {
        typedef ap_fixed<12, 4> F_;
        typedef ap_ufixed<6, 0, AP_RND, AP_SAT> T_;
        check_cast<F_, T_>("ap_fixed<12, 4> -> ap_ufixed<6, 0, AP_RND, AP_SAT>");
    }
    {
        typedef ap_fixed<12, 4> F_;
        typedef ap_ufixed<6, 2, AP_RND_CONV, AP_SAT> T_;
        check_cast<F_, T_>("ap_fixed<12, 4> -> ap_ufixed<6, 2, AP_RND_CONV, AP_SAT>");
    }
    {
        typedef ap_fixed<12, 4> F_;
        typedef ap_ufixed<6, 2, AP_TRN, AP_WRAP> T_;
        check_cast<F_, T_>("ap_fixed<12, 4> -> ap_ufixed<6, 2, AP_TRN, AP_WRAP>");
    }
    {
        typedef ap_fixed<12, 4> F_;
        typedef ap_ufixed<5, 3, AP_RND_INF, AP_SAT_ZERO> T_;
        check_cast<F_, T_>("ap_fixed<12, 4> -> ap_ufixed<5, 3, AP_RND_INF, AP_SAT_ZERO>");
    }
    {
        typedef ap_ufixed<12, 5> F_;
        typedef ap_fixed<8, 3, AP_RND, AP_SAT> T_;
        check_cast<F_, T_>("ap_ufixed<12, 5> -> ap_fixed<8, 3, AP_RND, AP_SAT>");
    }
    {
        typedef ap_ufixed<12, 5> F_;
        typedef ap_ufixed<4, 1, AP_RND_ZERO, AP_WRAP> T_;
        check_cast<F_, T_>("ap_ufixed<12, 5> -> ap_ufixed<4, 1, AP_RND_ZERO, AP_WRAP>");
    }
    {
        typedef ap_fixed<10, 2> F_;
        typedef ap_fixed<16, 6> T_;
        check_cast<F_, T_>("ap_fixed<10, 2> -> ap_fixed<16, 6>");
    }                    // widening: exact
    {
        typedef ap_fixed<10, 2> F_;
        typedef ap_fixed<14, 1, AP_RND, AP_SAT> T_;
        check_cast<F_, T_>("ap_fixed<10, 2> -> ap_fixed<14, 1, AP_RND, AP_SAT>");
    }    // more fraction, fewer integer bits
    {
        typedef ap_fixed<10, 8> F_;
        typedef ap_fixed<8, 10, AP_RND, AP_SAT> T_;
        check_cast<F_, T_>("ap_fixed<10, 8> -> ap_fixed<8, 10, AP_RND, AP_SAT>");
    }    // negative fractional bits in the target
    {
        typedef ap_fixed<10, -2> F_;
        typedef ap_ufixed<4, -1, AP_RND_CONV, AP_SAT> T_;
        check_cast<F_, T_>("ap_fixed<10, -2> -> ap_ufixed<4, -1, AP_RND_CONV, AP_SAT>");
    }
    {
        typedef ap_int<10> F_;
        typedef ap_fixed<6, 4, AP_RND, AP_SAT> T_;
        check_cast<F_, T_>("ap_int<10> -> ap_fixed<6, 4, AP_RND, AP_SAT>");
    }
    {
        typedef ap_uint<9> F_;
        typedef ap_int<5> T_;
        check_cast<F_, T_>("ap_uint<9> -> ap_int<5>");
    }
    static_assert(!fpgaml_fast::castable<ap_uint<4>, 14, 7>::value, "fraction -> integer truncates toward zero");

    check_dense<ap_fixed<16, 6>, ap_fixed<6, 1>, ap_fixed<27, 12>, ap_ufixed<6, 0, AP_RND, AP_SAT>, 16, 64>("mlp-like", 1);
    check_dense<ap_ufixed<6, 0>, ap_fixed<6, 1>, ap_fixed<10, 4>, ap_fixed<8, 3, AP_RND_CONV, AP_SAT>, 64, 32>(
        "overflowing accumulator", 2);
    check_dense<ap_ufixed<6, 2>, ap_fixed<8, 2>, ap_fixed<12, 9>, ap_fixed<16, 6>, 27, 16>("truncating accumulator", 3);
    check_dense<ap_fixed<8, 3>, ap_fixed<8, 1>, ap_fixed<30, 14>, ap_fixed<12, 4, AP_TRN, AP_WRAP>, 9, 5>(
        "wider accumulator fraction", 4);
    check_dense<ap_fixed<18, 6>, ap_fixed<18, 6>, ap_ufixed<20, 10>, ap_ufixed<8, 4, AP_RND, AP_SAT_ZERO>, 8, 7>(
        "unsigned accumulator", 5);
    check_dense<ap_int<8>, ap_int<4>, ap_int<16>, ap_fixed<10, 10, AP_RND, AP_SAT>, 12, 3>("integers", 6);
    // binary and ternary products (hls4ml's nnet::product kinds)
    check_dense<ap_fixed<16, 6>, ap_uint<1>, ap_fixed<20, 10>, ap_fixed<16, 6>, 16, 32, nnet::product::weight_binary>(
        "weight_binary", 7);
    check_dense<ap_ufixed<8, 2>, ap_uint<1>, ap_fixed<9, 5>, ap_fixed<6, 3, AP_RND, AP_SAT>, 40, 8,
                nnet::product::weight_binary>("weight_binary, overflowing", 8);
    check_dense<ap_fixed<16, 6>, ap_int<2>, ap_fixed<20, 10>, ap_fixed<8, 4, AP_RND_CONV, AP_SAT>, 16, 32,
                nnet::product::weight_ternary>("weight_ternary", 9);
    check_dense<ap_uint<1>, ap_fixed<6, 1>, ap_fixed<14, 8>, ap_fixed<12, 6, AP_RND, AP_SAT>, 64, 5,
                nnet::product::data_binary>("data_binary", 10);
    check_dense<ap_uint<1>, ap_uint<1>, ap_int<10>, ap_int<10>, 64, 16, nnet::product::both_binary>("both_binary", 11);
    check_dense<ap_uint<1>, ap_uint<1>, ap_fixed<12, 8>, ap_fixed<8, 8>, 100, 7, nnet::product::both_binary>(
        "both_binary, fractional accumulator", 12);

    check_relu<ap_fixed<12, 5>, ap_ufixed<6, 0, AP_RND, AP_SAT>>("fixed<12,5> -> ufixed<6,0,RND,SAT>");
    check_relu<ap_fixed<12, 5>, ap_ufixed<6, 2, AP_RND_CONV, AP_SAT>>("fixed<12,5> -> ufixed<6,2,RND_CONV,SAT>");
    check_relu<ap_fixed<12, 5>, ap_fixed<16, 6>>("fixed<12,5> -> fixed<16,6>");
    check_relu<ap_fixed<12, 8>, ap_ufixed<4, 2, AP_TRN, AP_WRAP>>("fixed<12,8> -> ufixed<4,2> (wrapping)");

    std::printf("checked %ld, failed %ld\n", checked, failed);
    return failed ? 1 : 0;
}
