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
 * The per-particle arithmetic (log/sin/cos polynomials, Box-Muller, kinematics, response,
 * bins) lives in pf-sim-math.h, shared with the GPU simulator. Only correctly rounded IEEE
 * operations remain (+ - * / sqrt floor, no FMA contraction: see meson.build), so AVX-512,
 * AVX2, plain builds and the GPU give the same bits for a seed. */
#include "pf-sim.h"
#include "pf-sim-private.h"
#include "pf-sim-math.h"
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

/* ---- the batch ---- */

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

/* Bins; weights of what falls outside the image are cleared here. */
static inline void
batch_bins (const PfSimConst *k, PfSimBatch *b)
{
  for (int i = 0; i < PF_SIM_BATCH; i++)
    {
      float row = pf_sim_bin (b->eta[i], k->eta_max, k->eta_w, k->eta_inv_w, k->size);
      float col = pf_sim_bin (b->phi[i], PF_SIM_PI_F, k->phi_w, k->phi_inv_w, k->size);
      float colc = pf_sim_bin (b->phic[i], PF_SIM_PI_F, k->phi_w, k->phi_inv_w, k->size);
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
  pf_sim_event_counters (event, &c0, &c2);
  batch_philox (kp, c0, c2, first, b->w);

  /* a local copy: loads through a pointer under a condition block if-conversion.
   * Three short loops rather than one: gcc's jump threading splits one long body into
   * paths that if-conversion can no longer merge. */
  const PfSimConst kc = *kp;
  const PfSimConst *k = &kc;

  for (int i = 0; i < PF_SIM_BATCH; i++)
    {
      pf_sim_box_muller (b->w[0][i], b->w[1][i], &b->z[0][i], &b->z[1][i]);
      pf_sim_box_muller (b->w[2][i], b->w[3][i], &b->z[2][i], &b->z[3][i]);
    }

  for (int i = 0; i < PF_SIM_BATCH; i++)
    {
      float e, qf, eta, phi;
      int em, charged, species;
      pf_sim_kinematics (k, b->z[0][i], b->w[4][i], b->w[5][i], b->w[6][i], b->w[7][i], &e, &em,
                         &charged, &species, &qf, &eta, &phi);
      float wt, phic, we, wh;
      pf_sim_response (k, e, em, charged, qf, phi, b->z[1][i], b->z[2][i], b->z[3][i], &wt, &phic,
                       &we, &wh);

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
  pf_sim_event_counters (event, &c0, &c2);
  batch_philox (k, c0, c2, first, b->w);
  for (int i = 0; i < PF_SIM_BATCH; i++)
    {
      pf_sim_box_muller (b->w[0][i], b->w[1][i], &b->z[0][i], &b->z[1][i]);
      pf_sim_box_muller (b->w[2][i], b->w[3][i], &b->z[2][i], &b->z[3][i]);
    }
  for (int i = 0; i < PF_SIM_BATCH; i++)
    {
      const PfSimInput *x = i < count ? &in[i] : NULL;
      float e = x ? x->e : 0.0f, eta = x ? x->eta : 0.0f, phi = x ? x->phi : 0.0f;
      int species = x ? x->species : PF_SIM_NEUTRAL_HADRON;
      int q = x ? x->charge : 0;
      float wt, phic, we, wh;
      pf_sim_response (k, e, species == PF_SIM_PI0, q != 0, (float) q, phi, b->z[1][i], b->z[2][i],
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
  pf_sim_const_init (&k, p);
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
  pf_sim_const_init (&k, p);
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
  pf_sim_const_init (&k, p);
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
  pf_sim_const_init (&k, &p);
  uint32_t c0, c2;
  pf_sim_event_counters (event, &c0, &c2);
  PfSimBatch *b = g_aligned_alloc (1, sizeof *b, 64);
  batch_philox (&k, c0, c2, particle, b->w);
  for (int j = 0; j < 8; j++)
    words[j] = b->w[j][0];
  g_aligned_free (b);
}

void
_pf_sim_normal2 (uint32_t a, uint32_t b, float *z0, float *z1)
{
  pf_sim_box_muller (a, b, z0, z1);
}
