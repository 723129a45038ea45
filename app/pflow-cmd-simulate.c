/* pflow-cmd-simulate.c — `pflow simulate`: the simulator streamed into an HDF5 dataset.
 *
 * Events are simulated in blocks on all cores and appended to a temporary file that is renamed
 * into place only when complete, so Ctrl-C or an error never leaves a partial dataset.
 *
 * Jet test sets (--jets builtin|FILE.hepmc3, DESIGN.md §4): each simulated event gets the
 * visible final-state particles of K jet events (--jets-per-event, default 1) on top of its own
 * particles; they go through the same detector response (pf_sim_run_with_particles) and the
 * sixth channel `jet` holds their truth alone. Built-in: simulated event e takes generator
 * events e K .. e K + K - 1 (pf-jetgen.h, seeded with --seed). HepMC3: the file's events in
 * order, K per simulated event, never reused: when the file runs out the dataset stops at the
 * last complete event (a note says so; `jet_events_used` records how many file events went in).
 * A file without a single event, or with an error anywhere, fails with FILE:LINE and writes
 * nothing.
 *
 * --device cpu|cuda|auto: where the events are simulated. The GPU simulator
 * (kernels/pf-cuda-sim.h) gives the same bits as the CPU, so the dataset does not depend on the
 * choice; `auto` takes the GPU when one is usable and the CPU otherwise, and the command says
 * which one ran. Jet sets (--jets) are simulated on the CPU: the GPU does not take extra
 * particles. The default is the CPU. */
#include "pflow-cli.h"
#include "pf-dataset.h"
#include "pf-error.h"
#include "pf-hepmc3.h"
#include "pf-jetgen.h"
#include "pf-particles.h"
#include "pf-sim.h"
#ifdef PF_HAVE_CUDA
#include "pf-cuda.h"
#include "pf-cuda-sim.h"
#endif
#include <glib/gi18n.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* Events per block: bounds memory (5 x 56 x 56 floats = 62.7 KB per event, ~32 MB a block). */
#define SIM_BLOCK_EVENTS 512
/* On the GPU larger blocks (~128 MB of page-locked memory) keep the device busy. */
#define SIM_BLOCK_EVENTS_GPU 2048

/* Where events are simulated: gpu_ctx NULL means the CPU. */
typedef struct {
  void *gpu_ctx; /* PfCudaContext * when PF_HAVE_CUDA */
} SimDevice;

/* Where the jet particles come from. */
typedef struct {
  const char *file;        /* HepMC3 path, NULL for the built-in generator */
  PfJetGenParams gen;
  PfHepmc3Reader *reader;
  int per_event;           /* K */
  gint64 used;             /* jet events consumed so far */
  gint64 dropped;          /* invisible particles left out */
  PfParticleList tmp;
} JetSource;

/* Appends the visible particles of `l` to `out` as simulator inputs. */
static void
append_particles (JetSource *js, const PfParticleList *l, GArray *out)
{
  for (gsize i = 0; i < l->n; i++)
    {
      const PfParticle *q = &l->items[i];
      if (q->species == PF_SPECIES_INVISIBLE)
        {
          js->dropped++;
          continue;
        }
      PfSimInput x = { (float) q->e, (float) pf_particle_eta (q), (float) pf_particle_phi (q),
                       CLAMP (q->charge, -1, 1), q->species };
      g_array_append_val (out, x);
    }
}

/* The jet particles of events [first, first + n) into lists[0..); returns how many events got
 * all K jet events (fewer only when a file runs out), -1 on error. */
