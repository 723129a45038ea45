/* pf-sim.h — the fast detector simulator (DESIGN.md §4).
 *
 * Turns PartMult particles per event into five 56x56 float32 images in GeV:
 * emcal, hcal, trk_n, trk_p and truth (rows = eta bins, columns = phi bins).
 * Every random draw is Philox(seed, event, particle, draw), so output is bit-identical
 * for any thread count and any split of the event range: particle i of event e uses the two
 * blocks pf_rng_block (seed, PF_RNG_STREAM_SIM, (uint32_t) e, i, 2 * (e >> 32) + k), k = 0, 1
 * (see pf-sim.c for which word feeds which draw). Parameters are validated by the caller
 * (pf_sim_params_validate); the run functions assume valid ones. */
#pragma once
#include <glib.h>
#include <stdint.h>

G_BEGIN_DECLS

/* Bumped whenever the generated numbers for a given seed change. Stored in every dataset. */
#define PF_SIM_GENERATOR_VERSION 1
#define PF_SIM_GENERATOR_NAME "pflow-sim/philox4x32-10"

enum { PF_CH_EMCAL, PF_CH_HCAL, PF_CH_TRK_N, PF_CH_TRK_P, PF_CH_TRUTH, PF_N_CHANNELS };

/* Particle species, decided by one uniform u for the simulator's own particles; same values as
 * PfSpecies of core/jets/pf-particles.h (which adds invisible particles, never simulated). */
enum { PF_SIM_PI0, PF_SIM_NEUTRAL_HADRON, PF_SIM_CHARGED_HADRON };

typedef struct {
  int n_particles;         /* PartMult, 1600 */
  double frac_pi0;         /* neutral-pion fraction, 0.25 (u < frac_pi0) */
  double frac_neutral_cum; /* cumulative neutral-hadron threshold, 0.5 */
  double eta_max;          /* 2.5 */
  double bfield;           /* B, 0.5 */
  int image_size;          /* 56 */
  double res_scale;        /* resolution scale, 1.0 */
  double trk_res;          /* 0.05 (times res_scale) */
  double emc_res;          /* 0.05 (times res_scale) */
  double hcal_res;         /* 0.1 (times res_scale) */
  double nonlin;           /* NL, 0.3 */
  double charged_range;    /* fraction of the eta/phi range for charged particles, 0.9 */
  gboolean wrap_phi;       /* wrap bent particles around phi = ±pi instead of losing them */
  double trk_threshold;    /* 0.1 GeV */
  double emc_threshold;    /* 0.2 GeV */
  double hcal_threshold;   /* 0.3 GeV */
  double em_sampling;      /* 0.9: fraction of the corrected energy seen by a calorimeter */
  double em_leak;          /* 0.1: EM energy left after the Emcal */
  double had_emc_frac;     /* 0.1: hadron energy seen by the Emcal */
  uint64_t seed;
} PfSimParams;

/* Parameter names, stored as HDF5 attributes and printed by `pflow info`. */
typedef struct {
  const char *name;
  enum { PF_PARAM_DOUBLE, PF_PARAM_INT, PF_PARAM_BOOL, PF_PARAM_U64 } type;
  gsize offset;
} PfSimParamInfo;

void pf_sim_params_init_default (PfSimParams *p);
/* Rejects negative, NaN or meaningless values with a message naming the parameter. */
gboolean pf_sim_params_validate (const PfSimParams *p, GError **error);
const PfSimParamInfo *pf_sim_param_table (guint *n);

/* Published file name: Gauss_S1.00_NL0.30_B0.50.h5 */
char *pf_sim_default_filename (const PfSimParams *p);

/* Simulates events [first, first + n) into `out`, channel-major so that each channel block
 * is exactly the hyperslab of the dataset of that channel:
 * out[((ch * n) + (e - first)) * S * S + row * S + col] with S = image_size.
 * Each event depends only on (params, e); n_threads <= 0 means all cores.
 * The buffer is overwritten. */
void pf_sim_run (const PfSimParams *p, int64_t first, int64_t n, float *out, int n_threads);

/* One event, single-threaded (the unit pf_sim_run parallelises): the five images go to
 * img[ch] (S * S floats each, overwritten). */
void pf_sim_event (const PfSimParams *p, int64_t event, float *const img[PF_N_CHANNELS]);

/* ---- extra particles (jet test sets, DESIGN.md §4; docs/jets.md) ----
 *
 * An extra particle has a given energy, position, charge and species and goes through the same
 * detector response as the simulator's own: the tracker and the magnetic field follow its
 * charge (an electron leaves a track and bends), the calorimeters its species (PF_SIM_PI0 = the
 * electromagnetic response, the two hadron species the hadronic one), with the same thresholds,
 * resolutions, non-linearity and binning; outside the image it is lost like any particle. Its
 * noise comes from the Philox counter particle = n_particles + j for extra particle j, so the
 * random streams of the n_particles ordinary particles do not change. It adds E at its
 * generated (eta, phi) to the truth and to the jet-only truth. */
typedef struct {
  float e;        /* GeV, finite and >= 0 */
  float eta, phi; /* generated position; phi in [-pi, pi] (others are lost, as bent ones) */
  int charge;     /* -1, 0, +1 */
  int species;    /* PF_SIM_PI0, PF_SIM_NEUTRAL_HADRON or PF_SIM_CHARGED_HADRON */
} PfSimInput;

/* PF_ERROR_INVALID naming the first bad entry (`what`, e.g. a file name, starts the message):
 * non-finite or negative energy, non-finite position, charge outside -1..1, unknown species, or
 * more extra particles than the counter space leaves (n_particles + n < 2^32). */
gboolean pf_sim_inputs_validate (const PfSimParams *p, const PfSimInput *in, int n,
                                 const char *what, GError **error);

/* pf_sim_event plus n_extra extra particles (valid ones, see above). jet_truth (S * S,
 * overwritten) may be NULL. With n_extra = 0 the five images are bit-identical to
 * pf_sim_event's and jet_truth is zero. */
void pf_sim_event_with_particles (const PfSimParams *p, int64_t event, const PfSimInput *extra,
                                  int n_extra, float *const img[PF_N_CHANNELS],
                                  float *jet_truth);

/* Events [first, first + n) with extra particles: event first + i gets extra[i][0..n_extra[i]).
 * `out` holds PF_N_CHANNELS + 1 channel blocks laid out like pf_sim_run's, the jet-only truth
 * last (the `jet` channel of a dataset: pf_dataset_writer_append takes it as it is).
 * Parallel over events, bit-identical for any thread count. */
void pf_sim_run_with_particles (const PfSimParams *p, int64_t first, int64_t n,
                                const PfSimInput *const *extra, const int *n_extra, float *out,
                                int n_threads);

G_END_DECLS
