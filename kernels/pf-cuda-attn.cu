/* pf-cuda-attn.cu — squeeze-and-excitation and attention ops: global average pooling and
 * channel scaling (per (n, c) plane reductions), batched matmul through cuBLAS, row softmax
 * and a general permute.
 *
 * Reductions are fixed-order: a warp (or a block, for long planes) sums one plane or row with
 * a strided per-thread loop and a shuffle/shared-memory tree, in double where the CPU
 * reference sums in double, so every run gives the same bits and no atomics are used.
 * Permute collapses the permutation first (size-1 axes dropped, axes that stay neighbours
 * merged); when the innermost axis moves it runs a 32x32 shared-memory tiled transpose, so
 * both the reads and the writes are coalesced, otherwise one thread per element. */
#include <math.h>
#include "pf-cuda-private.h"
#include "pf-cuda-attn.h"

#define WARP PF_WARP

#define GRID_STRIDE(i, n) \
  for (size_t i = blockIdx.x * (size_t) blockDim.x + threadIdx.x; i < (n); \
       i += (size_t) gridDim.x * blockDim.x)

/* Warp-level loops: warp w of the grid takes items w, w + warps, ... (uniform per warp). */
#define WARP_STRIDE(r, n) \
  for (size_t r = (blockIdx.x * (size_t) blockDim.x + threadIdx.x) / WARP; r < (n); \
       r += (size_t) gridDim.x * blockDim.x / WARP)

/* Blocks for a warp-per-item kernel over n items. */
static unsigned int
warp_grid (const PfCudaContext *ctx, size_t items)
{
  return _pf_cuda_grid (ctx, items * WARP);
}

/* ---- per-plane sums: global average pooling forward, channel-scale ds ------------------ */
/* PRODUCT: out[p] += sum_i a[p, i] * b[p, i]  (ds of the channel scale)
 * else:    out[p]  = sum_i a[p, i] / hw       (global average pooling)
 * One warp per plane: for short planes. */
template <bool PRODUCT>
__global__ static void
plane_sum_warp_kernel (size_t planes, int hw, const float *a, const float *b, float *out)
{
  const int lane = threadIdx.x % WARP;
  WARP_STRIDE (p, planes)
    {
      const float *ap = a + p * hw;
      double s = 0.0;
      if (PRODUCT)
        {
          const float *bp = b + p * hw;
          for (int i = lane; i < hw; i += WARP)
            s += (double) ap[i] * bp[i];
        }
      else
        for (int i = lane; i < hw; i += WARP)
          s += ap[i];
      s = _pf_warp_sum (s);
      if (lane == 0)
        {
          if (PRODUCT)
            out[p] += (float) s;
          else
            out[p] = (float) (s / hw);
        }
    }
}

/* The same with one block per plane: for long planes (hw >= BLOCK_PLANE_MIN). */
template <bool PRODUCT>
__global__ static void
plane_sum_block_kernel (size_t planes, int hw, const float *a, const float *b, float *out)
{
  __shared__ double sh[PF_CUDA_BLOCK];
  for (size_t p = blockIdx.x; p < planes; p += gridDim.x)
    {
      const float *ap = a + p * hw;
      double s = 0.0;
      if (PRODUCT)
        {
          const float *bp = b + p * hw;
          for (int i = threadIdx.x; i < hw; i += PF_CUDA_BLOCK)
            s += (double) ap[i] * bp[i];
        }
      else
        for (int i = threadIdx.x; i < hw; i += PF_CUDA_BLOCK)
          s += ap[i];
      s = _pf_block_sum (s, sh); /* synchronises the block: p is uniform over it */
      if (threadIdx.x == 0)
        {
          if (PRODUCT)
            out[p] += (float) s;
          else
            out[p] = (float) (s / hw);
        }
    }
}

/* Planes at least this long get a block each (>= 4 elements per thread); shorter ones a warp. */
#define BLOCK_PLANE_MIN 1024

