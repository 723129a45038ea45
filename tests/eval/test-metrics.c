/* test-metrics.c — pixel metrics, Gaussian fit, baseline and report on synthetic events with
 * known answers, and against the numpy reference tests/eval/metrics_numpy.py. */
#include <glib.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "pf-error.h"
#include "pf-metrics.h"
#include "pf-baseline.h"
#include "pf-eval-report.h"
#include "pf-gauss-fit.h"
#include "pf-test-util.h"

#define S 56
#define PX (S * S)

/* Sparse events: 30 % of the pixels hold an exponential energy of mean 4 GeV, which fills
 * every default band. */
static float *
make_truth (int n, guint32 seed)
{
  GRand *r = g_rand_new_with_seed (seed);
  float *t = g_new0 (float, (size_t) n * PX);
  for (size_t i = 0; i < (size_t) n * PX; i++)
    if (g_rand_double (r) < 0.3)
      t[i] = (float) (-4.0 * log (1.0 - g_rand_double (r)));
  g_rand_free (r);
  return t;
}

static PfMetricsSummary
summarize (int n, const float *pred, const float *truth, gboolean paper)
{
  PfMetricsOptions o;
  pf_metrics_options_init (&o, S);
  o.paper_compat = paper;
  GError *error = NULL;
  PfMetrics *m = pf_metrics_new (&o, &error);
  g_assert_no_error (error);
  g_assert_true (pf_metrics_add (m, n, pred, truth, &error));
  g_assert_no_error (error);
  PfMetricsSummary s;
  g_assert_true (pf_metrics_summarize (m, &s, &error));
  g_assert_no_error (error);
  pf_metrics_free (m);
  return s;
}

static void
test_perfect (void)
{
  const int n = 20;
  float *t = make_truth (n, 1);
  PfMetricsSummary s = summarize (n, t, t, FALSE);
  g_assert_cmpint (s.n_events, ==, n);
  g_assert_cmpfloat (s.wmse, ==, 0);
  g_assert_cmpfloat (s.wmse_per_column, ==, 0);
  g_assert_cmpint (s.n_bands, ==, 3);
  for (int b = 0; b < 3; b++)
    {
      g_assert_cmpint (s.bands[b].n_pixels, >, 50);
      g_assert_cmpfloat (s.bands[b].residual_mean, ==, 0);
      g_assert_cmpfloat (s.bands[b].residual_std, ==, 0);
      g_assert_null (s.bands[b].residual_reason);
      g_assert_cmpint (s.bands[b].shift_events, ==, n);
      g_assert_cmpfloat (fabs (s.bands[b].shift_mean), <, 1e-12);
    }
  g_assert_cmpstr (s.bands[1].label, ==, "(5,10]");
  g_assert_cmpstr (s.bands[2].label, ==, ">10");
  /* Every difference is 0: one filled bin, so the fit reports why it cannot run. */
  g_assert_false (s.ediff.fitted);
  g_assert_nonnull (s.ediff.fit_reason);
  g_assert_cmpfloat (s.ediff.sample_mean, ==, 0);
  pf_metrics_summary_clear (&s);
  g_free (t);
}

static void
test_scaled (void)
{
  const int n = 20;
  float *t = make_truth (n, 2);
  float *p = g_new (float, (size_t) n * PX);
  for (size_t i = 0; i < (size_t) n * PX; i++)
    p[i] = 1.1f * t[i];
  PfMetricsSummary s = summarize (n, p, t, FALSE);
  for (int b = 0; b < 3; b++)
    {
      g_assert_cmpfloat_with_epsilon (s.bands[b].residual_mean, 0.1, 1e-6);
      g_assert_cmpfloat (s.bands[b].residual_std, <, 1e-6);
      /* Scaling moves no centroid computed with the image's own energy. */
      g_assert_cmpfloat (s.bands[b].shift_mean, <, 1e-6); /* float rounding of 1.1f t */
    }
  /* WMSE by hand: sum y (0.1 y)^2 / sum y per event. */
  double want = 0;
  for (int e = 0; e < n; e++)
    {
      double num = 0, den = 0;
      for (int k = 0; k < PX; k++)
        {
          double y = t[e * PX + k], d = p[e * PX + k] - y;
          num += y * d * d;
          den += y;
        }
      want += num / (den + 1e-8) / n;
    }
  g_assert_cmpfloat (fabs (s.wmse - want), <, 1e-9 * want);
  g_assert_cmpfloat (s.wmse, >, 0);
  pf_metrics_summary_clear (&s);
  /* The published definition divides the predicted moments by the TRUE energy: a 10 % scale
   * then moves the predicted centroid by 10 % of its coordinates. */
  s = summarize (n, p, t, TRUE);
  for (int b = 0; b < 3; b++)
    g_assert_cmpfloat (s.bands[b].shift_mean, >, 1.0);
  pf_metrics_summary_clear (&s);
  g_free (t);
  g_free (p);
}

