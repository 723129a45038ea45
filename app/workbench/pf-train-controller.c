/* pf-train-controller.c — pf_trainer on a worker thread, reported through a queue.
 *
 * The worker and the controller share a reference-counted Run: the queue, the pause lock and
 * condition, the cancel flag and the weights snapshot. The drain GSource has a ready time that
 * the worker sets, PF_TRAIN_CONTROLLER_DRAIN_MS ahead, only when no drain is scheduled yet, so
 * the main context wakes at most ~30 times a second however fast batches come. */
#include "pf-train-controller.h"
#include "pf-checkpoint.h"
#include "pf-dataset.h"
#include "pf-error.h"
#include "pf-weight-snapshot.h"
#include <glib/gi18n.h>
#include <math.h>
#include <string.h>

typedef enum { MSG_START, MSG_BATCH, MSG_EPOCH, MSG_WEIGHTS, MSG_PAUSED, MSG_FINISHED } MsgKind;

typedef struct {
  MsgKind kind;
  int64_t step;
  int epoch, done, total;
  double seconds, loss;
  PfTrainLogRow row;
  guint serial;
  int64_t n_train, n_val, n_test;
  PfTrainOptions opts;  /* MSG_START: strings owned */
  PfTrainResult result; /* MSG_FINISHED */
  GError *error;
} Msg;

typedef struct {
  gatomicrefcount ref;
  PfTrainOptions opts;   /* the caller's, strings owned */
  GAsyncQueue *queue;    /* Msg */
  GSource *source;
  gint scheduled;
  gint cancel;
  int64_t steps_done;    /* __atomic */

  GMutex lock;           /* pause, lambda, trainer */
  GCond cond;
  gboolean paused;
  guint pause_serial;
  PfTrainer *trainer;
  double lambda;
  gboolean lambda_set;

  PfWeightSnapshot *snap; /* set once by the worker, under lock */

  /* worker only */
  int epoch_now;
  gint64 t0, paused_us, last_snap;
  double nmin, nmax;
} Run;

struct _PfTrainController
{
  GObject parent_instance;
  GMainContext *context;
  PfTrainState state;
  Run *run;
  GThread *thread;
  double lambda;
  gboolean lambda_set;

  /* heard on the main context */
  PfTrainOptions opts;
  gboolean have_opts, stopped;
  GArray *log;
  PfTrainResult result;
  int done, total;

  /* `run` as seen by other threads (pf_train_controller_predict on a worker) */
  GMutex run_lock;
  /* pf_train_controller_predict: serialises the predictor. Separate from run_lock, so the UI
   * thread's getters never wait for an inference in flight on a worker. */
  GMutex predict_lock;
  PfSnapshotPredictor *predictor;
};

G_DEFINE_FINAL_TYPE (PfTrainController, pf_train_controller, G_TYPE_OBJECT)

enum { PROP_0, PROP_STATE, N_PROPS };
enum { SIG_STARTED, SIG_BATCH, SIG_EPOCH, SIG_WEIGHTS, SIG_FINISHED, N_SIGNALS };
static GParamSpec *props[N_PROPS];
static guint signals[N_SIGNALS];

GType
pf_train_state_get_type (void)
{
  static gsize type = 0;
  static const GEnumValue values[] = {
    { PF_TRAIN_STATE_IDLE, "PF_TRAIN_STATE_IDLE", "idle" },
    { PF_TRAIN_STATE_RUNNING, "PF_TRAIN_STATE_RUNNING", "running" },
    { PF_TRAIN_STATE_PAUSED, "PF_TRAIN_STATE_PAUSED", "paused" },
    { PF_TRAIN_STATE_STOPPING, "PF_TRAIN_STATE_STOPPING", "stopping" },
    { PF_TRAIN_STATE_FINISHED, "PF_TRAIN_STATE_FINISHED", "finished" },
    { PF_TRAIN_STATE_FAILED, "PF_TRAIN_STATE_FAILED", "failed" },
    { 0, NULL, NULL },
  };
  if (g_once_init_enter (&type))
    g_once_init_leave (&type, g_enum_register_static ("PfTrainState", values));
  return type;
}

