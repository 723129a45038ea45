/* pf-exec.c — planning (fusion, memory, backend binding, initialisation) and the executor.
 *
 * Memory is planned once: activations, their gradients, parameters (one flat array so Adam is
 * one call), their gradients and Adam moments, buffers and saved tensors each live in one arena.
 * Nothing is allocated by forward or backward. */
#include "pf-graph-private.h"
#include "pf-error.h"
#include "pf-init.h"
#include <math.h>
#include <string.h>

#define PF_ALIGN_FLOATS 16 /* 64-byte alignment of every tensor */

static size_t
round_up (size_t n)
{
  return (n + PF_ALIGN_FLOATS - 1) / PF_ALIGN_FLOATS * PF_ALIGN_FLOATS;
}

/* A ReLU right after a conv, BN or linear whose output nothing else reads is folded into it:
 * the producer applies it in place, and the ReLU's tensor becomes a view of the producer's. */
static void
fuse_relus (PfGraph *g)
{
  int nt = (int) g->tensors->len;
  int *consumers = g_new0 (int, nt);
  int *producer = g_new (int, nt);
  for (int i = 0; i < nt; i++)
    producer[i] = -1;
  for (guint i = 0; i < g->nodes->len; i++)
    {
      PfNode *n = _pf_n (g, i);
      producer[n->out] = (int) i;
      for (int k = 0; k < n->n_in; k++)
        consumers[n->in[k]]++;
    }
  for (guint i = 0; i < g->nodes->len; i++)
    {
      PfNode *n = _pf_n (g, i);
      if (n->op != PF_OP_RELU || n->skip)
        continue;
      int x = n->in[0];
      int p = producer[x];
      if (p < 0 || consumers[x] != 1 || x == g->output)
        continue;
      PfNode *pn = _pf_n (g, p);
      if (pn->skip || pn->relu_after ||
          !(pn->op == PF_OP_CONV2D || pn->op == PF_OP_BATCHNORM || pn->op == PF_OP_LINEAR))
        continue;
      pn->relu_after = true;
      n->skip = true;
      _pf_t (g, n->out)->alias_of = x;
    }
  g_free (consumers);
  g_free (producer);
}

/* PyTorch's default initialisation in distribution, reproducible from the seed (pf-init.c);
 * the tensor id is the Philox stream index, so adding a layer changes no earlier weight. */
static void
init_tensor (PfGraph *g, int id, float *host)
{
  PfTensor *t = _pf_t (g, id);
  switch (t->init_kind)
    {
    case PF_PARAM_INIT_KAIMING:
    case PF_PARAM_INIT_BIAS:
      pf_init_uniform (g->opts.seed, (uint32_t) id, pf_init_default_bound (t->init_fan_in), t->numel, host);
      break;
    case PF_PARAM_INIT_ONES:
      pf_init_fill (t->numel, 1.0f, host);
      break;
    case PF_PARAM_INIT_ZEROS:
      pf_init_fill (t->numel, 0.0f, host);
      break;
    }
}

static void
release_arenas (PfGraph *g)
{
  if (!g->mem)
    return;
  float **arenas[] = { &g->act_data, &g->act_grad, &g->param_data, &g->param_grad, &g->adam_m,
                       &g->adam_v, &g->buf_data, &g->saved_data };
  for (gsize i = 0; i < G_N_ELEMENTS (arenas); i++)
    {
      if (*arenas[i])
        g->mem->free (*arenas[i]);
      *arenas[i] = NULL;
    }
}

static float *
arena (PfGraph *g, size_t floats, GError **error)
{
  size_t bytes = MAX (floats, 1) * sizeof (float);
  float *p = g->mem->alloc (bytes, error);
  if (p)
    g->mem->zero (p, bytes);
  return p;
}

/* The storage a tensor's data and gradient live in: its own, or that of the tensor it views. */
static int
storage_of (PfGraph *g, int t)
{
  while (_pf_t (g, t)->alias_of >= 0)
    t = _pf_t (g, t)->alias_of;
  return t;
}

/* Each activation's gradient is added to by the backward of every node that reads it (or a
 * view of it), so the executor zeroes the gradients every step. Where exactly one running
 * node reads a storage, once, as its input 0, and its backend can write that gradient
 * instead of adding to it, the node is told so (set_dx) and the storage needs no zeroing
 * (overwritten[] marks it). The graph's output is left out: the loss writes its gradient. */
