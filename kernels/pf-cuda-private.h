/* pf-cuda-private.h — what the .cu files of the CUDA backend share: the context struct, the
 * return-code checks that turn CUDA/cuDNN/cuBLAS failures into GErrors, launch helpers and a
 * deterministic block reduction. Included from .cu files only. */
#pragma once
#include <cuda_runtime.h>
#include <cudnn.h>
#include <cublas_v2.h>
#include "pf-cuda.h"

/* Threads per block of every hand-written kernel (a power of two: the reductions rely on it). */
#define PF_CUDA_BLOCK 256

struct _PfCudaContext {
  int device;
  char name[256];
  int sm_count;
  int cc_major, cc_minor; /* compute capability */
  size_t smem_optin;      /* the most dynamic shared memory a block may opt in to */
  cudaStream_t stream;
  cudnnHandle_t cudnn;
  cublasHandle_t cublas;
  PfCudaPrecision precision;
  /* device scratch for the partial sums of the losses; grows on demand, so it is allocated
   * in the first training step and reused after */
  void *scratch;
  size_t scratch_bytes;
  /* scratch buffers outgrown: kept until the context goes, since a recorded graph may still
   * point into one (replays run in stream order, so none is in use by two at once) */
  GPtrArray *retired;
  size_t total_memory;
  /* the workspace all convolution plans share (pf-cuda-conv.cu) */
  void *conv_ws;
  size_t conv_ws_bytes;
  /* cuBLAS's workspace, given to it once so that it never allocates inside a graph capture */
  void *cublas_ws;
  /* BF16 mode: the bf16 copies of a convolution's operands, shared by all plans (they run one
   * at a time and convert their operands on every call, so nothing is kept in between) */
  void *bf16_ws;
  size_t bf16_ws_bytes;
};

gboolean _pf_cuda_check (cudaError_t e, const char *call, GError **error);
gboolean _pf_cudnn_check (cudnnStatus_t s, const char *call, GError **error);
gboolean _pf_cublas_check (cublasStatus_t s, const char *call, GError **error);
/* Reports a failed kernel launch (bad configuration, or a sticky error of an earlier kernel). */
gboolean _pf_cuda_launch_check (const char *kernel, GError **error);
/* At least `bytes` of device scratch, valid until the next call (stream-ordered). */
void *_pf_cuda_scratch (PfCudaContext *ctx, size_t bytes, GError **error);
gboolean _pf_cuda_invalid (GError **error, const char *fmt, ...) G_GNUC_PRINTF (2, 3);
/* A device buffer of the context of at least `bytes`, grown on demand: the old one is retired
 * (kept until the context goes, since a recorded graph may still point into it), never freed.
 * When the allocation fails the old buffer stays in place and NULL is returned. */
void *_pf_cuda_grow (PfCudaContext *ctx, void **buf, size_t *buf_bytes, size_t bytes,
                     const char *what, GError **error);
/* A convolution of 2 or 3 spatial dimensions through cuDNN's N-d legacy API: what the 2-D and
 * 3-D plans share (pf-cuda-conv.cu). In BF16 mode the products run on bf16 copies of the
 * operands (the h_ descriptors); the float32 descriptors serve the bias. */
typedef struct {
  PfCudaContext *ctx;
  cudnnTensorDescriptor_t x_desc, y_desc, b_desc;
  cudnnFilterDescriptor_t w_desc;
  cudnnTensorDescriptor_t xh_desc, yh_desc;
  cudnnFilterDescriptor_t wh_desc;
  cudnnConvolutionDescriptor_t conv_desc;
  cudnnConvolutionFwdAlgo_t fwd_algo;
  cudnnConvolutionBwdDataAlgo_t bwd_data_algo;
  cudnnConvolutionBwdFilterAlgo_t bwd_filter_algo;
  /* the math type each pass runs under: CUDNN_FMA_MATH for all three in FP32; in TF32 and
   * BF16 the one cuDNN reported with the chosen algorithm (set before each call, as PyTorch
   * does, since the passes share conv_desc) */
  cudnnMathType_t fwd_math, bwd_data_math, bwd_filter_math;
  size_t workspace_bytes; /* of the context's shared convolution workspace */
  size_t nx, nw, ny;      /* elements of x, w and y */
  int out_c, out_inner;   /* y's channels, and elements per (sample, channel) plane */
  /* planned in BF16 mode: the plan keeps the mode it was made in, whatever the context's is
   * when it runs (its descriptors and algorithms belong to that mode) */
  gboolean bf16;
} PfCudaConvCore;

