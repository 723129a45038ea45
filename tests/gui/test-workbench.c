/* test-workbench.c — the pflow workbench under a display (meson runs it in xvfb-run -a).
 *
 * /workbench/corrupt-dataset opens a garbage file through pf_window_open_dataset, the code path
 * of File ▸ Open Dataset, and checks that the error banner names the file and the window lives
 * on. /workbench/screenshot runs the real binary with --screenshot --train-steps 3 and checks a
 * PNG of the window's size was written. /workbench/preferences opens Preferences and checks
 * that its GPU-precision drop-down writes the setting training reads.
 *
 * Checkpoints opened from disk (two small random-weight models written here with the core API:
 * a scaled cnn-s1 and an earlier cnn-se without scales): /workbench/checkpoint-predictor runs
 * one PfCheckpointPredictor from many workers at once and lets it go while they run (the lock
 * serialises them, the workers' references keep it alive: every answer equals the synchronous
 * one); /workbench/checkpoint opens them through pf_window_open_checkpoint (the code path of
 * File ▸ Open Checkpoint, and of --checkpoint) and checks that the prediction of the event shown
 * comes from a worker (none right after a new event is asked for, the right one a little later,
 * drawn in the Prediction pane), that a second checkpoint opened and events changed while a
 * prediction runs end with the second model's prediction, and that closing the window while one
 * runs is safe; /workbench/checkpoint-screenshot checks that --screenshot is armed only once the
 * prediction and its jets are there; /workbench/checkpoint-cli runs the binary with --checkpoint --event --show-jets
 * --screenshot (a PNG with one more pane of colour than without the checkpoint), and with a
 * missing checkpoint, --event 0 and an event past the last (non-zero exit, the error on stderr).
 * /workbench/checkpoint-log writes checkpoints with known training logs (the trainer's columns,
 * and another order with columns missing) and checks the loss plot: the checkpoint's epochs at
 * the step, epoch and time a live run gives them, the best epoch marked, a checkpoint without a
 * log leaving the plot empty, a run started (trained here for two epochs) replacing the curve
 * and keeping it while a checkpoint is opened, and the curve back once the run ended.
 * /workbench/run-names: runs of the models without scales are named "...-lstm" (no "-s0"), a
 * runs.json with the old names still loads, and the runs table shows no scale for them.
 * Without a display the window parts skip. */
#include <gtk/gtk.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>
#include "pf-window.h"
#include "pf-window-private.h"
#include "pf-application.h"
#include "pf-checkpoint-predictor.h"
#include "pf-checkpoint.h"
#include "pf-train-log.h"
#include "pf-model.h"

static gboolean have_display;

#define REQUIRE_DISPLAY()                                                       \
  G_STMT_START {                                                                \
    if (!have_display)                                                          \
      {                                                                         \
        g_test_skip ("no display (gtk_init_check failed): run under xvfb-run"); \
        return;                                                                 \
      }                                                                         \
  } G_STMT_END

