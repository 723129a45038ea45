/* pf-model.h — the model zoo: builders that lay a model out as a static graph for a batch size.
 *
 * Parameter and buffer names follow the PyTorch state_dict of the reference modules in
 * tests/ref/torch_models.py (e.g. "encoder.0.weight", "encoder.1.running_mean"), so a checkpoint
 * loads into PyTorch with h5py and a few lines. Input [B, 4, 56, 56] (emcal, hcal, trk_n, trk_p),
 * output [B, 1, 56, 56]. */
#pragma once
#include "pf-graph.h"

G_BEGIN_DECLS

typedef struct {
  const char *name;        /* command-line name: "cnn", "se", ... "unet", "lstm" */
  const char *description;
  int min_scale, max_scale; /* 0, 0 for models without scales */
  int paper_batch[6];       /* the paper's batch size per scale (index = scale) */
} PfModelInfo;

/* Options of a build. */
typedef struct {
  /* Dropout layers get p = 0 (identity in both modes): PyTorch's dropout masks cannot be
   * reproduced, so the parity tests compare models that have dropout this way. */
  bool no_dropout;
} PfModelOptions;

/* All models (the scaled family, then the earlier one), NULL-terminated. */
const PfModelInfo *const *pf_model_list (void);
const PfModelInfo *pf_model_find (const char *name);

/* Builds the graph for `batch` images of size x size; an unknown name or scale is an error
 * that lists the known ones. */
PfGraph *pf_model_build (const char *name, int scale, int batch, int size, GError **error);
/* The same with options (NULL = defaults). */
PfGraph *pf_model_build_with (const char *name, int scale, int batch, int size,
                              const PfModelOptions *opts, GError **error);
/* Trainable parameters of a model (builds it for batch 1 without planning). */
gboolean pf_model_param_count (const char *name, int scale, size_t *out, GError **error);
/* "cnn-s1", or "lstm" for the models without scales (scale 0): the graph's name, and the stem of
 * run and folder names. Newly allocated. */
char *pf_model_label (const char *name, int scale);
/* The batch a run uses when none is given: the paper's for that scale, else 200. */
int pf_model_paper_batch (const PfModelInfo *info, int scale);

G_END_DECLS
