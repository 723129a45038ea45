/* pf-cuda-norm.cu — BatchNorm2d (spatial: statistics per channel over n and hw).
 *
 * Own kernels rather than cudnnBatchNormalization*: cuDNN's header does not say whether its
 * running variance is the biased or the unbiased one, and its legacy BN entry points are
 * deprecated in cuDNN 9. Here the contract is exactly pf_batchnorm_*_ref's (PyTorch's):
 * the output uses the biased batch variance, running_var is updated with the unbiased one
 * (var * M / (M - 1), M = n * hw), save_invstd = 1 / sqrt(biased var + eps).
 * One block per channel, two-pass statistics in double (mean first, then squared deviations),
 * so no cancellation and a fixed summation order. That uses only c blocks — plain and
 * obviously right; splitting a channel over several blocks is the speed-up to make later. */
#include <math.h>
#include "pf-cuda-private.h"

__global__ static void
bn_forward_train_kernel (int n, int c, int hw, float eps, float momentum, const float *x,
                         const float *gamma, const float *beta, float *y, float *running_mean,
                         float *running_var, float *save_mean, float *save_invstd)
{
  __shared__ double sh[PF_CUDA_BLOCK];
  const int ch = blockIdx.x;
  const double count = (double) n * hw;

  double s = 0;
  for (int b = 0; b < n; b++)
    {
      const float *xp = x + ((size_t) b * c + ch) * hw;
      for (int j = threadIdx.x; j < hw; j += PF_CUDA_BLOCK)
        s += xp[j];
    }
  const double mean = _pf_block_sum (s, sh) / count;

  double q = 0;
  for (int b = 0; b < n; b++)
    {
      const float *xp = x + ((size_t) b * c + ch) * hw;
      for (int j = threadIdx.x; j < hw; j += PF_CUDA_BLOCK)
        {
          double d = xp[j] - mean;
          q += d * d;
        }
    }
  const double var = _pf_block_sum (q, sh) / count; /* biased */
  const float invstd = (float) (1.0 / sqrt (var + (double) eps));
  const float meanf = (float) mean;

  if (threadIdx.x == 0)
    {
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
    }

  const float g = gamma ? gamma[ch] : 1.0f, bt = beta ? beta[ch] : 0.0f;
  for (int b = 0; b < n; b++)
    {
      const size_t off = ((size_t) b * c + ch) * hw;
      for (int j = threadIdx.x; j < hw; j += PF_CUDA_BLOCK)
        y[off + j] = (x[off + j] - meanf) * invstd * g + bt;
    }
}

__global__ static void
bn_forward_infer_kernel (size_t total, int c, int hw, float eps, const float *x,
                         const float *gamma, const float *beta, const float *running_mean,
                         const float *running_var, float *y)
{
  for (size_t i = blockIdx.x * (size_t) blockDim.x + threadIdx.x; i < total;
       i += (size_t) gridDim.x * blockDim.x)
    {
      int ch = (int) ((i / hw) % c);
      float invstd = 1.0f / sqrtf (running_var[ch] + eps);
      y[i] = (x[i] - running_mean[ch]) * invstd * (gamma ? gamma[ch] : 1.0f)
             + (beta ? beta[ch] : 0.0f);
    }
}

/* With xhat = (x - mean) invstd and M = n hw:
 * dbeta += sum dy, dgamma += sum dy xhat,
 * dx += gamma invstd (dy - sum dy / M - xhat sum(dy xhat) / M). */
__global__ static void
bn_backward_kernel (int n, int c, int hw, const float *x, const float *gamma,
                    const float *save_mean, const float *save_invstd, const float *dy, float *dx,
                    float *dgamma, float *dbeta)
{
  __shared__ double sh[PF_CUDA_BLOCK];
  const int ch = blockIdx.x;
  const float mean = save_mean[ch], invstd = save_invstd[ch];

  double s_dy = 0, s_dyx = 0;
  for (int b = 0; b < n; b++)
    {
      const size_t off = ((size_t) b * c + ch) * hw;
      for (int j = threadIdx.x; j < hw; j += PF_CUDA_BLOCK)
        {
          double g = dy[off + j];
          s_dy += g;
          s_dyx += g * ((x[off + j] - mean) * invstd);
        }
    }
  s_dy = _pf_block_sum (s_dy, sh);
  s_dyx = _pf_block_sum (s_dyx, sh);

  if (threadIdx.x == 0)
    {
      if (dbeta)
        dbeta[ch] += (float) s_dy;
      if (dgamma)
        dgamma[ch] += (float) s_dyx;
    }
  if (!dx)
    return;
  const double count = (double) n * hw;
  const float mean_dy = (float) (s_dy / count);
  const float mean_dyx = (float) (s_dyx / count);
  const float k = (gamma ? gamma[ch] : 1.0f) * invstd;
  for (int b = 0; b < n; b++)
    {
      const size_t off = ((size_t) b * c + ch) * hw;
      for (int j = threadIdx.x; j < hw; j += PF_CUDA_BLOCK)
        {
          float xhat = (x[off + j] - mean) * invstd;
          dx[off + j] += k * (dy[off + j] - mean_dy - xhat * mean_dyx);
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
                                 const float *gamma, const float *beta, float *y,
                                 float *running_mean, float *running_var, float *save_mean,
                                 float *save_invstd, GError **error)
{
  if (!check_desc (d, error))
    return FALSE;
  bn_forward_train_kernel<<<d->c, PF_CUDA_BLOCK, 0, ctx->stream>>>
    (d->n, d->c, d->hw, d->eps, d->momentum, x, gamma, beta, y, running_mean, running_var,
     save_mean, save_invstd);
  PF_CUDA_LAUNCHED ("bn_forward_train_kernel");
  return TRUE;
}

gboolean
pf_cuda_batchnorm_forward_infer (PfCudaContext *ctx, const PfBatchNormDesc *d, const float *x,
                                 const float *gamma, const float *beta, const float *running_mean,
                                 const float *running_var, float *y, GError **error)
{
  if (!check_desc (d, error))
    return FALSE;
  size_t total = (size_t) d->n * d->c * d->hw;
  bn_forward_infer_kernel<<<_pf_cuda_grid (ctx, total), PF_CUDA_BLOCK, 0, ctx->stream>>>
    (total, d->c, d->hw, d->eps, x, gamma, beta, running_mean, running_var, y);
  PF_CUDA_LAUNCHED ("bn_forward_infer_kernel");
  return TRUE;
}

gboolean
pf_cuda_batchnorm_backward (PfCudaContext *ctx, const PfBatchNormDesc *d, const float *x,
                            const float *gamma, const float *save_mean, const float *save_invstd,
                            const float *dy, float *dx, float *dgamma, float *dbeta,
                            GError **error)
{
  if (!check_desc (d, error))
    return FALSE;
  if (!dx && !dgamma && !dbeta)
    return TRUE;
  bn_backward_kernel<<<d->c, PF_CUDA_BLOCK, 0, ctx->stream>>>
    (d->n, d->c, d->hw, x, gamma, save_mean, save_invstd, dy, dx, dgamma, dbeta);
  PF_CUDA_LAUNCHED ("bn_backward_kernel");
  return TRUE;
}