/* ---- options with owned strings ---- */

static void
options_copy (PfTrainOptions *dst, const PfTrainOptions *src)
{
  *dst = *src;
  dst->data_path = g_strdup (src->data_path);
  dst->out_dir = g_strdup (src->out_dir);
  dst->model = g_strdup (src->model);
  dst->loss = g_strdup (src->loss);
  dst->precision = g_strdup (src->precision);
}

static void
options_clear (PfTrainOptions *o)
{
  g_free ((char *) o->data_path);
  g_free ((char *) o->out_dir);
  g_free ((char *) o->model);
  g_free ((char *) o->loss);
  g_free ((char *) o->precision);
  memset (o, 0, sizeof *o);
}

static void
msg_free (gpointer p)
{
  Msg *m = p;
  if (m->kind == MSG_START)
    options_clear (&m->opts);
  pf_train_result_clear (&m->result);
  g_clear_error (&m->error);
  g_free (m);
}

/* ---- the shared run ---- */

static Run *
run_new (const PfTrainOptions *o)
{
  Run *r = g_new0 (Run, 1);
  g_atomic_ref_count_init (&r->ref);
  options_copy (&r->opts, o);
  r->queue = g_async_queue_new_full (msg_free);
  g_mutex_init (&r->lock);
  g_cond_init (&r->cond);
  return r;
}

static Run *
run_ref (Run *r)
{
  g_atomic_ref_count_inc (&r->ref);
  return r;
}

static void
run_unref (Run *r)
{
  if (!r || !g_atomic_ref_count_dec (&r->ref))
    return;
  options_clear (&r->opts);
  g_async_queue_unref (r->queue);
  if (r->source)
    {
      g_source_destroy (r->source);
      g_source_unref (r->source);
    }
  g_mutex_clear (&r->lock);
  g_cond_clear (&r->cond);
  pf_weight_snapshot_unref (r->snap);
  g_free (r);
}

/* Worker: queues a message and schedules a drain unless one is pending. */
static void
push (Run *r, Msg *m)
{
  g_async_queue_push (r->queue, m);
  if (g_atomic_int_compare_and_exchange (&r->scheduled, 0, 1))
    g_source_set_ready_time (r->source,
                             g_get_monotonic_time () + PF_TRAIN_CONTROLLER_DRAIN_MS * 1000);
}

/* ---- the worker ---- */

static void
snapshot_take (Run *r, PfGraph *g)
{
  Msg *m = g_new0 (Msg, 1);
  m->kind = MSG_WEIGHTS;
  m->serial = pf_weight_snapshot_take (r->snap, g);
  r->last_snap = g_get_monotonic_time ();
  push (r, m);
}

/* Between batches: waits while paused (and not cancelled), telling the owner once per pause. */
static void
wait_if_paused (Run *r)
{
  g_mutex_lock (&r->lock);
  guint acked = 0;
  gint64 t = g_get_monotonic_time ();
  while (r->paused && !g_atomic_int_get (&r->cancel))
    {
      if (acked != r->pause_serial)
        {
          acked = r->pause_serial;
          Msg *m = g_new0 (Msg, 1);
          m->kind = MSG_PAUSED;
          m->serial = acked;
          push (r, m);
        }
      g_cond_wait (&r->cond, &r->lock);
    }
  g_mutex_unlock (&r->lock);
  if (acked)
    r->paused_us += g_get_monotonic_time () - t;
}

static void
on_start (const PfTrainOptions *resolved, int64_t n_train, int64_t n_val, int64_t n_test,
          gpointer data)
{
  Run *r = data;
  Msg *m = g_new0 (Msg, 1);
  m->kind = MSG_START;
  options_copy (&m->opts, resolved);
  m->n_train = n_train;
  m->n_val = n_val;
  m->n_test = n_test;
  push (r, m);
}

