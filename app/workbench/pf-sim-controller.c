/* pf-sim-controller.c — simulation, dataset loading and saving on worker threads (GTask).
 *
 * Each request (parameters, load) takes the next request number and cancels the cancellable of
 * the one before; the worker polls its cancellable between chunks of events. A result is
 * published on the owner's main context only when its request is still the newest, so a slider
 * dragged through ten values announces the last one alone. */
#include "pf-sim-controller.h"
#include "pf-dataset.h"
#include "pf-error.h"
#include <glib/gi18n.h>
#include <string.h>

/* Events per pf_sim_run call between two looks at the cancellable. */
#define GEN_CHUNK 32

struct _PfSimController
{
  GObject parent_instance;

  /* published: guarded by lock, readable from any thread */
  GMutex lock;
  GBytes *events;        /* PF_N_CHANNELS * n * S * S floats, channel-major */
  int64_t n;
  int S;
  PfSimParams ev_params;
  gboolean ev_has_params;
  guint generation;

  /* owner thread only */
  PfSimParams params;
  int64_t n_events;
  guint requested;       /* number of the newest request */
  GCancellable *inflight;
  int busy;
};

G_DEFINE_FINAL_TYPE (PfSimController, pf_sim_controller, G_TYPE_OBJECT)

enum { PROP_0, PROP_BUSY, PROP_GENERATION, N_PROPS };
enum { SIG_EVENTS_READY, SIG_ERROR, N_SIGNALS };
static GParamSpec *props[N_PROPS];
static guint signals[N_SIGNALS];

/* What a worker hands back: a set of events. */
typedef struct {
  GBytes *events;
  int64_t n;
  int S;
  PfSimParams params;
  gboolean has_params;
} EventSet;

static void
event_set_free (gpointer p)
{
  EventSet *s = p;
  if (s->events)
    g_bytes_unref (s->events);
  g_free (s);
}

/* A request: its number, its inputs and, for loads and saves, the caller's task. */
typedef struct {
  guint request;
  PfSimParams params;
  int64_t n;
  char *path;
  int64_t max_events;
  GCancellable *superseded; /* cancelled by a newer request (generations and loads) */
  GTask *outer;             /* the caller's task (loads, saves), NULL for generations */
  GBytes *events;           /* saves: what to write */
  int S;
  gboolean has_params;
} Job;

static void
job_free (gpointer p)
{
  Job *j = p;
  g_free (j->path);
  g_clear_object (&j->superseded);
  g_clear_object (&j->outer);
  if (j->events)
    g_bytes_unref (j->events);
  g_free (j);
}

static void
busy_add (PfSimController *c, int d)
{
  gboolean was = c->busy > 0;
  c->busy += d;
  if (was != (c->busy > 0))
    g_object_notify_by_pspec (G_OBJECT (c), props[PROP_BUSY]);
}

static gboolean
job_cancelled (Job *j, GTask *task, GError **error)
{
  if ((j->superseded && g_cancellable_is_cancelled (j->superseded))
      || g_task_return_error_if_cancelled (task))
    {
      g_set_error_literal (error, PF_ERROR, PF_ERROR_CANCELLED, _("Superseded by a newer request"));
      return TRUE;
    }
  return FALSE;
}

/* Returns error on task unless job_cancelled already returned the task's own cancellation. */
static void
return_error_once (GTask *task, GError *error)
{
  if (!g_task_had_error (task))
    g_task_return_error (task, error);
  else
    g_clear_error (&error);
}

/* ---- generation ---- */