static gint64
jets_fill (JetSource *js, const PfSimParams *p, gint64 first, gint64 n, GArray **lists,
           GError **error)
{
  for (gint64 i = 0; i < n; i++)
    {
      g_array_set_size (lists[i], 0);
      for (int k = 0; k < js->per_event; k++)
        {
          if (!js->file)
            pf_jetgen_event (&js->gen, (first + i) * js->per_event + k, &js->tmp, NULL);
          else
            {
              gint64 number = 0;
              if (!pf_hepmc3_reader_next (js->reader, &js->tmp, &number, error))
                return error && *error ? -1 : i;
            }
          js->used++;
          append_particles (js, &js->tmp, lists[i]);
        }
      char *what = js->file ? g_strdup_printf ("%s (jet events up to %" G_GINT64_FORMAT ")", js->file, js->used)
                            : g_strdup_printf ("built-in jets of event %" G_GINT64_FORMAT, first + i);
      gboolean ok = pf_sim_inputs_validate (p, (const PfSimInput *) lists[i]->data, (int) lists[i]->len,
                                            what, error);
      g_free (what);
      if (!ok)
        return -1;
    }
  return n;
}

/* Root attributes that say where the jets came from. */
static gboolean
jets_attrs (PfDatasetWriter *w, const JetSource *js, GError **error)
{
  char *gen = js->file ? NULL
    : g_strdup_printf ("pt_min=%g pt_max=%g pt_power=%g eta_max=%g z_min=%g theta_min=%g "
                       "theta_max=%g kt_min=%g stop_e=%g max_particles=%d frac_pi0=%g "
                       "frac_neutral_cum=%g seed=%" G_GUINT64_FORMAT, js->gen.pt_min,
                       js->gen.pt_max, js->gen.pt_power, js->gen.eta_max, js->gen.z_min,
                       js->gen.theta_min, js->gen.theta_max, js->gen.kt_min, js->gen.stop_e,
                       js->gen.max_particles, js->gen.frac_pi0, js->gen.frac_neutral_cum,
                       js->gen.seed);
  char *k = g_strdup_printf ("%d", js->per_event);
  char *used = g_strdup_printf ("%" G_GINT64_FORMAT, js->used);
  char *dropped = g_strdup_printf ("%" G_GINT64_FORMAT, js->dropped);
  gboolean ok = pf_dataset_writer_set_attr_string (w, "jet_source", js->file ? "hepmc3" : "builtin", error)
    && (js->file ? pf_dataset_writer_set_attr_string (w, "jet_file", js->file, error)
                 : pf_dataset_writer_set_attr_string (w, "jet_generator", gen, error))
    && pf_dataset_writer_set_attr_string (w, "jet_events_per_event", k, error)
    && pf_dataset_writer_set_attr_string (w, "jet_events_used", used, error)
    && pf_dataset_writer_set_attr_string (w, "jet_invisible_dropped", dropped, error);
  g_free (gen);
  g_free (k);
  g_free (used);
  g_free (dropped);
  return ok;
}

