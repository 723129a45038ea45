/* test-jet-metrics.c — the jet metrics of core/eval/pf-jet-metrics.h on synthetic events whose
 * answers are known: scaled, shifted and periodic blobs, missing and extra jets, no jets. */
#include <glib.h>
#include <math.h>
#include <string.h>
#include "pf-error.h"
#include "pf-jet-metrics.h"

#define S 56
#define NPIX (S * S)

static const double h_eta = 5.0 / S, h_phi = 2 * G_PI / S;

/* Adds a Gaussian blob of energy e (sigma 1.2 pixels) centred on pixel (row, col) + (0.5, 0.5),
 * phi periodic; pixels below 0.2 GeV are dropped so that the pixel threshold never cuts into a
 * scaled copy. */
static void
add_blob (float *img, double e, int row, int col)
{
  double w[NPIX] = { 0 }, sum = 0;
  for (int r = 0; r < S; r++)
    for (int c = 0; c < S; c++)
      {
        int dc = abs (c - col);
        dc = MIN (dc, S - dc);
        double d2 = (double) (r - row) * (r - row) + (double) dc * dc;
        w[r * S + c] = exp (-d2 / (2 * 1.2 * 1.2));
        sum += w[r * S + c];
      }
  for (int i = 0; i < NPIX; i++)
    {
      double v = e * w[i] / sum;
      img[i] += v >= 0.2 ? (float) v : 0.0f;
    }
}

/* The image moved by dc columns (periodic). */
static void
shift_cols (const float *in, float *out, int dc)
{
  for (int r = 0; r < S; r++)
    for (int c = 0; c < S; c++)
      out[r * S + ((c + dc) % S + S) % S] = in[r * S + c];
}

static void
summary_of (const PfJetMetricsOptions *o, const float *pred, const float *truth, int n,
            PfJetSummary *s)
{
  GError *error = NULL;
  PfJetMetrics *m = pf_jet_metrics_new (o, &error);
  g_assert_no_error (error);
  g_assert_true (pf_jet_metrics_add (m, n, pred, truth, &error));
  g_assert_no_error (error);
  pf_jet_metrics_summarize (m, s);
  pf_jet_metrics_free (m);
}

static void
test_scaled (void)
{
  PfJetMetricsOptions o;
  pf_jet_metrics_options_init (&o, S);
  float truth[NPIX] = { 0 }, pred[NPIX];
  add_blob (truth, 300, 33, 36); /* eta 0.49, phi 0.84 */
  add_blob (truth, 400, 8, 10);  /* eta -1.74 (pt 137), phi -1.96 */
  for (int i = 0; i < NPIX; i++)
    pred[i] = 1.1f * truth[i];
  PfJetSummary s;
  summary_of (&o, pred, truth, 1, &s);
  g_assert_cmpint (s.n_truth_jets, ==, 2);
  g_assert_cmpint (s.n_matched, ==, 2);
  g_assert_cmpint (s.n_unmatched_truth, ==, 0);
  g_assert_cmpint (s.n_unmatched_pred, ==, 0);
  g_assert_null (s.reason);
  g_assert_cmpfloat (fabs (s.rel_energy.mean - 0.1), <, 1e-6);
  g_assert_cmpfloat (s.rel_energy.std, <, 1e-6);
  g_assert_cmpfloat (fabs (s.d_rap.mean), <, 1e-9);
  g_assert_cmpfloat (fabs (s.d_phi.mean), <, 1e-9);
  g_assert_cmpfloat (s.pos_dev_px.mean, <, 1e-6);
  /* each circle (radius ~R) holds nearly all of its blob: 0.1 x (300 + 400) / 2 on average */
  g_assert_cmpfloat (fabs (s.energy_dev.mean - 35.0), <, 0.7);
  g_assert_cmpint (s.counts[(int) ((0.1 - s.lo) / ((s.hi - s.lo) / s.nbins))], ==, 2);
  pf_jet_summary_clear (&s);
}

