/* pf-backend-fast.c — the fast CPU backend: oneDNN/direct convolution plans, BatchNorm with the
 * ReLU fused, OpenMP elementwise ops and BLAS dense ops (core/ops/pf-ops-fast.h). Ops it does
 * not list in `fast_supports` fall through to the reference backend. */
#include "pf-graph-private.h"
#include "pf-ops-fast.h"

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
      return true;
    default:
      return false;
    }
}

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
