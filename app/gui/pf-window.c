/* pf-window.c — the workbench window: panes, hover and crosshair, jets, event navigation,
 * slideshow, the event summary and the banner. File actions live in pf-window-files.c, the
 * training glue in pf-window-train.c (see pf-window-private.h). */
#include <glib/gi18n.h>
#include <math.h>
#include <string.h>
#include "pf-window-private.h"
#include "pf-jets-task.h"
#include "pf-pixels.h"
#include "pf-error.h"

G_DEFINE_FINAL_TYPE (PfWindow, pf_window, GTK_TYPE_APPLICATION_WINDOW)

#define JET_ID_UNMATCHED 1000

static const char *
pane_title (int i)
{
  switch (i)
    {
    case PF_PANE_EMCAL: return _("Emcal");
    case PF_PANE_HCAL: return _("Hcal");
    case PF_PANE_TRK_N: return _("Tracker_n");
    case PF_PANE_TRK_P: return _("Tracker_p");
    case PF_PANE_TRUTH: return _("Truth");
    case PF_PANE_PREDICTION: return _("Prediction");
    default: return _("Residual (prediction − truth)");
    }
}

/* ---- banner ---- */

void
_pf_window_show_error (PfWindow *self, const char *context, const GError *error)
{
  g_autofree char *msg = g_strdup_printf ("%s: %s", context, error ? error->message : _("unknown error"));
  gtk_label_set_text (self->banner_label, msg);
  gtk_widget_remove_css_class (self->banner_box, "pf-info");
  gtk_widget_add_css_class (self->banner_box, "pf-error");
  gtk_revealer_set_reveal_child (self->banner, TRUE);
}

void
_pf_window_show_info (PfWindow *self, const char *message)
{
  gtk_label_set_text (self->banner_label, message);
  gtk_widget_remove_css_class (self->banner_box, "pf-error");
  gtk_widget_add_css_class (self->banner_box, "pf-info");
  gtk_revealer_set_reveal_child (self->banner, TRUE);
}

const char *
pf_window_get_banner_message (PfWindow *self)
{
  g_return_val_if_fail (PF_IS_WINDOW (self), NULL);
  if (!gtk_revealer_get_reveal_child (self->banner))
    return NULL;
  return gtk_label_get_text (self->banner_label);
}

guint
pf_window_get_generation (PfWindow *self)
{
  g_return_val_if_fail (PF_IS_WINDOW (self), 0);
  return self->generation;
}

/* ---- colour scales and the summary ---- */

static void
apply_ranges (PfWindow *self)
{
  gboolean shared = gtk_toggle_button_get_active (self->shared_toggle);
  int n = self->size * self->size;
  double vmax = 0;
  if (shared && self->ev)
    {
      for (int i = 0; i < PF_N_CHANNELS * n; i++)
        vmax = MAX (vmax, self->ev[i]);
      if (self->have_pred)
        for (int i = 0; i < n; i++)
          vmax = MAX (vmax, self->pred[i]);
    }
  for (int p = 0; p < PF_PANE_RESIDUAL; p++)
    pf_calo_view_set_range (self->panes[p], 0, shared && vmax > 0 ? vmax : 0);
  pf_calo_view_set_range (self->panes[PF_PANE_RESIDUAL], 0, 0);
}

static void
update_summary (PfWindow *self)
{
  if (!self->ev)
    {
      gtk_label_set_text (self->summary_label, _("No events yet"));
      return;
    }
  int n = self->size * self->size;
  GString *s = g_string_new (NULL);
  for (int ch = 0; ch < PF_N_CHANNELS; ch++)
    {
      double sum = 0;
      int cells = 0;
      for (int i = 0; i < n; i++)
        {
          sum += self->ev[ch * n + i];
          cells += self->ev[ch * n + i] > 0;
        }
      g_string_append_printf (s, _("%-11s %9.1f GeV in %4d cells\n"), pane_title (ch), sum, cells);
    }
  if (self->have_pred)
    {
      double sum = 0, truth = 0;
      for (int i = 0; i < n; i++)
        {
          sum += self->pred[i];
          truth += self->ev[PF_CH_TRUTH * n + i];
        }
      g_string_append_printf (s, _("%-11s %9.1f GeV (%+.2f%% of truth)\n"), pane_title (PF_PANE_PREDICTION),
                              sum, truth > 0 ? 100.0 * (sum - truth) / truth : 0.0);
    }
  g_string_append_printf (s, _("Jets: %u truth, %u predicted"),
                          self->truth_jets->len, self->pred_jets->len);
  gtk_label_set_text (self->summary_label, s->str);
  g_string_free (s, TRUE);
}

