/* pflow-cmd-bench-train.c — `pflow bench train`: training and inference samples/s of a model,
 * with PyTorch timing the same architecture, batch, loss and optimiser in the same command.
 *
 * Figures are the median of the timed steps after warm-up; the ratio is what to compare, since
 * the machines are shared and noisy. */
#include "pflow-cli.h"
#include "pf-device.h"
#include "pf-error.h"
#include "pf-model.h"
#include "pf-ops-fast.h"
#include "pf-rng.h"
#include "pf-train-step.h"
#include <glib/gi18n.h>
#include <stdio.h>
#include <string.h>

typedef struct {
  double train, infer;
  char *version;
} TorchFigures;

/* Runs tests/ref/torch_bench.py; FALSE with *why when PyTorch is not available. */
static gboolean
run_torch (const char *model, int scale, int batch, int steps, int threads, const char *device,
           const char *loss, const char *precision, TorchFigures *out, char **why)
{
  /* PFLOW_PYTHON: a GPU machine's PyTorch often lives in a virtual environment. */
  const char *py = g_getenv ("PFLOW_PYTHON") ? g_getenv ("PFLOW_PYTHON") : "/usr/bin/python3";
  char *script = pflow_source_path ("tests/ref/torch_bench.py");
  if (!g_file_test (py, G_FILE_TEST_IS_EXECUTABLE) || !g_file_test (script, G_FILE_TEST_EXISTS))
    {
      *why = g_strdup_printf ("needs %s and %s", py, script);
      g_free (script);
      return FALSE;
    }
  char *a_scale = g_strdup_printf ("--scale=%d", scale), *a_batch = g_strdup_printf ("--batch=%d", batch);
  char *a_steps = g_strdup_printf ("--steps=%d", steps), *a_thr = g_strdup_printf ("--threads=%d", threads);
  char *a_model = g_strdup_printf ("--model=%s", model), *a_dev = g_strdup_printf ("--device=%s", device);
  char *a_loss = g_strdup_printf ("--loss=%s", loss);
  char *a_prec = g_strdup_printf ("--precision=%s", precision);
  const char *argv[] = { py, script, a_model, a_scale, a_batch, a_steps, a_thr, a_dev, a_loss,
                         a_prec, NULL };
  char *sout = NULL, *serr = NULL;
  int status = 0;
  GError *error = NULL;
  gboolean ok = FALSE;
  if (!g_spawn_sync (NULL, (char **) argv, NULL, 0, NULL, NULL, &sout, &serr, &status, &error))
    {
      *why = g_strdup (error->message);
      g_error_free (error);
    }
  else if (!g_spawn_check_wait_status (status, NULL))
    {
      const char *last = serr ? g_strrstr (g_strchomp (serr), "\n") : NULL;
      *why = g_strdup_printf ("PyTorch run failed: %s", last ? last + 1 : (serr ? serr : ""));
    }
  else
    {
      const char *t = strstr (sout, "torch_train_samples_per_s"), *i = strstr (sout, "torch_infer_samples_per_s");
      const char *v = strstr (sout, "torch_version");
      char ver[64] = "";
      if (t && i && sscanf (t, "torch_train_samples_per_s %lf", &out->train) == 1 &&
          sscanf (i, "torch_infer_samples_per_s %lf", &out->infer) == 1)
        {
          if (v)
            sscanf (v, "torch_version %63s", ver);
          out->version = g_strdup (ver);
          ok = TRUE;
        }
      else
        *why = g_strdup ("PyTorch run printed no figures");
    }
  g_free (sout);
  g_free (serr);
  g_free (a_scale);
  g_free (a_batch);
  g_free (a_steps);
  g_free (a_thr);
  g_free (a_model);
  g_free (a_dev);
  g_free (a_loss);
  g_free (a_prec);
  g_free (script);
  return ok;
}

static void
fill_sparse (float *v, size_t n, uint32_t stream)
{
  for (size_t i = 0; i < n; i++)
    {
      philox4x32_ctr_t r = pf_rng_block (1, stream, (uint32_t) i, (uint32_t) (i >> 32), 0);
      v[i] = pf_rng_u01 (r.v[0]) < 0.4f ? pf_rng_u01 (r.v[1]) : 0.0f;
    }
}

