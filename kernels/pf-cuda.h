/* pf-cuda.h — the CUDA backend: cuDNN convolutions, cuBLAS GEMMs and hand-written kernels.
 *
 * A plain C API on DEVICE pointers that mirrors core/ops/pf-ops.h:
 *  - forward functions overwrite their outputs;
 *  - backward functions ACCUMULATE (+=) into every gradient they produce; NULL skips it;
 *    those with a set_dx argument write (=) dx instead when it is TRUE (the planner's
 *    n->set_dx: the only writer of that gradient, which is then not zeroed each step);
 *  - shapes use the same descriptors (PfConv2dDesc, PfBatchNormDesc).
 * Every call is queued on the context's stream and returns at once (asynchronous), except the
 * host<->device copies, pf_cuda_synchronize and the constructors. A function returns FALSE/NULL
 * and fills `error` (domain PF_CUDA_ERROR) when a CUDA, cuDNN or cuBLAS call fails, naming the
 * call and the library's message; errors raised by a kernel while it runs surface at the next
 * synchronising call. No CUDA type appears here, so C code includes this header as is. */
#pragma once
#include <glib.h>
#include <stddef.h>
#include "pf-ops.h"
#include "pf-optim.h"

G_BEGIN_DECLS

#define PF_CUDA_ERROR (pf_cuda_error_quark ())
GQuark pf_cuda_error_quark (void);

typedef enum {
  PF_CUDA_ERROR_NO_DEVICE, /* no usable GPU (no driver, or zero devices) */
  PF_CUDA_ERROR_RUNTIME,   /* a CUDA runtime call failed */
  PF_CUDA_ERROR_CUDNN,     /* a cuDNN call failed */
  PF_CUDA_ERROR_CUBLAS,    /* a cuBLAS call failed */
  PF_CUDA_ERROR_INVALID,   /* a parameter out of range */
} PfCudaError;

/* ---- context ------------------------------------------------------------------------- */
typedef struct _PfCudaContext PfCudaContext;

/* Number of usable devices; 0 (and no error) when the driver is missing or there is no GPU. */
int pf_cuda_device_count (void);
/* TRUE when pf_cuda_device_count () > 0; `why` (may be NULL) gets a new string saying why not. */
gboolean pf_cuda_available (char **why);
/* Selects `device`, creates a stream and the cuDNN and cuBLAS handles bound to it. */
PfCudaContext *pf_cuda_context_new (int device, GError **error);
void pf_cuda_context_free (PfCudaContext *ctx);
const char *pf_cuda_context_device_name (const PfCudaContext *ctx);
int pf_cuda_context_device (const PfCudaContext *ctx);
/* The device, its compute capability, SMs and memory, and the driver, runtime, cuDNN and
 * cuBLAS versions in use, in one line (a new string). */
char *pf_cuda_context_describe (const PfCudaContext *ctx);
/* The current device is per host thread: a thread other than the creator calls this first. */
gboolean pf_cuda_context_make_current (PfCudaContext *ctx, GError **error);
/* How convolutions and matrix products compute. Tensors stay float32 in memory in every
 * mode; only the operands of the products are rounded (docs/cuda-backend.md, "Precision"):
 *  FP32  full float32 FMA, the default: the CPU's tolerances hold;
 *  TF32  TF32 tensor cores (10-bit mantissa operands, float32 accumulation);
 *  BF16  bfloat16 tensor cores (7-bit mantissa operands, float32 accumulation): convolution
 *        operands and results pass through bf16 copies, as under PyTorch's autocast; GEMMs
 *        let cuBLAS down-convert to bf16 or TF32 (its choice per shape); batch norm, losses,
 *        the optimiser and the master weights stay float32.
 * Convolution plans take the mode when they are created and keep it; GEMMs follow the
 * context's mode at each call. Set it before planning a graph. */
typedef enum {
  PF_CUDA_PRECISION_FP32,
  PF_CUDA_PRECISION_TF32,
  PF_CUDA_PRECISION_BF16,
} PfCudaPrecision;
gboolean pf_cuda_context_set_precision (PfCudaContext *ctx, PfCudaPrecision precision,
                                        GError **error);
PfCudaPrecision pf_cuda_context_get_precision (const PfCudaContext *ctx);
/* "fp32", "tf32", "bf16" */
const char *pf_cuda_precision_name (PfCudaPrecision precision);
/* Waits for everything queued on the context's stream; reports asynchronous kernel errors. */
gboolean pf_cuda_synchronize (PfCudaContext *ctx, GError **error);