/* ---- jets ---- */

static void
show_jets (PfWindow *self)
{
  for (int p = 0; p < PF_N_PANES; p++)
    {
      pf_calo_view_set_jets (self->panes[p], (PfJetCircle *) self->truth_jets->data,
                             self->truth_jets->len, PF_JET_STYLE_TRUTH);
      pf_calo_view_set_jets (self->panes[p], (PfJetCircle *) self->pred_jets->data,
                             self->pred_jets->len, PF_JET_STYLE_PREDICTION);
      pf_calo_view_set_selected_jet (self->panes[p], self->selected_jet);
    }
  update_summary (self);
}

static void
jets_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  PfWindow *self = user_data;
  g_autoptr (GError) error = NULL;
  GArray *truth = NULL, *pred = NULL;

  if (!pf_jets_cluster_finish (result, &truth, &pred, &error))
    {
      /* Cancelled: a newer clustering replaced it (still pending), or the window went. */
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          self->jets_pending = FALSE;
          g_clear_object (&self->jets_cancel);
          _pf_window_show_error (self, _("Clustering jets"), error);
          _pf_window_train_maybe_screenshot (self);
        }
      g_object_unref (self);
      return;
    }
  self->jets_pending = FALSE;
  g_clear_object (&self->jets_cancel);
  g_array_unref (self->truth_jets);
  g_array_unref (self->pred_jets);
  self->truth_jets = truth;
  self->pred_jets = pred;
  show_jets (self);
  _pf_window_train_maybe_screenshot (self);
  g_object_unref (self);
}

static void
cluster_jets (PfWindow *self)
{
  g_cancellable_cancel (self->jets_cancel);
  g_clear_object (&self->jets_cancel);
  self->jets_pending = FALSE;
  if (!self->ev || !gtk_toggle_button_get_active (self->jets_toggle))
    return;
  self->jets_cancel = g_cancellable_new ();
  self->jets_pending = TRUE;
  int n = self->size * self->size;
  pf_jets_cluster_async (self->ev + PF_CH_TRUTH * n, self->have_pred ? self->pred : NULL,
                         self->size, self->jets_cancel, jets_done, g_object_ref (self));
}

static const PfJetCircle *
find_jet (GArray *jets, int id)
{
  for (guint i = 0; i < jets->len; i++)
    if (g_array_index (jets, PfJetCircle, i).id == id)
      return &g_array_index (jets, PfJetCircle, i);
  return NULL;
}

static void
on_jet_clicked (PfCaloView *view, int id, PfWindow *self)
{
  self->selected_jet = self->selected_jet == id ? -1 : id;
  for (int p = 0; p < PF_N_PANES; p++)
    pf_calo_view_set_selected_jet (self->panes[p], self->selected_jet);
  if (self->selected_jet < 0)
    {
      gtk_label_set_text (self->jet_label, "");
      return;
    }
  const PfJetCircle *t = find_jet (self->truth_jets, id);
  const PfJetCircle *q = find_jet (self->pred_jets, id);
  GString *s = g_string_new (NULL);
  if (t)
    g_string_append_printf (s, _("Truth jet %d: η %.2f, φ %.2f, R %.2f, pT %.1f GeV, E %.1f GeV\n"),
                            id, t->eta, t->phi, t->radius, t->pt, t->e);
  if (q)
    g_string_append_printf (s, _("Predicted jet: η %.2f, φ %.2f, R %.2f, pT %.1f GeV, E %.1f GeV\n"),
                            q->eta, q->phi, q->radius, q->pt, q->e);
  if (t && q && t->e > 0)
    g_string_append_printf (s, _("Energy difference: %+.1f%%"), 100.0 * (q->e - t->e) / t->e);
  else if (!q)
    g_string_append (s, _("No matching predicted jet"));
  else if (!t)
    g_string_append (s, _("No matching truth jet"));
  gtk_label_set_text (self->jet_label, s->str);
  g_string_free (s, TRUE);
}

