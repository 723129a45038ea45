/* pflow-cmd-ablate.c — `pflow ablate`: train and evaluate a grid of variants x scales x losses
 * on one dataset, and tabulate the test metrics like the paper's ablation figure (rows =
 * variants, columns = scales), as Markdown, CSV and JSON with the command line recorded. The
 * earlier family has no scales: such a variant is trained once per loss, and tabulated like the
 * comparison study (rows = models, columns = losses).
 *
 * Each run is an ordinary `pflow train` run folder (ablation/VARIANT-sSCALE-LOSS/, or
 * VARIANT-LOSS/ without scales), so a run that
 * is already complete is reused and an interrupted one resumes. */
#include "pflow-cli.h"
#include "pflow-eval.h"
#include "pf-error.h"
#include "pf-model.h"
#include "pf-trainer.h"
#include "pf-loss.h"
#include "pf-device.h"
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

typedef struct {
  char *variant, *loss;
  int scale;
  size_t params;
  int epochs_run, best_epoch;
  double best_val, seconds;
  PfMetricsSummary model, baseline;
  PfMetricsOptions options;
  gboolean done;
} AblationRun;

/* What every run of the grid shares. */
typedef struct {
  const char *data, *outdir;
  int epochs, batch, patience;
  gint64 events;
  double lr;
  gboolean quiet;
  PfDevice device;       /* training and the test predictions */
  const char *precision; /* as set on the device, for log.json */
} AblationGrid;

static void
run_clear (AblationRun *r)
{
  g_free (r->variant);
  g_free (r->loss);
  if (r->done)
    {
      pf_metrics_summary_clear (&r->model);
      pf_metrics_summary_clear (&r->baseline);
    }
}

static void
on_epoch (const PfTrainLogRow *row, gpointer user)
{
  const char *name = user;
  fprintf (stderr, "  %s epoch %d: train %.5g val %.5g (%.0f s)%s\n", name, row->epoch, row->train_loss,
           row->val_loss, row->seconds, row->best ? " *best" : "");
}

static char **
split_list (const char *s, const char *fallback)
{
  char **v = g_strsplit (s ? s : fallback, ",", -1);
  for (char **p = v; *p; p++)
    g_strstrip (*p);
  return v;
}

/* Trains (or resumes, or reuses) one run and evaluates its best weights on the test split. */
static gboolean
do_run (AblationRun *r, const AblationGrid *grid, GError **error)
{
  const char *data = grid->data;
  char *label = pf_model_label (r->variant, r->scale);
  char *name = g_strdup_printf ("%s-%s", label, r->loss);
  g_free (label);
  char *dir = g_build_filename (grid->outdir, name, NULL);
  char *last = g_build_filename (dir, "last.h5", NULL);
  char *best = g_build_filename (dir, "best.h5", NULL);
  PfTrainOptions o;
  pf_train_options_init (&o);
  o.data_path = data;
  o.out_dir = dir;
  o.model = r->variant;
  o.scale = r->scale;
  o.loss = r->loss;
  o.epochs = grid->epochs;
  o.max_events = grid->events;
  o.batch = grid->batch;
  o.lr = grid->lr;
  o.patience = grid->patience;
  o.device = grid->device;
  o.precision = grid->precision;
  o.resume = g_file_test (last, G_FILE_TEST_EXISTS);
  PfTrainCallbacks cb = { .epoch = grid->quiet ? NULL : on_epoch, .user_data = name };
  PfTrainResult res = { 0 };
  gint64 t0 = g_get_monotonic_time ();
  fprintf (stderr, "%s: %s\n", name, o.resume ? "resuming" : "training");
  gboolean ok = pf_train (&o, &cb, &pflow_cancel_flag, &res, error);
  r->seconds = (g_get_monotonic_time () - t0) / 1e6;
  r->epochs_run = res.epochs_run;
  r->best_epoch = res.best_epoch;
  r->best_val = res.best_val_loss;
  pf_train_result_clear (&res);
  if (ok)
    ok = pf_model_param_count (r->variant, r->scale, &r->params, error);
  PflowEvaluation e = { 0 };
  if (ok && (ok = pflow_evaluate (best, data, PF_SPLIT_TEST, FALSE, 0, TRUE, grid->device, &e, error)))
    {
      char *json_path = g_build_filename (dir, "report.json", NULL);
      ok = pf_evaluation_write_json (e.ev, json_path, error) &&
           pf_metrics_summarize (pf_evaluation_metrics (e.ev, PF_EVAL_MODEL), &r->model, error);
      if (ok && !pf_metrics_summarize (pf_evaluation_metrics (e.ev, PF_EVAL_BASELINE), &r->baseline, error))
        {
          pf_metrics_summary_clear (&r->model);
          ok = FALSE;
        }
      r->done = ok;
      r->options = e.options;
      g_free (json_path);
    }
  pflow_evaluation_clear (&e);
  if (!ok)
    g_prefix_error (error, "%s: ", name);
  g_free (name);
  g_free (dir);
  g_free (last);
  g_free (best);
  return ok;
}

