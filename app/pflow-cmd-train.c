/* pflow-cmd-train.c — `pflow train`: the paper's training recipe on a dataset (core/train),
 * one line per epoch, a progress bar on a terminal, Ctrl-C saves last.h5 and exits 130. */
#include "pflow-cli.h"
#include "pf-device.h"
#include "pflow-cmd-train.h"
#include "pf-error.h"
#include "pf-model.h"
#include "pf-trainer.h"
#include <glib/gi18n.h>
#include <stdio.h>
#include <string.h>

typedef struct {
  PflowProgress *bar;
  gboolean quiet;
} TrainUi;

static void
on_start (const PfTrainOptions *o, int64_t n_train, int64_t n_val, int64_t n_test, gpointer u)
{
  char *scale = o->scale > 0 ? g_strdup_printf (" scale %d", o->scale) : g_strdup ("");
  printf ("train %s%s on %s: %" G_GINT64_FORMAT "/%" G_GINT64_FORMAT "/%" G_GINT64_FORMAT
          " events (train/val/test), batch %d (last incomplete batch dropped), lr %g, loss %s%s, "
          "epochs %d, patience %d, seed %" G_GUINT64_FORMAT "\n",
          o->model, scale, o->data_path, n_train, n_val, n_test, o->batch, o->lr, o->loss,
          o->paper_compat ? " (paper-compat)" : "", o->epochs, o->patience, o->seed);
  g_free (scale);
  printf ("%5s %12s %12s %10s %8s %10s %10s\n", "epoch", "train", "val", "lr", "s", "val_wmse", "val_ssim");
  fflush (stdout);
}

static void
on_batch (int64_t step, double loss, int done, int total, gpointer u)
{
  TrainUi *ui = u;
  if (!ui->bar)
    {
      ui->bar = pflow_progress_new ("batches", total, ui->quiet);
    }
  pflow_progress_update (ui->bar, done);
}

static void
on_epoch (const PfTrainLogRow *r, gpointer u)
{
  TrainUi *ui = u;
  if (ui->bar)
    pflow_progress_finish (ui->bar);
  ui->bar = NULL;
  printf ("%5d %12.6g %12.6g %10.3g %8.1f %10.6g %10.6g%s\n", r->epoch, r->train_loss, r->val_loss,
          r->lr, r->seconds, r->val_wmse, r->val_ssim, r->best ? "  *best" : "");
  fflush (stdout);
}

