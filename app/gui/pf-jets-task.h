/* pf-jets-task.h — jets of the Truth and Prediction images, clustered on a worker thread.
 *
 * Pixels above PF_JETS_PIXEL_THRESHOLD become particles (core/jets/pf-pixels.h), FastJet anti-kt
 * R = 0.4 with active areas clusters them, and jets above PF_JETS_PTMIN are kept, each drawn as
 * a circle of its area (radius sqrt(area / pi)). Predicted jets are matched one-to-one to truth
 * jets by circle overlap; a matched pair shares an id (the truth jet's index), so selecting it
 * highlights both; unmatched predicted jets get ids from 1000 on. */
#pragma once
#include <gio/gio.h>

G_BEGIN_DECLS

#define PF_JETS_PIXEL_THRESHOLD 0.1
#define PF_JETS_PTMIN 30.0

/* truth: S * S floats; pred: S * S floats or NULL (copied). */
void pf_jets_cluster_async (const float *truth, const float *pred, int S,
                            GCancellable *cancellable, GAsyncReadyCallback callback,
                            gpointer user_data);
/* Two new GArrays of PfJetCircle (pred empty when no prediction was given). */
gboolean pf_jets_cluster_finish (GAsyncResult *result, GArray **truth, GArray **pred,
                                 GError **error);

G_END_DECLS
