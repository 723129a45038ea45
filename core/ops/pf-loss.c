/* pf-loss.c — MSE, WMSE, SSIM and MIX losses with their gradients (plain reference loops).
 *
 * SSIM per map position q, with x = prediction, y = target and F the Gaussian filter:
 *   mx = F x, my = F y, sxx = F(x x) - mx^2, syy = F(y y) - my^2, sxy = F(x y) - mx my,
 *   S = A1 A2 / (B1 B2), A1 = 2 mx my + C1, A2 = 2 sxy + C2, B1 = mx^2 + my^2 + C1,
 *   B2 = sxx + syy + C2.
 * Seen as a function of (mx, F(x x), F(x y)), its partial derivatives are
 *   dS/dmx = 2 my (A2 - A1) / (B1 B2) - 2 mx S (1/B1 - 1/B2),
 *   dS/dF(xx) = -S / B2,   dS/dF(xy) = 2 A1 / (B1 B2),
 * and dS/dx = F^T (dS/dmx) + 2 x F^T (dS/dF(xx)) + y F^T (dS/dF(xy)), F^T being the adjoint
 * of the (separable) filter. The written form avoids dividing by A1 or A2, which may be 0. */
#include "pf-loss.h"
#include "pf-error.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

void
pf_loss_desc_init (PfLossDesc *d, PfLossKind kind, int n, int h, int w)
{
  memset (d, 0, sizeof *d);
  d->kind = kind;
  d->n = n;
  d->h = h;
  d->w = w;
  d->lambda = PF_LOSS_DEFAULT_LAMBDA;
  d->data_range = 1.0f;
  d->paper_compat = false;
}

static const char *const loss_names[] = { "mse", "wmse", "ssim", "mix" };

gboolean
pf_loss_kind_parse (const char *s, PfLossKind *out)
{
  if (!s)
    return FALSE;
  for (int k = 0; k < (int) G_N_ELEMENTS (loss_names); k++)
    if (g_ascii_strcasecmp (s, loss_names[k]) == 0)
      {
        *out = (PfLossKind) k;
        return TRUE;
      }
  return FALSE;
}

const char *
pf_loss_kind_name (PfLossKind kind)
{
  if ((int) kind < 0 || (int) kind >= (int) G_N_ELEMENTS (loss_names))
    return "unknown";
  return loss_names[kind];
}

static bool
uses_ssim (const PfLossDesc *d)
{
  return d->kind == PF_LOSS_SSIM || d->kind == PF_LOSS_MIX;
}

gboolean
pf_loss_desc_check (const PfLossDesc *d, GError **error)
{
  if ((int) d->kind < PF_LOSS_MSE || d->kind > PF_LOSS_MIX)
    {
      g_set_error (error, PF_ERROR, PF_ERROR_INVALID, "loss: unknown kind %d", (int) d->kind);
      return FALSE;
    }
  if (d->n < 1 || d->h < 1 || d->w < 1)
    {
      g_set_error (error, PF_ERROR, PF_ERROR_SHAPE,
                   "loss %s: expected a [n, 1, h, w] batch with n, h, w >= 1, found [%d, 1, %d, %d]",
                   pf_loss_kind_name (d->kind), d->n, d->h, d->w);
      return FALSE;
    }
  if ((size_t) d->n * d->h > SIZE_MAX / 8 / (size_t) d->w)
    {
      g_set_error (error, PF_ERROR, PF_ERROR_SHAPE, "loss %s: batch [%d, 1, %d, %d] too large",
                   pf_loss_kind_name (d->kind), d->n, d->h, d->w);
      return FALSE;
    }
  if (uses_ssim (d))
    {
      if (!d->paper_compat && (d->h < PF_SSIM_WINDOW || d->w < PF_SSIM_WINDOW))
        {
          g_set_error (error, PF_ERROR, PF_ERROR_SHAPE,
                       "loss %s: SSIM over valid positions needs images of at least %dx%d, found %dx%d",
                       pf_loss_kind_name (d->kind), PF_SSIM_WINDOW, PF_SSIM_WINDOW, d->h, d->w);
          return FALSE;
        }
      if (!isfinite (d->data_range) || d->data_range <= 0)
        {
          g_set_error (error, PF_ERROR, PF_ERROR_INVALID,
                       "loss %s: the SSIM data range must be finite and > 0, found %g",
                       pf_loss_kind_name (d->kind), (double) d->data_range);
          return FALSE;
        }
    }
  if (d->kind == PF_LOSS_MIX && !isfinite (d->lambda))
    {
      g_set_error (error, PF_ERROR, PF_ERROR_INVALID, "loss mix: lambda must be finite, found %g",
                   (double) d->lambda);
      return FALSE;
    }
  return TRUE;
}

