/* pf-lstm.h — multi-layer unidirectional LSTM, forward and backward through time.
 *
 * Semantics are exactly torch.nn.LSTM(input_size, hidden_size, num_layers, bias=True,
 * batch_first=True, dropout=0, bidirectional=False, proj_size=0): per layer k and step t
 *   a   = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh        (4H pre-activations, gate order i, f, g, o)
 *   i = s(a_i), f = s(a_f), g = tanh(a_g), o = s(a_o)
 *   c_t = f * c_{t-1} + i * g,   h_t = o * tanh(c_t)
 * where layer k > 0 takes the h_t of layer k-1 as its input.
 *
 * Layout (float32, contiguous):
 *   x   [B, T, I]   batch first, as the sequence model feeds its 56 eta rows;
 *   y   [B, T, H]   the top layer's h_t;
 *   h0, c0, hn, cn, dh0, dc0, dhn, dcn   [L, B, H]   (PyTorch's layout; batch_first does not
 *       apply to the states);
 *   w   all parameters in one flat buffer, in PyTorch's parameter order
 *       (weight_ih_l0 [4H, I], weight_hh_l0 [4H, H], bias_ih_l0 [4H], bias_hh_l0 [4H],
 *        weight_ih_l1 [4H, H], ...), i.e. torch.cat([p.flatten() for p in lstm.parameters()]).
 *       One buffer keeps the optimiser simple and matches cuDNN's single weight space; use
 *       pf_lstm_param_offset() to address one tensor. dw has the same layout.
 *
 * Memory: the functions never allocate. The caller passes a workspace of
 * pf_lstm_workspace_size() floats (pf_lstm_forward_workspace_size() suffices for inference).
 * Forward fills its first part with what BPTT needs (gate activations, every h_t and c_t of
 * every layer); backward reads it and uses the rest as scratch, leaving the saved part intact,
 * so backward may be called again on the same forward.
 *
 * Conventions of pf-ops.h: forward overwrites y, hn, cn; backward ACCUMULATES (+=) into dx, dw,
 * dh0, dc0 and skips the NULL ones. Optional inputs: h0/c0 NULL means zeros (each
 * independently), dy/dhn/dcn NULL means zero gradient. */
#pragma once
#include <stddef.h>
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  int batch;        /* B */
  int seq_len;      /* T */
  int input_size;   /* I, input features of layer 0 */
  int hidden_size;  /* H, hidden features of every layer (and input features of layers > 0) */
  int num_layers;   /* L */
} PfLstmDesc;

typedef enum {
  PF_LSTM_PARAM_W_IH,  /* weight_ih_l{k} [4H, in_k] */
  PF_LSTM_PARAM_W_HH,  /* weight_hh_l{k} [4H, H] */
  PF_LSTM_PARAM_B_IH,  /* bias_ih_l{k} [4H] */
  PF_LSTM_PARAM_B_HH,  /* bias_hh_l{k} [4H] */
} PfLstmParam;

/* True when every size is positive and the workspace size does not overflow size_t. */
bool pf_lstm_desc_valid (const PfLstmDesc *d);

/* Number of floats in the flat parameter buffer. */
size_t pf_lstm_param_count (const PfLstmDesc *d);
/* Offset (in floats) of one parameter tensor of layer `layer` in the flat buffer. */
size_t pf_lstm_param_offset (const PfLstmDesc *d, int layer, PfLstmParam which);

/* Workspace sizes in floats: what forward writes, and what forward + backward need. */
size_t pf_lstm_forward_workspace_size (const PfLstmDesc *d);
size_t pf_lstm_workspace_size (const PfLstmDesc *d);

/* y [B, T, H] must be given; hn, cn [L, B, H] may be NULL; h0, c0 may be NULL (zeros). */
void pf_lstm_forward_ref (const PfLstmDesc *d, const float *x, const float *w,
                          const float *h0, const float *c0,
                          float *y, float *hn, float *cn, float *ws);

/* Gradients of a loss through y, hn and cn. x and w are the forward's; ws holds the forward's
 * saved part. dy [B, T, H], dhn, dcn [L, B, H] may be NULL (zero gradient). Accumulates into
 * dx [B, T, I], dw (flat), dh0, dc0 [L, B, H]; NULL ones are skipped. */
void pf_lstm_backward_ref (const PfLstmDesc *d, const float *x, const float *w,
                           const float *dy, const float *dhn, const float *dcn,
                           float *dx, float *dw, float *dh0, float *dc0, float *ws);

#ifdef __cplusplus
}
#endif
