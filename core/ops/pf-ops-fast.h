/* pf-ops-fast.h — the fast CPU path: oneDNN convolutions, BLAS dense ops, OpenMP elementwise
 * and batch normalisation.
 *
 * Same conventions as pf-ops.h (NCHW float32, forward overwrites, backward ACCUMULATES into
 * every non-NULL gradient) and the same numbers as the `_ref` ops within float rounding.
 *
 * Convolutions are plans: creating oneDNN primitives and choosing layouts is slow, so a plan is
 * made once per layer shape (when the graph is built) and holds every buffer the calls need;
 * forward/backward never allocate. A plan is not reentrant: one call at a time per plan.
 *
 * Threads: every fast op uses pf_ops_fast_threads() threads (OpenMP, oneDNN's OpenMP pool and
 * OpenBLAS). See pf_ops_fast_set_threads(). */
#pragma once
#include <glib.h>
#include "pf-ops.h"
#include "pf-lstm.h"

G_BEGIN_DECLS

/* ---- threads ------------------------------------------------------------------------- */
/* The thread count of the fast path: n > 0 sets it; n <= 0 picks the default, which is
 * OMP_NUM_THREADS when set, else the CPUs this process may run on (sched affinity), so a
 * container limited to 2 cores runs 2 threads, not one per host core. Applies to OpenMP
 * (hence oneDNN, built with the OpenMP runtime) and to OpenBLAS's own pthread pool. */
void pf_ops_fast_set_threads (int n);
int pf_ops_fast_threads (void);
/* The thread count, oneDNN's version and the instruction set it uses, OpenBLAS's build, in
 * one line (a new string). */
char *pf_ops_fast_describe (void);

/* ---- convolution plans ---------------------------------------------------------------- */
typedef enum {
  PF_CONV_IMPL_AUTO = 0,   /* the rule in pf-conv-dnnl.c picks one of the below */
  PF_CONV_IMPL_DNNL,       /* oneDNN, layouts it prefers (blocked) + cached reorders */
  PF_CONV_IMPL_DIRECT,     /* row-vectorised direct loops for tiny channel counts */
} PfConvImpl;

typedef struct _PfConv2dFast PfConv2dFast;

PfConv2dFast *pf_conv2d_fast_new (const PfConv2dDesc *d, bool bias, GError **error);
/* Forces an implementation (tests and benchmarks compare them). */
PfConv2dFast *pf_conv2d_fast_new_with_impl (const PfConv2dDesc *d, bool bias, PfConvImpl impl,
                                            GError **error);
PfConvImpl pf_conv2d_fast_impl (const PfConv2dFast *p);
/* b is ignored when the plan was made without bias. */
void pf_conv2d_fast_forward (PfConv2dFast *p, const float *x, const float *w, const float *b,
                             float *y);
/* Accumulates into dx, dw, db; NULL = skip. As in a training step, x must hold what it held
 * at the plan's last forward when it is the same pointer: the oneDNN path then reuses the
 * layout-converted copy of x the forward made instead of converting it again. */
void pf_conv2d_fast_backward (PfConv2dFast *p, const float *x, const float *w, const float *dy,
                              float *dx, float *dw, float *db);
void pf_conv2d_fast_free (PfConv2dFast *p);

typedef struct _PfConv3dFast PfConv3dFast;

PfConv3dFast *pf_conv3d_fast_new (const PfConv3dDesc *d, bool bias, GError **error);
void pf_conv3d_fast_forward (PfConv3dFast *p, const float *x, const float *w, const float *b,
                             float *y);
/* Same contract as pf_conv2d_fast_backward. */
void pf_conv3d_fast_backward (PfConv3dFast *p, const float *x, const float *w, const float *dy,
                              float *dx, float *dw, float *db);
void pf_conv3d_fast_free (PfConv3dFast *p);

/* ---- batch normalisation with optional fused ReLU ------------------------------------- */
/* As the _ref functions; with relu the output is max(bn(x), 0). */
void pf_batchnorm_forward_train_fast (const PfBatchNormDesc *d, bool relu, const float *x,
                                      const float *gamma, const float *beta, float *y,
                                      float *running_mean, float *running_var, float *save_mean,
                                      float *save_invstd);
void pf_batchnorm_forward_infer_fast (const PfBatchNormDesc *d, bool relu, const float *x,
                                      const float *gamma, const float *beta,
                                      const float *running_mean, const float *running_var,
                                      float *y);
/* relu_y: the forward output when the forward fused the ReLU (dy is masked by relu_y > 0),
 * NULL when it did not. */
void pf_batchnorm_backward_fast (const PfBatchNormDesc *d, const float *relu_y, const float *x,
                                 const float *gamma, const float *save_mean,
                                 const float *save_invstd, const float *dy, float *dx,
                                 float *dgamma, float *dbeta);

