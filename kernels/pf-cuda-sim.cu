/* pf-cuda-sim.cu — the fast detector simulator on the GPU, bit-identical to core/sim/pf-sim.c.
 *
 * Per particle (sim_particle below) the GPU repeats pf-sim.c's batch_compute: two
 * Philox4x32-10 blocks (Random123's philox4x32 with the CPU's counters: c0 = low word of the
 * event, c1 = particle, c2 = 2 * (event >> 32) + k, c3 = PF_RNG_STREAM_SIM, key = seed), the
 * polynomial log and sin/cos of pf-sim.c (not CUDA's), then the response and the binning. Every
 * float operation is one IEEE operation rounded to nearest, as on the CPU (pf-sim.c is built
 * with -ffp-contract=off): products and sums are written with __fmul_rn/__fadd_rn/__fsub_rn,
 * which nvcc never fuses into an FMA whatever -fmad says, quotients and roots with
 * __fdiv_rn/__fsqrt_rn; floorf, fabsf, comparisons and int<->float conversions are exact. So
 * each particle's energy, position and four weights are the CPU's bit for bit
 * (_pf_cuda_sim_particles lets the test check that directly). The constants of the run
 * (SimConst) are computed on the host with pf-sim.c's sim_const_init expressions.
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
#include "pf-rng.h"
#include <Random123/philox.h>
#include <Random123/u01fixedpt.h>

#define SIM_MAX_THREADS 512  /* threads per block (one chunk of particles) at most */
#define SIM_TAG_TID_BITS 10  /* thread index in the low bits of a tag: blockDim.x <= 1024 */
#define SIM_ROUND_MAX ((1u << 22) - 2u) /* rounds before the tags are reset */
#define SIM_TAG_FREE 0xFFFFFFFFu
/* device memory for one slice of the host pipeline (two slices in flight) */
#define SIM_SLICE_BYTES ((size_t) 128 << 20)
/* tag scratch of the global-memory path, per stream slot */
#define SIM_GLOBAL_TAG_BYTES ((size_t) 64 << 20)

#define PF_TWO_PI_F 6.28318530717958647692f
#define PF_PI_F 3.14159265358979323846f

/* The run's constants, as pf-sim.c's PfSimConst (same names, same float conversions). */
typedef struct {
  uint32_t k0, k1;
  float frac_pi0, frac_neutral_cum;
  float two_eta_max, eta_max, charged_range;
  float bfield, sig_trk, sig_emc, sig_hcal, nonlin;
  float trk_thr, emc_thr, hcal_thr;
  float sampling, leak, had_frac;
  float eta_w, eta_inv_w, phi_w, phi_inv_w;
  float inv_two_pi; /* 1.0f / PF_TWO_PI_F, folded by the host compiler as gcc folds it */
  int wrap, size, n_particles;
} SimConst;

struct _PfCudaSim {
  PfCudaContext *ctx;
  PfSimParams params;
  SimConst k;
  int threads;          /* block size: a multiple of 32, <= SIM_MAX_THREADS */
  gboolean shared;      /* images in shared memory */
  size_t smem;          /* dynamic shared memory per block */
  unsigned int grid;    /* blocks that fit on the device at once */
  cudaStream_t streams[2];
  float *slice[2];      /* device slices of the host pipeline, allocated on first use */
  size_t slice_events;
  uint32_t *tags[2];    /* global path: tag scratch per slot (slot 0 also serves ctx->stream) */
};

/* ---- the arithmetic of pf-sim.c, one rounding per operation ---- */

#define FMUL __fmul_rn
#define FADD __fadd_rn
#define FSUB __fsub_rn

static __device__ __forceinline__ float
sim_log (float x) /* pf-sim.c log_fast */
{
  uint32_t ix = __float_as_uint (x);
  float e = (float) ((int32_t) (ix >> 23) - 126);
  float m = __uint_as_float ((ix & 0x007fffffu) | 0x3f000000u);
  int lo = m < 0.707106781186547524f;
  e = lo ? FSUB (e, 1.0f) : e;
  float t = lo ? FSUB (FADD (m, m), 1.0f) : FSUB (m, 1.0f);
  float z = FMUL (t, t);
  float y = 7.0376836292e-2f;
  y = FSUB (FMUL (y, t), 1.1514610310e-1f);
  y = FADD (FMUL (y, t), 1.1676998740e-1f);
  y = FSUB (FMUL (y, t), 1.2420140846e-1f);
  y = FADD (FMUL (y, t), 1.4249322787e-1f);
  y = FSUB (FMUL (y, t), 1.6668057665e-1f);
  y = FADD (FMUL (y, t), 2.0000714765e-1f);
  y = FSUB (FMUL (y, t), 2.4999993993e-1f);
  y = FADD (FMUL (y, t), 3.3333331174e-1f);
  y = FMUL (FMUL (y, t), z);
  y = FADD (y, FMUL (-2.12194440e-4f, e));
  y = FADD (y, FMUL (-0.5f, z));
  t = FADD (t, y);
  return FADD (t, FMUL (0.693359375f, e));
}

