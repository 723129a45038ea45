/* pf-backend-fast.c — the fast CPU backend: oneDNN/direct convolution plans, BatchNorm with the
 * ReLU fused, OpenMP elementwise, layout and resampling ops, BLAS dense ops and the BLAS LSTM
 * (core/ops/pf-ops-fast.h). Ops it does not list in `fast_supports` fall through to the
 * reference backend. */
#include "pf-graph-private.h"
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

/* ---- LSTM ---------------------------------------------------------------------------------- */
/* The op reads its parameters as one flat buffer in torch's order; the planner lays them out
 * back to back (pf-exec.c), so the first one's data and gradient are those buffers. The workspace (saved[0])
 * has the reference's size; the fast LSTM lays it out its own way, which only its own backward
 * reads. */
static void
lstm_forward (PfGraph *g, PfNode *n)
{
  pf_lstm_forward_fast (&n->d.lstm.desc, pf_node_in (g, n, 0)->data, pf_t_data (g, n->w),
                       pf_t_data (g, n->d.lstm.h0), pf_t_data (g, n->d.lstm.c0),
                       pf_node_out (g, n)->data, pf_t_data (g, n->d.lstm.hn),
                       pf_t_data (g, n->d.lstm.cn), pf_t_data (g, n->saved[0]));
}

static void
lstm_backward (PfGraph *g, PfNode *n)
{
  pf_lstm_backward_fast (&n->d.lstm.desc, pf_node_in (g, n, 0)->data, pf_t_data (g, n->w),
                        pf_node_out (g, n)->grad, pf_t_grad (g, n->d.lstm.hn),
                        pf_t_grad (g, n->d.lstm.cn), pf_node_in (g, n, 0)->grad, pf_t_grad (g, n->w),
                        pf_t_grad (g, n->d.lstm.h0), pf_t_grad (g, n->d.lstm.c0),
                        pf_t_data (g, n->saved[0]));
}

/* ---- the backend -------------------------------------------------------------------------- */
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
relu_inplace (float *y, size_t n)
{
#pragma omp parallel for simd schedule(static)
  for (size_t i = 0; i < n; i++)
    y[i] = y[i] < 0.0f ? 0.0f : y[i]; /* NaN passes through, as in PyTorch */
}

static void
relu_mask_grad (const float *y, float *dy, size_t n)
{
#pragma omp parallel for simd schedule(static)
  for (size_t i = 0; i < n; i++)
    dy[i] = y[i] > 0.0f ? dy[i] : 0.0f;
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
    case PF_OP_RELU:
      pf_relu_forward_fast (y->numel, x, y->data);
      break;
    case PF_OP_LEAKY_RELU:
      pf_leaky_relu_forward_fast (y->numel, n->d.leaky.slope, x, y->data);
      break;
    case PF_OP_SIGMOID:
      pf_sigmoid_forward_fast (y->numel, x, y->data);
      break;
    case PF_OP_ADD:
      pf_add_forward_fast (y->numel, x, pf_node_in (g, n, 1)->data, y->data);
      break;
    case PF_OP_LINEAR:
      pf_linear_forward_fast (n->d.linear.m, n->d.linear.in, n->d.linear.out, x, pf_t_data (g, n->w),
                              pf_t_data (g, n->b), y->data);
      break;
    case PF_OP_BMM:
      pf_bmm_forward_fast (n->d.bmm.batch, n->d.bmm.m, n->d.bmm.n, n->d.bmm.k, n->d.bmm.ta, n->d.bmm.tb,
                           x, pf_node_in (g, n, 1)->data, y->data);
      break;
    case PF_OP_SOFTMAX:
      pf_softmax_forward_fast (n->d.softmax.rows, n->d.softmax.cols, n->d.softmax.scale, x, y->data);
      break;
    case PF_OP_DROPOUT:
      /* the reference's seed and step: the same mask whichever backend runs the node */
      if (training)
        pf_dropout_forward_fast (y->numel, n->d.dropout.p, g->opts.seed * 1000003u + n->d.dropout.seed,
                                 _pf_graph_dropout_step (g), x, y->data,
                                 (uint8_t *) pf_t_data (g, n->saved[0]));
      else
        memcpy (y->data, x, y->numel * sizeof (float));
      break;
    case PF_OP_MAXPOOL2:
      pf_maxpool2x2_forward_fast (n->d.plane.nc, n->d.plane.h, n->d.plane.w, x, y->data,
                                  (int32_t *) pf_t_data (g, n->saved[0]));
      break;
    case PF_OP_UPSAMPLE_NEAREST2:
      pf_upsample_nearest2x_forward_fast (n->d.plane.nc, n->d.plane.h, n->d.plane.w, x, y->data);
      break;
    case PF_OP_UPSAMPLE_BILINEAR2:
      pf_upsample_bilinear2x_forward_fast (n->d.plane.nc, n->d.plane.h, n->d.plane.w, x, y->data);
      break;
    case PF_OP_CONCAT:
      {
        const float *xs[PF_MAX_INPUTS];
        for (int i = 0; i < n->n_in; i++)
          xs[i] = pf_node_in (g, n, i)->data;
        pf_concat_forward_fast (n->d.concat.n, n->d.concat.hw, n->d.concat.k, n->d.concat.c, xs, y->data);
        break;
      }
    case PF_OP_GATHER:
      pf_channel_gather_forward_fast (n->d.gather.n, n->d.gather.c, n->d.gather.hw, n->d.gather.k,
                                      n->d.gather.idx, x, y->data);
      break;
    case PF_OP_CHANNEL_SCALE:
      pf_channel_scale_forward_fast (n->d.chan.n, n->d.chan.c, n->d.chan.hw, x,
                                     pf_node_in (g, n, 1)->data, y->data);
      break;
    case PF_OP_GLOBAL_AVGPOOL:
      pf_global_avgpool_forward_fast (n->d.chan.n, n->d.chan.c, n->d.chan.hw, x, y->data);
      break;
    case PF_OP_PERMUTE:
      pf_permute_forward_fast (n->d.permute.ndim, n->d.permute.shape, n->d.permute.perm, x, y->data);
      break;
    case PF_OP_LSTM:
      lstm_forward (g, n);
      break;
    default:
      g_assert_not_reached ();
    }
  if (n->relu_after && !relu_done)
    relu_inplace (y->data, y->numel);
}

