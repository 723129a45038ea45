/* pf-cuda-shape.cu — hand-written layout kernels: LeakyReLU, dropout, 2x2 max pooling, x2
 * up-sampling (nearest, bilinear), channel concat and gather.
 *
 * Grid-stride loops, one output element per thread and iteration, consecutive threads on
 * consecutive elements (coalesced). Every backward kernel is a gather: the thread that owns a
 * gradient element reads everything that flows into it and adds it once, so there are no
 * atomics and no races, and the results are the same bits on every run. The float arithmetic
 * of the CPU reference ops is repeated with __f*_rn intrinsics where nvcc would otherwise fuse
 * a multiply and an add that the CPU rounds separately, so most ops agree bit for bit.
 *
 * Dropout draws its mask from the same Philox4x32-10 blocks as pf_dropout_forward_ref (the
 * Random123 headers compile for the device): one block per four consecutive elements. */
#include <math.h>
#include "pf-cuda-private.h"
#include "pf-cuda-shape.h"
#include "pf-layout-private.h"
#include "pf-rng.h"

#define GRID_STRIDE(i, n) \
  for (size_t i = blockIdx.x * (size_t) blockDim.x + threadIdx.x; i < (n); \
       i += (size_t) gridDim.x * blockDim.x)

/* The same with the index type I: the kernels that split an index by division run it in
 * 32 bits when the work fits (64-bit division is several times slower on the GPU); pointer
 * offsets are still computed in size_t. */
#define GRID_STRIDE_T(I, i, n) \
  for (I i = (I) (blockIdx.x * (size_t) blockDim.x + threadIdx.x); i < (n); \
       i += (I) ((size_t) gridDim.x * blockDim.x))

