/* pf-sim.c — the fast detector simulator (DESIGN.md §4).
 *
 * Layout: particles are processed in fixed batches of PF_SIM_BATCH as structure-of-arrays,
 * every per-particle step is a straight-line loop with selects instead of branches so that
 * gcc -O3 vectorises it (Philox, Box-Muller with polynomial log/sin/cos, species, thresholds,
 * bin indices); a final scalar pass adds the four weights of each particle to the images.
 *
 * Random numbers: particle i of event e uses two Philox4x32-10 blocks,
 * pf_rng_block (seed, PF_RNG_STREAM_SIM, e, i, k) for k = 0, 1 (events >= 2^32 put their
 * high word in c2 as 2 * (e >> 32) + k). The eight words are used as
 *   w0,w1 -> Box-Muller -> z_E, z_trk    w2,w3 -> Box-Muller -> z_emc, z_hcal
 *   w4 -> u (species)   w5 -> eta   w6 -> phi   w7 (top bit) -> charge sign.
 * E = |N(0,1) + N(0,2)| is drawn as |sqrt(5) z|: the sum of independent normals is exactly
 * N(0, sqrt(5)), so one normal gives the same distribution and saves a Philox block.
 * log/sin/cos are our own polynomials (Cephes coefficients, ~1 ulp on the ranges used), so
 * the numbers do not depend on the libm version and the loops vectorise without -ffast-math.
 * Only correctly rounded IEEE operations remain (+ - * / sqrt floor, no FMA contraction: see
 * meson.build), so AVX-512, AVX2 and plain builds give the same bits for a seed. */
#include "pf-sim.h"
#include "pf-sim-private.h"
#include "pf-rng.h"
#include "pf-error.h"

#include <float.h>
#include <math.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#if defined(__AVX2__) || defined(__AVX512F__)
#include <immintrin.h>
#endif

#define PF_SIM_BATCH 64
#define PF_TWO_PI_F 6.28318530717958647692f
#define PF_PI_F 3.14159265358979323846f

/* ---- vectorisable scalar kernels (inlined into the batch loops) ---- */

static inline uint32_t
f2u (float f)
{
  uint32_t u;
  memcpy (&u, &f, 4);
  return u;
}

static inline float
u2f (uint32_t u)
{
  float f;
  memcpy (&f, &u, 4);
  return f;
}

/* Natural log for normal positive x (Cephes logf). */
static inline float
log_fast (float x)
{
  uint32_t ix = f2u (x);
  float e = (float) ((int32_t) (ix >> 23) - 126);
  float m = u2f ((ix & 0x007fffffu) | 0x3f000000u); /* [0.5, 1) */
  int lo = m < 0.707106781186547524f;
  e = lo ? e - 1.0f : e;
  float t = lo ? m + m - 1.0f : m - 1.0f;
  float z = t * t;
  float y = 7.0376836292e-2f;
  y = y * t - 1.1514610310e-1f;
  y = y * t + 1.1676998740e-1f;
  y = y * t - 1.2420140846e-1f;
  y = y * t + 1.4249322787e-1f;
  y = y * t - 1.6668057665e-1f;
  y = y * t + 2.0000714765e-1f;
  y = y * t - 2.4999993993e-1f;
  y = y * t + 3.3333331174e-1f;
  y = y * t * z;
  y += -2.12194440e-4f * e;
  y += -0.5f * z;
  t = t + y;
  return t + 0.693359375f * e;
}

/* cos and sin of 2*pi*u for u in [0, 1]: quadrant from 4u, Cephes polynomials on
 * [-pi/4, pi/4]. */
static inline void
sincos_2pi (float u, float *c, float *s)
{
  float q4 = 4.0f * u;
  int n = (int) (q4 + 0.5f);
  float x = (q4 - (float) n) * 1.57079632679489661923f;
  float z = x * x;
  float sn = ((-1.9515295891e-4f * z + 8.3321608736e-3f) * z - 1.6666654611e-1f) * z * x + x;
  float cs = ((2.443315711809948e-5f * z - 1.388731625493765e-3f) * z
              + 4.166664568298827e-2f) * z * z - 0.5f * z + 1.0f;
  int swap = n & 1;
  float cc = swap ? sn : cs;
  float ss = swap ? cs : sn;
  *c = ((n + 1) & 2) ? -cc : cc;
  *s = (n & 2) ? -ss : ss;
}

static inline void
box_muller (uint32_t a, uint32_t b, float *z0, float *z1)
{
  float u1 = pf_rng_u01 (a), u2 = pf_rng_u01 (b);
  float r = sqrtf (-2.0f * log_fast (u1));
  float c, s;
  sincos_2pi (u2, &c, &s);
  *z0 = r * c;
  *z1 = r * s;
}

