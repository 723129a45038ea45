/* pf-backend-cpu.c — the CPU backends: the reference (plain loops of core/ops, every op) and
 * the fast path (oneDNN convolutions, OpenMP BatchNorm with fused ReLU, BLAS dense ops), which
 * takes the ops it speeds up and leaves the rest to the reference. */
#include "pf-graph-private.h"
#include "pf-error.h"
#include <stdlib.h>
#include <string.h>

/* ---- memory ------------------------------------------------------------------------------ */
static void *
cpu_alloc (size_t bytes, GError **error)
{
  void *p = NULL;
  if (posix_memalign (&p, 64, bytes) != 0)
    {
      g_set_error (error, PF_ERROR, PF_ERROR_IO, "cannot allocate %.1f MB", bytes / 1e6);
      return NULL;
    }
  return p;
}

static void cpu_free (void *p) { free (p); }
static void cpu_zero (void *p, size_t bytes) { memset (p, 0, bytes); }
static void cpu_copy (void *dst, const void *src, size_t bytes) { memcpy (dst, src, bytes); }

static gboolean
cpu_loss (const PfLossDesc *d, const float *pred, const float *target, float *dpred, float *ws,
          double *value, PfLossParts *parts, GError **error)
{
  *value = pf_loss_forward_parts (d, pred, target, dpred, ws, parts);
  return TRUE;
}

const PfMemory pf_memory_cpu = {
  .name = "cpu",
  .alloc = cpu_alloc,
  .free = cpu_free,
  .zero = cpu_zero,
  .upload = cpu_copy,
  .download = cpu_copy,
  .loss = cpu_loss,
  .adam = pf_adam_step,
};

/* ---- shared pieces -------------------------------------------------------------------------- */
/* A fused ReLU: applied in place after the op; its gradient masks dy before the op's backward. */
static void
relu_inplace (float *y, size_t n)
{
  for (size_t i = 0; i < n; i++)
    y[i] = y[i] < 0.0f ? 0.0f : y[i]; /* NaN passes through, as in PyTorch */
}

static void
relu_mask_grad (const float *y, float *dy, size_t n)
{
  for (size_t i = 0; i < n; i++)
    dy[i] = y[i] > 0.0f ? dy[i] : 0.0f;
}

/* ---- LSTM ---------------------------------------------------------------------------------- */
/* The op reads its parameters as one flat buffer in torch's order; the planner lays them out
 * back to back (pf-exec.c), so the first one's data and gradient are those buffers. */
static void
lstm_forward (PfGraph *g, PfNode *n)
{
  pf_lstm_forward_ref (&n->d.lstm.desc, pf_node_in (g, n, 0)->data, pf_t_data (g, n->w),
                       pf_t_data (g, n->d.lstm.h0), pf_t_data (g, n->d.lstm.c0),
                       pf_node_out (g, n)->data, pf_t_data (g, n->d.lstm.hn),
                       pf_t_data (g, n->d.lstm.cn), pf_t_data (g, n->saved[0]));
}

static void
lstm_backward (PfGraph *g, PfNode *n)
{
  pf_lstm_backward_ref (&n->d.lstm.desc, pf_node_in (g, n, 0)->data, pf_t_data (g, n->w),
                        pf_node_out (g, n)->grad, pf_t_grad (g, n->d.lstm.hn),
                        pf_t_grad (g, n->d.lstm.cn), pf_node_in (g, n, 0)->grad, pf_t_grad (g, n->w),
                        pf_t_grad (g, n->d.lstm.h0), pf_t_grad (g, n->d.lstm.c0),
                        pf_t_data (g, n->saved[0]));
}

/* ---- reference backend -------------------------------------------------------------------- */
static bool
ref_supports (const PfBackend *be, PfGraph *g, const PfNode *n)
{
  return n->op != PF_OP_RESHAPE; /* reshape is a view, never run */
}