/* ---- the event shown ---- */

/* Shows self->pred (ok) or no prediction, then what depends on it: ranges, jets, summary. */
static void
show_prediction (PfWindow *self, gboolean ok)
{
  int n = self->size * self->size;
  self->have_pred = ok;
  if (ok)
    {
      for (int i = 0; i < n; i++)
        self->resid[i] = self->pred[i] - self->ev[PF_CH_TRUTH * n + i];
      pf_calo_view_set_image (self->panes[PF_PANE_PREDICTION], self->pred, self->size, self->size);
      pf_calo_view_set_image (self->panes[PF_PANE_RESIDUAL], self->resid, self->size, self->size);
    }
  else
    {
      pf_calo_view_set_image (self->panes[PF_PANE_PREDICTION], NULL, 0, 0);
      pf_calo_view_set_image (self->panes[PF_PANE_RESIDUAL], NULL, 0, 0);
    }
  apply_ranges (self);
  cluster_jets (self);
  update_summary (self);
}

/* Shows the answer to the newest request: the prediction, or the error in the banner. */
static void
prediction_arrived (PfWindow *self, const float *pred, const GError *error)
{
  self->pred_pending = FALSE;
  g_clear_object (&self->pred_cancel);
  if (!pred)
    _pf_window_report_error (self, _("Prediction"), error);
  else
    memcpy (self->pred, pred, (gsize) self->size * self->size * sizeof (float));
  show_prediction (self, pred != NULL);
  _pf_window_train_maybe_screenshot (self);
}

static void
prediction_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  PfWindow *self = user_data;
  g_autoptr (GError) error = NULL;
  g_autofree float *pred = pf_train_controller_predict_finish (PF_TRAIN_CONTROLLER (source), result,
                                                              NULL, &error);
  /* Cancelled: a newer request (another event, newer weights) replaced it, or the window went. */
  if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    prediction_arrived (self, pred, error);
  g_object_unref (self);
}

static void predict_with_checkpoint (PfWindow *self);

static void
checkpoint_prediction_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  PfWindow *self = user_data;
  g_autoptr (GError) error = NULL;
  g_autofree float *pred = pf_checkpoint_predictor_predict_finish (PF_CHECKPOINT_PREDICTOR (source),
                                                                  result, &error);
  self->ckpt_busy = FALSE;
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      /* A newer request replaced it while it ran; the newest one waited for this run. */
      if (self->ckpt_again && self->ckpt)
        predict_with_checkpoint (self);
    }
  else
    prediction_arrived (self, pred, error);
  g_object_unref (self);
}

/* One run of the checkpoint at a time: the worker holds a reference on the predictor, so
 * opening another checkpoint or closing the window while it runs frees nothing under it. */
static void
predict_with_checkpoint (PfWindow *self)
{
  self->ckpt_again = FALSE;
  self->ckpt_busy = TRUE;
  self->pred_cancel = g_cancellable_new ();
  pf_checkpoint_predictor_predict_async (self->ckpt, self->ev, self->pred_cancel,
                                         checkpoint_prediction_done, g_object_ref (self));
}

/* The batch-1 inference runs on a worker (it takes milliseconds, more on a CPU that training
 * keeps busy): with a training run's weights through the train controller, else with a
 * checkpoint opened from disk. The panes keep their picture until the answer comes, and an
 * answer for an older request is dropped (its cancellable was cancelled). */
void
_pf_window_update_prediction (PfWindow *self)
{
  if (!self->ev)
    return;
  g_cancellable_cancel (self->pred_cancel);
  g_clear_object (&self->pred_cancel);
  self->pred_pending = FALSE;
  self->ckpt_again = FALSE;
  /* the newest of the two sources predicts: a checkpoint opened after a run's weights wins
   * until the run sends new ones */
  if (pf_train_controller_get_weights_serial (self->train) > 0 && !(self->ckpt && self->pred_from_ckpt))
    {
      self->pred_cancel = g_cancellable_new ();
      self->pred_pending = TRUE;
      pf_train_controller_predict_async (self->train, self->ev, self->size, self->pred_cancel,
                                         prediction_done, g_object_ref (self));
      return;
    }
  if (self->ckpt)
    {
      int S = pf_checkpoint_predictor_get_image_size (self->ckpt);
      if (S == self->size)
        {
          self->pred_pending = TRUE;
          if (self->ckpt_busy)
            self->ckpt_again = TRUE;   /* issued when the run in flight returns */
          else
            predict_with_checkpoint (self);
          return;
        }
      g_autoptr (GError) error = g_error_new (PF_ERROR, PF_ERROR_SHAPE,
                                              _("%s takes %d×%d images, the events are %d×%d"),
                                              pf_checkpoint_predictor_get_path (self->ckpt), S, S,
                                              self->size, self->size);
      _pf_window_report_error (self, _("Prediction"), error);
    }
  show_prediction (self, FALSE);
}

