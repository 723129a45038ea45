/* pf-train-panel.h — training settings of the workbench: model and scale (with their parameter
 * counts, computed once on a worker thread), loss, lambda, learning rate, batch and epochs,
 * and the start/pause/stop buttons (the window's win.train-* actions). A lambda change is
 * announced at once with "lambda-changed" (gdouble) so a run in flight uses it from its next
 * batch. */
#pragma once
#include <gtk/gtk.h>
#include "pf-trainer.h"

G_BEGIN_DECLS

#define PF_TYPE_TRAIN_PANEL (pf_train_panel_get_type ())
G_DECLARE_FINAL_TYPE (PfTrainPanel, pf_train_panel, PF, TRAIN_PANEL, GtkBox)

void pf_train_panel_bind_settings (PfTrainPanel *self, GSettings *settings);
/* Fills model, scale, loss, lambda, lr, batch and epochs (static strings) of o. */
void pf_train_panel_get_options (PfTrainPanel *self, PfTrainOptions *o);
/* "Pause" or "Resume" on the pause button. */
void pf_train_panel_set_paused (PfTrainPanel *self, gboolean paused);

G_END_DECLS
