/* pf-layout-private.h — loops shared by the reference data-movement ops (pf-layout-ref.c,
 * pf-resample-ref.c) and their OpenMP versions (pf-layout-fast.c); the pooling window also by
 * the CUDA max-pool kernel.
 *
 * The fast ops promise results bit-identical to the reference: keeping the per-element work
 * (the permutation plan, a pooling window, the bilinear taps and their weighted sums) in one
 * place makes that hold by construction, not by two copies kept in step. Only the way the work
 * is split across threads differs between the two files. Not installed, not part of pf-ops.h. */
#pragma once

#include "pf-ops.h"
#include <glib.h>
#include <math.h>

G_BEGIN_DECLS

/* Helpers the CUDA kernels share too (kernels/pf-cuda-shape.cu) are compiled for both sides. */
#ifdef __CUDACC__
#define PF_HOST_DEVICE __host__ __device__
#else
#define PF_HOST_DEVICE
#endif

/* ---- permute ------------------------------------------------------------------------------ */
#define PF_PERMUTE_MAX_DIMS 6

/* Walks y in row-major order; out_shape is y's shape and in_stride[i] the stride in x of y's
 * axis i, so one odometer gives both offsets. Returns false (after a critical) on an invalid
 * permutation. */
static inline bool
_pf_permute_plan (int ndim, const int *shape, const int *perm, int *out_shape, size_t *in_stride,
                  size_t *total)
{
  g_return_val_if_fail (ndim >= 1 && ndim <= PF_PERMUTE_MAX_DIMS, false);
  size_t x_stride[PF_PERMUTE_MAX_DIMS];
  size_t s = 1;
  for (int i = ndim - 1; i >= 0; i--)
    {
      x_stride[i] = s;
      s *= (size_t) shape[i];
    }
  *total = s;
  bool seen[PF_PERMUTE_MAX_DIMS] = { false };
  for (int i = 0; i < ndim; i++)
    {
      g_return_val_if_fail (perm[i] >= 0 && perm[i] < ndim && !seen[perm[i]], false);
      seen[perm[i]] = true;
      out_shape[i] = shape[perm[i]];
      in_stride[i] = x_stride[perm[i]];
    }
  return true;
}

/* ---- 2x2 max pooling ---------------------------------------------------------------------- */

/* Window (oy, ox) of the h x w plane xp (row width w): returns its maximum and stores in *arg
 * the plane index of the first maximum in row-major window order (NaN counts as a maximum, as
 * in PyTorch). */
static inline PF_HOST_DEVICE float
_pf_maxpool2x2_window (const float *xp, int w, int oy, int ox, int32_t *arg)
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
  *arg = best;
  return bv;
}

/* ---- x2 bilinear up-sampling (align_corners=False) ---------------------------------------- */

/* Source taps of one output coordinate along an axis: the two input indices and their weights. */
typedef struct {
  int i0, i1;
  float l0, l1;
} PfBilinearTap;

/* Output coordinate o along an axis of input size n (scale 1/2): src = (o + 0.5) / 2 - 0.5,
 * clamped at 0 as PyTorch does; the upper tap is clamped to the last pixel. For x2 the weights
 * are exactly 0.25/0.75 (or 1 at the borders). */
static inline PfBilinearTap
_pf_bilinear_tap (int o, int n)
{
  float src = 0.5f * ((float) o + 0.5f) - 0.5f;
  if (src < 0.0f)
    src = 0.0f;
  int a = (int) src;
  PfBilinearTap t;
  t.i0 = a;
  t.i1 = a < n - 1 ? a + 1 : a;
  t.l1 = src - (float) a;
  t.l0 = 1.0f - t.l1;
  return t;
}

/* Output row oy (2w values at yr) of the h x w input plane xp. */
static inline void
_pf_upsample_bilinear2x_row (int h, int w, int oy, const float *xp, float *yr)
{
  const PfBilinearTap ty = _pf_bilinear_tap (oy, h);
  for (int ox = 0; ox < 2 * w; ox++)
    {
      const PfBilinearTap tx = _pf_bilinear_tap (ox, w);
      yr[ox] = ty.l0 * (tx.l0 * xp[ty.i0 * w + tx.i0] + tx.l1 * xp[ty.i0 * w + tx.i1])
             + ty.l1 * (tx.l0 * xp[ty.i1 * w + tx.i0] + tx.l1 * xp[ty.i1 * w + tx.i1]);
    }
}

/* The transpose of the forward for one plane: each output gradient of dyp (2h x 2w) is
 * scattered to its four taps in dxp (h x w), in row-major output order. */
static inline void
_pf_upsample_bilinear2x_backward_plane (int h, int w, const float *dyp, float *dxp)
{
  const int ho = 2 * h, wo = 2 * w;
  for (int oy = 0; oy < ho; oy++)
    {
      const PfBilinearTap ty = _pf_bilinear_tap (oy, h);
      for (int ox = 0; ox < wo; ox++)
        {
          const PfBilinearTap tx = _pf_bilinear_tap (ox, w);
          float g = dyp[oy * wo + ox];
          dxp[ty.i0 * w + tx.i0] += ty.l0 * tx.l0 * g;
          dxp[ty.i0 * w + tx.i1] += ty.l0 * tx.l1 * g;
          dxp[ty.i1 * w + tx.i0] += ty.l1 * tx.l0 * g;
          dxp[ty.i1 * w + tx.i1] += ty.l1 * tx.l1 * g;
        }
    }
}

G_END_DECLS