void
_pf_window_refresh_event (PfWindow *self)
{
  int64_t n_events = 0;
  int size = pf_sim_controller_get_image_size (self->sim);

  n_events = pf_sim_controller_get_n_events (self->sim);
  if (n_events <= 0 || size <= 0)
    return;
  if (size != self->size || !self->ev)
    {
      self->size = size;
      g_free (self->ev);
      g_free (self->pred);
      g_free (self->resid);
      self->ev = g_new0 (float, (gsize) PF_N_CHANNELS * size * size);
      self->pred = g_new0 (float, (gsize) size * size);
      self->resid = g_new0 (float, (gsize) size * size);
    }
  self->n_events = n_events;
  /* pf_window_set_event's event, once the events it was meant for are here */
  if (self->start_event >= 0 && !self->loading)
    {
      if (self->start_event >= n_events)
        {
          g_autoptr (GError) error = g_error_new (G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                                                  _("there is no event %lld, the last one is %lld"),
                                                  (long long) self->start_event + 1, (long long) n_events);
          _pf_window_report_error (self, _("Event"), error);
        }
      self->event = self->start_event;
      self->start_event = -1;
    }
  self->event = CLAMP (self->event, 0, n_events - 1);
  if (!pf_sim_controller_get_event (self->sim, self->event, self->ev, &self->generation))
    return;

  int n = size * size;
  for (int ch = 0; ch < PF_N_CHANNELS; ch++)
    pf_calo_view_set_image (self->panes[ch], self->ev + ch * n, size, size);

  GtkAdjustment *adj = gtk_spin_button_get_adjustment (self->event_spin);
  gtk_adjustment_set_upper (adj, (double) n_events);
  gtk_adjustment_set_value (adj, (double) self->event + 1);
  g_autofree char *label = g_strdup_printf (_("Event %lld of %lld (generation %u)"),
                                            (long long) self->event + 1, (long long) n_events,
                                            self->generation);
  gtk_label_set_text (self->event_label, label);
  self->selected_jet = -1;
  gtk_label_set_text (self->jet_label, "");
  self->have_pred = FALSE;   /* the prediction held is of the previous event */
  _pf_window_update_prediction (self);
  _pf_window_update_actions (self);
}

void
pf_window_set_event (PfWindow *self, gint64 event)
{
  g_return_if_fail (PF_IS_WINDOW (self) && event >= 0);
  self->start_event = event;
  if (self->n_events > 0 && !self->loading)
    _pf_window_refresh_event (self);
}

static void
go_to_event (PfWindow *self, int64_t k)
{
  if (self->n_events <= 0)
    return;
  self->event = ((k % self->n_events) + self->n_events) % self->n_events;
  _pf_window_refresh_event (self);
}

static void
on_event_spin_changed (GtkSpinButton *spin, PfWindow *self)
{
  int64_t k = (int64_t) gtk_spin_button_get_value (spin) - 1;
  if (k != self->event)
    go_to_event (self, k);
}

static void
on_events_ready (PfSimController *sim, guint generation, PfWindow *self)
{
  _pf_window_refresh_event (self);
  _pf_window_train_maybe_screenshot (self);
}

static void
on_sim_error (PfSimController *sim, GError *error, PfWindow *self)
{
  _pf_window_show_error (self, _("Simulation"), error);
}

/* ---- hover: the same cell in every pane ---- */

