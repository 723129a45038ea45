/* pf-loss-plot.h — live loss curves of a training run.
 *
 * Each series (train loss, validation loss, ...) keeps every point it was given with its step,
 * epoch and wall-clock seconds, so the x axis can be switched afterwards. The y axis is linear
 * or a true logarithmic axis whose range is whole decades with a tick at each; values <= 0 (log
 * axis) and infinities have no place on the axis: they are not drawn, the line breaks there,
 * and a note under the legend counts them. A NaN value means the run diverged: a red vertical
 * line with a label marks the first NaN of each series.
 *
 * Smoothing is the exponential moving average of TensorBoard: s_k = a s_(k-1) + (1 - a) v_k
 * over the drawable values, with 0 <= a < 1; when a > 0 the raw points are drawn faint under
 * the smoothed curve. A series can be left out of it (means over an epoch, already smooth, that
 * an average tuned for the batch losses would only make lag). A series may mark one of its points (the best epoch of a run): a ring on
 * the raw value and a label beside it. Drawn with cairo and the renderer's tick helpers, so an
 * exported figure (pf_loss_plot_draw on any cairo surface) looks like the pane. */
#pragma once
#include <gtk/gtk.h>
#include "pf-render-file.h"

G_BEGIN_DECLS

typedef enum {
  PF_LOSS_PLOT_X_STEP,
  PF_LOSS_PLOT_X_EPOCH,
  PF_LOSS_PLOT_X_TIME,
} PfLossPlotXAxis;

/* Where things went, for tests and export. */
typedef struct {
  PfRenderRect plot;     /* the axes box */
  double xmin, xmax;     /* the x range shown */
  double ymin, ymax;     /* the y range shown (decades on a log axis) */
  gboolean log_y;
} PfLossPlotLayout;

#define PF_TYPE_LOSS_PLOT (pf_loss_plot_get_type ())
G_DECLARE_FINAL_TYPE (PfLossPlot, pf_loss_plot, PF, LOSS_PLOT, GtkWidget)

GtkWidget *pf_loss_plot_new (void);

/* Returns the series id (>= 0, stable until clear). color NULL: the next colour of a
 * ten-colour palette. */
int pf_loss_plot_add_series (PfLossPlot *self, const char *name, const GdkRGBA *color,
                             gboolean dashed);
void pf_loss_plot_append (PfLossPlot *self, int series, double step, double epoch,
                          double seconds, double value);
void pf_loss_plot_remove_series (PfLossPlot *self, int series);
/* Removes every series. */
void pf_loss_plot_clear (PfLossPlot *self);
/* Whether the plot's smoothing applies to this series (it does to a new one). */
void pf_loss_plot_set_series_smoothed (PfLossPlot *self, int series, gboolean smoothed);
/* Marks point `index` of a series (a ring and `label` beside it, e.g. the best epoch); index -1
 * removes the mark. One mark per series: a new one replaces it. */
void pf_loss_plot_set_mark (PfLossPlot *self, int series, int index, const char *label);
/* The marked point of a series, -1 when none. */
int pf_loss_plot_get_mark (PfLossPlot *self, int series);

/* What a series holds, for tests and export: its name (NULL when there is no such series), its
 * number of points, and one point (FALSE when out of range; any pointer may be NULL). */
const char *pf_loss_plot_get_series_name (PfLossPlot *self, int series);
guint pf_loss_plot_get_n_points (PfLossPlot *self, int series);
gboolean pf_loss_plot_get_point (PfLossPlot *self, int series, guint index, double *step,
                                 double *epoch, double *seconds, double *value);

void pf_loss_plot_set_x_axis (PfLossPlot *self, PfLossPlotXAxis axis);
void pf_loss_plot_set_log_y (PfLossPlot *self, gboolean log_y);
/* 0 <= alpha < 1 (clamped); 0: no smoothing. */
void pf_loss_plot_set_smoothing (PfLossPlot *self, double alpha);

PfLossPlotXAxis pf_loss_plot_get_x_axis (PfLossPlot *self);
gboolean pf_loss_plot_get_log_y (PfLossPlot *self);
double pf_loss_plot_get_smoothing (PfLossPlot *self);
/* Points of this series (every series with -1) that the current y axis cannot show. */
int pf_loss_plot_get_n_hidden (PfLossPlot *self, int series);
/* TRUE when the series (any series with -1) has a NaN point. */
gboolean pf_loss_plot_get_diverged (PfLossPlot *self, int series);

/* Draws the plot as on screen into cr over (0, 0, width, height); layout may be NULL. */
void pf_loss_plot_draw (PfLossPlot *self, cairo_t *cr, double width, double height,
                        PfLossPlotLayout *layout);
/* Pixel position of a y value in a layout (NAN where the axis cannot show it). */
double pf_loss_plot_layout_y (const PfLossPlotLayout *layout, double value);
double pf_loss_plot_layout_x (const PfLossPlotLayout *layout, double x);

G_END_DECLS