static void
generate_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  Job *j = data;
  int S = j->params.image_size;
  size_t SS = (size_t) S * S;
  GError *error = NULL;
  if ((uint64_t) j->n > (G_MAXSIZE / sizeof (float)) / (PF_N_CHANNELS * SS))
    {
      g_task_return_new_error (task, PF_ERROR, PF_ERROR_INVALID,
                               _("%lld events of %dx%d do not fit in memory"),
                               (long long) j->n, S, S);
      return;
    }
  size_t total = (size_t) j->n * PF_N_CHANNELS * SS;
  float *all = g_try_malloc (total * sizeof (float));
  float *chunk = g_try_malloc ((size_t) GEN_CHUNK * PF_N_CHANNELS * SS * sizeof (float));
  if (!all || !chunk)
    {
      g_free (all);
      g_free (chunk);
      g_task_return_new_error (task, PF_ERROR, PF_ERROR_IO,
                               _("Cannot allocate %.2f GB for %lld events"),
                               total * 4.0 / 1e9, (long long) j->n);
      return;
    }
  for (int64_t first = 0; first < j->n; first += GEN_CHUNK)
    {
      if (job_cancelled (j, task, &error))
        {
          g_free (all);
          g_free (chunk);
          return_error_once (task, error);
          return;
        }
      int64_t k = MIN ((int64_t) GEN_CHUNK, j->n - first);
      pf_sim_run (&j->params, first, k, chunk, 0);
      for (int ch = 0; ch < PF_N_CHANNELS; ch++)
        memcpy (all + ((size_t) ch * j->n + first) * SS, chunk + (size_t) ch * k * SS,
                (size_t) k * SS * sizeof (float));
    }
  g_free (chunk);
  EventSet *s = g_new0 (EventSet, 1);
  s->events = g_bytes_new_take (all, total * sizeof (float));
  s->n = j->n;
  s->S = S;
  s->params = j->params;
  s->has_params = TRUE;
  g_task_return_pointer (task, s, event_set_free);
}

/* Owner thread: publishes a set when its request is still the newest. */
static gboolean
publish (PfSimController *c, guint request, EventSet *s)
{
  if (request != c->requested)
    return FALSE;
  g_mutex_lock (&c->lock);
  if (c->events)
    g_bytes_unref (c->events);
  c->events = g_bytes_ref (s->events);
  c->n = s->n;
  c->S = s->S;
  c->ev_params = s->params;
  c->ev_has_params = s->has_params;
  c->generation = request;
  g_mutex_unlock (&c->lock);
  g_clear_object (&c->inflight);
  g_object_notify_by_pspec (G_OBJECT (c), props[PROP_GENERATION]);
  g_signal_emit (c, signals[SIG_EVENTS_READY], 0, request);
  return TRUE;
}

static void
generate_done (GObject *source, GAsyncResult *res, gpointer data)
{
  PfSimController *c = PF_SIM_CONTROLLER (source);
  Job *j = g_task_get_task_data (G_TASK (res));
  GError *error = NULL;
  EventSet *s = g_task_propagate_pointer (G_TASK (res), &error);
  if (s)
    {
      publish (c, j->request, s);
      event_set_free (s);
    }
  else if (!g_error_matches (error, PF_ERROR, PF_ERROR_CANCELLED)
           && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) && j->request == c->requested)
    g_signal_emit (c, signals[SIG_ERROR], 0, error);
  g_clear_error (&error);
  busy_add (c, -1);
}

/* Starts request number ++requested, cancelling the one in flight; returns its job. */
static Job *
new_request (PfSimController *c)
{
  if (c->inflight)
    g_cancellable_cancel (c->inflight);
  g_clear_object (&c->inflight);
  c->inflight = g_cancellable_new ();
  Job *j = g_new0 (Job, 1);
  j->request = ++c->requested;
  j->superseded = g_object_ref (c->inflight);
  return j;
}

gboolean
pf_sim_controller_set_params_full (PfSimController *c, const PfSimParams *p, int64_t n_events,
                                   guint *generation, GError **error)
{
  g_return_val_if_fail (PF_IS_SIM_CONTROLLER (c), FALSE);
  if (n_events <= 0)
    {
      g_set_error (error, PF_ERROR, PF_ERROR_INVALID,
                   _("The number of events must be positive (got %lld)"), (long long) n_events);
      return FALSE;
    }
  if (!pf_sim_params_validate (p, error))
    return FALSE;
  c->params = *p;
  c->n_events = n_events;
  Job *j = new_request (c);
  j->params = *p;
  j->n = n_events;
  if (generation)
    *generation = j->request;
  GTask *task = g_task_new (c, NULL, generate_done, NULL);
  g_task_set_source_tag (task, pf_sim_controller_set_params_full);
  g_task_set_task_data (task, j, job_free);
  busy_add (c, 1);
  g_task_run_in_thread (task, generate_thread);
  g_object_unref (task);
  return TRUE;
}

