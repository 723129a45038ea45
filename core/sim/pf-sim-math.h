/* pf-sim-math.h — the simulator's per-particle arithmetic, one definition for the CPU
 * (core/sim/pf-sim.c) and the GPU (kernels/pf-cuda-sim.cu).
 *
 * Bit-identity between the two rests on every float operation being one IEEE operation
 * rounded to nearest. On the CPU that is plain C built with -ffp-contract=off (no fused
 * multiply-add; see core/sim/meson.build); on the GPU nvcc would contract a * b + c into an
 * FMA, so the device pass spells each operation with its _rn intrinsic, which nvcc never
 * fuses. The PF_F* macros below pick the spelling per compiler pass; the expressions are
 * written once. floorf, fabsf, comparisons, selects and int<->float conversions are exact on
 * both sides.
 *
 * The functions are written for gcc's auto-vectoriser as much as for the GPU: straight-line
 * code, selects rather than branches, float bin indices (gcc 12 does not vectorise mixed mask
 * types). */
#pragma once
#include <stdint.h>
#include <string.h>
#include <float.h>
#include <math.h>
#include <Random123/u01fixedpt.h>
#include "pf-sim.h"

#if defined(__CUDACC__)
#define PF_SIM_FN static __host__ __device__ __forceinline__
#else
#define PF_SIM_FN static inline
#endif

#if defined(__CUDA_ARCH__)
#define PF_FMUL(a, b) __fmul_rn ((a), (b))
#define PF_FADD(a, b) __fadd_rn ((a), (b))
#define PF_FSUB(a, b) __fsub_rn ((a), (b))
#define PF_FDIV(a, b) __fdiv_rn ((a), (b))
#define PF_FSQRT(a) __fsqrt_rn (a)
#else
#define PF_FMUL(a, b) ((a) * (b))
#define PF_FADD(a, b) ((a) + (b))
#define PF_FSUB(a, b) ((a) - (b))
#define PF_FDIV(a, b) ((a) / (b))
#define PF_FSQRT(a) sqrtf (a)
#endif

#define PF_SIM_TWO_PI_F 6.28318530717958647692f
#define PF_SIM_PI_F 3.14159265358979323846f

/* The constants of a run, in float, computed once on the host (pf_sim_const_init). */
typedef struct {
  uint32_t k0, k1; /* Philox key: the seed */
  float frac_pi0, frac_neutral_cum;
  float two_eta_max, eta_max, charged_range;
  float bfield, sig_trk, sig_emc, sig_hcal, nonlin;
  float trk_thr, emc_thr, hcal_thr;
  float sampling, leak, had_frac;
  float eta_w, eta_inv_w, phi_w, phi_inv_w;
  float inv_two_pi; /* 1 / (2 pi) in float, rounded once on the host for both sides */
  int wrap, size, n_particles;
} PfSimConst;

static inline void
pf_sim_const_init (PfSimConst *k, const PfSimParams *p)
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
  k->inv_two_pi = 1.0f / PF_SIM_TWO_PI_F;
  k->wrap = p->wrap_phi ? 1 : 0;
  k->n_particles = p->n_particles;
}

/* Philox counters of an event: c0 its low word, c2 = 2 * (high word) + block. */
PF_SIM_FN void
pf_sim_event_counters (int64_t event, uint32_t *c0, uint32_t *c2)
{
  *c0 = (uint32_t) event;
  *c2 = (uint32_t) ((uint64_t) event >> 32) * 2u;
}

PF_SIM_FN uint32_t
pf_sim_f2u (float f)
{
#if defined(__CUDA_ARCH__)
  return __float_as_uint (f);
#else
  uint32_t u;
  memcpy (&u, &f, 4);
  return u;
#endif
}

PF_SIM_FN float
pf_sim_u2f (uint32_t u)
{
#if defined(__CUDA_ARCH__)
  return __uint_as_float (u);
#else
  float f;
  memcpy (&f, &u, 4);
  return f;
#endif
}

/* Uniform in (0, 1): (0.5 + (x >> 9)) * 2^-23, exact (pf_rng_u01). */
PF_SIM_FN float
pf_sim_u01 (uint32_t x)
{
  return u01fixedpt_open_open_32_float (x);
}

/* Natural log for normal positive x (Cephes logf): our own polynomial, so the numbers depend
 * on no libm and the loops vectorise without -ffast-math. */
