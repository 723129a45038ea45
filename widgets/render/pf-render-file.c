/* pf-render-file.c — PNG/SVG/PDF output, written atomically. */
#include "pf-render-file.h"
#include "pf-error.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include <cairo-pdf.h>
#include <cairo-svg.h>

gboolean
pf_render_format_from_path (const char *path, PfRenderFormat *out, GError **error)
{
  const char *dot = path ? strrchr (path, '.') : NULL;
  if (dot && g_ascii_strcasecmp (dot, ".png") == 0)
    *out = PF_RENDER_FORMAT_PNG;
  else if (dot && g_ascii_strcasecmp (dot, ".svg") == 0)
    *out = PF_RENDER_FORMAT_SVG;
  else if (dot && g_ascii_strcasecmp (dot, ".pdf") == 0)
    *out = PF_RENDER_FORMAT_PDF;
  else
    {
      g_set_error (error, PF_ERROR, PF_ERROR_UNSUPPORTED,
                   "%s: unknown figure format (use .png, .svg or .pdf)", path ? path : "(null)");
      return FALSE;
    }
  return TRUE;
}

static void
paint (cairo_surface_t *s, int width, int height, PfRenderDrawFunc draw, gpointer data)
{
  cairo_t *cr = cairo_create (s);
  cairo_set_source_rgb (cr, 1, 1, 1);
  cairo_paint (cr);
  draw (cr, width, height, data);
  cairo_destroy (cr);
}

gboolean
pf_render_to_file (const char *path, int width, int height, PfRenderDrawFunc draw,
                   gpointer user_data, GError **error)
{
  PfRenderFormat fmt;
  if (!pf_render_format_from_path (path, &fmt, error))
    return FALSE;
  if (width < 1 || height < 1 || width > 16384 || height > 16384)
    {
      g_set_error (error, PF_ERROR, PF_ERROR_INVALID, "%s: figure size %dx%d out of range",
                   path, width, height);
      return FALSE;
    }
  char *dir = g_path_get_dirname (path), *base = g_path_get_basename (path);
  char *tmpl = g_strdup_printf ("%s/.%s.tmp-XXXXXX", dir, base);
  g_free (dir);
  g_free (base);
  int fd = g_mkstemp (tmpl);
  if (fd < 0)
    {
      g_set_error (error, PF_ERROR, PF_ERROR_IO, "%s: cannot create a temporary file: %s",
                   path, g_strerror (errno));
      g_free (tmpl);
      return FALSE;
    }
  close (fd); /* cairo opens the file by name */

  cairo_status_t st;
  cairo_surface_t *s;
  if (fmt == PF_RENDER_FORMAT_PNG)
    {
      s = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, width, height);
      paint (s, width, height, draw, user_data);
      st = cairo_surface_status (s);
      if (st == CAIRO_STATUS_SUCCESS)
        st = cairo_surface_write_to_png (s, tmpl);
    }
  else
    {
      s = fmt == PF_RENDER_FORMAT_SVG ? cairo_svg_surface_create (tmpl, width, height)
                                      : cairo_pdf_surface_create (tmpl, width, height);
      paint (s, width, height, draw, user_data);
      cairo_surface_finish (s); /* writes the file */
      st = cairo_surface_status (s);
    }
  cairo_surface_destroy (s);
  gboolean ok = st == CAIRO_STATUS_SUCCESS;
  if (!ok)
    g_set_error (error, PF_ERROR, PF_ERROR_IO, "%s: cannot render the figure: %s", path,
                 cairo_status_to_string (st));
  else if (g_rename (tmpl, path) != 0)
    {
      g_set_error (error, PF_ERROR, PF_ERROR_IO, "%s: cannot rename the figure into place: %s",
                   path, g_strerror (errno));
      ok = FALSE;
    }
  if (!ok)
    g_unlink (tmpl);
  g_free (tmpl);
  return ok;
}
