/* test-cuda-sim.c — the GPU simulator (kernels/pf-cuda-sim.h) against the CPU one (pf-sim.h).
 *
 * The claim is bit-identity: same seed and parameters, same events -> the same float32 bits in
 * every pixel of every channel, and the same per-particle values before the histogram fill.
 * Every comparison is bitwise; on a mismatch the test reports how many values differ, the
 * largest absolute difference and where the first one is (channel, event, row, col) before it
 * fails. Outputs are poisoned with NaN before every GPU run, so a value the GPU forgets to
 * write fails too. Parameter sets cover the defaults, B = 0, a strong field with and without
 * phi wrapping, other resolutions and ranges, odd particle counts (0 and 1 included), odd
 * image sizes, images too large for shared memory (the global-memory path), pixels hit by
 * thousands of deposits (the ordering of the accumulation), odd event counts and offsets,
 * events across 2^32 (the high counter word), several seeds. Without a GPU (or without a
 * CUDA build) every test skips itself and says why. */
#include <glib.h>
#include "pf-test-util.h"
#include <math.h>
#include <string.h>
#include "pf-sim.h"
#include "pf-sim-private.h"

#ifdef PF_HAVE_CUDA
#include "pf-cuda.h"
#include "pf-cuda-sim.h"
#include "pf-test-cuda.h"

static size_t
event_floats (const PfSimParams *p)
{
  return (size_t) PF_N_CHANNELS * p->image_size * p->image_size;
}

static float *
poisoned_host (size_t n)
{
  float *h = g_new (float, n);
  for (size_t i = 0; i < n; i++)
    h[i] = NAN;
  return h;
}

static guint32
bits (float f)
{
  guint32 u;
  memcpy (&u, &f, 4);
  return u;
}

/* Bitwise comparison of two pf_sim_run layouts of n events; returns the differing values. */
static size_t
compare_images (const char *what, const PfSimParams *p, int64_t first, int64_t n, const float *gpu,
                const float *cpu)
{
  const size_t s2 = (size_t) p->image_size * p->image_size, total = (size_t) n * event_floats (p);
  size_t ndiff = 0, first_diff = 0;
  double max_diff = 0;
  for (size_t i = 0; i < total; i++)
    if (bits (gpu[i]) != bits (cpu[i]))
      {
        if (ndiff++ == 0)
          first_diff = i;
        double d = fabs ((double) gpu[i] - (double) cpu[i]);
        if (isnan (d))
          max_diff = INFINITY;
        else if (d > max_diff)
          max_diff = d;
      }
  if (ndiff > 0)
    {
      size_t plane = first_diff / s2, pix = first_diff % s2;
      int ch = (int) (plane / (size_t) n);
      int64_t ev = first + (int64_t) (plane % (size_t) n);
      g_test_message ("%s: %zu of %zu values differ, max |diff| %g (inf: NaN, unwritten); first: "
                      "channel %d, event %" G_GINT64_FORMAT ", row %zu, col %zu: GPU %.9g CPU %.9g",
                      what, ndiff, total, max_diff, ch, ev, pix / p->image_size,
                      pix % p->image_size, gpu[first_diff], cpu[first_diff]);
    }
  return ndiff;
}

static PfCudaSim *
new_sim (const PfSimParams *p)
{
  GError *error = NULL;
  g_assert_true (pf_sim_params_validate (p, &error));
  PfCudaSim *sim = pf_cuda_sim_new (ctx, p, &error);
  g_assert_no_error (error);
  g_assert_nonnull (sim);
  return sim;
}

/* GPU (host and device paths) against pf_sim_run for events [first, first + n). */
static void
check_run (const char *what, const PfSimParams *p, int64_t first, int64_t n)
{
  PfCudaSim *sim = new_sim (p);
  const size_t total = (size_t) n * event_floats (p);
  float *cpu = poisoned_host (total);
  pf_sim_run (p, first, n, cpu, 0);

  float *gpu = poisoned_host (total);
  OK (pf_cuda_sim_run (sim, first, n, gpu, &error));
  char *label = g_strdup_printf ("%s [host, %s memory]", what, pf_cuda_sim_mode (sim));
  size_t d1 = compare_images (label, p, first, n, gpu, cpu);
  g_free (label);

  float *dev = dev_poisoned (total);
  OK (pf_cuda_sim_run_device (sim, first, n, dev, &error));
  float *back = host_from (dev, total);
  label = g_strdup_printf ("%s [device, %s memory]", what, pf_cuda_sim_mode (sim));
  size_t d2 = compare_images (label, p, first, n, back, cpu);
  g_free (label);

  g_test_message ("%s: events %" G_GINT64_FORMAT "..%" G_GINT64_FORMAT ", %s memory, %zu + %zu "
                  "differing values", what, first, first + n - 1, pf_cuda_sim_mode (sim), d1, d2);
  g_assert_cmpuint (d1, ==, 0);
  g_assert_cmpuint (d2, ==, 0);
  dev_free (dev);
  g_free (back);
  g_free (gpu);
  g_free (cpu);
  pf_cuda_sim_free (sim);
}

