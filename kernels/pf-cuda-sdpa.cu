/* pf-cuda-sdpa.cu — scaled dot-product attention, softmax(scale Q K^T) V, fused for the short
 * sequences of the row attention (56 phi tokens of 32 or 64 features at scales 1 and 2).
 *
 * Unfused, the [len, len] scores and probabilities go through memory five times forward and
 * about ten times backward, between cuBLAS batched GEMMs of 56 x 56 x 32 (11,200 of them per
 * step at batch 200), a softmax and their gradients. Here one block takes one sequence: Q, K,
 * V and the scores stay in shared memory. Only P (the softmax node's output, which backward
 * reads instead of recomputing) and O are written; backward reads P and writes dQ, dK, dV.
 *
 * The products are float32 FMAs in ascending k (cuBLAS's order is its own, so results agree to
 * rounding, as the tests' tolerances say); the softmax is pf-cuda-attn.cu's, its sums in
 * double. Every sum is in a fixed order: the same bits on every run. */
#include <math.h>
#include "pf-cuda-private.h"
#include "pf-cuda-attn.h"

#define TILE 4 /* each thread computes TILE x TILE outputs of a product */

/* Matrices in shared memory have a row stride one more than their width, so that the threads
 * of a warp reading down a column hit different banks. */
#define PADDED(width) ((width) + 1)

static size_t
forward_smem (int len, int dim)
{
  return sizeof (float) * ((size_t) 3 * len * PADDED (dim) + (size_t) len * PADDED (len));
}

static size_t
backward_smem (int len, int dim)
{
  return sizeof (float) * ((size_t) 4 * len * PADDED (dim) + (size_t) 2 * len * PADDED (len));
}

/* For each (m, n) of the M x N product sum_kk A(m, kk) B(n, kk), calls store (m, n, sum), where
 * A(m, kk) = a[m * am + kk * ak] and B(n, kk) = b[n * bn + kk * bk] lie in shared memory.
 * Thread t owns rows tm, tm + R, tm + 2R, tm + 3R and columns tn, tn + Cn, ... (R and Cn the
 * rows and columns over TILE, rounded up): each value it loads serves TILE products, and
 * neighbouring threads take neighbouring columns, so their loads of B spread over the banks.
 * Sums run in ascending kk. Out-of-range rows and columns are clamped for the loads and not
 * stored. */
template <typename Store>
static __device__ __forceinline__ void
block_product (int M, int N, int K, const float *a, int am, int ak, const float *b, int bn,
               int bk, Store store)
{
  const int R = (M + TILE - 1) / TILE, Cn = (N + TILE - 1) / TILE;
  for (int t = threadIdx.x; t < R * Cn; t += blockDim.x)
    {
      const int tm = t / Cn, tn = t % Cn;
      const float *ar[TILE], *br[TILE];
#pragma unroll
      for (int i = 0; i < TILE; i++)
        {
          ar[i] = a + min (tm + i * R, M - 1) * am;
          br[i] = b + min (tn + i * Cn, N - 1) * bn;
        }
      float acc[TILE][TILE];
#pragma unroll
      for (int i = 0; i < TILE; i++)
#pragma unroll
        for (int j = 0; j < TILE; j++)
          acc[i][j] = 0.0f;
      for (int kk = 0; kk < K; kk++)
        {
          float av[TILE], bv[TILE];
#pragma unroll
          for (int i = 0; i < TILE; i++)
            {
              av[i] = ar[i][kk * ak];
              bv[i] = br[i][kk * bk];
            }
#pragma unroll
          for (int i = 0; i < TILE; i++)
#pragma unroll
            for (int j = 0; j < TILE; j++)
              acc[i][j] = fmaf (av[i], bv[j], acc[i][j]);
        }
#pragma unroll
      for (int i = 0; i < TILE; i++)
#pragma unroll
        for (int j = 0; j < TILE; j++)
          if (tm + i * R < M && tn + j * Cn < N)
            store (tm + i * R, tn + j * Cn, acc[i][j]);
    }
}

