/* pflow-cmd-predict.c — `pflow predict`: a checkpoint's predictions (GeV) for a split of a
 * dataset, into an HDF5 file (format in docs/checkpoint.md). */
#include "pflow-cli.h"
#include "pflow-cmd-train.h"
#include "pf-error.h"
#include "pf-predictor.h"
#include "pf-device.h"
#include <glib/gi18n.h>
#include <stdio.h>

typedef struct {
  PflowProgress *bar;
  gboolean quiet;
} PredictUi;

static void
on_progress (int64_t done, int64_t total, gpointer user_data)
{
  PredictUi *ui = user_data;
  if (!ui->bar)
    ui->bar = pflow_progress_new ("predict", total, ui->quiet); /* total known from the split */
  pflow_progress_update (ui->bar, done);
}

int
pflow_cmd_predict (int argc, char **argv)
{
  char *ckpt = NULL, *data = NULL, *out = NULL, *split_s = NULL, *device_name = NULL;
  int batch = 64;
  gboolean quiet = FALSE;
  GOptionEntry entries[] = {
    { "model", 'm', 0, G_OPTION_ARG_FILENAME, &ckpt, N_("Checkpoint (best.h5 of a training run)"), "CKPT" },
    { "data", 'd', 0, G_OPTION_ARG_FILENAME, &data, N_("Dataset (HDF5)"), "FILE" },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &out, N_("Prediction file to write"), "OUT.h5" },
    { "split", 0, 0, G_OPTION_ARG_STRING, &split_s, N_("test (default), val, train or all"), "NAME" },
    { "batch", 'b', 0, G_OPTION_ARG_INT, &batch, N_("Events per forward pass (default 64)"), "N" },
    { "device", 0, 0, G_OPTION_ARG_STRING, &device_name, N_("auto, cpu or cuda: where the model predicts (default auto: the GPU when one is usable)"), "NAME" },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, N_("No progress bar"), NULL },
    { NULL }
  };
  GOptionContext *ctx = g_option_context_new (_("- predict the truth images of a dataset with a trained model"));
  g_option_context_add_main_entries (ctx, entries, GETTEXT_PACKAGE);
  gboolean parsed = pflow_parse_options (ctx, &argc, &argv, "predict");
  g_option_context_free (ctx);
  int rc = 2;
  PfSplit split = PF_SPLIT_TEST;
  if (!parsed)
    goto out;
  if (argc != 1 || !ckpt || !data || !out)
    {
      fprintf (stderr, "pflow predict: expected --model CKPT --data FILE -o OUT.h5\nTry 'pflow predict --help'.\n");
      goto out;
    }
  if (split_s && !pf_split_parse (split_s, &split))
    {
      fprintf (stderr, "pflow predict: unknown split '%s' (test, val, train, all)\n", split_s);
      goto out;
    }
  if (batch < 1 || batch > 4096)
    {
      fprintf (stderr, "pflow predict: --batch must be 1..4096\n");
      goto out;
    }
  GError *error = NULL;
  PfDevice device;
  char *what = NULL;
  if (!pf_device_pick (device_name, &device, &what, &error))
    {
      rc = pflow_fail ("predict", error);
      goto out;
    }
  if (!quiet)
    fprintf (stderr, _("predicting on the %s\n"), what);
  g_free (what);
  PredictUi ui = { NULL, quiet };
  gboolean ok = pf_predict_file (ckpt, data, split, out, batch, device, on_progress, &ui,
                                 &pflow_cancel_flag, &error);
  if (ui.bar)
    pflow_progress_finish (ui.bar);
  if (ok)
    printf ("wrote %s (%s split of %s)\n", out, pf_split_name (split), data);
  rc = ok ? 0 : pflow_fail ("predict", error);
out:
  g_free (ckpt);
  g_free (data);
  g_free (out);
  g_free (split_s);
  g_free (device_name);
  return rc;
}
