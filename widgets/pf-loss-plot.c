/* pf-loss-plot.c — live loss curves (see pf-loss-plot.h).
 *
 * A plain GtkWidget whose snapshot shows pf_loss_plot_draw() rendered on the CPU into an image
 * surface, kept (as a render node) until the series or settings change: a frame that does not
 * touch the plot costs nothing, one that does costs one blit, and under the cairo GSK renderer (Xvfb) the text and curves
 * are not replayed through the X server. Series live in a GPtrArray indexed by their id; a
 * removed series leaves a NULL so later ids stay valid. A series' mark is an index into its
 * points, drawn on the raw value whatever the smoothing (the best epoch is the best raw one). */
#include "pf-loss-plot.h"
#include "pf-render-private.h"

#include <glib/gi18n.h>
#include <math.h>
#include <string.h>

typedef struct {
  double x[3];  /* step, epoch, seconds: indexed by PfLossPlotXAxis */
  double value;
} Point;

typedef struct {
  char *name;
  GdkRGBA color;
  gboolean dashed;
  GArray *points;  /* Point */
  gboolean smoothed; /* follows the plot's smoothing (TRUE unless set otherwise) */
  int mark;        /* index of the marked point, -1 none */
  char *mark_label;
} Series;

struct _PfLossPlot
{
  GtkWidget parent_instance;

  GPtrArray *series;  /* Series or NULL (removed) */
  guint n_added;      /* picks the palette colour */
  PfLossPlotXAxis x_axis;
  gboolean log_y;
  double smoothing;

  GskRenderNode *picture;  /* the last rendering; NULL when something changed */
  int picture_w, picture_h, picture_scale;
};

G_DEFINE_FINAL_TYPE (PfLossPlot, pf_loss_plot, GTK_TYPE_WIDGET)

enum {
  PROP_0,
  PROP_X_AXIS,
  PROP_LOG_Y,
  PROP_SMOOTHING,
  N_PROPS
};
static GParamSpec *properties[N_PROPS];

/* Tableau 10, the matplotlib default cycle: readers of the papers know these curves. */
static const double palette[10][3] = {
  { 0.122, 0.467, 0.706 }, { 1.000, 0.498, 0.055 }, { 0.173, 0.627, 0.173 },
  { 0.839, 0.153, 0.157 }, { 0.580, 0.404, 0.741 }, { 0.549, 0.337, 0.294 },
  { 0.890, 0.467, 0.761 }, { 0.498, 0.498, 0.498 }, { 0.737, 0.741, 0.133 },
  { 0.090, 0.745, 0.812 },
};

