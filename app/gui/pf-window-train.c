/* pf-window-train.c — the window's training glue: starts, pauses and stops runs through
 * PfTrainController, feeds the loss plot (per batch, and train/val per epoch, the best epoch
 * marked), keeps the runs table (PfRunStore, read and written asynchronously), overlays the
 * curves of the selected runs, refreshes the Prediction pane from the newest weights and stops a
 * diverging run with a banner. With no run in flight, the plot shows the training log of the
 * checkpoint opened (pf-window-files.c): the same two per-epoch series at the same x, so the
 * curve of a checkpoint and the one its run drew live look alike. Also the two non-interactive
 * modes: --screenshot and --measure-frames. */
#include <glib/gi18n.h>
#include <math.h>
#include <string.h>
#include "pf-model.h"
#include <unistd.h>
#include "pf-window-private.h"
#include "pf-device.h"
#include "pf-application.h"
#include "pf-error.h"

/* ---- the runs file ---- */

static void
runs_saved (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  if (!g_file_replace_contents_finish (G_FILE (source), result, NULL, &error))
    g_warning ("%s", error->message);
}

static void
save_runs (PfWindow *self)
{
  g_autofree char *dir = g_path_get_dirname (pf_run_store_get_path (self->runs));
  g_autoptr (GFile) file = g_file_new_for_path (pf_run_store_get_path (self->runs));
  char *json = pf_run_store_to_json (self->runs);
  GBytes *bytes = g_bytes_new_take (json, strlen (json));
  g_mkdir_with_parents (dir, 0755);
  g_file_replace_contents_bytes_async (file, bytes, NULL, FALSE, G_FILE_CREATE_REPLACE_DESTINATION,
                                       NULL, runs_saved, NULL);
  g_bytes_unref (bytes);
}

