/* test-widgets.c — the workbench widgets, rendered for real and checked pixel by pixel.
 *
 * Each widget is shown in a GtkWindow, then drawn through its own snapshot (gtk_widget_snapshot_child)
 * and rendered to a texture by the window's GSK renderer, so the path under test is the one the
 * screen takes. Geometry is checked against the renderer's documented layout (pf_render_image
 * on a scratch surface), not against the widget's own idea of it. Needs a display: meson runs
 * this under xvfb-run; without one every test skips with a message. */
#include <gtk/gtk.h>
#include <math.h>
#include <string.h>

#include "pf-calo-view.h"
#include "pf-loss-plot.h"
#include "pf-colormap.h"
#include "pf-render-image.h"

#define S 56

static gboolean have_display;

#define REQUIRE_DISPLAY()                                                              \
  G_STMT_START {                                                                       \
    if (!have_display)                                                                 \
      {                                                                                \
        g_test_skip ("no display (gtk_init_check failed): run under xvfb-run -a");    \
        return;                                                                        \
      }                                                                                \
  } G_STMT_END

typedef struct {
  cairo_surface_t *s;
  unsigned char *data;
  int w, h, stride;
} Img;

static void
img_free (Img *img)
{
  cairo_surface_destroy (img->s);
}

static void
img_rgb (const Img *img, double x, double y, int rgb[3])
{
  int ix = (int) floor (x), iy = (int) floor (y);
  g_assert_cmpint (ix, >=, 0);
  g_assert_cmpint (iy, >=, 0);
  g_assert_cmpint (ix, <, img->w);
  g_assert_cmpint (iy, <, img->h);
  guint32 v = *(const guint32 *) (img->data + (size_t) iy * img->stride + 4 * ix);
  rgb[0] = (v >> 16) & 0xff;
  rgb[1] = (v >> 8) & 0xff;
  rgb[2] = v & 0xff;
}

static gboolean
rgb_near (const int got[3], const guint8 want[3], int tol)
{
  for (int c = 0; c < 3; c++)
    if (abs (got[c] - (int) want[c]) > tol)
      return FALSE;
  return TRUE;
}

static void
assert_rgb (const char *what, const Img *img, double x, double y, const guint8 want[3], int tol)
{
  int got[3];
  img_rgb (img, x, y, got);
  if (!rgb_near (got, want, tol))
    g_error ("%s at (%.1f, %.1f): colour (%d, %d, %d), expected (%d, %d, %d)", what, x, y,
             got[0], got[1], got[2], want[0], want[1], want[2]);
}

/* With PF_TEST_DUMP_DIR set, keeps what the widget drew there as NAME.png, to look at. */
static void
maybe_dump (const Img *img, const char *name)
{
  const char *dir = g_getenv ("PF_TEST_DUMP_DIR");
  if (!dir)
    return;
  char *file = g_strconcat (name, ".png", NULL);
  char *path = g_build_filename (dir, file, NULL);
  g_assert_cmpint (cairo_surface_write_to_png (img->s, path), ==, CAIRO_STATUS_SUCCESS);
  g_free (path);
  g_free (file);
}

static gboolean
is_white (const Img *img, int x, int y)
{
  int c[3];
  img_rgb (img, x, y, c);
  return c[0] > 200 && c[1] > 200 && c[2] > 200;
}

/* Presents `widget` alone in a window of w x h and waits until it has been drawn. */
static GtkWidget *
show_in_window (GtkWidget *widget, int w, int h)
{
  GtkWidget *win = gtk_window_new ();
  gtk_window_set_default_size (GTK_WINDOW (win), w, h);
  gtk_window_set_child (GTK_WINDOW (win), widget);
  gtk_window_present (GTK_WINDOW (win));
  /* Bounded so a broken display fails the test instead of hanging it. */
  gint64 deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;
  PfImageLayout l;
  while (g_get_monotonic_time () < deadline
         && !(gtk_widget_get_mapped (widget) && gtk_widget_get_width (widget) == w
              && gtk_widget_get_height (widget) == h
              && (!PF_IS_CALO_VIEW (widget) || pf_calo_view_get_layout (PF_CALO_VIEW (widget), &l))))
    g_main_context_iteration (NULL, TRUE);
  g_assert_true (gtk_widget_get_mapped (widget));
  g_assert_cmpint (gtk_widget_get_width (widget), ==, w);
  g_assert_cmpint (gtk_widget_get_height (widget), ==, h);
  return win;
}

/* The widget's own snapshot, rendered by the window's GSK renderer. */
static Img
render_widget (GtkWidget *widget)
{
  int w = gtk_widget_get_width (widget), h = gtk_widget_get_height (widget);
  GtkSnapshot *snap = gtk_snapshot_new ();
  gtk_widget_snapshot_child (gtk_widget_get_parent (widget), widget, snap);
  GskRenderNode *node = gtk_snapshot_free_to_node (snap);
  g_assert_nonnull (node);
  GskRenderer *renderer = gtk_native_get_renderer (gtk_widget_get_native (widget));
  g_assert_nonnull (renderer);
  GdkTexture *tex = gsk_renderer_render_texture (renderer, node, &GRAPHENE_RECT_INIT (0, 0, w, h));
  g_assert_cmpint (gdk_texture_get_width (tex), ==, w);
  g_assert_cmpint (gdk_texture_get_height (tex), ==, h);
  Img img;
  img.s = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, w, h);
  img.data = cairo_image_surface_get_data (img.s);
  img.stride = cairo_image_surface_get_stride (img.s);
  img.w = w;
  img.h = h;
  gdk_texture_download (tex, img.data, img.stride);
  cairo_surface_mark_dirty (img.s);
  g_object_unref (tex);
  gsk_render_node_unref (node);
  return img;
}