/* ---- memory -------------------------------------------------------------------------- */
void *pf_cuda_malloc (PfCudaContext *ctx, size_t bytes, GError **error);
void pf_cuda_free (PfCudaContext *ctx, void *dev);
/* Sets `bytes` bytes to `value` (0 gives +0.0f), queued on the stream. */
gboolean pf_cuda_memset (PfCudaContext *ctx, void *dev, int value, size_t bytes, GError **error);
/* Host copies are synchronous: when they return, the data is where it should be. */
gboolean pf_cuda_copy_to_device (PfCudaContext *ctx, void *dev, const void *host, size_t bytes,
                                 GError **error);
gboolean pf_cuda_copy_to_host (PfCudaContext *ctx, void *host, const void *dev, size_t bytes,
                               GError **error);
gboolean pf_cuda_copy_device (PfCudaContext *ctx, void *dst, const void *src, size_t bytes,
                              GError **error);

/* Page-locked host memory: copies from it are faster and can be queued without a wait. */
void *pf_cuda_host_alloc (PfCudaContext *ctx, size_t bytes, GError **error);
void pf_cuda_host_free (PfCudaContext *ctx, void *p);
/* Queued on the stream; `host` must be page-locked and stay unchanged until the copy ran. */
gboolean pf_cuda_copy_to_device_async (PfCudaContext *ctx, void *dev, const void *host, size_t bytes,
                                       GError **error);

/* CUDA graphs: the work queued on the context's stream between begin and end (by this thread)
 * is recorded instead of run, then replayed in one launch. Nothing may wait for the stream in
 * between (no synchronous copies, no allocation that grows a buffer). */
typedef struct _PfCudaGraph PfCudaGraph;
gboolean pf_cuda_capture_begin (PfCudaContext *ctx, GError **error);
PfCudaGraph *pf_cuda_capture_end (PfCudaContext *ctx, GError **error);
gboolean pf_cuda_graph_launch (PfCudaContext *ctx, PfCudaGraph *graph, GError **error);
void pf_cuda_graph_free (PfCudaGraph *graph);

/* ---- convolution (cuDNN) ------------------------------------------------------------- */
/* A plan caches the descriptors of one shape, the algorithms cuDNN picks for it (once: the
 * fastest of its trial runs) and the workspace they need, shared by all plans of the context.
 * It borrows `ctx`, which must outlive it. */
typedef struct _PfCudaConv2dPlan PfCudaConv2dPlan;
PfCudaConv2dPlan *pf_cuda_conv2d_plan_new (PfCudaContext *ctx, const PfConv2dDesc *d, GError **error);
void pf_cuda_conv2d_plan_free (PfCudaConv2dPlan *plan);
/* Bytes of device workspace the plan holds. */
size_t pf_cuda_conv2d_plan_workspace (const PfCudaConv2dPlan *plan);
/* y = conv(x, w) + b; b may be NULL. */
gboolean pf_cuda_conv2d_forward (PfCudaConv2dPlan *plan, const float *x, const float *w,
                                 const float *b, float *y, GError **error);
/* y = max(conv(x, w) + b, 0): the ReLU in the pass that adds the bias. */
gboolean pf_cuda_conv2d_forward_relu (PfCudaConv2dPlan *plan, const float *x, const float *w,
                                      const float *b, float *y, GError **error);
/* dx += conv^T(dy, w) (= with set_dx), dw += corr(x, dy), db += sum(dy); each may be NULL. */
gboolean pf_cuda_conv2d_backward (PfCudaConv2dPlan *plan, const float *x, const float *w,
                                  const float *dy, float *dx, gboolean set_dx, float *dw,
                                  float *db, GError **error);

/* ---- batch normalisation (own kernels, PyTorch conventions) --------------------------- */
/* Same contract as pf_batchnorm_*_ref: batch statistics with the biased variance, running_var
 * updated with the unbiased one (the biased one when n*hw == 1), save_mean and
 * save_invstd = 1/sqrt(biased var + eps) kept for the backward pass. gamma, beta, the running
 * statistics and the saved ones may be NULL (gamma 1, beta 0, no update, not saved). With
 * relu, y is max(y, 0) in the same pass (the ReLU the planner fused into the layer). x_bias,
 * when not NULL, is a per-channel bias the layer's input still lacks (its convolution's,
 * deferred to here): every pass reads x + x_bias, in float, as cudnnAddTensor would have left
 * it in x. relu_y, when not NULL, is the output of the ReLU fused into the layer: the backward
 * pass takes dy as 0 where relu_y is not positive (dy itself is left as it is). */
gboolean pf_cuda_batchnorm_forward_train (PfCudaContext *ctx, const PfBatchNormDesc *d,
                                          const float *x, const float *x_bias,
                                          const float *gamma, const float *beta, float *y,
                                          gboolean relu, float *running_mean, float *running_var,
                                          float *save_mean, float *save_invstd, GError **error);