static __device__ __forceinline__ void
sim_sincos_2pi (float u, float *c, float *s) /* pf-sim.c sincos_2pi */
{
  float q4 = FMUL (4.0f, u);
  int n = (int) FADD (q4, 0.5f);
  float x = FMUL (FSUB (q4, (float) n), 1.57079632679489661923f);
  float z = FMUL (x, x);
  float sn = FADD (FMUL (FMUL (FSUB (FMUL (FADD (FMUL (-1.9515295891e-4f, z), 8.3321608736e-3f), z),
                                     1.6666654611e-1f), z), x), x);
  float cs = FADD (FSUB (FMUL (FMUL (FADD (FMUL (FSUB (FMUL (2.443315711809948e-5f, z),
                                                       1.388731625493765e-3f), z),
                                           4.166664568298827e-2f), z), z),
                         FMUL (0.5f, z)), 1.0f);
  int swap = n & 1;
  float cc = swap ? sn : cs;
  float ss = swap ? cs : sn;
  *c = ((n + 1) & 2) ? -cc : cc;
  *s = (n & 2) ? -ss : ss;
}

static __device__ __forceinline__ float
sim_u01 (uint32_t x) /* pf_rng_u01: (0.5 + (x >> 9)) * 2^-23, exact */
{
  return u01fixedpt_open_open_32_float (x);
}

static __device__ __forceinline__ void
sim_box_muller (uint32_t a, uint32_t b, float *z0, float *z1)
{
  float u1 = sim_u01 (a), u2 = sim_u01 (b);
  float r = __fsqrt_rn (FMUL (-2.0f, sim_log (u1)));
  float c, s;
  sim_sincos_2pi (u2, &c, &s);
  *z0 = FMUL (r, c);
  *z1 = FMUL (r, s);
}

static __device__ __forceinline__ float
sim_bin (float x, float half, float w, float inv_w, int n) /* pf-sim.c bin_of */
{
  const float last = (float) (n - 1);
  float g = floorf (FMUL (FADD (x, half), inv_w));
  g = g < 0.0f ? 0.0f : g;
  g = g > last ? last : g;
  float elo = FADD (-half, FMUL (g, w));
  g = x < elo ? FSUB (g, 1.0f) : g;
  float ehi = g == last ? half : FADD (-half, FMUL (FADD (g, 1.0f), w));
  g = x >= ehi ? FADD (g, 1.0f) : g;
  g = g < 0.0f ? 0.0f : g;
  g = g > last ? last : g;
  return fabsf (x) <= half ? g : -1.0f;
}

typedef struct {
  float e, eta, phi, phic;
  float wt, we, wh; /* cleared where the particle falls outside the image, as batch_bins */
  int q, species, row, col, colc;
  int gen_in, calo_in;
} SimParticle;

