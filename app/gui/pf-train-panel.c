/* pf-train-panel.c — see pf-train-panel.h. */
#include <glib/gi18n.h>
#include <string.h>
#include "pf-train-panel.h"
#include "pf-model.h"

#define MAX_SCALES 6

static const char *const loss_names[] = { "mse", "wmse", "ssim", "mix" };

struct _PfTrainPanel
{
  GtkBox parent_instance;

  GtkDropDown *model_dropdown, *scale_dropdown, *loss_dropdown;
  GtkAdjustment *lambda_adj, *lr_adj, *batch_adj, *epochs_adj;
  GtkLabel *params_label;
  GtkButton *pause_button;

  GSettings *settings;
  guint n_models;
  size_t *counts;          /* n_models x MAX_SCALES, 0 = unknown; NULL until computed */
  GCancellable *cancel;
};

G_DEFINE_FINAL_TYPE (PfTrainPanel, pf_train_panel, GTK_TYPE_BOX)

enum { SIGNAL_LAMBDA_CHANGED, N_SIGNALS };
static guint signals[N_SIGNALS];

static const PfModelInfo *
selected_model (PfTrainPanel *self)
{
  const PfModelInfo *const *list = pf_model_list ();
  guint i = gtk_drop_down_get_selected (self->model_dropdown);
  return i < self->n_models ? list[i] : list[0];
}

static int
selected_scale (PfTrainPanel *self)
{
  const PfModelInfo *m = selected_model (self);
  if (m->max_scale <= 0)
    return 0;
  guint i = gtk_drop_down_get_selected (self->scale_dropdown);
  return CLAMP (m->min_scale + (int) i, m->min_scale, m->max_scale);
}

static char *
format_count (size_t n)
{
  /* Thousands separators of the locale ("%'" is POSIX, not C17): done by hand with a space. */
  g_autofree char *digits = g_strdup_printf ("%zu", n);
  GString *s = g_string_new (NULL);
  int len = (int) strlen (digits);
  for (int i = 0; i < len; i++)
    {
      if (i > 0 && (len - i) % 3 == 0)
        g_string_append_c (s, ',');
      g_string_append_c (s, digits[i]);
    }
  return g_string_free (s, FALSE);
}

static void
update_params_label (PfTrainPanel *self)
{
  const PfModelInfo *m = selected_model (self);
  int scale = selected_scale (self);
  guint mi = gtk_drop_down_get_selected (self->model_dropdown);
  size_t n = self->counts && mi < self->n_models ? self->counts[mi * MAX_SCALES + scale] : 0;
  g_autofree char *count = n ? format_count (n) : NULL;
  g_autofree char *text = count ? g_strdup_printf (_("%s: %s trainable parameters"), m->description, count)
                                : g_strdup_printf (_("%s: counting parameters…"), m->description);
  gtk_label_set_text (self->params_label, text);
}

static void
fill_scales (PfTrainPanel *self)
{
  const PfModelInfo *m = selected_model (self);
  guint mi = gtk_drop_down_get_selected (self->model_dropdown);
  guint old = gtk_drop_down_get_selected (self->scale_dropdown);
  GtkStringList *list = gtk_string_list_new (NULL);

  if (m->max_scale <= 0)
    gtk_string_list_append (list, _("single size"));
  for (int s = m->min_scale; m->max_scale > 0 && s <= m->max_scale; s++)
    {
      size_t n = self->counts && mi < self->n_models ? self->counts[mi * MAX_SCALES + s] : 0;
      g_autofree char *count = n ? format_count (n) : NULL;
      g_autofree char *item = count ? g_strdup_printf (_("%d (%s parameters)"), s, count)
                                    : g_strdup_printf ("%d", s);
      gtk_string_list_append (list, item);
    }
  gtk_drop_down_set_model (self->scale_dropdown, G_LIST_MODEL (list));
  g_object_unref (list);
  if (old != GTK_INVALID_LIST_POSITION && old < g_list_model_get_n_items (G_LIST_MODEL (list)))
    gtk_drop_down_set_selected (self->scale_dropdown, old);
  update_params_label (self);
}

