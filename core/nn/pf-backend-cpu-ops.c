/* pf-backend-cpu-ops.c — the dispatcher both CPU backends share (pf-backend-cpu-private.h):
 * how each op's tensors map onto its function's arguments, written once. */
#include "pf-backend-cpu-private.h"
#include <string.h>

void
_pf_cpu_relu_inplace (float *y, size_t n)
{
#pragma omp parallel for simd schedule(static)
  for (size_t i = 0; i < n; i++)
    y[i] = y[i] < 0.0f ? 0.0f : y[i];
}

void
_pf_cpu_relu_mask_grad (const float *y, float *dy, size_t n)
{
#pragma omp parallel for simd schedule(static)
  for (size_t i = 0; i < n; i++)
    dy[i] = y[i] > 0.0f ? dy[i] : 0.0f;
}


bool
_pf_cpu_forward (const PfCpuOps *o, PfGraph *g, PfNode *n, bool training)
{
  PfTensor *y = pf_node_out (g, n);
  const float *x = pf_node_in (g, n, 0)->data;
  switch (n->op)
    {
    case PF_OP_RELU:
      o->relu_fwd (y->numel, x, y->data);
      break;
    case PF_OP_LEAKY_RELU:
      o->leaky_fwd (y->numel, n->d.leaky.slope, x, y->data);
      break;
    case PF_OP_SIGMOID:
      o->sigmoid_fwd (y->numel, x, y->data);
      break;
    case PF_OP_ADD:
      o->add_fwd (y->numel, x, pf_node_in (g, n, 1)->data, y->data);
      break;
    case PF_OP_DROPOUT:
      /* in training the mask is always written (all ones for p = 0) so backward can use it */
      if (training)
        o->dropout_fwd (y->numel, n->d.dropout.p, pf_graph_dropout_seed (g, n), pf_graph_dropout_step (g), x,
                        y->data, (uint8_t *) pf_t_data (g, n->saved[0]));
      else
        memcpy (y->data, x, y->numel * sizeof (float));
      break;
    case PF_OP_MAXPOOL2:
      o->maxpool_fwd (n->d.plane.nc, n->d.plane.h, n->d.plane.w, x, y->data,
                      (int32_t *) pf_t_data (g, n->saved[0]));
      break;
    case PF_OP_UPSAMPLE_NEAREST2:
      o->nearest_fwd (n->d.plane.nc, n->d.plane.h, n->d.plane.w, x, y->data);
      break;
    case PF_OP_UPSAMPLE_BILINEAR2:
      o->bilinear_fwd (n->d.plane.nc, n->d.plane.h, n->d.plane.w, x, y->data);
      break;
    case PF_OP_CONCAT:
      {
        const float *xs[PF_MAX_INPUTS];
        for (int i = 0; i < n->n_in; i++)
          xs[i] = pf_node_in (g, n, i)->data;
        o->concat_fwd (n->d.concat.n, n->d.concat.hw, n->d.concat.k, n->d.concat.c, xs, y->data);
        break;
      }
    case PF_OP_GATHER:
      o->gather_fwd (n->d.gather.n, n->d.gather.c, n->d.gather.hw, n->d.gather.k, n->d.gather.idx, x,
                     y->data);
      break;
    case PF_OP_CHANNEL_SCALE:
      o->scale_fwd (n->d.chan.n, n->d.chan.c, n->d.chan.hw, x, pf_node_in (g, n, 1)->data, y->data);
      break;
    case PF_OP_GLOBAL_AVGPOOL:
      o->gap_fwd (n->d.chan.n, n->d.chan.c, n->d.chan.hw, x, y->data);
      break;
    case PF_OP_LINEAR:
      o->linear_fwd (n->d.linear.m, n->d.linear.in, n->d.linear.out, x, pf_t_data (g, n->w),
                     pf_t_data (g, n->b), y->data);
      break;
    case PF_OP_BMM:
      o->bmm_fwd (n->d.bmm.batch, n->d.bmm.m, n->d.bmm.n, n->d.bmm.k, n->d.bmm.ta, n->d.bmm.tb, x,
                  pf_node_in (g, n, 1)->data, y->data);
      break;
    case PF_OP_SOFTMAX:
      o->softmax_fwd (n->d.softmax.rows, n->d.softmax.cols, n->d.softmax.scale, x, y->data);
      break;
    case PF_OP_PERMUTE:
      o->permute_fwd (n->d.permute.ndim, n->d.permute.shape, n->d.permute.perm, x, y->data);
      break;
    case PF_OP_LSTM:
      /* the planner lays the parameters out back to back in torch's order (pf-exec.c): the
       * first one's data is the op's flat weight buffer */
      o->lstm_fwd (&n->d.lstm.desc, x, pf_t_data (g, n->w), pf_t_data (g, n->d.lstm.h0),
                   pf_t_data (g, n->d.lstm.c0), y->data, pf_t_data (g, n->d.lstm.hn),
                   pf_t_data (g, n->d.lstm.cn), pf_t_data (g, n->saved[0]));
      break;
    default:
      return false;
    }
  return true;
}

