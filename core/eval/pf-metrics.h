/* pf-metrics.h — pixel metrics of an energy reconstruction (DESIGN.md §7).
 *
 * An accumulator is fed blocks of events: a prediction and the truth, both [n, S, S] float32 in
 * GeV (de-normalised), rows = eta bins, columns = phi bins. Everything is accumulated in double,
 * so feeding the events in one block or in many gives the same numbers (up to rounding).
 *
 *  - WMSE per image sum(y (p - y)^2) / (sum y + 1e-8), mean over events; beside it the
 *    published per-phi-column variant (column sums, mean over columns then events).
 *  - Energy bands by the TRUE pixel energy t, among pixels with t > pixel_threshold (0.1 GeV):
 *    band k holds edges[k] < t <= edges[k+1], the last band is open (> edges[n_bands]).
 *    Relative residual r = (p - t) / t (positive = over-estimate; the published script had the
 *    opposite sign): mean, population standard deviation and count over the band's pixels.
 *  - Barycentre shift per band and event: the centroids (sum i E / sum E, sum j E / sum E) of
 *    truth and prediction over the band's pixels of that event (i = row, j = column, in pixels),
 *    their distance; mean and standard deviation over the events that have band pixels. With
 *    paper_compat both centroids are divided by the TRUE band energy, as the published script
 *    did. By default each image's own band energy divides; when the predicted band energy is
 *    <= 0 the predicted centroid does not exist and the event is counted as undefined.
 *  - Energy difference (earlier study): d = (p - t) / (norm_max - norm_min) over pixels with
 *    t != 0 (the min cancels in a difference). All d are kept (4 bytes per truth pixel) so the
 *    histogram range can follow the data: median +- hist_range_sigmas robust sigmas (half the
 *    16-84 % quantile distance) unless hist_lo < hist_hi are given. A Gaussian is fitted to the
 *    histogram (pf-gauss-fit.h).
 * A value that cannot be computed (empty band, no event, failed fit) is NAN in the summary
 * together with a reason string; the JSON writer turns it into null + reason, never NaN. */
#pragma once
#include <glib.h>
#include <stdint.h>
#include "pf-gauss-fit.h"

G_BEGIN_DECLS

#define PF_METRICS_MAX_BANDS 8
#define PF_METRICS_WMSE_EPS 1e-8

typedef struct {
  int image_size;           /* S */
  int n_bands;              /* 1..PF_METRICS_MAX_BANDS; 3 by default */
  double band_edges[PF_METRICS_MAX_BANDS]; /* increasing lower edges, GeV: 2, 5, 10 */
  double pixel_threshold;   /* only truth > this enters the bands: 0.1 GeV */
  gboolean paper_compat;    /* barycentre divided by the true band energy */
  double norm_min, norm_max; /* normalisation of the energy difference: 0, 1 (GeV) by default */
  int hist_bins;            /* 100 */
  double hist_lo, hist_hi;  /* fixed range (normalised units) when hist_lo < hist_hi */
  double hist_range_sigmas; /* automatic range: median +- this many robust sigmas (5) */
} PfMetricsOptions;

/* Defaults above for images of size S. */
void pf_metrics_options_init (PfMetricsOptions *o, int image_size);
/* PF_ERROR_INVALID with a message when an option is out of range. */
gboolean pf_metrics_options_check (const PfMetricsOptions *o, GError **error);
/* "(2,5]" for a middle band, ">10" for the last one (GeV); `buf` holds >= 64 bytes. */
void pf_metrics_band_label (const PfMetricsOptions *o, int band, char *buf, size_t size);

typedef struct _PfMetrics PfMetrics;

PfMetrics *pf_metrics_new (const PfMetricsOptions *o, GError **error);
void pf_metrics_free (PfMetrics *m);
const PfMetricsOptions *pf_metrics_options (const PfMetrics *m);

/* Adds n events: pred and truth [n, S, S] GeV. PF_ERROR_NUMERIC (naming the event and pixel)
 * when a value is not finite; nothing is added from a block that fails. */
gboolean pf_metrics_add (PfMetrics *m, int64_t n, const float *pred, const float *truth,
                         GError **error);
int64_t pf_metrics_n_events (const PfMetrics *m);

typedef struct {
  double lo, hi;             /* (lo, hi]; hi = INFINITY for the last band */
  char label[64];
  int64_t n_pixels;
  double residual_mean, residual_std, residual_mean_err; /* NAN when n_pixels == 0 */
  char *residual_reason;     /* NULL when defined */
  int64_t shift_events;      /* events whose shift is defined */
  int64_t shift_undefined;   /* events with band pixels but predicted band energy <= 0 */
  double shift_mean, shift_std; /* pixels; NAN when shift_events == 0 */
  char *shift_reason;        /* NULL when defined */
} PfBandSummary;

typedef struct {
  int64_t n_pixels;          /* truth != 0 */
  double sample_mean, sample_std; /* of all d, NAN when none */
  int nbins;
  double lo, hi;
  double *counts;            /* nbins; NULL when there is no pixel */
  int64_t underflow, overflow;
  gboolean fitted;
  PfGaussFit fit;            /* valid when fitted */
  char *fit_reason;          /* NULL when fitted */
} PfEnergyDiffSummary;

typedef struct {
  int64_t n_events;
  double wmse;               /* NAN when no event */
  double wmse_per_column;
  int n_bands;
  PfBandSummary bands[PF_METRICS_MAX_BANDS];
  PfEnergyDiffSummary ediff;
} PfMetricsSummary;

/* Computes the summary (sorts a copy of the energy differences, fits the Gaussian). Values
 * that cannot be computed carry a reason; this only fails on a summary of no event at all. */
gboolean pf_metrics_summarize (const PfMetrics *m, PfMetricsSummary *out, GError **error);
void pf_metrics_summary_clear (PfMetricsSummary *s);

/* Appends the summary as one JSON object ("wmse", "bands", "energy_difference"...) to str;
 * undefined values are null with a "*_reason" beside them. `indent` spaces of indentation. */
void pf_metrics_summary_to_json (const PfMetricsSummary *s, const PfMetricsOptions *o,
                                 GString *str, int indent);

/* JSON helpers shared with the report: a double as a JSON number (null when not finite) and
 * a string with JSON escapes (null when NULL). */
void pf_json_append_double (GString *str, double v);
void pf_json_append_string (GString *str, const char *s);

G_END_DECLS
