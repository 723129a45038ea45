/* pf-cuda-lstm.h — the multi-layer LSTM of pf-lstm.h (torch.nn.LSTM, batch first, gate order
 * i, f, g, o) on the GPU: cuBLAS SGEMMs for the products, fused kernels for the gates.
 *
 * Same contract and the same buffers as the CPU ops: x [B, T, I], y [B, T, H], states
 * [L, B, H], all parameters in ONE flat buffer in torch's order (pf_lstm_param_offset), and a
 * workspace of pf_lstm_workspace_size () floats (pf_lstm_forward_workspace_size () suffices
 * for forward alone), all in DEVICE memory. The workspace is laid out like
 * pf_lstm_forward_fast's (batch-major, see pf-cuda-lstm.cu), so a workspace written by
 * pf_cuda_lstm_forward must be read by pf_cuda_lstm_backward, not by a CPU op.
 *
 * Forward overwrites y, hn, cn; backward ACCUMULATES (+=) into dx, dw, dh0, dc0 and skips the
 * NULL ones, leaves the forward's saved part of the workspace intact (backward may run again on
 * the same forward) and needs no other memory. h0/c0 NULL mean zeros, dy/dhn/dcn NULL a zero
 * gradient. Calls are queued on the context's stream (asynchronous); a failed CUDA or cuBLAS
 * call, or a descriptor out of range (sizes past cuBLAS's int), returns FALSE with an error in
 * PF_CUDA_ERROR. No CUDA type appears here. */
#pragma once
#include <glib.h>
#include "pf-cuda.h"
#include "pf-lstm.h"

G_BEGIN_DECLS

/* TRUE when the GPU LSTM can run `d`: a valid descriptor whose sizes fit cuBLAS's int
 * arguments. Otherwise FALSE with PF_CUDA_ERROR_INVALID naming the shape. */
gboolean pf_cuda_lstm_check (const PfLstmDesc *d, GError **error);

/* y [B, T, H] must be given; hn, cn [L, B, H] may be NULL; h0, c0 may be NULL (zeros). */
gboolean pf_cuda_lstm_forward (PfCudaContext *ctx, const PfLstmDesc *d, const float *x,
                               const float *w, const float *h0, const float *c0, float *y,
                               float *hn, float *cn, float *ws, GError **error);

/* Gradients through y, hn and cn; x and w are the forward's, ws holds the forward's saved
 * part. Accumulates into dx [B, T, I], dw (flat), dh0, dc0 [L, B, H]; NULL ones are skipped. */
gboolean pf_cuda_lstm_backward (PfCudaContext *ctx, const PfLstmDesc *d, const float *x,
                                const float *w, const float *dy, const float *dhn,
                                const float *dcn, float *dx, float *dw, float *dh0, float *dc0,
                                float *ws, GError **error);

G_END_DECLS
