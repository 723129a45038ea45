/* test-cli.c — the `pflow` command line as a user meets it: it works, and bad input gets a
 * clear message naming the problem, a non-zero exit status and no partial output file. */
#include "pf-test-util.h"
#include <signal.h>
#include <sys/wait.h>

typedef struct {
  int status; /* exit status, or 128 + signal */
  char *out, *err;
} Run;

static const char *
pflow_bin (void)
{
  const char *b = g_getenv ("PFLOW_BIN");
  g_assert_nonnull (b);
  return b;
}

/* Runs pflow with the arguments (NULL-terminated) in directory cwd. */
static Run
run_in (const char *cwd, const char *first, ...)
{
  GPtrArray *argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (gpointer) pflow_bin ());
  va_list ap;
  va_start (ap, first);
  for (const char *a = first; a; a = va_arg (ap, const char *))
    g_ptr_array_add (argv, (gpointer) a);
  va_end (ap);
  g_ptr_array_add (argv, NULL);
  Run r = { 0 };
  int wait = 0;
  GError *error = NULL;
  if (!g_spawn_sync (cwd, (char **) argv->pdata, NULL, 0, NULL, NULL, &r.out, &r.err, &wait, &error))
    g_error ("cannot run pflow: %s", error->message);
  r.status = WIFEXITED (wait) ? WEXITSTATUS (wait) : 128 + WTERMSIG (wait);
  g_test_message ("pflow %s -> %d: %s", first, r.status, r.err);
  g_ptr_array_unref (argv);
  return r;
}

static void
run_clear (Run *r)
{
  g_free (r->out);
  g_free (r->err);
}

/* Number of entries in a directory (partial or temporary files included). */
static int
dir_entries (const char *dir)
{
  GDir *d = g_dir_open (dir, 0, NULL);
  int n = 0;
  while (d && g_dir_read_name (d))
    n++;
  if (d)
    g_dir_close (d);
  return n;
}

/* The command fails with status != 0, an error mentioning `needle`, and leaves dir empty. */
static void
expect_failure (const char *dir, const char *needle, Run r)
{
  g_assert_cmpint (r.status, !=, 0);
  g_assert_cmpint (r.status, <, 128); /* an error, not a crash */
  if (!strstr (r.err, needle))
    g_error ("expected '%s' in the message, got: %s", needle, r.err);
  g_assert_cmpint (dir_entries (dir), ==, 0);
  run_clear (&r);
}

static char *
tmpdir (void)
{
  GError *error = NULL;
  char *d = g_dir_make_tmp ("pflow-cli-XXXXXX", &error);
  g_assert_no_error (error);
  return d;
}

static void
test_simulate_and_info (void)
{
  char *dir = tmpdir ();
  /* default name follows the published naming */
  Run r = run_in (dir, "simulate", "--events", "40", "--bfield", "0.5", "--quiet", NULL);
  g_assert_cmpint (r.status, ==, 0);
  run_clear (&r);
  char *path = g_build_filename (dir, "Gauss_S1.00_NL0.30_B0.50.h5", NULL);
  g_assert_true (g_file_test (path, G_FILE_TEST_EXISTS));
  g_assert_cmpint (dir_entries (dir), ==, 1);
  r = run_in (dir, "info", "--quiet", path, NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.out, "events:      40"));
  g_assert_nonnull (strstr (r.out, "bfield"));
  g_assert_nonnull (strstr (r.out, "truth"));
  run_clear (&r);
  r = run_in (dir, "simulate", "--events", "10", "--nonlin", "0", "--res-scale", "2", "--bfield", "0",
              "--charged-range", "1", "--wrap-phi", "--seed", "5", "-q", NULL);
  g_assert_cmpint (r.status, ==, 0);
  run_clear (&r);
  char *p2 = g_build_filename (dir, "Gauss_S2.00_NL0.00_B0.00.h5", NULL);
  g_assert_true (g_file_test (p2, G_FILE_TEST_EXISTS));
  pf_test_rm_dir (dir);
  g_free (p2);
  g_free (path);
  g_free (dir);
}