/* ---- separable filter ----------------------------------------------------------------- */

/* Correlation of an h x w image with the separable window gv (kh taps down the rows) x gh
 * (kw taps along the columns), zero padding (ph, pw): the map is oh x ow. The default SSIM
 * uses 11x11 taps and no padding; the published one a 1x11 window padded by 5 on both axes. */
typedef struct {
  int h, w, kh, kw, ph, pw, oh, ow;
  float gv[PF_SSIM_WINDOW];
  float gh[PF_SSIM_WINDOW];
} SsimGeom;

void
pf_ssim_window_1d (float win[PF_SSIM_WINDOW])
{
  double g[PF_SSIM_WINDOW], sum = 0;
  for (int i = 0; i < PF_SSIM_WINDOW; i++)
    {
      double x = i - PF_SSIM_WINDOW / 2;
      g[i] = exp (-x * x / (2.0 * PF_SSIM_SIGMA * PF_SSIM_SIGMA));
      sum += g[i];
    }
  for (int i = 0; i < PF_SSIM_WINDOW; i++)
    win[i] = (float) (g[i] / sum);
}

static void
ssim_geom (const PfLossDesc *d, SsimGeom *g)
{
  g->h = d->h;
  g->w = d->w;
  pf_ssim_window_1d (g->gh);
  g->kw = PF_SSIM_WINDOW;
  if (d->paper_compat)
    {
      g->kh = 1;
      g->gv[0] = 1.0f;
      g->ph = g->pw = PF_SSIM_WINDOW / 2;
    }
  else
    {
      g->kh = PF_SSIM_WINDOW;
      memcpy (g->gv, g->gh, sizeof g->gv);
      g->ph = g->pw = 0;
    }
  g->oh = g->h + 2 * g->ph - g->kh + 1;
  g->ow = g->w + 2 * g->pw - g->kw + 1;
}

/* out [oh, ow] = F in [h, w], through tmp [h, ow]. */
static void
filter_forward (const SsimGeom *g, const float *in, float *tmp, float *out)
{
  for (int i = 0; i < g->h; i++)
    for (int c = 0; c < g->ow; c++)
      {
        int b0 = MAX (0, g->pw - c), b1 = MIN (g->kw, g->w + g->pw - c);
        const float *row = in + (size_t) i * g->w;
        double s = 0;
        for (int b = b0; b < b1; b++)
          s += (double) g->gh[b] * row[c + b - g->pw];
        tmp[(size_t) i * g->ow + c] = (float) s;
      }
  for (int r = 0; r < g->oh; r++)
    {
      int a0 = MAX (0, g->ph - r), a1 = MIN (g->kh, g->h + g->ph - r);
      for (int c = 0; c < g->ow; c++)
        {
          double s = 0;
          for (int a = a0; a < a1; a++)
            s += (double) g->gv[a] * tmp[(size_t) (r + a - g->ph) * g->ow + c];
          out[(size_t) r * g->ow + c] = (float) s;
        }
    }
}

/* out [h, w] = F^T map [oh, ow], through tmp [h, ow]: each map value scattered back over
 * the input pixels its window covered (weights of the padding are dropped). */
