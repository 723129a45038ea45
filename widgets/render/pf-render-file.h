/* pf-render-file.h — figures to PNG, SVG or PDF, chosen by the file extension.
 *
 * A figure is a draw function on a cairo context of width x height (pixels for PNG, points for
 * SVG and PDF). The file is written to a temporary ".NAME.tmp-XXXXXX" beside the target and
 * renamed into place once cairo reports success, so a failed or interrupted render never
 * leaves a partial figure under the real name. Pure cairo: no GTK, so the CLI and the GTK
 * widgets draw the same figures. */
#pragma once
#include <glib.h>
#include <cairo.h>

G_BEGIN_DECLS

typedef enum {
  PF_RENDER_FORMAT_PNG,
  PF_RENDER_FORMAT_SVG,
  PF_RENDER_FORMAT_PDF,
} PfRenderFormat;

typedef struct {
  double x, y, w, h;
} PfRenderRect;

typedef void (*PfRenderDrawFunc) (cairo_t *cr, double width, double height, gpointer user_data);

/* The format of ".png", ".svg" or ".pdf" (any case); FALSE with PF_ERROR_UNSUPPORTED else. */
gboolean pf_render_format_from_path (const char *path, PfRenderFormat *out, GError **error);

/* Draws on a white background and writes the file (see above). PF_ERROR_INVALID for a size
 * outside 1..16384, PF_ERROR_IO when the file cannot be written. */
gboolean pf_render_to_file (const char *path, int width, int height, PfRenderDrawFunc draw,
                            gpointer user_data, GError **error);

G_END_DECLS
