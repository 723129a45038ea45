/* pf-render-image.h — calorimeter images as heat maps over (eta, phi), with a colour bar.
 *
 * An image is rows x cols float32 (56 x 56 in GeV): row r is an eta bin, column c a phi bin,
 * as in the datasets. The map puts phi on the horizontal axis over [-pi, pi] and eta on the
 * vertical axis over [-eta_max, eta_max] increasing UPWARDS, so row 0 is the bottom row of
 * cells (cell (r, c) covers x in plot.x + [c, c+1] w/cols, y in plot.y + h - [r+1, r] h/rows).
 * Cells are painted as an image scaled with the NEAREST filter, so they stay sharp squares in
 * PNG, SVG and PDF alike.
 *
 * Colour range: vmin < vmax as given, or automatic: linear [0, max] (viridis), log
 * [max(smallest positive, max 1e-4), max], diverging [-m, m] with m = max |v|, so that white is
 * zero. Values outside the range take the end colours; in log scale zero and negative values
 * take the lowest colour. */
#pragma once
#include <glib.h>
#include <cairo.h>
#include "pf-colormap.h"
#include "pf-render-file.h"

G_BEGIN_DECLS

typedef enum {
  PF_RENDER_SCALE_LINEAR,
  PF_RENDER_SCALE_LOG,
} PfRenderScale;

typedef struct {
  const float *data;    /* rows * cols */
  int rows, cols;
  PfColormap colormap;  /* viridis */
  PfRenderScale scale;  /* linear */
  double vmin, vmax;    /* vmin >= vmax: automatic */
  double eta_max;       /* 2.5 */
  const char *title;    /* NULL: none */
  const char *unit;     /* colour-bar label: "GeV" */
} PfImageSpec;

void pf_image_spec_init (PfImageSpec *s, const float *data, int rows, int cols);

/* Where things went, for tests and for widgets that map the pointer to a cell. */
typedef struct {
  PfRenderRect plot;     /* the cells */
  PfRenderRect colorbar; /* the bar: vmin at the bottom, vmax at the top */
  double vmin, vmax;     /* the colour range used */
} PfImageLayout;

/* The colour range the renderer would use (see above). */
void pf_render_image_range (const PfImageSpec *s, double *vmin, double *vmax);
/* Position of v in [0, 1] along the colour bar for that range and scale. */
double pf_render_image_norm (const PfImageSpec *s, double vmin, double vmax, double v);

/* Draws the image with its axes, title and colour bar inside `area`. layout may be NULL. */
void pf_render_image (cairo_t *cr, const PfRenderRect *area, const PfImageSpec *s,
                      PfImageLayout *layout);
/* The same as a figure file (pf_render_to_file). */
gboolean pf_render_image_to_file (const char *path, int width, int height,
                                  const PfImageSpec *s, PfImageLayout *layout, GError **error);

/* One event side by side: truth, prediction (same colour range, viridis, `scale`) and the
 * residual prediction - truth (diverging, symmetric, linear). layouts[3] may be NULL. */
void pf_render_event_panel (cairo_t *cr, const PfRenderRect *area, const float *truth,
                            const float *pred, int rows, int cols, PfRenderScale scale,
                            const char *title, PfImageLayout layouts[3]);
gboolean pf_render_event_panel_to_file (const char *path, int width, int height,
                                        const float *truth, const float *pred, int rows,
                                        int cols, PfRenderScale scale, const char *title,
                                        PfImageLayout layouts[3], GError **error);

G_END_DECLS
