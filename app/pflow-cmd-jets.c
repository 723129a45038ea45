/* pflow-cmd-jets.c — `pflow jets`: FastJet clustering of a particle file or of one image of a
 * dataset (pixels become massless particles, DESIGN.md §7), printed as a table or JSON; and
 * `pflow bench jets`: the median time to cluster one simulated 56x56 truth image with active
 * areas (docs/jets.md records the figures and the choice of ghost area). */
#include "pflow-cmd-jets.h"
#include "pflow-cli.h"
#include "pf-dataset.h"
#include "pf-error.h"
#include "pf-fastjet.h"
#include "pf-particles.h"
#include "pf-pixels.h"
#include "pf-sim.h"
#include <glib/gi18n.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* Locale-independent number for JSON and tables. */
static const char *
num (char *buf, double v)
{
  return g_ascii_formatd (buf, G_ASCII_DTOSTR_BUF_SIZE, "%.10g", v);
}

static void
print_jets (const PfJetParams *jp, const PfJetList *l, gsize n_particles, gboolean json)
{
  char a[6][G_ASCII_DTOSTR_BUF_SIZE];
  if (json)
    {
      printf ("{\"algorithm\": \"%s\", \"radius\": %s, \"ptmin\": %s, \"areas\": %s, "
              "\"particles\": %" G_GSIZE_FORMAT ", \"jets\": [",
              pf_jet_algorithm_name (jp->algorithm), num (a[0], jp->radius), num (a[1], jp->ptmin),
              jp->areas ? "true" : "false", n_particles);
      for (int i = 0; i < l->n_jets; i++)
        {
          const PfJet *j = &l->jets[i];
          printf ("%s\n  {\"rap\": %s, \"phi\": %s, \"pt\": %s, \"E\": %s, \"area\": %s, "
                  "\"nconst\": %d}", i ? "," : "", num (a[0], j->rap), num (a[1], j->phi),
                  num (a[2], j->pt), num (a[3], j->e), num (a[4], j->area), j->n_const);
        }
      printf ("]}\n");
      return;
    }
  printf ("%s R = %g, pt > %g GeV, %" G_GSIZE_FORMAT " particles, %d jets%s\n",
          pf_jet_algorithm_name (jp->algorithm), jp->radius, jp->ptmin, n_particles, l->n_jets,
          jp->areas ? " (active areas)" : "");
  printf ("%4s %10s %10s %12s %12s %8s %7s\n", "#", "rap", "phi", "pt", "E", "area", "nconst");
  for (int i = 0; i < l->n_jets; i++)
    {
      const PfJet *j = &l->jets[i];
      printf ("%4d %10.4f %10.4f %12.4f %12.4f %8.4f %7d\n", i, j->rap, j->phi, j->pt, j->e,
              j->area, j->n_const);
    }
}

/* The channel named `name` of the dataset, or -1. */
static int
find_channel (PfDataset *d, const char *name)
{
  for (int ch = 0; ch < pf_dataset_n_channels (d); ch++)
    if (!strcmp (pf_dataset_channel_name (ch), name))
      return ch;
  return -1;
}

/* One image of a dataset to particles; returns the four-momenta (4 * *n doubles). */
static double *
image_particles (const char *path, gint64 event, const char *channel, const PfPixelParams *pp_in,
                 gsize *n, GError **error)
{
  PfDataset *d = pf_dataset_open (path, error);
  if (!d)
    return NULL;
  double *xyze = NULL;
  float *img = NULL;
  int ch = find_channel (d, channel);
  int s = pf_dataset_image_size (d);
  if (ch < 0)
    g_set_error (error, PF_ERROR, PF_ERROR_INVALID, "%s: no channel '%s' (%d channels: emcal, "
                 "hcal, trk_n, trk_p, truth%s)", path, channel, pf_dataset_n_channels (d),
                 pf_dataset_n_channels (d) > PF_DATASET_CH_JET ? ", jet" : "");
  else if (event < 0 || event >= pf_dataset_n_events (d))
    g_set_error (error, PF_ERROR, PF_ERROR_INVALID, "%s: event %" G_GINT64_FORMAT " outside [0, %"
                 G_GINT64_FORMAT ")", path, event, pf_dataset_n_events (d));
  else
    {
      img = g_new (float, (gsize) s * s);
      if (pf_dataset_read_channel (d, ch, event, 1, img, error))
        {
          PfPixelParams pp = *pp_in;
          pp.image_size = s;
          PfSimParams sp;
          if (pf_dataset_params (d, &sp))
            pp.eta_max = sp.eta_max; /* the rows' range as simulated */
          xyze = g_new (double, 4 * (gsize) s * s);
          int k = pf_pixels_to_particles (&pp, img, xyze, NULL, error);
          if (k < 0)
            g_clear_pointer (&xyze, g_free);
          else
            *n = k;
        }
    }
  g_free (img);
  pf_dataset_close (d);
  return xyze;
}

