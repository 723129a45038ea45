/* pf-runs-view.h — the table of training runs: a sortable GtkColumnView over a PfRunStore
 * (date, model, scale — a dash for the earlier models, which have none —, loss, lambda, epochs,
 * best validation loss, state). Selecting rows
 * (several with Ctrl) emits "selection-changed"; the window overlays their curves. */
#pragma once
#include <gtk/gtk.h>
#include "pf-run-store.h"

G_BEGIN_DECLS

#define PF_TYPE_RUNS_VIEW (pf_runs_view_get_type ())
G_DECLARE_FINAL_TYPE (PfRunsView, pf_runs_view, PF, RUNS_VIEW, GtkBox)

void pf_runs_view_set_store (PfRunsView *self, PfRunStore *store);
/* The selected runs (PfRun, new references), in table order. */
GPtrArray *pf_runs_view_get_selected (PfRunsView *self);

G_END_DECLS