gboolean
pf_sim_controller_set_params (PfSimController *c, const PfSimParams *p, guint *generation,
                              GError **error)
{
  return pf_sim_controller_set_params_full (c, p, c->n_events, generation, error);
}

void
pf_sim_controller_get_params (PfSimController *c, PfSimParams *out)
{
  *out = c->params;
}

/* ---- loading ---- */

static void
load_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  Job *j = data;
  GError *error = NULL;
  PfDataset *d = pf_dataset_open (j->path, &error);
  if (!d)
    {
      g_task_return_error (task, error);
      return;
    }
  int64_t n = pf_dataset_n_events (d);
  if (j->max_events > 0 && j->max_events < n)
    n = j->max_events;
  int S = pf_dataset_image_size (d);
  size_t SS = (size_t) S * S;
  float *all = NULL;
  if ((uint64_t) n <= (G_MAXSIZE / sizeof (float)) / (PF_N_CHANNELS * SS))
    all = g_try_malloc ((size_t) n * PF_N_CHANNELS * SS * sizeof (float));
  if (!all)
    {
      pf_dataset_close (d);
      g_task_return_new_error (task, PF_ERROR, PF_ERROR_IO,
                               _("%s: cannot allocate memory for %lld events"),
                               j->path, (long long) n);
      return;
    }
  /* channel by channel, so the `jet` channel of a jet set is not read */
  for (int ch = 0; ch < PF_N_CHANNELS; ch++)
    if (job_cancelled (j, task, &error)
        || !pf_dataset_read_channel (d, ch, 0, n, all + (size_t) ch * n * SS, &error))
      {
        pf_dataset_close (d);
        g_free (all);
        return_error_once (task, error);
        return;
      }
  EventSet *s = g_new0 (EventSet, 1);
  s->has_params = pf_dataset_params (d, &s->params);
  pf_dataset_close (d);
  s->events = g_bytes_new_take (all, (size_t) n * PF_N_CHANNELS * SS * sizeof (float));
  s->n = n;
  s->S = S;
  g_task_return_pointer (task, s, event_set_free);
}

/* Ends a load or save: the caller's task gets the result (and the error signal fires when no
 * callback will see the error), and the worker no longer counts as busy. */
static void
finish_outer (PfSimController *c, Job *j, GError *error)
{
  if (error && !GPOINTER_TO_INT (g_object_get_data (G_OBJECT (j->outer), "pf-has-callback")))
    g_signal_emit (c, signals[SIG_ERROR], 0, error);
  if (error)
    g_task_return_error (j->outer, error);
  else
    g_task_return_boolean (j->outer, TRUE);
  busy_add (c, -1);
}

static void
load_done (GObject *source, GAsyncResult *res, gpointer data)
{
  PfSimController *c = PF_SIM_CONTROLLER (source);
  Job *j = g_task_get_task_data (G_TASK (res));
  GError *error = NULL;
  EventSet *s = g_task_propagate_pointer (G_TASK (res), &error);
  if (s)
    {
      if (!publish (c, j->request, s))
        g_set_error_literal (&error, PF_ERROR, PF_ERROR_CANCELLED,
                             _("Superseded by a newer request"));
      else if (s->has_params)
        {
          c->params = s->params;
          c->n_events = s->n;
        }
      event_set_free (s);
    }
  finish_outer (c, j, error);
}

static GTask *
outer_task (PfSimController *c, GCancellable *cancellable, GAsyncReadyCallback callback,
            gpointer user_data, gpointer tag)
{
  GTask *outer = g_task_new (c, cancellable, callback, user_data);
  g_task_set_source_tag (outer, tag);
  g_object_set_data (G_OBJECT (outer), "pf-has-callback", GINT_TO_POINTER (callback != NULL));
  return outer;
}

