/* pf-cuda-conv.cu — 2D and 3D convolution through cuDNN's N-d legacy convolution API.
 *
 * A plan is built once per shape: descriptors and one algorithm per pass (the fastest of
 * cuDNN's trial runs, or its heuristics; see use_find). All plans of a context share one
 * workspace, grown to the largest need (they run one at a time on the context's stream).
 * Backward passes accumulate through beta = 1. The 2-D and 3-D plans differ only in their
 * shape checks (pf-cuda-conv3d.cu); both are a PfCudaConvCore.
 * In BF16 mode every pass converts its operands to bf16 copies in the context's bf16
 * workspace, runs cuDNN's bf16 kernels (float32 accumulation) and converts the result back,
 * adding it to float32 gradients: the float32 tensors of the graph never change type.
 * The legacy API is marked deprecated in cuDNN 9 but is still shipped (PyTorch 2 calls the graph
 * API through cudnn-frontend, with the legacy one as its fallback); moving to the graph API is
 * a later step. */
#include <cuda_bf16.h>
#include <string.h>
#include "pf-cuda-private.h"

struct _PfCudaConv2dPlan {
  PfCudaConvCore core;
};

/* An algorithm result is usable when it ran and fits the cap, and under CUDNN_FMA_MATH (FP32,
 * and a bf16 plan's float32 fallback) when it does not bring tensor cores (TF32) in behind our
 * back. The cap is an eighth of the device's memory: the fastest algorithms of the large
 * layers (FFT, Winograd) need gigabytes, and all plans share one workspace. */
static gboolean
algo_ok (cudnnStatus_t status, size_t memory, size_t cap, cudnnMathType_t math,
         cudnnMathType_t asked)
{
  if (status != CUDNN_STATUS_SUCCESS || memory > cap)
    return FALSE;
  if (asked == CUDNN_FMA_MATH
      && (math == CUDNN_TENSOR_OP_MATH || math == CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION))
    return FALSE;
  return TRUE;
}

/* The math type a chosen result runs under. cuDNN's Find tries the descriptor's math type and
 * CUDNN_DEFAULT_MATH and reports which one each timing was taken with; in TF32 and bf16 the
 * pass runs under that one, so that what was timed is what runs (PyTorch sets the reported
 * math type the same way). Under CUDNN_FMA_MATH it stays FMA whatever was reported: no TF32. */
static cudnnMathType_t
run_math (cudnnMathType_t asked, cudnnMathType_t reported)
{
  return asked == CUDNN_FMA_MATH ? CUDNN_FMA_MATH : reported;
}

/* cuDNN's Find runs every algorithm once on scratch buffers it allocates itself and returns
 * them fastest first (what torch.backends.cudnn.benchmark does); the heuristics of the _v7
 * queries touch no memory. PF_CUDA_CONV_HEURISTIC=1 selects the latter. */
static gboolean
use_find (void)
{
  const char *e = g_getenv ("PF_CUDA_CONV_HEURISTIC");
  return !(e && *e && *e != '0');
}

#define CHOOSE(perf_t, count, find_call, get_call, out, out_math, what) \
  G_STMT_START { \
    perf_t r[count]; \
    int got = 0; \
    if (use_find ()) \
      PF_CUDNN_TRY (find_call); \
    else \
      PF_CUDNN_TRY (get_call); \
    gboolean found = FALSE; \
    for (int i = 0; i < got && !found; i++) \
      if (algo_ok (r[i].status, r[i].memory, ctx->total_memory / 8, r[i].mathType, asked)) \
        { \
          out = r[i].algo; \
          out_math = run_math (asked, r[i].mathType); \
          found = TRUE; \
        } \
    if (!found) \
      return _pf_cuda_invalid (error, "cuDNN offers no " what " convolution algorithm for " \
                               "this shape (%d results%s%s)", got, got ? ", first: " : "", \
                               got ? cudnnGetErrorString (r[0].status) : ""); \
  } G_STMT_END

/* The three algorithms of a convolution, their math types and the workspace they need, for
 * the descriptors of the plan's mode (bf16 operands or float32). Each search starts from the
 * math type the plan asked for; each workspace is queried under the math type its pass will
 * run under (conv_math). */