static void
on_batch (int64_t step, double loss, int done, int total, gpointer data)
{
  Run *r = data;
  gint64 now = g_get_monotonic_time ();
  Msg *m = g_new0 (Msg, 1);
  m->kind = MSG_BATCH;
  m->step = step;
  m->epoch = r->epoch_now;
  m->done = done;
  m->total = total;
  m->loss = loss;
  m->seconds = (now - r->t0 - r->paused_us) / 1e6;
  push (r, m);
  /* after the push: a step counted here is already on its way to the owner */
  __atomic_store_n (&r->steps_done, step, __ATOMIC_RELEASE);
  if (now - r->last_snap >= PF_TRAIN_CONTROLLER_SNAPSHOT_S * 1e6 && r->trainer)
    snapshot_take (r, pf_trainer_graph (r->trainer));
  wait_if_paused (r);
}

static void
on_epoch (const PfTrainLogRow *row, gpointer data)
{
  Run *r = data;
  r->epoch_now = row->epoch + 1;
  Msg *m = g_new0 (Msg, 1);
  m->kind = MSG_EPOCH;
  m->row = *row;
  push (r, m);
  snapshot_take (r, pf_trainer_graph (r->trainer));
  wait_if_paused (r);
}

static gpointer
train_thread (gpointer data)
{
  Run *r = data;
  GError *error = NULL;
  Msg *fin = g_new0 (Msg, 1);
  fin->kind = MSG_FINISHED;
  PfTrainer *t = pf_trainer_new (&r->opts, &error);
  if (t)
    {
      const PfTrainOptions *o = pf_trainer_options (t);
      gboolean ok = TRUE;
      r->epoch_now = 1;
      pf_trainer_norm (t, &r->nmin, &r->nmax);
      if (o->resume)
        {
          /* the epoch reached lives in last.h5 */
          PfCheckpointInfo ck;
          pf_checkpoint_info_init (&ck);
          char *last = g_build_filename (o->out_dir, "last.h5", NULL);
          if ((ok = pf_checkpoint_read_info (last, &ck, &error)))
            r->epoch_now = ck.epoch + 1;
          g_free (last);
          pf_checkpoint_info_clear (&ck);
        }
      if (ok)
        {
          PfWeightSnapshot *snap = pf_weight_snapshot_new (pf_trainer_graph (t), o->device,
                                                            o->model, o->scale, r->nmin, r->nmax);
          g_mutex_lock (&r->lock);
          r->snap = snap;
          r->trainer = t;
          if (r->lambda_set)
            pf_trainer_set_lambda (t, (float) r->lambda);
          g_mutex_unlock (&r->lock);
          PfTrainCallbacks cb = { on_batch, on_epoch, on_start, r };
          r->t0 = r->last_snap = g_get_monotonic_time ();
          ok = pf_trainer_run (t, &cb, &r->cancel, &fin->result, &error);
          /* the weights the run ends with: the best ones, or those of the batch it stopped at */
          if (ok || g_error_matches (error, PF_ERROR, PF_ERROR_CANCELLED))
            snapshot_take (r, pf_trainer_graph (t));
        }
      g_mutex_lock (&r->lock);
      r->trainer = NULL;
      g_mutex_unlock (&r->lock);
      pf_trainer_free (t);
    }
  fin->error = error;
  push (r, fin);
  run_unref (r);
  return NULL;
}

/* ---- the main context ---- */

static void
set_state (PfTrainController *c, PfTrainState s)
{
  if (c->state == s)
    return;
  c->state = s;
  g_object_notify_by_pspec (G_OBJECT (c), props[PROP_STATE]);
}

typedef struct {
  int n;
  double loss_sum;
  Msg last;
} BatchFold;

static void
flush_batches (PfTrainController *c, BatchFold *f)
{
  if (f->n == 0)
    return;
  c->done = f->last.done;
  c->total = f->last.total;
  g_signal_emit (c, signals[SIG_BATCH], 0, (gint64) f->last.step, f->last.epoch, f->last.seconds,
                 f->loss_sum / f->n);
  f->n = 0;
  f->loss_sum = 0;
}

