/* pf-layout-fast.c — OpenMP versions of the data-movement ops: permute, concat, channel gather,
 * channel scale, global average pooling, 2x2 max pooling, x2 up-sampling (nearest, bilinear)
 * and dropout.
 *
 * Each is the reference loop (pf-layout-ref.c, pf-channel-ref.c, pf-resample-ref.c,
 * pf-eltwise-ref.c) split across threads so that every output element is computed by the same
 * operations in the same order as the reference: the results are bit-identical to the _ref ops,
 * whatever the thread count. The permutation plan, the pooling window and the bilinear rows are
 * the reference's own code (pf-layout-private.h). Scatter-adds whose targets overlap (bilinear
 * backward, a channel gathered twice) are split only along dimensions where they do not. Dropout
 * draws its mask from the same Philox blocks as the reference, one block per four elements. */
#include "pf-ops-fast.h"
#include "pf-layout-private.h"
#include "pf-rng.h"

#include <string.h>

/* Below this many elements a loop runs on the calling thread. */
#define PF_LAYOUT_PAR_MIN 32768

static inline int
nthreads_for (size_t n)
{
  return n < PF_LAYOUT_PAR_MIN ? 1 : pf_ops_fast_threads ();
}

/* ---- permute ------------------------------------------------------------------------------ */
/* Offset in x of the first element of y's row `row` (rows = all axes but the last). */
static inline size_t
permute_row_offset (int ndim, const int *out_shape, const size_t *in_stride, size_t row)
{
  size_t xo = 0;
  for (int d = ndim - 2; d >= 0; d--)
    {
      xo += (row % (size_t) out_shape[d]) * in_stride[d];
      row /= (size_t) out_shape[d];
    }
  return xo;
}

/* A permutation is a bijection, so rows of y are independent in both directions. */
#define PERMUTE_ROWS(ndim, shape, perm, BODY) \
  G_STMT_START { \
    int out_shape[PF_PERMUTE_MAX_DIMS]; \
    size_t in_stride[PF_PERMUTE_MAX_DIMS], total; \
    if (!_pf_permute_plan ((ndim), (shape), (perm), out_shape, in_stride, &total) || total == 0) \
      break; \
    const size_t inner = (size_t) out_shape[(ndim) - 1], is = in_stride[(ndim) - 1]; \
    const size_t rows = total / inner; \
    _Pragma ("omp parallel for schedule(static) num_threads(nthreads_for (total))") \
    for (size_t row = 0; row < rows; row++) \
      { \
        const size_t xo = permute_row_offset ((ndim), out_shape, in_stride, row); \
        const size_t yo = row * inner; \
        if (is == 1) \
          for (size_t i = 0; i < inner; i++) \
            BODY (yo + i, xo + i); \
        else \
          for (size_t i = 0; i < inner; i++) \
            BODY (yo + i, xo + i * is); \
      } \
  } G_STMT_END

#define PERMUTE_FWD(yi, xi) y[yi] = x[xi]
#define PERMUTE_BWD(yi, xi) dx[xi] += dy[yi]

void
pf_permute_forward_fast (int ndim, const int *shape, const int *perm, const float *x, float *y)
{
  PERMUTE_ROWS (ndim, shape, perm, PERMUTE_FWD);
}

void
pf_permute_backward_fast (int ndim, const int *shape, const int *perm, const float *dy, float *dx)
{
  if (!dx)
    return;
  PERMUTE_ROWS (ndim, shape, perm, PERMUTE_BWD);
}

/* ---- channel ops -------------------------------------------------------------------------- */
static int
channel_offset (const int *c, int i)
{
  int off = 0;
  for (int j = 0; j < i; j++)
    off += c[j];
  return off;
}

void
pf_concat_forward_fast (int n, int hw, int k, const int *c, const float *const *x, float *y)
{
  const int ctot = channel_offset (c, k);
#pragma omp parallel for schedule(static) num_threads(nthreads_for ((size_t) n * ctot * hw))
  for (int q = 0; q < n * k; q++)
    {
      const int b = q / k, i = q % k;
      const float *src = x[i] + (size_t) b * c[i] * hw;
      float *dst = y + ((size_t) b * ctot + channel_offset (c, i)) * hw;
      memcpy (dst, src, (size_t) c[i] * hw * sizeof (float));
    }
}

void
pf_concat_backward_fast (int n, int hw, int k, const int *c, const float *dy, float *const *dx)
{
  if (!dx)
    return;
  const int ctot = channel_offset (c, k);
#pragma omp parallel for schedule(static) num_threads(nthreads_for ((size_t) n * ctot * hw))
  for (int q = 0; q < n * k; q++)
    {
      const int b = q / k, i = q % k;
      if (!dx[i])
        continue;
      const float *src = dy + ((size_t) b * ctot + channel_offset (c, i)) * hw;
      float *dst = dx[i] + (size_t) b * c[i] * hw;
      for (size_t j = 0; j < (size_t) c[i] * hw; j++)
        dst[j] += src[j];
    }
}

