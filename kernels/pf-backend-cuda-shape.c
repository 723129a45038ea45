/* pf-backend-cuda-shape.c — the PF_DEVICE_CUDA backend for Conv3d (a cuDNN plan per node,
 * made in prepare and freed in release) and the layout ops of pf-cuda-shape.h: LeakyReLU,
 * dropout, 2x2 max pooling, x2 up-sampling, channel concat and gather.
 *
 * Tensors map onto the ops exactly as in the CPU dispatcher (pf-backend-cpu-ops.c): the
 * max-pooling argmax is int32 and the dropout mask one byte per element, both kept in the
 * node's saved tensor; the dropout seed and step are derived as there, so the GPU draws the
 * CPU's mask. Forward overwrites, backward accumulates, a fused ReLU is applied after forward
 * and masks dy before backward; errors are recorded with pf_backend_cuda_record_node. */
#include <string.h>
#include "pf-backend-cuda-private.h"
#include "pf-cuda-shape.h"

static bool
cuda_shape_supports (const PfBackend *be, PfGraph *g, const PfNode *n)
{
  switch (n->op)
    {
    case PF_OP_CONV3D:
    case PF_OP_LEAKY_RELU:
    case PF_OP_DROPOUT:
    case PF_OP_MAXPOOL2:
    case PF_OP_UPSAMPLE_NEAREST2:
    case PF_OP_UPSAMPLE_BILINEAR2:
    case PF_OP_CONCAT:
    case PF_OP_GATHER:
      return true;
    default:
      return false;
    }
}

static PfCudaContext *
context_or_error (GError **error)
{
  PfCudaContext *ctx = pf_backend_cuda_context ();
  if (!ctx)
    g_set_error_literal (error, PF_CUDA_ERROR, PF_CUDA_ERROR_NO_DEVICE,
                         "the CUDA backend has no context (pf_backend_cuda_register not called "
                         "or failed)");
  return ctx;
}

static gboolean
cuda_shape_prepare (const PfBackend *be, PfGraph *g, PfNode *n, GError **error)
{
  if (n->op != PF_OP_CONV3D)
    return TRUE;
  PfCudaContext *ctx = context_or_error (error);
  if (!ctx)
    return FALSE;
  n->plan = pf_cuda_conv3d_plan_new (ctx, &n->d.conv3d, error);
  return n->plan != NULL;
}

static void
cuda_shape_release (const PfBackend *be, PfNode *n)
{
  if (n->op == PF_OP_CONV3D && n->plan)
    pf_cuda_conv3d_plan_free (n->plan);
  n->plan = NULL;
}

static void
cuda_shape_forward (const PfBackend *be, PfGraph *g, PfNode *n, bool training)
{
  GError *e = NULL;
  PfCudaContext *ctx = context_or_error (&e);
  if (!ctx)
    {
      pf_backend_cuda_record_node (n, "forward", e);
      return;
    }
  PfTensor *y = pf_node_out (g, n);
  const float *x = pf_node_in (g, n, 0)->data;
  gboolean ok = FALSE;
  switch (n->op)
    {
    case PF_OP_CONV3D:
      ok = pf_cuda_conv3d_forward (n->plan, x, pf_t_data (g, n->w), pf_t_data (g, n->b), y->data, &e);
      break;
    case PF_OP_LEAKY_RELU:
      ok = pf_cuda_leaky_relu_forward (ctx, y->numel, n->d.leaky.slope, x, y->data, &e);
      break;
    case PF_OP_DROPOUT:
      /* in training the mask is always written (all ones for p = 0) so backward can use it */
      if (training)
        ok = pf_cuda_dropout_forward (ctx, y->numel, n->d.dropout.p, pf_graph_dropout_seed (g, n),
                                      pf_graph_dropout_step (g), x, y->data,
                                      (uint8_t *) pf_t_data (g, n->saved[0]), &e);
      else
        ok = pf_cuda_copy_device (ctx, y->data, x, y->numel * sizeof (float), &e);
      break;
    case PF_OP_MAXPOOL2:
      ok = pf_cuda_maxpool2x2_forward (ctx, n->d.plane.nc, n->d.plane.h, n->d.plane.w, x, y->data,
                                       (int32_t *) pf_t_data (g, n->saved[0]), &e);
      break;
    case PF_OP_UPSAMPLE_NEAREST2:
      ok = pf_cuda_upsample_nearest2x_forward (ctx, n->d.plane.nc, n->d.plane.h, n->d.plane.w, x,
                                               y->data, &e);
      break;
    case PF_OP_UPSAMPLE_BILINEAR2:
      ok = pf_cuda_upsample_bilinear2x_forward (ctx, n->d.plane.nc, n->d.plane.h, n->d.plane.w, x,
                                                y->data, &e);
      break;
    case PF_OP_CONCAT:
      {
        const float *xs[PF_MAX_INPUTS];
        for (int i = 0; i < n->n_in; i++)
          xs[i] = pf_node_in (g, n, i)->data;
        ok = pf_cuda_concat_forward (ctx, n->d.concat.n, n->d.concat.hw, n->d.concat.k,
                                     n->d.concat.c, xs, y->data, &e);
        break;
      }
    case PF_OP_GATHER:
      ok = pf_cuda_channel_gather_forward (ctx, n->d.gather.n, n->d.gather.c, n->d.gather.hw,
                                           n->d.gather.k, n->d.gather.idx, x, y->data, &e);
      break;
    default:
      g_assert_not_reached (); /* cuda_shape_supports said no */
    }
  if (ok && n->relu_after)
    ok = pf_cuda_relu_forward (ctx, y->numel, y->data, y->data, &e);
  if (!ok)
    pf_backend_cuda_record_node (n, "forward", e);
}

