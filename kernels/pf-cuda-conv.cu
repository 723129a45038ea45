/* pf-cuda-conv.cu — 2D convolution through cuDNN's legacy convolution API.
 *
 * A plan is built once per shape: descriptors and one algorithm per pass (the fastest of
 * cuDNN's trial runs, or its heuristics; see use_find). All plans of a context share one
 * workspace, grown to the largest need (they run one at a time on the context's stream).
 * Backward passes accumulate through beta = 1.
 * The legacy API is marked deprecated in cuDNN 9 but is still shipped and is what PyTorch calls;
 * moving to the graph API is a later step. */
#include "pf-cuda-private.h"


struct _PfCudaConv2dPlan {
  PfCudaContext *ctx;
  PfConv2dDesc d;
  int oh, ow;
  cudnnTensorDescriptor_t x_desc, y_desc, b_desc;
  cudnnFilterDescriptor_t w_desc;
  cudnnConvolutionDescriptor_t conv_desc;
  cudnnConvolutionFwdAlgo_t fwd_algo;
  cudnnConvolutionBwdDataAlgo_t bwd_data_algo;
  cudnnConvolutionBwdFilterAlgo_t bwd_filter_algo;
  size_t workspace_bytes; /* of the context's shared convolution workspace */
};

/* An algorithm result is usable when it ran, fits the cap and does not bring TF32 tensor
 * cores in behind our back. The cap is an eighth of the device's memory: the fastest
 * algorithms of the large layers (FFT, Winograd) need gigabytes, and all plans share one
 * workspace. */
