/* pf-cuda-blas.cu — Linear layers through cuBLAS, and the GEMM entry points every op of the
 * backend uses, so that the context's precision reaches all of them.
 *
 * cuBLAS is column-major; a row-major [r, c] matrix is the column-major [c, r] matrix, its
 * transpose. So y = x W^T (row-major) is y^T = W x^T (column-major), and so on below. */
#include "pf-cuda-private.h"

/* FP32 and TF32 keep cublasSgemm (the handle's math mode decides TF32); BF16 lets cuBLAS round
 * the float32 operands to bf16 (or to TF32: CUBLAS_COMPUTE_32F_FAST_16BF "allows" the
 * down-conversion, the kernel is cuBLAS's choice per shape) and accumulate in float32. Unlike
 * autocast, which always casts to bf16, so a bf16 benchmark is not strictly like for like. */
gboolean
_pf_cuda_sgemm (PfCudaContext *ctx, cublasOperation_t ta, cublasOperation_t tb, int m, int n,
                int k, const float *alpha, const float *A, int lda, const float *B, int ldb,
                const float *beta, float *C, int ldc, GError **error)
{
  if (ctx->precision == PF_CUDA_PRECISION_BF16)
    PF_CUBLAS_TRY (cublasGemmEx (ctx->cublas, ta, tb, m, n, k, alpha, A, CUDA_R_32F, lda, B,
                                 CUDA_R_32F, ldb, beta, C, CUDA_R_32F, ldc,
                                 CUBLAS_COMPUTE_32F_FAST_16BF, CUBLAS_GEMM_DEFAULT));
  else
    PF_CUBLAS_TRY (cublasSgemm (ctx->cublas, ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc));
  return TRUE;
}

gboolean
_pf_cuda_sgemm_strided_batched (PfCudaContext *ctx, cublasOperation_t ta, cublasOperation_t tb,
                                int m, int n, int k, const float *alpha, const float *A, int lda,
                                long long sa, const float *B, int ldb, long long sb,
                                const float *beta, float *C, int ldc, long long sc, int batch,
                                GError **error)
{
  if (ctx->precision == PF_CUDA_PRECISION_BF16)
    PF_CUBLAS_TRY (cublasGemmStridedBatchedEx (ctx->cublas, ta, tb, m, n, k, alpha, A, CUDA_R_32F,
                                               lda, sa, B, CUDA_R_32F, ldb, sb, beta, C,
                                               CUDA_R_32F, ldc, sc, batch,
                                               CUBLAS_COMPUTE_32F_FAST_16BF, CUBLAS_GEMM_DEFAULT));
  else
    PF_CUBLAS_TRY (cublasSgemmStridedBatched (ctx->cublas, ta, tb, m, n, k, alpha, A, lda, sa, B,
                                              ldb, sb, beta, C, ldc, sc, batch));
  return TRUE;
}

/* y[i, j] += b[j] over an [m, out] row-major matrix. The column follows the grid stride by
 * addition: a 64-bit remainder per element would cost more than the memory traffic. */
__global__ static void
add_bias_rows_kernel (size_t total, int out, const float *b, float *y)
{
  const size_t stride = (size_t) gridDim.x * blockDim.x;
  const int step = (int) (stride % out);
  size_t i = blockIdx.x * (size_t) blockDim.x + threadIdx.x;
  for (int j = (int) (i % out); i < total; i += stride)
    {
      y[i] += b[j];
      j += step;
      j -= j >= out ? out : 0;
    }
}

/* Column sums in two launches. A block of COL_TILE x COL_ROWS threads sums COL_TILE adjacent
 * columns over its slice of the rows, so a warp reads a contiguous stretch of a row (a block
 * per column would use one float of each 32-byte sector it reads, and keep only `out` SMs
 * busy: 32 for the row attention's 627,200 x 32 gradients); the partial sums go to scratch,
 * and a block per column adds them up. Double accumulation in a fixed order: deterministic on
 * a given device. */
#define COL_TILE 32
#define COL_ROWS 8

__global__ static void
column_partial_kernel (int m, int out, int slices, const float *dy, double *part)
{
  __shared__ double sh[COL_ROWS][COL_TILE];
  const int j = blockIdx.x * COL_TILE + threadIdx.x, sl = blockIdx.y;
  double s = 0;
  if (j < out)
    for (size_t i = (size_t) sl * COL_ROWS + threadIdx.y; i < (size_t) m;
         i += (size_t) slices * COL_ROWS)
      s += dy[i * out + j];
  sh[threadIdx.y][threadIdx.x] = s;
  __syncthreads ();
  if (threadIdx.y == 0 && j < out)
    {
      for (int r = 1; r < COL_ROWS; r++)
        s += sh[r][threadIdx.x];
      part[(size_t) sl * out + j] = s;
    }
}

