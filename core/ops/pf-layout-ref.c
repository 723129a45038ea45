/* pf-layout-ref.c — reference permutation of the axes of a contiguous tensor
 * (torch.Tensor.permute followed by .contiguous()). */
#include "pf-layout-private.h"

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
  if (!_pf_permute_plan (ndim, shape, perm, out_shape, in_stride, &total))
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
  if (!_pf_permute_plan (ndim, shape, perm, out_shape, in_stride, &total))
    return;
  PERMUTE_WALK (ndim, out_shape, in_stride, total, dx[xo] += dy[yo]);
}
