/* pf-render-hist.c — histogram, fitted Gaussian and fit box. */
#include "pf-render-hist.h"
#include "pf-render-private.h"

#include <math.h>
#include <string.h>

void
pf_hist_spec_init (PfHistSpec *s, const double *counts, int nbins, double lo, double hi)
{
  memset (s, 0, sizeof *s);
  s->counts = counts;
  s->nbins = nbins;
  s->lo = lo;
  s->hi = hi;
  s->xlabel = "(pred \xe2\x88\x92 true) / (max \xe2\x88\x92 min)";
  s->ylabel = "pixels";
}

static double
ymap (const PfHistSpec *s, const PfHistLayout *l, double v)
{
  double t;
  if (s->log_y)
    t = v > 0 ? (log10 (v) - log10 (l->ymin)) / (log10 (l->ymax) - log10 (l->ymin)) : -1;
  else
    t = (v - l->ymin) / (l->ymax - l->ymin);
  t = CLAMP (t, -0.01, 1.0);
  return l->plot.y + l->plot.h * (1 - t);
}

static double
gauss (const PfHistSpec *s, double x)
{
  double z = (x - s->mean) / s->sigma;
  return s->amplitude * exp (-0.5 * z * z);
}

void
pf_render_hist (cairo_t *cr, const PfRenderRect *area, const PfHistSpec *s, PfHistLayout *layout)
{
  const double fs = CLAMP (MIN (area->w, area->h) * 0.03, 7.0, 16.0);
  const double lw = MAX (1.0, fs / 12);
  const double top = s->title ? 2.0 * fs : 0.8 * fs, bottom = 3.4 * fs, left = 5.2 * fs,
               right = 1.8 * fs; /* half of the last x label */
  PfHistLayout l;
  l.plot = (PfRenderRect) { round (area->x + left), round (area->y + top),
                            round (MAX (area->w - left - right, 1.0)),
                            round (MAX (area->h - top - bottom, 1.0)) };
  gboolean valid = s->counts && s->nbins > 0 && isfinite (s->lo) && isfinite (s->hi)
                   && s->hi > s->lo;
  gboolean fit = valid && s->has_fit && isfinite (s->amplitude) && isfinite (s->mean)
                 && isfinite (s->sigma) && s->sigma > 0;
  double cmax = 0, cminpos = INFINITY;
  for (int i = 0; valid && i < s->nbins; i++)
    if (isfinite (s->counts[i]))
      {
        cmax = MAX (cmax, s->counts[i]);
        if (s->counts[i] > 0)
          cminpos = MIN (cminpos, s->counts[i]);
      }
  if (fit)
    cmax = MAX (cmax, s->amplitude);
  if (s->log_y)
    {
      l.ymin = isfinite (cminpos) ? MIN (0.5, cminpos * 0.5) : 0.5;
      l.ymax = MAX (cmax, 1.0) * 4;
    }
  else
    {
      l.ymin = 0;
      l.ymax = MAX (cmax, 1.0) * 1.15;
    }
  if (layout)
    *layout = l;
  if (!valid)
    return;

  const PfRenderRect *p = &l.plot;
  double bw = p->w / s->nbins;
  cairo_save (cr);
  cairo_rectangle (cr, p->x, p->y, p->w, p->h);
  cairo_clip (cr);
  /* Bars, then their outline as one step line. */
  cairo_set_source_rgb (cr, 0.56, 0.70, 0.85);
  for (int i = 0; i < s->nbins; i++)
    if (s->counts[i] > 0)
      {
        double y = ymap (s, &l, s->counts[i]);
        cairo_rectangle (cr, p->x + i * bw, y, bw, p->y + p->h - y);
      }
  cairo_fill (cr);
  cairo_set_source_rgb (cr, 0.17, 0.33, 0.55);
  cairo_set_line_width (cr, lw);
  cairo_move_to (cr, p->x, p->y + p->h);
  for (int i = 0; i < s->nbins; i++)
    {
      double y = s->counts[i] > 0 ? ymap (s, &l, s->counts[i]) : p->y + p->h;
      cairo_line_to (cr, p->x + i * bw, y);
      cairo_line_to (cr, p->x + (i + 1) * bw, y);
    }
  cairo_line_to (cr, p->x + p->w, p->y + p->h);
  cairo_stroke (cr);
  if (fit)
    {
      cairo_set_source_rgb (cr, 0.84, 0.15, 0.16);
      cairo_set_line_width (cr, 1.6 * lw);
      const int ns = 400;
      for (int k = 0; k <= ns; k++)
        {
          double x = s->lo + (s->hi - s->lo) * k / ns;
          double v = gauss (s, x);
          double py = s->log_y && v < l.ymin ? p->y + p->h : ymap (s, &l, v);
          if (k == 0)
            cairo_move_to (cr, p->x + p->w * k / ns, py);
          else
            cairo_line_to (cr, p->x + p->w * k / ns, py);
        }
      cairo_stroke (cr);
    }
  cairo_restore (cr);

  cairo_save (cr);
  cairo_set_source_rgb (cr, 0, 0, 0);
  cairo_set_line_width (cr, lw);
  cairo_rectangle (cr, p->x, p->y, p->w, p->h);
  cairo_stroke (cr);
  const double tl = 0.4 * fs;
  double ticks[32], step;
  char buf[96];
  int nt = _pf_render_linear_ticks (s->lo, s->hi, 6, ticks, 32, &step);
  for (int k = 0; k < nt; k++)
    {
      double x = p->x + p->w * (ticks[k] - s->lo) / (s->hi - s->lo);
      cairo_move_to (cr, x, p->y + p->h);
      cairo_line_to (cr, x, p->y + p->h + tl);
      cairo_stroke (cr);
      _pf_render_tick_label (ticks[k], step, buf, sizeof buf);
      _pf_render_text (cr, x, p->y + p->h + tl + 0.2 * fs, buf, fs, 0.5, 0, 0);
    }
  nt = s->log_y ? _pf_render_log_ticks (l.ymin, l.ymax, ticks, 32)
                : _pf_render_linear_ticks (l.ymin, l.ymax, 5, ticks, 32, &step);
  for (int k = 0; k < nt; k++)
    {
      double y = ymap (s, &l, ticks[k]);
      cairo_move_to (cr, p->x - tl, y);
      cairo_line_to (cr, p->x, y);
      cairo_stroke (cr);
      if (s->log_y)
        g_snprintf (buf, sizeof buf, "%g", ticks[k]);
      else
        _pf_render_tick_label (ticks[k], step, buf, sizeof buf);
      _pf_render_text (cr, p->x - tl - 0.2 * fs, y, buf, fs, 1, 0.5, 0);
    }
  if (s->xlabel)
    _pf_render_text (cr, p->x + p->w / 2, p->y + p->h + 2.0 * fs, s->xlabel, fs, 0.5, 0, 0);
  if (s->ylabel)
    _pf_render_text (cr, area->x + 0.3 * fs, p->y + p->h / 2, s->ylabel, fs, 0.5, 0, -G_PI / 2);
  if (s->title)
    _pf_render_text (cr, p->x + p->w / 2, area->y + 0.4 * fs, s->title, 1.15 * fs, 0.5, 0, 0);
  if (fit)
    {
      char lines[3][96];
      g_snprintf (lines[0], 96, "mean = %.4g \xc2\xb1 %.2g", s->mean, s->mean_err);
      g_snprintf (lines[1], 96, "\xcf\x83 = %.4g \xc2\xb1 %.2g", s->sigma, s->sigma_err);
      g_snprintf (lines[2], 96, "\xcf\x87\xc2\xb2/ndf = %.4g / %d", s->chi2, s->ndf);
      double bx = p->x + p->w - 0.6 * fs, by = p->y + 0.6 * fs;
      for (int k = 0; k < 3; k++)
        _pf_render_text (cr, bx, by + k * 1.4 * fs, lines[k], fs, 1, 0, 0);
    }
  cairo_restore (cr);
}

typedef struct {
  const PfHistSpec *spec;
  PfHistLayout *layout;
} HistJob;

static void
draw_hist (cairo_t *cr, double w, double h, gpointer data)
{
  HistJob *j = data;
  PfRenderRect area = { 0, 0, w, h };
  pf_render_hist (cr, &area, j->spec, j->layout);
}

gboolean
pf_render_hist_to_file (const char *path, int width, int height, const PfHistSpec *s,
                        PfHistLayout *layout, GError **error)
{
  HistJob j = { s, layout };
  return pf_render_to_file (path, width, height, draw_hist, &j, error);
}