static gboolean
conv_choose (PfCudaConvCore *c, gboolean bf16, GError **error)
{
  PfCudaContext *ctx = c->ctx;
  cudnnTensorDescriptor_t x_desc = bf16 ? c->xh_desc : c->x_desc;
  cudnnTensorDescriptor_t y_desc = bf16 ? c->yh_desc : c->y_desc;
  cudnnFilterDescriptor_t w_desc = bf16 ? c->wh_desc : c->w_desc;
  cudnnConvolutionDescriptor_t conv_desc = c->conv_desc;
  cudnnMathType_t asked;
  PF_CUDNN_TRY (cudnnGetConvolutionMathType (conv_desc, &asked));
  size_t ws = 0, need = 0;

  CHOOSE (cudnnConvolutionFwdAlgoPerf_t, 2 * CUDNN_CONVOLUTION_FWD_ALGO_COUNT,
          cudnnFindConvolutionForwardAlgorithm (ctx->cudnn, x_desc, w_desc, conv_desc, y_desc,
                                                2 * CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &got, r),
          cudnnGetConvolutionForwardAlgorithm_v7 (ctx->cudnn, x_desc, w_desc, conv_desc, y_desc,
                                                  2 * CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &got, r),
          c->fwd_algo, c->fwd_math, "forward");
  PF_CUDNN_TRY (cudnnSetConvolutionMathType (conv_desc, c->fwd_math));
  PF_CUDNN_TRY (cudnnGetConvolutionForwardWorkspaceSize (ctx->cudnn, x_desc, w_desc,
                conv_desc, y_desc, c->fwd_algo, &need));
  ws = MAX (ws, need);

  PF_CUDNN_TRY (cudnnSetConvolutionMathType (conv_desc, asked));
  CHOOSE (cudnnConvolutionBwdDataAlgoPerf_t, 2 * CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT,
          cudnnFindConvolutionBackwardDataAlgorithm (ctx->cudnn, w_desc, y_desc, conv_desc, x_desc,
                                                     2 * CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT,
                                                     &got, r),
          cudnnGetConvolutionBackwardDataAlgorithm_v7 (ctx->cudnn, w_desc, y_desc, conv_desc, x_desc,
                                                       2 * CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT,
                                                       &got, r),
          c->bwd_data_algo, c->bwd_data_math, "backward-data");
  PF_CUDNN_TRY (cudnnSetConvolutionMathType (conv_desc, c->bwd_data_math));
  PF_CUDNN_TRY (cudnnGetConvolutionBackwardDataWorkspaceSize (ctx->cudnn, w_desc, y_desc,
                conv_desc, x_desc, c->bwd_data_algo, &need));
  ws = MAX (ws, need);

  PF_CUDNN_TRY (cudnnSetConvolutionMathType (conv_desc, asked));
  CHOOSE (cudnnConvolutionBwdFilterAlgoPerf_t, 2 * CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT,
          cudnnFindConvolutionBackwardFilterAlgorithm (ctx->cudnn, x_desc, y_desc, conv_desc, w_desc,
                                                       2 * CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT,
                                                       &got, r),
          cudnnGetConvolutionBackwardFilterAlgorithm_v7 (ctx->cudnn, x_desc, y_desc, conv_desc, w_desc,
                                                         2 * CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT,
                                                         &got, r),
          c->bwd_filter_algo, c->bwd_filter_math, "backward-filter");
  PF_CUDNN_TRY (cudnnSetConvolutionMathType (conv_desc, c->bwd_filter_math));
  PF_CUDNN_TRY (cudnnGetConvolutionBackwardFilterWorkspaceSize (ctx->cudnn, x_desc, y_desc,
                conv_desc, w_desc, c->bwd_filter_algo, &need));
  c->workspace_bytes = MAX (ws, need);
  return TRUE;
}

/* Puts the math type of a pass on the shared descriptor before the pass runs (host only: no
 * device work, so also allowed while a graph is being captured). */
static gboolean
conv_math (const PfCudaConvCore *c, cudnnMathType_t math, GError **error)
{
  PF_CUDNN_TRY (cudnnSetConvolutionMathType (c->conv_desc, math));
  return TRUE;
}

/* ---- bf16 copies ------------------------------------------------------------------------- */
__global__ static void
to_bf16_kernel (size_t n, const float *src, __nv_bfloat16 *dst)
{
  for (size_t i = blockIdx.x * (size_t) blockDim.x + threadIdx.x; i < n;
       i += (size_t) gridDim.x * blockDim.x)
    dst[i] = __float2bfloat16_rn (src[i]);
}

/* dst = src (accumulate false) or dst += src, in float32 */
__global__ static void
from_bf16_kernel (size_t n, const __nv_bfloat16 *src, float *dst, bool accumulate)
{
  for (size_t i = blockIdx.x * (size_t) blockDim.x + threadIdx.x; i < n;
       i += (size_t) gridDim.x * blockDim.x)
    dst[i] = (accumulate ? dst[i] : 0.0f) + __bfloat162float (src[i]);
}

