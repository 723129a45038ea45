/* test-jets-cli.c — `pflow jets` and `pflow bench jets` (through tests/jets/jets-cli-main.c):
 * JSON output equal to the library's jets, line-numbered errors, dataset images; and
 * `pflow simulate --jets` (builtin and HepMC3) through the pflow binary. */
#include <glib.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>
#include "pf-dataset.h"
#include "pf-error.h"
#include "pf-fastjet.h"
#include "pf-hepmc3.h"
#include "pf-particles.h"
#include "pf-pixels.h"
#include "pf-sim.h"

static char *tmpdir;

static int
run_cli (const char *const *args, char **out, char **err)
{
  const char *cli = g_getenv ("PF_JETS_CLI");
  GPtrArray *argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (char *) cli);
  for (int i = 0; args[i]; i++)
    g_ptr_array_add (argv, (char *) args[i]);
  g_ptr_array_add (argv, NULL);
  gint status = 0;
  GError *error = NULL;
  g_assert_true (g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                               out, err, &status, &error));
  g_assert_no_error (error);
  g_ptr_array_free (argv, TRUE);
  g_assert_true (WIFEXITED (status));
  return WEXITSTATUS (status);
}

/* The numbers after every "key": in a JSON text, in order. */
static GArray *
json_values (const char *json, const char *key)
{
  GArray *a = g_array_new (FALSE, FALSE, sizeof (double));
  char *pat = g_strdup_printf ("\"%s\": ", key);
  for (const char *p = strstr (json, pat); p; p = strstr (p + 1, pat))
    {
      double v = g_ascii_strtod (p + strlen (pat), NULL);
      g_array_append_val (a, v);
    }
  g_free (pat);
  return a;
}

static void
compare_json (const char *json, const PfJetList *l)
{
  const char *keys[] = { "rap", "phi", "pt", "E", "area", "nconst" };
  for (int k = 0; k < 6; k++)
    {
      GArray *a = json_values (json, keys[k]);
      g_assert_cmpuint (a->len, ==, l->n_jets);
      for (int i = 0; i < l->n_jets; i++)
        {
          const PfJet *j = &l->jets[i];
          double ref = k == 0 ? j->rap : k == 1 ? j->phi : k == 2 ? j->pt : k == 3 ? j->e
                       : k == 4 ? j->area : j->n_const;
          g_assert_cmpfloat (fabs (g_array_index (a, double, i) - ref), <=, 1e-9 * MAX (1, fabs (ref)));
        }
      g_array_free (a, TRUE);
    }
}

static void
test_particles (void)
{
  if (!g_getenv ("PF_JETS_CLI"))
    {
      g_test_skip ("PF_JETS_CLI not set (run through meson test)");
      return;
    }
  char *path = g_build_filename (tmpdir, "p.txt", NULL);
  GString *s = g_string_new ("# px py pz E\n\n");
  GArray *xyze = g_array_new (FALSE, FALSE, sizeof (double));
  for (int i = 0; i < 60; i++)
    {
      double e = 2 + (i * 37) % 50, eta = -2 + 0.07 * i, phi = 3.1 + 0.013 * i * (i % 3);
      double pt = e / cosh (eta), v[4] = { pt * cos (phi), pt * sin (phi), pt * sinh (eta), e };
      g_array_append_vals (xyze, v, 4);
      char b[4][G_ASCII_DTOSTR_BUF_SIZE];
      g_string_append_printf (s, "%s %s\t%s %s  # particle %d\n", g_ascii_dtostr (b[0], 64, v[0]),
                              g_ascii_dtostr (b[1], 64, v[1]), g_ascii_dtostr (b[2], 64, v[2]),
                              g_ascii_dtostr (b[3], 64, v[3]), i);
    }
  g_assert_true (g_file_set_contents (path, s->str, -1, NULL));
  char *out = NULL, *err = NULL;
  const char *args[] = { "jets", "--particles", path, "--algorithm", "kt", "--radius", "0.5",
                         "--ptmin", "3", "--area", "--json", NULL };
  g_assert_cmpint (run_cli (args, &out, &err), ==, 0);
  PfJetParams p;
  pf_jet_params_init_default (&p);
  p.algorithm = PF_JET_KT;
  p.radius = 0.5;
  p.ptmin = 3;
  p.areas = TRUE;
  PfJetList *l = pf_fastjet_cluster (&p, (double *) xyze->data, xyze->len / 4, NULL);
  g_assert_cmpint (l->n_jets, >, 1);
  g_assert_true (g_str_has_prefix (out, "{\"algorithm\": \"kt\""));
  compare_json (out, l);
  pf_jet_list_free (l);
  g_free (out);
  g_free (err);

  /* a bad line is named */
  g_string_append (s, "1 2 3\n");
  g_assert_true (g_file_set_contents (path, s->str, -1, NULL));
  const char *args2[] = { "jets", "--particles", path, NULL };
  g_assert_cmpint (run_cli (args2, &out, &err), ==, 1);
  char *where = g_strdup_printf ("%s:63: expected 4 numbers", path);
  g_assert_nonnull (strstr (err, where));
  g_free (where);
  g_free (out);
  g_free (err);
  g_string_truncate (s, s->len - 6);
  g_string_append (s, "1 2 3 nan\n");
  g_assert_true (g_file_set_contents (path, s->str, -1, NULL));
  g_assert_cmpint (run_cli (args2, &out, &err), ==, 1);
  g_assert_nonnull (strstr (err, ":63: E 'nan' is not a finite number"));
  g_free (out);
  g_free (err);
  /* usage errors */
  const char *args3[] = { "jets", "--particles", path, "--algorithm", "siscone", NULL };
  g_assert_cmpint (run_cli (args3, &out, &err), ==, 2);
  g_free (out);
  g_free (err);
  const char *args4[] = { "jets", NULL };
  g_assert_cmpint (run_cli (args4, &out, &err), ==, 2);
  g_free (out);
  g_free (err);
  g_unlink (path);
  g_free (path);
  g_string_free (s, TRUE);
  g_array_free (xyze, TRUE);
}

