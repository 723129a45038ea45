/* pf-sim-panel.h — simulator controls of the workbench: B field, non-linearity, resolution
 * scale, seed and event count. Every change asks the PfSimController for new events (it cancels
 * the generation in flight, so dragging the B slider regenerates live without queueing stale
 * work); the values are kept in GSettings when the window has them. */
#pragma once
#include <gtk/gtk.h>
#include "pf-sim-controller.h"

G_BEGIN_DECLS

#define PF_TYPE_SIM_PANEL (pf_sim_panel_get_type ())
G_DECLARE_FINAL_TYPE (PfSimPanel, pf_sim_panel, PF, SIM_PANEL, GtkBox)

/* settings may be NULL; n_events overrides the settings' event count when > 0. */
void pf_sim_panel_set_controller (PfSimPanel *self, PfSimController *sim, GSettings *settings,
                                  int64_t n_events);
/* The controller's parameters with the panel's values. */
void pf_sim_panel_get_params (PfSimPanel *self, PfSimParams *out);
/* Shows the parameters of events loaded from a file without regenerating. */
void pf_sim_panel_show_params (PfSimPanel *self, const PfSimParams *p, int64_t n_events);

G_END_DECLS
