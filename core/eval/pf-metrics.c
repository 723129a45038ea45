/* pf-metrics.c — streaming pixel metrics (see pf-metrics.h for the definitions). */
#include "pf-metrics.h"
#include "pf-error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct _PfMetrics {
  PfMetricsOptions o;
  int64_t n_events;
  double wmse_sum, wmse_col_sum;
  /* Welford running mean / sum of squared deviations: a std far below the mean (a prediction
   * scaled by exactly 1.1) must not vanish in cancellation. */
  int64_t res_n[PF_METRICS_MAX_BANDS];
  double res_mean[PF_METRICS_MAX_BANDS], res_m2[PF_METRICS_MAX_BANDS];
  int64_t shift_n[PF_METRICS_MAX_BANDS], shift_undef[PF_METRICS_MAX_BANDS];
  double shift_mean[PF_METRICS_MAX_BANDS], shift_m2[PF_METRICS_MAX_BANDS];
  GArray *ediff; /* float: normalised (p - t) over pixels with t != 0 */
};

void
pf_metrics_options_init (PfMetricsOptions *o, int image_size)
{
  memset (o, 0, sizeof *o);
  o->image_size = image_size;
  o->n_bands = 3;
  o->band_edges[0] = 2;
  o->band_edges[1] = 5;
  o->band_edges[2] = 10;
  o->pixel_threshold = 0.1;
  o->paper_compat = FALSE;
  o->norm_min = 0;
  o->norm_max = 1;
  o->hist_bins = 100;
  o->hist_lo = o->hist_hi = 0;
  o->hist_range_sigmas = 5;
}

gboolean
pf_metrics_options_check (const PfMetricsOptions *o, GError **error)
{
  if (o->image_size <= 0 || o->image_size > 4096)
    {
      g_set_error (error, PF_ERROR, PF_ERROR_INVALID, "metrics: image size %d out of range",
                   o->image_size);
      return FALSE;
    }
  if (o->n_bands < 1 || o->n_bands > PF_METRICS_MAX_BANDS)
    {
      g_set_error (error, PF_ERROR, PF_ERROR_INVALID, "metrics: %d bands (1..%d allowed)",
                   o->n_bands, PF_METRICS_MAX_BANDS);
      return FALSE;
    }
  for (int k = 0; k < o->n_bands; k++)
    if (!isfinite (o->band_edges[k]) || (k > 0 && !(o->band_edges[k] > o->band_edges[k - 1])))
      {
        g_set_error (error, PF_ERROR, PF_ERROR_INVALID,
                     "metrics: band edges must be finite and increasing (edge %d is %g)", k,
                     o->band_edges[k]);
        return FALSE;
      }
  if (!isfinite (o->pixel_threshold) || o->pixel_threshold < 0)
    {
      g_set_error (error, PF_ERROR, PF_ERROR_INVALID, "metrics: pixel threshold %g invalid",
                   o->pixel_threshold);
      return FALSE;
    }
  if (!isfinite (o->norm_min) || !isfinite (o->norm_max) || !(o->norm_max > o->norm_min))
    {
      g_set_error (error, PF_ERROR, PF_ERROR_INVALID,
                   "metrics: normalisation needs finite min < max (got %g, %g)", o->norm_min,
                   o->norm_max);
      return FALSE;
    }
  if (o->hist_bins < 4 || o->hist_bins > 100000)
    {
      g_set_error (error, PF_ERROR, PF_ERROR_INVALID, "metrics: %d histogram bins (4..100000)",
                   o->hist_bins);
      return FALSE;
    }
  if (!isfinite (o->hist_lo) || !isfinite (o->hist_hi)
      || (o->hist_lo >= o->hist_hi && !(isfinite (o->hist_range_sigmas) && o->hist_range_sigmas > 0)))
    {
      g_set_error (error, PF_ERROR, PF_ERROR_INVALID,
                   "metrics: histogram range [%g, %g] and automatic width %g invalid",
                   o->hist_lo, o->hist_hi, o->hist_range_sigmas);
      return FALSE;
    }
  return TRUE;
}

static void
fmt_edge (char *buf, size_t size, double v)
{
  g_ascii_formatd (buf, size, "%g", v);
}

