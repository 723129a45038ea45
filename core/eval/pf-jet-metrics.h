/* pf-jet-metrics.h — jet metrics of an energy reconstruction (DESIGN.md §7, docs/jets.md).
 *
 * Per event, the truth image and the predicted image (both [S, S] GeV) are clustered the same
 * way: every pixel above pixel_threshold becomes a massless particle at its (eta, phi) centre
 * (pf-pixels.h), anti-kt R = 0.4 with active areas and the fixed ghost seed (pf-fastjet.h).
 * Truth jets with pt > jet_pt_min are the jets measured; predicted jets with pt > pred_pt_min
 * (a lower floor, so a truth jet just above the cut is not lost because its prediction fell
 * just below) are the candidates. They are matched one-to-one by the largest circle overlap,
 * circles of radius sqrt(area/pi) (or by the smallest Delta R). Per matched pair:
 *  - relative energy error r = (E_pred - E_true) / E_true (jet energies, E-scheme);
 *  - position difference d_rap, d_phi (wrapped) and Delta R, prediction - truth;
 *  - position deviation in pixels (earlier study): sqrt((d_rap/h_eta)^2 + (d_phi/h_phi)^2),
 *    h_eta = 2 eta_max / S and h_phi = 2 pi / S the pixel sizes;
 *  - energy deviation (earlier study): the sum over the pixels whose centre lies inside the
 *    TRUTH jet's circle (phi periodic, every pixel, no threshold) of the normalised
 *    energies, prediction minus truth: sum (p - t) / (norm_max - norm_min) (the min cancels).
 * Unmatched jets are counted: truth jets without a partner, predicted jets above jet_pt_min
 * without a partner. The summary gives mean and population standard deviation of each
 * quantity over all pairs and a Gaussian fit (pf-gauss-fit.h) to the histogram of r; a value
 * that cannot be computed is NAN with a reason (the JSON has null + "*_reason", never NaN). */
#pragma once
#include <glib.h>
#include <stdint.h>
#include "pf-fastjet.h"
#include "pf-gauss-fit.h"
#include "pf-pixels.h"

G_BEGIN_DECLS

/* Truth jets below this are not measured: background-only simulated events (1600 particles)
 * have ~30 jets above 20 GeV, ~1.7 above 60 and ~0.2 above 80, while every built-in or
 * Pythia hard jet (pTHatMin 120) is above it (docs/jets.md). */
#define PF_JET_METRICS_DEFAULT_PT_MIN 80.0

typedef struct {
  int image_size;          /* S */
  double eta_max;          /* rows cover [-eta_max, eta_max]: 2.5 */
  double pixel_threshold;  /* pixels with E > this (GeV) become particles: 0.1 */
  PfJetParams jet;         /* anti-kt, R 0.4, areas on, ghost area 0.02, fixed seed */
  double jet_pt_min;       /* truth jets measured: pt > 80 GeV */
  double pred_pt_min;      /* predicted jets that may match: pt > 40 GeV */
  PfMatchMode match;       /* PF_MATCH_OVERLAP */
  double max_delta_r;      /* DELTA_R mode only; <= 0: no limit (R by default) */
  double norm_min, norm_max; /* normalisation of the energy deviation: 0, 1 GeV */
  int hist_bins;           /* relative energy error histogram: 60 bins */
  double hist_lo, hist_hi; /* over [-0.6, 0.6] */
} PfJetMetricsOptions;

void pf_jet_metrics_options_init (PfJetMetricsOptions *o, int image_size);
gboolean pf_jet_metrics_options_check (const PfJetMetricsOptions *o, GError **error);

/* One event: the jets kept (truth above jet_pt_min, predictions above pred_pt_min; constituent
 * pointers are NULL) and the pairs with their deviations, pairs in truth order. */
typedef struct {
  PfJet *truth, *pred;
  int n_truth, n_pred;
  PfJetMatch *matches;
  double *pos_dev_px, *energy_dev; /* per pair */
  int n_matches;
  int n_unmatched_truth, n_unmatched_pred; /* pred: among those above jet_pt_min */
} PfJetEvent;

/* Clusters and matches one event (pred, truth: S * S GeV). PF_ERROR_NUMERIC on a non-finite
 * pixel. `out` is overwritten; clear it with pf_jet_event_clear. */
gboolean pf_jet_event_compute (const PfJetMetricsOptions *o, const float *pred,
                               const float *truth, PfJetEvent *out, GError **error);
void pf_jet_event_clear (PfJetEvent *e);

typedef struct _PfJetMetrics PfJetMetrics;

PfJetMetrics *pf_jet_metrics_new (const PfJetMetricsOptions *o, GError **error);
void pf_jet_metrics_free (PfJetMetrics *m);
const PfJetMetricsOptions *pf_jet_metrics_options (const PfJetMetrics *m);
/* n events of pred and truth [n, S, S]; nothing is added from a block that fails. */
gboolean pf_jet_metrics_add (PfJetMetrics *m, int64_t n, const float *pred, const float *truth,
                             GError **error);

typedef struct {
  int64_t n;              /* pairs */
  double mean, std;       /* NAN when n == 0 */
} PfJetStat;

typedef struct {
  int64_t n_events, n_truth_jets, n_pred_jets, n_matched;
  int64_t n_unmatched_truth, n_unmatched_pred;
  PfJetStat rel_energy, d_rap, d_phi, delta_r, pos_dev_px, energy_dev;
  char *reason;           /* why there is no pair (NULL when n_matched > 0) */
  int nbins;
  double lo, hi;
  double *counts;         /* nbins histogram of the relative energy error */
  int64_t underflow, overflow;
  gboolean fitted;
  PfGaussFit fit;
  char *fit_reason;       /* NULL when fitted */
} PfJetSummary;

void pf_jet_metrics_summarize (const PfJetMetrics *m, PfJetSummary *out);
void pf_jet_summary_clear (PfJetSummary *s);
/* One JSON object (options, counts, statistics, fit), `indent` spaces deep. */
void pf_jet_summary_to_json (const PfJetSummary *s, const PfJetMetricsOptions *o, GString *str,
                             int indent);

G_END_DECLS
