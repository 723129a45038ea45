/* pflow-cmd-eval.c — `pflow eval --model CKPT --data FILE`: the pixel metrics of DESIGN.md §7
 * for a trained model and, on the same events, the non-learned baseline (tracker + calibrated
 * calorimeters, fitted on the training split) and the raw sum; a JSON report, a Markdown band
 * table and figures (sample events, energy-difference histograms with the Gaussian fit). */
#include "pflow-cli.h"
#include "pflow-eval.h"
#include "pf-baseline.h"
#include "pf-dataset.h"
#include "pf-error.h"
#include "pf-eval-report.h"
#include "pf-predictor.h"
#include "pf-render-hist.h"
#include "pf-render-image.h"
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
  float *block = g_try_malloc ((gsize) bs * PF_N_CHANNELS * S * S * sizeof (float));
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
  for (gint64 e = 0; e < n && st->kept < st->n_samples; e++, st->kept++)
    {
      memcpy (st->sample_truth + st->kept * plane, truth + e * plane, plane * sizeof (float));
      memcpy (st->sample_pred + st->kept * plane, st->out + e * plane, plane * sizeof (float));
    }
  st->done += n;
  pflow_progress_update (st->prog, st->done);
  return TRUE;
}

char *
pflow_evaluation_band_table (PflowEvaluation *e, GError **error)
{
  PfEvaluation *ev = e->ev;
  GString *md = g_string_new ("| source | WMSE | band | pixels | residual (mean ± std) | barycentre shift / px |\n"
                              "|---|---|---|---|---|---|\n");
  for (int s = 0; s < PF_EVAL_N_SOURCES; s++)
    {
      PfMetricsSummary sum;
      if (!pf_metrics_summarize (pf_evaluation_metrics (ev, s), &sum, error))
        {
          g_string_free (md, TRUE);
          return NULL;
        }
      for (int b = 0; b < sum.n_bands; b++)
        {
          const PfBandSummary *bs = &sum.bands[b];
          g_string_append_printf (md, "| %s | %.4g | %s GeV | %" G_GINT64_FORMAT " | ", pf_eval_source_name (s),
                                  sum.wmse, bs->label, bs->n_pixels);
          if (bs->residual_reason)
            g_string_append_printf (md, "— (%s) | ", bs->residual_reason);
          else
            g_string_append_printf (md, "%+.4f ± %.4f | ", bs->residual_mean, bs->residual_std);
          if (bs->shift_reason)
            g_string_append_printf (md, "— (%s) |\n", bs->shift_reason);
          else
            g_string_append_printf (md, "%.3f ± %.3f |\n", bs->shift_mean, bs->shift_std);
        }
      pf_metrics_summary_clear (&sum);
    }
  return g_string_free (md, FALSE);
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
                int n_samples, gboolean quiet, PflowEvaluation *out, GError **error)
{
  memset (out, 0, sizeof *out);
  pf_checkpoint_info_init (&out->info);
  PfPredictor *pred = NULL;
  PfDataset *d = NULL;
  PfBaselineFit *fit = NULL;
  EvalState st = { 0 };
  gboolean ok = FALSE;
  if (!(pred = pf_predictor_new (ckpt, 64, error)) || !(d = pf_dataset_open (data, error)))
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
  pf_checkpoint_info_clear (&e->info);
  g_free (e->sample_truth);
  g_free (e->sample_pred);
  memset (e, 0, sizeof *e);
}

int
pflow_cmd_eval (int argc, char **argv)
{
  char *ckpt = NULL, *data = NULL, *split_name = NULL, *outdir = NULL;
  gboolean paper_compat = FALSE, quiet = FALSE;
  gint samples = 4;
  GOptionEntry entries[] = {
    { "model", 'm', 0, G_OPTION_ARG_FILENAME, &ckpt, N_("Checkpoint (best.h5 of a run)"), "CKPT" },
    { "data", 'd', 0, G_OPTION_ARG_FILENAME, &data, N_("Dataset to evaluate on"), "FILE" },
    { "split", 0, 0, G_OPTION_ARG_STRING, &split_name, N_("train, val, test (default) or all"), "SPLIT" },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &outdir, N_("Folder for report.json, bands.md and figures (default: beside the checkpoint, eval-SPLIT)"), "DIR" },
    { "paper-compat", 0, 0, G_OPTION_ARG_NONE, &paper_compat, N_("Barycentres as the published script computes them"), NULL },
    { "samples", 0, 0, G_OPTION_ARG_INT, &samples, N_("Sample events drawn as figures (default 4)"), "N" },
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
  if (!pflow_evaluate (ckpt, data, split, paper_compat, samples, quiet, &e, &error))
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
  if (!pf_evaluation_write_json (e.ev, json_path, &error) || !(md = pflow_evaluation_band_table (&e, &error)) ||
      !g_file_set_contents (md_path, md, -1, &error))
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
  return status;
}
