/* pf-checkpoint.h — training checkpoints in HDF5 (DESIGN.md §3, docs/checkpoint.md).
 *
 * Layout:
 *   /state_dict/<name>            float32, the tensor's shape: every parameter and buffer under
 *                                 its PyTorch state_dict name ("encoder.0.weight", ...)
 *   /optimizer/exp_avg/<name>     float32, Adam's first moment of each parameter
 *   /optimizer/exp_avg_sq/<name>  float32, Adam's second moment (attribute `step` on /optimizer)
 *   /train_log                    float64 [epochs, columns]: the per-epoch log (attribute
 *                                 `columns`, comma-separated), so a resumed run keeps its history
 *   root attributes               see PfCheckpointInfo
 *
 * Writes go to a temporary beside the target renamed into place, so a crash or Ctrl-C never
 * leaves half a checkpoint under the real name. Reading treats the file as untrusted: every
 * failure names the file and the tensor, with expected vs found. */
#pragma once
#include <glib.h>
#include <stdint.h>
#include "pf-graph.h"

G_BEGIN_DECLS

typedef struct {
  char *model;            /* "cnn", "se", ... (pf_model_find) */
  int scale;
  int image_size;         /* 56 */
  int batch;
  char *loss;             /* "mse", "wmse", "ssim", "mix" */
  double lambda;
  double lr;              /* base learning rate (StepLR starts from it) */
  gboolean paper_compat;
  int epoch;              /* completed epochs */
  int batch_in_epoch;     /* batches of the next epoch already trained (a cancelled run) */
  double partial[5];      /* their sums: loss, mse, wmse, ssim, batch count */
  int best_epoch;         /* 1-based epoch of the best validation loss; 0 = none yet */
  double best_val_loss;   /* +inf when none */
  double norm_min, norm_max; /* x_norm = (x - min) / (max - min), truth alike */
  char *dataset;          /* path of the training dataset */
  int64_t n_train, n_val, n_test;
  uint64_t seed;
  int epochs, patience, progressive; /* the run's settings, for --resume */
  int64_t max_events;     /* 0 = all */
  char *pflow_version;    /* filled by reading; written as PF_VERSION */
  /* the log table (may be empty): rows x cols doubles, row-major */
  int log_rows, log_cols;
  double *log;
  char *log_columns;
} PfCheckpointInfo;

void pf_checkpoint_info_init (PfCheckpointInfo *info);
void pf_checkpoint_info_clear (PfCheckpointInfo *info);

/* Writes the graph's parameters and buffers, Adam's moments when with_optimizer (and the graph
 * was planned for training) with `adam_step`, and the attributes of `info`. Atomic. */
gboolean pf_checkpoint_save (const char *path, PfGraph *g, const PfCheckpointInfo *info,
                             gboolean with_optimizer, int64_t adam_step, GError **error);

/* Reads the attributes (and the log table) only, validated: model known, scale, sizes and
 * normalisation constants sane. */
gboolean pf_checkpoint_read_info (const char *path, PfCheckpointInfo *info, GError **error);

/* Fills a planned graph from the file: the model must be the graph's ("cnn-s1"), every
 * parameter and buffer present with the graph's shape and finite, and no tensor the graph does
 * not have. With with_optimizer (the graph planned for training), Adam's moments and step too
 * (*adam_step may be NULL). info (may be NULL) receives the attributes. Nothing in the graph
 * changes unless everything validates. */
gboolean pf_checkpoint_load (const char *path, PfGraph *g, gboolean with_optimizer,
                             PfCheckpointInfo *info, int64_t *adam_step, GError **error);

G_END_DECLS
