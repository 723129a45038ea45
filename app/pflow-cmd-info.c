/* pflow-cmd-info.c — `pflow info FILE`: how a dataset was made and what it holds, or, for a
 * checkpoint, which model it holds, how it was trained and its training log. */
#include "pflow-cli.h"
#include "pf-checkpoint.h"
#include "pf-dataset.h"
#include "pf-error.h"
#include "pf-model.h"
#include <math.h>
#include <glib/gi18n.h>
#include <stdio.h>
#include <string.h>

static void
on_progress (int64_t done, int64_t total, gpointer user_data)
{
  pflow_progress_update (user_data, done);
}

static void
print_params (const PfSimParams *p)
{
  guint n = 0;
  const PfSimParamInfo *table = pf_sim_param_table (&n);
  printf ("simulator parameters:\n");
  for (guint i = 0; i < n; i++)
    {
      const char *base = (const char *) p + table[i].offset;
      switch (table[i].type)
        {
        case PF_PARAM_DOUBLE:
          printf ("  %-20s %g\n", table[i].name, *(const double *) base);
          break;
        case PF_PARAM_INT:
          printf ("  %-20s %d\n", table[i].name, *(const int *) base);
          break;
        case PF_PARAM_BOOL:
          printf ("  %-20s %s\n", table[i].name, *(const gboolean *) base ? "true" : "false");
          break;
        case PF_PARAM_U64:
          printf ("  %-20s %" G_GUINT64_FORMAT "\n", table[i].name, *(const guint64 *) base);
          break;
        }
    }
}

/* The training log as a table: the columns a reader needs, in the checkpoint's own names. */
static void
print_log (const PfCheckpointInfo *ck)
{
  static const char *const wanted[] = { "epoch", "train_loss", "val_loss", "lr", "seconds", "val_wmse",
                                        "val_ssim", "best" };
  char **cols = g_strsplit (ck->log_columns ? ck->log_columns : "", ",", -1);
  int idx[G_N_ELEMENTS (wanted)], n = 0;
  for (guint w = 0; w < G_N_ELEMENTS (wanted); w++)
    for (int c = 0; cols[c] && c < ck->log_cols; c++)
      if (!strcmp (cols[c], wanted[w]))
        idx[n++] = c;
  printf ("\ntraining log (%d epochs):\n", ck->log_rows);
  for (int i = 0; i < n; i++)
    printf ("%12s", cols[idx[i]]);
  printf ("\n");
  for (int r = 0; r < ck->log_rows; r++)
    {
      for (int i = 0; i < n; i++)
        {
          double v = ck->log[(size_t) r * ck->log_cols + idx[i]];
          if (!strcmp (cols[idx[i]], "epoch") || !strcmp (cols[idx[i]], "best"))
            printf ("%12.0f", v);
          else if (isnan (v))
            printf ("%12s", "-");
          else
            printf ("%12.6g", v);
        }
      printf ("\n");
    }
  g_strfreev (cols);
}

static void
print_checkpoint (const char *path, const PfCheckpointInfo *ck)
{
  size_t params = 0;
  char *scale = ck->scale > 0 ? g_strdup_printf ("scale %d", ck->scale) : g_strdup ("no scales");
  printf ("file:        %s\n", path);
  if (pf_model_param_count (ck->model, ck->scale, &params, NULL))
    {
      char *count = pflow_thousands (params);
      printf ("checkpoint:  %s, %s, %s parameters, images %d x %d\n", ck->model, scale, count,
              ck->image_size, ck->image_size);
      g_free (count);
    }
  else
    printf ("checkpoint:  %s, %s, images %d x %d\n", ck->model, scale, ck->image_size, ck->image_size);
  printf ("trained on:  %s, %" G_GINT64_FORMAT "/%" G_GINT64_FORMAT "/%" G_GINT64_FORMAT
          " events (train/val/test)\n", ck->dataset, ck->n_train, ck->n_val, ck->n_test);
  printf ("recipe:      loss %s", ck->loss);
  if (!strcmp (ck->loss, "mix"))
    printf (" (lambda %g)", ck->lambda);
  printf ("%s, batch %d, lr %g, seed %" G_GUINT64_FORMAT ", epochs %d, patience %d\n",
          ck->paper_compat ? " (paper-compat)" : "", ck->batch, ck->lr, ck->seed, ck->epochs, ck->patience);
  if (ck->best_epoch > 0)
    printf ("state:       after epoch %d; best epoch %d (val loss %.6g)\n", ck->epoch, ck->best_epoch,
            ck->best_val_loss);
  else
    printf ("state:       after epoch %d; no validation yet\n", ck->epoch);
  if (ck->batch_in_epoch > 0)
    printf ("             and %d batches of epoch %d (a cancelled run: --resume continues)\n",
            ck->batch_in_epoch, ck->epoch + 1);
  printf ("normalised:  x' = (x - %g) / (%g - %g), x in GeV, the truth alike\n", ck->norm_min, ck->norm_max,
          ck->norm_min);
  printf ("written by:  pflow %s\n", ck->pflow_version ? ck->pflow_version : "(unknown)");
  if (ck->log_rows > 0)
    print_log (ck);
  g_free (scale);
}

