/* pf-cuda-sim.cu — the fast detector simulator on the GPU, bit-identical to core/sim/pf-sim.c.
 *
 * Per particle (sim_particle below) the GPU runs the arithmetic of the CPU simulator itself:
 * core/sim/pf-sim-math.h, compiled here for the device. Two Philox4x32-10 blocks (Random123's
 * philox4x32 with the CPU's counters: c0 = low word of the event, c1 = particle,
 * c2 = 2 * (event >> 32) + k, c3 = PF_RNG_STREAM_SIM, key = seed), then the header's
 * polynomial log and sin/cos (not CUDA's), kinematics, response and bins. The header spells
 * every float operation as one IEEE operation rounded to nearest on both sides (the _rn
 * intrinsics here, which nvcc never fuses into an FMA whatever -fmad says; plain operators
 * with -ffp-contract=off on the CPU), so each particle's energy, position and four weights
 * are the CPU's bit for bit (_pf_cuda_sim_particles lets the test check that directly). The
 * constants of the run (PfSimConst) are computed on the host by the same pf_sim_const_init.
 *
 * Accumulation. A pixel of the CPU is the float sum of its deposits in particle order:
 * ((0 + w_a) + w_b) + ... . One thread block simulates one event at a time (a grid-stride loop
 * over events), its five images in shared memory. The particles go through in chunks of
 * blockDim.x, one per thread, chunk after chunk, so particle order = (chunk, thread). Within a
 * chunk the deposits are added in rounds: each pending particle writes a tag
 * ((ROUND_MAX - round) << 10 | thread) with atomicMin to its generated pixel (truth, tracker)
 * and to its calorimeter pixel; after a barrier the particle whose tag survived at a pixel is
 * the lowest-numbered particle still pending there, and it alone adds its weights to that
 * pixel; the others retry in the next round. So every pixel receives its deposits one at a
 * time in increasing particle order: the same sequence of float additions as the CPU, hence
 * the same bits. (The generated and the calorimeter pixels share one tag array, which only
 * serialises a little more than needed.) Collisions within a chunk are few, so a chunk takes
 * 2-4 rounds. Deposits of exactly zero are skipped: a pixel starts at +0 and a sum of floats
 * rounded to nearest is never -0 unless both terms are, so x + 0 == x for every value a pixel
 * can hold, and skipping changes no bit. No float atomics anywhere.
 *
 * Images too large for shared memory (S > ~97 on an H100) are accumulated the same way in the
 * output itself (global memory) with a tag array per block in device scratch: slower, same bits.
 *
 * Host copies: pf_cuda_sim_run simulates slices of events on two streams, launching slice
 * k + 1 before copying slice k back, so the copy (synchronous for pageable memory) overlaps
 * the next kernel. */
#include <string.h>
#include <float.h>
#include "pf-cuda-private.h"
#include "pf-cuda-sim.h"
#include "pf-sim-math.h"
#include "pf-rng.h"
#include <Random123/philox.h>

#define SIM_MAX_THREADS 512  /* threads per block (one chunk of particles) at most */
#define SIM_TAG_TID_BITS 10  /* thread index in the low bits of a tag: blockDim.x <= 1024 */
#define SIM_ROUND_MAX ((1u << 22) - 2u) /* rounds before the tags are reset */
#define SIM_TAG_FREE 0xFFFFFFFFu
/* device memory for one slice of the host pipeline (two slices in flight) */
#define SIM_SLICE_BYTES ((size_t) 128 << 20)
/* tag scratch of the global-memory path, per stream slot */
#define SIM_GLOBAL_TAG_BYTES ((size_t) 64 << 20)

struct _PfCudaSim {
  PfCudaContext *ctx;
  PfSimParams params;
  PfSimConst k;
  int threads;          /* block size: a multiple of 32, <= SIM_MAX_THREADS */
  gboolean shared;      /* images in shared memory */
  size_t smem;          /* dynamic shared memory per block */
  unsigned int grid;    /* blocks that fit on the device at once */
  cudaStream_t streams[2];
  float *slice[2];      /* device slices of the host pipeline, allocated on first use */
  size_t slice_events;
  uint32_t *tags[2];    /* global path: tag scratch per slot (slot 0 also serves ctx->stream) */
};