static gboolean
timeout_cb (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

static void
test_corrupt_dataset (void)
{
  REQUIRE_DISPLAY ();
  g_autofree char *dir = g_dir_make_tmp ("pf-gui-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "corrupt.h5", NULL);
  g_assert_true (g_file_set_contents (path, "\x89HDF\r\n\x1a\nthis is not a dataset", -1, NULL));

  GtkApplication *app = gtk_application_new ("org.pflow.WorkbenchTest", G_APPLICATION_NON_UNIQUE);
  g_assert_true (g_application_register (G_APPLICATION (app), NULL, NULL));
  PfWindow *win = pf_window_new (app, NULL, 20);
  gtk_window_present (GTK_WINDOW (win));
  g_assert_null (pf_window_get_banner_message (win));

  g_autoptr (GFile) file = g_file_new_for_path (path);
  pf_window_open_dataset (win, file);
  gboolean timed_out = FALSE;
  guint id = g_timeout_add_seconds (60, timeout_cb, &timed_out);
  while (!timed_out && !pf_window_get_banner_message (win))
    g_main_context_iteration (NULL, TRUE);
  g_assert_false (timed_out);
  g_source_remove (id);

  const char *msg = pf_window_get_banner_message (win);
  g_test_message ("banner: %s", msg);
  g_assert_nonnull (strstr (msg, "corrupt.h5"));

  /* The window still works: the simulated events arrive and are shown. */
  timed_out = FALSE;
  id = g_timeout_add_seconds (60, timeout_cb, &timed_out);
  while (!timed_out && pf_window_get_generation (win) == 0)
    g_main_context_iteration (NULL, TRUE);
  g_assert_false (timed_out);
  g_source_remove (id);
  g_assert_cmpuint (pf_window_get_generation (win), >, 0);

  gtk_window_destroy (GTK_WINDOW (win));
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_object_unref (app);
  g_unlink (path);
  g_rmdir (dir);
}

static void
test_screenshot (void)
{
  REQUIRE_DISPLAY ();
  const char *bin = g_getenv ("PFLOW_WORKBENCH_BIN");
  if (!bin)
    {
      g_test_skip ("PFLOW_WORKBENCH_BIN not set (run through meson test)");
      return;
    }
  g_autofree char *dir = g_dir_make_tmp ("pf-shot-XXXXXX", NULL);
  g_autofree char *png = g_build_filename (dir, "out.png", NULL);
  g_autofree char *data_home = g_build_filename (dir, "data", NULL);
  g_autofree char *cache_home = g_build_filename (dir, "cache", NULL);
  const char *argv[] = { bin, "--screenshot", png, "--train-steps", "3", "--events", "40", NULL };
  g_auto (GStrv) envp = g_get_environ ();
  envp = g_environ_setenv (envp, "XDG_DATA_HOME", data_home, TRUE);
  envp = g_environ_setenv (envp, "XDG_CACHE_HOME", cache_home, TRUE);
  envp = g_environ_setenv (envp, "GSETTINGS_BACKEND", "memory", TRUE);
  envp = g_environ_unsetenv (envp, "PFLOW_RUNS_FILE");
  int status = -1;
  g_autoptr (GError) error = NULL;
  g_autofree char *out = NULL, *err = NULL;
  g_assert_true (g_spawn_sync (NULL, (char **) argv, envp, G_SPAWN_DEFAULT, NULL, NULL, &out, &err,
                               &status, &error));
  g_test_message ("stderr: %s", err);
  g_assert_true (g_spawn_check_wait_status (status, &error));

  gsize len = 0;
  g_autofree char *bytes = NULL;
  g_assert_true (g_file_get_contents (png, &bytes, &len, NULL));
  g_assert_cmpuint (len, >, 20000);   /* seven panes of colour, not a blank window */
  g_assert_cmpmem (bytes, 8, "\x89PNG\r\n\x1a\n", 8);
  g_autoptr (GdkTexture) tex = gdk_texture_new_from_filename (png, &error);
  g_assert_no_error (error);
  g_assert_cmpint (gdk_texture_get_width (tex), >=, 800);
  g_assert_cmpint (gdk_texture_get_height (tex), >=, 500);

  /* The run it trained is in the runs file. */
  g_autofree char *runs = g_build_filename (data_home, "pflow", "runs.json", NULL);
  g_autofree char *json = NULL;
  g_assert_true (g_file_get_contents (runs, &json, NULL, NULL));
  g_assert_nonnull (strstr (json, "\"model\""));
}


/* ---- checkpoints ---- */

static char *ckpt_dir;

/* A checkpoint of `model` at `scale` (0: the earlier models) with the random weights its graph
 * starts with (its predictions are not trivial: no model outputs a constant image), trained
 * with `batch` and carrying the training log `log` (rows x cols, NULL: none) under `columns`. */
static char *
write_checkpoint_log (const char *name, const char *model, int scale, uint64_t seed, int batch,
                      const double *log, int rows, int cols, const char *columns, int best_epoch)
{
  g_autoptr (GError) error = NULL;
  PfGraph *g = pf_model_build (model, scale, 1, 56, &error);
  g_assert_no_error (error);
  PfPlanOptions po = { PF_DEVICE_CPU, false, false, seed };
  g_assert_true (pf_graph_plan (g, &po, &error));
  g_assert_no_error (error);
  PfCheckpointInfo ck;
  pf_checkpoint_info_init (&ck);
  ck.model = (char *) model;
  ck.scale = scale;
  ck.batch = batch;
  ck.loss = (char *) "mix";
  ck.lambda = 0.05;
  ck.lr = 1e-4;
  ck.epoch = 3;
  ck.best_epoch = best_epoch;
  ck.best_val_loss = 0.125;
  ck.norm_min = 0.0;
  ck.norm_max = 40.0;
  ck.dataset = (char *) "test.h5";
  ck.n_train = 80;
  ck.n_val = 10;
  ck.n_test = 10;
  ck.seed = seed;
  ck.log = (double *) log;
  ck.log_rows = log ? rows : 0;
  ck.log_cols = log ? cols : 0;
  ck.log_columns = (char *) columns;
  char *path = g_build_filename (ckpt_dir, name, NULL);
  g_assert_true (pf_checkpoint_save (path, g, &ck, FALSE, 0, &error));
  g_assert_no_error (error);
  pf_graph_free (g);
  return path;
}

static char *
write_checkpoint (const char *name, const char *model, int scale, uint64_t seed)
{
  return write_checkpoint_log (name, model, scale, seed, 1, NULL, 0, 0, NULL, 3);
}

/* A scaled model's checkpoint with a 3-epoch log in the trainer's columns (pf_train_log_columns):
 * batch 4 on 80 events, 20 steps an epoch; epoch 2 is the best (0.4). */
static const double known_log[3][13] = {
  /* epoch train  val   lr     seconds  train mse/wmse/ssim  val mse/wmse/ssim  n_train best */
  { 1, 0.9, 0.8, 1e-4, 1.5, 0.1, 0.2, 0.3, 0.11, 0.21, 0.31, 80, 1 },
  { 2, 0.5, 0.4, 1e-4, 2.0, 0.1, 0.2, 0.3, 0.11, 0.21, 0.31, 80, 1 },
  { 3, 0.3, 0.45, 1e-4, 2.5, 0.1, 0.2, 0.3, 0.11, 0.21, 0.31, 80, 0 },
};

static const char *
logged_checkpoint (void)
{
  static char *path;
  if (!path)
    path = write_checkpoint_log ("cnn-s1-log.h5", "cnn", 1, 13, 4, &known_log[0][0], 3, 13,
                                 "epoch,train_loss,val_loss,lr,seconds,train_mse,train_wmse,train_ssim,"
                                 "val_mse,val_wmse,val_ssim,n_train_used,best", 2);
  return path;
}

/* A log written by something else: its own column order, a column pflow does not know, no
 * n_train_used, seconds or best, and a row without an epoch (left out). */
static const char *
reordered_checkpoint (void)
{
  static char *path;
  static const double log[3][4] = { { 0.7, 1, 0.6, 9 }, { 0.2, NAN, 0.1, 9 }, { 0.35, 2, 0.3, 9 } };
  if (!path)
    path = write_checkpoint_log ("cnn-s1-other-log.h5", "cnn", 1, 14, 4, &log[0][0], 3, 4,
                                 "val_loss,epoch,train_loss,note", 2);
  return path;
}

static const char *
scaled_checkpoint (void)
{
  static char *path;
  if (!path)
    path = write_checkpoint ("cnn-s1.h5", "cnn", 1, 11);
  return path;
}

static const char *
earlier_checkpoint (void)
{
  static char *path;
  if (!path)
    path = write_checkpoint ("cnn-se.h5", "cnn-se", 0, 12);
  return path;
}

/* Four input channels of an event: random energies on a few cells, as a detector image. */
static float *
random_inputs (guint32 seed)
{
  GRand *r = g_rand_new_with_seed (seed);
  float *x = g_new0 (float, 4 * 56 * 56);
  for (int i = 0; i < 4 * 56 * 56; i++)
    if (g_rand_double (r) < 0.2)
      x[i] = (float) g_rand_double_range (r, 0.1, 30.0);
  g_rand_free (r);
  return x;
}

typedef struct {
  int left;
  float *preds[8];
} Pending;

static void
predicted (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Pending *p = user_data;
  g_autoptr (GError) error = NULL;
  float *pred = pf_checkpoint_predictor_predict_finish (PF_CHECKPOINT_PREDICTOR (source), result, &error);
  g_assert_no_error (error);
  for (int k = 0; k < 8; k++)
    if (!p->preds[k])
      {
        p->preds[k] = pred;
        break;
      }
  p->left--;
}

static void
keep_result (GObject *source, GAsyncResult *result, gpointer user_data)
{
  *(GAsyncResult **) user_data = g_object_ref (result);
}

static void
test_checkpoint_predictor (void)
{
  g_autoptr (GError) error = NULL;
  PfCheckpointPredictor *cp = pf_checkpoint_predictor_new (scaled_checkpoint (), &error);
  g_assert_no_error (error);
  g_assert_cmpint (pf_checkpoint_predictor_get_image_size (cp), ==, 56);
  g_assert_cmpstr (pf_checkpoint_predictor_get_info (cp)->model, ==, "cnn");

  g_autofree float *x = random_inputs (3);
  g_autofree float *ref = g_new (float, 56 * 56);
  g_assert_true (pf_checkpoint_predictor_run (cp, x, ref, &error));
  g_assert_no_error (error);
  float lo = INFINITY, hi = -INFINITY;
  for (int i = 0; i < 56 * 56; i++)
    {
      g_assert_true (isfinite (ref[i]));
      lo = MIN (lo, ref[i]);
      hi = MAX (hi, ref[i]);
    }
  g_assert_cmpfloat (hi - lo, >, 1e-6);   /* not a constant image */

  /* Eight workers on the one predictor at once, and the caller's reference dropped while they
   * run: each answer must be the synchronous one, bit for bit. */
  Pending p = { 8, { NULL } };
  for (int k = 0; k < 8; k++)
    pf_checkpoint_predictor_predict_async (cp, x, NULL, predicted, &p);
  GWeakRef weak;
  g_weak_ref_init (&weak, cp);
  g_object_unref (cp);
  while (p.left > 0)
    g_main_context_iteration (NULL, TRUE);
  for (int k = 0; k < 8; k++)
    {
      g_assert_nonnull (p.preds[k]);
      g_assert_cmpmem (p.preds[k], 56 * 56 * sizeof (float), ref, 56 * 56 * sizeof (float));
      g_free (p.preds[k]);
    }
  /* the last task let it go (a worker thread may drop it a moment after the callback) */
  for (int i = 0; i < 1000; i++)
    {
      GObject *alive = g_weak_ref_get (&weak);
      if (!alive)
        break;
      g_object_unref (alive);
      g_usleep (1000);
      g_main_context_iteration (NULL, FALSE);
    }
  g_assert_null (g_weak_ref_get (&weak));
  g_weak_ref_clear (&weak);

  /* A request cancelled before it runs ends cancelled; after close nothing runs. */
  cp = pf_checkpoint_predictor_new (earlier_checkpoint (), &error);
  g_assert_no_error (error);
  g_assert_cmpint (pf_checkpoint_predictor_get_info (cp)->scale, ==, 0);
  g_autoptr (GCancellable) cancel = g_cancellable_new ();
  g_cancellable_cancel (cancel);
  g_autoptr (GAsyncResult) res = NULL;
  pf_checkpoint_predictor_predict_async (cp, x, cancel, keep_result, &res);
  while (!res)
    g_main_context_iteration (NULL, TRUE);
  g_assert_null (pf_checkpoint_predictor_predict_finish (cp, res, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);
  pf_checkpoint_predictor_close (cp);
  g_assert_false (pf_checkpoint_predictor_run (cp, x, ref, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CLOSED);
  g_object_unref (cp);

  /* A missing file: the error names it. */
  g_clear_error (&error);
  g_autofree char *missing = g_build_filename (ckpt_dir, "no-such-checkpoint.h5", NULL);
  g_assert_null (pf_checkpoint_predictor_new (missing, &error));
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, "no-such-checkpoint.h5"));
}

static gboolean
wait_until (gboolean (*done) (PfWindow *), PfWindow *win, int seconds)
{
  gboolean timed_out = FALSE;
  guint id = g_timeout_add_seconds (seconds, timeout_cb, &timed_out);
  while (!timed_out && !done (win))
    g_main_context_iteration (NULL, TRUE);
  if (!timed_out)
    g_source_remove (id);
  return !timed_out;
}

static gboolean
have_events (PfWindow *win)
{
  return win->n_events > 0 && win->ev;
}

/* The prediction of the event shown is there and nothing is on its way. */
static gboolean
prediction_shown (PfWindow *win)
{
  return win->have_pred && !win->pred_pending && !win->ckpt_busy && !win->ckpt_open_cancel;
}

/* win->pred is the prediction of `path` for the event shown, and the Prediction pane shows it. */
static void
assert_prediction_of (PfWindow *win, const char *path)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (PfCheckpointPredictor) cp = pf_checkpoint_predictor_new (path, &error);
  g_assert_no_error (error);
  g_autofree float *ref = g_new (float, 56 * 56);
  g_assert_true (pf_checkpoint_predictor_run (cp, win->ev, ref, &error));
  g_assert_no_error (error);
  g_assert_cmpmem (win->pred, 56 * 56 * sizeof (float), ref, 56 * 56 * sizeof (float));
  int row = 0, col = 0;
  for (int i = 0; i < 56 * 56; i++)
    if (ref[i] > ref[row * 56 + col])
      row = i / 56, col = i % 56;
  g_assert_cmpfloat (ref[row * 56 + col], >, 0);
  g_assert_cmpfloat_with_epsilon (pf_calo_view_get_value (win->panes[PF_PANE_PREDICTION], row, col),
                                  ref[row * 56 + col], 1e-6);
}

static PfWindow *
checkpoint_window (GtkApplication **app)
{
  *app = gtk_application_new ("org.pflow.WorkbenchTest", G_APPLICATION_NON_UNIQUE);
  g_assert_true (g_application_register (G_APPLICATION (*app), NULL, NULL));
  PfWindow *win = pf_window_new (*app, NULL, 20);
  gtk_window_present (GTK_WINDOW (win));
  g_assert_true (wait_until (have_events, win, 60));
  g_assert_false (win->have_pred);
  return win;
}

static void
close_window (PfWindow *win, GtkApplication *app)
{
  gtk_window_destroy (GTK_WINDOW (win));
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_object_unref (app);
}

static void
test_checkpoint (void)
{
  REQUIRE_DISPLAY ();
  GtkApplication *app;
  PfWindow *win = checkpoint_window (&app);

  /* The earlier model: the status line names it without a scale. */
  g_autoptr (GFile) earlier = g_file_new_for_path (earlier_checkpoint ());
  pf_window_open_checkpoint (win, earlier);
  g_assert_true (wait_until (prediction_shown, win, 60));
  g_assert_null (pf_window_get_banner_message (win));
  g_assert_cmpstr (gtk_label_get_text (win->train_status_label), ==, "Predictions from cnn-se, epoch 3");
  assert_prediction_of (win, earlier_checkpoint ());

  /* Another event: its prediction is not computed on the UI thread (nothing yet right after
   * the request, the panes keep their picture), then it comes. */
  pf_window_set_event (win, 5);
  g_assert_cmpint (win->event, ==, 5);
  g_assert_false (win->have_pred);
  g_assert_true (win->pred_pending);
  g_assert_true (wait_until (prediction_shown, win, 60));
  assert_prediction_of (win, earlier_checkpoint ());

  /* A second checkpoint opened, and events changed, while a prediction runs: the answers to the
   * older requests are dropped and the newest event gets the second model's prediction. */
  g_autoptr (GFile) scaled = g_file_new_for_path (scaled_checkpoint ());
  pf_window_set_event (win, 6);
  g_assert_true (win->ckpt_busy);
  pf_window_open_checkpoint (win, scaled);
  pf_window_set_event (win, 7);
  pf_window_open_checkpoint (win, scaled);
  for (int k = 8; k < 12; k++)
    {
      pf_window_set_event (win, k);
      g_main_context_iteration (NULL, FALSE);
    }
  g_assert_true (wait_until (prediction_shown, win, 60));
  g_assert_cmpint (win->event, ==, 11);
  g_assert_null (pf_window_get_banner_message (win));
  g_assert_cmpstr (gtk_label_get_text (win->train_status_label), ==, "Predictions from cnn-s1, epoch 3");
  assert_prediction_of (win, scaled_checkpoint ());

  /* Closing the window while a prediction runs. */
  pf_window_set_event (win, 12);
  g_assert_true (win->ckpt_busy);
  close_window (win, app);

  /* A checkpoint that cannot be read: the banner names it, the window lives on. */
  win = checkpoint_window (&app);
  g_autofree char *bad = g_build_filename (ckpt_dir, "bad.h5", NULL);
  g_assert_true (g_file_set_contents (bad, "\x89HDF\r\n\x1a\nnot a checkpoint", -1, NULL));
  g_autoptr (GFile) bad_file = g_file_new_for_path (bad);
  pf_window_open_checkpoint (win, bad_file);
  gboolean timed_out = FALSE;
  guint id = g_timeout_add_seconds (60, timeout_cb, &timed_out);
  while (!timed_out && !pf_window_get_banner_message (win))
    g_main_context_iteration (NULL, TRUE);
  g_assert_false (timed_out);
  g_source_remove (id);
  g_assert_nonnull (strstr (pf_window_get_banner_message (win), "bad.h5"));
  g_assert_false (win->have_pred);
  g_assert_null (win->ckpt);
  close_window (win, app);
  g_unlink (bad);
}

/* The checkpoint has been read (its predictions may still be on their way). */
static gboolean
checkpoint_opened (PfWindow *win)
{
  return !win->ckpt_open_cancel;
}

static gboolean
run_in_flight (PfWindow *win)
{
  return win->run != NULL;
}

static gboolean
run_ended (PfWindow *win)
{
  return win->run == NULL;
}

static gboolean
two_epochs (PfWindow *win)
{
  return pf_loss_plot_get_n_points (win->loss_plot, win->series_val) >= 2;
}

/* Series `series` of the loss plot is named `name` and its first n points are these (step,
 * epoch, seconds, value); NAN matches NAN. */
static void
assert_series_start (PfLossPlot *plot, int series, const char *name, guint n, const double (*want)[4])
{
  g_assert_cmpint (series, >=, 0);
  g_assert_cmpstr (pf_loss_plot_get_series_name (plot, series), ==, name);
  g_assert_cmpuint (pf_loss_plot_get_n_points (plot, series), >=, n);
  for (guint k = 0; k < n; k++)
    {
      double got[4];
      g_assert_true (pf_loss_plot_get_point (plot, series, k, &got[0], &got[1], &got[2], &got[3]));
      for (int c = 0; c < 4; c++)
        if (isnan (want[k][c]))
          g_assert_true (isnan (got[c]));
        else
          g_assert_cmpfloat_with_epsilon (got[c], want[k][c], 1e-12);
    }
}

/* ... and holds only those. */
static void
assert_series (PfLossPlot *plot, int series, const char *name, guint n, const double (*want)[4])
{
  assert_series_start (plot, series, name, n, want);
  g_assert_cmpuint (pf_loss_plot_get_n_points (plot, series), ==, n);
}

/* Export Metrics writes the log the plot shows: here the 3-epoch log of logged_checkpoint(). */
static void
assert_metrics_csv_is_known_log (PfWindow *win)
{
  g_autofree char *csv = _pf_window_metrics_csv (win);
  g_assert_nonnull (csv);
  g_auto (GStrv) lines = g_strsplit (csv, "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, 5);   /* header, 3 rows, "" after the last newline */
  g_assert_cmpstr (lines[0], ==, pf_train_log_columns);
  for (int k = 0; k < 3; k++)
    {
      g_auto (GStrv) f = g_strsplit (lines[k + 1], ",", -1);
      g_assert_cmpuint (g_strv_length (f), ==, 13);
      g_assert_cmpfloat (g_ascii_strtod (f[0], NULL), ==, known_log[k][0]);
      g_assert_cmpfloat (g_ascii_strtod (f[1], NULL), ==, known_log[k][1]);
      g_assert_cmpfloat (g_ascii_strtod (f[2], NULL), ==, known_log[k][2]);
    }
  g_assert_cmpstr (lines[4], ==, "");
}

/* The curve of a checkpoint's training log in the loss plot (the code path of File ▸ Open
 * Checkpoint and --checkpoint): the log as rows by column name, plotted at the x a live run
 * gives its epoch points, the best epoch marked; another checkpoint's curve (or none, an empty
 * log) replaces it; a run in flight keeps its live curve, and a checkpoint opened after the run
 * ended shows its own again. */
static void
test_checkpoint_log (void)
{
  g_autoptr (GError) error = NULL;
  /* the rows, read on the predictor's side (a worker in the window) */
  g_autoptr (PfCheckpointPredictor) cp = pf_checkpoint_predictor_new (logged_checkpoint (), &error);
  g_assert_no_error (error);
  GArray *log = pf_checkpoint_predictor_get_log (cp);
  g_assert_cmpuint (log->len, ==, 3);
  for (guint k = 0; k < 3; k++)
    {
      const PfTrainLogRow *r = &g_array_index (log, PfTrainLogRow, k);
      g_assert_cmpint (r->epoch, ==, (int) known_log[k][0]);
      g_assert_cmpfloat (r->train_loss, ==, known_log[k][1]);
      g_assert_cmpfloat (r->val_loss, ==, known_log[k][2]);
      g_assert_cmpfloat (r->seconds, ==, known_log[k][4]);
      g_assert_cmpint (r->n_train_used, ==, 80);
      g_assert_cmpint (r->best, ==, known_log[k][12] != 0);
    }
  g_clear_object (&cp);
  cp = pf_checkpoint_predictor_new (reordered_checkpoint (), &error);
  g_assert_no_error (error);
  log = pf_checkpoint_predictor_get_log (cp);
  g_assert_cmpuint (log->len, ==, 2);
  g_assert_cmpint (g_array_index (log, PfTrainLogRow, 1).epoch, ==, 2);
  g_assert_cmpfloat (g_array_index (log, PfTrainLogRow, 1).train_loss, ==, 0.3);
  g_assert_cmpfloat (g_array_index (log, PfTrainLogRow, 1).val_loss, ==, 0.35);
  g_assert_true (isnan (g_array_index (log, PfTrainLogRow, 1).seconds));
  g_assert_cmpint (g_array_index (log, PfTrainLogRow, 1).n_train_used, ==, 0);
  g_clear_object (&cp);
  cp = pf_checkpoint_predictor_new (earlier_checkpoint (), &error);
  g_assert_no_error (error);
  g_assert_cmpuint (pf_checkpoint_predictor_get_log (cp)->len, ==, 0);

  REQUIRE_DISPLAY ();
  GtkApplication *app;
  PfWindow *win = checkpoint_window (&app);
  PfLossPlot *plot = win->loss_plot;
  g_assert_cmpstr (pf_loss_plot_get_series_name (plot, 0), ==, NULL);

  /* step: 20 batches of 4 an epoch; time: the epochs' durations summed */
  static const double train[3][4] = { { 20, 1, 1.5, 0.9 }, { 40, 2, 3.5, 0.5 }, { 60, 3, 6.0, 0.3 } };
  static const double val[3][4] = { { 20, 1, 1.5, 0.8 }, { 40, 2, 3.5, 0.4 }, { 60, 3, 6.0, 0.45 } };
  g_autoptr (GFile) logged = g_file_new_for_path (logged_checkpoint ());
  pf_window_open_checkpoint (win, logged);
  g_assert_true (wait_until (prediction_shown, win, 60));
  g_assert_cmpint (win->series_batch, ==, -1);
  assert_series (plot, win->series_train, "train (epoch)", 3, train);
  assert_series (plot, win->series_val, "validation", 3, val);
  g_assert_cmpint (pf_loss_plot_get_mark (plot, win->series_val), ==, 1);   /* epoch 2 */
  g_assert_cmpint (pf_loss_plot_get_mark (plot, win->series_train), ==, -1);
  assert_metrics_csv_is_known_log (win);
  g_assert_cmpstr (pf_loss_plot_get_series_name (plot, 2), ==, NULL);       /* nothing else */

  /* Another checkpoint's curve replaces it: one without a log leaves the plot empty... */
  g_autoptr (GFile) earlier = g_file_new_for_path (earlier_checkpoint ());
  pf_window_open_checkpoint (win, earlier);
  g_assert_true (wait_until (prediction_shown, win, 60));
  g_assert_cmpint (win->series_train, ==, -1);
  g_assert_cmpint (win->series_val, ==, -1);
  g_assert_cmpstr (pf_loss_plot_get_series_name (plot, 0), ==, NULL);
  /* ... one with a log of its own shows it (no steps without n_train_used, no time without
   * seconds: those axes cannot place it) */
  static const double train2[2][4] = { { NAN, 1, NAN, 0.6 }, { NAN, 2, NAN, 0.3 } };
  static const double val2[2][4] = { { NAN, 1, NAN, 0.7 }, { NAN, 2, NAN, 0.35 } };
  g_autoptr (GFile) reordered = g_file_new_for_path (reordered_checkpoint ());
  pf_window_open_checkpoint (win, reordered);
  g_assert_true (wait_until (prediction_shown, win, 60));
  assert_series (plot, win->series_train, "train (epoch)", 2, train2);
  assert_series (plot, win->series_val, "validation", 2, val2);
  g_assert_cmpint (pf_loss_plot_get_mark (plot, win->series_val), ==, 1);

  /* A run started replaces the checkpoint's curve with its live one; a checkpoint opened while
   * it runs (paused here, inside its first epoch) leaves that alone. */
  g_action_group_activate_action (G_ACTION_GROUP (win), "train-start", NULL);
  g_assert_true (wait_until (run_in_flight, win, 60));
  pf_train_controller_pause (win->train);
  g_assert_cmpstr (pf_loss_plot_get_series_name (plot, win->series_batch), ==, "train (batch)");
  g_assert_cmpstr (pf_loss_plot_get_series_name (plot, win->series_train), ==, "train (epoch)");
  g_assert_cmpuint (pf_loss_plot_get_n_points (plot, win->series_train), ==, 0);
  g_assert_cmpuint (pf_loss_plot_get_n_points (plot, win->series_val), ==, 0);
  int series_batch = win->series_batch, series_train = win->series_train;
  pf_window_open_checkpoint (win, logged);
  g_assert_true (wait_until (checkpoint_opened, win, 60));
  g_assert_nonnull (win->run);
  g_assert_cmpstr (pf_checkpoint_predictor_get_path (win->ckpt), ==, logged_checkpoint ());
  g_assert_cmpint (win->series_batch, ==, series_batch);
  g_assert_cmpint (win->series_train, ==, series_train);
  g_assert_cmpstr (pf_loss_plot_get_series_name (plot, win->series_batch), ==, "train (batch)");
  /* the live points only: one an epoch done (none, unless one ended before the pause) */
  g_assert_cmpuint (pf_loss_plot_get_n_points (plot, win->series_train), ==,
                    pf_train_controller_get_log (win->train)->len);

  /* Its epoch points go where the checkpoint's went: the steps trained, the epoch, the epochs'
   * durations summed; its best epoch is marked too. */
  pf_train_controller_resume (win->train);
  g_assert_true (wait_until (two_epochs, win, 120));
  pf_train_controller_stop (win->train);
  GArray *run_log = pf_train_controller_get_log (win->train);   /* the run may have ended */
  g_assert_cmpuint (run_log->len, >=, 2);
  const PfTrainLogRow *r1 = &g_array_index (run_log, PfTrainLogRow, 0);
  const PfTrainLogRow *r2 = &g_array_index (run_log, PfTrainLogRow, 1);
  double steps = floor ((double) r1->n_train_used / 8);   /* the settings' batch */
  const double live[2][4] = { { steps, 1, r1->seconds, r1->val_loss },
                              { 2 * steps, 2, r1->seconds + r2->seconds, r2->val_loss } };
  g_assert_cmpfloat (steps, >=, 1);
  assert_series_start (plot, win->series_val, "validation", 2, live);
  int best = -1;
  for (guint k = 0; k < run_log->len; k++)
    if (g_array_index (run_log, PfTrainLogRow, k).best)
      best = (int) k;
  g_assert_cmpint (best, >=, 0);   /* epoch 1 improves on nothing */
  g_assert_cmpuint (pf_loss_plot_get_n_points (plot, win->series_val), ==, run_log->len);
  g_assert_cmpint (pf_loss_plot_get_mark (plot, win->series_val), ==, best);
  g_assert_true (wait_until (run_ended, win, 120));

  /* The run has ended: a checkpoint opened now shows its curve again. */
  pf_window_open_checkpoint (win, logged);
  g_assert_true (wait_until (checkpoint_opened, win, 60));
  g_assert_cmpint (win->series_batch, ==, -1);
  assert_series (plot, win->series_train, "train (epoch)", 3, train);
  assert_series (plot, win->series_val, "validation", 3, val);
  g_assert_cmpint (pf_loss_plot_get_mark (plot, win->series_val), ==, 1);
  g_assert_true (wait_until (prediction_shown, win, 60));
  /* and it predicts too: the checkpoint is newer than the run's last weights */
  assert_prediction_of (win, logged_checkpoint ());
  /* and Export Metrics writes its log, not the run's */
  assert_metrics_csv_is_known_log (win);
  close_window (win, app);
}

/* Runs of the earlier models (no scales) are named without one ("...-lstm", not "...-lstm-s0")
 * and the runs table shows no scale for them, runs.json files written with the old names
 * included; a scaled model keeps its "-sN". */
static GtkWidget *
find_label (GtkWidget *w, const char *text)
{
  if (GTK_IS_LABEL (w) && !g_strcmp0 (gtk_label_get_text (GTK_LABEL (w)), text))
    return w;
  for (GtkWidget *c = gtk_widget_get_first_child (w); c; c = gtk_widget_get_next_sibling (c))
    {
      GtkWidget *found = find_label (c, text);
      if (found)
        return found;
    }
  return NULL;
}

static void
collect_labels (GtkWidget *w, GString *out)
{
  if (GTK_IS_LABEL (w))
    g_string_append_printf (out, "|%s", gtk_label_get_text (GTK_LABEL (w)));
  for (GtkWidget *c = gtk_widget_get_first_child (w); c; c = gtk_widget_get_next_sibling (c))
    collect_labels (c, out);
}

/* The labels of the table row that shows `text` ("|a|b|..."), NULL when none does. */
static char *
row_labels (GtkWidget *table, const char *text)
{
  GtkWidget *label = find_label (table, text);
  if (!label)
    return NULL;
  /* label -> cell -> row */
  GtkWidget *row = gtk_widget_get_parent (gtk_widget_get_parent (label));
  GString *s = g_string_new (NULL);
  collect_labels (row, s);
  return g_string_free (s, FALSE);
}

static gboolean
row_shown (gpointer table)
{
  return find_label (table, "lstm") && find_label (table, "se");
}

static void
test_run_names (void)
{
  PfTrainOptions o;
  pf_train_options_init (&o);
  o.model = "lstm";
  o.scale = 0;
  g_autoptr (PfRun) lstm = pf_run_new (&o);
  g_assert_false (pf_run_has_scale (lstm));
  g_assert_true (g_str_has_suffix (pf_run_get_id (lstm), "-lstm"));
  g_assert_null (strstr (pf_run_get_id (lstm), "-s0"));
  o.model = "se";
  o.scale = 2;
  g_autoptr (PfRun) se = pf_run_new (&o);
  g_assert_true (pf_run_has_scale (se));
  g_assert_true (g_str_has_suffix (pf_run_get_id (se), "-se-s2"));

  /* a runs.json of before, with an "-s0" id: it loads, the id as it was */
  static const char *old_json =
    "{\"version\": 1, \"runs\": [{\"id\": \"20250101-120000-lstm-s0\", \"date\": 1735732800, "
    "\"state\": \"finished\", \"model\": \"lstm\", \"scale\": 0, \"loss\": \"mix\", "
    "\"lambda\": 0.05, \"batch\": 8, \"lr\": 0.0001, \"epochs_planned\": 2, \"seed\": \"1\", "
    "\"dataset\": \"d.h5\", \"checkpoint\": \"runs/x\", \"best_epoch\": 1, \"best_val_loss\": 0.4, "
    "\"log\": [[1, 0.5, 0.4, 0.0001, 1.5, null, null, null, null, null, null, 80, 1]]}]}";
  g_autoptr (PfRunStore) store = pf_run_store_new (NULL);
  g_autoptr (GError) error = NULL;
  g_assert_true (pf_run_store_load_from_data (store, old_json, -1, &error));
  g_assert_no_error (error);
  PfRun *old = pf_run_store_find (store, "20250101-120000-lstm-s0", NULL);
  g_assert_nonnull (old);
  g_assert_false (pf_run_has_scale (old));
  PfTrainLogRow row = { 1, 0.5, 0.4, 1e-4, 1.5, NAN, NAN, NAN, NAN, NAN, NAN, 80, TRUE };
  pf_run_append_epoch (se, &row);
  pf_run_store_add (store, se);

  REQUIRE_DISPLAY ();
  GtkWidget *view = g_object_new (PF_TYPE_RUNS_VIEW, NULL);
  pf_runs_view_set_store (PF_RUNS_VIEW (view), store);
  GtkWidget *window = gtk_window_new ();
  gtk_window_set_default_size (GTK_WINDOW (window), 900, 300);
  gtk_window_set_child (GTK_WINDOW (window), view);
  gtk_window_present (GTK_WINDOW (window));
  gboolean timed_out = FALSE;
  guint id = g_timeout_add_seconds (30, timeout_cb, &timed_out);
  while (!timed_out && !row_shown (view))
    g_main_context_iteration (NULL, TRUE);
  g_assert_false (timed_out);
  g_source_remove (id);
  g_autofree char *lstm_row = row_labels (view, "lstm");
  g_autofree char *se_row = row_labels (view, "se");
  g_test_message ("rows: %s / %s", lstm_row, se_row);
  g_assert_nonnull (strstr (lstm_row, "|lstm|—|mix|"));
  g_assert_nonnull (strstr (se_row, "|se|2|mix|"));
  gtk_window_destroy (GTK_WINDOW (window));
}

/* --screenshot with a checkpoint, in this process: the window is armed for its picture only once
 * the checkpoint's prediction of the event shown and its jets are there (the picture is taken a
 * few frames later), never while one of them is on its way. */
static void
test_checkpoint_screenshot (void)
{
  REQUIRE_DISPLAY ();
  g_autofree char *dir = g_dir_make_tmp ("pf-ckshot-XXXXXX", NULL);
  g_autofree char *png = g_build_filename (dir, "shot.png", NULL);
  g_autoptr (PfApplication) app = pf_application_new ();
  g_application_set_flags (G_APPLICATION (app), G_APPLICATION_HANDLES_OPEN | G_APPLICATION_NON_UNIQUE);
  g_assert_true (g_application_register (G_APPLICATION (app), NULL, NULL));
  PfWindow *win = pf_window_new (GTK_APPLICATION (app), NULL, 20);
  pf_window_set_screenshot (win, png, 0);
  pf_window_set_show_jets (win, TRUE);
  pf_window_set_event (win, 4);
  g_autoptr (GFile) file = g_file_new_for_path (scaled_checkpoint ());
  pf_window_open_checkpoint (win, file);
  gtk_window_present (GTK_WINDOW (win));

  gboolean timed_out = FALSE;
  guint id = g_timeout_add_seconds (60, timeout_cb, &timed_out);
  while (!timed_out && !win->shot_armed)
    g_main_context_iteration (NULL, TRUE);
  g_assert_false (timed_out);
  g_assert_true (win->have_pred);
  g_assert_false (win->pred_pending);
  g_assert_false (win->jets_pending);
  g_assert_cmpint (win->event, ==, 4);
  assert_prediction_of (win, scaled_checkpoint ());
  while (!timed_out && !g_file_test (png, G_FILE_TEST_EXISTS))
    g_main_context_iteration (NULL, TRUE);
  g_assert_false (timed_out);
  g_source_remove (id);
  g_assert_cmpint (pf_application_get_exit_status (app), ==, 0);

  gtk_window_destroy (GTK_WINDOW (win));
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_unlink (png);
  g_rmdir (dir);
}

/* Runs the workbench binary with args; returns its exit status (-1 when it did not exit). */
static int
run_workbench (const char *const *args, const char *dir, char **err)
{
  const char *bin = g_getenv ("PFLOW_WORKBENCH_BIN");
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (gpointer) bin);
  for (int i = 0; args[i]; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);
  g_autofree char *data_home = g_build_filename (dir, "data", NULL);
  g_autofree char *cache_home = g_build_filename (dir, "cache", NULL);
  g_auto (GStrv) envp = g_get_environ ();
  envp = g_environ_setenv (envp, "XDG_DATA_HOME", data_home, TRUE);
  envp = g_environ_setenv (envp, "XDG_CACHE_HOME", cache_home, TRUE);
  envp = g_environ_setenv (envp, "GSETTINGS_BACKEND", "memory", TRUE);
  envp = g_environ_unsetenv (envp, "PFLOW_RUNS_FILE");
  int status = -1;
  g_autoptr (GError) error = NULL;
  g_assert_true (g_spawn_sync (NULL, (char **) argv->pdata, envp, G_SPAWN_STDOUT_TO_DEV_NULL, NULL,
                               NULL, NULL, err, &status, &error));
  g_assert_no_error (error);
  g_test_message ("%s: stderr: %s", (const char *) argv->pdata[1], *err);
  return WIFEXITED (status) ? WEXITSTATUS (status) : -1;
}

/* Coloured pixels (the window's chrome, text and empty panes are grey or white): five panes of
 * images without a prediction, six (and a residual, mostly white) with one. */
static gsize
count_coloured (const char *png)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GdkTexture) tex = gdk_texture_new_from_filename (png, &error);
  g_assert_no_error (error);
  int w = gdk_texture_get_width (tex), h = gdk_texture_get_height (tex);
  g_autofree guchar *px = g_malloc ((gsize) w * h * 4);
  gdk_texture_download (tex, px, (gsize) w * 4);
  gsize n = 0;
  for (gsize i = 0; i < (gsize) w * h; i++)
    {
      const guchar *c = px + 4 * i;
      int hi = MAX (MAX (c[0], c[1]), c[2]), lo = MIN (MIN (c[0], c[1]), c[2]);
      n += hi - lo > 40;
    }
  return n;
}

