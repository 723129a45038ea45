/* pf-conv-ref.c — reference 2D and 3D convolutions (cross-correlation, as PyTorch).
 *
 * Plain loops, single-threaded, double accumulators: this is the oracle the oneDNN and CUDA
 * paths are tested against, so it favours obviously-correct over fast. The 3D convolution is
 * the general one; the 2D convolution is the same loops with a depth of 1, which keeps a
 * single implementation to trust.
 *
 * Every backward gradient is a gather (each output element of dx, dw, db is one sum, written
 * once with +=), so accumulation into the caller's gradient is exact and order-independent. */
#include "pf-ops.h"

/* Flat index helpers for [a, b, c, d, e] tensors. */
static inline size_t
idx5 (int i0, int i1, int i2, int i3, int i4, int n1, int n2, int n3, int n4)
{
  return ((((size_t) i0 * n1 + i1) * n2 + i2) * n3 + i3) * n4 + i4;
}

void
pf_conv3d_forward_ref (const PfConv3dDesc *d, const float *x, const float *w, const float *b, float *y)
{
  const int od = pf_conv3d_out_d (d), oh = pf_conv3d_out_h (d), ow = pf_conv3d_out_w (d);
  for (int n = 0; n < d->n; n++)
    for (int co = 0; co < d->c_out; co++)
      for (int oz = 0; oz < od; oz++)
        for (int oy = 0; oy < oh; oy++)
          for (int ox = 0; ox < ow; ox++)
            {
              double acc = b ? b[co] : 0.0;
              for (int ci = 0; ci < d->c_in; ci++)
                for (int kz = 0; kz < d->kd; kz++)
                  {
                    const int iz = oz * d->sd - d->pd + kz;
                    if (iz < 0 || iz >= d->d)
                      continue; /* zero padding */
                    for (int ky = 0; ky < d->kh; ky++)
                      {
                        const int iy = oy * d->sh - d->ph + ky;
                        if (iy < 0 || iy >= d->h)
                          continue;
                        for (int kx = 0; kx < d->kw; kx++)
                          {
                            const int ix = ox * d->sw - d->pw + kx;
                            if (ix < 0 || ix >= d->w)
                              continue;
                            acc += (double) x[idx5 (n, ci, iz, iy, ix, d->c_in, d->d, d->h, d->w)]
                                   * w[idx5 (co, ci, kz, ky, kx, d->c_in, d->kd, d->kh, d->kw)];
                          }
                      }
                  }
              y[idx5 (n, co, oz, oy, ox, d->c_out, od, oh, ow)] = (float) acc;
            }
}

/* The output coordinate that input coordinate i reaches through kernel tap k, or -1 when the
 * tap falls between strides or outside the output. */
static inline int
out_coord (int i, int k, int stride, int pad, int out)
{
  const int t = i + pad - k;
  if (t < 0 || t % stride != 0)
    return -1;
  const int o = t / stride;
  return o < out ? o : -1;
}

