/* test-sim.c — the simulator against DESIGN.md §4.
 *
 * Statistical checks use bounds of 5 standard errors computed from the sample size, so a
 * correct simulator fails them with probability ~1e-6 each, and a wrong constant (a fraction,
 * a threshold, a sign) fails them with certainty at these sample sizes. */
#include "pf-sim.h"
#include "pf-sim-private.h"
#include "pf-error.h"
#include "pf-rng.h"
#include "pf-test-util.h"

#include <float.h>
#include <stdlib.h>

#define PF_NSIG 5.0

/* The default parameters with the given seed: where most tests start. */
static PfSimParams
params_with_seed (uint64_t seed)
{
  PfSimParams p;
  pf_sim_params_init_default (&p);
  p.seed = seed;
  return p;
}

/* n floats, all NaN: every value an output must hold has to be written. */
static float *
poisoned (size_t n)
{
  float *out = g_new (float, n);
  for (size_t i = 0; i < n; i++)
    out[i] = NAN;
  return out;
}

/* img[ch] = plane ch of one event stored as PF_N_CHANNELS consecutive planes from base. */
static void
event_planes (float *base, size_t npix, float *img[PF_N_CHANNELS])
{
  for (int ch = 0; ch < PF_N_CHANNELS; ch++)
    img[ch] = base + ch * npix;
}

static float *
run_alloc (const PfSimParams *p, int64_t first, int64_t n, int threads)
{
  size_t npix = (size_t) p->image_size * p->image_size;
  float *out = poisoned (PF_N_CHANNELS * npix * n);
  pf_sim_run (p, first, n, out, threads);
  return out;
}

/* Image of channel ch, event i of a run of n events. */
static const float *
img_of (const PfSimParams *p, const float *out, int64_t n, int ch, int64_t i)
{
  size_t npix = (size_t) p->image_size * p->image_size;
  return out + ((size_t) ch * n + i) * npix;
}

static double
img_sum (const float *img, size_t npix)
{
  double s = 0;
  for (size_t i = 0; i < npix; i++)
    s += img[i];
  return s;
}

/* ---- parameters ---- */

static void
test_params_defaults (void)
{
  PfSimParams p;
  memset (&p, 0xab, sizeof p);
  pf_sim_params_init_default (&p);
  g_assert_cmpint (p.n_particles, ==, 1600);
  g_assert_cmpfloat (p.frac_pi0, ==, 0.25);
  g_assert_cmpfloat (p.frac_neutral_cum, ==, 0.5);
  g_assert_cmpfloat (p.eta_max, ==, 2.5);
  g_assert_cmpfloat (p.bfield, ==, 0.5);
  g_assert_cmpint (p.image_size, ==, 56);
  g_assert_cmpfloat (p.res_scale, ==, 1.0);
  g_assert_cmpfloat (p.trk_res, ==, 0.05);
  g_assert_cmpfloat (p.emc_res, ==, 0.05);
  g_assert_cmpfloat (p.hcal_res, ==, 0.1);
  g_assert_cmpfloat (p.nonlin, ==, 0.3);
  g_assert_cmpfloat (p.charged_range, ==, 0.9);
  g_assert_false (p.wrap_phi);
  g_assert_cmpfloat (p.trk_threshold, ==, 0.1);
  g_assert_cmpfloat (p.emc_threshold, ==, 0.2);
  g_assert_cmpfloat (p.hcal_threshold, ==, 0.3);
  g_assert_cmpfloat (p.em_sampling, ==, 0.9);
  g_assert_cmpfloat (p.em_leak, ==, 0.1);
  g_assert_cmpfloat (p.had_emc_frac, ==, 0.1);
  GError *error = NULL;
  g_assert_true (pf_sim_params_validate (&p, &error));
  g_assert_no_error (error);

  char *name = pf_sim_default_filename (&p);
  g_assert_cmpstr (name, ==, "Gauss_S1.00_NL0.30_B0.50.h5");
  g_free (name);
  p.res_scale = 2.0;
  p.nonlin = 0.0;
  p.bfield = 1.25;
  name = pf_sim_default_filename (&p);
  g_assert_cmpstr (name, ==, "Gauss_S2.00_NL0.00_B1.25.h5");
  g_free (name);
}

static void
test_params_table (void)
{
  guint n = 0;
  const PfSimParamInfo *t = pf_sim_param_table (&n);
  /* every field of PfSimParams, each once: 20 entries that do not overlap and cover all
   * but the padding */
  g_assert_cmpuint (n, ==, 20);
  gsize covered = 0;
  gsize size[64];
  g_assert_cmpuint (n, <=, G_N_ELEMENTS (size));
  for (guint i = 0; i < n; i++)
    {
      size[i] = t[i].type == PF_PARAM_DOUBLE ? sizeof (double)
                : t[i].type == PF_PARAM_U64  ? sizeof (uint64_t)
                : t[i].type == PF_PARAM_INT  ? sizeof (int) : sizeof (gboolean);
      g_assert_cmpuint (t[i].offset + size[i], <=, sizeof (PfSimParams));
      covered += size[i];
      for (const char *c = t[i].name; *c; c++)
        g_assert_true (g_ascii_islower (*c) || g_ascii_isdigit (*c) || *c == '_');
      for (guint j = 0; j < i; j++)
        {
          g_assert_cmpstr (t[i].name, !=, t[j].name);
          g_assert_true (t[i].offset + size[i] <= t[j].offset || t[j].offset + size[j] <= t[i].offset);
        }
    }
  g_assert_cmpuint (covered, <=, sizeof (PfSimParams));
  g_assert_cmpuint (covered + 3 * 4, >=, sizeof (PfSimParams)); /* three ints padded */

  /* names map to the right fields */
  PfSimParams p = params_with_seed (77);
  for (guint i = 0; i < n; i++)
    {
      const char *base = (const char *) &p + t[i].offset;
      if (strcmp (t[i].name, "bfield") == 0)
        g_assert_cmpfloat (*(const double *) base, ==, 0.5);
      else if (strcmp (t[i].name, "n_particles") == 0)
        g_assert_cmpint (*(const int *) base, ==, 1600);
      else if (strcmp (t[i].name, "seed") == 0)
        g_assert_cmpuint (*(const uint64_t *) base, ==, 77);
      else if (strcmp (t[i].name, "hcal_res") == 0)
        g_assert_cmpfloat (*(const double *) base, ==, 0.1);
      else if (strcmp (t[i].name, "wrap_phi") == 0)
        g_assert_cmpint (t[i].type, ==, PF_PARAM_BOOL);
    }
  const char *expected[] = { "n_particles", "bfield", "nonlin", "res_scale", "charged_range",
                             "wrap_phi", "seed", "image_size", "eta_max", NULL };
  for (int k = 0; expected[k]; k++)
    {
      gboolean found = FALSE;
      for (guint i = 0; i < n; i++)
        found |= strcmp (t[i].name, expected[k]) == 0;
      g_assert_true (found);
    }
}

static void
expect_invalid (const PfSimParams *p, const char *name, const char *value)
{
  GError *error = NULL;
  g_assert_false (pf_sim_params_validate (p, &error));
  g_assert_error (error, PF_ERROR, PF_ERROR_INVALID);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, name));
  if (value)
    g_assert_nonnull (strstr (error->message, value));
  g_error_free (error);
}