static void
handle_finished (PfTrainController *c, Msg *m)
{
  if (c->thread)
    g_thread_join (c->thread);
  c->thread = NULL;
  pf_train_result_clear (&c->result);
  c->result = m->result;
  memset (&m->result, 0, sizeof m->result);
  GError *error = m->error;
  if (g_error_matches (error, PF_ERROR, PF_ERROR_CANCELLED))
    {
      c->stopped = TRUE;
      error = NULL;
    }
  set_state (c, error ? PF_TRAIN_STATE_FAILED : PF_TRAIN_STATE_FINISHED);
  g_signal_emit (c, signals[SIG_FINISHED], 0, error);
}

static gboolean
drain (gpointer data)
{
  PfTrainController *c = data;
  Run *r = run_ref (c->run);
  g_source_set_ready_time (r->source, -1);
  g_atomic_int_set (&r->scheduled, 0);
  g_object_ref (c);
  BatchFold fold = { 0 };
  gboolean finished = FALSE;
  /* only what is queued now: what the handlers' time lets in waits for the next drain */
  gint n = g_async_queue_length (r->queue);
  Msg *m;
  while (!finished && n-- > 0 && (m = g_async_queue_try_pop (r->queue)))
    {
      if (m->kind == MSG_BATCH)
        {
          fold.n++;
          fold.loss_sum += m->loss;
          fold.last = *m;
          msg_free (m);
          continue;
        }
      flush_batches (c, &fold);
      switch (m->kind)
        {
        case MSG_START:
          options_clear (&c->opts);
          options_copy (&c->opts, &m->opts);
          c->have_opts = TRUE;
          g_signal_emit (c, signals[SIG_STARTED], 0, (gint64) m->n_train, (gint64) m->n_val,
                         (gint64) m->n_test);
          break;
        case MSG_EPOCH:
          g_array_append_val (c->log, m->row);
          g_signal_emit (c, signals[SIG_EPOCH], 0, &m->row);
          break;
        case MSG_WEIGHTS:
          g_signal_emit (c, signals[SIG_WEIGHTS], 0, m->serial);
          break;
        case MSG_PAUSED:
          {
            g_mutex_lock (&r->lock);
            gboolean current = r->paused && m->serial == r->pause_serial;
            g_mutex_unlock (&r->lock);
            if (current && c->state == PF_TRAIN_STATE_RUNNING)
              set_state (c, PF_TRAIN_STATE_PAUSED);
          }
          break;
        case MSG_FINISHED:
          handle_finished (c, m);
          finished = TRUE;
          break;
        case MSG_BATCH:
          break;
        }
      msg_free (m);
    }
  flush_batches (c, &fold);
  run_unref (r);
  g_object_unref (c);
  /* the worker has ended: its source goes with it */
  return finished ? G_SOURCE_REMOVE : G_SOURCE_CONTINUE;
}

static gboolean
drain_dispatch (GSource *source, GSourceFunc callback, gpointer data)
{
  return callback (data);
}

static GSourceFuncs drain_funcs = { NULL, NULL, drain_dispatch, NULL, NULL, NULL };

gboolean
pf_train_controller_start (PfTrainController *c, const PfTrainOptions *o, GError **error)
{
  g_return_val_if_fail (PF_IS_TRAIN_CONTROLLER (c) && o, FALSE);
  if (c->thread)
    {
      g_set_error_literal (error, PF_ERROR, PF_ERROR_INVALID, _("A training run is already in progress"));
      return FALSE;
    }
  Run *r = run_new (o);
  r->lambda = c->lambda;
  r->lambda_set = c->lambda_set;
  r->source = g_source_new (&drain_funcs, sizeof (GSource));
  g_source_set_static_name (r->source, "pf-train-controller drain");
  g_source_set_callback (r->source, drain, c, NULL);
  g_source_attach (r->source, c->context);
  g_mutex_lock (&c->run_lock);
  Run *old = c->run;
  c->run = r;
  g_mutex_unlock (&c->run_lock);
  run_unref (old);
  options_clear (&c->opts);
  c->have_opts = FALSE;
  c->stopped = FALSE;
  c->done = c->total = 0;
  g_array_set_size (c->log, 0);
  pf_train_result_clear (&c->result);
  c->thread = g_thread_new ("pf-train", train_thread, run_ref (r));
  set_state (c, PF_TRAIN_STATE_RUNNING);
  return TRUE;
}