int
pflow_cmd_info (int argc, char **argv)
{
  gboolean quiet = FALSE, no_summary = FALSE;
  GOptionEntry entries[] = {
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, N_("No progress bar"), NULL },
    { "no-summary", 0, 0, G_OPTION_ARG_NONE, &no_summary, N_("Parameters only (does not read the images)"), NULL },
    { NULL }
  };
  GOptionContext *ctx = g_option_context_new (_("FILE - parameters and per-channel summary of a dataset, or what a checkpoint holds"));
  g_option_context_add_main_entries (ctx, entries, GETTEXT_PACKAGE);
  gboolean parsed = pflow_parse_options (ctx, &argc, &argv, "info");
  g_option_context_free (ctx);
  if (!parsed)
    return 2;
  if (argc != 2)
    {
      fprintf (stderr, "pflow info: expected one dataset or checkpoint file\nTry 'pflow info --help'.\n");
      return 2;
    }
  GError *error = NULL;
  PfDataset *d = pf_dataset_open (argv[1], &error);
  if (!d)
    {
      /* not a dataset: perhaps a checkpoint (best.h5, last.h5); else the dataset's complaint */
      PfCheckpointInfo ck;
      pf_checkpoint_info_init (&ck);
      gboolean is_ckpt = pf_checkpoint_read_info (argv[1], &ck, NULL);
      if (is_ckpt)
        {
          g_clear_error (&error);
          print_checkpoint (argv[1], &ck);
        }
      pf_checkpoint_info_clear (&ck);
      return is_ckpt ? 0 : pflow_fail ("info", error);
    }
  int nch = pf_dataset_n_channels (d);
  printf ("file:        %s\n", argv[1]);
  printf ("events:      %" G_GINT64_FORMAT "\n", pf_dataset_n_events (d));
  printf ("image:       %d x %d (eta x phi), %d channels\n", pf_dataset_image_size (d),
          pf_dataset_image_size (d), nch);
  printf ("source:      %s\n", *pf_dataset_source (d) ? pf_dataset_source (d) : "(unknown)");
  char *gen = pf_dataset_attr_string (d, "generator");
  if (gen)
    printf ("generator:   %s\n", gen);
  g_free (gen);
  char *folder = pf_dataset_attr_string (d, "tiff_folder");
  if (folder)
    printf ("imported from: %s\n", folder);
  g_free (folder);
  PfSimParams p;
  if (pf_dataset_params (d, &p))
    print_params (&p);
  int status = 0;
  if (!no_summary)
    {
      PfChannelSummary sum[8];
      PflowProgress *prog = pflow_progress_new ("reading", pf_dataset_n_events (d), quiet);
      gboolean ok = pf_dataset_summarize (d, sum, on_progress, prog, &pflow_cancel_flag, &error);
      pflow_progress_finish (prog);
      if (!ok)
        status = pflow_fail ("info", error);
      else
        {
          printf ("\n%-8s %10s %14s %14s %10s %10s\n", "channel", "events", "mean sum/GeV",
                  "std sum/GeV", "occupancy", "max/GeV");
          for (int ch = 0; ch < nch; ch++)
            printf ("%-8s %10" G_GINT64_FORMAT " %14.3f %14.3f %10.4f %10.3f\n",
                    pf_dataset_channel_name (ch), sum[ch].n_events, sum[ch].sum_mean, sum[ch].sum_std,
                    sum[ch].occupancy, sum[ch].max);
        }
    }
  pf_dataset_close (d);
  return status;
}