void
pf_sim_controller_load_dataset (PfSimController *c, const char *path, int64_t max_events,
                                GCancellable *cancellable, GAsyncReadyCallback callback,
                                gpointer user_data)
{
  g_return_if_fail (PF_IS_SIM_CONTROLLER (c) && path);
  Job *j = new_request (c);
  j->path = g_strdup (path);
  j->max_events = max_events;
  j->outer = outer_task (c, cancellable, callback, user_data, pf_sim_controller_load_dataset);
  GTask *task = g_task_new (c, cancellable, load_done, NULL);
  g_task_set_task_data (task, j, job_free);
  busy_add (c, 1);
  g_task_run_in_thread (task, load_thread);
  g_object_unref (task);
}

gboolean
pf_sim_controller_load_dataset_finish (PfSimController *c, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, c), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* ---- saving ---- */

static void
save_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  Job *j = data;
  GError *error = NULL;
  PfDatasetWriter *w = pf_dataset_writer_new (j->path, j->has_params ? &j->params : NULL, j->S,
                                              PF_DATASET_DEFAULT_LEVEL, &error);
  if (!w || !pf_dataset_writer_append (w, j->n, g_bytes_get_data (j->events, NULL), &error))
    {
      pf_dataset_writer_abort (w);
      g_task_return_error (task, error);
      return;
    }
  if (g_task_return_error_if_cancelled (task))
    {
      pf_dataset_writer_abort (w);
      return;
    }
  if (!pf_dataset_writer_commit (w, &error))
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

static void
save_done (GObject *source, GAsyncResult *res, gpointer data)
{
  PfSimController *c = PF_SIM_CONTROLLER (source);
  Job *j = g_task_get_task_data (G_TASK (res));
  GError *error = NULL;
  g_task_propagate_boolean (G_TASK (res), &error);
  finish_outer (c, j, error);
}

void
pf_sim_controller_save_dataset (PfSimController *c, const char *path, GCancellable *cancellable,
                                GAsyncReadyCallback callback, gpointer user_data)
{
  g_return_if_fail (PF_IS_SIM_CONTROLLER (c) && path);
  Job *j = g_new0 (Job, 1);
  j->path = g_strdup (path);
  j->outer = outer_task (c, cancellable, callback, user_data, pf_sim_controller_save_dataset);
  g_mutex_lock (&c->lock);
  if (c->events)
    {
      j->events = g_bytes_ref (c->events);
      j->n = c->n;
      j->S = c->S;
      j->params = c->ev_params;
      j->has_params = c->ev_has_params;
    }
  g_mutex_unlock (&c->lock);
  GTask *task = g_task_new (c, cancellable, save_done, NULL);
  g_task_set_task_data (task, j, job_free);
  busy_add (c, 1);
  if (!j->events)
    g_task_return_new_error (task, PF_ERROR, PF_ERROR_INVALID, _("%s: no events to save yet"), path);
  else
    g_task_run_in_thread (task, save_thread);
  g_object_unref (task);
}

gboolean
pf_sim_controller_save_dataset_finish (PfSimController *c, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, c), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* ---- published events ---- */

guint
pf_sim_controller_get_generation (PfSimController *c)
{
  g_mutex_lock (&c->lock);
  guint g = c->generation;
  g_mutex_unlock (&c->lock);
  return g;
}

int64_t
pf_sim_controller_get_n_events (PfSimController *c)
{
  g_mutex_lock (&c->lock);
  int64_t n = c->n;
  g_mutex_unlock (&c->lock);
  return n;
}

int
pf_sim_controller_get_image_size (PfSimController *c)
{
  g_mutex_lock (&c->lock);
  int S = c->events ? c->S : c->params.image_size;
  g_mutex_unlock (&c->lock);
  return S;
}