static void
runs_loaded (GObject *source, GAsyncResult *result, gpointer user_data)
{
  PfWindow *self = PF_WINDOW (user_data);
  g_autoptr (GError) error = NULL;
  g_autofree char *data = NULL;
  gsize len = 0;
  if (!g_file_load_contents_finish (G_FILE (source), result, &data, &len, NULL, &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
        _pf_window_show_error (self, _("Reading the runs"), error);
    }
  else if (self->runs && !pf_run_store_load_from_data (self->runs, data, len, &error))
    _pf_window_show_error (self, _("Reading the runs"), error);
  g_object_unref (self);
}

/* ---- loss plot ---- */

/* The per-epoch curves' colours: those the palette gives them after the batch series of a live
 * run (Tableau 10's orange and green), so a checkpoint's curve, which has no batch series, looks
 * like the run that wrote it. */
static const GdkRGBA train_color = { 1.000, 0.498, 0.055, 1 };
static const GdkRGBA val_color = { 0.173, 0.627, 0.173, 1 };
/* The selected runs' validation curves: the rest of Tableau 10 (not the grey of the batch curve,
 * nor orange and green), the k-th selected run in the k-th colour. */
static const GdkRGBA overlay_colors[] = {
  { 0.839, 0.153, 0.157, 1 }, { 0.580, 0.404, 0.741, 1 }, { 0.549, 0.337, 0.294, 1 },
  { 0.890, 0.467, 0.761, 1 }, { 0.737, 0.741, 0.133, 1 }, { 0.090, 0.745, 0.812, 1 },
  { 0.122, 0.467, 0.706, 1 },
};

/* The smoothing is the batch curve's (its slider says so): an epoch's mean is smooth already, and
 * an average over a few epochs would only make the curve lag behind its best epoch. */
static void
add_epoch_series (PfWindow *self)
{
  self->series_train = pf_loss_plot_add_series (self->loss_plot, _("train (epoch)"), &train_color, FALSE);
  self->series_val = pf_loss_plot_add_series (self->loss_plot, _("validation"), &val_color, FALSE);
  pf_loss_plot_set_series_smoothed (self->loss_plot, self->series_train, FALSE);
  pf_loss_plot_set_series_smoothed (self->loss_plot, self->series_val, FALSE);
}

static void
mark_best (PfWindow *self, int series, int index, int epoch)
{
  g_autofree char *label = g_strdup_printf (_("best: epoch %d"), epoch);
  pf_loss_plot_set_mark (self->loss_plot, series, index, label);
}

/* Appends a log's rows (PfTrainLogRow) to the train and validation series (either may be -1) at
 * the x a live run gives them: the step is the batches trained by the end of the epoch
 * (floor(n_train_used / batch) an epoch, as the trainer counts them), the epoch its number, the
 * time the epochs' durations summed. A log that does not say how many events an epoch trained
 * (n_train_used 0) or how long it took has no place on those axes from there on (NaN, which the
 * plot does not draw). Returns the index of the best row (the one of best_epoch when the log
 * has it, else the last flagged best), -1 when none. */
static int
plot_log (PfWindow *self, GArray *log, int batch, int best_epoch, int series_train, int series_val)
{
  double step = batch > 0 ? 0 : NAN, seconds = 0;
  int best = -1, flagged = -1;
  for (guint k = 0; log && k < log->len; k++)
    {
      const PfTrainLogRow *r = &g_array_index (log, PfTrainLogRow, k);
      step = r->n_train_used > 0 ? step + floor ((double) r->n_train_used / batch) : NAN;
      seconds += r->seconds;   /* NaN from an unknown duration on */
      double x_step = step, x_time = seconds;
      if (series_train >= 0)
        pf_loss_plot_append (self->loss_plot, series_train, x_step, r->epoch, x_time, r->train_loss);
      if (series_val >= 0)
        pf_loss_plot_append (self->loss_plot, series_val, x_step, r->epoch, x_time, r->val_loss);
      if (best_epoch > 0 && r->epoch == best_epoch)
        best = (int) k;
      if (r->best)
        flagged = (int) k;
    }
  return best >= 0 ? best : flagged;
}

static void
on_plot_options (PfWindow *self)
{
  pf_loss_plot_set_x_axis (self->loss_plot, (PfLossPlotXAxis) MIN (gtk_drop_down_get_selected (self->xaxis_dropdown), 2u));
  pf_loss_plot_set_log_y (self->loss_plot, gtk_toggle_button_get_active (self->logy_toggle));
  pf_loss_plot_set_smoothing (self->loss_plot, gtk_range_get_value (GTK_RANGE (self->smoothing_scale)));
}

static void
remove_overlays (PfWindow *self)
{
  GHashTableIter it;
  gpointer key, value;
  g_hash_table_iter_init (&it, self->overlay_series);
  while (g_hash_table_iter_next (&it, &key, &value))
    pf_loss_plot_remove_series (self->loss_plot, GPOINTER_TO_INT (value) - 1);
  g_hash_table_remove_all (self->overlay_series);
}

static void
on_runs_selection (PfRunsView *view, PfWindow *self)
{
  g_autoptr (GPtrArray) runs = pf_runs_view_get_selected (view);
  remove_overlays (self);
  guint n = 0;
  for (guint i = 0; i < runs->len; i++)
    {
      PfRun *run = g_ptr_array_index (runs, i);
      if (run == self->run)
        continue;
      int batch = 1;
      g_object_get (run, "batch", &batch, NULL);
      g_autofree char *name = g_strdup_printf (_("%s val."), pf_run_get_id (run));
      const GdkRGBA *color = &overlay_colors[n++ % G_N_ELEMENTS (overlay_colors)];
      int series = pf_loss_plot_add_series (self->loss_plot, name, color, TRUE);
      pf_loss_plot_set_series_smoothed (self->loss_plot, series, FALSE);
      plot_log (self, pf_run_get_log (run), batch, 0, -1, series);
      g_hash_table_insert (self->overlay_series, g_strdup (pf_run_get_id (run)), GINT_TO_POINTER (series + 1));
    }
}

/* The training log of the checkpoint opened, in place of what the plot showed (the curve of a
 * finished run, or of the checkpoint before): a run in flight keeps its live curve, and the next
 * run started replaces this one. The log was read with the checkpoint, on its worker. */
void
_pf_window_train_show_checkpoint_log (PfWindow *self)
{
  if (self->run || !self->ckpt)
    return;
  const PfCheckpointInfo *info = pf_checkpoint_predictor_get_info (self->ckpt);
  GArray *log = pf_checkpoint_predictor_get_log (self->ckpt);
  remove_overlays (self);
  pf_loss_plot_clear (self->loss_plot);
  self->series_batch = self->series_train = self->series_val = -1;
  if (log->len > 0)
    {
      add_epoch_series (self);
      int best = plot_log (self, log, info->batch, info->best_epoch, self->series_train, self->series_val);
      if (best >= 0)
        mark_best (self, self->series_val, best, g_array_index (log, PfTrainLogRow, best).epoch);
    }
  on_runs_selection (self->runs_view, self);
}

/* ---- controller signals ---- */

static void
update_train_actions (PfWindow *self)
{
  PfTrainState st = pf_train_controller_get_state (self->train);
  gboolean active = st == PF_TRAIN_STATE_RUNNING || st == PF_TRAIN_STATE_PAUSED;
  GActionMap *map = G_ACTION_MAP (self);
  g_simple_action_set_enabled (G_SIMPLE_ACTION (g_action_map_lookup_action (map, "train-start")),
                               !active && st != PF_TRAIN_STATE_STOPPING && !self->starting && self->n_events > 0);
  g_simple_action_set_enabled (G_SIMPLE_ACTION (g_action_map_lookup_action (map, "train-pause")), active);
  g_simple_action_set_enabled (G_SIMPLE_ACTION (g_action_map_lookup_action (map, "train-stop")), active);
  pf_train_panel_set_paused (self->train_panel, st == PF_TRAIN_STATE_PAUSED);
}

static void
on_started (PfTrainController *c, gint64 n_train, gint64 n_val, gint64 n_test, PfWindow *self)
{
  const PfTrainOptions *o = pf_train_controller_get_options (c);
  if (self->run && o)
    {
      pf_run_set_options (self->run, o);
      pf_run_store_changed (self->runs, self->run);
    }
  g_autofree char *msg = g_strdup_printf (_("Training on %lld events, validating on %lld, on the %s"),
                                         (long long) n_train, (long long) n_val,
                                         self->train_device ? self->train_device : "CPU");
  gtk_label_set_text (self->train_status_label, msg);
  update_train_actions (self);
}

static void
on_batch (PfTrainController *c, gint64 step, int epoch, double seconds, double loss, PfWindow *self)
{
  int done = 0, total = 0;
  pf_loss_plot_append (self->loss_plot, self->series_batch, (double) step, epoch, seconds, loss);
  pf_train_controller_get_progress (c, &done, &total);
  gtk_progress_bar_set_fraction (self->progress, total > 0 ? (double) done / total : 0);
  g_autofree char *msg = g_strdup_printf (_("Epoch %d, step %lld, loss %.4g"),
                                          epoch, (long long) step, loss);
  gtk_label_set_text (self->train_status_label, msg);
  if (!isfinite (loss) && pf_train_controller_get_state (c) == PF_TRAIN_STATE_RUNNING)
    {
      g_autofree char *text = g_strdup_printf (_("Training diverged at step %lld (loss %g): the run was stopped. "
                                                 "Lower the learning rate or lambda and start again."),
                                               (long long) step, loss);
      _pf_window_show_error (self, _("Divergence"), &(GError) { .message = text });
      pf_train_controller_stop (c);
    }
  if (self->train_steps > 0 && step >= self->train_steps
      && pf_train_controller_get_state (c) == PF_TRAIN_STATE_RUNNING)
    pf_train_controller_stop (c);
  update_train_actions (self);
}

static void
on_epoch (PfTrainController *c, gpointer row_ptr, PfWindow *self)
{
  const PfTrainLogRow *row = row_ptr;
  /* the step at the end of this epoch, as the trainer counts batches (the controller's step
   * counter may be in the next epoch already when this signal is handled) */
  self->epoch_steps += floor ((double) row->n_train_used / MAX (self->run_batch, 1));
  double step = self->epoch_steps;
  /* row->seconds is the epoch's duration; the time axis wants the time since the run began */
  if (isfinite (row->seconds))
    self->epoch_seconds += row->seconds;
  pf_loss_plot_append (self->loss_plot, self->series_train, step, row->epoch, self->epoch_seconds, row->train_loss);
  pf_loss_plot_append (self->loss_plot, self->series_val, step, row->epoch, self->epoch_seconds, row->val_loss);
  if (row->best)
    mark_best (self, self->series_val, (int) pf_loss_plot_get_n_points (self->loss_plot, self->series_val) - 1,
               row->epoch);
  if (self->run)
    {
      pf_run_append_epoch (self->run, row);
      pf_run_store_changed (self->runs, self->run);
      save_runs (self);
    }
}

static void
on_weights (PfTrainController *c, guint serial, PfWindow *self)
{
  self->weights_serial = serial;
  self->pred_from_ckpt = FALSE;
  _pf_window_update_prediction (self);
  _pf_window_train_maybe_screenshot (self);
}

static void
on_finished (PfTrainController *c, GError *error, PfWindow *self)
{
  gtk_progress_bar_set_fraction (self->progress, 0);
  if (self->run)
    {
      pf_run_set_state (self->run, error ? "failed" : pf_train_controller_get_stopped (c) ? "stopped" : "finished");
      pf_run_store_changed (self->runs, self->run);
      save_runs (self);
    }
  if (error && g_error_matches (error, PF_ERROR, PF_ERROR_NUMERIC))
    _pf_window_show_error (self, _("Training diverged and was stopped"), error);
  else if (error)
    _pf_window_show_error (self, _("Training failed"), error);
  else
    gtk_label_set_text (self->train_status_label,
                        pf_train_controller_get_stopped (c) ? _("Training stopped") : _("Training finished"));
  g_clear_object (&self->run);
  update_train_actions (self);
  _pf_window_update_prediction (self);
  _pf_window_train_maybe_screenshot (self);
}

/* ---- actions ---- */

static void
start_run (PfWindow *self, const char *data_path)
{
  PfTrainOptions o;
  g_autoptr (GError) error = NULL;

  pf_train_options_init (&o);
  pf_train_panel_get_options (self->train_panel, &o);
  o.data_path = data_path;
  /* the GPU when one is usable; which one runs is said in the status line */
  g_autofree char *device = NULL;
  g_autofree char *precision = self->settings ? g_settings_get_string (self->settings, "gpu-precision")
                                              : g_strdup ("fp32");
  if (!pf_device_pick ("auto", &o.device, &device, &error)
      || (o.device == PF_DEVICE_CUDA && !pf_device_set_precision (o.device, precision, &error)))
    {
      _pf_window_show_error (self, _("Training could not start"), error);
      return;
    }
  o.precision = precision;
  if (o.device == PF_DEVICE_CUDA && strcmp (precision, "fp32"))
    {
      /* the status line says how the GPU computes when it is not float32 */
      char *with = g_strdup_printf (_("%s, products in %s"), device, precision);
      g_free (device);
      device = with;
    }
  g_free (self->train_device);
  self->train_device = g_steal_pointer (&device);
  if (self->train_steps > 0)
    o.epochs = MAX (o.epochs, 1000);   /* --train-steps stops the run itself */
  g_autoptr (PfRun) run = pf_run_new (&o);
  g_autofree char *out_dir = g_build_filename (g_get_user_data_dir (), "pflow", "runs", pf_run_get_id (run), NULL);
  o.out_dir = out_dir;
  if (!pf_train_controller_start (self->train, &o, &error))
    {
      _pf_window_show_error (self, _("Training could not start"), error);
      return;
    }
  g_free (self->train_data_path);
  self->train_data_path = g_strdup (data_path);
  g_set_object (&self->run, run);
  pf_run_store_add (self->runs, run);
  save_runs (self);

  remove_overlays (self);
  pf_loss_plot_clear (self->loss_plot);
  GdkRGBA batch_color = { 0.55, 0.55, 0.55, 1 };
  self->series_batch = pf_loss_plot_add_series (self->loss_plot, _("train (batch)"), &batch_color, FALSE);
  add_epoch_series (self);
  self->epoch_seconds = 0;
  self->epoch_steps = 0;
  /* the batch the trainer will use: the panel's, else the paper's for the model and scale */
  self->run_batch = o.batch > 0 ? o.batch : pf_model_paper_batch (pf_model_find (o.model), o.scale);
  on_runs_selection (self->runs_view, self);
  gtk_revealer_set_reveal_child (self->banner, FALSE);
  update_train_actions (self);
}

static void
events_saved_for_training (GObject *source, GAsyncResult *result, gpointer user_data)
{
  PfWindow *self = PF_WINDOW (user_data);
  g_autoptr (GError) error = NULL;
  char *path = g_object_get_data (G_OBJECT (self), "pf-train-events");
  self->starting = FALSE;
  if (!pf_sim_controller_save_dataset_finish (PF_SIM_CONTROLLER (source), result, &error))
    _pf_window_show_error (self, _("Saving the events for training failed"), error);
  else if (gtk_widget_get_realized (GTK_WIDGET (self)) || self->screenshot_path || self->measure_seconds > 0)
    start_run (self, path);
  update_train_actions (self);
  g_object_unref (self);
}

static void
action_train_start (GSimpleAction *a, GVariant *p, gpointer user_data)
{
  PfWindow *self = PF_WINDOW (user_data);
  if (self->dataset_path && self->dataset_generation == pf_sim_controller_get_generation (self->sim))
    {
      start_run (self, self->dataset_path);
      return;
    }
  /* Generated events: the trainer reads a dataset, so they are written to the cache first. */
  g_autofree char *dir = g_build_filename (g_get_user_cache_dir (), "pflow", NULL);
  g_mkdir_with_parents (dir, 0755);
  char *path = g_strdup_printf ("%s/workbench-%d-gen%u.h5", dir, (int) getpid (),
                                pf_sim_controller_get_generation (self->sim));
  g_object_set_data_full (G_OBJECT (self), "pf-train-events", path, g_free);
  self->starting = TRUE;
  update_train_actions (self);
  gtk_label_set_text (self->train_status_label, _("Writing the events for training…"));
  pf_sim_controller_save_dataset (self->sim, path, NULL, events_saved_for_training, g_object_ref (self));
}

static gboolean
update_later (gpointer user_data)
{
  PfWindow *self = user_data;
  if (self->train)
    update_train_actions (self);
  return G_SOURCE_REMOVE;
}

static void
action_train_pause (GSimpleAction *a, GVariant *p, gpointer user_data)
{
  PfWindow *self = PF_WINDOW (user_data);
  if (pf_train_controller_get_state (self->train) == PF_TRAIN_STATE_PAUSED)
    pf_train_controller_resume (self->train);
  else
    pf_train_controller_pause (self->train);
  update_train_actions (self);
  /* PAUSED is reached when the thread waits; look again shortly. */
  g_timeout_add_full (G_PRIORITY_DEFAULT, 100, update_later, g_object_ref (self), g_object_unref);
}

static void
action_train_stop (GSimpleAction *a, GVariant *p, gpointer user_data)
{
  PfWindow *self = PF_WINDOW (user_data);
  pf_train_controller_stop (self->train);
  update_train_actions (self);
}

static void
on_lambda_changed (PfTrainPanel *panel, double lambda, PfWindow *self)
{
  pf_train_controller_set_lambda (self->train, lambda);
  if (self->run)
    {
      pf_run_set_lambda (self->run, lambda);
      pf_run_store_changed (self->runs, self->run);
    }
}

static const GActionEntry train_entries[] = {
  { "train-start", action_train_start },
  { "train-pause", action_train_pause },
  { "train-stop", action_train_stop },
};

/* ---- --screenshot ---- */

static void
png_written (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  GtkApplication *app = GTK_APPLICATION (user_data);
  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      g_printerr ("pflow-workbench: %s\n", error->message);
      pf_application_set_exit_status (PF_APPLICATION (app), 1);
    }
  g_application_quit (G_APPLICATION (app));
  g_object_unref (app);
}

