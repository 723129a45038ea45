/* test-hepmc3.c — the HepMC3 reader on files its writer made (GeV and MeV) and on malformed
 * files, where each error must name the file and the line. */
#include <glib.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>
#include "pf-error.h"
#include "pf-hepmc3.h"

static const int pdgs[] = { 211, -211, 22, 111, 130, 2112, -2212, 321, 11, 14 };

static void
make_events (PfParticleList *ev, int n_events)
{
  for (int i = 0; i < n_events; i++)
    {
      pf_particle_list_init (&ev[i]);
      for (int j = 0; j < 7 * i; j++) /* event 0 is empty */
        {
          PfParticle p = { .pdg = pdgs[j % G_N_ELEMENTS (pdgs)] };
          pf_particle_set_massless (&p, 0.1 + 13.7 * j / 3.0, -2.4 + 0.37 * j, 0.9 * j - 3);
          p.charge = pf_pdg_charge (p.pdg);
          p.species = pf_pdg_species (p.pdg);
          g_assert_true (pf_particle_list_append (&ev[i], &p));
        }
    }
}

static void
test_roundtrip (void)
{
  enum { N = 4 };
  PfParticleList ev[N];
  make_events (ev, N);
  char *dir = g_dir_make_tmp ("pf-hepmc3-XXXXXX", NULL);
  for (int mev = 0; mev <= 1; mev++)
    {
      char *path = g_build_filename (dir, mev ? "mev.hepmc3" : "gev.hepmc3", NULL);
      GError *error = NULL;
      g_assert_true (pf_hepmc3_write (path, ev, N, mev, &error));
      g_assert_no_error (error);
      PfHepmc3Reader *r = pf_hepmc3_reader_open (path, &error);
      g_assert_no_error (error);
      PfParticleList got;
      pf_particle_list_init (&got);
      gint64 num;
      int i = 0;
      while (pf_hepmc3_reader_next (r, &got, &num, &error))
        {
          g_assert_cmpint (i, <, N);
          g_assert_cmpint (num, ==, i);
          /* the two status-4 beam protons are not final state */
          g_assert_cmpuint (got.n, ==, ev[i].n);
          for (gsize j = 0; j < got.n; j++)
            {
              const PfParticle *a = &got.items[j], *b = &ev[i].items[j];
              double tol = mev ? 1e-15 : 0; /* GeV: exact (shortest round-trip printing) */
              g_assert_cmpfloat (fabs (a->px - b->px), <=, tol * fabs (b->px));
              g_assert_cmpfloat (fabs (a->py - b->py), <=, tol * fabs (b->py));
              g_assert_cmpfloat (fabs (a->pz - b->pz), <=, tol * fabs (b->pz));
              g_assert_cmpfloat (fabs (a->e - b->e), <=, tol * fabs (b->e));
              g_assert_cmpint (a->pdg, ==, b->pdg);
              g_assert_cmpint (a->charge, ==, b->charge);
              g_assert_cmpint (a->species, ==, b->species);
            }
          i++;
        }
      g_assert_no_error (error);
      g_assert_cmpint (i, ==, N);
      g_assert_false (pf_hepmc3_reader_next (r, &got, &num, &error)); /* stays at the end */
      g_assert_no_error (error);
      pf_hepmc3_reader_free (r);
      pf_particle_list_clear (&got);
      g_unlink (path);
      g_free (path);
    }
  g_rmdir (dir);
  g_free (dir);
  for (int i = 0; i < N; i++)
    pf_particle_list_clear (&ev[i]);
}

static void
test_pdg (void)
{
  g_assert_cmpint (pf_pdg_charge (211), ==, 1);
  g_assert_cmpint (pf_pdg_charge (-211), ==, -1);
  g_assert_cmpint (pf_pdg_charge (321), ==, 1);
  g_assert_cmpint (pf_pdg_charge (311), ==, 0);
  g_assert_cmpint (pf_pdg_charge (2212), ==, 1);
  g_assert_cmpint (pf_pdg_charge (-2212), ==, -1);
  g_assert_cmpint (pf_pdg_charge (2112), ==, 0);
  g_assert_cmpint (pf_pdg_charge (3122), ==, 0);
  g_assert_cmpint (pf_pdg_charge (3222), ==, 1);  /* Sigma+ */
  g_assert_cmpint (pf_pdg_charge (3312), ==, -1); /* Xi- */
  g_assert_cmpint (pf_pdg_charge (411), ==, 1);   /* D+ */
  g_assert_cmpint (pf_pdg_charge (521), ==, 1);   /* B+ */
  g_assert_cmpint (pf_pdg_charge (11), ==, -1);
  g_assert_cmpint (pf_pdg_charge (-13), ==, 1);
  g_assert_cmpint (pf_pdg_charge (22), ==, 0);
  g_assert_cmpint (pf_pdg_species (22), ==, PF_SPECIES_EM);
  g_assert_cmpint (pf_pdg_species (-11), ==, PF_SPECIES_EM);
  g_assert_cmpint (pf_pdg_species (130), ==, PF_SPECIES_NEUTRAL_HADRON);
  g_assert_cmpint (pf_pdg_species (-321), ==, PF_SPECIES_CHARGED_HADRON);
  g_assert_cmpint (pf_pdg_species (-14), ==, PF_SPECIES_INVISIBLE);
  g_assert_cmpint (pf_pdg_charge (G_MININT), ==, 0);
}

