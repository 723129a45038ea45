/* pf-predictor.h — a trained model from a checkpoint, mapping detector images in GeV to
 * predicted truth images in GeV (the checkpoint's normalisation applied and undone).
 *
 * The model is rebuilt from the checkpoint's attributes (model, scale, image size), planned for
 * inference (BatchNorm running statistics) for `batch` images at a time; a short last batch is
 * padded, which cannot change the others' results in inference mode. */
#pragma once
#include <glib.h>
#include <stdint.h>
#include "pf-checkpoint.h"
#include "pf-trainer.h"

G_BEGIN_DECLS

typedef struct PfPredictor PfPredictor;

/* batch <= 0: 64. device: CPU unless a GPU backend is registered and asked for. */
PfPredictor *pf_predictor_new (const char *ckpt_path, int batch, GError **error);
PfPredictor *pf_predictor_new_full (const char *ckpt_path, int batch, PfDevice device,
                                    GError **error);
void pf_predictor_free (PfPredictor *p);

/* inputs: n events of the four input channels, channel-major as pf_dataset_read writes them
 * (in[((ch * n) + e) * S * S + row * S + col], ch = emcal, hcal, trk_n, trk_p; the first 4n
 * images of a 5-channel block), in GeV. pred: n * S * S floats, GeV. Non-finite inputs are
 * rejected. */
gboolean pf_predictor_run (PfPredictor *p, const float *inputs_channel_major, int64_t n,
                           float *pred, GError **error);

const PfCheckpointInfo *pf_predictor_info (const PfPredictor *p);
int pf_predictor_image_size (const PfPredictor *p);

/* `pflow predict`: the events of `split` of `data_path` through the checkpoint into an HDF5 file
 * (docs/checkpoint.md): dataset `pred` float32 [N, S, S] in GeV, attributes first_event, n_events,
 * split, checkpoint, model, scale, dataset. Written atomically. The forward passes run on
 * `device` (as pf_predictor_new_full). progress (may be NULL) gets (done, total); cancel (may
 * be NULL) is polled between batches. */
gboolean pf_predict_file (const char *ckpt_path, const char *data_path, PfSplit split,
                          const char *out_path, int batch, PfDevice device,
                          void (*progress) (int64_t done, int64_t total, gpointer user_data),
                          gpointer user_data, const volatile gint *cancel, GError **error);

G_END_DECLS