static void
test_dataset (void)
{
  if (!g_getenv ("PF_JETS_CLI"))
    {
      g_test_skip ("PF_JETS_CLI not set (run through meson test)");
      return;
    }
  PfSimParams sp;
  pf_sim_params_init_default (&sp);
  sp.seed = 9;
  int s = sp.image_size;
  float *block = g_new (float, (gsize) PF_N_CHANNELS * 2 * s * s);
  pf_sim_run (&sp, 0, 2, block, 1);
  char *path = g_build_filename (tmpdir, "d.h5", NULL);
  GError *error = NULL;
  PfDatasetWriter *w = pf_dataset_writer_new (path, &sp, s, 0, &error);
  g_assert_no_error (error);
  g_assert_true (pf_dataset_writer_append (w, 2, block, &error));
  g_assert_true (pf_dataset_writer_commit (w, &error));
  g_assert_no_error (error);
  for (int paper = 0; paper <= 1; paper++)
    {
      char *out = NULL, *err = NULL;
      const char *args[] = { "jets", "--data", path, "--event", "1", "--channel", "emcal",
                             "--ptmin", "5", "--threshold", "0.2", "--area", "--json",
                             paper ? "--paper-compat" : NULL, NULL };
      g_assert_cmpint (run_cli (args, &out, &err), ==, 0);
      /* event 1 of the emcal channel: block[(ch * n + e) * S * S] */
      const float *img = block + ((gsize) PF_CH_EMCAL * 2 + 1) * s * s;
      PfPixelParams pp;
      pf_pixel_params_init_default (&pp);
      pp.threshold = 0.2;
      pp.paper_compat = paper;
      double *xyze = g_new (double, 4 * s * s);
      int n = pf_pixels_to_particles (&pp, img, xyze, NULL, &error);
      g_assert_cmpint (n, >, 100);
      PfJetParams p;
      pf_jet_params_init_default (&p);
      p.ptmin = 5;
      p.areas = TRUE;
      PfJetList *l = pf_fastjet_cluster (&p, xyze, n, &error);
      g_assert_cmpint (l->n_jets, >, 0);
      compare_json (out, l);
      pf_jet_list_free (l);
      g_free (xyze);
      g_free (out);
      g_free (err);
    }
  char *out = NULL, *err = NULL;
  const char *bad_ch[] = { "jets", "--data", path, "--channel", "jet", NULL };
  g_assert_cmpint (run_cli (bad_ch, &out, &err), ==, 1);
  g_assert_nonnull (strstr (err, "no channel 'jet'"));
  g_free (out);
  g_free (err);
  const char *bad_ev[] = { "jets", "--data", path, "--event", "2", NULL };
  g_assert_cmpint (run_cli (bad_ev, &out, &err), ==, 1);
  g_assert_nonnull (strstr (err, "event 2 outside [0, 2)"));
  g_free (out);
  g_free (err);
  g_unlink (path);
  g_free (path);
  g_free (block);
}

