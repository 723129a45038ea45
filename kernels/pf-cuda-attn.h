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

/* ---- layout ------------------------------------------------------------------------------ */
/* torch.Tensor.permute(perm).contiguous() of x with `shape` (1 <= ndim <= 6): y's axis i is
 * x's axis perm[i] (pf_permute_forward_ref). */
gboolean pf_cuda_permute_forward (PfCudaContext *ctx, int ndim, const int *shape, const int *perm,
                                  const float *x, float *y, GError **error);
/* dx (x's shape) += the inverse permutation of dy; shape and perm are the forward ones */
gboolean pf_cuda_permute_backward (PfCudaContext *ctx, int ndim, const int *shape,
                                   const int *perm, const float *dy, float *dx, GError **error);

G_END_DECLS