/* Sets up `c` for NCHW / NCDHW tensors: `nsp` spatial dimensions (2 or 3), xdim and wdim with
 * nsp + 2 entries, pad and stride with nsp; ydim is the output shape the caller expects
 * (checked against cuDNN's). Chooses the algorithms. On failure the caller frees `c`. */
gboolean _pf_cuda_conv_core_init (PfCudaConvCore *c, PfCudaContext *ctx, int nsp, const int *xdim,
                                  const int *wdim, const int *ydim, const int *pad,
                                  const int *stride, GError **error);
void _pf_cuda_conv_core_clear (PfCudaConvCore *c);
/* y = conv(x, w) + b (b may be NULL), then max(y, 0) in the same pass when relu */
gboolean _pf_cuda_conv_core_forward (PfCudaConvCore *c, const float *x, const float *w,
                                     const float *b, gboolean relu, float *y, GError **error);
/* dx += (or with set_dx =) conv^T(dy, w); dw += corr(x, dy); db += sum(dy) */
gboolean _pf_cuda_conv_core_backward (PfCudaConvCore *c, const float *x, const float *w,
                                      const float *dy, float *dx, gboolean set_dx, float *dw,
                                      float *db, GError **error);

/* C = alpha op(A) op(B) + beta C, column-major, float32 in memory, computed as the context's
 * precision says (pf-cuda-blas.cu): cublasSgemm for FP32 and TF32 (the handle's math mode),
 * cublasGemmEx with CUBLAS_COMPUTE_32F_FAST_16BF for BF16 (bf16 or TF32 operands, cuBLAS's
 * choice per shape). */
gboolean _pf_cuda_sgemm (PfCudaContext *ctx, cublasOperation_t ta, cublasOperation_t tb, int m,
                         int n, int k, const float *alpha, const float *A, int lda, const float *B,
                         int ldb, const float *beta, float *C, int ldc, GError **error);
gboolean _pf_cuda_sgemm_strided_batched (PfCudaContext *ctx, cublasOperation_t ta,
                                         cublasOperation_t tb, int m, int n, int k,
                                         const float *alpha, const float *A, int lda,
                                         long long sa, const float *B, int ldb, long long sb,
                                         const float *beta, float *C, int ldc, long long sc,
                                         int batch, GError **error);