/* ---- per particle, before the fill ---- */

static void
check_particles (const char *what, const PfSimParams *p, int64_t event)
{
  PfCudaSim *sim = new_sim (p);
  int np = p->n_particles;
  PfSimParticle *cpu = g_new0 (PfSimParticle, MAX (np, 1));
  PfSimParticle *gpu = g_new (PfSimParticle, MAX (np, 1));
  memset (gpu, 0xff, sizeof *gpu * MAX (np, 1)); /* NaN floats, -1 ints */
  _pf_sim_particles (p, event, cpu);
  OK (_pf_cuda_sim_particles (sim, event, gpu, &error));
  int ndiff = 0;
  for (int i = 0; i < np; i++)
    {
      const PfSimParticle *a = &gpu[i], *b = &cpu[i];
      gboolean same = bits (a->e) == bits (b->e) && bits (a->eta) == bits (b->eta)
        && bits (a->phi) == bits (b->phi) && bits (a->phi_calo) == bits (b->phi_calo)
        && a->charge == b->charge && a->species == b->species
        && bits (a->w_trk) == bits (b->w_trk) && bits (a->w_emc) == bits (b->w_emc)
        && bits (a->w_hcal) == bits (b->w_hcal) && a->row == b->row && a->col == b->col
        && a->col_calo == b->col_calo;
      if (!same && ndiff++ < 5)
        g_test_message ("%s: event %" G_GINT64_FORMAT " particle %d differs: GPU e %.9g eta %.9g "
                        "phi %.9g phic %.9g q %d sp %d wt %.9g we %.9g wh %.9g bin %d,%d,%d | CPU "
                        "e %.9g eta %.9g phi %.9g phic %.9g q %d sp %d wt %.9g we %.9g wh %.9g "
                        "bin %d,%d,%d", what, event, i, a->e, a->eta, a->phi, a->phi_calo,
                        a->charge, a->species, a->w_trk, a->w_emc, a->w_hcal, a->row, a->col,
                        a->col_calo, b->e, b->eta, b->phi, b->phi_calo, b->charge, b->species,
                        b->w_trk, b->w_emc, b->w_hcal, b->row, b->col, b->col_calo);
    }
  if (ndiff)
    g_test_message ("%s: %d of %d particles differ", what, ndiff, np);
  g_assert_cmpint (ndiff, ==, 0);
  g_free (cpu);
  g_free (gpu);
  pf_cuda_sim_free (sim);
}

static void
test_particles (void)
{
  NEED_GPU ();
  PfSimParams p;
  pf_sim_params_init_default (&p);
  check_particles ("default", &p, 0);
  check_particles ("default", &p, 123457);
  p.seed = G_GUINT64_CONSTANT (0xDEADBEEFCAFEF00D);
  p.bfield = 3.7;
  p.wrap_phi = TRUE;
  p.n_particles = 5001;
  check_particles ("seed 0xDEADBEEFCAFEF00D, B 3.7, wrap", &p, (G_GINT64_CONSTANT (1) << 32) + 5);
  p.wrap_phi = FALSE;
  p.res_scale = 2.5;
  p.nonlin = 0.7;
  p.charged_range = 1.0;
  p.image_size = 37;
  check_particles ("res 2.5, NL 0.7, range 1, S 37", &p, 99);
}

/* ---- whole events ---- */

static void
test_default (void)
{
  NEED_GPU ();
  PfSimParams p;
  pf_sim_params_init_default (&p);
  check_run ("default", &p, 0, 64);
  check_run ("default, odd offset and count", &p, 1234567, 33);
  p.seed = 42;
  check_run ("seed 42, one event", &p, 7, 1);
}

static void
test_bfield (void)
{
  NEED_GPU ();
  PfSimParams p;
  pf_sim_params_init_default (&p);
  p.bfield = 0.0;
  check_run ("B 0", &p, 3, 17);
  p.bfield = 2.75;
  p.seed = 987654321;
  check_run ("B 2.75", &p, 11, 29);
  p.wrap_phi = TRUE;
  check_run ("B 2.75, wrap", &p, 11, 29);
}

static void
test_params (void)
{
  NEED_GPU ();
  PfSimParams p;
  pf_sim_params_init_default (&p);
  p.res_scale = 3.0;
  p.nonlin = 0.9; /* negative calorimeter weights at low energy */
  p.charged_range = 1.0;
  p.frac_pi0 = 0.4;
  p.frac_neutral_cum = 0.45;
  p.seed = G_GUINT64_CONSTANT (0xFFFFFFFF00000001);
  check_run ("res 3, NL 0.9, range 1, fractions 0.4/0.45, high seed", &p, 5, 21);
  pf_sim_params_init_default (&p);
  p.n_particles = 1001;
  p.image_size = 57;
  p.eta_max = 1.7;
  check_run ("1001 particles, S 57, eta_max 1.7", &p, 0, 13);
  p.n_particles = 1;
  check_run ("1 particle", &p, 2, 9);
  p.n_particles = 0;
  check_run ("0 particles", &p, 2, 3);
  p.n_particles = 33;
  p.image_size = 1;
  check_run ("33 particles, S 1", &p, 0, 5);
}