/* Drops the cached picture and asks for a frame (once per frame, however many calls). */
static void
plot_changed (PfLossPlot *self)
{
  g_clear_pointer (&self->picture, gsk_render_node_unref);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
series_free (gpointer p)
{
  Series *s = p;
  if (!s)
    return;
  g_free (s->name);
  g_free (s->mark_label);
  g_array_unref (s->points);
  g_free (s);
}

static Series *
get_series (PfLossPlot *self, int id)
{
  if (id < 0 || (guint) id >= self->series->len)
    return NULL;
  return g_ptr_array_index (self->series, id);
}

/* ---- what the axes can show ---- */

static gboolean
y_drawable (gboolean log_y, double v)
{
  return isfinite (v) && (!log_y || v > 0);
}

static gboolean
point_drawable (const PfLossPlot *self, const Point *pt)
{
  return isfinite (pt->x[self->x_axis]) && y_drawable (self->log_y, pt->value);
}

static void
compute_ranges (PfLossPlot *self, PfLossPlotLayout *l)
{
  double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
  for (guint i = 0; i < self->series->len; i++)
    {
      Series *s = g_ptr_array_index (self->series, i);
      for (guint k = 0; s && k < s->points->len; k++)
        {
          const Point *pt = &g_array_index (s->points, Point, k);
          double x = pt->x[self->x_axis];
          if (!isfinite (x))
            continue;
          /* A NaN point still widens x, so its divergence line is inside the plot. */
          if (isnan (pt->value) || y_drawable (self->log_y, pt->value))
            {
              xlo = MIN (xlo, x);
              xhi = MAX (xhi, x);
            }
          if (y_drawable (self->log_y, pt->value))
            {
              ylo = MIN (ylo, pt->value);
              yhi = MAX (yhi, pt->value);
            }
        }
    }
  if (!isfinite (xlo))
    {
      xlo = 0;
      xhi = 1;
    }
  else if (!(xhi > xlo))
    xhi = xlo + 1;
  l->xmin = xlo;
  l->xmax = xhi;
  l->log_y = self->log_y;
  if (self->log_y)
    {
      if (!isfinite (ylo))
        {
          ylo = 1e-3;
          yhi = 1;
        }
      /* Whole decades: a tick at each end and constant pixels per decade. */
      double elo = floor (log10 (ylo) + 1e-9), ehi = ceil (log10 (yhi) - 1e-9);
      if (ehi <= elo)
        ehi = elo + 1;
      l->ymin = pow (10, elo);
      l->ymax = pow (10, ehi);
    }
  else
    {
      if (!isfinite (ylo))
        {
          ylo = 0;
          yhi = 1;
        }
      double pad = yhi > ylo ? 0.05 * (yhi - ylo) : MAX (0.1 * fabs (ylo), 1e-3);
      l->ymin = ylo - pad;
      l->ymax = yhi + pad;
    }
}

double
pf_loss_plot_layout_x (const PfLossPlotLayout *l, double x)
{
  return l->plot.x + l->plot.w * (x - l->xmin) / (l->xmax - l->xmin);
}

double
pf_loss_plot_layout_y (const PfLossPlotLayout *l, double v)
{
  double t;
  if (!y_drawable (l->log_y, v))
    return NAN;
  if (l->log_y)
    t = (log10 (v) - log10 (l->ymin)) / (log10 (l->ymax) - log10 (l->ymin));
  else
    t = (v - l->ymin) / (l->ymax - l->ymin);
  return l->plot.y + l->plot.h * (1 - t);
}

/* ---- drawing ---- */

static void
hline (cairo_t *cr, double x0, double x1, double y)
{
  cairo_move_to (cr, x0, y);
  cairo_line_to (cr, x1, y);
}

static void
vline (cairo_t *cr, double x, double y0, double y1)
{
  cairo_move_to (cr, x, y0);
  cairo_line_to (cr, x, y1);
}

static void
draw_axes (PfLossPlot *self, cairo_t *cr, const PfLossPlotLayout *l, double fs, double lw)
{
  const PfRenderRect *p = &l->plot;
  double ticks[64], step, tl = 0.4 * fs;
  char buf[64];
  int nx = _pf_render_linear_ticks (l->xmin, l->xmax, 6, ticks, 64, &step);
  double xstep = step;
  double xt[64];
  memcpy (xt, ticks, sizeof ticks);

  /* Grid first, under everything. */
  cairo_save (cr);
  cairo_set_line_width (cr, 1);
  cairo_set_source_rgb (cr, 0.90, 0.90, 0.90);
  for (int k = 0; k < nx; k++)
    vline (cr, round (pf_loss_plot_layout_x (l, xt[k])) + 0.5, p->y, p->y + p->h);
  int ny;
  if (l->log_y)
    {
      ny = _pf_render_log_ticks (l->ymin, l->ymax, ticks, 64);
      /* Minor lines at 2..9 x 10^k while the decades are few enough to read them. */
      if (ny <= 7)
        {
          cairo_stroke (cr);
          cairo_set_source_rgb (cr, 0.95, 0.95, 0.95);
          for (int k = 0; k + 1 < ny; k++)
            for (int m = 2; m <= 9; m++)
              hline (cr, p->x, p->x + p->w,
                     round (pf_loss_plot_layout_y (l, m * ticks[k])) + 0.5);
          cairo_stroke (cr);
          cairo_set_source_rgb (cr, 0.90, 0.90, 0.90);
        }
    }
  else
    ny = _pf_render_linear_ticks (l->ymin, l->ymax, 5, ticks, 64, &step);
  for (int k = 0; k < ny; k++)
    hline (cr, p->x, p->x + p->w, round (pf_loss_plot_layout_y (l, ticks[k])) + 0.5);
  cairo_stroke (cr);

  /* Frame, ticks, labels. */
  cairo_set_source_rgb (cr, 0, 0, 0);
  cairo_set_line_width (cr, lw);
  cairo_rectangle (cr, p->x, p->y, p->w, p->h);
  cairo_stroke (cr);
  for (int k = 0; k < nx; k++)
    {
      double x = pf_loss_plot_layout_x (l, xt[k]);
      vline (cr, x, p->y + p->h, p->y + p->h + tl);
      cairo_stroke (cr);
      _pf_render_tick_label (xt[k], xstep, buf, sizeof buf);
      _pf_render_text (cr, x, p->y + p->h + tl + 0.2 * fs, buf, fs, 0.5, 0, 0);
    }
  for (int k = 0; k < ny; k++)
    {
      double y = pf_loss_plot_layout_y (l, ticks[k]);
      hline (cr, p->x - tl, p->x, y);
      cairo_stroke (cr);
      if (l->log_y)
        g_snprintf (buf, sizeof buf, "%g", ticks[k]);
      else
        _pf_render_tick_label (ticks[k], step, buf, sizeof buf);
      _pf_render_text (cr, p->x - tl - 0.2 * fs, y, buf, fs, 1, 0.5, 0);
    }
  const char *xlabel = self->x_axis == PF_LOSS_PLOT_X_EPOCH ? _("epoch")
                       : self->x_axis == PF_LOSS_PLOT_X_TIME ? _("time (s)") : _("step");
  _pf_render_text (cr, p->x + p->w / 2, p->y + p->h + 1.9 * fs, xlabel, fs, 0.5, 0, 0);
  _pf_render_text (cr, 0.3 * fs, p->y + p->h / 2, _("loss"), fs, 0.5, 0, -G_PI / 2);
  cairo_restore (cr);
}

static void
set_series_source (cairo_t *cr, const Series *s, double alpha)
{
  cairo_set_source_rgba (cr, s->color.red, s->color.green, s->color.blue,
                         s->color.alpha * alpha);
}

/* A polyline through the drawable values (raw, or their moving average), broken where a value
 * cannot be drawn; an isolated point becomes a dot. */
static void
draw_curve (PfLossPlot *self, cairo_t *cr, const PfLossPlotLayout *l, const Series *s,
            gboolean smooth, double alpha, double width)
{
  static const double dash[] = { 6, 3 };
  double ema = NAN, px = NAN, py = NAN;
  int run = 0;
  cairo_save (cr);
  set_series_source (cr, s, alpha);
  cairo_set_line_width (cr, width);
  cairo_set_line_join (cr, CAIRO_LINE_JOIN_ROUND);
  cairo_set_line_cap (cr, CAIRO_LINE_CAP_ROUND);
  if (s->dashed)
    cairo_set_dash (cr, dash, G_N_ELEMENTS (dash), 0);
  cairo_new_path (cr);
  for (guint k = 0; k <= s->points->len; k++)
    {
      const Point *pt = k < s->points->len ? &g_array_index (s->points, Point, k) : NULL;
      gboolean ok = pt && point_drawable (self, pt);
      if (!ok)
        {
          if (run == 1)
            {
              cairo_new_sub_path (cr);
              cairo_arc (cr, px, py, width, 0, 2 * G_PI);
              cairo_fill (cr);
            }
          run = 0;
          continue;
        }
      double v = pt->value;
      if (smooth)
        {
          ema = isnan (ema) ? v : self->smoothing * ema + (1 - self->smoothing) * v;
          v = ema;
        }
      px = pf_loss_plot_layout_x (l, pt->x[self->x_axis]);
      py = pf_loss_plot_layout_y (l, v);
      if (run == 0)
        cairo_move_to (cr, px, py);
      else
        cairo_line_to (cr, px, py);
      run++;
      if (run >= 2)
        {
          /* Stroke run by run so a break does not join the pieces. */
          gboolean next_ok = k + 1 < s->points->len
                             && point_drawable (self, &g_array_index (s->points, Point, k + 1));
          if (!next_ok)
            {
              cairo_stroke (cr);
              run = 0;
            }
        }
    }
  cairo_new_path (cr);
  cairo_restore (cr);
}

static void
draw_divergence (PfLossPlot *self, cairo_t *cr, const PfLossPlotLayout *l, double fs)
{
  const PfRenderRect *p = &l->plot;
  int nth = 0;
  for (guint i = 0; i < self->series->len; i++)
    {
      Series *s = g_ptr_array_index (self->series, i);
      for (guint k = 0; s && k < s->points->len; k++)
        {
          const Point *pt = &g_array_index (s->points, Point, k);
          if (!isnan (pt->value) || !isfinite (pt->x[self->x_axis]))
            continue;
          double x = round (pf_loss_plot_layout_x (l, pt->x[self->x_axis])) + 0.5;
          cairo_save (cr);
          cairo_set_source_rgb (cr, 0.85, 0.0, 0.0);
          cairo_set_line_width (cr, 1.5);
          vline (cr, x, p->y, p->y + p->h);
          cairo_stroke (cr);
          char *label = g_strdup_printf (_("%s diverged"), s->name);
          gboolean right = x < p->x + p->w / 2;
          _pf_render_text (cr, right ? x + 0.3 * fs : x - 0.3 * fs,
                           p->y + (0.3 + 1.3 * nth++) * fs, label, fs, right ? 0 : 1, 0, 0);
          g_free (label);
          cairo_restore (cr);
          break;  /* the first NaN of a series is the divergence */
        }
    }
}

/* The marked point of each series: a ring on the raw value and its label under it (beside it
 * when the point is too near the bottom: the lowest value, which is what a best epoch tends to
 * be), on a white box so no curve crosses the text. */
static void
draw_marks (PfLossPlot *self, cairo_t *cr, const PfLossPlotLayout *l, double fs)
{
  const PfRenderRect *p = &l->plot;
  for (guint i = 0; i < self->series->len; i++)
    {
      Series *s = g_ptr_array_index (self->series, i);
      if (!s || s->mark < 0 || (guint) s->mark >= s->points->len)
        continue;
      const Point *pt = &g_array_index (s->points, Point, s->mark);
      if (!point_drawable (self, pt))
        continue;
      double x = pf_loss_plot_layout_x (l, pt->x[self->x_axis]);
      double y = pf_loss_plot_layout_y (l, pt->value);
      double r = MAX (0.4 * fs, 3.5);
      cairo_save (cr);
      cairo_new_path (cr);
      cairo_arc (cr, x, y, r, 0, 2 * G_PI);
      cairo_set_source_rgb (cr, 1, 1, 1);
      cairo_fill_preserve (cr);
      set_series_source (cr, s, 1);
      cairo_set_line_width (cr, 2);
      cairo_stroke (cr);
      if (s->mark_label && *s->mark_label)
        {
          cairo_select_font_face (cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
          cairo_set_font_size (cr, fs);
          cairo_text_extents_t te;
          cairo_text_extents (cr, s->mark_label, &te);
          double pad = 0.2 * fs, bw = te.x_advance + 2 * pad, bh = 1.3 * fs, gap = r + 0.3 * fs;
          double bx, by;
          if (y + gap + bh <= p->y + p->h)
            {
              bx = CLAMP (x - bw / 2, p->x + 1, MAX (p->x + p->w - bw - 1, p->x + 1));
              by = y + gap;
            }
          else
            {
              /* no room under it (the lowest value): beside it, right when it fits */
              bx = x + gap + bw <= p->x + p->w ? x + gap : MAX (x - gap - bw, p->x + 1);
              by = y - bh / 2;
            }
          cairo_rectangle (cr, bx, by, bw, bh);
          cairo_set_source_rgba (cr, 1, 1, 1, 0.85);
          cairo_fill (cr);
          cairo_set_source_rgb (cr, 0.15, 0.15, 0.15);
          _pf_render_text (cr, bx + pad, by + bh / 2, s->mark_label, fs, 0, 0.5, 0);
        }
      cairo_restore (cr);
    }
}

static void
draw_legend (PfLossPlot *self, cairo_t *cr, const PfLossPlotLayout *l, double fs)
{
  static const double dash[] = { 6, 3 };
  int n = 0, hidden = pf_loss_plot_get_n_hidden (self, -1);
  double wmax = 0;
  char *note = NULL;
  cairo_save (cr);
  cairo_select_font_face (cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size (cr, fs);
  for (guint i = 0; i < self->series->len; i++)
    {
      Series *s = g_ptr_array_index (self->series, i);
      if (!s)
        continue;
      cairo_text_extents_t te;
      cairo_text_extents (cr, s->name, &te);
      wmax = MAX (wmax, te.x_advance + 3 * fs);
      n++;
    }
  if (hidden > 0)
    {
      note = g_strdup_printf (ngettext ("%d point off the axis", "%d points off the axis",
                                        hidden), hidden);
      cairo_text_extents_t te;
      cairo_text_extents (cr, note, &te);
      wmax = MAX (wmax, te.x_advance);
    }
  int rows = n + (note ? 1 : 0);
  if (rows == 0)
    {
      cairo_restore (cr);
      return;
    }
  const double pad = 0.5 * fs, rh = 1.4 * fs;
  double bw = wmax + 2 * pad, bh = rows * rh + 2 * pad;
  double bx = l->plot.x + l->plot.w - bw - 0.6 * fs, by = l->plot.y + 0.6 * fs;
  cairo_rectangle (cr, bx, by, bw, bh);
  cairo_set_source_rgba (cr, 1, 1, 1, 0.88);
  cairo_fill_preserve (cr);
  cairo_set_source_rgb (cr, 0.7, 0.7, 0.7);
  cairo_set_line_width (cr, 1);
  cairo_stroke (cr);
  int row = 0;
  for (guint i = 0; i < self->series->len; i++)
    {
      Series *s = g_ptr_array_index (self->series, i);
      if (!s)
        continue;
      double y = by + pad + (row++ + 0.5) * rh;
      cairo_save (cr);
      set_series_source (cr, s, 1);
      cairo_set_line_width (cr, 2);
      if (s->dashed)
        cairo_set_dash (cr, dash, G_N_ELEMENTS (dash), 0);
      hline (cr, bx + pad, bx + pad + 2.2 * fs, y);
      cairo_stroke (cr);
      cairo_restore (cr);
      cairo_set_source_rgb (cr, 0, 0, 0);
      _pf_render_text (cr, bx + pad + 2.8 * fs, y, s->name, fs, 0, 0.5, 0);
    }
  if (note)
    {
      cairo_set_source_rgb (cr, 0.4, 0.4, 0.4);
      _pf_render_text (cr, bx + pad, by + pad + (row + 0.5) * rh, note, fs, 0, 0.5, 0);
    }
  g_free (note);
  cairo_restore (cr);
}

void
pf_loss_plot_draw (PfLossPlot *self, cairo_t *cr, double width, double height,
                   PfLossPlotLayout *layout)
{
  g_return_if_fail (PF_IS_LOSS_PLOT (self));
  const double fs = CLAMP (MIN (width, height) * 0.035, 7.0, 14.0);
  const double lw = MAX (1.0, fs / 12);
  PfLossPlotLayout l;
  compute_ranges (self, &l);
  l.plot = (PfRenderRect) { round (5.6 * fs), round (0.8 * fs),
                            round (MAX (width - 5.6 * fs - 1.8 * fs, 1.0)),
                            round (MAX (height - 0.8 * fs - 3.4 * fs, 1.0)) };
  if (layout)
    *layout = l;

  cairo_save (cr);
  cairo_set_source_rgb (cr, 1, 1, 1);
  cairo_paint (cr);
  draw_axes (self, cr, &l, fs, lw);

  gboolean any = FALSE;
  cairo_save (cr);
  cairo_rectangle (cr, l.plot.x, l.plot.y, l.plot.w, l.plot.h);
  cairo_clip (cr);
  for (guint i = 0; i < self->series->len; i++)
    {
      Series *s = g_ptr_array_index (self->series, i);
      if (!s || s->points->len == 0)
        continue;
      any = TRUE;
      if (self->smoothing > 0 && s->smoothed)
        {
          draw_curve (self, cr, &l, s, FALSE, 0.25, 1.2);
          draw_curve (self, cr, &l, s, TRUE, 1, 2);
        }
      else
        draw_curve (self, cr, &l, s, FALSE, 1, 1.5);
    }
  draw_divergence (self, cr, &l, fs);
  cairo_restore (cr);
  draw_marks (self, cr, &l, fs);
  if (!any)
    {
      cairo_set_source_rgb (cr, 0.45, 0.45, 0.45);
      _pf_render_text (cr, l.plot.x + l.plot.w / 2, l.plot.y + l.plot.h / 2, _("No data yet"),
                       1.2 * fs, 0.5, 0.5, 0);
    }
  draw_legend (self, cr, &l, fs);
  cairo_restore (cr);
}

static void
pf_loss_plot_snapshot (GtkWidget *widget, GtkSnapshot *snapshot)
{
  PfLossPlot *self = PF_LOSS_PLOT (widget);
  int w = gtk_widget_get_width (widget), h = gtk_widget_get_height (widget);
  int scale = gtk_widget_get_scale_factor (widget);
  if (w <= 0 || h <= 0)
    return;
  if (!self->picture || self->picture_w != w || self->picture_h != h || self->picture_scale != scale)
    {
      /* Drawn on the CPU, painted by a cairo node: see render_base in pf-calo-view.c for why
       * not a GdkTexture. */
      cairo_surface_t *surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, w * scale, h * scale);
      cairo_surface_set_device_scale (surface, scale, scale);
      cairo_t *cr = cairo_create (surface);
      pf_loss_plot_draw (self, cr, w, h, NULL);
      cairo_destroy (cr);
      g_clear_pointer (&self->picture, gsk_render_node_unref);
      self->picture = gsk_cairo_node_new (&GRAPHENE_RECT_INIT (0, 0, w, h));
      cr = gsk_cairo_node_get_draw_context (self->picture);
      cairo_set_source_surface (cr, surface, 0, 0);
      cairo_paint (cr);
      cairo_destroy (cr);
      cairo_surface_destroy (surface);
      self->picture_w = w;
      self->picture_h = h;
      self->picture_scale = scale;
    }
  gtk_snapshot_append_node (snapshot, self->picture);
}

static void
pf_loss_plot_measure (GtkWidget *widget, GtkOrientation orientation, int for_size, int *minimum,
                      int *natural, int *minimum_baseline, int *natural_baseline)
{
  *minimum = orientation == GTK_ORIENTATION_HORIZONTAL ? 240 : 160;
  *natural = orientation == GTK_ORIENTATION_HORIZONTAL ? 480 : 300;
}

/* ---- series ---- */

int
pf_loss_plot_add_series (PfLossPlot *self, const char *name, const GdkRGBA *color,
                         gboolean dashed)
{
  g_return_val_if_fail (PF_IS_LOSS_PLOT (self), -1);
  Series *s = g_new0 (Series, 1);
  s->name = g_strdup (name ? name : "");
  if (color)
    s->color = *color;
  else
    {
      const double *c = palette[self->n_added % G_N_ELEMENTS (palette)];
      s->color = (GdkRGBA) { c[0], c[1], c[2], 1 };
    }
  self->n_added++;
  s->dashed = !!dashed;
  s->points = g_array_new (FALSE, FALSE, sizeof (Point));
  s->smoothed = TRUE;
  s->mark = -1;
  g_ptr_array_add (self->series, s);
  plot_changed (self);
  return (int) self->series->len - 1;
}

void
pf_loss_plot_append (PfLossPlot *self, int series, double step, double epoch, double seconds,
                     double value)
{
  g_return_if_fail (PF_IS_LOSS_PLOT (self));
  Series *s = get_series (self, series);
  g_return_if_fail (s != NULL);
  Point pt = { { step, epoch, seconds }, value };
  g_array_append_val (s->points, pt);
  plot_changed (self);
}

void
pf_loss_plot_remove_series (PfLossPlot *self, int series)
{
  g_return_if_fail (PF_IS_LOSS_PLOT (self));
  Series *s = get_series (self, series);
  if (!s)
    return;
  series_free (s);
  g_ptr_array_index (self->series, series) = NULL;
  plot_changed (self);
}

void
pf_loss_plot_clear (PfLossPlot *self)
{
  g_return_if_fail (PF_IS_LOSS_PLOT (self));
  g_ptr_array_set_size (self->series, 0);
  self->n_added = 0;
  plot_changed (self);
}

void
pf_loss_plot_set_series_smoothed (PfLossPlot *self, int series, gboolean smoothed)
{
  g_return_if_fail (PF_IS_LOSS_PLOT (self));
  Series *s = get_series (self, series);
  g_return_if_fail (s != NULL);
  if (s->smoothed == !!smoothed)
    return;
  s->smoothed = !!smoothed;
  plot_changed (self);
}

void
pf_loss_plot_set_mark (PfLossPlot *self, int series, int index, const char *label)
{
  g_return_if_fail (PF_IS_LOSS_PLOT (self));
  Series *s = get_series (self, series);
  g_return_if_fail (s != NULL);
  s->mark = MAX (index, -1);
  g_free (s->mark_label);
  s->mark_label = index >= 0 ? g_strdup (label) : NULL;
  plot_changed (self);
}

int
pf_loss_plot_get_mark (PfLossPlot *self, int series)
{
  g_return_val_if_fail (PF_IS_LOSS_PLOT (self), -1);
  Series *s = get_series (self, series);
  return s ? s->mark : -1;
}

const char *
pf_loss_plot_get_series_name (PfLossPlot *self, int series)
{
  g_return_val_if_fail (PF_IS_LOSS_PLOT (self), NULL);
  Series *s = get_series (self, series);
  return s ? s->name : NULL;
}

guint
pf_loss_plot_get_n_points (PfLossPlot *self, int series)
{
  g_return_val_if_fail (PF_IS_LOSS_PLOT (self), 0);
  Series *s = get_series (self, series);
  return s ? s->points->len : 0;
}

gboolean
pf_loss_plot_get_point (PfLossPlot *self, int series, guint index, double *step, double *epoch,
                        double *seconds, double *value)
{
  g_return_val_if_fail (PF_IS_LOSS_PLOT (self), FALSE);
  Series *s = get_series (self, series);
  if (!s || index >= s->points->len)
    return FALSE;
  const Point *pt = &g_array_index (s->points, Point, index);
  if (step)
    *step = pt->x[PF_LOSS_PLOT_X_STEP];
  if (epoch)
    *epoch = pt->x[PF_LOSS_PLOT_X_EPOCH];
  if (seconds)
    *seconds = pt->x[PF_LOSS_PLOT_X_TIME];
  if (value)
    *value = pt->value;
  return TRUE;
}

int
pf_loss_plot_get_n_hidden (PfLossPlot *self, int series)
{
  g_return_val_if_fail (PF_IS_LOSS_PLOT (self), 0);
  int n = 0;
  for (guint i = 0; i < self->series->len; i++)
    {
      Series *s = g_ptr_array_index (self->series, i);
      if (!s || (series >= 0 && (int) i != series))
        continue;
      for (guint k = 0; k < s->points->len; k++)
        {
          const Point *pt = &g_array_index (s->points, Point, k);
          if (!isnan (pt->value) && !point_drawable (self, pt))
            n++;
        }
    }
  return n;
}

gboolean
pf_loss_plot_get_diverged (PfLossPlot *self, int series)
{
  g_return_val_if_fail (PF_IS_LOSS_PLOT (self), FALSE);
  for (guint i = 0; i < self->series->len; i++)
    {
      Series *s = g_ptr_array_index (self->series, i);
      if (!s || (series >= 0 && (int) i != series))
        continue;
      for (guint k = 0; k < s->points->len; k++)
        if (isnan (g_array_index (s->points, Point, k).value))
          return TRUE;
    }
  return FALSE;
}

/* ---- settings ---- */

void
pf_loss_plot_set_x_axis (PfLossPlot *self, PfLossPlotXAxis axis)
{
  g_return_if_fail (PF_IS_LOSS_PLOT (self));
  g_return_if_fail (axis >= PF_LOSS_PLOT_X_STEP && axis <= PF_LOSS_PLOT_X_TIME);
  if (self->x_axis == axis)
    return;
  self->x_axis = axis;
  plot_changed (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_X_AXIS]);
}

void
pf_loss_plot_set_log_y (PfLossPlot *self, gboolean log_y)
{
  g_return_if_fail (PF_IS_LOSS_PLOT (self));
  log_y = !!log_y;
  if (self->log_y == log_y)
    return;
  self->log_y = log_y;
  plot_changed (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LOG_Y]);
}

