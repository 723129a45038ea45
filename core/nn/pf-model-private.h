/* pf-model-private.h — what the model families share with the registry (pf-model.c): their
 * model lists, their builders, and the blocks both families use. Not for use outside core/nn. */
#pragma once
#include "pf-model.h"

/* Builds a model of the family after pf-model.c checked the scale, batch and size. A size
 * the architecture cannot take is an error (NULL); building errors stay in the graph
 * (pf_graph_error) for the caller to report. */
typedef PfGraph *(*PfModelBuildFunc) (const PfModelInfo *info, int scale, int batch, int size,
                                      const PfModelOptions *opts, GError **error);

extern const PfModelInfo *const _pf_models_scaled[];  /* NULL-terminated */
extern const PfModelInfo *const _pf_models_earlier[]; /* NULL-terminated */
PfGraph *_pf_model_scaled_build (const PfModelInfo *info, int scale, int batch, int size,
                                 const PfModelOptions *opts, GError **error);
PfGraph *_pf_model_earlier_build (const PfModelInfo *info, int scale, int batch, int size,
                                  const PfModelOptions *opts, GError **error);

/* The 3D front end (12 channels, layers "front.0".."front.2") and the Squeeze-and-Excitation
 * block (layers "se.fc1", "se.fc2") of DESIGN.md §5. */
int _pf_model_front_3d (PfGraph *g, int x, int batch, int size);
int _pf_model_se_block (PfGraph *g, int x, int c);
