/* pf-sim-panel.c — see pf-sim-panel.h. */
#include <glib/gi18n.h>
#include "pf-sim-panel.h"

struct _PfSimPanel
{
  GtkBox parent_instance;

  GtkAdjustment *bfield_adj, *nonlin_adj, *res_adj, *seed_adj, *events_adj;
  GtkSpinner *spinner;
  GtkLabel *state_label;

  PfSimController *sim;
  gboolean syncing;       /* values set from a file: do not regenerate */
};

G_DEFINE_FINAL_TYPE (PfSimPanel, pf_sim_panel, GTK_TYPE_BOX)

void
pf_sim_panel_get_params (PfSimPanel *self, PfSimParams *out)
{
  if (self->sim)
    pf_sim_controller_get_params (self->sim, out);
  else
    pf_sim_params_init_default (out);
  out->bfield = gtk_adjustment_get_value (self->bfield_adj);
  out->nonlin = gtk_adjustment_get_value (self->nonlin_adj);
  out->res_scale = gtk_adjustment_get_value (self->res_adj);
  out->seed = (uint64_t) gtk_adjustment_get_value (self->seed_adj);
}

static void
on_busy (PfSimPanel *self)
{
  gboolean busy = self->sim && pf_sim_controller_get_busy (self->sim);
  gtk_spinner_set_spinning (self->spinner, busy);
  if (busy)
    gtk_label_set_text (self->state_label, _("Generating events…"));
}

static void
on_events_ready (PfSimController *sim, guint generation, PfSimPanel *self)
{
  g_autofree char *text = g_strdup_printf (_("%lld events ready"),
                                           (long long) pf_sim_controller_get_n_events (sim));
  gtk_label_set_text (self->state_label, text);
  on_busy (self);
}

static void
on_value_changed (PfSimPanel *self)
{
  PfSimParams p;
  g_autoptr (GError) error = NULL;

  if (!self->sim || self->syncing)
    return;
  pf_sim_panel_get_params (self, &p);
  int64_t n = (int64_t) gtk_adjustment_get_value (self->events_adj);
  if (!pf_sim_controller_set_params_full (self->sim, &p, n, NULL, &error))
    gtk_label_set_text (self->state_label, error->message);
  on_busy (self);
}

void
pf_sim_panel_show_params (PfSimPanel *self, const PfSimParams *p, int64_t n_events)
{
  self->syncing = TRUE;
  if (p)
    {
      gtk_adjustment_set_value (self->bfield_adj, p->bfield);
      gtk_adjustment_set_value (self->nonlin_adj, p->nonlin);
      gtk_adjustment_set_value (self->res_adj, p->res_scale);
      gtk_adjustment_set_value (self->seed_adj, (double) p->seed);
    }
  if (n_events > 0)
    gtk_adjustment_set_value (self->events_adj, (double) n_events);
  self->syncing = FALSE;
}

void
pf_sim_panel_set_controller (PfSimPanel *self, PfSimController *sim, GSettings *settings,
                             int64_t n_events)
{
  g_return_if_fail (PF_IS_SIM_PANEL (self));
  g_return_if_fail (self->sim == NULL);

  self->sim = g_object_ref (sim);
  self->syncing = TRUE;
  if (settings)
    {
      g_settings_bind (settings, "bfield", self->bfield_adj, "value", G_SETTINGS_BIND_DEFAULT);
      g_settings_bind (settings, "nonlin", self->nonlin_adj, "value", G_SETTINGS_BIND_DEFAULT);
      g_settings_bind (settings, "res-scale", self->res_adj, "value", G_SETTINGS_BIND_DEFAULT);
      g_settings_bind (settings, "seed", self->seed_adj, "value", G_SETTINGS_BIND_DEFAULT);
      g_settings_bind (settings, "events", self->events_adj, "value", G_SETTINGS_BIND_DEFAULT);
    }
  if (n_events > 0)
    gtk_adjustment_set_value (self->events_adj, (double) n_events);
  self->syncing = FALSE;
  g_signal_connect_object (sim, "events-ready", G_CALLBACK (on_events_ready), self, 0);
  g_signal_connect_object (sim, "notify::busy", G_CALLBACK (on_busy), self, G_CONNECT_SWAPPED);
  on_busy (self);
}

static void
pf_sim_panel_dispose (GObject *object)
{
  PfSimPanel *self = PF_SIM_PANEL (object);

  g_clear_object (&self->sim);
  gtk_widget_dispose_template (GTK_WIDGET (self), PF_TYPE_SIM_PANEL);
  G_OBJECT_CLASS (pf_sim_panel_parent_class)->dispose (object);
}

static void
pf_sim_panel_class_init (PfSimPanelClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  G_OBJECT_CLASS (klass)->dispose = pf_sim_panel_dispose;
  gtk_widget_class_set_template_from_resource (widget_class, "/org/pflow/Workbench/pf-sim-panel.ui");
  gtk_widget_class_bind_template_child (widget_class, PfSimPanel, bfield_adj);
  gtk_widget_class_bind_template_child (widget_class, PfSimPanel, nonlin_adj);
  gtk_widget_class_bind_template_child (widget_class, PfSimPanel, res_adj);
  gtk_widget_class_bind_template_child (widget_class, PfSimPanel, seed_adj);
  gtk_widget_class_bind_template_child (widget_class, PfSimPanel, events_adj);
  gtk_widget_class_bind_template_child (widget_class, PfSimPanel, spinner);
  gtk_widget_class_bind_template_child (widget_class, PfSimPanel, state_label);
}

static void
pf_sim_panel_init (PfSimPanel *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  GtkAdjustment *adjs[] = { self->bfield_adj, self->nonlin_adj, self->res_adj, self->seed_adj,
                            self->events_adj };
  for (guint i = 0; i < G_N_ELEMENTS (adjs); i++)
    g_signal_connect_swapped (adjs[i], "value-changed", G_CALLBACK (on_value_changed), self);
}
