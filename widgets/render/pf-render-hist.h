/* pf-render-hist.h — a histogram with its fitted Gaussian and the fit numbers.
 *
 * Used for the energy-difference distribution of the evaluation (pf-metrics.h): the bars are
 * the counts, the curve is A exp(-(x - mean)^2 / (2 sigma^2)) evaluated per bin, and a box in
 * the upper right corner gives mean, sigma (with their errors) and chi2/ndf. The renderer only
 * needs numbers, so it does not depend on the evaluation code. */
#pragma once
#include <glib.h>
#include <cairo.h>
#include "pf-render-file.h"

G_BEGIN_DECLS

typedef struct {
  const double *counts;  /* nbins */
  int nbins;
  double lo, hi;         /* range of the bins */
  gboolean has_fit;
  double amplitude, mean, mean_err, sigma, sigma_err, chi2;
  int ndf;
  gboolean log_y;        /* logarithmic count axis (empty bins are not drawn) */
  const char *title;     /* NULL: none */
  const char *xlabel;    /* "(pred - true) / (max - min)" by default */
  const char *ylabel;    /* "pixels" */
} PfHistSpec;

void pf_hist_spec_init (PfHistSpec *s, const double *counts, int nbins, double lo, double hi);

typedef struct {
  PfRenderRect plot;     /* the axes box */
  double ymin, ymax;     /* the count range shown */
} PfHistLayout;

void pf_render_hist (cairo_t *cr, const PfRenderRect *area, const PfHistSpec *s,
                     PfHistLayout *layout);
gboolean pf_render_hist_to_file (const char *path, int width, int height, const PfHistSpec *s,
                                 PfHistLayout *layout, GError **error);

G_END_DECLS
