/* pf-pixels.h — images to jet particles, and truth-to-prediction jet matching (DESIGN.md §7).
 *
 * Pixels: every pixel above a threshold becomes a massless particle at the centre of its
 * (eta, phi) bin with E = pixel energy (pt = E / cosh eta). `paper_compat` instead reproduces
 * the published evaluation script, which placed pixels on a cylinder (docs/jets.md):
 * z = row + 0.5 - S/2, (x, y) on a circle of radius S/(2 pi) at angle 2 pi (col + 0.5)/S, and
 * the momentum is that vector scaled to length E. Its jets' phi is the standard phi + pi.
 *
 * Matching: each jet is a circle of radius sqrt(area/pi) around (rap, phi); truth jets are
 * paired one-to-one with predicted jets, greedily by the largest circle overlap (the
 * intersection area with phi periodic) or by the smallest Delta R. */
#pragma once
#include <glib.h>
#include "pf-fastjet.h"

G_BEGIN_DECLS

typedef struct {
  int image_size;         /* S, 56 */
  double eta_max;         /* rows cover [-eta_max, eta_max], 2.5 */
  double threshold;       /* pixels with E > threshold (GeV) become particles, 0 */
  gboolean paper_compat;  /* the published script's cylinder mapping */
} PfPixelParams;

void pf_pixel_params_init_default (PfPixelParams *p);

/* Writes one particle per pixel of img[S * S] (row-major, rows = eta) above the threshold to
 * xyze[4 * k + (0..3)] = (px, py, pz, E) and, when `pixel` is not NULL, its pixel index
 * row * S + col to pixel[k]; both must hold S * S entries. Returns the number of particles,
 * or -1 with an error on bad parameters or a non-finite pixel. Allocates nothing. */
int pf_pixels_to_particles (const PfPixelParams *p, const float *img, double *xyze, int *pixel,
                            GError **error);

/* The (eta, phi) centre of pixel (row, col) in the standard mapping. */
void pf_pixel_centre (const PfPixelParams *p, int row, int col, double *eta, double *phi);

typedef enum {
  PF_MATCH_OVERLAP,  /* largest circle overlap, pairs with zero overlap never match */
  PF_MATCH_DELTA_R,  /* smallest Delta R, up to max_delta_r */
} PfMatchMode;

typedef struct {
  int truth, pred;    /* jet indices */
  double overlap;     /* circle intersection area */
  double delta_r;     /* sqrt(d_rap^2 + d_phi^2) */
  double d_rap, d_phi; /* prediction - truth, d_phi in [-pi, pi) */
  double rel_energy;  /* (E_pred - E_true) / E_true */
} PfJetMatch;

/* Area of the intersection of circles of radii r1, r2 whose centres are d_rap, d_phi apart,
 * with phi periodic (the images of the second circle at phi +- 2 pi count too). */
double pf_circle_overlap (double r1, double r2, double d_rap, double d_phi);

/* Matches one-to-one; out must hold MIN (n_truth, n_pred) entries. In DELTA_R mode a pair
 * farther apart than max_delta_r never matches (max_delta_r <= 0: no limit). Pairs come out
 * in truth index order. Returns the number of pairs, -1 with an error on bad input (jets with
 * negative area or non-positive truth energy). */
int pf_jet_match (const PfJet *truth, int n_truth, const PfJet *pred, int n_pred,
                  PfMatchMode mode, double max_delta_r, PfJetMatch *out, GError **error);

G_END_DECLS