static void
plan_set_dx (PfGraph *g, bool *overwritten)
{
  int nt = (int) g->tensors->len;
  int *reads = g_new0 (int, nt);
  PfNode **reader = g_new0 (PfNode *, nt);
  int *slot = g_new0 (int, nt);
  for (guint i = 0; i < g->nodes->len; i++)
    {
      PfNode *n = _pf_n (g, i);
      n->set_dx = false;
      if (n->skip) /* a view or a folded ReLU: its backward never runs */
        continue;
      for (int k = 0; k < n->n_in; k++)
        {
          int s = storage_of (g, n->in[k]);
          reads[s]++;
          reader[s] = n;
          slot[s] = k;
        }
      if (n->op == PF_OP_LSTM)
        {
          if (n->d.lstm.h0 >= 0)
            reads[storage_of (g, n->d.lstm.h0)] += 2; /* never overwritten */
          if (n->d.lstm.c0 >= 0)
            reads[storage_of (g, n->d.lstm.c0)] += 2;
        }
    }
  int out = storage_of (g, g->output);
  for (int t = 0; t < nt; t++)
    {
      PfNode *n = reader[t];
      if (_pf_t (g, t)->kind != PF_TENSOR_ACTIVATION || _pf_t (g, t)->alias_of >= 0
          || t == out || reads[t] != 1 || slot[t] != 0 || !n->backend->can_set_dx
          || !n->backend->can_set_dx (n->backend, g, n))
        continue;
      n->set_dx = true;
      overwritten[t] = true;
    }
  g_free (reads);
  g_free (reader);
  g_free (slot);
}

