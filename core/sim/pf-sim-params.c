/* pf-sim-params.c — the simulator's parameters: defaults (DESIGN.md §4), validation, the
 * name table used for HDF5 attributes and `pflow info`, and the published file name. */
#include "pf-sim.h"
#include "pf-error.h"

#include <math.h>
#include <string.h>
#include <stddef.h>

void
pf_sim_params_init_default (PfSimParams *p)
{
  memset (p, 0, sizeof *p);
  p->n_particles = 1600;
  p->frac_pi0 = 0.25;
  p->frac_neutral_cum = 0.5;
  p->eta_max = 2.5;
  p->bfield = 0.5;
  p->image_size = 56;
  p->res_scale = 1.0;
  p->trk_res = 0.05;
  p->emc_res = 0.05;
  p->hcal_res = 0.1;
  p->nonlin = 0.3;
  p->charged_range = 0.9;
  p->wrap_phi = FALSE;
  p->trk_threshold = 0.1;
  p->emc_threshold = 0.2;
  p->hcal_threshold = 0.3;
  p->em_sampling = 0.9;
  p->em_leak = 0.1;
  p->had_emc_frac = 0.1;
  p->seed = 0;
}

#define PF_PARAM(field, type) { #field, type, offsetof (PfSimParams, field) }
static const PfSimParamInfo param_table[] = {
  PF_PARAM (n_particles, PF_PARAM_INT),
  PF_PARAM (frac_pi0, PF_PARAM_DOUBLE),
  PF_PARAM (frac_neutral_cum, PF_PARAM_DOUBLE),
  PF_PARAM (eta_max, PF_PARAM_DOUBLE),
  PF_PARAM (bfield, PF_PARAM_DOUBLE),
  PF_PARAM (image_size, PF_PARAM_INT),
  PF_PARAM (res_scale, PF_PARAM_DOUBLE),
  PF_PARAM (trk_res, PF_PARAM_DOUBLE),
  PF_PARAM (emc_res, PF_PARAM_DOUBLE),
  PF_PARAM (hcal_res, PF_PARAM_DOUBLE),
  PF_PARAM (nonlin, PF_PARAM_DOUBLE),
  PF_PARAM (charged_range, PF_PARAM_DOUBLE),
  PF_PARAM (wrap_phi, PF_PARAM_BOOL),
  PF_PARAM (trk_threshold, PF_PARAM_DOUBLE),
  PF_PARAM (emc_threshold, PF_PARAM_DOUBLE),
  PF_PARAM (hcal_threshold, PF_PARAM_DOUBLE),
  PF_PARAM (em_sampling, PF_PARAM_DOUBLE),
  PF_PARAM (em_leak, PF_PARAM_DOUBLE),
  PF_PARAM (had_emc_frac, PF_PARAM_DOUBLE),
  PF_PARAM (seed, PF_PARAM_U64),
};
#undef PF_PARAM

const PfSimParamInfo *
pf_sim_param_table (guint *n)
{
  if (n)
    *n = G_N_ELEMENTS (param_table);
  return param_table;
}

/* Limits that keep the arithmetic meaningful: a particle index must fit the Philox counter
 * and an image must fit comfortably in memory. */
#define PF_SIM_MAX_PARTICLES 100000000
#define PF_SIM_MAX_IMAGE 4096

static gboolean
check_double (const char *name, double v, double lo, double hi, gboolean lo_open, GError **error)
{
  if (!isfinite (v) || v < lo || v > hi || (lo_open && v == lo))
    {
      g_set_error (error, PF_ERROR, PF_ERROR_INVALID,
                   "simulator parameter %s = %g is invalid: expected a finite value in %c%g, %g]",
                   name, v, lo_open ? '(' : '[', lo, hi);
      return FALSE;
    }
  return TRUE;
}

gboolean
pf_sim_params_validate (const PfSimParams *p, GError **error)
{
  g_return_val_if_fail (p != NULL, FALSE);
  if (p->n_particles < 0 || p->n_particles > PF_SIM_MAX_PARTICLES)
    {
      g_set_error (error, PF_ERROR, PF_ERROR_INVALID,
                   "simulator parameter n_particles = %d is invalid: expected 0 to %d",
                   p->n_particles, PF_SIM_MAX_PARTICLES);
      return FALSE;
    }
  if (p->image_size < 1 || p->image_size > PF_SIM_MAX_IMAGE)
    {
      g_set_error (error, PF_ERROR, PF_ERROR_INVALID,
                   "simulator parameter image_size = %d is invalid: expected 1 to %d",
                   p->image_size, PF_SIM_MAX_IMAGE);
      return FALSE;
    }
  const double big = G_MAXFLOAT; /* everything is computed in float */
  if (!check_double ("frac_pi0", p->frac_pi0, 0, 1, FALSE, error)
      || !check_double ("frac_neutral_cum", p->frac_neutral_cum, 0, 1, FALSE, error)
      || !check_double ("eta_max", p->eta_max, 0, 1e6, TRUE, error)
      || !check_double ("bfield", p->bfield, 0, 1e6, FALSE, error)
      || !check_double ("res_scale", p->res_scale, 0, 1e6, FALSE, error)
      || !check_double ("trk_res", p->trk_res, 0, 1e6, FALSE, error)
      || !check_double ("emc_res", p->emc_res, 0, 1e6, FALSE, error)
      || !check_double ("hcal_res", p->hcal_res, 0, 1e6, FALSE, error)
      || !check_double ("nonlin", p->nonlin, 0, 1e6, FALSE, error)
      || !check_double ("charged_range", p->charged_range, 0, 1, TRUE, error)
      || !check_double ("trk_threshold", p->trk_threshold, 0, big, FALSE, error)
      || !check_double ("emc_threshold", p->emc_threshold, 0, big, FALSE, error)
      || !check_double ("hcal_threshold", p->hcal_threshold, 0, big, FALSE, error)
      || !check_double ("em_sampling", p->em_sampling, 0, 1, FALSE, error)
      || !check_double ("em_leak", p->em_leak, 0, 1, FALSE, error)
      || !check_double ("had_emc_frac", p->had_emc_frac, 0, 1, FALSE, error))
    return FALSE;
  if (p->frac_neutral_cum < p->frac_pi0)
    {
      g_set_error (error, PF_ERROR, PF_ERROR_INVALID,
                   "simulator parameter frac_neutral_cum = %g is invalid: it is a cumulative "
                   "threshold and must not be below frac_pi0 = %g",
                   p->frac_neutral_cum, p->frac_pi0);
      return FALSE;
    }
  if (p->wrap_phi != FALSE && p->wrap_phi != TRUE)
    {
      g_set_error (error, PF_ERROR, PF_ERROR_INVALID,
                   "simulator parameter wrap_phi = %d is invalid: expected 0 or 1", p->wrap_phi);
      return FALSE;
    }
  return TRUE;
}

char *
pf_sim_default_filename (const PfSimParams *p)
{
  /* g_ascii_formatd: a decimal point whatever the locale, as in the published names. */
  char s[G_ASCII_DTOSTR_BUF_SIZE], nl[G_ASCII_DTOSTR_BUF_SIZE], b[G_ASCII_DTOSTR_BUF_SIZE];
  g_ascii_formatd (s, sizeof s, "%.2f", p->res_scale);
  g_ascii_formatd (nl, sizeof nl, "%.2f", p->nonlin);
  g_ascii_formatd (b, sizeof b, "%.2f", p->bfield);
  return g_strdup_printf ("Gauss_S%s_NL%s_B%s.h5", s, nl, b);
}
