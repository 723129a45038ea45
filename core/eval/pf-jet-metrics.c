/* pf-jet-metrics.c — jet metrics (see pf-jet-metrics.h). Events are clustered one after the
 * other; the pairs' values are accumulated in double, the relative errors kept for the
 * histogram (one double per matched jet). */
#include "pf-jet-metrics.h"
#include "pf-error.h"
#include "pf-metrics.h"
#include "pf-particles.h"
#include <math.h>
#include <string.h>

void
pf_jet_metrics_options_init (PfJetMetricsOptions *o, int image_size)
{
  memset (o, 0, sizeof *o);
  o->image_size = image_size;
  o->eta_max = 2.5;
  o->pixel_threshold = 0.1;
  pf_jet_params_init_default (&o->jet);
  o->jet.areas = TRUE;
  o->jet_pt_min = PF_JET_METRICS_DEFAULT_PT_MIN;
  o->pred_pt_min = PF_JET_METRICS_DEFAULT_PT_MIN / 2;
  o->match = PF_MATCH_OVERLAP;
  o->max_delta_r = o->jet.radius;
  o->norm_min = 0.0;
  o->norm_max = 1.0;
  o->hist_bins = 60;
  o->hist_lo = -0.6;
  o->hist_hi = 0.6;
}

gboolean
pf_jet_metrics_options_check (const PfJetMetricsOptions *o, GError **error)
{
  const char *bad = NULL;
  if (o->image_size <= 0 || o->image_size > 4096)
    bad = "image size outside 1..4096";
  else if (!(o->eta_max > 0 && o->eta_max <= 20))
    bad = "eta_max outside (0, 20]";
  else if (!(o->pixel_threshold >= 0 && isfinite (o->pixel_threshold)))
    bad = "pixel threshold negative or not finite";
  else if (!(o->jet_pt_min >= 0 && o->pred_pt_min >= 0 && isfinite (o->jet_pt_min)
             && isfinite (o->pred_pt_min)))
    bad = "jet pt thresholds negative or not finite";
  else if (!(o->norm_max > o->norm_min) || !isfinite (o->norm_max - o->norm_min))
    bad = "normalisation needs norm_max > norm_min";
  else if (o->hist_bins < 4 || o->hist_bins > 100000 || !(o->hist_lo < o->hist_hi)
           || !isfinite (o->hist_hi - o->hist_lo))
    bad = "histogram needs 4..100000 bins and lo < hi";
  else if (o->match != PF_MATCH_OVERLAP && o->match != PF_MATCH_DELTA_R)
    bad = "unknown matching mode";
  if (bad)
    {
      g_set_error (error, PF_ERROR, PF_ERROR_INVALID, "jet metrics: %s", bad);
      return FALSE;
    }
  return pf_jet_params_validate (&o->jet, error);
}

/* Clusters one image and keeps the jets above ptmin (constituents dropped). */
static gboolean
cluster (const PfJetMetricsOptions *o, const float *img, double ptmin, const char *what,
         double *xyze, PfJet **jets, int *n, GError **error)
{
  PfPixelParams pp;
  pf_pixel_params_init_default (&pp);
  pp.image_size = o->image_size;
  pp.eta_max = o->eta_max;
  pp.threshold = o->pixel_threshold;
  GError *local = NULL;
  int np = pf_pixels_to_particles (&pp, img, xyze, NULL, &local);
  if (np < 0)
    {
      g_set_error (error, PF_ERROR, PF_ERROR_NUMERIC, "%s image: %s", what, local->message);
      g_error_free (local);
      return FALSE;
    }
  *n = 0;
  PfJetList *l = pf_fastjet_cluster (&o->jet, xyze, (gsize) np, error);
  if (!l)
    return FALSE;
  *jets = g_new (PfJet, MAX (l->n_jets, 1));
  for (int i = 0; i < l->n_jets; i++)
    if (l->jets[i].pt > ptmin)
      {
        PfJet j = l->jets[i];
        j.constituents = NULL;
        (*jets)[(*n)++] = j;
      }
  pf_jet_list_free (l);
  return TRUE;
}

static double
jet_radius (const PfJetMetricsOptions *o, const PfJet *j)
{
  return j->area > 0 ? sqrt (j->area / G_PI) : o->jet.radius;
}