typedef struct {
  float e, eta, phi, phic;
  float wt, we, wh; /* cleared where the particle falls outside the image, as batch_bins */
  int q, species, row, col, colc;
  int gen_in, calo_in;
} SimParticle;

/* batch_compute + response + batch_bins of pf-sim.c for one particle. */
static __device__ __forceinline__ void
sim_particle (const PfSimConst &k, uint32_t c0, uint32_t c2, uint32_t idx, SimParticle *o)
{
  philox4x32_key_t key = { { k.k0, k.k1 } };
  philox4x32_ctr_t ctr = { { c0, idx, c2, (uint32_t) PF_RNG_STREAM_SIM } };
  philox4x32_ctr_t wa = philox4x32 (ctr, key);
  ctr.v[2] = c2 + 1u;
  philox4x32_ctr_t wb = philox4x32 (ctr, key);

  float z_e, z_trk, z_emc, z_hcal;
  pf_sim_box_muller (wa.v[0], wa.v[1], &z_e, &z_trk);
  pf_sim_box_muller (wa.v[2], wa.v[3], &z_emc, &z_hcal);
  float e, qf, eta, phi;
  int em, charged, species;
  pf_sim_kinematics (&k, z_e, wb.v[0], wb.v[1], wb.v[2], wb.v[3], &e, &em, &charged, &species,
                     &qf, &eta, &phi);
  float wt, phic, we, wh;
  pf_sim_response (&k, e, em, charged, qf, phi, z_trk, z_emc, z_hcal, &wt, &phic, &we, &wh);

  /* batch_bins () */
  float row = pf_sim_bin (eta, k.eta_max, k.eta_w, k.eta_inv_w, k.size);
  float col = pf_sim_bin (phi, PF_SIM_PI_F, k.phi_w, k.phi_inv_w, k.size);
  float colc = pf_sim_bin (phic, PF_SIM_PI_F, k.phi_w, k.phi_inv_w, k.size);
  int gen_in = row >= 0.0f && col >= 0.0f;
  int calo_in = row >= 0.0f && colc >= 0.0f;

  o->e = e;
  o->eta = eta;
  o->phi = phi;
  o->phic = phic;
  o->wt = gen_in ? wt : 0.0f;
  o->we = calo_in ? we : 0.0f;
  o->wh = calo_in ? wh : 0.0f;
  o->q = (int) qf;
  o->species = species;
  o->row = (int) row;
  o->col = (int) col;
  o->colc = (int) colc;
  o->gen_in = gen_in;
  o->calo_in = calo_in;
}

/* ---- the event kernel (see the header comment for the accumulation order) ---- */