static void
test_shift (void)
{
  /* A 3 x 4 block of 6 GeV; the prediction is the block moved one column to the right. Over
   * the true pixels the prediction is 6 GeV in columns 11..13 and 0 in column 10: the
   * predicted centroid is at column 12, the true one at 11.5, so the shift is 0.5 px. */
  float *t = g_new0 (float, PX), *p = g_new0 (float, PX);
  for (int i = 10; i <= 12; i++)
    for (int j = 10; j <= 13; j++)
      {
        t[i * S + j] = 6;
        p[i * S + j + 1] = 6;
      }
  PfMetricsSummary s = summarize (1, p, t, FALSE);
  g_assert_cmpint (s.bands[1].shift_events, ==, 1);
  g_assert_cmpfloat_with_epsilon (s.bands[1].shift_mean, 0.5, 1e-12);
  g_assert_cmpfloat (s.bands[1].shift_std, ==, 0);
  /* Residual: 3 pixels of -1 and 9 of 0. */
  g_assert_cmpfloat_with_epsilon (s.bands[1].residual_mean, -0.25, 1e-12);
  g_assert_cmpfloat_with_epsilon (s.bands[1].residual_std, sqrt (0.25 * 0.75), 1e-12);
  pf_metrics_summary_clear (&s);

  /* Two true pixels of 6 GeV at (10,10) and (10,12); predicted 6 and 12. Own energy: column
   * (60 + 144) / 18 = 11.333 against 11, shift 1/3. Paper: both moments over the true 12 GeV:
   * (180/12, 204/12) = (15, 17) against (10, 11), shift sqrt(25 + 36). */
  memset (t, 0, PX * sizeof (float));
  memset (p, 0, PX * sizeof (float));
  t[10 * S + 10] = 6; t[10 * S + 12] = 6;
  p[10 * S + 10] = 6; p[10 * S + 12] = 12;
  s = summarize (1, p, t, FALSE);
  g_assert_cmpfloat_with_epsilon (s.bands[1].shift_mean, 1.0 / 3, 1e-12);
  pf_metrics_summary_clear (&s);
  s = summarize (1, p, t, TRUE);
  g_assert_cmpfloat_with_epsilon (s.bands[1].shift_mean, sqrt (61.0), 1e-12);
  pf_metrics_summary_clear (&s);

  /* A prediction of zero over the band: no predicted centroid, counted as undefined. */
  p[10 * S + 10] = 0; p[10 * S + 12] = 0;
  s = summarize (1, p, t, FALSE);
  g_assert_cmpint (s.bands[1].shift_events, ==, 0);
  g_assert_cmpint (s.bands[1].shift_undefined, ==, 1);
  g_assert_true (isnan (s.bands[1].shift_mean));
  g_assert_nonnull (strstr (s.bands[1].shift_reason, "predicted energy <= 0"));
  pf_metrics_summary_clear (&s);
  g_free (t);
  g_free (p);
}

