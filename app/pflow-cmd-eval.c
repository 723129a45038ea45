/* pflow-cmd-eval.c — `pflow eval --model CKPT --data FILE`: the pixel metrics of DESIGN.md §7
 * for a trained model and, on the same events, the non-learned baseline (tracker + calibrated
 * calorimeters, fitted on the training split) and the raw sum; a JSON report, a Markdown band
 * table and figures (sample events, energy-difference histograms with the Gaussian fit).
 * On a jet test set (a `jet` channel) also the jet metrics of the model and the baseline
 * (pf-jet-metrics.h): a "jets" object in report.json, a jet table in bands.md, a sample event
 * with its jet circles and the histograms of the relative jet energy error. */
#include "pflow-cli.h"
#include "pflow-eval.h"
#include "pf-device.h"
#include "pf-baseline.h"
#include "pf-dataset.h"
#include "pf-error.h"
#include "pf-eval-report.h"
#include "pf-jet-metrics.h"
#include "pf-predictor.h"
#include "pf-render-hist.h"
#include "pf-render-image.h"
#include "pf-render-table.h"
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define EVAL_BLOCK 256

/* Events [first, first + count) of d, in blocks, into the callback. */
typedef gboolean (*BlockFunc) (gint64 n, const float *block, gpointer user, GError **error);

static gboolean
for_blocks (PfDataset *d, gint64 first, gint64 count, BlockFunc fn, gpointer user, GError **error)
{
  int S = pf_dataset_image_size (d);
  gint64 bs = MIN (EVAL_BLOCK, count);
  /* pf_dataset_read gives every channel of the file: six on a jet set */
  float *block = g_try_malloc ((gsize) bs * pf_dataset_n_channels (d) * S * S * sizeof (float));
  if (!block)
    {
      g_set_error (error, PF_ERROR, PF_ERROR_IO, "out of memory for a block of %" G_GINT64_FORMAT " events", bs);
      return FALSE;
    }
  gboolean ok = TRUE;
  for (gint64 e = first; e < first + count && ok; e += bs)
    {
      if (g_atomic_int_get (&pflow_cancel_flag))
        {
          g_set_error (error, PF_ERROR, PF_ERROR_CANCELLED, "interrupted");
          ok = FALSE;
          break;
        }
      gint64 n = MIN (bs, first + count - e);
      ok = pf_dataset_read (d, e, n, block, error) && fn (n, block, user, error);
    }
  g_free (block);
  return ok;
}

typedef struct {
  PfBaselineFit *fit;
  int S;
} FitState;

static gboolean
fit_block (gint64 n, const float *block, gpointer user, GError **error)
{
  FitState *fs = user;
  return pf_baseline_fit_add (fs->fit, n, block, block + (gsize) PF_CH_TRUTH * n * fs->S * fs->S, error);
}

typedef struct {
  PfPredictor *pred;
  PfEvaluation *ev;
  float *out;            /* predictions of a block */
  int S;
  int n_samples;         /* sample events kept for figures */
  float *sample_truth, *sample_pred;
  int kept;
  PflowProgress *prog;
  gint64 done;
  PfJetMetrics **jets;   /* [2] or NULL */
  const PfBaseline *baseline;
  float *bl_out;         /* baseline predictions of a block, for the jets */
} EvalState;

static gboolean
eval_block (gint64 n, const float *block, gpointer user, GError **error)
{
  EvalState *st = user;
  gsize plane = (gsize) st->S * st->S;
  const float *truth = block + (gsize) PF_CH_TRUTH * n * plane;
  if (!pf_predictor_run (st->pred, block, n, st->out, error) ||
      !pf_evaluation_add (st->ev, n, st->out, block, truth, error))
    return FALSE;
  if (st->jets)
    {
      pf_baseline_apply (st->baseline, n, st->S, block, st->bl_out);
      if (!pf_jet_metrics_add (st->jets[0], n, st->out, truth, error) ||
          !pf_jet_metrics_add (st->jets[1], n, st->bl_out, truth, error))
        return FALSE;
    }
  for (gint64 e = 0; e < n && st->kept < st->n_samples; e++, st->kept++)
    {
      memcpy (st->sample_truth + st->kept * plane, truth + e * plane, plane * sizeof (float));
      memcpy (st->sample_pred + st->kept * plane, st->out + e * plane, plane * sizeof (float));
    }
  st->done += n;
  pflow_progress_update (st->prog, st->done);
  return TRUE;
}