static void
filter_adjoint (const SsimGeom *g, const float *map, float *tmp, float *out)
{
  for (int i = 0; i < g->h; i++)
    {
      /* rows r = i - a + ph of the map, for the taps a that land inside it */
      int a0 = MAX (0, i + g->ph - g->oh + 1), a1 = MIN (g->kh, i + g->ph + 1);
      for (int c = 0; c < g->ow; c++)
        {
          double s = 0;
          for (int a = a0; a < a1; a++)
            s += (double) g->gv[a] * map[(size_t) (i - a + g->ph) * g->ow + c];
          tmp[(size_t) i * g->ow + c] = (float) s;
        }
    }
  for (int i = 0; i < g->h; i++)
    for (int j = 0; j < g->w; j++)
      {
        int b0 = MAX (0, j + g->pw - g->ow + 1), b1 = MIN (g->kw, j + g->pw + 1);
        const float *row = tmp + (size_t) i * g->ow;
        double s = 0;
        for (int b = b0; b < b1; b++)
          s += (double) g->gh[b] * row[j - b + g->pw];
        out[(size_t) i * g->w + j] = (float) s;
      }
}

size_t
pf_loss_workspace_floats (const PfLossDesc *d)
{
  if (!uses_ssim (d))
    return 0;
  SsimGeom g;
  ssim_geom (d, &g);
  size_t map = (size_t) g.oh * g.ow;
  /* five filtered maps, the horizontal-pass buffer, one image-sized buffer */
  return 5 * map + (size_t) g.h * g.ow + (size_t) g.h * g.w;
}

/* ---- the terms ------------------------------------------------------------------------ */

/* Each term returns its value and, when dpred is set, ADDS scale * d(term)/dpred to it. */

static double
mse_term (const PfLossDesc *d, const float *p, const float *y, float *dp, double scale)
{
  size_t count = (size_t) d->n * d->h * d->w;
  double sum = 0;
  for (size_t i = 0; i < count; i++)
    {
      double e = (double) p[i] - y[i];
      sum += e * e;
    }
  if (dp)
    {
      double k = 2.0 * scale / (double) count;
      for (size_t i = 0; i < count; i++)
        dp[i] += (float) (k * ((double) p[i] - y[i]));
    }
  return sum / (double) count;
}

static double
wmse_term (const PfLossDesc *d, const float *p, const float *y, float *dp, double scale)
{
  size_t hw = (size_t) d->h * d->w;
  double total = 0;
  if (!d->paper_compat)
    {
      for (int b = 0; b < d->n; b++)
        {
          const float *pb = p + b * hw, *yb = y + b * hw;
          double num = 0, den = 0;
          for (size_t i = 0; i < hw; i++)
            {
              double e = (double) pb[i] - yb[i];
              num += yb[i] * e * e;
              den += yb[i];
            }
          den += PF_LOSS_WMSE_EPS;
          total += num / den;
          if (dp)
            {
              double k = 2.0 * scale / (den * d->n);
              float *db = dp + b * hw;
              for (size_t i = 0; i < hw; i++)
                db[i] += (float) (k * yb[i] * ((double) pb[i] - yb[i]));
            }
        }
      return total / d->n;
    }
  /* published: one weighted mean per phi column (sum over the eta rows) */
  for (int b = 0; b < d->n; b++)
    for (int j = 0; j < d->w; j++)
      {
        const float *pb = p + b * hw + j, *yb = y + b * hw + j;
        double num = 0, den = 0;
        for (int i = 0; i < d->h; i++)
          {
            double yi = yb[(size_t) i * d->w], e = (double) pb[(size_t) i * d->w] - yi;
            num += yi * e * e;
            den += yi;
          }
        den += PF_LOSS_WMSE_EPS;
        total += num / den;
        if (dp)
          {
            double k = 2.0 * scale / (den * d->n * d->w);
            float *db = dp + b * hw + j;
            for (int i = 0; i < d->h; i++)
              {
                size_t o = (size_t) i * d->w;
                db[o] += (float) (k * yb[o] * ((double) pb[o] - yb[o]));
              }
          }
      }
  return total / ((double) d->n * d->w);
}

