/* pf-graph-private.h — the graph's storage, shared by the builder (pf-graph.c) and the
 * planner/executor (pf-exec.c). Not for use outside core/nn. */
#pragma once
#include "pf-graph.h"
#include "pf-backend.h"

struct PfGraph {
  char *model_name;
  GArray *tensors; /* PfTensor */
  GArray *nodes;   /* PfNode */
  int input;
  int output;
  GError *error;   /* first building error */
  bool planned;
  bool training;   /* current mode */
  bool has_grads;  /* planned for training */
  PfPlanOptions opts;
  const PfMemory *mem;
  /* arenas */
  float *act_data, *act_grad;
  float *param_data, *param_grad, *adam_m, *adam_v;
  float *buf_data;
  float *saved_data;
  size_t act_floats, param_floats, buf_floats, saved_floats;
  size_t act_zero_floats; /* the leading part of act_grad zeroed each step (plan_set_dx) */
  uint64_t dropout_step;
  gint64 *profile;  /* microseconds per node: forward at 2i, backward at 2i+1; NULL = off */
};

static inline PfTensor *
_pf_t (PfGraph *g, int id)
{
  return &g_array_index (g->tensors, PfTensor, id);
}

static inline PfNode *
_pf_n (PfGraph *g, int i)
{
  return &g_array_index (g->nodes, PfNode, i);
}

/* Human-readable shape, e.g. "[200, 4, 56, 56]", for error messages: PF_SHAPE formats into a
 * buffer that lives until the end of the enclosing block. */
#define PF_SHAPE_BUF 96
const char *_pf_shape_fmt (const PfTensor *t, char *buf);
#define PF_SHAPE(t) _pf_shape_fmt ((t), (char[PF_SHAPE_BUF]) { 0 })
