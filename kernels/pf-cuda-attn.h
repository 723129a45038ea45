/* pf-cuda-attn.h — the squeeze-and-excitation and attention ops on the GPU: global average
 * pooling, per-channel scaling, batched matmul (cuBLAS), row softmax and permute.
 *
 * Same contract as pf-cuda.h and the CPU ops of core/ops/pf-ops.h they mirror: DEVICE
 * pointers, forward OVERWRITES its output, backward ACCUMULATES (+=) into every gradient and
 * skips a NULL one; calls are queued on the context's stream and return FALSE with `error`
 * (domain PF_CUDA_ERROR) set when a shape is invalid or a CUDA/cuBLAS call fails. Reductions
 * are fixed-order (the same bits on every run). No CUDA type appears here. */
#pragma once
#include <glib.h>
#include <stdbool.h>
#include "pf-cuda.h"

G_BEGIN_DECLS

/* ---- channel ops (NCHW seen as [n, c, hw]) -------------------------------------------- */
/* y [n, c] = mean over hw of x [n, c, hw] (sum in double, as pf_global_avgpool_forward_ref) */
gboolean pf_cuda_global_avgpool_forward (PfCudaContext *ctx, int n, int c, int hw, const float *x,
                                         float *y, GError **error);
/* dx [n, c, hw] += dy [n, c] / hw */
gboolean pf_cuda_global_avgpool_backward (PfCudaContext *ctx, int n, int c, int hw,
                                          const float *dy, float *dx, GError **error);
/* y [n, c, hw] = x [n, c, hw] * s [n, c]  (the SE gate) */
gboolean pf_cuda_channel_scale_forward (PfCudaContext *ctx, int n, int c, int hw, const float *x,
                                        const float *s, float *y, GError **error);
/* dx += dy * s; ds [n, c] += sum over hw of dy * x (double); each may be NULL */
gboolean pf_cuda_channel_scale_backward (PfCudaContext *ctx, int n, int c, int hw, const float *x,
                                         const float *s, const float *dy, float *dx, float *ds,
                                         GError **error);

/* ---- batched matmul (cuBLAS, in the context's precision: FP32 by default) -------------- */
/* C[t] = op(A[t]) op(B[t]) for t < batch: C [batch, m, n]; A [m, k] ([k, m] when ta);
 * B [k, n] ([n, k] when tb); row-major, contiguous batches (pf_bmm_forward_ref). */
gboolean pf_cuda_bmm_forward (PfCudaContext *ctx, int batch, int m, int n, int k, bool ta, bool tb,
                              const float *a, const float *b, float *c, GError **error);
/* da += dC op(B)^T, db += op(A)^T dC, each in its stored (possibly transposed) layout; each may
 * be NULL. */
gboolean pf_cuda_bmm_backward (PfCudaContext *ctx, int batch, int m, int n, int k, bool ta,
                               bool tb, const float *a, const float *b, const float *dc, float *da,
                               float *db, GError **error);

/* ---- softmax over the last axis of [rows, cols] ---------------------------------------- */
/* y = softmax(scale * x) per row, the row maximum subtracted first */
gboolean pf_cuda_softmax_forward (PfCudaContext *ctx, int rows, int cols, float scale,
                                  const float *x, float *y, GError **error);
/* dx += scale * y * (dy - sum_j dy_j y_j), per row; y is the forward output */
gboolean pf_cuda_softmax_backward (PfCudaContext *ctx, int rows, int cols, float scale,
                                   const float *y, const float *dy, float *dx, GError **error);

/* ---- fused attention: the three ops above for softmax(scale Q K^T) V (pf-cuda-sdpa.cu) -- */
/* Whether the fused kernels serve sequences of `len` tokens of `dim` features on this device:
 * both at most PF_CUDA_ATTENTION_MAX, and the shared memory they need within what a block may
 * have. A pure query (no CUDA call): the same answer for every node of a plan. */
#define PF_CUDA_ATTENTION_MAX 64
gboolean pf_cuda_attention_fits (const PfCudaContext *ctx, int len, int dim);
/* For each of `batch` sequences: q, k, v [len, dim]; p [len, len] = softmax(scale q k^T) and
 * o [len, dim] = p v, as pf_cuda_bmm_forward, pf_cuda_softmax_forward and pf_cuda_bmm_forward
 * give them, in float32 whatever the context's precision. */
gboolean pf_cuda_attention_forward (PfCudaContext *ctx, int batch, int len, int dim, float scale,
                                    const float *q, const float *k, const float *v, float *p,
                                    float *o, GError **error);
/* dq, dk, dv += the gradients of o for its gradient dout, from the forward's p; each may be
 * NULL. No [len, len] gradient is written anywhere. */
gboolean pf_cuda_attention_backward (PfCudaContext *ctx, int batch, int len, int dim, float scale,
                                     const float *q, const float *k, const float *v,
                                     const float *p, const float *dout, float *dq, float *dk,
                                     float *dv, GError **error);

/* ---- layout ------------------------------------------------------------------------------ */
/* torch.Tensor.permute(perm).contiguous() of x with `shape` (1 <= ndim <= 6): y's axis i is
 * x's axis perm[i] (pf_permute_forward_ref). */
gboolean pf_cuda_permute_forward (PfCudaContext *ctx, int ndim, const int *shape, const int *perm,
                                  const float *x, float *y, GError **error);
/* dx (x's shape) += (= with set_dx) the inverse permutation of dy; shape and perm are the
 * forward ones */
gboolean pf_cuda_permute_backward (PfCudaContext *ctx, int ndim, const int *shape,
                                   const int *perm, const float *dy, float *dx, gboolean set_dx,
                                   GError **error);

G_END_DECLS