#define BAND_COLS 6
static const char *const band_header[BAND_COLS] = {
  N_("source"), N_("WMSE"), N_("band / GeV"), N_("pixels"), N_("residual (mean ± std)"),
  N_("barycentre shift / px"),
};

/* The band table of the three sources: BAND_COLS strings per row, for Markdown and figures. */
static GPtrArray *
band_rows (PflowEvaluation *e, GError **error)
{
  GPtrArray *cells = g_ptr_array_new_with_free_func (g_free);
  for (int s = 0; s < PF_EVAL_N_SOURCES; s++)
    {
      PfMetricsSummary sum;
      if (!pf_metrics_summarize (pf_evaluation_metrics (e->ev, s), &sum, error))
        {
          g_ptr_array_unref (cells);
          return NULL;
        }
      for (int b = 0; b < sum.n_bands; b++)
        {
          const PfBandSummary *bs = &sum.bands[b];
          g_ptr_array_add (cells, g_strdup (pf_eval_source_name (s)));
          g_ptr_array_add (cells, g_strdup_printf ("%.4g", sum.wmse));
          g_ptr_array_add (cells, g_strdup (bs->label));
          g_ptr_array_add (cells, g_strdup_printf ("%" G_GINT64_FORMAT, bs->n_pixels));
          g_ptr_array_add (cells, bs->residual_reason ? g_strdup_printf ("— (%s)", bs->residual_reason)
                                                      : g_strdup_printf ("%+.4f ± %.4f", bs->residual_mean,
                                                                         bs->residual_std));
          g_ptr_array_add (cells, bs->shift_reason ? g_strdup_printf ("— (%s)", bs->shift_reason)
                                                   : g_strdup_printf ("%.3f ± %.3f", bs->shift_mean,
                                                                      bs->shift_std));
        }
      pf_metrics_summary_clear (&sum);
    }
  return cells;
}

char *
pflow_evaluation_band_table (PflowEvaluation *e, GError **error)
{
  GPtrArray *cells = band_rows (e, error);
  if (!cells)
    return NULL;
  GString *md = g_string_new ("|");
  for (int c = 0; c < BAND_COLS; c++)
    g_string_append_printf (md, " %s |", _(band_header[c]));
  g_string_append (md, "\n|");
  for (int c = 0; c < BAND_COLS; c++)
    g_string_append (md, "---|");
  for (guint i = 0; i < cells->len; i++)
    g_string_append_printf (md, "%s %s |", i % BAND_COLS ? "" : "\n|", (char *) g_ptr_array_index (cells, i));
  g_string_append_c (md, '\n');
  g_ptr_array_unref (cells);
  return g_string_free (md, FALSE);
}

/* bands.png and bands.svg: the same table as a figure. */
static gboolean
write_band_figures (PflowEvaluation *e, const char *outdir, GError **error)
{
  GPtrArray *cells = band_rows (e, error);
  if (!cells)
    return FALSE;
  const char *header[BAND_COLS];
  for (int c = 0; c < BAND_COLS; c++)
    header[c] = _(band_header[c]);
  char *title = g_strdup_printf (_("%s scale %d: test metrics per band of true pixel energy"), e->info.model,
                                 e->info.scale);
  PfTableSpec spec = { (int) cells->len / BAND_COLS, BAND_COLS, header, (const char *const *) cells->pdata, title };
  gboolean ok = TRUE;
  for (int f = 0; f < 2 && ok; f++)
    {
      char *path = g_build_filename (outdir, f ? "bands.svg" : "bands.png", NULL);
      ok = pf_render_table_to_file (path, &spec, error);
      g_free (path);
    }
  g_free (title);
  g_ptr_array_unref (cells);
  return ok;
}