/* y = max(y + b[channel], 0) (b NULL: no bias): cudnnAddTensor and a ReLU launch would read
 * and write y twice */
__global__ static void
bias_relu_kernel (size_t total, int c, int hw, const float *b, float *y)
{
  const size_t planes = total / hw;
  PF_PLANE_LOOP (p, planes)
    {
      const float bc = b ? b[p % c] : 0.0f;
      float *yp = y + p * hw;
      PF_PLANE_ELEMENTS (j, (size_t) hw)
        {
          float v = yp[j] + bc;
          yp[j] = v < 0.0f ? 0.0f : v; /* NaN passes, as in relu_forward_kernel */
        }
    }
}

static gboolean
to_bf16 (PfCudaContext *ctx, size_t n, const float *src, __nv_bfloat16 *dst, GError **error)
{
  to_bf16_kernel<<<_pf_cuda_grid (ctx, n), PF_CUDA_BLOCK, 0, ctx->stream>>> (n, src, dst);
  PF_CUDA_LAUNCHED ("to_bf16_kernel");
  return TRUE;
}

static gboolean
from_bf16 (PfCudaContext *ctx, size_t n, const __nv_bfloat16 *src, float *dst, bool accumulate,
           GError **error)
{
  from_bf16_kernel<<<_pf_cuda_grid (ctx, n), PF_CUDA_BLOCK, 0, ctx->stream>>> (n, src, dst,
                                                                              accumulate);
  PF_CUDA_LAUNCHED ("from_bf16_kernel");
  return TRUE;
}

/* The bf16 workspace holds x, w, y and dw, each section 256-byte aligned (cuDNN's tensor-core
 * kernels want aligned operands). */
static size_t
bf16_section (size_t n)
{
  return (n * sizeof (__nv_bfloat16) + 255) & ~(size_t) 255;
}

typedef struct {
  __nv_bfloat16 *x, *w, *y, *dw;
} Bf16Copies;

static Bf16Copies
bf16_copies (const PfCudaConvCore *c)
{
  char *base = (char *) c->ctx->bf16_ws;
  Bf16Copies h;
  h.x = (__nv_bfloat16 *) base;
  h.w = (__nv_bfloat16 *) (base + bf16_section (c->nx));
  h.y = (__nv_bfloat16 *) (base + bf16_section (c->nx) + bf16_section (c->nw));
  h.dw = (__nv_bfloat16 *) (base + bf16_section (c->nx) + bf16_section (c->nw) + bf16_section (c->ny));
  return h;
}

/* ---- the shared plan ---------------------------------------------------------------------- */
static gboolean
set_tensor (cudnnTensorDescriptor_t *desc, cudnnDataType_t type, int nd, const int *dim,
            GError **error)
{
  PF_CUDNN_TRY (cudnnCreateTensorDescriptor (desc));
  PF_CUDNN_TRY (cudnnSetTensorNdDescriptorEx (*desc, CUDNN_TENSOR_NCHW, type, nd, dim));
  return TRUE;
}

static gboolean
set_filter (cudnnFilterDescriptor_t *desc, cudnnDataType_t type, int nd, const int *dim,
            GError **error)
{
  PF_CUDNN_TRY (cudnnCreateFilterDescriptor (desc));
  PF_CUDNN_TRY (cudnnSetFilterNdDescriptor (*desc, type, CUDNN_TENSOR_NCHW, nd, dim));
  return TRUE;
}

static size_t
elements (int nd, const int *dim)
{
  size_t n = 1;
  for (int i = 0; i < nd; i++)
    n *= (size_t) dim[i];
  return n;
}

/* "[2,3,8,8]" */
static char *
dims_str (int nd, const int *dim)
{
  GString *s = g_string_new ("[");
  for (int i = 0; i < nd; i++)
    g_string_append_printf (s, i ? ",%d" : "%d", dim[i]);
  g_string_append_c (s, ']');
  return g_string_free (s, FALSE);
}

