/* pf-window-files.c — the window's file actions: datasets (open, save, TIFF import),
 * checkpoints (open for predictions, save a copy of the run's best weights), figures of a pane
 * or the loss plot (PNG/SVG/PDF) and the per-epoch metrics as CSV. Every read and write runs on
 * a worker thread (the controllers or a GTask); the UI thread only records figures into a cairo
 * recording surface, which the worker replays into the file. */
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>
#include "pf-window-private.h"
#include "pf-render-file.h"
#include "pf-tiff-import.h"
#include "pf-train-log.h"
#include "pf-model.h"

typedef void (*ChooserDone) (PfWindow *self, GFile *file);

static void
on_chooser_response (GtkNativeDialog *dialog, int response, gpointer user_data)
{
  PfWindow *self = PF_WINDOW (user_data);
  ChooserDone done = g_object_get_data (G_OBJECT (dialog), "pf-done");
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr (GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      if (file)
        done (self, file);
    }
  gtk_native_dialog_destroy (dialog);
  g_object_unref (dialog);
  g_object_unref (self);
}

static void
choose (PfWindow *self, const char *title, GtkFileChooserAction action, const char *name,
        const char *pattern, const char *filter_name, ChooserDone done)
{
  GtkFileChooserNative *dialog =
    gtk_file_chooser_native_new (title, GTK_WINDOW (self), action,
                                 action == GTK_FILE_CHOOSER_ACTION_SAVE ? _("_Save") : _("_Open"),
                                 _("_Cancel"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (dialog), TRUE);
  if (name)
    gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (dialog), name);
  if (pattern)
    {
      GtkFileFilter *filter = gtk_file_filter_new ();
      gtk_file_filter_set_name (filter, filter_name);
      g_auto (GStrv) pats = g_strsplit (pattern, ";", -1);
      for (int i = 0; pats[i]; i++)
        gtk_file_filter_add_pattern (filter, pats[i]);
      gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (dialog), filter);
      g_object_unref (filter);
    }
  g_object_set_data (G_OBJECT (dialog), "pf-done", done);
  g_signal_connect (dialog, "response", G_CALLBACK (on_chooser_response), g_object_ref (self));
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (dialog));
}

/* ---- datasets ---- */

static void
load_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  PfWindow *self = PF_WINDOW (user_data);
  g_autoptr (GError) error = NULL;
  char *path = g_strdup (g_object_get_data (G_OBJECT (self), "pf-pending-path"));

  self->loading = FALSE;
  if (!pf_sim_controller_load_dataset_finish (PF_SIM_CONTROLLER (source), result, &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        _pf_window_report_error (self, _("Opening the dataset failed"), error);
      g_free (path);
      /* The load cancelled a generation in flight: without events, simulate them again. */
      if (pf_sim_controller_get_generation (self->sim) == 0)
        {
          PfSimParams p;
          pf_sim_panel_get_params (self->sim_panel, &p);
          pf_sim_controller_set_params (self->sim, &p, NULL, NULL);
        }
    }
  else
    {
      PfSimParams p;
      g_free (self->dataset_path);
      self->dataset_path = path;
      self->dataset_generation = pf_sim_controller_get_generation (self->sim);
      /* The events were shown while loading was still set: now go to the first event (or
       * pf_window_set_event's) of the file. */
      if (self->start_event < 0)
        self->start_event = 0;
      _pf_window_refresh_event (self);
      gboolean has = pf_sim_controller_get_event_params (self->sim, &p);
      pf_sim_panel_show_params (self->sim_panel, has ? &p : NULL,
                                pf_sim_controller_get_n_events (self->sim));
      g_autofree char *base = g_path_get_basename (path);
      gtk_window_set_title (GTK_WINDOW (self), base);
    }
  _pf_window_train_maybe_screenshot (self);
  g_object_unref (self);
}

