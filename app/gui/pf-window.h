/* pf-window.h — the main window of the pflow workbench.
 *
 * Seven PfCaloView panes (Emcal, Hcal, Tracker_n, Tracker_p, Truth, Prediction, Residual) and
 * the loss plot, with the event, simulation and training controls in a side panel. The window
 * owns a PfSimController, a PfTrainController and a PfRunStore; it never simulates, trains or
 * touches a file on the UI thread. */
#pragma once
#include <gtk/gtk.h>

G_BEGIN_DECLS

#define PF_TYPE_WINDOW (pf_window_get_type ())
G_DECLARE_FINAL_TYPE (PfWindow, pf_window, PF, WINDOW, GtkApplicationWindow)

/* settings may be NULL (preferences are then not persisted). n_events <= 0: the settings'. */
PfWindow *pf_window_new (GtkApplication *app, GSettings *settings, int n_events);

/* The same code path as File ▸ Open Dataset: reads the file on a worker thread; a failure is
 * shown in the window's banner. */
void pf_window_open_dataset (PfWindow *self, GFile *file);

/* The same code path as File ▸ Open Checkpoint: the checkpoint is read on a worker thread, then
 * the Prediction pane shows its predictions (when no run is training); a failure is shown in
 * the banner (with --screenshot: on stderr, and the application quits with status 1). */
void pf_window_open_checkpoint (PfWindow *self, GFile *file);
/* Shows event `event` (0-based). Called before the events are there (or while a dataset is
 * loading), the events start there once they come; an event past the last shows the last one
 * and an error (with --screenshot: on stderr, exit status 1). */
void pf_window_set_event (PfWindow *self, gint64 event);
/* The "Show jets" toggle, for this window only: the setting it is bound to is left as it is. */
void pf_window_set_show_jets (PfWindow *self, gboolean show);

/* The banner's message when it is shown, else NULL. */
const char *pf_window_get_banner_message (PfWindow *self);
/* Generation of the events shown (0 before the first). */
guint pf_window_get_generation (PfWindow *self);

/* --screenshot: once events are shown (a dataset opened, a checkpoint opened and its prediction
 * of the event shown, the jets when they are on; with train_steps > 0, that many training
 * batches ran and the prediction is drawn) the window is rendered to a PNG at path and the
 * application quits (exit status 1 when the PNG could not be written, or when opening the
 * dataset or the checkpoint, or the prediction, failed: the error goes to stderr). */
void pf_window_set_screenshot (PfWindow *self, const char *path, int train_steps);
/* --measure-frames: trains for `seconds`, records GdkFrameClock frame times, prints their
 * percentiles on stdout and quits. */
void pf_window_set_measure_frames (PfWindow *self, double seconds);
/* Stops and waits for the window's background work (the application's shutdown). */
void pf_window_shutdown (PfWindow *self);

G_END_DECLS
