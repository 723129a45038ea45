/* pf-backend-fast.c — the fast CPU backend: oneDNN/direct convolution plans, BatchNorm with the
 * ReLU fused, OpenMP elementwise, layout and resampling ops, BLAS dense ops and the BLAS LSTM
 * (core/ops/pf-ops-fast.h). Ops it does not list in `fast_supports` fall through to the
 * reference backend. */
#include "pf-backend-cpu-private.h"
#include "pf-error.h"
#include "pf-ops-fast.h"
#include <string.h>

static bool
fast_supports (const PfBackend *be, PfGraph *g, const PfNode *n)
{
  switch (n->op)
    {
    case PF_OP_CONV2D:
    case PF_OP_CONV3D:
    case PF_OP_BATCHNORM:
    case PF_OP_RELU:
    case PF_OP_LEAKY_RELU:
    case PF_OP_SIGMOID:
    case PF_OP_ADD:
    case PF_OP_LINEAR:
    case PF_OP_BMM:
    case PF_OP_SOFTMAX:
    case PF_OP_DROPOUT:
    case PF_OP_MAXPOOL2:
    case PF_OP_UPSAMPLE_NEAREST2:
    case PF_OP_UPSAMPLE_BILINEAR2:
    case PF_OP_CONCAT:
    case PF_OP_GATHER:
    case PF_OP_CHANNEL_SCALE:
    case PF_OP_GLOBAL_AVGPOOL:
    case PF_OP_PERMUTE:
    case PF_OP_LSTM:
      return true;
    default:
      return false;
    }
}

static const PfCpuOps fast_ops = {
  pf_relu_forward_fast, pf_relu_backward_fast, pf_leaky_relu_forward_fast,
  pf_leaky_relu_backward_fast, pf_sigmoid_forward_fast, pf_sigmoid_backward_fast,
  pf_add_forward_fast, pf_add_backward_fast, pf_dropout_forward_fast, pf_dropout_backward_fast,
  pf_maxpool2x2_forward_fast, pf_maxpool2x2_backward_fast, pf_upsample_nearest2x_forward_fast,
  pf_upsample_nearest2x_backward_fast, pf_upsample_bilinear2x_forward_fast,
  pf_upsample_bilinear2x_backward_fast, pf_concat_forward_fast, pf_concat_backward_fast,
  pf_channel_gather_forward_fast, pf_channel_gather_backward_fast, pf_channel_scale_forward_fast,
  pf_channel_scale_backward_fast, pf_global_avgpool_forward_fast, pf_global_avgpool_backward_fast,
  pf_linear_forward_fast, pf_linear_backward_fast, pf_bmm_forward_fast, pf_bmm_backward_fast,
  pf_softmax_forward_fast, pf_softmax_backward_fast, pf_permute_forward_fast,
  pf_permute_backward_fast,
  /* the fast LSTM lays out its workspace (saved[0], the reference's size) its own way, which
   * only its own backward reads: one backend runs both passes of a node */
  pf_lstm_forward_fast, pf_lstm_backward_fast,
};

static gboolean
fast_prepare (const PfBackend *be, PfGraph *g, PfNode *n, GError **error)
{
  if (n->op == PF_OP_CONV2D)
    n->plan = pf_conv2d_fast_new (&n->d.conv2d, n->b >= 0, error);
  else if (n->op == PF_OP_CONV3D)
    n->plan = pf_conv3d_fast_new (&n->d.conv3d, n->b >= 0, error);
  else
    return TRUE;
  return n->plan != NULL;
}

static void
fast_release (const PfBackend *be, PfNode *n)
{
  if (n->op == PF_OP_CONV2D && n->plan)
    pf_conv2d_fast_free (n->plan);
  else if (n->op == PF_OP_CONV3D && n->plan)
    pf_conv3d_fast_free (n->plan);
  n->plan = NULL;
}

static void
fast_forward (const PfBackend *be, PfGraph *g, PfNode *n, bool training)
{
  PfTensor *y = pf_node_out (g, n);
  const float *x = pf_node_in (g, n, 0)->data;
  bool relu_done = false;
  switch (n->op)
    {
    case PF_OP_CONV2D:
      pf_conv2d_fast_forward (n->plan, x, pf_t_data (g, n->w), pf_t_data (g, n->b), y->data);
      break;
    case PF_OP_CONV3D:
      pf_conv3d_fast_forward (n->plan, x, pf_t_data (g, n->w), pf_t_data (g, n->b), y->data);
      break;
    case PF_OP_BATCHNORM:
      if (training)
        pf_batchnorm_forward_train_fast (&n->d.bn, n->relu_after, x, pf_t_data (g, n->w),
                                         pf_t_data (g, n->b), y->data, pf_t_data (g, n->buf[0]),
                                         pf_t_data (g, n->buf[1]), pf_t_data (g, n->saved[0]),
                                         pf_t_data (g, n->saved[1]));
      else
        pf_batchnorm_forward_infer_fast (&n->d.bn, n->relu_after, x, pf_t_data (g, n->w),
                                         pf_t_data (g, n->b), pf_t_data (g, n->buf[0]),
                                         pf_t_data (g, n->buf[1]), y->data);
      relu_done = true;
      break;
    default:
      if (!_pf_cpu_forward (&fast_ops, g, n, training))
        g_assert_not_reached ();
    }
  if (n->relu_after && !relu_done)
    _pf_cpu_relu_inplace (y->data, y->numel);
}

static void
fast_backward (const PfBackend *be, PfGraph *g, PfNode *n)
{
  PfTensor *y = pf_node_out (g, n);
  PfTensor *tx = pf_node_in (g, n, 0);
  const float *x = tx->data;
  float *dx = tx->grad, *dy = y->grad;
  if (n->relu_after && n->op != PF_OP_BATCHNORM)
    _pf_cpu_relu_mask_grad (y->data, dy, y->numel);
  switch (n->op)
    {
    case PF_OP_CONV2D:
      pf_conv2d_fast_backward (n->plan, x, pf_t_data (g, n->w), dy, dx, pf_t_grad (g, n->w),
                               pf_t_grad (g, n->b));
      break;
    case PF_OP_CONV3D:
      pf_conv3d_fast_backward (n->plan, x, pf_t_data (g, n->w), dy, dx, pf_t_grad (g, n->w),
                               pf_t_grad (g, n->b));
      break;
    case PF_OP_BATCHNORM:
      pf_batchnorm_backward_fast (&n->d.bn, n->relu_after ? y->data : NULL, x, pf_t_data (g, n->w),
                                  pf_t_data (g, n->saved[0]), pf_t_data (g, n->saved[1]), dy, dx,
                                  pf_t_grad (g, n->w), pf_t_grad (g, n->b));
      break;
    default:
      if (!_pf_cpu_backward (&fast_ops, g, n))
        g_assert_not_reached ();
    }
}

const PfBackend pf_backend_cpu_fast = {
  .name = "cpu-fast",
  .device = PF_DEVICE_CPU,
  .supports = fast_supports,
  .prepare = fast_prepare,
  .forward = fast_forward,
  .backward = fast_backward,
  .release = fast_release,
};
