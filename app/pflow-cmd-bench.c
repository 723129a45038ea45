/* pflow-cmd-bench.c — `pflow bench sim`: simulator throughput against the numpy reference.
 *
 * Figures are events per second, the median of --repeat runs; the numpy implementation of the
 * same specification (tests/ref/sim_numpy.py) runs in the same command, so the printed ratio
 * compares both on the same machine at the same moment. With --backend cuda the GPU simulator
 * (kernels/pf-cuda-sim.h) runs too, in the same command: into device memory (the kernel alone)
 * and copied back into page-locked host memory, each against the CPU simulator's figures, and
 * its first events are compared bit for bit with the CPU's. */
#include "pflow-cli.h"
#include "pflow-cmd-jets.h"
#include "pf-error.h"
#include "pf-sim.h"
#ifdef PF_HAVE_CUDA
#include "pf-cuda.h"
#include "pf-cuda-sim.h"
#endif
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Runs the numpy reference; returns events/s or a negative value (with *why) when unavailable. */
static double
numpy_events_per_s (gint64 n_events, const PfSimParams *p, char **why)
{
  const char *py = "/usr/bin/python3";
  char *script = pflow_source_path ("tests/ref/sim_numpy.py");
  double result = -1;
  if (!g_file_test (py, G_FILE_TEST_IS_EXECUTABLE) || !g_file_test (script, G_FILE_TEST_EXISTS))
    {
      *why = g_strdup_printf ("needs %s and %s", py, script);
      g_free (script);
      return -1;
    }
  char *n = g_strdup_printf ("%" G_GINT64_FORMAT, n_events);
  char *b = g_strdup_printf ("%g", p->bfield);
  const char *argv[] = { py, script, "--events", n, "--bfield", b, "--bench", NULL };
  char *out = NULL, *err = NULL;
  int status = 0;
  GError *error = NULL;
  if (!g_spawn_sync (NULL, (char **) argv, NULL, 0, NULL, NULL, &out, &err, &status, &error))
    {
      *why = g_strdup (error->message);
      g_error_free (error);
    }
  else if (!g_spawn_check_wait_status (status, NULL))
    *why = g_strdup_printf ("numpy reference failed: %s", err && *err ? err : "(no message)");
  else
    {
      const char *line = out ? strstr (out, "numpy_events_per_s") : NULL;
      if (line && sscanf (line, "numpy_events_per_s %lf", &result) == 1 && result > 0)
        ;
      else
        {
          *why = g_strdup ("numpy reference printed no 'numpy_events_per_s' line");
          result = -1;
        }
    }
  g_free (out);
  g_free (err);
  g_free (n);
  g_free (b);
  g_free (script);
  return result;
}

static double
time_sim (const PfSimParams *p, gint64 n_events, int threads, int repeat, float *buf)
{
  double rates[64];
  repeat = CLAMP (repeat, 1, 64);
  for (int r = 0; r < repeat; r++)
    {
      gint64 t0 = g_get_monotonic_time ();
      pf_sim_run (p, 0, n_events, buf, threads);
      rates[r] = n_events / ((g_get_monotonic_time () - t0) / 1e6);
    }
  return pflow_median (rates, repeat);
}


/* What the GPU part of `bench sim --backend cuda` measured. */
typedef struct {
  char *device;        /* name, or NULL when not run */
  const char *mode;    /* "shared" or "global" accumulation */
  double dev_rate;     /* events/s into device memory (kernel only) */
  double host_rate;    /* events/s including the copy into page-locked host memory */
  gint64 compared;     /* events compared with the CPU */
  gint64 differing;    /* float values that differ from the CPU's (bitwise) */
} GpuBench;

#ifdef PF_HAVE_CUDA
/* Bitwise comparison of the first `m` events of two pf_sim_run layouts of n_a and n_b events. */
static gint64
count_differing (const float *a, gint64 n_a, const float *b, gint64 n_b, gint64 m, gsize plane)
{
  gint64 diff = 0;
  for (int ch = 0; ch < PF_N_CHANNELS; ch++)
    for (gint64 i = 0; i < m; i++)
      {
        const float *pa = a + ((gsize) ch * n_a + i) * plane, *pb = b + ((gsize) ch * n_b + i) * plane;
        if (memcmp (pa, pb, plane * sizeof (float)) != 0)
          for (gsize j = 0; j < plane; j++)
            diff += memcmp (&pa[j], &pb[j], sizeof (float)) != 0;
      }
  return diff;
}

