/* pf-backend-cuda.h — the CUDA device behind the engine's backend interface (pf-backend.h).
 *
 * pf_backend_cuda_register creates the process-wide CUDA context (device 0) and registers the
 * backend and memory of PF_DEVICE_CUDA; graphs planned with that device then run on the GPU.
 * The backend runs conv2d (cuDNN), batchnorm, relu, sigmoid, add and linear (cuBLAS); planning
 * a graph with any other op fails with PF_ERROR_UNSUPPORTED naming the layer and the op. The
 * device loss supports MSE and WMSE; SSIM and MIX fail until the GPU SSIM kernel exists.
 *
 * The backend callbacks of forward, backward, zero, upload, download and Adam return nothing,
 * so a CUDA error raised there is kept (the first one, naming the layer) and reported by the
 * next device loss (pf_train_step_run / _eval fail with it) or by pf_backend_cuda_take_error.
 * Call the latter after work that ends without a loss (an inference forward, a download, the
 * last Adam update). */
#pragma once
#include <glib.h>
#include "pf-cuda.h"

G_BEGIN_DECLS

/* Creates the context if needed and registers PF_DEVICE_CUDA. FALSE with an error
 * (PF_CUDA_ERROR_NO_DEVICE when there is no usable GPU) and nothing registered otherwise.
 * Calling it again after a success does nothing. */
gboolean pf_backend_cuda_register (GError **error);

/* Waits for the queued GPU work, then returns FALSE with the first error raised since the
 * last call (a recorded callback error, or one a running kernel raised), and clears it.
 * TRUE when nothing failed or the backend was never registered. */
gboolean pf_backend_cuda_take_error (GError **error);

/* The context the backend runs on (for timing and tests), or NULL before registration. */
PfCudaContext *pf_backend_cuda_context (void);

G_END_DECLS