gboolean pf_cuda_batchnorm_forward_infer (PfCudaContext *ctx, const PfBatchNormDesc *d,
                                          const float *x, const float *x_bias,
                                          const float *gamma, const float *beta,
                                          const float *running_mean, const float *running_var,
                                          float *y, gboolean relu, GError **error);
gboolean pf_cuda_batchnorm_backward (PfCudaContext *ctx, const PfBatchNormDesc *d, const float *x,
                                     const float *x_bias, const float *gamma,
                                     const float *save_mean, const float *save_invstd,
                                     const float *dy, const float *relu_y, float *dx,
                                     gboolean set_dx, float *dgamma, float *dbeta, GError **error);

/* ---- dense (cuBLAS) ------------------------------------------------------------------ */
/* y [m, out] = x [m, in] W^T + b, W [out, in]; b may be NULL. */
gboolean pf_cuda_linear_forward (PfCudaContext *ctx, int m, int in, int out, const float *x,
                                 const float *w, const float *b, float *y, GError **error);
/* dx += dy W (= with set_dx), dw += dy^T x, db += column sums of dy; each may be NULL. */
gboolean pf_cuda_linear_backward (PfCudaContext *ctx, int m, int in, int out, const float *x,
                                  const float *w, const float *dy, float *dx, gboolean set_dx,
                                  float *dw, float *db, GError **error);

/* ---- elementwise --------------------------------------------------------------------- */
gboolean pf_cuda_fill (PfCudaContext *ctx, size_t n, float value, float *y, GError **error);
/* y += alpha * x */
gboolean pf_cuda_axpy (PfCudaContext *ctx, size_t n, float alpha, const float *x, float *y,
                       GError **error);
gboolean pf_cuda_relu_forward (PfCudaContext *ctx, size_t n, const float *x, float *y, GError **error);
/* dx += dy where y > 0 (y is the forward output, as in pf_relu_backward_ref) */
gboolean pf_cuda_relu_backward (PfCudaContext *ctx, size_t n, const float *y, const float *dy,
                                float *dx, GError **error);
/* dy = (y > 0) ? dy : 0 in place: the gradient of a ReLU fused into the op that produced y
 * (applied before that op's own backward) */
gboolean pf_cuda_relu_mask (PfCudaContext *ctx, size_t n, const float *y, float *dy,
                            GError **error);
gboolean pf_cuda_sigmoid_forward (PfCudaContext *ctx, size_t n, const float *x, float *y, GError **error);
/* dx += dy * y * (1 - y) */
gboolean pf_cuda_sigmoid_backward (PfCudaContext *ctx, size_t n, const float *y, const float *dy,
                                   float *dx, GError **error);
gboolean pf_cuda_add_forward (PfCudaContext *ctx, size_t n, const float *a, const float *b,
                              float *y, GError **error);
gboolean pf_cuda_add_backward (PfCudaContext *ctx, size_t n, const float *dy, float *da,
                               float *db, GError **error);

/* ---- losses -------------------------------------------------------------------------- */
/* As pf_loss_forward (pf-loss.h) for PF_LOSS_MSE and PF_LOSS_WMSE, on the device: the scalar
 * loss goes to the DEVICE float `loss` (may be NULL) so a training step never waits on the
 * host, and dpred (may be NULL) is OVERWRITTEN with `scale` * dloss/dpred — the loss is the
 * root of backward; `scale` is 1 for a plain loss. Reductions run in double, in a fixed order
 * (the same bits on every run). */
/* mean over all n elements of (pred - target)^2 */
gboolean pf_cuda_mse_loss (PfCudaContext *ctx, size_t n, const float *pred, const float *target,
                           float scale, float *loss, float *dpred, GError **error);
/* DESIGN.md §6: per image sum(t * (p - t)^2) / (sum(t) + 1e-8), mean over the `batch` images
 * of `image` elements each. */
gboolean pf_cuda_wmse_loss (PfCudaContext *ctx, int batch, size_t image, const float *pred,
                            const float *target, float scale, float *loss, float *dpred,
                            GError **error);

/* ---- optimiser ----------------------------------------------------------------------- */
/* pf_adam_step (pf-optim.h) on the device, with the same float32 operations in the same order
 * and rounding (torch.optim.Adam): m = b1 m + (1-b1) g, v = b2 v + (1-b2) g^2,
 * denom = sqrt(v) / sqrt(1 - b2^t) + eps, p -= lr / (1 - b1^t) * m / denom; t >= 1. */
gboolean pf_cuda_adam_step (PfCudaContext *ctx, const PfAdamConfig *c, int64_t t, size_t n,
                            float *param, const float *grad, float *m, float *v, GError **error);

G_END_DECLS
