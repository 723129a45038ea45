/* pf-particles.h — the particle list shared by the jet code: what a HepMC3 file, the built-in
 * jet generator and the pixels of an image turn into, and what FastJet clusters.
 *
 * A particle is a four-momentum in GeV plus what the detector simulator needs to treat it like
 * one of its own particles (species and charge, DESIGN.md §4): the later `simulate --jets` step
 * converts each entry to (E, eta, phi, charge, species) with the helpers below, so the list is
 * the hand-over format between the jet sources and core/sim. */
#pragma once
#include <glib.h>

G_BEGIN_DECLS

/* Detector species, same meaning and order as the simulator's PF_SIM_PI0, ... (pf-sim-private.h):
 * electromagnetic (photons, electrons, neutral pions), neutral hadron, charged hadron; plus
 * invisible (neutrinos) which a detector never sees. */
typedef enum {
  PF_SPECIES_EM = 0,
  PF_SPECIES_NEUTRAL_HADRON = 1,
  PF_SPECIES_CHARGED_HADRON = 2,
  PF_SPECIES_INVISIBLE = 3,
} PfSpecies;

typedef struct {
  double px, py, pz, e; /* GeV */
  int pdg;              /* PDG id; 0 when unknown (pixels) */
  int charge;           /* -1, 0, +1 (integer charge; rare |q| > 1 states are clamped) */
  int species;          /* PfSpecies */
} PfParticle;

/* A growable array; `items` is NULL while empty. */
typedef struct {
  PfParticle *items;
  gsize n, cap;
} PfParticleList;

/* No list ever holds more than this many particles (bounded allocations for untrusted input). */
#define PF_PARTICLE_LIST_MAX ((gsize) 1 << 24)

void pf_particle_list_init (PfParticleList *l);
void pf_particle_list_clear (PfParticleList *l); /* frees the storage, back to empty */
/* FALSE (and the list unchanged) when the list already holds PF_PARTICLE_LIST_MAX. */
gboolean pf_particle_list_append (PfParticleList *l, const PfParticle *p);

double pf_particle_pt (const PfParticle *p);
/* Pseudorapidity; +-1e300-free: a particle along the beam gets +-50. */
double pf_particle_eta (const PfParticle *p);
/* Azimuth in [-pi, pi). */
double pf_particle_phi (const PfParticle *p);
/* A massless particle of energy e (> 0) at (eta, phi). */
void pf_particle_set_massless (PfParticle *p, double e, double eta, double phi);

/* Charge (-1, 0, +1) and species of a PDG id; unknown ids are treated as neutral hadrons. */
int pf_pdg_charge (int pdg);
PfSpecies pf_pdg_species (int pdg);

/* Reads a text file of "px py pz E" lines (GeV; '#' starts a comment, blank lines skipped)
 * and appends massless-or-not particles with pdg 0, charge 0, species neutral hadron.
 * Errors name the file and line: a wrong number of fields, a non-number, a non-finite value,
 * E < 0, or more than PF_PARTICLE_LIST_MAX particles. */
gboolean pf_particle_list_read_text (PfParticleList *l, const char *path, GError **error);

/* phi wrapped into [-pi, pi). */
double pf_wrap_phi (double phi);

G_END_DECLS
