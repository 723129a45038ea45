/* pf-norm-fast.c — BatchNorm2d for the fast CPU path, with an optional fused ReLU.
 *
 * Same formulas as pf-norm-ref.c (two-pass variance, double accumulators). Threads split the
 * channels: each channel is computed whole by one thread, so the sums do not depend on the
 * thread count. A channel is walked plane by plane; its n planes (n * hw floats, a few MB for
 * the 56x56 layers) stay in the last-level cache between the passes, so x comes from memory
 * once. Fusing the ReLU saves a full read and write of the activation in both directions. */
#include "pf-ops-fast.h"
#include <math.h>

static inline const float *
plane (const PfBatchNormDesc *d, const float *t, int n, int c)
{
  return t + ((size_t) n * d->c + c) * d->hw;
}

static inline float *
plane_w (const PfBatchNormDesc *d, float *t, int n, int c)
{
  return t + ((size_t) n * d->c + c) * d->hw;
}

/* y = x * scale + shift (then max(., 0) with relu) over one channel. */
static void
affine_channel (const PfBatchNormDesc *d, int c, bool relu, const float *x, float scale,
                float shift, float *y)
{
  for (int n = 0; n < d->n; n++)
    {
      const float *p = plane (d, x, n, c);
      float *q = plane_w (d, y, n, c);
      if (relu)
        {
#pragma omp simd
          for (int i = 0; i < d->hw; i++)
            {
              const float v = p[i] * scale + shift;
              q[i] = v < 0.0f ? 0.0f : v; /* NaN passes through */
            }
        }
      else
        {
#pragma omp simd
          for (int i = 0; i < d->hw; i++)
            q[i] = p[i] * scale + shift;
        }
    }
}

void
pf_batchnorm_forward_train_fast (const PfBatchNormDesc *d, bool relu, const float *x,
                                 const float *gamma, const float *beta, float *y,
                                 float *running_mean, float *running_var, float *save_mean,
                                 float *save_invstd)
{
  const double m = (double) d->n * d->hw;
#pragma omp parallel for schedule(dynamic, 1) num_threads(pf_ops_fast_threads ())
  for (int c = 0; c < d->c; c++)
    {
      double sum = 0.0;
      for (int n = 0; n < d->n; n++)
        {
          const float *p = plane (d, x, n, c);
#pragma omp simd reduction(+:sum)
          for (int i = 0; i < d->hw; i++)
            sum += p[i];
        }
      const double mean = sum / m;
      double ss = 0.0;
      for (int n = 0; n < d->n; n++)
        {
          const float *p = plane (d, x, n, c);
#pragma omp simd reduction(+:ss)
          for (int i = 0; i < d->hw; i++)
            {
              const double t = (double) p[i] - mean;
              ss += t * t;
            }
        }
      const double var = ss / m;
      const double invstd = 1.0 / sqrt (var + d->eps);
      const double g = gamma ? gamma[c] : 1.0, bt = beta ? beta[c] : 0.0;
      affine_channel (d, c, relu, x, (float) (g * invstd), (float) (bt - mean * g * invstd), y);
      if (running_mean)
        running_mean[c] = (float) ((1.0 - d->momentum) * running_mean[c] + d->momentum * mean);
      if (running_var)
        {
          const double unbiased = m > 1 ? ss / (m - 1) : var;
          running_var[c] = (float) ((1.0 - d->momentum) * running_var[c] + d->momentum * unbiased);
        }
      if (save_mean)
        save_mean[c] = (float) mean;
      if (save_invstd)
        save_invstd[c] = (float) invstd;
    }
}

void
pf_batchnorm_forward_infer_fast (const PfBatchNormDesc *d, bool relu, const float *x,
                                 const float *gamma, const float *beta,
                                 const float *running_mean, const float *running_var, float *y)
{
#pragma omp parallel for schedule(dynamic, 1) num_threads(pf_ops_fast_threads ())
  for (int c = 0; c < d->c; c++)
    {
      const double invstd = 1.0 / sqrt ((double) running_var[c] + d->eps);
      const double g = gamma ? gamma[c] : 1.0, bt = beta ? beta[c] : 0.0;
      affine_channel (d, c, relu, x, (float) (g * invstd),
                      (float) (bt - running_mean[c] * g * invstd), y);
    }
}

/* dy masked by the fused ReLU: the gradient reaching the normalised value. */
static inline float
masked (const float *relu_y, const float *g, size_t i)
{
  return relu_y ? (relu_y[i] > 0.0f ? g[i] : 0.0f) : g[i];
}

void
pf_batchnorm_backward_fast (const PfBatchNormDesc *d, const float *relu_y, const float *x,
                            const float *gamma, const float *save_mean,
                            const float *save_invstd, const float *dy, float *dx,
                            float *dgamma, float *dbeta)
{
  const double m = (double) d->n * d->hw;
#pragma omp parallel for schedule(dynamic, 1) num_threads(pf_ops_fast_threads ())
  for (int c = 0; c < d->c; c++)
    {
      const double mean = save_mean[c], invstd = save_invstd[c];
      double sdy = 0.0, sdyx = 0.0;
      for (int n = 0; n < d->n; n++)
        {
          const size_t off = ((size_t) n * d->c + c) * d->hw;
          const float *p = x + off, *g = dy + off, *r = relu_y ? relu_y + off : NULL;
#pragma omp simd reduction(+:sdy, sdyx)
          for (int i = 0; i < d->hw; i++)
            {
              const double gi = masked (r, g, i);
              sdy += gi;
              sdyx += gi * ((double) p[i] - mean);
            }
        }
      sdyx *= invstd;
      if (dbeta)
        dbeta[c] += (float) sdy;
      if (dgamma)
        dgamma[c] += (float) sdyx;
      if (dx)
        {
          /* dx = k * (m * dy - sdy - xhat * sdyx) = a * dy + b * x + c0, in float. */
          const double k = (gamma ? gamma[c] : 1.0) * invstd / m;
          const float a = (float) (k * m), b = (float) (-k * invstd * sdyx);
          const float c0 = (float) (-k * sdy + k * invstd * sdyx * mean);
          for (int n = 0; n < d->n; n++)
            {
              const size_t off = ((size_t) n * d->c + c) * d->hw;
              const float *p = x + off, *g = dy + off, *r = relu_y ? relu_y + off : NULL;
              float *q = dx + off;
#pragma omp simd
              for (int i = 0; i < d->hw; i++)
                q[i] += a * masked (r, g, i) + b * p[i] + c0;
            }
        }
    }
}
