/* pf-test-cuda-graph.h — what the tests of whole graphs on PF_DEVICE_CUDA share: the backend's
 * error check, sparse calorimeter-like inputs, copies from the device, and CPU state (weights,
 * buffers, Adam moments) put on the GPU graph so both start equal. Include inside
 * #ifdef PF_HAVE_CUDA. */
#pragma once
#include <glib.h>
#include "pf-backend.h"
#include "pf-backend-cuda.h"
#include "pf-graph.h"
#include "pf-rng.h"

/* Fails the test when the backend recorded an error (or a kernel raised one). */
#define NO_GPU_ERROR() \
  G_STMT_START { \
    GError *_e = NULL; \
    if (!pf_backend_cuda_take_error (&_e)) \
      g_error ("CUDA backend error: %s", _e->message); \
  } G_STMT_END

/* Sparse non-negative images in [0, 1], like normalised calorimeter read-outs. */
static inline void
pf_test_fill_sparse (float *v, size_t n, uint64_t seed, uint32_t stream)
{
  for (size_t i = 0; i < n; i++)
    {
      philox4x32_ctr_t r = pf_rng_block (seed, stream, (uint32_t) i, 0, 0);
      v[i] = pf_rng_u01 (r.v[0]) < 0.3f ? pf_rng_u01 (r.v[1]) : 0.0f;
    }
}

/* A new host copy of n floats of device memory. */
static inline float *
pf_test_download (const float *dev, size_t n)
{
  float *h = g_new (float, MAX (n, 1));
  pf_memory_for (PF_DEVICE_CUDA)->download (h, dev, n * sizeof (float));
  NO_GPU_ERROR ();
  return h;
}

/* The CPU graph's parameters and buffers (and with adam, its Adam moments) copied to the GPU
 * graph of the same build. */
static inline void
pf_test_upload_state (PfGraph *cpu, PfGraph *gpu, gboolean adam)
{
  const PfMemory *m = pf_memory_for (PF_DEVICE_CUDA);
  for (int i = 0; i < pf_graph_n_tensors (cpu); i++)
    {
      PfTensor *tc = pf_graph_tensor (cpu, i), *tg = pf_graph_tensor (gpu, i);
      if (tc->kind == PF_TENSOR_PARAM || tc->kind == PF_TENSOR_BUFFER)
        m->upload (tg->data, tc->data, tc->numel * sizeof (float));
    }
  if (adam)
    {
      size_t n = pf_graph_param_floats (cpu);
      m->upload (pf_graph_adam_m (gpu), pf_graph_adam_m (cpu), n * sizeof (float));
      m->upload (pf_graph_adam_v (gpu), pf_graph_adam_v (cpu), n * sizeof (float));
    }
  NO_GPU_ERROR ();
}