static void
csv_number (GString *s, double v)
{
  if (isfinite (v))
    g_string_append_printf (s, ",%.6g", v);
  else
    g_string_append (s, ",");
}

static gboolean
is_scaled (const char *variant)
{
  const PfModelInfo *info = pf_model_find (variant);
  return info && info->max_scale > 0;
}

static const AblationRun *
find_run (const AblationRun *runs, int n_runs, const char *variant, const char *loss, int scale)
{
  for (int i = 0; i < n_runs; i++)
    if (!strcmp (runs[i].variant, variant) && !strcmp (runs[i].loss, loss) && runs[i].scale == scale)
      return &runs[i];
  return NULL;
}

static double
mean_abs_residual (const PfMetricsSummary *m)
{
  double res = 0;
  for (int b = 0; b < m->n_bands; b++)
    res += fabs (m->bands[b].residual_mean) / m->n_bands;
  return res;
}

/* One Markdown cell: test WMSE / mean |residual| over the bands. */
static void
append_cell (GString *md, const AblationRun *r)
{
  if (r && r->done)
    g_string_append_printf (md, " %.4g / %.4f |", r->model.wmse, mean_abs_residual (&r->model));
  else
    g_string_append (md, " — |");
}

static void
append_baseline_row (GString *md, const AblationRun *any)
{
  if (any)
    g_string_append_printf (md, "| *baseline* | %.4g / %.4f (same test events) |\n", any->baseline.wmse,
                            mean_abs_residual (&any->baseline));
}

