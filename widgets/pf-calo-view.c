/* pf-calo-view.c — one calorimeter image pane (see pf-calo-view.h).
 *
 * A plain GtkWidget drawn in two layers. The figure (pf_render_image: 56x56 cells, axes, ticks,
 * colour bar, hidden cells, then the jet circles and the selection) is rendered on the CPU into
 * an image surface only when one of its inputs changes (image, size, title, colours, range,
 * threshold, jets) and kept as a render node, which snapshot appends again as it is, so GSK's
 * diff finds no damage under it; the crosshair is a small cairo node over the plot on top.
 * Hovering thus never re-renders the cells, and under the cairo GSK renderer (Xvfb) neither the
 * 3136 cells nor the jets' dashed circles (dozens, early in a run) are replayed through the X
 * server: that replay, in all seven panes at each new weights snapshot, made frames slow.
 * pf_calo_view_draw() paints the same picture (figure, then crosshair) for export. No child
 * widgets, hence no .ui. */
#include "pf-calo-view.h"

#include <glib/gi18n.h>
#include <math.h>
#include <string.h>

struct _PfCaloView
{
  GtkWidget parent_instance;

  float *data;
  int rows, cols;
  char *title;
  PfColormap colormap;
  gboolean log_scale;
  double vmin, vmax;
  double threshold;
  int cross_row, cross_col;
  GArray *jets[2];  /* PfJetCircle, indexed by PfJetStyle */
  gboolean show_jets;
  int selected_jet;

  cairo_surface_t *base; /* the figure without jets; NULL when it must be rendered again */
  GskRenderNode *figure; /* base + jet layer; NULL when it must be built again */
  int figure_w, figure_h, figure_scale;

  PfImageLayout layout;  /* of the last figure rendered for the screen */
  gboolean has_layout;
  int hover_row, hover_col;
};

G_DEFINE_FINAL_TYPE (PfCaloView, pf_calo_view, GTK_TYPE_WIDGET)

enum {
  PROP_0,
  PROP_TITLE,
  PROP_LOG_SCALE,
  PROP_THRESHOLD,
  PROP_SHOW_JETS,
  PROP_SELECTED_JET,
  N_PROPS
};
static GParamSpec *properties[N_PROPS];

enum {
  SIGNAL_HOVER,
  SIGNAL_HOVER_LEAVE,
  SIGNAL_JET_CLICKED,
  N_SIGNALS
};
static guint signals[N_SIGNALS];

#define ETA_MAX 2.5  /* the renderer's default, which the pane keeps */

/* ---- geometry: (eta, phi) <-> pixels inside the layout's plot rectangle ---- */

static double
x_of_phi (const PfImageLayout *l, double phi)
{
  return l->plot.x + l->plot.w * (phi + G_PI) / (2 * G_PI);
}

static double
y_of_eta (const PfImageLayout *l, double eta)
{
  return l->plot.y + l->plot.h * (1 - (eta + ETA_MAX) / (2 * ETA_MAX));
}

static gboolean
point_to_eta_phi (const PfImageLayout *l, double x, double y, double *eta, double *phi)
{
  if (!(l->plot.w > 0 && l->plot.h > 0) || x < l->plot.x || y < l->plot.y
      || x >= l->plot.x + l->plot.w || y >= l->plot.y + l->plot.h)
    return FALSE;
  *phi = -G_PI + (x - l->plot.x) / l->plot.w * 2 * G_PI;
  *eta = ETA_MAX - (y - l->plot.y) / l->plot.h * 2 * ETA_MAX;
  return TRUE;
}

static void
cell_rect (const PfImageLayout *l, int rows, int cols, int r, int c, PfRenderRect *out)
{
  double cw = l->plot.w / cols, ch = l->plot.h / rows;
  out->x = l->plot.x + c * cw;
  out->y = l->plot.y + l->plot.h - (r + 1) * ch;
  out->w = cw;
  out->h = ch;
}

/* ---- drawing ---- */

static double
renderer_line_width (double width, double height)
{
  /* pf_render_image's frame width, to restore the frame after painting empty cells. */
  return MAX (1.0, CLAMP (MIN (width, height) * 0.035, 7.0, 16.0) / 12);
}