PF_SIM_FN float
pf_sim_log (float x)
{
  uint32_t ix = pf_sim_f2u (x);
  float e = (float) ((int32_t) (ix >> 23) - 126);
  float m = pf_sim_u2f ((ix & 0x007fffffu) | 0x3f000000u); /* [0.5, 1) */
  int lo = m < 0.707106781186547524f;
  e = lo ? PF_FSUB (e, 1.0f) : e;
  float t = lo ? PF_FSUB (PF_FADD (m, m), 1.0f) : PF_FSUB (m, 1.0f);
  float z = PF_FMUL (t, t);
  float y = 7.0376836292e-2f;
  y = PF_FSUB (PF_FMUL (y, t), 1.1514610310e-1f);
  y = PF_FADD (PF_FMUL (y, t), 1.1676998740e-1f);
  y = PF_FSUB (PF_FMUL (y, t), 1.2420140846e-1f);
  y = PF_FADD (PF_FMUL (y, t), 1.4249322787e-1f);
  y = PF_FSUB (PF_FMUL (y, t), 1.6668057665e-1f);
  y = PF_FADD (PF_FMUL (y, t), 2.0000714765e-1f);
  y = PF_FSUB (PF_FMUL (y, t), 2.4999993993e-1f);
  y = PF_FADD (PF_FMUL (y, t), 3.3333331174e-1f);
  y = PF_FMUL (PF_FMUL (y, t), z);
  y = PF_FADD (y, PF_FMUL (-2.12194440e-4f, e));
  y = PF_FADD (y, PF_FMUL (-0.5f, z));
  t = PF_FADD (t, y);
  return PF_FADD (t, PF_FMUL (0.693359375f, e));
}

/* cos and sin of 2*pi*u for u in [0, 1]: quadrant from 4u, Cephes polynomials on
 * [-pi/4, pi/4]. */
PF_SIM_FN void
pf_sim_sincos_2pi (float u, float *c, float *s)
{
  float q4 = PF_FMUL (4.0f, u);
  int n = (int) PF_FADD (q4, 0.5f);
  float x = PF_FMUL (PF_FSUB (q4, (float) n), 1.57079632679489661923f);
  float z = PF_FMUL (x, x);
  float sn = PF_FADD (PF_FMUL (PF_FMUL (PF_FSUB (PF_FMUL (PF_FADD (PF_FMUL (-1.9515295891e-4f, z),
                                                                   8.3321608736e-3f), z),
                                                 1.6666654611e-1f), z), x), x);
  float cs = PF_FADD (PF_FSUB (PF_FMUL (PF_FMUL (PF_FADD (PF_FMUL (PF_FSUB (PF_FMUL (2.443315711809948e-5f, z),
                                                                            1.388731625493765e-3f), z),
                                                          4.166664568298827e-2f), z), z),
                               PF_FMUL (0.5f, z)), 1.0f);
  int swap = n & 1;
  float cc = swap ? sn : cs;
  float ss = swap ? cs : sn;
  *c = ((n + 1) & 2) ? -cc : cc;
  *s = (n & 2) ? -ss : ss;
}

/* Two standard normals from two words (Box-Muller with the polynomials above). */
PF_SIM_FN void
pf_sim_box_muller (uint32_t a, uint32_t b, float *z0, float *z1)
{
  float u1 = pf_sim_u01 (a), u2 = pf_sim_u01 (b);
  float r = PF_FSQRT (PF_FMUL (-2.0f, pf_sim_log (u1)));
  float c, s;
  pf_sim_sincos_2pi (u2, &c, &s);
  *z0 = PF_FMUL (r, c);
  *z1 = PF_FMUL (r, s);
}

/* Energy, species, charge and position of a simulated particle (DESIGN.md §4 step 1) from
 * z_E and its words w4 (species), w5 (eta), w6 (phi), w7 (top bit: charge sign).
 * E = |N(0,1) + N(0,2)| is drawn as |sqrt(5) z|: the sum of independent normals is exactly
 * N(0, sqrt(5)), so one normal gives the same distribution and saves a Philox block. */