/* Each macro returns FALSE from the enclosing function (which has a GError **error) on failure. */
#define PF_CUDA_TRY(call) \
  G_STMT_START { if (!_pf_cuda_check ((call), #call, error)) return FALSE; } G_STMT_END
#define PF_CUDNN_TRY(call) \
  G_STMT_START { if (!_pf_cudnn_check ((call), #call, error)) return FALSE; } G_STMT_END
#define PF_CUBLAS_TRY(call) \
  G_STMT_START { if (!_pf_cublas_check ((call), #call, error)) return FALSE; } G_STMT_END
/* a call of this backend that fills `error` itself */
#define PF_TRY(call) \
  G_STMT_START { if (!(call)) return FALSE; } G_STMT_END
#define PF_CUDA_LAUNCHED(name) \
  G_STMT_START { if (!_pf_cuda_launch_check ((name), error)) return FALSE; } G_STMT_END

/* Blocks for a grid-stride loop over n elements: enough to fill the device, never more than
 * the elements need. n > 0. */
static inline unsigned int
_pf_cuda_grid (const PfCudaContext *ctx, size_t n)
{
  size_t need = (n + PF_CUDA_BLOCK - 1) / PF_CUDA_BLOCK;
  size_t cap = (size_t) (ctx->sm_count > 0 ? ctx->sm_count : 1) * 16;
  return (unsigned int) (need < cap ? need : cap);
}

/* db[j] += sum over the m rows of the row-major [m, out] matrix dy of column j (and db2[j] the
 * same, when not NULL), in a fixed order (deterministic): the reduction of every bias gradient
 * (pf-cuda-blas.cu). */
gboolean _pf_cuda_column_sum (PfCudaContext *ctx, int m, int out, const float *dy, float *db,
                              float *db2, GError **error);

#if defined (__CUDACC__) || defined (PF_CUDA_HOST_EMU) /* tests/tools/cuda-emu */
/* A grid for a loop over `planes` planes of `hw` elements each (plane p of an NC... tensor is
 * channel p % c): blockIdx.y walks the planes and x the elements of a plane, so a kernel finds
 * its channel with one division per plane rather than a 64-bit one per element. About as many
 * blocks as _pf_cuda_grid. */
static inline dim3
_pf_cuda_plane_grid (const PfCudaContext *ctx, size_t planes, size_t hw)
{
  size_t cap = (size_t) (ctx->sm_count > 0 ? ctx->sm_count : 1) * 16;
  size_t gx = (hw + PF_CUDA_BLOCK - 1) / PF_CUDA_BLOCK;
  gx = gx < cap ? gx : cap;
  size_t gy = cap / gx;
  gy = gy < 1 ? 1 : gy;
  gy = gy < planes ? gy : planes;
  gy = gy < 65535 ? gy : 65535;
  return dim3 ((unsigned int) gx, (unsigned int) gy);
}

/* for each plane p of this block's share and each element j of it */
#define PF_PLANE_LOOP(p, planes) \
  for (size_t p = blockIdx.y; p < (planes); p += gridDim.y)
#define PF_PLANE_ELEMENTS(j, hw) \
  for (size_t j = blockIdx.x * (size_t) blockDim.x + threadIdx.x; j < (hw); \
       j += (size_t) gridDim.x * blockDim.x)

#define PF_WARP 32
#define PF_FULL_MASK 0xffffffffu

/* Sum (max) of v over a warp by xor butterflies: every lane ends with the same value, in the
 * same order on every run (a + b == b + a in IEEE arithmetic). */
static __device__ __forceinline__ double
_pf_warp_sum (double v)
{
  for (int o = PF_WARP / 2; o > 0; o >>= 1)
    v += __shfl_xor_sync (PF_FULL_MASK, v, o);
  return v;
}

static __device__ __forceinline__ float
_pf_warp_max (float v)
{
  for (int o = PF_WARP / 2; o > 0; o >>= 1)
    v = fmaxf (v, __shfl_xor_sync (PF_FULL_MASK, v, o));
  return v;
}

/* One row of the softmax's backward, by the warp of `lane`: dx = (accumulate: +=) scale y
 * (dy - sum_j dy_j y_j), the sum in double as pf_softmax_backward_ref. dx may be dy: each
 * lane reads its own columns before it writes them. */
static __device__ __forceinline__ void
_pf_softmax_backward_row (int lane, int cols, float scale, const float *y, const float *dy,
                          float *dx, bool accumulate)
{
  double dot = 0.0;
  for (int j = lane; j < cols; j += PF_WARP)
    dot += (double) dy[j] * y[j];
  dot = _pf_warp_sum (dot);
  for (int j = lane; j < cols; j += PF_WARP)
    {
      const float g = (float) ((double) scale * y[j] * (dy[j] - dot));
      dx[j] = accumulate ? dx[j] + g : g;
    }
}

/* Sum of v over a block of PF_CUDA_BLOCK threads, in a fixed order (deterministic); every
 * thread gets the result. `sh` is a __shared__ double[PF_CUDA_BLOCK]. */
static __device__ __forceinline__ double
_pf_block_sum (double v, double *sh)
{
  sh[threadIdx.x] = v;
  __syncthreads ();
  for (int s = PF_CUDA_BLOCK / 2; s > 0; s >>= 1)
    {
      if ((int) threadIdx.x < s)
        sh[threadIdx.x] += sh[threadIdx.x + s];
      __syncthreads ();
    }
  double r = sh[0];
  __syncthreads (); /* sh may be reused by the next call */
  return r;
}
#endif