static gboolean
write_tables (const char *outdir, const char *cmdline, char **variants, char **losses, int *scales,
              int n_scales, AblationRun *runs, int n_runs, GError **error)
{
  int n_bands = 0;
  for (int i = 0; i < n_runs && !n_bands; i++)
    n_bands = runs[i].done ? runs[i].model.n_bands : 0;
  /* Markdown: one table per loss, rows = variants, columns = scales, cell = test WMSE and the
   * mean |residual| over the bands. */
  GString *md = g_string_new (NULL);
  g_string_append_printf (md, "# Ablation\n\n`%s`\n\nTest split; cell: WMSE (GeV) / mean over bands of |relative "
                              "energy residual|; the baseline is trk + a emcal + b hcal fitted on the training split.\n",
                          cmdline);
  gboolean any_scaled = FALSE, any_unscaled = FALSE;
  for (char **v = variants; *v; v++)
    *(is_scaled (*v) ? &any_scaled : &any_unscaled) = TRUE;
  for (char **l = losses; *l && any_scaled; l++)
    {
      g_string_append_printf (md, "\n## loss %s\n\n| variant |", *l);
      for (int s = 0; s < n_scales; s++)
        g_string_append_printf (md, " scale %d |", scales[s]);
      g_string_append (md, "\n|---|");
      for (int s = 0; s < n_scales; s++)
        g_string_append (md, "---|");
      g_string_append_c (md, '\n');
      const AblationRun *any = NULL;
      for (char **v = variants; *v; v++)
        {
          if (!is_scaled (*v))
            continue;
          g_string_append_printf (md, "| %s |", *v);
          for (int s = 0; s < n_scales; s++)
            {
              const AblationRun *r = find_run (runs, n_runs, *v, *l, scales[s]);
              append_cell (md, r);
              if (r && r->done)
                any = r;
            }
          g_string_append_c (md, '\n');
        }
      append_baseline_row (md, any);
    }
  if (any_unscaled)
    {
      /* the comparison study's layout: models x losses */
      g_string_append (md, "\n## models without scales\n\n| model |");
      for (char **l = losses; *l; l++)
        g_string_append_printf (md, " loss %s |", *l);
      g_string_append (md, "\n|---|");
      for (char **l = losses; *l; l++)
        g_string_append (md, "---|");
      g_string_append_c (md, '\n');
      const AblationRun *any = NULL;
      for (char **v = variants; *v; v++)
        {
          if (is_scaled (*v))
            continue;
          g_string_append_printf (md, "| %s |", *v);
          for (char **l = losses; *l; l++)
            {
              const AblationRun *r = find_run (runs, n_runs, *v, *l, 0);
              append_cell (md, r);
              if (r && r->done)
                any = r;
            }
          g_string_append_c (md, '\n');
        }
      append_baseline_row (md, any);
    }

  /* CSV and JSON: one row/object per run with every number. */
  GString *csv = g_string_new ("variant,scale,loss,params,epochs,best_epoch,best_val_loss,seconds,wmse,baseline_wmse");
  for (int b = 0; b < n_bands; b++)
    g_string_append_printf (csv, ",residual_b%d,baseline_residual_b%d,shift_b%d,baseline_shift_b%d", b, b, b, b);
  g_string_append_c (csv, '\n');
  GString *js = g_string_new ("{\n  \"command\": ");
  pf_json_append_string (js, cmdline);
  g_string_append (js, ",\n  \"runs\": [");
  for (int i = 0; i < n_runs; i++)
    {
      const AblationRun *r = &runs[i];
      g_string_append_printf (csv, "%s,%d,%s,%zu,%d,%d", r->variant, r->scale, r->loss, r->params, r->epochs_run,
                              r->best_epoch);
      csv_number (csv, r->best_val);
      csv_number (csv, r->seconds);
      csv_number (csv, r->done ? r->model.wmse : NAN);
      csv_number (csv, r->done ? r->baseline.wmse : NAN);
      for (int b = 0; b < n_bands; b++)
        {
          csv_number (csv, r->done ? r->model.bands[b].residual_mean : NAN);
          csv_number (csv, r->done ? r->baseline.bands[b].residual_mean : NAN);
          csv_number (csv, r->done ? r->model.bands[b].shift_mean : NAN);
          csv_number (csv, r->done ? r->baseline.bands[b].shift_mean : NAN);
        }
      g_string_append_c (csv, '\n');
      g_string_append_printf (js, "%s\n    {\"variant\": \"%s\", \"scale\": %d, \"loss\": \"%s\", \"params\": %zu, "
                                  "\"epochs\": %d, \"best_epoch\": %d, \"best_val_loss\": ",
                              i ? "," : "", r->variant, r->scale, r->loss, r->params, r->epochs_run, r->best_epoch);
      pf_json_append_double (js, r->best_val);
      g_string_append (js, ", \"seconds\": ");
      pf_json_append_double (js, r->seconds);
      if (r->done)
        {
          g_string_append (js, ",\n     \"model\": ");
          pf_metrics_summary_to_json (&r->model, &r->options, js, 6);
          g_string_append (js, ",\n     \"baseline\": ");
          pf_metrics_summary_to_json (&r->baseline, &r->options, js, 6);
        }
      else
        g_string_append (js, ", \"model\": null, \"reason\": \"the run did not finish\"");
      g_string_append (js, "}");
    }
  g_string_append (js, "\n  ]\n}\n");

  const char *names[3] = { "ablation.md", "ablation.csv", "ablation.json" };
  GString *bodies[3] = { md, csv, js };
  gboolean ok = TRUE;
  for (int i = 0; i < 3 && ok; i++)
    {
      char *path = g_build_filename (outdir, names[i], NULL);
      ok = g_file_set_contents (path, bodies[i]->str, bodies[i]->len, error); /* atomic: temp + rename */
      if (ok && i == 0)
        printf ("%s", md->str);
      if (ok)
        fprintf (stderr, "wrote %s\n", path);
      g_free (path);
    }
  for (int i = 0; i < 3; i++)
    g_string_free (bodies[i], TRUE);
  return ok;
}