static void
test_empty_band (void)
{
  float *t = g_new0 (float, PX), *p = g_new0 (float, PX);
  t[5 * S + 5] = 3; p[5 * S + 5] = 3.3f;  /* (2,5] */
  t[7 * S + 9] = 20; p[7 * S + 9] = 18;   /* >10 */
  t[9 * S + 9] = 0.05f;                   /* under the 0.1 GeV threshold: no band */
  t[9 * S + 10] = 1.5f; p[9 * S + 10] = 1; /* under 2 GeV: no band */
  PfMetricsOptions o;
  pf_metrics_options_init (&o, S);
  GError *error = NULL;
  PfMetrics *m = pf_metrics_new (&o, &error);
  g_assert_true (pf_metrics_add (m, 1, p, t, &error));
  PfMetricsSummary s;
  g_assert_true (pf_metrics_summarize (m, &s, &error));
  g_assert_cmpint (s.bands[0].n_pixels, ==, 1);
  g_assert_cmpfloat_with_epsilon (s.bands[0].residual_mean, 0.1, 1e-6);
  g_assert_cmpint (s.bands[1].n_pixels, ==, 0);
  g_assert_true (isnan (s.bands[1].residual_mean));
  g_assert_cmpstr (s.bands[1].residual_reason, ==, "no truth pixels in (5,10] GeV");
  g_assert_cmpstr (s.bands[1].shift_reason, ==, "no truth pixels in (5,10] GeV");
  g_assert_cmpint (s.bands[2].n_pixels, ==, 1);
  g_assert_cmpfloat_with_epsilon (s.bands[2].residual_mean, -0.1, 1e-7);
  GString *js = g_string_new (NULL);
  pf_metrics_summary_to_json (&s, &o, js, 0);
  g_assert_nonnull (strstr (js->str, "\"residual_mean\": null"));
  g_assert_nonnull (strstr (js->str, "\"residual_reason\": \"no truth pixels in (5,10] GeV\""));
  g_assert_null (strstr (js->str, "nan"));
  g_assert_null (strstr (js->str, "inf"));
  g_string_free (js, TRUE);
  pf_metrics_summary_clear (&s);

  /* Band edges are a parameter: one band (1, inf) now holds all four real pixels above 1. */
  o.n_bands = 1;
  o.band_edges[0] = 1;
  PfMetrics *m1 = pf_metrics_new (&o, &error);
  g_assert_true (pf_metrics_add (m1, 1, p, t, &error));
  g_assert_true (pf_metrics_summarize (m1, &s, &error));
  g_assert_cmpint (s.bands[0].n_pixels, ==, 3);
  g_assert_cmpstr (s.bands[0].label, ==, ">1");
  pf_metrics_summary_clear (&s);
  pf_metrics_free (m1);

  /* Decreasing edges are refused. */
  o.n_bands = 2;
  o.band_edges[1] = 0.5;
  g_assert_null (pf_metrics_new (&o, &error));
  g_assert_error (error, PF_ERROR, PF_ERROR_INVALID);
  g_clear_error (&error);
  pf_metrics_free (m);
  g_free (t);
  g_free (p);
}

static void
test_wmse_column (void)
{
  /* Column 3: y = 1, p = 2; column 7: y = 4, p = 4. Per image 1 / 5; per column
   * (1/(1+eps) + 0) / 56 since empty columns give 0 / eps = 0. */
  float *t = g_new0 (float, PX), *p = g_new0 (float, PX);
  t[2 * S + 3] = 1; p[2 * S + 3] = 2;
  t[4 * S + 7] = 4; p[4 * S + 7] = 4;
  PfMetricsSummary s = summarize (1, p, t, FALSE);
  g_assert_cmpfloat_with_epsilon (s.wmse, 0.2, 1e-8);
  g_assert_cmpfloat_with_epsilon (s.wmse_per_column, 1.0 / S, 1e-8);
  pf_metrics_summary_clear (&s);
  g_free (t);
  g_free (p);
}

static void
test_nonfinite (void)
{
  PfMetricsOptions o;
  pf_metrics_options_init (&o, S);
  PfMetrics *m = pf_metrics_new (&o, NULL);
  float *t = make_truth (2, 3), *p = g_memdup2 (t, 2 * PX * sizeof (float));
  p[PX + 17] = NAN;
  GError *error = NULL;
  g_assert_false (pf_metrics_add (m, 2, p, t, &error));
  g_assert_error (error, PF_ERROR, PF_ERROR_NUMERIC);
  g_assert_nonnull (strstr (error->message, "event 1"));
  g_clear_error (&error);
  g_assert_cmpint (pf_metrics_n_events (m), ==, 0);
  PfMetricsSummary s;
  g_assert_false (pf_metrics_summarize (m, &s, &error));
  g_assert_error (error, PF_ERROR, PF_ERROR_INVALID);
  g_clear_error (&error);
  pf_metrics_free (m);
  g_free (t);
  g_free (p);
}