void
pf_metrics_band_label (const PfMetricsOptions *o, int band, char *buf, size_t size)
{
  char a[G_ASCII_DTOSTR_BUF_SIZE], b[G_ASCII_DTOSTR_BUF_SIZE];
  fmt_edge (a, sizeof a, o->band_edges[band]);
  if (band + 1 < o->n_bands)
    {
      fmt_edge (b, sizeof b, o->band_edges[band + 1]);
      g_snprintf (buf, size, "(%s,%s]", a, b);
    }
  else
    g_snprintf (buf, size, ">%s", a);
}

PfMetrics *
pf_metrics_new (const PfMetricsOptions *o, GError **error)
{
  if (!pf_metrics_options_check (o, error))
    return NULL;
  PfMetrics *m = g_new0 (PfMetrics, 1);
  m->o = *o;
  m->ediff = g_array_new (FALSE, FALSE, sizeof (float));
  return m;
}

void
pf_metrics_free (PfMetrics *m)
{
  if (!m)
    return;
  g_array_unref (m->ediff);
  g_free (m);
}

const PfMetricsOptions *
pf_metrics_options (const PfMetrics *m)
{
  return &m->o;
}

int64_t
pf_metrics_n_events (const PfMetrics *m)
{
  return m->n_events;
}

/* The band of a true pixel energy, or -1. */
static inline int
band_of (const PfMetricsOptions *o, double t)
{
  if (!(t > o->pixel_threshold))
    return -1;
  for (int k = o->n_bands - 1; k >= 0; k--)
    if (t > o->band_edges[k])
      return k;
  return -1;
}

static inline void
welford (int64_t *n, double *mean, double *m2, double x)
{
  (*n)++;
  double d = x - *mean;
  *mean += d / (double) *n;
  *m2 += d * (x - *mean);
}

gboolean
pf_metrics_add (PfMetrics *m, int64_t n, const float *pred, const float *truth, GError **error)
{
  const int S = m->o.image_size;
  const size_t px = (size_t) S * S;
  if (n < 0 || (n > 0 && (!pred || !truth)))
    {
      g_set_error (error, PF_ERROR, PF_ERROR_INVALID, "metrics: block of %" G_GINT64_FORMAT
                   " events without data", n);
      return FALSE;
    }
  /* Check the whole block first, so a failing block leaves the accumulator untouched. */
  for (int64_t e = 0; e < n; e++)
    for (size_t k = 0; k < px; k++)
      {
        size_t i = (size_t) e * px + k;
        if (!isfinite (pred[i]) || !isfinite (truth[i]))
          {
            g_set_error (error, PF_ERROR, PF_ERROR_NUMERIC,
                         "metrics: event %" G_GINT64_FORMAT " of the block, pixel (%zu, %zu): "
                         "%s is not finite", e, k / S, k % S,
                         isfinite (pred[i]) ? "truth" : "prediction");
            return FALSE;
          }
      }
  const PfMetricsOptions *o = &m->o;
  const double dnorm = 1.0 / (o->norm_max - o->norm_min);
  for (int64_t e = 0; e < n; e++)
    {
      const float *p = pred + (size_t) e * px, *t = truth + (size_t) e * px;
      double num = 0, den = 0, col_sum = 0;
      double bt[PF_METRICS_MAX_BANDS][3] = { { 0 } }, bp[PF_METRICS_MAX_BANDS][3] = { { 0 } };
      gboolean has[PF_METRICS_MAX_BANDS] = { 0 };
      for (int j = 0; j < S; j++)
        {
          double cn = 0, cd = 0;
          for (int i = 0; i < S; i++)
            {
              double y = t[i * S + j], d = p[i * S + j] - y;
              cn += y * d * d;
              cd += y;
            }
          num += cn;
          den += cd;
          col_sum += cn / (cd + PF_METRICS_WMSE_EPS);
        }
      m->wmse_sum += num / (den + PF_METRICS_WMSE_EPS);
      m->wmse_col_sum += col_sum / S;

      for (int i = 0; i < S; i++)
        for (int j = 0; j < S; j++)
          {
            double y = t[i * S + j], v = p[i * S + j];
            if (y != 0)
              {
                float d = (float) ((v - y) * dnorm);
                g_array_append_val (m->ediff, d);
              }
            int b = band_of (o, y);
            if (b < 0)
              continue;
            welford (&m->res_n[b], &m->res_mean[b], &m->res_m2[b], (v - y) / y);
            has[b] = TRUE;
            bt[b][0] += y; bt[b][1] += i * y; bt[b][2] += j * y;
            bp[b][0] += v; bp[b][1] += i * v; bp[b][2] += j * v;
          }
      for (int b = 0; b < o->n_bands; b++)
        {
          if (!has[b])
            continue;
          /* Own energy by default; the published script divided both by the true one. */
          double dp = o->paper_compat ? bt[b][0] : bp[b][0];
          if (!(dp > 0))
            {
              m->shift_undef[b]++;
              continue;
            }
          double di = bt[b][1] / bt[b][0] - bp[b][1] / dp;
          double dj = bt[b][2] / bt[b][0] - bp[b][2] / dp;
          welford (&m->shift_n[b], &m->shift_mean[b], &m->shift_m2[b], sqrt (di * di + dj * dj));
        }
    }
  m->n_events += n;
  return TRUE;
}