static gboolean
cell_hidden (const PfCaloView *self, float v)
{
  if (self->threshold <= 0 || !isfinite (v))
    return FALSE;
  return (self->colormap == PF_COLORMAP_DIVERGING ? fabs (v) : v) < self->threshold;
}

static void
draw_empty_cells (PfCaloView *self, cairo_t *cr, const PfImageLayout *l, double lw)
{
  PfRenderRect cell;
  cairo_save (cr);
  cairo_new_path (cr);
  for (int r = 0; r < self->rows; r++)
    for (int c = 0; c < self->cols; c++)
      if (cell_hidden (self, self->data[(size_t) r * self->cols + c]))
        {
          cell_rect (l, self->rows, self->cols, r, c, &cell);
          cairo_rectangle (cr, cell.x, cell.y, cell.w, cell.h);
        }
  /* One path, one fill: no seams between neighbouring empty cells. Then the frame again,
   * whose inner half the fill covered. */
  cairo_set_source_rgb (cr, 1, 1, 1);
  cairo_fill (cr);
  cairo_set_source_rgb (cr, 0, 0, 0);
  cairo_set_line_width (cr, lw);
  cairo_rectangle (cr, l->plot.x, l->plot.y, l->plot.w, l->plot.h);
  cairo_stroke (cr);
  cairo_restore (cr);
}

static void
draw_crosshair (PfCaloView *self, cairo_t *cr, const PfImageLayout *l)
{
  if (self->cross_row < 0 || self->cross_col < 0 || self->cross_row >= self->rows
      || self->cross_col >= self->cols)
    return;
  PfRenderRect c;
  cell_rect (l, self->rows, self->cols, self->cross_row, self->cross_col, &c);
  double x = round (c.x + c.w / 2) + 0.5, y = round (c.y + c.h / 2) + 0.5;
  cairo_save (cr);
  cairo_rectangle (cr, l->plot.x, l->plot.y, l->plot.w, l->plot.h);
  cairo_clip (cr);
  cairo_move_to (cr, l->plot.x, y);
  cairo_line_to (cr, l->plot.x + l->plot.w, y);
  cairo_move_to (cr, x, l->plot.y);
  cairo_line_to (cr, x, l->plot.y + l->plot.h);
  /* A dark halo under a light line reads on every colour of both maps. */
  cairo_set_source_rgba (cr, 0, 0, 0, 0.55);
  cairo_set_line_width (cr, 3);
  cairo_stroke_preserve (cr);
  cairo_set_source_rgba (cr, 1, 1, 1, 0.95);
  cairo_set_line_width (cr, 1);
  cairo_stroke (cr);
  cairo_restore (cr);
}

/* Adds the circle and, where it crosses phi = +-pi, its copy shifted by -+2 pi. */
static void
jet_path (cairo_t *cr, const PfImageLayout *l, const PfJetCircle *j)
{
  double shifts[3] = { 0, 0, 0 };
  int n = 1;
  if (j->phi - j->radius < -G_PI)
    shifts[n++] = 2 * G_PI;
  if (j->phi + j->radius > G_PI)
    shifts[n++] = -2 * G_PI;
  for (int k = 0; k < n; k++)
    {
      cairo_save (cr);
      cairo_translate (cr, x_of_phi (l, j->phi + shifts[k]), y_of_eta (l, j->eta));
      cairo_scale (cr, l->plot.w / (2 * G_PI) * j->radius, l->plot.h / (2 * ETA_MAX) * j->radius);
      cairo_new_sub_path (cr);
      cairo_arc (cr, 0, 0, 1, 0, 2 * G_PI);
      cairo_close_path (cr);
      cairo_restore (cr);
    }
}

static gboolean
jet_valid (const PfJetCircle *j)
{
  return isfinite (j->eta) && isfinite (j->phi) && isfinite (j->radius) && j->radius > 0
         && fabs (j->phi) <= 4 * G_PI && fabs (j->eta) <= 100;
}

