/* pf-calo-view.h — one calorimeter image pane of the workbench.
 *
 * The pane draws THROUGH pf_render_image (widgets/render/), so what the window shows and what
 * `pflow eval` writes to PNG/SVG/PDF are the same picture: a rows x cols image over (eta, phi),
 * phi horizontal over [-pi, pi], eta vertical over [-2.5, 2.5] increasing upwards, with axes and
 * a colour bar. On top of the renderer's figure the pane adds what only a screen needs: a
 * threshold that leaves small cells empty (white), a crosshair, and jet circles.
 *
 * Jet circles are circles in (eta, phi) — on screen ellipses when a phi radian and an eta unit
 * do not take the same number of pixels — and wrap around phi = +-pi: the part of a circle that
 * leaves one edge is drawn entering from the other. Truth jets: a solid white line with a black
 * outline; predicted jets: a dashed orange line.
 *
 * Pointer mapping uses the PfImageLayout of the last frame drawn on screen. "hover" is emitted
 * when the pointer enters another cell (eta and phi of the cell centre, energy of the cell),
 * "hover-leave" when it leaves the cells, "jet-clicked" when a primary click lands inside a
 * circle (the smallest circle containing the point wins; circles hidden by set_show_jets are
 * not clickable). */
#pragma once
#include <gtk/gtk.h>
#include "pf-render-image.h"

G_BEGIN_DECLS

typedef struct {
  double eta, phi, radius; /* radius in (eta, phi) units, e.g. the anti-kt R */
  double pt, e;            /* GeV */
  int id;
} PfJetCircle;

typedef enum {
  PF_JET_STYLE_TRUTH,      /* solid white, black outline */
  PF_JET_STYLE_PREDICTION, /* dashed orange */
} PfJetStyle;

#define PF_TYPE_CALO_VIEW (pf_calo_view_get_type ())
G_DECLARE_FINAL_TYPE (PfCaloView, pf_calo_view, PF, CALO_VIEW, GtkWidget)

GtkWidget *pf_calo_view_new (void);

/* Copies rows x cols floats (row r = eta bin r from the bottom, column c = phi bin c). NULL or a
 * non-positive size clears the image. */
void pf_calo_view_set_image (PfCaloView *self, const float *data, int rows, int cols);
void pf_calo_view_set_title (PfCaloView *self, const char *title);
void pf_calo_view_set_colormap (PfCaloView *self, PfColormap colormap);
void pf_calo_view_set_log_scale (PfCaloView *self, gboolean log_scale);
/* Shared colour range; vmin >= vmax: automatic (see pf-render-image.h). */
void pf_calo_view_set_range (PfCaloView *self, double vmin, double vmax);
/* Cells whose value (|value| with the diverging map) is below `threshold` are left empty;
 * threshold <= 0 (the default) shows every cell. */
void pf_calo_view_set_threshold (PfCaloView *self, double threshold);
/* -1 for either: no crosshair. */
void pf_calo_view_set_crosshair (PfCaloView *self, int row, int col);
/* Copies n circles; replaces the circles of that style only. */
void pf_calo_view_set_jets (PfCaloView *self, const PfJetCircle *jets, int n, PfJetStyle style);
void pf_calo_view_set_show_jets (PfCaloView *self, gboolean show);
/* Highlights the circle(s) with this id (-1: none). */
void pf_calo_view_set_selected_jet (PfCaloView *self, int id);

const char *pf_calo_view_get_title (PfCaloView *self);
gboolean pf_calo_view_get_log_scale (PfCaloView *self);
gboolean pf_calo_view_get_show_jets (PfCaloView *self);
double pf_calo_view_get_threshold (PfCaloView *self);
int pf_calo_view_get_selected_jet (PfCaloView *self);
/* The value of cell (row, col), NAN without an image or outside it. */
double pf_calo_view_get_value (PfCaloView *self, int row, int col);

/* Draws the pane exactly as on screen into cr over (0, 0, width, height) — for export and
 * tests; does not change the on-screen layout. layout may be NULL. */
void pf_calo_view_draw (PfCaloView *self, cairo_t *cr, double width, double height,
                        PfImageLayout *layout);
/* The layout of the last frame drawn on screen; FALSE before the first one. */
gboolean pf_calo_view_get_layout (PfCaloView *self, PfImageLayout *layout);
/* The cell under widget coordinates (x, y) in the last frame; FALSE outside the cells. */
gboolean pf_calo_view_cell_at (PfCaloView *self, double x, double y, int *row, int *col);
/* The jet id of the smallest circle containing (x, y) in the last frame, or -1. */
int pf_calo_view_jet_at (PfCaloView *self, double x, double y);

G_END_DECLS
