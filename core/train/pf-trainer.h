/* pf-trainer.h — training a model on a pflow dataset with the paper's recipe (DESIGN.md §6).
 *
 * Defaults: split in event order 80/10/10 (pf_split_range); inputs and truth scaled by one
 * global min/max over the four input channels of the TRAINING split; Adam (0.9, 0.999, 1e-8);
 * lr = 1e-3 * batch / 200; StepLR(30, 0.5) per epoch; early stopping after `patience` epochs
 * without a lower validation loss, keeping the best weights; seed 26. Each epoch the training
 * events are shuffled by a Philox permutation that depends only on (seed, epoch), and the last
 * incomplete batch is dropped (as torch's DataLoader(drop_last=True)); validation covers every
 * validation event (a short last batch is evaluated on its own events only).
 *
 * Output directory: best.h5 (the best epoch so far) and last.h5 (the latest state, with Adam's
 * moments: `resume` continues from it bit-identically), log.csv and log.json, every epoch, each
 * written atomically. A cancelled run saves last.h5 at the batch it stopped at.
 *
 * Progressive volume (`progressive` = K > 1): the epoch budget is cut into K stages of equal
 * length; stage k (1..K) trains on the first k/K of the training events (event order). The
 * patience counter restarts at each stage (more data may improve again). */
#pragma once
#include <glib.h>
#include <stdint.h>
#include "pf-graph.h"

G_BEGIN_DECLS

/* ---- the split ---- */
typedef enum { PF_SPLIT_TRAIN, PF_SPLIT_VAL, PF_SPLIT_TEST, PF_SPLIT_ALL } PfSplit;

/* 80/10/10 in event order: n_train = floor(0.8 n), n_val = floor(0.1 n), test = the rest. */
void pf_split_range (int64_t n_events, PfSplit which, int64_t *first, int64_t *count);
/* "train", "val", "test", "all". */
gboolean pf_split_parse (const char *s, PfSplit *out);
const char *pf_split_name (PfSplit which);

/* ---- options ---- */
typedef struct {
  const char *data_path;  /* dataset (pf_dataset_open) */
  const char *out_dir;    /* created if needed */
  const char *model;      /* "cnn" */
  int scale;              /* 1 */
  const char *loss;       /* "mix" */
  double lambda;          /* 0.05 */
  double lr;              /* <= 0: 1e-3 * batch / 200 */
  int batch;              /* <= 0: the paper's batch of the model and scale */
  int epochs;             /* 100 */
  int patience;           /* 20; 0 = no early stopping */
  int64_t max_events;     /* 0 = all: use only the first N events of the file */
  uint64_t seed;          /* 26: initial weights and shuffling */
  gboolean paper_compat;  /* the published loss definitions */
  int progressive;        /* 0 or 1 = off; K stages */
  int lr_step;            /* 30 */
  double lr_gamma;        /* 0.5 */
  gboolean resume;        /* continue from out_dir/last.h5 */
  PfDevice device;        /* CPU (CUDA when its backend is registered) */
  const char *precision;  /* "fp32": how the GPU computed, as the caller set it on the device
                           * (pf_device_set_precision); recorded in log.json, not applied here */
} PfTrainOptions;

void pf_train_options_init (PfTrainOptions *o);

/* One row of the per-epoch log. MIX parts: NAN where the loss does not compute them. */
typedef struct {
  int epoch;              /* 1-based */
  double train_loss, val_loss, lr, seconds;
  double train_mse, train_wmse, train_ssim;
  double val_mse, val_wmse, val_ssim;
  int64_t n_train_used;   /* training events of this epoch's stage */
  gboolean best;          /* val loss improved: best.h5 written */
} PfTrainLogRow;

#define PF_TRAIN_LOG_COLS 13

/* Progress, called on the training thread. Any member may be NULL. */
typedef struct {
  /* after each training batch: global step (Adam's t), batch loss, batches done/total this epoch */
  void (*batch) (int64_t step, double loss, int done, int total, gpointer user_data);
  /* after each epoch */
  void (*epoch) (const PfTrainLogRow *row, gpointer user_data);
  /* once before the first epoch: the resolved settings and split */
  void (*start) (const PfTrainOptions *resolved, int64_t n_train, int64_t n_val, int64_t n_test,
                 gpointer user_data);
  gpointer user_data;
} PfTrainCallbacks;

typedef struct {
  int epochs_run;         /* epochs completed (in total, resumed ones included) */
  int best_epoch;
  double best_val_loss;
  gboolean early_stopped;
  gboolean cancelled;     /* also reported as PF_ERROR_CANCELLED */
  char *best_path, *last_path;
} PfTrainResult;

void pf_train_result_clear (PfTrainResult *r);

typedef struct PfTrainer PfTrainer;

/* Opens and reads the dataset, builds and plans the model (or restores last.h5 with resume). */
PfTrainer *pf_trainer_new (const PfTrainOptions *options, GError **error);
void pf_trainer_free (PfTrainer *t);

/* Trains until the epoch budget, early stopping, an error or `cancel` (polled between batches;
 * non-zero stops with PF_ERROR_CANCELLED after saving last.h5). At the end the graph holds the
 * best weights. result (may be NULL) is filled in every case. */
gboolean pf_trainer_run (PfTrainer *t, const PfTrainCallbacks *cb, const volatile gint *cancel,
                         PfTrainResult *result, GError **error);

/* The MIX weight, from any thread; used from the next batch on. */
void pf_trainer_set_lambda (PfTrainer *t, float lambda);
/* The settings after defaults (batch, lr) were resolved. */
const PfTrainOptions *pf_trainer_options (const PfTrainer *t);
PfGraph *pf_trainer_graph (PfTrainer *t);
/* The normalisation of the run: x' = (x - min) / (max - min), truth alike. */
void pf_trainer_norm (const PfTrainer *t, double *min, double *max);

/* Convenience: new + run + free. */
gboolean pf_train (const PfTrainOptions *options, const PfTrainCallbacks *cb,
                   const volatile gint *cancel, PfTrainResult *result, GError **error);

G_END_DECLS