static gboolean
write_hist (const char *dir, const char *stem, const char *title, const PfMetrics *m, GError **error)
{
  PfMetricsSummary sum;
  if (!pf_metrics_summarize (m, &sum, error))
    return FALSE;
  gboolean ok = TRUE;
  if (sum.ediff.counts)
    {
      PfHistSpec hs;
      pf_hist_spec_init (&hs, sum.ediff.counts, sum.ediff.nbins, sum.ediff.lo, sum.ediff.hi);
      hs.title = title;
      hs.log_y = TRUE;
      if (sum.ediff.fitted)
        {
          hs.has_fit = TRUE;
          hs.amplitude = sum.ediff.fit.amplitude;
          hs.mean = sum.ediff.fit.mean;
          hs.mean_err = sum.ediff.fit.mean_err;
          hs.sigma = sum.ediff.fit.sigma;
          hs.sigma_err = sum.ediff.fit.sigma_err;
          hs.chi2 = sum.ediff.fit.chi2;
          hs.ndf = sum.ediff.fit.ndf;
        }
      for (int f = 0; f < 2 && ok; f++)
        {
          char *name = g_strdup_printf ("%s.%s", stem, f ? "svg" : "png");
          char *path = g_build_filename (dir, name, NULL);
          ok = pf_render_hist_to_file (path, 720, 480, &hs, NULL, error);
          g_free (path);
          g_free (name);
        }
    }
  pf_metrics_summary_clear (&sum);
  return ok;
}

