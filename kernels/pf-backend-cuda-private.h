/* pf-backend-cuda-private.h — what the files of PF_DEVICE_CUDA share. The device's ops are
 * split over several PfBackends (registered as one list, tried in order), each in its own
 * file: pf-backend-cuda.c (conv2d, BatchNorm, activations, add, linear; memory, loss, Adam),
 * pf-backend-cuda-attn.c (SE and attention: pooling, channel scale, bmm, softmax, permute),
 * pf-backend-cuda-shape.c (conv3d, pooling, up-sampling, concat, dropout and other layout ops),
 * pf-backend-cuda-lstm.c (LSTM). */
#pragma once
#include "pf-backend.h"
#include "pf-backend-cuda.h"
#include "pf-cuda.h"

G_BEGIN_DECLS

extern const PfBackend pf_backend_cuda_attn;
extern const PfBackend pf_backend_cuda_shape;
extern const PfBackend pf_backend_cuda_lstm;


/* Keeps the first error raised inside a void forward/backward callback (takes e), prefixed
 * with the layer's name, op and pass; the next loss or pf_backend_cuda_take_error reports it. */
void pf_backend_cuda_record_node (const PfNode *n, const char *pass, GError *e);

G_END_DECLS