/* The layout pf_render_image itself gives for a w x h figure (the reference geometry). */
static PfImageLayout
reference_layout (const float *data, const char *title, int w, int h)
{
  cairo_surface_t *s = cairo_image_surface_create (CAIRO_FORMAT_RGB24, w, h);
  cairo_t *cr = cairo_create (s);
  PfImageSpec spec;
  pf_image_spec_init (&spec, data, S, S);
  spec.title = title;
  PfRenderRect area = { 0, 0, w, h };
  PfImageLayout l;
  pf_render_image (cr, &area, &spec, &l);
  cairo_destroy (cr);
  cairo_surface_destroy (s);
  return l;
}

static void
cell_centre (const PfImageLayout *l, int r, int c, double *x, double *y)
{
  *x = l->plot.x + (c + 0.5) * l->plot.w / S;
  *y = l->plot.y + l->plot.h - (r + 0.5) * l->plot.h / S;
}

static double
x_of_phi (const PfImageLayout *l, double phi)
{
  return l->plot.x + l->plot.w * (phi + G_PI) / (2 * G_PI);
}

static double
y_of_eta (const PfImageLayout *l, double eta)
{
  return l->plot.y + l->plot.h * (1 - (eta + 2.5) / 5.0);
}

static void
assert_layout_equal (const PfImageLayout *a, const PfImageLayout *b)
{
  g_assert_cmpfloat (a->plot.x, ==, b->plot.x);
  g_assert_cmpfloat (a->plot.y, ==, b->plot.y);
  g_assert_cmpfloat (a->plot.w, ==, b->plot.w);
  g_assert_cmpfloat (a->plot.h, ==, b->plot.h);
}

/* (a) One hot cell lands where the renderer's layout puts (row, col), in viridis' top colour;
 * its mirror images (row flipped, row/col swapped) stay at the bottom colour. The screen
 * picture is the export picture (pf_calo_view_draw on an image surface). */
static void
test_calo_hot_cell (void)
{
  REQUIRE_DISPLAY ();
  const int W = 620, H = 520, R = 40, C = 9;
  float *img = g_new0 (float, S * S);
  img[R * S + C] = 7.5f;
  GtkWidget *view = pf_calo_view_new ();
  pf_calo_view_set_image (PF_CALO_VIEW (view), img, S, S);
  pf_calo_view_set_title (PF_CALO_VIEW (view), "Truth");
  GtkWidget *win = show_in_window (view, W, H);
  Img shot = render_widget (view);
  maybe_dump (&shot, "hot-cell");

  PfImageLayout ref = reference_layout (img, "Truth", W, H), got;
  g_assert_true (pf_calo_view_get_layout (PF_CALO_VIEW (view), &got));
  assert_layout_equal (&got, &ref);
  guint8 top[3], bottom[3];
  pf_colormap_rgb8 (PF_COLORMAP_VIRIDIS, 1, top);
  pf_colormap_rgb8 (PF_COLORMAP_VIRIDIS, 0, bottom);
  double x, y;
  cell_centre (&ref, R, C, &x, &y);
  assert_rgb ("hot cell", &shot, x, y, top, 2);
  cell_centre (&ref, S - 1 - R, C, &x, &y);
  assert_rgb ("row-flipped cell", &shot, x, y, bottom, 2);
  cell_centre (&ref, C, R, &x, &y);
  assert_rgb ("transposed cell", &shot, x, y, bottom, 2);

  /* Every top-coloured pixel of the plot is inside the hot cell. */
  double cw = ref.plot.w / S, ch = ref.plot.h / S;
  double x0 = ref.plot.x + C * cw, y0 = ref.plot.y + ref.plot.h - (R + 1) * ch;
  int n = 0;
  for (int py = (int) ref.plot.y + 2; py < ref.plot.y + ref.plot.h - 2; py++)
    for (int px = (int) ref.plot.x + 2; px < ref.plot.x + ref.plot.w - 2; px++)
      {
        int c[3];
        img_rgb (&shot, px, py, c);
        if (rgb_near (c, top, 2))
          {
            g_assert_cmpfloat (px, >=, x0 - 1);
            g_assert_cmpfloat (px, <=, x0 + cw + 1);
            g_assert_cmpfloat (py, >=, y0 - 1);
            g_assert_cmpfloat (py, <=, y0 + ch + 1);
            n++;
          }
      }
  g_assert_cmpint (n, >=, (int) ((cw - 2) * (ch - 2)));

  /* Export path: the same picture. */
  Img exp = { cairo_image_surface_create (CAIRO_FORMAT_ARGB32, W, H) };
  cairo_t *cr = cairo_create (exp.s);
  pf_calo_view_draw (PF_CALO_VIEW (view), cr, W, H, NULL);
  cairo_destroy (cr);
  cairo_surface_flush (exp.s);
  exp.data = cairo_image_surface_get_data (exp.s);
  exp.stride = cairo_image_surface_get_stride (exp.s);
  exp.w = W;
  exp.h = H;
  long differ = 0;
  for (int py = 0; py < H; py++)
    for (int px = 0; px < W; px++)
      {
        int a[3], b[3];
        img_rgb (&shot, px, py, a);
        img_rgb (&exp, px, py, b);
        if (abs (a[0] - b[0]) > 8 || abs (a[1] - b[1]) > 8 || abs (a[2] - b[2]) > 8)
          differ++;
      }
  g_assert_cmpint (differ, <, W * H / 1000);

  /* A threshold above the hot value empties the cell (white). */
  pf_calo_view_set_threshold (PF_CALO_VIEW (view), 10);
  img_free (&shot);
  shot = render_widget (view);
  guint8 white[3] = { 255, 255, 255 };
  cell_centre (&ref, R, C, &x, &y);
  assert_rgb ("cell below threshold", &shot, x, y, white, 2);

  img_free (&exp);
  img_free (&shot);
  gtk_window_destroy (GTK_WINDOW (win));
  g_free (img);
}

