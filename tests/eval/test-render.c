/* test-render.c — the pure-cairo figures: colours at the right places (read back from the
 * written PNG), sane geometry, valid SVG/PDF files, atomic writes. */
#include <glib.h>
#include <glib/gstdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <cairo.h>

#include "pf-error.h"
#include "pf-colormap.h"
#include "pf-render-file.h"
#include "pf-render-image.h"
#include "pf-render-hist.h"
#include "pf-render-table.h"

#define S 56

typedef struct {
  cairo_surface_t *s;
  unsigned char *data;
  int w, h, stride;
} Png;

static Png
png_read (const char *path)
{
  Png p;
  p.s = cairo_image_surface_create_from_png (path);
  g_assert_cmpint (cairo_surface_status (p.s), ==, CAIRO_STATUS_SUCCESS);
  cairo_surface_flush (p.s);
  p.data = cairo_image_surface_get_data (p.s);
  p.w = cairo_image_surface_get_width (p.s);
  p.h = cairo_image_surface_get_height (p.s);
  p.stride = cairo_image_surface_get_stride (p.s);
  return p;
}

static void
png_rgb (const Png *p, double x, double y, guint8 rgb[3])
{
  int ix = (int) floor (x), iy = (int) floor (y);
  g_assert_cmpint (ix, >=, 0);
  g_assert_cmpint (iy, >=, 0);
  g_assert_cmpint (ix, <, p->w);
  g_assert_cmpint (iy, <, p->h);
  guint32 v = *(const guint32 *) (p->data + (size_t) iy * p->stride + 4 * ix);
  rgb[0] = (v >> 16) & 0xff;
  rgb[1] = (v >> 8) & 0xff;
  rgb[2] = v & 0xff;
}

static void
assert_rgb (const char *what, const guint8 got[3], const guint8 want[3], int tol)
{
  for (int c = 0; c < 3; c++)
    if (abs ((int) got[c] - (int) want[c]) > tol)
      g_error ("%s: colour (%d, %d, %d), expected (%d, %d, %d)", what, got[0], got[1], got[2],
               want[0], want[1], want[2]);
}

static gboolean
rgb_close (const guint8 a[3], const guint8 b[3], int tol)
{
  return abs (a[0] - b[0]) <= tol && abs (a[1] - b[1]) <= tol && abs (a[2] - b[2]) <= tol;
}

/* Centre of cell (r, c) in the figure: eta (rows) grows upwards. */
static void
cell_centre (const PfImageLayout *l, int r, int c, double *x, double *y)
{
  *x = l->plot.x + (c + 0.5) * l->plot.w / S;
  *y = l->plot.y + l->plot.h - (r + 0.5) * l->plot.h / S;
}

static char *tmpdir;

static char *
tmp_path (const char *name)
{
  return g_build_filename (tmpdir, name, NULL);
}

static void
test_colormap (void)
{
  guint8 c[3];
  const guint8 v0[3] = { 68, 1, 84 }, v1[3] = { 253, 231, 37 }, mid[3] = { 33, 145, 140 };
  pf_colormap_rgb8 (PF_COLORMAP_VIRIDIS, 0, c);
  assert_rgb ("viridis(0)", c, v0, 0);
  pf_colormap_rgb8 (PF_COLORMAP_VIRIDIS, 1, c);
  assert_rgb ("viridis(1)", c, v1, 0);
  pf_colormap_rgb8 (PF_COLORMAP_VIRIDIS, 0.5, c); /* matplotlib: #21918c */
  assert_rgb ("viridis(0.5)", c, mid, 2);
  pf_colormap_rgb8 (PF_COLORMAP_VIRIDIS, NAN, c);
  assert_rgb ("viridis(NaN)", c, v0, 0);
  /* Perceptual order: the luminance of viridis rises all along the map. */
  double last = -1;
  for (int k = 0; k <= 512; k++)
    {
      double rgb[3];
      pf_colormap_rgb (PF_COLORMAP_VIRIDIS, k / 512.0, rgb);
      double lum = 0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2];
      g_assert_cmpfloat (lum, >, last);
      last = lum;
    }
  const guint8 white[3] = { 247, 247, 247 }, blue[3] = { 5, 48, 97 }, red[3] = { 103, 0, 31 };
  pf_colormap_rgb8 (PF_COLORMAP_DIVERGING, 0.5, c);
  assert_rgb ("diverging(0.5)", c, white, 0);
  pf_colormap_rgb8 (PF_COLORMAP_DIVERGING, 0, c);
  assert_rgb ("diverging(0)", c, blue, 0);
  pf_colormap_rgb8 (PF_COLORMAP_DIVERGING, 1, c);
  assert_rgb ("diverging(1)", c, red, 0);
}