gboolean
pflow_evaluate (const char *ckpt, const char *data, PfSplit split, gboolean paper_compat,
                int n_samples, gboolean quiet, PfDevice device, PflowEvaluation *out,
                GError **error)
{
  memset (out, 0, sizeof *out);
  pf_checkpoint_info_init (&out->info);
  PfPredictor *pred = NULL;
  PfDataset *d = NULL;
  PfBaselineFit *fit = NULL;
  EvalState st = { 0 };
  gboolean ok = FALSE;
  if (!(pred = pf_predictor_new_full (ckpt, 64, device, error)) || !(d = pf_dataset_open (data, error)))
    goto out;
  const PfCheckpointInfo *info = pf_predictor_info (pred);
  int S = pf_dataset_image_size (d);
  if (S != pf_predictor_image_size (pred))
    {
      g_set_error (error, PF_ERROR, PF_ERROR_SHAPE, "%s: images are %dx%d, the model %s was trained on %dx%d",
                   data, S, S, ckpt, pf_predictor_image_size (pred), pf_predictor_image_size (pred));
      goto out;
    }
  /* The split of the events the model was trained with (its --events cap included). */
  gint64 n_all = pf_dataset_n_events (d);
  gint64 n_used = info->max_events > 0 ? MIN (n_all, info->max_events) : n_all;
  gint64 tr_first = 0, tr_count = 0;
  pf_split_range (n_used, split, &out->first, &out->count);
  pf_split_range (n_used, PF_SPLIT_TRAIN, &tr_first, &tr_count);
  if (out->count <= 0 || tr_count <= 0)
    {
      g_set_error (error, PF_ERROR, PF_ERROR_INVALID, "%s: %" G_GINT64_FORMAT " events leave the %s split empty",
                   data, n_used, out->count <= 0 ? pf_split_name (split) : "training");
      goto out;
    }
  if (!pf_checkpoint_read_info (ckpt, &out->info, error))
    goto out;

  /* The baseline is calibrated on the training split, never on the events it is judged on. */
  fit = pf_baseline_fit_new (S);
  FitState fs = { fit, S };
  if (!for_blocks (d, tr_first, tr_count, fit_block, &fs, error) ||
      !pf_baseline_fit_finish (fit, &out->baseline, error))
    goto out;

  pf_metrics_options_init (&out->options, S);
  out->options.paper_compat = paper_compat;
  out->options.norm_min = info->norm_min;
  out->options.norm_max = info->norm_max;
  if (!(out->ev = pf_evaluation_new (&out->options, &out->baseline, error)))
    goto out;
  char scale[16];
  g_snprintf (scale, sizeof scale, "%d", info->scale);
  pf_evaluation_set_meta (out->ev, "checkpoint", ckpt);
  pf_evaluation_set_meta (out->ev, "dataset", data);
  pf_evaluation_set_meta (out->ev, "split", pf_split_name (split));
  pf_evaluation_set_meta (out->ev, "model", info->model);
  pf_evaluation_set_meta (out->ev, "scale", scale);
  pf_evaluation_set_meta (out->ev, "loss", info->loss);

  if (pf_dataset_n_channels (d) == PF_DATASET_MAX_CHANNELS)
    {
      PfSimParams sp;
      pf_jet_metrics_options_init (&out->jet_options, S);
      if (pf_dataset_params (d, &sp))
        out->jet_options.eta_max = sp.eta_max;
      out->jet_options.norm_min = info->norm_min;
      out->jet_options.norm_max = info->norm_max;
      for (int j = 0; j < 2; j++)
        if (!(out->jets[j] = pf_jet_metrics_new (&out->jet_options, error)))
          goto out;
      st.jets = out->jets;
      st.baseline = &out->baseline;
      st.bl_out = g_new (float, (gsize) EVAL_BLOCK * S * S);
    }
  st.pred = pred;
  st.ev = out->ev;
  st.S = S;
  st.out = g_new (float, (gsize) EVAL_BLOCK * S * S);
  st.n_samples = (int) MIN (n_samples, out->count);
  st.sample_truth = g_new0 (float, (gsize) MAX (st.n_samples, 1) * S * S);
  st.sample_pred = g_new0 (float, (gsize) MAX (st.n_samples, 1) * S * S);
  st.prog = pflow_progress_new ("evaluating", out->count, quiet);
  ok = for_blocks (d, out->first, out->count, eval_block, &st, error);
  pflow_progress_finish (st.prog);
  out->image_size = S;
  out->n_samples = st.n_samples;
  out->sample_truth = st.sample_truth;
  out->sample_pred = st.sample_pred;
  st.sample_truth = st.sample_pred = NULL;

out:
  g_free (st.out);
  g_free (st.bl_out);
  g_free (st.sample_truth);
  g_free (st.sample_pred);
  pf_baseline_fit_free (fit);
  if (d)
    pf_dataset_close (d);
  pf_predictor_free (pred);
  if (!ok)
    pflow_evaluation_clear (out);
  return ok;
}

void
pflow_evaluation_clear (PflowEvaluation *e)
{
  pf_evaluation_free (e->ev);
  pf_jet_metrics_free (e->jets[0]);
  pf_jet_metrics_free (e->jets[1]);
  pf_checkpoint_info_clear (&e->info);
  g_free (e->sample_truth);
  g_free (e->sample_pred);
  memset (e, 0, sizeof *e);
}

static const char *const jet_source_names[2] = { "model", "baseline" };

