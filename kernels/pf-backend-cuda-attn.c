/* pf-backend-cuda-attn.c — the squeeze-and-excitation and attention ops of PF_DEVICE_CUDA:
 * global average pooling, channel scale, bmm (cuBLAS), softmax and permute, over the API of
 * pf-cuda-attn.h. Tensors map onto the calls exactly as in the CPU dispatcher
 * (pf-backend-cpu-ops.c); reshape needs nothing (the planner makes it a view and skips it).
 *
 * The row attention's bmm -> softmax -> bmm runs as one fused op where it can (AttnPart).
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

/* ---- the row attention fused: scores bmm -> softmax -> output bmm ----------------------- */
/* A node's part in a fused attention (n->plan): the output bmm runs the whole of it, forward
 * and backward, with pf_cuda_attention_*; the scores bmm and the softmax run nothing. The
 * softmax's output P is still written (backward reads it); the scores and the gradients of
 * the scores and of P are not, which is why nothing else may read them. */
typedef struct {
  gboolean head;        /* the output bmm */
  const PfNode *scores; /* the head's scores bmm and softmax */
  const PfNode *softmax;
} AttnPart;

static gboolean
plain_node (const PfBackend *be, PfGraph *g, const PfNode *n)
{
  return !n->skip && !n->relu_after && be->supports (be, g, n);
}

/* The output bmm of the attention softmax(scale Q K^T) V that n is a node of, when the fused
 * kernels can run it: Q K^T read by the softmax alone and P by the output bmm alone, neither
 * the graph's output, Q, K and V three distinct tensors (their gradients are written by one
 * kernel), and a shape pf_cuda_attention_fits. Else NULL; always NULL with
 * PF_CUDA_UNFUSED_ATTENTION=1 in the environment (to compare the two on a GPU). */
static const PfNode *
fused_attention (const PfBackend *be, PfGraph *g, const PfNode *n, const PfNode **scores,
                 const PfNode **softmax)
{
  if (g_strcmp0 (g_getenv ("PF_CUDA_UNFUSED_ATTENTION"), "1") == 0)
    return NULL;
  const PfNode *out = n;
  if (n->op == PF_OP_BMM && !n->d.bmm.ta && n->d.bmm.tb)
    n = pf_graph_sole_reader (g, n->out);
  if (n && n->op == PF_OP_SOFTMAX)
    out = pf_graph_sole_reader (g, n->out);
  if (!out || out->op != PF_OP_BMM || out->d.bmm.ta || out->d.bmm.tb)
    return NULL;
  const PfNode *sm = pf_graph_producer (g, out->in[0]);
  if (!sm || sm->op != PF_OP_SOFTMAX)
    return NULL;
  const PfNode *sc = pf_graph_producer (g, sm->in[0]);
  if (!sc || sc->op != PF_OP_BMM || sc->d.bmm.ta || !sc->d.bmm.tb)
    return NULL;
  int batch = sc->d.bmm.batch, len = sc->d.bmm.m, dim = sc->d.bmm.k;
  int q = sc->in[0], k = sc->in[1], v = out->in[1], out_id = pf_graph_output_id (g);
  if (sc->d.bmm.n != len || out->d.bmm.batch != batch || out->d.bmm.m != len
      || out->d.bmm.k != len || out->d.bmm.n != dim || sm->d.softmax.cols != len
      || sm->d.softmax.rows != batch * len)
    return NULL;
  if (pf_graph_sole_reader (g, sc->out) != sm || pf_graph_sole_reader (g, sm->out) != out
      || sc->out == out_id || sm->out == out_id || q == k || q == v || k == v)
    return NULL;
  if (!plain_node (be, g, sc) || !plain_node (be, g, sm) || !plain_node (be, g, out)
      || !pf_cuda_attention_fits (pf_backend_cuda_context (), len, dim))
    return NULL;
  *scores = sc;
  *softmax = sm;
  return out;
}

