/* pf-render-axes.c — text placement and tick choice for the renderers. */
#include "pf-render-private.h"

#include <math.h>
#include <stdio.h>

void
_pf_render_text (cairo_t *cr, double x, double y, const char *text, double size,
                 double halign, double valign, double angle)
{
  cairo_save (cr);
  cairo_select_font_face (cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size (cr, size);
  cairo_text_extents_t te;
  cairo_font_extents_t fe;
  cairo_text_extents (cr, text, &te);
  cairo_font_extents (cr, &fe);
  cairo_translate (cr, x, y);
  cairo_rotate (cr, angle);
  /* Align on the font's ascent/descent, not the glyphs', so labels of a row line up. */
  double h = fe.ascent + fe.descent;
  cairo_move_to (cr, -halign * te.x_advance, -valign * h + fe.ascent);
  cairo_show_text (cr, text);
  cairo_restore (cr);
}

int
_pf_render_linear_ticks (double lo, double hi, int target, double *ticks, int max,
                         double *step)
{
  double span = hi - lo;
  if (!(span > 0) || !isfinite (span) || target < 1)
    {
      *step = 1;
      if (max > 0 && isfinite (lo))
        {
          ticks[0] = lo;
          return 1;
        }
      return 0;
    }
  double raw = span / target, mag = pow (10, floor (log10 (raw))), f = raw / mag;
  double s = (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * mag;
  *step = s;
  int n = 0;
  for (double k = ceil (lo / s - 1e-9); n < max && k * s <= hi + 1e-9 * s; k++)
    ticks[n++] = fabs (k * s) < 1e-12 * s ? 0 : k * s;
  return n;
}

int
_pf_render_log_ticks (double lo, double hi, double *ticks, int max)
{
  int n = 0;
  if (!(lo > 0) || !(hi >= lo))
    return 0;
  for (int e = (int) ceil (log10 (lo) - 1e-9); n < max && pow (10, e) <= hi * (1 + 1e-9); e++)
    ticks[n++] = pow (10, e);
  return n;
}

void
_pf_render_tick_label (double v, double step, char *buf, size_t size)
{
  int dec = step >= 1 ? 0 : (int) ceil (-log10 (step) - 1e-9);
  dec = CLAMP (dec, 0, 8);
  if (fabs (v) >= 1e5 || (v != 0 && fabs (v) < 1e-4))
    g_snprintf (buf, size, "%.1e", v);
  else
    g_snprintf (buf, size, "%.*f", dec, v);
}
