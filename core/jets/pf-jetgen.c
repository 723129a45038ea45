/* pf-jetgen.c — the built-in toy jet generator (see pf-jetgen.h for the model). */
#include "pf-jetgen.h"
#include "pf-error.h"
#include "pf-rng.h"
#include <math.h>

void
pf_jetgen_params_init_default (PfJetGenParams *p)
{
  p->pt_min = 120.0;
  p->pt_max = 1000.0;
  p->pt_power = 5.0;
  p->eta_max = 2.0;
  p->z_min = 0.1;
  p->theta_min = 0.02;
  p->theta_max = 0.4;
  p->kt_min = 0.0;
  p->stop_e = 10.0;
  p->max_particles = 400;
  p->frac_pi0 = 0.25;
  p->frac_neutral_cum = 0.5;
  p->seed = 1;
}

gboolean
pf_jetgen_params_validate (const PfJetGenParams *p, GError **error)
{
  const char *bad = NULL;
  if (!(p->pt_min > 0) || !(p->pt_max > p->pt_min) || !isfinite (p->pt_max))
    bad = "pt_min > 0 and pt_max > pt_min (finite)";
  else if (!(p->pt_power > 1) || !isfinite (p->pt_power))
    bad = "pt_power > 1";
  else if (!(p->eta_max >= 0) || p->eta_max > 10)
    bad = "eta_max in [0, 10]";
  else if (!(p->z_min > 0) || !(p->z_min < 0.5))
    bad = "z_min in (0, 0.5)";
  else if (!(p->theta_min > 0) || !(p->theta_max > p->theta_min) || !(p->theta_max <= 1))
    bad = "0 < theta_min < theta_max <= 1";
  else if (!(p->kt_min >= 0) || !isfinite (p->kt_min))
    bad = "kt_min >= 0";
  else if (!(p->stop_e > 0) || !isfinite (p->stop_e))
    bad = "stop_e > 0";
  else if (p->max_particles < 2 || p->max_particles > 100000)
    bad = "max_particles in [2, 100000]";
  else if (!(p->frac_pi0 >= 0) || !(p->frac_neutral_cum >= p->frac_pi0)
           || !(p->frac_neutral_cum <= 1))
    bad = "0 <= frac_pi0 <= frac_neutral_cum <= 1";
  if (bad)
    {
      g_set_error (error, PF_ERROR, PF_ERROR_INVALID, "jet generator: need %s", bad);
      return FALSE;
    }
  return TRUE;
}

/* A sequential stream of words over Philox blocks (seed, JETS, event, counter). */
typedef struct {
  uint64_t seed;
  int64_t event;
  uint32_t counter, used;
  philox4x32_ctr_t block;
} JetRng;

static uint32_t
rng_word (JetRng *r)
{
  if (r->used == 4)
    {
      r->block = pf_rng_block (r->seed, PF_RNG_STREAM_JETS, (uint32_t) r->event, r->counter++,
                               (uint32_t) ((uint64_t) r->event >> 32));
      r->used = 0;
    }
  return r->block.v[r->used++];
}

static double
rng_u01 (JetRng *r)
{
  uint32_t hi = rng_word (r);
  return pf_rng_u01_double (hi, rng_word (r));
}

typedef struct {
  double p[3];
  double theta; /* opening angle allowed to this branch's split (angular ordering) */
} Branch;

static double
norm3 (const double *v)
{
  return sqrt (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]);
}

/* A unit vector perpendicular to unit vector n, at azimuth psi around it. */
static void
perpendicular (const double *n, double psi, double *out)
{
  double a[3] = { 1, 0, 0 };
  if (fabs (n[0]) > 0.9)
    a[0] = 0, a[1] = 1;
  /* e1 = normalised a x n, e2 = n x e1 */
  double e1[3] = { a[1] * n[2] - a[2] * n[1], a[2] * n[0] - a[0] * n[2], a[0] * n[1] - a[1] * n[0] };
  double l = norm3 (e1);
  for (int k = 0; k < 3; k++)
    e1[k] /= l;
  double e2[3] = { n[1] * e1[2] - n[2] * e1[1], n[2] * e1[0] - n[0] * e1[2], n[0] * e1[1] - n[1] * e1[0] };
  for (int k = 0; k < 3; k++)
    out[k] = cos (psi) * e1[k] + sin (psi) * e2[k];
}

