/* pf-checkpoint-predictor.c — see pf-checkpoint-predictor.h. */
#include <errno.h>
#include <math.h>
#include <string.h>
#include "pf-checkpoint-predictor.h"
#include "pf-predictor.h"
#include "pf-train-log.h"

struct _PfCheckpointPredictor
{
  GObject parent_instance;

  char *path;
  PfPredictor *predictor;   /* not thread-safe: used only under lock */
  GArray *log;              /* PfTrainLogRow, built with the predictor; never changes */
  GMutex lock;
  gboolean closed;          /* under lock */
};

G_DEFINE_FINAL_TYPE (PfCheckpointPredictor, pf_checkpoint_predictor, G_TYPE_OBJECT)

static void
pf_checkpoint_predictor_finalize (GObject *object)
{
  PfCheckpointPredictor *self = PF_CHECKPOINT_PREDICTOR (object);
  /* The last reference: no worker holds the object any more, so none runs the predictor. */
  g_clear_pointer (&self->predictor, pf_predictor_free);
  g_clear_pointer (&self->log, g_array_unref);
  g_free (self->path);
  g_mutex_clear (&self->lock);
  G_OBJECT_CLASS (pf_checkpoint_predictor_parent_class)->finalize (object);
}

static void
pf_checkpoint_predictor_class_init (PfCheckpointPredictorClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = pf_checkpoint_predictor_finalize;
}

static void
pf_checkpoint_predictor_init (PfCheckpointPredictor *self)
{
  g_mutex_init (&self->lock);
}

/* The checkpoint's log table as rows, each column found by its name in `columns` (a file
 * written by another version may order them otherwise or lack some). The table is untrusted: a
 * row whose epoch is not a whole number >= 1 is left out, an n_train_used that is not a whole
 * number >= 0 reads 0, a column the file lacks reads NaN (0 and FALSE for n_train_used and
 * best). */
static GArray *
log_from_info (const PfCheckpointInfo *info)
{
  static const char *const names[PF_TRAIN_LOG_COLS] = {
    "epoch", "train_loss", "val_loss", "lr", "seconds", "train_mse", "train_wmse", "train_ssim",
    "val_mse", "val_wmse", "val_ssim", "n_train_used", "best" };
  GArray *log = g_array_new (FALSE, TRUE, sizeof (PfTrainLogRow));
  if (!info->log || info->log_rows <= 0 || info->log_cols <= 0)
    return log;
  int idx[PF_TRAIN_LOG_COLS];
  char **cols = g_strsplit (info->log_columns ? info->log_columns : "", ",", -1);
  for (int k = 0; k < PF_TRAIN_LOG_COLS; k++)
    {
      idx[k] = -1;
      for (int c = 0; cols[c] && c < info->log_cols && idx[k] < 0; c++)
        if (!strcmp (g_strstrip (cols[c]), names[k]))
          idx[k] = c;
    }
  g_strfreev (cols);
  if (idx[0] < 0)
    return log;   /* no epoch column: nothing to place the values at */
  for (int r = 0; r < info->log_rows; r++)
    {
      const double *in = info->log + (size_t) r * info->log_cols;
      double v[PF_TRAIN_LOG_COLS];
      for (int k = 0; k < PF_TRAIN_LOG_COLS; k++)
        v[k] = idx[k] >= 0 ? in[idx[k]] : NAN;
      if (!(v[0] >= 1 && v[0] <= G_MAXINT && v[0] == floor (v[0])))
        continue;
      if (!(v[11] >= 0 && v[11] <= (double) (G_MAXINT64 / 2) && v[11] == floor (v[11])))
        v[11] = 0;
      if (isnan (v[12]))
        v[12] = 0;
      PfTrainLogRow row;
      pf_train_log_row_from_doubles (v, &row);
      g_array_append_val (log, row);
    }
  return log;
}

PfCheckpointPredictor *
pf_checkpoint_predictor_new (const char *path, GError **error)
{
  g_return_val_if_fail (path != NULL, NULL);
  PfPredictor *p = pf_predictor_new (path, 1, error);
  if (!p)
    return NULL;
  PfCheckpointPredictor *self = g_object_new (PF_TYPE_CHECKPOINT_PREDICTOR, NULL);
  self->path = g_strdup (path);
  self->predictor = p;
  self->log = log_from_info (pf_predictor_info (p));
  return self;
}