static void
on_hover (PfCaloView *view, int row, int col, double eta, double phi, double e, PfWindow *self)
{
  for (int p = 0; p < PF_N_PANES; p++)
    pf_calo_view_set_crosshair (self->panes[p], row, col);
  GString *s = g_string_new (NULL);
  g_string_append_printf (s, _("%s: η %.2f, φ %.2f, E %.3f GeV"),
                          pf_calo_view_get_title (view), eta, phi, e);
  g_string_append (s, "   |");
  for (int p = 0; p < PF_N_PANES; p++)
    {
      double v = pf_calo_view_get_value (self->panes[p], row, col);
      if (!isnan (v) && self->panes[p] != view && p != PF_PANE_RESIDUAL)
        g_string_append_printf (s, "  %s %.3f", pane_title (p), v);
    }
  gtk_label_set_text (self->status_label, s->str);
  g_string_free (s, TRUE);
}

static void
on_hover_leave (PfCaloView *view, PfWindow *self)
{
  for (int p = 0; p < PF_N_PANES; p++)
    pf_calo_view_set_crosshair (self->panes[p], -1, -1);
}

/* ---- display toggles ---- */

static void
on_display_changed (PfWindow *self)
{
  gboolean log_scale = gtk_toggle_button_get_active (self->log_toggle);
  gboolean jets = gtk_toggle_button_get_active (self->jets_toggle);
  double threshold = gtk_spin_button_get_value (self->threshold_spin);
  for (int p = 0; p < PF_N_PANES; p++)
    {
      pf_calo_view_set_log_scale (self->panes[p], log_scale && p != PF_PANE_RESIDUAL);
      pf_calo_view_set_threshold (self->panes[p], threshold);
      pf_calo_view_set_show_jets (self->panes[p], jets);
    }
  apply_ranges (self);
}

static void
on_jets_toggled (GtkToggleButton *button, PfWindow *self)
{
  on_display_changed (self);
  if (gtk_toggle_button_get_active (button) && self->truth_jets->len == 0)
    cluster_jets (self);
}

void
pf_window_set_show_jets (PfWindow *self, gboolean show)
{
  g_return_if_fail (PF_IS_WINDOW (self));
  if (self->settings)
    g_settings_unbind (self->jets_toggle, "active");
  gtk_toggle_button_set_active (self->jets_toggle, show);
}

/* ---- actions ---- */

static gboolean
slideshow_tick (gpointer user_data)
{
  PfWindow *self = user_data;
  go_to_event (self, self->event + 1);
  return G_SOURCE_CONTINUE;
}

static void
set_slideshow (PfWindow *self, gboolean on)
{
  g_clear_handle_id (&self->slideshow_id, g_source_remove);
  if (on)
    {
      guint ms = self->settings ? g_settings_get_uint (self->settings, "slideshow-interval") : 1500;
      self->slideshow_id = g_timeout_add (MAX (ms, 100u), slideshow_tick, self);
    }
}

static void
action_slideshow (GSimpleAction *action, GVariant *value, gpointer user_data)
{
  g_simple_action_set_state (action, value);
  set_slideshow (PF_WINDOW (user_data), g_variant_get_boolean (value));
}

static void
action_next (GSimpleAction *a, GVariant *p, gpointer user_data)
{
  PfWindow *self = user_data;
  go_to_event (self, self->event + 1);
}

static void
action_prev (GSimpleAction *a, GVariant *p, gpointer user_data)
{
  PfWindow *self = user_data;
  go_to_event (self, self->event - 1);
}

static void
action_jump (GSimpleAction *a, GVariant *p, gpointer user_data)
{
  PfWindow *self = user_data;
  gtk_widget_grab_focus (GTK_WIDGET (self->event_spin));
}

static void
action_dismiss_banner (GSimpleAction *a, GVariant *p, gpointer user_data)
{
  PfWindow *self = user_data;
  gtk_revealer_set_reveal_child (self->banner, FALSE);
}

static const GActionEntry win_entries[] = {
  { "next-event", action_next },
  { "prev-event", action_prev },
  { "jump-event", action_jump },
  { "slideshow", NULL, NULL, "false", action_slideshow },
  { "dismiss-banner", action_dismiss_banner },
};

void
_pf_window_update_actions (PfWindow *self)
{
  gboolean have = self->n_events > 0;
  const char *names[] = { "next-event", "prev-event", "jump-event", "slideshow" };
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    g_simple_action_set_enabled (G_SIMPLE_ACTION (g_action_map_lookup_action (G_ACTION_MAP (self), names[i])), have);
}

/* ---- life cycle ---- */

