/* pf-resample-ref.c — reference 2x2 max pooling and x2 up-sampling (nearest, bilinear).
 *
 * All ops work on nc independent h x w planes (NCHW with n and c merged), with PyTorch's
 * semantics: MaxPool2d(2, 2) floors odd sizes and on ties keeps the first maximum in row-major
 * window order (NaN counts as a maximum, as in PyTorch); bilinear is align_corners=False. */
#include "pf-ops.h"
#include <math.h>

void
pf_maxpool2x2_forward_ref (int nc, int h, int w, const float *x, float *y, int32_t *argmax)
{
  const int ho = h / 2, wo = w / 2;
  for (int p = 0; p < nc; p++)
    {
      const float *xp = x + (size_t) p * h * w;
      float *yp = y + (size_t) p * ho * wo;
      int32_t *ap = argmax + (size_t) p * ho * wo;
      for (int oy = 0; oy < ho; oy++)
        for (int ox = 0; ox < wo; ox++)
          {
            int best = (2 * oy) * w + 2 * ox;
            float bv = xp[best];
            for (int k = 1; k < 4; k++)
              {
                int idx = (2 * oy + k / 2) * w + 2 * ox + k % 2;
                float v = xp[idx];
                /* strict > keeps the first of equal maxima */
                if (v > bv || isnan (v))
                  {
                    bv = v;
                    best = idx;
                  }
              }
            yp[oy * wo + ox] = bv;
            ap[oy * wo + ox] = best;
          }
    }
}

void
pf_maxpool2x2_backward_ref (int nc, int h, int w, const int32_t *argmax, const float *dy, float *dx)
{
  if (!dx)
    return;
  const int ho = h / 2, wo = w / 2;
  for (int p = 0; p < nc; p++)
    {
      float *dxp = dx + (size_t) p * h * w;
      const float *dyp = dy + (size_t) p * ho * wo;
      const int32_t *ap = argmax + (size_t) p * ho * wo;
      for (int i = 0; i < ho * wo; i++)
        dxp[ap[i]] += dyp[i];
    }
}

void
pf_upsample_nearest2x_forward_ref (int nc, int h, int w, const float *x, float *y)
{
  const int ho = 2 * h, wo = 2 * w;
  for (int p = 0; p < nc; p++)
    {
      const float *xp = x + (size_t) p * h * w;
      float *yp = y + (size_t) p * ho * wo;
      for (int oy = 0; oy < ho; oy++)
        for (int ox = 0; ox < wo; ox++)
          yp[oy * wo + ox] = xp[(oy / 2) * w + ox / 2];
    }
}

void
pf_upsample_nearest2x_backward_ref (int nc, int h, int w, const float *dy, float *dx)
{
  if (!dx)
    return;
  const int ho = 2 * h, wo = 2 * w;
  for (int p = 0; p < nc; p++)
    {
      const float *dyp = dy + (size_t) p * ho * wo;
      float *dxp = dx + (size_t) p * h * w;
      for (int iy = 0; iy < h; iy++)
        for (int ix = 0; ix < w; ix++)
          {
            const float *d = dyp + (2 * iy) * wo + 2 * ix;
            dxp[iy * w + ix] += (d[0] + d[1]) + (d[wo] + d[wo + 1]);
          }
    }
}

/* Source taps of output coordinate o along an axis of input size n (align_corners=False,
 * scale 1/2): src = (o + 0.5) / 2 - 0.5, clamped at 0 as PyTorch does; the upper tap is
 * clamped to the last pixel. For x2 the weights are exactly 0.25/0.75 (or 1 at the borders). */
static void
bilinear_taps (int o, int n, int *i0, int *i1, float *l0, float *l1)
{
  float src = 0.5f * ((float) o + 0.5f) - 0.5f;
  if (src < 0.0f)
    src = 0.0f;
  int a = (int) src;
  *i0 = a;
  *i1 = a < n - 1 ? a + 1 : a;
  *l1 = src - (float) a;
  *l0 = 1.0f - *l1;
}

void
pf_upsample_bilinear2x_forward_ref (int nc, int h, int w, const float *x, float *y)
{
  const int ho = 2 * h, wo = 2 * w;
  for (int p = 0; p < nc; p++)
    {
      const float *xp = x + (size_t) p * h * w;
      float *yp = y + (size_t) p * ho * wo;
      for (int oy = 0; oy < ho; oy++)
        {
          int y0, y1;
          float wy0, wy1;
          bilinear_taps (oy, h, &y0, &y1, &wy0, &wy1);
          for (int ox = 0; ox < wo; ox++)
            {
              int x0, x1;
              float wx0, wx1;
              bilinear_taps (ox, w, &x0, &x1, &wx0, &wx1);
              yp[oy * wo + ox] = wy0 * (wx0 * xp[y0 * w + x0] + wx1 * xp[y0 * w + x1])
                               + wy1 * (wx0 * xp[y1 * w + x0] + wx1 * xp[y1 * w + x1]);
            }
        }
    }
}

/* The transpose of the forward: each output gradient is scattered to its four taps. */
void
pf_upsample_bilinear2x_backward_ref (int nc, int h, int w, const float *dy, float *dx)
{
  if (!dx)
    return;
  const int ho = 2 * h, wo = 2 * w;
  for (int p = 0; p < nc; p++)
    {
      const float *dyp = dy + (size_t) p * ho * wo;
      float *dxp = dx + (size_t) p * h * w;
      for (int oy = 0; oy < ho; oy++)
        {
          int y0, y1;
          float wy0, wy1;
          bilinear_taps (oy, h, &y0, &y1, &wy0, &wy1);
          for (int ox = 0; ox < wo; ox++)
            {
              int x0, x1;
              float wx0, wx1;
              bilinear_taps (ox, w, &x0, &x1, &wx0, &wx1);
              float g = dyp[oy * wo + ox];
              dxp[y0 * w + x0] += wy0 * wx0 * g;
              dxp[y0 * w + x1] += wy0 * wx1 * g;
              dxp[y1 * w + x0] += wy1 * wx0 * g;
              dxp[y1 * w + x1] += wy1 * wx1 * g;
            }
        }
    }
}