static void
test_simulate_bad_input (void)
{
  char *dir = tmpdir ();
  char *out = g_build_filename (dir, "x.h5", NULL);
  expect_failure (dir, "--events", run_in (dir, "simulate", "--events", "0", "-o", out, NULL));
  expect_failure (dir, "--events", run_in (dir, "simulate", "--events", "-5", "-o", out, NULL));
  expect_failure (dir, "nonlin", run_in (dir, "simulate", "--events", "5", "--nonlin", "-1", "-o", out, NULL));
  expect_failure (dir, "bfield", run_in (dir, "simulate", "--events", "5", "--bfield", "nan", "-o", out, NULL));
  expect_failure (dir, "res_scale", run_in (dir, "simulate", "--events", "5", "--res-scale", "-2", "-o", out, NULL));
  expect_failure (dir, "charged_range", run_in (dir, "simulate", "--events", "5", "--charged-range", "1.5", "-o", out, NULL));
  expect_failure (dir, "events", run_in (dir, "simulate", "--events", "many", "-o", out, NULL));
  expect_failure (dir, "preset", run_in (dir, "simulate", "--preset", "nature", NULL));
  /* unwritable output */
  expect_failure (dir, "/nonexistent-dir", run_in (dir, "simulate", "--events", "5", "-o", "/nonexistent-dir/x.h5", NULL));
  g_free (out);
  pf_test_rm_dir (dir);
  g_free (dir);
}

static void
test_info_bad_input (void)
{
  char *dir = tmpdir ();
  char *missing = g_build_filename (dir, "missing.h5", NULL);
  expect_failure (dir, "missing.h5", run_in (dir, "info", missing, NULL));
  /* not an HDF5 file */
  char *text = g_build_filename (dir, "notes.h5", NULL);
  g_assert_true (g_file_set_contents (text, "energy flow\n", -1, NULL));
  Run r = run_in (dir, "info", text, NULL);
  g_assert_cmpint (r.status, ==, 1);
  g_assert_nonnull (strstr (r.err, "notes.h5"));
  run_clear (&r);
  /* a truncated dataset */
  char *good = g_build_filename (dir, "good.h5", NULL);
  r = run_in (dir, "simulate", "--events", "64", "-q", "-o", good, NULL);
  g_assert_cmpint (r.status, ==, 0);
  run_clear (&r);
  gchar *buf;
  gsize len;
  g_assert_true (g_file_get_contents (good, &buf, &len, NULL));
  char *cut = g_build_filename (dir, "cut.h5", NULL);
  g_assert_true (g_file_set_contents (cut, buf, len / 2, NULL));
  g_free (buf);
  r = run_in (dir, "info", "-q", cut, NULL);
  g_assert_cmpint (r.status, ==, 1);
  g_assert_nonnull (strstr (r.err, "cut.h5"));
  run_clear (&r);
  r = run_in (dir, "info", NULL);
  g_assert_cmpint (r.status, ==, 2);
  run_clear (&r);
  pf_test_rm_dir (dir);
  g_free (missing);
  g_free (text);
  g_free (good);
  g_free (cut);
  g_free (dir);
}

static void
test_import_bad_input (void)
{
  char *dir = tmpdir ();
  char *src = g_build_filename (dir, "tiffs", NULL);
  g_mkdir (src, 0755);
  char *out = g_build_filename (dir, "imported.h5", NULL);
  Run r = run_in (dir, "import-tiff", src, "-o", out, NULL);
  g_assert_cmpint (r.status, ==, 1);
  g_assert_nonnull (strstr (r.err, "tiffs"));
  run_clear (&r);
  g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));
  r = run_in (dir, "import-tiff", "/nonexistent-folder", "-o", out, NULL);
  g_assert_cmpint (r.status, ==, 1);
  g_assert_nonnull (strstr (r.err, "/nonexistent-folder"));
  run_clear (&r);
  g_assert_cmpint (dir_entries (dir), ==, 1); /* only the empty folder */
  pf_test_rm_dir (src);
  pf_test_rm_dir (dir);
  g_free (src);
  g_free (out);
  g_free (dir);
}