static void
test_hot_cell (void)
{
  float *img = g_new0 (float, S * S);
  const int hr = 40, hc = 10;
  img[hr * S + hc] = 5;
  PfImageSpec spec;
  pf_image_spec_init (&spec, img, S, S);
  spec.title = "truth";
  PfImageLayout l;
  GError *error = NULL;
  char *path = tmp_path ("hot.png");
  g_assert_true (pf_render_image_to_file (path, 640, 520, &spec, &l, &error));
  g_assert_no_error (error);
  g_assert_cmpfloat (l.vmin, ==, 0);
  g_assert_cmpfloat (l.vmax, ==, 5);

  /* Geometry: plot and bar inside the figure, bar to the right of the plot, same height,
   * most of the figure given to the cells. */
  g_assert_cmpfloat (l.plot.x, >, 20);
  g_assert_cmpfloat (l.plot.y, >, 0);
  g_assert_cmpfloat (l.plot.w, >, 0.5 * 640);
  g_assert_cmpfloat (l.plot.h, >, 0.6 * 520);
  g_assert_cmpfloat (l.plot.y + l.plot.h, <, 520 - 20); /* room for the phi axis */
  g_assert_cmpfloat (l.colorbar.x, >, l.plot.x + l.plot.w);
  g_assert_cmpfloat (l.colorbar.x + l.colorbar.w, <, 640 - 20); /* room for the labels */
  g_assert_cmpfloat (l.colorbar.y, ==, l.plot.y);
  g_assert_cmpfloat (l.colorbar.h, ==, l.plot.h);
  g_assert_cmpfloat (l.colorbar.w, >=, 7);

  Png p = png_read (path);
  g_assert_cmpint (p.w, ==, 640);
  g_assert_cmpint (p.h, ==, 520);
  guint8 hot[3], cold[3], got[3];
  pf_colormap_rgb8 (PF_COLORMAP_VIRIDIS, 1, hot);
  pf_colormap_rgb8 (PF_COLORMAP_VIRIDIS, 0, cold);
  double x, y;
  cell_centre (&l, hr, hc, &x, &y);
  png_rgb (&p, x, y, got);
  assert_rgb ("hot cell", got, hot, 0);
  cell_centre (&l, hr, hc + 1, &x, &y);
  png_rgb (&p, x, y, got);
  assert_rgb ("right neighbour", got, cold, 0);
  cell_centre (&l, S - 1 - hr, hc, &x, &y); /* where an upside-down image would put it */
  png_rgb (&p, x, y, got);
  assert_rgb ("mirrored cell", got, cold, 0);
  /* The hot pixels form exactly one cell: their bounding box is the cell, within a pixel. */
  int x0 = p.w, x1 = -1, y0 = p.h, y1 = -1;
  for (int iy = (int) l.plot.y; iy < (int) (l.plot.y + l.plot.h); iy++)
    for (int ix = (int) l.plot.x; ix < (int) (l.plot.x + l.plot.w); ix++)
      {
        png_rgb (&p, ix + 0.5, iy + 0.5, got);
        if (rgb_close (got, hot, 0))
          {
            x0 = MIN (x0, ix); x1 = MAX (x1, ix);
            y0 = MIN (y0, iy); y1 = MAX (y1, iy);
          }
      }
  double cw = l.plot.w / S, ch = l.plot.h / S;
  g_assert_cmpfloat (fabs (x0 - (l.plot.x + hc * cw)), <=, 1.0);
  g_assert_cmpfloat (fabs (x1 + 1 - (l.plot.x + (hc + 1) * cw)), <=, 1.0);
  g_assert_cmpfloat (fabs (y0 - (l.plot.y + l.plot.h - (hr + 1) * ch)), <=, 1.0);
  g_assert_cmpfloat (fabs (y1 + 1 - (l.plot.y + l.plot.h - hr * ch)), <=, 1.0);
  /* Colour bar: 256 steps from the hot colour at the top to the cold one at the bottom. */
  for (int k = 0; k < 2; k++)
    {
      double yb = k == 0 ? l.colorbar.y + 3.5 : l.colorbar.y + l.colorbar.h - 3.5;
      int step = (int) floor ((yb - l.colorbar.y) * 256 / l.colorbar.h);
      guint8 want[3];
      pf_colormap_rgb8 (PF_COLORMAP_VIRIDIS, (255 - step + 0.5) / 256, want);
      png_rgb (&p, l.colorbar.x + l.colorbar.w / 2, yb, got);
      assert_rgb (k == 0 ? "bar top" : "bar bottom", got, want, 2);
      assert_rgb (k == 0 ? "bar top ~ hot" : "bar bottom ~ cold", got, k == 0 ? hot : cold, 12);
    }
  /* Axis labels and ticks are drawn in black left of the plot and under it. */
  int dark = 0;
  for (int iy = (int) l.plot.y; iy < (int) (l.plot.y + l.plot.h); iy++)
    for (int ix = 0; ix < (int) l.plot.x - 2; ix++)
      {
        png_rgb (&p, ix, iy, got);
        dark += got[0] < 100 && got[1] < 100 && got[2] < 100;
      }
  g_assert_cmpint (dark, >, 20);
  cairo_surface_destroy (p.s);
  g_free (path);
  g_free (img);
}