void
pf_window_open_dataset (PfWindow *self, GFile *file)
{
  g_return_if_fail (PF_IS_WINDOW (self));
  g_autofree char *path = g_file_get_path (file);
  if (!path)
    {
      g_autoptr (GError) error = g_error_new (G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                                              _("only local files can be opened"));
      _pf_window_show_error (self, _("Opening the dataset failed"), error);
      return;
    }
  int64_t max_events = self->settings ? g_settings_get_int (self->settings, "max-load-events") : 0;
  self->loading = TRUE;
  /* load_done reads the path of the newest request (a newer one cancels an older one). */
  g_object_set_data_full (G_OBJECT (self), "pf-pending-path", g_strdup (path), g_free);
  g_clear_pointer (&self->dataset_path, g_free);
  pf_sim_controller_load_dataset (self->sim, path, max_events, NULL, load_done, g_object_ref (self));
}

static void
open_dataset_chosen (PfWindow *self, GFile *file)
{
  pf_window_open_dataset (self, file);
}

static void
action_open_dataset (GSimpleAction *a, GVariant *p, gpointer user_data)
{
  choose (PF_WINDOW (user_data), _("Open Dataset"), GTK_FILE_CHOOSER_ACTION_OPEN, NULL,
          "*.h5;*.hdf5", _("pflow datasets (HDF5)"), open_dataset_chosen);
}

static void
save_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  PfWindow *self = PF_WINDOW (user_data);
  g_autoptr (GError) error = NULL;
  if (!pf_sim_controller_save_dataset_finish (PF_SIM_CONTROLLER (source), result, &error))
    _pf_window_show_error (self, _("Saving the dataset failed"), error);
  g_object_unref (self);
}

static void
save_dataset_chosen (PfWindow *self, GFile *file)
{
  g_autofree char *path = g_file_get_path (file);
  if (path)
    pf_sim_controller_save_dataset (self->sim, path, NULL, save_done, g_object_ref (self));
}

static void
action_save_dataset (GSimpleAction *a, GVariant *p, gpointer user_data)
{
  PfWindow *self = PF_WINDOW (user_data);
  PfSimParams params;
  g_autofree char *name = NULL;
  if (pf_sim_controller_get_event_params (self->sim, &params))
    name = pf_sim_default_filename (&params);
  choose (self, _("Save Dataset"), GTK_FILE_CHOOSER_ACTION_SAVE, name ? name : "events.h5",
          "*.h5;*.hdf5", _("pflow datasets (HDF5)"), save_dataset_chosen);
}

/* ---- TIFF import: folder -> a dataset in the cache folder -> opened ---- */

static void
import_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  const char *dir = data;
  GError *error = NULL;
  g_autofree char *cache = g_build_filename (g_get_user_cache_dir (), "pflow", NULL);
  g_autofree char *base = g_path_get_basename (dir);
  g_autofree char *name = g_strdup_printf ("tiff-%s.h5", base);
  char *out = g_build_filename (cache, name, NULL);
  if (g_mkdir_with_parents (cache, 0755) != 0)
    {
      g_task_return_new_error (task, G_IO_ERROR, g_io_error_from_errno (errno),
                               _("cannot create %s: %s"), cache, g_strerror (errno));
      g_free (out);
      return;
    }
  if (!pf_tiff_import_dir (dir, out, -1, NULL, NULL, NULL, &error))
    {
      g_task_return_error (task, error);
      g_free (out);
      return;
    }
  g_task_return_pointer (task, out, g_free);
}

static void
import_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  PfWindow *self = PF_WINDOW (user_data);
  g_autoptr (GError) error = NULL;
  g_autofree char *out = g_task_propagate_pointer (G_TASK (result), &error);
  if (!out)
    _pf_window_show_error (self, _("Importing the TIFF folder failed"), error);
  else
    {
      g_autoptr (GFile) file = g_file_new_for_path (out);
      pf_window_open_dataset (self, file);
    }
  g_object_unref (self);
}

static void
import_chosen (PfWindow *self, GFile *folder)
{
  char *dir = g_file_get_path (folder);
  if (!dir)
    return;
  GTask *task = g_task_new (NULL, NULL, import_done, g_object_ref (self));
  g_task_set_task_data (task, dir, g_free);
  g_task_run_in_thread (task, import_thread);
  g_object_unref (task);
}

static void
action_import_tiff (GSimpleAction *a, GVariant *p, gpointer user_data)
{
  choose (PF_WINDOW (user_data), _("Import TIFF Folder"), GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER,
          NULL, NULL, NULL, import_chosen);
}