/* Sum of (p - t) / (norm_max - norm_min) over pixels whose centre lies in the circle. */
static double
circle_energy_dev (const PfJetMetricsOptions *o, const PfJet *j, const float *pred,
                   const float *truth)
{
  PfPixelParams pp;
  pf_pixel_params_init_default (&pp);
  pp.image_size = o->image_size;
  pp.eta_max = o->eta_max;
  const int S = o->image_size;
  const double r = jet_radius (o, j), h_eta = 2 * o->eta_max / S;
  int r0 = MAX (0, (int) floor ((j->rap - r + o->eta_max) / h_eta));
  int r1 = MIN (S - 1, (int) floor ((j->rap + r + o->eta_max) / h_eta));
  double sum = 0;
  for (int row = r0; row <= r1; row++)
    for (int col = 0; col < S; col++)
      {
        double eta, phi;
        pf_pixel_centre (&pp, row, col, &eta, &phi);
        double dphi = pf_wrap_phi (phi - j->phi), deta = eta - j->rap;
        if (deta * deta + dphi * dphi <= r * r)
          sum += (double) pred[row * S + col] - (double) truth[row * S + col];
      }
  return sum / (o->norm_max - o->norm_min);
}

gboolean
pf_jet_event_compute (const PfJetMetricsOptions *o, const float *pred, const float *truth,
                      PfJetEvent *out, GError **error)
{
  memset (out, 0, sizeof *out);
  if (!pf_jet_metrics_options_check (o, error))
    return FALSE;
  const gsize npix = (gsize) o->image_size * o->image_size;
  double *xyze = g_new (double, 4 * npix);
  gboolean ok = cluster (o, truth, o->jet_pt_min, "truth", xyze, &out->truth, &out->n_truth, error)
                && cluster (o, pred, o->pred_pt_min, "predicted", xyze, &out->pred, &out->n_pred, error);
  g_free (xyze);
  if (!ok)
    {
      pf_jet_event_clear (out);
      return FALSE;
    }
  int cap = MAX (1, MIN (out->n_truth, out->n_pred));
  out->matches = g_new (PfJetMatch, cap);
  out->pos_dev_px = g_new (double, cap);
  out->energy_dev = g_new (double, cap);
  int nm = pf_jet_match (out->truth, out->n_truth, out->pred, out->n_pred, o->match,
                         o->match == PF_MATCH_DELTA_R ? o->max_delta_r : 0.0, out->matches, error);
  if (nm < 0)
    {
      pf_jet_event_clear (out);
      return FALSE;
    }
  out->n_matches = nm;
  const double h_eta = 2 * o->eta_max / o->image_size, h_phi = 2 * G_PI / o->image_size;
  gboolean *pred_used = g_new0 (gboolean, MAX (out->n_pred, 1));
  for (int k = 0; k < nm; k++)
    {
      const PfJetMatch *m = &out->matches[k];
      out->pos_dev_px[k] = hypot (m->d_rap / h_eta, m->d_phi / h_phi);
      out->energy_dev[k] = circle_energy_dev (o, &out->truth[m->truth], pred, truth);
      pred_used[m->pred] = TRUE;
    }
  out->n_unmatched_truth = out->n_truth - nm;
  for (int i = 0; i < out->n_pred; i++)
    if (!pred_used[i] && out->pred[i].pt > o->jet_pt_min)
      out->n_unmatched_pred++;
  g_free (pred_used);
  return TRUE;
}

void
pf_jet_event_clear (PfJetEvent *e)
{
  g_free (e->truth);
  g_free (e->pred);
  g_free (e->matches);
  g_free (e->pos_dev_px);
  g_free (e->energy_dev);
  memset (e, 0, sizeof *e);
}

/* ---- accumulation ---- */

enum { Q_REL, Q_DRAP, Q_DPHI, Q_DR, Q_POS, Q_EDEV, N_Q };

struct _PfJetMetrics {
  PfJetMetricsOptions o;
  int64_t n_events, n_truth, n_pred, n_unmatched_truth, n_unmatched_pred;
  double sum[N_Q], sum2[N_Q];
  GArray *rel; /* double, every pair's relative energy error */
};

PfJetMetrics *
pf_jet_metrics_new (const PfJetMetricsOptions *o, GError **error)
{
  if (!pf_jet_metrics_options_check (o, error))
    return NULL;
  PfJetMetrics *m = g_new0 (PfJetMetrics, 1);
  m->o = *o;
  m->rel = g_array_new (FALSE, FALSE, sizeof (double));
  return m;
}

void
pf_jet_metrics_free (PfJetMetrics *m)
{
  if (!m)
    return;
  g_array_free (m->rel, TRUE);
  g_free (m);
}

const PfJetMetricsOptions *
pf_jet_metrics_options (const PfJetMetrics *m)
{
  return &m->o;
}