/* Ctrl-C during `pflow simulate` stops it cleanly: status 130 and no file at all. */
static void
test_simulate_interrupt (void)
{
  char *dir = tmpdir ();
  char *out = g_build_filename (dir, "big.h5", NULL);
  const char *argv[] = { pflow_bin (), "simulate", "--events", "100000000", "-q", "-o", out, NULL };
  GPid pid;
  GError *error = NULL;
  g_assert_true (g_spawn_async (dir, (char **) argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD |
                                G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL,
                                NULL, NULL, &pid, &error));
  /* wait until it has started writing (the temporary file exists) */
  for (int i = 0; i < 200 && dir_entries (dir) == 0; i++)
    g_usleep (20000);
  g_usleep (200000);
  g_assert_cmpint (dir_entries (dir), ==, 1);
  kill (pid, SIGINT);
  int wait = 0;
  g_assert_cmpint (waitpid (pid, &wait, 0), ==, pid);
  g_spawn_close_pid (pid);
  g_assert_true (WIFEXITED (wait));
  g_assert_cmpint (WEXITSTATUS (wait), ==, 130);
  g_assert_cmpint (dir_entries (dir), ==, 0);
  g_rmdir (dir);
  g_free (out);
  g_free (dir);
}

static void
test_bench_json (void)
{
  Run r = run_in (NULL, "bench", "train", "--model", "cnn", "--scale", "1", "--batch", "4", "--steps", "1",
                  "--warmup", "0", "--no-torch", "--json", NULL);
  g_assert_cmpint (r.status, ==, 0);
  char **lines = g_strsplit (g_strstrip (r.out), "\n", -1);
  const char *last = lines[g_strv_length (lines) - 1];
  g_assert_true (g_str_has_prefix (last, "{"));
  g_assert_nonnull (strstr (last, "\"train_samples_per_s\""));
  g_assert_nonnull (strstr (last, "\"infer_samples_per_s\""));
  g_strfreev (lines);
  run_clear (&r);
  r = run_in (NULL, "bench", "train", "--model", "transformer", NULL);
  g_assert_cmpint (r.status, ==, 1);
  g_assert_nonnull (strstr (r.err, "unknown model 'transformer'"));
  run_clear (&r);
  r = run_in (NULL, "bench", "sim", "--events", "50", "--repeat", "1", "--no-numpy", "--json", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.out, "\"sim_write_events_per_s\""));
  run_clear (&r);
}