/* ---- checkpoints ---- */

static void
ckpt_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  PfWindow *self = PF_WINDOW (user_data);
  g_autoptr (GError) error = NULL;
  PfCheckpointPredictor *p = pf_checkpoint_predictor_new_finish (result, &error);
  /* Cancelled: a checkpoint opened after this one replaced it, or the window went. */
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_object_unref (self);
      return;
    }
  g_clear_object (&self->ckpt_open_cancel);
  if (!p)
    _pf_window_report_error (self, _("Opening the checkpoint failed"), error);
  else
    {
      /* a run of the previous checkpoint in flight keeps it alive until it returns */
      g_clear_object (&self->ckpt);
      self->ckpt = p;
      self->pred_from_ckpt = TRUE;
      const PfCheckpointInfo *info = pf_checkpoint_predictor_get_info (p);
      g_autofree char *label = pf_model_label (info->model, info->scale);
      g_autofree char *msg = g_strdup_printf (_("Predictions from %s, epoch %d"), label, info->epoch);
      gtk_label_set_text (self->train_status_label, msg);
      _pf_window_train_show_checkpoint_log (self);
      _pf_window_update_prediction (self);
    }
  _pf_window_train_maybe_screenshot (self);
  g_object_unref (self);
}

void
pf_window_open_checkpoint (PfWindow *self, GFile *file)
{
  g_return_if_fail (PF_IS_WINDOW (self) && G_IS_FILE (file));
  g_autofree char *path = g_file_get_path (file);
  if (!path)
    {
      g_autoptr (GError) error = g_error_new (G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                                              _("only local files can be opened"));
      _pf_window_report_error (self, _("Opening the checkpoint failed"), error);
      return;
    }
  /* the newest request wins: an older one still being read is dropped when it ends */
  g_cancellable_cancel (self->ckpt_open_cancel);
  g_clear_object (&self->ckpt_open_cancel);
  self->ckpt_open_cancel = g_cancellable_new ();
  pf_checkpoint_predictor_new_async (path, self->ckpt_open_cancel, ckpt_done, g_object_ref (self));
}

static void
open_ckpt_chosen (PfWindow *self, GFile *file)
{
  pf_window_open_checkpoint (self, file);
}

static void
action_open_checkpoint (GSimpleAction *a, GVariant *p, gpointer user_data)
{
  choose (PF_WINDOW (user_data), _("Open Checkpoint"), GTK_FILE_CHOOSER_ACTION_OPEN, NULL,
          "*.h5;*.hdf5", _("pflow checkpoints (HDF5)"), open_ckpt_chosen);
}