template <bool SHARED>
__global__ void __launch_bounds__ (SIM_MAX_THREADS, 2)
sim_events_kernel (PfSimConst k, int64_t first, int64_t n, float *out, uint32_t *gtags, int vec4)
{
  extern __shared__ float4 smem4[];
  float *smem = (float *) smem4;
  const int s2 = k.size * k.size;
  const int nt = blockDim.x, tid = threadIdx.x;
  uint32_t *tag = SHARED ? (uint32_t *) (smem + (size_t) PF_N_CHANNELS * s2)
                         : gtags + (size_t) blockIdx.x * s2;

  for (int64_t i = blockIdx.x; i < n; i += gridDim.x)
    {
      const int64_t event = first + i;
      float *img[PF_N_CHANNELS];
      for (int ch = 0; ch < PF_N_CHANNELS; ch++)
        img[ch] = SHARED ? smem + (size_t) ch * s2 : out + ((size_t) ch * n + i) * s2;
      float *truth = img[PF_CH_TRUTH], *emcal = img[PF_CH_EMCAL], *hcal = img[PF_CH_HCAL];
      float *trk_p = img[PF_CH_TRK_P], *trk_n = img[PF_CH_TRK_N];

      for (int j = tid; j < s2; j += nt)
        {
          truth[j] = 0.0f;
          emcal[j] = 0.0f;
          hcal[j] = 0.0f;
          trk_p[j] = 0.0f;
          trk_n[j] = 0.0f;
          tag[j] = SIM_TAG_FREE;
        }
      __syncthreads ();

      uint32_t c0, c2;
      pf_sim_event_counters (event, &c0, &c2);
      uint32_t round = 0; /* the same in every thread of the block */
      for (int cf = 0; cf < k.n_particles; cf += nt)
        {
          /* a chunk takes at most 2 nt rounds (each finishes at least one deposit pair) */
          if (round > SIM_ROUND_MAX - 2u * (uint32_t) nt - 2u)
            {
              for (int j = tid; j < s2; j += nt)
                tag[j] = SIM_TAG_FREE;
              __syncthreads ();
              round = 0;
            }
          const uint32_t idx = (uint32_t) cf + (uint32_t) tid;
          bool pg = false, pc = false, pos = false;
          int ig = 0, ic = 0;
          float et = 0.0f, wt = 0.0f, we = 0.0f, wh = 0.0f;
          if (idx < (uint32_t) k.n_particles)
            {
              SimParticle q;
              sim_particle (k, c0, c2, idx, &q);
              if (q.gen_in)
                {
                  ig = q.row * k.size + q.col;
                  et = q.e;
                  wt = q.wt;
                  pg = et != 0.0f || wt != 0.0f;
                }
              if (q.calo_in)
                {
                  ic = q.row * k.size + q.colc;
                  we = q.we;
                  wh = q.wh;
                  pc = we != 0.0f || wh != 0.0f;
                }
              pos = q.q > 0;
            }
          float *trk = pos ? trk_p : trk_n;
          /* the barrier of each test also orders this round's tags after the last one's reads */
          while (__syncthreads_or (pg || pc))
            {
              const uint32_t v = ((SIM_ROUND_MAX - round) << SIM_TAG_TID_BITS) | (uint32_t) tid;
              if (pg)
                atomicMin (&tag[ig], v);
              if (pc)
                atomicMin (&tag[ic], v);
              __syncthreads ();
              const volatile uint32_t *vtag = tag; /* read after other threads' atomics */
              if (pg && vtag[ig] == v)
                {
                  if (et != 0.0f)
                    truth[ig] = PF_FADD (truth[ig], et);
                  if (wt != 0.0f)
                    trk[ig] = PF_FADD (trk[ig], wt);
                  pg = false;
                }
              if (pc && vtag[ic] == v)
                {
                  if (we != 0.0f)
                    emcal[ic] = PF_FADD (emcal[ic], we);
                  if (wh != 0.0f)
                    hcal[ic] = PF_FADD (hcal[ic], wh);
                  pc = false;
                }
              round++;
            }
        }

      if (SHARED)
        {
          __syncthreads ();
          for (int ch = 0; ch < PF_N_CHANNELS; ch++)
            {
              float *dst = out + ((size_t) ch * n + i) * s2;
              const float *src = img[ch];
              if (vec4)
                {
                  float4 *d4 = (float4 *) dst;
                  const float4 *s4 = (const float4 *) src;
                  for (int j = tid; j < s2 / 4; j += nt)
                    d4[j] = s4[j];
                }
              else
                for (int j = tid; j < s2; j += nt)
                  dst[j] = src[j];
            }
        }
      __syncthreads (); /* the next event clears the images and tags */
    }
}

