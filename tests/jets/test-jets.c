/* test-jets.c — the FastJet shim against FastJet itself, repeatable areas, pixels to
 * particles (both mappings) and jet matching on cases with known answers. */
#include <glib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pf-error.h"
#include "pf-fastjet.h"
#include "pf-particles.h"
#include "pf-pixels.h"

#define SINGLE_EVENT "/usr/share/doc/fastjet-examples/examples/single-event.dat"

/* "px py pz E" lines, '#' comments; returns 4 * n doubles. */
static double *
load_event (const char *path, gsize *n)
{
  gchar *text = NULL;
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  GArray *a = g_array_new (FALSE, FALSE, sizeof (double));
  gchar **lines = g_strsplit (text, "\n", -1);
  for (int i = 0; lines[i]; i++)
    {
      double v[4];
      if (lines[i][0] == '#' || sscanf (lines[i], "%lf %lf %lf %lf", &v[0], &v[1], &v[2], &v[3]) != 4)
        continue;
      g_array_append_vals (a, v, 4);
    }
  g_strfreev (lines);
  g_free (text);
  *n = a->len / 4;
  return (double *) g_array_free (a, FALSE);
}

static void
assert_close (double a, double b, double tol)
{
  if (!(fabs (a - b) <= tol * MAX (1.0, fabs (b))))
    g_error ("%.17g vs %.17g differ by more than %g", a, b, tol);
}

static void
test_fastjet_reference (void)
{
  const char *ref = g_getenv ("PF_FASTJET_REF");
  if (!g_file_test (SINGLE_EVENT, G_FILE_TEST_EXISTS) || !ref)
    {
      g_test_skip ("needs fastjet-examples' single-event.dat and PF_FASTJET_REF (meson test)");
      return;
    }
  gsize n;
  double *xyze = load_event (SINGLE_EVENT, &n);
  g_assert_cmpuint (n, >, 300);
  const struct { const char *alg; double r, ptmin; } cases[] = {
    { "antikt", 0.4, 5.0 }, { "antikt", 0.7, 0.0 }, { "kt", 0.6, 5.0 }, { "cam", 1.0, 10.0 },
  };
  for (guint c = 0; c < G_N_ELEMENTS (cases); c++)
    {
      char r[32], pt[32];
      g_ascii_dtostr (r, sizeof r, cases[c].r);
      g_ascii_dtostr (pt, sizeof pt, cases[c].ptmin);
      for (int areas = 0; areas <= 1; areas++)
        {
          /* with areas the reference uses the same ghosts with FastJet's default strategy */
          const char *argv[] = { ref, SINGLE_EVENT, cases[c].alg, r, pt, areas ? "0.01" : NULL,
                                 NULL };
          gchar *out = NULL;
          gint status = 0;
          GError *error = NULL;
          g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                                       &out, NULL, &status, &error));
          g_assert_no_error (error);
          g_assert_true (g_spawn_check_wait_status (status, NULL));
          gchar **lines = g_strsplit (out, "\n", -1);
          PfJetParams p;
          pf_jet_params_init_default (&p);
          g_assert_true (pf_jet_algorithm_from_string (cases[c].alg, &p.algorithm));
          p.radius = cases[c].r;
          p.ptmin = cases[c].ptmin;
          p.areas = areas;
          p.ghost_area = 0.01; /* as given to the reference */
          PfJetList *jets = pf_fastjet_cluster (&p, xyze, n, &error);
          g_assert_no_error (error);
          int nref = 0;
          for (int i = 0; lines[i] && *lines[i]; i++, nref++)
            {
              double rpt, rrap, rphi, re, rarea = 0;
              int rn;
              g_assert_cmpint (sscanf (lines[i], "%lf %lf %lf %lf %d %lf", &rpt, &rrap, &rphi, &re,
                                       &rn, &rarea), ==, 5 + areas);
              g_assert_cmpint (i, <, jets->n_jets);
              const PfJet *j = &jets->jets[i];
              /* ghosts carry 1e-100 GeV: with areas the momenta move by far less than 1e-12 */
              assert_close (j->pt, rpt, 1e-12);
              assert_close (j->rap, rrap, 1e-12);
              assert_close (j->phi, pf_wrap_phi (rphi), 1e-12);
              g_assert_true (j->phi >= -G_PI && j->phi < G_PI);
              assert_close (j->e, re, 1e-12);
              g_assert_cmpint (j->n_const, ==, rn);
              /* the constituent indices rebuild the jet (E-scheme) */
              double s[4] = { 0 };
              for (int k = 0; k < j->n_const; k++)
                {
                  int ix = j->constituents[k];
                  g_assert_true (ix >= 0 && (gsize) ix < n);
                  if (k)
                    g_assert_cmpint (ix, >, j->constituents[k - 1]);
                  for (int d = 0; d < 4; d++)
                    s[d] += xyze[4 * ix + d];
                }
              assert_close (s[3], j->e, 1e-9);
              assert_close (s[0], j->px, 1e-9);
              assert_close (j->area, rarea, 1e-12);
              if (areas && fabs (j->rap) < 4.5) /* ghosts cover |y| <= 5 only */
                g_assert_cmpfloat (j->area, >, 0.0);
            }
          g_assert_cmpint (jets->n_jets, ==, nref);
          g_assert_cmpint (nref, >, 2);
          pf_jet_list_free (jets);
          g_strfreev (lines);
          g_free (out);
        }
    }
  g_free (xyze);
}