static double
normal (GRand *r)
{
  double u = g_rand_double (r), v = g_rand_double (r);
  return sqrt (-2 * log (1 - u)) * cos (2 * G_PI * v);
}

static void
test_gauss_fit (void)
{
  const int nb = 80, N = 200000;
  const double mu = 0.3, sig = 1.7, lo = mu - 5 * sig, hi = mu + 5 * sig;
  double *c = g_new0 (double, nb);
  GRand *r = g_rand_new_with_seed (7);
  for (int i = 0; i < N; i++)
    {
      double x = mu + sig * normal (r);
      if (x >= lo && x < hi)
        c[(int) ((x - lo) / (hi - lo) * nb)] += 1;
    }
  g_rand_free (r);
  PfGaussFit f;
  GError *error = NULL;
  g_assert_true (pf_gauss_fit_histogram (c, nb, lo, hi, &f, &error));
  g_assert_no_error (error);
  g_test_message ("mean %.4f +- %.4f sigma %.4f +- %.4f chi2/ndf %.1f/%d", f.mean, f.mean_err,
                  f.sigma, f.sigma_err, f.chi2, f.ndf);
  g_assert_cmpfloat (fabs (f.mean - mu), <, 4 * f.mean_err);
  g_assert_cmpfloat (fabs (f.sigma - sig), <, 4 * f.sigma_err);
  /* The errors are those of N normal samples: sigma/sqrt(N), sigma/sqrt(2N). */
  g_assert_cmpfloat (fabs (f.mean_err / (sig / sqrt (N)) - 1), <, 0.2);
  g_assert_cmpfloat (fabs (f.sigma_err / (sig / sqrt (2.0 * N)) - 1), <, 0.25);
  g_assert_cmpfloat (f.chi2 / f.ndf, <, 2.0);
  g_assert_cmpfloat (f.chi2 / f.ndf, >, 0.3);

  /* Too few filled bins: refused with a reason, not a silent NaN. */
  double few[10] = { 0, 0, 5, 9, 4, 0, 0, 0, 0, 0 };
  g_assert_false (pf_gauss_fit_histogram (few, 10, 0, 1, &f, &error));
  g_assert_error (error, PF_ERROR, PF_ERROR_INVALID);
  g_clear_error (&error);
  /* A fixed range that misses the peak: the tail is not fitted, and the reason says so. */
  g_assert_true (pf_gauss_fit_check_coverage (133, 133, -0.6, 0.6, &error));
  g_assert_no_error (error);
  g_assert_false (pf_gauss_fit_check_coverage (133, 376, -0.6, 0.6, &error));
  g_assert_error (error, PF_ERROR, PF_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "376 of 509 entries lie outside [-0.6, 0.6]"));
  g_clear_error (&error);
  g_free (c);
}