static void
pf_window_dispose (GObject *object)
{
  PfWindow *self = PF_WINDOW (object);

  g_clear_handle_id (&self->slideshow_id, g_source_remove);
  if (self->jets_cancel)
    g_cancellable_cancel (self->jets_cancel);
  g_clear_object (&self->jets_cancel);
  if (self->pred_cancel)
    g_cancellable_cancel (self->pred_cancel);
  g_clear_object (&self->pred_cancel);
  self->ckpt_again = FALSE;
  if (self->ckpt_open_cancel)
    g_cancellable_cancel (self->ckpt_open_cancel);
  g_clear_object (&self->ckpt_open_cancel);
  /* A run in flight keeps the predictor alive; closing waits for it (one batch-1 inference at
   * most), so no inference outlives the window and the process can exit under none. */
  if (self->ckpt)
    pf_checkpoint_predictor_close (self->ckpt);
  g_clear_object (&self->ckpt);
  _pf_window_train_dispose (self);
  if (self->sim)
    g_signal_handlers_disconnect_by_data (self->sim, self);
  g_clear_object (&self->sim);
  g_clear_object (&self->settings);
  gtk_widget_dispose_template (GTK_WIDGET (self), PF_TYPE_WINDOW);
  G_OBJECT_CLASS (pf_window_parent_class)->dispose (object);
}

static void
pf_window_finalize (GObject *object)
{
  PfWindow *self = PF_WINDOW (object);

  g_free (self->ev);
  g_free (self->pred);
  g_free (self->resid);
  g_free (self->dataset_path);
  g_array_unref (self->truth_jets);
  g_array_unref (self->pred_jets);
  g_free (self->screenshot_path);
  G_OBJECT_CLASS (pf_window_parent_class)->finalize (object);
}

static void
pf_window_class_init (PfWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  static const char *pane_ids[PF_N_PANES] = {
    "pane_emcal", "pane_hcal", "pane_trk_n", "pane_trk_p", "pane_truth", "pane_prediction",
    "pane_residual",
  };

  object_class->dispose = pf_window_dispose;
  object_class->finalize = pf_window_finalize;

  g_type_ensure (PF_TYPE_CALO_VIEW);
  g_type_ensure (PF_TYPE_LOSS_PLOT);
  g_type_ensure (PF_TYPE_SIM_PANEL);
  g_type_ensure (PF_TYPE_TRAIN_PANEL);
  g_type_ensure (PF_TYPE_RUNS_VIEW);

  gtk_widget_class_set_template_from_resource (widget_class, "/org/pflow/Workbench/pf-window.ui");
  for (int p = 0; p < PF_N_PANES; p++)
    gtk_widget_class_bind_template_child_full (widget_class, pane_ids[p], FALSE,
                                               G_STRUCT_OFFSET (PfWindow, panes) + p * sizeof (gpointer));
  gtk_widget_class_bind_template_child (widget_class, PfWindow, loss_plot);
  gtk_widget_class_bind_template_child (widget_class, PfWindow, status_label);
  gtk_widget_class_bind_template_child (widget_class, PfWindow, summary_label);
  gtk_widget_class_bind_template_child (widget_class, PfWindow, jet_label);
  gtk_widget_class_bind_template_child (widget_class, PfWindow, event_label);
  gtk_widget_class_bind_template_child (widget_class, PfWindow, train_status_label);
  gtk_widget_class_bind_template_child (widget_class, PfWindow, banner);
  gtk_widget_class_bind_template_child (widget_class, PfWindow, banner_label);
  gtk_widget_class_bind_template_child (widget_class, PfWindow, banner_box);
  gtk_widget_class_bind_template_child (widget_class, PfWindow, log_toggle);
  gtk_widget_class_bind_template_child (widget_class, PfWindow, shared_toggle);
  gtk_widget_class_bind_template_child (widget_class, PfWindow, jets_toggle);
  gtk_widget_class_bind_template_child (widget_class, PfWindow, slideshow_toggle);
  gtk_widget_class_bind_template_child (widget_class, PfWindow, threshold_spin);
  gtk_widget_class_bind_template_child (widget_class, PfWindow, event_spin);
  gtk_widget_class_bind_template_child (widget_class, PfWindow, xaxis_dropdown);
  gtk_widget_class_bind_template_child (widget_class, PfWindow, logy_toggle);
  gtk_widget_class_bind_template_child (widget_class, PfWindow, smoothing_scale);
  gtk_widget_class_bind_template_child (widget_class, PfWindow, progress);
  gtk_widget_class_bind_template_child (widget_class, PfWindow, sim_panel);
  gtk_widget_class_bind_template_child (widget_class, PfWindow, train_panel);
  gtk_widget_class_bind_template_child (widget_class, PfWindow, runs_view);
}