/* Copies src to dst through a temporary beside dst renamed into place. */
static void
copy_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  char **paths = data;
  GError *error = NULL;
  g_autofree char *tmp = g_strconcat (paths[1], ".tmp", NULL);
  g_autoptr (GFile) src = g_file_new_for_path (paths[0]);
  g_autoptr (GFile) tmpf = g_file_new_for_path (tmp);
  if (!g_file_copy (src, tmpf, G_FILE_COPY_OVERWRITE, cancellable, NULL, NULL, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  if (g_rename (tmp, paths[1]) != 0)
    {
      int e = errno;
      g_unlink (tmp);
      g_task_return_new_error (task, G_IO_ERROR, g_io_error_from_errno (e),
                               _("cannot rename %s to %s: %s"), tmp, paths[1], g_strerror (e));
      return;
    }
  g_task_return_boolean (task, TRUE);
}

static void
task_done_report (GObject *source, GAsyncResult *result, gpointer user_data)
{
  PfWindow *self = PF_WINDOW (user_data);
  g_autoptr (GError) error = NULL;
  if (!g_task_propagate_boolean (G_TASK (result), &error))
    _pf_window_show_error (self, g_object_get_data (G_OBJECT (result), "pf-context"), error);
  g_object_unref (self);
}

static const char *
current_best_checkpoint (PfWindow *self)
{
  const PfTrainResult *r = pf_train_controller_get_result (self->train);
  if (r && r->best_path && g_file_test (r->best_path, G_FILE_TEST_EXISTS))
    return r->best_path;
  return self->ckpt ? pf_checkpoint_predictor_get_path (self->ckpt) : NULL;
}

static void
save_ckpt_chosen (PfWindow *self, GFile *file)
{
  const char *src = current_best_checkpoint (self);
  char *dst = g_file_get_path (file);
  if (!src || !dst)
    {
      g_free (dst);
      return;
    }
  char **paths = g_new0 (char *, 3);
  paths[0] = g_strdup (src);
  paths[1] = dst;
  GTask *task = g_task_new (NULL, NULL, task_done_report, g_object_ref (self));
  g_object_set_data (G_OBJECT (task), "pf-context", (gpointer) _("Saving the checkpoint failed"));
  g_task_set_task_data (task, paths, (GDestroyNotify) g_strfreev);
  g_task_run_in_thread (task, copy_thread);
  g_object_unref (task);
}

static void
action_save_checkpoint (GSimpleAction *a, GVariant *p, gpointer user_data)
{
  PfWindow *self = PF_WINDOW (user_data);
  if (!current_best_checkpoint (self))
    {
      _pf_window_show_info (self, _("No checkpoint yet: train a model or open a checkpoint first"));
      return;
    }
  choose (self, _("Save Checkpoint"), GTK_FILE_CHOOSER_ACTION_SAVE, "best.h5", "*.h5",
          _("pflow checkpoints (HDF5)"), save_ckpt_chosen);
}

/* ---- figures: recorded on the UI thread, written by a worker ---- */

typedef struct {
  cairo_surface_t *recording;
  int width, height;
  char *path;
} FigureJob;

static void
figure_job_free (gpointer data)
{
  FigureJob *job = data;
  cairo_surface_destroy (job->recording);
  g_free (job->path);
  g_free (job);
}

static void
replay (cairo_t *cr, double width, double height, gpointer user_data)
{
  FigureJob *job = user_data;
  cairo_set_source_surface (cr, job->recording, 0, 0);
  cairo_paint (cr);
}

static void
figure_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  FigureJob *job = data;
  GError *error = NULL;
  if (!pf_render_to_file (job->path, job->width, job->height, replay, job, &error))
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

static void
export_figure_chosen (PfWindow *self, GFile *file)
{
  g_autoptr (GError) error = NULL;
  PfRenderFormat format;
  int which = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (self), "pf-export-which"));
  char *path = g_file_get_path (file);
  if (!path)
    return;
  if (!pf_render_format_from_path (path, &format, &error))
    {
      _pf_window_show_error (self, _("Exporting the figure failed"), error);
      g_free (path);
      return;
    }
  FigureJob *job = g_new0 (FigureJob, 1);
  job->path = path;
  job->width = which < PF_N_PANES ? 640 : 900;
  job->height = which < PF_N_PANES ? 600 : 560;
  job->recording = cairo_recording_surface_create (CAIRO_CONTENT_COLOR_ALPHA,
                                                   &(cairo_rectangle_t) { 0, 0, job->width, job->height });
  cairo_t *cr = cairo_create (job->recording);
  if (which < PF_N_PANES)
    pf_calo_view_draw (self->panes[which], cr, job->width, job->height, NULL);
  else
    pf_loss_plot_draw (self->loss_plot, cr, job->width, job->height, NULL);
  cairo_destroy (cr);
  GTask *task = g_task_new (NULL, NULL, task_done_report, g_object_ref (self));
  g_object_set_data (G_OBJECT (task), "pf-context", (gpointer) _("Exporting the figure failed"));
  g_task_set_task_data (task, job, figure_job_free);
  g_task_run_in_thread (task, figure_thread);
  g_object_unref (task);
}

static void
action_export_figure (GSimpleAction *a, GVariant *param, gpointer user_data)
{
  PfWindow *self = PF_WINDOW (user_data);
  static const char *const names[] = { "emcal", "hcal", "trk_n", "trk_p", "truth", "prediction",
                                       "residual", "loss" };
  int which = CLAMP (g_variant_get_int32 (param), 0, PF_N_PANES);
  g_autofree char *name = g_strdup_printf ("%s-event%" G_GINT64_FORMAT ".png", names[which],
                                           self->event + 1);
  g_object_set_data (G_OBJECT (self), "pf-export-which", GINT_TO_POINTER (which));
  choose (self, _("Export Figure"), GTK_FILE_CHOOSER_ACTION_SAVE, which == PF_N_PANES ? "loss.png" : name,
          "*.png;*.svg;*.pdf", _("Figures (PNG, SVG, PDF)"), export_figure_chosen);
}

