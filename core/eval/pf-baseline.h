/* pf-baseline.h — the non-learned reconstruction every model is compared with (DESIGN.md §7).
 *
 *   prediction = trk_n + trk_p + a * emcal + b * hcal      per pixel, GeV
 *
 * The tracker measures charged energy well (5 % resolution), so it is taken as is. The
 * calorimeters see 0.9 (E - NL sqrt E) of what reaches them, so their scale is too low for
 * neutral particles, while charged hadrons deposit in the calorimeters AND leave a track, so
 * their energy is counted twice. a and b are the least-squares compromise between these, fitted
 * on TRAINING events against the truth over every pixel (minimising
 * sum (truth - trk_n - trk_p - a emcal - b hcal)^2). The raw sum (a = b = 1) is the second
 * reference: what one gets with no calibration at all.
 *
 * The fit streams: blocks add to the 2x2 normal equations (X^T X, X^T y, y^T y in double), so
 * a training set never has to sit in memory as a design matrix; they are solved with GSL's SVD
 * (gsl_linalg_SV_decomp / SV_solve), which also detects a calorimeter that is zero
 * everywhere (no constant can be fitted for it). Errors: sigma^2 (X^T X)^-1 with sigma^2 the
 * residual variance over the pixels where any channel is non-zero.
 *
 * Blocks are channel-major as pf_dataset_read gives them: inputs [4][n][S][S] in the order
 * emcal, hcal, trk_n, trk_p (PF_CH_*), then the truth [n][S][S] separately. */
#pragma once
#include <glib.h>
#include <stdint.h>

G_BEGIN_DECLS

typedef struct {
  double a, b;           /* emcal and hcal scales */
  double a_err, b_err;   /* statistical errors of the fit; 0 for the raw sum */
  int64_t n_events;      /* training events of the fit; 0 for the raw sum */
  int64_t n_pixels;      /* pixels with any channel non-zero */
  double rms;            /* residual RMS over those pixels, GeV */
} PfBaseline;

/* a = b = 1, nothing fitted: the raw sum of the four channels. */
void pf_baseline_init_raw (PfBaseline *bl);

typedef struct _PfBaselineFit PfBaselineFit;

PfBaselineFit *pf_baseline_fit_new (int image_size);
void pf_baseline_fit_free (PfBaselineFit *f);
/* inputs [4][n][S][S], truth [n][S][S]; PF_ERROR_NUMERIC on a non-finite value (the block
 * is then not added). */
gboolean pf_baseline_fit_add (PfBaselineFit *f, int64_t n, const float *inputs,
                              const float *truth, GError **error);
/* Solves for a and b. PF_ERROR_INVALID without events, PF_ERROR_NUMERIC when the system is
 * singular (e.g. hcal zero in every pixel). */
gboolean pf_baseline_fit_finish (const PfBaselineFit *f, PfBaseline *out, GError **error);

/* pred[n][S][S] = trk_n + trk_p + a emcal + b hcal from inputs [4][n][S][S]. */
void pf_baseline_apply (const PfBaseline *bl, int64_t n, int image_size, const float *inputs,
                        float *pred);

/* A GKeyFile ([baseline] a, b, a_err, b_err, n_events, n_pixels, rms), written to a temporary
 * file renamed into place. Loading checks every value is present and finite. */
gboolean pf_baseline_save (const PfBaseline *bl, const char *path, GError **error);
gboolean pf_baseline_load (PfBaseline *bl, const char *path, GError **error);

G_END_DECLS