static void
test_params_validate (void)
{
  PfSimParams p;
#define BAD(field, v, name, shown) \
  G_STMT_START { pf_sim_params_init_default (&p); p.field = (v); expect_invalid (&p, name, shown); } G_STMT_END
  BAD (n_particles, -1, "n_particles", "-1");
  BAD (image_size, 0, "image_size", "0");
  BAD (image_size, -56, "image_size", "-56");
  BAD (frac_pi0, NAN, "frac_pi0", "nan");
  BAD (frac_pi0, 1.5, "frac_pi0", "1.5");
  BAD (frac_neutral_cum, -0.1, "frac_neutral_cum", "-0.1");
  BAD (frac_neutral_cum, 0.2, "frac_neutral_cum", "0.2"); /* below frac_pi0 */
  BAD (eta_max, 0.0, "eta_max", "0");
  BAD (eta_max, INFINITY, "eta_max", "inf");
  BAD (bfield, -0.5, "bfield", "-0.5");
  BAD (bfield, NAN, "bfield", "nan");
  BAD (res_scale, -1.0, "res_scale", "-1");
  BAD (trk_res, NAN, "trk_res", "nan");
  BAD (emc_res, -0.05, "emc_res", "-0.05");
  BAD (hcal_res, INFINITY, "hcal_res", "inf");
  BAD (nonlin, -0.3, "nonlin", "-0.3");
  BAD (charged_range, 0.0, "charged_range", "0");
  BAD (charged_range, 1.1, "charged_range", "1.1");
  BAD (trk_threshold, -0.1, "trk_threshold", "-0.1");
  BAD (emc_threshold, NAN, "emc_threshold", "nan");
  BAD (hcal_threshold, -INFINITY, "hcal_threshold", "inf");
  BAD (em_sampling, 1.5, "em_sampling", "1.5");
  BAD (em_leak, -0.1, "em_leak", "-0.1");
  BAD (had_emc_frac, 2.0, "had_emc_frac", "2");
  BAD (wrap_phi, 7, "wrap_phi", "7");
#undef BAD
  /* edge values that are meaningful */
  GError *error = NULL;
  pf_sim_params_init_default (&p);
  p.bfield = 0;
  p.res_scale = 0;
  p.nonlin = 0;
  p.charged_range = 1.0;
  p.n_particles = 0;
  p.frac_pi0 = 1.0;
  p.frac_neutral_cum = 1.0;
  p.wrap_phi = TRUE;
  g_assert_true (pf_sim_params_validate (&p, &error));
  g_assert_no_error (error);
}

/* ---- random numbers ---- */

static void
test_rng_philox (void)
{
  const uint64_t seeds[] = { 0, 1, 0x123456789abcdefULL, G_MAXUINT64 };
  const int64_t events[] = { 0, 1, 999, 4294967295LL, 4294967296LL, 12345678901234LL };
  const uint32_t particles[] = { 0, 1, 15, 16, 17, 63, 64, 65, 1599, 123457, G_MAXUINT32 };
  for (guint s = 0; s < G_N_ELEMENTS (seeds); s++)
    for (guint e = 0; e < G_N_ELEMENTS (events); e++)
      for (guint q = 0; q < G_N_ELEMENTS (particles); q++)
        {
          uint32_t w[8];
          _pf_sim_words (seeds[s], events[e], particles[q], w);
          uint32_t c2 = (uint32_t) ((uint64_t) events[e] >> 32) * 2u;
          for (uint32_t k = 0; k < 2; k++)
            {
              philox4x32_ctr_t r = pf_rng_block (seeds[s], PF_RNG_STREAM_SIM,
                                                 (uint32_t) events[e], particles[q], c2 + k);
              for (int j = 0; j < 4; j++)
                g_assert_cmphex (w[4 * k + j], ==, r.v[j]);
            }
        }
}

static void
test_rng_normal (void)
{
  /* the polynomial Box-Muller of the batch code against libm on the same words */
  philox4x32_key_t key = { { 5, 6 } };
  double worst = 0;
  for (uint32_t i = 0; i < 200000; i++)
    {
      philox4x32_ctr_t c = { { i, 0, 0, 9 } };
      philox4x32_ctr_t r = philox4x32 (c, key);
      uint32_t a = r.v[0], b = r.v[1];
      if (i < 4)
        a = (i & 1) ? 0u : 0xffffffffu, b = (i & 2) ? 0u : 0xffffffffu; /* extremes */
      float z0, z1, y0, y1;
      _pf_sim_normal2 (a, b, &z0, &z1);
      pf_rng_normal2 (a, b, &y0, &y1);
      double d = MAX (fabs ((double) z0 - y0) / (1 + fabs (y0)), fabs ((double) z1 - y1) / (1 + fabs (y1)));
      worst = MAX (worst, d);
    }
  g_test_message ("Box-Muller: worst |fast - libm| / (1 + |z|) = %.3g", worst);
  g_assert_cmpfloat (worst, <, 2e-6);
}

/* ---- determinism ---- */

static void
test_determinism (void)
{
  PfSimParams p = params_with_seed (42);
  const int64_t n = 23;
  const size_t npix = (size_t) p.image_size * p.image_size;
  float *ref = run_alloc (&p, 0, n, 1);
  for (size_t i = 0; i < PF_N_CHANNELS * npix * n; i++)
    g_assert_true (isfinite (ref[i]));
  for (int i = 0; i < n; i++)
    for (size_t j = 0; j < npix; j++)
      g_assert_cmpfloat (img_of (&p, ref, n, PF_CH_TRUTH, i)[j], >=, 0.0f);

  const int threads[] = { 2, 3, 0, 7 };
  for (guint t = 0; t < G_N_ELEMENTS (threads); t++)
    {
      float *o = run_alloc (&p, 0, n, threads[t]);
      g_assert_true (memcmp (o, ref, PF_N_CHANNELS * npix * n * sizeof (float)) == 0);
      g_free (o);
    }

  /* odd splits of the event range, with different thread counts */
  const int64_t cuts[][2] = { { 0, 5 }, { 5, 1 }, { 6, 17 } };
  for (guint c = 0; c < G_N_ELEMENTS (cuts); c++)
    {
      float *o = run_alloc (&p, cuts[c][0], cuts[c][1], (int) c + 1);
      for (int ch = 0; ch < PF_N_CHANNELS; ch++)
        for (int64_t i = 0; i < cuts[c][1]; i++)
          g_assert_true (memcmp (img_of (&p, o, cuts[c][1], ch, i),
                                 img_of (&p, ref, n, ch, cuts[c][0] + i), npix * sizeof (float)) == 0);
      g_free (o);
    }

  /* one event at a time, into unaligned buffers */
  float *buf = g_new (float, PF_N_CHANNELS * npix + 1);
  for (int64_t e = 0; e < n; e += 4)
    {
      float *img[PF_N_CHANNELS];
      event_planes (buf + 1, npix, img);
      pf_sim_event (&p, e, img);
      for (int ch = 0; ch < PF_N_CHANNELS; ch++)
        g_assert_true (memcmp (img[ch], img_of (&p, ref, n, ch, e), npix * sizeof (float)) == 0);
    }
  g_free (buf);

  /* another seed, another event index: other images */
  PfSimParams q = p;
  q.seed = 43;
  float *o = run_alloc (&q, 0, 1, 1);
  g_assert_false (memcmp (o, ref, npix * sizeof (float)) == 0);
  g_free (o);
  g_assert_false (memcmp (img_of (&p, ref, n, PF_CH_TRUTH, 0), img_of (&p, ref, n, PF_CH_TRUTH, 1),
                          npix * sizeof (float)) == 0);

  /* large event indices (the counter's high word) are reproducible too */
  float *a = run_alloc (&p, 4294967295LL, 3, 2);
  float *b = run_alloc (&p, 4294967296LL, 1, 1);
  for (int ch = 0; ch < PF_N_CHANNELS; ch++)
    g_assert_true (memcmp (img_of (&p, a, 3, ch, 1), img_of (&p, b, 1, ch, 0), npix * sizeof (float)) == 0);
  g_assert_false (memcmp (img_of (&p, a, 3, PF_CH_TRUTH, 1), img_of (&p, ref, n, PF_CH_TRUTH, 0),
                          npix * sizeof (float)) == 0);
  g_free (a);
  g_free (b);

  /* no particles: empty images (written, not left as they were) */
  PfSimParams z = p;
  z.n_particles = 0;
  float *e0 = run_alloc (&z, 0, 3, 2);
  for (size_t i = 0; i < PF_N_CHANNELS * npix * 3; i++)
    g_assert_cmpfloat (e0[i], ==, 0.0f);
  g_free (e0);

  /* an image size whose rows are not a multiple of the vector width */
  PfSimParams r = p;
  r.image_size = 13;
  r.n_particles = 77;
  float *x = run_alloc (&r, 3, 5, 1), *y = run_alloc (&r, 3, 5, 2);
  g_assert_true (memcmp (x, y, PF_N_CHANNELS * 169 * 5 * sizeof (float)) == 0);
  g_free (x);
  g_free (y);
  g_free (ref);
}

