/* pf-pixels.c — pixels to particles and jet matching (see pf-pixels.h). */
#include "pf-pixels.h"
#include "pf-particles.h"
#include "pf-error.h"
#include <math.h>
#include <stdlib.h>

void
pf_pixel_params_init_default (PfPixelParams *p)
{
  p->image_size = 56;
  p->eta_max = 2.5;
  p->threshold = 0.0;
  p->paper_compat = FALSE;
}

void
pf_pixel_centre (const PfPixelParams *p, int row, int col, double *eta, double *phi)
{
  int s = p->image_size;
  *eta = -p->eta_max + (row + 0.5) * (2 * p->eta_max / s);
  *phi = -G_PI + (col + 0.5) * (2 * G_PI / s);
}

int
pf_pixels_to_particles (const PfPixelParams *p, const float *img, double *xyze, int *pixel,
                        GError **error)
{
  int s = p->image_size;
  if (s <= 0 || s > 4096 || !isfinite (p->eta_max) || p->eta_max <= 0 || p->eta_max > 20
      || !isfinite (p->threshold) || p->threshold < 0)
    {
      g_set_error (error, PF_ERROR, PF_ERROR_INVALID,
                   "pixel mapping: image size %d, eta max %g or threshold %g out of range",
                   s, p->eta_max, p->threshold);
      return -1;
    }
  int n = 0;
  for (int row = 0; row < s; row++)
    for (int col = 0; col < s; col++)
      {
        double e = img[row * s + col];
        if (!isfinite (e))
          {
            g_set_error (error, PF_ERROR, PF_ERROR_NUMERIC,
                         "pixel (row %d, col %d) is not finite", row, col);
            return -1;
          }
        if (e <= p->threshold || e <= 0)
          continue;
        double *v = xyze + 4 * n;
        if (p->paper_compat)
          {
            /* the published script: a cylinder of circumference S, z along the rows */
            double radius = s / (2 * G_PI), angle = 2 * G_PI * (col + 0.5) / s;
            double x = radius * cos (angle), y = radius * sin (angle), z = row + 0.5 - s / 2.0;
            double norm = sqrt (x * x + y * y + z * z);
            v[0] = e * x / norm;
            v[1] = e * y / norm;
            v[2] = e * z / norm;
          }
        else
          {
            double eta, phi, pt;
            pf_pixel_centre (p, row, col, &eta, &phi);
            pt = e / cosh (eta);
            v[0] = pt * cos (phi);
            v[1] = pt * sin (phi);
            v[2] = pt * sinh (eta);
          }
        v[3] = e;
        if (pixel)
          pixel[n] = row * s + col;
        n++;
      }
  return n;
}

/* Intersection of two circles at distance d (no periodicity). */
static double
lens_area (double r1, double r2, double d)
{
  if (r1 <= 0 || r2 <= 0 || d >= r1 + r2)
    return 0.0;
  double rmin = MIN (r1, r2);
  if (d <= fabs (r1 - r2))
    return G_PI * rmin * rmin;
  double c1 = (d * d + r1 * r1 - r2 * r2) / (2 * d * r1);
  double c2 = (d * d + r2 * r2 - r1 * r1) / (2 * d * r2);
  c1 = CLAMP (c1, -1.0, 1.0);
  c2 = CLAMP (c2, -1.0, 1.0);
  double k = (-d + r1 + r2) * (d + r1 - r2) * (d - r1 + r2) * (d + r1 + r2);
  return r1 * r1 * acos (c1) + r2 * r2 * acos (c2) - 0.5 * sqrt (MAX (k, 0.0));
}

double
pf_circle_overlap (double r1, double r2, double d_rap, double d_phi)
{
  double dphi = pf_wrap_phi (d_phi), sum = 0.0;
  /* images at +-2 pi matter only for circles wider than pi/2 or near the seam */
  for (int k = -1; k <= 1; k++)
    sum += lens_area (r1, r2, hypot (d_rap, dphi + 2 * G_PI * k));
  return sum;
}

