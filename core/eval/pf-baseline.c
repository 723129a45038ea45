/* pf-baseline.c — trk_n + trk_p + a emcal + b hcal, a and b by streaming least squares. */
#include "pf-baseline.h"
#include "pf-error.h"

#include <math.h>
#include <string.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_linalg.h>

struct _PfBaselineFit {
  int S;
  int64_t n_events, n_pixels;
  double xx[3]; /* emcal.emcal, emcal.hcal, hcal.hcal */
  double xy[2]; /* emcal.y, hcal.y with y = truth - trk_n - trk_p */
  double yy;
};

void
pf_baseline_init_raw (PfBaseline *bl)
{
  memset (bl, 0, sizeof *bl);
  bl->a = bl->b = 1;
  bl->rms = NAN;
}

PfBaselineFit *
pf_baseline_fit_new (int image_size)
{
  g_return_val_if_fail (image_size > 0, NULL);
  PfBaselineFit *f = g_new0 (PfBaselineFit, 1);
  f->S = image_size;
  return f;
}

void
pf_baseline_fit_free (PfBaselineFit *f)
{
  g_free (f);
}

gboolean
pf_baseline_fit_add (PfBaselineFit *f, int64_t n, const float *inputs, const float *truth,
                     GError **error)
{
  const size_t plane = (size_t) n * f->S * f->S;
  if (n < 0 || (n > 0 && (!inputs || !truth)))
    {
      g_set_error (error, PF_ERROR, PF_ERROR_INVALID, "baseline fit: empty block of %"
                   G_GINT64_FORMAT " events", n);
      return FALSE;
    }
  const float *em = inputs, *hc = inputs + plane, *tn = inputs + 2 * plane,
              *tp = inputs + 3 * plane;
  for (size_t i = 0; i < plane; i++)
    if (!isfinite (em[i]) || !isfinite (hc[i]) || !isfinite (tn[i]) || !isfinite (tp[i])
        || !isfinite (truth[i]))
      {
        g_set_error (error, PF_ERROR, PF_ERROR_NUMERIC,
                     "baseline fit: non-finite value in event %zu of the block",
                     i / ((size_t) f->S * f->S));
        return FALSE;
      }
  double xx0 = 0, xx1 = 0, xx2 = 0, xy0 = 0, xy1 = 0, yy = 0;
  int64_t np = 0;
  for (size_t i = 0; i < plane; i++)
    {
      double e = em[i], h = hc[i], y = (double) truth[i] - tn[i] - tp[i];
      xx0 += e * e; xx1 += e * h; xx2 += h * h;
      xy0 += e * y; xy1 += h * y; yy += y * y;
      np += (em[i] != 0 || hc[i] != 0 || tn[i] != 0 || tp[i] != 0 || truth[i] != 0);
    }
  f->xx[0] += xx0; f->xx[1] += xx1; f->xx[2] += xx2;
  f->xy[0] += xy0; f->xy[1] += xy1; f->yy += yy;
  f->n_pixels += np;
  f->n_events += n;
  return TRUE;
}

gboolean
pf_baseline_fit_finish (const PfBaselineFit *f, PfBaseline *out, GError **error)
{
  if (f->n_events == 0 || f->n_pixels < 3)
    {
      g_set_error (error, PF_ERROR, PF_ERROR_INVALID,
                   "baseline fit: %" G_GINT64_FORMAT " events with %" G_GINT64_FORMAT
                   " non-empty pixels, too few to fit two constants", f->n_events, f->n_pixels);
      return FALSE;
    }
  double g[4] = { f->xx[0], f->xx[1], f->xx[1], f->xx[2] };
  double vt[4], sv[2], work[2], c[2], rhs[2] = { f->xy[0], f->xy[1] };
  gsl_matrix_view U = gsl_matrix_view_array (g, 2, 2);
  gsl_matrix_view V = gsl_matrix_view_array (vt, 2, 2);
  gsl_vector_view S = gsl_vector_view_array (sv, 2), W = gsl_vector_view_array (work, 2);
  gsl_vector_view B = gsl_vector_view_array (rhs, 2), X = gsl_vector_view_array (c, 2);
  gsl_error_handler_t *old = gsl_set_error_handler_off ();
  int st = gsl_linalg_SV_decomp (&U.matrix, &V.matrix, &S.vector, &W.vector);
  gboolean singular = st != GSL_SUCCESS || !(sv[0] > 0) || sv[1] <= 1e-12 * sv[0];
  if (!singular)
    st = gsl_linalg_SV_solve (&U.matrix, &V.matrix, &S.vector, &B.vector, &X.vector);
  gsl_set_error_handler (old);
  if (singular || st != GSL_SUCCESS || !isfinite (c[0]) || !isfinite (c[1]))
    {
      const char *why = f->xx[0] == 0 ? "emcal is zero in every training pixel"
                        : f->xx[2] == 0 ? "hcal is zero in every training pixel"
                        : "emcal and hcal are proportional over the training pixels";
      g_set_error (error, PF_ERROR, PF_ERROR_NUMERIC, "baseline fit: singular system (%s)", why);
      return FALSE;
    }
  /* Residual sum of squares from the accumulated moments (clamped: rounding can take it
   * a hair below zero on an exact fit). */
  double rss = f->yy - 2 * (c[0] * f->xy[0] + c[1] * f->xy[1])
               + c[0] * c[0] * f->xx[0] + 2 * c[0] * c[1] * f->xx[1] + c[1] * c[1] * f->xx[2];
  rss = MAX (rss, 0.0);
  double s2 = rss / (double) (f->n_pixels - 2);
  double det = f->xx[0] * f->xx[2] - f->xx[1] * f->xx[1];
  memset (out, 0, sizeof *out);
  out->a = c[0];
  out->b = c[1];
  out->a_err = sqrt (MAX (s2 * f->xx[2] / det, 0.0));
  out->b_err = sqrt (MAX (s2 * f->xx[0] / det, 0.0));
  out->n_events = f->n_events;
  out->n_pixels = f->n_pixels;
  out->rms = sqrt (rss / (double) f->n_pixels);
  return TRUE;
}