static void
test_log_scale (void)
{
  float *img = g_new0 (float, S * S);
  img[3 * S + 3] = 5;
  img[3 * S + 4] = 0.5f;
  img[3 * S + 5] = 0.05f;
  PfImageSpec spec;
  pf_image_spec_init (&spec, img, S, S);
  spec.scale = PF_RENDER_SCALE_LOG;
  PfImageLayout l;
  GError *error = NULL;
  char *path = tmp_path ("log.png");
  g_assert_true (pf_render_image_to_file (path, 500, 420, &spec, &l, &error));
  g_assert_no_error (error);
  g_assert_cmpfloat_with_epsilon (l.vmin, 0.05, 1e-6);
  Png p = png_read (path);
  const double ts[3] = { 1, 0.5, 0 };
  for (int k = 0; k < 3; k++)
    {
      guint8 want[3], got[3];
      double x, y;
      pf_colormap_rgb8 (PF_COLORMAP_VIRIDIS, ts[k], want);
      cell_centre (&l, 3, 3 + k, &x, &y);
      png_rgb (&p, x, y, got);
      assert_rgb ("log cell", got, want, 1);
    }
  cairo_surface_destroy (p.s);
  g_free (path);
  g_free (img);
}

static void
test_panel (void)
{
  float *t = g_new0 (float, S * S), *pr = g_new0 (float, S * S);
  t[20 * S + 30] = 8; pr[20 * S + 30] = 8;     /* exact: white residual */
  t[25 * S + 12] = 4; pr[25 * S + 12] = 6;     /* +2: the largest residual, red end */
  t[30 * S + 40] = 3; pr[30 * S + 40] = 2;     /* -1: halfway to blue */
  PfImageLayout l[3];
  GError *error = NULL;
  char *path = tmp_path ("panel.png");
  g_assert_true (pf_render_event_panel_to_file (path, 1500, 480, t, pr, S, S,
                                                PF_RENDER_SCALE_LINEAR, "event 0", l, &error));
  g_assert_no_error (error);
  g_assert_cmpfloat (l[0].plot.x + l[0].plot.w, <, l[1].plot.x);
  g_assert_cmpfloat (l[1].plot.x + l[1].plot.w, <, l[2].plot.x);
  /* Truth and prediction share one range; the residual range is symmetric. */
  g_assert_cmpfloat (l[0].vmax, ==, 8);
  g_assert_cmpfloat (l[1].vmax, ==, 8);
  g_assert_cmpfloat (l[2].vmin, ==, -2);
  g_assert_cmpfloat (l[2].vmax, ==, 2);
  Png p = png_read (path);
  guint8 got[3], want[3];
  double x, y;
  cell_centre (&l[2], 25, 12, &x, &y);
  png_rgb (&p, x, y, got);
  pf_colormap_rgb8 (PF_COLORMAP_DIVERGING, 1, want);
  assert_rgb ("residual +2", got, want, 0);
  cell_centre (&l[2], 20, 30, &x, &y);
  png_rgb (&p, x, y, got);
  pf_colormap_rgb8 (PF_COLORMAP_DIVERGING, 0.5, want);
  assert_rgb ("residual 0", got, want, 0);
  cell_centre (&l[2], 30, 40, &x, &y);
  png_rgb (&p, x, y, got);
  pf_colormap_rgb8 (PF_COLORMAP_DIVERGING, 0.25, want);
  assert_rgb ("residual -1", got, want, 1);
  cell_centre (&l[1], 25, 12, &x, &y); /* prediction 6 of 8 */
  png_rgb (&p, x, y, got);
  pf_colormap_rgb8 (PF_COLORMAP_VIRIDIS, 0.75, want);
  assert_rgb ("prediction 6/8", got, want, 1);
  cairo_surface_destroy (p.s);
  g_free (path);
  g_free (t);
  g_free (pr);
}