static int
cmp_float (const void *a, const void *b)
{
  float x = *(const float *) a, y = *(const float *) b;
  return (x > y) - (x < y);
}

/* Nearest-rank quantile of sorted v[n]. */
static double
quantile (const float *v, size_t n, double q)
{
  size_t k = (size_t) floor (q * (double) (n - 1) + 0.5);
  return v[MIN (k, n - 1)];
}

static void
summarize_ediff (const PfMetrics *m, PfEnergyDiffSummary *s)
{
  const PfMetricsOptions *o = &m->o;
  size_t n = m->ediff->len;
  s->n_pixels = n;
  s->nbins = o->hist_bins;
  s->sample_mean = s->sample_std = NAN;
  s->lo = s->hi = NAN;
  if (n == 0)
    {
      s->fit_reason = g_strdup ("no pixel with non-zero truth");
      return;
    }
  float *v = g_new (float, n);
  memcpy (v, m->ediff->data, n * sizeof (float));
  qsort (v, n, sizeof (float), cmp_float);
  double mean = 0, m2 = 0;
  int64_t cnt = 0;
  for (size_t i = 0; i < n; i++)
    welford (&cnt, &mean, &m2, v[i]);
  s->sample_mean = mean;
  s->sample_std = sqrt (m2 / (double) n);
  if (o->hist_lo < o->hist_hi)
    {
      s->lo = o->hist_lo;
      s->hi = o->hist_hi;
    }
  else
    {
      /* Robust width: a few outliers must not stretch the bins of the Gaussian core. */
      double med = quantile (v, n, 0.5);
      double half = o->hist_range_sigmas * 0.5 * (quantile (v, n, 0.8413) - quantile (v, n, 0.1587));
      if (!(half > 0))
        half = MAX (fabs (v[n - 1] - med), fabs (v[0] - med));
      if (!(half > 0))
        half = MAX (fabs (med) * 1e-3, 1e-6); /* every difference equal */
      s->lo = med - half;
      s->hi = med + half;
    }
  s->counts = g_new0 (double, s->nbins);
  double w = (s->hi - s->lo) / s->nbins;
  for (size_t i = 0; i < n; i++)
    {
      double x = v[i];
      if (x < s->lo)
        s->underflow++;
      else if (x > s->hi)
        s->overflow++;
      else
        s->counts[MIN ((int) ((x - s->lo) / w), s->nbins - 1)] += 1;
    }
  g_free (v);
  GError *err = NULL;
  s->fitted = pf_gauss_fit_histogram (s->counts, s->nbins, s->lo, s->hi, &s->fit, &err);
  if (!s->fitted)
    {
      s->fit_reason = g_strdup (err->message);
      g_error_free (err);
    }
}