gboolean
pf_jet_metrics_add (PfJetMetrics *m, int64_t n, const float *pred, const float *truth,
                    GError **error)
{
  const gsize npix = (gsize) m->o.image_size * m->o.image_size;
  PfJetEvent *ev = g_new0 (PfJetEvent, MAX (n, 1));
  gboolean ok = TRUE;
  for (int64_t i = 0; i < n && ok; i++)
    {
      GError *local = NULL;
      ok = pf_jet_event_compute (&m->o, pred + i * npix, truth + i * npix, &ev[i], &local);
      if (!ok)
        g_propagate_prefixed_error (error, local, "event %" G_GINT64_FORMAT " of the block: ", i);
    }
  /* added only once the whole block succeeded */
  for (int64_t i = 0; i < n && ok; i++)
    {
      const PfJetEvent *e = &ev[i];
      m->n_events++;
      m->n_truth += e->n_truth;
      m->n_pred += e->n_pred;
      m->n_unmatched_truth += e->n_unmatched_truth;
      m->n_unmatched_pred += e->n_unmatched_pred;
      for (int k = 0; k < e->n_matches; k++)
        {
          const PfJetMatch *p = &e->matches[k];
          double v[N_Q] = { p->rel_energy, p->d_rap, p->d_phi, p->delta_r, e->pos_dev_px[k],
                            e->energy_dev[k] };
          for (int q = 0; q < N_Q; q++)
            {
              m->sum[q] += v[q];
              m->sum2[q] += v[q] * v[q];
            }
          g_array_append_val (m->rel, p->rel_energy);
        }
    }
  for (int64_t i = 0; i < n; i++)
    pf_jet_event_clear (&ev[i]);
  g_free (ev);
  return ok;
}

void
pf_jet_metrics_summarize (const PfJetMetrics *m, PfJetSummary *s)
{
  memset (s, 0, sizeof *s);
  const PfJetMetricsOptions *o = &m->o;
  int64_t np = m->rel->len;
  s->n_events = m->n_events;
  s->n_truth_jets = m->n_truth;
  s->n_pred_jets = m->n_pred;
  s->n_matched = np;
  s->n_unmatched_truth = m->n_unmatched_truth;
  s->n_unmatched_pred = m->n_unmatched_pred;
  PfJetStat *st[N_Q] = { &s->rel_energy, &s->d_rap, &s->d_phi, &s->delta_r, &s->pos_dev_px,
                         &s->energy_dev };
  for (int q = 0; q < N_Q; q++)
    {
      st[q]->n = np;
      if (np == 0)
        {
          st[q]->mean = st[q]->std = NAN;
          continue;
        }
      double mean = m->sum[q] / np, var = m->sum2[q] / np - mean * mean;
      st[q]->mean = mean;
      st[q]->std = sqrt (MAX (var, 0.0));
    }
  if (m->n_events == 0)
    s->reason = g_strdup ("no event");
  else if (m->n_truth == 0)
    s->reason = g_strdup_printf ("no truth jet above %g GeV in %" G_GINT64_FORMAT " events",
                                 o->jet_pt_min, m->n_events);
  else if (np == 0)
    s->reason = g_strdup_printf ("none of %" G_GINT64_FORMAT " truth jets has a predicted partner",
                                 m->n_truth);
  s->nbins = o->hist_bins;
  s->lo = o->hist_lo;
  s->hi = o->hist_hi;
  s->counts = g_new0 (double, s->nbins);
  const double w = (s->hi - s->lo) / s->nbins;
  for (int64_t i = 0; i < np; i++)
    {
      double v = g_array_index (m->rel, double, i);
      if (v < s->lo)
        s->underflow++;
      else if (v >= s->hi)
        s->overflow++;
      else
        s->counts[MIN (s->nbins - 1, (int) ((v - s->lo) / w))] += 1;
    }
  GError *error = NULL;
  if (np == 0)
    s->fit_reason = g_strdup (s->reason);
  else if (pf_gauss_fit_check_coverage ((double) (np - s->underflow - s->overflow),
                                        (double) (s->underflow + s->overflow), s->lo, s->hi, &error)
           && pf_gauss_fit_histogram (s->counts, s->nbins, s->lo, s->hi, &s->fit, &error))
    s->fitted = TRUE;
  else
    {
      s->fit_reason = g_strdup (error->message);
      g_error_free (error);
    }
}

void
pf_jet_summary_clear (PfJetSummary *s)
{
  g_free (s->reason);
  g_free (s->counts);
  g_free (s->fit_reason);
  memset (s, 0, sizeof *s);
}