static void
pf_window_init (PfWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->truth_jets = g_array_new (FALSE, FALSE, sizeof (PfJetCircle));
  self->pred_jets = g_array_new (FALSE, FALSE, sizeof (PfJetCircle));
  self->selected_jet = -1;
  self->start_event = -1;

  for (int p = 0; p < PF_N_PANES; p++)
    {
      pf_calo_view_set_title (self->panes[p], pane_title (p));
      pf_calo_view_set_colormap (self->panes[p], p == PF_PANE_RESIDUAL ? PF_COLORMAP_DIVERGING
                                                                       : PF_COLORMAP_VIRIDIS);
      g_signal_connect (self->panes[p], "hover", G_CALLBACK (on_hover), self);
      g_signal_connect (self->panes[p], "hover-leave", G_CALLBACK (on_hover_leave), self);
      g_signal_connect (self->panes[p], "jet-clicked", G_CALLBACK (on_jet_clicked), self);
    }
  g_signal_connect_swapped (self->log_toggle, "toggled", G_CALLBACK (on_display_changed), self);
  g_signal_connect_swapped (self->shared_toggle, "toggled", G_CALLBACK (on_display_changed), self);
  g_signal_connect (self->jets_toggle, "toggled", G_CALLBACK (on_jets_toggled), self);
  g_signal_connect_swapped (self->threshold_spin, "value-changed", G_CALLBACK (on_display_changed), self);
  g_signal_connect (self->event_spin, "value-changed", G_CALLBACK (on_event_spin_changed), self);

  g_action_map_add_action_entries (G_ACTION_MAP (self), win_entries, G_N_ELEMENTS (win_entries), self);
  update_summary (self);
}

PfWindow *
pf_window_new (GtkApplication *app, GSettings *settings, int n_events)
{
  PfWindow *self = g_object_new (PF_TYPE_WINDOW, "application", app, NULL);
  PfSimParams params;

  self->settings = settings ? g_object_ref (settings) : NULL;
  if (settings)
    {
      g_settings_bind (settings, "log-scale", self->log_toggle, "active", G_SETTINGS_BIND_DEFAULT);
      g_settings_bind (settings, "shared-scale", self->shared_toggle, "active", G_SETTINGS_BIND_DEFAULT);
      g_settings_bind (settings, "show-jets", self->jets_toggle, "active", G_SETTINGS_BIND_DEFAULT);
      g_settings_bind (settings, "threshold", gtk_spin_button_get_adjustment (self->threshold_spin),
                       "value", G_SETTINGS_BIND_DEFAULT);
      g_settings_bind (settings, "window-width", self, "default-width", G_SETTINGS_BIND_DEFAULT);
      g_settings_bind (settings, "window-height", self, "default-height", G_SETTINGS_BIND_DEFAULT);
      g_settings_bind (settings, "window-maximized", self, "maximized", G_SETTINGS_BIND_DEFAULT);
      if (n_events <= 0)
        n_events = g_settings_get_int (settings, "events");
    }
  if (n_events <= 0)
    n_events = 100;
  on_display_changed (self);

  self->sim = pf_sim_controller_new (n_events);
  g_signal_connect (self->sim, "events-ready", G_CALLBACK (on_events_ready), self);
  g_signal_connect (self->sim, "error", G_CALLBACK (on_sim_error), self);
  pf_sim_panel_set_controller (self->sim_panel, self->sim, settings, n_events);

  _pf_window_files_init (self);
  _pf_window_train_init (self);
  _pf_window_update_actions (self);

  /* The first events: the panel's parameters (restored from the settings). */
  pf_sim_panel_get_params (self->sim_panel, &params);
  g_autoptr (GError) error = NULL;
  if (!pf_sim_controller_set_params (self->sim, &params, NULL, &error))
    _pf_window_show_error (self, _("Simulation"), error);
  return self;
}