int
pflow_cmd_jets (int argc, char **argv)
{
  char *particles = NULL, *data = NULL, *channel = NULL, *algorithm = NULL;
  gint64 event = 0;
  double radius = 0.4, ptmin = 0.0, threshold = 0.0, ghost_area = PF_JET_DEFAULT_GHOST_AREA;
  gboolean areas = FALSE, paper = FALSE, json = FALSE;
  GOptionEntry entries[] = {
    { "particles", 0, 0, G_OPTION_ARG_FILENAME, &particles, N_("Text file of 'px py pz E' lines (GeV, '#' comments)"), N_("FILE") },
    { "data", 0, 0, G_OPTION_ARG_FILENAME, &data, N_("Dataset (HDF5) whose image to cluster"), N_("FILE.h5") },
    { "event", 0, 0, G_OPTION_ARG_INT64, &event, N_("Event of the dataset (0)"), N_("K") },
    { "channel", 0, 0, G_OPTION_ARG_STRING, &channel, N_("truth, emcal, hcal, trk_n, trk_p or jet (truth)"), N_("NAME") },
    { "algorithm", 0, 0, G_OPTION_ARG_STRING, &algorithm, N_("antikt, kt or cam (antikt)"), N_("ALG") },
    { "radius", 'R', 0, G_OPTION_ARG_DOUBLE, &radius, N_("Jet radius R (0.4)"), N_("R") },
    { "ptmin", 0, 0, G_OPTION_ARG_DOUBLE, &ptmin, N_("Smallest jet pt in GeV (0)"), N_("PT") },
    { "area", 0, 0, G_OPTION_ARG_NONE, &areas, N_("Active areas (fixed ghost seed)"), NULL },
    { "ghost-area", 0, 0, G_OPTION_ARG_DOUBLE, &ghost_area, N_("Area of one ghost (0.01)"), N_("A") },
    { "threshold", 0, 0, G_OPTION_ARG_DOUBLE, &threshold, N_("Pixels above this energy become particles (0 GeV)"), N_("E") },
    { "paper-compat", 0, 0, G_OPTION_ARG_NONE, &paper, N_("The published script's cylinder mapping of pixels"), NULL },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("JSON output"), NULL },
    { NULL }
  };
  GOptionContext *ctx = g_option_context_new (_("- cluster particles or a dataset image into jets (FastJet)"));
  g_option_context_add_main_entries (ctx, entries, GETTEXT_PACKAGE);
  gboolean parsed = pflow_parse_options (ctx, &argc, &argv, "jets");
  g_option_context_free (ctx);
  int status = 2;
  PfJetParams jp;
  pf_jet_params_init_default (&jp);
  GError *error = NULL;
  if (!parsed)
    goto out;
  if (argc != 1 || (!particles) == (!data))
    {
      fprintf (stderr, "pflow jets: give exactly one of --particles FILE or --data FILE.h5\n"
                       "Try 'pflow jets --help'.\n");
      goto out;
    }
  if (algorithm && !pf_jet_algorithm_from_string (algorithm, &jp.algorithm))
    {
      fprintf (stderr, "pflow jets: unknown algorithm '%s' (antikt, kt, cam)\n", algorithm);
      goto out;
    }
  if (particles && (channel || paper || threshold != 0.0 || event != 0))
    {
      fprintf (stderr, "pflow jets: --event, --channel, --threshold and --paper-compat apply to "
                       "--data only\n");
      goto out;
    }
  jp.radius = radius;
  jp.ptmin = ptmin;
  jp.areas = areas;
  jp.ghost_area = ghost_area;
  if (!pf_jet_params_validate (&jp, &error))
    {
      fprintf (stderr, "pflow jets: %s\n", error->message);
      g_clear_error (&error);
      goto out;
    }
  double *xyze = NULL;
  gsize n = 0;
  if (particles)
    {
      PfParticleList l;
      pf_particle_list_init (&l);
      if (pf_particle_list_read_text (&l, particles, &error))
        {
          n = l.n;
          xyze = g_new (double, 4 * MAX (n, 1));
          for (gsize i = 0; i < n; i++)
            {
              const PfParticle *q = &l.items[i];
              double *v = xyze + 4 * i;
              v[0] = q->px, v[1] = q->py, v[2] = q->pz, v[3] = q->e;
            }
        }
      pf_particle_list_clear (&l);
    }
  else
    {
      PfPixelParams pp;
      pf_pixel_params_init_default (&pp);
      pp.threshold = threshold;
      pp.paper_compat = paper;
      xyze = image_particles (data, event, channel ? channel : "truth", &pp, &n, &error);
    }
  status = 1;
  if (!xyze)
    {
      status = pflow_fail ("jets", error);
      goto out;
    }
  PfJetList *jets = pf_fastjet_cluster (&jp, xyze, n, &error);
  g_free (xyze);
  if (!jets)
    {
      status = pflow_fail ("jets", error);
      goto out;
    }
  print_jets (&jp, jets, n, json);
  pf_jet_list_free (jets);
  status = 0;