static void
check_shift (PfMatchMode mode)
{
  PfJetMetricsOptions o;
  pf_jet_metrics_options_init (&o, S);
  o.match = mode;
  float truth[NPIX] = { 0 }, pred[NPIX];
  add_blob (truth, 400, 28, 20);
  shift_cols (truth, pred, 2);
  PfJetSummary s;
  summary_of (&o, pred, truth, 1, &s);
  g_assert_cmpint (s.n_matched, ==, 1);
  g_assert_cmpfloat (fabs (s.d_phi.mean - 2 * h_phi), <, 1e-6);
  g_assert_cmpfloat (fabs (s.d_rap.mean), <, 1e-6);
  g_assert_cmpfloat (fabs (s.delta_r.mean - 2 * h_phi), <, 1e-6);
  g_assert_cmpfloat (fabs (s.pos_dev_px.mean - 2.0), <, 1e-5);
  g_assert_cmpfloat (fabs (s.rel_energy.mean), <, 1e-6); /* same eta, same energy */
  pf_jet_summary_clear (&s);

  /* one row up: d_rap one eta pixel, position deviation one pixel */
  float up[NPIX] = { 0 };
  memcpy (up + S, truth, (NPIX - S) * sizeof (float));
  summary_of (&o, up, truth, 1, &s);
  g_assert_cmpint (s.n_matched, ==, 1);
  g_assert_cmpfloat (fabs (s.d_rap.mean - h_eta), <, 2e-3); /* rapidity of a massive jet */
  g_assert_cmpfloat (fabs (s.pos_dev_px.mean - 1.0), <, 0.02);
  pf_jet_summary_clear (&s);
}

static void
test_shifted (void)
{
  check_shift (PF_MATCH_OVERLAP);
  check_shift (PF_MATCH_DELTA_R);
}

/* A jet across phi = +-pi, moved by one column across the edge: matched, d_phi one pixel. */
static void
test_wrap (void)
{
  PfJetMetricsOptions o;
  pf_jet_metrics_options_init (&o, S);
  float truth[NPIX] = { 0 }, pred[NPIX];
  add_blob (truth, 350, 30, 55);
  shift_cols (truth, pred, 1);
  GError *error = NULL;
  PfJetEvent ev;
  g_assert_true (pf_jet_event_compute (&o, pred, truth, &ev, &error));
  g_assert_cmpint (ev.n_truth, ==, 1);
  g_assert_cmpint (ev.n_pred, ==, 1);
  g_assert_cmpint (ev.n_matches, ==, 1);
  g_assert_cmpfloat (fabs (ev.matches[0].d_phi - h_phi), <, 1e-6);
  g_assert_cmpfloat (fabs (ev.pos_dev_px[0] - 1.0), <, 1e-5);
  /* the energy deviation counts the circle's pixels on both sides of the edge: the shifted
   * blob has the same energy inside the circle up to its tail */
  g_assert_cmpfloat (fabs (ev.energy_dev[0]), <, 0.1 * 350);
  pf_jet_event_clear (&ev);
}

/* A missing jet, an extra jet, and jets below the pt cut. */
static void
test_unmatched (void)
{
  PfJetMetricsOptions o;
  pf_jet_metrics_options_init (&o, S);
  float truth[NPIX] = { 0 }, pred[NPIX] = { 0 };
  add_blob (truth, 300, 28, 10);
  add_blob (truth, 300, 28, 40);  /* missed */
  add_blob (truth, 40, 10, 25);   /* below 80 GeV: not measured */
  add_blob (pred, 300, 28, 10);
  add_blob (pred, 250, 45, 25);   /* a fake */
  PfJetSummary s;
  summary_of (&o, pred, truth, 1, &s);
  g_assert_cmpint (s.n_truth_jets, ==, 2);
  g_assert_cmpint (s.n_matched, ==, 1);
  g_assert_cmpint (s.n_unmatched_truth, ==, 1);
  g_assert_cmpint (s.n_unmatched_pred, ==, 1);
  pf_jet_summary_clear (&s);
}