typedef struct {
  int t, p;
  double score; /* larger is better */
} Candidate;

static int
cmp_candidate (const void *a, const void *b)
{
  const Candidate *x = a, *y = b;
  if (x->score != y->score)
    return x->score > y->score ? -1 : 1;
  /* ties: lower truth index, then lower prediction index (deterministic) */
  if (x->t != y->t)
    return x->t - y->t;
  return x->p - y->p;
}

static int
cmp_match (const void *a, const void *b)
{
  return ((const PfJetMatch *) a)->truth - ((const PfJetMatch *) b)->truth;
}

int
pf_jet_match (const PfJet *truth, int n_truth, const PfJet *pred, int n_pred,
              PfMatchMode mode, double max_delta_r, PfJetMatch *out, GError **error)
{
  if (n_truth < 0 || n_pred < 0 || (gint64) n_truth * n_pred > 100000000)
    {
      g_set_error (error, PF_ERROR, PF_ERROR_INVALID, "jet matching: %d x %d jets", n_truth,
                   n_pred);
      return -1;
    }
  for (int i = 0; i < n_truth + n_pred; i++)
    {
      const PfJet *j = i < n_truth ? &truth[i] : &pred[i - n_truth];
      const char *which = i < n_truth ? "truth" : "predicted";
      int idx = i < n_truth ? i : i - n_truth;
      if (!isfinite (j->area) || j->area < 0 || !isfinite (j->rap) || !isfinite (j->phi)
          || !isfinite (j->e) || (i < n_truth && j->e <= 0))
        {
          g_set_error (error, PF_ERROR, PF_ERROR_INVALID,
                       "jet matching: %s jet %d has area %g, rap %g, phi %g, E %g", which, idx,
                       j->area, j->rap, j->phi, j->e);
          return -1;
        }
    }
  if (n_truth == 0 || n_pred == 0)
    return 0;
  Candidate *c = g_new (Candidate, (gsize) n_truth * n_pred);
  int nc = 0;
  for (int t = 0; t < n_truth; t++)
    for (int p = 0; p < n_pred; p++)
      {
        double drap = pred[p].rap - truth[t].rap;
        double dphi = pf_wrap_phi (pred[p].phi - truth[t].phi);
        double score;
        if (mode == PF_MATCH_OVERLAP)
          {
            score = pf_circle_overlap (sqrt (truth[t].area / G_PI), sqrt (pred[p].area / G_PI),
                                       drap, dphi);
            if (!(score > 0))
              continue;
          }
        else
          {
            double dr = hypot (drap, dphi);
            if (max_delta_r > 0 && dr > max_delta_r)
              continue;
            score = -dr;
          }
        c[nc++] = (Candidate) { t, p, score };
      }
  qsort (c, nc, sizeof *c, cmp_candidate);
  gboolean *used_t = g_new0 (gboolean, n_truth), *used_p = g_new0 (gboolean, n_pred);
  int n = 0;
  for (int k = 0; k < nc; k++)
    {
      int t = c[k].t, p = c[k].p;
      if (used_t[t] || used_p[p])
        continue;
      used_t[t] = used_p[p] = TRUE;
      PfJetMatch *m = &out[n++];
      m->truth = t;
      m->pred = p;
      m->d_rap = pred[p].rap - truth[t].rap;
      m->d_phi = pf_wrap_phi (pred[p].phi - truth[t].phi);
      m->delta_r = hypot (m->d_rap, m->d_phi);
      m->overlap = pf_circle_overlap (sqrt (truth[t].area / G_PI), sqrt (pred[p].area / G_PI),
                                      m->d_rap, m->d_phi);
      m->rel_energy = (pred[p].e - truth[t].e) / truth[t].e;
    }
  qsort (out, n, sizeof *out, cmp_match);
  g_free (c);
  g_free (used_t);
  g_free (used_p);
  return n;
}