void
pf_conv3d_backward_ref (const PfConv3dDesc *d, const float *x, const float *w, const float *dy,
                        float *dx, float *dw, float *db)
{
  const int od = pf_conv3d_out_d (d), oh = pf_conv3d_out_h (d), ow = pf_conv3d_out_w (d);

  if (db)
    for (int co = 0; co < d->c_out; co++)
      {
        double acc = 0.0;
        for (int n = 0; n < d->n; n++)
          {
            const float *p = dy + idx5 (n, co, 0, 0, 0, d->c_out, od, oh, ow);
            for (size_t i = 0; i < (size_t) od * oh * ow; i++)
              acc += p[i];
          }
        db[co] += (float) acc;
      }

  /* dw[co, ci, kz, ky, kx] = sum over n and output positions of dy * x at the tapped input. */
  if (dw)
    for (int co = 0; co < d->c_out; co++)
      for (int ci = 0; ci < d->c_in; ci++)
        for (int kz = 0; kz < d->kd; kz++)
          for (int ky = 0; ky < d->kh; ky++)
            for (int kx = 0; kx < d->kw; kx++)
              {
                double acc = 0.0;
                for (int n = 0; n < d->n; n++)
                  for (int oz = 0; oz < od; oz++)
                    {
                      const int iz = oz * d->sd - d->pd + kz;
                      if (iz < 0 || iz >= d->d)
                        continue;
                      for (int oy = 0; oy < oh; oy++)
                        {
                          const int iy = oy * d->sh - d->ph + ky;
                          if (iy < 0 || iy >= d->h)
                            continue;
                          for (int ox = 0; ox < ow; ox++)
                            {
                              const int ix = ox * d->sw - d->pw + kx;
                              if (ix < 0 || ix >= d->w)
                                continue;
                              acc += (double) dy[idx5 (n, co, oz, oy, ox, d->c_out, od, oh, ow)]
                                     * x[idx5 (n, ci, iz, iy, ix, d->c_in, d->d, d->h, d->w)];
                            }
                        }
                    }
                dw[idx5 (co, ci, kz, ky, kx, d->c_in, d->kd, d->kh, d->kw)] += (float) acc;
              }

  /* dx[n, ci, iz, iy, ix] = sum over the output positions and taps that read this input. */
  if (dx)
    for (int n = 0; n < d->n; n++)
      for (int ci = 0; ci < d->c_in; ci++)
        for (int iz = 0; iz < d->d; iz++)
          for (int iy = 0; iy < d->h; iy++)
            for (int ix = 0; ix < d->w; ix++)
              {
                double acc = 0.0;
                for (int kz = 0; kz < d->kd; kz++)
                  {
                    const int oz = out_coord (iz, kz, d->sd, d->pd, od);
                    if (oz < 0)
                      continue;
                    for (int ky = 0; ky < d->kh; ky++)
                      {
                        const int oy = out_coord (iy, ky, d->sh, d->ph, oh);
                        if (oy < 0)
                          continue;
                        for (int kx = 0; kx < d->kw; kx++)
                          {
                            const int ox = out_coord (ix, kx, d->sw, d->pw, ow);
                            if (ox < 0)
                              continue;
                            for (int co = 0; co < d->c_out; co++)
                              acc += (double) dy[idx5 (n, co, oz, oy, ox, d->c_out, od, oh, ow)]
                                     * w[idx5 (co, ci, kz, ky, kx, d->c_in, d->kd, d->kh, d->kw)];
                          }
                      }
                  }
                dx[idx5 (n, ci, iz, iy, ix, d->c_in, d->d, d->h, d->w)] += (float) acc;
              }
}

/* A 2D convolution is a 3D one over a depth of 1 with a 1-deep kernel. */
static PfConv3dDesc
conv2d_as_3d (const PfConv2dDesc *d)
{
  return (PfConv3dDesc) {
    .n = d->n, .c_in = d->c_in, .d = 1, .h = d->h, .w = d->w,
    .c_out = d->c_out, .kd = 1, .kh = d->kh, .kw = d->kw,
    .sd = 1, .sh = d->sh, .sw = d->sw, .pd = 0, .ph = d->ph, .pw = d->pw,
  };
}

void
pf_conv2d_forward_ref (const PfConv2dDesc *d, const float *x, const float *w, const float *b, float *y)
{
  const PfConv3dDesc d3 = conv2d_as_3d (d);
  pf_conv3d_forward_ref (&d3, x, w, b, y);
}

void
pf_conv2d_backward_ref (const PfConv2dDesc *d, const float *x, const float *w, const float *dy,
                        float *dx, float *dw, float *db)
{
  const PfConv3dDesc d3 = conv2d_as_3d (d);
  pf_conv3d_backward_ref (&d3, x, w, dy, dx, dw, db);
}