#define HEAD "HepMC::Version 3.02.05\nHepMC::Asciiv3-START_EVENT_LISTING\n"
#define TAIL "HepMC::Asciiv3-END_EVENT_LISTING\n"
#define GOOD_P "P 1 0 211 1 2 3 4 0.1 1\n"

typedef struct {
  const char *text;
  int line;
  const char *what;
} Bad;

static const Bad bad_files[] = {
  { "E 0 0 0\n", 1, "START_EVENT_LISTING" },
  { "HepMC::Version 2.06.09\nHepMC::IO_GenEvent-START_EVENT_LISTING\nE 0 1\n", 2, "HepMC2" },
  { HEAD "P 1 0 211 1 2 3 4 0 1\n", 3, "outside an event" },
  { HEAD "E 0 0 1\nP 1 0 211 1 2 3 4x 0 1\n" TAIL, 4, "energy '4x' is not a number" },
  { HEAD "E 0 0 1\nP 1 0 211 1 nan 3 4 0 1\n" TAIL, 4, "py 'nan' is not finite" },
  { HEAD "E 0 0 1\nP 1 0 211 1 2 3 1e999 0 1\n" TAIL, 4, "not finite" },
  { HEAD "E 0 0 1\nP 1 0 211 1 2 3 4 0\n" TAIL, 4, "missing status" },
  { HEAD "E 0 0 1\nP 1 0 211 1 2 3 4 0 1 7\n" TAIL, 4, "after the status" },
  { HEAD "E 0 0 1\nP 2 0 211 1 2 3 4 0 1\n" TAIL, 4, "out of order" },
  { HEAD "E 0 0 1\n" GOOD_P "P 2 0 211 1 2 3 4 0 1\n" TAIL, 5, "beyond the 1 declared" },
  { HEAD "E 5 0 3\n" GOOD_P TAIL, 5, "declares 3 particles but has 1" },
  { HEAD "E 5 0 3\n" GOOD_P "E 6 0 0\n" TAIL, 5, "(line 3)" },
  { HEAD "E 0 0 1\nU GEV KM\n" GOOD_P TAIL, 4, "length unit 'KM'" },
  { HEAD "E 0 0 1\nU KEV MM\n" GOOD_P TAIL, 4, "momentum unit 'KEV'" },
  { HEAD "E 0 0 1\nU GEV\n" GOOD_P TAIL, 4, "missing length unit" },
  { HEAD "E 0 0 1\nX 1 2 3\n" TAIL, 4, "unknown record 'X'" },
  { HEAD "E 0 0 1\nPX 1 2 3\n" TAIL, 4, "not a letter followed by a space" },
  { HEAD "E zero 0 1\n" TAIL, 3, "event number 'zero'" },
  { HEAD "E 0 0 -1\n" TAIL, 3, "particle count -1 outside" },
  { HEAD "E 0 0 99999999999\n" TAIL, 3, "particle count" },
  { HEAD "E 0 0 1\nP 1 0 99999999999 1 2 3 4 0 1\n" TAIL, 4, "PDG id" },
  { HEAD "E 0 0 1\nP 1 0 22 1 2 3 -4 0 1\n" TAIL, 4, "negative energy" },
  { HEAD "E 0 0 1\n" GOOD_P HEAD, 6, "second START" },
};