bool
_pf_cpu_backward (const PfCpuOps *o, PfGraph *g, PfNode *n)
{
  PfTensor *y = pf_node_out (g, n);
  PfTensor *tx = pf_node_in (g, n, 0);
  const float *x = tx->data;
  float *dx = tx->grad, *dy = y->grad;
  switch (n->op)
    {
    case PF_OP_RELU:
      if (dx)
        o->relu_bwd (y->numel, y->data, dy, dx);
      break;
    case PF_OP_LEAKY_RELU:
      if (dx)
        o->leaky_bwd (y->numel, n->d.leaky.slope, x, dy, dx);
      break;
    case PF_OP_SIGMOID:
      if (dx)
        o->sigmoid_bwd (y->numel, y->data, dy, dx);
      break;
    case PF_OP_ADD:
      o->add_bwd (y->numel, dy, dx, pf_node_in (g, n, 1)->grad);
      break;
    case PF_OP_DROPOUT:
      if (dx)
        o->dropout_bwd (y->numel, n->d.dropout.p, (const uint8_t *) pf_t_data (g, n->saved[0]), dy, dx);
      break;
    case PF_OP_MAXPOOL2:
      if (dx)
        o->maxpool_bwd (n->d.plane.nc, n->d.plane.h, n->d.plane.w,
                        (const int32_t *) pf_t_data (g, n->saved[0]), dy, dx);
      break;
    case PF_OP_UPSAMPLE_NEAREST2:
      if (dx)
        o->nearest_bwd (n->d.plane.nc, n->d.plane.h, n->d.plane.w, dy, dx);
      break;
    case PF_OP_UPSAMPLE_BILINEAR2:
      if (dx)
        o->bilinear_bwd (n->d.plane.nc, n->d.plane.h, n->d.plane.w, dy, dx);
      break;
    case PF_OP_CONCAT:
      {
        float *dxs[PF_MAX_INPUTS];
        for (int i = 0; i < n->n_in; i++)
          dxs[i] = pf_node_in (g, n, i)->grad;
        o->concat_bwd (n->d.concat.n, n->d.concat.hw, n->d.concat.k, n->d.concat.c, dy, dxs);
        break;
      }
    case PF_OP_GATHER:
      if (dx)
        o->gather_bwd (n->d.gather.n, n->d.gather.c, n->d.gather.hw, n->d.gather.k, n->d.gather.idx, dy,
                       dx);
      break;
    case PF_OP_CHANNEL_SCALE:
      o->scale_bwd (n->d.chan.n, n->d.chan.c, n->d.chan.hw, x, pf_node_in (g, n, 1)->data, dy, dx,
                    pf_node_in (g, n, 1)->grad);
      break;
    case PF_OP_GLOBAL_AVGPOOL:
      if (dx)
        o->gap_bwd (n->d.chan.n, n->d.chan.c, n->d.chan.hw, dy, dx);
      break;
    case PF_OP_LINEAR:
      o->linear_bwd (n->d.linear.m, n->d.linear.in, n->d.linear.out, x, pf_t_data (g, n->w), dy, dx,
                     pf_t_grad (g, n->w), pf_t_grad (g, n->b));
      break;
    case PF_OP_BMM:
      o->bmm_bwd (n->d.bmm.batch, n->d.bmm.m, n->d.bmm.n, n->d.bmm.k, n->d.bmm.ta, n->d.bmm.tb, x,
                  pf_node_in (g, n, 1)->data, dy, dx, pf_node_in (g, n, 1)->grad);
      break;
    case PF_OP_SOFTMAX:
      if (dx)
        o->softmax_bwd (n->d.softmax.rows, n->d.softmax.cols, n->d.softmax.scale, y->data, dy, dx);
      break;
    case PF_OP_PERMUTE:
      if (dx)
        o->permute_bwd (n->d.permute.ndim, n->d.permute.shape, n->d.permute.perm, dy, dx);
      break;
    case PF_OP_LSTM:
      o->lstm_bwd (&n->d.lstm.desc, x, pf_t_data (g, n->w), dy, pf_t_grad (g, n->d.lstm.hn),
                   pf_t_grad (g, n->d.lstm.cn), dx, pf_t_grad (g, n->w), pf_t_grad (g, n->d.lstm.h0),
                   pf_t_grad (g, n->d.lstm.c0), pf_t_data (g, n->saved[0]));
      break;
    default:
      return false;
    }
  return true;
}