static PfJetList *
cluster_areas (const double *xyze, gsize n, int seed0, double ghost_area)
{
  PfJetParams p;
  pf_jet_params_init_default (&p);
  p.areas = TRUE;
  p.ptmin = 1.0;
  p.ghost_area = ghost_area;
  p.ghost_seed[0] = seed0;
  GError *error = NULL;
  PfJetList *l = pf_fastjet_cluster (&p, xyze, n, &error);
  g_assert_no_error (error);
  return l;
}

static void
test_areas_repeatable (void)
{
  gsize n;
  double *xyze;
  if (g_file_test (SINGLE_EVENT, G_FILE_TEST_EXISTS))
    xyze = load_event (SINGLE_EVENT, &n);
  else
    {
      /* a few particles of our own when fastjet-examples is missing */
      n = 40;
      xyze = g_new (double, 4 * n);
      for (gsize i = 0; i < n; i++)
        {
          PfParticle q;
          pf_particle_set_massless (&q, 5 + i, 0.05 * i - 1, 0.3 * i);
          double v[4] = { q.px, q.py, q.pz, q.e };
          memcpy (xyze + 4 * i, v, sizeof v);
        }
    }
  PfJetList *a = cluster_areas (xyze, n, 12345, 0.01);
  PfJetList *other = cluster_areas (xyze, n, 777, 0.01);
  PfJetList *b = cluster_areas (xyze, n, 12345, 0.01);
  g_assert_cmpint (a->n_jets, ==, b->n_jets);
  gboolean seed_matters = FALSE;
  for (int i = 0; i < a->n_jets; i++)
    {
      g_assert_true (a->jets[i].area == b->jets[i].area); /* bit-identical */
      g_assert_true (a->jets[i].pt == b->jets[i].pt);
      if (i < other->n_jets && other->jets[i].area != a->jets[i].area)
        seed_matters = TRUE;
    }
  /* the ghosts do come from the seed (grid scatter), so the fixed seed is what repeats */
  g_assert_true (seed_matters);
  pf_jet_list_free (a);
  pf_jet_list_free (b);
  pf_jet_list_free (other);
  g_free (xyze);

  /* one isolated hard particle: an anti-kt jet is a disc of area pi R^2, up to the ghost
   * placement error (~4% rms at ghost area 0.01): the mean of 50 seeds is within 2% */
  double sum = 0;
  for (int k = 0; k < 50; k++)
    {
      PfParticle q;
      pf_particle_set_massless (&q, 100, 0.3 + 0.01 * k, 1.0);
      double one[4] = { q.px, q.py, q.pz, q.e };
      PfJetList *l = cluster_areas (one, 1, 1000 + k, 0.01);
      g_assert_cmpint (l->n_jets, ==, 1);
      g_assert_cmpint (l->jets[0].n_const, ==, 1);
      assert_close (l->jets[0].phi, 1.0, 1e-12);
      sum += l->jets[0].area / (G_PI * 0.16);
      pf_jet_list_free (l);
    }
  g_assert_cmpfloat (fabs (sum / 50 - 1), <, 0.02);
}