static void
stat_json (GString *str, const char *pad, const char *key, const PfJetStat *st, gboolean last)
{
  g_string_append_printf (str, "%s  \"%s\": {\"mean\": ", pad, key);
  pf_json_append_double (str, st->mean);
  g_string_append (str, ", \"std\": ");
  pf_json_append_double (str, st->std);
  g_string_append_printf (str, ", \"n\": %" G_GINT64_FORMAT "}%s\n", st->n, last ? "" : ",");
}

void
pf_jet_summary_to_json (const PfJetSummary *s, const PfJetMetricsOptions *o, GString *str,
                        int indent)
{
  char *pad = g_strnfill (indent, ' ');
  g_string_append (str, "{\n");
  g_string_append_printf (str, "%s  \"algorithm\": \"%s\", \"radius\": ", pad,
                          pf_jet_algorithm_name (o->jet.algorithm));
  pf_json_append_double (str, o->jet.radius);
  g_string_append (str, ", \"ghost_area\": ");
  pf_json_append_double (str, o->jet.ghost_area);
  g_string_append (str, ",\n");
  g_string_append_printf (str, "%s  \"pixel_threshold_gev\": ", pad);
  pf_json_append_double (str, o->pixel_threshold);
  g_string_append (str, ", \"jet_pt_min_gev\": ");
  pf_json_append_double (str, o->jet_pt_min);
  g_string_append (str, ", \"pred_pt_min_gev\": ");
  pf_json_append_double (str, o->pred_pt_min);
  g_string_append_printf (str, ", \"matching\": \"%s\",\n",
                          o->match == PF_MATCH_OVERLAP ? "overlap" : "delta_r");
  g_string_append_printf (str, "%s  \"n_events\": %" G_GINT64_FORMAT ", \"n_truth_jets\": %"
                          G_GINT64_FORMAT ", \"n_pred_jets\": %" G_GINT64_FORMAT
                          ", \"n_matched\": %" G_GINT64_FORMAT ", \"n_unmatched_truth\": %"
                          G_GINT64_FORMAT ", \"n_unmatched_pred\": %" G_GINT64_FORMAT ",\n",
                          pad, s->n_events, s->n_truth_jets, s->n_pred_jets, s->n_matched,
                          s->n_unmatched_truth, s->n_unmatched_pred);
  g_string_append_printf (str, "%s  \"reason\": ", pad);
  pf_json_append_string (str, s->reason);
  g_string_append (str, ",\n");
  stat_json (str, pad, "relative_energy_error", &s->rel_energy, FALSE);
  stat_json (str, pad, "d_rap", &s->d_rap, FALSE);
  stat_json (str, pad, "d_phi", &s->d_phi, FALSE);
  stat_json (str, pad, "delta_r", &s->delta_r, FALSE);
  stat_json (str, pad, "position_deviation_px", &s->pos_dev_px, FALSE);
  stat_json (str, pad, "energy_deviation", &s->energy_dev, FALSE);
  g_string_append_printf (str, "%s  \"relative_energy_histogram\": {\"lo\": ", pad);
  pf_json_append_double (str, s->lo);
  g_string_append (str, ", \"hi\": ");
  pf_json_append_double (str, s->hi);
  g_string_append_printf (str, ", \"underflow\": %" G_GINT64_FORMAT ", \"overflow\": %"
                          G_GINT64_FORMAT ", \"counts\": [", s->underflow, s->overflow);
  for (int i = 0; i < s->nbins; i++)
    g_string_append_printf (str, "%s%.0f", i ? ", " : "", s->counts[i]);
  g_string_append (str, "]},\n");
  g_string_append_printf (str, "%s  \"fit\": ", pad);
  if (s->fitted)
    {
      const PfGaussFit *f = &s->fit;
      const double v[] = { f->amplitude, f->mean, f->mean_err, f->sigma, f->sigma_err, f->chi2 };
      const char *k[] = { "amplitude", "mean", "mean_error", "sigma", "sigma_error", "chi2" };
      g_string_append (str, "{");
      for (int i = 0; i < 6; i++)
        {
          g_string_append_printf (str, "\"%s\": ", k[i]);
          pf_json_append_double (str, v[i]);
          g_string_append (str, ", ");
        }
      g_string_append_printf (str, "\"ndf\": %d}", f->ndf);
    }
  else
    g_string_append (str, "null");
  g_string_append_printf (str, ",\n%s  \"fit_reason\": ", pad);
  pf_json_append_string (str, s->fit_reason);
  g_string_append_printf (str, "\n%s}", pad);
  g_free (pad);
}