/* ---- metrics CSV ---- */

static void
csv_written (GObject *source, GAsyncResult *result, gpointer user_data)
{
  PfWindow *self = PF_WINDOW (user_data);
  g_autoptr (GError) error = NULL;
  if (!g_file_replace_contents_finish (G_FILE (source), result, NULL, &error))
    _pf_window_show_error (self, _("Exporting the metrics failed"), error);
  g_object_unref (self);
}

/* The log the plot shows: the run's (live or last), else the checkpoint opened after it, else
 * the first selected run's. */
static GArray *
metrics_log (PfWindow *self)
{
  if (!self->run && self->ckpt && self->pred_from_ckpt)
    {
      GArray *ck = pf_checkpoint_predictor_get_log (self->ckpt);
      if (ck->len > 0)
        return ck;
    }
  GArray *log = pf_train_controller_get_log (self->train);
  if (log && log->len > 0)
    return log;
  g_autoptr (GPtrArray) sel = pf_runs_view_get_selected (self->runs_view);
  return sel->len > 0 ? pf_run_get_log (g_ptr_array_index (sel, 0)) : NULL;
}

char *
_pf_window_metrics_csv (PfWindow *self)
{
  GArray *log = metrics_log (self);
  if (!log)
    return NULL;
  GString *s = g_string_new (pf_train_log_columns);
  g_string_append_c (s, '\n');
  for (guint i = 0; i < log->len; i++)
    {
      const PfTrainLogRow *r = &g_array_index (log, PfTrainLogRow, i);
      double v[] = { r->train_loss, r->val_loss, r->lr, r->seconds, r->train_mse, r->train_wmse,
                     r->train_ssim, r->val_mse, r->val_wmse, r->val_ssim };
      g_string_append_printf (s, "%d", r->epoch);
      for (guint k = 0; k < G_N_ELEMENTS (v); k++)
        {
          char buf[G_ASCII_DTOSTR_BUF_SIZE];
          g_string_append_c (s, ',');
          if (!isnan (v[k]))
            g_string_append (s, g_ascii_dtostr (buf, sizeof buf, v[k]));
        }
      g_string_append_printf (s, ",%" G_GINT64_FORMAT ",%d\n", (gint64) r->n_train_used, r->best ? 1 : 0);
    }
  return g_string_free (s, FALSE);
}

static void
export_metrics_chosen (PfWindow *self, GFile *file)
{
  char *csv = _pf_window_metrics_csv (self);
  if (!csv)
    return;
  GBytes *bytes = g_bytes_new_take (csv, strlen (csv));
  g_file_replace_contents_bytes_async (file, bytes, NULL, FALSE, G_FILE_CREATE_REPLACE_DESTINATION,
                                       NULL, csv_written, g_object_ref (self));
  g_bytes_unref (bytes);
}

static void
action_export_metrics (GSimpleAction *a, GVariant *p, gpointer user_data)
{
  PfWindow *self = PF_WINDOW (user_data);
  if (!metrics_log (self))
    {
      _pf_window_show_info (self, _("No metrics yet: train a model, open a checkpoint or select a run first"));
      return;
    }
  choose (self, _("Export Metrics"), GTK_FILE_CHOOSER_ACTION_SAVE, "metrics.csv", "*.csv",
          _("CSV files"), export_metrics_chosen);
}

static const GActionEntry file_entries[] = {
  { "open-dataset", action_open_dataset },
  { "save-dataset", action_save_dataset },
  { "import-tiff", action_import_tiff },
  { "open-checkpoint", action_open_checkpoint },
  { "save-checkpoint", action_save_checkpoint },
  { "export-figure", action_export_figure, "i" },
  { "export-metrics", action_export_metrics },
};

void
_pf_window_files_init (PfWindow *self)
{
  g_action_map_add_action_entries (G_ACTION_MAP (self), file_entries, G_N_ELEMENTS (file_entries), self);
}