/* Midpoint of the white run met first when walking from (x, y) by (dx, dy). */
static double
white_run_mid (const Img *img, double x, double y, int dx, int dy, int max_steps)
{
  int first = -1, last = -1;
  for (int k = 0; k < max_steps; k++)
    {
      int px = (int) floor (x) + k * dx, py = (int) floor (y) + k * dy;
      if (px < 0 || py < 0 || px >= img->w || py >= img->h)
        break;
      if (is_white (img, px, py))
        {
          if (first < 0)
            first = k;
          last = k;
        }
      else if (first >= 0)
        break;
    }
  g_assert_cmpint (first, >=, 0);
  return (first + last) / 2.0;
}

/* (b) A truth circle of radius r in (eta, phi) has r pixels-per-unit along each axis: scan
 * its outline along the row and the column through its centre. */
static void
test_calo_jet_radius (void)
{
  REQUIRE_DISPLAY ();
  const int W = 640, H = 500;
  float *img = g_new0 (float, S * S);
  GtkWidget *view = pf_calo_view_new ();
  pf_calo_view_set_image (PF_CALO_VIEW (view), img, S, S);
  PfJetCircle truth = { .eta = 0.3, .phi = 0.5, .radius = 0.4, .pt = 50, .e = 60, .id = 3 };
  PfJetCircle pred = { .eta = -1.2, .phi = -1.5, .radius = 0.6, .pt = 40, .e = 45, .id = 4 };
  pf_calo_view_set_jets (PF_CALO_VIEW (view), &truth, 1, PF_JET_STYLE_TRUTH);
  pf_calo_view_set_jets (PF_CALO_VIEW (view), &pred, 1, PF_JET_STYLE_PREDICTION);
  GtkWidget *win = show_in_window (view, W, H);
  Img shot = render_widget (view);
  maybe_dump (&shot, "jet-radius");
  PfImageLayout ref = reference_layout (img, NULL, W, H);

  double cx = x_of_phi (&ref, truth.phi), cy = y_of_eta (&ref, truth.eta);
  double rx = truth.radius * ref.plot.w / (2 * G_PI), ry = truth.radius * ref.plot.h / 5.0;
  /* The inside is not white: the outline is found, not the fill. */
  g_assert_false (is_white (&shot, cx, cy));
  double right = white_run_mid (&shot, cx, cy, 1, 0, 200);
  double left = white_run_mid (&shot, cx, cy, -1, 0, 200);
  double up = white_run_mid (&shot, cx, cy, 0, -1, 200);
  double down = white_run_mid (&shot, cx, cy, 0, 1, 200);
  g_test_message ("radius x: %.2f / %.2f px, y: %.2f / %.2f px", (left + right) / 2, rx,
                  (up + down) / 2, ry);
  g_assert_cmpfloat (fabs ((left + right) / 2 - rx), <=, 1.0);
  g_assert_cmpfloat (fabs ((up + down) / 2 - ry), <=, 1.0);
  g_assert_cmpfloat (fabs (right - left), <=, 1.0);

  /* The prediction is dashed orange: orange on part of its outline, not all of it. */
  int orange = 0, samples = 720;
  for (int k = 0; k < samples; k++)
    {
      double a = 2 * G_PI * k / samples, c[3];
      int px[3];
      img_rgb (&shot, x_of_phi (&ref, pred.phi + pred.radius * cos (a)),
               y_of_eta (&ref, pred.eta + pred.radius * sin (a)), px);
      for (int j = 0; j < 3; j++)
        c[j] = px[j];
      if (c[0] > 200 && c[1] > 90 && c[1] < 190 && c[2] < 80)
        orange++;
    }
  g_test_message ("orange on %d of %d outline samples", orange, samples);
  g_assert_cmpint (orange, >, samples / 4);
  g_assert_cmpint (orange, <, samples * 9 / 10);

  /* Hidden jets are neither drawn nor clickable. */
  pf_calo_view_set_show_jets (PF_CALO_VIEW (view), FALSE);
  img_free (&shot);
  shot = render_widget (view);
  g_assert_false (is_white (&shot, cx + rx, cy));
  g_assert_cmpint (pf_calo_view_jet_at (PF_CALO_VIEW (view), cx, cy), ==, -1);

  img_free (&shot);
  gtk_window_destroy (GTK_WINDOW (win));
  g_free (img);
}