void
pf_channel_gather_forward_fast (int n, int c, int hw, int k, const int *idx, const float *x, float *y)
{
#pragma omp parallel for schedule(static) num_threads(nthreads_for ((size_t) n * k * hw))
  for (int q = 0; q < n * k; q++)
    {
      const int b = q / k, j = q % k;
      memcpy (y + (size_t) q * hw, x + ((size_t) b * c + idx[j]) * hw, (size_t) hw * sizeof (float));
    }
}

/* idx may repeat: the threads split the batch and the plane, never the k picks, so every
 * element of dx receives its terms in the reference's order. */
#define GATHER_CHUNK 4096
void
pf_channel_gather_backward_fast (int n, int c, int hw, int k, const int *idx, const float *dy, float *dx)
{
  if (!dx)
    return;
  const int chunks = (hw + GATHER_CHUNK - 1) / GATHER_CHUNK;
#pragma omp parallel for schedule(static) num_threads(nthreads_for ((size_t) n * k * hw))
  for (int q = 0; q < n * chunks; q++)
    {
      const int b = q / chunks, i0 = (q % chunks) * GATHER_CHUNK, i1 = MIN (hw, i0 + GATHER_CHUNK);
      for (int j = 0; j < k; j++)
        {
          const float *src = dy + ((size_t) b * k + j) * hw;
          float *dst = dx + ((size_t) b * c + idx[j]) * hw;
          for (int i = i0; i < i1; i++)
            dst[i] += src[i];
        }
    }
}

void
pf_channel_scale_forward_fast (int n, int c, int hw, const float *x, const float *s, float *y)
{
  const size_t planes = (size_t) n * c;
#pragma omp parallel for schedule(static) num_threads(nthreads_for (planes * hw))
  for (size_t p = 0; p < planes; p++)
    for (int i = 0; i < hw; i++)
      y[p * hw + i] = x[p * hw + i] * s[p];
}

void
pf_channel_scale_backward_fast (int n, int c, int hw, const float *x, const float *s,
                                const float *dy, float *dx, float *ds)
{
  const size_t planes = (size_t) n * c;
#pragma omp parallel for schedule(static) num_threads(nthreads_for (planes * hw))
  for (size_t p = 0; p < planes; p++)
    {
      if (dx)
        for (int i = 0; i < hw; i++)
          dx[p * hw + i] += dy[p * hw + i] * s[p];
      if (ds)
        {
          double acc = 0.0;
          for (int i = 0; i < hw; i++)
            acc += (double) dy[p * hw + i] * x[p * hw + i];
          ds[p] += (float) acc;
        }
    }
}

void
pf_global_avgpool_forward_fast (int n, int c, int hw, const float *x, float *y)
{
  const size_t planes = (size_t) n * c;
#pragma omp parallel for schedule(static) num_threads(nthreads_for (planes * hw))
  for (size_t p = 0; p < planes; p++)
    {
      double acc = 0.0;
      for (int i = 0; i < hw; i++)
        acc += x[p * hw + i];
      y[p] = (float) (acc / hw);
    }
}

void
pf_global_avgpool_backward_fast (int n, int c, int hw, const float *dy, float *dx)
{
  if (!dx)
    return;
  const size_t planes = (size_t) n * c;
#pragma omp parallel for schedule(static) num_threads(nthreads_for (planes * hw))
  for (size_t p = 0; p < planes; p++)
    {
      float g = dy[p] / (float) hw;
      for (int i = 0; i < hw; i++)
        dx[p * hw + i] += g;
    }
}

/* ---- pooling and up-sampling: threads over (plane, output row) ---------------------------- */
void
pf_maxpool2x2_forward_fast (int nc, int h, int w, const float *x, float *y, int32_t *argmax)
{
  const int ho = h / 2, wo = w / 2;
#pragma omp parallel for schedule(static) num_threads(nthreads_for ((size_t) nc * h * w))
  for (size_t q = 0; q < (size_t) nc * ho; q++)
    {
      const size_t p = q / ho;
      const int oy = (int) (q % ho);
      const float *xp = x + p * h * w;
      float *yr = y + q * wo;
      int32_t *ar = argmax + q * wo;
      for (int ox = 0; ox < wo; ox++)
        yr[ox] = _pf_maxpool2x2_window (xp, w, oy, ox, &ar[ox]);
    }
}