static gboolean
algo_ok (cudnnStatus_t status, size_t memory, size_t cap, cudnnMathType_t math, gboolean tf32)
{
  if (status != CUDNN_STATUS_SUCCESS || memory > cap)
    return FALSE;
  if (!tf32 && (math == CUDNN_TENSOR_OP_MATH || math == CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION))
    return FALSE;
  return TRUE;
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

#define CHOOSE(perf_t, count, find_call, get_call, out, what) \
  G_STMT_START { \
    perf_t r[count]; \
    int got = 0; \
    if (use_find ()) \
      PF_CUDNN_TRY (find_call); \
    else \
      PF_CUDNN_TRY (get_call); \
    gboolean found = FALSE; \
    for (int i = 0; i < got && !found; i++) \
      if (algo_ok (r[i].status, r[i].memory, ctx->total_memory / 8, r[i].mathType, ctx->tf32)) \
        { \
          out = r[i].algo; \
          found = TRUE; \
        } \
    if (!found) \
      return _pf_cuda_invalid (error, "cuDNN offers no " what " convolution algorithm for " \
                               "this shape (%d results)", got); \
  } G_STMT_END

/* The three algorithms of a convolution (2-D or N-d descriptors) and the workspace they need;
 * shared by the 2-D and 3-D plans. */
gboolean
_pf_cuda_conv_choose (PfCudaContext *ctx, cudnnTensorDescriptor_t x_desc, cudnnFilterDescriptor_t w_desc,
                      cudnnConvolutionDescriptor_t conv_desc, cudnnTensorDescriptor_t y_desc,
                      cudnnConvolutionFwdAlgo_t *fwd_algo, cudnnConvolutionBwdDataAlgo_t *bwd_data_algo,
                      cudnnConvolutionBwdFilterAlgo_t *bwd_filter_algo, size_t *workspace, GError **error)
{
  size_t ws = 0, need = 0;

  CHOOSE (cudnnConvolutionFwdAlgoPerf_t, CUDNN_CONVOLUTION_FWD_ALGO_COUNT,
          cudnnFindConvolutionForwardAlgorithm (ctx->cudnn, x_desc, w_desc, conv_desc,
                                                y_desc, CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &got, r),
          cudnnGetConvolutionForwardAlgorithm_v7 (ctx->cudnn, x_desc, w_desc, conv_desc,
                                                  y_desc, CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &got, r),
          *fwd_algo, "forward");
  PF_CUDNN_TRY (cudnnGetConvolutionForwardWorkspaceSize (ctx->cudnn, x_desc, w_desc,
                conv_desc, y_desc, *fwd_algo, &need));
  ws = MAX (ws, need);

  CHOOSE (cudnnConvolutionBwdDataAlgoPerf_t, CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT,
          cudnnFindConvolutionBackwardDataAlgorithm (ctx->cudnn, w_desc, y_desc, conv_desc,
                                                     x_desc, CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT,
                                                     &got, r),
          cudnnGetConvolutionBackwardDataAlgorithm_v7 (ctx->cudnn, w_desc, y_desc, conv_desc,
                                                       x_desc, CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT,
                                                       &got, r),
          *bwd_data_algo, "backward-data");
  PF_CUDNN_TRY (cudnnGetConvolutionBackwardDataWorkspaceSize (ctx->cudnn, w_desc, y_desc,
                conv_desc, x_desc, *bwd_data_algo, &need));
  ws = MAX (ws, need);

  CHOOSE (cudnnConvolutionBwdFilterAlgoPerf_t, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT,
          cudnnFindConvolutionBackwardFilterAlgorithm (ctx->cudnn, x_desc, y_desc, conv_desc,
                                                       w_desc, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT,
                                                       &got, r),
          cudnnGetConvolutionBackwardFilterAlgorithm_v7 (ctx->cudnn, x_desc, y_desc, conv_desc,
                                                         w_desc, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT,
                                                         &got, r),
          *bwd_filter_algo, "backward-filter");
  PF_CUDNN_TRY (cudnnGetConvolutionBackwardFilterWorkspaceSize (ctx->cudnn, x_desc, y_desc,
                conv_desc, w_desc, *bwd_filter_algo, &need));
  ws = MAX (ws, need);
  *workspace = ws;
  return TRUE;
}

static gboolean
plan_choose (PfCudaConv2dPlan *p, GError **error)
{
  if (!_pf_cuda_conv_choose (p->ctx, p->x_desc, p->w_desc, p->conv_desc, p->y_desc, &p->fwd_algo,
                             &p->bwd_data_algo, &p->bwd_filter_algo, &p->workspace_bytes, error))
    return FALSE;
  return p->workspace_bytes == 0 || _pf_cuda_conv_workspace (p->ctx, p->workspace_bytes, error);
}

static gboolean
plan_init (PfCudaConv2dPlan *p, GError **error)
{
  const PfConv2dDesc *d = &p->d;
  PF_CUDNN_TRY (cudnnCreateTensorDescriptor (&p->x_desc));
  PF_CUDNN_TRY (cudnnCreateTensorDescriptor (&p->y_desc));
  PF_CUDNN_TRY (cudnnCreateTensorDescriptor (&p->b_desc));
  PF_CUDNN_TRY (cudnnCreateFilterDescriptor (&p->w_desc));
  PF_CUDNN_TRY (cudnnCreateConvolutionDescriptor (&p->conv_desc));
  PF_CUDNN_TRY (cudnnSetTensor4dDescriptor (p->x_desc, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT,
                                            d->n, d->c_in, d->h, d->w));
  PF_CUDNN_TRY (cudnnSetFilter4dDescriptor (p->w_desc, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW,
                                            d->c_out, d->c_in, d->kh, d->kw));
  /* cross-correlation, as PyTorch's Conv2d and pf_conv2d_forward_ref */
  PF_CUDNN_TRY (cudnnSetConvolution2dDescriptor (p->conv_desc, d->ph, d->pw, d->sh, d->sw, 1, 1,
                                                 CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
  PF_CUDNN_TRY (cudnnSetConvolutionMathType (p->conv_desc,
                                             p->ctx->tf32 ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH));
  int n, c, h, w;
  PF_CUDNN_TRY (cudnnGetConvolution2dForwardOutputDim (p->conv_desc, p->x_desc, p->w_desc,
                                                       &n, &c, &h, &w));
  if (n != d->n || c != d->c_out || h != p->oh || w != p->ow)
    return _pf_cuda_invalid (error, "cuDNN output shape [%d,%d,%d,%d] differs from the expected "
                             "[%d,%d,%d,%d]", n, c, h, w, d->n, d->c_out, p->oh, p->ow);
  PF_CUDNN_TRY (cudnnSetTensor4dDescriptor (p->y_desc, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT,
                                            d->n, d->c_out, p->oh, p->ow));
  PF_CUDNN_TRY (cudnnSetTensor4dDescriptor (p->b_desc, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT,
                                            1, d->c_out, 1, 1));
  return plan_choose (p, error);
}

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
  PfCudaConv2dPlan *p = g_new0 (PfCudaConv2dPlan, 1);
  p->ctx = ctx;
  p->d = *d;
  p->oh = pf_conv2d_out_h (d);
  p->ow = pf_conv2d_out_w (d);
  if (!plan_init (p, error))
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
  if (p->conv_desc)
    cudnnDestroyConvolutionDescriptor (p->conv_desc);
  if (p->w_desc)
    cudnnDestroyFilterDescriptor (p->w_desc);
  if (p->b_desc)
    cudnnDestroyTensorDescriptor (p->b_desc);
  if (p->y_desc)
    cudnnDestroyTensorDescriptor (p->y_desc);
  if (p->x_desc)
    cudnnDestroyTensorDescriptor (p->x_desc);
  g_free (p);
}

size_t
pf_cuda_conv2d_plan_workspace (const PfCudaConv2dPlan *p)
{
  return p->workspace_bytes;
}

gboolean
pf_cuda_conv2d_forward (PfCudaConv2dPlan *p, const float *x, const float *w, const float *b,
                        float *y, GError **error)
{
  cudnnHandle_t h = p->ctx->cudnn;
  const float one = 1.0f, zero = 0.0f;
  PF_CUDNN_TRY (cudnnConvolutionForward (h, &one, p->x_desc, x, p->w_desc, w, p->conv_desc,
                                         p->fwd_algo, p->ctx->conv_ws, p->workspace_bytes,
                                         &zero, p->y_desc, y));
  if (b)
    PF_CUDNN_TRY (cudnnAddTensor (h, &one, p->b_desc, b, &one, p->y_desc, y));
  return TRUE;
}

gboolean
pf_cuda_conv2d_backward (PfCudaConv2dPlan *p, const float *x, const float *w, const float *dy,
                         float *dx, float *dw, float *db, GError **error)
{
  cudnnHandle_t h = p->ctx->cudnn;
  const float one = 1.0f;
  /* beta = 1: cuDNN adds to what the gradient buffers hold, the accumulate contract */
  if (dx)
    PF_CUDNN_TRY (cudnnConvolutionBackwardData (h, &one, p->w_desc, w, p->y_desc, dy,
                                                p->conv_desc, p->bwd_data_algo, p->ctx->conv_ws,
                                                p->workspace_bytes, &one, p->x_desc, dx));
  if (dw)
    PF_CUDNN_TRY (cudnnConvolutionBackwardFilter (h, &one, p->x_desc, x, p->y_desc, dy,
                                                  p->conv_desc, p->bwd_filter_algo, p->ctx->conv_ws,
                                                  p->workspace_bytes, &one, p->w_desc, dw));
  if (db)
    PF_CUDNN_TRY (cudnnConvolutionBackwardBias (h, &one, p->y_desc, dy, &one, p->b_desc, db));
  return TRUE;
}

void *
_pf_cuda_conv_workspace (PfCudaContext *ctx, size_t bytes, GError **error)
{
  if (bytes <= ctx->conv_ws_bytes)
    return ctx->conv_ws;
  if (ctx->conv_ws)
    {
      /* a recorded graph may still point into it: retired, freed with the context */
      if (!ctx->retired)
        ctx->retired = g_ptr_array_new ();
      g_ptr_array_add (ctx->retired, ctx->conv_ws);
      ctx->conv_ws = NULL;
      ctx->conv_ws_bytes = 0;
    }
  if (!_pf_cuda_check (cudaMalloc (&ctx->conv_ws, bytes), "cudaMalloc (convolution workspace)", error))
    {
      ctx->conv_ws = NULL;
      return NULL;
    }
  ctx->conv_ws_bytes = bytes;
  return ctx->conv_ws;
}
