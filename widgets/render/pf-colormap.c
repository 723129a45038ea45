/* pf-colormap.c — tabulated colour maps. */
#include "pf-colormap.h"

#include <math.h>

/* Matplotlib's viridis (256 entries, van der Walt & Smith, CC0), every 8th entry and the
 * last: the map is smooth enough that linear interpolation between them stays within 0.3 % of
 * the full table. Columns: index in the 256-entry table, r, g, b. */
static const double viridis[][4] = {
  { 0, 0.267004, 0.004874, 0.329415 },   { 8, 0.277018, 0.050344, 0.375715 },
  { 16, 0.282327, 0.094955, 0.417331 },  { 24, 0.282884, 0.135920, 0.453427 },
  { 32, 0.278826, 0.175490, 0.483397 },  { 40, 0.270595, 0.214069, 0.507052 },
  { 48, 0.258965, 0.251537, 0.524736 },  { 56, 0.244972, 0.287675, 0.537260 },
  { 64, 0.229739, 0.322361, 0.545706 },  { 72, 0.214298, 0.355619, 0.551184 },
  { 80, 0.199430, 0.387607, 0.554642 },  { 88, 0.185556, 0.418570, 0.556753 },
  { 96, 0.172719, 0.448791, 0.557885 },  { 104, 0.160665, 0.478540, 0.558115 },
  { 112, 0.149039, 0.508051, 0.557250 }, { 120, 0.137770, 0.537492, 0.554906 },
  { 128, 0.127568, 0.566949, 0.550556 }, { 136, 0.120565, 0.596422, 0.543611 },
  { 144, 0.120638, 0.625828, 0.533488 }, { 152, 0.132268, 0.655014, 0.519661 },
  { 160, 0.157851, 0.683765, 0.501686 }, { 168, 0.196571, 0.711827, 0.479221 },
  { 176, 0.246070, 0.738910, 0.452024 }, { 184, 0.304148, 0.764704, 0.419943 },
  { 192, 0.369214, 0.788888, 0.382914 }, { 200, 0.440137, 0.811138, 0.340967 },
  { 208, 0.515992, 0.831158, 0.294279 }, { 216, 0.595839, 0.848717, 0.243329 },
  { 224, 0.678489, 0.863742, 0.189503 }, { 232, 0.762373, 0.876424, 0.137064 },
  { 240, 0.845561, 0.887322, 0.099702 }, { 248, 0.926106, 0.897330, 0.104071 },
  { 255, 0.993248, 0.906157, 0.143936 },
};

/* ColorBrewer RdBu with 11 classes, reversed: #053061 ... #f7f7f7 ... #67001f, evenly spaced. */
static const guint8 rdbu[][3] = {
  { 0x05, 0x30, 0x61 }, { 0x21, 0x66, 0xac }, { 0x43, 0x93, 0xc3 }, { 0x92, 0xc5, 0xde },
  { 0xd1, 0xe5, 0xf0 }, { 0xf7, 0xf7, 0xf7 }, { 0xfd, 0xdb, 0xc7 }, { 0xf4, 0xa5, 0x82 },
  { 0xd6, 0x60, 0x4d }, { 0xb2, 0x18, 0x2b }, { 0x67, 0x00, 0x1f },
};

void
pf_colormap_rgb (PfColormap map, double t, double rgb[3])
{
  if (!(t > 0))
    t = 0; /* NaN too */
  if (t > 1)
    t = 1;
  if (map == PF_COLORMAP_DIVERGING)
    {
      const int n = G_N_ELEMENTS (rdbu);
      double x = t * (n - 1);
      int i = MIN ((int) x, n - 2);
      double f = x - i;
      for (int c = 0; c < 3; c++)
        rgb[c] = ((1 - f) * rdbu[i][c] + f * rdbu[i + 1][c]) / 255.0;
      return;
    }
  const int n = G_N_ELEMENTS (viridis);
  double x = t * 255.0;
  int i = 0;
  while (i < n - 2 && x > viridis[i + 1][0])
    i++;
  double f = (x - viridis[i][0]) / (viridis[i + 1][0] - viridis[i][0]);
  for (int c = 0; c < 3; c++)
    rgb[c] = (1 - f) * viridis[i][c + 1] + f * viridis[i + 1][c + 1];
}

void
pf_colormap_rgb8 (PfColormap map, double t, guint8 rgb[3])
{
  double v[3];
  pf_colormap_rgb (map, t, v);
  for (int c = 0; c < 3; c++)
    rgb[c] = (guint8) lround (CLAMP (v[c], 0.0, 1.0) * 255.0);
}