gboolean
pf_graph_plan (PfGraph *g, const PfPlanOptions *opts, GError **error)
{
  g_return_val_if_fail (!g->planned, FALSE);
  if (g->error)
    {
      g_propagate_error (error, g_error_copy (g->error));
      return FALSE;
    }
  if (g->output < 0 || g->input < 0)
    {
      g_set_error (error, PF_ERROR, PF_ERROR_SHAPE, "%s: graph has no %s", g->model_name,
                   g->input < 0 ? "input" : "output");
      return FALSE;
    }
  g->opts = *opts;
  g->mem = pf_memory_for (opts->device);
  if (!g->mem)
    {
      g_set_error (error, PF_ERROR, PF_ERROR_UNSUPPORTED, "%s: this build has no %s backend",
                   g->model_name, opts->device == PF_DEVICE_CUDA ? "CUDA" : "CPU");
      return FALSE;
    }
  g->has_grads = opts->training;
  g->training = opts->training;
  fuse_relus (g);

  /* Bind every node to the first backend that takes it (prepared once memory exists). */
  const PfBackend *const *list = pf_backends_for (opts->device, opts->reference_only);
  for (guint i = 0; i < g->nodes->len; i++)
    {
      PfNode *n = _pf_n (g, i);
      if (n->skip)
        continue;
      for (int k = 0; list && list[k]; k++)
        if (list[k]->supports (list[k], g, n))
          {
            n->backend = list[k];
            break;
          }
      if (!n->backend)
        {
          g_set_error (error, PF_ERROR, PF_ERROR_UNSUPPORTED, "%s: layer '%s': no %s backend runs %s",
                       g->model_name, n->name, opts->device == PF_DEVICE_CUDA ? "CUDA" : "CPU",
                       pf_op_name (n->op));
          return FALSE;
        }
    }
  bool *overwritten = g_new0 (bool, g->tensors->len);
  if (g->has_grads)
    plan_set_dx (g, overwritten);

  /* Offsets of every tensor in its arena. An LSTM reads its parameters as one flat buffer in
   * torch's order (consecutive ids): those follow each other without alignment padding, so the
   * op reads them (and writes their gradients) in place. */
  size_t n_act = 0, n_param = 0, n_buf = 0, n_saved = 0;
  size_t *offset = g_new0 (size_t, g->tensors->len);
  bool *follows = g_new0 (bool, g->tensors->len);
  for (guint i = 0; i < g->nodes->len; i++)
    {
      PfNode *n = _pf_n (g, i);
      if (n->op == PF_OP_LSTM)
        for (int k = 1; k < 4 * n->d.lstm.desc.num_layers; k++)
          follows[n->w + k] = true;
    }
  size_t prev_end = 0; /* end of the previous parameter, unpadded */
  for (guint i = 0; i < g->tensors->len; i++)
    {
      PfTensor *t = _pf_t (g, i);
      if (t->alias_of >= 0 || overwritten[i])
        continue;
      if (t->kind == PF_TENSOR_PARAM && follows[i])
        {
          offset[i] = prev_end;
          prev_end += t->numel;
          n_param = round_up (prev_end);
          continue;
        }
      size_t *n = NULL;
      switch (t->kind)
        {
        case PF_TENSOR_ACTIVATION:
        case PF_TENSOR_INPUT:
          n = &n_act;
          break;
        case PF_TENSOR_PARAM:
          n = &n_param;
          break;
        case PF_TENSOR_BUFFER:
          n = &n_buf;
          break;
        case PF_TENSOR_SAVED:
          n = &n_saved;
          break;
        }
      offset[i] = *n;
      *n += round_up (t->numel);
      if (t->kind == PF_TENSOR_PARAM)
        prev_end = offset[i] + t->numel;
    }
  g_free (follows);
  /* the activations whose gradient is overwritten go last, outside the part zeroed */
  g->act_zero_floats = n_act;
  for (guint i = 0; i < g->tensors->len; i++)
    if (overwritten[i])
      {
        offset[i] = n_act;
        n_act += round_up (_pf_t (g, i)->numel);
      }
  g_free (overwritten);
  g->act_floats = n_act;
  g->param_floats = n_param;
  g->buf_floats = n_buf;
  g->saved_floats = n_saved;
  gboolean ok = (g->act_data = arena (g, n_act, error)) && (g->param_data = arena (g, n_param, error)) &&
                (g->buf_data = arena (g, n_buf, error)) && (g->saved_data = arena (g, n_saved, error));
  if (ok && g->has_grads)
    ok = (g->act_grad = arena (g, n_act, error)) && (g->param_grad = arena (g, n_param, error)) &&
         (g->adam_m = arena (g, n_param, error)) && (g->adam_v = arena (g, n_param, error));
  if (!ok)
    {
      g_free (offset);
      release_arenas (g);
      g_prefix_error (error, "%s: ", g->model_name);
      return FALSE;
    }

  for (guint i = 0; i < g->tensors->len; i++)
    {
      PfTensor *t = _pf_t (g, i);
      if (t->alias_of >= 0)
        continue;
      switch (t->kind)
        {
        case PF_TENSOR_ACTIVATION:
        case PF_TENSOR_INPUT:
          t->data = g->act_data + offset[i];
          t->grad = g->has_grads && t->kind == PF_TENSOR_ACTIVATION ? g->act_grad + offset[i] : NULL;
          break;
        case PF_TENSOR_PARAM:
          t->data = g->param_data + offset[i];
          t->grad = g->has_grads ? g->param_grad + offset[i] : NULL;
          break;
        case PF_TENSOR_BUFFER:
          t->data = g->buf_data + offset[i];
          break;
        case PF_TENSOR_SAVED:
          t->data = g->saved_data + offset[i];
          break;
        }
    }
  /* Views share their source's storage (aliases always point backwards in build order). */
  for (guint i = 0; i < g->tensors->len; i++)
    {
      PfTensor *t = _pf_t (g, i);
      if (t->alias_of >= 0)
        {
          PfTensor *src = _pf_t (g, t->alias_of);
          t->data = src->data;
          t->grad = src->grad;
        }
    }
  g_free (offset);

  /* Parameters and buffers start as PyTorch's defaults, drawn on the host. */
  for (guint i = 0; i < g->tensors->len; i++)
    {
      PfTensor *t = _pf_t (g, i);
      if (t->kind != PF_TENSOR_PARAM && t->kind != PF_TENSOR_BUFFER)
        continue;
      float *host = g_new (float, MAX (t->numel, 1));
      init_tensor (g, i, host);
      g->mem->upload (t->data, host, t->numel * sizeof (float));
      g_free (host);
    }

  for (guint i = 0; i < g->nodes->len; i++)
    {
      PfNode *n = _pf_n (g, i);
      if (!n->skip && n->backend->prepare && !n->backend->prepare (n->backend, g, n, error))
        {
          g_prefix_error (error, "%s: layer '%s': ", g->model_name, n->name);
          return FALSE;
        }
    }
  g->planned = true;
  return TRUE;
}

void
pf_graph_set_training (PfGraph *g, bool training)
{
  g->training = training && g->has_grads;
}

/* Profiling a device that queues work waits for it around every op (errors come back at the
 * next sync of the caller, so they are not lost here). */
static gint64
profile_clock (PfGraph *g)
{
  if (g->mem->sync)
    g->mem->sync (NULL);
  return g_get_monotonic_time ();
}

gboolean
pf_graph_synchronize (PfGraph *g, GError **error)
{
  return !g->mem->sync || g->mem->sync (error);
}