char *
pflow_evaluation_jet_table (PflowEvaluation *e)
{
  if (!e->jets[0])
    return NULL;
  const PfJetMetricsOptions *o = &e->jet_options;
  GString *md = g_string_new (NULL);
  g_string_append_printf (md, "\nJets: anti-kt R = %g, truth jets with pt > %g GeV, predicted "
                          "candidates pt > %g GeV, matched by %s.\n\n"
                          "| source | truth jets | matched | unmatched truth / pred | "
                          "(E_pred - E_true)/E_true mean ± std | fit mean, sigma | ΔR mean | "
                          "position dev. / px | energy dev. (norm.) |\n"
                          "|---|---|---|---|---|---|---|---|---|\n",
                          o->jet.radius, o->jet_pt_min, o->pred_pt_min,
                          o->match == PF_MATCH_OVERLAP ? "circle overlap" : "Delta R");
  for (int j = 0; j < 2; j++)
    {
      PfJetSummary s;
      pf_jet_metrics_summarize (e->jets[j], &s);
      g_string_append_printf (md, "| %s | %" G_GINT64_FORMAT " | %" G_GINT64_FORMAT " | %"
                              G_GINT64_FORMAT " / %" G_GINT64_FORMAT " | ", jet_source_names[j],
                              s.n_truth_jets, s.n_matched, s.n_unmatched_truth, s.n_unmatched_pred);
      if (s.reason)
        g_string_append_printf (md, "— (%s) | — | — | — | — |\n", s.reason);
      else
        {
          g_string_append_printf (md, "%+.4f ± %.4f | ", s.rel_energy.mean, s.rel_energy.std);
          if (s.fitted)
            g_string_append_printf (md, "%+.4f, %.4f | ", s.fit.mean, s.fit.sigma);
          else
            g_string_append_printf (md, "— (%s) | ", s.fit_reason);
          g_string_append_printf (md, "%.4f | %.3f ± %.3f | %+.3f ± %.3f |\n", s.delta_r.mean,
                                  s.pos_dev_px.mean, s.pos_dev_px.std, s.energy_dev.mean,
                                  s.energy_dev.std);
        }
      pf_jet_summary_clear (&s);
    }
  return g_string_free (md, FALSE);
}

/* report.json with a "jets" object added after the other keys, written atomically. */
static gboolean
write_report (PflowEvaluation *e, const char *path, GError **error)
{
  if (!e->jets[0])
    return pf_evaluation_write_json (e->ev, path, error);
  char *json = pf_evaluation_to_json (e->ev, error);
  if (!json)
    return FALSE;
  char *end = strrchr (json, '}');
  if (!end)
    {
      g_set_error (error, PF_ERROR, PF_ERROR_INVALID, "%s: the report is not a JSON object", path);
      g_free (json);
      return FALSE;
    }
  GString *str = g_string_new_len (json, end - json);
  g_free (json);
  while (str->len > 0 && g_ascii_isspace (str->str[str->len - 1]))
    g_string_truncate (str, str->len - 1);
  g_string_append (str, ",\n  \"jets\": {\n");
  for (int j = 0; j < 2; j++)
    {
      PfJetSummary s;
      pf_jet_metrics_summarize (e->jets[j], &s);
      g_string_append_printf (str, "    \"%s\": ", jet_source_names[j]);
      pf_jet_summary_to_json (&s, &e->jet_options, str, 4);
      g_string_append (str, j == 0 ? ",\n" : "\n");
      pf_jet_summary_clear (&s);
    }
  g_string_append (str, "  }\n}\n");
  /* g_file_set_contents writes a temporary file and renames it into place */
  gboolean ok = g_file_set_contents (path, str->str, (gssize) str->len, error);
  g_string_free (str, TRUE);
  return ok;
}

typedef struct {
  PflowEvaluation *e;
  const float *truth, *pred;
  const char *title;
  PfJetEvent *ev;
} JetFigure;

/* The circle of radius r around (eta, phi), and its image one turn over when it crosses
 * phi = +-pi, clipped to the plot. */
