/* pflow-cli.c — entry point of the `pflow` command line: dispatches to one file per command. */
#include "pflow-cli.h"
#include "pflow-cmd-train.h"
#include "pflow-cmd-jets.h"
#include <glib/gi18n.h>
#include <locale.h>
#include <stdio.h>
#include <string.h>

typedef struct {
  const char *name;
  int (*run) (int argc, char **argv);
  const char *summary;
} PflowCommand;

static const PflowCommand commands[] = {
  { "simulate", pflow_cmd_simulate, N_("Simulate events into an HDF5 dataset") },
  { "info", pflow_cmd_info, N_("Show a dataset's parameters and per-channel summary, or a checkpoint's model, recipe and training log") },
  { "import-tiff", pflow_cmd_import_tiff, N_("Import a folder of published TIFF images") },
  { "train", pflow_cmd_train, N_("Train a model on a dataset (best.h5, last.h5, logs)") },
  { "predict", pflow_cmd_predict, N_("Predict truth images with a trained model into an HDF5 file") },
  { "eval", pflow_cmd_eval, N_("Pixel metrics of a model and the baseline: report and figures") },
  { "jets", pflow_cmd_jets, N_("Cluster a particle file or a dataset image into jets (FastJet)") },
  { "ablate", pflow_cmd_ablate, N_("Train and evaluate a grid of variants x scales x losses") },
  { "models", pflow_cmd_models, N_("List the models with their scales and parameter counts") },
  { "devices", pflow_cmd_devices, N_("Show the CPU and GPU pflow can compute on") },
  { "bench", pflow_cmd_bench, N_("Benchmarks: 'bench sim', 'bench train'") },
};

static void
usage (FILE *out)
{
  fprintf (out, "%s\n\n", _("Usage: pflow COMMAND [OPTIONS]  — deep-learning energy reconstruction workbench"));
  fprintf (out, "%s\n", _("Commands:"));
  for (gsize i = 0; i < G_N_ELEMENTS (commands); i++)
    fprintf (out, "  %-12s %s\n", commands[i].name, _(commands[i].summary));
  fprintf (out, "\n%s\n", _("Run 'pflow COMMAND --help' for the options of a command."));
}

int
main (int argc, char **argv)
{
  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, PF_LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);
  if (argc < 2)
    {
      usage (stderr);
      return 2;
    }
  if (!strcmp (argv[1], "--help") || !strcmp (argv[1], "-h") || !strcmp (argv[1], "help"))
    {
      usage (stdout);
      return 0;
    }
  if (!strcmp (argv[1], "--version") || !strcmp (argv[1], "version"))
    {
      printf ("pflow %s\n", PF_VERSION);
      return 0;
    }
  for (gsize i = 0; i < G_N_ELEMENTS (commands); i++)
    if (!strcmp (argv[1], commands[i].name))
      {
        pflow_install_signal_handlers ();
        return commands[i].run (argc - 1, argv + 1);
      }
  fprintf (stderr, _("pflow: unknown command '%s'\n\n"), argv[1]);
  usage (stderr);
  return 2;
}
