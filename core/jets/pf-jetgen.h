/* pf-jetgen.h — the built-in toy jet generator, for jet test sets without a HepMC3 file.
 *
 * Not a physics generator (Pythia is not packaged here; DESIGN.md §4): it makes events that
 * look like hard dijets to a 56x56 calorimeter. Per event:
 * 1. two massless partons back to back in phi with the same pT, drawn from dN/dpT ~ pT^-n
 *    on [pt_min, pt_max] (pt_min plays Pythia's pTHatMin), each at its own uniform eta in
 *    [-eta_max, eta_max] (independent longitudinal boosts), phi of the first uniform;
 * 2. each parton splits recursively 1 -> 2, angular ordered like a QCD shower: momentum
 *    fraction z uniform in [z_min, 1 - z_min], an opening angle theta log-uniform (collinear
 *    d theta / theta) between theta_min and the angle of the parent's own split (theta_max
 *    for the partons), a relative transverse momentum k = theta z (1 - z) |P| perpendicular
 *    to the parent at a uniform azimuth; children p1 = z P + k and p2 = (1 - z) P - k open
 *    by about theta. Three-momentum is conserved exactly at every step, so the hadrons of
 *    the two partons balance in the transverse plane;
 * 3. a branch does not split (it is a hadron) when the drawn |k| is below kt_min (the
 *    shower cut-off), when |p| < stop_e, or when the event has max_particles hadrons; every
 *    hadron
 *    is massless (E = |p| > 0) and gets a species like the simulator's particles: u < frac_pi0
 *    EM (pi0), u < frac_neutral_cum neutral hadron (K0L), else charged pi+ or pi- at 50/50.
 * Every draw is Philox (seed, PF_RNG_STREAM_JETS, event, counter): an event depends only on
 * (params, event). */
#pragma once
#include <glib.h>
#include <stdint.h>
#include "pf-particles.h"

G_BEGIN_DECLS

typedef struct {
  double pt_min;           /* 120 GeV */
  double pt_max;           /* 1000 GeV */
  double pt_power;         /* n of pT^-n, 5 (> 1) */
  double eta_max;          /* 2.0 */
  double z_min;            /* 0.1 */
  double theta_min;        /* 0.02 rad: smallest opening angle */
  double theta_max;        /* 0.4 rad: opening angle allowed to the first split */
  double kt_min;           /* 0 GeV: optional kT cut-off of the shower */
  double stop_e;           /* 10 GeV: branches below this energy are hadrons; sets the
                            * multiplicity (~105 hadrons per event, 95% of the
                            * energy within Delta R 0.4 of its parton) */
  int max_particles;       /* 400 per event */
  double frac_pi0;         /* 0.25, as the simulator */
  double frac_neutral_cum; /* 0.5, as the simulator */
  uint64_t seed;
} PfJetGenParams;

void pf_jetgen_params_init_default (PfJetGenParams *p);
gboolean pf_jetgen_params_validate (const PfJetGenParams *p, GError **error);

/* Generates event `event`: its hadrons replace the content of `out`; the two partons go to
 * partons[0..1] when not NULL (pdg 21). Parameters must be valid. */
void pf_jetgen_event (const PfJetGenParams *p, int64_t event, PfParticleList *out,
                      PfParticle partons[2]);

G_END_DECLS