/* The generated numbers for a seed are part of the dataset format: a change must bump
 * PF_SIM_GENERATOR_VERSION (and this pin). The code uses only correctly rounded operations
 * without FMA contraction, so the pin holds for AVX-512, AVX2 and plain x86-64 builds. */
static void
test_generator_pin (void)
{
  PfSimParams p = params_with_seed (2024);
  const size_t npix = 56 * 56;
  float *out = run_alloc (&p, 0, 2, 1);
  uint64_t h = 1469598103934665603ULL; /* FNV-1a 64 over the bytes of both events */
  const unsigned char *b = (const unsigned char *) out;
  for (size_t i = 0; i < PF_N_CHANNELS * 2 * npix * sizeof (float); i++)
    {
      h ^= b[i];
      h *= 1099511628211ULL;
    }
  double truth0 = img_sum (img_of (&p, out, 2, PF_CH_TRUTH, 0), npix);
  g_test_message ("generator %s v%d: hash %016" G_GINT64_MODIFIER "x, truth of event 0 %.17g",
                  PF_SIM_GENERATOR_NAME, PF_SIM_GENERATOR_VERSION, (guint64) h, truth0);
  g_assert_cmpint (PF_SIM_GENERATOR_VERSION, ==, 1);
  g_assert_cmpfloat (fabs (truth0 - 2867.0735303430411), <, 1e-9);
  g_assert_cmphex (h, ==, 0xd4e0223b3ebb11dcULL);
  g_free (out);
}

/* ---- per-particle statistics ---- */

static PfSimParticle *
particles_alloc (const PfSimParams *p, int n_events)
{
  PfSimParticle *v = g_new (PfSimParticle, (size_t) n_events * p->n_particles);
  for (int e = 0; e < n_events; e++)
    _pf_sim_particles (p, e, v + (size_t) e * p->n_particles);
  return v;
}

static void
assert_fraction (const char *what, double count, double n, double prob)
{
  double f = count / n, se = sqrt (prob * (1 - prob) / n);
  g_test_message ("%s: %.5f (expected %.5f, 5 sigma = %.5f)", what, f, prob, PF_NSIG * se);
  if (!(fabs (f - prob) < PF_NSIG * se))
    g_error ("%s: fraction %.5f, expected %.5f +- %.5f", what, f, prob, PF_NSIG * se);
}

static void
assert_mean (const char *what, double mean, double expected, double se)
{
  g_test_message ("%s: %.6g (expected %.6g, 5 sigma = %.3g)", what, mean, expected, PF_NSIG * se);
  if (!(fabs (mean - expected) < PF_NSIG * se))
    g_error ("%s: %.6g, expected %.6g +- %.3g", what, mean, expected, PF_NSIG * se);
}

static void
test_species (void)
{
  PfSimParams p = params_with_seed (7);
  const int ne = 400;
  PfSimParticle *v = particles_alloc (&p, ne);
  double n = (double) ne * p.n_particles, npi0 = 0, nneu = 0, nch = 0, npos = 0;
  for (size_t i = 0; i < (size_t) n; i++)
    {
      int s = v[i].species;
      g_assert_true (s == PF_SIM_PI0 || s == PF_SIM_NEUTRAL_HADRON || s == PF_SIM_CHARGED_HADRON);
      npi0 += s == PF_SIM_PI0;
      nneu += s == PF_SIM_NEUTRAL_HADRON;
      if (s == PF_SIM_CHARGED_HADRON)
        {
          g_assert_true (v[i].charge == 1 || v[i].charge == -1);
          nch++;
          npos += v[i].charge > 0;
        }
      else
        g_assert_cmpint (v[i].charge, ==, 0);
    }
  assert_fraction ("pi0", npi0, n, 0.25);
  assert_fraction ("neutral hadron", nneu, n, 0.25);
  assert_fraction ("charged hadron", nch, n, 0.5);
  assert_fraction ("positive among charged", npos, nch, 0.5);
  g_free (v);

  /* the fractions are parameters */
  p.frac_pi0 = 0.1;
  p.frac_neutral_cum = 0.7;
  v = particles_alloc (&p, 100);
  n = 100.0 * p.n_particles;
  npi0 = nneu = 0;
  for (size_t i = 0; i < (size_t) n; i++)
    {
      npi0 += v[i].species == PF_SIM_PI0;
      nneu += v[i].species == PF_SIM_NEUTRAL_HADRON;
    }
  assert_fraction ("pi0 (frac_pi0 0.1)", npi0, n, 0.1);
  assert_fraction ("neutral hadron (cumulative 0.7)", nneu, n, 0.6);
  g_free (v);
}

static void
test_energy_and_position (void)
{
  PfSimParams p = params_with_seed (11);
  const int ne = 400;
  PfSimParticle *v = particles_alloc (&p, ne);
  size_t n = (size_t) ne * p.n_particles;
  /* E = |N(0,1) + N(0,2)| = sigma |Z|, sigma^2 = 5: raw moments sigma^k E|Z|^k */
  const double s = sqrt (5.0), c = sqrt (2.0 / G_PI);
  const double m1 = s * c, m2 = 5.0, m3 = 2.0 * s * s * s * c, m4 = 75.0;
  const double var = m2 - m1 * m1;
  const double mu4 = m4 - 4 * m1 * m3 + 6 * m1 * m1 * m2 - 3 * m1 * m1 * m1 * m1;
  double sum = 0, sum2 = 0;
  double eta_n = 0, eta_n2 = 0, phi_c = 0, nn = 0, nc = 0;
  float max_eta_c = 0, max_phi_c = 0, max_eta_n = 0;
  for (size_t i = 0; i < n; i++)
    {
      double e = v[i].e;
      g_assert_cmpfloat (e, >=, 0.0);
      sum += e;
      sum2 += e * e;
      if (v[i].charge == 0)
        {
          eta_n += v[i].eta;
          eta_n2 += (double) v[i].eta * v[i].eta;
          max_eta_n = MAX (max_eta_n, fabsf (v[i].eta));
          nn++;
        }
      else
        {
          phi_c += v[i].phi;
          max_eta_c = MAX (max_eta_c, fabsf (v[i].eta));
          max_phi_c = MAX (max_phi_c, fabsf (v[i].phi));
          nc++;
        }
      g_assert_cmpint (v[i].row, >=, 0);
      g_assert_cmpint (v[i].col, >=, 0);
    }
  double mean = sum / n, v2 = sum2 / n - mean * mean;
  assert_mean ("mean E", mean, m1, sqrt (var / n));
  assert_mean ("var E", v2, var, sqrt ((mu4 - var * var) / n));

  /* neutral eta ~ U(-2.5, 2.5): mean 0, E[eta^2] = a^2/3 with variance 4a^4/45 */
  const double a = 2.5;
  assert_mean ("neutral eta mean", eta_n / nn, 0.0, a / sqrt (3.0 * nn));
  assert_mean ("neutral eta^2 mean", eta_n2 / nn, a * a / 3, sqrt (4 * a * a * a * a / 45 / nn));
  assert_mean ("charged phi mean", phi_c / nc, 0.0, 0.9 * G_PI / sqrt (3.0 * nc));
  /* ranges: charged over 0.9 of eta and phi, neutral over all of it */
  g_assert_cmpfloat (max_eta_c, <=, 0.9 * 2.5 + 1e-6);
  g_assert_cmpfloat (max_eta_c, >, 0.899 * 2.5);
  g_assert_cmpfloat (max_phi_c, <=, 0.9 * G_PI + 1e-6);
  g_assert_cmpfloat (max_phi_c, >, 0.899 * G_PI);
  g_assert_cmpfloat (max_eta_n, <=, 2.5);
  g_assert_cmpfloat (max_eta_n, >, 0.999 * 2.5);
  g_free (v);
}