/* The plain simulator (js NULL) or a jet set; *n_written gets the events in the file. */
static gboolean
simulate_file (const PfSimParams *p, gint64 n_events, const char *path, int threads,
               int compression, gboolean quiet, JetSource *js, const SimDevice *dev,
               gint64 *n_written, GError **error)
{
#ifdef PF_HAVE_CUDA
  PfCudaSim *gpu = NULL;
  if (dev && dev->gpu_ctx && !js && !(gpu = pf_cuda_sim_new (dev->gpu_ctx, p, error)))
    return FALSE;
#else
  (void) dev;
#endif
  PfDatasetWriterOptions o;
  pf_dataset_writer_options_init (&o);
  o.image_size = p->image_size;
  o.compression_level = compression;
  o.n_channels = js ? PF_DATASET_MAX_CHANNELS : PF_N_CHANNELS;
  PfDatasetWriter *w = pf_dataset_writer_new_full (path, p, &o, error);
  gint64 block = MIN (n_events, SIM_BLOCK_EVENTS);
  gsize plane = (gsize) p->image_size * p->image_size;
  float *buf = NULL;
#ifdef PF_HAVE_CUDA
  if (w && gpu)
    {
      block = MIN (n_events, SIM_BLOCK_EVENTS_GPU);
      buf = pf_cuda_sim_host_alloc (gpu, (gsize) block * o.n_channels * plane * sizeof (float), error);
      if (!buf)
        {
          pf_dataset_writer_abort (w);
          w = NULL;
        }
    }
  else
#endif
  if (w && !(buf = g_try_malloc ((gsize) block * o.n_channels * plane * sizeof (float))))
    {
      g_set_error (error, PF_ERROR, PF_ERROR_IO, "out of memory for a block of %" G_GINT64_FORMAT " events", block);
      pf_dataset_writer_abort (w);
      w = NULL;
    }
  if (!w)
    {
#ifdef PF_HAVE_CUDA
      pf_cuda_sim_free (gpu);
#endif
      return FALSE;
    }
  GArray **lists = NULL;
  const PfSimInput **extra = NULL;
  int *n_extra = NULL;
  if (js)
    {
      lists = g_new (GArray *, block);
      for (gint64 i = 0; i < block; i++)
        lists[i] = g_array_new (FALSE, FALSE, sizeof (PfSimInput));
      extra = g_new (const PfSimInput *, block);
      n_extra = g_new (int, block);
    }
  char *label = g_path_get_basename (path);
  PflowProgress *prog = pflow_progress_new (label, n_events, quiet);
  gboolean ok = TRUE, ran_out = FALSE;
  gint64 done = 0;
  while (done < n_events && ok && !ran_out)
    {
      if (g_atomic_int_get (&pflow_cancel_flag))
        {
          g_set_error (error, PF_ERROR, PF_ERROR_CANCELLED, "%s: interrupted; no file written", path);
          ok = FALSE;
          break;
        }
      gint64 n = MIN (block, n_events - done);
      if (js)
        {
          gint64 got = jets_fill (js, p, done, n, lists, error);
          if (got < 0)
            {
              ok = FALSE;
              break;
            }
          ran_out = got < n;
          n = got;
          for (gint64 i = 0; i < n; i++)
            {
              extra[i] = (const PfSimInput *) lists[i]->data;
              n_extra[i] = (int) lists[i]->len;
            }
          /* the writer wants the block of exactly n events, channel-major */
          if (n > 0)
            pf_sim_run_with_particles (p, done, n, extra, n_extra, buf, threads);
        }
#ifdef PF_HAVE_CUDA
      else if (gpu)
        ok = pf_cuda_sim_run (gpu, done, n, buf, error);
#endif
      else
        pf_sim_run (p, done, n, buf, threads);
      if (ok && n > 0)
        ok = pf_dataset_writer_append (w, n, buf, error);
      done += n;
      pflow_progress_update (prog, done);
    }
  pflow_progress_finish (prog);
  g_free (label);
#ifdef PF_HAVE_CUDA
  if (gpu)
    {
      pf_cuda_sim_host_free (gpu, buf);
      pf_cuda_sim_free (gpu);
      buf = NULL;
    }
#endif
  g_free (buf);
  if (js)
    {
      for (gint64 i = 0; i < block; i++)
        g_array_free (lists[i], TRUE);
      g_free (lists);
      g_free (extra);
      g_free (n_extra);
    }
  if (ok && done == 0)
    {
      g_set_error (error, PF_ERROR, PF_ERROR_FORMAT, "%s: no jet event in the file; no dataset written",
                   js && js->file ? js->file : path);
      ok = FALSE;
    }
  if (ok && js)
    ok = jets_attrs (w, js, error);
  if (!ok)
    {
      pf_dataset_writer_abort (w);
      return FALSE;
    }
  if (ran_out && !quiet)
    fprintf (stderr, "pflow simulate: %s has %" G_GINT64_FORMAT " events, enough for %" G_GINT64_FORMAT
             " simulated events (of %" G_GINT64_FORMAT " asked) at %d per event\n",
             js->file, js->used, done, n_events, js->per_event);
  if (n_written)
    *n_written = done;
  return pf_dataset_writer_commit (w, error);
}