static void
test_checkpoint_cli (void)
{
  REQUIRE_DISPLAY ();
  if (!g_getenv ("PFLOW_WORKBENCH_BIN"))
    {
      g_test_skip ("PFLOW_WORKBENCH_BIN not set (run through meson test)");
      return;
    }
  g_autofree char *dir = g_dir_make_tmp ("pf-ckpt-XXXXXX", NULL);
  g_autofree char *plain = g_build_filename (dir, "plain.png", NULL);
  g_autofree char *shot = g_build_filename (dir, "ckpt.png", NULL);
  g_autofree char *err = NULL;

  const char *args_plain[] = { "--events", "30", "--event", "3", "--show-jets", "--screenshot", plain, NULL };
  g_assert_cmpint (run_workbench (args_plain, dir, &err), ==, 0);
  g_clear_pointer (&err, g_free);
  const char *args[] = { "--events", "30", "--checkpoint", scaled_checkpoint (), "--event", "3",
                         "--show-jets", "--screenshot", shot, NULL };
  g_assert_cmpint (run_workbench (args, dir, &err), ==, 0);
  g_clear_pointer (&err, g_free);

  /* The screenshot waited for the prediction: one more pane of colour. */
  gsize without = count_coloured (plain), with = count_coloured (shot);
  g_test_message ("coloured pixels: %zu without the checkpoint, %zu with", without, with);
  g_assert_cmpuint (without, >, 50000);
  g_assert_cmpfloat ((double) with / without, >, 1.1);

  /* A checkpoint that cannot be opened: exit status 1, the file named on stderr, no PNG. */
  g_autofree char *missing = g_build_filename (dir, "missing-ckpt.h5", NULL);
  g_autofree char *shot2 = g_build_filename (dir, "never.png", NULL);
  const char *args_bad[] = { "--events", "20", "--checkpoint", missing, "--screenshot", shot2, NULL };
  g_assert_cmpint (run_workbench (args_bad, dir, &err), !=, 0);
  g_assert_nonnull (strstr (err, "missing-ckpt.h5"));
  g_assert_false (g_file_test (shot2, G_FILE_TEST_EXISTS));
  g_clear_pointer (&err, g_free);

  /* --event 0 and an event past the last. */
  const char *args_zero[] = { "--event", "0", "--screenshot", shot2, NULL };
  g_assert_cmpint (run_workbench (args_zero, dir, &err), ==, 2);
  g_assert_nonnull (strstr (err, "--event"));
  g_clear_pointer (&err, g_free);
  const char *args_past[] = { "--events", "20", "--event", "21", "--screenshot", shot2, NULL };
  g_assert_cmpint (run_workbench (args_past, dir, &err), !=, 0);
  g_assert_nonnull (strstr (err, "21"));
  g_assert_false (g_file_test (shot2, G_FILE_TEST_EXISTS));
  g_clear_pointer (&err, g_free);

  g_unlink (plain);
  g_unlink (shot);
  g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", dir);
  g_assert_true (g_spawn_command_line_sync (cmd, NULL, NULL, NULL, NULL));
}