static void
draw_jets (PfCaloView *self, cairo_t *cr, const PfImageLayout *l)
{
  static const double dash[] = { 6, 4 };
  cairo_save (cr);
  cairo_rectangle (cr, l->plot.x, l->plot.y, l->plot.w, l->plot.h);
  cairo_clip (cr);
  cairo_set_line_join (cr, CAIRO_LINE_JOIN_ROUND);
  for (int style = PF_JET_STYLE_TRUTH; style <= PF_JET_STYLE_PREDICTION; style++)
    for (guint i = 0; i < self->jets[style]->len; i++)
      {
        const PfJetCircle *j = &g_array_index (self->jets[style], PfJetCircle, i);
        if (!jet_valid (j))
          continue;
        cairo_new_path (cr);
        jet_path (cr, l, j);
        if (self->selected_jet >= 0 && j->id == self->selected_jet)
          {
            cairo_set_dash (cr, NULL, 0, 0);
            cairo_set_source_rgba (cr, 0.2, 0.85, 1.0, 0.75);
            cairo_set_line_width (cr, 7);
            cairo_stroke_preserve (cr);
          }
        if (style == PF_JET_STYLE_TRUTH)
          {
            cairo_set_dash (cr, NULL, 0, 0);
            cairo_set_source_rgb (cr, 0, 0, 0);
            cairo_set_line_width (cr, 3.5);
            cairo_stroke_preserve (cr);
            cairo_set_source_rgb (cr, 1, 1, 1);
            cairo_set_line_width (cr, 1.75);
            cairo_stroke (cr);
          }
        else
          {
            cairo_set_dash (cr, dash, G_N_ELEMENTS (dash), 0);
            cairo_set_source_rgb (cr, 1.0, 0.55, 0.0);
            cairo_set_line_width (cr, 2);
            cairo_stroke (cr);
          }
      }
  cairo_restore (cr);
}

/* The figure: background, pf_render_image, hidden cells and jets, or "No image". */
static void
draw_figure (PfCaloView *self, cairo_t *cr, double width, double height, gboolean with_jets,
             PfImageLayout *layout)
{
  PfRenderRect area = { 0, 0, width, height };
  PfImageLayout l;
  PfImageSpec s;
  float *shown = NULL;

  cairo_save (cr);
  cairo_set_source_rgb (cr, 1, 1, 1);
  cairo_paint (cr);

  /* Empty cells count as zero for the automatic range, so hiding them does not stretch it. */
  if (self->data && self->threshold > 0)
    {
      size_t n = (size_t) self->rows * self->cols;
      shown = g_memdup2 (self->data, n * sizeof (float));
      for (size_t i = 0; i < n; i++)
        if (cell_hidden (self, shown[i]))
          shown[i] = 0;
    }
  pf_image_spec_init (&s, shown ? shown : self->data, self->rows, self->cols);
  s.colormap = self->colormap;
  s.scale = self->log_scale ? PF_RENDER_SCALE_LOG : PF_RENDER_SCALE_LINEAR;
  s.vmin = self->vmin;
  s.vmax = self->vmax;
  s.title = self->title;
  s.unit = _("GeV");
  pf_render_image (cr, &area, &s, &l);

  if (self->data)
    {
      if (shown)
        draw_empty_cells (self, cr, &l, renderer_line_width (width, height));
      if (with_jets && self->show_jets)
        draw_jets (self, cr, &l);
    }
  else
    {
      cairo_set_source_rgb (cr, 0.45, 0.45, 0.45);
      cairo_select_font_face (cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL,
                              CAIRO_FONT_WEIGHT_NORMAL);
      cairo_set_font_size (cr, CLAMP (MIN (width, height) * 0.05, 9.0, 18.0));
      cairo_text_extents_t te;
      const char *msg = _("No image");
      cairo_text_extents (cr, msg, &te);
      cairo_move_to (cr, (width - te.x_advance) / 2, height / 2);
      cairo_show_text (cr, msg);
    }
  cairo_restore (cr);
  g_free (shown);
  *layout = l;
}

void
pf_calo_view_draw (PfCaloView *self, cairo_t *cr, double width, double height,
                   PfImageLayout *layout)
{
  g_return_if_fail (PF_IS_CALO_VIEW (self));
  PfImageLayout l;
  draw_figure (self, cr, width, height, TRUE, &l);
  if (self->data)
    draw_crosshair (self, cr, &l);
  if (layout)
    *layout = l;
}

