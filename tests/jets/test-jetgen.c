/* test-jetgen.c — the toy jet generator: determinism, momentum balance, positive energies,
 * the pT spectrum bounds and species fractions like the simulator's. */
#include <glib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "pf-error.h"
#include "pf-jetgen.h"

static void
test_determinism (void)
{
  PfJetGenParams p;
  pf_jetgen_params_init_default (&p);
  p.seed = 42;
  PfParticleList a, b, c;
  pf_particle_list_init (&a);
  pf_particle_list_init (&b);
  pf_particle_list_init (&c);
  PfParticle pa[2], pb[2];
  pf_jetgen_event (&p, 7, &a, pa);
  pf_jetgen_event (&p, 3, &c, NULL); /* another event in between changes nothing */
  pf_jetgen_event (&p, 7, &b, pb);
  g_assert_cmpuint (a.n, ==, b.n);
  g_assert_cmpuint (a.n, >, 10);
  g_assert_true (memcmp (a.items, b.items, a.n * sizeof *a.items) == 0);
  g_assert_true (memcmp (pa, pb, sizeof pa) == 0);
  /* another event, another seed, a huge event number: different */
  g_assert_false (c.n == a.n && memcmp (a.items, c.items, a.n * sizeof *a.items) == 0);
  p.seed = 43;
  pf_jetgen_event (&p, 7, &b, pb);
  g_assert_false (memcmp (pa, pb, sizeof pa) == 0);
  pf_jetgen_event (&p, (int64_t) 1 << 40, &b, pb);
  PfParticle pc[2];
  pf_jetgen_event (&p, 0, &c, pc);
  g_assert_false (memcmp (pc, pb, sizeof pc) == 0);
  pf_particle_list_clear (&a);
  pf_particle_list_clear (&b);
  pf_particle_list_clear (&c);
}

static void
test_physics (void)
{
  PfJetGenParams p;
  pf_jetgen_params_init_default (&p);
  p.seed = 5;
  PfParticleList l;
  pf_particle_list_init (&l);
  gint64 n_had = 0, n_em = 0, n_nh = 0, n_pos = 0, n_neg = 0;
  int n_events = 400;
  double mean_pt = 0;
  for (int e = 0; e < n_events; e++)
    {
      PfParticle part[2];
      pf_jetgen_event (&p, e, &l, part);
      /* back to back in the transverse plane, massless, within the spectrum */
      g_assert_cmpfloat (part[0].px + part[1].px, ==, 0.0);
      g_assert_cmpfloat (part[0].py + part[1].py, ==, 0.0);
      double pt = pf_particle_pt (&part[0]);
      g_assert_cmpfloat (pt, >=, p.pt_min * (1 - 1e-12));
      g_assert_cmpfloat (pt, <=, p.pt_max * (1 + 1e-12));
      g_assert_cmpfloat (fabs (pf_particle_eta (&part[0])), <=, p.eta_max + 1e-9);
      g_assert_cmpfloat (fabs (pf_particle_eta (&part[1])), <=, p.eta_max + 1e-9);
      mean_pt += pt / n_events;
      g_assert_cmpuint (l.n, <=, (gsize) p.max_particles);
      g_assert_cmpuint (l.n, >=, 2);
      /* the hadrons carry the partons' three-momentum */
      double s[3] = { 0 }, e_sum = 0;
      for (gsize i = 0; i < l.n; i++)
        {
          const PfParticle *h = &l.items[i];
          g_assert_cmpfloat (h->e, >, 0.0);
          g_assert_true (isfinite (h->e));
          g_assert_cmpfloat (fabs (h->e * h->e - (h->px * h->px + h->py * h->py + h->pz * h->pz)),
                             <=, 1e-9 * h->e * h->e);
          s[0] += h->px, s[1] += h->py, s[2] += h->pz, e_sum += h->e;
          n_had++;
          if (h->species == PF_SPECIES_EM || h->species == PF_SPECIES_NEUTRAL_HADRON)
            {
              g_assert_cmpint (h->charge, ==, 0);
              h->species == PF_SPECIES_EM ? n_em++ : n_nh++;
            }
          else
            {
              g_assert_cmpint (h->species, ==, PF_SPECIES_CHARGED_HADRON);
              g_assert_cmpint (abs (h->charge), ==, 1);
              h->charge > 0 ? n_pos++ : n_neg++;
            }
        }
      double scale = part[0].e + part[1].e;
      g_assert_cmpfloat (fabs (s[0]), <=, 1e-9 * scale);
      g_assert_cmpfloat (fabs (s[1]), <=, 1e-9 * scale);
      g_assert_cmpfloat (fabs (s[2] - part[0].pz - part[1].pz), <=, 1e-9 * scale);
      /* massless splitting with momentum conserved only adds energy, a little */
      g_assert_cmpfloat (e_sum, >=, scale * (1 - 1e-12));
      g_assert_cmpfloat (e_sum, <=, scale * 1.2);
    }
  /* pT^-5 on [120, 1000]: mean = 120 * 4/3 * (1 - (0.12)^3) / (1 - (0.12)^4) ~ 159.7 */
  /* (5 sigma of the mean: the sd of pT^-5 is ~0.47 pt_min) */
  g_assert_cmpfloat (fabs (mean_pt - 159.7), <, 5 * 57.0 / sqrt (n_events));
  /* species fractions within 5 sigma of 0.25 / 0.25 / 0.25 / 0.25 */
  double n = n_had, sigma = sqrt (n * 0.25 * 0.75);
  g_assert_cmpuint (n_had, >, 5000);
  g_assert_cmpfloat (fabs (n_em - 0.25 * n), <, 5 * sigma);
  g_assert_cmpfloat (fabs (n_nh - 0.25 * n), <, 5 * sigma);
  g_assert_cmpfloat (fabs (n_pos - 0.25 * n), <, 5 * sigma);
  g_assert_cmpfloat (fabs (n_neg - 0.25 * n), <, 5 * sigma);
  pf_particle_list_clear (&l);
}

static void
test_params (void)
{
  PfJetGenParams p;
  pf_jetgen_params_init_default (&p);
  GError *error = NULL;
  g_assert_true (pf_jetgen_params_validate (&p, &error));
  p.pt_max = p.pt_min;
  g_assert_false (pf_jetgen_params_validate (&p, &error));
  g_assert_error (error, PF_ERROR, PF_ERROR_INVALID);
  g_clear_error (&error);
  pf_jetgen_params_init_default (&p);
  p.z_min = NAN;
  g_assert_false (pf_jetgen_params_validate (&p, &error));
  g_clear_error (&error);
  /* a tight particle budget is respected */
  pf_jetgen_params_init_default (&p);
  p.max_particles = 3;
  PfParticleList l;
  pf_particle_list_init (&l);
  pf_jetgen_event (&p, 1, &l, NULL);
  g_assert_cmpuint (l.n, <=, 3);
  g_assert_cmpuint (l.n, >=, 2);
  pf_particle_list_clear (&l);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/jetgen/determinism", test_determinism);
  g_test_add_func ("/jetgen/physics", test_physics);
  g_test_add_func ("/jetgen/params", test_params);
  return g_test_run ();
}