template <bool PRODUCT>
static gboolean
plane_sum (PfCudaContext *ctx, size_t planes, int hw, const float *a, const float *b, float *out,
           GError **error)
{
  if (hw >= BLOCK_PLANE_MIN)
    {
      size_t cap = (size_t) (ctx->sm_count > 0 ? ctx->sm_count : 1) * 64;
      unsigned int blocks = (unsigned int) (planes < cap ? planes : cap);
      plane_sum_block_kernel<PRODUCT><<<blocks, PF_CUDA_BLOCK, 0, ctx->stream>>> (planes, hw, a, b, out);
      PF_CUDA_LAUNCHED ("plane_sum_block_kernel");
    }
  else
    {
      plane_sum_warp_kernel<PRODUCT><<<warp_grid (ctx, planes), PF_CUDA_BLOCK, 0, ctx->stream>>>
        (planes, hw, a, b, out);
      PF_CUDA_LAUNCHED ("plane_sum_warp_kernel");
    }
  return TRUE;
}

__global__ static void
gap_backward_kernel (size_t total, int hw, const float *dy, float *dx)
{
  GRID_STRIDE (i, total)
    dx[i] += dy[i / hw] / (float) hw; /* the CPU's float g = dy / hw, then += */
}

__global__ static void
channel_scale_kernel (size_t total, int hw, const float *x, const float *s, float *y,
                      bool accumulate)
{
  GRID_STRIDE (i, total)
    {
      float v = x[i] * s[i / hw];
      y[i] = accumulate ? y[i] + v : v;
    }
}

static gboolean
check_chan (const char *op, int n, int c, int hw, GError **error)
{
  if (n <= 0 || c <= 0 || hw <= 0)
    return _pf_cuda_invalid (error, "invalid %s shape: n %d, c %d, hw %d", op, n, c, hw);
  return TRUE;
}

gboolean
pf_cuda_global_avgpool_forward (PfCudaContext *ctx, int n, int c, int hw, const float *x,
                                float *y, GError **error)
{
  if (!check_chan ("global average pooling", n, c, hw, error))
    return FALSE;
  return plane_sum<false> (ctx, (size_t) n * c, hw, x, NULL, y, error);
}

gboolean
pf_cuda_global_avgpool_backward (PfCudaContext *ctx, int n, int c, int hw, const float *dy,
                                 float *dx, GError **error)
{
  if (!check_chan ("global average pooling", n, c, hw, error))
    return FALSE;
  if (!dx)
    return TRUE;
  size_t total = (size_t) n * c * hw;
  gap_backward_kernel<<<_pf_cuda_grid (ctx, total), PF_CUDA_BLOCK, 0, ctx->stream>>> (total, hw, dy, dx);
  PF_CUDA_LAUNCHED ("gap_backward_kernel");
  return TRUE;
}

gboolean
pf_cuda_channel_scale_forward (PfCudaContext *ctx, int n, int c, int hw, const float *x,
                               const float *s, float *y, GError **error)
{
  if (!check_chan ("channel scale", n, c, hw, error))
    return FALSE;
  size_t total = (size_t) n * c * hw;
  channel_scale_kernel<<<_pf_cuda_grid (ctx, total), PF_CUDA_BLOCK, 0, ctx->stream>>>
    (total, hw, x, s, y, false);
  PF_CUDA_LAUNCHED ("channel_scale_kernel");
  return TRUE;
}

gboolean
pf_cuda_channel_scale_backward (PfCudaContext *ctx, int n, int c, int hw, const float *x,
                                const float *s, const float *dy, float *dx, float *ds,
                                GError **error)
{
  if (!check_chan ("channel scale", n, c, hw, error))
    return FALSE;
  size_t total = (size_t) n * c * hw;
  if (dx)
    {
      /* dx += dy * s: the forward kernel with dy in place of x, accumulating */
      channel_scale_kernel<<<_pf_cuda_grid (ctx, total), PF_CUDA_BLOCK, 0, ctx->stream>>>
        (total, hw, dy, s, dx, true);
      PF_CUDA_LAUNCHED ("channel_scale_kernel");
    }
  if (ds && !plane_sum<true> (ctx, (size_t) n * c, hw, dy, x, ds, error))
    return FALSE;
  return TRUE;
}

