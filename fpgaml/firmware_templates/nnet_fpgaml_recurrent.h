// fpgaml: exact QKeras QLSTM / QGRU cells (io_parallel), and hls4ml's LSTM / GRU behind a cast at the
// layer's boundary.
//
// Exact cells: with a state quantizer, every tensor of a QKeras cell is on a fixed-point grid. The
// pre-activations z = x.W + h.U + b are accumulated without loss (fpgaml_acc_t, sized by fpgaml from the
// types and the weights), the quantized activations are exact step functions (nnet_fpgaml_activation.h),
// the products and sums of the state update are exact (fpgaml_c_t, fpgaml_h_t), and the carried states are
// cast to the state quantizer's type (fpgaml_state_t: QKeras's rounding, half to even, and saturation), as
// QKeras does at the start of every step. The layer's output is the unquantized h of the last step (or of
// every step), as in QKeras. The input type is the caller's (data_T): no type needs to equal another.
//
// CONFIG_T is hls4ml's recurrent config plus fpgaml's typedefs and tables:
//   fpgaml_acc_t, fpgaml_state_t, fpgaml_c_t (LSTM: c; GRU: the candidate's pre-activation), fpgaml_h_t,
//   fpgaml_recr_table (sigmoid on fpgaml_acc_t), fpgaml_act_table (LSTM: tanh on fpgaml_acc_t; GRU: tanh on
//   fpgaml_c_t), fpgaml_act_c_table (LSTM: tanh on fpgaml_c_t).
#ifndef NNET_FPGAML_RECURRENT_H_
#define NNET_FPGAML_RECURRENT_H_

#include "nnet_common.h"
#include "nnet_fpgaml_activation.h"
#include "nnet_recurrent.h"

