/* pf-backend-cuda.h — the CUDA device behind the engine's backend interface (pf-backend.h).
 *
 * pf_backend_cuda_register creates the process-wide CUDA context (device 0) and registers the
 * backend and memory of PF_DEVICE_CUDA; graphs planned with that device then run on the GPU.
 * Every op of the CPU backends runs there (pf-backend-cuda-private.h says which file runs
 * which); so do every loss of pf-loss.h, Adam, and the recording of training steps as CUDA
 * graphs (PfMemory's capture hooks).
 *
 * The backend callbacks of forward, backward, zero, upload, download and Adam return nothing,
 * so a CUDA error raised there is kept (the first one, naming the layer) and reported by the
 * next device loss (pf_train_step_run / _eval fail with it) or by pf_backend_cuda_take_error.
 * Call the latter after work that ends without a loss (an inference forward, a download, the
 * last Adam update). */
#pragma once
#include <glib.h>
#include "pf-cuda.h"
#include "pf-graph.h"

G_BEGIN_DECLS

/* Creates the context if needed and registers PF_DEVICE_CUDA. FALSE with an error
 * (PF_CUDA_ERROR_NO_DEVICE when there is no usable GPU) and nothing registered otherwise.
 * Calling it again after a success does nothing. */
gboolean pf_backend_cuda_register (GError **error);

/* Waits for the queued GPU work, then returns FALSE with the first error raised since the
 * last call (a recorded callback error, or one a running kernel raised), and clears it.
 * TRUE when nothing failed or the backend was never registered. */
gboolean pf_backend_cuda_take_error (GError **error);

/* Whether node n of a graph planned on PF_DEVICE_CUDA runs as part of a fused op (the row
 * attention's bmm -> softmax -> bmm, pf-backend-cuda-attn.c): for tests and profiles. */
gboolean pf_backend_cuda_node_fused (const PfNode *n);
/* The context the backend runs on (for timing and tests), or NULL before registration. */
PfCudaContext *pf_backend_cuda_context (void);

G_END_DECLS