/* (c) A circle near phi = +pi also shows, and is clickable, near phi = -pi. */
static void
test_calo_jet_wrap (void)
{
  REQUIRE_DISPLAY ();
  const int W = 640, H = 500;
  float *img = g_new0 (float, S * S);
  GtkWidget *view = pf_calo_view_new ();
  pf_calo_view_set_image (PF_CALO_VIEW (view), img, S, S);
  PfJetCircle jets[3] = {
    { .eta = 0.5, .phi = G_PI - 0.1, .radius = 0.4, .id = 11 },
    { .eta = -1.0, .phi = 0.0, .radius = 0.4, .id = 12 },  /* control: far from the edge */
    { .eta = -1.8, .phi = -G_PI + 0.15, .radius = 0.4, .id = 13 },
  };
  pf_calo_view_set_jets (PF_CALO_VIEW (view), jets, 3, PF_JET_STYLE_TRUTH);
  GtkWidget *win = show_in_window (view, W, H);
  Img shot = render_widget (view);
  maybe_dump (&shot, "jet-wrap");
  PfImageLayout ref = reference_layout (img, NULL, W, H);

  /* The wrapped arc crosses the row of the centre at phi = -pi + 0.3. */
  double y = y_of_eta (&ref, jets[0].eta);
  double want = x_of_phi (&ref, -G_PI + 0.3) - (ref.plot.x + 2);
  double got = white_run_mid (&shot, ref.plot.x + 2, y, 1, 0, (int) ref.plot.w / 4);
  g_test_message ("wrapped arc at %.2f px from the left edge, expected %.2f", got, want);
  g_assert_cmpfloat (fabs (got - want), <=, 1.5);
  /* And on the right, where the circle itself is, at phi = pi - 0.5. */
  double right_arc = x_of_phi (&ref, G_PI - 0.5);
  g_assert_true (is_white (&shot, round (right_arc), y) || is_white (&shot, round (right_arc) - 1, y)
                 || is_white (&shot, round (right_arc) + 1, y));
  /* The circle at phi = -pi + 0.15 comes back in from the right edge at phi = pi - 0.25. */
  double y13 = y_of_eta (&ref, jets[2].eta);
  double right_edge = ref.plot.x + ref.plot.w - 3;
  want = right_edge - x_of_phi (&ref, G_PI - 0.25);
  got = white_run_mid (&shot, right_edge, y13, -1, 0, (int) ref.plot.w / 4);
  g_test_message ("wrapped arc at %.2f px from the right edge, expected %.2f", got, want);
  g_assert_cmpfloat (fabs (got - want), <=, 1.5);
  g_assert_cmpint (pf_calo_view_jet_at (PF_CALO_VIEW (view), x_of_phi (&ref, G_PI - 0.1), y13),
                   ==, 13);
  /* The control circle leaves the left edge untouched on its row. */
  double yc = y_of_eta (&ref, jets[1].eta);
  for (int px = (int) ref.plot.x + 3; px < ref.plot.x + ref.plot.w / 4; px++)
    g_assert_false (is_white (&shot, px, yc));
  /* A click on the wrapped part finds the jet. */
  g_assert_cmpint (pf_calo_view_jet_at (PF_CALO_VIEW (view), x_of_phi (&ref, -G_PI + 0.1), y),
                   ==, 11);

  img_free (&shot);
  gtk_window_destroy (GTK_WINDOW (win));
  g_free (img);
}

/* How much of `colour` (blended over white) pixel (x, y) holds: 0 white .. 1 the colour, or
 * -1 when the pixel is not such a blend. */
static double
blend_alpha (const Img *img, int x, int y, const double colour[3])
{
  double d[3], dd = 0, a = 0, res = 0;
  int p[3];
  img_rgb (img, x, y, p);
  for (int c = 0; c < 3; c++)
    {
      d[c] = 255 - 255 * colour[c];
      dd += d[c] * d[c];
    }
  for (int c = 0; c < 3; c++)
    a += (255 - p[c]) * d[c] / dd;
  for (int c = 0; c < 3; c++)
    res = MAX (res, fabs (p[c] - (255 - a * d[c])));
  return res < 20 ? a : -1;
}

/* Centroid in y of the pixels of column x that are `colour` blended over white. */
static double
colour_row (const Img *img, int x, int y0, int y1, const double colour[3])
{
  double wsum = 0, ysum = 0;
  for (int y = y0; y <= y1; y++)
    {
      double a = blend_alpha (img, x, y, colour);
      if (a > 0.15)
        {
          wsum += a;
          ysum += a * (y + 0.5);
        }
    }
  g_assert_cmpfloat (wsum, >, 0.5);
  return ysum / wsum;
}

