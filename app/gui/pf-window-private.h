/* pf-window-private.h — the workbench window's state, shared by the files that implement it.
 *
 * pf-window.c holds the panes, hover, jets, navigation and the banner; pf-window-files.c the
 * file actions (datasets, TIFF import, checkpoints, figures, CSV); pf-window-train.c the
 * training glue (controller signals, loss plot and a checkpoint's curve on it, runs overlay,
 * Prediction pane). Everything here runs on the UI thread; slow work goes through the
 * controllers or a GTask. */
#pragma once
#include <gtk/gtk.h>
#include "pf-window.h"
#include "pf-calo-view.h"
#include "pf-loss-plot.h"
#include "pf-sim-controller.h"
#include "pf-train-controller.h"
#include "pf-run-store.h"
#include "pf-checkpoint-predictor.h"
#include "pf-sim-panel.h"
#include "pf-train-panel.h"
#include "pf-runs-view.h"

G_BEGIN_DECLS

enum {
  PF_PANE_EMCAL,
  PF_PANE_HCAL,
  PF_PANE_TRK_N,
  PF_PANE_TRK_P,
  PF_PANE_TRUTH,
  PF_PANE_PREDICTION,
  PF_PANE_RESIDUAL,
  PF_N_PANES
};

struct _PfWindow
{
  GtkApplicationWindow parent_instance;

  /* template children */
  PfCaloView *panes[PF_N_PANES];
  PfLossPlot *loss_plot;
  GtkLabel *status_label;
  GtkLabel *summary_label;
  GtkLabel *jet_label;
  GtkLabel *event_label;
  GtkLabel *train_status_label;
  GtkRevealer *banner;
  GtkLabel *banner_label;
  GtkWidget *banner_box;
  GtkToggleButton *log_toggle;
  GtkToggleButton *shared_toggle;
  GtkToggleButton *jets_toggle;
  GtkToggleButton *slideshow_toggle;
  GtkSpinButton *threshold_spin;
  GtkSpinButton *event_spin;
  GtkDropDown *xaxis_dropdown;
  GtkToggleButton *logy_toggle;
  GtkScale *smoothing_scale;
  GtkProgressBar *progress;
  PfSimPanel *sim_panel;
  PfTrainPanel *train_panel;
  PfRunsView *runs_view;

  /* controllers */
  PfSimController *sim;
  PfTrainController *train;
  PfRunStore *runs;
  GSettings *settings;            /* NULL when the schema is not installed */

  /* the event shown */
  int64_t event;
  int64_t n_events;
  int size;                       /* S */
  float *ev;                      /* 5 * S * S: emcal, hcal, trk_n, trk_p, truth */
  float *pred;                    /* S * S */
  float *resid;                   /* S * S */
  gboolean have_pred;
  GCancellable *pred_cancel;      /* the newest prediction request, NULL when none */
  gboolean pred_pending;          /* a prediction of the event shown is on its way */
  guint generation;
  char *dataset_path;             /* the file the held events came from, NULL after a generation */
  guint dataset_generation;       /* the generation dataset_path holds */
  gboolean loading;
  int64_t start_event;            /* pf_window_set_event: where the next events start, -1 none */

  /* a checkpoint opened from disk (predictions when no run is training); its batch-1 runs go
   * to a worker one at a time: while one runs, only the newest request waits (ckpt_again) */
  PfCheckpointPredictor *ckpt;
  GCancellable *ckpt_open_cancel; /* a checkpoint being read, NULL when none */
  gboolean ckpt_busy;             /* a run of ckpt is on a worker */
  gboolean ckpt_again;            /* ... and the event shown wants another when it returns */

  /* jets of the event shown */
  GCancellable *jets_cancel;
  gboolean jets_pending;          /* the jets of the images shown are being clustered */
  GArray *truth_jets;             /* PfJetCircle */
  GArray *pred_jets;
  int selected_jet;

  guint slideshow_id;

  /* training */
  char *train_data_path;          /* the dataset the current run reads */
  char *train_device;             /* the device it runs on, in words */
  PfRun *run;                     /* the run in flight (owned by the store too) */
  int series_batch, series_train, series_val; /* -1 when the plot has no such series */
  double epoch_steps;             /* the run's epochs' batches summed: the step of its epoch points */
  int run_batch;                  /* the run's batch size, as the trainer resolves it */
  double epoch_seconds;           /* the run's epochs' durations summed: the x of its epoch points */
  GHashTable *overlay_series;     /* run id -> GINT_TO_POINTER (series + 1) of overlaid runs */
  guint weights_serial;
  gboolean pred_from_ckpt;   /* the newest source: a checkpoint opened after the run's last weights */
  gboolean starting;              /* saving the events before a run starts */

  /* --screenshot / --measure-frames */
  char *screenshot_path;
  int train_steps;
  double measure_seconds;
  gboolean shot_armed;
  GArray *frame_times;            /* double ms: the main thread's work per frame */
  GArray *frame_intervals;        /* double ms: between frame starts */
  gint64 frame_start_us, last_frame_start_us, measure_start_us;
  gulong frame_handlers[2];
};

/* pf-window.c */
void _pf_window_show_error (PfWindow *self, const char *context, const GError *error);
void _pf_window_show_info (PfWindow *self, const char *message);
void _pf_window_refresh_event (PfWindow *self);
void _pf_window_update_prediction (PfWindow *self);
void _pf_window_update_actions (PfWindow *self);
/* The CSV that Export Metrics writes (the log the plot shows), NULL when there is none. */
char *_pf_window_metrics_csv (PfWindow *self);

/* pf-window-files.c */
void _pf_window_files_init (PfWindow *self);
void _pf_window_files_class_init (GtkWidgetClass *widget_class);

/* pf-window-train.c */
void _pf_window_train_init (PfWindow *self);
void _pf_window_train_dispose (PfWindow *self);
void _pf_window_train_class_init (GtkWidgetClass *widget_class);
void _pf_window_train_maybe_screenshot (PfWindow *self);
void _pf_window_train_show_checkpoint_log (PfWindow *self);
void _pf_window_report_error (PfWindow *self, const char *context, const GError *error);

G_END_DECLS
