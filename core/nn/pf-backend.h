/* pf-backend.h — what the executor needs from a backend (as in ggml: a struct of function
 * pointers with a `supports` hook). The executor binds every node to the first backend of its
 * device that supports it, so the graph code never knows which library runs an op.
 *
 * Contract: forward overwrites the node's output; backward ACCUMULATES into the gradients of
 * the node's inputs and parameters (the executor zeroes them once per step), except that it
 * overwrites input 0's when n->set_dx is set (see can_set_dx). A node with
 * relu_after set must have ReLU applied to its output in forward, and its output gradient
 * masked by (y > 0) before its own backward. */
#pragma once
#include "pf-graph.h"
#include "pf-loss.h"
#include "pf-optim.h"

G_BEGIN_DECLS

struct PfBackend {
  const char *name;
  PfDevice device;
  bool (*supports) (const PfBackend *be, PfGraph *g, const PfNode *n);
  /* Builds per-node state (plans, descriptors) once; may be NULL. */
  gboolean (*prepare) (const PfBackend *be, PfGraph *g, PfNode *n, GError **error);
  void (*forward) (const PfBackend *be, PfGraph *g, PfNode *n, bool training);
  void (*backward) (const PfBackend *be, PfGraph *g, PfNode *n);
  void (*release) (const PfBackend *be, PfNode *n); /* may be NULL */
  /* Whether n's backward can overwrite the gradient of its input 0 instead of adding to it,
   * which the planner asks (n->set_dx) when n is that gradient's only writer, so that it need
   * not be zeroed each step (a gradient nothing reads, as inside a fused op, may be left
   * unwritten). Asked before prepare; may be NULL (never). */
  bool (*can_set_dx) (const PfBackend *be, PfGraph *g, const PfNode *n);
};

/* A device: its memory, and the two whole-step operations the training step needs there. */
typedef struct {
  const char *name;
  void *(*alloc) (size_t bytes, GError **error);
  void (*free) (void *p);
  void (*zero) (void *p, size_t bytes);
  void (*upload) (void *dst, const void *src, size_t bytes);   /* host -> device */
  void (*download) (void *dst, const void *src, size_t bytes); /* device -> host */
  /* The loss of pred against target (device memory), dL/dpred OVERWRITTEN into dpred (or
   * not computed when NULL); ws holds pf_loss_workspace_floats floats on the device. FALSE
   * with an error when the device does not have this loss. */
  gboolean (*loss) (const PfLossDesc *d, const float *pred, const float *target, float *dpred,
                    float *ws, double *value, PfLossParts *parts, GError **error);
  /* One Adam update of the flat parameter array (device memory). */
  void (*adam) (const PfAdamConfig *c, int64_t t, size_t n, float *param, const float *grad,
                float *m, float *v);
  /* The rest is optional (NULL on the CPU), for a device that queues its work. */
  /* Waits for the work queued on the device; errors raised there surface here. */
  gboolean (*sync) (GError **error);
  /* Page-locked host buffers: the batch copies from them run at full bus speed. */
  void *(*host_alloc) (size_t bytes, GError **error);
  void (*host_free) (void *p);
  /* The loss queued with its value left on the device (recordable in a graph), and read back
   * (waiting for the device) by loss_read, which fills what loss fills. */
  gboolean (*loss_queue) (const PfLossDesc *d, const float *pred, const float *target,
                          float *dpred, float *ws, GError **error);
  gboolean (*loss_read) (const PfLossDesc *d, double *value, PfLossParts *parts, GError **error);
  /* The device work queued between capture_begin and capture_end (by this thread) is recorded,
   * not run, and replay runs it again, in one launch. */
  gboolean (*capture_begin) (GError **error);
  void *(*capture_end) (GError **error);
  gboolean (*replay) (void *graph, GError **error);
  void (*graph_free) (void *graph);
} PfMemory;

extern const PfBackend pf_backend_cpu_ref;  /* plain loops: every op, the oracle */
extern const PfBackend pf_backend_cpu_fast; /* oneDNN / OpenBLAS / OpenMP where it helps */
extern const PfMemory pf_memory_cpu;

/* The backends of a device, in order of preference; NULL-terminated. */
const PfBackend *const *pf_backends_for (PfDevice device, bool reference_only);
const PfMemory *pf_memory_for (PfDevice device);

/* A GPU backend lives outside libpflow (kernels/) and registers itself at start-up. */
void pf_backend_register (PfDevice device, const PfBackend *const *list, const PfMemory *mem);

/* Helpers for backends. */
/* The dropout mask is a pure function of (seed, step, index); every backend derives them
 * this way, so a node's mask does not depend on which backend runs it. */
uint64_t pf_graph_dropout_seed (PfGraph *g, const PfNode *n);
uint64_t pf_graph_dropout_step (const PfGraph *g);
static inline PfTensor *pf_node_in (PfGraph *g, const PfNode *n, int i) { return pf_graph_tensor (g, n->in[i]); }
static inline PfTensor *pf_node_out (PfGraph *g, const PfNode *n) { return pf_graph_tensor (g, n->out); }
static inline PfTensor *pf_node_t (PfGraph *g, int id) { return id >= 0 ? pf_graph_tensor (g, id) : NULL; }
static inline float *pf_t_data (PfGraph *g, int id) { return id >= 0 ? pf_graph_tensor (g, id)->data : NULL; }
static inline float *pf_t_grad (PfGraph *g, int id) { return id >= 0 ? pf_graph_tensor (g, id)->grad : NULL; }

G_END_DECLS
