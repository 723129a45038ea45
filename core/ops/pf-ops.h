/* pf-ops.h — the tensor operations of the training core, as plain functions.
 *
 * Layout: float32, contiguous, NCHW (NCDHW for 3D). Conventions every op follows:
 *  - forward functions overwrite their outputs;
 *  - backward functions ACCUMULATE (+=) into every gradient they produce (dx, dw, db, ...),
 *    so a tensor consumed by several nodes gets the sum; the executor zeroes gradients once per
 *    step. A NULL gradient pointer means "not needed" and is skipped;
 *  - the `_ref` functions are the plain reference loops (the test oracle, single-threaded);
 *    the fast path (oneDNN/BLAS/OpenMP) lives in pf-ops-fast.h with the same signatures.
 * Shapes are described by small structs so the graph can store them in its nodes. */
#pragma once
#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- convolution -------------------------------------------------------------------- */
typedef struct {
  int n, c_in, h, w;        /* input */
  int c_out, kh, kw;        /* weight [c_out, c_in, kh, kw] */
  int sh, sw, ph, pw;       /* stride, zero padding */
} PfConv2dDesc;
static inline int pf_conv2d_out_h (const PfConv2dDesc *d) { return (d->h + 2 * d->ph - d->kh) / d->sh + 1; }
static inline int pf_conv2d_out_w (const PfConv2dDesc *d) { return (d->w + 2 * d->pw - d->kw) / d->sw + 1; }
/* b may be NULL (no bias). */
void pf_conv2d_forward_ref (const PfConv2dDesc *d, const float *x, const float *w, const float *b, float *y);
void pf_conv2d_backward_ref (const PfConv2dDesc *d, const float *x, const float *w, const float *dy,
                             float *dx, float *dw, float *db);

typedef struct {
  int n, c_in, d, h, w;     /* input [n, c_in, d, h, w] */
  int c_out, kd, kh, kw;    /* weight [c_out, c_in, kd, kh, kw] */
  int sd, sh, sw, pd, ph, pw;
} PfConv3dDesc;
static inline int pf_conv3d_out_d (const PfConv3dDesc *d) { return (d->d + 2 * d->pd - d->kd) / d->sd + 1; }
static inline int pf_conv3d_out_h (const PfConv3dDesc *d) { return (d->h + 2 * d->ph - d->kh) / d->sh + 1; }
static inline int pf_conv3d_out_w (const PfConv3dDesc *d) { return (d->w + 2 * d->pw - d->kw) / d->sw + 1; }
void pf_conv3d_forward_ref (const PfConv3dDesc *d, const float *x, const float *w, const float *b, float *y);
void pf_conv3d_backward_ref (const PfConv3dDesc *d, const float *x, const float *w, const float *dy,
                             float *dx, float *dw, float *db);

/* ---- batch normalisation (over n and hw, per channel c) ------------------------------ */
typedef struct { int n, c, hw; float eps; float momentum; } PfBatchNormDesc; /* eps 1e-5, momentum 0.1 */
/* Training: batch statistics; updates running_mean/var in place (running_var uses the unbiased
 * variance, as PyTorch); saves mean and 1/sqrt(var+eps) (biased var) for the backward pass. */
void pf_batchnorm_forward_train_ref (const PfBatchNormDesc *d, const float *x, const float *gamma,
                                     const float *beta, float *y, float *running_mean,
                                     float *running_var, float *save_mean, float *save_invstd);
void pf_batchnorm_forward_infer_ref (const PfBatchNormDesc *d, const float *x, const float *gamma,
                                     const float *beta, const float *running_mean,
                                     const float *running_var, float *y);
void pf_batchnorm_backward_ref (const PfBatchNormDesc *d, const float *x, const float *gamma,
                                const float *save_mean, const float *save_invstd, const float *dy,
                                float *dx, float *dgamma, float *dbeta);

/* ---- elementwise --------------------------------------------------------------------- */
void pf_relu_forward_ref (size_t n, const float *x, float *y);
void pf_relu_backward_ref (size_t n, const float *y, const float *dy, float *dx);
void pf_leaky_relu_forward_ref (size_t n, float slope, const float *x, float *y);
void pf_leaky_relu_backward_ref (size_t n, float slope, const float *x, const float *dy, float *dx);
void pf_sigmoid_forward_ref (size_t n, const float *x, float *y);
void pf_sigmoid_backward_ref (size_t n, const float *y, const float *dy, float *dx);
void pf_add_forward_ref (size_t n, const float *a, const float *b, float *y);
void pf_add_backward_ref (size_t n, const float *dy, float *da, float *db);