/* (d) The log axis gives every decade the same height: 1e-1, 1e-2 and 1e-3 are equally far
 * apart, plot.h / 4 over the decades [1e-4, 1]. Off-axis values are counted, NaN is marked. */
static void
test_loss_log_axis (void)
{
  REQUIRE_DISPLAY ();
  const int W = 640, H = 440;
  static const double cols[3][3] = { { 1, 0, 0 }, { 0, 0.7, 0 }, { 0, 0, 1 } };
  static const double vals[3] = { 1e-1, 1e-2, 1e-3 };
  GtkWidget *plot = pf_loss_plot_new ();
  PfLossPlot *p = PF_LOSS_PLOT (plot);
  int ids[3];
  for (int s = 0; s < 3; s++)
    {
      GdkRGBA rgba = { cols[s][0], cols[s][1], cols[s][2], 1 };
      char name[16];
      g_snprintf (name, sizeof name, "s%d", s);
      ids[s] = pf_loss_plot_add_series (p, name, &rgba, FALSE);
      for (int k = 0; k <= 20; k++)
        pf_loss_plot_append (p, ids[s], k, k / 10.0, 2.0 * k, vals[s]);
    }
  GdkRGBA purple = { 0.5, 0, 0.5, 1 };  /* unlike the three colours looked for */
  int edge = pf_loss_plot_add_series (p, "range", &purple, TRUE);
  pf_loss_plot_append (p, edge, 0, 0, 0, 0.6);
  pf_loss_plot_append (p, edge, 20, 2, 40, 2e-4);
  pf_loss_plot_append (p, edge, 21, 2.1, 42, 0);      /* off a log axis */
  pf_loss_plot_append (p, edge, 22, 2.2, 44, -1);     /* off a log axis */
  pf_loss_plot_set_log_y (p, TRUE);
  GtkWidget *win = show_in_window (plot, W, H);
  Img shot = render_widget (plot);
  maybe_dump (&shot, "loss-log");

  PfLossPlotLayout l;
  cairo_surface_t *scratch = cairo_image_surface_create (CAIRO_FORMAT_RGB24, W, H);
  cairo_t *cr = cairo_create (scratch);
  pf_loss_plot_draw (p, cr, W, H, &l);
  g_assert_true (l.log_y);
  g_assert_cmpfloat (fabs (l.ymin - 1e-4), <, 1e-12);
  g_assert_cmpfloat (fabs (l.ymax - 1), <, 1e-9);
  int x = (int) (l.plot.x + 0.15 * l.plot.w);  /* left of the legend, clear of "range" */
  double y[3];
  for (int s = 0; s < 3; s++)
    y[s] = colour_row (&shot, x, (int) l.plot.y + 1, (int) (l.plot.y + l.plot.h) - 2, cols[s]);
  double decade = l.plot.h / 4;
  g_test_message ("y(1e-1) %.2f  y(1e-2) %.2f  y(1e-3) %.2f  decade %.2f px", y[0], y[1], y[2],
                  decade);
  g_assert_cmpfloat (fabs ((y[1] - y[0]) - (y[2] - y[1])), <=, 1.0);
  g_assert_cmpfloat (fabs ((y[2] - y[0]) - 2 * decade), <=, 1.5);
  g_assert_cmpfloat (fabs (y[0] - (l.plot.y + l.plot.h * 0.25)), <=, 1.5);
  g_assert_cmpint (pf_loss_plot_get_n_hidden (p, -1), ==, 2);
  g_assert_cmpint (pf_loss_plot_get_n_hidden (p, ids[0]), ==, 0);

  /* The same data on a linear axis: 1e-2 and 1e-3 nearly coincide. */
  pf_loss_plot_set_log_y (p, FALSE);
  g_assert_cmpint (pf_loss_plot_get_n_hidden (p, -1), ==, 0);
  pf_loss_plot_draw (p, cr, W, H, &l);
  g_assert_cmpfloat (fabs (pf_loss_plot_layout_y (&l, 1e-2) - pf_loss_plot_layout_y (&l, 1e-3)),
                     <, 0.02 * l.plot.h);

  /* A NaN marks the divergence with a red vertical line at its step. */
  pf_loss_plot_set_log_y (p, TRUE);
  pf_loss_plot_append (p, ids[0], 10.5, 1.05, 21, NAN);
  g_assert_true (pf_loss_plot_get_diverged (p, ids[0]));
  g_assert_false (pf_loss_plot_get_diverged (p, ids[1]));
  img_free (&shot);
  shot = render_widget (plot);
  maybe_dump (&shot, "loss-diverged");
  pf_loss_plot_draw (p, cr, W, H, &l);
  double xn = pf_loss_plot_layout_x (&l, 10.5);
  int red = 0;
  for (int py = (int) l.plot.y + 2; py < l.plot.y + l.plot.h - 2; py += 4)
    {
      int c[3];
      img_rgb (&shot, xn, py, c);
      red += c[0] > 150 && c[1] < 90 && c[2] < 90;
    }
  g_assert_cmpint (red, >, (int) (l.plot.h / 4) * 3 / 4);

  cairo_destroy (cr);
  cairo_surface_destroy (scratch);
  img_free (&shot);
  gtk_window_destroy (GTK_WINDOW (win));
}

