/* pf-train-controller.h — training off the UI thread (GLib/GIO only).
 *
 * pf_trainer runs on a worker thread. Its callbacks (on that thread) push messages into a
 * GAsyncQueue; one GSource on the owner's main context (the thread-default context of the thread
 * that created the controller; call the methods from that thread) drains it, at most every
 * PF_TRAIN_CONTROLLER_DRAIN_MS, and never once per batch: the batches a drain finds are folded
 * into one "batch" signal (the newest step, the mean of their losses), flushed before any epoch
 * row so the order of events is kept.
 *
 * Pause waits on a GCond in the trainer's batch callback (between batches); stop sets the
 * trainer's cancel flag, which saves last.h5 at the batch it stopped at (resumable).
 *
 * Predictions while training: the training thread copies the parameters and buffers of its graph
 * to host memory after every epoch, at most every PF_TRAIN_CONTROLLER_SNAPSHOT_S seconds during
 * an epoch, and once at the end (the best weights, as the trainer hands them back), and announces
 * it with "weights". pf_train_controller_predict runs on the CALLER's thread: a batch-1 CPU
 * inference graph of the same model and scale, built on first use, refreshed from the newest
 * snapshot, with the run's normalisation. pf_train_controller_predict_async runs the same on a
 * GTask worker: a batch-1 inference still takes 1-16 ms on a CPU that training keeps busy, too
 * long for the UI thread (the workbench uses the async form). The predictor has its own lock, so
 * the getters below never wait for an inference in flight. */
#pragma once
#include <gio/gio.h>
#include "pf-trainer.h"

G_BEGIN_DECLS

#define PF_TRAIN_CONTROLLER_DRAIN_MS 33
#define PF_TRAIN_CONTROLLER_SNAPSHOT_S 2.0

typedef enum {
  PF_TRAIN_STATE_IDLE,
  PF_TRAIN_STATE_RUNNING,
  PF_TRAIN_STATE_PAUSED,
  PF_TRAIN_STATE_STOPPING,
  PF_TRAIN_STATE_FINISHED,
  PF_TRAIN_STATE_FAILED,
} PfTrainState;

GType pf_train_state_get_type (void);
#define PF_TYPE_TRAIN_STATE (pf_train_state_get_type ())

#define PF_TYPE_TRAIN_CONTROLLER (pf_train_controller_get_type ())
G_DECLARE_FINAL_TYPE (PfTrainController, pf_train_controller, PF, TRAIN_CONTROLLER, GObject)

PfTrainController *pf_train_controller_new (void);

/* Starts a run (the options and their strings are copied). FALSE with PF_ERROR_INVALID when a
 * run is in flight (running, paused or stopping). Errors of the run itself (a missing dataset,
 * divergence) arrive with "finished". */
gboolean pf_train_controller_start (PfTrainController *c, const PfTrainOptions *o,
                                    GError **error);
/* The training thread waits before its next batch until resume or stop. The state becomes
 * PAUSED when it does; no "batch" signal arrives while PAUSED. */
void pf_train_controller_pause (PfTrainController *c);
void pf_train_controller_resume (PfTrainController *c);
/* Asks the trainer to stop (state STOPPING): it saves last.h5 and "finished" follows with a NULL
 * error and state FINISHED (pf_train_controller_get_stopped says it was stopped). */
void pf_train_controller_stop (PfTrainController *c);
/* Stops a run in flight (last.h5 is saved) and waits for its thread: before the process exits,
 * a training thread must not outlive the libraries it runs in (oneDNN's JIT code goes with
 * the exit handlers). */
void pf_train_controller_shutdown (PfTrainController *c);
/* The MIX weight, used from the next batch on. May be called before start (applies to the next
 * run) or while training. */
void pf_train_controller_set_lambda (PfTrainController *c, double lambda);
double pf_train_controller_get_lambda (PfTrainController *c);

PfTrainState pf_train_controller_get_state (PfTrainController *c);

/* ---- what the main context has heard so far (valid until the next start) ---- */

/* The resolved settings (batch, lr... after defaults), after "started"; NULL before. */
const PfTrainOptions *pf_train_controller_get_options (PfTrainController *c);
/* Every epoch row received (PfTrainLogRow). */
GArray *pf_train_controller_get_log (PfTrainController *c);
/* Batches done and in total of the current epoch, as of the last "batch" signal. */
void pf_train_controller_get_progress (PfTrainController *c, int *done, int *total);
gboolean pf_train_controller_get_stopped (PfTrainController *c);
/* After "finished": the trainer's result (paths, best epoch and loss). */
const PfTrainResult *pf_train_controller_get_result (PfTrainController *c);
/* The normalisation constants of the run (known once "weights" was first emitted). */
gboolean pf_train_controller_get_norm (PfTrainController *c, double *norm_min, double *norm_max);

/* ---- from any thread ---- */

/* Steps (Adam's t) the training thread has completed and queued for the owner. */
int64_t pf_train_controller_get_steps_done (PfTrainController *c);
/* Number of the newest weights snapshot (0: none yet). */
guint pf_train_controller_get_weights_serial (PfTrainController *c);

/* Predicts the truth image of one event: inputs4 = 4 x S x S floats (emcal, hcal, trk_n, trk_p,
 * GeV; the first four images of pf_sim_controller_get_event), pred = S x S floats, GeV. Runs on
 * the calling thread (calls are serialised) with the newest snapshot; serial (may be NULL) gets
 * its number. FALSE with PF_ERROR_INVALID when there is no snapshot yet, PF_ERROR_SHAPE when S
 * is not the run's image size, PF_ERROR_NUMERIC on non-finite inputs. */
gboolean pf_train_controller_predict (PfTrainController *c, const float *inputs4, int S,
                                      float *pred, guint *serial, GError **error);
/* The same on a worker thread (inputs4 is copied). Call from the owner's thread; the callback
 * runs on its thread-default context. _finish returns S x S floats (g_free) or NULL with the
 * error of pf_train_controller_predict, or G_IO_ERROR_CANCELLED. */
void pf_train_controller_predict_async (PfTrainController *c, const float *inputs4, int S,
                                        GCancellable *cancellable, GAsyncReadyCallback callback,
                                        gpointer user_data);
float *pf_train_controller_predict_finish (PfTrainController *c, GAsyncResult *result,
                                           guint *serial, GError **error);

/* Signals (all on the owner's main context):
 *   "started" (gint64 n_train, gint64 n_val, gint64 n_test): the trainer resolved its settings.
 *   "batch" (gint64 step, gint epoch, gdouble seconds, gdouble loss): training progress; step is
 *       Adam's global step, epoch 1-based, seconds of training (pauses excluded) since start,
 *       loss the mean batch loss over the steps since the previous "batch".
 *   "epoch" (gpointer row): a const PfTrainLogRow *, valid during the emission.
 *   "weights" (guint serial): a new snapshot for pf_train_controller_predict.
 *   "finished" (GError *error): NULL on completion or stop; the error on failure (state FAILED;
 *       divergence is PF_ERROR_NUMERIC). */

G_END_DECLS
