/* pf-channel-ref.c — reference channel ops on NCHW tensors seen as [n, c, hw]:
 * concatenation, channel gather, per-(n, c) scaling (the SE gate) and global average pooling. */
#include "pf-ops.h"

void
pf_concat_forward_ref (int n, int hw, int k, const int *c, const float *const *x, float *y)
{
  int ctot = 0;
  for (int i = 0; i < k; i++)
    ctot += c[i];
  for (int b = 0; b < n; b++)
    {
      int off = 0;
      for (int i = 0; i < k; i++)
        {
          const float *src = x[i] + (size_t) b * c[i] * hw;
          float *dst = y + ((size_t) b * ctot + off) * hw;
          for (size_t j = 0; j < (size_t) c[i] * hw; j++)
            dst[j] = src[j];
          off += c[i];
        }
    }
}

/* A NULL dx skips everything, a NULL entry dx[i] skips input i. */
void
pf_concat_backward_ref (int n, int hw, int k, const int *c, const float *dy, float *const *dx)
{
  if (!dx)
    return;
  int ctot = 0;
  for (int i = 0; i < k; i++)
    ctot += c[i];
  for (int b = 0; b < n; b++)
    {
      int off = 0;
      for (int i = 0; i < k; i++)
        {
          if (dx[i])
            {
              const float *src = dy + ((size_t) b * ctot + off) * hw;
              float *dst = dx[i] + (size_t) b * c[i] * hw;
              for (size_t j = 0; j < (size_t) c[i] * hw; j++)
                dst[j] += src[j];
            }
          off += c[i];
        }
    }
}

void
pf_channel_gather_forward_ref (int n, int c, int hw, int k, const int *idx, const float *x, float *y)
{
  for (int b = 0; b < n; b++)
    for (int j = 0; j < k; j++)
      {
        const float *src = x + ((size_t) b * c + idx[j]) * hw;
        float *dst = y + ((size_t) b * k + j) * hw;
        for (int i = 0; i < hw; i++)
          dst[i] = src[i];
      }
}

/* A channel picked several times gets the sum of its gradients. */
void
pf_channel_gather_backward_ref (int n, int c, int hw, int k, const int *idx, const float *dy, float *dx)
{
  if (!dx)
    return;
  for (int b = 0; b < n; b++)
    for (int j = 0; j < k; j++)
      {
        const float *src = dy + ((size_t) b * k + j) * hw;
        float *dst = dx + ((size_t) b * c + idx[j]) * hw;
        for (int i = 0; i < hw; i++)
          dst[i] += src[i];
      }
}

void
pf_channel_scale_forward_ref (int n, int c, int hw, const float *x, const float *s, float *y)
{
  for (size_t p = 0; p < (size_t) n * c; p++)
    for (int i = 0; i < hw; i++)
      y[p * hw + i] = x[p * hw + i] * s[p];
}

void
pf_channel_scale_backward_ref (int n, int c, int hw, const float *x, const float *s,
                               const float *dy, float *dx, float *ds)
{
  for (size_t p = 0; p < (size_t) n * c; p++)
    {
      if (dx)
        for (int i = 0; i < hw; i++)
          dx[p * hw + i] += dy[p * hw + i] * s[p];
      if (ds)
        {
          double acc = 0.0; /* hw reaches 56*56: sum in double */
          for (int i = 0; i < hw; i++)
            acc += (double) dy[p * hw + i] * x[p * hw + i];
          ds[p] += (float) acc;
        }
    }
}

void
pf_global_avgpool_forward_ref (int n, int c, int hw, const float *x, float *y)
{
  for (size_t p = 0; p < (size_t) n * c; p++)
    {
      double acc = 0.0;
      for (int i = 0; i < hw; i++)
        acc += x[p * hw + i];
      y[p] = (float) (acc / hw);
    }
}

void
pf_global_avgpool_backward_ref (int n, int c, int hw, const float *dy, float *dx)
{
  if (!dx)
    return;
  for (size_t p = 0; p < (size_t) n * c; p++)
    {
      float g = dy[p] / (float) hw;
      for (int i = 0; i < hw; i++)
        dx[p * hw + i] += g;
    }
}
