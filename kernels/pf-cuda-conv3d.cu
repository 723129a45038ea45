/* pf-cuda-conv3d.cu — 3D convolution through cuDNN's N-d legacy convolution API.
 *
 * The twin of pf-cuda-conv.cu with 5-d NCDHW descriptors: a plan is built once per shape, its
 * three algorithms chosen as for 2-D (_pf_cuda_conv_choose: fastest trial run, no TF32 unless
 * the context allows it); one workspace serves the three passes.
 * Bias forward goes through cudnnAddTensor, bias backward through
 * cudnnConvolutionBackwardBias; the backward passes accumulate with beta = 1. */
#include "pf-cuda-private.h"
#include "pf-cuda-shape.h"

struct _PfCudaConv3dPlan {
  PfCudaContext *ctx;
  PfConv3dDesc d;
  int od, oh, ow;
  cudnnTensorDescriptor_t x_desc, y_desc, b_desc;
  cudnnFilterDescriptor_t w_desc;
  cudnnConvolutionDescriptor_t conv_desc;
  cudnnConvolutionFwdAlgo_t fwd_algo;
  cudnnConvolutionBwdDataAlgo_t bwd_data_algo;
  cudnnConvolutionBwdFilterAlgo_t bwd_filter_algo;
  size_t workspace_bytes; /* of the context's shared convolution workspace */
};

static gboolean
plan_choose (PfCudaConv3dPlan *p, GError **error)
{
  if (!_pf_cuda_conv_choose (p->ctx, p->x_desc, p->w_desc, p->conv_desc, p->y_desc, &p->fwd_algo,
                             &p->bwd_data_algo, &p->bwd_filter_algo, &p->workspace_bytes, error))
    return FALSE;
  return p->workspace_bytes == 0 || _pf_cuda_conv_workspace (p->ctx, p->workspace_bytes, error);
}

static gboolean
plan_init (PfCudaConv3dPlan *p, GError **error)
{
  const PfConv3dDesc *d = &p->d;
  PF_CUDNN_TRY (cudnnCreateTensorDescriptor (&p->x_desc));
  PF_CUDNN_TRY (cudnnCreateTensorDescriptor (&p->y_desc));
  PF_CUDNN_TRY (cudnnCreateTensorDescriptor (&p->b_desc));
  PF_CUDNN_TRY (cudnnCreateFilterDescriptor (&p->w_desc));
  PF_CUDNN_TRY (cudnnCreateConvolutionDescriptor (&p->conv_desc));

  const int xdim[5] = { d->n, d->c_in, d->d, d->h, d->w };
  const int wdim[5] = { d->c_out, d->c_in, d->kd, d->kh, d->kw };
  const int pad[3] = { d->pd, d->ph, d->pw };
  const int stride[3] = { d->sd, d->sh, d->sw };
  const int dilation[3] = { 1, 1, 1 };
  PF_CUDNN_TRY (cudnnSetTensorNdDescriptorEx (p->x_desc, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 5,
                                              xdim));
  PF_CUDNN_TRY (cudnnSetFilterNdDescriptor (p->w_desc, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, 5,
                                            wdim));
  /* cross-correlation, as PyTorch's Conv3d and pf_conv3d_forward_ref */
  PF_CUDNN_TRY (cudnnSetConvolutionNdDescriptor (p->conv_desc, 3, pad, stride, dilation,
                                                 CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
  PF_CUDNN_TRY (cudnnSetConvolutionMathType (p->conv_desc,
                                             p->ctx->tf32 ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH));
  int ydim[5];
  PF_CUDNN_TRY (cudnnGetConvolutionNdForwardOutputDim (p->conv_desc, p->x_desc, p->w_desc, 5,
                                                       ydim));
  if (ydim[0] != d->n || ydim[1] != d->c_out || ydim[2] != p->od || ydim[3] != p->oh
      || ydim[4] != p->ow)
    return _pf_cuda_invalid (error, "cuDNN 3D output shape [%d,%d,%d,%d,%d] differs from the "
                             "expected [%d,%d,%d,%d,%d]", ydim[0], ydim[1], ydim[2], ydim[3],
                             ydim[4], d->n, d->c_out, p->od, p->oh, p->ow);
  PF_CUDNN_TRY (cudnnSetTensorNdDescriptorEx (p->y_desc, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 5,
                                              ydim));
  const int bdim[5] = { 1, d->c_out, 1, 1, 1 };
  PF_CUDNN_TRY (cudnnSetTensorNdDescriptorEx (p->b_desc, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 5,
                                              bdim));
  return plan_choose (p, error);
}

PfCudaConv3dPlan *
pf_cuda_conv3d_plan_new (PfCudaContext *ctx, const PfConv3dDesc *d, GError **error)
{
  if (d->n <= 0 || d->c_in <= 0 || d->d <= 0 || d->h <= 0 || d->w <= 0 || d->c_out <= 0
      || d->kd <= 0 || d->kh <= 0 || d->kw <= 0 || d->sd <= 0 || d->sh <= 0 || d->sw <= 0
      || d->pd < 0 || d->ph < 0 || d->pw < 0 || d->d + 2 * d->pd < d->kd
      || d->h + 2 * d->ph < d->kh || d->w + 2 * d->pw < d->kw)
    {
      _pf_cuda_invalid (error, "invalid conv3d shape: x [%d,%d,%d,%d,%d], w [%d,%d,%d,%d,%d], "
                        "stride %dx%dx%d, padding %dx%dx%d", d->n, d->c_in, d->d, d->h, d->w,
                        d->c_out, d->c_in, d->kd, d->kh, d->kw, d->sd, d->sh, d->sw, d->pd, d->ph,
                        d->pw);
      return NULL;
    }
  PfCudaConv3dPlan *p = g_new0 (PfCudaConv3dPlan, 1);
  p->ctx = ctx;
  p->d = *d;
  p->od = pf_conv3d_out_d (d);
  p->oh = pf_conv3d_out_h (d);
  p->ow = pf_conv3d_out_w (d);
  if (!plan_init (p, error))
    {
      pf_cuda_conv3d_plan_free (p);
      return NULL;
    }
  return p;
}

void
pf_cuda_conv3d_plan_free (PfCudaConv3dPlan *p)
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
pf_cuda_conv3d_plan_workspace (const PfCudaConv3dPlan *p)
{
  return p->workspace_bytes;
}

gboolean
pf_cuda_conv3d_forward (PfCudaConv3dPlan *p, const float *x, const float *w, const float *b,
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
pf_cuda_conv3d_backward (PfCudaConv3dPlan *p, const float *x, const float *w, const float *dy,
                         float *dx, float *dw, float *db, GError **error)
{
  cudnnHandle_t h = p->ctx->cudnn;
  const float one = 1.0f;
  /* beta = 1: cuDNN adds to what the gradient buffers hold, the accumulate contract (the
   * shared front-end kernels of the 3D models rely on it: two nodes add into one dw) */
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