/* Bin of x over [-half, half] in n bins as np.histogram2d: bin i holds edge_i <= x < edge_{i+1},
 * edge_i = -half + i*w in float, the last bin also holds x == half; -1 outside (or NaN).
 * The floor guess is corrected against the edges so a value never lands beside its bin.
 * Float throughout, selects rather than && : gcc 12 does not vectorise mixed mask types
 * (nor fminf/fmaxf, whose NaN rules differ from the vector min/max). */
static inline float
bin_of (float x, float half, float w, float inv_w, int n)
{
  const float last = (float) (n - 1);
  float g = floorf ((x + half) * inv_w);
  g = g < 0.0f ? 0.0f : g;
  g = g > last ? last : g;
  float elo = -half + g * w;
  g = x < elo ? g - 1.0f : g;
  float ehi = g == last ? half : -half + (g + 1.0f) * w;
  g = x >= ehi ? g + 1.0f : g;
  g = g < 0.0f ? 0.0f : g;
  g = g > last ? last : g;
  return fabsf (x) <= half ? g : -1.0f;
}

/* ---- the batch ---- */

typedef struct {
  /* constants of the run, in float */
  uint32_t k0, k1;
  float frac_pi0, frac_neutral_cum;
  float two_eta_max, eta_max, charged_range;
  float bfield, sig_trk, sig_emc, sig_hcal, nonlin;
  float trk_thr, emc_thr, hcal_thr;
  float sampling, leak, had_frac;
  float eta_w, eta_inv_w, phi_w, phi_inv_w;
  int wrap, size;
} PfSimConst;

typedef struct {
  uint32_t w[8][PF_SIM_BATCH];
  float z[4][PF_SIM_BATCH]; /* z_E, z_trk, z_emc, z_hcal */
  float e[PF_SIM_BATCH], eta[PF_SIM_BATCH], phi[PF_SIM_BATCH], phic[PF_SIM_BATCH];
  float wt[PF_SIM_BATCH], we[PF_SIM_BATCH], wh[PF_SIM_BATCH];
  int32_t q[PF_SIM_BATCH], species[PF_SIM_BATCH];
  int32_t row[PF_SIM_BATCH], col[PF_SIM_BATCH], colc[PF_SIM_BATCH];
  /* what the fill pass needs: truth weight and pixel offsets (0 where the weight is 0) */
  float et[PF_SIM_BATCH];
  int32_t ig[PF_SIM_BATCH], ic[PF_SIM_BATCH];
} PfSimBatch;

static void
sim_const_init (PfSimConst *k, const PfSimParams *p)
{
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
  k->wrap = p->wrap_phi ? 1 : 0;
}

/* Philox4x32-10 for blocks (c0, first + i, c2 + k, stream), k = 0, 1, i < PF_SIM_BATCH.
 * gcc vectorises the portable loop with 64-bit multiplies (vpmullq and zero-extensions); the
 * SIMD versions use the 32x32->64 multiply of even lanes (pmuludq) twice per vector, nearly
 * twice as fast. The test checks whichever is compiled against Random123's philox4x32. */
#define PF_PHILOX_M0 0xD2511F53u
#define PF_PHILOX_M1 0xCD9E8D57u
#define PF_PHILOX_W0 0x9E3779B9u
#define PF_PHILOX_W1 0xBB67AE85u

#if defined(__AVX512F__)
#define PF_SIM_PHILOX_SIMD "avx512"
/* pe, po: 64-bit products of the even and odd lanes; one two-source permute each picks
 * the low and the high halves back into lane order. */
static inline void
mulhilo_v16 (__m512i a, __m512i m, __m512i *hi, __m512i *lo)
{
  const __m512i lo_idx = _mm512_setr_epi32 (0, 16, 2, 18, 4, 20, 6, 22, 8, 24, 10, 26, 12, 28, 14, 30);
  const __m512i hi_idx = _mm512_setr_epi32 (1, 17, 3, 19, 5, 21, 7, 23, 9, 25, 11, 27, 13, 29, 15, 31);
  __m512i pe = _mm512_mul_epu32 (a, m);
  __m512i po = _mm512_mul_epu32 (_mm512_srli_epi64 (a, 32), m);
  *lo = _mm512_permutex2var_epi32 (pe, lo_idx, po);
  *hi = _mm512_permutex2var_epi32 (pe, hi_idx, po);
}