void
pf_graph_forward (PfGraph *g)
{
  g_return_if_fail (g->planned);
  if (g->training)
    g->dropout_step++;
  for (guint i = 0; i < g->nodes->len; i++)
    {
      PfNode *n = _pf_n (g, i);
      if (!n->skip)
        {
          gint64 t0 = g->profile ? profile_clock (g) : 0;
          n->backend->forward (n->backend, g, n, g->training);
          if (g->profile)
            g->profile[2 * i] += profile_clock (g) - t0;
        }
    }
}

void
pf_graph_zero_grad (PfGraph *g)
{
  if (!g->has_grads)
    return;
  g->mem->zero (g->param_grad, MAX (g->param_floats, 1) * sizeof (float));
  g->mem->zero (g->act_grad, MAX (g->act_floats, 1) * sizeof (float));
}

/* The output's gradient must hold dL/dy (the loss writes it). Parameter gradients are
 * overwritten with this step's; activation gradients are left zeroed for the next step, but
 * for those their one writer overwrites (plan_set_dx). */
void
pf_graph_backward (PfGraph *g)
{
  g_return_if_fail (g->planned && g->has_grads);
  g->mem->zero (g->param_grad, MAX (g->param_floats, 1) * sizeof (float));
  for (int i = (int) g->nodes->len - 1; i >= 0; i--)
    {
      PfNode *n = _pf_n (g, i);
      if (!n->skip)
        {
          gint64 t0 = g->profile ? profile_clock (g) : 0;
          n->backend->backward (n->backend, g, n);
          if (g->profile)
            g->profile[2 * i + 1] += profile_clock (g) - t0;
        }
    }
  /* the overwritten gradients past act_zero_floats are written before they are read */
  g->mem->zero (g->act_grad, MAX (g->act_zero_floats, 1) * sizeof (float));
}

uint64_t
pf_graph_dropout_step (const PfGraph *g)
{
  return g->dropout_step;
}

uint64_t
pf_graph_dropout_seed (PfGraph *g, const PfNode *n)
{
  return g->opts.seed * 1000003u + n->d.dropout.seed;
}

float *pf_graph_param_data (PfGraph *g) { return g->param_data; }
size_t pf_graph_param_floats (const PfGraph *g) { return g->param_floats; }
float *pf_graph_param_grad (PfGraph *g) { return g->param_grad; }
float *pf_graph_adam_m (PfGraph *g) { return g->adam_m; }
float *pf_graph_adam_v (PfGraph *g) { return g->adam_v; }

size_t
pf_graph_arena_bytes (const PfGraph *g)
{
  size_t f = g->act_floats + g->param_floats + g->buf_floats + g->saved_floats;
  if (g->has_grads)
    f += g->act_floats + 3 * g->param_floats;
  return f * sizeof (float);
}

void
pf_graph_set_profiling (PfGraph *g, bool on)
{
  g_free (g->profile);
  g->profile = on ? g_new0 (gint64, 2 * g->nodes->len) : NULL;
}

void
pf_graph_print_profile (PfGraph *g, FILE *out)
{
  if (!g->profile)
    return;
  gint64 total = 0;
  for (guint i = 0; i < 2 * g->nodes->len; i++)
    total += g->profile[i];
  fprintf (out, "%-24s %-16s %-9s %10s %10s %6s\n", "layer", "op", "backend", "fwd ms", "bwd ms", "share");
  for (guint i = 0; i < g->nodes->len; i++)
    {
      PfNode *n = _pf_n (g, i);
      if (n->skip)
        continue;
      fprintf (out, "%-24s %-16s %-9s %10.1f %10.1f %5.1f%%\n", n->name, pf_op_name (n->op),
               n->backend->name, g->profile[2 * i] / 1e3, g->profile[2 * i + 1] / 1e3,
               total ? 100.0 * (g->profile[2 * i] + g->profile[2 * i + 1]) / total : 0.0);
    }
}

void
pf_graph_free (PfGraph *g)
{
  if (!g)
    return;
  g_free (g->profile);
  for (guint i = 0; i < g->nodes->len; i++)
    {
      PfNode *n = _pf_n (g, i);
      if (n->backend && n->backend->release)
        n->backend->release (n->backend, n);
      g_free (n->name);
    }
  for (guint i = 0; i < g->tensors->len; i++)
    g_free (_pf_t (g, i)->name);
  release_arenas (g);
  g_array_unref (g->tensors);
  g_array_unref (g->nodes);
  g_clear_error (&g->error);
  g_free (g->model_name);
  g_free (g);
}
