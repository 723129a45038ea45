/* pf-backend-cuda-lstm.c — being written (see pf-backend-cuda-private.h for its ops). */
#include "pf-backend-cuda-private.h"

static bool
cuda_lstm_supports (const PfBackend *be, PfGraph *g, const PfNode *n)
{
  return false;
}

static void
cuda_lstm_forward (const PfBackend *be, PfGraph *g, PfNode *n, bool training)
{
}

static void
cuda_lstm_backward (const PfBackend *be, PfGraph *g, PfNode *n)
{
}

const PfBackend pf_backend_cuda_lstm = {
  .name = "cuda-lstm",
  .device = PF_DEVICE_CUDA,
  .supports = cuda_lstm_supports,
  .forward = cuda_lstm_forward,
  .backward = cuda_lstm_backward,
};
