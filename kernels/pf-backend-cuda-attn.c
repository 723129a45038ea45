/* pf-backend-cuda-attn.c — the squeeze-and-excitation and attention ops of PF_DEVICE_CUDA:
 * global average pooling, channel scale, bmm (cuBLAS), softmax and permute, over the API of
 * pf-cuda-attn.h. Tensors map onto the calls exactly as in the CPU dispatcher
 * (pf-backend-cpu-ops.c); reshape needs nothing (the planner makes it a view and skips it).
 *
 * Forward overwrites, backward accumulates; a ReLU fused into a node (relu_after, which the
 * planner sets on conv/BN/linear only today) is still honoured, as in pf-backend-cuda.c.
 * Failures are recorded with pf_backend_cuda_record_node and reported by the next loss. */
#include "pf-backend-cuda-private.h"
#include "pf-cuda-attn.h"

static bool
cuda_attn_supports (const PfBackend *be, PfGraph *g, const PfNode *n)
{
  switch (n->op)
    {
    case PF_OP_GLOBAL_AVGPOOL:
    case PF_OP_CHANNEL_SCALE:
    case PF_OP_BMM:
    case PF_OP_SOFTMAX:
    case PF_OP_PERMUTE:
      return true;
    default:
      return false;
    }
}

static void
cuda_attn_forward (const PfBackend *be, PfGraph *g, PfNode *n, bool training)
{
  PfCudaContext *ctx = pf_backend_cuda_context ();
  PfTensor *y = pf_node_out (g, n);
  const float *x = pf_node_in (g, n, 0)->data;
  GError *e = NULL;
  gboolean ok = FALSE;
  switch (n->op)
    {
    case PF_OP_GLOBAL_AVGPOOL:
      ok = pf_cuda_global_avgpool_forward (ctx, n->d.chan.n, n->d.chan.c, n->d.chan.hw, x, y->data, &e);
      break;
    case PF_OP_CHANNEL_SCALE:
      ok = pf_cuda_channel_scale_forward (ctx, n->d.chan.n, n->d.chan.c, n->d.chan.hw, x,
                                          pf_node_in (g, n, 1)->data, y->data, &e);
      break;
    case PF_OP_BMM:
      ok = pf_cuda_bmm_forward (ctx, n->d.bmm.batch, n->d.bmm.m, n->d.bmm.n, n->d.bmm.k, n->d.bmm.ta,
                                n->d.bmm.tb, x, pf_node_in (g, n, 1)->data, y->data, &e);
      break;
    case PF_OP_SOFTMAX:
      ok = pf_cuda_softmax_forward (ctx, n->d.softmax.rows, n->d.softmax.cols, n->d.softmax.scale, x,
                                    y->data, &e);
      break;
    case PF_OP_PERMUTE:
      ok = pf_cuda_permute_forward (ctx, n->d.permute.ndim, n->d.permute.shape, n->d.permute.perm, x,
                                    y->data, &e);
      break;
    default:
      g_assert_not_reached (); /* cuda_attn_supports said no */
    }
  if (ok && n->relu_after)
    ok = pf_cuda_relu_forward (ctx, y->numel, y->data, y->data, &e);
  if (!ok)
    pf_backend_cuda_record_node (n, "forward", e);
}

static void
cuda_attn_backward (const PfBackend *be, PfGraph *g, PfNode *n)
{
  PfCudaContext *ctx = pf_backend_cuda_context ();
  PfTensor *y = pf_node_out (g, n);
  PfTensor *tx = pf_node_in (g, n, 0);
  const float *x = tx->data;
  float *dx = tx->grad, *dy = y->grad;
  GError *e = NULL;
  gboolean ok = TRUE;
  if (n->relu_after)
    ok = pf_cuda_relu_mask (ctx, y->numel, y->data, dy, &e);
  if (ok)
    switch (n->op)
      {
      case PF_OP_GLOBAL_AVGPOOL:
        ok = pf_cuda_global_avgpool_backward (ctx, n->d.chan.n, n->d.chan.c, n->d.chan.hw, dy, dx, &e);
        break;
      case PF_OP_CHANNEL_SCALE:
        ok = pf_cuda_channel_scale_backward (ctx, n->d.chan.n, n->d.chan.c, n->d.chan.hw, x,
                                             pf_node_in (g, n, 1)->data, dy, dx,
                                             pf_node_in (g, n, 1)->grad, &e);
        break;
      case PF_OP_BMM:
        ok = pf_cuda_bmm_backward (ctx, n->d.bmm.batch, n->d.bmm.m, n->d.bmm.n, n->d.bmm.k,
                                   n->d.bmm.ta, n->d.bmm.tb, x, pf_node_in (g, n, 1)->data, dy, dx,
                                   pf_node_in (g, n, 1)->grad, &e);
        break;
      case PF_OP_SOFTMAX:
        ok = pf_cuda_softmax_backward (ctx, n->d.softmax.rows, n->d.softmax.cols, n->d.softmax.scale,
                                       y->data, dy, dx, &e);
        break;
      case PF_OP_PERMUTE:
        ok = pf_cuda_permute_backward (ctx, n->d.permute.ndim, n->d.permute.shape, n->d.permute.perm,
                                       dy, dx, &e);
        break;
      default:
        g_assert_not_reached ();
      }
  if (!ok)
    pf_backend_cuda_record_node (n, "backward", e);
}

const PfBackend pf_backend_cuda_attn = {
  .name = "cuda-attn",
  .device = PF_DEVICE_CUDA,
  .supports = cuda_attn_supports,
  .forward = cuda_attn_forward,
  .backward = cuda_attn_backward,
};
