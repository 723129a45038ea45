/* pf-sim-private.h — internal hooks of the simulator, for the tests.
 *
 * The per-particle view below comes from the very code path that fills the images
 * (the same batch routine), so the tests check what the datasets hold, not a copy. */
#pragma once
#include "pf-sim.h"

G_BEGIN_DECLS

typedef struct {
  float e;        /* generated energy (truth weight) */
  float eta, phi; /* generated position */
  float phi_calo; /* phi after the magnetic field (wrapped when wrap_phi) */
  int charge;     /* -1, 0, +1 */
  int species;    /* PF_SIM_PI0, ... */
  float w_trk;    /* tracker weight (0 when no track) */
  float w_emc;    /* Emcal weight (0 when below threshold or bent out of the image) */
  float w_hcal;   /* Hcal weight (0 when below threshold or bent out of the image) */
  int row;        /* eta bin, -1 outside the image */
  int col;        /* generated phi bin (truth, tracker), -1 outside */
  int col_calo;   /* deflected phi bin (calorimeters), -1 outside */
} PfSimParticle;

/* All p->n_particles particles of `event`, in order. */
void _pf_sim_particles (const PfSimParams *p, int64_t event, PfSimParticle *out);

/* The 8 random words of `particle` (two Philox blocks, k = 0 and 1) as the batch code
 * computes them; must equal pf_rng_block (seed, PF_RNG_STREAM_SIM, event, particle, k). */
void _pf_sim_words (uint64_t seed, int64_t event, uint32_t particle, uint32_t words[8]);

/* The vectorisable Box-Muller of the batch code, for one pair of words. */
void _pf_sim_normal2 (uint32_t a, uint32_t b, float *z0, float *z1);

G_END_DECLS