void
pf_train_controller_pause (PfTrainController *c)
{
  if (c->state != PF_TRAIN_STATE_RUNNING)
    return;
  g_mutex_lock (&c->run->lock);
  if (!c->run->paused)
    {
      c->run->paused = TRUE;
      c->run->pause_serial++;
    }
  g_mutex_unlock (&c->run->lock);
}

void
pf_train_controller_resume (PfTrainController *c)
{
  if (c->state != PF_TRAIN_STATE_RUNNING && c->state != PF_TRAIN_STATE_PAUSED)
    return;
  g_mutex_lock (&c->run->lock);
  c->run->paused = FALSE;
  g_cond_broadcast (&c->run->cond);
  g_mutex_unlock (&c->run->lock);
  set_state (c, PF_TRAIN_STATE_RUNNING);
}

void
pf_train_controller_stop (PfTrainController *c)
{
  if (c->state != PF_TRAIN_STATE_RUNNING && c->state != PF_TRAIN_STATE_PAUSED)
    return;
  g_mutex_lock (&c->run->lock);
  g_atomic_int_set (&c->run->cancel, 1);
  c->run->paused = FALSE;
  g_cond_broadcast (&c->run->cond);
  g_mutex_unlock (&c->run->lock);
  set_state (c, PF_TRAIN_STATE_STOPPING);
}

void
pf_train_controller_set_lambda (PfTrainController *c, double lambda)
{
  g_return_if_fail (PF_IS_TRAIN_CONTROLLER (c) && isfinite (lambda) && lambda >= 0);
  c->lambda = lambda;
  c->lambda_set = TRUE;
  if (c->thread)
    {
      g_mutex_lock (&c->run->lock);
      c->run->lambda = lambda;
      c->run->lambda_set = TRUE;
      if (c->run->trainer)
        pf_trainer_set_lambda (c->run->trainer, (float) lambda);
      g_mutex_unlock (&c->run->lock);
    }
}

double
pf_train_controller_get_lambda (PfTrainController *c)
{
  if (c->lambda_set)
    return c->lambda;
  return c->have_opts ? c->opts.lambda : 0.05;
}

PfTrainState pf_train_controller_get_state (PfTrainController *c) { return c->state; }
GArray *pf_train_controller_get_log (PfTrainController *c) { return c->log; }
gboolean pf_train_controller_get_stopped (PfTrainController *c) { return c->stopped; }
const PfTrainResult *pf_train_controller_get_result (PfTrainController *c) { return &c->result; }

const PfTrainOptions *
pf_train_controller_get_options (PfTrainController *c)
{
  return c->have_opts ? &c->opts : NULL;
}

void
pf_train_controller_get_progress (PfTrainController *c, int *done, int *total)
{
  if (done)
    *done = c->done;
  if (total)
    *total = c->total;
}

/* The snapshot of the current run, a new reference, or NULL. */
static PfWeightSnapshot *
ref_snapshot (PfTrainController *c)
{
  PfWeightSnapshot *snap = NULL;
  g_mutex_lock (&c->run_lock);
  if (c->run)
    {
      g_mutex_lock (&c->run->lock);
      snap = c->run->snap ? pf_weight_snapshot_ref (c->run->snap) : NULL;
      g_mutex_unlock (&c->run->lock);
    }
  g_mutex_unlock (&c->run_lock);
  return snap;
}

