/* pf-norm-ref.c — reference BatchNorm2d (per channel c over n and hw), PyTorch semantics.
 *
 * Training normalises with the biased batch variance and folds the unbiased one into
 * running_var; inference uses the running statistics. Sums run in double with a two-pass
 * variance, so the reference does not lose digits on inputs with a large mean. */
#include <math.h>
#include "pf-ops.h"

static inline const float *
plane (const PfBatchNormDesc *d, const float *t, int n, int c)
{
  return t + ((size_t) n * d->c + c) * d->hw;
}

void
pf_batchnorm_forward_train_ref (const PfBatchNormDesc *d, const float *x, const float *gamma,
                                const float *beta, float *y, float *running_mean,
                                float *running_var, float *save_mean, float *save_invstd)
{
  const double m = (double) d->n * d->hw;
  for (int c = 0; c < d->c; c++)
    {
      double sum = 0.0;
      for (int n = 0; n < d->n; n++)
        {
          const float *p = plane (d, x, n, c);
          for (int i = 0; i < d->hw; i++)
            sum += p[i];
        }
      const double mean = sum / m;
      double ss = 0.0;
      for (int n = 0; n < d->n; n++)
        {
          const float *p = plane (d, x, n, c);
          for (int i = 0; i < d->hw; i++)
            ss += ((double) p[i] - mean) * ((double) p[i] - mean);
        }
      const double var = ss / m;
      const double invstd = 1.0 / sqrt (var + d->eps);
      const double g = gamma ? gamma[c] : 1.0, bt = beta ? beta[c] : 0.0;
      for (int n = 0; n < d->n; n++)
        {
          const float *p = plane (d, x, n, c);
          float *q = y + ((size_t) n * d->c + c) * d->hw;
          for (int i = 0; i < d->hw; i++)
            q[i] = (float) (((double) p[i] - mean) * invstd * g + bt);
        }
      if (running_mean)
        running_mean[c] = (float) ((1.0 - d->momentum) * running_mean[c] + d->momentum * mean);
      if (running_var)
        {
          /* PyTorch refuses a single value per channel in training; the biased variance (0)
           * is the only finite choice there, so we keep it rather than divide by zero. */
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
pf_batchnorm_forward_infer_ref (const PfBatchNormDesc *d, const float *x, const float *gamma,
                                const float *beta, const float *running_mean,
                                const float *running_var, float *y)
{
  for (int c = 0; c < d->c; c++)
    {
      const double invstd = 1.0 / sqrt ((double) running_var[c] + d->eps);
      const double g = gamma ? gamma[c] : 1.0, bt = beta ? beta[c] : 0.0;
      for (int n = 0; n < d->n; n++)
        {
          const float *p = plane (d, x, n, c);
          float *q = y + ((size_t) n * d->c + c) * d->hw;
          for (int i = 0; i < d->hw; i++)
            q[i] = (float) (((double) p[i] - running_mean[c]) * invstd * g + bt);
        }
    }
}

/* With xhat = (x - mean) * invstd and m values per channel:
 *   dbeta = sum dy,  dgamma = sum dy * xhat,
 *   dx = gamma * invstd / m * (m * dy - dbeta - xhat * dgamma)
 * (the batch statistics depend on x, hence the two correction terms). */
void
pf_batchnorm_backward_ref (const PfBatchNormDesc *d, const float *x, const float *gamma,
                           const float *save_mean, const float *save_invstd, const float *dy,
                           float *dx, float *dgamma, float *dbeta)
{
  const double m = (double) d->n * d->hw;
  for (int c = 0; c < d->c; c++)
    {
      const double mean = save_mean[c], invstd = save_invstd[c];
      double sdy = 0.0, sdyx = 0.0;
      for (int n = 0; n < d->n; n++)
        {
          const float *p = plane (d, x, n, c), *g = plane (d, dy, n, c);
          for (int i = 0; i < d->hw; i++)
            {
              sdy += g[i];
              sdyx += (double) g[i] * ((double) p[i] - mean) * invstd;
            }
        }
      if (dbeta)
        dbeta[c] += (float) sdy;
      if (dgamma)
        dgamma[c] += (float) sdyx;
      if (dx)
        {
          const double k = (gamma ? gamma[c] : 1.0) * invstd / m;
          for (int n = 0; n < d->n; n++)
            {
              const float *p = plane (d, x, n, c), *g = plane (d, dy, n, c);
              float *q = dx + ((size_t) n * d->c + c) * d->hw;
              for (int i = 0; i < d->hw; i++)
                {
                  const double xhat = ((double) p[i] - mean) * invstd;
                  q[i] += (float) (k * (m * g[i] - sdy - xhat * sdyx));
                }
            }
        }
    }
}