static void
test_bench (void)
{
  if (!g_getenv ("PF_JETS_CLI"))
    {
      g_test_skip ("PF_JETS_CLI not set (run through meson test)");
      return;
    }
  char *out = NULL, *err = NULL;
  const char *args[] = { "bench-jets", "--events", "2", "--repeat", "2", "--json", NULL };
  g_assert_cmpint (run_cli (args, &out, &err), ==, 0);
  GArray *m = json_values (out, "median_ms"), *j = json_values (out, "mean_jets");
  g_assert_cmpuint (m->len, ==, 1);
  g_assert_cmpfloat (g_array_index (m, double, 0), >, 0);
  g_assert_cmpfloat (g_array_index (j, double, 0), >, 1);
  g_array_free (m, TRUE);
  g_array_free (j, TRUE);
  g_free (out);
  g_free (err);
}

/* `pflow simulate --jets`: the real binary (PFLOW_BIN, or app/pflow of the build that holds
 * PF_JETS_CLI). */
static char *
pflow_bin (void)
{
  const char *env = g_getenv ("PFLOW_BIN"), *cli = g_getenv ("PF_JETS_CLI");
  if (env)
    return g_strdup (env);
  if (!cli)
    return NULL;
  char *d1 = g_path_get_dirname (cli), *d2 = g_path_get_dirname (d1), *d3 = g_path_get_dirname (d2);
  char *bin = g_build_filename (d3, "app", "pflow", NULL);
  g_free (d1);
  g_free (d2);
  g_free (d3);
  if (!g_file_test (bin, G_FILE_TEST_IS_EXECUTABLE))
    g_clear_pointer (&bin, g_free);
  return bin;
}

static int
run_pflow (const char *bin, const char *const *args, char **out, char **err)
{
  GPtrArray *argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (char *) bin);
  for (int i = 0; args[i]; i++)
    g_ptr_array_add (argv, (char *) args[i]);
  g_ptr_array_add (argv, NULL);
  gint status = 0;
  GError *error = NULL;
  g_assert_true (g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                               out, err, &status, &error));
  g_assert_no_error (error);
  g_ptr_array_free (argv, TRUE);
  g_assert_true (WIFEXITED (status));
  return WEXITSTATUS (status);
}