gboolean
pf_train_controller_get_norm (PfTrainController *c, double *norm_min, double *norm_max)
{
  PfWeightSnapshot *snap = ref_snapshot (c);
  gboolean ok = snap && pf_weight_snapshot_serial (snap) > 0;
  if (ok)
    pf_weight_snapshot_norm (snap, norm_min, norm_max);
  pf_weight_snapshot_unref (snap);
  return ok;
}

int64_t
pf_train_controller_get_steps_done (PfTrainController *c)
{
  g_mutex_lock (&c->run_lock);
  int64_t s = c->run ? __atomic_load_n (&c->run->steps_done, __ATOMIC_ACQUIRE) : 0;
  g_mutex_unlock (&c->run_lock);
  return s;
}

guint
pf_train_controller_get_weights_serial (PfTrainController *c)
{
  PfWeightSnapshot *snap = ref_snapshot (c);
  guint serial = snap ? pf_weight_snapshot_serial (snap) : 0;
  pf_weight_snapshot_unref (snap);
  return serial;
}

gboolean
pf_train_controller_predict (PfTrainController *c, const float *inputs4, int S, float *pred,
                             guint *serial, GError **error)
{
  g_return_val_if_fail (PF_IS_TRAIN_CONTROLLER (c) && inputs4 && pred, FALSE);
  PfWeightSnapshot *snap = ref_snapshot (c);
  g_mutex_lock (&c->predict_lock);
  gboolean ok = pf_snapshot_predictor_run (c->predictor, snap, inputs4, S, pred, serial, error);
  g_mutex_unlock (&c->predict_lock);
  pf_weight_snapshot_unref (snap);
  return ok;
}

/* ---- prediction on a worker ---- */

typedef struct {
  float *inputs;   /* 4 x S x S, a copy */
  int S;
} PredictJob;

static void
predict_job_free (gpointer p)
{
  PredictJob *j = p;
  g_free (j->inputs);
  g_free (j);
}

static void
predict_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  PredictJob *j = data;
  GError *error = NULL;
  guint serial = 0;
  if (g_task_return_error_if_cancelled (task))
    return;
  float *pred = g_new (float, (gsize) j->S * j->S);
  if (!pf_train_controller_predict (PF_TRAIN_CONTROLLER (source), j->inputs, j->S, pred, &serial, &error))
    {
      g_free (pred);
      g_task_return_error (task, error);
      return;
    }
  g_object_set_data (G_OBJECT (task), "pf-serial", GUINT_TO_POINTER (serial));
  g_task_return_pointer (task, pred, g_free);
}

void
pf_train_controller_predict_async (PfTrainController *c, const float *inputs4, int S,
                                   GCancellable *cancellable, GAsyncReadyCallback callback,
                                   gpointer user_data)
{
  g_return_if_fail (PF_IS_TRAIN_CONTROLLER (c) && inputs4);
  GTask *task = g_task_new (c, cancellable, callback, user_data);
  g_task_set_source_tag (task, pf_train_controller_predict_async);
  g_task_set_name (task, "pf_train_controller_predict_async");
  if (S <= 0 || (gsize) S > G_MAXSIZE / sizeof (float) / 4 / (gsize) S)
    {
      g_task_return_new_error (task, PF_ERROR, PF_ERROR_SHAPE, _("Invalid image size %d"), S);
      g_object_unref (task);
      return;
    }
  PredictJob *j = g_new0 (PredictJob, 1);
  j->S = S;
  j->inputs = g_memdup2 (inputs4, (gsize) 4 * S * S * sizeof (float));
  g_task_set_task_data (task, j, predict_job_free);
  g_task_run_in_thread (task, predict_thread);
  g_object_unref (task);
}

float *
pf_train_controller_predict_finish (PfTrainController *c, GAsyncResult *result, guint *serial,
                                    GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, c), NULL);
  float *pred = g_task_propagate_pointer (G_TASK (result), error);
  if (serial)
    *serial = pred ? GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (result), "pf-serial")) : 0;
  return pred;
}