gboolean
_pf_cuda_conv_core_init (PfCudaConvCore *c, PfCudaContext *ctx, int nsp, const int *xdim,
                         const int *wdim, const int *ydim, const int *pad, const int *stride,
                         GError **error)
{
  const int nd = nsp + 2;
  const int dilation[3] = { 1, 1, 1 };
  const gboolean bf16 = ctx->precision == PF_CUDA_PRECISION_BF16;
  c->ctx = ctx;
  c->bf16 = bf16;
  c->nx = elements (nd, xdim);
  c->nw = elements (nd, wdim);
  c->ny = elements (nd, ydim);
  c->out_c = ydim[1];
  c->out_inner = (int) (c->ny / ((size_t) ydim[0] * ydim[1]));
  if (!set_tensor (&c->x_desc, CUDNN_DATA_FLOAT, nd, xdim, error)
      || !set_filter (&c->w_desc, CUDNN_DATA_FLOAT, nd, wdim, error))
    return FALSE;
  PF_CUDNN_TRY (cudnnCreateConvolutionDescriptor (&c->conv_desc));
  /* cross-correlation, as PyTorch's ConvNd and the reference ops; float32 accumulation in
   * every mode */
  PF_CUDNN_TRY (cudnnSetConvolutionNdDescriptor (c->conv_desc, nsp, pad, stride, dilation,
                                                 CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
  PF_CUDNN_TRY (cudnnSetConvolutionMathType (c->conv_desc,
                                             ctx->precision == PF_CUDA_PRECISION_FP32 ? CUDNN_FMA_MATH
                                             : bf16 ? CUDNN_TENSOR_OP_MATH : CUDNN_DEFAULT_MATH));
  int got[5];
  PF_CUDNN_TRY (cudnnGetConvolutionNdForwardOutputDim (c->conv_desc, c->x_desc, c->w_desc, nd, got));
  if (memcmp (got, ydim, nd * sizeof (int)) != 0)
    {
      char *g = dims_str (nd, got), *e = dims_str (nd, ydim);
      _pf_cuda_invalid (error, "cuDNN output shape %s differs from the expected %s", g, e);
      g_free (g);
      g_free (e);
      return FALSE;
    }
  int bdim[5] = { 1, ydim[1], 1, 1, 1 };
  if (!set_tensor (&c->y_desc, CUDNN_DATA_FLOAT, nd, ydim, error)
      || !set_tensor (&c->b_desc, CUDNN_DATA_FLOAT, nd, bdim, error))
    return FALSE;
  if (bf16)
    {
      if (!set_tensor (&c->xh_desc, CUDNN_DATA_BFLOAT16, nd, xdim, error)
          || !set_filter (&c->wh_desc, CUDNN_DATA_BFLOAT16, nd, wdim, error)
          || !set_tensor (&c->yh_desc, CUDNN_DATA_BFLOAT16, nd, ydim, error))
        return FALSE;
      size_t need = bf16_section (c->nx) + 2 * bf16_section (c->nw) + bf16_section (c->ny);
      if (!_pf_cuda_grow (ctx, &ctx->bf16_ws, &ctx->bf16_ws_bytes, need, "bf16 convolution operands",
                          error))
        return FALSE;
    }
  if (bf16)
    {
      /* cuDNN may have no bf16 algorithm for a shape (NCHW with few channels, 5-D): that
       * convolution runs in float32 and says so, rather than the whole model failing */
      GError *no_bf16 = NULL;
      if (!conv_choose (c, TRUE, &no_bf16))
        {
          char *xs = dims_str (nd, xdim), *ws = dims_str (nd, wdim);
          g_message ("bf16: the convolution of x %s with w %s runs in float32: %s", xs, ws,
                     no_bf16->message);
          g_free (xs);
          g_free (ws);
          g_clear_error (&no_bf16);
          c->bf16 = FALSE;
          PF_CUDNN_TRY (cudnnSetConvolutionMathType (c->conv_desc, CUDNN_FMA_MATH));
        }
    }
  if (!c->bf16 && !conv_choose (c, FALSE, error))
    return FALSE;
  return c->workspace_bytes == 0
         || _pf_cuda_grow (ctx, &ctx->conv_ws, &ctx->conv_ws_bytes, c->workspace_bytes,
                           "convolution workspace", error);
}

void
_pf_cuda_conv_core_clear (PfCudaConvCore *c)
{
  if (c->conv_desc)
    cudnnDestroyConvolutionDescriptor (c->conv_desc);
  cudnnFilterDescriptor_t filters[] = { c->w_desc, c->wh_desc };
  for (size_t i = 0; i < G_N_ELEMENTS (filters); i++)
    if (filters[i])
      cudnnDestroyFilterDescriptor (filters[i]);
  cudnnTensorDescriptor_t tensors[] = { c->x_desc, c->y_desc, c->b_desc, c->xh_desc, c->yh_desc };
  for (size_t i = 0; i < G_N_ELEMENTS (tensors); i++)
    if (tensors[i])
      cudnnDestroyTensorDescriptor (tensors[i]);
  memset (c, 0, sizeof *c);
}

gboolean
_pf_cuda_conv_core_forward (PfCudaConvCore *c, const float *x, const float *w, const float *b,
                            gboolean relu, float *y, GError **error)
{
  PfCudaContext *ctx = c->ctx;
  const float one = 1.0f, zero = 0.0f;
  if (c->bf16)
    {
      Bf16Copies h = bf16_copies (c);
      if (!to_bf16 (ctx, c->nx, x, h.x, error) || !to_bf16 (ctx, c->nw, w, h.w, error))
        return FALSE;
      PF_TRY (conv_math (c, c->fwd_math, error));
      PF_CUDNN_TRY (cudnnConvolutionForward (ctx->cudnn, &one, c->xh_desc, h.x, c->wh_desc, h.w,
                                             c->conv_desc, c->fwd_algo, ctx->conv_ws,
                                             c->workspace_bytes, &zero, c->yh_desc, h.y));
      if (!from_bf16 (ctx, c->ny, h.y, y, false, error))
        return FALSE;
    }
  else
    {
      PF_TRY (conv_math (c, c->fwd_math, error));
      PF_CUDNN_TRY (cudnnConvolutionForward (ctx->cudnn, &one, c->x_desc, x, c->w_desc, w,
                                             c->conv_desc, c->fwd_algo, ctx->conv_ws,
                                             c->workspace_bytes, &zero, c->y_desc, y));
    }
  if (relu)
    {
      const size_t planes = c->ny / c->out_inner;
      bias_relu_kernel<<<_pf_cuda_plane_grid (ctx, planes, c->out_inner), PF_CUDA_BLOCK, 0,
                         ctx->stream>>> (c->ny, c->out_c, c->out_inner, b, y);
      PF_CUDA_LAUNCHED ("bias_relu_kernel");
    }
  else if (b)
    PF_CUDNN_TRY (cudnnAddTensor (ctx->cudnn, &one, c->b_desc, b, &one, c->y_desc, y));
  return TRUE;
}

/* BF16 mode: dy, x and w to bf16; the weight gradient first (it reads x's copy), then the
 * data gradient (it overwrites x's copy); both are added to the float32 gradients (dx
 * written, with set_dx). */
static gboolean
backward_bf16 (PfCudaConvCore *c, const float *x, const float *w, const float *dy, float *dx,
               gboolean set_dx, float *dw, GError **error)
{
  PfCudaContext *ctx = c->ctx;
  const float one = 1.0f, zero = 0.0f;
  if (!dx && !dw)
    return TRUE;
  Bf16Copies h = bf16_copies (c);
  if (!to_bf16 (ctx, c->ny, dy, h.y, error))
    return FALSE;
  if (dw)
    {
      if (!to_bf16 (ctx, c->nx, x, h.x, error))
        return FALSE;
      PF_TRY (conv_math (c, c->bwd_filter_math, error));
      PF_CUDNN_TRY (cudnnConvolutionBackwardFilter (ctx->cudnn, &one, c->xh_desc, h.x, c->yh_desc,
                                                    h.y, c->conv_desc, c->bwd_filter_algo,
                                                    ctx->conv_ws, c->workspace_bytes, &zero,
                                                    c->wh_desc, h.dw));
      if (!from_bf16 (ctx, c->nw, h.dw, dw, true, error))
        return FALSE;
    }
  if (dx)
    {
      if (!to_bf16 (ctx, c->nw, w, h.w, error))
        return FALSE;
      PF_TRY (conv_math (c, c->bwd_data_math, error));
      PF_CUDNN_TRY (cudnnConvolutionBackwardData (ctx->cudnn, &one, c->wh_desc, h.w, c->yh_desc,
                                                  h.y, c->conv_desc, c->bwd_data_algo,
                                                  ctx->conv_ws, c->workspace_bytes, &zero,
                                                  c->xh_desc, h.x));
      if (!from_bf16 (ctx, c->nx, h.x, dx, !set_dx, error))
        return FALSE;
    }
  return TRUE;
}

gboolean
_pf_cuda_conv_core_backward (PfCudaConvCore *c, const float *x, const float *w, const float *dy,
                             float *dx, gboolean set_dx, float *dw, float *db, GError **error)
{
  PfCudaContext *ctx = c->ctx;
  const float one = 1.0f, zero = 0.0f;
  if (c->bf16)
    {
      if (!backward_bf16 (c, x, w, dy, dx, set_dx, dw, error))
        return FALSE;
    }
  else
    {
      /* beta = 1: cuDNN adds to what the gradient buffers hold, the accumulate contract (the
       * shared front-end kernels of the 3D models rely on it: two nodes add into one dw);
       * beta = 0 writes dx without reading it (set_dx) */
      if (dx)
        {
          PF_TRY (conv_math (c, c->bwd_data_math, error));
          PF_CUDNN_TRY (cudnnConvolutionBackwardData (ctx->cudnn, &one, c->w_desc, w, c->y_desc,
                                                      dy, c->conv_desc, c->bwd_data_algo,
                                                      ctx->conv_ws, c->workspace_bytes,
                                                      set_dx ? &zero : &one, c->x_desc, dx));
        }
      if (dw)
        {
          PF_TRY (conv_math (c, c->bwd_filter_math, error));
          PF_CUDNN_TRY (cudnnConvolutionBackwardFilter (ctx->cudnn, &one, c->x_desc, x, c->y_desc,
                                                        dy, c->conv_desc, c->bwd_filter_algo,
                                                        ctx->conv_ws, c->workspace_bytes, &one,
                                                        c->w_desc, dw));
        }
    }
  if (db)
    PF_CUDNN_TRY (cudnnConvolutionBackwardBias (ctx->cudnn, &one, c->y_desc, dy, &one, c->b_desc, db));
  return TRUE;
}

/* ---- the 2-D plan -------------------------------------------------------------------------- */
PfCudaConv2dPlan *
pf_cuda_conv2d_plan_new (PfCudaContext *ctx, const PfConv2dDesc *d, GError **error)
{
  if (d->n <= 0 || d->c_in <= 0 || d->h <= 0 || d->w <= 0 || d->c_out <= 0 || d->kh <= 0
      || d->kw <= 0 || d->sh <= 0 || d->sw <= 0 || d->ph < 0 || d->pw < 0
      || pf_conv2d_out_h (d) <= 0 || pf_conv2d_out_w (d) <= 0)
    {
      _pf_cuda_invalid (error, "invalid conv2d shape: x [%d,%d,%d,%d], w [%d,%d,%d,%d], "
                        "stride %dx%d, padding %dx%d", d->n, d->c_in, d->h, d->w, d->c_out,
                        d->c_in, d->kh, d->kw, d->sh, d->sw, d->ph, d->pw);
      return NULL;
    }
  const int xdim[4] = { d->n, d->c_in, d->h, d->w };
  const int wdim[4] = { d->c_out, d->c_in, d->kh, d->kw };
  const int ydim[4] = { d->n, d->c_out, pf_conv2d_out_h (d), pf_conv2d_out_w (d) };
  const int pad[2] = { d->ph, d->pw };
  const int stride[2] = { d->sh, d->sw };
  PfCudaConv2dPlan *p = g_new0 (PfCudaConv2dPlan, 1);
  if (!_pf_cuda_conv_core_init (&p->core, ctx, 2, xdim, wdim, ydim, pad, stride, error))
    {
      pf_cuda_conv2d_plan_free (p);
      return NULL;
    }
  return p;
}

void
pf_cuda_conv2d_plan_free (PfCudaConv2dPlan *p)
{
  if (!p)
    return;
  _pf_cuda_conv_core_clear (&p->core);
  g_free (p);
}

size_t
pf_cuda_conv2d_plan_workspace (const PfCudaConv2dPlan *p)
{
  return p->core.workspace_bytes;
}

gboolean
pf_cuda_conv2d_forward (PfCudaConv2dPlan *p, const float *x, const float *w, const float *b,
                        float *y, GError **error)
{
  return _pf_cuda_conv_core_forward (&p->core, x, w, b, FALSE, y, error);
}

gboolean
pf_cuda_conv2d_forward_relu (PfCudaConv2dPlan *p, const float *x, const float *w, const float *b,
                             float *y, GError **error)
{
  return _pf_cuda_conv_core_forward (&p->core, x, w, b, TRUE, y, error);
}

gboolean
pf_cuda_conv2d_backward (PfCudaConv2dPlan *p, const float *x, const float *w, const float *dy,
                         float *dx, gboolean set_dx, float *dw, float *db, GError **error)
{
  return _pf_cuda_conv_core_backward (&p->core, x, w, dy, dx, set_dx, dw, db, error);
}
