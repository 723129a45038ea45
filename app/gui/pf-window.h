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

/* The banner's message when it is shown, else NULL. */
const char *pf_window_get_banner_message (PfWindow *self);
/* Generation of the events shown (0 before the first). */
guint pf_window_get_generation (PfWindow *self);

/* --screenshot: once events are shown (and, with train_steps > 0, that many training batches
 * ran and the prediction is drawn) the window is rendered to a PNG at path and the application
 * quits (exit status 1 when the PNG could not be written). */
void pf_window_set_screenshot (PfWindow *self, const char *path, int train_steps);
/* --measure-frames: trains for `seconds`, records GdkFrameClock frame times, prints their
 * percentiles on stdout and quits. */
void pf_window_set_measure_frames (PfWindow *self, double seconds);
/* Stops and waits for the window's background work (the application's shutdown). */
void pf_window_shutdown (PfWindow *self);

G_END_DECLS
