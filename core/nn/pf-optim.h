/* pf-optim.h — Adam and the StepLR schedule, with PyTorch's arithmetic.
 *
 * pf_adam_step follows torch.optim.Adam (1.13, single-tensor path, no weight decay, amsgrad
 * off) operation by operation: the moments and the update are float32 tensor arithmetic, the
 * bias corrections and the step size are computed in double as Python does:
 *   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;
 *   bc1 = 1 - b1^t;  bc2 = 1 - b2^t;  denom = sqrt(v) / sqrt(bc2) + eps;
 *   p -= (lr / bc1) m / denom.
 * The caller owns the state (m, v zeroed before step 1, checkpointed with the parameters)
 * and passes the step t (1 for the first update). */
#pragma once
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  double lr;
  double beta1, beta2;  /* 0.9, 0.999 */
  double eps;           /* 1e-8 */
} PfAdamConfig;

/* PyTorch's defaults with learning rate lr. */
void pf_adam_config_init (PfAdamConfig *c, double lr);

/* One update of a flat parameter array of n floats at step t >= 1 (OpenMP over elements;
 * the result does not depend on the thread count). m and v are the first and second moments. */
void pf_adam_step (const PfAdamConfig *c, int64_t t, size_t n, float *param, const float *grad,
                   float *m, float *v);

/* StepLR: the learning rate of `epoch` (0-based, the value torch's scheduler holds after
 * `epoch` calls to step()) = base_lr * gamma^(epoch / step_size), multiplied in the same
 * order as PyTorch's chained form. step_size >= 1; epoch < 0 counts as 0. */
double pf_step_lr (double base_lr, int epoch, int step_size, double gamma);

#ifdef __cplusplus
}
#endif