/* Launches kernel over n work items (its first argument) when there are any. */
#define LAUNCH(kernel, n, ...) \
  G_STMT_START { \
    if ((n) > 0) \
      { \
        kernel<<<_pf_cuda_grid (ctx, (n)), PF_CUDA_BLOCK, 0, ctx->stream>>> ((n), __VA_ARGS__); \
        PF_CUDA_LAUNCHED (#kernel); \
      } \
  } G_STMT_END

/* LAUNCH for a kernel template over its index type: unsigned int below 2^31 work items (so
 * i + stride cannot wrap), size_t above. */
#define LAUNCH_IDX(kernel, n, ...) \
  G_STMT_START { \
    const size_t n_ = (n); \
    if (n_ > 0) \
      { \
        if (n_ < ((size_t) 1 << 31)) \
          kernel<unsigned int><<<_pf_cuda_grid (ctx, n_), PF_CUDA_BLOCK, 0, ctx->stream>>> ( \
            (unsigned int) n_, __VA_ARGS__); \
        else \
          kernel<size_t><<<_pf_cuda_grid (ctx, n_), PF_CUDA_BLOCK, 0, ctx->stream>>> (n_, __VA_ARGS__); \
        PF_CUDA_LAUNCHED (#kernel); \
      } \
  } G_STMT_END

/* ---- LeakyReLU -------------------------------------------------------------------------- */
__global__ static void
leaky_forward_kernel (size_t n, float slope, const float *x, float *y)
{
  GRID_STRIDE (i, n)
    {
      float v = x[i];
      y[i] = v > 0.0f ? v : slope * v;
    }
}

__global__ static void
leaky_backward_kernel (size_t n, float slope, const float *x, const float *dy, float *dx)
{
  GRID_STRIDE (i, n)
    {
      float g = dy[i];
      dx[i] = __fadd_rn (dx[i], x[i] > 0.0f ? g : __fmul_rn (slope, g));
    }
}

gboolean
pf_cuda_leaky_relu_forward (PfCudaContext *ctx, size_t n, float slope, const float *x, float *y,
                            GError **error)
{
  LAUNCH (leaky_forward_kernel, n, slope, x, y);
  return TRUE;
}

gboolean
pf_cuda_leaky_relu_backward (PfCudaContext *ctx, size_t n, float slope, const float *x,
                             const float *dy, float *dx, GError **error)
{
  if (dx)
    LAUNCH (leaky_backward_kernel, n, slope, x, dy, dx);
  return TRUE;
}

/* ---- dropout ------------------------------------------------------------------------------ */
/* 1/(1-p), or 0 when everything is dropped: the CPU op's expression, evaluated on the host. */
static float
dropout_scale (float p)
{
  return p < 1.0f ? 1.0f / (1.0f - p) : 0.0f;
}

/* One thread per Philox block of four elements. */
__global__ static void
dropout_forward_kernel (size_t nblk, size_t n, float p, float scale, uint32_t key0,
                        uint32_t key1, uint32_t step, const float *x, float *y, uint8_t *mask)
{
  GRID_STRIDE (blk, nblk)
    {
      philox4x32_key_t key = { { key0, key1 } };
      philox4x32_ctr_t ctr = { { (uint32_t) blk, (uint32_t) (blk >> 32), step,
                                 (uint32_t) PF_RNG_STREAM_DROPOUT } };
      philox4x32_ctr_t r = philox4x32 (ctr, key);
      const size_t i0 = blk * 4;
#pragma unroll
      for (int j = 0; j < 4; j++)
        {
          size_t i = i0 + j;
          if (i < n)
            {
              /* u01fixedpt_open_open_32_float is exact (24-bit values), as on the CPU */
              bool keep = u01fixedpt_open_open_32_float (r.v[j]) >= p;
              mask[i] = keep ? 1 : 0;
              y[i] = keep ? x[i] * scale : 0.0f;
            }
        }
    }
}

__global__ static void
dropout_backward_kernel (size_t n, float scale, const uint8_t *mask, const float *dy, float *dx)
{
  GRID_STRIDE (i, n)
    if (mask[i])
      dx[i] = __fadd_rn (dx[i], __fmul_rn (dy[i], scale));
}

gboolean
pf_cuda_dropout_forward (PfCudaContext *ctx, size_t n, float p, uint64_t seed, uint64_t step,
                         const float *x, float *y, uint8_t *mask, GError **error)
{
  if (!mask)
    return _pf_cuda_invalid (error, "dropout forward needs a mask buffer");
  const size_t nblk = (n + 3) / 4;
  LAUNCH (dropout_forward_kernel, nblk, n, p, dropout_scale (p), (uint32_t) seed,
          (uint32_t) (seed >> 32), (uint32_t) step, x, y, mask);
  return TRUE;
}

gboolean
pf_cuda_dropout_backward (PfCudaContext *ctx, size_t n, float p, const uint8_t *mask,
                          const float *dy, float *dx, GError **error)
{
  if (!dx)
    return TRUE;
  if (!mask)
    return _pf_cuda_invalid (error, "dropout backward needs the mask of the forward pass");
  LAUNCH (dropout_backward_kernel, n, dropout_scale (p), mask, dy, dx);
  return TRUE;
}

/* ---- max pooling -------------------------------------------------------------------------- */
static gboolean
check_planes (const char *op, int nc, int h, int w, int min_hw, GError **error)
{
  if (nc <= 0 || h < min_hw || w < min_hw)
    return _pf_cuda_invalid (error, "%s: invalid shape of %d planes of %dx%d", op, nc, h, w);
  return TRUE;
}

/* One thread per output element; the window is read in the CPU op's order. */
template <typename I>
__global__ static void
maxpool_forward_kernel (I n, int h, int w, const float *x, float *y, int32_t *argmax)
{
  const int ho = h / 2, wo = w / 2;
  const I plane = (I) ho * wo;
  GRID_STRIDE_T (I, o, n)
    {
      const I p = o / plane;
      const int r = (int) (o - p * plane);
      const int oy = r / wo, ox = r - oy * wo;
      int32_t best;
      /* the CPU ops' window: the first of equal maxima, NaN wins, as in PyTorch */
      y[o] = _pf_maxpool2x2_window (x + (size_t) p * h * w, w, oy, ox, &best);
      if (argmax)
        argmax[o] = best;
    }
}

/* One thread per output element: 2x2 windows with stride 2 do not overlap, so every input
 * element receives from at most one thread. */
template <typename I>
__global__ static void
maxpool_backward_kernel (I n, int h, int w, const int32_t *argmax, const float *dy, float *dx)
{
  const I plane = (I) (h / 2) * (w / 2);
  GRID_STRIDE_T (I, o, n)
    {
      const I p = o / plane;
      const int32_t a = argmax[o];
      if (a >= 0 && a < h * w) /* a corrupt index must not write outside the plane */
        dx[(size_t) p * h * w + a] += dy[o];
    }
}

gboolean
pf_cuda_maxpool2x2_forward (PfCudaContext *ctx, int nc, int h, int w, const float *x, float *y,
                            int32_t *argmax, GError **error)
{
  if (!check_planes ("maxpool2x2", nc, h, w, 2, error))
    return FALSE;
  const size_t n = (size_t) nc * (h / 2) * (w / 2);
  LAUNCH_IDX (maxpool_forward_kernel, n, h, w, x, y, argmax);
  return TRUE;
}

gboolean
pf_cuda_maxpool2x2_backward (PfCudaContext *ctx, int nc, int h, int w, const int32_t *argmax,
                             const float *dy, float *dx, GError **error)
{
  if (!dx)
    return TRUE;
  if (!check_planes ("maxpool2x2", nc, h, w, 2, error))
    return FALSE;
  if (!argmax)
    return _pf_cuda_invalid (error, "maxpool2x2 backward needs the argmax of the forward pass");
  const size_t n = (size_t) nc * (h / 2) * (w / 2);
  LAUNCH_IDX (maxpool_backward_kernel, n, h, w, argmax, dy, dx);
  return TRUE;
}

/* ---- nearest up-sampling ------------------------------------------------------------------ */
template <typename I>
__global__ static void
nearest_forward_kernel (I n, int h, int w, const float *x, float *y)
{
  const int wo = 2 * w;
  const I plane = (I) 4 * h * w;
  GRID_STRIDE_T (I, o, n)
    {
      const I p = o / plane;
      const int r = (int) (o - p * plane);
      const int oy = r / wo, ox = r - oy * wo;
      y[o] = x[(size_t) p * h * w + (oy / 2) * w + ox / 2];
    }
}

/* One thread per input element: the sum of its 2x2 block, in the CPU op's order. */
template <typename I>
__global__ static void
nearest_backward_kernel (I n, int h, int w, const float *dy, float *dx)
{
  const int wo = 2 * w;
  const I plane = (I) h * w;
  GRID_STRIDE_T (I, i, n)
    {
      const I p = i / plane;
      const int r = (int) (i - p * plane);
      const int iy = r / w, ix = r - iy * w;
      const float *d = dy + (size_t) p * 4 * plane + (size_t) (2 * iy) * wo + 2 * ix;
      dx[i] = __fadd_rn (dx[i], __fadd_rn (__fadd_rn (d[0], d[1]), __fadd_rn (d[wo], d[wo + 1])));
    }
}

gboolean
pf_cuda_upsample_nearest2x_forward (PfCudaContext *ctx, int nc, int h, int w, const float *x,
                                    float *y, GError **error)
{
  if (!check_planes ("upsample_nearest2x", nc, h, w, 1, error))
    return FALSE;
  const size_t n = (size_t) nc * 4 * h * w;
  LAUNCH_IDX (nearest_forward_kernel, n, h, w, x, y);
  return TRUE;
}

gboolean
pf_cuda_upsample_nearest2x_backward (PfCudaContext *ctx, int nc, int h, int w, const float *dy,
                                     float *dx, GError **error)
{
  if (!dx)
    return TRUE;
  if (!check_planes ("upsample_nearest2x", nc, h, w, 1, error))
    return FALSE;
  const size_t n = (size_t) nc * h * w;
  LAUNCH_IDX (nearest_backward_kernel, n, h, w, dy, dx);
  return TRUE;
}

/* ---- bilinear up-sampling (align_corners = False) ------------------------------------------ */
/* The CPU op's taps: src = (o + 0.5) / 2 - 0.5 clamped at 0, upper tap clamped to the last
 * pixel. Every value involved is a multiple of 1/4, so the arithmetic is exact either way. */
__device__ static __forceinline__ void
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

template <typename I>
__global__ static void
bilinear_forward_kernel (I n, int h, int w, const float *x, float *y)
{
  const int wo = 2 * w;
  const I plane = (I) 4 * h * w;
  GRID_STRIDE_T (I, o, n)
    {
      const I p = o / plane;
      const int r = (int) (o - p * plane);
      const int oy = r / wo, ox = r - oy * wo;
      int y0, y1, x0, x1;
      float wy0, wy1, wx0, wx1;
      bilinear_taps (oy, h, &y0, &y1, &wy0, &wy1);
      bilinear_taps (ox, w, &x0, &x1, &wx0, &wx1);
      const float *xp = x + (size_t) p * h * w;
      /* wy0 * (wx0 * a + wx1 * b) + wy1 * (wx0 * c + wx1 * d), rounded as on the CPU */
      float top = __fadd_rn (__fmul_rn (wx0, xp[y0 * w + x0]), __fmul_rn (wx1, xp[y0 * w + x1]));
      float bot = __fadd_rn (__fmul_rn (wx0, xp[y1 * w + x0]), __fmul_rn (wx1, xp[y1 * w + x1]));
      y[o] = __fadd_rn (__fmul_rn (wy0, top), __fmul_rn (wy1, bot));
    }
}

/* One thread per input element gathers from the outputs whose taps can reach it: output o
 * reads inputs floor(o/2 - 1/4) and the one after, so input i is read by o in [2i-2, 2i+2]
 * (2i-2 only with weight 0 at the clamped border, kept for the CPU op's NaN behaviour). */
template <typename I>
__global__ static void
bilinear_backward_kernel (I n, int h, int w, const float *dy, float *dx)
{
  const int ho = 2 * h, wo = 2 * w;
  const I plane = (I) h * w;
  GRID_STRIDE_T (I, i, n)
    {
      const I p = i / plane;
      const int r = (int) (i - p * plane);
      const int iy = r / w, ix = r - iy * w;
      const float *dyp = dy + (size_t) p * 4 * plane;
      float acc = 0.0f;
      for (int oy = max (0, 2 * iy - 2); oy <= min (ho - 1, 2 * iy + 2); oy++)
        {
          int y0, y1;
          float wy0, wy1;
          bilinear_taps (oy, h, &y0, &y1, &wy0, &wy1);
          if (y0 != iy && y1 != iy)
            continue;
          for (int ox = max (0, 2 * ix - 2); ox <= min (wo - 1, 2 * ix + 2); ox++)
            {
              int x0, x1;
              float wx0, wx1;
              bilinear_taps (ox, w, &x0, &x1, &wx0, &wx1);
              const float g = dyp[(size_t) oy * wo + ox];
              /* the CPU op's four terms (wy * wx) * g, for each tap that is this input */
              if (y0 == iy && x0 == ix)
                acc = __fadd_rn (acc, __fmul_rn (__fmul_rn (wy0, wx0), g));
              if (y0 == iy && x1 == ix)
                acc = __fadd_rn (acc, __fmul_rn (__fmul_rn (wy0, wx1), g));
              if (y1 == iy && x0 == ix)
                acc = __fadd_rn (acc, __fmul_rn (__fmul_rn (wy1, wx0), g));
              if (y1 == iy && x1 == ix)
                acc = __fadd_rn (acc, __fmul_rn (__fmul_rn (wy1, wx1), g));
            }
        }
      dx[i] = __fadd_rn (dx[i], acc);
    }
}

gboolean
pf_cuda_upsample_bilinear2x_forward (PfCudaContext *ctx, int nc, int h, int w, const float *x,
                                     float *y, GError **error)
{
  if (!check_planes ("upsample_bilinear2x", nc, h, w, 1, error))
    return FALSE;
  const size_t n = (size_t) nc * 4 * h * w;
  LAUNCH_IDX (bilinear_forward_kernel, n, h, w, x, y);
  return TRUE;
}

gboolean
pf_cuda_upsample_bilinear2x_backward (PfCudaContext *ctx, int nc, int h, int w, const float *dy,
                                      float *dx, GError **error)
{
  if (!dx)
    return TRUE;
  if (!check_planes ("upsample_bilinear2x", nc, h, w, 1, error))
    return FALSE;
  const size_t n = (size_t) nc * h * w;
  LAUNCH_IDX (bilinear_backward_kernel, n, h, w, dy, dx);
  return TRUE;
}

/* ---- channel concat and gather -------------------------------------------------------------- */
/* Copies (or adds) `len` contiguous floats per batch item b < n_items:
 * dst[b * dst_stride + dst_off + r] (=|+=) src[b * src_stride + src_off + r], r < len.
 * Concat and gather are a few of these, one per input or picked channel, queued in order, so a
 * tensor read twice (a channel gathered twice) gets both contributions without a race. */
template <typename I>
__global__ static void
slices_copy_kernel (I n, size_t len, const float *src, size_t src_stride, size_t src_off,
                    float *dst, size_t dst_stride, size_t dst_off)
{
  GRID_STRIDE_T (I, e, n)
    {
      const I b = e / (I) len, r = e - b * (I) len;
      dst[(size_t) b * dst_stride + dst_off + r] = src[(size_t) b * src_stride + src_off + r];
    }
}

template <typename I>
__global__ static void
slices_add_kernel (I n, size_t len, const float *src, size_t src_stride, size_t src_off,
                   float *dst, size_t dst_stride, size_t dst_off)
{
  GRID_STRIDE_T (I, e, n)
    {
      const I b = e / (I) len, r = e - b * (I) len;
      float *d = dst + (size_t) b * dst_stride + dst_off + r;
      *d = __fadd_rn (*d, src[(size_t) b * src_stride + src_off + r]);
    }
}

static gboolean
check_channels (const char *op, int n, int hw, int k, const int *c, GError **error)
{
  if (n <= 0 || hw <= 0 || k < 1 || k > 8)
    return _pf_cuda_invalid (error, "%s: invalid shape (n %d, hw %d, %d inputs)", op, n, hw, k);
  for (int i = 0; i < k; i++)
    if (c[i] <= 0)
      return _pf_cuda_invalid (error, "%s: input %d has %d channels", op, i, c[i]);
  return TRUE;
}

gboolean
pf_cuda_concat_forward (PfCudaContext *ctx, int n, int hw, int k, const int *c,
                        const float *const *x, float *y, GError **error)
{
  if (!check_channels ("concat", n, hw, k, c, error))
    return FALSE;
  size_t ctot = 0;
  for (int i = 0; i < k; i++)
    ctot += c[i];
  size_t off = 0;
  for (int i = 0; i < k; i++)
    {
      const size_t len = (size_t) c[i] * hw;
      LAUNCH_IDX (slices_copy_kernel, (size_t) n * len, len, x[i], len, (size_t) 0, y, ctot * hw,
              off * hw);
      off += c[i];
    }
  return TRUE;
}

gboolean
pf_cuda_concat_backward (PfCudaContext *ctx, int n, int hw, int k, const int *c, const float *dy,
                         float *const *dx, GError **error)
{
  if (!dx)
    return TRUE;
  if (!check_channels ("concat", n, hw, k, c, error))
    return FALSE;
  size_t ctot = 0;
  for (int i = 0; i < k; i++)
    ctot += c[i];
  size_t off = 0;
  for (int i = 0; i < k; i++)
    {
      const size_t len = (size_t) c[i] * hw;
      if (dx[i])
        LAUNCH_IDX (slices_add_kernel, (size_t) n * len, len, dy, ctot * hw, off * hw, dx[i], len,
                (size_t) 0);
      off += c[i];
    }
  return TRUE;
}

static gboolean
check_gather (int n, int c, int hw, int k, const int *idx, GError **error)
{
  if (n <= 0 || c <= 0 || hw <= 0 || k < 1 || k > 8)
    return _pf_cuda_invalid (error, "channel gather: invalid shape (n %d, c %d, hw %d, k %d)", n, c,
                             hw, k);
  for (int j = 0; j < k; j++)
    if (idx[j] < 0 || idx[j] >= c)
      return _pf_cuda_invalid (error, "channel gather: channel %d out of range for %d channels",
                               idx[j], c);
  return TRUE;
}

gboolean
pf_cuda_channel_gather_forward (PfCudaContext *ctx, int n, int c, int hw, int k, const int *idx,
                                const float *x, float *y, GError **error)
{
  if (!check_gather (n, c, hw, k, idx, error))
    return FALSE;
  const size_t len = hw;
  for (int j = 0; j < k; j++)
    LAUNCH_IDX (slices_copy_kernel, (size_t) n * len, len, x, (size_t) c * hw, (size_t) idx[j] * hw, y,
            (size_t) k * hw, (size_t) j * hw);
  return TRUE;
}

gboolean
pf_cuda_channel_gather_backward (PfCudaContext *ctx, int n, int c, int hw, int k, const int *idx,
                                 const float *dy, float *dx, GError **error)
{
  if (!dx)
    return TRUE;
  if (!check_gather (n, c, hw, k, idx, error))
    return FALSE;
  const size_t len = hw;
  /* in j order, one launch each: a channel picked twice adds both, as the CPU op */
  for (int j = 0; j < k; j++)
    LAUNCH_IDX (slices_add_kernel, (size_t) n * len, len, dy, (size_t) k * hw, (size_t) j * hw, dx,
            (size_t) c * hw, (size_t) idx[j] * hw);
  return TRUE;
}