static void
batch_philox (const PfSimConst *k, uint32_t c0, uint32_t c2, uint32_t first,
              uint32_t w[8][PF_SIM_BATCH])
{
  G_STATIC_ASSERT (PF_SIM_BATCH % 16 == 0);
  const __m512i m0 = _mm512_set1_epi32 ((int) PF_PHILOX_M0);
  const __m512i m1 = _mm512_set1_epi32 ((int) PF_PHILOX_M1);
  const __m512i iota = _mm512_setr_epi32 (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  for (int blk = 0; blk < 2; blk++)
    {
      /* Only the particle index varies across the batch: round 1 is scalar except for
       * x0 = v ^ const, and rounds 2 and 3 each have one multiply on constants, done here
       * once, so the vectors need 16 multiplies instead of 20. */
      uint32_t k0 = k->k0, k1 = k->k1;
      uint64_t p0 = (uint64_t) PF_PHILOX_M0 * c0, p1 = (uint64_t) PF_PHILOX_M1 * (c2 + (uint32_t) blk);
      const uint32_t r1_x0c = (uint32_t) (p1 >> 32) ^ k0; /* x0 = particle ^ r1_x0c */
      const uint32_t r1_x1 = (uint32_t) p1;
      const uint32_t r1_x2 = (uint32_t) (p0 >> 32) ^ PF_RNG_STREAM_SIM ^ k1;
      const uint32_t r1_x3 = (uint32_t) p0;
      k0 += PF_PHILOX_W0;
      k1 += PF_PHILOX_W1;
      /* round 2: x2 is constant, so the new x0, x1 are */
      p1 = (uint64_t) PF_PHILOX_M1 * r1_x2;
      const uint32_t r2_x0 = (uint32_t) (p1 >> 32) ^ r1_x1 ^ k0;
      const uint32_t r2_x1 = (uint32_t) p1;
      const uint32_t r2_k1 = k1;
      k0 += PF_PHILOX_W0;
      k1 += PF_PHILOX_W1;
      /* round 3: x0 is constant */
      p0 = (uint64_t) PF_PHILOX_M0 * r2_x0;
      const uint32_t r3_hi0 = (uint32_t) (p0 >> 32), r3_lo0 = (uint32_t) p0;
      const uint32_t r3_k0 = k0, r3_k1 = k1;
      k0 += PF_PHILOX_W0;
      k1 += PF_PHILOX_W1;
      for (int i = 0; i < PF_SIM_BATCH; i += 16)
        {
          __m512i v = _mm512_add_epi32 (_mm512_set1_epi32 ((int) (first + (uint32_t) i)), iota);
          __m512i hi0, lo0, hi1, lo1, x0, x1, x2, x3;
          /* round 1 */
          x0 = _mm512_xor_si512 (v, _mm512_set1_epi32 ((int) r1_x0c));
          /* round 2: x2' = hi(M0 x0) ^ x3 ^ k1, x3' = lo(M0 x0) */
          mulhilo_v16 (x0, m0, &hi0, &lo0);
          x2 = _mm512_xor_si512 (hi0, _mm512_set1_epi32 ((int) (r1_x3 ^ r2_k1)));
          x3 = lo0;
          /* round 3: x0' = hi(M1 x2) ^ x1 ^ k0, x1' = lo(M1 x2), x2' = hi0 ^ x3 ^ k1 */
          mulhilo_v16 (x2, m1, &hi1, &lo1);
          x0 = _mm512_xor_si512 (hi1, _mm512_set1_epi32 ((int) (r2_x1 ^ r3_k0)));
          x1 = lo1;
          x2 = _mm512_xor_si512 (x3, _mm512_set1_epi32 ((int) (r3_hi0 ^ r3_k1)));
          x3 = _mm512_set1_epi32 ((int) r3_lo0);
          uint32_t kk0 = k0, kk1 = k1;
          for (int r = 3; r < 10; r++)
            {
              mulhilo_v16 (x0, m0, &hi0, &lo0);
              mulhilo_v16 (x2, m1, &hi1, &lo1);
              x0 = _mm512_ternarylogic_epi32 (hi1, x1, _mm512_set1_epi32 ((int) kk0), 0x96);
              x2 = _mm512_ternarylogic_epi32 (hi0, x3, _mm512_set1_epi32 ((int) kk1), 0x96);
              x1 = lo1;
              x3 = lo0;
              kk0 += PF_PHILOX_W0;
              kk1 += PF_PHILOX_W1;
            }
          _mm512_storeu_si512 (&w[4 * blk][i], x0);
          _mm512_storeu_si512 (&w[4 * blk + 1][i], x1);
          _mm512_storeu_si512 (&w[4 * blk + 2][i], x2);
          _mm512_storeu_si512 (&w[4 * blk + 3][i], x3);
        }
    }
}
#elif defined(__AVX2__)
#define PF_SIM_PHILOX_SIMD "avx2"
static inline void
mulhilo_v8 (__m256i a, __m256i m, __m256i *hi, __m256i *lo)
{
  __m256i pe = _mm256_mul_epu32 (a, m);
  __m256i po = _mm256_mul_epu32 (_mm256_srli_epi64 (a, 32), m);
  *lo = _mm256_blend_epi32 (pe, _mm256_slli_epi64 (po, 32), 0xAA);
  *hi = _mm256_blend_epi32 (_mm256_srli_epi64 (pe, 32), po, 0xAA);
}

static void
batch_philox (const PfSimConst *k, uint32_t c0, uint32_t c2, uint32_t first,
              uint32_t w[8][PF_SIM_BATCH])
{
  G_STATIC_ASSERT (PF_SIM_BATCH % 8 == 0);
  const __m256i m0 = _mm256_set1_epi32 ((int) PF_PHILOX_M0);
  const __m256i m1 = _mm256_set1_epi32 ((int) PF_PHILOX_M1);
  const __m256i iota = _mm256_setr_epi32 (0, 1, 2, 3, 4, 5, 6, 7);
  for (int blk = 0; blk < 2; blk++)
    for (int i = 0; i < PF_SIM_BATCH; i += 8)
      {
        __m256i x0 = _mm256_set1_epi32 ((int) c0);
        __m256i x1 = _mm256_add_epi32 (_mm256_set1_epi32 ((int) (first + (uint32_t) i)), iota);
        __m256i x2 = _mm256_set1_epi32 ((int) (c2 + (uint32_t) blk));
        __m256i x3 = _mm256_set1_epi32 (PF_RNG_STREAM_SIM);
        uint32_t k0 = k->k0, k1 = k->k1;
        for (int r = 0; r < 10; r++)
          {
            __m256i hi0, lo0, hi1, lo1;
            mulhilo_v8 (x0, m0, &hi0, &lo0);
            mulhilo_v8 (x2, m1, &hi1, &lo1);
            x0 = _mm256_xor_si256 (_mm256_xor_si256 (hi1, x1), _mm256_set1_epi32 ((int) k0));
            x2 = _mm256_xor_si256 (_mm256_xor_si256 (hi0, x3), _mm256_set1_epi32 ((int) k1));
            x1 = lo1;
            x3 = lo0;
            k0 += PF_PHILOX_W0;
            k1 += PF_PHILOX_W1;
          }
        _mm256_storeu_si256 ((__m256i *) &w[4 * blk][i], x0);
        _mm256_storeu_si256 ((__m256i *) &w[4 * blk + 1][i], x1);
        _mm256_storeu_si256 ((__m256i *) &w[4 * blk + 2][i], x2);
        _mm256_storeu_si256 ((__m256i *) &w[4 * blk + 3][i], x3);
      }
}
#else
#define PF_SIM_PHILOX_SIMD "portable"
static void
batch_philox (const PfSimConst *k, uint32_t c0, uint32_t c2, uint32_t first,
              uint32_t w[8][PF_SIM_BATCH])
{
  const uint32_t key0 = k->k0, key1 = k->k1;
  for (int blk = 0; blk < 2; blk++)
    {
      uint32_t *o0 = w[4 * blk], *o1 = w[4 * blk + 1], *o2 = w[4 * blk + 2], *o3 = w[4 * blk + 3];
      for (int i = 0; i < PF_SIM_BATCH; i++)
        {
          uint32_t x0 = c0, x1 = first + (uint32_t) i, x2 = c2 + (uint32_t) blk;
          uint32_t x3 = PF_RNG_STREAM_SIM;
          uint32_t k0 = key0, k1 = key1;
#pragma GCC unroll 10
          for (int r = 0; r < 10; r++)
            {
              uint64_t p0 = (uint64_t) PF_PHILOX_M0 * x0;
              uint64_t p1 = (uint64_t) PF_PHILOX_M1 * x2;
              uint32_t y0 = (uint32_t) (p1 >> 32) ^ x1 ^ k0;
              uint32_t y2 = (uint32_t) (p0 >> 32) ^ x3 ^ k1;
              x1 = (uint32_t) p1;
              x3 = (uint32_t) p0;
              x0 = y0;
              x2 = y2;
              k0 += PF_PHILOX_W0;
              k1 += PF_PHILOX_W1;
            }
          o0[i] = x0;
          o1[i] = x1;
          o2[i] = x2;
          o3[i] = x3;
        }
    }
}
#endif

static inline void
event_counters (int64_t event, uint32_t *c0, uint32_t *c2)
{
  *c0 = (uint32_t) event;
  *c2 = (uint32_t) ((uint64_t) event >> 32) * 2u;
}

/* The detector response of one particle (DESIGN.md §4 steps 2-5): tracker weight, deflected
 * phi, Emcal and Hcal weights. Shared by the simulator's own particles (inlined into the
 * vectorised loop) and the extra particles, so both see exactly the same detector. */
static inline void
response (const PfSimConst *k, float e, int em, int charged, float qf, float phi, float z_trk,
          float z_emc, float z_hcal, float *wt_out, float *phic_out, float *we_out,
          float *wh_out)
{
  /* tracker: charged above threshold, at the generated phi */
  float wt = (charged & (e > k->trk_thr)) ? e * (1.0f + k->sig_trk * z_trk) : 0.0f;

  /* magnetic field; E is clamped only to keep 0/0 out of neutral particles */
  float emin = e > FLT_MIN ? e : FLT_MIN;
  float phic = phi + qf * k->bfield / emin;
  /* in float, exact enough for turns up to ~1e4 rad; beyond that (E below ~1e-4 GeV,
   * far under every threshold) the result may fall outside [-pi, pi] and be dropped */
  float wrapped = phic - PF_TWO_PI_F * floorf ((phic + PF_PI_F) * (1.0f / PF_TWO_PI_F));
  phic = k->wrap ? wrapped : phic;

  /* Emcal then Hcal on what is left */
  float resp_emc = 1.0f + k->sig_emc * z_emc;
  float w_em = (e - k->nonlin * sqrtf (e)) * k->sampling * resp_emc;
  float w_had = k->had_frac * e * resp_emc;
  int pass_e = e > k->emc_thr;
  float we = pass_e ? (em ? w_em : w_had) : 0.0f;
  float er = pass_e ? (em ? e * k->leak : e * (1.0f - k->had_frac)) : e;
  float wh = er > k->hcal_thr
               ? (er - k->nonlin * sqrtf (er)) * k->sampling * (1.0f + k->sig_hcal * z_hcal)
               : 0.0f;
  *wt_out = wt;
  *phic_out = phic;
  *we_out = we;
  *wh_out = wh;
}

/* Bins; weights of what falls outside the image are cleared here. */
static inline void
batch_bins (const PfSimConst *k, PfSimBatch *b)
{
  for (int i = 0; i < PF_SIM_BATCH; i++)
    {
      float row = bin_of (b->eta[i], k->eta_max, k->eta_w, k->eta_inv_w, k->size);
      float col = bin_of (b->phi[i], PF_PI_F, k->phi_w, k->phi_inv_w, k->size);
      float colc = bin_of (b->phic[i], PF_PI_F, k->phi_w, k->phi_inv_w, k->size);
      float gen_in = row < col ? row : col, calo_in = row < colc ? row : colc;
      b->et[i] = gen_in >= 0.0f ? b->e[i] : 0.0f;
      b->ig[i] = gen_in >= 0.0f ? (int32_t) (row * k->size + col) : 0;
      b->ic[i] = calo_in >= 0.0f ? (int32_t) (row * k->size + colc) : 0;
      b->wt[i] = gen_in >= 0.0f ? b->wt[i] : 0.0f;
      b->we[i] = calo_in >= 0.0f ? b->we[i] : 0.0f;
      b->wh[i] = calo_in >= 0.0f ? b->wh[i] : 0.0f;
      b->row[i] = (int32_t) row;
      b->col[i] = (int32_t) col;
      b->colc[i] = (int32_t) colc;
    }
}

/* Everything about particles [first, first + PF_SIM_BATCH) of an event except the
 * histogram fill. */
static void
batch_compute (const PfSimConst *kp, int64_t event, uint32_t first, PfSimBatch *b)
{
  uint32_t c0, c2;
  event_counters (event, &c0, &c2);
  batch_philox (kp, c0, c2, first, b->w);

  /* a local copy: loads through a pointer under a condition block if-conversion.
   * Three short loops rather than one: gcc's jump threading splits one long body into
   * paths that if-conversion can no longer merge. */
  const PfSimConst kc = *kp;
  const PfSimConst *k = &kc;

  for (int i = 0; i < PF_SIM_BATCH; i++)
    {
      box_muller (b->w[0][i], b->w[1][i], &b->z[0][i], &b->z[1][i]);
      box_muller (b->w[2][i], b->w[3][i], &b->z[2][i], &b->z[3][i]);
    }

  const float sqrt5 = 2.2360679774997897f;
  for (int i = 0; i < PF_SIM_BATCH; i++)
    {
      float z_e = b->z[0][i], z_trk = b->z[1][i], z_emc = b->z[2][i], z_hcal = b->z[3][i];
      float u = pf_rng_u01 (b->w[4][i]);
      float ue = pf_rng_u01 (b->w[5][i]);
      float up = pf_rng_u01 (b->w[6][i]);
      int neg = (int) (b->w[7][i] >> 31);

      float e = fabsf (sqrt5 * z_e);
      int em = u < k->frac_pi0;
      int charged = u >= k->frac_neutral_cum;
      int species = em ? PF_SIM_PI0 : (charged ? PF_SIM_CHARGED_HADRON : PF_SIM_NEUTRAL_HADRON);
      float qf = charged ? (neg ? -1.0f : 1.0f) : 0.0f;
      float f = charged ? k->charged_range : 1.0f;
      float eta = (ue - 0.5f) * k->two_eta_max * f;
      float phi = (up - 0.5f) * PF_TWO_PI_F * f;
      float wt, phic, we, wh;
      response (k, e, em, charged, qf, phi, z_trk, z_emc, z_hcal, &wt, &phic, &we, &wh);

      b->e[i] = e;
      b->eta[i] = eta;
      b->phi[i] = phi;
      b->phic[i] = phic;
      b->q[i] = (int32_t) qf;
      b->species[i] = species;
      b->wt[i] = wt;
      b->we[i] = we;
      b->wh[i] = wh;
    }

  batch_bins (k, b);
}

/* Extra particles in[0..count) (count <= PF_SIM_BATCH) of an event, numbered from counter
 * particle `first`: their noise words, the given kinematics, then the same response and
 * bins as batch_compute. Entries past count get E = 0, so every weight is 0. */
static void
batch_compute_extra (const PfSimConst *k, int64_t event, uint32_t first, const PfSimInput *in,
                     int count, PfSimBatch *b)
{
  uint32_t c0, c2;
  event_counters (event, &c0, &c2);
  batch_philox (k, c0, c2, first, b->w);
  for (int i = 0; i < PF_SIM_BATCH; i++)
    {
      box_muller (b->w[0][i], b->w[1][i], &b->z[0][i], &b->z[1][i]);
      box_muller (b->w[2][i], b->w[3][i], &b->z[2][i], &b->z[3][i]);
    }
  for (int i = 0; i < PF_SIM_BATCH; i++)
    {
      const PfSimInput *x = i < count ? &in[i] : NULL;
      float e = x ? x->e : 0.0f, eta = x ? x->eta : 0.0f, phi = x ? x->phi : 0.0f;
      int species = x ? x->species : PF_SIM_NEUTRAL_HADRON;
      int q = x ? x->charge : 0;
      float wt, phic, we, wh;
      response (k, e, species == PF_SIM_PI0, q != 0, (float) q, phi, b->z[1][i], b->z[2][i],
                b->z[3][i], &wt, &phic, &we, &wh);
      b->e[i] = e;
      b->eta[i] = eta;
      b->phi[i] = phi;
      b->phic[i] = phic;
      b->q[i] = q;
      b->species[i] = species;
      b->wt[i] = wt;
      b->we[i] = we;
      b->wh[i] = wh;
    }
  batch_bins (k, b);
}

static void
batch_fill (const PfSimBatch *b, int count, float *const img[PF_N_CHANNELS])
{
  float *emcal = img[PF_CH_EMCAL], *hcal = img[PF_CH_HCAL], *truth = img[PF_CH_TRUTH];
  float *trk_n = img[PF_CH_TRK_N], *trk_p = img[PF_CH_TRK_P];
  /* scalar scatter; a weight that must not count is 0, so it goes anywhere harmlessly */
  for (int i = 0; i < count; i++)
    {
      int ig = b->ig[i], ic = b->ic[i];
      float *trk = b->q[i] > 0 ? trk_p : trk_n;
      truth[ig] += b->et[i];
      trk[ig] += b->wt[i];
      emcal[ic] += b->we[i];
      hcal[ic] += b->wh[i];
    }
}

/* Per-thread work space: the batch and one event's five images (six with the jet-only truth
 * of extra particles). The images are built in
 * this cache-resident scratch and then streamed out: zeroing
 * and scattering straight into the (cold, large) output would read every line from memory
 * before writing it. */
typedef struct {
  PfSimBatch batch;
  float *scratch; /* (PF_N_CHANNELS + 1) * stride */
} PfSimWork;

/* channel blocks of the scratch start on 64-byte lines so the aligned loads hold */
static inline size_t
scratch_stride (const PfSimConst *k)
{
  return ((size_t) k->size * k->size + 15) & ~(size_t) 15;
}

static PfSimWork *
sim_work_new (const PfSimConst *k)
{
  PfSimWork *w = g_aligned_alloc (1, sizeof *w, 64);
  w->scratch = g_aligned_alloc ((gsize) (PF_N_CHANNELS + 1) * scratch_stride (k), sizeof (float),
                                 64);
  return w;
}

static void
sim_work_free (PfSimWork *w)
{
  g_aligned_free (w->scratch);
  g_aligned_free (w);
}

/* Streaming (non-temporal) copy: the output is written once and not read back soon, so it
 * skips the cache and the read-for-ownership of every line. The unaligned head is copied
 * plainly, and the tail. (Clearing the scratch here instead of a memset was measured slower.) */
static void
copy_out (float *restrict dst, const float *restrict src, size_t n)
{
  size_t i = 0;
#if defined(__AVX512F__)
  for (; i < n && ((uintptr_t) (dst + i) & 63) != 0; i++)
    dst[i] = src[i];
  for (; i + 16 <= n; i += 16)
    _mm512_stream_ps (dst + i, _mm512_loadu_ps (src + i));
#elif defined(__AVX2__)
  for (; i < n && ((uintptr_t) (dst + i) & 31) != 0; i++)
    dst[i] = src[i];
  for (; i + 8 <= n; i += 8)
    _mm256_stream_ps (dst + i, _mm256_loadu_ps (src + i));
#endif
  if (i < n)
    memcpy (dst + i, src + i, (n - i) * sizeof (float));
}

/* One event into img[] and, when jet is not NULL, the jet-only truth. The extra particles come
 * after the event's own, so with none the five images are those of the plain simulator. */
static void
sim_event (const PfSimConst *k, int n_particles, int64_t event, const PfSimInput *extra,
           int n_extra, PfSimWork *w, float *const img[PF_N_CHANNELS], float *jet)
{
  const size_t npix = (size_t) k->size * k->size;
  float *scr[PF_N_CHANNELS];
  const size_t stride = scratch_stride (k);
  float *jet_scr = w->scratch + PF_N_CHANNELS * stride;
  memset (w->scratch, 0, (PF_N_CHANNELS + (jet ? 1 : 0)) * stride * sizeof (float));
  for (int ch = 0; ch < PF_N_CHANNELS; ch++)
    scr[ch] = w->scratch + ch * stride;
  for (int first = 0; first < n_particles; first += PF_SIM_BATCH)
    {
      int count = MIN (PF_SIM_BATCH, n_particles - first);
      batch_compute (k, event, (uint32_t) first, &w->batch);
      batch_fill (&w->batch, count, scr);
    }
  for (int j = 0; j < n_extra; j += PF_SIM_BATCH)
    {
      int count = MIN (PF_SIM_BATCH, n_extra - j);
      batch_compute_extra (k, event, (uint32_t) n_particles + (uint32_t) j, extra + j, count,
                           &w->batch);
      batch_fill (&w->batch, count, scr);
      for (int i = 0; jet && i < count; i++)
        jet_scr[w->batch.ig[i]] += w->batch.et[i];
    }
  for (int ch = 0; ch < PF_N_CHANNELS; ch++)
    copy_out (img[ch], scr[ch], npix);
  if (jet)
    copy_out (jet, jet_scr, npix);
#if defined(__AVX2__) || defined(__AVX512F__)
  _mm_sfence (); /* streaming stores are visible to other threads after this */
#endif
}

void
pf_sim_event (const PfSimParams *p, int64_t event, float *const img[PF_N_CHANNELS])
{
  pf_sim_event_with_particles (p, event, NULL, 0, img, NULL);
}

void
pf_sim_event_with_particles (const PfSimParams *p, int64_t event, const PfSimInput *extra,
                             int n_extra, float *const img[PF_N_CHANNELS], float *jet_truth)
{
  g_return_if_fail (p != NULL && img != NULL && event >= 0);
  g_return_if_fail (p->image_size > 0 && p->n_particles >= 0);
  g_return_if_fail (n_extra >= 0 && (n_extra == 0 || extra != NULL));
  PfSimConst k;
  sim_const_init (&k, p);
  PfSimWork *w = sim_work_new (&k);
  sim_event (&k, p->n_particles, event, extra, n_extra, w, img, jet_truth);
  sim_work_free (w);
}

/* pf_sim_run and pf_sim_run_with_particles: `extra` NULL means five channels, no extras. */
static void
run_events (const PfSimParams *p, int64_t first, int64_t n, const PfSimInput *const *extra,
            const int *n_extra, float *out, int n_threads)
{
  PfSimConst k;
  sim_const_init (&k, p);
  const size_t npix = (size_t) p->image_size * p->image_size;
  const int n_particles = p->n_particles;
#ifdef _OPENMP
  int nt = n_threads > 0 ? n_threads : omp_get_max_threads (); /* OMP_NUM_THREADS or all cores */
  if (nt > n)
    nt = (int) n;
#pragma omp parallel num_threads(nt)
#else
  (void) n_threads;
#endif
  {
    PfSimWork *w = sim_work_new (&k);
    /* dynamic: these machines are shared, a static split waits for the slowest core */
#ifdef _OPENMP
#pragma omp for schedule(dynamic, 8)
#endif
    for (int64_t i = 0; i < n; i++)
      {
        float *img[PF_N_CHANNELS];
        for (int ch = 0; ch < PF_N_CHANNELS; ch++)
          img[ch] = out + ((size_t) ch * (size_t) n + (size_t) i) * npix;
        float *jet = extra ? out + ((size_t) PF_N_CHANNELS * (size_t) n + (size_t) i) * npix : NULL;
        sim_event (&k, n_particles, first + i, extra ? extra[i] : NULL, extra ? n_extra[i] : 0,
                   w, img, jet);
      }
    sim_work_free (w);
  }
}

void
pf_sim_run (const PfSimParams *p, int64_t first, int64_t n, float *out, int n_threads)
{
  g_return_if_fail (p != NULL && first >= 0 && n >= 0);
  g_return_if_fail (p->image_size > 0 && p->n_particles >= 0);
  g_return_if_fail (n == 0 || out != NULL);
  if (n == 0)
    return;
  run_events (p, first, n, NULL, NULL, out, n_threads);
}

void
pf_sim_run_with_particles (const PfSimParams *p, int64_t first, int64_t n,
                           const PfSimInput *const *extra, const int *n_extra, float *out,
                           int n_threads)
{
  g_return_if_fail (p != NULL && first >= 0 && n >= 0);
  g_return_if_fail (p->image_size > 0 && p->n_particles >= 0);
  g_return_if_fail (n == 0 || (out != NULL && extra != NULL && n_extra != NULL));
  if (n == 0)
    return;
  for (int64_t i = 0; i < n; i++)
    g_return_if_fail (n_extra[i] >= 0 && (n_extra[i] == 0 || extra[i] != NULL));
  run_events (p, first, n, extra, n_extra, out, n_threads);
}

gboolean
pf_sim_inputs_validate (const PfSimParams *p, const PfSimInput *in, int n, const char *what,
                        GError **error)
{
  if (n < 0 || (gint64) p->n_particles + n > (gint64) G_MAXUINT32)
    {
      g_set_error (error, PF_ERROR, PF_ERROR_INVALID,
                   "%s: %d extra particles after %d simulated ones overflow the random counter",
                   what, n, p->n_particles);
      return FALSE;
    }
  for (int j = 0; j < n; j++)
    {
      const PfSimInput *x = &in[j];
      const char *bad = NULL;
      if (!isfinite (x->e) || x->e < 0.0f)
        bad = "energy not finite or negative";
      else if (!isfinite (x->eta) || !isfinite (x->phi))
        bad = "position not finite";
      else if (x->charge < -1 || x->charge > 1)
        bad = "charge outside -1..1";
      else if (x->species != PF_SIM_PI0 && x->species != PF_SIM_NEUTRAL_HADRON
               && x->species != PF_SIM_CHARGED_HADRON)
        bad = "unknown species";
      if (bad)
        {
          g_set_error (error, PF_ERROR, PF_ERROR_INVALID,
                       "%s: extra particle %d (E %g, eta %g, phi %g, charge %d, species %d): %s",
                       what, j, x->e, x->eta, x->phi, x->charge, x->species, bad);
          return FALSE;
        }
    }
  return TRUE;
}

/* ---- private hooks ---- */

void
_pf_sim_particles (const PfSimParams *p, int64_t event, PfSimParticle *out)
{
  PfSimConst k;
  sim_const_init (&k, p);
  PfSimBatch *b = g_aligned_alloc (1, sizeof *b, 64);
  for (int first = 0; first < p->n_particles; first += PF_SIM_BATCH)
    {
      int count = MIN (PF_SIM_BATCH, p->n_particles - first);
      batch_compute (&k, event, (uint32_t) first, b);
      for (int i = 0; i < count; i++)
        {
          PfSimParticle *o = &out[first + i];
          o->e = b->e[i];
          o->eta = b->eta[i];
          o->phi = b->phi[i];
          o->phi_calo = b->phic[i];
          o->charge = b->q[i];
          o->species = b->species[i];
          o->w_trk = b->wt[i];
          o->w_emc = b->we[i];
          o->w_hcal = b->wh[i];
          o->row = b->row[i];
          o->col = b->col[i];
          o->col_calo = b->colc[i];
        }
    }
  g_aligned_free (b);
}

void
_pf_sim_words (uint64_t seed, int64_t event, uint32_t particle, uint32_t words[8])
{
  PfSimParams p;
  pf_sim_params_init_default (&p);
  p.seed = seed;
  PfSimConst k;
  sim_const_init (&k, &p);
  uint32_t c0, c2;
  event_counters (event, &c0, &c2);
  PfSimBatch *b = g_aligned_alloc (1, sizeof *b, 64);
  batch_philox (&k, c0, c2, particle, b->w);
  for (int j = 0; j < 8; j++)
    words[j] = b->w[j][0];
  g_aligned_free (b);
}

void
_pf_sim_normal2 (uint32_t a, uint32_t b, float *z0, float *z1)
{
  box_muller (a, b, z0, z1);
}