static void
test_ediff_fit (void)
{
  /* Prediction = truth + N(0, 0.5 GeV) on the true pixels; normalised by (0, 50): the fitted
   * sigma is 0.01 and the mean 0. The automatic range follows the data. */
  const int n = 40;
  float *t = make_truth (n, 11), *p = g_new (float, (size_t) n * PX);
  GRand *r = g_rand_new_with_seed (12);
  for (size_t i = 0; i < (size_t) n * PX; i++)
    p[i] = t[i] != 0 ? t[i] + 0.5f * (float) normal (r) : 0;
  g_rand_free (r);
  PfMetricsOptions o;
  pf_metrics_options_init (&o, S);
  o.norm_min = 0;
  o.norm_max = 50;
  PfMetrics *m = pf_metrics_new (&o, NULL);
  GError *error = NULL;
  g_assert_true (pf_metrics_add (m, n, p, t, &error));
  PfMetricsSummary s;
  g_assert_true (pf_metrics_summarize (m, &s, &error));
  g_assert_true (s.ediff.fitted);
  g_test_message ("ediff: n %" G_GINT64_FORMAT " range [%g, %g] mean %g +- %g sigma %g +- %g",
                  s.ediff.n_pixels, s.ediff.lo, s.ediff.hi, s.ediff.fit.mean,
                  s.ediff.fit.mean_err, s.ediff.fit.sigma, s.ediff.fit.sigma_err);
  g_assert_cmpfloat (fabs (s.ediff.fit.mean), <, 4 * s.ediff.fit.mean_err);
  g_assert_cmpfloat (fabs (s.ediff.fit.sigma - 0.01), <, 4 * s.ediff.fit.sigma_err);
  g_assert_cmpfloat (s.ediff.lo, <, -0.04);
  g_assert_cmpfloat (s.ediff.hi, >, 0.04);
  double total = s.ediff.underflow + s.ediff.overflow;
  for (int i = 0; i < s.ediff.nbins; i++)
    total += s.ediff.counts[i];
  g_assert_cmpfloat (total, ==, (double) s.ediff.n_pixels);
  pf_metrics_summary_clear (&s);
  pf_metrics_free (m);
  g_free (t);
  g_free (p);
}

/* inputs [4][n][S][S] with emcal, hcal, tracks; truth = tracks + a emcal + b hcal + noise. */
static void
make_baseline_data (int n, double a, double b, double noise, float **inputs, float **truth)
{
  size_t plane = (size_t) n * PX;
  GRand *r = g_rand_new_with_seed (5);
  *inputs = g_new0 (float, 4 * plane);
  *truth = g_new0 (float, plane);
  for (size_t i = 0; i < plane; i++)
    {
      for (int c = 0; c < 4; c++)
        if (g_rand_double (r) < 0.25)
          (*inputs)[c * plane + i] = (float) (-3 * log (1 - g_rand_double (r)));
      const float *in = *inputs;
      (*truth)[i] = (float) (in[2 * plane + i] + in[3 * plane + i] + a * in[i]
                             + b * in[plane + i] + noise * normal (r));
    }
  g_rand_free (r);
}

static void
test_baseline (void)
{
  const int n = 30;
  float *in, *t;
  make_baseline_data (n, 1.25, 1.6, 0.05, &in, &t);
  PfBaselineFit *f = pf_baseline_fit_new (S);
  GError *error = NULL;
  /* Two blocks give the same answer as one: the fit streams. */
  const size_t plane = (size_t) n * PX;
  float *in_a = g_new (float, 4 * 10 * PX), *in_b = g_new (float, 4 * 20 * PX);
  for (int c = 0; c < 4; c++)
    {
      memcpy (in_a + c * 10 * PX, in + c * plane, 10 * PX * sizeof (float));
      memcpy (in_b + c * 20 * PX, in + c * plane + 10 * PX, 20 * PX * sizeof (float));
    }
  g_assert_true (pf_baseline_fit_add (f, 10, in_a, t, &error));
  g_assert_true (pf_baseline_fit_add (f, 20, in_b, t + 10 * PX, &error));
  g_assert_no_error (error);
  PfBaseline bl;
  g_assert_true (pf_baseline_fit_finish (f, &bl, &error));
  g_assert_no_error (error);
  g_test_message ("a = %.5f +- %.5f, b = %.5f +- %.5f, rms %.4f", bl.a, bl.a_err, bl.b,
                  bl.b_err, bl.rms);
  g_assert_cmpfloat (fabs (bl.a - 1.25), <, 5 * bl.a_err);
  g_assert_cmpfloat (fabs (bl.b - 1.6), <, 5 * bl.b_err);
  g_assert_cmpfloat (bl.a_err, <, 1e-3);
  g_assert_cmpfloat (bl.b_err, >, 0);
  g_assert_cmpint (bl.n_events, ==, n);
  g_assert_cmpfloat (fabs (bl.rms / 0.05 - 1), <, 0.3); /* noise over ~all non-empty pixels */
  pf_baseline_fit_free (f);

  /* apply: trk_n + trk_p + a emcal + b hcal. */
  float *pred = g_new (float, plane);
  pf_baseline_apply (&bl, n, S, in, pred);
  size_t k = 12345;
  g_assert_cmpfloat_with_epsilon (pred[k], in[2 * plane + k] + in[3 * plane + k]
                                  + bl.a * in[k] + bl.b * in[plane + k], 1e-4);

  /* save / load round trip; a broken file is refused. */
  char *dir = g_dir_make_tmp ("pflow-eval-XXXXXX", &error);
  char *path = g_build_filename (dir, "baseline.ini", NULL);
  g_assert_true (pf_baseline_save (&bl, path, &error));
  g_assert_no_error (error);
  PfBaseline back;
  g_assert_true (pf_baseline_load (&back, path, &error));
  g_assert_no_error (error);
  g_assert_cmpfloat (back.a, ==, bl.a);
  g_assert_cmpfloat (back.b, ==, bl.b);
  g_assert_cmpint (back.n_pixels, ==, bl.n_pixels);
  g_assert_true (g_file_set_contents (path, "[baseline]\na=1\nb=nan\n", -1, NULL));
  g_assert_false (pf_baseline_load (&back, path, &error));
  g_assert_error (error, PF_ERROR, PF_ERROR_FORMAT);
  g_clear_error (&error);
  g_assert_false (pf_baseline_load (&back, "/nonexistent/baseline.ini", &error));
  g_assert_error (error, PF_ERROR, PF_ERROR_IO);
  g_clear_error (&error);
  g_unlink (path);
  g_rmdir (dir);
  g_free (path);
  g_free (dir);

  /* hcal zero everywhere: b cannot be fitted. */
  memset (in + plane, 0, plane * sizeof (float));
  f = pf_baseline_fit_new (S);
  g_assert_true (pf_baseline_fit_add (f, n, in, t, &error));
  g_assert_false (pf_baseline_fit_finish (f, &bl, &error));
  g_assert_error (error, PF_ERROR, PF_ERROR_NUMERIC);
  g_assert_nonnull (strstr (error->message, "hcal"));
  g_clear_error (&error);
  pf_baseline_fit_free (f);
  g_free (in); g_free (t); g_free (in_a); g_free (in_b); g_free (pred);
}

