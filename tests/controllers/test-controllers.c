/* test-controllers.c — the workbench's controllers, driven by a GMainLoop (no display). */
#include "pf-sim-controller.h"
#include "pf-train-controller.h"
#include "pf-run-store.h"
#include "pf-checkpoint.h"
#include "pf-dataset.h"
#include "pf-error.h"
#include "pf-predictor.h"
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

static GThread *main_thread;

static void
run_until (GMainLoop *loop, gboolean *flag, int seconds)
{
  /* a watchdog: a controller that never answers fails the test instead of hanging it */
  gint64 end = g_get_monotonic_time () + (gint64) seconds * G_USEC_PER_SEC;
  while (!*flag && g_get_monotonic_time () < end)
    g_main_context_iteration (g_main_loop_get_context (loop), TRUE);
  g_assert_true (*flag);
}

static gboolean
set_flag (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

/* Runs the main context for ms milliseconds. */
static void
spin (int ms)
{
  gboolean done = FALSE;
  g_timeout_add (ms, set_flag, &done);
  while (!done)
    g_main_context_iteration (NULL, TRUE);
}

static void
small_params (PfSimParams *p)
{
  pf_sim_params_init_default (p);
  p->n_particles = 400;
  p->seed = 7;
}

/* ---- simulation ---- */

typedef struct {
  GArray *gens;
  gboolean ready;
  guint want;
} SimWait;

static void
on_events_ready (PfSimController *c, guint gen, SimWait *w)
{
  g_assert_true (g_thread_self () == main_thread);
  g_array_append_val (w->gens, gen);
  if (gen == w->want)
    w->ready = TRUE;
}

static void
test_sim_generate (void)
{
  const int64_t N = 40;
  PfSimController *c = pf_sim_controller_new (N);
  SimWait w = { g_array_new (FALSE, FALSE, sizeof (guint)), FALSE, 0 };
  g_signal_connect (c, "events-ready", G_CALLBACK (on_events_ready), &w);
  PfSimParams p1, p2;
  small_params (&p1);
  p2 = p1;
  p2.bfield = 1.5;
  guint g1 = 0, g2 = 0;
  GError *error = NULL;
  g_assert_true (pf_sim_controller_set_params (c, &p1, &g1, &error));
  g_assert_no_error (error);
  g_assert_true (pf_sim_controller_get_busy (c));
  g_assert_true (pf_sim_controller_set_params (c, &p2, &g2, &error));
  g_assert_cmpuint (g2, >, g1);
  w.want = g2;
  GMainLoop *loop = g_main_loop_new (NULL, FALSE);
  run_until (loop, &w.ready, 60);
  spin (200);
  /* the first request was cancelled: only the newest generation was announced */
  g_assert_cmpuint (w.gens->len, ==, 1);
  g_assert_cmpuint (g_array_index (w.gens, guint, 0), ==, g2);
  g_assert_false (pf_sim_controller_get_busy (c));
  g_assert_cmpuint (pf_sim_controller_get_generation (c), ==, g2);
  g_assert_cmpint (pf_sim_controller_get_n_events (c), ==, N);

  /* the events are pf_sim_run's for the same parameters */
  int S = pf_sim_controller_get_image_size (c);
  size_t SS = (size_t) S * S;
  float *ref = g_new (float, N * PF_N_CHANNELS * SS), *ev = g_new (float, PF_N_CHANNELS * SS);
  pf_sim_run (&p2, 0, N, ref, 1);
  double total = 0;
  for (int64_t k = 0; k < N; k++)
    {
      guint gen = 0;
      g_assert_true (pf_sim_controller_get_event (c, k, ev, &gen));
      g_assert_cmpuint (gen, ==, g2);
      for (int ch = 0; ch < PF_N_CHANNELS; ch++)
        {
          g_assert_cmpmem (ev + ch * SS, SS * sizeof (float), ref + ((size_t) ch * N + k) * SS,
                           SS * sizeof (float));
          for (size_t j = 0; j < SS; j++)
            total += ev[ch * SS + j];
        }
    }
  g_assert_cmpfloat (total, >, 0);
  g_assert_false (pf_sim_controller_get_event (c, N, ev, NULL));
  g_assert_false (pf_sim_controller_get_event (c, -1, ev, NULL));

  /* invalid parameters are refused and change nothing */
  PfSimParams bad = p2;
  bad.eta_max = NAN;
  g_assert_false (pf_sim_controller_set_params (c, &bad, NULL, &error));
  g_assert_error (error, PF_ERROR, PF_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (pf_sim_controller_get_busy (c));

  g_free (ref);
  g_free (ev);
  g_array_unref (w.gens);
  g_main_loop_unref (loop);
  g_object_unref (c);
}

typedef struct {
  gboolean done;
  gboolean ok;
  GError *error;
} AsyncWait;

static void
on_saved (GObject *src, GAsyncResult *res, gpointer data)
{
  AsyncWait *w = data;
  g_assert_true (g_thread_self () == main_thread);
  w->ok = pf_sim_controller_save_dataset_finish (PF_SIM_CONTROLLER (src), res, &w->error);
  w->done = TRUE;
}

static void
on_loaded (GObject *src, GAsyncResult *res, gpointer data)
{
  AsyncWait *w = data;
  g_assert_true (g_thread_self () == main_thread);
  w->ok = pf_sim_controller_load_dataset_finish (PF_SIM_CONTROLLER (src), res, &w->error);
  w->done = TRUE;
}

static void
test_sim_dataset (void)
{
  char *dir = g_dir_make_tmp ("pf-ctl-XXXXXX", NULL);
  char *path = g_build_filename (dir, "events.h5", NULL);
  GMainLoop *loop = g_main_loop_new (NULL, FALSE);
  PfSimController *a = pf_sim_controller_new (12), *b = pf_sim_controller_new (3);
  SimWait w = { g_array_new (FALSE, FALSE, sizeof (guint)), FALSE, 0 };
  g_signal_connect (a, "events-ready", G_CALLBACK (on_events_ready), &w);
  PfSimParams p;
  small_params (&p);
  p.bfield = 0.25;
  g_assert_true (pf_sim_controller_set_params (a, &p, &w.want, NULL));
  run_until (loop, &w.ready, 60);

  AsyncWait sw = { 0 };
  pf_sim_controller_save_dataset (a, path, NULL, on_saved, &sw);
  run_until (loop, &sw.done, 60);
  g_assert_no_error (sw.error);
  g_assert_true (sw.ok && g_file_test (path, G_FILE_TEST_IS_REGULAR));

  AsyncWait lw = { 0 };
  SimWait bw = { g_array_new (FALSE, FALSE, sizeof (guint)), FALSE, 0 };
  g_signal_connect (b, "events-ready", G_CALLBACK (on_events_ready), &bw);
  pf_sim_controller_load_dataset (b, path, 0, NULL, on_loaded, &lw);
  run_until (loop, &lw.done, 60);
  g_assert_no_error (lw.error);
  g_assert_true (lw.ok);
  g_assert_cmpuint (bw.gens->len, ==, 1);
  g_assert_cmpint (pf_sim_controller_get_n_events (b), ==, 12);
  PfSimParams q;
  g_assert_true (pf_sim_controller_get_event_params (b, &q));
  g_assert_cmpfloat (q.bfield, ==, 0.25);
  int S = pf_sim_controller_get_image_size (b);
  float *ea = g_new (float, 5 * S * S), *eb = g_new (float, 5 * S * S);
  for (int k = 0; k < 12; k += 5)
    {
      g_assert_true (pf_sim_controller_get_event (a, k, ea, NULL));
      g_assert_true (pf_sim_controller_get_event (b, k, eb, NULL));
      g_assert_cmpmem (ea, 5 * S * S * sizeof (float), eb, 5 * S * S * sizeof (float));
    }

  /* a missing file fails through the callback; the events stay */
  AsyncWait mw = { 0 };
  char *missing = g_build_filename (dir, "missing.h5", NULL);
  pf_sim_controller_load_dataset (b, missing, 0, NULL, on_loaded, &mw);
  run_until (loop, &mw.done, 60);
  g_assert_false (mw.ok);
  g_assert_nonnull (mw.error);
  g_clear_error (&mw.error);
  g_assert_cmpint (pf_sim_controller_get_n_events (b), ==, 12);

  g_remove (path);
  g_rmdir (dir);
  g_free (ea);
  g_free (eb);
  g_free (missing);
  g_free (path);
  g_free (dir);
  g_array_unref (w.gens);
  g_array_unref (bw.gens);
  g_object_unref (a);
  g_object_unref (b);
  g_main_loop_unref (loop);
}

/* ---- training ---- */

static char *train_dir, *train_data;

/* 200 simulated events: a 160/20/20 split, 20 batches of 8 per epoch. */
static void
make_dataset (void)
{
  if (train_data)
    return;
  train_dir = g_dir_make_tmp ("pf-ctl-train-XXXXXX", NULL);
  train_data = g_build_filename (train_dir, "train.h5", NULL);
  PfSimParams p;
  small_params (&p);
  const int64_t N = 200;
  float *buf = g_new (float, N * PF_N_CHANNELS * 56 * 56);
  pf_sim_run (&p, 0, N, buf, 0);
  GError *error = NULL;
  PfDatasetWriter *w = pf_dataset_writer_new (train_data, &p, 56, 1, &error);
  g_assert_no_error (error);
  g_assert_true (pf_dataset_writer_append (w, N, buf, &error));
  g_assert_true (pf_dataset_writer_commit (w, &error));
  g_assert_no_error (error);
  g_free (buf);
}

static void
train_options (PfTrainOptions *o, const char *sub, int epochs)
{
  pf_train_options_init (o);
  o->data_path = train_data;
  o->out_dir = g_build_filename (train_dir, sub, NULL); /* freed by the caller */
  o->model = "cnn";
  o->scale = 1;
  o->batch = 8;
  o->epochs = epochs;
}

typedef struct {
  PfTrainController *c;
  int phase;
  int64_t first_step, last_step;
  int n_batch, n_epoch, n_weights, n_started;
  gint64 last_batch_time;
  gboolean epoch_since_batch;
  gint64 min_gap_us;
  gboolean finished, paused_seen, pause_over;
  GError *error;
  int batches_while_paused;
} TrainWatch;

static void
on_batch (PfTrainController *c, gint64 step, int epoch, double seconds, double loss, TrainWatch *w)
{
  g_assert_true (g_thread_self () == main_thread);
  g_assert_cmpint (pf_train_controller_get_state (c), !=, PF_TRAIN_STATE_PAUSED);
  g_assert_cmpint (step, >, w->last_step);
  g_assert_cmpint (epoch, >=, 1);
  g_assert_true (isfinite (loss) && loss >= 0 && seconds >= 0);
  gint64 now = g_get_monotonic_time ();
  if (w->n_batch > 0 && !w->epoch_since_batch)
    w->min_gap_us = MIN (w->min_gap_us, now - w->last_batch_time);
  w->epoch_since_batch = FALSE;
  w->n_batch++;
  w->last_step = step;
  if (w->phase == 0)
    {
      /* hold the main context while the worker runs three more batches: they must arrive
       * folded into the next signal */
      w->first_step = step;
      gint64 end = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
      while (pf_train_controller_get_steps_done (c) < step + 3 && g_get_monotonic_time () < end)
        g_usleep (2000);
      w->phase = 1;
    }
  else if (w->phase == 1)
    {
      g_assert_cmpint (step, >=, w->first_step + 3);
      pf_train_controller_pause (c);
      w->phase = 2;
    }
  w->last_batch_time = now;
}

static void
on_epoch (PfTrainController *c, const PfTrainLogRow *row, TrainWatch *w)
{
  g_assert_true (g_thread_self () == main_thread);
  w->n_epoch++;
  g_assert_cmpint (row->epoch, ==, w->n_epoch);
  g_assert_true (isfinite (row->train_loss) && isfinite (row->val_loss));
  w->epoch_since_batch = TRUE;
}

static void
on_weights (PfTrainController *c, guint serial, TrainWatch *w)
{
  g_assert_true (g_thread_self () == main_thread);
  g_assert_cmpuint (serial, >, 0);
  w->n_weights++;
}

static void
on_started (PfTrainController *c, gint64 n_train, gint64 n_val, gint64 n_test, TrainWatch *w)
{
  g_assert_true (g_thread_self () == main_thread);
  g_assert_cmpint (n_train, ==, 160);
  g_assert_cmpint (n_val, ==, 20);
  g_assert_cmpint (n_test, ==, 20);
  g_assert_cmpint (pf_train_controller_get_options (c)->batch, ==, 8);
  w->n_started++;
}

static void
on_finished (PfTrainController *c, const GError *error, TrainWatch *w)
{
  g_assert_true (g_thread_self () == main_thread);
  w->error = error ? g_error_copy (error) : NULL;
  w->finished = TRUE;
}

static gboolean
end_pause (gpointer data)
{
  TrainWatch *w = data;
  g_assert_cmpint (pf_train_controller_get_state (w->c), ==, PF_TRAIN_STATE_PAUSED);
  pf_train_controller_set_lambda (w->c, 0.125);
  pf_train_controller_resume (w->c);
  g_assert_cmpint (pf_train_controller_get_state (w->c), ==, PF_TRAIN_STATE_RUNNING);
  w->pause_over = TRUE;
  w->phase = 3;
  return G_SOURCE_REMOVE;
}

static void
on_state (PfTrainController *c, GParamSpec *pspec, TrainWatch *w)
{
  if (pf_train_controller_get_state (c) == PF_TRAIN_STATE_PAUSED && !w->paused_seen)
    {
      w->paused_seen = TRUE;
      g_timeout_add (300, end_pause, w);
    }
}

static void
watch (TrainWatch *w, PfTrainController *c)
{
  memset (w, 0, sizeof *w);
  w->c = c;
  w->last_step = 0;
  w->min_gap_us = G_MAXINT64;
  g_signal_connect (c, "batch", G_CALLBACK (on_batch), w);
  g_signal_connect (c, "epoch", G_CALLBACK (on_epoch), w);
  g_signal_connect (c, "weights", G_CALLBACK (on_weights), w);
  g_signal_connect (c, "started", G_CALLBACK (on_started), w);
  g_signal_connect (c, "finished", G_CALLBACK (on_finished), w);
  g_signal_connect (c, "notify::state", G_CALLBACK (on_state), w);
}

static double
rel_err (const float *a, const float *b, size_t n)
{
  double d = 0, r = 0;
  for (size_t i = 0; i < n; i++)
    {
      d += ((double) a[i] - b[i]) * ((double) a[i] - b[i]);
      r += (double) b[i] * b[i];
    }
  return sqrt (d / MAX (r, 1e-30));
}

static void
test_train_run (void)
{
  make_dataset ();
  PfTrainOptions o;
  train_options (&o, "run", 2);
  PfTrainController *c = pf_train_controller_new ();
  TrainWatch w;
  watch (&w, c);
  g_assert_cmpint (pf_train_controller_get_state (c), ==, PF_TRAIN_STATE_IDLE);
  size_t SS = 56 * 56;
  float ev[5 * 56 * 56], pred[56 * 56], ref[56 * 56];
  GError *error = NULL;
  g_assert_false (pf_train_controller_predict (c, ev, 56, pred, NULL, &error));
  g_assert_error (error, PF_ERROR, PF_ERROR_INVALID);
  g_clear_error (&error);

  g_assert_true (pf_train_controller_start (c, &o, &error));
  g_assert_no_error (error);
  g_assert_cmpint (pf_train_controller_get_state (c), ==, PF_TRAIN_STATE_RUNNING);
  g_assert_false (pf_train_controller_start (c, &o, &error));
  g_assert_error (error, PF_ERROR, PF_ERROR_INVALID);
  g_clear_error (&error);
  GMainLoop *loop = g_main_loop_new (NULL, FALSE);
  run_until (loop, &w.finished, 240);
  g_assert_no_error (w.error);
  g_assert_cmpint (pf_train_controller_get_state (c), ==, PF_TRAIN_STATE_FINISHED);
  g_assert_false (pf_train_controller_get_stopped (c));

  /* every step reported, folded: fewer signals than steps, and never two within one drain */
  g_assert_cmpint (w.last_step, ==, 40);
  g_assert_cmpint (w.n_batch, <, 40);
  g_assert_cmpint (w.min_gap_us, >=, 20000);
  g_assert_cmpint (w.n_epoch, ==, 2);
  g_assert_cmpint (w.n_started, ==, 1);
  g_assert_true (w.paused_seen && w.pause_over);
  g_assert_cmpint (w.n_weights, >=, 3);
  g_assert_cmpuint (pf_train_controller_get_log (c)->len, ==, 2);
  int done = 0, total = 0;
  pf_train_controller_get_progress (c, &done, &total);
  g_assert_cmpint (total, ==, 20);
  g_assert_cmpint (done, ==, 20);

  /* set_lambda reached the trainer: last.h5 records the weight the steps used */
  const PfTrainResult *res = pf_train_controller_get_result (c);
  PfCheckpointInfo ck;
  pf_checkpoint_info_init (&ck);
  g_assert_true (pf_checkpoint_read_info (res->last_path, &ck, &error));
  g_assert_no_error (error);
  g_assert_cmpfloat (ck.lambda, ==, 0.125);
  g_assert_cmpfloat (ck.norm_min, <=, ck.norm_max);
  double nmin, nmax;
  g_assert_true (pf_train_controller_get_norm (c, &nmin, &nmax));
  g_assert_cmpfloat (nmin, ==, ck.norm_min);
  g_assert_cmpfloat (nmax, ==, ck.norm_max);
  pf_checkpoint_info_clear (&ck);

  /* predictions from the last snapshot (the best weights) are those of best.h5 */
  PfSimParams p;
  small_params (&p);
  float *block = g_new (float, 5 * SS);
  float *img[5];
  for (int ch = 0; ch < 5; ch++)
    img[ch] = ev + ch * SS;
  pf_sim_event (&p, 190, img);
  guint serial = 0;
  g_assert_true (pf_train_controller_predict (c, ev, 56, pred, &serial, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (serial, ==, pf_train_controller_get_weights_serial (c));
  double sum = 0;
  for (size_t j = 0; j < SS; j++)
    {
      g_assert_true (isfinite (pred[j]));
      sum += fabs (pred[j]);
    }
  g_assert_cmpfloat (sum, >, 0);
  PfPredictor *pr = pf_predictor_new (res->best_path, 1, &error);
  g_assert_no_error (error);
  memcpy (block, ev, 4 * SS * sizeof (float));
  g_assert_true (pf_predictor_run (pr, block, 1, ref, &error));
  g_assert_cmpfloat (rel_err (pred, ref, SS), <, 1e-5);
  pf_predictor_free (pr);
  g_assert_false (pf_train_controller_predict (c, ev, 28, pred, NULL, &error));
  g_assert_error (error, PF_ERROR, PF_ERROR_SHAPE);
  g_clear_error (&error);

  g_free (block);
  g_free ((char *) o.out_dir);
  g_main_loop_unref (loop);
  g_object_unref (c);
}

static void
stop_on_batch (PfTrainController *c, gint64 step, int epoch, double seconds, double loss,
               gpointer data)
{
  pf_train_controller_stop (c);
  g_assert_cmpint (pf_train_controller_get_state (c), ==, PF_TRAIN_STATE_STOPPING);
}

static void
test_train_stop (void)
{
  make_dataset ();
  PfTrainOptions o;
  train_options (&o, "stop", 50);
  PfTrainController *c = pf_train_controller_new ();
  TrainWatch w;
  watch (&w, c);
  w.phase = 3; /* no pause in this run */
  g_signal_connect (c, "batch", G_CALLBACK (stop_on_batch), NULL);
  GError *error = NULL;
  g_assert_true (pf_train_controller_start (c, &o, &error));
  GMainLoop *loop = g_main_loop_new (NULL, FALSE);
  run_until (loop, &w.finished, 120);
  g_assert_no_error (w.error);
  g_assert_true (pf_train_controller_get_stopped (c));
  g_assert_cmpint (pf_train_controller_get_state (c), ==, PF_TRAIN_STATE_FINISHED);
  g_assert_cmpint (w.n_epoch, ==, 0);

  /* last.h5 holds the state at the batch it stopped at, and loads */
  const PfTrainResult *res = pf_train_controller_get_result (c);
  g_assert_true (res->cancelled);
  PfPredictor *pr = pf_predictor_new (res->last_path, 1, &error);
  g_assert_no_error (error);
  g_assert_cmpint (pf_predictor_info (pr)->batch_in_epoch, >=, 1);
  g_assert_cmpint (pf_predictor_info (pr)->batch_in_epoch, <, 20);
  pf_predictor_free (pr);
  float ev[4 * 56 * 56] = { 0 }, pred[56 * 56];
  ev[100] = 3.0f;
  g_assert_true (pf_train_controller_predict (c, ev, 56, pred, NULL, &error));
  g_assert_no_error (error);
  g_free ((char *) o.out_dir);
  g_main_loop_unref (loop);
  g_object_unref (c);
}

static void
test_train_fail (void)
{
  make_dataset ();
  GMainLoop *loop = g_main_loop_new (NULL, FALSE);
  /* divergence: a learning rate no model survives ends in FAILED with PF_ERROR_NUMERIC */
  PfTrainOptions o;
  train_options (&o, "diverge", 3);
  o.lr = 1e30;
  PfTrainController *c = pf_train_controller_new ();
  TrainWatch w;
  watch (&w, c);
  w.phase = 3;
  GError *error = NULL;
  g_assert_true (pf_train_controller_start (c, &o, &error));
  run_until (loop, &w.finished, 120);
  g_assert_error (w.error, PF_ERROR, PF_ERROR_NUMERIC);
  g_clear_error (&w.error);
  g_assert_cmpint (pf_train_controller_get_state (c), ==, PF_TRAIN_STATE_FAILED);
  g_free ((char *) o.out_dir);

  /* a missing dataset fails the same way, and the controller can start again afterwards */
  train_options (&o, "missing", 1);
  o.data_path = "/nonexistent/pflow.h5";
  w.finished = FALSE;
  g_assert_true (pf_train_controller_start (c, &o, &error));
  run_until (loop, &w.finished, 60);
  g_assert_nonnull (w.error);
  g_clear_error (&w.error);
  g_assert_cmpint (pf_train_controller_get_state (c), ==, PF_TRAIN_STATE_FAILED);
  g_free ((char *) o.out_dir);
  g_main_loop_unref (loop);
  g_object_unref (c);
}

/* ---- run store ---- */

static void
test_run_store (void)
{
  char *dir = g_dir_make_tmp ("pf-ctl-runs-XXXXXX", NULL);
  char *path = g_build_filename (dir, "sub", "runs.json", NULL);
  PfRunStore *s = pf_run_store_new (path);
  GError *error = NULL;
  g_assert_true (pf_run_store_load (s, &error)); /* no file yet: empty */
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (s)), ==, 0);
  g_assert_true (g_list_model_get_item_type (G_LIST_MODEL (s)) == PF_TYPE_RUN);

  PfTrainOptions o;
  pf_train_options_init (&o);
  o.data_path = "/data/Gauss \"quoted\".h5";
  o.out_dir = "runs/cnn-s1";
  o.batch = 8;
  o.lr = 4e-5;
  o.epochs = 2;
  PfRun *a = pf_run_new (&o), *b = pf_run_new (&o);
  g_assert_cmpstr (pf_run_get_id (a), ==, pf_run_get_id (b));
  PfTrainLogRow r1 = { 1, 0.5, 0.4, 4e-5, 1.25, 0.1, 0.2, 0.3, 0.11, 0.21, 0.31, 160, TRUE };
  PfTrainLogRow r2 = { 2, 0.3, 0.45, 4e-5, 1.5, NAN, NAN, NAN, NAN, NAN, NAN, 160, FALSE };
  pf_run_append_epoch (a, &r1);
  pf_run_append_epoch (a, &r2);
  pf_run_set_metric (a, "wmse", 0.0123456789012345);
  pf_run_set_metric (a, "rel_residual_2_5", -0.25);
  pf_run_set_state (a, "finished");
  pf_run_store_add (s, a);
  pf_run_store_add (s, b);
  g_assert_cmpstr (pf_run_get_id (a), !=, pf_run_get_id (b)); /* made unique */
  g_assert_cmpint (pf_run_get_best_epoch (a), ==, 1);
  g_assert_cmpfloat (pf_run_get_best_val_loss (a), ==, 0.4);
  g_assert_true (pf_run_store_save (s, &error));
  g_assert_no_error (error);

  PfRunStore *t = pf_run_store_new (path);
  g_assert_true (pf_run_store_load (t, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (t)), ==, 2);
  PfRun *a2 = g_list_model_get_item (G_LIST_MODEL (t), 0);
  g_assert_cmpstr (pf_run_get_id (a2), ==, pf_run_get_id (a));
  g_assert_cmpint (pf_run_get_date (a2), ==, pf_run_get_date (a));
  g_assert_cmpstr (pf_run_get_state (a2), ==, "finished");
  g_assert_cmpstr (pf_run_get_model (a2), ==, "cnn");
  g_assert_cmpstr (pf_run_get_dataset (a2), ==, o.data_path);
  g_assert_cmpstr (pf_run_get_checkpoint (a2), ==, "runs/cnn-s1");
  g_assert_cmpfloat (pf_run_get_lambda (a2), ==, pf_run_get_lambda (a));
  g_assert_cmpint (pf_run_get_epochs (a2), ==, 2);
  g_assert_cmpfloat (pf_run_get_best_val_loss (a2), ==, 0.4);
  g_assert_cmpfloat (pf_run_get_metric (a2, "wmse"), ==, 0.0123456789012345);
  g_assert_true (isnan (pf_run_get_metric (a2, "absent")));
  GArray *log = pf_run_get_log (a2);
  g_assert_cmpfloat (g_array_index (log, PfTrainLogRow, 0).val_ssim, ==, 0.31);
  g_assert_true (g_array_index (log, PfTrainLogRow, 0).best);
  g_assert_true (isnan (g_array_index (log, PfTrainLogRow, 1).val_mse));
  int epochs = 0;
  double lr = 0;
  g_object_get (a2, "epochs", &epochs, "lr", &lr, NULL);
  g_assert_cmpint (epochs, ==, 2);
  g_assert_cmpfloat (lr, ==, 4e-5);
  char *j1 = pf_run_store_to_json (s), *j2 = pf_run_store_to_json (t);
  g_assert_cmpstr (j1, ==, j2);
  g_object_unref (a2);

  /* a damaged file is an error and leaves the list as it was */
  const char *bad[] = { "{\"version\": 1, \"runs\": [", "{\"version\": 1, \"runs\": [{\"id\": 3}]}",
                        "{\"version\": 2, \"runs\": []}", "[1, 2]",
                        "{\"version\": 1, \"runs\": [{\"id\": \"x\", \"model\": \"cnn\", \"log\": [[1]]}]}" };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_assert_false (pf_run_store_load_from_data (t, bad[i], -1, &error));
      g_assert_error (error, PF_ERROR, PF_ERROR_FORMAT);
      g_clear_error (&error);
      g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (t)), ==, 2);
    }
  g_assert_true (pf_run_store_remove (t, pf_run_get_id (b)));
  g_assert_false (pf_run_store_remove (t, "nope"));
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (t)), ==, 1);

  g_free (j1);
  g_free (j2);
  g_object_unref (a);
  g_object_unref (b);
  g_object_unref (s);
  g_object_unref (t);
  g_remove (path);
  char *sub = g_path_get_dirname (path);
  g_rmdir (sub);
  g_rmdir (dir);
  g_free (sub);
  g_free (path);
  g_free (dir);
}

static void
remove_tree (const char *path)
{
  GDir *d = g_dir_open (path, 0, NULL);
  if (d)
    {
      const char *name;
      while ((name = g_dir_read_name (d)))
        {
          char *child = g_build_filename (path, name, NULL);
          remove_tree (child);
          g_free (child);
        }
      g_dir_close (d);
      g_rmdir (path);
    }
  else
    g_remove (path);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  main_thread = g_thread_self ();
  g_test_add_func ("/controllers/sim/generate", test_sim_generate);
  g_test_add_func ("/controllers/sim/dataset", test_sim_dataset);
  g_test_add_func ("/controllers/train/run", test_train_run);
  g_test_add_func ("/controllers/train/stop", test_train_stop);
  g_test_add_func ("/controllers/train/fail", test_train_fail);
  g_test_add_func ("/controllers/runs/roundtrip", test_run_store);
  int rc = g_test_run ();
  if (train_dir)
    remove_tree (train_dir);
  g_free (train_dir);
  g_free (train_data);
  return rc;
}