/* One event's particles, for the test hook: one thread per particle. */
__global__ void
sim_particles_kernel (PfSimConst k, int64_t event, PfSimParticle *out)
{
  uint32_t idx = blockIdx.x * blockDim.x + threadIdx.x;
  if (idx >= (uint32_t) k.n_particles)
    return;
  uint32_t c0, c2;
  pf_sim_event_counters (event, &c0, &c2);
  SimParticle q;
  sim_particle (k, c0, c2, idx, &q);
  PfSimParticle *o = &out[idx];
  o->e = q.e;
  o->eta = q.eta;
  o->phi = q.phi;
  o->phi_calo = q.phic;
  o->charge = q.q;
  o->species = q.species;
  o->w_trk = q.wt;
  o->w_emc = q.we;
  o->w_hcal = q.wh;
  o->row = q.row;
  o->col = q.col;
  o->col_calo = q.colc;
}

/* ---- host side ---- */

/* Block size: the particles in as few chunks of <= SIM_MAX_THREADS as possible, the chunks as
 * even as possible (1600 particles: 4 chunks of 416 threads rather than 512 + 512 + 512 + 64). */
static int
sim_block_size (int n_particles)
{
  int chunks = MAX (1, (n_particles + SIM_MAX_THREADS - 1) / SIM_MAX_THREADS);
  int per = (n_particles + chunks - 1) / chunks;
  int t = (per + 31) / 32 * 32;
  return CLAMP (t, 32, SIM_MAX_THREADS);
}

static size_t
sim_event_floats (const PfCudaSim *sim)
{
  return (size_t) PF_N_CHANNELS * sim->params.image_size * sim->params.image_size;
}

PfCudaSim *
pf_cuda_sim_new (PfCudaContext *ctx, const PfSimParams *p, GError **error)
{
  g_return_val_if_fail (ctx != NULL && p != NULL, NULL);
  if (p->image_size < 1 || p->image_size > 4096 || p->n_particles < 0)
    {
      _pf_cuda_invalid (error, "GPU simulator: image_size %d or n_particles %d out of range",
                        p->image_size, p->n_particles);
      return NULL;
    }
  if (!_pf_cuda_check (cudaSetDevice (ctx->device), "cudaSetDevice", error))
    return NULL;
  PfCudaSim *sim = g_new0 (PfCudaSim, 1);
  sim->ctx = ctx;
  sim->params = *p;
  pf_sim_const_init (&sim->k, p);
  sim->threads = sim_block_size (p->n_particles);

  size_t s2 = (size_t) p->image_size * p->image_size;
  size_t need = (PF_N_CHANNELS * sizeof (float) + sizeof (uint32_t)) * s2;
  int optin = 0, per_sm = 0;
  if (!_pf_cuda_check (cudaDeviceGetAttribute (&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin,
                                               ctx->device), "cudaDeviceGetAttribute", error))
    goto fail;
  sim->shared = need <= (size_t) optin;
  if (sim->shared)
    {
      sim->smem = need;
      if (!_pf_cuda_check (cudaFuncSetAttribute (sim_events_kernel<true>,
                                                 cudaFuncAttributeMaxDynamicSharedMemorySize,
                                                 (int) need), "cudaFuncSetAttribute", error)
          || !_pf_cuda_check (cudaOccupancyMaxActiveBlocksPerMultiprocessor (
                                &per_sm, sim_events_kernel<true>, sim->threads, need),
                              "cudaOccupancyMaxActiveBlocksPerMultiprocessor", error))
        goto fail;
    }
  else if (!_pf_cuda_check (cudaOccupancyMaxActiveBlocksPerMultiprocessor (
                              &per_sm, sim_events_kernel<false>, sim->threads, 0),
                            "cudaOccupancyMaxActiveBlocksPerMultiprocessor", error))
    goto fail;
  {
    size_t grid = (size_t) MAX (per_sm, 1) * (size_t) MAX (ctx->sm_count, 1);
    if (!sim->shared)
      grid = MIN (grid, MAX ((size_t) 1, SIM_GLOBAL_TAG_BYTES / (s2 * sizeof (uint32_t))));
    sim->grid = (unsigned int) grid;
  }
  sim->slice_events = MAX ((size_t) 1, SIM_SLICE_BYTES / (sim_event_floats (sim) * sizeof (float)));
  for (int s = 0; s < 2; s++)
    if (!_pf_cuda_check (cudaStreamCreateWithFlags (&sim->streams[s], cudaStreamNonBlocking),
                         "cudaStreamCreateWithFlags", error))
      goto fail;
  return sim;

fail:
  pf_cuda_sim_free (sim);
  return NULL;
}