/* Smoothing draws the moving average over faint raw points: a series that alternates 0.2 and
 * 0.4 shows one strong line at 0.3 and the faint zigzag around it; without smoothing, or for a
 * series left out of it, the zigzag is strong. */
static void
test_loss_smoothing (void)
{
  REQUIRE_DISPLAY ();
  const int W = 600, H = 400;
  static const double blue[3] = { 0, 0, 1 };
  GtkWidget *plot = pf_loss_plot_new ();
  PfLossPlot *p = PF_LOSS_PLOT (plot);
  GdkRGBA rgba = { 0, 0, 1, 1 };
  int id = pf_loss_plot_add_series (p, "train", &rgba, FALSE);
  for (int k = 0; k < 200; k++)
    pf_loss_plot_append (p, id, k, k / 20.0, k * 0.5, k % 2 ? 0.4 : 0.2);
  pf_loss_plot_set_smoothing (p, 0.95);
  GtkWidget *win = show_in_window (plot, W, H);
  Img shot = render_widget (plot);
  maybe_dump (&shot, "loss-smoothing");
  PfLossPlotLayout l;
  cairo_surface_t *scratch = cairo_image_surface_create (CAIRO_FORMAT_RGB24, W, H);
  cairo_t *cr = cairo_create (scratch);
  pf_loss_plot_draw (p, cr, W, H, &l);
  double y3 = pf_loss_plot_layout_y (&l, 0.3), y22 = pf_loss_plot_layout_y (&l, 0.22);
  int x = (int) pf_loss_plot_layout_x (&l, 150), strong = 0, faint = 0;
  for (int y = (int) l.plot.y + 1; y < l.plot.y + l.plot.h - 1; y++)
    {
      double a = blend_alpha (&shot, x, y, blue);
      if (a > 0.6)
        {
          g_assert_cmpfloat (fabs (y + 0.5 - y3), <=, 4);
          strong++;
        }
      else if (a > 0.1 && fabs (y + 0.5 - y22) < 2)
        faint++;
    }
  g_assert_cmpint (strong, >=, 1);
  g_assert_cmpint (faint, >=, 1);

  /* Without smoothing the raw zigzag is drawn strong down to 0.2. */
  pf_loss_plot_set_smoothing (p, 0);
  img_free (&shot);
  shot = render_widget (plot);
  g_assert_cmpfloat (blend_alpha (&shot, x, (int) y22, blue), >, 0.6);

  /* The same for a series left out of the smoothing, with the plot's smoothing on. */
  pf_loss_plot_set_smoothing (p, 0.95);
  pf_loss_plot_set_series_smoothed (p, id, FALSE);
  img_free (&shot);
  shot = render_widget (plot);
  g_assert_cmpfloat (blend_alpha (&shot, x, (int) y22, blue), >, 0.6);

  cairo_destroy (cr);
  cairo_surface_destroy (scratch);
  img_free (&shot);
  gtk_window_destroy (GTK_WINDOW (win));
}

/* Dark (text) pixels inside the plot box within 40 px above or below and 120 px beside (x, y). */
static int
dark_near (const Img *img, const PfLossPlotLayout *l, double x, double y)
{
  int n = 0;
  for (int py = MAX ((int) y - 40, (int) l->plot.y + 2); py < MIN ((int) y + 40, (int) (l->plot.y + l->plot.h) - 2); py++)
    for (int px = MAX ((int) x - 120, (int) l->plot.x + 2); px < MIN ((int) x + 120, (int) (l->plot.x + l->plot.w) - 2); px++)
      {
        int c[3];
        img_rgb (img, px, py, c);
        n += c[0] < 100 && c[1] < 100 && c[2] < 100;
      }
  return n;
}

/* A mark on a point (the best epoch): a white ring in the series' colour over the curve, its
 * label near it; what the series holds reads back; index -1 takes the mark away. */