/* Times the GPU simulator on `n` events per run; cpu holds the CPU's first n_cpu events. */
static gboolean
bench_gpu (const PfSimParams *p, gint64 n, int repeat, const float *cpu, gint64 n_cpu,
           GpuBench *out, GError **error)
{
  gboolean ok = FALSE;
  PfCudaContext *ctx = pf_cuda_context_new (0, error);
  if (!ctx)
    return FALSE;
  PfCudaSim *sim = pf_cuda_sim_new (ctx, p, error);
  float *dev = NULL, *host = NULL;
  gsize plane = (gsize) p->image_size * p->image_size;
  gsize bytes = (gsize) n * PF_N_CHANNELS * plane * sizeof (float);
  double rates[64];
  repeat = CLAMP (repeat, 1, 64);
  if (!sim || !(dev = pf_cuda_malloc (ctx, bytes, error))
      || !(host = pf_cuda_sim_host_alloc (sim, bytes, error)))
    goto out;
  /* warm-up: module load, first-touch of the buffers */
  if (!pf_cuda_sim_run_device (sim, 0, n, dev, error) || !pf_cuda_synchronize (ctx, error))
    goto out;
  for (int r = 0; r < repeat; r++)
    {
      gint64 t0 = g_get_monotonic_time ();
      if (!pf_cuda_sim_run_device (sim, 0, n, dev, error) || !pf_cuda_synchronize (ctx, error))
        goto out;
      rates[r] = n / ((g_get_monotonic_time () - t0) / 1e6);
    }
  out->dev_rate = pflow_median (rates, repeat);
  if (!pf_cuda_sim_run (sim, 0, n, host, error))
    goto out;
  for (int r = 0; r < repeat; r++)
    {
      gint64 t0 = g_get_monotonic_time ();
      if (!pf_cuda_sim_run (sim, 0, n, host, error))
        goto out;
      rates[r] = n / ((g_get_monotonic_time () - t0) / 1e6);
    }
  out->host_rate = pflow_median (rates, repeat);
  out->compared = MIN (n, n_cpu);
  out->differing = count_differing (host, n, cpu, n_cpu, out->compared, plane);
  out->device = g_strdup (pf_cuda_context_device_name (ctx));
  out->mode = pf_cuda_sim_mode (sim);
  ok = TRUE;
out:
  if (host)
    pf_cuda_sim_host_free (sim, host);
  if (dev)
    pf_cuda_free (ctx, dev);
  pf_cuda_sim_free (sim);
  pf_cuda_context_free (ctx);
  return ok;
}
#endif