/* ---- batched matmul ------------------------------------------------------------------- */
/* Row-major C [M, N] = op(A) op(B) + beta C for `batch` matrices at strides sa, sb, sc; lda,
 * ldb, ldc are the row lengths as stored. A row-major matrix is its transpose column-major,
 * so cuBLAS computes C^T [N, M] = op(B)^T op(A)^T with the operands swapped and the same
 * transpose flags. */
static gboolean
gemm_rm (PfCudaContext *ctx, bool ta, bool tb, int M, int N, int K, const float *A, int lda,
         long long sa, const float *B, int ldb, long long sb, float beta, float *C, int ldc,
         long long sc, int batch, GError **error)
{
  const float one = 1.0f;
  PF_TRY (_pf_cuda_sgemm_strided_batched (ctx, tb ? CUBLAS_OP_T : CUBLAS_OP_N,
                                          ta ? CUBLAS_OP_T : CUBLAS_OP_N, N, M, K, &one, B, ldb,
                                          sb, A, lda, sa, &beta, C, ldc, sc, batch, error));
  return TRUE;
}

static gboolean
check_bmm (int batch, int m, int n, int k, GError **error)
{
  if (batch <= 0 || m <= 0 || n <= 0 || k <= 0)
    return _pf_cuda_invalid (error, "invalid bmm shape: batch %d, m %d, n %d, k %d", batch, m, n, k);
  return TRUE;
}

gboolean
pf_cuda_bmm_forward (PfCudaContext *ctx, int batch, int m, int n, int k, bool ta, bool tb,
                     const float *a, const float *b, float *c, GError **error)
{
  if (!check_bmm (batch, m, n, k, error))
    return FALSE;
  const long long sa = (long long) m * k, sb = (long long) k * n, sc = (long long) m * n;
  /* A is [m, k] (ld k) or [k, m] (ld m); B is [k, n] (ld n) or [n, k] (ld k) */
  return gemm_rm (ctx, ta, tb, m, n, k, a, ta ? m : k, sa, b, tb ? k : n, sb, 0.0f, c, n, sc,
                  batch, error);
}

gboolean
pf_cuda_bmm_backward (PfCudaContext *ctx, int batch, int m, int n, int k, bool ta, bool tb,
                      const float *a, const float *b, const float *dc, float *da, float *db,
                      GError **error)
{
  if (!check_bmm (batch, m, n, k, error))
    return FALSE;
  const long long sa = (long long) m * k, sb = (long long) k * n, sc = (long long) m * n;
  const int lda = ta ? m : k, ldb = tb ? k : n;
  if (da)
    {
      if (!ta) /* dA [m, k] += dC [m, n] op(B)^T [n, k]; op(B)^T is B^T for B [k, n], B for [n, k] */
        {
          if (!gemm_rm (ctx, false, !tb, m, k, n, dc, n, sc, b, ldb, sb, 1.0f, da, k, sa, batch, error))
            return FALSE;
        }
      else /* dA [k, m] += op(B) [k, n] dC^T [n, m] */
        {
          if (!gemm_rm (ctx, tb, true, k, m, n, b, ldb, sb, dc, n, sc, 1.0f, da, m, sa, batch, error))
            return FALSE;
        }
    }
  if (db)
    {
      if (!tb) /* dB [k, n] += op(A)^T [k, m] dC [m, n]; op(A)^T is A^T for A [m, k], A for [k, m] */
        {
          if (!gemm_rm (ctx, !ta, false, k, n, m, a, lda, sa, dc, n, sc, 1.0f, db, n, sb, batch, error))
            return FALSE;
        }
      else /* dB [n, k] += dC^T [n, m] op(A) [m, k] */
        {
          if (!gemm_rm (ctx, true, ta, n, k, m, dc, n, sc, a, lda, sa, 1.0f, db, k, sb, batch, error))
            return FALSE;
        }
    }
  return TRUE;
}

/* ---- softmax -------------------------------------------------------------------------- */
/* One warp per row. The maximum and the exponentials in float (expf, about 1 ulp; the row
 * maximum subtracted so nothing overflows), the sum in double. */
