/* pf-eltwise-ref.c — reference elementwise ops: ReLU, LeakyReLU, sigmoid, add, dropout.
 *
 * Dropout mask: element i of step `step` is kept when u >= p, with
 *   words = philox4x32 (ctr = { i/4 low 32, i/4 high 32, step low 32, PF_RNG_STREAM_DROPOUT },
 *                       key = seed)  (pf_rng_block),
 *   u     = pf_rng_u01 (words[i % 4])  (24-bit uniform in (0, 1)).
 * So the mask depends only on (seed, step, i), not on n, the thread count or the backend; a GPU
 * kernel reproduces it bit for bit. Only the low 32 bits of step count: masks would repeat after
 * 2^32 steps, far beyond any training run. mask[i] is 1 when kept, 0 when dropped. */
#include "pf-ops.h"
#include "pf-rng.h"
#include <math.h>

void
pf_relu_forward_ref (size_t n, const float *x, float *y)
{
  for (size_t i = 0; i < n; i++)
    y[i] = x[i] < 0.0f ? 0.0f : x[i]; /* NaN passes through, as in PyTorch */
}

/* Uses the output: y > 0 exactly where x > 0, and y is what the graph keeps anyway. */
void
pf_relu_backward_ref (size_t n, const float *y, const float *dy, float *dx)
{
  if (!dx)
    return;
  for (size_t i = 0; i < n; i++)
    dx[i] += y[i] > 0.0f ? dy[i] : 0.0f;
}

void
pf_leaky_relu_forward_ref (size_t n, float slope, const float *x, float *y)
{
  for (size_t i = 0; i < n; i++)
    y[i] = x[i] > 0.0f ? x[i] : slope * x[i];
}

/* Uses the input, not the output: with a negative slope the output sign says nothing. */
void
pf_leaky_relu_backward_ref (size_t n, float slope, const float *x, const float *dy, float *dx)
{
  if (!dx)
    return;
  for (size_t i = 0; i < n; i++)
    dx[i] += x[i] > 0.0f ? dy[i] : slope * dy[i];
}

void
pf_sigmoid_forward_ref (size_t n, const float *x, float *y)
{
  for (size_t i = 0; i < n; i++)
    {
      /* exp of a non-positive argument only: no overflow, full precision in both tails. */
      if (x[i] >= 0.0f)
        y[i] = 1.0f / (1.0f + expf (-x[i]));
      else
        {
          float e = expf (x[i]);
          y[i] = e / (1.0f + e);
        }
    }
}

void
pf_sigmoid_backward_ref (size_t n, const float *y, const float *dy, float *dx)
{
  if (!dx)
    return;
  for (size_t i = 0; i < n; i++)
    dx[i] += dy[i] * y[i] * (1.0f - y[i]);
}

void
pf_add_forward_ref (size_t n, const float *a, const float *b, float *y)
{
  for (size_t i = 0; i < n; i++)
    y[i] = a[i] + b[i];
}

void
pf_add_backward_ref (size_t n, const float *dy, float *da, float *db)
{
  if (da)
    for (size_t i = 0; i < n; i++)
      da[i] += dy[i];
  if (db)
    for (size_t i = 0; i < n; i++)
      db[i] += dy[i];
}

/* 1/(1-p), or 0 when everything is dropped (p >= 1: PyTorch then outputs zeros). */
static float
dropout_scale (float p)
{
  return p < 1.0f ? 1.0f / (1.0f - p) : 0.0f;
}

void
pf_dropout_forward_ref (size_t n, float p, uint64_t seed, uint64_t step, const float *x,
                        float *y, uint8_t *mask)
{
  const float scale = dropout_scale (p);
  for (size_t i = 0; i < n; i++)
    {
      /* One Philox block serves four consecutive elements; recomputed per element for
       * clarity (the fast path computes it once per block). */
      uint64_t blk = i / 4;
      philox4x32_ctr_t r = pf_rng_block (seed, PF_RNG_STREAM_DROPOUT, (uint32_t) blk,
                                         (uint32_t) (blk >> 32), (uint32_t) step);
      uint8_t keep = pf_rng_u01 (r.v[i % 4]) >= p;
      mask[i] = keep;
      y[i] = keep ? x[i] * scale : 0.0f;
    }
}

void
pf_dropout_backward_ref (size_t n, float p, const uint8_t *mask, const float *dy, float *dx)
{
  if (!dx)
    return;
  const float scale = dropout_scale (p);
  for (size_t i = 0; i < n; i++)
    if (mask[i])
      dx[i] += dy[i] * scale;
}