/* batch_compute + response + batch_bins of pf-sim.c for one particle. */
static __device__ __forceinline__ void
sim_particle (const SimConst &k, uint32_t c0, uint32_t c2, uint32_t idx, SimParticle *o)
{
  philox4x32_key_t key = { { k.k0, k.k1 } };
  philox4x32_ctr_t ctr = { { c0, idx, c2, (uint32_t) PF_RNG_STREAM_SIM } };
  philox4x32_ctr_t wa = philox4x32 (ctr, key);
  ctr.v[2] = c2 + 1u;
  philox4x32_ctr_t wb = philox4x32 (ctr, key);

  float z_e, z_trk, z_emc, z_hcal;
  sim_box_muller (wa.v[0], wa.v[1], &z_e, &z_trk);
  sim_box_muller (wa.v[2], wa.v[3], &z_emc, &z_hcal);
  float u = sim_u01 (wb.v[0]);
  float ue = sim_u01 (wb.v[1]);
  float up = sim_u01 (wb.v[2]);
  int neg = (int) (wb.v[3] >> 31);

  const float sqrt5 = 2.2360679774997897f;
  float e = fabsf (FMUL (sqrt5, z_e));
  int em = u < k.frac_pi0;
  int charged = u >= k.frac_neutral_cum;
  int species = em ? PF_SIM_PI0 : (charged ? PF_SIM_CHARGED_HADRON : PF_SIM_NEUTRAL_HADRON);
  float qf = charged ? (neg ? -1.0f : 1.0f) : 0.0f;
  float f = charged ? k.charged_range : 1.0f;
  float eta = FMUL (FMUL (FSUB (ue, 0.5f), k.two_eta_max), f);
  float phi = FMUL (FMUL (FSUB (up, 0.5f), PF_TWO_PI_F), f);

  /* response () */
  float wt = (charged & (e > k.trk_thr)) ? FMUL (e, FADD (1.0f, FMUL (k.sig_trk, z_trk))) : 0.0f;
  float emin = e > FLT_MIN ? e : FLT_MIN;
  float phic = FADD (phi, __fdiv_rn (FMUL (qf, k.bfield), emin));
  float wrapped = FSUB (phic, FMUL (PF_TWO_PI_F, floorf (FMUL (FADD (phic, PF_PI_F), k.inv_two_pi))));
  phic = k.wrap ? wrapped : phic;
  float resp_emc = FADD (1.0f, FMUL (k.sig_emc, z_emc));
  float w_em = FMUL (FMUL (FSUB (e, FMUL (k.nonlin, __fsqrt_rn (e))), k.sampling), resp_emc);
  float w_had = FMUL (FMUL (k.had_frac, e), resp_emc);
  int pass_e = e > k.emc_thr;
  float we = pass_e ? (em ? w_em : w_had) : 0.0f;
  float er = pass_e ? (em ? FMUL (e, k.leak) : FMUL (e, FSUB (1.0f, k.had_frac))) : e;
  float wh = er > k.hcal_thr
               ? FMUL (FMUL (FSUB (er, FMUL (k.nonlin, __fsqrt_rn (er))), k.sampling),
                       FADD (1.0f, FMUL (k.sig_hcal, z_hcal)))
               : 0.0f;

  /* batch_bins () */
  float row = sim_bin (eta, k.eta_max, k.eta_w, k.eta_inv_w, k.size);
  float col = sim_bin (phi, PF_PI_F, k.phi_w, k.phi_inv_w, k.size);
  float colc = sim_bin (phic, PF_PI_F, k.phi_w, k.phi_inv_w, k.size);
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
sim_events_kernel (SimConst k, int64_t first, int64_t n, float *out, uint32_t *gtags, int vec4)
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

      const uint32_t c0 = (uint32_t) event;
      const uint32_t c2 = (uint32_t) ((uint64_t) event >> 32) * 2u;
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
                    truth[ig] = FADD (truth[ig], et);
                  if (wt != 0.0f)
                    trk[ig] = FADD (trk[ig], wt);
                  pg = false;
                }
              if (pc && vtag[ic] == v)
                {
                  if (we != 0.0f)
                    emcal[ic] = FADD (emcal[ic], we);
                  if (wh != 0.0f)
                    hcal[ic] = FADD (hcal[ic], wh);
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
sim_particles_kernel (SimConst k, int64_t event, PfSimParticle *out)
{
  uint32_t idx = blockIdx.x * blockDim.x + threadIdx.x;
  if (idx >= (uint32_t) k.n_particles)
    return;
  const uint32_t c0 = (uint32_t) event;
  const uint32_t c2 = (uint32_t) ((uint64_t) event >> 32) * 2u;
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

/* pf-sim.c sim_const_init, expression for expression. */
static void
sim_const_init (SimConst *k, const PfSimParams *p)
{
  memset (k, 0, sizeof *k);
  k->k0 = (uint32_t) p->seed;
  k->k1 = (uint32_t) (p->seed >> 32);
  k->frac_pi0 = (float) p->frac_pi0;
  k->frac_neutral_cum = (float) p->frac_neutral_cum;
  k->eta_max = (float) p->eta_max;
  k->two_eta_max = (float) (2.0 * p->eta_max);
  k->charged_range = (float) p->charged_range;
  k->bfield = (float) p->bfield;
  k->sig_trk = (float) (p->trk_res * p->res_scale);
  k->sig_emc = (float) (p->emc_res * p->res_scale);
  k->sig_hcal = (float) (p->hcal_res * p->res_scale);
  k->nonlin = (float) p->nonlin;
  k->trk_thr = (float) p->trk_threshold;
  k->emc_thr = (float) p->emc_threshold;
  k->hcal_thr = (float) p->hcal_threshold;
  k->sampling = (float) p->em_sampling;
  k->leak = (float) p->em_leak;
  k->had_frac = (float) p->had_emc_frac;
  k->size = p->image_size;
  k->eta_w = (float) (2.0 * p->eta_max / p->image_size);
  k->eta_inv_w = (float) (p->image_size / (2.0 * p->eta_max));
  k->phi_w = (float) (2.0 * G_PI / p->image_size);
  k->phi_inv_w = (float) (p->image_size / (2.0 * G_PI));
  k->inv_two_pi = 1.0f / PF_TWO_PI_F;
  k->wrap = p->wrap_phi ? 1 : 0;
  k->n_particles = p->n_particles;
}

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
  sim_const_init (&sim->k, p);
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