void
pf_cuda_sim_free (PfCudaSim *sim)
{
  if (!sim)
    return;
  cudaSetDevice (sim->ctx->device);
  for (int s = 0; s < 2; s++)
    {
      if (sim->streams[s])
        {
          cudaStreamSynchronize (sim->streams[s]);
          cudaStreamDestroy (sim->streams[s]);
        }
      if (sim->slice[s])
        cudaFree (sim->slice[s]);
      if (sim->tags[s])
        cudaFree (sim->tags[s]);
    }
  g_free (sim);
}

const char *
pf_cuda_sim_mode (const PfCudaSim *sim)
{
  return sim->shared ? "shared" : "global";
}

/* Queues events [first, first + n) into dev (layout of n events) on `stream`; `slot` picks the
 * tag scratch of the global path. */
static gboolean
sim_launch (PfCudaSim *sim, cudaStream_t stream, int slot, int64_t first, int64_t n, float *dev,
            GError **error)
{
  if (n <= 0)
    return TRUE;
  unsigned int grid = (unsigned int) MIN ((int64_t) sim->grid, n);
  size_t s2 = (size_t) sim->params.image_size * sim->params.image_size;
  int vec4 = s2 % 4 == 0 && ((uintptr_t) dev & 15) == 0;
  if (sim->shared)
    sim_events_kernel<true><<<grid, sim->threads, sim->smem, stream>>> (sim->k, first, n, dev,
                                                                         NULL, vec4);
  else
    {
      if (!sim->tags[slot])
        {
          void *t = NULL;
          PF_CUDA_TRY (cudaMalloc (&t, (size_t) sim->grid * s2 * sizeof (uint32_t)));
          sim->tags[slot] = (uint32_t *) t;
        }
      sim_events_kernel<false><<<grid, sim->threads, 0, stream>>> (sim->k, first, n, dev,
                                                                   sim->tags[slot], vec4);
    }
  PF_CUDA_LAUNCHED (sim->shared ? "sim_events_kernel<shared>" : "sim_events_kernel<global>");
  return TRUE;
}

gboolean
pf_cuda_sim_run_device (PfCudaSim *sim, int64_t first, int64_t n, float *dev_out, GError **error)
{
  g_return_val_if_fail (sim != NULL && first >= 0 && n >= 0, FALSE);
  g_return_val_if_fail (n == 0 || dev_out != NULL, FALSE);
  PF_CUDA_TRY (cudaSetDevice (sim->ctx->device));
  return sim_launch (sim, sim->ctx->stream, 0, first, n, dev_out, error);
}