static gboolean
cuda_attn_prepare (const PfBackend *be, PfGraph *g, PfNode *n, GError **error)
{
  const PfNode *scores, *softmax, *out;
  if ((n->op != PF_OP_BMM && n->op != PF_OP_SOFTMAX)
      || !(out = fused_attention (be, g, n, &scores, &softmax)))
    return TRUE;
  AttnPart *part = g_new0 (AttnPart, 1);
  part->head = out == n;
  part->scores = scores;
  part->softmax = softmax;
  n->plan = part;
  return TRUE;
}

static void
cuda_attn_release (const PfBackend *be, PfNode *n)
{
  g_free (n->plan);
  n->plan = NULL;
}

static void
attention_forward (PfGraph *g, PfNode *out, const AttnPart *part)
{
  GError *e = NULL;
  const PfNode *sc = part->scores;
  if (!pf_cuda_attention_forward (pf_backend_cuda_context (), sc->d.bmm.batch, sc->d.bmm.m,
                                  sc->d.bmm.k, part->softmax->d.softmax.scale,
                                  pf_node_in (g, sc, 0)->data, pf_node_in (g, sc, 1)->data,
                                  pf_node_in (g, out, 1)->data, pf_node_out (g, part->softmax)->data,
                                  pf_node_out (g, out)->data, &e))
    pf_backend_cuda_record_node (out, "forward", e);
}

static void
attention_backward (PfGraph *g, PfNode *out, const AttnPart *part)
{
  GError *e = NULL;
  const PfNode *sc = part->scores;
  PfTensor *q = pf_node_in (g, sc, 0), *k = pf_node_in (g, sc, 1), *v = pf_node_in (g, out, 1);
  if (!pf_cuda_attention_backward (pf_backend_cuda_context (), sc->d.bmm.batch, sc->d.bmm.m,
                                   sc->d.bmm.k, part->softmax->d.softmax.scale, q->data, k->data,
                                   v->data, pf_node_out (g, part->softmax)->data,
                                   pf_node_out (g, out)->grad, q->grad, k->grad, v->grad, &e))
    pf_backend_cuda_record_node (out, "backward", e);
}

/* ---- one op per node -------------------------------------------------------------------- */
static void
cuda_attn_forward (const PfBackend *be, PfGraph *g, PfNode *n, bool training)
{
  const AttnPart *part = n->plan;
  if (part)
    {
      if (part->head)
        attention_forward (g, n, part);
      return;
    }
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
  const AttnPart *part = n->plan;
  if (part)
    {
      if (part->head)
        attention_backward (g, n, part);
      return;
    }
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
                                       dy, dx, n->set_dx, &e);
        break;
      default:
        g_assert_not_reached ();
      }
  if (!ok)
    pf_backend_cuda_record_node (n, "backward", e);
}

/* PfBackend.can_set_dx: permute writes dx without reading it when asked. In a fused attention
 * the gradients of the scores (the softmax's input) and of P (the output bmm's input 0) are
 * neither written nor read, so they need no zeroing either; Q's (the scores bmm's input 0) is
 * added to by the fused backward and keeps it. */
static bool
cuda_attn_can_set_dx (const PfBackend *be, PfGraph *g, const PfNode *n)
{
  const PfNode *scores, *softmax;
  if (n->op == PF_OP_PERMUTE)
    return true;
  const PfNode *out = fused_attention (be, g, n, &scores, &softmax);
  return out && (n == softmax || n == out);
}

gboolean
pf_backend_cuda_node_fused (const PfNode *n)
{
  return n->backend == &pf_backend_cuda_attn && n->plan != NULL;
}

const PfBackend pf_backend_cuda_attn = {
  .name = "cuda-attn",
  .device = PF_DEVICE_CUDA,
  .supports = cuda_attn_supports,
  .prepare = cuda_attn_prepare,
  .forward = cuda_attn_forward,
  .backward = cuda_attn_backward,
  .release = cuda_attn_release,
  .can_set_dx = cuda_attn_can_set_dx,
};