static void
count_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  const PfModelInfo *const *list = pf_model_list ();
  guint n = GPOINTER_TO_UINT (data);
  size_t *counts = g_new0 (size_t, n * MAX_SCALES);
  for (guint i = 0; i < n && !g_cancellable_is_cancelled (cancellable); i++)
    for (int s = list[i]->min_scale; s <= MAX (list[i]->max_scale, 0) && s < MAX_SCALES; s++)
      if (!pf_model_param_count (list[i]->name, s, &counts[i * MAX_SCALES + s], NULL))
        counts[i * MAX_SCALES + s] = 0;
  g_task_return_pointer (task, counts, g_free);
}

static void
count_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  size_t *counts = g_task_propagate_pointer (G_TASK (result), NULL);
  if (!counts)
    return;   /* cancelled: the panel is gone */
  PfTrainPanel *self = PF_TRAIN_PANEL (user_data);
  g_free (self->counts);
  self->counts = counts;
  fill_scales (self);
}

static void
save_choices (PfTrainPanel *self)
{
  if (!self->settings)
    return;
  g_settings_set_string (self->settings, "model", selected_model (self)->name);
  g_settings_set_int (self->settings, "scale", selected_scale (self));
  guint li = gtk_drop_down_get_selected (self->loss_dropdown);
  g_settings_set_string (self->settings, "loss", loss_names[MIN (li, 3u)]);
}

static void
on_model_changed (PfTrainPanel *self)
{
  fill_scales (self);
  save_choices (self);
}