static void
draw_circle (cairo_t *cr, const PfRenderRect *plot, double eta_max, double eta, double phi,
             double r, gboolean dashed)
{
  const double sx = plot->w / (2 * G_PI), sy = plot->h / (2 * eta_max);
  cairo_save (cr);
  cairo_rectangle (cr, plot->x, plot->y, plot->w, plot->h);
  cairo_clip (cr);
  cairo_set_line_width (cr, 2.0);
  cairo_set_source_rgb (cr, dashed ? 1.0 : 1.0, dashed ? 0.3 : 1.0, dashed ? 0.3 : 1.0);
  if (dashed)
    {
      const double d[] = { 6.0, 4.0 };
      cairo_set_dash (cr, d, 2, 0);
    }
  for (int k = -1; k <= 1; k++)
    {
      double cx = plot->x + (phi + k * 2 * G_PI + G_PI) * sx;
      double cy = plot->y + plot->h - (eta + eta_max) * sy;
      cairo_save (cr);
      cairo_translate (cr, cx, cy);
      cairo_scale (cr, sx, sy); /* a circle in (eta, phi), whatever the aspect of the pixels */
      cairo_new_path (cr);
      cairo_arc (cr, 0, 0, r, 0, 2 * G_PI);
      cairo_restore (cr);
      cairo_stroke (cr);
    }
  cairo_restore (cr);
}

static void
draw_jet_figure (cairo_t *cr, double width, double height, gpointer user)
{
  JetFigure *f = user;
  const int S = f->e->image_size;
  PfRenderRect area = { 0, 0, width, height };
  PfImageLayout lay[3];
  pf_render_event_panel (cr, &area, f->truth, f->pred, S, S, PF_RENDER_SCALE_LOG, f->title, lay);
  const PfJetMetricsOptions *o = &f->e->jet_options;
  /* truth circles solid in the truth and prediction panes, predicted ones dashed */
  for (int pane = 0; pane < 2; pane++)
    {
      for (int i = 0; i < f->ev->n_truth; i++)
        {
          const PfJet *j = &f->ev->truth[i];
          draw_circle (cr, &lay[pane].plot, o->eta_max, j->rap, j->phi, sqrt (j->area / G_PI), FALSE);
        }
      for (int i = 0; i < f->ev->n_pred; i++)
        {
          const PfJet *j = &f->ev->pred[i];
          draw_circle (cr, &lay[pane].plot, o->eta_max, j->rap, j->phi, sqrt (j->area / G_PI), TRUE);
        }
    }
}

/* The first sample event with a measured truth jet (or the first one), with its jets; and
 * the histogram of the relative jet energy error of each source. */