/* Each window's argmax lies in its own 2x2 block: output rows never share a target. */
void
pf_maxpool2x2_backward_fast (int nc, int h, int w, const int32_t *argmax, const float *dy, float *dx)
{
  if (!dx)
    return;
  const int ho = h / 2, wo = w / 2;
#pragma omp parallel for schedule(static) num_threads(nthreads_for ((size_t) nc * h * w))
  for (size_t q = 0; q < (size_t) nc * ho; q++)
    {
      float *dxp = dx + (q / ho) * h * w;
      const float *dyr = dy + q * wo;
      const int32_t *ar = argmax + q * wo;
      for (int ox = 0; ox < wo; ox++)
        dxp[ar[ox]] += dyr[ox];
    }
}

void
pf_upsample_nearest2x_forward_fast (int nc, int h, int w, const float *x, float *y)
{
  const int wo = 2 * w;
#pragma omp parallel for schedule(static) num_threads(nthreads_for ((size_t) nc * h * w * 4))
  for (size_t q = 0; q < (size_t) nc * h; q++)
    {
      const float *xr = x + q * w;        /* input row iy of plane p */
      float *y0 = y + q * 2 * wo, *y1 = y0 + wo; /* output rows 2iy, 2iy+1 */
      for (int ix = 0; ix < w; ix++)
        y0[2 * ix] = y0[2 * ix + 1] = xr[ix];
      memcpy (y1, y0, (size_t) wo * sizeof (float));
    }
}

void
pf_upsample_nearest2x_backward_fast (int nc, int h, int w, const float *dy, float *dx)
{
  if (!dx)
    return;
  const int wo = 2 * w;
#pragma omp parallel for schedule(static) num_threads(nthreads_for ((size_t) nc * h * w * 4))
  for (size_t q = 0; q < (size_t) nc * h; q++)
    {
      const float *d = dy + q * 2 * wo;
      float *dxr = dx + q * w;
      for (int ix = 0; ix < w; ix++)
        dxr[ix] += (d[2 * ix] + d[2 * ix + 1]) + (d[wo + 2 * ix] + d[wo + 2 * ix + 1]);
    }
}

void
pf_upsample_bilinear2x_forward_fast (int nc, int h, int w, const float *x, float *y)
{
  const int ho = 2 * h, wo = 2 * w;
#pragma omp parallel for schedule(static) num_threads(nthreads_for ((size_t) nc * ho * wo))
  for (size_t q = 0; q < (size_t) nc * ho; q++)
    _pf_upsample_bilinear2x_row (h, w, (int) (q % ho), x + (q / ho) * h * w, y + q * wo);
}

/* Neighbouring output rows scatter into the same input rows: threads take whole planes and run
 * the reference's loop in each, so every dx element gets its terms in the same order. */
void
pf_upsample_bilinear2x_backward_fast (int nc, int h, int w, const float *dy, float *dx)
{
  if (!dx)
    return;
  const int ho = 2 * h, wo = 2 * w;
#pragma omp parallel for schedule(static) num_threads(nthreads_for ((size_t) nc * ho * wo))
  for (int p = 0; p < nc; p++)
    _pf_upsample_bilinear2x_backward_plane (h, w, dy + (size_t) p * ho * wo, dx + (size_t) p * h * w);
}

/* ---- dropout ------------------------------------------------------------------------------ */
static float
dropout_scale (float p)
{
  return p < 1.0f ? 1.0f / (1.0f - p) : 0.0f;
}

/* The mask of pf-eltwise-ref.c: element i uses word i % 4 of the Philox block i / 4. */
void
pf_dropout_forward_fast (size_t n, float p, uint64_t seed, uint64_t step, const float *x,
                         float *y, uint8_t *mask)
{
  const float scale = dropout_scale (p);
  const size_t blocks = (n + 3) / 4;
#pragma omp parallel for schedule(static) num_threads(nthreads_for (n))
  for (size_t blk = 0; blk < blocks; blk++)
    {
      philox4x32_ctr_t r = pf_rng_block (seed, PF_RNG_STREAM_DROPOUT, (uint32_t) blk,
                                         (uint32_t) ((uint64_t) blk >> 32), (uint32_t) step);
      const size_t i0 = blk * 4, i1 = MIN (n, i0 + 4);
      for (size_t i = i0; i < i1; i++)
        {
          uint8_t keep = pf_rng_u01 (r.v[i - i0]) >= p;
          mask[i] = keep;
          y[i] = keep ? x[i] * scale : 0.0f;
        }
    }
}

void
pf_dropout_backward_fast (size_t n, float p, const uint8_t *mask, const float *dy, float *dx)
{
  if (!dx)
    return;
  const float scale = dropout_scale (p);
#pragma omp parallel for schedule(static) num_threads(nthreads_for (n))
  for (size_t i = 0; i < n; i++)
    if (mask[i])
      dx[i] += dy[i] * scale;
}