/* No jets: counted, a reason, never NaN in the JSON. */
static void
test_empty (void)
{
  PfJetMetricsOptions o;
  pf_jet_metrics_options_init (&o, S);
  float *z = g_new0 (float, 3 * NPIX);
  add_blob (z + NPIX, 30, 20, 20); /* soft: below the cut */
  PfJetSummary s;
  summary_of (&o, z, z, 3, &s);
  g_assert_cmpint (s.n_events, ==, 3);
  g_assert_cmpint (s.n_truth_jets, ==, 0);
  g_assert_cmpint (s.n_matched, ==, 0);
  g_assert_nonnull (s.reason);
  g_assert_nonnull (strstr (s.reason, "no truth jet above 80 GeV"));
  g_assert_false (s.fitted);
  g_assert_nonnull (s.fit_reason);
  g_assert_true (isnan (s.rel_energy.mean));
  GString *js = g_string_new (NULL);
  pf_jet_summary_to_json (&s, &o, js, 2);
  g_assert_null (strstr (js->str, "nan"));
  g_assert_null (strstr (js->str, "inf"));
  g_assert_nonnull (strstr (js->str, "\"relative_energy_error\": {\"mean\": null"));
  g_string_free (js, TRUE);
  pf_jet_summary_clear (&s);
  g_free (z);

  /* a non-finite pixel is an error, and nothing is added */
  PfJetMetrics *m = pf_jet_metrics_new (&o, NULL);
  float bad[NPIX] = { 0 };
  bad[77] = NAN;
  GError *error = NULL;
  g_assert_false (pf_jet_metrics_add (m, 1, bad, bad, &error));
  g_assert_error (error, PF_ERROR, PF_ERROR_NUMERIC);
  g_clear_error (&error);
  pf_jet_metrics_summarize (m, &s);
  g_assert_cmpint (s.n_events, ==, 0);
  pf_jet_summary_clear (&s);
  pf_jet_metrics_free (m);
}

/* Scale factors 1 + N(0, 0.05) per event: mean, std and the Gaussian fit find them. */
static void
test_fit (void)
{
  PfJetMetricsOptions o;
  pf_jet_metrics_options_init (&o, S);
  const int n = 300;
  float *truth = g_new0 (float, (gsize) n * NPIX), *pred = g_new (float, (gsize) n * NPIX);
  GRand *r = g_rand_new_with_seed (3);
  double sum = 0, sum2 = 0;
  for (int e = 0; e < n; e++)
    {
      float *t = truth + (gsize) e * NPIX, *p = pred + (gsize) e * NPIX;
      add_blob (t, 300, g_rand_int_range (r, 8, 48), g_rand_int_range (r, 0, S));
      double u1 = g_rand_double (r), u2 = g_rand_double (r);
      double k = 0.05 * sqrt (-2 * log (1 - u1)) * cos (2 * G_PI * u2);
      for (int i = 0; i < NPIX; i++)
        p[i] = (float) ((1 + k) * t[i]);
      sum += k;
      sum2 += k * k;
    }
  g_rand_free (r);
  PfJetSummary s;
  summary_of (&o, pred, truth, n, &s);
  g_assert_cmpint (s.n_matched, ==, n);
  double mean = sum / n, std = sqrt (sum2 / n - mean * mean);
  g_assert_cmpfloat (fabs (s.rel_energy.mean - mean), <, 1e-5);
  g_assert_cmpfloat (fabs (s.rel_energy.std - std), <, 1e-5);
  g_assert_true (s.fitted);
  g_assert_cmpfloat (fabs (s.fit.mean), <, 4 * 0.05 / sqrt (n));
  g_assert_cmpfloat (fabs (s.fit.sigma - 0.05), <, 0.01);
  pf_jet_summary_clear (&s);
  g_free (truth);
  g_free (pred);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/jet-metrics/scaled", test_scaled);
  g_test_add_func ("/jet-metrics/shifted", test_shifted);
  g_test_add_func ("/jet-metrics/wrap", test_wrap);
  g_test_add_func ("/jet-metrics/unmatched", test_unmatched);
  g_test_add_func ("/jet-metrics/empty", test_empty);
  g_test_add_func ("/jet-metrics/fit", test_fit);
  return g_test_run ();
}