gboolean
pf_metrics_summarize (const PfMetrics *m, PfMetricsSummary *out, GError **error)
{
  memset (out, 0, sizeof *out);
  if (m->n_events == 0)
    {
      g_set_error (error, PF_ERROR, PF_ERROR_INVALID, "metrics: no event was added");
      return FALSE;
    }
  const PfMetricsOptions *o = &m->o;
  out->n_events = m->n_events;
  out->wmse = m->wmse_sum / (double) m->n_events;
  out->wmse_per_column = m->wmse_col_sum / (double) m->n_events;
  out->n_bands = o->n_bands;
  for (int b = 0; b < o->n_bands; b++)
    {
      PfBandSummary *s = &out->bands[b];
      s->lo = o->band_edges[b];
      s->hi = b + 1 < o->n_bands ? o->band_edges[b + 1] : INFINITY;
      pf_metrics_band_label (o, b, s->label, sizeof s->label);
      s->n_pixels = m->res_n[b];
      if (s->n_pixels > 0)
        {
          s->residual_mean = m->res_mean[b];
          s->residual_std = sqrt (m->res_m2[b] / (double) s->n_pixels);
          s->residual_mean_err = s->residual_std / sqrt ((double) s->n_pixels);
        }
      else
        {
          s->residual_mean = s->residual_std = s->residual_mean_err = NAN;
          s->residual_reason = g_strdup_printf ("no truth pixels in %s GeV", s->label);
        }
      s->shift_events = m->shift_n[b];
      s->shift_undefined = m->shift_undef[b];
      if (s->shift_events > 0)
        {
          s->shift_mean = m->shift_mean[b];
          s->shift_std = sqrt (m->shift_m2[b] / (double) s->shift_events);
        }
      else
        {
          s->shift_mean = s->shift_std = NAN;
          s->shift_reason = s->n_pixels == 0
            ? g_strdup_printf ("no truth pixels in %s GeV", s->label)
            : g_strdup_printf ("predicted energy <= 0 over the %s GeV pixels of every event: "
                               "no predicted centroid", s->label);
        }
    }
  summarize_ediff (m, &out->ediff);
  return TRUE;
}

void
pf_metrics_summary_clear (PfMetricsSummary *s)
{
  for (int b = 0; b < PF_METRICS_MAX_BANDS; b++)
    {
      g_clear_pointer (&s->bands[b].residual_reason, g_free);
      g_clear_pointer (&s->bands[b].shift_reason, g_free);
    }
  g_clear_pointer (&s->ediff.counts, g_free);
  g_clear_pointer (&s->ediff.fit_reason, g_free);
}

/* ---- JSON ---- */

void
pf_json_append_double (GString *str, double v)
{
  if (!isfinite (v))
    {
      g_string_append (str, "null");
      return;
    }
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  g_ascii_formatd (buf, sizeof buf, "%.10g", v);
  g_string_append (str, buf);
}

void
pf_json_append_string (GString *str, const char *s)
{
  if (!s)
    {
      g_string_append (str, "null");
      return;
    }
  g_string_append_c (str, '"');
  for (const unsigned char *c = (const unsigned char *) s; *c; c++)
    {
      if (*c == '"' || *c == '\\')
        g_string_append_printf (str, "\\%c", *c);
      else if (*c == '\n')
        g_string_append (str, "\\n");
      else if (*c < 0x20)
        g_string_append_printf (str, "\\u%04x", *c);
      else
        g_string_append_c (str, *c);
    }
  g_string_append_c (str, '"');
}

static void
key (GString *str, int indent, const char *k)
{
  g_string_append_printf (str, "%*s\"%s\": ", indent, "", k);
}

static void
kv_double (GString *str, int indent, const char *k, double v, gboolean last)
{
  key (str, indent, k);
  pf_json_append_double (str, v);
  g_string_append (str, last ? "\n" : ",\n");
}

static void
kv_int (GString *str, int indent, const char *k, int64_t v, gboolean last)
{
  key (str, indent, k);
  g_string_append_printf (str, "%" G_GINT64_FORMAT "%s", v, last ? "\n" : ",\n");
}

static void
kv_string (GString *str, int indent, const char *k, const char *v, gboolean last)
{
  key (str, indent, k);
  pf_json_append_string (str, v);
  g_string_append (str, last ? "\n" : ",\n");
}