int
pflow_cmd_train (int argc, char **argv)
{
  PfTrainOptions o;
  pf_train_options_init (&o);
  char *data = NULL, *model = NULL, *loss = NULL, *out = NULL, *device = NULL, *precision = NULL;
  int scale = -1, epochs = 0, patience = -1, batch = 0, progressive = 0;
  double lambda = o.lambda, lr = 0;
  gint64 events = 0, seed = 26;
  gboolean paper = FALSE, resume = FALSE, quiet = FALSE;
  GOptionEntry entries[] = {
    { "data", 'd', 0, G_OPTION_ARG_FILENAME, &data, N_("Dataset (HDF5); with --resume, the checkpoint's by default"), "FILE" },
    { "model", 'm', 0, G_OPTION_ARG_STRING, &model, N_("cnn, se, rowatt, 3d, se3d or an earlier model: mlp, cnn-se, cnn3d, cnn-sa, unet, unet-sa, lstm (default cnn)"), "NAME" },
    { "scale", 's', 0, G_OPTION_ARG_INT, &scale, N_("Model scale 1-5 (default 1; the earlier models have none)"), "N" },
    { "loss", 0, 0, G_OPTION_ARG_STRING, &loss, N_("mse, wmse, ssim or mix (default mix)"), "NAME" },
    { "lambda", 0, 0, G_OPTION_ARG_DOUBLE, &lambda, N_("MIX weight of 1-SSIM (default 0.05)"), "X" },
    { "epochs", 'e', 0, G_OPTION_ARG_INT, &epochs, N_("Epoch budget (default 100)"), "N" },
    { "patience", 0, 0, G_OPTION_ARG_INT, &patience, N_("Early stopping after N epochs without improvement (default 20, 0 = off)"), "N" },
    { "batch", 'b', 0, G_OPTION_ARG_INT, &batch, N_("Batch size (default: the paper's, 200/200/200/128/80 by scale)"), "N" },
    { "lr", 0, 0, G_OPTION_ARG_DOUBLE, &lr, N_("Learning rate (default 1e-3 * batch / 200)"), "X" },
    { "events", 'n', 0, G_OPTION_ARG_INT64, &events, N_("Use only the first N events of the file"), "N" },
    { "seed", 0, 0, G_OPTION_ARG_INT64, &seed, N_("Initial weights and shuffling (default 26)"), "N" },
    { "paper-compat", 0, 0, G_OPTION_ARG_NONE, &paper, N_("The published loss definitions"), NULL },
    { "progressive", 0, 0, G_OPTION_ARG_INT, &progressive, N_("K stages on 1/K, 2/K ... of the training events"), "K" },
    { "out", 'o', 0, G_OPTION_ARG_FILENAME, &out, N_("Output folder: best.h5, last.h5, log.csv, log.json (default runs/MODEL-sSCALE, runs/MODEL for the earlier models)"), "DIR" },
    { "resume", 0, 0, G_OPTION_ARG_NONE, &resume, N_("Continue from DIR/last.h5"), NULL },
    { "device", 0, 0, G_OPTION_ARG_STRING, &device, N_("auto, cpu or cuda (default auto: the GPU when one is usable)"), "NAME" },
    { "precision", 0, 0, G_OPTION_ARG_STRING, &precision, N_("GPU products in fp32, tf32 or bf16 (default fp32; docs/cuda-backend.md)"), "NAME" },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, N_("No progress bar"), NULL },
    { NULL }
  };
  GOptionContext *ctx = g_option_context_new (_("- train a model on a dataset (the paper's recipe)"));
  g_option_context_add_main_entries (ctx, entries, GETTEXT_PACKAGE);
  gboolean parsed = pflow_parse_options (ctx, &argc, &argv, "train");
  g_option_context_free (ctx);
  int rc = 2;
  if (!parsed)
    goto out;
  if (argc != 1 || (!data && !resume) || (resume && !out))
    {
      fprintf (stderr, "pflow train: %s\nTry 'pflow train --help'.\n",
               resume && !out ? "--resume needs --out DIR" : "expected --data FILE and no other arguments");
      goto out;
    }
  if (seed < 0 || events < 0 || batch < 0 || epochs < 0 || progressive < 0)
    {
      fprintf (stderr, "pflow train: --seed, --events, --batch, --epochs and --progressive must not be negative\n");
      goto out;
    }
  /* The earlier family has no scales: leaving --scale out means "none" there, 1 elsewhere. */
  const PfModelInfo *info = pf_model_find (model ? model : "cnn");
  gboolean scaled = !info || info->max_scale > 0;
  if (scale < 0)
    scale = scaled ? 1 : 0;
  else if (!scaled && scale != 0 && !resume)
    {
      fprintf (stderr, "pflow train: model '%s' has no scales; leave out --scale\n", info->name);
      goto out;
    }
  char *label = pf_model_label (model ? model : "cnn", scale);
  char *dflt_out = out ? NULL : g_build_filename ("runs", label, NULL);
  g_free (label);
  o.data_path = data;
  o.out_dir = out ? out : dflt_out;
  if (model)
    o.model = model;
  if (loss)
    o.loss = loss;
  o.scale = scale;
  o.lambda = lambda;
  o.lr = lr;
  o.batch = batch;
  o.epochs = epochs;
  o.patience = patience;
  o.max_events = events;
  o.seed = (uint64_t) seed;
  o.paper_compat = paper;
  o.progressive = progressive;
  o.resume = resume;
  TrainUi ui = { NULL, quiet };
  PfTrainCallbacks cb = { on_batch, on_epoch, on_start, &ui };
  GError *error = NULL;
  char *what = NULL;
  if (!pf_device_pick (device, &o.device, &what, &error)
      || !pf_device_set_precision (o.device, precision, &error))
    {
      g_free (what);
      g_free (dflt_out);
      rc = pflow_fail ("train", error);
      goto out;
    }
  if (precision)
    o.precision = precision;
  if (!quiet)
    {
      if (precision && strcmp (precision, "fp32"))
        printf (_("training on the %s, products in %s\n"), what, precision);
      else
        printf (_("training on the %s\n"), what);
    }
  g_free (what);
  PfTrainer *t = pf_trainer_new (&o, &error);
  if (t)
    {
      PfTrainResult res = { 0 };
      gboolean ok = pf_trainer_run (t, &cb, &pflow_cancel_flag, &res, &error);
      if (ui.bar)
        pflow_progress_finish (ui.bar);
      if (ok)
        printf ("done: %d epochs%s; best epoch %d (val loss %.6g) in %s; last state in %s\n",
                res.epochs_run, res.early_stopped ? " (early stopping)" : "", res.best_epoch,
                res.best_val_loss, res.best_path, res.last_path);
      pf_train_result_clear (&res);
      pf_trainer_free (t);
      rc = ok ? 0 : pflow_fail ("train", error);
    }
  else
    rc = pflow_fail ("train", error);
  g_free (dflt_out);
out:
  g_free (device);
  g_free (precision);
  g_free (data);
  g_free (model);
  g_free (loss);
  g_free (out);
  return rc;
}