static void
png_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  GdkTexture *texture = g_object_get_data (G_OBJECT (task), "pf-texture");
  const char *path = data;
  if (gdk_texture_save_to_png (texture, path))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_FAILED, _("cannot write %s"), path);
}

static gboolean
screenshot_tick (GtkWidget *widget, GdkFrameClock *clock, gpointer user_data)
{
  PfWindow *self = PF_WINDOW (widget);
  int frames = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (self), "pf-shot-frames")) + 1;
  g_object_set_data (G_OBJECT (self), "pf-shot-frames", GINT_TO_POINTER (frames));
  if (frames < 4)
    return G_SOURCE_CONTINUE;

  int w = gtk_widget_get_width (widget), h = gtk_widget_get_height (widget);
  GdkPaintable *paintable = gtk_widget_paintable_new (widget);
  GtkSnapshot *snap = gtk_snapshot_new ();
  gdk_paintable_snapshot (paintable, snap, w, h);
  GskRenderNode *node = gtk_snapshot_free_to_node (snap);
  GskRenderer *renderer = gtk_native_get_renderer (GTK_NATIVE (widget));
  GdkTexture *texture = node ? gsk_renderer_render_texture (renderer, node, &GRAPHENE_RECT_INIT (0, 0, w, h)) : NULL;
  GtkApplication *app = gtk_window_get_application (GTK_WINDOW (self));
  g_clear_pointer (&node, gsk_render_node_unref);
  g_object_unref (paintable);
  if (!texture)
    {
      g_printerr ("pflow-workbench: %s\n", _("the window drew nothing"));
      pf_application_set_exit_status (PF_APPLICATION (app), 1);
      g_application_quit (G_APPLICATION (app));
      return G_SOURCE_REMOVE;
    }
  GTask *task = g_task_new (NULL, NULL, png_written, g_object_ref (app));
  g_object_set_data_full (G_OBJECT (task), "pf-texture", texture, g_object_unref);
  g_task_set_task_data (task, g_strdup (self->screenshot_path), g_free);
  g_task_run_in_thread (task, png_thread);
  g_object_unref (task);
  return G_SOURCE_REMOVE;
}