/* ---- elementwise --------------------------------------------------------------------- */
void pf_relu_forward_fast (size_t n, const float *x, float *y);
void pf_relu_backward_fast (size_t n, const float *y, const float *dy, float *dx);
void pf_leaky_relu_forward_fast (size_t n, float slope, const float *x, float *y);
void pf_leaky_relu_backward_fast (size_t n, float slope, const float *x, const float *dy, float *dx);
void pf_sigmoid_forward_fast (size_t n, const float *x, float *y);
void pf_sigmoid_backward_fast (size_t n, const float *y, const float *dy, float *dx);
void pf_add_forward_fast (size_t n, const float *a, const float *b, float *y);
void pf_add_backward_fast (size_t n, const float *dy, float *da, float *db);

/* Row softmax of scale * x (pf_softmax_forward_ref), rows in parallel. */
void pf_softmax_forward_fast (int rows, int cols, float scale, const float *x, float *y);
void pf_softmax_backward_fast (int rows, int cols, float scale, const float *y, const float *dy,
                               float *dx);

/* ---- dense (cblas_sgemm) --------------------------------------------------------------- */
void pf_linear_forward_fast (int m, int in, int out, const float *x, const float *w, const float *b,
                             float *y);
void pf_linear_backward_fast (int m, int in, int out, const float *x, const float *w,
                              const float *dy, float *dx, float *dw, float *db);
void pf_bmm_forward_fast (int batch, int m, int n, int k, bool trans_a, bool trans_b,
                          const float *a, const float *b, float *c);
void pf_bmm_backward_fast (int batch, int m, int n, int k, bool trans_a, bool trans_b,
                           const float *a, const float *b, const float *dc, float *da, float *db);

/* ---- layout, channel, resampling and dropout (OpenMP; pf-layout-fast.c) ------------------ */
/* The _ref loops split across threads so that every element is computed by the same
 * operations in the same order: bit-identical to the _ref ops, whatever the thread count.
 * Dropout draws the reference's mask (a pure function of seed, step and index). */
void pf_permute_forward_fast (int ndim, const int *shape, const int *perm, const float *x, float *y);
void pf_permute_backward_fast (int ndim, const int *shape, const int *perm, const float *dy, float *dx);
void pf_concat_forward_fast (int n, int hw, int k, const int *c, const float *const *x, float *y);
void pf_concat_backward_fast (int n, int hw, int k, const int *c, const float *dy, float *const *dx);
void pf_channel_gather_forward_fast (int n, int c, int hw, int k, const int *idx, const float *x,
                                     float *y);
void pf_channel_gather_backward_fast (int n, int c, int hw, int k, const int *idx, const float *dy,
                                      float *dx);
void pf_channel_scale_forward_fast (int n, int c, int hw, const float *x, const float *s, float *y);
void pf_channel_scale_backward_fast (int n, int c, int hw, const float *x, const float *s,
                                     const float *dy, float *dx, float *ds);
void pf_global_avgpool_forward_fast (int n, int c, int hw, const float *x, float *y);
void pf_global_avgpool_backward_fast (int n, int c, int hw, const float *dy, float *dx);
void pf_maxpool2x2_forward_fast (int nc, int h, int w, const float *x, float *y, int32_t *argmax);
void pf_maxpool2x2_backward_fast (int nc, int h, int w, const int32_t *argmax, const float *dy,
                                  float *dx);
void pf_upsample_nearest2x_forward_fast (int nc, int h, int w, const float *x, float *y);
void pf_upsample_nearest2x_backward_fast (int nc, int h, int w, const float *dy, float *dx);
void pf_upsample_bilinear2x_forward_fast (int nc, int h, int w, const float *x, float *y);
void pf_upsample_bilinear2x_backward_fast (int nc, int h, int w, const float *dy, float *dx);
void pf_dropout_forward_fast (size_t n, float p, uint64_t seed, uint64_t step, const float *x,
                              float *y, uint8_t *mask);
void pf_dropout_backward_fast (size_t n, float p, const uint8_t *mask, const float *dy, float *dx);

/* ---- LSTM (cblas_sgemm + OpenMP; pf-lstm-fast.c) ----------------------------------------- */
/* pf_lstm_forward_ref / pf_lstm_backward_ref with the input projection of all steps of a layer
 * as one sgemm and one sgemm per step for the recurrence. Same workspace SIZES
 * (pf_lstm_forward_workspace_size, pf_lstm_workspace_size) but a batch-major layout of its own:
 * the workspace of pf_lstm_forward_fast is for pf_lstm_backward_fast, not for the _ref one.
 * Agrees with the reference within float rounding (summation order differs). */
void pf_lstm_forward_fast (const PfLstmDesc *d, const float *x, const float *w,
                           const float *h0, const float *c0,
                           float *y, float *hn, float *cn, float *ws);
void pf_lstm_backward_fast (const PfLstmDesc *d, const float *x, const float *w,
                            const float *dy, const float *dhn, const float *dcn,
                            float *dx, float *dw, float *dh0, float *dc0, float *ws);

G_END_DECLS
