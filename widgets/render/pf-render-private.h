/* pf-render-private.h — text and axis helpers shared by the renderers (internal). */
#pragma once
#include <cairo.h>
#include <glib.h>

/* Text at (x, y) aligned by its box: halign 0 left .. 1 right, valign 0 top .. 1 bottom,
 * rotated by `angle` radians about the anchor. Uses cairo's toy font API (no Pango), sans. */
void _pf_render_text (cairo_t *cr, double x, double y, const char *text, double size,
                      double halign, double valign, double angle);

/* Round ticks in [lo, hi] (about `target` of them): step 1, 2 or 5 times a power of ten.
 * Returns the count (<= max) and the step in *step. */
int _pf_render_linear_ticks (double lo, double hi, int target, double *ticks, int max,
                             double *step);
/* Decades 10^k within [lo, hi] (lo > 0); returns the count (<= max). */
int _pf_render_log_ticks (double lo, double hi, double *ticks, int max);
/* A tick label: just enough decimals for `step` (0 for an exact integer multiple). */
void _pf_render_tick_label (double v, double step, char *buf, size_t size);
