/* pf-cuda-norm.cu — BatchNorm2d (spatial: statistics per channel over n and hw).
 *
 * Own kernels rather than cudnnBatchNormalization*: cuDNN's header does not say whether its
 * running variance is the biased or the unbiased one, and its legacy BN entry points are
 * deprecated in cuDNN 9. Here the contract is exactly pf_batchnorm_*_ref's (PyTorch's):
 * the output uses the biased batch variance, running_var is updated with the unbiased one
 * (var * M / (M - 1), M = n * hw), save_invstd = 1 / sqrt(biased var + eps).
 *
 * Each pass is three launches: a grid of (channel, slice) blocks sums its share of the planes
 * in double into scratch, one thread per channel adds the slices in order (so the result does
 * not depend on timing: deterministic), and an elementwise kernel over the whole tensor applies
 * the per-channel coefficients. Sums of x and x^2 in one pass: in double the cancellation of
 * E[x^2] - mean^2 costs nothing at float precision. */
#include <math.h>
#include "pf-cuda-private.h"

/* Slices per channel: enough (channel, slice) blocks to fill the device a few times over. */
static int
bn_slices (const PfCudaContext *ctx, const PfBatchNormDesc *d)
{
  int want = (ctx->sm_count > 0 ? ctx->sm_count : 1) * 4;
  int s = (want + d->c - 1) / d->c;
  return MAX (1, MIN (s, d->n));
}

/* dy[i] through the mask of a fused ReLU whose output is ry (NULL: no ReLU) */
__device__ static __forceinline__ float
relu_masked (const float *dy, const float *ry, size_t i)
{
  return ry && !(ry[i] > 0.0f) ? 0.0f : dy[i];
}

/* part[(ch * slices + s) * 2 + {0,1}] = sums over the planes b = s, s + slices, ... of channel ch:
 * stats (mean == NULL) of x and x^2, backward of dy and dy * xhat. x is x + xb[ch] when xb is
 * given (a convolution's bias, deferred to here: the float sum is the one cudnnAddTensor made);
 * dy is 0 where ry (the output of a fused ReLU), when given, is not positive. */
__global__ static void
bn_partial_kernel (int n, int c, int hw, int slices, const float *dy, const float *ry,
                   const float *x, const float *xb, const float *mean, const float *invstd,
                   double *part)
{
  __shared__ double sh[PF_CUDA_BLOCK];
  const int ch = blockIdx.x, sl = blockIdx.y;
  const float m = mean ? mean[ch] : 0.0f, is = invstd ? invstd[ch] : 1.0f;
  const float bias = xb ? xb[ch] : 0.0f;
  double s1 = 0, s2 = 0;
  for (int b = sl; b < n; b += slices)
    {
      const size_t off = ((size_t) b * c + ch) * hw;
      for (int j = threadIdx.x; j < hw; j += PF_CUDA_BLOCK)
        {
          const float xv = xb ? x[off + j] + bias : x[off + j];
          if (!mean)
            {
              s1 += xv;
              s2 += (double) xv * xv;
            }
          else
            {
              double av = relu_masked (dy, ry, off + j);
              s1 += av;
              s2 += av * (double) ((xv - m) * is);
            }
        }
    }
  s1 = _pf_block_sum (s1, sh);
  s2 = _pf_block_sum (s2, sh);
  if (threadIdx.x == 0)
    {
      part[((size_t) ch * slices + sl) * 2] = s1;
      part[((size_t) ch * slices + sl) * 2 + 1] = s2;
    }
}

/* One thread per channel: batch statistics, saved values and running statistics; coef gets
 * mean, invstd * gamma and beta. */
__global__ static void
bn_stats_finish_kernel (int c, int slices, double count, float eps, float momentum,
                        const double *part, const float *gamma, const float *beta,
                        float *running_mean, float *running_var, float *save_mean,
                        float *save_invstd, float *coef)
{
  int ch = blockIdx.x * blockDim.x + threadIdx.x;
  if (ch >= c)
    return;
  double s = 0, q = 0;
  for (int i = 0; i < slices; i++)
    {
      s += part[((size_t) ch * slices + i) * 2];
      q += part[((size_t) ch * slices + i) * 2 + 1];
    }
  const double mean = s / count;
  const double var = fmax (q / count - mean * mean, 0.0); /* biased */
  const float invstd = (float) (1.0 / sqrt (var + (double) eps));
  const float meanf = (float) mean;
  if (save_mean)
    save_mean[ch] = meanf;
  if (save_invstd)
    save_invstd[ch] = invstd;
  if (running_mean)
    running_mean[ch] = (float) ((1.0 - momentum) * running_mean[ch] + momentum * mean);
  /* one value per channel: PyTorch refuses, the CPU reference keeps the biased variance */
  if (running_var)
    running_var[ch] = (float) ((1.0 - momentum) * running_var[ch]
                               + momentum * (count > 1.0 ? var * count / (count - 1.0) : var));
  const float g = gamma ? gamma[ch] : 1.0f, bt = beta ? beta[ch] : 0.0f;
  coef[3 * ch] = meanf;
  coef[3 * ch + 1] = invstd * g;
  coef[3 * ch + 2] = bt;
}