static void
test_loss_mark (void)
{
  REQUIRE_DISPLAY ();
  const int W = 600, H = 400;
  static const guint8 white[3] = { 255, 255, 255 };
  GtkWidget *plot = pf_loss_plot_new ();
  PfLossPlot *p = PF_LOSS_PLOT (plot);
  GdkRGBA rgba = { 0, 0, 1, 1 };
  int id = pf_loss_plot_add_series (p, "validation", &rgba, FALSE);
  static const double vals[4] = { 0.8, 0.5, 0.3, 0.6 };
  for (int k = 0; k < 4; k++)
    pf_loss_plot_append (p, id, 10.0 * (k + 1), k + 1, 1.5 * (k + 1), vals[k]);
  g_assert_cmpstr (pf_loss_plot_get_series_name (p, id), ==, "validation");
  g_assert_null (pf_loss_plot_get_series_name (p, id + 1));
  g_assert_cmpuint (pf_loss_plot_get_n_points (p, id), ==, 4);
  double step = 0, epoch = 0, seconds = 0, value = 0;
  g_assert_true (pf_loss_plot_get_point (p, id, 2, &step, &epoch, &seconds, &value));
  g_assert_cmpfloat (step, ==, 30);
  g_assert_cmpfloat (epoch, ==, 3);
  g_assert_cmpfloat (seconds, ==, 4.5);
  g_assert_cmpfloat (value, ==, 0.3);
  g_assert_false (pf_loss_plot_get_point (p, id, 4, NULL, NULL, NULL, NULL));
  g_assert_cmpint (pf_loss_plot_get_mark (p, id), ==, -1);

  pf_loss_plot_set_x_axis (p, PF_LOSS_PLOT_X_EPOCH);
  GtkWidget *win = show_in_window (plot, W, H);
  PfLossPlotLayout l;
  cairo_surface_t *scratch = cairo_image_surface_create (CAIRO_FORMAT_RGB24, W, H);
  cairo_t *cr = cairo_create (scratch);
  pf_loss_plot_draw (p, cr, W, H, &l);
  double x = pf_loss_plot_layout_x (&l, 3), y = pf_loss_plot_layout_y (&l, 0.3);
  static const double blue[3] = { 0, 0, 1 };
  /* without a mark the curve's corner is drawn at the point */
  Img shot = render_widget (plot);
  g_assert_cmpfloat (blend_alpha (&shot, x, y, blue), >, 0.6);
  g_assert_cmpint (dark_near (&shot, &l, x, y), ==, 0);
  img_free (&shot);

  pf_loss_plot_set_mark (p, id, 2, "best: epoch 3");
  g_assert_cmpint (pf_loss_plot_get_mark (p, id), ==, 2);
  shot = render_widget (plot);
  maybe_dump (&shot, "loss-mark");
  /* the ring: white inside, blue on its rim around the point, dark text under it */
  assert_rgb ("inside the mark", &shot, x, y, white, 30);
  int rim = 0, text = 0;
  for (double r = 3; r <= 9; r += 0.5)
    rim += blend_alpha (&shot, x - r, y, blue) > 0.6 || blend_alpha (&shot, x + r, y, blue) > 0.6;
  g_assert_cmpint (rim, >=, 1);
  text = dark_near (&shot, &l, x, y);
  g_assert_cmpint (text, >, 20);
  img_free (&shot);

  /* the mark follows the x axis */
  pf_loss_plot_set_x_axis (p, PF_LOSS_PLOT_X_STEP);
  pf_loss_plot_draw (p, cr, W, H, &l);
  double xs = pf_loss_plot_layout_x (&l, 30);
  shot = render_widget (plot);
  assert_rgb ("inside the mark (step axis)", &shot, xs, y, white, 30);
  img_free (&shot);

  pf_loss_plot_set_mark (p, id, -1, NULL);
  g_assert_cmpint (pf_loss_plot_get_mark (p, id), ==, -1);
  shot = render_widget (plot);
  g_assert_cmpfloat (blend_alpha (&shot, xs, y, blue), >, 0.6);
  img_free (&shot);

  cairo_destroy (cr);
  cairo_surface_destroy (scratch);
  gtk_window_destroy (GTK_WINDOW (win));
}

typedef struct {
  int hovers, leaves, clicks;
  int row, col, jet;
  double eta, phi, energy;
} Events;

static void
on_hover (PfCaloView *v, int row, int col, double eta, double phi, double energy, Events *e)
{
  e->hovers++;
  e->row = row;
  e->col = col;
  e->eta = eta;
  e->phi = phi;
  e->energy = energy;
}

static void
on_leave (PfCaloView *v, Events *e)
{
  e->leaves++;
}

static void
on_jet (PfCaloView *v, int id, Events *e)
{
  e->clicks++;
  e->jet = id;
}

static GtkEventController *
find_controller (GtkWidget *w, GType type)
{
  GListModel *list = gtk_widget_observe_controllers (w);
  GtkEventController *found = NULL;
  for (guint i = 0; !found && i < g_list_model_get_n_items (list); i++)
    {
      GtkEventController *c = g_list_model_get_item (list, i);
      if (G_TYPE_CHECK_INSTANCE_TYPE (c, type))
        found = c;
      g_object_unref (c);
    }
  g_object_unref (list);
  g_assert_nonnull (found);
  return found;
}

/* (e) The cell under a widget coordinate is the one the renderer drew there, and pointer
 * motion and clicks reach "hover", "hover-leave" and "jet-clicked". */
