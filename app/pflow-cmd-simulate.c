/* pflow-cmd-simulate.c — `pflow simulate`: the simulator streamed into an HDF5 dataset.
 *
 * Events are simulated in blocks on all cores and appended to a temporary file that is renamed
 * into place only when complete, so Ctrl-C or an error never leaves a partial dataset. */
#include "pflow-cli.h"
#include "pf-dataset.h"
#include "pf-error.h"
#include "pf-sim.h"
#include <glib/gi18n.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* Events per block: bounds memory (5 x 56 x 56 floats = 62.7 KB per event, ~32 MB a block). */
#define SIM_BLOCK_EVENTS 512

gboolean
pflow_simulate_to_file (const PfSimParams *p, gint64 n_events, const char *path, int threads,
                  int compression, gboolean quiet, GError **error)
{
  PfDatasetWriter *w = pf_dataset_writer_new (path, p, p->image_size, compression, error);
  if (!w)
    return FALSE;
  gint64 block = MIN (n_events, SIM_BLOCK_EVENTS);
  gsize plane = (gsize) p->image_size * p->image_size;
  float *buf = g_try_malloc ((gsize) block * PF_N_CHANNELS * plane * sizeof (float));
  if (!buf)
    {
      g_set_error (error, PF_ERROR, PF_ERROR_IO, "out of memory for a block of %" G_GINT64_FORMAT " events", block);
      pf_dataset_writer_abort (w);
      return FALSE;
    }
  char *label = g_path_get_basename (path);
  PflowProgress *prog = pflow_progress_new (label, n_events, quiet);
  gboolean ok = TRUE;
  for (gint64 first = 0; first < n_events && ok; first += block)
    {
      if (g_atomic_int_get (&pflow_cancel_flag))
        {
          g_set_error (error, PF_ERROR, PF_ERROR_CANCELLED, "%s: interrupted; no file written", path);
          ok = FALSE;
          break;
        }
      gint64 n = MIN (block, n_events - first);
      pf_sim_run (p, first, n, buf, threads);
      ok = pf_dataset_writer_append (w, n, buf, error);
      pflow_progress_update (prog, first + n);
    }
  pflow_progress_finish (prog);
  g_free (label);
  g_free (buf);
  if (!ok)
    {
      pf_dataset_writer_abort (w);
      return FALSE;
    }
  return pf_dataset_writer_commit (w, error);
}