static void
emit_hadron (const PfJetGenParams *p, JetRng *r, const double *mom, PfParticleList *out)
{
  double u = rng_u01 (r), s = rng_u01 (r);
  PfParticle h = { .px = mom[0], .py = mom[1], .pz = mom[2], .e = norm3 (mom) };
  if (u < p->frac_pi0)
    h.pdg = 111, h.charge = 0, h.species = PF_SPECIES_EM;
  else if (u < p->frac_neutral_cum)
    h.pdg = 130, h.charge = 0, h.species = PF_SPECIES_NEUTRAL_HADRON;
  else
    {
      h.charge = s < 0.5 ? 1 : -1;
      h.pdg = 211 * h.charge;
      h.species = PF_SPECIES_CHARGED_HADRON;
    }
  pf_particle_list_append (out, &h);
}

/* Splits one parton into hadrons, depth first with an explicit stack; `budget` is the number
 * of hadrons this parton may still make (>= 1). */
static void
shower (const PfJetGenParams *p, JetRng *r, const double *parton, int budget,
        PfParticleList *out)
{
  GArray *stack = g_array_new (FALSE, FALSE, sizeof (Branch));
  Branch top = { { parton[0], parton[1], parton[2] }, p->theta_max };
  g_array_append_val (stack, top);
  int made = 0;
  while (stack->len > 0)
    {
      Branch v = g_array_index (stack, Branch, stack->len - 1);
      g_array_set_size (stack, stack->len - 1);
      double pm = norm3 (v.p);
      double z = p->z_min + (1 - 2 * p->z_min) * rng_u01 (r);
      /* collinear d theta / theta below the parent's angle (angular ordering) */
      double theta = p->theta_min * pow (MAX (v.theta / p->theta_min, 1.0), rng_u01 (r));
      double kt = theta * z * (1 - z) * pm;
      /* below the kT cut-off the branch hadronises; a split adds one particle, so it happens
       * only while the budget leaves room for every pending branch */
      if (pm < p->stop_e || kt < p->kt_min || made + (int) stack->len + 2 > budget)
        {
          emit_hadron (p, r, v.p, out);
          made++;
          continue;
        }
      double n[3] = { v.p[0] / pm, v.p[1] / pm, v.p[2] / pm }, e[3];
      perpendicular (n, 2 * G_PI * rng_u01 (r), e);
      Branch a, b;
      for (int k = 0; k < 3; k++)
        {
          a.p[k] = z * v.p[k] + kt * e[k];
          b.p[k] = v.p[k] - a.p[k]; /* exactly P - p1: momentum conserved */
        }
      a.theta = b.theta = theta;
      g_array_append_val (stack, b);
      g_array_append_val (stack, a);
    }
  g_array_free (stack, TRUE);
}

void
pf_jetgen_event (const PfJetGenParams *p, int64_t event, PfParticleList *out,
                 PfParticle partons[2])
{
  JetRng r = { .seed = p->seed, .event = event, .counter = 0, .used = 4 };
  out->n = 0;
  /* inverse CDF of pT^-n on [pt_min, pt_max] */
  double a = 1 - p->pt_power;
  double lo = pow (p->pt_min, a), hi = pow (p->pt_max, a);
  double pt = pow (lo + (hi - lo) * rng_u01 (&r), 1 / a);
  double phi = -G_PI + 2 * G_PI * rng_u01 (&r);
  PfParticle part[2];
  for (int k = 0; k < 2; k++)
    {
      double eta = p->eta_max * (2 * rng_u01 (&r) - 1);
      double ph = k == 0 ? phi : pf_wrap_phi (phi + G_PI);
      part[k] = (PfParticle) { .pdg = 21, .charge = 0, .species = PF_SPECIES_NEUTRAL_HADRON };
      part[k].px = pt * cos (ph);
      part[k].py = pt * sin (ph);
      part[k].pz = pt * sinh (eta);
      part[k].e = pt * cosh (eta);
    }
  /* the second parton's px, py are exactly minus the first's */
  part[1].px = -part[0].px;
  part[1].py = -part[0].py;
  for (int k = 0; k < 2; k++)
    {
      double mom[3] = { part[k].px, part[k].py, part[k].pz };
      int budget = k == 0 ? p->max_particles / 2 : p->max_particles - (int) out->n;
      shower (p, &r, mom, MAX (budget, 1), out);
    }
  if (partons)
    {
      partons[0] = part[0];
      partons[1] = part[1];
    }
}
