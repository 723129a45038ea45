/* pf-train-log.h — the per-epoch training log: log.csv, log.json and the checkpoint's table. */
#pragma once
#include "pf-trainer.h"

G_BEGIN_DECLS

/* CSV header = the checkpoint table's `columns` attribute. */
extern const char *const pf_train_log_columns;

typedef struct {
  const char *model, *loss, *dataset;
  int scale, batch;
  double lambda;
  int best_epoch;
  double best_val_loss;
  gboolean early_stopped;
  const char *device, *precision; /* "cpu"/"cuda"; "fp32", "tf32" or "bf16" */
} PfTrainLogMeta;

void pf_train_log_row_to_doubles (const PfTrainLogRow *r, double *v);
void pf_train_log_row_from_doubles (const double *v, PfTrainLogRow *r);
/* Whether v (PF_TRAIN_LOG_COLS doubles read from a file) converts to a row: its epoch and
 * n_train_used are whole numbers in range (other columns may be NaN). FALSE with the name and
 * the value of the column that is not in *column and *value. */
gboolean pf_train_log_row_check (const double *v, const char **column, double *value);

/* Writes both files atomically. NaN parts are "nan" in CSV and null in JSON. */
gboolean pf_train_log_write (const char *csv_path, const char *json_path, const PfTrainLogMeta *meta,
                             const PfTrainLogRow *rows, int n, GError **error);

G_END_DECLS
