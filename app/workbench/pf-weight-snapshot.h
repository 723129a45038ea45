/* pf-weight-snapshot.h — host copies of a training graph's weights, and predictions from them.
 *
 * The training thread copies every parameter and buffer (BatchNorm running statistics included)
 * of its graph into a PfWeightSnapshot, by state_dict name, from whichever device the graph runs
 * on; any other thread turns the newest copy into predictions with a PfSnapshotPredictor, a
 * batch-1 CPU inference graph of the same model that reloads the weights when the snapshot's
 * serial has moved. The snapshot is reference-counted and its copy is guarded by a mutex, so the
 * two threads never see half a set of weights. */
#pragma once
#include <glib.h>
#include "pf-graph.h"

G_BEGIN_DECLS

typedef struct PfWeightSnapshot PfWeightSnapshot;

/* Lays out a snapshot of g (planned, on `device`), a `model` at `scale` taking S x S images
 * (from g's input), with the normalisation of its training data. Nothing is copied yet. */
PfWeightSnapshot *pf_weight_snapshot_new (PfGraph *g, PfDevice device, const char *model,
                                          int scale, double norm_min, double norm_max);
PfWeightSnapshot *pf_weight_snapshot_ref (PfWeightSnapshot *s);
void pf_weight_snapshot_unref (PfWeightSnapshot *s);

/* Copies g's weights now (g must be the graph of new, idle: between batches). Returns the new
 * serial (1, 2, ...). */
guint pf_weight_snapshot_take (PfWeightSnapshot *s, PfGraph *g);
/* 0 until the first take. */
guint pf_weight_snapshot_serial (PfWeightSnapshot *s);
void pf_weight_snapshot_norm (PfWeightSnapshot *s, double *norm_min, double *norm_max);
int pf_weight_snapshot_image_size (PfWeightSnapshot *s);

typedef struct PfSnapshotPredictor PfSnapshotPredictor;

PfSnapshotPredictor *pf_snapshot_predictor_new (void);
void pf_snapshot_predictor_free (PfSnapshotPredictor *p);

/* One event through the newest weights of s: inputs4 = 4 x S x S floats in GeV (emcal, hcal,
 * trk_n, trk_p), pred = S x S floats in GeV. Builds (or rebuilds, for another model) the
 * inference graph on first use. serial (may be NULL) gets the snapshot used. FALSE with
 * PF_ERROR_INVALID before the first take, PF_ERROR_SHAPE for another S, PF_ERROR_NUMERIC for
 * non-finite inputs. Not thread-safe for one predictor: callers serialise. */
gboolean pf_snapshot_predictor_run (PfSnapshotPredictor *p, PfWeightSnapshot *s,
                                    const float *inputs4, int S, float *pred, guint *serial,
                                    GError **error);

G_END_DECLS