__global__ static void
softmax_forward_kernel (size_t rows, int cols, float scale, const float *x, float *y)
{
  const int lane = threadIdx.x % WARP;
  WARP_STRIDE (r, rows)
    {
      const float *xr = x + r * cols;
      float *yr = y + r * cols;
      float mx = -INFINITY;
      for (int j = lane; j < cols; j += WARP)
        mx = fmaxf (mx, scale * xr[j]);
      mx = _pf_warp_max (mx);
      double sum = 0.0;
      for (int j = lane; j < cols; j += WARP)
        sum += expf (scale * xr[j] - mx);
      sum = _pf_warp_sum (sum);
      const float inv = (float) (1.0 / sum);
      for (int j = lane; j < cols; j += WARP)
        yr[j] = expf (scale * xr[j] - mx) * inv;
    }
}

/* dx += scale * y * (dy - sum_j dy_j y_j), in double like pf_softmax_backward_ref. */
__global__ static void
softmax_backward_kernel (size_t rows, int cols, float scale, const float *y, const float *dy,
                         float *dx)
{
  const int lane = threadIdx.x % WARP;
  WARP_STRIDE (r, rows)
    _pf_softmax_backward_row (lane, cols, scale, y + r * cols, dy + r * cols, dx + r * cols, true);
}

static gboolean
check_softmax (int rows, int cols, GError **error)
{
  if (rows <= 0 || cols <= 0)
    return _pf_cuda_invalid (error, "invalid softmax shape: rows %d, cols %d", rows, cols);
  return TRUE;
}

gboolean
pf_cuda_softmax_forward (PfCudaContext *ctx, int rows, int cols, float scale, const float *x,
                         float *y, GError **error)
{
  if (!check_softmax (rows, cols, error))
    return FALSE;
  softmax_forward_kernel<<<warp_grid (ctx, (size_t) rows), PF_CUDA_BLOCK, 0, ctx->stream>>>
    ((size_t) rows, cols, scale, x, y);
  PF_CUDA_LAUNCHED ("softmax_forward_kernel");
  return TRUE;
}

gboolean
pf_cuda_softmax_backward (PfCudaContext *ctx, int rows, int cols, float scale, const float *y,
                          const float *dy, float *dx, GError **error)
{
  if (!check_softmax (rows, cols, error))
    return FALSE;
  if (!dx)
    return TRUE;
  softmax_backward_kernel<<<warp_grid (ctx, (size_t) rows), PF_CUDA_BLOCK, 0, ctx->stream>>>
    ((size_t) rows, cols, scale, y, dy, dx);
  PF_CUDA_LAUNCHED ("softmax_backward_kernel");
  return TRUE;
}

/* ---- permute -------------------------------------------------------------------------- */
#define PERM_MAX 6
#define TILE 32
#define TILE_ROWS 8 /* blockDim (TILE, TILE_ROWS): each thread moves TILE / TILE_ROWS elements */

/* One thread per element of y: y's axis i has size out_shape[i] and stride in_stride[i] in x. */
typedef struct {
  int ndim;
  int out_shape[PERM_MAX];
  size_t in_stride[PERM_MAX];
} PermWalk;

/* Tiled: a = x's innermost axis (stride 1 in x), b = y's innermost axis (stride 1 in y); the
 * other axes ("rest", at most 4) index whole tiles. */
typedef struct {
  int na, nb;
  size_t xs_b, ys_a;
  int nrest;
  int rest_shape[PERM_MAX - 2];
  size_t rest_xs[PERM_MAX - 2], rest_ys[PERM_MAX - 2];
  size_t rest_total;
} PermTiles;

__global__ static void
permute_walk_kernel (size_t total, PermWalk w, const float *x, float *y, bool accumulate)
{
  GRID_STRIDE (yo, total)
    {
      size_t r = yo, xo = 0;
      for (int d = w.ndim - 1; d >= 0; d--)
        {
          size_t q = r / (size_t) w.out_shape[d];
          xo += (r - q * (size_t) w.out_shape[d]) * w.in_stride[d];
          r = q;
        }
      y[yo] = accumulate ? y[yo] + x[xo] : x[xo];
    }
}