gboolean
pflow_simulate_to_file (const PfSimParams *p, gint64 n_events, const char *path, int threads,
                  int compression, gboolean quiet, GError **error)
{
  return simulate_file (p, n_events, path, threads, compression, quiet, NULL, NULL, NULL, error);
}

/* --device: fills *dev (the GPU context or none) and *said with the line that tells which device
 * runs; FALSE with a message for an unknown name, or for `cuda` without a usable GPU. */
static gboolean
sim_device_open (const char *name, gboolean jets, int threads, SimDevice *dev, char **said,
                 GError **error)
{
  dev->gpu_ctx = NULL;
  gboolean want_gpu = !strcmp (name, "cuda"), maybe_gpu = !strcmp (name, "auto");
  int nthreads = threads > 0 ? threads : (int) g_get_num_processors ();
  char *cpu_line = g_strdup_printf ("simulated on the CPU (%d threads)", nthreads);
  if (!want_gpu && !maybe_gpu)
    {
      if (strcmp (name, "cpu") != 0)
        {
          g_set_error (error, PF_ERROR, PF_ERROR_INVALID, "unknown --device '%s' (cpu, cuda, auto)", name);
          g_free (cpu_line);
          return FALSE;
        }
      *said = cpu_line;
      return TRUE;
    }
  if (jets)
    {
      if (want_gpu)
        {
          g_set_error_literal (error, PF_ERROR, PF_ERROR_INVALID,
                               "--device cuda: the GPU simulator does not take jet particles; use --device cpu or auto");
          g_free (cpu_line);
          return FALSE;
        }
      *said = g_strdup_printf ("%s: jet sets are simulated on the CPU", cpu_line);
      g_free (cpu_line);
      return TRUE;
    }
#ifdef PF_HAVE_CUDA
  char *why = NULL;
  GError *local = NULL;
  PfCudaContext *ctx = NULL;
  if (pf_cuda_available (&why) && (ctx = pf_cuda_context_new (0, &local)))
    {
      dev->gpu_ctx = ctx;
      *said = g_strdup_printf ("simulated on the GPU (%s)", pf_cuda_context_device_name (ctx));
      g_free (cpu_line);
      return TRUE;
    }
  if (!why)
    why = g_strdup (local ? local->message : "unknown error");
  g_clear_error (&local);
#else
  char *why = g_strdup ("this pflow was built without CUDA");
#endif
  if (want_gpu)
    {
      g_set_error (error, PF_ERROR, PF_ERROR_INVALID, "--device cuda: no usable GPU (%s)", why);
      g_free (why);
      g_free (cpu_line);
      return FALSE;
    }
  *said = g_strdup_printf ("%s: no usable GPU (%s)", cpu_line, why);
  g_free (why);
  g_free (cpu_line);
  return TRUE;
}

static void
sim_device_close (SimDevice *dev)
{
#ifdef PF_HAVE_CUDA
  pf_cuda_context_free (dev->gpu_ctx);
#endif
  dev->gpu_ctx = NULL;
}

/* --jets: opens the source and writes the jet set. */
static gboolean
simulate_jets (const PfSimParams *p, gint64 n_events, const char *path, int threads,
               int compression, gboolean quiet, const char *jets, int per_event,
               gint64 *n_written, GError **error)
{
  JetSource js = { 0 };
  pf_particle_list_init (&js.tmp);
  js.per_event = per_event;
  pf_jetgen_params_init_default (&js.gen);
  js.gen.seed = p->seed;
  if (strcmp (jets, "builtin") != 0)
    {
      js.file = jets;
      if (!(js.reader = pf_hepmc3_reader_open (jets, error)))
        return FALSE;
    }
  gboolean ok = simulate_file (p, n_events, path, threads, compression, quiet, &js, NULL, n_written,
                              error);
  if (js.reader)
    pf_hepmc3_reader_free (js.reader);
  pf_particle_list_clear (&js.tmp);
  return ok;
}