/* Dropout with probability p of zeroing; kept values scaled by 1/(1-p). The mask is a pure
 * function of (seed, step, index) through Philox; it is stored for the backward pass. */
void pf_dropout_forward_ref (size_t n, float p, uint64_t seed, uint64_t step, const float *x,
                             float *y, uint8_t *mask);
void pf_dropout_backward_ref (size_t n, float p, const uint8_t *mask, const float *dy, float *dx);

/* ---- pooling and resampling (NCHW, nc = n * c planes of h x w) ------------------------ */
/* MaxPool2d(2, 2): y [nc, h/2, w/2]; argmax (index within the input plane) saved. */
void pf_maxpool2x2_forward_ref (int nc, int h, int w, const float *x, float *y, int32_t *argmax);
void pf_maxpool2x2_backward_ref (int nc, int h, int w, const int32_t *argmax, const float *dy, float *dx);
/* Up-sampling x2: y [nc, 2h, 2w]. Bilinear is align_corners=False (PyTorch semantics). */
void pf_upsample_nearest2x_forward_ref (int nc, int h, int w, const float *x, float *y);
void pf_upsample_nearest2x_backward_ref (int nc, int h, int w, const float *dy, float *dx);
void pf_upsample_bilinear2x_forward_ref (int nc, int h, int w, const float *x, float *y);
void pf_upsample_bilinear2x_backward_ref (int nc, int h, int w, const float *dy, float *dx);

/* ---- channel ops (NCHW with hw = h * w) ----------------------------------------------- */
/* y [n, sum(c), hw] = concat over k inputs x[i] [n, c[i], hw] */
void pf_concat_forward_ref (int n, int hw, int k, const int *c, const float *const *x, float *y);
void pf_concat_backward_ref (int n, int hw, int k, const int *c, const float *dy, float *const *dx);
/* y [n, k, hw] = x[:, idx[j], :]  (x [n, c, hw]); picks the 3-channel stacks of the 3D front end. */
void pf_channel_gather_forward_ref (int n, int c, int hw, int k, const int *idx, const float *x, float *y);
void pf_channel_gather_backward_ref (int n, int c, int hw, int k, const int *idx, const float *dy, float *dx);
/* y[n, c, :] = x[n, c, :] * s[n, c]   (squeeze-and-excitation gate) */
void pf_channel_scale_forward_ref (int n, int c, int hw, const float *x, const float *s, float *y);
void pf_channel_scale_backward_ref (int n, int c, int hw, const float *x, const float *s,
                                    const float *dy, float *dx, float *ds);
/* y[n, c] = mean over hw of x[n, c, :] */
void pf_global_avgpool_forward_ref (int n, int c, int hw, const float *x, float *y);
void pf_global_avgpool_backward_ref (int n, int c, int hw, const float *dy, float *dx);

/* ---- dense --------------------------------------------------------------------------- */
/* y [m, out] = x [m, in] W^T + b, W [out, in]; b may be NULL. */
void pf_linear_forward_ref (int m, int in, int out, const float *x, const float *w, const float *b, float *y);
void pf_linear_backward_ref (int m, int in, int out, const float *x, const float *w, const float *dy,
                             float *dx, float *dw, float *db);
/* Batched matmul: C[b] = op(A[b]) op(B[b]), op = transpose when the flag is set.
 * C [batch, m, n]; A is [m, k] (or [k, m] when trans_a); B is [k, n] (or [n, k] when trans_b). */
void pf_bmm_forward_ref (int batch, int m, int n, int k, bool trans_a, bool trans_b,
                         const float *a, const float *b, float *c);
void pf_bmm_backward_ref (int batch, int m, int n, int k, bool trans_a, bool trans_b,
                          const float *a, const float *b, const float *dc, float *da, float *db);
/* Softmax over the last axis of [rows, cols]; scale multiplies the input first (1/sqrt(C)). */
void pf_softmax_forward_ref (int rows, int cols, float scale, const float *x, float *y);
void pf_softmax_backward_ref (int rows, int cols, float scale, const float *y, const float *dy, float *dx);

/* ---- layout -------------------------------------------------------------------------- */
/* General permutation of up to 6 dims: y has shape shape[perm[i]], y[..i..] = x[..perm..]
 * (torch.Tensor.permute semantics). Backward applies the inverse permutation. */
void pf_permute_forward_ref (int ndim, const int *shape, const int *perm, const float *x, float *y);
void pf_permute_backward_ref (int ndim, const int *shape, const int *perm, const float *dy, float *dx);

#ifdef __cplusplus
}
#endif
