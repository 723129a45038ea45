/* pflow-eval.h — evaluating a checkpoint on a dataset split, shared by `pflow eval` and
 * `pflow ablate`: predictions, the baseline fitted on the training split, and the metrics of
 * both (and of the raw sum) on the same events. */
#pragma once
#include "pf-eval-report.h"
#include "pf-jet-metrics.h"
#include "pf-predictor.h"

typedef struct {
  PfEvaluation *ev;
  PfBaseline baseline;
  PfCheckpointInfo info;       /* of the checkpoint */
  PfMetricsOptions options;
  gint64 first, count;         /* the events evaluated */
  int image_size;
  int n_samples;               /* sample events kept for figures */
  float *sample_truth, *sample_pred; /* n_samples * S * S each */
  /* Jet metrics of the model [0] and the baseline [1], only for datasets with a `jet` channel
   * (NULL otherwise). */
  PfJetMetrics *jets[2];
  PfJetMetricsOptions jet_options;
} PflowEvaluation;

/* The model's predictions are computed on `device` (pf_device_pick); the metrics on the CPU. */
gboolean pflow_evaluate (const char *ckpt, const char *data, PfSplit split, gboolean paper_compat,
                         int n_samples, gboolean quiet, PfDevice device, PflowEvaluation *out,
                         GError **error);
void pflow_evaluation_clear (PflowEvaluation *e);
/* The band table of the three sources as Markdown. */
char *pflow_evaluation_band_table (PflowEvaluation *e, GError **error);
/* The jet table of the model and the baseline as Markdown; NULL without jet metrics. */
char *pflow_evaluation_jet_table (PflowEvaluation *e);