/* rows x cols of global memory (row-major, contiguous) into shared memory at row stride ld */
static __device__ __forceinline__ void
load_rows (float *dst, int ld, const float *src, int rows, int cols)
{
  for (int e = threadIdx.x; e < rows * cols; e += blockDim.x)
    dst[(e / cols) * ld + e % cols] = src[e];
}

/* One block per sequence s: p[s] = softmax(scale q k^T), o[s] = p v. */
__global__ static void
sdpa_forward_kernel (int len, int dim, float scale, const float *q, const float *k,
                     const float *v, float *p, float *o)
{
  extern __shared__ float sh[];
  const int ld = PADDED (dim), lds = PADDED (len);
  float *sq = sh, *sk = sq + len * ld, *sv = sk + len * ld, *ss = sv + len * ld;
  const size_t nm = (size_t) len * dim, s = blockIdx.x;
  load_rows (sq, ld, q + s * nm, len, dim);
  load_rows (sk, ld, k + s * nm, len, dim);
  load_rows (sv, ld, v + s * nm, len, dim);
  __syncthreads ();

  /* the scores, unscaled (the softmax scales them, as pf_cuda_softmax_forward does) */
  block_product (len, len, dim, sq, ld, 1, sk, ld, 1,
                 [&] (int i, int j, float x) { ss[i * lds + j] = x; });
  __syncthreads ();

  /* the softmax, a warp per row: len <= 64, so lane l holds columns l and l + 32 */
  float *pg = p + s * (size_t) len * len;
  const int lane = threadIdx.x % PF_WARP;
  for (int i = threadIdx.x / PF_WARP; i < len; i += blockDim.x / PF_WARP)
    {
      float *row = ss + i * lds;
      const bool has0 = lane < len, has1 = lane + PF_WARP < len;
      const float x0 = has0 ? scale * row[lane] : -INFINITY;
      const float x1 = has1 ? scale * row[lane + PF_WARP] : -INFINITY;
      const float mx = _pf_warp_max (fmaxf (x0, x1));
      const float e0 = has0 ? expf (x0 - mx) : 0.0f, e1 = has1 ? expf (x1 - mx) : 0.0f;
      double sum = 0.0;
      if (has0)
        sum += e0;
      if (has1)
        sum += e1;
      const float inv = (float) (1.0 / _pf_warp_sum (sum));
      if (has0)
        row[lane] = pg[i * len + lane] = e0 * inv;
      if (has1)
        row[lane + PF_WARP] = pg[i * len + lane + PF_WARP] = e1 * inv;
    }
  __syncthreads ();

  /* o = p v */
  float *og = o + s * nm;
  block_product (len, dim, len, ss, lds, 1, sv, 1, ld,
                 [&] (int i, int c, float x) { og[i * dim + c] = x; });
}

/* One block per sequence s: dv += p^T dout; dp = dout v^T; ds = scale p (dp - rowsum(dp p));
 * dq += ds k; dk += ds^T q. dp becomes ds in place, in shared memory. */
