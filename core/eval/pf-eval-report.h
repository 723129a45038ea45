/* pf-eval-report.h — one evaluation run: the model, the fitted baseline and the raw sum,
 * measured with the same metrics on the same events, written as one JSON object.
 *
 * Blocks come as pf_dataset_read gives them: `inputs` [4][n][S][S] (emcal, hcal, trk_n,
 * trk_p: the first four channels of the block) and `truth` [n][S][S] (channel PF_CH_TRUTH),
 * plus the model's prediction [n][S][S] in GeV. Without inputs only the model is measured;
 * without a prediction only the references are. Each source reports its own event count.
 *
 * The JSON is written with GLib's GString (no json-glib dependency) with stable keys, in the
 * order below; every undefined number is null with a "*_reason" string beside it:
 *   { "format": "pflow-eval", "schema": 1, "pflow_version", "meta": {string: string},
 *     "image_size", "paper_compat", "pixel_threshold_gev", "band_edges_gev": [...],
 *     "baseline_constants": {"a", "a_error", "b", "b_error", "n_events", "n_pixels", "rms_gev"}
 *       | null, "baseline_constants_reason",
 *     "model": METRICS | null, "model_reason", "baseline": METRICS | null, "baseline_reason",
 *     "raw_sum": METRICS | null, "raw_sum_reason" }
 * with METRICS as in pf_metrics_summary_to_json. docs/metrics.md describes every key. */
#pragma once
#include <glib.h>
#include <stdint.h>
#include "pf-metrics.h"
#include "pf-baseline.h"

G_BEGIN_DECLS

typedef enum {
  PF_EVAL_MODEL,
  PF_EVAL_BASELINE,
  PF_EVAL_RAW_SUM,
  PF_EVAL_N_SOURCES,
} PfEvalSource;

/* "model", "baseline", "raw_sum". */
const char *pf_eval_source_name (PfEvalSource s);

typedef struct _PfEvaluation PfEvaluation;

/* `baseline` NULL: no fitted baseline (the report says so); the raw sum is always measured
 * when inputs are given. */
PfEvaluation *pf_evaluation_new (const PfMetricsOptions *o, const PfBaseline *baseline,
                                 GError **error);
void pf_evaluation_free (PfEvaluation *ev);

/* A string for "meta" (model name, dataset, checkpoint...); a later value replaces one. */
void pf_evaluation_set_meta (PfEvaluation *ev, const char *key, const char *value);

/* pred and inputs may be NULL (not both); truth is required. On error nothing is added. */
gboolean pf_evaluation_add (PfEvaluation *ev, int64_t n, const float *pred,
                            const float *inputs, const float *truth, GError **error);

/* The accumulator of one source (for the figures or the GUI). */
const PfMetrics *pf_evaluation_metrics (const PfEvaluation *ev, PfEvalSource s);

/* The report as a JSON string (newly allocated), or NULL when no source has an event. */
char *pf_evaluation_to_json (const PfEvaluation *ev, GError **error);
/* The same, written to a temporary file renamed into place. */
gboolean pf_evaluation_write_json (const PfEvaluation *ev, const char *path, GError **error);

G_END_DECLS