__global__ static void
permute_tiled_kernel (PermTiles t, const float *x, float *y, bool accumulate)
{
  __shared__ float tile[TILE][TILE + 1]; /* +1: the transposed reads hit distinct banks */
  const int a0 = blockIdx.x * TILE, b0 = blockIdx.y * TILE;
  for (size_t r = blockIdx.z; r < t.rest_total; r += gridDim.z)
    {
      size_t q = r, xb = 0, yb = 0;
      for (int d = t.nrest - 1; d >= 0; d--)
        {
          size_t qq = q / (size_t) t.rest_shape[d];
          size_t i = q - qq * (size_t) t.rest_shape[d];
          xb += i * t.rest_xs[d];
          yb += i * t.rest_ys[d];
          q = qq;
        }
      /* read along a (contiguous in x) */
      for (int j = threadIdx.y; j < TILE; j += TILE_ROWS)
        {
          int ia = a0 + threadIdx.x, ib = b0 + j;
          if (ia < t.na && ib < t.nb)
            tile[j][threadIdx.x] = x[xb + (size_t) ib * t.xs_b + ia];
        }
      __syncthreads ();
      /* write along b (contiguous in y) */
      for (int j = threadIdx.y; j < TILE; j += TILE_ROWS)
        {
          int ib = b0 + threadIdx.x, ia = a0 + j;
          if (ia < t.na && ib < t.nb)
            {
              size_t o = yb + (size_t) ia * t.ys_a + ib;
              float v = tile[threadIdx.x][j];
              y[o] = accumulate ? y[o] + v : v;
            }
        }
      __syncthreads (); /* the tile is refilled by the next r */
    }
}

/* Drops size-1 axes and merges input axes that stay neighbours (in order) in the output.
 * Writes the collapsed input shape and permutation, returns their length (>= 1). */
static int
collapse_perm (int ndim, const int *shape, const int *perm, int *cs, int *cp)
{
  int keep[PERM_MAX], s1[PERM_MAX], p1[PERM_MAX];
  int k = 0;
  for (int i = 0; i < ndim; i++)
    if (shape[i] != 1)
      {
        keep[i] = k;
        s1[k++] = shape[i];
      }
    else
      keep[i] = -1;
  if (k == 0)
    {
      cs[0] = 1;
      cp[0] = 0;
      return 1;
    }
  int kp = 0;
  for (int i = 0; i < ndim; i++)
    if (keep[perm[i]] >= 0)
      p1[kp++] = keep[perm[i]];
  /* runs of consecutive input axes, in output order */
  int ng = 0, first[PERM_MAX], last[PERM_MAX];
  for (int i = 0; i < kp; i++)
    if (ng > 0 && p1[i] == last[ng - 1] + 1)
      last[ng - 1] = p1[i];
    else
      {
        first[ng] = last[ng] = p1[i];
        ng++;
      }
  /* the runs partition the input axes into ranges; their input order is that of `first` */
  for (int g = 0; g < ng; g++)
    {
      int rank = 0;
      for (int h = 0; h < ng; h++)
        rank += first[h] < first[g];
      int size = 1;
      for (int a = first[g]; a <= last[g]; a++)
        size *= s1[a];
      cs[rank] = size;
      cp[g] = rank;
    }
  return ng;
}