static void
assert_magic (const char *path, const char *magic, const char *also)
{
  char *buf = NULL;
  gsize len = 0;
  g_assert_true (g_file_get_contents (path, &buf, &len, NULL));
  g_assert_cmpuint (len, >, 200);
  g_assert_true (memcmp (buf, magic, strlen (magic)) == 0);
  if (also)
    g_assert_nonnull (g_strstr_len (buf, MIN (len, 4096), also));
  g_free (buf);
}

static void
test_formats (void)
{
  float *img = g_new0 (float, S * S);
  for (int k = 0; k < S * S; k++)
    img[k] = (float) ((k * 7919) % 101) / 10.0f;
  PfImageSpec spec;
  pf_image_spec_init (&spec, img, S, S);
  GError *error = NULL;
  const char *names[] = { "f.png", "f.svg", "f.PDF" };
  const char *magic[] = { "\x89PNG\r\n\x1a\n", "<?xml", "%PDF-" };
  const char *also[] = { NULL, "<svg", NULL };
  for (int k = 0; k < 3; k++)
    {
      char *path = tmp_path (names[k]);
      g_assert_true (pf_render_image_to_file (path, 400, 320, &spec, NULL, &error));
      g_assert_no_error (error);
      assert_magic (path, magic[k], also[k]);
      g_unlink (path);
      g_free (path);
    }
  /* An unknown extension and an unwritable folder fail, leaving nothing behind. */
  char *bad = tmp_path ("f.bmp");
  g_assert_false (pf_render_image_to_file (bad, 400, 320, &spec, NULL, &error));
  g_assert_error (error, PF_ERROR, PF_ERROR_UNSUPPORTED);
  g_clear_error (&error);
  g_assert_false (g_file_test (bad, G_FILE_TEST_EXISTS));
  g_free (bad);
  g_assert_false (pf_render_image_to_file ("/nonexistent-dir/f.png", 400, 320, &spec, NULL,
                                           &error));
  g_assert_error (error, PF_ERROR, PF_ERROR_IO);
  g_clear_error (&error);
  char *big = tmp_path ("big.png");
  g_assert_false (pf_render_image_to_file (big, 0, 320, &spec, NULL, &error));
  g_assert_error (error, PF_ERROR, PF_ERROR_INVALID);
  g_clear_error (&error);
  g_free (big);
  /* No temporary file is left in the folder. */
  GDir *d = g_dir_open (tmpdir, 0, NULL);
  const char *name;
  while ((name = g_dir_read_name (d)))
    g_assert_false (g_str_has_prefix (name, "."));
  g_dir_close (d);
  g_free (img);
}

static void
test_hist (void)
{
  const int nb = 60;
  const double lo = -3, hi = 3, amp = 1000, mean = 0.5, sigma = 0.8;
  double c[60];
  for (int i = 0; i < nb; i++)
    {
      double x = lo + (i + 0.5) * (hi - lo) / nb, z = (x - mean) / sigma;
      c[i] = round (amp * exp (-0.5 * z * z));
    }
  PfHistSpec s;
  pf_hist_spec_init (&s, c, nb, lo, hi);
  s.has_fit = TRUE;
  s.amplitude = amp; s.mean = mean; s.sigma = sigma;
  s.mean_err = 0.01; s.sigma_err = 0.01; s.chi2 = 50; s.ndf = 45;
  s.title = "energy difference";
  PfHistLayout l;
  GError *error = NULL;
  char *path = tmp_path ("hist.png");
  g_assert_true (pf_render_hist_to_file (path, 700, 480, &s, &l, &error));
  g_assert_no_error (error);
  g_assert_cmpfloat (l.ymin, ==, 0);
  g_assert_cmpfloat (l.ymax, >=, amp);
  g_assert_cmpfloat (l.plot.w, >, 0.6 * 700);
  g_assert_cmpfloat (l.plot.h, >, 0.6 * 480);
  Png p = png_read (path);
  /* The red fit curve passes through (mean, amplitude). */
  double xm = l.plot.x + l.plot.w * (mean - lo) / (hi - lo);
  double ym = l.plot.y + l.plot.h * (1 - amp / l.ymax);
  gboolean red = FALSE;
  for (int dy = -3; dy <= 3 && !red; dy++)
    {
      guint8 got[3];
      png_rgb (&p, xm, ym + dy, got);
      red = got[0] > 170 && got[1] < 90 && got[2] < 90;
    }
  g_assert_true (red);
  /* Under the curve, in the middle of the peak bin: the bar colour; far above a tail bin:
   * the white background. */
  guint8 got[3];
  png_rgb (&p, xm + 2, l.plot.y + l.plot.h * 0.7, got);
  g_assert_true (got[2] > got[0] && got[2] > 150);
  png_rgb (&p, l.plot.x + 4, l.plot.y + l.plot.h * 0.5, got);
  const guint8 white[3] = { 255, 255, 255 };
  assert_rgb ("background", got, white, 0);
  cairo_surface_destroy (p.s);
  g_unlink (path);
  g_free (path);

  /* Vector outputs too, and a log axis. */
  s.log_y = TRUE;
  path = tmp_path ("hist.pdf");
  g_assert_true (pf_render_hist_to_file (path, 500, 350, &s, &l, &error));
  assert_magic (path, "%PDF-", NULL);
  g_assert_cmpfloat (l.ymin, >, 0);
  g_unlink (path);
  g_free (path);
}