static void
test_simulate_jets (void)
{
  char *bin = pflow_bin ();
  if (!bin)
    {
      g_test_skip ("no pflow binary (set PFLOW_BIN)");
      return;
    }
  char *out = NULL, *err = NULL;
  char *path = g_build_filename (tmpdir, "jets.h5", NULL);
  const char *sim[] = { "simulate", "--jets", "builtin", "--events", "20", "--particles", "200",
                        "-q", "-o", path, NULL };
  g_assert_cmpint (run_pflow (bin, sim, &out, &err), ==, 0);
  g_free (out);
  g_free (err);
  const char *info[] = { "info", path, NULL };
  g_assert_cmpint (run_pflow (bin, info, &out, &err), ==, 0);
  g_assert_nonnull (strstr (out, "6 channels"));
  g_free (out);
  g_free (err);

  /* the jet channel is the truth of the jet particles alone: inside the truth, and the truth
   * minus it is the plain simulator's truth of the same seed */
  GError *error = NULL;
  PfDataset *d = pf_dataset_open (path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (pf_dataset_n_channels (d), ==, 6);
  char *src = pf_dataset_attr_string (d, "jet_source");
  g_assert_cmpstr (src, ==, "builtin");
  g_free (src);
  PfSimParams p;
  g_assert_true (pf_dataset_params (d, &p));
  const gsize npix = 56 * 56;
  float *jet = g_new (float, npix), *truth = g_new (float, npix), *plain = g_new (float, 5 * npix);
  g_assert_true (pf_dataset_read_channel (d, PF_DATASET_CH_JET, 3, 1, jet, &error));
  g_assert_true (pf_dataset_read_channel (d, PF_CH_TRUTH, 3, 1, truth, &error));
  pf_sim_run (&p, 3, 1, plain, 1);
  double jsum = 0;
  for (gsize i = 0; i < npix; i++)
    {
      jsum += jet[i];
      g_assert_cmpfloat (fabs (truth[i] - jet[i] - plain[PF_CH_TRUTH * npix + i]), <=, 1e-4 * truth[i] + 1e-5);
    }
  g_assert_cmpfloat (jsum, >, 100); /* two partons of pt >= 120 GeV */
  pf_dataset_close (d);
  g_free (jet);
  g_free (truth);
  g_free (plain);

  /* a HepMC3 file: 3 events for 2 jet events per simulated event -> 1 event, then stop */
  char *hep = g_build_filename (tmpdir, "jets.hepmc3", NULL);
  PfParticleList ev[3];
  for (int e = 0; e < 3; e++)
    {
      pf_particle_list_init (&ev[e]);
      PfParticle q = { 0 };
      pf_particle_set_massless (&q, 200, 0.5, 1.0 + e);
      q.pdg = 211;
      q.charge = 1;
      q.species = PF_SPECIES_CHARGED_HADRON;
      pf_particle_list_append (&ev[e], &q);
      q.pdg = 12; /* a neutrino: dropped */
      q.charge = 0;
      q.species = PF_SPECIES_INVISIBLE;
      pf_particle_list_append (&ev[e], &q);
    }
  g_assert_true (pf_hepmc3_write (hep, ev, 3, FALSE, &error));
  for (int e = 0; e < 3; e++)
    pf_particle_list_clear (&ev[e]);
  char *hpath = g_build_filename (tmpdir, "hep.h5", NULL);
  const char *simh[] = { "simulate", "--jets", hep, "--jets-per-event", "2", "--events", "5",
                         "--particles", "100", "-o", hpath, NULL };
  g_assert_cmpint (run_pflow (bin, simh, &out, &err), ==, 0);
  g_assert_nonnull (strstr (err, "enough for 1 simulated events"));
  g_free (out);
  g_free (err);
  d = pf_dataset_open (hpath, &error);
  g_assert_no_error (error);
  g_assert_cmpint (pf_dataset_n_events (d), ==, 1);
  char *used = pf_dataset_attr_string (d, "jet_events_used");
  g_assert_cmpstr (used, ==, "3");
  g_free (used);
  jet = g_new (float, npix);
  g_assert_true (pf_dataset_read_channel (d, PF_DATASET_CH_JET, 0, 1, jet, &error));
  jsum = 0;
  for (gsize i = 0; i < npix; i++)
    jsum += jet[i];
  g_assert_cmpfloat (fabs (jsum - 400), <, 1e-3); /* two visible pions, no neutrino */
  g_free (jet);
  pf_dataset_close (d);

  /* a broken file: FILE:LINE in the message, no dataset */
  char *bad = g_build_filename (tmpdir, "bad.hepmc3", NULL);
  char *bpath = g_build_filename (tmpdir, "bad.h5", NULL);
  g_assert_true (g_file_set_contents (bad, "HepMC::Version 3.02.05\nHepMC::Asciiv3-START_EVENT_LISTING\n"
                                      "E 0 1 1\nU GEV MM\nP 1 0 2212 0 0 x 7000 0.938 4\n", -1, NULL));
  const char *simb[] = { "simulate", "--jets", bad, "--events", "2", "-q", "-o", bpath, NULL };
  g_assert_cmpint (run_pflow (bin, simb, &out, &err), !=, 0);
  char *where = g_strdup_printf ("%s:5", bad);
  g_assert_nonnull (strstr (err, where));
  g_assert_false (g_file_test (bpath, G_FILE_TEST_EXISTS));
  g_free (where);
  g_free (out);
  g_free (err);
  g_unlink (path);
  g_unlink (hep);
  g_unlink (hpath);
  g_unlink (bad);
  g_free (path);
  g_free (hep);
  g_free (hpath);
  g_free (bad);
  g_free (bpath);
  g_free (bin);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  tmpdir = g_dir_make_tmp ("pf-jets-cli-XXXXXX", NULL);
  g_test_add_func ("/jets-cli/particles", test_particles);
  g_test_add_func ("/jets-cli/dataset", test_dataset);
  g_test_add_func ("/jets-cli/bench", test_bench);
  g_test_add_func ("/jets-cli/simulate-jets", test_simulate_jets);
  int r = g_test_run ();
  g_rmdir (tmpdir);
  g_free (tmpdir);
  return r;
}
