/* pf-render-table.h — a table of text cells as a figure (the band tables of `pflow eval`), so
 * reports get a PNG/SVG/PDF of the numbers beside the Markdown. */
#pragma once
#include "pf-render-file.h"

G_BEGIN_DECLS

typedef struct {
  int n_rows, n_cols;       /* body rows (the header row is extra) */
  const char *const *header; /* n_cols */
  const char *const *cells;  /* n_rows * n_cols, row-major */
  const char *title;         /* NULL: none */
} PfTableSpec;

/* Column widths follow the widest cell; rows alternate shades; numbers are right-aligned
 * (a cell starting with a digit, a sign or a dot), text left-aligned. */
void pf_render_table (cairo_t *cr, const PfRenderRect *area, const PfTableSpec *s);
/* The size a table needs at the default font size (to size the figure). */
void pf_render_table_size (const PfTableSpec *s, int *width, int *height);
gboolean pf_render_table_to_file (const char *path, const PfTableSpec *s, GError **error);

G_END_DECLS