static gboolean
write_jet_figures (PflowEvaluation *e, const char *dir, GError **error)
{
  const gsize plane = (gsize) e->image_size * e->image_size;
  gboolean ok = TRUE;
  if (e->n_samples > 0)
    {
      PfJetEvent ev = { 0 };
      int pick = -1;
      for (int i = 0; i < e->n_samples && pick < 0 && ok; i++)
        {
          pf_jet_event_clear (&ev);
          ok = pf_jet_event_compute (&e->jet_options, e->sample_pred + i * plane,
                                     e->sample_truth + i * plane, &ev, error);
          if (ok && ev.n_truth > 0)
            pick = i;
        }
      if (ok && pick < 0)
        {
          pf_jet_event_clear (&ev);
          pick = 0;
          ok = pf_jet_event_compute (&e->jet_options, e->sample_pred, e->sample_truth, &ev, error);
        }
      char *title = g_strdup_printf ("event %" G_GINT64_FORMAT ": jets pt > %g GeV, truth solid, "
                                     "prediction (pt > %g GeV) dashed", e->first + pick,
                                     e->jet_options.jet_pt_min, e->jet_options.pred_pt_min);
      JetFigure f = { e, e->sample_truth + pick * plane, e->sample_pred + pick * plane, title, &ev };
      for (int k = 0; k < 2 && ok; k++)
        {
          char *path = g_build_filename (dir, k ? "jets-event.svg" : "jets-event.png", NULL);
          ok = pf_render_to_file (path, 1500, 520, draw_jet_figure, &f, error);
          g_free (path);
        }
      g_free (title);
      pf_jet_event_clear (&ev);
    }
  for (int j = 0; j < 2 && ok; j++)
    {
      PfJetSummary s;
      pf_jet_metrics_summarize (e->jets[j], &s);
      PfHistSpec hs;
      pf_hist_spec_init (&hs, s.counts, s.nbins, s.lo, s.hi);
      char *title = g_strdup_printf ("%s: relative jet energy error, %" G_GINT64_FORMAT " matched jets",
                                     jet_source_names[j], s.n_matched);
      hs.title = title;
      hs.xlabel = "(E_pred - E_true) / E_true";
      hs.ylabel = "jets";
      if (s.fitted)
        {
          hs.has_fit = TRUE;
          hs.amplitude = s.fit.amplitude;
          hs.mean = s.fit.mean;
          hs.mean_err = s.fit.mean_err;
          hs.sigma = s.fit.sigma;
          hs.sigma_err = s.fit.sigma_err;
          hs.chi2 = s.fit.chi2;
          hs.ndf = s.fit.ndf;
        }
      for (int k = 0; k < 2 && ok; k++)
        {
          char *name = g_strdup_printf ("jets-energy-%s.%s", jet_source_names[j], k ? "svg" : "png");
          char *path = g_build_filename (dir, name, NULL);
          ok = pf_render_hist_to_file (path, 720, 480, &hs, NULL, error);
          g_free (path);
          g_free (name);
        }
      g_free (title);
      pf_jet_summary_clear (&s);
    }
  return ok;
}