/* Drops the cached figure (its inputs changed) and asks for a frame. */
static void
figure_changed (PfCaloView *self)
{
  g_clear_pointer (&self->base, cairo_surface_destroy);
  g_clear_pointer (&self->figure, gsk_render_node_unref);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

/* The jets, the selection or their visibility changed: the base stays. */
static void
jets_changed (PfCaloView *self)
{
  g_clear_pointer (&self->figure, gsk_render_node_unref);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

/* Renders the figure without jets at w x h (times the scale factor) on the CPU. The screen
 * shows it through a cairo node, not a GdkTexture: GTK 4.8's cairo renderer downloads a texture
 * through a per-pixel float conversion on every frame that touches it (~3 ms a pane), while an
 * image surface is composited as it is. */
static void
render_base (PfCaloView *self, int w, int h, int scale)
{
  g_clear_pointer (&self->base, cairo_surface_destroy);
  g_clear_pointer (&self->figure, gsk_render_node_unref);
  self->base = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, w * scale, h * scale);
  cairo_surface_set_device_scale (self->base, scale, scale);
  cairo_t *cr = cairo_create (self->base);
  draw_figure (self, cr, w, h, FALSE, &self->layout);
  cairo_destroy (cr);
  self->has_layout = TRUE;
  self->figure_w = w;
  self->figure_h = h;
  self->figure_scale = scale;
}

/* ---- the jet layer, shared by the panes ----
 *
 * Every pane draws the same circles over the same plot rectangle, and early in a run the
 * prediction has dozens of jets (dashed circles are slow to stroke), so the layer is rendered
 * once into a transparent surface the size of the plot and kept in a small cache (UI thread
 * only) keyed by everything draw_jets reads. */

typedef struct {
  PfRenderRect plot;
  int scale, selected;
  GArray *jets[2];
  cairo_surface_t *surface;
  int x0, y0;
} JetLayer;

#define N_JET_LAYERS 4
static JetLayer *jet_layers[N_JET_LAYERS];   /* most recently used first */

static void
jet_layer_free (JetLayer *j)
{
  if (!j)
    return;
  g_array_unref (j->jets[0]);
  g_array_unref (j->jets[1]);
  cairo_surface_destroy (j->surface);
  g_free (j);
}

static gboolean
jet_layer_matches (const JetLayer *j, PfCaloView *self, int scale)
{
  if (!j || j->scale != scale || j->selected != self->selected_jet
      || memcmp (&j->plot, &self->layout.plot, sizeof j->plot) != 0)
    return FALSE;
  for (int k = 0; k < 2; k++)
    if (j->jets[k]->len != self->jets[k]->len
        || memcmp (j->jets[k]->data, self->jets[k]->data, j->jets[k]->len * sizeof (PfJetCircle)) != 0)
      return FALSE;
  return TRUE;
}

static JetLayer *
jet_layer_get (PfCaloView *self, int scale)
{
  int hit = -1;
  for (int i = 0; i < N_JET_LAYERS && hit < 0; i++)
    if (jet_layer_matches (jet_layers[i], self, scale))
      hit = i;
  JetLayer *j;
  if (hit >= 0)
    j = jet_layers[hit];
  else
    {
      const PfRenderRect *p = &self->layout.plot;
      j = g_new0 (JetLayer, 1);
      j->plot = *p;
      j->scale = scale;
      j->selected = self->selected_jet;
      for (int k = 0; k < 2; k++)
        {
          j->jets[k] = g_array_sized_new (FALSE, FALSE, sizeof (PfJetCircle), self->jets[k]->len);
          g_array_append_vals (j->jets[k], self->jets[k]->data, self->jets[k]->len);
        }
      j->x0 = (int) floor (p->x);
      j->y0 = (int) floor (p->y);
      int w = MAX ((int) ceil (p->x + p->w) - j->x0, 1), h = MAX ((int) ceil (p->y + p->h) - j->y0, 1);
      j->surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, w * scale, h * scale);
      cairo_surface_set_device_scale (j->surface, scale, scale);
      cairo_t *cr = cairo_create (j->surface);
      cairo_translate (cr, -j->x0, -j->y0);   /* whole pixels: the same antialiasing as on the pane */
      draw_jets (self, cr, &self->layout);
      cairo_destroy (cr);
      hit = N_JET_LAYERS - 1;
      jet_layer_free (jet_layers[hit]);
    }
  memmove (&jet_layers[1], &jet_layers[0], hit * sizeof (JetLayer *));
  jet_layers[0] = j;
  return j;
}