/* one block per column: the slices' partial sums in a fixed order (a thread's share, then the
 * block's tree) */
__global__ static void
column_finish_kernel (int out, int slices, const double *part, float *db, float *db2)
{
  __shared__ double sh[PF_CUDA_BLOCK];
  const int j = blockIdx.x;
  double s = 0;
  for (int sl = threadIdx.x; sl < slices; sl += PF_CUDA_BLOCK)
    s += part[(size_t) sl * out + j];
  s = _pf_block_sum (s, sh);
  if (threadIdx.x == 0)
    {
      db[j] += (float) s;
      if (db2)
        db2[j] += (float) s;
    }
}

gboolean
_pf_cuda_column_sum (PfCudaContext *ctx, int m, int out, const float *dy, float *db, float *db2,
                     GError **error)
{
  if (m <= 0 || out <= 0)
    return TRUE;
  const int tiles = (out + COL_TILE - 1) / COL_TILE;
  /* enough blocks to fill the device a few times over, each with at least one row group */
  const int want = (ctx->sm_count > 0 ? ctx->sm_count : 1) * 8;
  const int slices = MAX (1, MIN ((want + tiles - 1) / tiles, (m + COL_ROWS - 1) / COL_ROWS));
  double *part = (double *) _pf_cuda_scratch (ctx, (size_t) slices * out * sizeof (double), error);
  if (!part)
    return FALSE;
  column_partial_kernel<<<dim3 (tiles, slices), dim3 (COL_TILE, COL_ROWS), 0, ctx->stream>>>
    (m, out, slices, dy, part);
  PF_CUDA_LAUNCHED ("column_partial_kernel");
  column_finish_kernel<<<out, PF_CUDA_BLOCK, 0, ctx->stream>>> (out, slices, part, db, db2);
  PF_CUDA_LAUNCHED ("column_finish_kernel");
  return TRUE;
}

static gboolean
check_dims (int m, int in, int out, GError **error)
{
  if (m <= 0 || in <= 0 || out <= 0)
    return _pf_cuda_invalid (error, "invalid linear shape: m %d, in %d, out %d", m, in, out);
  return TRUE;
}

gboolean
pf_cuda_linear_forward (PfCudaContext *ctx, int m, int in, int out, const float *x,
                        const float *w, const float *b, float *y, GError **error)
{
  if (!check_dims (m, in, out, error))
    return FALSE;
  const float one = 1.0f, zero = 0.0f;
  /* y^T [out, m] = W [out, in] . x^T [in, m]; W row-major is W^T column-major (ld in) */
  PF_TRY (_pf_cuda_sgemm (ctx, CUBLAS_OP_T, CUBLAS_OP_N, out, m, in, &one, w, in,
                          x, in, &zero, y, out, error));
  if (b)
    {
      size_t total = (size_t) m * out;
      add_bias_rows_kernel<<<_pf_cuda_grid (ctx, total), PF_CUDA_BLOCK, 0, ctx->stream>>>
        (total, out, b, y);
      PF_CUDA_LAUNCHED ("add_bias_rows_kernel");
    }
  return TRUE;
}

gboolean
pf_cuda_linear_backward (PfCudaContext *ctx, int m, int in, int out, const float *x,
                         const float *w, const float *dy, float *dx, gboolean set_dx, float *dw,
                         float *db, GError **error)
{
  if (!check_dims (m, in, out, error))
    return FALSE;
  const float one = 1.0f, zero = 0.0f;
  /* dx [m, in] += dy [m, out] W [out, in]:  dx^T [in, m] += W^T [in, out] . dy^T [out, m]
   * (beta 0 with set_dx: cuBLAS then does not read dx) */
  if (dx)
    PF_TRY (_pf_cuda_sgemm (ctx, CUBLAS_OP_N, CUBLAS_OP_N, in, m, out, &one, w, in,
                            dy, out, set_dx ? &zero : &one, dx, in, error));
  /* dw [out, in] += dy^T [out, m] x [m, in]:  dw^T [in, out] += x^T [in, m] . dy [m, out] */
  if (dw)
    PF_TRY (_pf_cuda_sgemm (ctx, CUBLAS_OP_N, CUBLAS_OP_T, in, out, m, &one, x, in,
                            dy, out, &one, dw, in, error));
  if (db)
    PF_TRY (_pf_cuda_column_sum (ctx, m, out, dy, db, NULL, error));
  return TRUE;
}