int
pflow_cmd_simulate (int argc, char **argv)
{
  PfSimParams p;
  pf_sim_params_init_default (&p);
  gint64 n_events = 10000;
  double bfield = p.bfield, nonlin = p.nonlin, res_scale = p.res_scale;
  double charged_range = p.charged_range;
  gint64 seed = 1;
  gint n_particles = p.n_particles;
  gboolean wrap_phi = FALSE, quiet = FALSE;
  char *output = NULL, *preset = NULL;
  gint threads = 0, compression = -1;

  GOptionEntry entries[] = {
    { "events", 'n', 0, G_OPTION_ARG_INT64, &n_events, N_("Number of events (default 10000)"), "N" },
    { "bfield", 'B', 0, G_OPTION_ARG_DOUBLE, &bfield, N_("Magnetic field B (default 0.5)"), "B" },
    { "nonlin", 0, 0, G_OPTION_ARG_DOUBLE, &nonlin, N_("Calorimeter non-linearity NL (default 0.3)"), "NL" },
    { "res-scale", 0, 0, G_OPTION_ARG_DOUBLE, &res_scale, N_("Resolution scale S (default 1.0)"), "S" },
    { "seed", 's', 0, G_OPTION_ARG_INT64, &seed, N_("Random seed (default 1)"), "K" },
    { "charged-range", 0, 0, G_OPTION_ARG_DOUBLE, &charged_range,
      N_("Fraction of the eta/phi range for charged particles (default 0.9)"), "F" },
    { "wrap-phi", 0, 0, G_OPTION_ARG_NONE, &wrap_phi, N_("Wrap bent particles around phi = ±pi"), NULL },
    { "particles", 0, 0, G_OPTION_ARG_INT, &n_particles, N_("Particles per event (default 1600)"), "M" },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &output,
      N_("Output file (default: published naming, e.g. Gauss_S1.00_NL0.30_B0.50.h5); a folder with --preset"), "FILE" },
    { "preset", 0, 0, G_OPTION_ARG_STRING, &preset, N_("'paper': the B=0.00 and B=0.50 sets of 10,000 events"), "NAME" },
    { "threads", 'j', 0, G_OPTION_ARG_INT, &threads, N_("Threads (default: all cores)"), "T" },
    { "compression", 0, 0, G_OPTION_ARG_INT, &compression, N_("Deflate level 0-9 (0 = none; default 1)"), "L" },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, N_("No progress bar"), NULL },
    { NULL }
  };
  GOptionContext *ctx = g_option_context_new (_("- simulate events into an HDF5 dataset"));
  g_option_context_add_main_entries (ctx, entries, GETTEXT_PACKAGE);
  gboolean parsed = pflow_parse_options (ctx, &argc, &argv, "simulate");
  g_option_context_free (ctx);
  if (!parsed)
    return 2;
  if (argc > 1)
    {
      fprintf (stderr, "pflow simulate: unexpected argument '%s'\n", argv[1]);
      return 2;
    }

  GError *error = NULL;
  if (n_events <= 0)
    {
      fprintf (stderr, "pflow simulate: --events must be a positive number of events (got %" G_GINT64_FORMAT ")\n", n_events);
      return 2;
    }
  if (seed < 0)
    {
      fprintf (stderr, "pflow simulate: --seed must be >= 0 (got %" G_GINT64_FORMAT ")\n", seed);
      return 2;
    }
  if (compression < -1 || compression > 9)
    {
      fprintf (stderr, "pflow simulate: --compression must be 0..9 (got %d)\n", compression);
      return 2;
    }
  if (compression < 0)
    compression = 1;
  p.bfield = bfield;
  p.nonlin = nonlin;
  p.res_scale = res_scale;
  p.charged_range = charged_range;
  p.wrap_phi = wrap_phi;
  p.n_particles = n_particles;
  p.seed = (uint64_t) seed;

  int status = 0;
  if (preset)
    {
      if (strcmp (preset, "paper") != 0)
        {
          fprintf (stderr, "pflow simulate: unknown preset '%s' (known: paper)\n", preset);
          status = 2;
          goto out;
        }
      /* The published sets: B = 0.00 and 0.50, 10,000 events each, other parameters default. */
      const char *dir = output ? output : ".";
      if (!g_file_test (dir, G_FILE_TEST_IS_DIR))
        {
          fprintf (stderr, "pflow simulate: --preset paper writes two files; '%s' is not a folder\n", dir);
          status = 2;
          goto out;
        }
      const double fields[] = { 0.0, 0.5 };
      for (int i = 0; i < 2 && status == 0; i++)
        {
          PfSimParams q = p;
          q.bfield = fields[i];
          if (!pf_sim_params_validate (&q, &error))
            {
              status = pflow_fail ("simulate", error);
              break;
            }
          char *name = pf_sim_default_filename (&q);
          char *path = g_build_filename (dir, name, NULL);
          if (!pflow_simulate_to_file (&q, 10000, path, threads, compression, quiet, &error))
            status = pflow_fail ("simulate", error);
          else if (!quiet)
            printf ("%s: 10000 events\n", path);
          g_free (name);
          g_free (path);
        }
      goto out;
    }

  if (!pf_sim_params_validate (&p, &error))
    {
      status = pflow_fail ("simulate", error);
      goto out;
    }
  char *path = output ? g_strdup (output) : pf_sim_default_filename (&p);
  if (!pflow_simulate_to_file (&p, n_events, path, threads, compression, quiet, &error))
    status = pflow_fail ("simulate", error);
  else if (!quiet)
    printf ("%s: %" G_GINT64_FORMAT " events\n", path, n_events);
  g_free (path);

out:
  g_free (output);
  g_free (preset);
  return status;
}