static void
band_to_json (const PfBandSummary *b, GString *str, int in)
{
  g_string_append_printf (str, "%*s{\n", in, "");
  kv_string (str, in + 2, "band", b->label, FALSE);
  kv_double (str, in + 2, "lo_gev", b->lo, FALSE);
  kv_double (str, in + 2, "hi_gev", b->hi, FALSE); /* null: open band */
  kv_int (str, in + 2, "n_pixels", b->n_pixels, FALSE);
  kv_double (str, in + 2, "residual_mean", b->residual_mean, FALSE);
  kv_double (str, in + 2, "residual_std", b->residual_std, FALSE);
  kv_double (str, in + 2, "residual_mean_error", b->residual_mean_err, FALSE);
  kv_string (str, in + 2, "residual_reason", b->residual_reason, FALSE);
  kv_int (str, in + 2, "barycentre_n_events", b->shift_events, FALSE);
  kv_int (str, in + 2, "barycentre_n_undefined", b->shift_undefined, FALSE);
  kv_double (str, in + 2, "barycentre_shift_mean_px", b->shift_mean, FALSE);
  kv_double (str, in + 2, "barycentre_shift_std_px", b->shift_std, FALSE);
  kv_string (str, in + 2, "barycentre_reason", b->shift_reason, TRUE);
  g_string_append_printf (str, "%*s}", in, "");
}

void
pf_metrics_summary_to_json (const PfMetricsSummary *s, const PfMetricsOptions *o,
                            GString *str, int in)
{
  g_string_append (str, "{\n");
  kv_int (str, in + 2, "n_events", s->n_events, FALSE);
  kv_double (str, in + 2, "wmse", s->wmse, FALSE);
  kv_double (str, in + 2, "wmse_per_column", s->wmse_per_column, FALSE);
  key (str, in + 2, "bands");
  g_string_append (str, "[\n");
  for (int b = 0; b < s->n_bands; b++)
    {
      band_to_json (&s->bands[b], str, in + 4);
      g_string_append (str, b + 1 < s->n_bands ? ",\n" : "\n");
    }
  g_string_append_printf (str, "%*s],\n", in + 2, "");

  const PfEnergyDiffSummary *e = &s->ediff;
  const int ie = in + 4;
  key (str, in + 2, "energy_difference");
  g_string_append (str, "{\n");
  kv_double (str, ie, "norm_min", o->norm_min, FALSE);
  kv_double (str, ie, "norm_max", o->norm_max, FALSE);
  kv_int (str, ie, "n_pixels", e->n_pixels, FALSE);
  kv_double (str, ie, "sample_mean", e->sample_mean, FALSE);
  kv_double (str, ie, "sample_std", e->sample_std, FALSE);
  kv_double (str, ie, "hist_lo", e->lo, FALSE);
  kv_double (str, ie, "hist_hi", e->hi, FALSE);
  kv_int (str, ie, "hist_underflow", e->underflow, FALSE);
  kv_int (str, ie, "hist_overflow", e->overflow, FALSE);
  key (str, ie, "hist_counts");
  if (e->counts)
    {
      g_string_append_c (str, '[');
      for (int i = 0; i < e->nbins; i++)
        g_string_append_printf (str, "%s%.0f", i ? ", " : "", e->counts[i]);
      g_string_append (str, "],\n");
    }
  else
    g_string_append (str, "null,\n");
  kv_string (str, ie, "fit_method",
             "gsl_multifit_nlinear trust-region LM, Poisson weights 1/n, empty bins left out",
             FALSE);
  gboolean f = e->fitted;
  kv_double (str, ie, "fit_amplitude", f ? e->fit.amplitude : NAN, FALSE);
  kv_double (str, ie, "fit_mean", f ? e->fit.mean : NAN, FALSE);
  kv_double (str, ie, "fit_mean_error", f ? e->fit.mean_err : NAN, FALSE);
  kv_double (str, ie, "fit_sigma", f ? e->fit.sigma : NAN, FALSE);
  kv_double (str, ie, "fit_sigma_error", f ? e->fit.sigma_err : NAN, FALSE);
  kv_double (str, ie, "fit_chi2", f ? e->fit.chi2 : NAN, FALSE);
  kv_int (str, ie, "fit_ndf", f ? e->fit.ndf : 0, FALSE);
  kv_double (str, ie, "fit_chi2_ndf", f && e->fit.ndf > 0 ? e->fit.chi2 / e->fit.ndf : NAN, FALSE);
  kv_string (str, ie, "fit_reason", e->fit_reason, TRUE);
  g_string_append_printf (str, "%*s}\n", in + 2, "");
  g_string_append_printf (str, "%*s}", in, "");
}