/* y (x permuted by perm) = or += x */
static gboolean
permute_run (PfCudaContext *ctx, int ndim, const int *shape, const int *perm, const float *x,
             float *y, bool accumulate, GError **error)
{
  int cs[PERM_MAX], cp[PERM_MAX];
  int nd = collapse_perm (ndim, shape, perm, cs, cp);
  size_t xs[PERM_MAX], ys[PERM_MAX], total = 1;
  for (int i = nd - 1; i >= 0; i--)
    {
      xs[i] = total;
      total *= (size_t) cs[i];
    }
  int os[PERM_MAX], y_axis_of[PERM_MAX];
  for (int i = 0; i < nd; i++)
    {
      os[i] = cs[cp[i]];
      y_axis_of[cp[i]] = i;
    }
  size_t s = 1;
  for (int i = nd - 1; i >= 0; i--)
    {
      ys[i] = s;
      s *= (size_t) os[i];
    }
  const int a = nd - 1, b = cp[nd - 1];
  size_t tiles_a = ((size_t) cs[a] + TILE - 1) / TILE, tiles_b = b != a ? ((size_t) cs[b] + TILE - 1) / TILE : 0;
  if (b == a || tiles_b > 65535 || tiles_a > 0x7fffffffu)
    {
      /* the innermost axis stays (both sides coalesced), or a shape too long for the tiles */
      PermWalk w;
      w.ndim = nd;
      for (int i = 0; i < nd; i++)
        {
          w.out_shape[i] = os[i];
          w.in_stride[i] = xs[cp[i]];
        }
      permute_walk_kernel<<<_pf_cuda_grid (ctx, total), PF_CUDA_BLOCK, 0, ctx->stream>>>
        (total, w, x, y, accumulate);
      PF_CUDA_LAUNCHED ("permute_walk_kernel");
      return TRUE;
    }
  PermTiles t;
  t.na = cs[a];
  t.nb = cs[b];
  t.xs_b = xs[b];
  t.ys_a = ys[y_axis_of[a]];
  t.nrest = 0;
  t.rest_total = 1;
  for (int ax = 0; ax < nd; ax++)
    if (ax != a && ax != b)
      {
        t.rest_shape[t.nrest] = cs[ax];
        t.rest_xs[t.nrest] = xs[ax];
        t.rest_ys[t.nrest] = ys[y_axis_of[ax]];
        t.nrest++;
        t.rest_total *= (size_t) cs[ax];
      }
  dim3 grid ((unsigned int) tiles_a, (unsigned int) tiles_b,
             (unsigned int) (t.rest_total < 65535 ? t.rest_total : 65535));
  dim3 block (TILE, TILE_ROWS);
  permute_tiled_kernel<<<grid, block, 0, ctx->stream>>> (t, x, y, accumulate);
  PF_CUDA_LAUNCHED ("permute_tiled_kernel");
  return TRUE;
}

static gboolean
check_perm (int ndim, const int *shape, const int *perm, GError **error)
{
  if (ndim < 1 || ndim > PERM_MAX)
    return _pf_cuda_invalid (error, "permute of %d dimensions (1 to %d supported)", ndim, PERM_MAX);
  bool seen[PERM_MAX] = { false };
  for (int i = 0; i < ndim; i++)
    {
      if (shape[i] <= 0)
        return _pf_cuda_invalid (error, "permute: dimension %d has size %d", i, shape[i]);
      if (perm[i] < 0 || perm[i] >= ndim || seen[perm[i]])
        return _pf_cuda_invalid (error, "permute: invalid permutation of %d dimensions", ndim);
      seen[perm[i]] = true;
    }
  return TRUE;
}

gboolean
pf_cuda_permute_forward (PfCudaContext *ctx, int ndim, const int *shape, const int *perm,
                         const float *x, float *y, GError **error)
{
  if (!check_perm (ndim, shape, perm, error))
    return FALSE;
  return permute_run (ctx, ndim, shape, perm, x, y, false, error);
}

gboolean
pf_cuda_permute_backward (PfCudaContext *ctx, int ndim, const int *shape, const int *perm,
                          const float *dy, float *dx, gboolean set_dx, GError **error)
{
  if (!check_perm (ndim, shape, perm, error))
    return FALSE;
  if (!dx)
    return TRUE;
  /* dx += (or =) dy permuted by the inverse permutation (dy has y's shape); a bijection, no races */
  int yshape[PERM_MAX], inv[PERM_MAX];
  for (int i = 0; i < ndim; i++)
    {
      yshape[i] = shape[perm[i]];
      inv[perm[i]] = i;
    }
  return permute_run (ctx, ndim, yshape, inv, dy, dx, !set_dx, error);
}
