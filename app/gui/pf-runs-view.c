/* pf-runs-view.c — see pf-runs-view.h. Cells are labels bound in "bind" (no expressions on the
 * cell), sorting uses property expressions on PfRun so the column headers sort by the values. */
#include <glib/gi18n.h>
#include <math.h>
#include "pf-runs-view.h"

struct _PfRunsView
{
  GtkBox parent_instance;

  GtkColumnView *column_view;
  GtkMultiSelection *selection;
};

G_DEFINE_FINAL_TYPE (PfRunsView, pf_runs_view, GTK_TYPE_BOX)

enum { SIGNAL_SELECTION_CHANGED, N_SIGNALS };
static guint signals[N_SIGNALS];

typedef enum {
  COL_DATE, COL_MODEL, COL_SCALE, COL_LOSS, COL_LAMBDA, COL_EPOCHS, COL_BEST, COL_STATE, N_COLS
} Column;

static const char *const col_props[N_COLS] = {
  "date", "model", "scale", "loss", "lambda", "epochs", "best-val-loss", "state",
};

static char *
cell_text (PfRun *run, Column col)
{
  switch (col)
    {
    case COL_DATE:
      {
        g_autoptr (GDateTime) dt = g_date_time_new_from_unix_local (pf_run_get_date (run));
        return dt ? g_date_time_format (dt, "%Y-%m-%d %H:%M") : g_strdup ("");
      }
    case COL_MODEL: return g_strdup (pf_run_get_model (run));
    case COL_SCALE:
      /* the earlier models (lstm, unet...) have no scales: no number rather than "0" */
      return pf_run_has_scale (run) ? g_strdup_printf ("%d", pf_run_get_scale (run)) : g_strdup ("—");
    case COL_LOSS: return g_strdup (pf_run_get_loss (run));
    case COL_LAMBDA: return g_strdup_printf ("%.3g", pf_run_get_lambda (run));
    case COL_EPOCHS: return g_strdup_printf ("%d", pf_run_get_epochs (run));
    case COL_BEST:
      return isfinite (pf_run_get_best_val_loss (run))
               ? g_strdup_printf (_("%.4g (epoch %d)"), pf_run_get_best_val_loss (run), pf_run_get_best_epoch (run))
               : g_strdup (_("none"));
    case COL_STATE:
      {
        const char *s = pf_run_get_state (run);
        if (g_strcmp0 (s, "running") == 0) return g_strdup (_("running"));
        if (g_strcmp0 (s, "finished") == 0) return g_strdup (_("finished"));
        if (g_strcmp0 (s, "stopped") == 0) return g_strdup (_("stopped"));
        if (g_strcmp0 (s, "failed") == 0) return g_strdup (_("failed"));
        return g_strdup (s);
      }
    default:
      return g_strdup ("");
    }
}

static void
setup_cell (GtkSignalListItemFactory *f, GtkListItem *item, gpointer data)
{
  GtkWidget *label = gtk_label_new (NULL);
  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_list_item_set_child (item, label);
}

static void
on_run_notify (PfRun *run, GParamSpec *pspec, GtkListItem *item)
{
  Column col = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (item), "pf-column"));
  g_autofree char *text = cell_text (run, col);
  gtk_label_set_text (GTK_LABEL (gtk_list_item_get_child (item)), text);
}

static void
bind_cell (GtkSignalListItemFactory *f, GtkListItem *item, gpointer data)
{
  PfRun *run = gtk_list_item_get_item (item);
  g_object_set_data (G_OBJECT (item), "pf-column", data);
  on_run_notify (run, NULL, item);
  g_signal_connect_object (run, "notify", G_CALLBACK (on_run_notify), item, 0);
}

static void
unbind_cell (GtkSignalListItemFactory *f, GtkListItem *item, gpointer data)
{
  PfRun *run = gtk_list_item_get_item (item);
  if (run)
    g_signal_handlers_disconnect_by_func (run, on_run_notify, item);
}

static void
on_selection_changed (GtkSelectionModel *model, guint position, guint n, PfRunsView *self)
{
  g_signal_emit (self, signals[SIGNAL_SELECTION_CHANGED], 0);
}