static void
open_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  GError *error = NULL;
  PfCheckpointPredictor *self = pf_checkpoint_predictor_new (data, &error);
  if (!self)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, self, g_object_unref);
}

void
pf_checkpoint_predictor_new_async (const char *path, GCancellable *cancellable,
                                   GAsyncReadyCallback callback, gpointer user_data)
{
  g_return_if_fail (path != NULL);
  GTask *task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, pf_checkpoint_predictor_new_async);
  g_task_set_name (task, "pf_checkpoint_predictor_new_async");
  g_task_set_task_data (task, g_strdup (path), g_free);
  g_task_run_in_thread (task, open_thread);
  g_object_unref (task);
}

PfCheckpointPredictor *
pf_checkpoint_predictor_new_finish (GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

const char *
pf_checkpoint_predictor_get_path (PfCheckpointPredictor *self)
{
  g_return_val_if_fail (PF_IS_CHECKPOINT_PREDICTOR (self), NULL);
  return self->path;
}

/* The info and the size are set when the predictor is built and never change: no lock. */
const PfCheckpointInfo *
pf_checkpoint_predictor_get_info (PfCheckpointPredictor *self)
{
  g_return_val_if_fail (PF_IS_CHECKPOINT_PREDICTOR (self), NULL);
  return pf_predictor_info (self->predictor);
}

GArray *
pf_checkpoint_predictor_get_log (PfCheckpointPredictor *self)
{
  g_return_val_if_fail (PF_IS_CHECKPOINT_PREDICTOR (self), NULL);
  return self->log;
}

int
pf_checkpoint_predictor_get_image_size (PfCheckpointPredictor *self)
{
  g_return_val_if_fail (PF_IS_CHECKPOINT_PREDICTOR (self), 0);
  return pf_predictor_image_size (self->predictor);
}

gboolean
pf_checkpoint_predictor_run (PfCheckpointPredictor *self, const float *inputs4, float *pred,
                             GError **error)
{
  g_return_val_if_fail (PF_IS_CHECKPOINT_PREDICTOR (self) && inputs4 && pred, FALSE);
  g_mutex_lock (&self->lock);
  gboolean ok = FALSE;
  if (self->closed)
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_CLOSED, "%s: %s", self->path, g_strerror (ECANCELED));
  else
    ok = pf_predictor_run (self->predictor, inputs4, 1, pred, error);
  g_mutex_unlock (&self->lock);
  return ok;
}

static void
predict_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  PfCheckpointPredictor *self = source;
  GError *error = NULL;
  if (g_task_return_error_if_cancelled (task))
    return;   /* a newer request replaced it before it started */
  int S = pf_predictor_image_size (self->predictor);
  float *pred = g_new (float, (gsize) S * S);
  if (!pf_checkpoint_predictor_run (self, data, pred, &error))
    {
      g_free (pred);
      g_task_return_error (task, error);
      return;
    }
  g_task_return_pointer (task, pred, g_free);
}

void
pf_checkpoint_predictor_predict_async (PfCheckpointPredictor *self, const float *inputs4,
                                       GCancellable *cancellable, GAsyncReadyCallback callback,
                                       gpointer user_data)
{
  g_return_if_fail (PF_IS_CHECKPOINT_PREDICTOR (self) && inputs4);
  int S = pf_predictor_image_size (self->predictor);
  /* the task holds a reference on self until it is finalized: the predictor outlives the run */
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, pf_checkpoint_predictor_predict_async);
  g_task_set_name (task, "pf_checkpoint_predictor_predict_async");
  g_task_set_task_data (task, g_memdup2 (inputs4, (gsize) 4 * S * S * sizeof (float)), g_free);
  g_task_run_in_thread (task, predict_thread);
  g_object_unref (task);
}

float *
pf_checkpoint_predictor_predict_finish (PfCheckpointPredictor *self, GAsyncResult *result,
                                        GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

void
pf_checkpoint_predictor_close (PfCheckpointPredictor *self)
{
  g_return_if_fail (PF_IS_CHECKPOINT_PREDICTOR (self));
  g_mutex_lock (&self->lock);   /* waits for a run in flight */
  self->closed = TRUE;
  g_mutex_unlock (&self->lock);
}