namespace nnet {

template <class data_T, class res_T, typename CONFIG_T>
void fpgaml_lstm_stack(data_T data[CONFIG_T::n_sequence * CONFIG_T::n_in],
                       res_T res[CONFIG_T::n_sequence_out * CONFIG_T::n_state],
                       typename CONFIG_T::weight_t param[CONFIG_T::n_state * 4 * CONFIG_T::n_in],
                       typename CONFIG_T::recurrent_weight_t param_r[CONFIG_T::n_state * 4 * CONFIG_T::n_state],
                       typename CONFIG_T::bias_t param_b[CONFIG_T::n_state * 4],
                       typename CONFIG_T::recurrent_bias_t param_br[CONFIG_T::n_state * 4]) {
    typedef typename CONFIG_T::fpgaml_acc_t acc_t;
    typedef typename CONFIG_T::fpgaml_state_t state_t;
    typedef typename CONFIG_T::fpgaml_c_t c_t;
    typedef typename CONFIG_T::fpgaml_h_t h_t;
    typedef typename CONFIG_T::fpgaml_recr_table::out_t gate_t;
    typedef typename CONFIG_T::fpgaml_act_table::out_t cand_t;
    typedef typename CONFIG_T::fpgaml_act_c_table::out_t tanh_c_t;
    const unsigned N = CONFIG_T::n_state;

    state_t h[CONFIG_T::n_state], c[CONFIG_T::n_state];
    #pragma HLS ARRAY_PARTITION variable=h complete
    #pragma HLS ARRAY_PARTITION variable=c complete
    for (unsigned k = 0; k < N; k++) {
        #pragma HLS UNROLL
        h[k] = 0;
        c[k] = 0;
    }
Sequence:
    for (unsigned t = 0; t < CONFIG_T::n_sequence; t++) {
        acc_t z[CONFIG_T::n_state * 4];
        #pragma HLS ARRAY_PARTITION variable=z complete
        for (unsigned k = 0; k < 4 * N; k++) {
            #pragma HLS UNROLL
            acc_t s = param_b[k];
            s += param_br[k];
            for (unsigned j = 0; j < CONFIG_T::n_in; j++) {
                #pragma HLS UNROLL
                s += data[t * CONFIG_T::n_in + j] * param[j * 4 * N + k];
            }
            for (unsigned j = 0; j < N; j++) {
                #pragma HLS UNROLL
                s += h[j] * param_r[j * 4 * N + k];
            }
            z[k] = s;
        }
        h_t h_new[CONFIG_T::n_state];
        #pragma HLS ARRAY_PARTITION variable=h_new complete
        for (unsigned k = 0; k < N; k++) {
            #pragma HLS UNROLL
            // Keras gate order: i, f, c (candidate), o
            gate_t i = fpgaml_step<typename CONFIG_T::fpgaml_recr_table>(z[k]);
            gate_t f = fpgaml_step<typename CONFIG_T::fpgaml_recr_table>(z[N + k]);
            cand_t g = fpgaml_step<typename CONFIG_T::fpgaml_act_table>(z[2 * N + k]);
            gate_t o = fpgaml_step<typename CONFIG_T::fpgaml_recr_table>(z[3 * N + k]);
            c_t c_new = f * c[k] + i * g;
            tanh_c_t a = fpgaml_step<typename CONFIG_T::fpgaml_act_c_table>(c_new);
            h_new[k] = o * a;
            c[k] = (state_t)c_new;
        }
        for (unsigned k = 0; k < N; k++) {
            #pragma HLS UNROLL
            h[k] = (state_t)h_new[k];
            if (CONFIG_T::n_sequence_out > 1 || t == CONFIG_T::n_sequence - 1)
                res[(CONFIG_T::n_sequence_out > 1 ? t * N : 0) + k] = (res_T)h_new[k];
        }
    }
}

template <class data_T, class res_T, typename CONFIG_T>
void fpgaml_gru_stack(data_T data[CONFIG_T::n_sequence * CONFIG_T::n_in],
                      res_T res[CONFIG_T::n_sequence_out * CONFIG_T::n_state],
                      typename CONFIG_T::weight_t param[CONFIG_T::n_state * 3 * CONFIG_T::n_in],
                      typename CONFIG_T::recurrent_weight_t param_zr[CONFIG_T::n_state * 3 * CONFIG_T::n_state],
                      typename CONFIG_T::bias_t param_b[CONFIG_T::n_state * 3],
                      typename CONFIG_T::recurrent_bias_t param_br[CONFIG_T::n_state * 3]) {
    typedef typename CONFIG_T::fpgaml_acc_t acc_t;
    typedef typename CONFIG_T::fpgaml_state_t state_t;
    typedef typename CONFIG_T::fpgaml_c_t pre_t;
    typedef typename CONFIG_T::fpgaml_h_t h_t;
    typedef typename CONFIG_T::fpgaml_recr_table::out_t gate_t;
    typedef typename CONFIG_T::fpgaml_act_table::out_t cand_t;
    const unsigned N = CONFIG_T::n_state;

    state_t h[CONFIG_T::n_state];
    #pragma HLS ARRAY_PARTITION variable=h complete
    for (unsigned k = 0; k < N; k++) {
        #pragma HLS UNROLL
        h[k] = 0;
    }
Sequence:
    for (unsigned t = 0; t < CONFIG_T::n_sequence; t++) {
        acc_t zx[CONFIG_T::n_state * 3], zh[CONFIG_T::n_state * 3];
        #pragma HLS ARRAY_PARTITION variable=zx complete
        #pragma HLS ARRAY_PARTITION variable=zh complete
        for (unsigned k = 0; k < 3 * N; k++) {
            #pragma HLS UNROLL
            acc_t sx = param_b[k];
            for (unsigned j = 0; j < CONFIG_T::n_in; j++) {
                #pragma HLS UNROLL
                sx += data[t * CONFIG_T::n_in + j] * param[j * 3 * N + k];
            }
            acc_t sh = param_br[k];
            for (unsigned j = 0; j < N; j++) {
                #pragma HLS UNROLL
                sh += h[j] * param_zr[j * 3 * N + k];
            }
            zx[k] = sx;
            zh[k] = sh;
        }
        h_t h_new[CONFIG_T::n_state];
        #pragma HLS ARRAY_PARTITION variable=h_new complete
        for (unsigned k = 0; k < N; k++) {
            #pragma HLS UNROLL
            // Keras gate order: z (update), r (reset), h (candidate); reset_after=True
            acc_t zz = zx[k] + zh[k];
            acc_t zr = zx[N + k] + zh[N + k];
            gate_t u = fpgaml_step<typename CONFIG_T::fpgaml_recr_table>(zz);
            gate_t r = fpgaml_step<typename CONFIG_T::fpgaml_recr_table>(zr);
            pre_t p = zx[2 * N + k] + r * zh[2 * N + k];
            cand_t hh = fpgaml_step<typename CONFIG_T::fpgaml_act_table>(p);
            ap_ufixed<gate_t::width + 1, gate_t::iwidth + 1> one_minus_u = 1;
            one_minus_u -= u;
            h_new[k] = u * h[k] + one_minus_u * hh;
        }
        for (unsigned k = 0; k < N; k++) {
            #pragma HLS UNROLL
            h[k] = (state_t)h_new[k];
            if (CONFIG_T::n_sequence_out > 1 || t == CONFIG_T::n_sequence - 1)
                res[(CONFIG_T::n_sequence_out > 1 ? t * N : 0) + k] = (res_T)h_new[k];
        }
    }
}

// hls4ml's LSTM / GRU templates (table_size activations) need the layer's input, accumulator and result to be
// one type (CONFIG_T::accum_t). fpgaml casts the input into that type and the result out of it here, so a
// layer whose input type differs (a quantized activation in front of it) compiles.
template <class data_T, class res_T, typename CONFIG_T>
void fpgaml_lstm_stack_cast(data_T data[CONFIG_T::n_sequence * CONFIG_T::n_in],
                            res_T res[CONFIG_T::n_sequence_out * CONFIG_T::n_state],
                            typename CONFIG_T::weight_t param[CONFIG_T::n_state * 4 * CONFIG_T::n_in],
                            typename CONFIG_T::recurrent_weight_t param_r[CONFIG_T::n_state * 4 * CONFIG_T::n_state],
                            typename CONFIG_T::bias_t param_b[CONFIG_T::n_state * 4],
                            typename CONFIG_T::recurrent_bias_t param_br[CONFIG_T::n_state * 4]) {
    typedef typename CONFIG_T::accum_t one_t;
    one_t x[CONFIG_T::n_sequence * CONFIG_T::n_in], y[CONFIG_T::n_sequence_out * CONFIG_T::n_state];
    #pragma HLS ARRAY_PARTITION variable=x complete
    #pragma HLS ARRAY_PARTITION variable=y complete
    for (unsigned i = 0; i < CONFIG_T::n_sequence * CONFIG_T::n_in; i++) {
        #pragma HLS UNROLL
        x[i] = (one_t)data[i];
    }
    lstm_stack<one_t, one_t, CONFIG_T>(x, y, param, param_r, param_b, param_br);
    for (unsigned i = 0; i < CONFIG_T::n_sequence_out * CONFIG_T::n_state; i++) {
        #pragma HLS UNROLL
        res[i] = (res_T)y[i];
    }
}

template <class data_T, class res_T, typename CONFIG_T>
void fpgaml_gru_stack_cast(data_T data[CONFIG_T::n_sequence * CONFIG_T::n_in],
                           res_T res[CONFIG_T::n_sequence_out * CONFIG_T::n_state],
                           typename CONFIG_T::weight_t param[CONFIG_T::n_state * 3 * CONFIG_T::n_in],
                           typename CONFIG_T::recurrent_weight_t param_zr[CONFIG_T::n_state * 3 * CONFIG_T::n_state],
                           typename CONFIG_T::bias_t param_b[CONFIG_T::n_state * 3],
                           typename CONFIG_T::recurrent_bias_t param_br[CONFIG_T::n_state * 3]) {
    typedef typename CONFIG_T::accum_t one_t;
    one_t x[CONFIG_T::n_sequence * CONFIG_T::n_in], y[CONFIG_T::n_sequence_out * CONFIG_T::n_state];
    #pragma HLS ARRAY_PARTITION variable=x complete
    #pragma HLS ARRAY_PARTITION variable=y complete
    for (unsigned i = 0; i < CONFIG_T::n_sequence * CONFIG_T::n_in; i++) {
        #pragma HLS UNROLL
        x[i] = (one_t)data[i];
    }
    gru_stack<one_t, one_t, CONFIG_T>(x, y, param, param_zr, param_b, param_br);
    for (unsigned i = 0; i < CONFIG_T::n_sequence_out * CONFIG_T::n_state; i++) {
        #pragma HLS UNROLL
        res[i] = (res_T)y[i];
    }
}

} // namespace nnet

#endif