/* Bin index as np.histogram2d over [-half, half] in double: independent of the float code
 * up to values within float rounding of an edge, which the caller tolerates. */
static int
ref_bin (double x, double half, int n, gboolean *near_edge)
{
  if (!(x >= -half && x <= half))
    return -1;
  double t = (x + half) / (2 * half) * n;
  int i = (int) floor (t);
  *near_edge = fabs (t - rint (t)) < 1e-4;
  return i >= n ? n - 1 : i;
}

static void
test_bins_and_images (void)
{
  /* the per-particle view and the images agree: recomputing the images from the particles
   * (truth at the generated bin, calorimeters at the deflected bin) gives the same sums */
  PfSimParams p = params_with_seed (3);
  const int ne = 6;
  const size_t npix = 56 * 56;
  float *out = run_alloc (&p, 0, ne, 0);
  PfSimParticle *v = particles_alloc (&p, ne);
  double *acc = g_new0 (double, PF_N_CHANNELS * npix);
  int checked = 0;
  for (int e = 0; e < ne; e++)
    {
      memset (acc, 0, PF_N_CHANNELS * npix * sizeof (double));
      for (int i = 0; i < p.n_particles; i++)
        {
          const PfSimParticle *q = &v[(size_t) e * p.n_particles + i];
          gboolean near_r = FALSE, near_c = FALSE, near_cc = FALSE;
          int r = ref_bin (q->eta, 2.5, 56, &near_r);
          int c = ref_bin (q->phi, G_PI, 56, &near_c);
          int cc = ref_bin (q->phi_calo, G_PI, 56, &near_cc);
          if (!near_r)
            g_assert_cmpint (r, ==, q->row);
          if (!near_c)
            g_assert_cmpint (c, ==, q->col);
          if (!near_cc)
            g_assert_cmpint (cc, ==, q->col_calo);
          checked++;
          if (q->col_calo < 0)
            {
              g_assert_cmpfloat (q->w_emc, ==, 0.0f);
              g_assert_cmpfloat (q->w_hcal, ==, 0.0f);
            }
          int g = q->row * 56 + q->col;
          acc[PF_CH_TRUTH * npix + g] += q->e;
          acc[(q->charge > 0 ? PF_CH_TRK_P : PF_CH_TRK_N) * npix + g] += q->w_trk;
          if (q->col_calo >= 0)
            {
              acc[PF_CH_EMCAL * npix + q->row * 56 + q->col_calo] += q->w_emc;
              acc[PF_CH_HCAL * npix + q->row * 56 + q->col_calo] += q->w_hcal;
            }
        }
      for (int ch = 0; ch < PF_N_CHANNELS; ch++)
        {
          const float *img = img_of (&p, out, ne, ch, e);
          for (size_t j = 0; j < npix; j++)
            g_assert_cmpfloat (fabs (img[j] - acc[ch * npix + j]), <=, 1e-5 * (1 + fabs (acc[ch * npix + j])));
        }
    }
  g_assert_cmpint (checked, ==, ne * p.n_particles);
  g_free (acc);
  g_free (v);
  g_free (out);
}

/* ---- detector response ---- */

static void
test_thresholds (void)
{
  PfSimParams p = params_with_seed (5);
  const int ne = 200;
  PfSimParticle *v = particles_alloc (&p, ne);
  size_t n = (size_t) ne * p.n_particles;
  int low_emc = 0, low_trk = 0, tracks = 0;
  for (size_t i = 0; i < n; i++)
    {
      const PfSimParticle *q = &v[i];
      if (q->e <= 0.2f)
        {
          low_emc++;
          g_assert_cmpfloat (q->w_emc, ==, 0.0f);
          g_assert_cmpfloat (q->w_hcal, ==, 0.0f); /* E <= 0.2 < 0.3 stays below the Hcal cut */
        }
      else if (q->col_calo >= 0)
        g_assert_cmpfloat (q->w_emc, !=, 0.0f);
      if (q->e <= 0.1f || q->charge == 0)
        {
          low_trk += q->charge != 0;
          g_assert_cmpfloat (q->w_trk, ==, 0.0f);
        }
      else
        {
          g_assert_cmpfloat (q->w_trk, !=, 0.0f);
          tracks++;
        }
      /* what is left after the Emcal must exceed 0.3 to reach the Hcal */
      float rest = q->e <= 0.2f ? q->e : (q->species == PF_SIM_PI0 ? 0.1f * q->e : 0.9f * q->e);
      if (rest <= 0.3f)
        g_assert_cmpfloat (q->w_hcal, ==, 0.0f);
      else if (q->col_calo >= 0)
        g_assert_cmpfloat (q->w_hcal, !=, 0.0f);
      if (q->species == PF_SIM_PI0 && q->e <= 3.0f)
        g_assert_cmpfloat (q->w_hcal, ==, 0.0f);
    }
  g_test_message ("%d particles at or below 0.2 GeV, %d charged at or below 0.1 GeV, %d tracks",
                  low_emc, low_trk, tracks);
  g_assert_cmpint (low_emc, >, 1000);
  g_assert_cmpint (low_trk, >, 1000);
  g_free (v);

  /* the thresholds are parameters */
  p.emc_threshold = 1.0;
  p.trk_threshold = 0.5;
  p.hcal_threshold = 2.0;
  v = particles_alloc (&p, 50);
  for (size_t i = 0; i < (size_t) 50 * p.n_particles; i++)
    {
      if (v[i].e <= 1.0f)
        g_assert_cmpfloat (v[i].w_emc, ==, 0.0f);
      if (v[i].e <= 0.5f)
        g_assert_cmpfloat (v[i].w_trk, ==, 0.0f);
      if (v[i].e <= 2.0f)
        g_assert_cmpfloat (v[i].w_hcal, ==, 0.0f);
    }
  g_free (v);

  /* at image level, one particle per event: at or below 0.2 GeV the Emcal stays empty */
  PfSimParams one = params_with_seed (9);
  one.n_particles = 1;
  const int n1 = 4000;
  const size_t npix = 56 * 56;
  float *out = run_alloc (&one, 0, n1, 0);
  int soft = 0, hard_seen = 0;
  for (int e = 0; e < n1; e++)
    {
      double t = img_sum (img_of (&one, out, n1, PF_CH_TRUTH, e), npix);
      double em = img_sum (img_of (&one, out, n1, PF_CH_EMCAL, e), npix);
      double trk = img_sum (img_of (&one, out, n1, PF_CH_TRK_N, e), npix)
                   + img_sum (img_of (&one, out, n1, PF_CH_TRK_P, e), npix);
      if (t <= 0.2)
        {
          soft++;
          g_assert_cmpfloat (em, ==, 0.0);
        }
      else
        hard_seen += em != 0.0;
      if (t <= 0.1)
        g_assert_cmpfloat (trk, ==, 0.0);
    }
  g_assert_cmpint (soft, >, 100);
  g_assert_cmpint (hard_seen, >, n1 / 2);
  g_free (out);
}

