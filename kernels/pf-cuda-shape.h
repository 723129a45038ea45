/* pf-cuda-shape.h — the CUDA ops beyond conv2d/BN/ReLU/linear that the 3D and U-Net models
 * need: Conv3d through cuDNN (pf-cuda-conv3d.cu) and hand-written layout kernels
 * (pf-cuda-shape.cu): 2x2 max pooling, x2 up-sampling (nearest, bilinear), channel concat and
 * gather, dropout and LeakyReLU.
 *
 * Same contract as pf-cuda.h and the CPU ops of core/ops/pf-ops.h they mirror: DEVICE
 * pointers; forward overwrites; backward ACCUMULATES (+=) into every gradient, a NULL one is
 * skipped; calls are queued on the context's stream and return FALSE with a GError (domain
 * PF_CUDA_ERROR) naming the failed CUDA/cuDNN call. No CUDA type appears here.
 *
 * Every backward kernel gathers (one thread owns each gradient element it writes): no atomics,
 * so results are the same bits on every run, and gathers or concats that read one tensor twice
 * still add both contributions. */
#pragma once
#include <glib.h>
#include <stddef.h>
#include <stdint.h>
#include "pf-cuda.h"

G_BEGIN_DECLS

/* ---- Conv3d (cuDNN N-d convolution) --------------------------------------------------- */
/* Like PfCudaConv2dPlan (the same code, pf-cuda-conv.cu): descriptors, one algorithm per pass
 * chosen once, the context's precision (FP32 FMA by default). Borrows ctx. */
typedef struct _PfCudaConv3dPlan PfCudaConv3dPlan;
PfCudaConv3dPlan *pf_cuda_conv3d_plan_new (PfCudaContext *ctx, const PfConv3dDesc *d,
                                           GError **error);
void pf_cuda_conv3d_plan_free (PfCudaConv3dPlan *plan);
size_t pf_cuda_conv3d_plan_workspace (const PfCudaConv3dPlan *plan);
/* y = conv3d(x, w) + b; b may be NULL. */
gboolean pf_cuda_conv3d_forward (PfCudaConv3dPlan *plan, const float *x, const float *w,
                                 const float *b, float *y, GError **error);
/* dx += conv^T(dy, w), dw += corr(x, dy), db += sum(dy); each may be NULL. */
gboolean pf_cuda_conv3d_backward (PfCudaConv3dPlan *plan, const float *x, const float *w,
                                  const float *dy, float *dx, float *dw, float *db,
                                  GError **error);

/* ---- elementwise ------------------------------------------------------------------------ */
/* y = x > 0 ? x : slope x */
gboolean pf_cuda_leaky_relu_forward (PfCudaContext *ctx, size_t n, float slope, const float *x,
                                     float *y, GError **error);
/* dx += x > 0 ? dy : slope dy (x is the forward input) */
gboolean pf_cuda_leaky_relu_backward (PfCudaContext *ctx, size_t n, float slope, const float *x,
                                      const float *dy, float *dx, GError **error);

/* pf_dropout_forward_ref bit for bit: element i is kept when
 * u01 (philox4x32 ({i/4 lo, i/4 hi, step lo, PF_RNG_STREAM_DROPOUT}, seed).v[i%4]) >= p;
 * y = kept ? x / (1 - p) : 0, mask[i] = 1 or 0 (one byte per element). */
gboolean pf_cuda_dropout_forward (PfCudaContext *ctx, size_t n, float p, uint64_t seed,
                                  uint64_t step, const float *x, float *y, uint8_t *mask,
                                  GError **error);
/* dx += mask ? dy / (1 - p) : 0 */
gboolean pf_cuda_dropout_backward (PfCudaContext *ctx, size_t n, float p, const uint8_t *mask,
                                   const float *dy, float *dx, GError **error);

/* ---- pooling and up-sampling (nc planes of h x w) --------------------------------------- */
/* MaxPool2d(2, 2), odd sizes floored, first maximum on ties, NaN wins; argmax (index in the
 * input plane, may be NULL) kept for the backward pass. */
gboolean pf_cuda_maxpool2x2_forward (PfCudaContext *ctx, int nc, int h, int w, const float *x,
                                     float *y, int32_t *argmax, GError **error);
gboolean pf_cuda_maxpool2x2_backward (PfCudaContext *ctx, int nc, int h, int w,
                                      const int32_t *argmax, const float *dy, float *dx,
                                      GError **error);
/* y [nc, 2h, 2w] */
gboolean pf_cuda_upsample_nearest2x_forward (PfCudaContext *ctx, int nc, int h, int w,
                                             const float *x, float *y, GError **error);
gboolean pf_cuda_upsample_nearest2x_backward (PfCudaContext *ctx, int nc, int h, int w,
                                              const float *dy, float *dx, GError **error);
/* align_corners = False (PyTorch) */
gboolean pf_cuda_upsample_bilinear2x_forward (PfCudaContext *ctx, int nc, int h, int w,
                                              const float *x, float *y, GError **error);
gboolean pf_cuda_upsample_bilinear2x_backward (PfCudaContext *ctx, int nc, int h, int w,
                                               const float *dy, float *dx, GError **error);

/* ---- channel ops ([n, c, hw]) ------------------------------------------------------------ */
/* y [n, sum c, hw] = concat of the k (1..8) inputs x[i] [n, c[i], hw]; x and dx are HOST
 * arrays of device pointers. dx == NULL skips everything, dx[i] == NULL skips input i. */
gboolean pf_cuda_concat_forward (PfCudaContext *ctx, int n, int hw, int k, const int *c,
                                 const float *const *x, float *y, GError **error);
gboolean pf_cuda_concat_backward (PfCudaContext *ctx, int n, int hw, int k, const int *c,
                                  const float *dy, float *const *dx, GError **error);
/* y [n, k, hw] = x[:, idx[j], :] for x [n, c, hw], k in 1..8 (idx is a HOST array); backward
 * adds every pick of a channel to its gradient. */
gboolean pf_cuda_channel_gather_forward (PfCudaContext *ctx, int n, int c, int hw, int k,
                                         const int *idx, const float *x, float *y,
                                         GError **error);
gboolean pf_cuda_channel_gather_backward (PfCudaContext *ctx, int n, int c, int hw, int k,
                                          const int *idx, const float *dy, float *dx,
                                          GError **error);

G_END_DECLS
