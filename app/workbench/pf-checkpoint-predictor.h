/* pf-checkpoint-predictor.h — a checkpoint opened from disk, predicting one event at a time off
 * the UI thread (GLib/GIO only).
 *
 * It wraps a PfPredictor (core/train/pf-predictor.h), which is not thread-safe: every run takes
 * the object's lock, so two workers never run the same predictor at once. Each worker holds a
 * reference to the object (the GTask's source object), so the predictor is freed only when the
 * last run using it has returned, even when its owner let it go meanwhile (a second checkpoint
 * opened, the window closed). pf_checkpoint_predictor_close waits for the run in flight and
 * refuses later ones (the application's shutdown: no inference outlives the main loop).
 *
 * The lock makes any caller safe; the workbench also keeps at most one prediction in flight and
 * re-issues only the newest request when it returns, so stale events never queue up on it. */
#pragma once
#include <gio/gio.h>
#include "pf-checkpoint.h"
#include "pf-trainer.h"

G_BEGIN_DECLS

#define PF_TYPE_CHECKPOINT_PREDICTOR (pf_checkpoint_predictor_get_type ())
G_DECLARE_FINAL_TYPE (PfCheckpointPredictor, pf_checkpoint_predictor, PF, CHECKPOINT_PREDICTOR, GObject)

/* Reads and validates the checkpoint and builds its batch-1 CPU inference graph, on the
 * caller's thread; the error names the file. */
PfCheckpointPredictor *pf_checkpoint_predictor_new (const char *path, GError **error);
/* The same on a GTask worker. */
void pf_checkpoint_predictor_new_async (const char *path, GCancellable *cancellable,
                                        GAsyncReadyCallback callback, gpointer user_data);
PfCheckpointPredictor *pf_checkpoint_predictor_new_finish (GAsyncResult *result, GError **error);

const char *pf_checkpoint_predictor_get_path (PfCheckpointPredictor *self);
const PfCheckpointInfo *pf_checkpoint_predictor_get_info (PfCheckpointPredictor *self);
/* The checkpoint's per-epoch training log as PfTrainLogRow (pf-trainer.h), taken from the info's
 * table by column name when the predictor is built (so on the worker of _new_async: reading it
 * costs the UI thread no file I/O). Empty when the file has no log; rows whose epoch is not a
 * whole number >= 1 are left out. Transfer none; it never changes. */
GArray *pf_checkpoint_predictor_get_log (PfCheckpointPredictor *self);
/* S: the model takes and gives S x S images. */
int pf_checkpoint_predictor_get_image_size (PfCheckpointPredictor *self);

/* inputs4: the four input channels of one event (emcal, hcal, trk_n, trk_p), 4 * S * S floats in
 * GeV, S = pf_checkpoint_predictor_get_image_size; pred: S * S floats. Runs on the caller's
 * thread under the object's lock. G_IO_ERROR_CLOSED after pf_checkpoint_predictor_close. */
gboolean pf_checkpoint_predictor_run (PfCheckpointPredictor *self, const float *inputs4,
                                      float *pred, GError **error);
/* The same on a GTask worker (inputs4 is copied). A request whose cancellable was cancelled
 * before the worker started is not run; one cancelled while it ran still ends (a batch-1
 * inference cannot be interrupted) and finishes with G_IO_ERROR_CANCELLED. */
void pf_checkpoint_predictor_predict_async (PfCheckpointPredictor *self, const float *inputs4,
                                            GCancellable *cancellable,
                                            GAsyncReadyCallback callback, gpointer user_data);
/* S * S floats (g_free), or NULL with the error. */
float *pf_checkpoint_predictor_predict_finish (PfCheckpointPredictor *self, GAsyncResult *result,
                                               GError **error);

/* Waits for the run in flight (if any); later runs fail with G_IO_ERROR_CLOSED. Idempotent. */
void pf_checkpoint_predictor_close (PfCheckpointPredictor *self);

G_END_DECLS