PF_SIM_FN void
pf_sim_kinematics (const PfSimConst *k, float z_e, uint32_t w4, uint32_t w5, uint32_t w6,
                   uint32_t w7, float *e_out, int *em_out, int *charged_out, int *species_out,
                   float *qf_out, float *eta_out, float *phi_out)
{
  const float sqrt5 = 2.2360679774997897f;
  float u = pf_sim_u01 (w4);
  float ue = pf_sim_u01 (w5);
  float up = pf_sim_u01 (w6);
  int neg = (int) (w7 >> 31);
  int em = u < k->frac_pi0;
  int charged = u >= k->frac_neutral_cum;
  float f = charged ? k->charged_range : 1.0f;
  *e_out = fabsf (PF_FMUL (sqrt5, z_e));
  *em_out = em;
  *charged_out = charged;
  *species_out = em ? PF_SIM_PI0 : (charged ? PF_SIM_CHARGED_HADRON : PF_SIM_NEUTRAL_HADRON);
  *qf_out = charged ? (neg ? -1.0f : 1.0f) : 0.0f;
  *eta_out = PF_FMUL (PF_FMUL (PF_FSUB (ue, 0.5f), k->two_eta_max), f);
  *phi_out = PF_FMUL (PF_FMUL (PF_FSUB (up, 0.5f), PF_SIM_TWO_PI_F), f);
}

/* The detector response of one particle (DESIGN.md §4 steps 2-5): tracker weight, deflected
 * phi, Emcal and Hcal weights. */
PF_SIM_FN void
pf_sim_response (const PfSimConst *k, float e, int em, int charged, float qf, float phi,
                 float z_trk, float z_emc, float z_hcal, float *wt_out, float *phic_out,
                 float *we_out, float *wh_out)
{
  /* tracker: charged above threshold, at the generated phi */
  float wt = (charged & (e > k->trk_thr)) ? PF_FMUL (e, PF_FADD (1.0f, PF_FMUL (k->sig_trk, z_trk)))
                                          : 0.0f;

  /* magnetic field; E is clamped only to keep 0/0 out of neutral particles */
  float emin = e > FLT_MIN ? e : FLT_MIN;
  float phic = PF_FADD (phi, PF_FDIV (PF_FMUL (qf, k->bfield), emin));
  /* in float, exact enough for turns up to ~1e4 rad; beyond that (E below ~1e-4 GeV,
   * far under every threshold) the result may fall outside [-pi, pi] and be dropped */
  float wrapped = PF_FSUB (phic, PF_FMUL (PF_SIM_TWO_PI_F,
                                          floorf (PF_FMUL (PF_FADD (phic, PF_SIM_PI_F), k->inv_two_pi))));
  phic = k->wrap ? wrapped : phic;

  /* Emcal then Hcal on what is left */
  float resp_emc = PF_FADD (1.0f, PF_FMUL (k->sig_emc, z_emc));
  float w_em = PF_FMUL (PF_FMUL (PF_FSUB (e, PF_FMUL (k->nonlin, PF_FSQRT (e))), k->sampling),
                        resp_emc);
  float w_had = PF_FMUL (PF_FMUL (k->had_frac, e), resp_emc);
  int pass_e = e > k->emc_thr;
  float we = pass_e ? (em ? w_em : w_had) : 0.0f;
  float er = pass_e ? (em ? PF_FMUL (e, k->leak) : PF_FMUL (e, PF_FSUB (1.0f, k->had_frac))) : e;
  float wh = er > k->hcal_thr
               ? PF_FMUL (PF_FMUL (PF_FSUB (er, PF_FMUL (k->nonlin, PF_FSQRT (er))), k->sampling),
                          PF_FADD (1.0f, PF_FMUL (k->sig_hcal, z_hcal)))
               : 0.0f;
  *wt_out = wt;
  *phic_out = phic;
  *we_out = we;
  *wh_out = wh;
}

/* Bin of x over [-half, half] in n bins as np.histogram2d: bin i holds edge_i <= x < edge_{i+1},
 * edge_i = -half + i*w in float, the last bin also holds x == half; -1 outside (or NaN).
 * The floor guess is corrected against the edges so a value never lands beside its bin. */
PF_SIM_FN float
pf_sim_bin (float x, float half, float w, float inv_w, int n)
{
  const float last = (float) (n - 1);
  float g = floorf (PF_FMUL (PF_FADD (x, half), inv_w));
  g = g < 0.0f ? 0.0f : g;
  g = g > last ? last : g;
  float elo = PF_FADD (-half, PF_FMUL (g, w));
  g = x < elo ? PF_FSUB (g, 1.0f) : g;
  float ehi = g == last ? half : PF_FADD (-half, PF_FMUL (PF_FADD (g, 1.0f), w));
  g = x >= ehi ? PF_FADD (g, 1.0f) : g;
  g = g < 0.0f ? 0.0f : g;
  g = g > last ? last : g;
  return fabsf (x) <= half ? g : -1.0f;
}