/* Counters across the 2^32 boundary of the event number (the high word goes to c2). */
static void
test_high_events (void)
{
  NEED_GPU ();
  PfSimParams p;
  pf_sim_params_init_default (&p);
  p.seed = 77;
  check_run ("events around 2^32", &p, (G_GINT64_CONSTANT (1) << 32) - 3, 7);
}

/* Few pixels, many particles: thousands of deposits per pixel, so any change of the addition
 * order would show in the last bits; more particles than one block has threads. */
static void
test_collisions (void)
{
  NEED_GPU ();
  PfSimParams p;
  pf_sim_params_init_default (&p);
  p.image_size = 3;
  p.n_particles = 4099;
  check_run ("S 3, 4099 particles", &p, 1, 6);
  p.image_size = 8;
  p.n_particles = 20000;
  p.bfield = 1.0;
  check_run ("S 8, 20000 particles, B 1", &p, 100, 3);
}

/* Images too large for shared memory: accumulated in global memory. */
static void
test_global (void)
{
  NEED_GPU ();
  PfSimParams p;
  pf_sim_params_init_default (&p);
  p.image_size = 160;
  PfCudaSim *sim = new_sim (&p);
  g_test_message ("S 160: %s memory", pf_cuda_sim_mode (sim));
  g_assert_cmpstr (pf_cuda_sim_mode (sim), ==, "global");
  pf_cuda_sim_free (sim);
  check_run ("S 160 (global memory)", &p, 5, 7);
  p.image_size = 56;
  sim = new_sim (&p);
  g_assert_cmpstr (pf_cuda_sim_mode (sim), ==, "shared");
  pf_cuda_sim_free (sim);
}

/* More events than one device slice (the two-stream pipeline), into ordinary and
 * page-locked memory. */
static void
test_slices (void)
{
  NEED_GPU ();
  PfSimParams p;
  pf_sim_params_init_default (&p);
  p.n_particles = 40;
  p.seed = 3;
  const int64_t first = 9, n = 4801; /* 128 MB slices hold 2140 events of 56 x 56 */
  check_run ("4801 events, 40 particles", &p, first, n);

  PfCudaSim *sim = new_sim (&p);
  const size_t total = (size_t) n * event_floats (&p);
  float *cpu = poisoned_host (total);
  pf_sim_run (&p, first, n, cpu, 0);
  GError *error = NULL;
  float *pinned = pf_cuda_sim_host_alloc (sim, total * sizeof (float), &error);
  g_assert_no_error (error);
  for (size_t i = 0; i < total; i++)
    pinned[i] = NAN;
  OK (pf_cuda_sim_run (sim, first, n, pinned, &error));
  g_assert_cmpuint (compare_images ("4801 events, page-locked", &p, first, n, pinned, cpu), ==, 0);
  /* the same simulator again, other events: nothing of the last run leaks in */
  pf_sim_run (&p, 0, 100, cpu, 0);
  for (size_t i = 0; i < total; i++)
    pinned[i] = NAN;
  OK (pf_cuda_sim_run (sim, 0, 100, pinned, &error));
  g_assert_cmpuint (compare_images ("100 events, reused", &p, 0, 100, pinned, cpu), ==, 0);
  pf_cuda_sim_host_free (sim, pinned);
  g_free (cpu);
  pf_cuda_sim_free (sim);
}

/* Bad parameters are refused with an error, not a crash. */
static void
test_invalid (void)
{
  NEED_GPU ();
  PfSimParams p;
  pf_sim_params_init_default (&p);
  p.image_size = 0;
  GError *error = NULL;
  PfCudaSim *sim = pf_cuda_sim_new (ctx, &p, &error);
  g_assert_null (sim);
  g_assert_error (error, PF_CUDA_ERROR, PF_CUDA_ERROR_INVALID);
  g_clear_error (&error);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  pf_test_cuda_open ("GPU simulator");

  g_test_add_func ("/cuda-sim/particles", test_particles);
  g_test_add_func ("/cuda-sim/default", test_default);
  g_test_add_func ("/cuda-sim/bfield", test_bfield);
  g_test_add_func ("/cuda-sim/params", test_params);
  g_test_add_func ("/cuda-sim/high-events", test_high_events);
  g_test_add_func ("/cuda-sim/collisions", test_collisions);
  g_test_add_func ("/cuda-sim/global", test_global);
  g_test_add_func ("/cuda-sim/slices", test_slices);
  g_test_add_func ("/cuda-sim/invalid", test_invalid);
  int rc = g_test_run ();
  pf_cuda_context_free (ctx);
  g_free (skip_reason);
  return rc;
}

#else /* !PF_HAVE_CUDA */

PF_TEST_MAIN_WITHOUT_CUDA ("/cuda-sim/not-built", "GPU simulator")

#endif