void
pf_train_panel_bind_settings (PfTrainPanel *self, GSettings *settings)
{
  g_return_if_fail (PF_IS_TRAIN_PANEL (self));
  if (!settings)
    return;
  g_set_object (&self->settings, settings);

  const PfModelInfo *const *list = pf_model_list ();
  g_autofree char *model = g_settings_get_string (settings, "model");
  g_autofree char *loss = g_settings_get_string (settings, "loss");
  int scale = g_settings_get_int (settings, "scale");
  for (guint i = 0; i < self->n_models; i++)
    if (g_strcmp0 (list[i]->name, model) == 0)
      {
        gtk_drop_down_set_selected (self->model_dropdown, i);
        if (list[i]->max_scale > 0 && scale >= list[i]->min_scale && scale <= list[i]->max_scale)
          gtk_drop_down_set_selected (self->scale_dropdown, scale - list[i]->min_scale);
      }
  for (guint i = 0; i < G_N_ELEMENTS (loss_names); i++)
    if (g_strcmp0 (loss_names[i], loss) == 0)
      gtk_drop_down_set_selected (self->loss_dropdown, i);
  g_settings_bind (settings, "lambda", self->lambda_adj, "value", G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (settings, "learning-rate", self->lr_adj, "value", G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (settings, "batch", self->batch_adj, "value", G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (settings, "epochs", self->epochs_adj, "value", G_SETTINGS_BIND_DEFAULT);
}

void
pf_train_panel_get_options (PfTrainPanel *self, PfTrainOptions *o)
{
  g_return_if_fail (PF_IS_TRAIN_PANEL (self));
  guint li = gtk_drop_down_get_selected (self->loss_dropdown);
  o->model = selected_model (self)->name;
  o->scale = selected_scale (self);
  o->loss = loss_names[MIN (li, 3u)];
  o->lambda = gtk_adjustment_get_value (self->lambda_adj);
  o->lr = gtk_adjustment_get_value (self->lr_adj);
  o->batch = (int) gtk_adjustment_get_value (self->batch_adj);
  o->epochs = (int) gtk_adjustment_get_value (self->epochs_adj);
}

void
pf_train_panel_set_paused (PfTrainPanel *self, gboolean paused)
{
  gtk_button_set_label (self->pause_button, paused ? _("_Resume") : _("_Pause"));
}

static void
on_lambda_changed (PfTrainPanel *self)
{
  g_signal_emit (self, signals[SIGNAL_LAMBDA_CHANGED], 0, gtk_adjustment_get_value (self->lambda_adj));
}

static void
pf_train_panel_dispose (GObject *object)
{
  PfTrainPanel *self = PF_TRAIN_PANEL (object);

  g_cancellable_cancel (self->cancel);
  g_clear_object (&self->cancel);
  g_clear_object (&self->settings);
  gtk_widget_dispose_template (GTK_WIDGET (self), PF_TYPE_TRAIN_PANEL);
  G_OBJECT_CLASS (pf_train_panel_parent_class)->dispose (object);
}

static void
pf_train_panel_finalize (GObject *object)
{
  g_free (PF_TRAIN_PANEL (object)->counts);
  G_OBJECT_CLASS (pf_train_panel_parent_class)->finalize (object);
}

static void
pf_train_panel_class_init (PfTrainPanelClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  G_OBJECT_CLASS (klass)->dispose = pf_train_panel_dispose;
  G_OBJECT_CLASS (klass)->finalize = pf_train_panel_finalize;
  signals[SIGNAL_LAMBDA_CHANGED] =
    g_signal_new ("lambda-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                  NULL, G_TYPE_NONE, 1, G_TYPE_DOUBLE);
  gtk_widget_class_set_template_from_resource (widget_class, "/org/pflow/Workbench/pf-train-panel.ui");
  gtk_widget_class_bind_template_child (widget_class, PfTrainPanel, model_dropdown);
  gtk_widget_class_bind_template_child (widget_class, PfTrainPanel, scale_dropdown);
  gtk_widget_class_bind_template_child (widget_class, PfTrainPanel, loss_dropdown);
  gtk_widget_class_bind_template_child (widget_class, PfTrainPanel, lambda_adj);
  gtk_widget_class_bind_template_child (widget_class, PfTrainPanel, lr_adj);
  gtk_widget_class_bind_template_child (widget_class, PfTrainPanel, batch_adj);
  gtk_widget_class_bind_template_child (widget_class, PfTrainPanel, epochs_adj);
  gtk_widget_class_bind_template_child (widget_class, PfTrainPanel, params_label);
  gtk_widget_class_bind_template_child (widget_class, PfTrainPanel, pause_button);
}

static void
pf_train_panel_init (PfTrainPanel *self)
{
  const PfModelInfo *const *list = pf_model_list ();
  GtkStringList *names = gtk_string_list_new (NULL);

  gtk_widget_init_template (GTK_WIDGET (self));
  for (self->n_models = 0; list[self->n_models]; self->n_models++)
    gtk_string_list_append (names, list[self->n_models]->name);
  gtk_drop_down_set_model (self->model_dropdown, G_LIST_MODEL (names));
  g_object_unref (names);
  fill_scales (self);
  g_signal_connect_swapped (self->model_dropdown, "notify::selected", G_CALLBACK (on_model_changed), self);
  g_signal_connect_swapped (self->scale_dropdown, "notify::selected", G_CALLBACK (update_params_label), self);
  g_signal_connect_swapped (self->scale_dropdown, "notify::selected", G_CALLBACK (save_choices), self);
  g_signal_connect_swapped (self->loss_dropdown, "notify::selected", G_CALLBACK (save_choices), self);
  g_signal_connect_swapped (self->lambda_adj, "value-changed", G_CALLBACK (on_lambda_changed), self);

  self->cancel = g_cancellable_new ();
  GTask *task = g_task_new (NULL, self->cancel, count_done, self);
  g_task_set_task_data (task, GUINT_TO_POINTER (self->n_models), NULL);
  g_task_run_in_thread (task, count_thread);
  g_object_unref (task);
}
