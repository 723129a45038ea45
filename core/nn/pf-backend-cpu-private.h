/* pf-backend-cpu-private.h — what the two CPU backends share: the ops whose reference and fast
 * versions have the same signature, as a table of function pointers, and the one dispatcher
 * that reads a node's tensors and calls them. Each backend handles the ops that differ
 * (convolutions with plans, BatchNorm with a fused ReLU) and hands the rest here. */
#pragma once
#include "pf-graph-private.h"
#include "pf-lstm.h"

typedef struct {
  void (*relu_fwd) (size_t, const float *, float *);
  void (*relu_bwd) (size_t, const float *, const float *, float *);
  void (*leaky_fwd) (size_t, float, const float *, float *);
  void (*leaky_bwd) (size_t, float, const float *, const float *, float *);
  void (*sigmoid_fwd) (size_t, const float *, float *);
  void (*sigmoid_bwd) (size_t, const float *, const float *, float *);
  void (*add_fwd) (size_t, const float *, const float *, float *);
  void (*add_bwd) (size_t, const float *, float *, float *);
  void (*dropout_fwd) (size_t, float, uint64_t, uint64_t, const float *, float *, uint8_t *);
  void (*dropout_bwd) (size_t, float, const uint8_t *, const float *, float *);
  void (*maxpool_fwd) (int, int, int, const float *, float *, int32_t *);
  void (*maxpool_bwd) (int, int, int, const int32_t *, const float *, float *);
  void (*nearest_fwd) (int, int, int, const float *, float *);
  void (*nearest_bwd) (int, int, int, const float *, float *);
  void (*bilinear_fwd) (int, int, int, const float *, float *);
  void (*bilinear_bwd) (int, int, int, const float *, float *);
  void (*concat_fwd) (int, int, int, const int *, const float *const *, float *);
  void (*concat_bwd) (int, int, int, const int *, const float *, float *const *);
  void (*gather_fwd) (int, int, int, int, const int *, const float *, float *);
  void (*gather_bwd) (int, int, int, int, const int *, const float *, float *);
  void (*scale_fwd) (int, int, int, const float *, const float *, float *);
  void (*scale_bwd) (int, int, int, const float *, const float *, const float *, float *, float *);
  void (*gap_fwd) (int, int, int, const float *, float *);
  void (*gap_bwd) (int, int, int, const float *, float *);
  void (*linear_fwd) (int, int, int, const float *, const float *, const float *, float *);
  void (*linear_bwd) (int, int, int, const float *, const float *, const float *, float *, float *,
                      float *);
  void (*bmm_fwd) (int, int, int, int, bool, bool, const float *, const float *, float *);
  void (*bmm_bwd) (int, int, int, int, bool, bool, const float *, const float *, const float *,
                   float *, float *);
  void (*softmax_fwd) (int, int, float, const float *, float *);
  void (*softmax_bwd) (int, int, float, const float *, const float *, float *);
  void (*permute_fwd) (int, const int *, const int *, const float *, float *);
  void (*permute_bwd) (int, const int *, const int *, const float *, float *);
  void (*lstm_fwd) (const PfLstmDesc *, const float *, const float *, const float *, const float *,
                    float *, float *, float *, float *);
  void (*lstm_bwd) (const PfLstmDesc *, const float *, const float *, const float *, const float *,
                    const float *, float *, float *, float *, float *, float *);
} PfCpuOps;

/* Run node n with the table; FALSE when the op is not one of the table's (the caller's own). */
bool _pf_cpu_forward (const PfCpuOps *o, PfGraph *g, PfNode *n, bool training);
bool _pf_cpu_backward (const PfCpuOps *o, PfGraph *g, PfNode *n);

/* A fused ReLU: in place on the output after the op; its gradient masks dy before the op's
 * backward. NaN passes through, as in PyTorch. */
void _pf_cpu_relu_inplace (float *y, size_t n);
void _pf_cpu_relu_mask_grad (const float *y, float *dy, size_t n);
