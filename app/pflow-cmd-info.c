/* pflow-cmd-info.c — `pflow info FILE`: how a dataset was made and what it holds. */
#include "pflow-cli.h"
#include "pf-dataset.h"
#include "pf-error.h"
#include <glib/gi18n.h>
#include <stdio.h>

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

int
pflow_cmd_info (int argc, char **argv)
{
  gboolean quiet = FALSE, no_summary = FALSE;
  GOptionEntry entries[] = {
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, N_("No progress bar"), NULL },
    { "no-summary", 0, 0, G_OPTION_ARG_NONE, &no_summary, N_("Parameters only (does not read the images)"), NULL },
    { NULL }
  };
  GOptionContext *ctx = g_option_context_new (_("FILE - parameters and per-channel summary of a dataset"));
  g_option_context_add_main_entries (ctx, entries, GETTEXT_PACKAGE);
  gboolean parsed = pflow_parse_options (ctx, &argc, &argv, "info");
  g_option_context_free (ctx);
  if (!parsed)
    return 2;
  if (argc != 2)
    {
      fprintf (stderr, "pflow info: expected one dataset file\nTry 'pflow info --help'.\n");
      return 2;
    }
  GError *error = NULL;
  PfDataset *d = pf_dataset_open (argv[1], &error);
  if (!d)
    return pflow_fail ("info", error);
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