static void
test_response (void)
{
  /* NL = 0 and no resolution: exact response fractions per species */
  PfSimParams p = params_with_seed (21);
  p.nonlin = 0;
  p.res_scale = 0;
  p.wrap_phi = TRUE; /* nothing bent out of the image */
  const int ne = 50;
  PfSimParticle *v = particles_alloc (&p, ne);
  int counts[3] = { 0 };
  for (size_t i = 0; i < (size_t) ne * p.n_particles; i++)
    {
      const PfSimParticle *q = &v[i];
      float e = q->e;
      double tol = 2e-6 * e;
      if (e <= 0.2f)
        continue;
      counts[q->species]++;
      if (q->species == PF_SIM_PI0)
        {
          g_assert_cmpfloat (fabs (q->w_emc - 0.9 * e), <=, tol);
          double rest = 0.1 * e;
          g_assert_cmpfloat (fabs (q->w_hcal - (rest > 0.3 ? 0.9 * rest : 0.0)), <=, tol);
        }
      else
        {
          g_assert_cmpfloat (fabs (q->w_emc - 0.1 * e), <=, tol);
          double rest = 0.9 * e;
          g_assert_cmpfloat (fabs (q->w_hcal - (rest > 0.3 ? 0.9 * rest : 0.0)), <=, tol);
        }
      if (q->species == PF_SIM_CHARGED_HADRON)
        g_assert_cmpfloat (q->w_trk, ==, e);
      else
        g_assert_cmpfloat (q->w_trk, ==, 0.0f);
    }
  g_assert_cmpint (counts[0], >, 1000);
  g_assert_cmpint (counts[1], >, 1000);
  g_assert_cmpint (counts[2], >, 1000);
  g_free (v);

  /* non-linearity: w = (E - NL sqrt(E)) * 0.9 */
  p.nonlin = 0.3;
  v = particles_alloc (&p, 10);
  for (size_t i = 0; i < (size_t) 10 * p.n_particles; i++)
    if (v[i].species == PF_SIM_PI0 && v[i].e > 0.2f)
      {
        double e = v[i].e;
        g_assert_cmpfloat (fabs (v[i].w_emc - (e - 0.3 * sqrt (e)) * 0.9), <=, 2e-6 * e);
      }
  g_free (v);

  /* resolution: w / nominal ~ N(1, res * scale), checked with res_scale 2 */
  p.nonlin = 0;
  p.res_scale = 2.0;
  v = particles_alloc (&p, 200);
  double s[3][3] = { { 0 } }; /* trk, emc, hcal: n, sum, sum2 */
  for (size_t i = 0; i < (size_t) 200 * p.n_particles; i++)
    {
      const PfSimParticle *q = &v[i];
      double e = q->e;
      if (q->species != PF_SIM_NEUTRAL_HADRON || e <= 0.5)
        {
          if (q->species == PF_SIM_CHARGED_HADRON && e > 0.1)
            {
              double r = q->w_trk / e;
              s[0][0]++, s[0][1] += r, s[0][2] += r * r;
            }
          continue;
        }
      double r1 = q->w_emc / (0.1 * e), r2 = q->w_hcal / (0.9 * 0.9 * e);
      s[1][0]++, s[1][1] += r1, s[1][2] += r1 * r1;
      s[2][0]++, s[2][1] += r2, s[2][2] += r2 * r2;
    }
  const double sig[3] = { 0.1, 0.1, 0.2 };
  const char *names[3] = { "tracker", "emcal", "hcal" };
  for (int k = 0; k < 3; k++)
    {
      double n = s[k][0], m = s[k][1] / n, sd = sqrt (s[k][2] / n - m * m);
      char *w1 = g_strdup_printf ("%s response mean", names[k]);
      char *w2 = g_strdup_printf ("%s response sigma", names[k]);
      assert_mean (w1, m, 1.0, sig[k] / sqrt (n));
      assert_mean (w2, sd, sig[k], sig[k] / sqrt (2 * n));
      g_free (w1);
      g_free (w2);
    }
  g_free (v);
}

/* ---- magnetic field ---- */

static void
test_deflection_particles (void)
{
  PfSimParams p = params_with_seed (13);
  PfSimParticle *v = particles_alloc (&p, 50);
  int pos = 0, neg = 0;
  for (size_t i = 0; i < (size_t) 50 * p.n_particles; i++)
    {
      const PfSimParticle *q = &v[i];
      if (q->charge == 0)
        {
          g_assert_cmpfloat (q->phi_calo, ==, q->phi);
          continue;
        }
      double expect = q->phi + q->charge * 0.5 / q->e;
      g_assert_cmpfloat (fabs (q->phi_calo - expect), <=, 1e-6 * (1 + fabs (expect)));
      if (q->charge > 0)
        pos += q->phi_calo > q->phi;
      else
        neg += q->phi_calo < q->phi;
    }
  g_assert_cmpint (pos, >, 10000);
  g_assert_cmpint (neg, >, 10000);
  g_free (v);

  /* B = 0: nothing moves */
  p.bfield = 0;
  v = particles_alloc (&p, 20);
  for (size_t i = 0; i < (size_t) 20 * p.n_particles; i++)
    {
      g_assert_cmpfloat (v[i].phi_calo, ==, v[i].phi);
      g_assert_cmpint (v[i].col_calo, ==, v[i].col);
    }
  g_free (v);
}

/* One charged particle per event: the tracker pixel is the truth pixel (undeflected), the
 * calorimeter pixel is shifted in phi by q B / E, to larger phi for trk_p and smaller for
 * trk_n; with B = 0 it is the truth pixel. */