/* A table figure fits its content: wider cells make it wider, more rows taller; the header row
 * is shaded and the body's first row is white; the PNG has the size the table asked for. */
static void
test_table (void)
{
  const char *header[2] = { "name", "value" };
  const char *small[4] = { "a", "1", "b", "2" };
  const char *wide[6] = { "a much longer name", "1.2345", "b", "-2", "c", "+3" };
  PfTableSpec s1 = { 2, 2, header, small, NULL }, s2 = { 3, 2, header, wide, "title" };
  int w1, h1, w2, h2;
  pf_render_table_size (&s1, &w1, &h1);
  pf_render_table_size (&s2, &w2, &h2);
  g_assert_cmpint (w2, >, w1);
  g_assert_cmpint (h2, >, h1);
  char *path = tmp_path ("table.png");
  GError *error = NULL;
  g_assert_true (pf_render_table_to_file (path, &s1, &error));
  g_assert_no_error (error);
  cairo_surface_t *png = cairo_image_surface_create_from_png (path);
  g_assert_cmpint (cairo_surface_status (png), ==, CAIRO_STATUS_SUCCESS);
  g_assert_cmpint (cairo_image_surface_get_width (png), ==, w1);
  g_assert_cmpint (cairo_image_surface_get_height (png), ==, h1);
  const guint8 *px = cairo_image_surface_get_data (png);
  int stride = cairo_image_surface_get_stride (png);
  /* 3 px inside the frame: header shade (0.85 grey) in row 0, white in body row 0 */
  const guint8 *head = px + (12 + 4) * stride + (12 + 3) * 4;
  const guint8 *body = px + (12 + 22 + 4) * stride + (12 + 3) * 4;
  g_assert_cmpint (abs ((int) head[1] - 217), <=, 2);
  g_assert_cmpint (body[1], ==, 255);
  cairo_surface_destroy (png);
  g_free (path);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  GError *error = NULL;
  tmpdir = g_dir_make_tmp ("pflow-render-XXXXXX", &error);
  g_assert_no_error (error);
  g_test_add_func ("/render/colormap", test_colormap);
  g_test_add_func ("/render/image/hot-cell", test_hot_cell);
  g_test_add_func ("/render/image/log-scale", test_log_scale);
  g_test_add_func ("/render/image/event-panel", test_panel);
  g_test_add_func ("/render/formats", test_formats);
  g_test_add_func ("/render/hist", test_hist);
  g_test_add_func ("/render/table", test_table);
  int rc = g_test_run ();
  /* Figures are left for inspection only when PF_KEEP_FIGURES is set. */
  if (!g_getenv ("PF_KEEP_FIGURES"))
    {
      GDir *d = g_dir_open (tmpdir, 0, NULL);
      const char *name;
      while (d && (name = g_dir_read_name (d)))
        {
          char *pth = g_build_filename (tmpdir, name, NULL);
          g_unlink (pth);
          g_free (pth);
        }
      if (d)
        g_dir_close (d);
      g_rmdir (tmpdir);
    }
  else
    g_printerr ("figures kept in %s\n", tmpdir);
  g_free (tmpdir);
  return rc;
}
