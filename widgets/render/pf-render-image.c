/* pf-render-image.c — heat maps of calorimeter images (see pf-render-image.h). */
#include "pf-render-image.h"
#include "pf-render-private.h"

#include <math.h>
#include <string.h>

void
pf_image_spec_init (PfImageSpec *s, const float *data, int rows, int cols)
{
  memset (s, 0, sizeof *s);
  s->data = data;
  s->rows = rows;
  s->cols = cols;
  s->colormap = PF_COLORMAP_VIRIDIS;
  s->scale = PF_RENDER_SCALE_LINEAR;
  s->vmin = s->vmax = 0;
  s->eta_max = 2.5;
  s->unit = "GeV";
}

void
pf_render_image_range (const PfImageSpec *s, double *vmin, double *vmax)
{
  double lo = s->vmin, hi = s->vmax;
  gboolean log_scale = s->scale == PF_RENDER_SCALE_LOG;
  if (lo < hi && isfinite (lo) && isfinite (hi) && (!log_scale || lo > 0))
    {
      *vmin = lo;
      *vmax = hi;
      return;
    }
  size_t n = (size_t) MAX (s->rows, 0) * MAX (s->cols, 0);
  double mx = -INFINITY, absmax = 0, minpos = INFINITY;
  for (size_t i = 0; s->data && i < n; i++)
    {
      double v = s->data[i];
      if (!isfinite (v))
        continue;
      mx = MAX (mx, v);
      absmax = MAX (absmax, fabs (v));
      if (v > 0)
        minpos = MIN (minpos, v);
    }
  if (s->colormap == PF_COLORMAP_DIVERGING)
    {
      double m = absmax > 0 ? absmax : 1;
      *vmin = -m;
      *vmax = m;
    }
  else if (log_scale)
    {
      /* Four decades at most: the many tiny deposits would otherwise flatten the picture. */
      double top = mx > 0 ? mx : 1;
      *vmax = top;
      *vmin = isfinite (minpos) && minpos < top ? MAX (minpos, top * 1e-4) : top * 1e-3;
    }
  else
    {
      *vmin = 0;
      *vmax = mx > 0 ? mx : 1;
    }
}

double
pf_render_image_norm (const PfImageSpec *s, double vmin, double vmax, double v)
{
  double t;
  if (s->scale == PF_RENDER_SCALE_LOG && s->colormap != PF_COLORMAP_DIVERGING)
    t = v > 0 ? (log (v) - log (vmin)) / (log (vmax) - log (vmin)) : 0;
  else
    t = (v - vmin) / (vmax - vmin);
  return isfinite (t) ? CLAMP (t, 0.0, 1.0) : 0;
}

static inline guint32
pack_rgb (PfColormap map, double t)
{
  guint8 c[3];
  pf_colormap_rgb8 (map, t, c);
  return ((guint32) c[0] << 16) | ((guint32) c[1] << 8) | c[2];
}

/* Paints a w x h RGB24 image into rect, each image pixel a sharp block. */
static void
paint_cells (cairo_t *cr, cairo_surface_t *img, int w, int h, const PfRenderRect *r)
{
  cairo_surface_mark_dirty (img);
  cairo_save (cr);
  cairo_rectangle (cr, r->x, r->y, r->w, r->h);
  cairo_clip (cr);
  cairo_translate (cr, r->x, r->y);
  cairo_scale (cr, r->w / w, r->h / h);
  cairo_set_source_surface (cr, img, 0, 0);
  cairo_pattern_set_filter (cairo_get_source (cr), CAIRO_FILTER_NEAREST);
  cairo_paint (cr);
  cairo_restore (cr);
}

static void
stroke_rect (cairo_t *cr, const PfRenderRect *r, double lw)
{
  cairo_save (cr);
  cairo_set_source_rgb (cr, 0, 0, 0);
  cairo_set_line_width (cr, lw);
  cairo_rectangle (cr, r->x, r->y, r->w, r->h);
  cairo_stroke (cr);
  cairo_restore (cr);
}

static void
tick (cairo_t *cr, double x0, double y0, double x1, double y1, double lw)
{
  cairo_set_line_width (cr, lw);
  cairo_move_to (cr, x0, y0);
  cairo_line_to (cr, x1, y1);
  cairo_stroke (cr);
}