static void
test_cluster_errors (void)
{
  PfJetParams p;
  pf_jet_params_init_default (&p);
  GError *error = NULL;
  double bad[8] = { 1, 2, 3, 10, 1, NAN, 1, 5 };
  /* no particle: no jet, with and without areas (FastJet itself crashes on ghosts alone) */
  for (int areas = 0; areas < 2; areas++)
    {
      p.areas = areas;
      PfJetList *none = pf_fastjet_cluster (&p, bad, 0, &error);
      g_assert_no_error (error);
      g_assert_nonnull (none);
      g_assert_cmpint (none->n_jets, ==, 0);
      pf_jet_list_free (none);
    }
  p.areas = FALSE;
  g_assert_null (pf_fastjet_cluster (&p, bad, 2, &error));
  g_assert_error (error, PF_ERROR, PF_ERROR_NUMERIC);
  g_assert_nonnull (strstr (error->message, "particle 1"));
  g_clear_error (&error);
  p.radius = -1;
  g_assert_null (pf_fastjet_cluster (&p, bad, 1, &error));
  g_assert_error (error, PF_ERROR, PF_ERROR_INVALID);
  g_clear_error (&error);
  pf_jet_params_init_default (&p);
  p.areas = TRUE;
  p.ghost_area = 0;
  g_assert_false (pf_jet_params_validate (&p, &error));
  g_clear_error (&error);
  PfJetAlgorithm alg;
  g_assert_false (pf_jet_algorithm_from_string ("siscone", &alg));
  /* no particles: no jets, no error */
  pf_jet_params_init_default (&p);
  PfJetList *l = pf_fastjet_cluster (&p, bad, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpint (l->n_jets, ==, 0);
  pf_jet_list_free (l);
}

static void
test_pixels (void)
{
  PfPixelParams p;
  pf_pixel_params_init_default (&p);
  float img[56 * 56] = { 0 };
  img[10 * 56 + 3] = 7.0f;   /* row 10, col 3 */
  img[40 * 56 + 50] = 0.05f; /* below the threshold of 0.1 */
  img[28 * 56 + 13] = 2.0f;
  double xyze[4 * 56 * 56];
  int pix[56 * 56];
  GError *error = NULL;
  p.threshold = 0.1;
  int n = pf_pixels_to_particles (&p, img, xyze, pix, &error);
  g_assert_no_error (error);
  g_assert_cmpint (n, ==, 2);
  g_assert_cmpint (pix[0], ==, 10 * 56 + 3);
  g_assert_cmpint (pix[1], ==, 28 * 56 + 13);
  /* row 10: eta = -2.5 + 10.5 * 5/56; col 3: phi = -pi + 3.5 * 2 pi / 56 */
  double eta = -2.5 + 10.5 * 5.0 / 56, phi = -G_PI + 3.5 * 2 * G_PI / 56;
  PfParticle q = { .px = xyze[0], .py = xyze[1], .pz = xyze[2], .e = xyze[3] };
  assert_close (q.e, 7.0, 1e-12);
  assert_close (pf_particle_eta (&q), eta, 1e-12);
  assert_close (pf_particle_phi (&q), phi, 1e-12);
  assert_close (pf_particle_pt (&q), 7.0 / cosh (eta), 1e-12);
  assert_close (q.e * q.e, q.px * q.px + q.py * q.py + q.pz * q.pz, 1e-12); /* massless */

  /* paper_compat: row 28, col 13 -> z = 0.5, angle 2 pi 13.5 / 56, radius 56 / (2 pi) */
  p.paper_compat = TRUE;
  p.threshold = 1.0;
  n = pf_pixels_to_particles (&p, img, xyze, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (n, ==, 2);
  double rad = 56 / (2 * G_PI), ang = 2 * G_PI * 13.5 / 56;
  double v[3] = { rad * cos (ang), rad * sin (ang), 0.5 }, len = sqrt (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]);
  for (int k = 0; k < 3; k++)
    assert_close (xyze[4 + k], 2.0 * v[k] / len, 1e-12);
  assert_close (xyze[7], 2.0, 1e-12);
  /* row 10 is below the cylinder's middle: z = 10.5 - 28 */
  g_assert_cmpfloat (xyze[2], <, 0);
  assert_close (atan2 (xyze[1], xyze[0]), 2 * G_PI * 3.5 / 56, 1e-12);

  img[5] = NAN;
  g_assert_cmpint (pf_pixels_to_particles (&p, img, xyze, NULL, &error), ==, -1);
  g_assert_error (error, PF_ERROR, PF_ERROR_NUMERIC);
  g_assert_nonnull (strstr (error->message, "row 0, col 5"));
  g_clear_error (&error);
}

static void
test_overlap (void)
{
  double r = 0.4;
  assert_close (pf_circle_overlap (r, r, 0, 0), G_PI * r * r, 1e-12);
  g_assert_cmpfloat (pf_circle_overlap (r, r, 0.81, 0), ==, 0.0);
  /* equal circles at distance r: r^2 (2 pi / 3 - sqrt(3) / 2) */
  assert_close (pf_circle_overlap (r, r, 0, r), r * r * (2 * G_PI / 3 - sqrt (3) / 2), 1e-12);
  assert_close (pf_circle_overlap (r, r, r * 0.6, r * 0.8), r * r * (2 * G_PI / 3 - sqrt (3) / 2),
                1e-12);
  /* a small circle inside a large one */
  assert_close (pf_circle_overlap (0.2, 0.5, 0.1, 0.1), G_PI * 0.04, 1e-12);
  /* across phi = +-pi: centres at pi - 0.1 and -pi + 0.1 are 0.2 apart */
  assert_close (pf_circle_overlap (r, r, 0, (-G_PI + 0.1) - (G_PI - 0.1)),
                pf_circle_overlap (r, r, 0, 0.2), 1e-12);
  g_assert_cmpfloat (pf_circle_overlap (r, r, 0, 2 * G_PI - 0.2), >, 0.3);
}

static PfJet
jet_at (double rap, double phi, double e, double r)
{
  PfJet j = { .rap = rap, .phi = phi, .e = e, .area = G_PI * r * r };
  return j;
}

static void
test_match (void)
{
  PfJet truth[3] = { jet_at (0, 0, 100, 0.4), jet_at (1, 3.1, 50, 0.4), jet_at (-2, 1, 20, 0.4) };
  PfJet pred[3] = { jet_at (1.05, -3.1, 55, 0.35), jet_at (0.05, 0.02, 90, 0.4),
                    jet_at (2, -1, 30, 0.4) };
  PfJetMatch m[3];
  GError *error = NULL;
  for (int mode = 0; mode < 2; mode++)
    {
      int n = pf_jet_match (truth, 3, pred, 3, mode ? PF_MATCH_DELTA_R : PF_MATCH_OVERLAP, 0.5, m,
                            &error);
      g_assert_no_error (error);
      g_assert_cmpint (n, ==, 2);
      g_assert_cmpint (m[0].truth, ==, 0);
      g_assert_cmpint (m[0].pred, ==, 1);
      assert_close (m[0].rel_energy, -0.1, 1e-12);
      assert_close (m[0].d_rap, 0.05, 1e-12);
      assert_close (m[0].d_phi, 0.02, 1e-12);
      g_assert_cmpint (m[1].truth, ==, 1);
      g_assert_cmpint (m[1].pred, ==, 0); /* across the seam */
      assert_close (m[1].rel_energy, 0.1, 1e-12);
      assert_close (m[1].d_phi, 2 * G_PI - 6.2, 1e-12);
      assert_close (m[1].delta_r, hypot (0.05, 2 * G_PI - 6.2), 1e-12);
      g_assert_cmpfloat (m[1].overlap, >, 0.3);
    }
  /* one-to-one: two truth jets want one prediction; the better one gets it */
  PfJet t2[2] = { jet_at (0, 0.3, 10, 0.4), jet_at (0, 0.1, 10, 0.4) };
  PfJet p2[1] = { jet_at (0, 0, 12, 0.4) };
  for (int mode = 0; mode < 2; mode++)
    {
      int n = pf_jet_match (t2, 2, p2, 1, mode ? PF_MATCH_DELTA_R : PF_MATCH_OVERLAP, 0, m, &error);
      g_assert_cmpint (n, ==, 1);
      g_assert_cmpint (m[0].truth, ==, 1);
    }
  /* overlap mode prefers the larger overlap even when a smaller jet is closer */
  PfJet t3[1] = { jet_at (0, 0, 10, 0.4) };
  PfJet p3[2] = { jet_at (0, 0.05, 10, 0.05), jet_at (0, 0.1, 10, 0.4) };
  g_assert_cmpint (pf_jet_match (t3, 1, p3, 2, PF_MATCH_OVERLAP, 0, m, &error), ==, 1);
  g_assert_cmpint (m[0].pred, ==, 1);
  g_assert_cmpint (pf_jet_match (t3, 1, p3, 2, PF_MATCH_DELTA_R, 0, m, &error), ==, 1);
  g_assert_cmpint (m[0].pred, ==, 0);
  /* a truth jet of zero energy is refused */
  t3[0].e = 0;
  g_assert_cmpint (pf_jet_match (t3, 1, p3, 2, PF_MATCH_OVERLAP, 0, m, &error), ==, -1);
  g_assert_error (error, PF_ERROR, PF_ERROR_INVALID);
  g_clear_error (&error);
}

/* Pixels -> anti-kt with areas -> matching of an image with itself and a scaled copy. */
static void
test_image_chain (void)
{
  PfPixelParams pp;
  pf_pixel_params_init_default (&pp);
  float truth[56 * 56] = { 0 }, pred[56 * 56];
  /* a jet straddling phi = +-pi (columns 55 and 0) and one in the middle */
  truth[20 * 56 + 55] = 30, truth[20 * 56 + 0] = 25, truth[21 * 56 + 0] = 5;
  truth[40 * 56 + 20] = 40, truth[41 * 56 + 21] = 10;
  for (int i = 0; i < 56 * 56; i++)
    pred[i] = 1.1f * truth[i];
  double xt[4 * 56 * 56], xp[4 * 56 * 56];
  GError *error = NULL;
  int nt = pf_pixels_to_particles (&pp, truth, xt, NULL, &error);
  int np = pf_pixels_to_particles (&pp, pred, xp, NULL, &error);
  PfJetParams p;
  pf_jet_params_init_default (&p);
  p.areas = TRUE;
  p.ptmin = 1;
  PfJetList *jt = pf_fastjet_cluster (&p, xt, nt, &error);
  PfJetList *jp = pf_fastjet_cluster (&p, xp, np, &error);
  g_assert_no_error (error);
  g_assert_cmpint (jt->n_jets, ==, 2);
  g_assert_cmpint (jp->n_jets, ==, 2);
  /* the seam jet sits at phi ~ +-pi */
  gboolean seam = FALSE;
  for (int i = 0; i < 2; i++)
    seam |= fabs (fabs (jt->jets[i].phi) - G_PI) < 0.1;
  g_assert_true (seam);
  PfJetMatch m[2];
  int n = pf_jet_match (jt->jets, 2, jp->jets, 2, PF_MATCH_OVERLAP, 0, m, &error);
  g_assert_cmpint (n, ==, 2);
  for (int i = 0; i < 2; i++)
    {
      g_assert_cmpint (m[i].pred, ==, m[i].truth);
      assert_close (m[i].rel_energy, 0.1, 1e-6);
      g_assert_cmpfloat (m[i].delta_r, <, 1e-6);
    }
  pf_jet_list_free (jt);
  pf_jet_list_free (jp);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/jets/fastjet-reference", test_fastjet_reference);
  g_test_add_func ("/jets/areas-repeatable", test_areas_repeatable);
  g_test_add_func ("/jets/cluster-errors", test_cluster_errors);
  g_test_add_func ("/jets/pixels", test_pixels);
  g_test_add_func ("/jets/overlap", test_overlap);
  g_test_add_func ("/jets/match", test_match);
  g_test_add_func ("/jets/image-chain", test_image_chain);
  return g_test_run ();
}