/* The node the pane shows under the crosshair: the base, then the jet layer. Recording two
 * paints costs nothing; the renderer composites the two images. */
static void
build_figure (PfCaloView *self, int w, int h)
{
  self->figure = gsk_cairo_node_new (&GRAPHENE_RECT_INIT (0, 0, w, h));
  cairo_t *cr = gsk_cairo_node_get_draw_context (self->figure);
  cairo_set_source_surface (cr, self->base, 0, 0);
  cairo_paint (cr);
  if (self->data && self->show_jets && (self->jets[0]->len > 0 || self->jets[1]->len > 0))
    {
      JetLayer *j = jet_layer_get (self, self->figure_scale);
      cairo_set_source_surface (cr, j->surface, j->x0, j->y0);
      cairo_paint (cr);
    }
  cairo_destroy (cr);
}

static void
pf_calo_view_snapshot (GtkWidget *widget, GtkSnapshot *snapshot)
{
  PfCaloView *self = PF_CALO_VIEW (widget);
  int w = gtk_widget_get_width (widget), h = gtk_widget_get_height (widget);
  int scale = gtk_widget_get_scale_factor (widget);
  if (w <= 0 || h <= 0)
    return;
  if (!self->base || self->figure_w != w || self->figure_h != h || self->figure_scale != scale)
    render_base (self, w, h, scale);
  if (!self->figure)
    build_figure (self, w, h);
  /* The same node as long as the figure holds: GSK's diff sees no damage under it. */
  gtk_snapshot_append_node (snapshot, self->figure);
  if (self->data && self->cross_row >= 0 && self->cross_row < self->rows && self->cross_col >= 0
      && self->cross_col < self->cols)
    {
      /* The crosshair is clipped to the plot, so its node covers only the plot. */
      const PfRenderRect *p = &self->layout.plot;
      double x0 = floor (p->x), y0 = floor (p->y);
      graphene_rect_t bounds = GRAPHENE_RECT_INIT (x0, y0, ceil (p->x + p->w) - x0, ceil (p->y + p->h) - y0);
      cairo_t *cr = gtk_snapshot_append_cairo (snapshot, &bounds);
      draw_crosshair (self, cr, &self->layout);
      cairo_destroy (cr);
    }
}

static void
pf_calo_view_measure (GtkWidget *widget, GtkOrientation orientation, int for_size, int *minimum,
                      int *natural, int *minimum_baseline, int *natural_baseline)
{
  *minimum = orientation == GTK_ORIENTATION_HORIZONTAL ? 200 : 160;
  *natural = orientation == GTK_ORIENTATION_HORIZONTAL ? 420 : 360;
}

/* ---- pointer ---- */

gboolean
pf_calo_view_get_layout (PfCaloView *self, PfImageLayout *layout)
{
  g_return_val_if_fail (PF_IS_CALO_VIEW (self), FALSE);
  if (self->has_layout && layout)
    *layout = self->layout;
  return self->has_layout;
}

gboolean
pf_calo_view_cell_at (PfCaloView *self, double x, double y, int *row, int *col)
{
  g_return_val_if_fail (PF_IS_CALO_VIEW (self), FALSE);
  double eta, phi;
  if (!self->has_layout || !self->data || !point_to_eta_phi (&self->layout, x, y, &eta, &phi))
    return FALSE;
  const PfRenderRect *p = &self->layout.plot;
  int c = (int) floor ((x - p->x) / p->w * self->cols);
  int r = (int) floor ((1 - (y - p->y) / p->h) * self->rows);
  if (r < 0 || r >= self->rows || c < 0 || c >= self->cols)
    return FALSE;
  *row = r;
  *col = c;
  return TRUE;
}