int
pflow_cmd_eval (int argc, char **argv)
{
  char *ckpt = NULL, *data = NULL, *split_name = NULL, *outdir = NULL, *device_name = NULL;
  gboolean paper_compat = FALSE, quiet = FALSE;
  gint samples = 4;
  GOptionEntry entries[] = {
    { "model", 'm', 0, G_OPTION_ARG_FILENAME, &ckpt, N_("Checkpoint (best.h5 of a run)"), "CKPT" },
    { "data", 'd', 0, G_OPTION_ARG_FILENAME, &data, N_("Dataset to evaluate on"), "FILE" },
    { "split", 0, 0, G_OPTION_ARG_STRING, &split_name, N_("train, val, test (default) or all"), "SPLIT" },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &outdir, N_("Folder for report.json, bands.md and figures (default: beside the checkpoint, eval-SPLIT)"), "DIR" },
    { "paper-compat", 0, 0, G_OPTION_ARG_NONE, &paper_compat, N_("Barycentres as the published script computes them"), NULL },
    { "samples", 0, 0, G_OPTION_ARG_INT, &samples, N_("Sample events drawn as figures (default 4)"), "N" },
    { "device", 0, 0, G_OPTION_ARG_STRING, &device_name, N_("auto, cpu or cuda: where the model predicts (default auto: the GPU when one is usable)"), "NAME" },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, N_("No progress bar"), NULL },
    { NULL }
  };
  GOptionContext *ctx = g_option_context_new (_("- pixel metrics of a model against the baseline"));
  g_option_context_add_main_entries (ctx, entries, GETTEXT_PACKAGE);
  gboolean parsed = pflow_parse_options (ctx, &argc, &argv, "eval");
  g_option_context_free (ctx);
  if (!parsed)
    return 2;
  int status = 0;
  GError *error = NULL;
  PflowEvaluation e = { 0 };
  char *md = NULL, *json_path = NULL, *md_path = NULL;
  PfSplit split = PF_SPLIT_TEST;
  if (!ckpt || !data || argc > 1)
    {
      fprintf (stderr, "pflow eval: expected --model CKPT and --data FILE\nTry 'pflow eval --help'.\n");
      status = 2;
      goto out;
    }
  if (split_name && !pf_split_parse (split_name, &split))
    {
      fprintf (stderr, "pflow eval: unknown split '%s' (train, val, test, all)\n", split_name);
      status = 2;
      goto out;
    }
  if (samples < 0 || samples > 64)
    {
      fprintf (stderr, "pflow eval: --samples must be 0..64\n");
      status = 2;
      goto out;
    }
  PfDevice device;
  char *what = NULL;
  if (!pf_device_pick (device_name, &device, &what, &error))
    goto fail;
  if (!quiet)
    fprintf (stderr, _("predicting on the %s\n"), what);
  g_free (what);
  if (!pflow_evaluate (ckpt, data, split, paper_compat, samples, quiet, device, &e, &error))
    goto fail;

  /* Outputs, into a folder of their own. */
  if (!outdir)
    {
      char *base = g_path_get_dirname (ckpt);
      char *name = g_strdup_printf ("eval-%s", pf_split_name (split));
      outdir = g_build_filename (base, name, NULL);
      g_free (base);
      g_free (name);
    }
  if (g_mkdir_with_parents (outdir, 0755) != 0)
    {
      g_set_error (&error, PF_ERROR, PF_ERROR_IO, "%s: cannot create the folder: %s", outdir, g_strerror (errno));
      goto fail;
    }
  json_path = g_build_filename (outdir, "report.json", NULL);
  md_path = g_build_filename (outdir, "bands.md", NULL);
  if (!write_report (&e, json_path, &error) || !(md = pflow_evaluation_band_table (&e, &error)))
    goto fail;
  char *jet_md = pflow_evaluation_jet_table (&e);
  if (jet_md)
    {
      char *both = g_strconcat (md, jet_md, NULL);
      g_free (md);
      g_free (jet_md);
      md = both;
    }
  if (!g_file_set_contents (md_path, md, -1, &error) || !write_band_figures (&e, outdir, &error) ||
      (e.jets[0] && !write_jet_figures (&e, outdir, &error)))
    goto fail;
  int S = e.image_size;
  for (int i = 0; i < e.n_samples; i++)
    for (int f = 0; f < 2; f++)
      {
        char *name = g_strdup_printf ("event-%" G_GINT64_FORMAT ".%s", e.first + i, f ? "svg" : "png");
        char *path = g_build_filename (outdir, name, NULL);
        char *title = g_strdup_printf ("%s scale %d, event %" G_GINT64_FORMAT " (%s split): truth, prediction, residual",
                                       e.info.model, e.info.scale, e.first + i, pf_split_name (split));
        gsize plane = (gsize) S * S;
        gboolean ok = pf_render_event_panel_to_file (path, 1500, 520, e.sample_truth + i * plane,
                                                     e.sample_pred + i * plane, S, S, PF_RENDER_SCALE_LINEAR,
                                                     title, NULL, &error);
        g_free (title);
        g_free (path);
        g_free (name);
        if (!ok)
          goto fail;
      }
  if (!write_hist (outdir, "ediff-model", "model: (pred - true) / (max - min)", pf_evaluation_metrics (e.ev, PF_EVAL_MODEL), &error) ||
      !write_hist (outdir, "ediff-baseline", "baseline: (pred - true) / (max - min)", pf_evaluation_metrics (e.ev, PF_EVAL_BASELINE), &error))
    goto fail;

  printf ("%s on %s, %s split (%" G_GINT64_FORMAT " events); baseline: trk + %.3f emcal + %.3f hcal\n", e.info.model,
          data, pf_split_name (split), e.count, e.baseline.a, e.baseline.b);
  fputs (md, stdout);
  printf ("report: %s\n", json_path);
  goto out;

fail:
  status = pflow_fail ("eval", error);
out:
  pflow_evaluation_clear (&e);
  g_free (md);
  g_free (json_path);
  g_free (md_path);
  g_free (ckpt);
  g_free (data);
  g_free (split_name);
  g_free (outdir);
  g_free (device_name);
  return status;
}