static void
cuda_shape_backward (const PfBackend *be, PfGraph *g, PfNode *n)
{
  GError *e = NULL;
  PfCudaContext *ctx = context_or_error (&e);
  if (!ctx)
    {
      pf_backend_cuda_record_node (n, "backward", e);
      return;
    }
  PfTensor *y = pf_node_out (g, n);
  PfTensor *tx = pf_node_in (g, n, 0);
  const float *x = tx->data;
  float *dx = tx->grad, *dy = y->grad;
  gboolean ok = TRUE;
  if (n->relu_after)
    ok = pf_cuda_relu_mask (ctx, y->numel, y->data, dy, &e);
  if (ok)
    switch (n->op)
      {
      case PF_OP_CONV3D:
        ok = pf_cuda_conv3d_backward (n->plan, x, pf_t_data (g, n->w), dy, dx, pf_t_grad (g, n->w),
                                      pf_t_grad (g, n->b), &e);
        break;
      case PF_OP_LEAKY_RELU:
        ok = pf_cuda_leaky_relu_backward (ctx, y->numel, n->d.leaky.slope, x, dy, dx, &e);
        break;
      case PF_OP_DROPOUT:
        ok = pf_cuda_dropout_backward (ctx, y->numel, n->d.dropout.p,
                                       (const uint8_t *) pf_t_data (g, n->saved[0]), dy, dx, &e);
        break;
      case PF_OP_MAXPOOL2:
        ok = pf_cuda_maxpool2x2_backward (ctx, n->d.plane.nc, n->d.plane.h, n->d.plane.w,
                                          (const int32_t *) pf_t_data (g, n->saved[0]), dy, dx, &e);
        break;
      case PF_OP_UPSAMPLE_NEAREST2:
        ok = pf_cuda_upsample_nearest2x_backward (ctx, n->d.plane.nc, n->d.plane.h, n->d.plane.w,
                                                  dy, dx, &e);
        break;
      case PF_OP_UPSAMPLE_BILINEAR2:
        ok = pf_cuda_upsample_bilinear2x_backward (ctx, n->d.plane.nc, n->d.plane.h, n->d.plane.w,
                                                   dy, dx, &e);
        break;
      case PF_OP_CONCAT:
        {
          float *dxs[PF_MAX_INPUTS];
          for (int i = 0; i < n->n_in; i++)
            dxs[i] = pf_node_in (g, n, i)->grad;
          ok = pf_cuda_concat_backward (ctx, n->d.concat.n, n->d.concat.hw, n->d.concat.k,
                                        n->d.concat.c, dy, dxs, &e);
          break;
        }
      case PF_OP_GATHER:
        ok = pf_cuda_channel_gather_backward (ctx, n->d.gather.n, n->d.gather.c, n->d.gather.hw,
                                              n->d.gather.k, n->d.gather.idx, dy, dx, &e);
        break;
      default:
        g_assert_not_reached ();
      }
  if (!ok)
    pf_backend_cuda_record_node (n, "backward", e);
}

const PfBackend pf_backend_cuda_shape = {
  .name = "cuda-shape",
  .device = PF_DEVICE_CUDA,
  .supports = cuda_shape_supports,
  .prepare = cuda_shape_prepare,
  .forward = cuda_shape_forward,
  .backward = cuda_shape_backward,
  .release = cuda_shape_release,
};