int
pflow_cmd_simulate (int argc, char **argv)
{
  PfSimParams p;
  pf_sim_params_init_default (&p);
  gint64 n_events = 10000;
  double bfield = p.bfield, nonlin = p.nonlin, res_scale = p.res_scale;
  double charged_range = p.charged_range;
  gint64 seed = 1;
  gint n_particles = p.n_particles;
  gboolean wrap_phi = FALSE, quiet = FALSE;
  char *output = NULL, *preset = NULL, *jets = NULL, *device = NULL;
  gint threads = 0, compression = -1, jets_per_event = 1;

  GOptionEntry entries[] = {
    { "events", 'n', 0, G_OPTION_ARG_INT64, &n_events, N_("Number of events (default 10000)"), "N" },
    { "bfield", 'B', 0, G_OPTION_ARG_DOUBLE, &bfield, N_("Magnetic field B (default 0.5)"), "B" },
    { "nonlin", 0, 0, G_OPTION_ARG_DOUBLE, &nonlin, N_("Calorimeter non-linearity NL (default 0.3)"), "NL" },
    { "res-scale", 0, 0, G_OPTION_ARG_DOUBLE, &res_scale, N_("Resolution scale S (default 1.0)"), "S" },
    { "seed", 's', 0, G_OPTION_ARG_INT64, &seed, N_("Random seed (default 1)"), "K" },
    { "charged-range", 0, 0, G_OPTION_ARG_DOUBLE, &charged_range,
      N_("Fraction of the eta/phi range for charged particles (default 0.9)"), "F" },
    { "wrap-phi", 0, 0, G_OPTION_ARG_NONE, &wrap_phi, N_("Wrap bent particles around phi = ±pi"), NULL },
    { "particles", 0, 0, G_OPTION_ARG_INT, &n_particles, N_("Particles per event (default 1600)"), "M" },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &output,
      N_("Output file (default: published naming, e.g. Gauss_S1.00_NL0.30_B0.50.h5); a folder with --preset"), "FILE" },
    { "preset", 0, 0, G_OPTION_ARG_STRING, &preset, N_("'paper': the B=0.00 and B=0.50 sets of 10,000 events"), "NAME" },
    { "threads", 'j', 0, G_OPTION_ARG_INT, &threads, N_("Threads (default: all cores)"), "T" },
    { "compression", 0, 0, G_OPTION_ARG_INT, &compression, N_("Deflate level 0-9 (0 = none; default 1)"), "L" },
    { "jets", 0, 0, G_OPTION_ARG_FILENAME, &jets,
      N_("A jet test set: jets from the built-in generator or a HepMC3 file on top of every event; adds the 'jet' channel"),
      "builtin|FILE.hepmc3" },
    { "jets-per-event", 0, 0, G_OPTION_ARG_INT, &jets_per_event,
      N_("Jet events overlaid on each simulated event (default 1)"), "K" },
    { "device", 0, 0, G_OPTION_ARG_STRING, &device,
      N_("Where to simulate: cpu (default), cuda (the GPU, same bits) or auto (the GPU when usable)"),
      "cpu|cuda|auto" },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, N_("No progress bar"), NULL },
    { NULL }
  };
  GOptionContext *ctx = g_option_context_new (_("- simulate events into an HDF5 dataset"));
  g_option_context_add_main_entries (ctx, entries, GETTEXT_PACKAGE);
  gboolean parsed = pflow_parse_options (ctx, &argc, &argv, "simulate");
  g_option_context_free (ctx);
  if (!parsed)
    return 2;
  if (argc > 1)
    {
      fprintf (stderr, "pflow simulate: unexpected argument '%s'\n", argv[1]);
      return 2;
    }

  GError *error = NULL;
  if (n_events <= 0)
    {
      fprintf (stderr, "pflow simulate: --events must be a positive number of events (got %" G_GINT64_FORMAT ")\n", n_events);
      return 2;
    }
  if (seed < 0)
    {
      fprintf (stderr, "pflow simulate: --seed must be >= 0 (got %" G_GINT64_FORMAT ")\n", seed);
      return 2;
    }
  if (compression < -1 || compression > 9)
    {
      fprintf (stderr, "pflow simulate: --compression must be 0..9 (got %d)\n", compression);
      return 2;
    }
  if (compression < 0)
    compression = 1;
  if (jets_per_event < 1 || jets_per_event > 1000)
    {
      fprintf (stderr, "pflow simulate: --jets-per-event must be 1..1000 (got %d)\n", jets_per_event);
      return 2;
    }
  p.bfield = bfield;
  p.nonlin = nonlin;
  p.res_scale = res_scale;
  p.charged_range = charged_range;
  p.wrap_phi = wrap_phi;
  p.n_particles = n_particles;
  p.seed = (uint64_t) seed;

  int status = 0;
  SimDevice dev = { NULL };
  char *device_line = NULL;
  if (preset && jets)
    {
      fprintf (stderr, "pflow simulate: --preset and --jets do not go together\n");
      status = 2;
      goto out;
    }
  if (device && strcmp (device, "cpu") && strcmp (device, "cuda") && strcmp (device, "auto"))
    {
      fprintf (stderr, "pflow simulate: unknown --device '%s' (cpu, cuda, auto)\n", device);
      status = 2;
      goto out;
    }
  if (!sim_device_open (device ? device : "cpu", jets != NULL, threads, &dev, &device_line, &error))
    {
      status = pflow_fail ("simulate", error);
      goto out;
    }
  if (preset)
    {
      if (strcmp (preset, "paper") != 0)
        {
          fprintf (stderr, "pflow simulate: unknown preset '%s' (known: paper)\n", preset);
          status = 2;
          goto out;
        }
      /* The published sets: B = 0.00 and 0.50, 10,000 events each, other parameters default. */
      const char *dir = output ? output : ".";
      if (!g_file_test (dir, G_FILE_TEST_IS_DIR))
        {
          fprintf (stderr, "pflow simulate: --preset paper writes two files; '%s' is not a folder\n", dir);
          status = 2;
          goto out;
        }
      const double fields[] = { 0.0, 0.5 };
      for (int i = 0; i < 2 && status == 0; i++)
        {
          PfSimParams q = p;
          q.bfield = fields[i];
          if (!pf_sim_params_validate (&q, &error))
            {
              status = pflow_fail ("simulate", error);
              break;
            }
          char *name = pf_sim_default_filename (&q);
          char *path = g_build_filename (dir, name, NULL);
          if (!simulate_file (&q, 10000, path, threads, compression, quiet, NULL, &dev, NULL, &error))
            status = pflow_fail ("simulate", error);
          else if (!quiet)
            printf ("%s: 10000 events, %s\n", path, device_line);
          g_free (name);
          g_free (path);
        }
      goto out;
    }

  if (!pf_sim_params_validate (&p, &error))
    {
      status = pflow_fail ("simulate", error);
      goto out;
    }
  char *path = output ? g_strdup (output) : pf_sim_default_filename (&p);
  if (jets && !output)
    {
      /* Gauss_S1.00_NL0.30_B0.50.h5 -> Gauss_S1.00_NL0.30_B0.50_jets.h5 */
      char *stem = g_strndup (path, strlen (path) - 3);
      g_free (path);
      path = g_strdup_printf ("%s_jets.h5", stem);
      g_free (stem);
    }
  gint64 written = n_events;
  if (jets ? !simulate_jets (&p, n_events, path, threads, compression, quiet, jets, jets_per_event,
                             &written, &error)
           : !simulate_file (&p, n_events, path, threads, compression, quiet, NULL, &dev, NULL, &error))
    status = pflow_fail ("simulate", error);
  else if (!quiet)
    printf ("%s: %" G_GINT64_FORMAT " events%s, %s\n", path, written, jets ? " with jets" : "",
            device_line);
  g_free (path);

out:
  sim_device_close (&dev);
  g_free (device_line);
  g_free (device);
  g_free (output);
  g_free (preset);
  g_free (jets);
  return status;
}