int
pf_calo_view_jet_at (PfCaloView *self, double x, double y)
{
  g_return_val_if_fail (PF_IS_CALO_VIEW (self), -1);
  double eta, phi, best_r = INFINITY;
  int best = -1;
  if (!self->has_layout || !self->data || !self->show_jets
      || !point_to_eta_phi (&self->layout, x, y, &eta, &phi))
    return -1;
  for (int style = PF_JET_STYLE_TRUTH; style <= PF_JET_STYLE_PREDICTION; style++)
    for (guint i = 0; i < self->jets[style]->len; i++)
      {
        const PfJetCircle *j = &g_array_index (self->jets[style], PfJetCircle, i);
        if (!jet_valid (j))
          continue;
        double dphi = remainder (phi - j->phi, 2 * G_PI), deta = eta - j->eta;
        if (deta * deta + dphi * dphi <= j->radius * j->radius && j->radius < best_r)
          {
            best_r = j->radius;
            best = j->id;
          }
      }
  return best;
}

static void
hover_reset (PfCaloView *self)
{
  if (self->hover_row < 0)
    return;
  self->hover_row = self->hover_col = -1;
  g_signal_emit (self, signals[SIGNAL_HOVER_LEAVE], 0);
}

static void
on_motion (GtkEventControllerMotion *motion, double x, double y, PfCaloView *self)
{
  int r, c;
  if (!pf_calo_view_cell_at (self, x, y, &r, &c))
    {
      hover_reset (self);
      return;
    }
  if (r == self->hover_row && c == self->hover_col)
    return;
  self->hover_row = r;
  self->hover_col = c;
  double eta = -ETA_MAX + (r + 0.5) * 2 * ETA_MAX / self->rows;
  double phi = -G_PI + (c + 0.5) * 2 * G_PI / self->cols;
  g_signal_emit (self, signals[SIGNAL_HOVER], 0, r, c, eta, phi,
                 (double) self->data[(size_t) r * self->cols + c]);
}

static void
on_leave (GtkEventControllerMotion *motion, PfCaloView *self)
{
  hover_reset (self);
}

static void
on_pressed (GtkGestureClick *click, int n_press, double x, double y, PfCaloView *self)
{
  if (n_press != 1)
    return;
  int id = pf_calo_view_jet_at (self, x, y);
  if (id < 0)
    return;
  pf_calo_view_set_selected_jet (self, id);
  g_signal_emit (self, signals[SIGNAL_JET_CLICKED], 0, id);
}

/* ---- setters ---- */

void
pf_calo_view_set_image (PfCaloView *self, const float *data, int rows, int cols)
{
  g_return_if_fail (PF_IS_CALO_VIEW (self));
  gboolean valid = data && rows > 0 && cols > 0
                   && (gsize) rows <= G_MAXSIZE / sizeof (float) / (gsize) cols;
  if (!valid && !self->data)
    return;
  if (valid && self->data && self->rows == rows && self->cols == cols
      && memcmp (self->data, data, (gsize) rows * cols * sizeof (float)) == 0)
    return;   /* the same picture: keep the figure */
  g_clear_pointer (&self->data, g_free);
  self->rows = self->cols = 0;
  if (valid)
    {
      self->data = g_memdup2 (data, (gsize) rows * cols * sizeof (float));
      self->rows = rows;
      self->cols = cols;
    }
  if (self->hover_row >= self->rows || self->hover_col >= self->cols)
    hover_reset (self);
  figure_changed (self);
}

void
pf_calo_view_set_title (PfCaloView *self, const char *title)
{
  g_return_if_fail (PF_IS_CALO_VIEW (self));
  if (g_strcmp0 (self->title, title) == 0)
    return;
  g_free (self->title);
  self->title = g_strdup (title);
  figure_changed (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TITLE]);
}

void
pf_calo_view_set_colormap (PfCaloView *self, PfColormap colormap)
{
  g_return_if_fail (PF_IS_CALO_VIEW (self));
  if (self->colormap == colormap)
    return;
  self->colormap = colormap;
  figure_changed (self);
}

void
pf_calo_view_set_log_scale (PfCaloView *self, gboolean log_scale)
{
  g_return_if_fail (PF_IS_CALO_VIEW (self));
  log_scale = !!log_scale;
  if (self->log_scale == log_scale)
    return;
  self->log_scale = log_scale;
  figure_changed (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LOG_SCALE]);
}

