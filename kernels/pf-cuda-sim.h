/* pf-cuda-sim.h — the fast detector simulator (core/sim/pf-sim.h) on the GPU.
 *
 * Same specification, same random numbers, same arithmetic: particle i of event e draws from
 * the Philox4x32-10 counters of the CPU simulator (Random123 in device code), the log and
 * sin/cos are the CPU's own polynomials, every float operation is rounded as on the CPU (no
 * fused multiply-add) and the deposits of each pixel are added in the CPU's particle order.
 * The images are therefore bit-identical to pf_sim_run's for the same parameters and events
 * (kernels/pf-cuda-sim.cu explains the accumulation; tests/test-cuda-sim.c checks it).
 *
 * No CUDA type appears here, so C code includes this header as is. Functions return FALSE/NULL
 * and fill `error` (PF_CUDA_ERROR) when a CUDA call fails. Extra (jet) particles are not
 * supported on the GPU: pf_sim_run_with_particles stays on the CPU. */
#pragma once
#include <glib.h>
#include <stdint.h>
#include "pf-cuda.h"
#include "pf-sim.h"
#include "pf-sim-private.h"

G_BEGIN_DECLS

typedef struct _PfCudaSim PfCudaSim;

/* Copies the parameters (valid ones: pf_sim_params_validate) and prepares the kernel for
 * `ctx`, which must outlive the simulator. */
PfCudaSim *pf_cuda_sim_new (PfCudaContext *ctx, const PfSimParams *p, GError **error);
void pf_cuda_sim_free (PfCudaSim *sim);

/* Events [first, first + n) into the HOST buffer `out`, laid out exactly as pf_sim_run fills
 * it (channel-major: out[((ch * n) + (e - first)) * S * S + row * S + col]), so the dataset
 * writer takes it as it is. Synchronous: the data is in `out` when it returns. Large n are
 * simulated in slices on the device while earlier slices are copied back; a buffer from
 * pf_cuda_sim_host_alloc (page-locked) copies faster than ordinary memory. */
gboolean pf_cuda_sim_run (PfCudaSim *sim, int64_t first, int64_t n, float *out, GError **error);

/* The same into the DEVICE buffer `dev_out` (n * PF_N_CHANNELS * S * S floats, same layout),
 * queued on the context's stream: returns at once, pf_cuda_synchronize waits for it. */
gboolean pf_cuda_sim_run_device (PfCudaSim *sim, int64_t first, int64_t n, float *dev_out,
                                 GError **error);

/* Page-locked host memory for pf_cuda_sim_run's output; free with pf_cuda_sim_host_free. */
void *pf_cuda_sim_host_alloc (PfCudaSim *sim, size_t bytes, GError **error);
void pf_cuda_sim_host_free (PfCudaSim *sim, void *host);

/* Where the images are accumulated: "shared" (on-chip, the fast path) or "global" (images
 * too large for shared memory). */
const char *pf_cuda_sim_mode (const PfCudaSim *sim);

/* Test hook: the p->n_particles particles of `event` as the GPU computes them before the
 * histogram fill (same fields and conventions as _pf_sim_particles, pf-sim-private.h). */
gboolean _pf_cuda_sim_particles (PfCudaSim *sim, int64_t event, PfSimParticle *out,
                                 GError **error);

G_END_DECLS
