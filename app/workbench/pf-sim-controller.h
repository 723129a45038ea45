/* pf-sim-controller.h — the simulator of the workbench, off the UI thread (GLib/GIO only).
 *
 * Holds simulator parameters and the N events generated from them (or loaded from a dataset).
 * Every change of parameters starts a new generation on a worker thread and cancels the one in
 * flight, so dragging a slider never queues stale work; only the newest generation is published
 * and announced. Signals are emitted on the main context that was the thread-default one of the
 * thread that created the controller; call the methods from that thread too (the getters that
 * say so may be called from any thread).
 *
 * Events are kept channel-major as pf_sim_run writes them, in an immutable GBytes swapped under a
 * mutex: a reader copies (or references) one consistent generation, never a half-written one. */
#pragma once
#include <gio/gio.h>
#include "pf-sim.h"

G_BEGIN_DECLS

#define PF_TYPE_SIM_CONTROLLER (pf_sim_controller_get_type ())
G_DECLARE_FINAL_TYPE (PfSimController, pf_sim_controller, PF, SIM_CONTROLLER, GObject)

/* n_events > 0: events kept in memory (62.7 KB each at 56x56). Nothing is generated before the
 * first pf_sim_controller_set_params (or a load). */
PfSimController *pf_sim_controller_new (int64_t n_events);

/* Validates p (FALSE with the validator's error, nothing changes) and starts generating
 * n-events events from it on a worker thread, cancelling any generation in flight. Returns the
 * generation number the "events-ready" signal will carry when this request completes. */
gboolean pf_sim_controller_set_params (PfSimController *c, const PfSimParams *p,
                                       guint *generation, GError **error);
/* The same with a new event count (> 0). */
gboolean pf_sim_controller_set_params_full (PfSimController *c, const PfSimParams *p,
                                            int64_t n_events, guint *generation,
                                            GError **error);
/* The parameters of the latest request (not necessarily generated yet). */
void pf_sim_controller_get_params (PfSimController *c, PfSimParams *out);

/* ---- the published events; these may be called from any thread ---- */

/* Generation of the events now held (0: none yet). */
guint pf_sim_controller_get_generation (PfSimController *c);
int64_t pf_sim_controller_get_n_events (PfSimController *c);
int pf_sim_controller_get_image_size (PfSimController *c);
/* The parameters the held events were made with; FALSE when they have none (a TIFF import). */
gboolean pf_sim_controller_get_event_params (PfSimController *c, PfSimParams *out);
/* Copies event k as 5 x S x S floats (emcal, hcal, trk_n, trk_p, truth; rows = eta), GeV.
 * out5 holds 5 * S * S floats for the S of pf_sim_controller_get_image_size. FALSE when k is
 * out of range or no events are held yet. generation (may be NULL) gets the generation copied. */
gboolean pf_sim_controller_get_event (PfSimController *c, int64_t k, float *out5,
                                      guint *generation);
/* The held events, channel-major (PF_N_CHANNELS * n * S * S floats), a new reference; NULL when
 * none. */
GBytes *pf_sim_controller_ref_events (PfSimController *c, int64_t *n, int *image_size);

/* TRUE while a generation, load or save is in flight (property "busy"). */
gboolean pf_sim_controller_get_busy (PfSimController *c);

/* ---- datasets (core/data), asynchronous ---- */

/* Reads the first max_events events (<= 0: all) of a pflow dataset on a worker thread; on
 * success they replace the held events (a new generation, announced by "events-ready"), with
 * the file's simulator parameters when it has them. A generation in flight is cancelled. */
void pf_sim_controller_load_dataset (PfSimController *c, const char *path, int64_t max_events,
                                     GCancellable *cancellable, GAsyncReadyCallback callback,
                                     gpointer user_data);
gboolean pf_sim_controller_load_dataset_finish (PfSimController *c, GAsyncResult *result,
                                                GError **error);
/* Writes the held events to path (atomically, through pf_dataset_writer) on a worker thread.
 * Fails with PF_ERROR_INVALID when no events are held. */
void pf_sim_controller_save_dataset (PfSimController *c, const char *path,
                                     GCancellable *cancellable, GAsyncReadyCallback callback,
                                     gpointer user_data);
gboolean pf_sim_controller_save_dataset_finish (PfSimController *c, GAsyncResult *result,
                                                GError **error);

/* Signals:
 *   "events-ready" (guint generation): new events are held (generation or load).
 *   "error" (GError *error): a background failure nobody else hears of: a generation that
 *       could not allocate its events, or a load/save started without a callback. */

G_END_DECLS
