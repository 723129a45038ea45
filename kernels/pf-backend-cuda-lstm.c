/* pf-backend-cuda-lstm.c — PF_OP_LSTM on PF_DEVICE_CUDA (kernels/pf-cuda-lstm.h).
 *
 * The node reads the same tensors as on the CPU (pf-backend-cpu-ops.c): x = in[0], the flat
 * parameter buffer starting at n->w (the planner lays the 4L parameters back to back in torch's
 * order), h0/c0/hn/cn from n->d.lstm, and the workspace saved[0] of pf_lstm_workspace_size ()
 * floats, so a graph plans identically on both devices. The GPU lays that workspace out like
 * the fast CPU op (batch-major); only this backend's backward reads what its forward wrote,
 * and one backend runs both passes of a node.
 *
 * No per-node device memory: the saved workspace already holds the backward scratch (da, dseq,
 * dh, dc), so prepare only checks the shape against cuBLAS's int limits and the workspace size,
 * and nothing is allocated in a step. Errors inside the void callbacks are recorded with
 * pf_backend_cuda_record_node and reported by the next loss or pf_backend_cuda_take_error. */
#include "pf-backend-cuda-private.h"
#include "pf-cuda-lstm.h"
#include "pf-error.h"

static bool
cuda_lstm_supports (const PfBackend *be, PfGraph *g, const PfNode *n)
{
  /* the planner never fuses a ReLU into an LSTM; refuse rather than ignore one */
  return n->op == PF_OP_LSTM && !n->relu_after;
}

static gboolean
cuda_lstm_prepare (const PfBackend *be, PfGraph *g, PfNode *n, GError **error)
{
  if (!pf_backend_cuda_context ())
    {
      g_set_error (error, PF_CUDA_ERROR, PF_CUDA_ERROR_NO_DEVICE,
                   "the CUDA backend has no context (pf_backend_cuda_register was not called)");
      return FALSE;
    }
  const PfLstmDesc *d = &n->d.lstm.desc;
  if (!pf_cuda_lstm_check (d, error))
    return FALSE;
  PfTensor *ws = pf_node_t (g, n->saved[0]);
  if (!ws || ws->numel < pf_lstm_workspace_size (d))
    {
      g_set_error (error, PF_ERROR, PF_ERROR_SHAPE, "LSTM workspace holds %zu floats, needs %zu",
                   ws ? ws->numel : 0, pf_lstm_workspace_size (d));
      return FALSE;
    }
  return TRUE;
}

static PfCudaContext *
context_or_record (const PfNode *n, const char *pass)
{
  PfCudaContext *ctx = pf_backend_cuda_context ();
  if (!ctx)
    pf_backend_cuda_record_node (n, pass,
                                 g_error_new_literal (PF_CUDA_ERROR, PF_CUDA_ERROR_NO_DEVICE,
                                                      "the CUDA backend has no context"));
  return ctx;
}

static void
cuda_lstm_forward (const PfBackend *be, PfGraph *g, PfNode *n, bool training)
{
  /* training and inference run the same: the workspace is written either way, as on the CPU */
  PfCudaContext *ctx = context_or_record (n, "forward");
  if (!ctx)
    return;
  GError *e = NULL;
  if (!pf_cuda_lstm_forward (ctx, &n->d.lstm.desc, pf_node_in (g, n, 0)->data, pf_t_data (g, n->w),
                             pf_t_data (g, n->d.lstm.h0), pf_t_data (g, n->d.lstm.c0),
                             pf_node_out (g, n)->data, pf_t_data (g, n->d.lstm.hn),
                             pf_t_data (g, n->d.lstm.cn), pf_t_data (g, n->saved[0]), &e))
    pf_backend_cuda_record_node (n, "forward", e);
}

static void
cuda_lstm_backward (const PfBackend *be, PfGraph *g, PfNode *n)
{
  PfCudaContext *ctx = context_or_record (n, "backward");
  if (!ctx)
    return;
  PfTensor *tx = pf_node_in (g, n, 0);
  GError *e = NULL;
  if (!pf_cuda_lstm_backward (ctx, &n->d.lstm.desc, tx->data, pf_t_data (g, n->w),
                              pf_node_out (g, n)->grad, pf_t_grad (g, n->d.lstm.hn),
                              pf_t_grad (g, n->d.lstm.cn), tx->grad, pf_t_grad (g, n->w),
                              pf_t_grad (g, n->d.lstm.h0), pf_t_grad (g, n->d.lstm.c0),
                              pf_t_data (g, n->saved[0]), &e))
    pf_backend_cuda_record_node (n, "backward", e);
}

const PfBackend pf_backend_cuda_lstm = {
  .name = "cuda-lstm",
  .device = PF_DEVICE_CUDA,
  .supports = cuda_lstm_supports,
  .prepare = cuda_lstm_prepare,
  .forward = cuda_lstm_forward,
  .backward = cuda_lstm_backward,
};
