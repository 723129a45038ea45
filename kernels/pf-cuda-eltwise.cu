/* pf-cuda-eltwise.cu — hand-written kernels: elementwise ops, the MSE and WMSE losses, Adam.
 *
 * Kept deliberately plain: grid-stride loops, one element per iteration, the arithmetic of the
 * CPU reference written the same way. Reductions go through fixed-size per-block partial sums
 * in double and a single-block final sum, so a loss is the same bit for bit on every run. */
#include <math.h>
#include "pf-cuda-private.h"

#define GRID_STRIDE(i, n) \
  for (size_t i = blockIdx.x * (size_t) blockDim.x + threadIdx.x; i < (n); \
       i += (size_t) gridDim.x * blockDim.x)

#define LAUNCH(kernel, n, ...) \
  G_STMT_START { \
    if ((n) > 0) \
      { \
        kernel<<<_pf_cuda_grid (ctx, (n)), PF_CUDA_BLOCK, 0, ctx->stream>>> ((n), __VA_ARGS__); \
        PF_CUDA_LAUNCHED (#kernel); \
      } \
  } G_STMT_END

/* ---- elementwise --------------------------------------------------------------------- */
__global__ static void
fill_kernel (size_t n, float value, float *y)
{
  GRID_STRIDE (i, n)
    y[i] = value;
}

__global__ static void
axpy_kernel (size_t n, float alpha, const float *x, float *y)
{
  GRID_STRIDE (i, n)
    y[i] += alpha * x[i];
}

__global__ static void
relu_forward_kernel (size_t n, const float *x, float *y)
{
  GRID_STRIDE (i, n)
    y[i] = x[i] < 0.0f ? 0.0f : x[i]; /* NaN passes through, as in PyTorch and the CPU ops */
}

__global__ static void
relu_mask_kernel (size_t n, const float *y, float *dy)
{
  GRID_STRIDE (i, n)
    dy[i] = y[i] > 0.0f ? dy[i] : 0.0f;
}

__global__ static void
relu_backward_kernel (size_t n, const float *y, const float *dy, float *dx)
{
  GRID_STRIDE (i, n)
    if (y[i] > 0.0f)
      dx[i] += dy[i];
}

__global__ static void
sigmoid_forward_kernel (size_t n, const float *x, float *y)
{
  GRID_STRIDE (i, n)
    y[i] = 1.0f / (1.0f + expf (-x[i]));
}

__global__ static void
sigmoid_backward_kernel (size_t n, const float *y, const float *dy, float *dx)
{
  GRID_STRIDE (i, n)
    dx[i] += dy[i] * y[i] * (1.0f - y[i]);
}

__global__ static void
add_forward_kernel (size_t n, const float *a, const float *b, float *y)
{
  GRID_STRIDE (i, n)
    y[i] = a[i] + b[i];
}

gboolean
pf_cuda_fill (PfCudaContext *ctx, size_t n, float value, float *y, GError **error)
{
  LAUNCH (fill_kernel, n, value, y);
  return TRUE;
}

gboolean
pf_cuda_axpy (PfCudaContext *ctx, size_t n, float alpha, const float *x, float *y, GError **error)
{
  LAUNCH (axpy_kernel, n, alpha, x, y);
  return TRUE;
}

gboolean
pf_cuda_relu_forward (PfCudaContext *ctx, size_t n, const float *x, float *y, GError **error)
{
  LAUNCH (relu_forward_kernel, n, x, y);
  return TRUE;
}

gboolean
pf_cuda_relu_backward (PfCudaContext *ctx, size_t n, const float *y, const float *dy, float *dx,
                       GError **error)
{
  if (dx)
    LAUNCH (relu_backward_kernel, n, y, dy, dx);
  return TRUE;
}

gboolean
pf_cuda_relu_mask (PfCudaContext *ctx, size_t n, const float *y, float *dy, GError **error)
{
  LAUNCH (relu_mask_kernel, n, y, dy);
  return TRUE;
}

gboolean
pf_cuda_sigmoid_forward (PfCudaContext *ctx, size_t n, const float *x, float *y, GError **error)
{
  LAUNCH (sigmoid_forward_kernel, n, x, y);
  return TRUE;
}

gboolean
pf_cuda_sigmoid_backward (PfCudaContext *ctx, size_t n, const float *y, const float *dy,
                          float *dx, GError **error)
{
  if (dx)
    LAUNCH (sigmoid_backward_kernel, n, y, dy, dx);
  return TRUE;
}

gboolean
pf_cuda_add_forward (PfCudaContext *ctx, size_t n, const float *a, const float *b, float *y,
                     GError **error)
{
  LAUNCH (add_forward_kernel, n, a, b, y);
  return TRUE;
}

gboolean
pf_cuda_add_backward (PfCudaContext *ctx, size_t n, const float *dy, float *da, float *db,
                      GError **error)
{
  /* y = a + b passes dy through to both */
  if (da)
    LAUNCH (axpy_kernel, n, 1.0f, dy, da);
  if (db)
    LAUNCH (axpy_kernel, n, 1.0f, dy, db);
  return TRUE;
}

/* ---- losses -------------------------------------------------------------------------- */
/* Blocks of the first MSE stage: a function of n only, so the summation order is fixed. */
#define PF_LOSS_MAX_BLOCKS 1024

/* partial[block] = sum of (p - t)^2 over the block's elements; dp = coef * (p - t) */
__global__ static void
mse_partial_kernel (size_t n, const float *p, const float *t, float coef, float *dp,
                    double *partial)
{
  __shared__ double sh[PF_CUDA_BLOCK];
  double s = 0;
  GRID_STRIDE (i, n)
    {
      float d = p[i] - t[i];
      s += (double) d * d;
      if (dp)
        dp[i] = coef * d;
    }
  s = _pf_block_sum (s, sh);
  if (threadIdx.x == 0)
    partial[blockIdx.x] = s;
}

/* *loss = (sum of the k partials) / div; one block */
__global__ static void
finish_mean_kernel (int k, const double *partial, double div, float *loss)
{
  __shared__ double sh[PF_CUDA_BLOCK];
  double s = 0;
  for (int i = threadIdx.x; i < k; i += PF_CUDA_BLOCK)
    s += partial[i];
  s = _pf_block_sum (s, sh);
  if (threadIdx.x == 0)
    *loss = (float) (s / div);
}

gboolean
pf_cuda_mse_loss (PfCudaContext *ctx, size_t n, const float *pred, const float *target,
                  float scale, float *loss, float *dpred, GError **error)
{
  if (n == 0)
    return _pf_cuda_invalid (error, "MSE loss over zero elements");
  size_t need = (n + PF_CUDA_BLOCK - 1) / PF_CUDA_BLOCK;
  int blocks = (int) MIN (need, (size_t) PF_LOSS_MAX_BLOCKS);
  double *partial = (double *) _pf_cuda_scratch (ctx, blocks * sizeof (double), error);
  if (!partial)
    return FALSE;
  /* d/dp mean((p - t)^2) = 2 (p - t) / n */
  float coef = (float) (2.0 * scale / (double) n);
  mse_partial_kernel<<<blocks, PF_CUDA_BLOCK, 0, ctx->stream>>> (n, pred, target, coef, dpred,
                                                                  partial);
  PF_CUDA_LAUNCHED ("mse_partial_kernel");
  if (loss)
    {
      finish_mean_kernel<<<1, PF_CUDA_BLOCK, 0, ctx->stream>>> (blocks, partial, (double) n, loss);
      PF_CUDA_LAUNCHED ("finish_mean_kernel");
    }
  return TRUE;
}

/* One block per image: num = sum t (p - t)^2, den = sum t + 1e-8; per_image[b] = num / den;
 * dp = coef * 2 t (p - t) / den with coef = scale / batch. */
__global__ static void
wmse_image_kernel (size_t image, const float *p, const float *t, float coef, float *dp,
                   double *per_image)
{
  __shared__ double sh[PF_CUDA_BLOCK];
  size_t off = (size_t) blockIdx.x * image;
  double num = 0, sum_t = 0;
  for (size_t i = threadIdx.x; i < image; i += PF_CUDA_BLOCK)
    {
      double tv = t[off + i];
      double d = (double) p[off + i] - tv;
      num += tv * d * d;
      sum_t += tv;
    }
  num = _pf_block_sum (num, sh);
  sum_t = _pf_block_sum (sum_t, sh);
  double den = sum_t + 1e-8;
  if (threadIdx.x == 0)
    per_image[blockIdx.x] = num / den;
  if (dp)
    {
      float g = (float) (2.0 * coef / den);
      for (size_t i = threadIdx.x; i < image; i += PF_CUDA_BLOCK)
        {
          float tv = t[off + i];
          dp[off + i] = g * tv * (p[off + i] - tv);
        }
    }
}

gboolean
pf_cuda_wmse_loss (PfCudaContext *ctx, int batch, size_t image, const float *pred,
                   const float *target, float scale, float *loss, float *dpred, GError **error)
{
  if (batch <= 0 || image == 0)
    return _pf_cuda_invalid (error, "WMSE loss over %d images of %zu elements", batch, image);
  double *per_image = (double *) _pf_cuda_scratch (ctx, batch * sizeof (double), error);
  if (!per_image)
    return FALSE;
  float coef = (float) ((double) scale / batch);
  wmse_image_kernel<<<batch, PF_CUDA_BLOCK, 0, ctx->stream>>> (image, pred, target, coef, dpred,
                                                                per_image);
  PF_CUDA_LAUNCHED ("wmse_image_kernel");
  if (loss)
    {
      finish_mean_kernel<<<1, PF_CUDA_BLOCK, 0, ctx->stream>>> (batch, per_image, (double) batch,
                                                                loss);
      PF_CUDA_LAUNCHED ("finish_mean_kernel");
    }
  return TRUE;
}

/* ---- Adam ---------------------------------------------------------------------------- */
/* The operations of pf_adam_step, each rounded where torch rounds it: m = fma (g, 1-b1, m b1)
 * (ATen's add with alpha is a fused multiply-add), v = v b2 + ((1-b2) g) g and the update as
 * separately rounded products. The _rn intrinsics keep nvcc from contracting the others. */
__global__ static void
adam_kernel (size_t n, float *p, const float *g, float *m, float *v, float b1, float omb1,
             float b2, float omb2, float eps, float neg_step, float bc2_sqrt)
{
  GRID_STRIDE (i, n)
    {
      float gi = g[i];
      float mi = fmaf (gi, omb1, __fmul_rn (m[i], b1));
      float vi = __fadd_rn (__fmul_rn (v[i], b2), __fmul_rn (__fmul_rn (omb2, gi), gi));
      float denom = __fadd_rn (__fdiv_rn (__fsqrt_rn (vi), bc2_sqrt), eps);
      p[i] = __fadd_rn (p[i], __fdiv_rn (__fmul_rn (neg_step, mi), denom));
      m[i] = mi;
      v[i] = vi;
    }
}

gboolean
pf_cuda_adam_step (PfCudaContext *ctx, const PfAdamConfig *c, int64_t t, size_t n, float *param,
                   const float *grad, float *m, float *v, GError **error)
{
  if (t < 1 || !(c->beta1 >= 0.0 && c->beta1 < 1.0) || !(c->beta2 >= 0.0 && c->beta2 < 1.0)
      || !(c->eps >= 0.0) || !isfinite (c->lr))
    return _pf_cuda_invalid (error, "invalid Adam step: t %" G_GINT64_FORMAT ", lr %g, "
                             "betas (%g, %g), eps %g", (gint64) t, c->lr, c->beta1, c->beta2,
                             c->eps);
  /* the Python-side scalars in double, cast to float as the kernels of torch do */
  double bc1 = 1.0 - pow (c->beta1, (double) t);
  double bc2 = 1.0 - pow (c->beta2, (double) t);
  double step_size = c->lr / bc1;
  LAUNCH (adam_kernel, n, param, grad, m, v, (float) c->beta1, (float) (1.0 - c->beta1),
          (float) c->beta2, (float) (1.0 - c->beta2), (float) c->eps, (float) -step_size,
          (float) sqrt (bc2));
  return TRUE;
}