/* Mean SSIM over map and batch; adds scale * d(mean SSIM)/dpred to dp. */
static double
ssim_term (const PfLossDesc *d, const float *p, const float *y, float *dp, double scale,
           float *ws)
{
  SsimGeom g;
  ssim_geom (d, &g);
  size_t hw = (size_t) g.h * g.w, m = (size_t) g.oh * g.ow;
  float *mx = ws, *my = mx + m, *exx = my + m, *eyy = exx + m, *exy = eyy + m;
  float *tmp = exy + m, *img = tmp + (size_t) g.h * g.ow;
  double c1 = 0.01 * d->data_range, c2 = 0.03 * d->data_range;
  c1 *= c1;
  c2 *= c2;
  double k = scale / ((double) m * d->n); /* d(mean)/d(S at one position) times scale */
  double total = 0;

  for (int b = 0; b < d->n; b++)
    {
      const float *x = p + b * hw, *t = y + b * hw;
      filter_forward (&g, x, tmp, mx);
      filter_forward (&g, t, tmp, my);
      for (size_t i = 0; i < hw; i++)
        img[i] = x[i] * x[i];
      filter_forward (&g, img, tmp, exx);
      for (size_t i = 0; i < hw; i++)
        img[i] = t[i] * t[i];
      filter_forward (&g, img, tmp, eyy);
      for (size_t i = 0; i < hw; i++)
        img[i] = x[i] * t[i];
      filter_forward (&g, img, tmp, exy);

      double sum = 0;
      for (size_t q = 0; q < m; q++)
        {
          double ux = mx[q], uy = my[q];
          double sxx = exx[q] - ux * ux, syy = eyy[q] - uy * uy, sxy = exy[q] - ux * uy;
          double a1 = 2 * ux * uy + c1, a2 = 2 * sxy + c2;
          double b1 = ux * ux + uy * uy + c1, b2 = sxx + syy + c2;
          double bb = b1 * b2, s = a1 * a2 / bb;
          sum += s;
          if (dp)
            {
              /* the three map gradients replace mx, exx, exy at this position */
              mx[q] = (float) (k * (2 * uy * (a2 - a1) / bb - 2 * ux * s * (1 / b1 - 1 / b2)));
              exx[q] = (float) (k * (-s / b2));
              exy[q] = (float) (k * (2 * a1 / bb));
            }
        }
      total += sum / (double) m;
      if (!dp)
        continue;
      float *db = dp + b * hw;
      filter_adjoint (&g, mx, tmp, img);
      for (size_t i = 0; i < hw; i++)
        db[i] += img[i];
      filter_adjoint (&g, exx, tmp, img);
      for (size_t i = 0; i < hw; i++)
        db[i] += 2 * x[i] * img[i];
      filter_adjoint (&g, exy, tmp, img);
      for (size_t i = 0; i < hw; i++)
        db[i] += t[i] * img[i];
    }
  return total / d->n;
}

double
pf_loss_forward_parts (const PfLossDesc *d, const float *pred, const float *target,
                       float *dpred, float *workspace, PfLossParts *parts)
{
  g_return_val_if_fail (pf_loss_desc_check (d, NULL), NAN);
  g_return_val_if_fail (!uses_ssim (d) || workspace, NAN);
  if (dpred)
    memset (dpred, 0, sizeof (float) * d->n * d->h * d->w);
  PfLossParts r = { NAN, NAN, NAN, NAN };
  switch (d->kind)
    {
    case PF_LOSS_MSE:
      r.total = r.mse = mse_term (d, pred, target, dpred, 1.0);
      break;
    case PF_LOSS_WMSE:
      r.total = r.wmse = wmse_term (d, pred, target, dpred, 1.0);
      break;
    case PF_LOSS_SSIM:
      r.ssim = ssim_term (d, pred, target, dpred, -1.0, workspace);
      r.total = 1.0 - r.ssim;
      break;
    case PF_LOSS_MIX:
      r.wmse = wmse_term (d, pred, target, dpred, 1.0);
      r.ssim = ssim_term (d, pred, target, dpred, -(double) d->lambda, workspace);
      r.total = r.wmse + d->lambda * (1.0 - r.ssim);
      break;
    }
  if (parts)
    *parts = r;
  return r.total;
}

double
pf_loss_forward (const PfLossDesc *d, const float *pred, const float *target, float *dpred,
                 float *workspace)
{
  return pf_loss_forward_parts (d, pred, target, dpred, workspace, NULL);
}