static void
check_single_charged (double bfield)
{
  PfSimParams p = params_with_seed (17);
  p.n_particles = 1;
  p.frac_pi0 = 0;
  p.frac_neutral_cum = 0; /* all charged */
  p.charged_range = 0.5;  /* far from the phi edges */
  p.bfield = bfield;
  const int n = 3000, S = 56;
  const size_t npix = (size_t) S * S;
  const double w = 2 * G_PI / S;
  float *out = run_alloc (&p, 0, n, 0);
  int shifted[2] = { 0 }, seen[2] = { 0 };
  for (int e = 0; e < n; e++)
    {
      int tp = -1, tk = -1, cal = -1, nz = 0;
      double E = 0;
      int charge = 0;
      for (size_t j = 0; j < npix; j++)
        {
          const float t = img_of (&p, out, n, PF_CH_TRUTH, e)[j];
          const float kp = img_of (&p, out, n, PF_CH_TRK_P, e)[j];
          const float kn = img_of (&p, out, n, PF_CH_TRK_N, e)[j];
          const float c = img_of (&p, out, n, PF_CH_EMCAL, e)[j] + img_of (&p, out, n, PF_CH_HCAL, e)[j];
          if (t != 0)
            tp = (int) j, E = t, nz++;
          if (kp != 0 || kn != 0)
            {
              tk = (int) j;
              charge = kp != 0 ? 1 : -1;
              g_assert_true (kp == 0 || kn == 0);
            }
          if (c != 0)
            cal = (int) j;
        }
      g_assert_cmpint (nz, <=, 1);
      if (E <= 0.2 || tk < 0)
        continue; /* no track or no calorimeter deposit expected */
      g_assert_cmpint (tk, ==, tp); /* tracker at the undeflected phi */
      int col_t = tp % S;
      /* the generated phi lies somewhere in the truth bin: bound the deflected bin */
      double shift = charge * bfield / E;
      double lo = -G_PI + col_t * w + shift - 1e-5, hi = -G_PI + (col_t + 1) * w + shift + 1e-5;
      if (hi < -G_PI || lo > G_PI)
        {
          g_assert_cmpint (cal, <, 0); /* bent out of the image: lost */
          continue;
        }
      if (lo < -G_PI || hi > G_PI)
        continue; /* may or may not have left */
      g_assert_cmpint (cal, >=, 0);
      g_assert_cmpint (cal / S, ==, tp / S); /* same eta row */
      int col_c = cal % S;
      int bmin = (int) floor ((lo + G_PI) / w), bmax = (int) floor ((hi + G_PI) / w);
      g_assert_cmpint (col_c, >=, bmin);
      g_assert_cmpint (col_c, <=, bmax);
      int k = charge > 0;
      seen[k]++;
      if (charge > 0)
        {
          g_assert_cmpint (col_c, >=, col_t);
          shifted[k] += col_c > col_t;
        }
      else
        {
          g_assert_cmpint (col_c, <=, col_t);
          shifted[k] += col_c < col_t;
        }
    }
  g_test_message ("B = %g: %d positive (%d shifted), %d negative (%d shifted)", bfield,
                  seen[1], shifted[1], seen[0], shifted[0]);
  g_assert_cmpint (seen[0], >, n / 4);
  g_assert_cmpint (seen[1], >, n / 4);
  if (bfield > 0)
    {
      g_assert_cmpint (shifted[0], >, seen[0] / 2);
      g_assert_cmpint (shifted[1], >, seen[1] / 2);
    }
  else
    g_assert_cmpint (shifted[0] + shifted[1], ==, 0);
  g_free (out);
}

static void
test_deflection_images (void)
{
  check_single_charged (0.5);
  check_single_charged (1.5);
}

static void
test_bfield_zero (void)
{
  check_single_charged (0.0);
}

static void
test_wrap_phi (void)
{
  /* all charged, charged_range 1, strong field, NL 0, no resolution: the Emcal holds exactly
   * 0.1 E of every particle above 0.2 GeV when bent particles wrap, and less without */
  PfSimParams p = params_with_seed (23);
  p.frac_pi0 = 0;
  p.frac_neutral_cum = 0;
  p.charged_range = 1.0;
  p.bfield = 1.0;
  p.nonlin = 0;
  p.res_scale = 0;
  const int n = 40;
  const size_t npix = 56 * 56;
  double expected = 0;
  PfSimParticle *v = particles_alloc (&p, n);
  for (size_t i = 0; i < (size_t) n * p.n_particles; i++)
    if (v[i].e > 0.2f)
      expected += 0.1 * v[i].e;
  g_free (v);

  float *lost = run_alloc (&p, 0, n, 0);
  p.wrap_phi = TRUE;
  float *kept = run_alloc (&p, 0, n, 0);
  double s_lost = 0, s_kept = 0, t_lost = 0, t_kept = 0;
  for (int e = 0; e < n; e++)
    {
      s_lost += img_sum (img_of (&p, lost, n, PF_CH_EMCAL, e), npix);
      s_kept += img_sum (img_of (&p, kept, n, PF_CH_EMCAL, e), npix);
      t_lost += img_sum (img_of (&p, lost, n, PF_CH_TRUTH, e), npix);
      t_kept += img_sum (img_of (&p, kept, n, PF_CH_TRUTH, e), npix);
    }
  g_test_message ("Emcal energy: %.2f without wrap, %.2f with, %.2f expected", s_lost, s_kept, expected);
  g_assert_cmpfloat (fabs (s_kept - expected), <, 1e-5 * expected);
  g_assert_cmpfloat (s_lost, <, 0.98 * expected); /* a few percent bent out at B = 1 */
  g_assert_cmpfloat (t_lost, ==, t_kept);          /* the truth is not bent */
  g_free (lost);
  g_free (kept);

  /* wrapped phi stays in [-pi, pi] and equals the unwrapped one modulo 2 pi */
  v = particles_alloc (&p, 20);
  int wrapped = 0;
  for (size_t i = 0; i < (size_t) 20 * p.n_particles; i++)
    {
      const PfSimParticle *q = &v[i];
      if (q->e > 0.2f)
        {
          g_assert_cmpfloat (fabsf (q->phi_calo), <=, G_PI + 1e-6);
          double raw = q->phi + q->charge * 1.0 / q->e;
          double d = remainder (raw - q->phi_calo, 2 * G_PI);
          g_assert_cmpfloat (fabs (d), <=, 1e-5 * (1 + fabs (raw)));
          wrapped += fabs (raw) > G_PI;
          g_assert_cmpint (q->col_calo, >=, 0);
        }
    }
  g_assert_cmpint (wrapped, >, 100);
  g_free (v);
}

/* ---- against the numpy reference ---- */

typedef struct {
  double mean[PF_N_CHANNELS], sd[PF_N_CHANNELS];
  int n;
} ChannelStats;

static const char *channel_names[PF_N_CHANNELS] = { "emcal", "hcal", "trk_n", "trk_p", "truth" };

static gboolean
numpy_stats (const char *const *args, ChannelStats *st)
{
  const char *py = "/usr/bin/python3";
  int status = 0;
  const char *probe[] = { py, "-c", "import numpy", NULL };
  if (!g_file_test (py, G_FILE_TEST_IS_EXECUTABLE)
      || !g_spawn_sync (NULL, (char **) probe, NULL,
                        G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, NULL,
                        NULL, &status, NULL)
      || !g_spawn_check_wait_status (status, NULL))
    {
      g_test_skip ("/usr/bin/python3 with numpy is not available: numpy comparison not run");
      return FALSE;
    }
  char *script = pf_test_source_path ("tests/ref/sim_numpy.py");
  GPtrArray *argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (gpointer) py);
  g_ptr_array_add (argv, script);
  g_ptr_array_add (argv, (gpointer) "--stats");
  for (int i = 0; args[i]; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);
  char *out = NULL, *err = NULL;
  GError *error = NULL;
  if (!g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &err,
                     &status, &error))
    g_error ("cannot run %s: %s", script, error->message);
  if (!g_spawn_check_wait_status (status, NULL))
    g_error ("%s failed:\n%s", script, err);
  memset (st, 0, sizeof *st);
  int found = 0;
  char **lines = g_strsplit (out, "\n", -1);
  for (int i = 0; lines[i]; i++)
    {
      char **f = g_strsplit (lines[i], " ", -1);
      if (g_strv_length (f) == 5 && strcmp (f[0], "stats") == 0)
        for (int ch = 0; ch < PF_N_CHANNELS; ch++)
          if (strcmp (f[1], channel_names[ch]) == 0)
            {
              st->mean[ch] = g_ascii_strtod (f[2], NULL);
              st->sd[ch] = g_ascii_strtod (f[3], NULL);
              st->n = atoi (f[4]);
              found++;
            }
      g_strfreev (f);
    }
  g_strfreev (lines);
  g_assert_cmpint (found, ==, PF_N_CHANNELS);
  g_free (out);
  g_free (err);
  g_ptr_array_unref (argv);
  g_free (script);
  return TRUE;
}

