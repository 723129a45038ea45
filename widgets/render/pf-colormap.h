/* pf-colormap.h — colour maps of the figures.
 *
 * Viridis (perceptually uniform, readable in grey and by most colour-blind readers) for
 * energies, and a diverging blue-white-red map (ColorBrewer RdBu, reversed so that negative is
 * blue) for residuals, whose range the renderers keep symmetric so that white means zero. Both
 * are tabulated and interpolated linearly in sRGB. */
#pragma once
#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  PF_COLORMAP_VIRIDIS,
  PF_COLORMAP_DIVERGING,
} PfColormap;

/* The colour at t in [0, 1] (clamped; NaN gives 0) as sRGB components in [0, 1]. */
void pf_colormap_rgb (PfColormap map, double t, double rgb[3]);
/* The same as 8-bit components (what a PNG holds). */
void pf_colormap_rgb8 (PfColormap map, double t, guint8 rgb[3]);

G_END_DECLS