void
_pf_window_train_maybe_screenshot (PfWindow *self)
{
  update_train_actions (self);
  if (self->measure_seconds > 0 && !self->run && !self->starting && self->n_events > 0
      && pf_train_controller_get_state (self->train) == PF_TRAIN_STATE_IDLE)
    {
      g_action_group_activate_action (G_ACTION_GROUP (self), "train-start", NULL);
      return;
    }
  if (!self->screenshot_path || self->shot_armed || self->n_events <= 0)
    return;
  /* a dataset or a checkpoint still being read, a prediction or jets of the event on their way */
  if (self->loading || self->ckpt_open_cancel || self->pred_pending || self->jets_pending)
    return;
  PfTrainState st = pf_train_controller_get_state (self->train);
  if (self->train_steps > 0)
    {
      if (st == PF_TRAIN_STATE_IDLE && !self->run && !self->starting)
        {
          g_action_group_activate_action (G_ACTION_GROUP (self), "train-start", NULL);
          return;
        }
      if (st != PF_TRAIN_STATE_FINISHED && st != PF_TRAIN_STATE_FAILED)
        return;
      if (st == PF_TRAIN_STATE_FINISHED && (!self->have_pred || self->pred_pending))
        return;   /* wait for the final "weights" and their prediction */
    }
  self->shot_armed = TRUE;
  gtk_widget_add_tick_callback (GTK_WIDGET (self), screenshot_tick, NULL, NULL);
}