static void
collect_dropdowns (GtkWidget *w, GPtrArray *out)
{
  if (GTK_IS_DROP_DOWN (w))
    g_ptr_array_add (out, w);
  for (GtkWidget *c = gtk_widget_get_first_child (w); c; c = gtk_widget_get_next_sibling (c))
    collect_dropdowns (c, out);
}

static void
test_preferences (void)
{
  REQUIRE_DISPLAY ();
  GSettingsSchemaSource *src = g_settings_schema_source_get_default ();
  g_autoptr (GSettingsSchema) schema = src ? g_settings_schema_source_lookup (src, "org.pflow.Workbench", TRUE) : NULL;
  if (!schema)
    {
      g_test_skip ("the settings schema is not installed (run through meson test)");
      return;
    }
  g_autoptr (PfApplication) app = pf_application_new ();
  g_application_set_flags (G_APPLICATION (app), G_APPLICATION_HANDLES_OPEN | G_APPLICATION_NON_UNIQUE);
  g_assert_true (g_application_register (G_APPLICATION (app), NULL, NULL));
  g_autoptr (GSettings) settings = g_settings_new ("org.pflow.Workbench");
  g_settings_set_string (settings, "gpu-precision", "tf32");
  g_action_group_activate_action (G_ACTION_GROUP (app), "preferences", NULL);

  /* the Preferences window is the toplevel with the drop-down; its one drop-down is the
   * precision, showing the setting's row */
  GtkDropDown *dd = NULL;
  GListModel *tops = gtk_window_get_toplevels ();
  for (guint i = 0; i < g_list_model_get_n_items (tops) && !dd; i++)
    {
      g_autoptr (GtkWidget) w = g_list_model_get_item (tops, i);
      g_autoptr (GPtrArray) found = g_ptr_array_new ();
      collect_dropdowns (w, found);
      if (found->len == 1)
        dd = GTK_DROP_DOWN (g_ptr_array_index (found, 0));
    }
  g_assert_nonnull (dd);
  g_assert_cmpuint (gtk_drop_down_get_selected (dd), ==, 1);
  gtk_drop_down_set_selected (dd, 2);
  g_autofree char *now = g_settings_get_string (settings, "gpu-precision");
  g_assert_cmpstr (now, ==, "bf16");
  gtk_drop_down_set_selected (dd, 0);
  g_free (now);
  now = g_settings_get_string (settings, "gpu-precision");
  g_assert_cmpstr (now, ==, "fp32");
  gtk_window_destroy (GTK_WINDOW (gtk_widget_get_root (GTK_WIDGET (dd))));
}