static void
compare_with_numpy (const PfSimParams *p, const char *const *args, int n)
{
  ChannelStats ref;
  if (!numpy_stats (args, &ref))
    return;
  g_assert_cmpint (ref.n, ==, n);
  const size_t npix = (size_t) p->image_size * p->image_size;
  float *out = run_alloc (p, 0, n, 0);
  for (int ch = 0; ch < PF_N_CHANNELS; ch++)
    {
      double s = 0, s2 = 0;
      for (int e = 0; e < n; e++)
        {
          double v = img_sum (img_of (p, out, n, ch, e), npix);
          s += v;
          s2 += v * v;
        }
      double m = s / n, sd = sqrt ((s2 - n * m * m) / (n - 1));
      double se_m = sqrt (sd * sd / n + ref.sd[ch] * ref.sd[ch] / ref.n);
      /* per-event sums of 1600 particles are close to normal: se(sd) ~ sd / sqrt(2(n-1)) */
      double se_sd = sqrt (sd * sd / (2.0 * (n - 1)) + ref.sd[ch] * ref.sd[ch] / (2.0 * (ref.n - 1)));
      g_test_message ("%s: pflow %.3f +- %.3f (sd %.3f), numpy %.3f (sd %.3f)", channel_names[ch], m,
                      sd / sqrt (n), sd, ref.mean[ch], ref.sd[ch]);
      if (!(fabs (m - ref.mean[ch]) < PF_NSIG * se_m))
        g_error ("%s: mean of per-event sums %.4f (pflow) vs %.4f (numpy), 5 sigma = %.4f",
                 channel_names[ch], m, ref.mean[ch], PF_NSIG * se_m);
      /* a 6 sigma band on the spread: its standard error is only approximate */
      if (!(fabs (sd - ref.sd[ch]) < 6.0 * se_sd))
        g_error ("%s: sd of per-event sums %.4f (pflow) vs %.4f (numpy), 6 sigma = %.4f",
                 channel_names[ch], sd, ref.sd[ch], 6.0 * se_sd);
    }
  g_free (out);
}

static void
test_numpy_default (void)
{
  PfSimParams p = params_with_seed (1);
  const char *args[] = { "--events", "2000", "--seed", "5", NULL };
  compare_with_numpy (&p, args, 2000);
}

static void
test_numpy_options (void)
{
  PfSimParams p = params_with_seed (2);
  p.bfield = 2.0;
  p.nonlin = 0.1;
  p.res_scale = 3.0;
  p.charged_range = 1.0;
  p.wrap_phi = TRUE;
  const char *args[] = { "--events", "1500", "--seed", "6", "--bfield", "2.0", "--nonlin", "0.1",
                         "--res-scale", "3.0", "--charged-range", "1.0", "--wrap-phi", NULL };
  compare_with_numpy (&p, args, 1500);
  p.wrap_phi = FALSE;
  const char *args2[] = { "--events", "1500", "--seed", "7", "--bfield", "2.0", "--nonlin", "0.1",
                          "--res-scale", "3.0", "--charged-range", "1.0", NULL };
  compare_with_numpy (&p, args2, 1500);
}

/* ---- extra particles (jet test sets) ---- */

static void
test_extra_none (void)
{
  PfSimParams p = params_with_seed (77);
  const size_t npix = 56 * 56;
  float *a = g_new (float, PF_N_CHANNELS * npix), *b = poisoned ((PF_N_CHANNELS + 1) * npix);
  float *ia[PF_N_CHANNELS], *ib[PF_N_CHANNELS];
  event_planes (a, npix, ia);
  event_planes (b, npix, ib);
  pf_sim_event (&p, 5, ia);
  pf_sim_event_with_particles (&p, 5, NULL, 0, ib, b + PF_N_CHANNELS * npix);
  g_assert_true (memcmp (a, b, PF_N_CHANNELS * npix * sizeof (float)) == 0);
  for (size_t i = 0; i < npix; i++)
    g_assert_cmpfloat (b[PF_N_CHANNELS * npix + i], ==, 0.0f);

  /* the block form with empty lists: pf_sim_run's five channels, a zero jet channel */
  const int n = 6;
  float *ref = run_alloc (&p, 3, n, 1);
  float *o = poisoned ((PF_N_CHANNELS + 1) * npix * n);
  const PfSimInput *ex[6] = { NULL };
  int nx[6] = { 0 };
  pf_sim_run_with_particles (&p, 3, n, ex, nx, o, 2);
  g_assert_true (memcmp (o, ref, PF_N_CHANNELS * npix * n * sizeof (float)) == 0);
  for (size_t i = 0; i < npix * n; i++)
    g_assert_cmpfloat (o[PF_N_CHANNELS * npix * n + i], ==, 0.0f);
  g_free (ref);
  g_free (o);
  g_free (a);
  g_free (b);
}

/* Bin of x over [-half, half) in n bins (the values used below are far from edges). */
static int
bin_ref (double x, double half, int n)
{
  if (x < -half || x > half)
    return -1;
  return MIN (n - 1, (int) floor ((x + half) / (2 * half) * n));
}

/* One injected particle of each species on top of a full event: every pixel but the expected
 * ones is unchanged (bit for bit), and the expected ones grow by the DESIGN.md §4 response with
 * the noise of counter particle n_particles. */
static void
test_extra_species (void)
{
  PfSimParams p = params_with_seed (99);
  const int S = p.image_size;
  const size_t npix = (size_t) S * S;
  const int64_t ev = 11;
  uint32_t w[8];
  _pf_sim_words (p.seed, ev, (uint32_t) p.n_particles, w);
  float z_e, z_trk, z_emc, z_hcal;
  _pf_sim_normal2 (w[0], w[1], &z_e, &z_trk);
  _pf_sim_normal2 (w[2], w[3], &z_emc, &z_hcal);
  g_assert_cmpfloat (fabs (z_emc), >, 1e-3); /* the noise is really applied */

  float *plain = g_new (float, PF_N_CHANNELS * npix);
  float *with = g_new (float, (PF_N_CHANNELS + 1) * npix);
  float *ip[PF_N_CHANNELS], *iw[PF_N_CHANNELS];
  event_planes (plain, npix, ip);
  event_planes (with, npix, iw);
  float *jet = with + PF_N_CHANNELS * npix;
  pf_sim_event (&p, ev, ip);

  const struct { int species, charge; float e, eta, phi; } cases[] = {
    { PF_SIM_PI0, 0, 50.0f, 0.31f, 1.02f },
    { PF_SIM_NEUTRAL_HADRON, 0, 40.0f, -1.2f, -2.5f },
    { PF_SIM_CHARGED_HADRON, +1, 5.0f, 2.0f, 0.52f },  /* bent by +B/E = 0.1 rad */
    { PF_SIM_CHARGED_HADRON, -1, 4.0f, -0.4f, -0.03f }, /* bent by -0.125 rad */
    { PF_SIM_PI0, -1, 4.0f, 0.9f, 2.9f },              /* an electron: track, EM shower */
    { PF_SIM_NEUTRAL_HADRON, 0, 40.0f, 2.6f, 0.5f },   /* outside |eta| <= 2.5: lost */
  };
  for (guint c = 0; c < G_N_ELEMENTS (cases); c++)
    {
      PfSimInput in = { cases[c].e, cases[c].eta, cases[c].phi, cases[c].charge, cases[c].species };
      GError *error = NULL;
      g_assert_true (pf_sim_inputs_validate (&p, &in, 1, "case", &error));
      pf_sim_event_with_particles (&p, ev, &in, 1, iw, jet);

      double e = in.e, nl = p.nonlin, s = p.res_scale;
      int row = bin_ref (in.eta, p.eta_max, S), col = bin_ref (in.phi, G_PI, S);
      double phic = in.phi + in.charge * p.bfield / e;
      int colc = bin_ref (phic, G_PI, S);
      double w_trk = in.charge != 0 ? e * (1 + p.trk_res * s * z_trk) : 0;
      double w_emc, rest;
      if (in.species == PF_SIM_PI0)
        {
          w_emc = (e - nl * sqrt (e)) * 0.9 * (1 + p.emc_res * s * z_emc);
          rest = 0.1 * e;
        }
      else
        {
          w_emc = 0.1 * e * (1 + p.emc_res * s * z_emc);
          rest = 0.9 * e;
        }
      double w_hcal = (rest - nl * sqrt (rest)) * 0.9 * (1 + p.hcal_res * s * z_hcal);
      if (in.charge != 0)
        g_assert_cmpint (colc, !=, col); /* the cases are chosen so the bend moves a bin */
      int trk_ch = in.charge > 0 ? PF_CH_TRK_P : PF_CH_TRK_N;

      for (int ch = 0; ch <= PF_N_CHANNELS; ch++)
        for (size_t i = 0; i < npix; i++)
          {
            float got = ch < PF_N_CHANNELS ? iw[ch][i] : jet[i];
            double base = ch < PF_N_CHANNELS ? ip[ch][i] : 0.0, add = 0;
            if (row >= 0 && (int) i == row * S + col)
              {
                if (ch == PF_CH_TRUTH || ch == PF_N_CHANNELS)
                  add = e;
                else if (ch == trk_ch)
                  add = w_trk;
              }
            if (row >= 0 && colc >= 0 && (int) i == row * S + colc)
              {
                if (ch == PF_CH_EMCAL)
                  add = w_emc;
                else if (ch == PF_CH_HCAL)
                  add = w_hcal;
              }
            if (add == 0)
              g_assert_cmpfloat (got, ==, (float) base);
            else
              g_assert_cmpfloat (fabs (got - (base + add)), <=, 1e-5 * (base + add) + 1e-6);
          }
      if (row < 0)
        g_assert_cmpfloat (img_sum (jet, npix), ==, 0.0);
      else
        g_assert_cmpfloat (img_sum (jet, npix), ==, e);
    }
  g_free (plain);
  g_free (with);
}