/* Fails the test when `path` is not JSON or holds NaN/Infinity (Python's json accepts them
 * unless told otherwise). Skips the check without python3. */
static void
check_json_with_python (const char *path)
{
  if (!g_file_test ("/usr/bin/python3", G_FILE_TEST_IS_EXECUTABLE))
    {
      g_test_message ("no python3: JSON syntax not checked by a parser");
      return;
    }
  const char *argv[] = { "/usr/bin/python3", "-c",
    "import json, sys\n"
    "def bad(c): sys.exit('non-finite constant ' + c)\n"
    "d = json.load(open(sys.argv[1]), parse_constant=bad)\n"
    "assert d['format'] == 'pflow-eval' and d['model']['bands'][0]['band'] == '(2,5]'\n",
    path, NULL };
  int status = 0;
  char *err = NULL;
  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL,
                               NULL, NULL, &err, &status, NULL));
  if (!g_spawn_check_wait_status (status, NULL))
    g_error ("report is not valid JSON: %s", err);
  g_free (err);
}

static void
test_report (void)
{
  const int n = 12;
  float *in, *t;
  make_baseline_data (n, 1.2, 1.5, 0.05, &in, &t);
  const size_t plane = (size_t) n * PX;
  float *pred = g_new (float, plane);
  for (size_t i = 0; i < plane; i++)
    pred[i] = 1.1f * t[i];
  PfBaseline bl = { .a = 1.2, .b = 1.5, .a_err = 0.01, .b_err = 0.02, .n_events = 100,
                    .n_pixels = 5000, .rms = 0.05 };
  PfMetricsOptions o;
  pf_metrics_options_init (&o, S);
  GError *error = NULL;
  PfEvaluation *ev = pf_evaluation_new (&o, &bl, &error);
  g_assert_no_error (error);
  pf_evaluation_set_meta (ev, "model", "cnn \"scale 1\"");
  pf_evaluation_set_meta (ev, "dataset", "test.h5");
  g_assert_true (pf_evaluation_add (ev, n, pred, in, t, &error));
  g_assert_no_error (error);
  /* A bad block is refused whole: no source takes any of its events. */
  pred[3] = INFINITY;
  g_assert_false (pf_evaluation_add (ev, n, pred, in, t, &error));
  g_assert_error (error, PF_ERROR, PF_ERROR_NUMERIC);
  g_clear_error (&error);
  for (int s = 0; s < PF_EVAL_N_SOURCES; s++)
    g_assert_cmpint (pf_metrics_n_events (pf_evaluation_metrics (ev, s)), ==, n);

  char *json = pf_evaluation_to_json (ev, &error);
  g_assert_no_error (error);
  g_assert_null (strstr (json, "nan"));
  g_assert_null (strstr (json, "inf"));
  g_assert_nonnull (strstr (json, "\"model\": \"cnn \\\"scale 1\\\"\""));
  g_assert_nonnull (strstr (json, "\"baseline_constants\": {\"a\": 1.2"));
  g_assert_nonnull (strstr (json, "\"raw_sum\": {"));
  g_assert_nonnull (strstr (json, "\"residual_mean\": 0.1000000"));
  g_free (json);

  char *dir = g_dir_make_tmp ("pflow-eval-XXXXXX", &error);
  char *path = g_build_filename (dir, "report.json", NULL);
  g_assert_true (pf_evaluation_write_json (ev, path, &error));
  g_assert_no_error (error);
  check_json_with_python (path);
  g_unlink (path);
  g_rmdir (dir);
  g_free (path);
  g_free (dir);
  pf_evaluation_free (ev);

  /* Without a baseline and without a prediction the report says why, with null values. */
  ev = pf_evaluation_new (&o, NULL, &error);
  g_assert_true (pf_evaluation_add (ev, n, NULL, in, t, &error));
  json = pf_evaluation_to_json (ev, &error);
  g_assert_nonnull (strstr (json, "\"model\": null,\n  \"model_reason\": \"no prediction was given\""));
  g_assert_nonnull (strstr (json, "\"baseline\": null,\n  \"baseline_reason\": \"no fitted baseline was given\""));
  g_assert_null (strstr (json, "nan"));
  g_free (json);
  pf_evaluation_free (ev);
  g_free (in); g_free (t); g_free (pred);
}

