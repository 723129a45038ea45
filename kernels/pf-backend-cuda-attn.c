/* pf-backend-cuda-attn.c — being written (see pf-backend-cuda-private.h for its ops). */
#include "pf-backend-cuda-private.h"

static bool
cuda_attn_supports (const PfBackend *be, PfGraph *g, const PfNode *n)
{
  return false;
}

static void
cuda_attn_forward (const PfBackend *be, PfGraph *g, PfNode *n, bool training)
{
}

static void
cuda_attn_backward (const PfBackend *be, PfGraph *g, PfNode *n)
{
}

const PfBackend pf_backend_cuda_attn = {
  .name = "cuda-attn",
  .device = PF_DEVICE_CUDA,
  .supports = cuda_attn_supports,
  .forward = cuda_attn_forward,
  .backward = cuda_attn_backward,
};
