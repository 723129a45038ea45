/* pf-resample-ref.c — reference 2x2 max pooling and x2 up-sampling (nearest, bilinear).
 *
 * All ops work on nc independent h x w planes (NCHW with n and c merged), with PyTorch's
 * semantics: MaxPool2d(2, 2) floors odd sizes and on ties keeps the first maximum in row-major
 * window order (NaN counts as a maximum, as in PyTorch); bilinear is align_corners=False. */
#include "pf-layout-private.h"

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
          yp[oy * wo + ox] = _pf_maxpool2x2_window (xp, w, oy, ox, &ap[oy * wo + ox]);
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

void
pf_upsample_bilinear2x_forward_ref (int nc, int h, int w, const float *x, float *y)
{
  const int ho = 2 * h, wo = 2 * w;
  for (int p = 0; p < nc; p++)
    {
      const float *xp = x + (size_t) p * h * w;
      float *yp = y + (size_t) p * ho * wo;
      for (int oy = 0; oy < ho; oy++)
        _pf_upsample_bilinear2x_row (h, w, oy, xp, yp + (size_t) oy * wo);
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
    _pf_upsample_bilinear2x_backward_plane (h, w, dy + (size_t) p * ho * wo, dx + (size_t) p * h * w);
}