static gboolean
have_numpy (void)
{
  const char *argv[] = { "/usr/bin/python3", "-c", "import numpy", NULL };
  int status = 0;
  return g_file_test (argv[0], G_FILE_TEST_IS_EXECUTABLE)
         && g_spawn_sync (NULL, (char **) argv, NULL,
                          G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL,
                          NULL, NULL, &status, NULL)
         && g_spawn_check_wait_status (status, NULL);
}

static void
compare (const char *what, double c, double ref, double tol)
{
  double err = fabs (c - ref) / MAX (fabs (ref), 1e-3);
  if (!(err < tol))
    g_error ("%s: C %.9g numpy %.9g (rel err %.3g)", what, c, ref, err);
}

static void
test_numpy (void)
{
  if (!have_numpy ())
    {
      g_test_skip ("numpy is not installed: metrics not compared with metrics_numpy.py");
      return;
    }
  /* Noisy predictions, some negative, so that undefined centroids occur too. */
  const int n = 25;
  float *t = make_truth (n, 21), *p = g_new (float, (size_t) n * PX);
  GRand *r = g_rand_new_with_seed (22);
  for (size_t i = 0; i < (size_t) n * PX; i++)
    p[i] = (float) (t[i] * (1 + 0.2 * normal (r)) + 0.8 * normal (r));
  g_rand_free (r);
  for (int k = 0; k < PX; k++) /* event 0 predicts negative energy: undefined centroids */
    p[k] = -t[k];
  GError *error = NULL;
  char *dir = g_dir_make_tmp ("pflow-eval-XXXXXX", &error);
  char *in_path = g_build_filename (dir, "in.pfref", NULL);
  char *out_path = g_build_filename (dir, "out.pfref", NULL);
  PfRefWriter *w = pf_ref_writer_new (in_path);
  int dims[3] = { n, S, S };
  pf_ref_writer_add (w, "truth", 3, dims, t);
  pf_ref_writer_add (w, "pred", 3, dims, p);
  float edges[3] = { 2, 5, 10 };
  int ne = 3;
  pf_ref_writer_add (w, "edges", 1, &ne, edges);
  pf_ref_writer_scalar (w, "threshold", 0.1f);
  pf_ref_writer_close (w);
  char *script = pf_test_source_path ("tests/eval/metrics_numpy.py");
  const char *argv[] = { "/usr/bin/python3", script, "--in", in_path, "--out", out_path, NULL };
  int status = 0;
  char *err = NULL;
  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL,
                               NULL, NULL, &err, &status, NULL));
  if (!g_spawn_check_wait_status (status, NULL))
    g_error ("metrics_numpy.py failed:\n%s", err);
  g_free (err);
  PfRefBundle *ref = pf_ref_load (out_path);

  for (int mode = 0; mode < 2; mode++)
    {
      PfMetricsSummary s = summarize (n, p, t, mode);
      if (mode == 0)
        {
          compare ("wmse", s.wmse, pf_ref_scalar (ref, "wmse"), 1e-5);
          compare ("wmse_col", s.wmse_per_column, pf_ref_scalar (ref, "wmse_col"), 1e-5);
        }
      for (int b = 0; b < 3; b++)
        {
          char name[64];
          g_assert_cmpint (s.bands[b].n_pixels, ==, (int) pf_ref_get (ref, "res_n")->data[b]);
          compare ("residual mean", s.bands[b].residual_mean, pf_ref_get (ref, "res_mean")->data[b], 1e-4);
          compare ("residual std", s.bands[b].residual_std, pf_ref_get (ref, "res_std")->data[b], 1e-5);
          g_snprintf (name, sizeof name, "shift_n_%d", mode);
          g_assert_cmpint (s.bands[b].shift_events, ==, (int) pf_ref_get (ref, name)->data[b]);
          g_snprintf (name, sizeof name, "shift_undef_%d", mode);
          g_assert_cmpint (s.bands[b].shift_undefined, ==, (int) pf_ref_get (ref, name)->data[b]);
          g_assert_cmpint (s.bands[b].shift_undefined, ==, mode == 0 ? 1 : 0);
          g_snprintf (name, sizeof name, "shift_mean_%d", mode);
          compare (name, s.bands[b].shift_mean, pf_ref_get (ref, name)->data[b], 1e-5);
          g_snprintf (name, sizeof name, "shift_std_%d", mode);
          compare (name, s.bands[b].shift_std, pf_ref_get (ref, name)->data[b], 1e-5);
          g_test_message ("mode %d band %s: residual %.5f +- %.5f (%" G_GINT64_FORMAT
                          " px), shift %.4f px (%" G_GINT64_FORMAT " events, %" G_GINT64_FORMAT
                          " undefined)", mode, s.bands[b].label, s.bands[b].residual_mean,
                          s.bands[b].residual_std, s.bands[b].n_pixels, s.bands[b].shift_mean,
                          s.bands[b].shift_events, s.bands[b].shift_undefined);
        }
      pf_metrics_summary_clear (&s);
    }
  pf_ref_free (ref);
  g_unlink (in_path);
  g_unlink (out_path);
  g_rmdir (dir);
  g_free (in_path); g_free (out_path); g_free (dir); g_free (script);
  g_free (t); g_free (p);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/eval/metrics/perfect", test_perfect);
  g_test_add_func ("/eval/metrics/scaled", test_scaled);
  g_test_add_func ("/eval/metrics/barycentre-shift", test_shift);
  g_test_add_func ("/eval/metrics/empty-band", test_empty_band);
  g_test_add_func ("/eval/metrics/wmse-per-column", test_wmse_column);
  g_test_add_func ("/eval/metrics/non-finite", test_nonfinite);
  g_test_add_func ("/eval/gauss-fit/normal-sample", test_gauss_fit);
  g_test_add_func ("/eval/metrics/energy-difference-fit", test_ediff_fit);
  g_test_add_func ("/eval/baseline/fit", test_baseline);
  g_test_add_func ("/eval/report/json", test_report);
  g_test_add_func ("/eval/metrics/numpy", test_numpy);
  return g_test_run ();
}
