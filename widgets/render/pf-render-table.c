/* pf-render-table.c — tables of text as figures, with cairo's toy text API like the other
 * renderers (no Pango), measured with a scratch surface so the figure fits its content. */
#include "pf-render-table.h"
#include "pf-render-private.h"
#include <string.h>

#define FONT 13.0
#define PAD_X 10.0
#define ROW_H 22.0
#define TITLE_H 30.0
#define MARGIN 12.0

static const char *
cell (const PfTableSpec *s, int r, int c)
{
  const char *t = r < 0 ? s->header[c] : s->cells[r * s->n_cols + c];
  return t ? t : "";
}

static gboolean
is_number (const char *t)
{
  return (t[0] >= '0' && t[0] <= '9') || t[0] == '-' || t[0] == '+' || t[0] == '.' ||
         g_str_has_prefix (t, "\xe2\x88\x92"); /* U+2212 minus */
}

/* Widths of the columns in user units on this cairo context. */
static void
column_widths (cairo_t *cr, const PfTableSpec *s, double *w)
{
  cairo_select_font_face (cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size (cr, FONT);
  for (int c = 0; c < s->n_cols; c++)
    {
      w[c] = 0;
      for (int r = -1; r < s->n_rows; r++)
        {
          cairo_text_extents_t te;
          cairo_text_extents (cr, cell (s, r, c), &te);
          w[c] = MAX (w[c], te.x_advance);
        }
      w[c] += 2 * PAD_X;
    }
}

void
pf_render_table_size (const PfTableSpec *s, int *width, int *height)
{
  cairo_surface_t *scratch = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, 1, 1);
  cairo_t *cr = cairo_create (scratch);
  double *w = g_new (double, MAX (s->n_cols, 1)), total = 0;
  column_widths (cr, s, w);
  for (int c = 0; c < s->n_cols; c++)
    total += w[c];
  g_free (w);
  cairo_destroy (cr);
  cairo_surface_destroy (scratch);
  *width = (int) (total + 2 * MARGIN + 0.5);
  *height = (int) ((s->n_rows + 1) * ROW_H + (s->title ? TITLE_H : 0) + 2 * MARGIN + 0.5);
}

void
pf_render_table (cairo_t *cr, const PfRenderRect *area, const PfTableSpec *s)
{
  double *w = g_new (double, MAX (s->n_cols, 1)), total = 0;
  column_widths (cr, s, w);
  for (int c = 0; c < s->n_cols; c++)
    total += w[c];
  double x0 = area->x + MARGIN, y = area->y + MARGIN;
  cairo_save (cr);
  if (s->title)
    {
      cairo_set_source_rgb (cr, 0, 0, 0);
      _pf_render_text (cr, x0, y + TITLE_H / 2, s->title, FONT + 2, 0, 0.5, 0);
      y += TITLE_H;
    }
  for (int r = -1; r < s->n_rows; r++, y += ROW_H)
    {
      /* header shaded, then alternate rows */
      if (r < 0 || r % 2 == 1)
        {
          double g = r < 0 ? 0.85 : 0.95;
          cairo_set_source_rgb (cr, g, g, g);
          cairo_rectangle (cr, x0, y, total, ROW_H);
          cairo_fill (cr);
        }
      double x = x0;
      cairo_set_source_rgb (cr, 0, 0, 0);
      for (int c = 0; c < s->n_cols; c++)
        {
          const char *t = cell (s, r, c);
          gboolean right = r >= 0 && is_number (t);
          _pf_render_text (cr, right ? x + w[c] - PAD_X : x + PAD_X, y + ROW_H / 2, t, FONT,
                           right ? 1 : 0, 0.5, 0);
          x += w[c];
        }
    }
  /* frame and the line under the header */
  double top = area->y + MARGIN + (s->title ? TITLE_H : 0);
  cairo_set_source_rgb (cr, 0.3, 0.3, 0.3);
  cairo_set_line_width (cr, 1);
  cairo_rectangle (cr, x0 + 0.5, top + 0.5, total - 1, (s->n_rows + 1) * ROW_H - 1);
  cairo_move_to (cr, x0, top + ROW_H + 0.5);
  cairo_line_to (cr, x0 + total, top + ROW_H + 0.5);
  cairo_stroke (cr);
  cairo_restore (cr);
  g_free (w);
}

static void
draw_table (cairo_t *cr, double width, double height, gpointer user_data)
{
  PfRenderRect area = { 0, 0, width, height };
  pf_render_table (cr, &area, user_data);
}

gboolean
pf_render_table_to_file (const char *path, const PfTableSpec *s, GError **error)
{
  int width, height;
  pf_render_table_size (s, &width, &height);
  return pf_render_to_file (path, width, height, draw_table, (gpointer) s, error);
}