void
pf_calo_view_set_range (PfCaloView *self, double vmin, double vmax)
{
  g_return_if_fail (PF_IS_CALO_VIEW (self));
  if (self->vmin == vmin && self->vmax == vmax)
    return;
  self->vmin = vmin;
  self->vmax = vmax;
  figure_changed (self);
}

void
pf_calo_view_set_threshold (PfCaloView *self, double threshold)
{
  g_return_if_fail (PF_IS_CALO_VIEW (self));
  if (!isfinite (threshold) || threshold < 0)
    threshold = 0;
  if (self->threshold == threshold)
    return;
  self->threshold = threshold;
  figure_changed (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_THRESHOLD]);
}

void
pf_calo_view_set_crosshair (PfCaloView *self, int row, int col)
{
  g_return_if_fail (PF_IS_CALO_VIEW (self));
  if (row < 0 || col < 0)
    row = col = -1;
  if (self->cross_row == row && self->cross_col == col)
    return;
  self->cross_row = row;
  self->cross_col = col;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
pf_calo_view_set_jets (PfCaloView *self, const PfJetCircle *jets, int n, PfJetStyle style)
{
  g_return_if_fail (PF_IS_CALO_VIEW (self));
  g_return_if_fail (style == PF_JET_STYLE_TRUTH || style == PF_JET_STYLE_PREDICTION);
  g_return_if_fail (n <= 0 || jets != NULL);
  GArray *a = self->jets[style];
  if (a->len == (guint) MAX (n, 0) && (n <= 0 || memcmp (a->data, jets, n * sizeof (PfJetCircle)) == 0))
    return;
  g_array_set_size (self->jets[style], 0);
  if (n > 0)
    g_array_append_vals (self->jets[style], jets, n);
  jets_changed (self);
}

void
pf_calo_view_set_show_jets (PfCaloView *self, gboolean show)
{
  g_return_if_fail (PF_IS_CALO_VIEW (self));
  show = !!show;
  if (self->show_jets == show)
    return;
  self->show_jets = show;
  jets_changed (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SHOW_JETS]);
}

void
pf_calo_view_set_selected_jet (PfCaloView *self, int id)
{
  g_return_if_fail (PF_IS_CALO_VIEW (self));
  if (id < 0)
    id = -1;
  if (self->selected_jet == id)
    return;
  self->selected_jet = id;
  jets_changed (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SELECTED_JET]);
}

const char *
pf_calo_view_get_title (PfCaloView *self)
{
  g_return_val_if_fail (PF_IS_CALO_VIEW (self), NULL);
  return self->title;
}

gboolean
pf_calo_view_get_log_scale (PfCaloView *self)
{
  g_return_val_if_fail (PF_IS_CALO_VIEW (self), FALSE);
  return self->log_scale;
}

gboolean
pf_calo_view_get_show_jets (PfCaloView *self)
{
  g_return_val_if_fail (PF_IS_CALO_VIEW (self), FALSE);
  return self->show_jets;
}

double
pf_calo_view_get_threshold (PfCaloView *self)
{
  g_return_val_if_fail (PF_IS_CALO_VIEW (self), 0);
  return self->threshold;
}

int
pf_calo_view_get_selected_jet (PfCaloView *self)
{
  g_return_val_if_fail (PF_IS_CALO_VIEW (self), -1);
  return self->selected_jet;
}

double
pf_calo_view_get_value (PfCaloView *self, int row, int col)
{
  g_return_val_if_fail (PF_IS_CALO_VIEW (self), NAN);
  if (!self->data || row < 0 || col < 0 || row >= self->rows || col >= self->cols)
    return NAN;
  return self->data[(size_t) row * self->cols + col];
}

/* ---- GObject ---- */

GtkWidget *
pf_calo_view_new (void)
{
  return g_object_new (PF_TYPE_CALO_VIEW, NULL);
}