void
pf_runs_view_set_store (PfRunsView *self, PfRunStore *store)
{
  g_return_if_fail (PF_IS_RUNS_VIEW (self));
  GtkSorter *sorter = gtk_column_view_get_sorter (self->column_view);
  GtkSortListModel *sorted = gtk_sort_list_model_new (g_object_ref (G_LIST_MODEL (store)),
                                                      g_object_ref (sorter));
  if (self->selection)
    g_signal_handlers_disconnect_by_data (self->selection, self);
  g_clear_object (&self->selection);
  self->selection = gtk_multi_selection_new (G_LIST_MODEL (sorted));
  g_signal_connect (self->selection, "selection-changed", G_CALLBACK (on_selection_changed), self);
  gtk_column_view_set_model (self->column_view, GTK_SELECTION_MODEL (self->selection));
  /* Newest first. */
  GListModel *cols = gtk_column_view_get_columns (self->column_view);
  GtkColumnViewColumn *date = g_list_model_get_item (cols, COL_DATE);
  gtk_column_view_sort_by_column (self->column_view, date, GTK_SORT_DESCENDING);
  g_object_unref (date);
}

GPtrArray *
pf_runs_view_get_selected (PfRunsView *self)
{
  GPtrArray *out = g_ptr_array_new_with_free_func (g_object_unref);
  if (!self->selection)
    return out;
  GtkBitset *set = gtk_selection_model_get_selection (GTK_SELECTION_MODEL (self->selection));
  GtkBitsetIter iter;
  guint pos;
  for (gboolean ok = gtk_bitset_iter_init_first (&iter, set, &pos); ok;
       ok = gtk_bitset_iter_next (&iter, &pos))
    g_ptr_array_add (out, g_list_model_get_item (G_LIST_MODEL (self->selection), pos));
  gtk_bitset_unref (set);
  return out;
}

static void
pf_runs_view_dispose (GObject *object)
{
  PfRunsView *self = PF_RUNS_VIEW (object);

  if (self->selection)
    g_signal_handlers_disconnect_by_data (self->selection, self);
  g_clear_object (&self->selection);
  gtk_widget_dispose_template (GTK_WIDGET (self), PF_TYPE_RUNS_VIEW);
  G_OBJECT_CLASS (pf_runs_view_parent_class)->dispose (object);
}

static void
pf_runs_view_class_init (PfRunsViewClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  G_OBJECT_CLASS (klass)->dispose = pf_runs_view_dispose;
  signals[SIGNAL_SELECTION_CHANGED] =
    g_signal_new ("selection-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
                  NULL, NULL, G_TYPE_NONE, 0);
  gtk_widget_class_set_template_from_resource (widget_class, "/org/pflow/Workbench/pf-runs-view.ui");
  gtk_widget_class_bind_template_child (widget_class, PfRunsView, column_view);
}

static void
pf_runs_view_init (PfRunsView *self)
{
  const char *titles[N_COLS] = {
    _("Date"), _("Model"), _("Scale"), _("Loss"), _("λ"), _("Epochs"), _("Best val. loss"), _("State"),
  };

  gtk_widget_init_template (GTK_WIDGET (self));
  GObjectClass *run_class = g_type_class_ref (PF_TYPE_RUN);
  for (int c = 0; c < N_COLS; c++)
    {
      GtkListItemFactory *factory = gtk_signal_list_item_factory_new ();
      g_signal_connect (factory, "setup", G_CALLBACK (setup_cell), NULL);
      g_signal_connect (factory, "bind", G_CALLBACK (bind_cell), GINT_TO_POINTER (c));
      g_signal_connect (factory, "unbind", G_CALLBACK (unbind_cell), NULL);
      GtkColumnViewColumn *column = gtk_column_view_column_new (titles[c], factory);
      GtkExpression *expr = gtk_property_expression_new (PF_TYPE_RUN, NULL, col_props[c]);
      GParamSpec *pspec = g_object_class_find_property (run_class, col_props[c]);
      GtkSorter *sorter = pspec && G_PARAM_SPEC_VALUE_TYPE (pspec) == G_TYPE_STRING
                            ? GTK_SORTER (gtk_string_sorter_new (expr))
                            : GTK_SORTER (gtk_numeric_sorter_new (expr));
      gtk_column_view_column_set_sorter (column, sorter);
      gtk_column_view_column_set_resizable (column, TRUE);
      g_object_unref (sorter);
      gtk_column_view_append_column (self->column_view, column);
      g_object_unref (column);
    }
  g_type_class_unref (run_class);
}