__global__ static void
sdpa_backward_kernel (int len, int dim, float scale, const float *q, const float *k,
                      const float *v, const float *p, const float *dout, float *dq, float *dk,
                      float *dv)
{
  extern __shared__ float sh[];
  const int ld = PADDED (dim), lds = PADDED (len);
  float *sq = sh, *sk = sq + len * ld, *sv = sk + len * ld, *sdo = sv + len * ld;
  float *sp = sdo + len * ld, *sds = sp + len * lds;
  const size_t nm = (size_t) len * dim, s = blockIdx.x;
  load_rows (sq, ld, q + s * nm, len, dim);
  load_rows (sk, ld, k + s * nm, len, dim);
  load_rows (sv, ld, v + s * nm, len, dim);
  load_rows (sdo, ld, dout + s * nm, len, dim);
  load_rows (sp, lds, p + s * (size_t) len * len, len, len);
  __syncthreads ();

  if (dv)
    {
      float *g = dv + s * nm;
      block_product (len, dim, len, sp, 1, lds, sdo, 1, ld,
                     [&] (int j, int c, float x) { g[j * dim + c] += x; });
    }
  if (!dq && !dk)
    return;
  block_product (len, len, dim, sdo, ld, 1, sv, ld, 1,
                 [&] (int i, int j, float x) { sds[i * lds + j] = x; });
  __syncthreads ();

  /* the softmax's backward, a warp per row, as pf_cuda_softmax_backward computes it */
  const int lane = threadIdx.x % PF_WARP;
  for (int i = threadIdx.x / PF_WARP; i < len; i += blockDim.x / PF_WARP)
    _pf_softmax_backward_row (lane, len, scale, sp + i * lds, sds + i * lds, sds + i * lds, false);
  __syncthreads ();

  if (dq)
    {
      float *g = dq + s * nm;
      block_product (len, dim, len, sds, lds, 1, sk, 1, ld,
                     [&] (int i, int c, float x) { g[i * dim + c] += x; });
    }
  if (dk)
    {
      float *g = dk + s * nm;
      block_product (len, dim, len, sds, 1, lds, sq, 1, ld,
                     [&] (int j, int c, float x) { g[j * dim + c] += x; });
    }
}

gboolean
pf_cuda_attention_fits (const PfCudaContext *ctx, int len, int dim)
{
  return len > 0 && dim > 0 && len <= PF_CUDA_ATTENTION_MAX && dim <= PF_CUDA_ATTENTION_MAX
         && backward_smem (len, dim) <= ctx->smem_optin;
}

static gboolean
check_attention (const PfCudaContext *ctx, int batch, int len, int dim, GError **error)
{
  if (batch <= 0 || len <= 0 || dim <= 0)
    return _pf_cuda_invalid (error, "invalid attention shape: batch %d, length %d, width %d",
                             batch, len, dim);
  if (!pf_cuda_attention_fits (ctx, len, dim))
    return _pf_cuda_invalid (error, "fused attention does not serve length %d, width %d (at most "
                             "%d each, within %zu bytes of shared memory)", len, dim,
                             PF_CUDA_ATTENTION_MAX, ctx->smem_optin);
  return TRUE;
}

/* Lets `kernel` have `bytes` of dynamic shared memory (more than 48 KiB needs the opt-in). A
 * host call, not stream work, so it is allowed while a graph is being captured. */
template <typename... P>
static gboolean
allow_smem (void (*kernel) (P...), size_t bytes, GError **error)
{
  if (bytes <= 48 * 1024)
    return TRUE;
  return _pf_cuda_check (cudaFuncSetAttribute (kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                               (int) bytes), "cudaFuncSetAttribute", error);
}

gboolean
pf_cuda_attention_forward (PfCudaContext *ctx, int batch, int len, int dim, float scale,
                           const float *q, const float *k, const float *v, float *p, float *o,
                           GError **error)
{
  if (!check_attention (ctx, batch, len, dim, error))
    return FALSE;
  size_t smem = forward_smem (len, dim);
  PF_TRY (allow_smem (sdpa_forward_kernel, smem, error));
  sdpa_forward_kernel<<<batch, PF_CUDA_BLOCK, smem, ctx->stream>>> (len, dim, scale, q, k, v, p, o);
  PF_CUDA_LAUNCHED ("sdpa_forward_kernel");
  return TRUE;
}

gboolean
pf_cuda_attention_backward (PfCudaContext *ctx, int batch, int len, int dim, float scale,
                            const float *q, const float *k, const float *v, const float *p,
                            const float *dout, float *dq, float *dk, float *dv, GError **error)
{
  if (!check_attention (ctx, batch, len, dim, error))
    return FALSE;
  if (!dq && !dk && !dv)
    return TRUE;
  size_t smem = backward_smem (len, dim);
  PF_TRY (allow_smem (sdpa_backward_kernel, smem, error));
  sdpa_backward_kernel<<<batch, PF_CUDA_BLOCK, smem, ctx->stream>>>
    (len, dim, scale, q, k, v, p, dout, dq, dk, dv);
  PF_CUDA_LAUNCHED ("sdpa_backward_kernel");
  return TRUE;
}