int
pflow_cmd_bench_train (int argc, char **argv)
{
  char *model = NULL, *backend = NULL, *loss_name = NULL, *precision = NULL;
  gint scale = 1, batch = 0, steps = 10, warmup = 2, threads = 0, size = 56;
  gboolean json = FALSE, no_torch = FALSE, reference = FALSE, profile = FALSE;
  GOptionEntry entries[] = {
    { "model", 'm', 0, G_OPTION_ARG_STRING, &model, N_("Model name (see pflow models; default cnn)"), "NAME" },
    { "scale", 's', 0, G_OPTION_ARG_INT, &scale, N_("Model scale 1-5 (default 1)"), "K" },
    { "batch", 'b', 0, G_OPTION_ARG_INT, &batch, N_("Batch size (default: the paper's for the scale)"), "B" },
    { "steps", 'n', 0, G_OPTION_ARG_INT, &steps, N_("Timed steps (default 10)"), "N" },
    { "warmup", 0, 0, G_OPTION_ARG_INT, &warmup, N_("Untimed warm-up steps (default 2)"), "N" },
    { "backend", 0, 0, G_OPTION_ARG_STRING, &backend, N_("auto, cpu or cuda (default auto: the GPU when one is usable)"), "NAME" },
    { "loss", 0, 0, G_OPTION_ARG_STRING, &loss_name, N_("mse, wmse, ssim or mix (default mix)"), "NAME" },
    { "threads", 'j', 0, G_OPTION_ARG_INT, &threads, N_("CPU threads for both (default: all cores)"), "T" },
    { "reference", 0, 0, G_OPTION_ARG_NONE, &reference, N_("Time the plain reference ops instead"), NULL },
    { "no-torch", 0, 0, G_OPTION_ARG_NONE, &no_torch, N_("Skip the PyTorch peer"), NULL },
    { "profile", 0, 0, G_OPTION_ARG_NONE, &profile, N_("Print the time of every layer (training steps)"), NULL },
    { "precision", 0, 0, G_OPTION_ARG_STRING, &precision, N_("GPU products in fp32, tf32 or bf16, for both peers (default fp32)"), "NAME" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print a JSON object as the last line"), NULL },
    { NULL }
  };
  GOptionContext *ctx = g_option_context_new (_("- training and inference samples/s against PyTorch"));
  g_option_context_add_main_entries (ctx, entries, GETTEXT_PACKAGE);
  gboolean parsed = pflow_parse_options (ctx, &argc, &argv, "bench train");
  g_option_context_free (ctx);
  if (!parsed)
    return 2;
  int status = 0;
  const char *mname = model ? model : "cnn";
  const char *bname = backend ? backend : "auto";
  GError *error = NULL;
  const PfModelInfo *info = pf_model_find (mname);
  PfGraph *g = NULL;
  PfTrainStep *st = NULL;
  TorchFigures torch = { 0 };
  char *why = NULL;

  PfLossKind loss_kind = PF_LOSS_MIX;
  if (loss_name && !pf_loss_kind_parse (loss_name, &loss_kind))
    {
      fprintf (stderr, "pflow bench train: unknown loss '%s' (mse, wmse, ssim, mix)\n", loss_name);
      status = 2;
      goto out;
    }
  PfDevice device = PF_DEVICE_CPU;
  char *what = NULL;
  if (!pf_device_pick (bname, &device, &what, &error))
    {
      status = pflow_fail ("bench train", error);
      goto out;
    }
  g_free (what);
  if (!pf_device_set_precision (device, precision, &error))
    {
      status = pflow_fail ("bench train", error);
      goto out;
    }
  const char *prec = precision ? precision : "fp32";
  /* a per-layer profile needs the layers run one by one */
  if (device == PF_DEVICE_CUDA && profile)
    g_setenv ("PF_CUDA_GRAPHS", "0", TRUE);
  if (steps <= 0 || warmup < 0 || threads < 0)
    {
      fprintf (stderr, "pflow bench train: --steps must be positive, --warmup and --threads >= 0\n");
      status = 2;
      goto out;
    }
  if (info && info->max_scale == 0)
    scale = 0; /* models of the earlier study have no scales */
  if (info && batch <= 0 && scale >= info->min_scale && scale <= info->max_scale)
    batch = info->paper_batch[scale];
  if (batch <= 0)
    batch = 200;
  pf_ops_fast_set_threads (threads);
  int nthreads = pf_ops_fast_threads ();

  g = pf_model_build (mname, scale, batch, size, &error);
  if (!g)
    {
      status = pflow_fail ("bench train", error);
      goto out;
    }
  PfPlanOptions opts = { device, true, reference, 26 };
  if (!pf_graph_plan (g, &opts, &error))
    {
      status = pflow_fail ("bench train", error);
      goto out;
    }
  PfLossDesc ld;
  pf_loss_desc_init (&ld, loss_kind, batch, size, size);
  st = pf_train_step_new (g, &ld, 1e-3 * batch / 200.0, &error);
  if (!st)
    {
      status = pflow_fail ("bench train", error);
      goto out;
    }
  fill_sparse (pf_train_step_input (st), (size_t) batch * 4 * size * size, 1);
  fill_sparse (pf_train_step_target (st), (size_t) batch * size * size, 2);
  /* the PyTorch peer keeps its one batch on the device: so does this side */
  pf_train_step_set_resident (st, true);

  double *t_train = g_new (double, steps), *t_infer = g_new (double, steps);
  for (int i = 0; i < warmup + steps && status == 0; i++)
    {
      if (profile && i == warmup)
        pf_graph_set_profiling (g, true);
      if (g_atomic_int_get (&pflow_cancel_flag))
        {
          fprintf (stderr, "pflow bench train: interrupted\n");
          status = 130;
          break;
        }
      gint64 t0 = g_get_monotonic_time ();
      double loss;
      if (!pf_train_step_run (st, &loss, NULL, &error))
        status = pflow_fail ("bench train", error);
      if (i >= warmup)
        t_train[i - warmup] = (g_get_monotonic_time () - t0) / 1e6;
    }
  PfGraph *gg = pf_train_step_graph (st);
  if (profile)
    {
      printf ("per-layer time over %d training steps:\n", steps);
      pf_graph_print_profile (gg, stdout);
      pf_graph_set_profiling (gg, false);
    }
  pf_graph_set_training (gg, false);
  for (int i = 0; i < warmup + steps && status == 0; i++)
    {
      gint64 t0 = g_get_monotonic_time ();
      pf_graph_forward (gg);
      if (!pf_graph_synchronize (gg, &error))
        status = pflow_fail ("bench train", error);
      if (i >= warmup)
        t_infer[i - warmup] = (g_get_monotonic_time () - t0) / 1e6;
    }
  if (status != 0)
    {
      g_free (t_train);
      g_free (t_infer);
      goto out;
    }
  double train_s = pflow_median (t_train, steps), infer_s = pflow_median (t_infer, steps);
  g_free (t_train);
  g_free (t_infer);
  double flops = pf_graph_forward_flops (g);
  double train_sps = batch / train_s, infer_sps = batch / infer_s;
  /* A training step is ~3 forward passes of work (forward, data and weight gradients). */
  double train_gflops = 3 * flops / train_s / 1e9, infer_gflops = flops / infer_s / 1e9;

  gboolean have_torch = !no_torch && run_torch (mname, scale, batch, steps, nthreads, device == PF_DEVICE_CUDA ? "cuda" : "cpu",
                                                pf_loss_kind_name (loss_kind), prec, &torch, &why);

  const char *bdesc = device == PF_DEVICE_CUDA ? "cuda (cuDNN/cuBLAS)" : reference ? "cpu-ref" : "cpu (oneDNN/OpenBLAS)";
  printf ("%s scale %d, batch %d, %zu parameters, loss %s, backend %s, %d CPU threads\n", mname, scale,
          batch, pf_graph_n_params (g), pf_loss_kind_name (loss_kind), bdesc, nthreads);
  if (device == PF_DEVICE_CUDA)
    printf ("  products in %s (both peers), CUDA graph: %s\n", prec, pf_train_step_graph_state (st));
  printf ("  pflow   train %9.1f samples/s (%.1f GFLOP/s)   infer %9.1f samples/s (%.1f GFLOP/s)\n",
          train_sps, train_gflops, infer_sps, infer_gflops);
  if (have_torch)
    {
      printf ("  PyTorch train %9.1f samples/s                  infer %9.1f samples/s   (torch %s)\n",
              torch.train, torch.infer, torch.version);
      printf ("  ratio pflow/PyTorch: train %.2fx, infer %.2fx\n", train_sps / torch.train,
              infer_sps / torch.infer);
    }
  else if (!no_torch)
    printf ("  PyTorch not run: %s\n", why);
  if (json)
    {
      printf ("{\"model\": \"%s\", \"scale\": %d, \"batch\": %d, \"params\": %zu, \"backend\": \"%s\", "
              "\"threads\": %d, \"train_samples_per_s\": %.3f, \"infer_samples_per_s\": %.3f, "
              "\"train_gflops\": %.2f, \"infer_gflops\": %.2f, \"forward_flops_per_batch\": %.0f",
              mname, scale, batch, pf_graph_n_params (g),
              device == PF_DEVICE_CUDA ? "cuda" : reference ? "cpu-ref" : "cpu", nthreads, train_sps,
              infer_sps, train_gflops, infer_gflops, flops);
      if (device == PF_DEVICE_CUDA)
        printf (", \"precision\": \"%s\", \"cuda_graph\": \"%s\"", prec, pf_train_step_graph_state (st));
      if (have_torch)
        printf (", \"torch_train_samples_per_s\": %.3f, \"torch_infer_samples_per_s\": %.3f, "
                "\"train_ratio_vs_torch\": %.3f, \"infer_ratio_vs_torch\": %.3f",
                torch.train, torch.infer, train_sps / torch.train, infer_sps / torch.infer);
      printf ("}\n");
    }

out:
  g_free (why);
  g_free (torch.version);
  pf_train_step_free (st);
  pf_graph_free (g);
  g_free (model);
  g_free (backend);
  g_free (loss_name);
  g_free (precision);
  return status;
}