int
main (int argc, char **argv)
{
  ckpt_dir = g_dir_make_tmp ("pf-gui-ckpt-XXXXXX", NULL);
  /* a run trained in this process (/workbench/checkpoint-log) writes its events, checkpoints
   * and runs file here, not in the home folder or the build tree */
  g_autofree char *data_home = g_build_filename (ckpt_dir, "data", NULL);
  g_autofree char *cache_home = g_build_filename (ckpt_dir, "cache", NULL);
  g_autofree char *runs_file = g_build_filename (ckpt_dir, "runs.json", NULL);
  g_setenv ("XDG_DATA_HOME", data_home, TRUE);
  g_setenv ("XDG_CACHE_HOME", cache_home, TRUE);
  g_setenv ("PFLOW_RUNS_FILE", runs_file, TRUE);
  g_test_init (&argc, &argv, NULL);
  have_display = gtk_init_check ();
  g_test_add_func ("/workbench/corrupt-dataset", test_corrupt_dataset);
  g_test_add_func ("/workbench/screenshot", test_screenshot);
  g_test_add_func ("/workbench/preferences", test_preferences);
  g_test_add_func ("/workbench/checkpoint-predictor", test_checkpoint_predictor);
  g_test_add_func ("/workbench/checkpoint", test_checkpoint);
  g_test_add_func ("/workbench/checkpoint-screenshot", test_checkpoint_screenshot);
  g_test_add_func ("/workbench/checkpoint-cli", test_checkpoint_cli);
  g_test_add_func ("/workbench/checkpoint-log", test_checkpoint_log);
  g_test_add_func ("/workbench/run-names", test_run_names);
  int status = g_test_run ();
  g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", ckpt_dir);
  g_spawn_command_line_sync (cmd, NULL, NULL, NULL, NULL);
  g_free (ckpt_dir);
  return status;
}