static void
check_error (const char *name, const char *data, gsize len, int line, const char *what)
{
  PfHepmc3Reader *r = pf_hepmc3_reader_new_from_data (data, len, name);
  PfParticleList l;
  pf_particle_list_init (&l);
  GError *error = NULL;
  int events = 0;
  while (pf_hepmc3_reader_next (r, &l, NULL, &error))
    events++;
  if (!error)
    g_error ("%s: no error (expected '%s' at line %d)", name, what, line);
  g_assert_error (error, PF_ERROR, PF_ERROR_FORMAT);
  char *where = g_strdup_printf ("%s:%d: ", name, line);
  if (!g_str_has_prefix (error->message, where) || !strstr (error->message, what))
    g_error ("message '%s' lacks '%s' or '%s'", error->message, where, what);
  g_clear_error (&error);
  /* the reader stays failed, with the same message */
  g_assert_false (pf_hepmc3_reader_next (r, &l, NULL, &error));
  g_assert_nonnull (error);
  g_assert_true (g_str_has_prefix (error->message, where));
  g_clear_error (&error);
  g_free (where);
  pf_particle_list_clear (&l);
  pf_hepmc3_reader_free (r);
}

static void
test_malformed (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (bad_files); i++)
    {
      char name[32];
      g_snprintf (name, sizeof name, "bad%u.hepmc3", i);
      check_error (name, bad_files[i].text, strlen (bad_files[i].text), bad_files[i].line,
                   bad_files[i].what);
    }
  /* a NUL byte */
  static const char nul[] = HEAD "E 0 0 1\nP 1 0 211 1\0 2 3 4 0 1\n";
  check_error ("nul.hepmc3", nul, sizeof nul - 1, 4, "NUL byte");
  /* a line over the bound is refused before it is all read */
  GString *s = g_string_new (HEAD "E 0 0 0\nA ");
  for (int i = 0; i < PF_HEPMC3_MAX_LINE; i++)
    g_string_append_c (s, 'a');
  check_error ("long.hepmc3", s->str, s->len, 4, "line longer than");
  g_string_free (s, TRUE);
  /* a missing file is an I/O error naming it */
  GError *error = NULL;
  g_assert_null (pf_hepmc3_reader_open ("/nonexistent/x.hepmc3", &error));
  g_assert_error (error, PF_ERROR, PF_ERROR_IO);
  g_assert_nonnull (strstr (error->message, "/nonexistent/x.hepmc3"));
  g_clear_error (&error);
}

/* Accepted variations: CRLF line ends, no END line, the optional records, MeV + CM, an event
 * whose particles are all intermediate. */
static void
test_lenient (void)
{
  static const char text[] =
    "HepMC::Version 3.02.05\r\n" "HepMC::Asciiv3-START_EVENT_LISTING\r\n"
    "T Pythia8 8.310\r\nN 1 \"Weight\"\r\n"
    "E 3 1 3 @ 0 0 0 0\r\nU MEV CM\r\nW 1.0\r\nA 0 GenCrossSection 1 2 3 4\r\nC 1.0 0.1\r\n"
    "P 1 0 2212 0 0 7000 7000.1 938 4\r\nV -1 0 [1] @ 0 0 0 0\r\n"
    "P 2 -1 22 1000 0 0 1000 0 1\r\nP 3 -1 -211 0 -2000 0 2000.005 139.57 1\r\n"
    "E 4 0 1\r\nP 1 0 23 0 0 0 91 91 2\r\n";
  PfHepmc3Reader *r = pf_hepmc3_reader_new_from_data (text, sizeof text - 1, "ok");
  PfParticleList l;
  pf_particle_list_init (&l);
  GError *error = NULL;
  gint64 num;
  g_assert_true (pf_hepmc3_reader_next (r, &l, &num, &error));
  g_assert_no_error (error);
  g_assert_cmpint (num, ==, 3);
  g_assert_cmpuint (l.n, ==, 2);
  g_assert_cmpfloat (fabs (l.items[0].px - 1.0), <, 1e-15); /* MeV -> GeV */
  g_assert_cmpfloat (fabs (l.items[1].py + 2.0), <, 1e-15);
  g_assert_cmpint (l.items[1].charge, ==, -1);
  g_assert_true (pf_hepmc3_reader_next (r, &l, &num, &error));
  g_assert_cmpint (num, ==, 4);
  g_assert_cmpuint (l.n, ==, 0); /* units reset per event; no final state */
  g_assert_false (pf_hepmc3_reader_next (r, &l, &num, &error));
  g_assert_no_error (error);
  pf_particle_list_clear (&l);
  pf_hepmc3_reader_free (r);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/hepmc3/roundtrip", test_roundtrip);
  g_test_add_func ("/hepmc3/pdg", test_pdg);
  g_test_add_func ("/hepmc3/malformed", test_malformed);
  g_test_add_func ("/hepmc3/lenient", test_lenient);
  return g_test_run ();
}