static void
test_calo_hover (void)
{
  REQUIRE_DISPLAY ();
  const int W = 560, H = 470;
  float *img = g_new (float, S * S);
  for (int r = 0; r < S; r++)
    for (int c = 0; c < S; c++)
      img[r * S + c] = r * 100 + c;
  GtkWidget *view = pf_calo_view_new ();
  PfCaloView *v = PF_CALO_VIEW (view);
  pf_calo_view_set_image (v, img, S, S);
  PfJetCircle jet = { .eta = -0.8, .phi = 1.0, .radius = 0.3, .id = 7 };
  pf_calo_view_set_jets (v, &jet, 1, PF_JET_STYLE_PREDICTION);
  Events ev = { 0 };
  g_signal_connect (view, "hover", G_CALLBACK (on_hover), &ev);
  g_signal_connect (view, "hover-leave", G_CALLBACK (on_leave), &ev);
  g_signal_connect (view, "jet-clicked", G_CALLBACK (on_jet), &ev);
  GtkWidget *win = show_in_window (view, W, H);
  PfImageLayout ref = reference_layout (img, NULL, W, H);
  double cw = ref.plot.w / S, ch = ref.plot.h / S;

  static const int cells[][2] = { { 0, 0 }, { 55, 55 }, { 0, 55 }, { 55, 0 }, { 17, 42 },
                                  { 30, 3 } };
  for (guint k = 0; k < G_N_ELEMENTS (cells); k++)
    {
      int r = cells[k][0], c = cells[k][1], gr, gc;
      /* Just inside the cell's corners and at its centre. */
      double xs[3] = { ref.plot.x + c * cw + 0.25, ref.plot.x + (c + 0.5) * cw,
                       ref.plot.x + (c + 1) * cw - 0.25 };
      double ys[3] = { ref.plot.y + ref.plot.h - (r + 1) * ch + 0.25,
                       ref.plot.y + ref.plot.h - (r + 0.5) * ch,
                       ref.plot.y + ref.plot.h - r * ch - 0.25 };
      for (int i = 0; i < 3; i++)
        {
          g_assert_true (pf_calo_view_cell_at (v, xs[i], ys[i], &gr, &gc));
          g_assert_cmpint (gr, ==, r);
          g_assert_cmpint (gc, ==, c);
        }
    }
  int gr, gc;
  g_assert_false (pf_calo_view_cell_at (v, ref.plot.x - 1, ref.plot.y + 10, &gr, &gc));
  g_assert_false (pf_calo_view_cell_at (v, ref.plot.x + 10, ref.plot.y + ref.plot.h + 1, &gr,
                                        &gc));

  GtkEventController *motion = find_controller (view, GTK_TYPE_EVENT_CONTROLLER_MOTION);
  double x, y;
  cell_centre (&ref, 17, 42, &x, &y);
  g_signal_emit_by_name (motion, "motion", x, y);
  g_assert_cmpint (ev.hovers, ==, 1);
  g_assert_cmpint (ev.row, ==, 17);
  g_assert_cmpint (ev.col, ==, 42);
  g_assert_cmpfloat (fabs (ev.energy - 1742), <, 1e-9);
  g_assert_cmpfloat (fabs (ev.eta - (-2.5 + 17.5 * 5.0 / S)), <, 1e-9);
  g_assert_cmpfloat (fabs (ev.phi - (-G_PI + 42.5 * 2 * G_PI / S)), <, 1e-9);
  g_signal_emit_by_name (motion, "motion", x + 0.2 * cw, y);  /* same cell: no new signal */
  g_assert_cmpint (ev.hovers, ==, 1);
  g_signal_emit_by_name (motion, "motion", 2.0, 2.0);         /* off the cells */
  g_assert_cmpint (ev.leaves, ==, 1);

  GtkEventController *click = find_controller (view, GTK_TYPE_GESTURE_CLICK);
  g_signal_emit_by_name (click, "pressed", 1, x_of_phi (&ref, 1.1), y_of_eta (&ref, -0.75));
  g_assert_cmpint (ev.clicks, ==, 1);
  g_assert_cmpint (ev.jet, ==, 7);
  g_assert_cmpint (pf_calo_view_get_selected_jet (v), ==, 7);
  g_signal_emit_by_name (click, "pressed", 1, x_of_phi (&ref, 1.5), y_of_eta (&ref, -0.8));
  g_assert_cmpint (ev.clicks, ==, 1);

  /* The crosshair: a light line through the centre of (17, 42), across the whole plot. */
  pf_calo_view_set_crosshair (v, 17, 42);
  Img shot = render_widget (view);
  maybe_dump (&shot, "crosshair");
  double xr, yr;
  cell_centre (&ref, 3, 42, &xr, &yr);
  g_assert_true (is_white (&shot, (int) round (x), (int) yr));
  g_assert_false (is_white (&shot, (int) round (x) + 4, (int) yr));
  cell_centre (&ref, 17, 5, &xr, &yr);
  g_assert_true (is_white (&shot, (int) xr, (int) round (y)));
  g_assert_false (is_white (&shot, (int) xr, (int) round (y) + 4));
  img_free (&shot);

  gtk_window_destroy (GTK_WINDOW (win));
  g_free (img);
}

int
main (int argc, char **argv)
{
  /* A fixed, quiet environment for pixel checks: software rendering, no accessibility bus. */
  g_setenv ("GSK_RENDERER", "cairo", FALSE);
  g_setenv ("GTK_A11Y", "none", FALSE);
  g_setenv ("GDK_SCALE", "1", TRUE);
  g_test_init (&argc, &argv, NULL);
  have_display = gtk_init_check ();

  g_test_add_func ("/widgets/calo-view/hot-cell", test_calo_hot_cell);
  g_test_add_func ("/widgets/calo-view/jet-radius", test_calo_jet_radius);
  g_test_add_func ("/widgets/calo-view/jet-wrap", test_calo_jet_wrap);
  g_test_add_func ("/widgets/calo-view/hover", test_calo_hover);
  g_test_add_func ("/widgets/loss-plot/log-axis", test_loss_log_axis);
  g_test_add_func ("/widgets/loss-plot/smoothing", test_loss_smoothing);
  g_test_add_func ("/widgets/loss-plot/mark", test_loss_mark);
  return g_test_run ();
}