/* Training, evaluation and the ablation grid: a tiny run works end to end; bad input is named. */
static void
test_train_eval (void)
{
  char *dir = tmpdir ();
  char *data = g_build_filename (dir, "d.h5", NULL);
  char *runs = g_build_filename (dir, "run", NULL);
  Run r = run_in (dir, "simulate", "--events", "120", "-q", "-o", data, NULL);
  g_assert_cmpint (r.status, ==, 0);
  run_clear (&r);
  r = run_in (dir, "train", "--data", data, "--model", "transformer", "--out", runs, NULL);
  g_assert_cmpint (r.status, !=, 0);
  g_assert_nonnull (strstr (r.err, "transformer"));
  run_clear (&r);
  r = run_in (dir, "train", "--data", data, "--events", "3", "--batch", "2", "--out", runs, NULL);
  g_assert_cmpint (r.status, !=, 0);
  g_assert_nonnull (strstr (r.err, "events"));
  run_clear (&r);
  r = run_in (dir, "train", "--data", data, "--model", "cnn", "--scale", "1", "--batch", "16", "--epochs", "1",
              "--out", runs, "-q", NULL);
  g_assert_cmpint (r.status, ==, 0);
  run_clear (&r);
  char *best = g_build_filename (runs, "best.h5", NULL);
  char *evdir = g_build_filename (dir, "ev", NULL);
  r = run_in (dir, "eval", "--model", best, "--data", data, "-o", evdir, "-q", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.out, "baseline"));
  run_clear (&r);
  char *report = g_build_filename (evdir, "report.json", NULL);
  gchar *json = NULL;
  g_assert_true (g_file_get_contents (report, &json, NULL, NULL));
  g_assert_nonnull (strstr (json, "\"wmse\""));
  g_assert_null (strstr (json, "nan"));
  g_assert_null (strstr (json, "NaN"));
  g_free (json);
  /* pflow info describes a checkpoint too: model, recipe, state and the training log */
  r = run_in (dir, "info", best, NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.out, "checkpoint:  cnn, scale 1, 20,537 parameters, images 56 x 56"));
  g_assert_nonnull (strstr (r.out, "batch 16"));
  g_assert_nonnull (strstr (r.out, "training log (1 epochs)"));
  run_clear (&r);
  /* a dataset file given as the checkpoint */
  r = run_in (dir, "eval", "--model", data, "--data", data, "-q", NULL);
  g_assert_cmpint (r.status, ==, 1);
  g_assert_nonnull (strstr (r.err, "d.h5"));
  run_clear (&r);
  r = run_in (dir, "eval", "--model", best, "--data", "/nonexistent.h5", "-q", NULL);
  g_assert_cmpint (r.status, ==, 1);
  g_assert_nonnull (strstr (r.err, "/nonexistent.h5"));
  run_clear (&r);
  r = run_in (dir, "ablate", "--data", data, "--variants", "cnn,resnet", NULL);
  g_assert_cmpint (r.status, !=, 0);
  g_assert_nonnull (strstr (r.err, "resnet"));
  run_clear (&r);
  /* the earlier family has no scales: train without --scale, load the checkpoint back (eval,
   * --resume), and run it in an ablation grid, tabulated as models x losses */
  char *early = g_build_filename (dir, "early", NULL);
  r = run_in (dir, "train", "--data", data, "--model", "cnn-se", "--scale", "2", "--out", early, NULL);
  g_assert_cmpint (r.status, ==, 2);
  g_assert_nonnull (strstr (r.err, "'cnn-se' has no scales"));
  run_clear (&r);
  r = run_in (dir, "train", "--data", data, "--model", "cnn-se", "--batch", "16", "--epochs", "1", "--out", early,
              "-q", NULL);
  g_assert_cmpint (r.status, ==, 0);
  run_clear (&r);
  r = run_in (dir, "train", "--resume", "--out", early, "--epochs", "2", "-q", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.out, "done: 2 epochs"));
  run_clear (&r);
  char *early_best = g_build_filename (early, "best.h5", NULL);
  r = run_in (dir, "eval", "--model", early_best, "--data", data, "-q", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.out, "baseline"));
  run_clear (&r);
  r = run_in (dir, "info", early_best, NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.out, "checkpoint:  cnn-se, no scales, 83,487 parameters"));
  g_assert_nonnull (strstr (r.out, "state:       after epoch 2"));
  run_clear (&r);
  char *grid = g_build_filename (dir, "grid", NULL);
  r = run_in (dir, "ablate", "--data", data, "--variants", "cnn-se", "--scales", "1,2", "--losses", "mse,wmse",
              "--epochs", "1", "--batch", "16", "-o", grid, "-q", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.out, "| model | loss mse | loss wmse |"));
  g_assert_nonnull (strstr (r.out, "| cnn-se | "));
  g_assert_null (strstr (r.out, "—")); /* both runs finished */
  g_assert_null (strstr (r.out, "scale 1"));
  run_clear (&r);
  char *grid_run = g_build_filename (grid, "cnn-se-wmse", "best.h5", NULL);
  g_assert_true (g_file_test (grid_run, G_FILE_TEST_EXISTS));
  g_free (grid_run);
  g_free (grid);
  g_free (early_best);
  g_free (early);
  g_free (report);
  g_free (best);
  g_free (evdir);
  g_free (runs);
  g_free (data);
  /* remove the tree */
  char *argv[] = { (char *) "rm", (char *) "-rf", dir, NULL };
  g_spawn_sync (NULL, argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, NULL, NULL);
  g_free (dir);
}

