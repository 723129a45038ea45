/* pflow-cmd-import.c — `pflow import-tiff DIR -o FILE.h5`: the published TIFF folders. */
#include "pflow-cli.h"
#include "pf-error.h"
#include "pf-tiff-import.h"
#include <glib/gi18n.h>
#include <stdio.h>

static void
on_progress (int64_t done, int64_t total, gpointer user_data)
{
  PflowProgress **prog = user_data;
  if (!*prog)
    *prog = pflow_progress_new ("importing", total, FALSE);
  pflow_progress_update (*prog, done);
}

int
pflow_cmd_import_tiff (int argc, char **argv)
{
  char *output = NULL;
  gint compression = -1;
  gboolean quiet = FALSE;
  GOptionEntry entries[] = {
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &output, N_("Output dataset (required)"), "FILE.h5" },
    { "compression", 0, 0, G_OPTION_ARG_INT, &compression, N_("Deflate level 0-9 (default 1)"), "L" },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, N_("No progress bar"), NULL },
    { NULL }
  };
  GOptionContext *ctx = g_option_context_new (
    _("DIR - import emcal_N.tiff, hcal_N.tiff, trkn_N.tiff, trkp_N.tiff, truth_N.tiff"));
  g_option_context_add_main_entries (ctx, entries, GETTEXT_PACKAGE);
  gboolean parsed = pflow_parse_options (ctx, &argc, &argv, "import-tiff");
  g_option_context_free (ctx);
  if (!parsed)
    return 2;
  if (argc != 2 || !output)
    {
      fprintf (stderr, "pflow import-tiff: expected a folder and -o FILE.h5\nTry 'pflow import-tiff --help'.\n");
      g_free (output);
      return 2;
    }
  if (compression < -1 || compression > 9)
    {
      fprintf (stderr, "pflow import-tiff: --compression must be 0..9 (got %d)\n", compression);
      g_free (output);
      return 2;
    }
  GError *error = NULL;
  PflowProgress *prog = NULL;
  gboolean ok = pf_tiff_import_dir (argv[1], output, compression, quiet ? NULL : on_progress, &prog,
                                    &pflow_cancel_flag, &error);
  if (prog)
    pflow_progress_finish (prog);
  int status = 0;
  if (!ok)
    status = pflow_fail ("import-tiff", error);
  else if (!quiet)
    printf ("%s: imported from %s\n", output, argv[1]);
  g_free (output);
  return status;
}
