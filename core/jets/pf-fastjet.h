/* pf-fastjet.h — jet clustering through FastJet 3.4, as a C API.
 *
 * pf-fastjet.cc is the only C++ of pflow's core: an extern "C" shim that catches every C++
 * exception (fastjet::Error, std::bad_alloc, anything) and turns it into a GError, so no
 * exception ever unwinds through C frames. Recombination is FastJet's E-scheme.
 *
 * Active areas use ghosts of area `ghost_area` up to |y| = ghost_maxrap (>= 5 by default)
 * drawn by a generator private to the call and seeded with `ghost_seed` every time: the same
 * input gives bit-identical areas on every call, from any thread (FastJet's shared static
 * generator is never touched). See docs/jets.md for the choice of ghost area. */
#pragma once
#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  PF_JET_ANTIKT,
  PF_JET_KT,
  PF_JET_CAM, /* Cambridge/Aachen */
} PfJetAlgorithm;

typedef struct {
  PfJetAlgorithm algorithm;
  double radius;         /* R, 0.4 */
  double ptmin;          /* jets below this pt (GeV) are dropped, 0 */
  gboolean areas;        /* compute active areas (FALSE: area = 0) */
  double ghost_area;     /* area of one ghost, PF_JET_DEFAULT_GHOST_AREA */
  double ghost_maxrap;   /* ghosts cover |y| <= this, 5 */
  int ghost_seed[2];     /* FastJet BasicRandom seed, fixed: { 12345, 67890 } */
} PfJetParams;

/* Area of one ghost; the choice (speed against area precision) is measured in docs/jets.md. */
#define PF_JET_DEFAULT_GHOST_AREA 0.02

typedef struct {
  double px, py, pz, e;  /* E-scheme four-momentum, GeV */
  double rap, phi, pt;   /* rapidity, phi in [-pi, pi), transverse momentum */
  double area;           /* active area in (y, phi); 0 without areas */
  int n_const;           /* real constituents (ghosts excluded) */
  int *constituents;     /* their indices in the input, ascending (points into the list) */
} PfJet;

typedef struct {
  PfJet *jets;           /* sorted by decreasing pt */
  int n_jets;
  int *index_storage;    /* all constituent indices, owned */
} PfJetList;

void pf_jet_params_init_default (PfJetParams *p);
/* Rejects R <= 0 or non-finite, negative ptmin, ghost_area <= 0 or ghost_maxrap <= 0 when
 * areas are asked for, and unknown algorithms. */
gboolean pf_jet_params_validate (const PfJetParams *p, GError **error);
/* "antikt", "kt", "cam" (also "ca", "cambridge"); FALSE on anything else. */
gboolean pf_jet_algorithm_from_string (const char *s, PfJetAlgorithm *out);
const char *pf_jet_algorithm_name (PfJetAlgorithm a);

/* Clusters n particles given as four-momenta xyze[4*i + (0..3)] = (px, py, pz, E) in GeV.
 * Non-finite input is an error naming the particle. n = 0 gives an empty list. */
PfJetList *pf_fastjet_cluster (const PfJetParams *p, const double *xyze, gsize n,
                               GError **error);
void pf_jet_list_free (PfJetList *l);

G_END_DECLS