/* The device: picked automatically (the GPU when usable) and named; a bad name is refused. */
static void
test_device (void)
{
  char *dir = tmpdir ();
  char *data = g_build_filename (dir, "d.h5", NULL);
  char *runs = g_build_filename (dir, "run", NULL);
  Run r = run_in (dir, "simulate", "--events", "60", "-q", "-o", data, NULL);
  g_assert_cmpint (r.status, ==, 0);
  run_clear (&r);
  r = run_in (dir, "train", "--data", data, "--device", "tpu", "--out", runs, NULL);
  g_assert_cmpint (r.status, !=, 0);
  g_assert_nonnull (strstr (r.err, "tpu"));
  run_clear (&r);
  r = run_in (dir, "train", "--data", data, "--device", "cpu", "--batch", "8", "--epochs", "1",
              "--out", runs, NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.out, "training on the CPU (oneDNN/OpenBLAS)"));
  run_clear (&r);
  /* the log says where and how the run computed */
  char *log_path = g_build_filename (runs, "log.json", NULL), *log = NULL;
  g_assert_true (g_file_get_contents (log_path, &log, NULL, NULL));
  g_assert_nonnull (strstr (log, "\"device\": \"cpu\""));
  g_assert_nonnull (strstr (log, "\"precision\": \"fp32\""));
  g_free (log);
  g_free (log_path);
  r = run_in (dir, "bench", "train", "--model", "cnn", "--batch", "2", "--steps", "1", "--warmup", "0",
              "--no-torch", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_true (strstr (r.out, "backend cpu") || strstr (r.out, "backend cuda"));
  run_clear (&r);
  r = run_in (dir, "bench", "train", "--backend", "gpu0", "--steps", "1", NULL);
  g_assert_cmpint (r.status, !=, 0);
  g_assert_nonnull (strstr (r.err, "gpu0"));
  run_clear (&r);
  /* devices: the CPU line always, the GPU line with a reason when there is none */
  r = run_in (dir, "devices", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.out, "CPU: "));
  g_assert_nonnull (strstr (r.out, "oneDNN"));
  g_assert_nonnull (strstr (r.out, "GPU: "));
  g_assert_true (strstr (r.out, "computes on the GPU") || strstr (r.out, "GPU: none ("));
  run_clear (&r);
  r = run_in (dir, "devices", "extra", NULL);
  g_assert_cmpint (r.status, ==, 2);
  run_clear (&r);
  /* precision: an unknown name, and reduced precision on the CPU, are refused before any work */
  r = run_in (dir, "train", "--data", data, "--device", "cpu", "--precision", "fp16", "--out", runs, NULL);
  g_assert_cmpint (r.status, !=, 0);
  g_assert_nonnull (strstr (r.err, "fp16"));
  run_clear (&r);
  r = run_in (dir, "bench", "train", "--backend", "cpu", "--precision", "bf16", "--steps", "1", NULL);
  g_assert_cmpint (r.status, !=, 0);
  g_assert_nonnull (strstr (r.err, "bf16"));
  g_assert_nonnull (strstr (r.err, "GPU"));
  run_clear (&r);
  r = run_in (dir, "bench", "train", "--backend", "cpu", "--precision", "fp32", "--model", "cnn", "--batch",
              "2", "--steps", "1", "--warmup", "0", "--no-torch", NULL);
  g_assert_cmpint (r.status, ==, 0);
  run_clear (&r);
  /* eval, predict and ablate pick their device the same way and say which */
  char *best = g_build_filename (runs, "best.h5", NULL), *pred = g_build_filename (dir, "p.h5", NULL);
  r = run_in (dir, "eval", "--model", best, "--data", data, "--device", "tpu", NULL);
  g_assert_cmpint (r.status, !=, 0);
  g_assert_nonnull (strstr (r.err, "tpu"));
  run_clear (&r);
  r = run_in (dir, "predict", "--model", best, "--data", data, "-o", pred, "--device", "cpu", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.err, "predicting on the CPU (oneDNN/OpenBLAS"));
  g_assert_true (g_file_test (pred, G_FILE_TEST_EXISTS));
  run_clear (&r);
  r = run_in (dir, "predict", "--model", best, "--data", data, "-o", pred, "--device", "gpu", NULL);
  g_assert_cmpint (r.status, !=, 0);
  g_assert_nonnull (strstr (r.err, "gpu"));
  run_clear (&r);
  r = run_in (dir, "ablate", "--data", data, "--device", "tpu", NULL);
  g_assert_cmpint (r.status, !=, 0);
  g_assert_nonnull (strstr (r.err, "tpu"));
  run_clear (&r);
  r = run_in (dir, "ablate", "--data", data, "--device", "cpu", "--precision", "bf16", NULL);
  g_assert_cmpint (r.status, !=, 0);
  g_assert_nonnull (strstr (r.err, "bf16"));
  run_clear (&r);
  g_free (best);
  g_free (pred);
  g_free (runs);
  g_free (data);
  g_free (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/cli/simulate-info", test_simulate_and_info);
  g_test_add_func ("/cli/simulate-bad-input", test_simulate_bad_input);
  g_test_add_func ("/cli/info-bad-input", test_info_bad_input);
  g_test_add_func ("/cli/import-bad-input", test_import_bad_input);
  g_test_add_func ("/cli/simulate-interrupt", test_simulate_interrupt);
  g_test_add_func ("/cli/bench-json", test_bench_json);
  g_test_add_func ("/cli/train-eval", test_train_eval);
  g_test_add_func ("/cli/device", test_device);
  return g_test_run ();
}
