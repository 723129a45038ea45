/* pf-backend-cuda-shape.c — being written (see pf-backend-cuda-private.h for its ops). */
#include "pf-backend-cuda-private.h"

static bool
cuda_shape_supports (const PfBackend *be, PfGraph *g, const PfNode *n)
{
  return false;
}

static void
cuda_shape_forward (const PfBackend *be, PfGraph *g, PfNode *n, bool training)
{
}

static void
cuda_shape_backward (const PfBackend *be, PfGraph *g, PfNode *n)
{
}

const PfBackend pf_backend_cuda_shape = {
  .name = "cuda-shape",
  .device = PF_DEVICE_CUDA,
  .supports = cuda_shape_supports,
  .forward = cuda_shape_forward,
  .backward = cuda_shape_backward,
};