void
pf_render_image (cairo_t *cr, const PfRenderRect *area, const PfImageSpec *s,
                 PfImageLayout *layout)
{
  const double fs = CLAMP (MIN (area->w, area->h) * 0.035, 7.0, 16.0);
  const double lw = MAX (1.0, fs / 12);
  const double top = s->title ? 2.0 * fs : 0.8 * fs, bottom = 3.2 * fs, left = 4.4 * fs;
  const double bar_gap = 0.9 * fs, bar_w = MAX (fs, 0.035 * area->w), bar_labels = 5.4 * fs;
  PfRenderRect plot = {
    round (area->x + left), round (area->y + top),
    round (MAX (area->w - left - bar_gap - bar_w - bar_labels, 1.0)),
    round (MAX (area->h - top - bottom, 1.0)),
  };
  PfRenderRect bar = { round (plot.x + plot.w + bar_gap), plot.y, round (bar_w), plot.h };
  double vmin, vmax;
  pf_render_image_range (s, &vmin, &vmax);
  if (layout)
    {
      layout->plot = plot;
      layout->colorbar = bar;
      layout->vmin = vmin;
      layout->vmax = vmax;
    }
  if (s->rows <= 0 || s->cols <= 0 || !s->data)
    return;

  /* Cells: image row 0 is the top, i.e. the last eta row. */
  cairo_surface_t *img = cairo_image_surface_create (CAIRO_FORMAT_RGB24, s->cols, s->rows);
  unsigned char *pix = cairo_image_surface_get_data (img);
  int stride = cairo_image_surface_get_stride (img);
  for (int r = 0; r < s->rows; r++)
    {
      guint32 *line = (guint32 *) (pix + (size_t) (s->rows - 1 - r) * stride);
      for (int c = 0; c < s->cols; c++)
        line[c] = pack_rgb (s->colormap,
                            pf_render_image_norm (s, vmin, vmax, s->data[(size_t) r * s->cols + c]));
    }
  paint_cells (cr, img, s->cols, s->rows, &plot);
  cairo_surface_destroy (img);

  /* Colour bar: 256 steps, vmax at the top. */
  cairo_surface_t *bimg = cairo_image_surface_create (CAIRO_FORMAT_RGB24, 1, 256);
  unsigned char *bpix = cairo_image_surface_get_data (bimg);
  int bstride = cairo_image_surface_get_stride (bimg);
  for (int k = 0; k < 256; k++)
    *(guint32 *) (bpix + (size_t) k * bstride) = pack_rgb (s->colormap, (255 - k + 0.5) / 256.0);
  paint_cells (cr, bimg, 1, 256, &bar);
  cairo_surface_destroy (bimg);
  stroke_rect (cr, &plot, lw);
  stroke_rect (cr, &bar, lw);

  cairo_save (cr);
  cairo_set_source_rgb (cr, 0, 0, 0);
  const double tl = 0.4 * fs;
  char buf[64];
  /* phi axis: multiples of pi/2. */
  static const char *phi_lab[] = { "\xe2\x88\x92\xcf\x80", "\xe2\x88\x92\xcf\x80/2", "0",
                                   "\xcf\x80/2", "\xcf\x80" };
  for (int k = 0; k < 5; k++)
    {
      double x = plot.x + plot.w * k / 4.0;
      tick (cr, x, plot.y + plot.h, x, plot.y + plot.h + tl, lw);
      _pf_render_text (cr, x, plot.y + plot.h + tl + 0.2 * fs, phi_lab[k], fs, 0.5, 0, 0);
    }
  _pf_render_text (cr, plot.x + plot.w / 2, plot.y + plot.h + 1.9 * fs, "\xcf\x86 (rad)", fs,
                   0.5, 0, 0);
  /* eta axis. */
  double ticks[32], step;
  double em = s->eta_max > 0 ? s->eta_max : 2.5;
  int nt = _pf_render_linear_ticks (-em, em, 5, ticks, 32, &step);
  for (int k = 0; k < nt; k++)
    {
      double y = plot.y + plot.h * (1 - (ticks[k] + em) / (2 * em));
      tick (cr, plot.x - tl, y, plot.x, y, lw);
      _pf_render_tick_label (ticks[k], step, buf, sizeof buf);
      _pf_render_text (cr, plot.x - tl - 0.2 * fs, y, buf, fs, 1, 0.5, 0);
    }
  _pf_render_text (cr, area->x + 0.3 * fs, plot.y + plot.h / 2, "\xce\xb7", fs, 0.5, 0, -G_PI / 2);
  /* Colour bar ticks. */
  gboolean log_scale = s->scale == PF_RENDER_SCALE_LOG && s->colormap != PF_COLORMAP_DIVERGING;
  nt = log_scale ? _pf_render_log_ticks (vmin, vmax, ticks, 32)
                 : _pf_render_linear_ticks (vmin, vmax, 5, ticks, 32, &step);
  for (int k = 0; k < nt; k++)
    {
      double y = bar.y + bar.h * (1 - pf_render_image_norm (s, vmin, vmax, ticks[k]));
      tick (cr, bar.x + bar.w, y, bar.x + bar.w + tl, y, lw);
      if (log_scale)
        g_snprintf (buf, sizeof buf, "%g", ticks[k]);
      else
        _pf_render_tick_label (ticks[k], step, buf, sizeof buf);
      _pf_render_text (cr, bar.x + bar.w + tl + 0.2 * fs, y, buf, fs, 0, 0.5, 0);
    }
  if (s->unit)
    _pf_render_text (cr, area->x + area->w - 0.3 * fs, bar.y + bar.h / 2, s->unit, fs, 0.5, 1,
                     -G_PI / 2);
  if (s->title)
    _pf_render_text (cr, plot.x + plot.w / 2, area->y + 0.4 * fs, s->title, 1.15 * fs, 0.5, 0, 0);
  cairo_restore (cr);
}

