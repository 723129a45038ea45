/* pf-layout-ref.c — reference permutation of the axes of a contiguous tensor
 * (torch.Tensor.permute followed by .contiguous()). */
#include "pf-ops.h"
#include <glib.h>

#define PF_PERMUTE_MAX_DIMS 6

/* Walks y in row-major order; in_stride[i] is the stride in x of y's axis i, so one odometer
 * gives both offsets. Returns false (after a critical) on an invalid permutation. */
static bool
permute_plan (int ndim, const int *shape, const int *perm, int *out_shape, size_t *in_stride,
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

/* Calls body with (y offset, x offset) for every element. */
#define PERMUTE_WALK(ndim, out_shape, in_stride, total, BODY) \
  G_STMT_START { \
    int _ctr[PF_PERMUTE_MAX_DIMS] = { 0 }; \
    size_t xo = 0; \
    for (size_t yo = 0; yo < (total); yo++) \
      { \
        BODY; \
        for (int _d = (ndim) - 1; _d >= 0; _d--) \
          { \
            xo += (in_stride)[_d]; \
            if (++_ctr[_d] < (out_shape)[_d]) \
              break; \
            xo -= (size_t) (out_shape)[_d] * (in_stride)[_d]; \
            _ctr[_d] = 0; \
          } \
      } \
  } G_STMT_END

void
pf_permute_forward_ref (int ndim, const int *shape, const int *perm, const float *x, float *y)
{
  int out_shape[PF_PERMUTE_MAX_DIMS];
  size_t in_stride[PF_PERMUTE_MAX_DIMS], total;
  if (!permute_plan (ndim, shape, perm, out_shape, in_stride, &total))
    return;
  PERMUTE_WALK (ndim, out_shape, in_stride, total, y[yo] = x[xo]);
}

/* shape and perm are those of the forward pass: dx has x's shape. */
void
pf_permute_backward_ref (int ndim, const int *shape, const int *perm, const float *dy, float *dx)
{
  if (!dx)
    return;
  int out_shape[PF_PERMUTE_MAX_DIMS];
  size_t in_stride[PF_PERMUTE_MAX_DIMS], total;
  if (!permute_plan (ndim, shape, perm, out_shape, in_stride, &total))
    return;
  PERMUTE_WALK (ndim, out_shape, in_stride, total, dx[xo] += dy[yo]);
}