/* --screenshot is a batch mode: an error that would only show in the banner (the dataset or the
 * checkpoint asked for cannot be opened, the prediction failed) goes to stderr instead, and the
 * application quits with status 1 rather than write a picture of the wrong thing or wait. */
void
_pf_window_report_error (PfWindow *self, const char *context, const GError *error)
{
  if (!self->screenshot_path || self->shot_armed)
    {
      _pf_window_show_error (self, context, error);
      return;
    }
  self->shot_armed = TRUE;   /* no screenshot after this */
  g_printerr ("pflow-workbench: %s: %s\n", context, error ? error->message : _("unknown error"));
  GtkApplication *app = gtk_window_get_application (GTK_WINDOW (self));
  if (PF_IS_APPLICATION (app))
    pf_application_set_exit_status (PF_APPLICATION (app), 1);
  if (app)
    g_application_quit (G_APPLICATION (app));
}

void
pf_window_set_screenshot (PfWindow *self, const char *path, int train_steps)
{
  g_return_if_fail (PF_IS_WINDOW (self));
  g_free (self->screenshot_path);
  self->screenshot_path = g_strdup (path);
  self->train_steps = MAX (train_steps, 0);
}

/* ---- --measure-frames ---- */

static void
on_frame_update (GdkFrameClock *clock, PfWindow *self)
{
  gint64 now = g_get_monotonic_time ();
  if (self->last_frame_start_us > 0 && self->measure_start_us > 0)
    {
      double interval = (now - self->last_frame_start_us) / 1000.0;
      g_array_append_val (self->frame_intervals, interval);
    }
  self->last_frame_start_us = now;
  self->frame_start_us = now;
}