static void
ref_forward (const PfBackend *be, PfGraph *g, PfNode *n, bool training)
{
  PfTensor *y = pf_node_out (g, n);
  const float *x = pf_node_in (g, n, 0)->data;
  switch (n->op)
    {
    case PF_OP_CONV2D:
      pf_conv2d_forward_ref (&n->d.conv2d, x, pf_t_data (g, n->w), pf_t_data (g, n->b), y->data);
      break;
    case PF_OP_CONV3D:
      pf_conv3d_forward_ref (&n->d.conv3d, x, pf_t_data (g, n->w), pf_t_data (g, n->b), y->data);
      break;
    case PF_OP_BATCHNORM:
      if (training)
        pf_batchnorm_forward_train_ref (&n->d.bn, x, pf_t_data (g, n->w), pf_t_data (g, n->b), y->data,
                                        pf_t_data (g, n->buf[0]), pf_t_data (g, n->buf[1]),
                                        pf_t_data (g, n->saved[0]), pf_t_data (g, n->saved[1]));
      else
        pf_batchnorm_forward_infer_ref (&n->d.bn, x, pf_t_data (g, n->w), pf_t_data (g, n->b),
                                        pf_t_data (g, n->buf[0]), pf_t_data (g, n->buf[1]), y->data);
      break;
    case PF_OP_RELU:
      pf_relu_forward_ref (y->numel, x, y->data);
      break;
    case PF_OP_LEAKY_RELU:
      pf_leaky_relu_forward_ref (y->numel, n->d.leaky.slope, x, y->data);
      break;
    case PF_OP_SIGMOID:
      pf_sigmoid_forward_ref (y->numel, x, y->data);
      break;
    case PF_OP_ADD:
      pf_add_forward_ref (y->numel, x, pf_node_in (g, n, 1)->data, y->data);
      break;
    case PF_OP_DROPOUT:
      /* in training the mask is always written (all ones for p = 0) so backward can use it */
      if (training)
        pf_dropout_forward_ref (y->numel, n->d.dropout.p, g->opts.seed * 1000003u + n->d.dropout.seed,
                                _pf_graph_dropout_step (g), x, y->data,
                                (uint8_t *) pf_t_data (g, n->saved[0]));
      else
        memcpy (y->data, x, y->numel * sizeof (float));
      break;
    case PF_OP_MAXPOOL2:
      pf_maxpool2x2_forward_ref (n->d.plane.nc, n->d.plane.h, n->d.plane.w, x, y->data,
                                 (int32_t *) pf_t_data (g, n->saved[0]));
      break;
    case PF_OP_UPSAMPLE_NEAREST2:
      pf_upsample_nearest2x_forward_ref (n->d.plane.nc, n->d.plane.h, n->d.plane.w, x, y->data);
      break;
    case PF_OP_UPSAMPLE_BILINEAR2:
      pf_upsample_bilinear2x_forward_ref (n->d.plane.nc, n->d.plane.h, n->d.plane.w, x, y->data);
      break;
    case PF_OP_CONCAT:
      {
        const float *xs[PF_MAX_INPUTS];
        for (int i = 0; i < n->n_in; i++)
          xs[i] = pf_node_in (g, n, i)->data;
        pf_concat_forward_ref (n->d.concat.n, n->d.concat.hw, n->d.concat.k, n->d.concat.c, xs, y->data);
        break;
      }
    case PF_OP_GATHER:
      pf_channel_gather_forward_ref (n->d.gather.n, n->d.gather.c, n->d.gather.hw, n->d.gather.k,
                                     n->d.gather.idx, x, y->data);
      break;
    case PF_OP_CHANNEL_SCALE:
      pf_channel_scale_forward_ref (n->d.chan.n, n->d.chan.c, n->d.chan.hw, x, pf_node_in (g, n, 1)->data,
                                    y->data);
      break;
    case PF_OP_GLOBAL_AVGPOOL:
      pf_global_avgpool_forward_ref (n->d.chan.n, n->d.chan.c, n->d.chan.hw, x, y->data);
      break;
    case PF_OP_LINEAR:
      pf_linear_forward_ref (n->d.linear.m, n->d.linear.in, n->d.linear.out, x, pf_t_data (g, n->w),
                             pf_t_data (g, n->b), y->data);
      break;
    case PF_OP_BMM:
      pf_bmm_forward_ref (n->d.bmm.batch, n->d.bmm.m, n->d.bmm.n, n->d.bmm.k, n->d.bmm.ta, n->d.bmm.tb,
                          x, pf_node_in (g, n, 1)->data, y->data);
      break;
    case PF_OP_SOFTMAX:
      pf_softmax_forward_ref (n->d.softmax.rows, n->d.softmax.cols, n->d.softmax.scale, x, y->data);
      break;
    case PF_OP_PERMUTE:
      pf_permute_forward_ref (n->d.permute.ndim, n->d.permute.shape, n->d.permute.perm, x, y->data);
      break;
    case PF_OP_LSTM:
      lstm_forward (g, n);
      break;
    case PF_OP_RESHAPE:
    case PF_OP_COUNT:
      break;
    }
  if (n->relu_after)
    relu_inplace (y->data, y->numel);
}