/* Many events with lists of different lengths (over one batch of 64 too): bit-identical for
 * every thread count and to one event at a time; the jet channel sums what lands inside. */
static void
test_extra_threads (void)
{
  PfSimParams p = params_with_seed (5);
  p.n_particles = 300;
  const int n = 17;
  const size_t npix = 56 * 56, total = (PF_N_CHANNELS + 1) * npix * n;
  GRand *r = g_rand_new_with_seed (4);
  PfSimInput *lists[17];
  int counts[17];
  for (int i = 0; i < n; i++)
    {
      counts[i] = i == 3 ? 0 : g_rand_int_range (r, 1, 150);
      lists[i] = g_new (PfSimInput, MAX (counts[i], 1));
      for (int j = 0; j < counts[i]; j++)
        {
          PfSimInput *x = &lists[i][j];
          x->e = (float) g_rand_double_range (r, 0.05, 80);
          x->eta = (float) g_rand_double_range (r, -2.7, 2.7);
          x->phi = (float) g_rand_double_range (r, -G_PI, G_PI);
          x->species = g_rand_int_range (r, 0, 3);
          x->charge = x->species == PF_SIM_CHARGED_HADRON ? (g_rand_boolean (r) ? 1 : -1) : 0;
        }
      GError *error = NULL;
      g_assert_true (pf_sim_inputs_validate (&p, lists[i], counts[i], "list", &error));
    }
  g_rand_free (r);
  float *ref = g_new (float, total);
  pf_sim_run_with_particles (&p, 40, n, (const PfSimInput *const *) lists, counts, ref, 1);
  const int threads[] = { 2, 3, 0 };
  for (guint t = 0; t < G_N_ELEMENTS (threads); t++)
    {
      float *o = poisoned (total);
      pf_sim_run_with_particles (&p, 40, n, (const PfSimInput *const *) lists, counts, o,
                                 threads[t]);
      g_assert_true (memcmp (o, ref, total * sizeof (float)) == 0);
      g_free (o);
    }
  float *one = g_new (float, (PF_N_CHANNELS + 1) * npix);
  for (int i = 0; i < n; i++)
    {
      float *img[PF_N_CHANNELS];
      event_planes (one, npix, img);
      pf_sim_event_with_particles (&p, 40 + i, lists[i], counts[i], img, one + PF_N_CHANNELS * npix);
      for (int ch = 0; ch <= PF_N_CHANNELS; ch++)
        g_assert_true (memcmp (one + ch * npix, ref + ((size_t) ch * n + i) * npix,
                               npix * sizeof (float)) == 0);
      double inside = 0;
      for (int j = 0; j < counts[i]; j++)
        inside += fabsf (lists[i][j].eta) <= 2.5f ? lists[i][j].e : 0.0f;
      g_assert_cmpfloat (fabs (img_sum (one + PF_N_CHANNELS * npix, npix) - inside), <=, 1e-4 * inside + 1e-6);
    }
  g_free (one);
  g_free (ref);
  for (int i = 0; i < n; i++)
    g_free (lists[i]);
}

static void
test_extra_validate (void)
{
  PfSimParams p;
  pf_sim_params_init_default (&p);
  const PfSimInput bad[] = {
    { NAN, 0, 0, 0, PF_SIM_PI0 }, { -1, 0, 0, 0, PF_SIM_PI0 }, { 1, INFINITY, 0, 0, PF_SIM_PI0 },
    { 1, 0, 0, 2, PF_SIM_CHARGED_HADRON }, { 1, 0, 0, 0, 3 },
  };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      PfSimInput two[2] = { { 1, 0, 0, 0, PF_SIM_PI0 }, bad[i] };
      GError *error = NULL;
      g_assert_false (pf_sim_inputs_validate (&p, two, 2, "jets.hepmc3 event 4", &error));
      g_assert_error (error, PF_ERROR, PF_ERROR_INVALID);
      g_assert_nonnull (strstr (error->message, "jets.hepmc3 event 4: extra particle 1"));
      g_clear_error (&error);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/sim/params/defaults", test_params_defaults);
  g_test_add_func ("/sim/params/table", test_params_table);
  g_test_add_func ("/sim/params/validate", test_params_validate);
  g_test_add_func ("/sim/rng/philox", test_rng_philox);
  g_test_add_func ("/sim/rng/normal", test_rng_normal);
  g_test_add_func ("/sim/determinism", test_determinism);
  g_test_add_func ("/sim/generator-pin", test_generator_pin);
  g_test_add_func ("/sim/species", test_species);
  g_test_add_func ("/sim/energy-position", test_energy_and_position);
  g_test_add_func ("/sim/bins-images", test_bins_and_images);
  g_test_add_func ("/sim/thresholds", test_thresholds);
  g_test_add_func ("/sim/response", test_response);
  g_test_add_func ("/sim/deflection/particles", test_deflection_particles);
  g_test_add_func ("/sim/deflection/images", test_deflection_images);
  g_test_add_func ("/sim/bfield-zero", test_bfield_zero);
  g_test_add_func ("/sim/wrap-phi", test_wrap_phi);
  g_test_add_func ("/sim/numpy/default", test_numpy_default);
  g_test_add_func ("/sim/numpy/options", test_numpy_options);
  g_test_add_func ("/sim/extra/none", test_extra_none);
  g_test_add_func ("/sim/extra/species", test_extra_species);
  g_test_add_func ("/sim/extra/threads", test_extra_threads);
  g_test_add_func ("/sim/extra/validate", test_extra_validate);
  return g_test_run ();
}