int
pflow_cmd_ablate (int argc, char **argv)
{
  char *data = NULL, *variants_s = NULL, *scales_s = NULL, *losses_s = NULL, *outdir = NULL;
  char *device_name = NULL, *precision = NULL;
  gint epochs = 20, batch = 0, patience = 20;
  gint64 events = 0;
  double lr = 0;
  gboolean quiet = FALSE;
  char *joined = g_strjoinv (" ", argv);
  char *cmdline = g_strconcat ("pflow ", joined, NULL);
  g_free (joined);
  GOptionEntry entries[] = {
    { "data", 'd', 0, G_OPTION_ARG_FILENAME, &data, N_("Dataset"), "FILE" },
    { "variants", 0, 0, G_OPTION_ARG_STRING, &variants_s, N_("Comma-separated models (default cnn,se,rowatt,3d,se3d; earlier models such as mlp,unet,lstm run once per loss)"), "LIST" },
    { "scales", 0, 0, G_OPTION_ARG_STRING, &scales_s, N_("Comma-separated scales (default 1,2)"), "LIST" },
    { "losses", 0, 0, G_OPTION_ARG_STRING, &losses_s, N_("Comma-separated losses (default mix)"), "LIST" },
    { "epochs", 'e', 0, G_OPTION_ARG_INT, &epochs, N_("Epoch cap per run (default 20)"), "N" },
    { "events", 'n', 0, G_OPTION_ARG_INT64, &events, N_("Use only the first N events (default all)"), "N" },
    { "batch", 'b', 0, G_OPTION_ARG_INT, &batch, N_("Batch (default: the paper's per scale)"), "B" },
    { "lr", 0, 0, G_OPTION_ARG_DOUBLE, &lr, N_("Learning rate (default 1e-3 x batch/200)"), "LR" },
    { "patience", 0, 0, G_OPTION_ARG_INT, &patience, N_("Early-stopping patience (default 20)"), "N" },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &outdir, N_("Folder of the runs and tables (default ablation)"), "DIR" },
    { "device", 0, 0, G_OPTION_ARG_STRING, &device_name, N_("auto, cpu or cuda (default auto: the GPU when one is usable)"), "NAME" },
    { "precision", 0, 0, G_OPTION_ARG_STRING, &precision, N_("GPU products in fp32, tf32 or bf16 (default fp32; docs/cuda-backend.md)"), "NAME" },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, N_("No per-epoch lines"), NULL },
    { NULL }
  };
  GOptionContext *ctx = g_option_context_new (_("- train and evaluate a grid of variants x scales x losses"));
  g_option_context_add_main_entries (ctx, entries, GETTEXT_PACKAGE);
  gboolean parsed = pflow_parse_options (ctx, &argc, &argv, "ablate");
  g_option_context_free (ctx);
  int status = 0;
  char **variants = NULL, **losses = NULL, **scale_strs = NULL;
  int *scales = NULL, n_scales = 0, n_runs = 0;
  AblationRun *runs = NULL;
  GError *error = NULL;
  if (!parsed)
    {
      status = 2;
      goto out;
    }
  if (!data || argc > 1 || epochs <= 0 || events < 0 || batch < 0 || patience < 0)
    {
      fprintf (stderr, "pflow ablate: expected --data FILE and positive --epochs (--events, --batch >= 0)\n"
                       "Try 'pflow ablate --help'.\n");
      status = 2;
      goto out;
    }
  variants = split_list (variants_s, "cnn,se,rowatt,3d,se3d");
  losses = split_list (losses_s, "mix");
  scale_strs = split_list (scales_s, "1,2");
  n_scales = (int) g_strv_length (scale_strs);
  scales = g_new0 (int, MAX (n_scales, 1));
  /* Validate the whole grid before the first hour of training. */
  for (int s = 0; s < n_scales; s++)
    {
      char *end = NULL;
      scales[s] = (int) g_ascii_strtoll (scale_strs[s], &end, 10);
      if (!end || *end || end == scale_strs[s])
        {
          fprintf (stderr, "pflow ablate: '%s' is not a scale\n", scale_strs[s]);
          status = 2;
          goto out;
        }
    }
  for (char **v = variants; *v; v++)
    for (int s = 0; s < n_scales; s++)
      {
        size_t np;
        if (!pf_model_param_count (*v, is_scaled (*v) ? scales[s] : 0, &np, &error))
          {
            status = pflow_fail ("ablate", error);
            goto out;
          }
      }
  for (char **l = losses; *l; l++)
    {
      PfLossKind k;
      if (!pf_loss_kind_parse (*l, &k))
        {
          fprintf (stderr, "pflow ablate: unknown loss '%s' (mse, wmse, ssim, mix)\n", *l);
          status = 2;
          goto out;
        }
    }
  AblationGrid grid = { data, NULL, epochs, batch, patience, events, lr, quiet, PF_DEVICE_CPU,
                        precision ? precision : "fp32" };
  char *what = NULL;
  if (!pf_device_pick (device_name, &grid.device, &what, &error)
      || !pf_device_set_precision (grid.device, precision, &error))
    {
      g_free (what);
      status = pflow_fail ("ablate", error);
      goto out;
    }
  fprintf (stderr, _("training on the %s\n"), what);
  g_free (what);
  if (!outdir)
    outdir = g_strdup ("ablation");
  grid.outdir = outdir;
  if (g_mkdir_with_parents (outdir, 0755) != 0)
    {
      fprintf (stderr, "pflow ablate: cannot create %s: %s\n", outdir, g_strerror (errno));
      status = 1;
      goto out;
    }
  /* a variant without scales runs once per loss, whatever --scales says */
  for (char **v = variants; *v; v++)
    n_runs += (is_scaled (*v) ? n_scales : 1) * (int) g_strv_length (losses);
  if (n_runs == 0)
    {
      fprintf (stderr, "pflow ablate: the grid is empty (no variants, scales or losses)\n");
      status = 2;
      goto out;
    }
  runs = g_new0 (AblationRun, n_runs);
  int i = 0;
  for (char **l = losses; *l; l++)
    for (char **v = variants; *v; v++)
      for (int s = 0; s < (is_scaled (*v) ? n_scales : 1); s++, i++)
        {
          runs[i].variant = g_strdup (*v);
          runs[i].loss = g_strdup (*l);
          runs[i].scale = is_scaled (*v) ? scales[s] : 0;
          runs[i].best_val = NAN;
        }
  for (i = 0; i < n_runs; i++)
    if (!do_run (&runs[i], &grid, &error))
      {
        /* a failed or interrupted run is reported and the table written with what is done */
        status = pflow_fail ("ablate", error);
        error = NULL;
        if (status == 130)
          break;
      }
  if (!write_tables (outdir, cmdline, variants, losses, scales, n_scales, runs, n_runs, &error))
    status = pflow_fail ("ablate", error);

out:
  for (i = 0; i < n_runs; i++)
    run_clear (&runs[i]);
  g_free (runs);
  g_free (scales);
  g_strfreev (variants);
  g_strfreev (losses);
  g_strfreev (scale_strs);
  g_free (data);
  g_free (variants_s);
  g_free (scales_s);
  g_free (losses_s);
  g_free (outdir);
  g_free (device_name);
  g_free (precision);
  g_free (cmdline);
  return status;
}