static void
pf_calo_view_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  PfCaloView *self = PF_CALO_VIEW (object);
  switch (prop_id)
    {
    case PROP_TITLE: g_value_set_string (value, self->title); break;
    case PROP_LOG_SCALE: g_value_set_boolean (value, self->log_scale); break;
    case PROP_THRESHOLD: g_value_set_double (value, self->threshold); break;
    case PROP_SHOW_JETS: g_value_set_boolean (value, self->show_jets); break;
    case PROP_SELECTED_JET: g_value_set_int (value, self->selected_jet); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
pf_calo_view_set_property (GObject *object, guint prop_id, const GValue *value,
                           GParamSpec *pspec)
{
  PfCaloView *self = PF_CALO_VIEW (object);
  switch (prop_id)
    {
    case PROP_TITLE: pf_calo_view_set_title (self, g_value_get_string (value)); break;
    case PROP_LOG_SCALE: pf_calo_view_set_log_scale (self, g_value_get_boolean (value)); break;
    case PROP_THRESHOLD: pf_calo_view_set_threshold (self, g_value_get_double (value)); break;
    case PROP_SHOW_JETS: pf_calo_view_set_show_jets (self, g_value_get_boolean (value)); break;
    case PROP_SELECTED_JET: pf_calo_view_set_selected_jet (self, g_value_get_int (value)); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
pf_calo_view_finalize (GObject *object)
{
  PfCaloView *self = PF_CALO_VIEW (object);
  g_free (self->data);
  g_free (self->title);
  g_clear_pointer (&self->figure, gsk_render_node_unref);
  g_clear_pointer (&self->base, cairo_surface_destroy);
  g_array_unref (self->jets[0]);
  g_array_unref (self->jets[1]);
  G_OBJECT_CLASS (pf_calo_view_parent_class)->finalize (object);
}

static void
pf_calo_view_class_init (PfCaloViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->finalize = pf_calo_view_finalize;
  object_class->get_property = pf_calo_view_get_property;
  object_class->set_property = pf_calo_view_set_property;
  widget_class->snapshot = pf_calo_view_snapshot;
  widget_class->measure = pf_calo_view_measure;

  properties[PROP_TITLE] =
    g_param_spec_string ("title", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_LOG_SCALE] =
    g_param_spec_boolean ("log-scale", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_THRESHOLD] =
    g_param_spec_double ("threshold", NULL, NULL, 0, G_MAXDOUBLE, 0,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_SHOW_JETS] =
    g_param_spec_boolean ("show-jets", NULL, NULL, TRUE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_SELECTED_JET] =
    g_param_spec_int ("selected-jet", NULL, NULL, -1, G_MAXINT, -1,
                      G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  signals[SIGNAL_HOVER] =
    g_signal_new ("hover", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 5, G_TYPE_INT, G_TYPE_INT, G_TYPE_DOUBLE, G_TYPE_DOUBLE,
                  G_TYPE_DOUBLE);
  signals[SIGNAL_HOVER_LEAVE] =
    g_signal_new ("hover-leave", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                  NULL, G_TYPE_NONE, 0);
  signals[SIGNAL_JET_CLICKED] =
    g_signal_new ("jet-clicked", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                  NULL, G_TYPE_NONE, 1, G_TYPE_INT);

  gtk_widget_class_set_css_name (widget_class, "pf-calo-view");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
pf_calo_view_init (PfCaloView *self)
{
  self->colormap = PF_COLORMAP_VIRIDIS;
  self->cross_row = self->cross_col = -1;
  self->hover_row = self->hover_col = -1;
  self->selected_jet = -1;
  self->show_jets = TRUE;
  self->jets[PF_JET_STYLE_TRUTH] = g_array_new (FALSE, FALSE, sizeof (PfJetCircle));
  self->jets[PF_JET_STYLE_PREDICTION] = g_array_new (FALSE, FALSE, sizeof (PfJetCircle));

  GtkEventController *motion = gtk_event_controller_motion_new ();
  g_signal_connect (motion, "motion", G_CALLBACK (on_motion), self);
  g_signal_connect (motion, "leave", G_CALLBACK (on_leave), self);
  gtk_widget_add_controller (GTK_WIDGET (self), motion);

  GtkGesture *click = gtk_gesture_click_new ();
  gtk_gesture_single_set_button (GTK_GESTURE_SINGLE (click), GDK_BUTTON_PRIMARY);
  g_signal_connect (click, "pressed", G_CALLBACK (on_pressed), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (click));
}