gboolean
pf_sim_controller_get_event_params (PfSimController *c, PfSimParams *out)
{
  g_mutex_lock (&c->lock);
  gboolean has = c->events && c->ev_has_params;
  if (has)
    *out = c->ev_params;
  g_mutex_unlock (&c->lock);
  return has;
}

gboolean
pf_sim_controller_get_event (PfSimController *c, int64_t k, float *out5, guint *generation)
{
  g_return_val_if_fail (PF_IS_SIM_CONTROLLER (c) && out5, FALSE);
  g_mutex_lock (&c->lock);
  gboolean ok = c->events && k >= 0 && k < c->n;
  if (ok)
    {
      size_t SS = (size_t) c->S * c->S;
      const float *all = g_bytes_get_data (c->events, NULL);
      for (int ch = 0; ch < PF_N_CHANNELS; ch++)
        memcpy (out5 + ch * SS, all + ((size_t) ch * c->n + k) * SS, SS * sizeof (float));
      if (generation)
        *generation = c->generation;
    }
  g_mutex_unlock (&c->lock);
  return ok;
}

GBytes *
pf_sim_controller_ref_events (PfSimController *c, int64_t *n, int *image_size)
{
  g_mutex_lock (&c->lock);
  GBytes *b = c->events ? g_bytes_ref (c->events) : NULL;
  if (n)
    *n = c->n;
  if (image_size)
    *image_size = c->S;
  g_mutex_unlock (&c->lock);
  return b;
}

gboolean
pf_sim_controller_get_busy (PfSimController *c)
{
  return c->busy > 0;
}

/* ---- GObject ---- */

static void
pf_sim_controller_get_property (GObject *object, guint id, GValue *value, GParamSpec *pspec)
{
  PfSimController *c = PF_SIM_CONTROLLER (object);
  switch (id)
    {
    case PROP_BUSY:
      g_value_set_boolean (value, c->busy > 0);
      break;
    case PROP_GENERATION:
      g_value_set_uint (value, pf_sim_controller_get_generation (c));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, id, pspec);
    }
}

static void
pf_sim_controller_dispose (GObject *object)
{
  PfSimController *c = PF_SIM_CONTROLLER (object);
  /* workers in flight hold a reference through their GTask: nothing runs after finalize */
  if (c->inflight)
    g_cancellable_cancel (c->inflight);
  g_clear_object (&c->inflight);
  G_OBJECT_CLASS (pf_sim_controller_parent_class)->dispose (object);
}

static void
pf_sim_controller_finalize (GObject *object)
{
  PfSimController *c = PF_SIM_CONTROLLER (object);
  if (c->events)
    g_bytes_unref (c->events);
  g_mutex_clear (&c->lock);
  G_OBJECT_CLASS (pf_sim_controller_parent_class)->finalize (object);
}

static void
pf_sim_controller_class_init (PfSimControllerClass *klass)
{
  GObjectClass *oc = G_OBJECT_CLASS (klass);
  oc->get_property = pf_sim_controller_get_property;
  oc->dispose = pf_sim_controller_dispose;
  oc->finalize = pf_sim_controller_finalize;
  props[PROP_BUSY] = g_param_spec_boolean ("busy", NULL, NULL, FALSE,
                                           G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  props[PROP_GENERATION] = g_param_spec_uint ("generation", NULL, NULL, 0, G_MAXUINT, 0,
                                              G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (oc, N_PROPS, props);
  signals[SIG_EVENTS_READY] = g_signal_new ("events-ready", G_TYPE_FROM_CLASS (klass),
                                            G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                            G_TYPE_NONE, 1, G_TYPE_UINT);
  signals[SIG_ERROR] = g_signal_new ("error", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                     NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_ERROR);
}

static void
pf_sim_controller_init (PfSimController *c)
{
  g_mutex_init (&c->lock);
  pf_sim_params_init_default (&c->params);
  c->n_events = 100;
}

PfSimController *
pf_sim_controller_new (int64_t n_events)
{
  PfSimController *c = g_object_new (PF_TYPE_SIM_CONTROLLER, NULL);
  if (n_events > 0)
    c->n_events = n_events;
  return c;
}