typedef struct {
  const PfImageSpec *spec;
  PfImageLayout *layout;
} ImageJob;

static void
draw_image (cairo_t *cr, double w, double h, gpointer data)
{
  ImageJob *j = data;
  PfRenderRect area = { 0, 0, w, h };
  pf_render_image (cr, &area, j->spec, j->layout);
}

gboolean
pf_render_image_to_file (const char *path, int width, int height, const PfImageSpec *s,
                         PfImageLayout *layout, GError **error)
{
  ImageJob j = { s, layout };
  return pf_render_to_file (path, width, height, draw_image, &j, error);
}

void
pf_render_event_panel (cairo_t *cr, const PfRenderRect *area, const float *truth,
                       const float *pred, int rows, int cols, PfRenderScale scale,
                       const char *title, PfImageLayout layouts[3])
{
  const double fs = CLAMP (MIN (area->w / 3, area->h) * 0.035, 7.0, 16.0);
  double top = 0;
  if (title)
    {
      top = 2.2 * fs;
      cairo_save (cr);
      cairo_set_source_rgb (cr, 0, 0, 0);
      _pf_render_text (cr, area->x + area->w / 2, area->y + 0.4 * fs, title, 1.3 * fs, 0.5, 0, 0);
      cairo_restore (cr);
    }
  size_t n = (size_t) rows * cols;
  float *resid = g_new (float, n ? n : 1);
  for (size_t i = 0; i < n; i++)
    resid[i] = pred[i] - truth[i];

  /* Truth and prediction share one range so that equal colours mean equal energies. */
  PfImageSpec spec[3];
  pf_image_spec_init (&spec[0], truth, rows, cols);
  pf_image_spec_init (&spec[1], pred, rows, cols);
  pf_image_spec_init (&spec[2], resid, rows, cols);
  spec[0].scale = spec[1].scale = scale;
  double lo0, hi0, lo1, hi1;
  pf_render_image_range (&spec[0], &lo0, &hi0);
  pf_render_image_range (&spec[1], &lo1, &hi1);
  spec[0].vmin = spec[1].vmin = scale == PF_RENDER_SCALE_LOG ? MIN (lo0, lo1) : 0;
  spec[0].vmax = spec[1].vmax = MAX (hi0, hi1);
  spec[2].colormap = PF_COLORMAP_DIVERGING;
  spec[0].title = "truth";
  spec[1].title = "prediction";
  spec[2].title = "prediction \xe2\x88\x92 truth";
  for (int k = 0; k < 3; k++)
    {
      PfRenderRect a = { area->x + k * area->w / 3, area->y + top, area->w / 3, area->h - top };
      pf_render_image (cr, &a, &spec[k], layouts ? &layouts[k] : NULL);
    }
  g_free (resid);
}

typedef struct {
  const float *truth, *pred;
  int rows, cols;
  PfRenderScale scale;
  const char *title;
  PfImageLayout *layouts;
} PanelJob;

static void
draw_panel (cairo_t *cr, double w, double h, gpointer data)
{
  PanelJob *j = data;
  PfRenderRect area = { 0, 0, w, h };
  pf_render_event_panel (cr, &area, j->truth, j->pred, j->rows, j->cols, j->scale, j->title,
                         j->layouts);
}

gboolean
pf_render_event_panel_to_file (const char *path, int width, int height, const float *truth,
                               const float *pred, int rows, int cols, PfRenderScale scale,
                               const char *title, PfImageLayout layouts[3], GError **error)
{
  PanelJob j = { truth, pred, rows, cols, scale, title, layouts };
  return pf_render_to_file (path, width, height, draw_panel, &j, error);
}