/* ---- GObject ---- */

static void
pf_train_controller_get_property (GObject *object, guint id, GValue *value, GParamSpec *pspec)
{
  PfTrainController *c = PF_TRAIN_CONTROLLER (object);
  switch (id)
    {
    case PROP_STATE:
      g_value_set_enum (value, c->state);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, id, pspec);
    }
}

void
pf_train_controller_shutdown (PfTrainController *c)
{
  g_return_if_fail (PF_IS_TRAIN_CONTROLLER (c));
  if (!c->thread)
    return;
  g_mutex_lock (&c->run->lock);
  g_atomic_int_set (&c->run->cancel, 1);
  c->run->paused = FALSE;
  g_cond_broadcast (&c->run->cond);
  g_mutex_unlock (&c->run->lock);
  g_thread_join (c->thread);
  c->thread = NULL;
}

static void
pf_train_controller_dispose (GObject *object)
{
  PfTrainController *c = PF_TRAIN_CONTROLLER (object);
  /* a run in flight is stopped (last.h5 saved) and waited for */
  pf_train_controller_shutdown (c);
  if (c->run && c->run->source)
    g_source_destroy (c->run->source);
  G_OBJECT_CLASS (pf_train_controller_parent_class)->dispose (object);
}

static void
pf_train_controller_finalize (GObject *object)
{
  PfTrainController *c = PF_TRAIN_CONTROLLER (object);
  run_unref (c->run);
  pf_snapshot_predictor_free (c->predictor);
  g_mutex_clear (&c->predict_lock);
  g_mutex_clear (&c->run_lock);
  options_clear (&c->opts);
  pf_train_result_clear (&c->result);
  g_array_unref (c->log);
  g_main_context_unref (c->context);
  G_OBJECT_CLASS (pf_train_controller_parent_class)->finalize (object);
}

static void
pf_train_controller_class_init (PfTrainControllerClass *klass)
{
  GObjectClass *oc = G_OBJECT_CLASS (klass);
  oc->get_property = pf_train_controller_get_property;
  oc->dispose = pf_train_controller_dispose;
  oc->finalize = pf_train_controller_finalize;
  props[PROP_STATE] = g_param_spec_enum ("state", NULL, NULL, PF_TYPE_TRAIN_STATE,
                                         PF_TRAIN_STATE_IDLE,
                                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (oc, N_PROPS, props);
  GType t = G_TYPE_FROM_CLASS (klass);
  signals[SIG_STARTED] = g_signal_new ("started", t, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                       G_TYPE_NONE, 3, G_TYPE_INT64, G_TYPE_INT64, G_TYPE_INT64);
  signals[SIG_BATCH] = g_signal_new ("batch", t, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                     G_TYPE_NONE, 4, G_TYPE_INT64, G_TYPE_INT, G_TYPE_DOUBLE,
                                     G_TYPE_DOUBLE);
  signals[SIG_EPOCH] = g_signal_new ("epoch", t, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                     G_TYPE_NONE, 1, G_TYPE_POINTER);
  signals[SIG_WEIGHTS] = g_signal_new ("weights", t, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                       G_TYPE_NONE, 1, G_TYPE_UINT);
  signals[SIG_FINISHED] = g_signal_new ("finished", t, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                        G_TYPE_NONE, 1, G_TYPE_ERROR);
}

static void
pf_train_controller_init (PfTrainController *c)
{
  c->context = g_main_context_ref_thread_default ();
  c->log = g_array_new (FALSE, TRUE, sizeof (PfTrainLogRow));
  g_mutex_init (&c->predict_lock);
  g_mutex_init (&c->run_lock);
  c->predictor = pf_snapshot_predictor_new ();
}

PfTrainController *
pf_train_controller_new (void)
{
  return g_object_new (PF_TYPE_TRAIN_CONTROLLER, NULL);
}