static int
bench_sim (int argc, char **argv)
{
  gint64 n_events = 2000;
  gint repeat = 5, threads = 0, compression = 1;
  gint64 gpu_events = 20000;
  gboolean json = FALSE, no_numpy = FALSE;
  char *backend = NULL;
  GOptionEntry entries[] = {
    { "events", 'n', 0, G_OPTION_ARG_INT64, &n_events, N_("Events per run (default 2000)"), "N" },
    { "repeat", 'r', 0, G_OPTION_ARG_INT, &repeat, N_("Runs per figure; the median is reported (default 5)"), "R" },
    { "threads", 'j', 0, G_OPTION_ARG_INT, &threads, N_("Threads (default: all cores)"), "T" },
    { "compression", 0, 0, G_OPTION_ARG_INT, &compression, N_("Deflate level for the write (default 1)"), "L" },
    { "no-numpy", 0, 0, G_OPTION_ARG_NONE, &no_numpy, N_("Skip the numpy reference"), NULL },
    { "backend", 0, 0, G_OPTION_ARG_STRING, &backend,
      N_("'cpu' (default) or 'cuda': also time the GPU simulator against the CPU one"), "cpu|cuda" },
    { "gpu-events", 0, 0, G_OPTION_ARG_INT64, &gpu_events,
      N_("Events per GPU run (default 20000; the GPU needs many to fill up)"), "N" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print a JSON object as the last line"), NULL },
    { NULL }
  };
  GOptionContext *ctx = g_option_context_new (_("- simulator throughput (events/s) against numpy"));
  g_option_context_add_main_entries (ctx, entries, GETTEXT_PACKAGE);
  gboolean parsed = pflow_parse_options (ctx, &argc, &argv, "bench sim");
  g_option_context_free (ctx);
  if (!parsed)
    {
      g_free (backend);
      return 2;
    }
  gboolean use_gpu = backend && !strcmp (backend, "cuda");
  if (backend && !use_gpu && strcmp (backend, "cpu") != 0)
    {
      fprintf (stderr, "pflow bench sim: unknown backend '%s' (cpu, cuda)\n", backend);
      g_free (backend);
      return 2;
    }
  g_free (backend);
  if (n_events <= 0 || repeat <= 0 || compression < 0 || compression > 9 || gpu_events <= 0)
    {
      fprintf (stderr, "pflow bench sim: --events, --gpu-events and --repeat must be positive, "
               "--compression 0..9\n");
      return 2;
    }
  if (use_gpu)
    {
#ifdef PF_HAVE_CUDA
      char *why = NULL;
      if (!pf_cuda_available (&why))
        {
          fprintf (stderr, "pflow bench sim: --backend cuda: no usable GPU (%s)\n", why);
          g_free (why);
          return 1;
        }
#else
      fprintf (stderr, "pflow bench sim: --backend cuda: this pflow was built without CUDA\n");
      return 1;
#endif
    }

  PfSimParams p;
  pf_sim_params_init_default (&p);
  int ncores = (int) g_get_num_processors ();
  int nthreads = threads > 0 ? threads : ncores;
  gsize plane = (gsize) p.image_size * p.image_size;
  float *buf = g_try_malloc ((gsize) n_events * PF_N_CHANNELS * plane * sizeof (float));
  if (!buf)
    {
      fprintf (stderr, "pflow bench sim: out of memory for %" G_GINT64_FORMAT " events\n", n_events);
      return 1;
    }
  pf_sim_run (&p, 0, MIN (n_events, 64), buf, nthreads); /* warm-up: pages, thread pool */
  double sim1 = time_sim (&p, n_events, 1, repeat, buf);
  double simn = nthreads > 1 ? time_sim (&p, n_events, nthreads, repeat, buf) : sim1;

  GError *error = NULL;
  GpuBench gpu = { 0 };
#ifdef PF_HAVE_CUDA
  if (use_gpu && !bench_gpu (&p, gpu_events, repeat, buf, n_events, &gpu, &error))
    {
      g_free (buf);
      return pflow_fail ("bench sim", error);
    }
#endif
  g_free (buf);

  /* The whole `pflow simulate` pipeline, file included, into a temporary folder. */
  char *dir = g_dir_make_tmp ("pflow-bench-XXXXXX", &error);
  if (!dir)
    return pflow_fail ("bench sim", error);
  char *path = g_build_filename (dir, "bench.h5", NULL);
  double rates[64];
  int reps = CLAMP (repeat, 1, 64);
  double file_mb = 0;
  for (int r = 0; r < reps; r++)
    {
      gint64 t0 = g_get_monotonic_time ();
      if (!pflow_simulate_to_file (&p, n_events, path, nthreads, compression, TRUE, &error))
        {
          g_rmdir (dir);
          return pflow_fail ("bench sim", error);
        }
      rates[r] = n_events / ((g_get_monotonic_time () - t0) / 1e6);
      GStatBuf st;
      if (g_stat (path, &st) == 0)
        file_mb = st.st_size / 1e6;
      g_unlink (path);
    }
  double with_write = pflow_median (rates, reps);
  g_rmdir (dir);
  g_free (dir);
  g_free (path);

  char *why = NULL;
  double numpy = no_numpy ? -1 : numpy_events_per_s (n_events, &p, &why);

  printf ("simulator, %" G_GINT64_FORMAT " events, median of %d runs\n", n_events, repeat);
  printf ("  pflow sim, 1 thread          %12.0f events/s\n", sim1);
  if (nthreads > 1)
    printf ("  pflow sim, %d threads         %12.0f events/s\n", nthreads, simn);
  printf ("  pflow sim + HDF5 write       %12.0f events/s  (deflate %d, %.1f MB file)\n", with_write,
          compression, file_mb);
  if (numpy > 0)
    {
      printf ("  numpy reference (in memory)  %12.0f events/s\n", numpy);
      printf ("  ratio sim/numpy %.1fx, sim+write/numpy %.1fx\n", simn / numpy, with_write / numpy);
    }
  else if (!no_numpy)
    printf ("  numpy reference not run: %s\n", why);
  if (gpu.device)
    {
      printf ("GPU simulator on %s, %" G_GINT64_FORMAT " events per run, images in %s memory\n",
              gpu.device, gpu_events, gpu.mode);
      printf ("  GPU, into device memory      %12.0f events/s  (%.1fx the CPU with %d threads, %.1fx 1 thread)\n",
              gpu.dev_rate, gpu.dev_rate / simn, nthreads, gpu.dev_rate / sim1);
      printf ("  GPU + copy to host           %12.0f events/s  (%.1fx the CPU with %d threads, %.1fx 1 thread)\n",
              gpu.host_rate, gpu.host_rate / simn, nthreads, gpu.host_rate / sim1);
      printf ("  GPU output against the CPU: %s (%" G_GINT64_FORMAT " of %" G_GINT64_FORMAT
              " values differ in the first %" G_GINT64_FORMAT " events)\n",
              gpu.differing == 0 ? "bit-identical" : "DIFFERENT", gpu.differing,
              gpu.compared * PF_N_CHANNELS * (gint64) plane, gpu.compared);
    }
  if (json)
    {
      char *gpu_json = gpu.device
        ? g_strdup_printf (", \"gpu_device\": \"%s\", \"gpu_events\": %" G_GINT64_FORMAT ", "
                           "\"gpu_events_per_s\": %.1f, \"gpu_host_events_per_s\": %.1f, "
                           "\"ratio_gpu_vs_sim\": %.2f, \"ratio_gpu_host_vs_sim\": %.2f, "
                           "\"gpu_values_differing\": %" G_GINT64_FORMAT,
                           gpu.device, gpu_events, gpu.dev_rate, gpu.host_rate, gpu.dev_rate / simn,
                           gpu.host_rate / simn, gpu.differing)
        : g_strdup ("");
      printf ("{\"events\": %" G_GINT64_FORMAT ", \"threads\": %d, \"sim_1thread_events_per_s\": %.1f, "
              "\"sim_events_per_s\": %.1f, \"sim_write_events_per_s\": %.1f, \"numpy_events_per_s\": %s%.1f, "
              "\"ratio_sim_write_vs_numpy\": %.2f%s}\n",
              n_events, nthreads, sim1, simn, with_write, "", numpy > 0 ? numpy : 0.0,
              numpy > 0 ? with_write / numpy : 0.0, gpu_json);
      g_free (gpu_json);
    }
  g_free (why);
  g_free (gpu.device);
  return 0;
}

int
pflow_cmd_bench (int argc, char **argv)
{
  if (argc < 2 || !strcmp (argv[1], "--help") || !strcmp (argv[1], "-h"))
    {
      fprintf (argc < 2 ? stderr : stdout,
               "Usage: pflow bench sim|train|jets [OPTIONS]\n"
               "  sim    simulator events/s, alone and with the HDF5 write, against numpy\n"
               "         (--backend cuda: the GPU simulator too)\n"
               "  train  training and inference samples/s against PyTorch\n"
               "  jets   time to cluster one 56x56 truth image with areas (FastJet)\n");
      return argc < 2 ? 2 : 0;
    }
  if (!strcmp (argv[1], "sim"))
    return bench_sim (argc - 1, argv + 1);
  if (!strcmp (argv[1], "train"))
    return pflow_cmd_bench_train (argc - 1, argv + 1);
  if (!strcmp (argv[1], "jets"))
    return pflow_cmd_bench_jets (argc - 1, argv + 1);
  fprintf (stderr, "pflow bench: unknown benchmark '%s' (sim, train, jets)\n", argv[1]);
  return 2;
}