void
pf_loss_plot_set_smoothing (PfLossPlot *self, double alpha)
{
  g_return_if_fail (PF_IS_LOSS_PLOT (self));
  alpha = isfinite (alpha) ? CLAMP (alpha, 0.0, 0.999) : 0;
  if (self->smoothing == alpha)
    return;
  self->smoothing = alpha;
  plot_changed (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SMOOTHING]);
}

PfLossPlotXAxis
pf_loss_plot_get_x_axis (PfLossPlot *self)
{
  g_return_val_if_fail (PF_IS_LOSS_PLOT (self), PF_LOSS_PLOT_X_STEP);
  return self->x_axis;
}

gboolean
pf_loss_plot_get_log_y (PfLossPlot *self)
{
  g_return_val_if_fail (PF_IS_LOSS_PLOT (self), FALSE);
  return self->log_y;
}

double
pf_loss_plot_get_smoothing (PfLossPlot *self)
{
  g_return_val_if_fail (PF_IS_LOSS_PLOT (self), 0);
  return self->smoothing;
}

/* ---- GObject ---- */

GtkWidget *
pf_loss_plot_new (void)
{
  return g_object_new (PF_TYPE_LOSS_PLOT, NULL);
}

static void
pf_loss_plot_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  PfLossPlot *self = PF_LOSS_PLOT (object);
  switch (prop_id)
    {
    case PROP_X_AXIS: g_value_set_int (value, self->x_axis); break;
    case PROP_LOG_Y: g_value_set_boolean (value, self->log_y); break;
    case PROP_SMOOTHING: g_value_set_double (value, self->smoothing); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
pf_loss_plot_set_property (GObject *object, guint prop_id, const GValue *value,
                           GParamSpec *pspec)
{
  PfLossPlot *self = PF_LOSS_PLOT (object);
  switch (prop_id)
    {
    case PROP_X_AXIS: pf_loss_plot_set_x_axis (self, g_value_get_int (value)); break;
    case PROP_LOG_Y: pf_loss_plot_set_log_y (self, g_value_get_boolean (value)); break;
    case PROP_SMOOTHING: pf_loss_plot_set_smoothing (self, g_value_get_double (value)); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
pf_loss_plot_finalize (GObject *object)
{
  PfLossPlot *self = PF_LOSS_PLOT (object);
  g_ptr_array_unref (self->series);
  g_clear_pointer (&self->picture, gsk_render_node_unref);
  G_OBJECT_CLASS (pf_loss_plot_parent_class)->finalize (object);
}

static void
pf_loss_plot_class_init (PfLossPlotClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->finalize = pf_loss_plot_finalize;
  object_class->get_property = pf_loss_plot_get_property;
  object_class->set_property = pf_loss_plot_set_property;
  widget_class->snapshot = pf_loss_plot_snapshot;
  widget_class->measure = pf_loss_plot_measure;

  /* 0 step, 1 epoch, 2 time (PfLossPlotXAxis), an int so .ui files need no enum type. */
  properties[PROP_X_AXIS] =
    g_param_spec_int ("x-axis", NULL, NULL, PF_LOSS_PLOT_X_STEP, PF_LOSS_PLOT_X_TIME,
                      PF_LOSS_PLOT_X_STEP,
                      G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_LOG_Y] =
    g_param_spec_boolean ("log-y", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_SMOOTHING] =
    g_param_spec_double ("smoothing", NULL, NULL, 0, 0.999, 0,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_css_name (widget_class, "pf-loss-plot");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
pf_loss_plot_init (PfLossPlot *self)
{
  self->series = g_ptr_array_new_with_free_func (series_free);
}