/* y = (x - mean) * (invstd * gamma) + beta: the product of the two per-channel factors is
 * rounded once per channel, not per element as in the reference; far inside the tolerance.
 * With relu, the ReLU that follows (the planner's relu_after) in the same pass. */
__global__ static void
bn_apply_kernel (size_t total, int c, int hw, const float *x, const float *coef, float *y,
                 int relu, const float *xb)
{
  const size_t planes = total / hw;
  PF_PLANE_LOOP (p, planes)
    {
      const int ch = (int) (p % c);
      const float mean = coef[3 * ch], k = coef[3 * ch + 1], beta = coef[3 * ch + 2];
      const float bias = xb ? xb[ch] : 0.0f;
      const float *xp = x + p * hw;
      float *yp = y + p * hw;
      PF_PLANE_ELEMENTS (j, (size_t) hw)
        {
          float v = fmaf ((xb ? xp[j] + bias : xp[j]) - mean, k, beta);
          yp[j] = relu && v < 0.0f ? 0.0f : v; /* NaN passes, as in relu_forward_kernel */
        }
    }
}

__global__ static void
bn_infer_coef_kernel (int c, float eps, const float *gamma, const float *beta,
                      const float *running_mean, const float *running_var, float *coef)
{
  int ch = blockIdx.x * blockDim.x + threadIdx.x;
  if (ch >= c)
    return;
  float invstd = 1.0f / sqrtf (running_var[ch] + eps);
  float g = gamma ? gamma[ch] : 1.0f, bt = beta ? beta[ch] : 0.0f;
  coef[3 * ch] = running_mean[ch];
  coef[3 * ch + 1] = invstd * g;
  coef[3 * ch + 2] = bt;
}

/* With xhat = (x - mean) invstd and M = n hw:
 * dbeta += sum dy, dgamma += sum dy xhat,
 * dx += gamma invstd (dy - sum dy / M - xhat sum(dy xhat) / M). coef gets, per channel,
 * k = gamma invstd, mean_dy and mean_dyx. */
__global__ static void
bn_backward_finish_kernel (int c, int slices, double count, const double *part,
                           const float *gamma, const float *save_invstd, float *dgamma,
                           float *dbeta, float *coef)
{
  int ch = blockIdx.x * blockDim.x + threadIdx.x;
  if (ch >= c)
    return;
  double s_dy = 0, s_dyx = 0;
  for (int i = 0; i < slices; i++)
    {
      s_dy += part[((size_t) ch * slices + i) * 2];
      s_dyx += part[((size_t) ch * slices + i) * 2 + 1];
    }
  if (dbeta)
    dbeta[ch] += (float) s_dy;
  if (dgamma)
    dgamma[ch] += (float) s_dyx;
  coef[3 * ch] = (gamma ? gamma[ch] : 1.0f) * save_invstd[ch];
  coef[3 * ch + 1] = (float) (s_dy / count);
  coef[3 * ch + 2] = (float) (s_dyx / count);
}

__global__ static void
bn_backward_dx_kernel (size_t total, int c, int hw, const float *x, const float *save_mean,
                       const float *save_invstd, const float *coef, const float *dy, float *dx,
                       const float *xb, const float *ry, bool set_dx)
{
  const size_t planes = total / hw;
  PF_PLANE_LOOP (p, planes)
    {
      const int ch = (int) (p % c);
      const float mean = save_mean[ch], invstd = save_invstd[ch];
      const float k = coef[3 * ch], mean_dy = coef[3 * ch + 1], mean_dyx = coef[3 * ch + 2];
      const float bias = xb ? xb[ch] : 0.0f;
      const size_t off = p * hw;
      PF_PLANE_ELEMENTS (j, (size_t) hw)
        {
          float xhat = ((xb ? x[off + j] + bias : x[off + j]) - mean) * invstd;
          const float g = k * (relu_masked (dy, ry, off + j) - mean_dy - xhat * mean_dyx);
          dx[off + j] = set_dx ? g : dx[off + j] + g;
        }
    }
}

static gboolean
check_desc (const PfBatchNormDesc *d, GError **error)
{
  if (d->n <= 0 || d->c <= 0 || d->hw <= 0 || !(d->eps > 0.0f) || !isfinite (d->eps)
      || !(d->momentum >= 0.0f && d->momentum <= 1.0f))
    return _pf_cuda_invalid (error, "invalid batch-norm shape: n %d, c %d, hw %d, eps %g, "
                             "momentum %g", d->n, d->c, d->hw, d->eps, d->momentum);
  return TRUE;
}