out:
  g_free (particles);
  g_free (data);
  g_free (channel);
  g_free (algorithm);
  return status;
}

/* ---- pflow bench jets ---- */

int
pflow_cmd_bench_jets (int argc, char **argv)
{
  gint64 n_events = 20, repeat = 10;
  double ghost_area = PF_JET_DEFAULT_GHOST_AREA, radius = 0.4, ghost_maxrap = 5.0;
  gboolean json = FALSE;
  GOptionEntry entries[] = {
    { "events", 0, 0, G_OPTION_ARG_INT64, &n_events, N_("Distinct simulated events (20)"), N_("N") },
    { "repeat", 0, 0, G_OPTION_ARG_INT64, &repeat, N_("Timed clusterings per event (10)"), N_("N") },
    { "ghost-area", 0, 0, G_OPTION_ARG_DOUBLE, &ghost_area, N_("Area of one ghost (0.01)"), N_("A") },
    { "ghost-maxrap", 0, 0, G_OPTION_ARG_DOUBLE, &ghost_maxrap, N_("Ghosts up to this |y| (5)"), N_("Y") },
    { "radius", 'R', 0, G_OPTION_ARG_DOUBLE, &radius, N_("Jet radius R (0.4)"), N_("R") },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("JSON output"), NULL },
    { NULL }
  };
  GOptionContext *ctx = g_option_context_new (_("- median time to cluster one 56x56 truth image (anti-kt, active areas)"));
  g_option_context_add_main_entries (ctx, entries, GETTEXT_PACKAGE);
  gboolean parsed = pflow_parse_options (ctx, &argc, &argv, "bench jets");
  g_option_context_free (ctx);
  if (!parsed)
    return 2;
  PfJetParams jp;
  pf_jet_params_init_default (&jp);
  jp.areas = TRUE;
  jp.ghost_area = ghost_area;
  jp.ghost_maxrap = ghost_maxrap;
  jp.radius = radius;
  GError *error = NULL;
  if (argc != 1 || n_events < 1 || n_events > 100000 || repeat < 1 || repeat > 10000
      || !pf_jet_params_validate (&jp, &error))
    {
      fprintf (stderr, "pflow bench jets: %s\n",
               error ? error->message : "--events in [1, 100000], --repeat in [1, 10000]");
      g_clear_error (&error);
      return 2;
    }
  PfSimParams sp;
  pf_sim_params_init_default (&sp);
  int s = sp.image_size;
  float *img[PF_N_CHANNELS];
  float *block = g_new (float, (gsize) PF_N_CHANNELS * s * s);
  for (int c = 0; c < PF_N_CHANNELS; c++)
    img[c] = block + (gsize) c * s * s;
  double *xyze = g_new (double, 4 * (gsize) s * s);
  double *times = g_new (double, n_events * repeat);
  double *plain = g_new (double, n_events); /* the same clustering without areas: the peer */
  PfPixelParams pp;
  pf_pixel_params_init_default (&pp);
  pp.image_size = s;
  pp.eta_max = sp.eta_max;
  /* area precision: the same jets with another ghost seed (untimed); the spread of
   * area / (pi R^2) between seeds is the ghost-placement error at this ghost area */
  double sum_particles = 0, sum_jets = 0, d2 = 0;
  gint64 n_cmp = 0;
  int nt = 0;
  for (gint64 e = 0; e < n_events; e++)
    {
      pf_sim_event (&sp, e, img);
      int n = pf_pixels_to_particles (&pp, img[PF_CH_TRUTH], xyze, NULL, &error);
      if (n < 0)
        goto fail;
      sum_particles += n;
      PfJetList *l = NULL;
      for (gint64 r = 0; r < repeat; r++)
        {
          pf_jet_list_free (l);
          gint64 t0 = g_get_monotonic_time ();
          l = pf_fastjet_cluster (&jp, xyze, n, &error);
          times[nt++] = (g_get_monotonic_time () - t0) * 1e-3;
          if (!l)
            goto fail;
        }
      PfJetParams no_area = jp;
      no_area.areas = FALSE;
      gint64 t0 = g_get_monotonic_time ();
      PfJetList *l0 = pf_fastjet_cluster (&no_area, xyze, n, &error);
      plain[e] = (g_get_monotonic_time () - t0) * 1e-3;
      pf_jet_list_free (l0);
      PfJetParams other = jp;
      other.ghost_seed[0] += 1000;
      PfJetList *l2 = pf_fastjet_cluster (&other, xyze, n, &error);
      if (!l2)
        {
          pf_jet_list_free (l);
          goto fail;
        }
      sum_jets += l->n_jets;
      for (int i = 0; i < l->n_jets && i < l2->n_jets; i++)
        if (l->jets[i].pt > 20 && l2->jets[i].pt == l->jets[i].pt)
          {
            double d = (l->jets[i].area - l2->jets[i].area) / (G_PI * radius * radius);
            d2 += d * d;
            n_cmp++;
          }
      pf_jet_list_free (l);
      pf_jet_list_free (l2);
    }
  double median = pflow_median (times, nt);
  double best = times[0];
  double median_plain = pflow_median (plain, n_events);
  /* two independent placements: the rms difference is sqrt(2) times one placement's error */
  double area_err = n_cmp ? sqrt (d2 / n_cmp / 2) : 0.0;
  int n_ghosts = (int) (2 * ghost_maxrap * 2 * G_PI / ghost_area);
  if (json)
    {
      char a[8][G_ASCII_DTOSTR_BUF_SIZE]; /* one buffer per number: all live in one printf */
      printf ("{\"benchmark\": \"jets\", \"median_ms\": %s, \"best_ms\": %s, \"ghost_area\": %s, "
              "\"ghost_maxrap\": %s, \"ghosts\": %d, \"mean_particles\": %s, \"mean_jets\": %s, "
              "\"area_rel_error\": %s, \"no_area_median_ms\": %s, \"events\": %" G_GINT64_FORMAT
              ", \"repeat\": %" G_GINT64_FORMAT "}\n", num (a[0], median), num (a[1], best),
              num (a[2], ghost_area), num (a[3], ghost_maxrap), n_ghosts,
              num (a[4], sum_particles / n_events),
              g_ascii_formatd (a[5], sizeof a[5], "%.3f", sum_jets / n_events),
              g_ascii_formatd (a[6], sizeof a[6], "%.5f", area_err), num (a[7], median_plain),
              n_events, repeat);
    }
  else
    {
      printf ("jets: anti-kt R = %g with active areas on one 56x56 truth image\n", radius);
      printf ("  particles (pixels > 0)  %.0f per event, %.1f jets\n", sum_particles / n_events,
              sum_jets / n_events);
      printf ("  ghosts                  %d (area %g up to |y| = %g)\n", n_ghosts, ghost_area,
              ghost_maxrap);
      printf ("  median                  %.3f ms per image (best %.3f ms; goal < 5 ms)\n", median,
              best);
      printf ("  without areas           %.3f ms per image (the peer)\n", median_plain);
      printf ("  area precision          %.4f of pi R^2 rms between ghost seeds (jets pt > 20)\n",
              area_err);
    }
  g_free (times);
  g_free (plain);
  g_free (xyze);
  g_free (block);
  return 0;
fail:
  g_free (times);
  g_free (plain);
  g_free (xyze);
  g_free (block);
  return pflow_fail ("bench jets", error);
}