gboolean
pf_cuda_sim_run (PfCudaSim *sim, int64_t first, int64_t n, float *out, GError **error)
{
  g_return_val_if_fail (sim != NULL && first >= 0 && n >= 0, FALSE);
  g_return_val_if_fail (n == 0 || out != NULL, FALSE);
  if (n == 0)
    return TRUE;
  PF_CUDA_TRY (cudaSetDevice (sim->ctx->device));
  const size_t ev = sim_event_floats (sim), s2 = ev / PF_N_CHANNELS;
  const int64_t slice = (int64_t) MIN ((size_t) n, sim->slice_events);
  for (int s = 0; s < 2; s++)
    if (!sim->slice[s] && (s == 0 || n > slice))
      {
        void *d = NULL;
        PF_CUDA_TRY (cudaMalloc (&d, sim->slice_events * ev * sizeof (float)));
        sim->slice[s] = (float *) d;
      }
  /* work queued earlier on the context's stream (pf_cuda_sim_run_device) comes first: it may
   * use slot 0's tags */
  cudaEvent_t before;
  PF_CUDA_TRY (cudaEventCreateWithFlags (&before, cudaEventDisableTiming));
  gboolean ok = _pf_cuda_check (cudaEventRecord (before, sim->ctx->stream), "cudaEventRecord", error);
  for (int s = 0; ok && s < 2; s++)
    ok = _pf_cuda_check (cudaStreamWaitEvent (sim->streams[s], before, 0), "cudaStreamWaitEvent", error);
  cudaEventDestroy (before);

  /* slice j on stream j % 2: launch j + 1, then copy j back (a copy into pageable memory
   * returns when done, by then slice j + 1 is running) */
  const int64_t n_slices = (n + slice - 1) / slice;
  for (int64_t j = 0; ok && j <= n_slices; j++)
    {
      if (j < n_slices)
        {
          int64_t off = j * slice, m = MIN (slice, n - off);
          ok = sim_launch (sim, sim->streams[j % 2], (int) (j % 2), first + off, m,
                           sim->slice[j % 2], error);
        }
      if (ok && j > 0)
        {
          int64_t jj = j - 1, off = jj * slice, m = MIN (slice, n - off);
          cudaStream_t st = sim->streams[jj % 2];
          for (int ch = 0; ok && ch < PF_N_CHANNELS; ch++)
            ok = _pf_cuda_check (cudaMemcpyAsync (out + ((size_t) ch * n + off) * s2,
                                                  sim->slice[jj % 2] + (size_t) ch * m * s2,
                                                  (size_t) m * s2 * sizeof (float),
                                                  cudaMemcpyDeviceToHost, st),
                                 "cudaMemcpyAsync", error);
        }
    }
  /* wait for both streams even after a failure: the buffers must not be in use on return */
  for (int s = 0; s < 2; s++)
    {
      cudaError_t e = cudaStreamSynchronize (sim->streams[s]);
      if (ok)
        ok = _pf_cuda_check (e, "cudaStreamSynchronize", error);
    }
  return ok;
}

void *
pf_cuda_sim_host_alloc (PfCudaSim *sim, size_t bytes, GError **error)
{
  g_return_val_if_fail (sim != NULL, NULL);
  void *h = NULL;
  if (!_pf_cuda_check (cudaSetDevice (sim->ctx->device), "cudaSetDevice", error)
      || !_pf_cuda_check (cudaMallocHost (&h, MAX (bytes, (size_t) 1)), "cudaMallocHost", error))
    return NULL;
  return h;
}

void
pf_cuda_sim_host_free (PfCudaSim *sim, void *host)
{
  (void) sim;
  if (host)
    cudaFreeHost (host);
}

gboolean
_pf_cuda_sim_particles (PfCudaSim *sim, int64_t event, PfSimParticle *out, GError **error)
{
  g_return_val_if_fail (sim != NULL && event >= 0, FALSE);
  int np = sim->params.n_particles;
  if (np == 0)
    return TRUE;
  g_return_val_if_fail (out != NULL, FALSE);
  PF_CUDA_TRY (cudaSetDevice (sim->ctx->device));
  void *d = NULL;
  size_t bytes = (size_t) np * sizeof (PfSimParticle);
  PF_CUDA_TRY (cudaMalloc (&d, bytes));
  cudaStream_t st = sim->ctx->stream;
  sim_particles_kernel<<<(unsigned int) ((np + 255) / 256), 256, 0, st>>> (sim->k, event,
                                                                          (PfSimParticle *) d);
  gboolean ok = _pf_cuda_launch_check ("sim_particles_kernel", error)
    && _pf_cuda_check (cudaMemcpyAsync (out, d, bytes, cudaMemcpyDeviceToHost, st), "cudaMemcpyAsync", error)
    && _pf_cuda_check (cudaStreamSynchronize (st), "cudaStreamSynchronize", error);
  cudaFree (d);
  return ok;
}