gboolean
pf_cuda_batchnorm_forward_train (PfCudaContext *ctx, const PfBatchNormDesc *d, const float *x,
                                 const float *x_bias, const float *gamma, const float *beta,
                                 float *y, gboolean relu, float *running_mean, float *running_var,
                                 float *save_mean, float *save_invstd, GError **error)
{
  if (!check_desc (d, error))
    return FALSE;
  const int slices = bn_slices (ctx, d);
  const size_t part_bytes = (size_t) d->c * slices * 2 * sizeof (double);
  char *scratch = (char *) _pf_cuda_scratch (ctx, part_bytes + (size_t) d->c * 3 * sizeof (float), error);
  if (!scratch)
    return FALSE;
  double *part = (double *) scratch;
  float *coef = (float *) (scratch + part_bytes);
  bn_partial_kernel<<<dim3 (d->c, slices), PF_CUDA_BLOCK, 0, ctx->stream>>>
    (d->n, d->c, d->hw, slices, NULL, NULL, x, x_bias, NULL, NULL, part);
  PF_CUDA_LAUNCHED ("bn_partial_kernel");
  bn_stats_finish_kernel<<<(d->c + 127) / 128, 128, 0, ctx->stream>>>
    (d->c, slices, (double) d->n * d->hw, d->eps, d->momentum, part, gamma, beta, running_mean,
     running_var, save_mean, save_invstd, coef);
  PF_CUDA_LAUNCHED ("bn_stats_finish_kernel");
  size_t total = (size_t) d->n * d->c * d->hw;
  bn_apply_kernel<<<_pf_cuda_plane_grid (ctx, (size_t) d->n * d->c, d->hw), PF_CUDA_BLOCK, 0,
                    ctx->stream>>> (total, d->c, d->hw, x, coef, y, relu, x_bias);
  PF_CUDA_LAUNCHED ("bn_apply_kernel");
  return TRUE;
}

gboolean
pf_cuda_batchnorm_forward_infer (PfCudaContext *ctx, const PfBatchNormDesc *d, const float *x,
                                 const float *x_bias, const float *gamma, const float *beta,
                                 const float *running_mean, const float *running_var, float *y,
                                 gboolean relu, GError **error)
{
  if (!check_desc (d, error))
    return FALSE;
  size_t total = (size_t) d->n * d->c * d->hw;
  float *coef = (float *) _pf_cuda_scratch (ctx, (size_t) d->c * 3 * sizeof (float), error);
  if (!coef)
    return FALSE;
  bn_infer_coef_kernel<<<(d->c + 127) / 128, 128, 0, ctx->stream>>>
    (d->c, d->eps, gamma, beta, running_mean, running_var, coef);
  PF_CUDA_LAUNCHED ("bn_infer_coef_kernel");
  bn_apply_kernel<<<_pf_cuda_plane_grid (ctx, (size_t) d->n * d->c, d->hw), PF_CUDA_BLOCK, 0,
                    ctx->stream>>> (total, d->c, d->hw, x, coef, y, relu, x_bias);
  PF_CUDA_LAUNCHED ("bn_apply_kernel");
  return TRUE;
}

gboolean
pf_cuda_batchnorm_backward (PfCudaContext *ctx, const PfBatchNormDesc *d, const float *x,
                            const float *x_bias, const float *gamma, const float *save_mean,
                            const float *save_invstd, const float *dy, const float *relu_y,
                            float *dx, gboolean set_dx, float *dgamma, float *dbeta,
                            GError **error)
{
  if (!check_desc (d, error))
    return FALSE;
  if (!dx && !dgamma && !dbeta)
    return TRUE;
  const int slices = bn_slices (ctx, d);
  const size_t part_bytes = (size_t) d->c * slices * 2 * sizeof (double);
  char *scratch = (char *) _pf_cuda_scratch (ctx, part_bytes + (size_t) d->c * 3 * sizeof (float), error);
  if (!scratch)
    return FALSE;
  double *part = (double *) scratch;
  float *coef = (float *) (scratch + part_bytes);
  bn_partial_kernel<<<dim3 (d->c, slices), PF_CUDA_BLOCK, 0, ctx->stream>>>
    (d->n, d->c, d->hw, slices, dy, relu_y, x, x_bias, save_mean, save_invstd, part);
  PF_CUDA_LAUNCHED ("bn_partial_kernel");
  bn_backward_finish_kernel<<<(d->c + 127) / 128, 128, 0, ctx->stream>>>
    (d->c, slices, (double) d->n * d->hw, part, gamma, save_invstd, dgamma, dbeta, coef);
  PF_CUDA_LAUNCHED ("bn_backward_finish_kernel");
  if (dx)
    {
      size_t total = (size_t) d->n * d->c * d->hw;
      bn_backward_dx_kernel<<<_pf_cuda_plane_grid (ctx, (size_t) d->n * d->c, d->hw),
                              PF_CUDA_BLOCK, 0, ctx->stream>>>
        (total, d->c, d->hw, x, save_mean, save_invstd, coef, dy, dx, x_bias, relu_y,
         (bool) set_dx);
      PF_CUDA_LAUNCHED ("bn_backward_dx_kernel");
    }
  return TRUE;
}
