/* pf-gauss-fit.c — Poisson-weighted least-squares Gaussian fit of a histogram with GSL. */
#include "pf-gauss-fit.h"
#include "pf-error.h"

#include <math.h>
#include <gsl/gsl_blas.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_multifit_nlinear.h>

typedef struct {
  const double *x; /* bin centres of the bins used */
  const double *y; /* their counts */
  size_t n;
} FitData;

/* Residuals (model - y); the weights 1/y are applied by GSL (winit). */
static int
gauss_f (const gsl_vector *p, void *data, gsl_vector *f)
{
  const FitData *d = data;
  double a = gsl_vector_get (p, 0), mu = gsl_vector_get (p, 1), s = gsl_vector_get (p, 2);
  for (size_t i = 0; i < d->n; i++)
    {
      double z = (d->x[i] - mu) / s;
      gsl_vector_set (f, i, a * exp (-0.5 * z * z) - d->y[i]);
    }
  return GSL_SUCCESS;
}

static int
gauss_df (const gsl_vector *p, void *data, gsl_matrix *J)
{
  const FitData *d = data;
  double a = gsl_vector_get (p, 0), mu = gsl_vector_get (p, 1), s = gsl_vector_get (p, 2);
  for (size_t i = 0; i < d->n; i++)
    {
      double z = (d->x[i] - mu) / s;
      double e = exp (-0.5 * z * z);
      gsl_matrix_set (J, i, 0, e);
      gsl_matrix_set (J, i, 1, a * e * z / s);
      gsl_matrix_set (J, i, 2, a * e * z * z / s);
    }
  return GSL_SUCCESS;
}

gboolean
pf_gauss_fit_check_coverage (double inside, double outside, double lo, double hi, GError **error)
{
  if (outside > inside)
    {
      g_set_error (error, PF_ERROR, PF_ERROR_INVALID,
                   "not fitted: %.0f of %.0f entries lie outside [%g, %g], the peak is not in the histogram",
                   outside, inside + outside, lo, hi);
      return FALSE;
    }
  return TRUE;
}

double
pf_gauss_fit_eval (const PfGaussFit *f, double x)
{
  double z = (x - f->mean) / f->sigma;
  return f->amplitude * exp (-0.5 * z * z);
}

gboolean
pf_gauss_fit_histogram (const double *counts, int nbins, double lo, double hi,
                        PfGaussFit *out, GError **error)
{
  if (nbins < 4 || !isfinite (lo) || !isfinite (hi) || !(hi > lo))
    {
      g_set_error (error, PF_ERROR, PF_ERROR_INVALID,
                   "Gaussian fit: need >= 4 bins over a finite range (got %d bins over [%g, %g])",
                   nbins, lo, hi);
      return FALSE;
    }
  double width = (hi - lo) / nbins;
  double *x = g_new (double, nbins), *y = g_new (double, nbins), *w = g_new (double, nbins);
  size_t n = 0;
  double s0 = 0, s1 = 0, s2 = 0, ymax = 0;
  for (int i = 0; i < nbins; i++)
    {
      double c = counts[i];
      if (!isfinite (c) || c < 0)
        {
          g_set_error (error, PF_ERROR, PF_ERROR_NUMERIC,
                       "Gaussian fit: bin %d holds %g, not a count", i, c);
          g_free (x); g_free (y); g_free (w);
          return FALSE;
        }
      if (c <= 0)
        continue;
      x[n] = lo + (i + 0.5) * width;
      y[n] = c;
      w[n] = 1.0 / c;
      s0 += c; s1 += c * x[n]; s2 += c * x[n] * x[n];
      ymax = MAX (ymax, c);
      n++;
    }
  if (n < 4)
    {
      g_set_error (error, PF_ERROR, PF_ERROR_INVALID,
                   "Gaussian fit: only %zu non-empty bins (need 4 for 3 parameters)", n);
      g_free (x); g_free (y); g_free (w);
      return FALSE;
    }
  /* Start from the histogram's own moments; a sigma under one bin would start the fit on a
   * spike, so the start is at least a bin wide. */
  double mu0 = s1 / s0;
  double var0 = s2 / s0 - mu0 * mu0;
  double sig0 = MAX (sqrt (MAX (var0, 0.0)), width);

  FitData fd = { x, y, n };
  gsl_multifit_nlinear_fdf fdf = { 0 };
  fdf.f = gauss_f;
  fdf.df = gauss_df;
  fdf.n = n;
  fdf.p = 3;
  fdf.params = &fd;
  gsl_multifit_nlinear_parameters fp = gsl_multifit_nlinear_default_parameters ();
  gsl_multifit_nlinear_workspace *ws =
    gsl_multifit_nlinear_alloc (gsl_multifit_nlinear_trust, &fp, n, 3);
  double p0[3] = { ymax, mu0, sig0 };
  gsl_vector_view pv = gsl_vector_view_array (p0, 3);
  gsl_vector_view wv = gsl_vector_view_array (w, n);
  gsl_error_handler_t *old = gsl_set_error_handler_off ();
  int info = 0;
  int status = gsl_multifit_nlinear_winit (&pv.vector, &wv.vector, &fdf, ws);
  if (status == GSL_SUCCESS)
    status = gsl_multifit_nlinear_driver (200, 1e-10, 1e-10, 1e-10, NULL, NULL, &info, ws);
  gboolean ok = FALSE;
  if (status != GSL_SUCCESS)
    g_set_error (error, PF_ERROR, PF_ERROR_NUMERIC, "Gaussian fit did not converge: %s",
                 gsl_strerror (status));
  else
    {
      gsl_matrix *cov = gsl_matrix_alloc (3, 3);
      gsl_multifit_nlinear_covar (gsl_multifit_nlinear_jac (ws), 0.0, cov);
      gsl_vector *p = gsl_multifit_nlinear_position (ws);
      gsl_vector *f = gsl_multifit_nlinear_residual (ws); /* weighted: sqrt(w) r */
      double chi2 = 0;
      gsl_blas_ddot (f, f, &chi2);
      out->amplitude = gsl_vector_get (p, 0);
      out->mean = gsl_vector_get (p, 1);
      out->sigma = fabs (gsl_vector_get (p, 2));
      out->amplitude_err = sqrt (gsl_matrix_get (cov, 0, 0));
      out->mean_err = sqrt (gsl_matrix_get (cov, 1, 1));
      out->sigma_err = sqrt (gsl_matrix_get (cov, 2, 2));
      out->chi2 = chi2;
      out->ndf = (int) n - 3;
      out->n_iter = (int) gsl_multifit_nlinear_niter (ws);
      gsl_matrix_free (cov);
      ok = isfinite (out->amplitude) && isfinite (out->mean) && isfinite (out->sigma)
           && out->sigma > 0 && isfinite (out->mean_err) && isfinite (out->sigma_err)
           && isfinite (chi2);
      if (!ok)
        g_set_error (error, PF_ERROR, PF_ERROR_NUMERIC,
                     "Gaussian fit ended on non-finite parameters or errors");
    }
  gsl_set_error_handler (old);
  gsl_multifit_nlinear_free (ws);
  g_free (x); g_free (y); g_free (w);
  return ok;
}