static void
ref_backward (const PfBackend *be, PfGraph *g, PfNode *n)
{
  PfTensor *y = pf_node_out (g, n);
  PfTensor *tx = pf_node_in (g, n, 0);
  const float *x = tx->data;
  float *dx = tx->grad;
  float *dy = y->grad;
  if (n->relu_after)
    relu_mask_grad (y->data, dy, y->numel);
  switch (n->op)
    {
    case PF_OP_CONV2D:
      pf_conv2d_backward_ref (&n->d.conv2d, x, pf_t_data (g, n->w), dy, dx, pf_t_grad (g, n->w),
                              pf_t_grad (g, n->b));
      break;
    case PF_OP_CONV3D:
      pf_conv3d_backward_ref (&n->d.conv3d, x, pf_t_data (g, n->w), dy, dx, pf_t_grad (g, n->w),
                              pf_t_grad (g, n->b));
      break;
    case PF_OP_BATCHNORM:
      pf_batchnorm_backward_ref (&n->d.bn, x, pf_t_data (g, n->w), pf_t_data (g, n->saved[0]),
                                 pf_t_data (g, n->saved[1]), dy, dx, pf_t_grad (g, n->w),
                                 pf_t_grad (g, n->b));
      break;
    case PF_OP_RELU:
      if (dx)
        pf_relu_backward_ref (y->numel, y->data, dy, dx);
      break;
    case PF_OP_LEAKY_RELU:
      if (dx)
        pf_leaky_relu_backward_ref (y->numel, n->d.leaky.slope, x, dy, dx);
      break;
    case PF_OP_SIGMOID:
      if (dx)
        pf_sigmoid_backward_ref (y->numel, y->data, dy, dx);
      break;
    case PF_OP_ADD:
      pf_add_backward_ref (y->numel, dy, dx, pf_node_in (g, n, 1)->grad);
      break;
    case PF_OP_DROPOUT:
      if (dx)
        pf_dropout_backward_ref (y->numel, n->d.dropout.p, (const uint8_t *) pf_t_data (g, n->saved[0]),
                                 dy, dx);
      break;
    case PF_OP_MAXPOOL2:
      if (dx)
        pf_maxpool2x2_backward_ref (n->d.plane.nc, n->d.plane.h, n->d.plane.w,
                                    (const int32_t *) pf_t_data (g, n->saved[0]), dy, dx);
      break;
    case PF_OP_UPSAMPLE_NEAREST2:
      if (dx)
        pf_upsample_nearest2x_backward_ref (n->d.plane.nc, n->d.plane.h, n->d.plane.w, dy, dx);
      break;
    case PF_OP_UPSAMPLE_BILINEAR2:
      if (dx)
        pf_upsample_bilinear2x_backward_ref (n->d.plane.nc, n->d.plane.h, n->d.plane.w, dy, dx);
      break;
    case PF_OP_CONCAT:
      {
        float *dxs[PF_MAX_INPUTS];
        for (int i = 0; i < n->n_in; i++)
          dxs[i] = pf_node_in (g, n, i)->grad;
        pf_concat_backward_ref (n->d.concat.n, n->d.concat.hw, n->d.concat.k, n->d.concat.c, dy, dxs);
        break;
      }
    case PF_OP_GATHER:
      if (dx)
        pf_channel_gather_backward_ref (n->d.gather.n, n->d.gather.c, n->d.gather.hw, n->d.gather.k,
                                        n->d.gather.idx, dy, dx);
      break;
    case PF_OP_CHANNEL_SCALE:
      pf_channel_scale_backward_ref (n->d.chan.n, n->d.chan.c, n->d.chan.hw, x, pf_node_in (g, n, 1)->data,
                                     dy, dx, pf_node_in (g, n, 1)->grad);
      break;
    case PF_OP_GLOBAL_AVGPOOL:
      if (dx)
        pf_global_avgpool_backward_ref (n->d.chan.n, n->d.chan.c, n->d.chan.hw, dy, dx);
      break;
    case PF_OP_LINEAR:
      pf_linear_backward_ref (n->d.linear.m, n->d.linear.in, n->d.linear.out, x, pf_t_data (g, n->w), dy,
                              dx, pf_t_grad (g, n->w), pf_t_grad (g, n->b));
      break;
    case PF_OP_BMM:
      pf_bmm_backward_ref (n->d.bmm.batch, n->d.bmm.m, n->d.bmm.n, n->d.bmm.k, n->d.bmm.ta, n->d.bmm.tb,
                           x, pf_node_in (g, n, 1)->data, dy, dx, pf_node_in (g, n, 1)->grad);
      break;
    case PF_OP_SOFTMAX:
      if (dx)
        pf_softmax_backward_ref (n->d.softmax.rows, n->d.softmax.cols, n->d.softmax.scale, y->data, dy, dx);
      break;
    case PF_OP_PERMUTE:
      if (dx)
        pf_permute_backward_ref (n->d.permute.ndim, n->d.permute.shape, n->d.permute.perm, dy, dx);
      break;
    case PF_OP_LSTM:
      lstm_backward (g, n);
      break;
    case PF_OP_RESHAPE:
    case PF_OP_COUNT:
      break;
    }
}

const PfBackend pf_backend_cpu_ref = {
  .name = "cpu-ref",
  .device = PF_DEVICE_CPU,
  .supports = ref_supports,
  .forward = ref_forward,
  .backward = ref_backward,
};

/* ---- device tables ---------------------------------------------------------------------------- */
static const PfBackend *const cpu_fast_list[] = { &pf_backend_cpu_fast, &pf_backend_cpu_ref, NULL };
static const PfBackend *const cpu_ref_list[] = { &pf_backend_cpu_ref, NULL };

static const PfBackend *const *cuda_list;
static const PfMemory *cuda_mem;

void
pf_backend_register (PfDevice device, const PfBackend *const *list, const PfMemory *mem)
{
  g_return_if_fail (device == PF_DEVICE_CUDA);
  cuda_list = list;
  cuda_mem = mem;
}

const PfBackend *const *
pf_backends_for (PfDevice device, bool reference_only)
{
  if (device == PF_DEVICE_CPU)
    return reference_only ? cpu_ref_list : cpu_fast_list;
  return cuda_list;
}

const PfMemory *
pf_memory_for (PfDevice device)
{
  return device == PF_DEVICE_CPU ? &pf_memory_cpu : cuda_mem;
}