static void
on_after_paint (GdkFrameClock *clock, PfWindow *self)
{
  if (self->measure_start_us == 0 || self->frame_start_us == 0)
    return;
  double work = (g_get_monotonic_time () - self->frame_start_us) / 1000.0;
  g_array_append_val (self->frame_times, work);
}

static int
cmp_double (gconstpointer a, gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

static void
print_stats (const char *name, GArray *a)
{
  if (a->len == 0)
    {
      g_print ("%s: no frames\n", name);
      return;
    }
  g_array_sort (a, cmp_double);
  double *v = (double *) a->data;
  guint n = a->len;
  g_print ("%s: frames %u  p50 %.2f ms  p99 %.2f ms  max %.2f ms\n", name, n, v[n / 2],
           v[MIN (n - 1, (guint) ceil (0.99 * n) - 1)], v[n - 1]);
}

static gboolean
measure_tick (GtkWidget *widget, GdkFrameClock *clock, gpointer user_data)
{
  PfWindow *self = PF_WINDOW (widget);
  PfTrainState st = pf_train_controller_get_state (self->train);
  if (self->measure_start_us == 0)
    {
      if (st != PF_TRAIN_STATE_RUNNING)
        return G_SOURCE_CONTINUE;   /* not training yet */
      self->measure_start_us = g_get_monotonic_time ();
    }
  if (g_get_monotonic_time () - self->measure_start_us < self->measure_seconds * G_USEC_PER_SEC)
    return G_SOURCE_CONTINUE;
  g_print ("training steps during the measurement: %" G_GINT64_FORMAT "\n",
           (gint64) pf_train_controller_get_steps_done (self->train));
  print_stats ("frame work (update to after-paint)", self->frame_times);
  print_stats ("frame interval", self->frame_intervals);
  pf_train_controller_stop (self->train);
  g_application_quit (G_APPLICATION (gtk_window_get_application (GTK_WINDOW (self))));
  return G_SOURCE_REMOVE;
}

static void
measure_realized (PfWindow *self)
{
  GdkFrameClock *clock = gtk_widget_get_frame_clock (GTK_WIDGET (self));
  self->frame_handlers[0] = g_signal_connect_object (clock, "update", G_CALLBACK (on_frame_update), self, 0);
  self->frame_handlers[1] = g_signal_connect_object (clock, "after-paint", G_CALLBACK (on_after_paint), self, 0);
  /* A tick callback keeps the clock running every frame, so a stall shows as a long interval. */
  gtk_widget_add_tick_callback (GTK_WIDGET (self), measure_tick, NULL, NULL);
}

void
pf_window_set_measure_frames (PfWindow *self, double seconds)
{
  g_return_if_fail (PF_IS_WINDOW (self));
  self->measure_seconds = seconds;
  self->train_steps = 0;
  g_signal_connect (self, "realize", G_CALLBACK (measure_realized), NULL);
}

/* ---- life cycle ---- */

void
pf_window_shutdown (PfWindow *self)
{
  g_return_if_fail (PF_IS_WINDOW (self));
  pf_train_controller_shutdown (self->train);
  if (self->ckpt)
    pf_checkpoint_predictor_close (self->ckpt);   /* waits for a run in flight */
}

void
_pf_window_train_init (PfWindow *self)
{
  self->frame_times = g_array_new (FALSE, FALSE, sizeof (double));
  self->frame_intervals = g_array_new (FALSE, FALSE, sizeof (double));
  self->overlay_series = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->series_batch = self->series_train = self->series_val = -1;

  self->train = pf_train_controller_new ();
  g_signal_connect (self->train, "started", G_CALLBACK (on_started), self);
  g_signal_connect (self->train, "batch", G_CALLBACK (on_batch), self);
  g_signal_connect (self->train, "epoch", G_CALLBACK (on_epoch), self);
  g_signal_connect (self->train, "weights", G_CALLBACK (on_weights), self);
  g_signal_connect (self->train, "finished", G_CALLBACK (on_finished), self);
  g_action_map_add_action_entries (G_ACTION_MAP (self), train_entries, G_N_ELEMENTS (train_entries), self);

  const char *runs_path = g_getenv ("PFLOW_RUNS_FILE");
  self->runs = pf_run_store_new (runs_path && *runs_path ? runs_path : NULL);
  pf_runs_view_set_store (self->runs_view, self->runs);
  g_signal_connect (self->runs_view, "selection-changed", G_CALLBACK (on_runs_selection), self);
  g_autoptr (GFile) file = g_file_new_for_path (pf_run_store_get_path (self->runs));
  g_file_load_contents_async (file, NULL, runs_loaded, g_object_ref (self));

  pf_train_panel_bind_settings (self->train_panel, self->settings);
  g_signal_connect (self->train_panel, "lambda-changed", G_CALLBACK (on_lambda_changed), self);
  if (self->settings)
    {
      g_settings_bind (self->settings, "loss-x-axis", self->xaxis_dropdown, "selected", G_SETTINGS_BIND_DEFAULT);
      g_settings_bind (self->settings, "loss-log-y", self->logy_toggle, "active", G_SETTINGS_BIND_DEFAULT);
      g_settings_bind (self->settings, "smoothing", gtk_range_get_adjustment (GTK_RANGE (self->smoothing_scale)),
                       "value", G_SETTINGS_BIND_DEFAULT);
    }
  g_signal_connect_swapped (self->xaxis_dropdown, "notify::selected", G_CALLBACK (on_plot_options), self);
  g_signal_connect_swapped (self->logy_toggle, "toggled", G_CALLBACK (on_plot_options), self);
  g_signal_connect_swapped (self->smoothing_scale, "value-changed", G_CALLBACK (on_plot_options), self);
  on_plot_options (self);
  update_train_actions (self);
  g_signal_connect_swapped (self->sim, "events-ready", G_CALLBACK (update_train_actions), self);
}

void
_pf_window_train_dispose (PfWindow *self)
{
  if (self->train)
    {
      g_signal_handlers_disconnect_by_data (self->train, self);
      if (self->measure_seconds <= 0 || pf_train_controller_get_state (self->train) != PF_TRAIN_STATE_IDLE)
        pf_train_controller_stop (self->train);
    }
  g_clear_object (&self->train);
  g_clear_object (&self->run);
  g_clear_object (&self->runs);
  g_clear_pointer (&self->overlay_series, g_hash_table_unref);
  g_clear_pointer (&self->frame_times, g_array_unref);
  g_clear_pointer (&self->frame_intervals, g_array_unref);
  g_clear_pointer (&self->train_data_path, g_free);
  g_clear_pointer (&self->train_device, g_free);
}
