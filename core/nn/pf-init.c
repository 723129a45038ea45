/* pf-init.c — PyTorch's default initialisation, drawn from counter-based Philox. */
#include "pf-init.h"
#include "pf-rng.h"

#include <math.h>

int64_t
pf_init_fan_in (int ndim, const int *shape)
{
  if (ndim < 2)
    return -1;
  int64_t fan_in = shape[1];
  for (int i = 2; i < ndim; i++)
    fan_in *= shape[i];
  for (int i = 0; i < ndim; i++)
    if (shape[i] < 0)
      return -1;
  return fan_in;
}

float
pf_init_default_bound (int64_t fan_in)
{
  return fan_in > 0 ? (float) (1.0 / sqrt ((double) fan_in)) : 0.0f;
}

void
pf_init_uniform (uint64_t seed, uint32_t param_index, float bound, size_t n, float *out)
{
  size_t nblocks = (n + 3) / 4;
  /* one Philox block gives four elements; blocks are independent, so any split is fine */
#pragma omp parallel for if (nblocks > 16384) schedule (static)
  for (size_t blk = 0; blk < nblocks; blk++)
    {
      philox4x32_ctr_t r = pf_rng_block (seed, PF_RNG_STREAM_INIT, param_index, (uint32_t) blk,
                                         (uint32_t) (blk >> 32));
      for (size_t j = 0; j < 4 && blk * 4 + j < n; j++)
        /* u = (2k+1) 2^-24, so 2u - 1 is exact, symmetric about 0 and never +-1 */
        out[blk * 4 + j] = bound * (2.0f * pf_rng_u01 (r.v[j]) - 1.0f);
    }
}

void
pf_init_fill (size_t n, float value, float *out)
{
  for (size_t i = 0; i < n; i++)
    out[i] = value;
}

int64_t
pf_init_conv_linear (uint64_t seed, uint32_t weight_index, uint32_t bias_index, int ndim,
                     const int *shape, float *weight, float *bias)
{
  int64_t fan_in = pf_init_fan_in (ndim, shape);
  if (fan_in < 0)
    return -1;
  size_t count = (size_t) shape[0] * (size_t) fan_in;
  float bound = pf_init_default_bound (fan_in);
  pf_init_uniform (seed, weight_index, bound, count, weight);
  if (bias)
    pf_init_uniform (seed, bias_index, bound, (size_t) shape[0], bias);
  return fan_in;
}

void
pf_init_batchnorm (int c, float *weight, float *bias, float *running_mean, float *running_var)
{
  size_t n = c > 0 ? (size_t) c : 0;
  if (weight)
    pf_init_fill (n, 1.0f, weight);
  if (bias)
    pf_init_fill (n, 0.0f, bias);
  if (running_mean)
    pf_init_fill (n, 0.0f, running_mean);
  if (running_var)
    pf_init_fill (n, 1.0f, running_var);
}

void
pf_init_lstm (uint64_t seed, uint32_t param_index, int hidden, size_t n, float *out)
{
  pf_init_uniform (seed, param_index, pf_init_default_bound (hidden), n, out);
}