void
pf_baseline_apply (const PfBaseline *bl, int64_t n, int image_size, const float *inputs,
                   float *pred)
{
  const size_t plane = (size_t) n * image_size * image_size;
  const float *em = inputs, *hc = inputs + plane, *tn = inputs + 2 * plane,
              *tp = inputs + 3 * plane;
  const double a = bl->a, b = bl->b;
  for (size_t i = 0; i < plane; i++)
    pred[i] = (float) ((double) tn[i] + tp[i] + a * em[i] + b * hc[i]);
}

#define GROUP "baseline"

gboolean
pf_baseline_save (const PfBaseline *bl, const char *path, GError **error)
{
  GKeyFile *kf = g_key_file_new ();
  g_key_file_set_comment (kf, NULL, NULL,
                          " pflow baseline: prediction = trk_n + trk_p + a*emcal + b*hcal (GeV)",
                          NULL);
  g_key_file_set_double (kf, GROUP, "a", bl->a);
  g_key_file_set_double (kf, GROUP, "b", bl->b);
  g_key_file_set_double (kf, GROUP, "a_err", bl->a_err);
  g_key_file_set_double (kf, GROUP, "b_err", bl->b_err);
  g_key_file_set_int64 (kf, GROUP, "n_events", bl->n_events);
  g_key_file_set_int64 (kf, GROUP, "n_pixels", bl->n_pixels);
  g_key_file_set_double (kf, GROUP, "rms", isfinite (bl->rms) ? bl->rms : -1);
  gsize len = 0;
  char *data = g_key_file_to_data (kf, &len, NULL);
  g_key_file_free (kf);
  GError *err = NULL;
  /* g_file_set_contents writes a temporary beside the target and renames it into place. */
  gboolean ok = g_file_set_contents (path, data, len, &err);
  g_free (data);
  if (!ok)
    {
      g_set_error (error, PF_ERROR, PF_ERROR_IO, "%s: cannot write the baseline: %s", path,
                   err->message);
      g_error_free (err);
    }
  return ok;
}

gboolean
pf_baseline_load (PfBaseline *bl, const char *path, GError **error)
{
  GKeyFile *kf = g_key_file_new ();
  GError *err = NULL;
  if (!g_key_file_load_from_file (kf, path, G_KEY_FILE_NONE, &err))
    {
      g_set_error (error, PF_ERROR, PF_ERROR_IO, "%s: cannot read the baseline: %s", path,
                   err->message);
      g_error_free (err);
      g_key_file_free (kf);
      return FALSE;
    }
  PfBaseline b;
  const char *names[] = { "a", "b", "a_err", "b_err", "rms" };
  double *vals[] = { &b.a, &b.b, &b.a_err, &b.b_err, &b.rms };
  gboolean ok = TRUE;
  for (guint i = 0; ok && i < G_N_ELEMENTS (names); i++)
    {
      *vals[i] = g_key_file_get_double (kf, GROUP, names[i], &err);
      if (err || !isfinite (*vals[i]))
        {
          g_set_error (error, PF_ERROR, PF_ERROR_FORMAT, "%s: [%s] %s %s", path, GROUP, names[i],
                       err ? err->message : "is not finite");
          g_clear_error (&err);
          ok = FALSE;
        }
    }
  if (ok)
    {
      b.n_events = g_key_file_get_int64 (kf, GROUP, "n_events", &err);
      if (!err)
        b.n_pixels = g_key_file_get_int64 (kf, GROUP, "n_pixels", &err);
      if (err || b.n_events < 0 || b.n_pixels < 0 || b.a_err < 0 || b.b_err < 0)
        {
          g_set_error (error, PF_ERROR, PF_ERROR_FORMAT, "%s: [%s] %s", path, GROUP,
                       err ? err->message : "negative count or error");
          g_clear_error (&err);
          ok = FALSE;
        }
    }
  g_key_file_free (kf);
  if (ok)
    {
      if (b.rms < 0)
        b.rms = NAN; /* the raw sum has no fit residual */
      *bl = b;
    }
  return ok;
}