static void
fast_backward (const PfBackend *be, PfGraph *g, PfNode *n)
{
  PfTensor *y = pf_node_out (g, n);
  PfTensor *tx = pf_node_in (g, n, 0);
  const float *x = tx->data;
  float *dx = tx->grad, *dy = y->grad;
  if (n->relu_after && n->op != PF_OP_BATCHNORM)
    relu_mask_grad (y->data, dy, y->numel);
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
    case PF_OP_RELU:
      if (dx)
        pf_relu_backward_fast (y->numel, y->data, dy, dx);
      break;
    case PF_OP_LEAKY_RELU:
      if (dx)
        pf_leaky_relu_backward_fast (y->numel, n->d.leaky.slope, x, dy, dx);
      break;
    case PF_OP_SIGMOID:
      if (dx)
        pf_sigmoid_backward_fast (y->numel, y->data, dy, dx);
      break;
    case PF_OP_ADD:
      pf_add_backward_fast (y->numel, dy, dx, pf_node_in (g, n, 1)->grad);
      break;
    case PF_OP_LINEAR:
      pf_linear_backward_fast (n->d.linear.m, n->d.linear.in, n->d.linear.out, x, pf_t_data (g, n->w), dy,
                               dx, pf_t_grad (g, n->w), pf_t_grad (g, n->b));
      break;
    case PF_OP_BMM:
      pf_bmm_backward_fast (n->d.bmm.batch, n->d.bmm.m, n->d.bmm.n, n->d.bmm.k, n->d.bmm.ta, n->d.bmm.tb,
                            x, pf_node_in (g, n, 1)->data, dy, dx, pf_node_in (g, n, 1)->grad);
      break;
    case PF_OP_SOFTMAX:
      pf_softmax_backward_fast (n->d.softmax.rows, n->d.softmax.cols, n->d.softmax.scale, y->data, dy, dx);
      break;
    case PF_OP_DROPOUT:
      pf_dropout_backward_fast (y->numel, n->d.dropout.p, (const uint8_t *) pf_t_data (g, n->saved[0]),
                                dy, dx);
      break;
    case PF_OP_MAXPOOL2:
      pf_maxpool2x2_backward_fast (n->d.plane.nc, n->d.plane.h, n->d.plane.w,
                                   (const int32_t *) pf_t_data (g, n->saved[0]), dy, dx);
      break;
    case PF_OP_UPSAMPLE_NEAREST2:
      pf_upsample_nearest2x_backward_fast (n->d.plane.nc, n->d.plane.h, n->d.plane.w, dy, dx);
      break;
    case PF_OP_UPSAMPLE_BILINEAR2:
      pf_upsample_bilinear2x_backward_fast (n->d.plane.nc, n->d.plane.h, n->d.plane.w, dy, dx);
      break;
    case PF_OP_CONCAT:
      {
        float *dxs[PF_MAX_INPUTS];
        for (int i = 0; i < n->n_in; i++)
          dxs[i] = pf_node_in (g, n, i)->grad;
        pf_concat_backward_fast (n->d.concat.n, n->d.concat.hw, n->d.concat.k, n->d.concat.c, dy, dxs);
        break;
      }
    case PF_OP_GATHER:
      pf_channel_gather_backward_fast (n->d.gather.n, n->d.gather.c, n->d.gather.hw, n->d.gather.k,
                                       n->d.gather.idx, dy, dx);
      break;
    case PF_OP_CHANNEL_SCALE:
      pf_channel_scale_backward_fast (n->d.chan.n, n->d.chan.c, n->d.chan.hw, x,
                                      pf_node_in (g, n, 1)->data, dy, dx, pf_node_in (g, n, 1)->grad);
      break;
    case PF_OP_GLOBAL_AVGPOOL:
      pf_global_avgpool_backward_fast (n->d.chan.n, n->d.chan.c, n->d.chan.hw, dy, dx);
      break;
    case PF_OP_PERMUTE:
      pf_permute_backward_fast (n->d.permute.ndim, n->d.permute.shape, n->d.permute.perm, dy, dx);
      break;
    case PF_OP_LSTM:
      lstm_backward (g, n);
      break;
    default:
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
