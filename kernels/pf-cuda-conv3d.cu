/* pf-cuda-conv3d.cu — 3D convolution: the 2-D plan's PfCudaConvCore (pf-cuda-conv.cu) with
 * 5-d NCDHW descriptors; this file only checks the shape and names the dimensions.
 *
 * A kernel that spans the whole depth with no depth padding (the 3D front end of the scaled
 * models: depth 3, kernel depth 3) leaves an output of depth 1, and that convolution is the
 * 2-D convolution of c_in * depth channels: x [n, c_in, d, h, w], w [c_out, c_in, d, kh, kw]
 * and y [n, c_out, 1, h', w'] are, byte for byte, x [n, c_in d, h, w], w [c_out, c_in d, kh, kw]
 * and y [n, c_out, h', w']. The plan then describes it to cuDNN as that 2-D convolution, whose
 * kernels are far better tuned than its 3-D ones for a handful of channels. */
#include "pf-cuda-private.h"
#include "pf-cuda-shape.h"

struct _PfCudaConv3dPlan {
  PfCudaConvCore core;
};

PfCudaConv3dPlan *
pf_cuda_conv3d_plan_new (PfCudaContext *ctx, const PfConv3dDesc *d, GError **error)
{
  if (d->n <= 0 || d->c_in <= 0 || d->d <= 0 || d->h <= 0 || d->w <= 0 || d->c_out <= 0
      || d->kd <= 0 || d->kh <= 0 || d->kw <= 0 || d->sd <= 0 || d->sh <= 0 || d->sw <= 0
      || d->pd < 0 || d->ph < 0 || d->pw < 0 || d->d + 2 * d->pd < d->kd
      || d->h + 2 * d->ph < d->kh || d->w + 2 * d->pw < d->kw)
    {
      _pf_cuda_invalid (error, "invalid conv3d shape: x [%d,%d,%d,%d,%d], w [%d,%d,%d,%d,%d], "
                        "stride %dx%dx%d, padding %dx%dx%d", d->n, d->c_in, d->d, d->h, d->w,
                        d->c_out, d->c_in, d->kd, d->kh, d->kw, d->sd, d->sh, d->sw, d->pd, d->ph,
                        d->pw);
      return NULL;
    }
  PfCudaConv3dPlan *p = g_new0 (PfCudaConv3dPlan, 1);
  gboolean ok;
  if (d->kd == d->d && d->pd == 0)
    {
      const int xdim[4] = { d->n, d->c_in * d->d, d->h, d->w };
      const int wdim[4] = { d->c_out, d->c_in * d->kd, d->kh, d->kw };
      const int ydim[4] = { d->n, d->c_out, pf_conv3d_out_h (d), pf_conv3d_out_w (d) };
      const int pad[2] = { d->ph, d->pw };
      const int stride[2] = { d->sh, d->sw };
      ok = _pf_cuda_conv_core_init (&p->core, ctx, 2, xdim, wdim, ydim, pad, stride, error);
    }
  else
    {
      const int xdim[5] = { d->n, d->c_in, d->d, d->h, d->w };
      const int wdim[5] = { d->c_out, d->c_in, d->kd, d->kh, d->kw };
      const int ydim[5] = { d->n, d->c_out, pf_conv3d_out_d (d), pf_conv3d_out_h (d),
                            pf_conv3d_out_w (d) };
      const int pad[3] = { d->pd, d->ph, d->pw };
      const int stride[3] = { d->sd, d->sh, d->sw };
      ok = _pf_cuda_conv_core_init (&p->core, ctx, 3, xdim, wdim, ydim, pad, stride, error);
    }
  if (!ok)
    {
      pf_cuda_conv3d_plan_free (p);
      return NULL;
    }
  return p;
}

void
pf_cuda_conv3d_plan_free (PfCudaConv3dPlan *p)
{
  if (!p)
    return;
  _pf_cuda_conv_core_clear (&p->core);
  g_free (p);
}

size_t
pf_cuda_conv3d_plan_workspace (const PfCudaConv3dPlan *p)
{
  return p->core.workspace_bytes;
}

gboolean
pf_cuda_conv3d_forward (PfCudaConv3dPlan *p, const float *x, const float *w, const float *b,
                        float *y, GError **error)
{
  return _pf_cuda_conv_core_forward (&p->core, x, w, b, FALSE, y, error);
}

gboolean
pf_cuda_conv3d_backward (PfCudaConv3dPlan *p, const float *x, const float *w, const float *dy,
                         float *dx, float *dw, float *db, GError **error)
{
  return _pf_cuda_conv_core_backward (&p->core, x, w, dy, dx, FALSE, dw, db, error);
}
