/* pf-optim.c — Adam and StepLR (see pf-optim.h for the formulas).
 *
 * To land on PyTorch's float32 results the operations keep torch's order and rounding, as
 * its AVX2/AVX-512 CPU kernels do them: exp_avg.mul_(b1).add_(g, alpha=1-b1) is a multiply
 * then a fused multiply-add (vec::fmadd); exp_avg_sq.mul_(b2).addcmul_(g, g, value=1-b2) a
 * multiply then v + (s g) g, which the compiler of ATen fuses too (checked bit for bit against
 * Debian's torch 1.13); the denominator and addcdiv are separately rounded. Contraction is
 * switched off for the rest so that -march=native does not fuse what torch rounds. */
#include "pf-optim.h"

#include <math.h>

void
pf_adam_config_init (PfAdamConfig *c, double lr)
{
  c->lr = lr;
  c->beta1 = 0.9;
  c->beta2 = 0.999;
  c->eps = 1e-8;
}

__attribute__ ((optimize ("fp-contract=off")))
void
pf_adam_step (const PfAdamConfig *c, int64_t t, size_t n, float *param, const float *grad,
              float *m, float *v)
{
  if (t < 1)
    t = 1;
  /* Python-side scalars, in double as torch computes them */
  double bc1 = 1.0 - pow (c->beta1, (double) t);
  double bc2 = 1.0 - pow (c->beta2, (double) t);
  double step_size = c->lr / bc1;
  /* ... then cast to the tensor dtype inside the kernels */
  const float b1 = (float) c->beta1, omb1 = (float) (1.0 - c->beta1);
  const float b2 = (float) c->beta2, omb2 = (float) (1.0 - c->beta2);
  const float bc2_sqrt = (float) sqrt (bc2);
  const float eps = (float) c->eps;
  const float neg_step = (float) -step_size;

#pragma omp parallel for simd if (n > 32768) schedule (static)
  for (size_t i = 0; i < n; i++)
    {
      float g = grad[i];
      float mi = fmaf (g, omb1, m[i] * b1);
      float vi = fmaf (omb2 * g, g, v[i] * b2);
      float denom = sqrtf (vi) / bc2_sqrt + eps;
      param[i] = param[i] + (neg_step * mi) / denom;
      m[i] = mi;
      v[i] = vi;
    }
}

double
pf_step_lr (double base_lr, int epoch, int step_size, double gamma)
{
  if (step_size < 1)
    step_size = 1;
  double lr = base_lr;
  /* torch's StepLR multiplies the current lr by gamma at every multiple of step_size */
  for (int k = epoch / step_size; k > 0; k--)
    lr *= gamma;
  return lr;
}
