/* pf-gauss-fit.h — a Gaussian fitted to a histogram (DESIGN.md §7, energy difference).
 *
 * The model A exp(-(x - mu)^2 / (2 sigma^2)) is fitted to the bin counts at the bin centres by
 * non-linear least squares (GSL gsl_multifit_nlinear, trust region with Levenberg-Marquardt
 * steps), each bin weighted by 1/n (Poisson variance n). Empty bins are left out of the fit, as
 * ROOT's default chi2 fit does: their variance would be 0. The parameter errors are the square
 * roots of the diagonal of (J^T W J)^-1, not rescaled by chi2/ndf, so a bad fit shows in
 * chi2/ndf and not in inflated errors. */
#pragma once
#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  double amplitude, amplitude_err;
  double mean, mean_err;
  double sigma, sigma_err; /* always > 0 */
  double chi2;
  int ndf;                 /* bins used - 3 */
  int n_iter;
} PfGaussFit;

/* Fits counts[nbins] over [lo, hi] (equal bins). Needs at least 4 non-empty bins and a
 * finite, non-degenerate start (PF_ERROR_INVALID otherwise); PF_ERROR_NUMERIC when the fit
 * does not converge. The message says why, for the report. */
gboolean pf_gauss_fit_histogram (const double *counts, int nbins, double lo, double hi,
                                 PfGaussFit *out, GError **error);

/* A histogram with a fixed range can miss the peak: when more entries lie outside [lo, hi]
 * than inside, a fit would describe a tail. FALSE (PF_ERROR_INVALID) then, with a message that
 * says so for the report. */
gboolean pf_gauss_fit_check_coverage (double inside, double outside, double lo, double hi, GError **error);

/* The fitted curve at x (counts per bin). */
double pf_gauss_fit_eval (const PfGaussFit *f, double x);

G_END_DECLS
