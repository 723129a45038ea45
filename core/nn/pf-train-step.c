/* pf-train-step.c — forward, loss, backward and Adam over the graph's flat parameter array.
 *
 * The caller fills host buffers (input and target batch); on the CPU the input buffer is the
 * graph's input tensor itself, on a GPU it is uploaded before the forward pass. The loss and
 * Adam run on the graph's device (PfMemory), so only the loss value comes back each step.
 *
 * On a device that can record its work (a GPU: PfMemory.capture_begin), the third training
 * step records forward, loss and backward as one graph and every later step replays it: one
 * launch instead of one per op. Adam stays outside, launched after the loss was read, so a
 * non-finite loss still stops training before any update. The graph is recorded again when
 * the loss changes (lambda); a graph with dropout (its mask counter lives on the host) is
 * never recorded. */
#include "pf-train-step.h"
#include "pf-graph-private.h"
#include "pf-error.h"
#include <math.h>
#include <string.h>

struct PfTrainStep {
  PfGraph *g;
  const PfMemory *mem;
  bool on_host;          /* CPU: host buffers are the device buffers */
  PfLossDesc loss;
  float *loss_ws;        /* device */
  float *host_input, *host_target, *host_output;
  float *dev_target;     /* device (== host_target on the CPU) */
  size_t n_input, n_output;
  PfAdamConfig adam;
  int64_t t;
  volatile float pending_lambda; /* set from another thread, read at the next step */
  bool resident, uploaded;       /* see pf_train_step_set_resident */
  bool pinned;                   /* host buffers from mem->host_alloc */
  bool use_graph;                /* record and replay training steps where the device can */
  int eager_steps;               /* run before recording: buffers reach their final sizes */
  void *graph;                   /* the recorded training step, or NULL */
  float graph_lambda;            /* the loss's lambda when it was recorded */
  char *graph_note;              /* why no graph is used, when one could be */
};

static bool
has_dropout (PfGraph *g)
{
  for (guint i = 0; i < g->nodes->len; i++)
    if (_pf_n (g, i)->op == PF_OP_DROPOUT && !_pf_n (g, i)->skip)
      return true;
  return false;
}

PfTrainStep *
pf_train_step_new (PfGraph *g, const PfLossDesc *loss, double lr, GError **error)
{
  PfTensor *y = pf_graph_tensor (g, pf_graph_output_id (g));
  PfTensor *x = pf_graph_tensor (g, pf_graph_input_id (g));
  if (!g->planned || !g->has_grads)
    {
      g_set_error (error, PF_ERROR, PF_ERROR_INVALID, "%s: the graph is not planned for training",
                   g->model_name);
      return NULL;
    }
  if (y->ndim != 4 || y->shape[0] != loss->n || y->shape[1] != 1 || y->shape[2] != loss->h ||
      y->shape[3] != loss->w)
    {
      g_set_error (error, PF_ERROR, PF_ERROR_SHAPE, "%s: output %s does not match the loss [%d, 1, %d, %d]",
                   g->model_name, PF_SHAPE (y), loss->n, loss->h, loss->w);
      return NULL;
    }
  if (!pf_loss_desc_check (loss, error))
    return NULL;
  PfTrainStep *s = g_new0 (PfTrainStep, 1);
  s->g = g;
  s->mem = g->mem;
  s->on_host = g->opts.device == PF_DEVICE_CPU;
  s->loss = *loss;
  s->pending_lambda = loss->lambda;
  s->n_input = x->numel;
  s->n_output = y->numel;
  size_t ws = pf_loss_workspace_floats (loss);
  if (ws && !(s->loss_ws = s->mem->alloc (ws * sizeof (float), error)))
    goto fail;
  if (s->on_host)
    {
      s->host_input = x->data;
      s->host_output = y->data;
      s->host_target = g_new0 (float, y->numel);
      s->dev_target = s->host_target;
    }
  else
    {
      s->pinned = s->mem->host_alloc != NULL;
      if (s->pinned)
        {
          if (!(s->host_input = s->mem->host_alloc (x->numel * sizeof (float), error))
              || !(s->host_output = s->mem->host_alloc (y->numel * sizeof (float), error))
              || !(s->host_target = s->mem->host_alloc (y->numel * sizeof (float), error)))
            goto fail;
          memset (s->host_input, 0, x->numel * sizeof (float));
          memset (s->host_target, 0, y->numel * sizeof (float));
        }
      else
        {
          s->host_input = g_new0 (float, x->numel);
          s->host_output = g_new0 (float, y->numel);
          s->host_target = g_new0 (float, y->numel);
        }
      if (!(s->dev_target = s->mem->alloc (y->numel * sizeof (float), error)))
        goto fail;
      const char *env = g_getenv ("PF_CUDA_GRAPHS");
      s->use_graph = s->mem->capture_begin && s->mem->loss_queue && !(env && !strcmp (env, "0"));
      if (s->mem->capture_begin && !s->use_graph)
        s->graph_note = g_strdup ("turned off (PF_CUDA_GRAPHS=0)");
      else if (s->use_graph && has_dropout (g))
        {
          s->use_graph = false;
          s->graph_note = g_strdup ("not used: the model has dropout");
        }
    }
  pf_adam_config_init (&s->adam, lr);
  return s;

fail:
  g_prefix_error (error, "%s: ", g->model_name);
  pf_train_step_free (s);
  return NULL;
}

void
pf_train_step_free (PfTrainStep *s)
{
  if (!s)
    return;
  if (s->loss_ws)
    s->mem->free (s->loss_ws);
  if (!s->on_host)
    {
      if (s->graph)
        s->mem->graph_free (s->graph);
      if (s->pinned)
        {
          s->mem->host_free (s->host_input);
          s->mem->host_free (s->host_output);
          s->mem->host_free (s->host_target);
        }
      else
        {
          g_free (s->host_input);
          g_free (s->host_output);
          g_free (s->host_target);
        }
      if (s->dev_target)
        s->mem->free (s->dev_target);
    }
  else
    g_free (s->host_target);
  g_free (s->graph_note);
  g_free (s);
}

float *pf_train_step_input (PfTrainStep *s) { return s->host_input; }
float *pf_train_step_target (PfTrainStep *s) { return s->host_target; }

const float *
pf_train_step_output (PfTrainStep *s)
{
  if (!s->on_host)
    s->mem->download (s->host_output, pf_graph_tensor (s->g, pf_graph_output_id (s->g))->data,
                      s->n_output * sizeof (float));
  return s->host_output;
}

static gboolean
check_finite (PfTrainStep *s, double loss, GError **error)
{
  if (isfinite (loss))
    return TRUE;
  g_set_error (error, PF_ERROR, PF_ERROR_NUMERIC,
               "%s: the loss is %s at step %" G_GINT64_FORMAT "; training stopped before the update "
               "(check the data for NaN, or lower the learning rate)",
               s->g->model_name, isnan (loss) ? "NaN" : "infinite", s->t + 1);
  return FALSE;
}

static void
upload_batch (PfTrainStep *s)
{
  if (s->on_host || (s->resident && s->uploaded))
    return;
  PfGraph *g = s->g;
  s->mem->upload (pf_graph_tensor (g, pf_graph_input_id (g))->data, s->host_input,
                  s->n_input * sizeof (float));
  s->mem->upload (s->dev_target, s->host_target, s->n_output * sizeof (float));
  s->uploaded = true;
}

/* Forward in the given mode and the loss over the first n images (with its gradient when
 * training; a non-finite training loss is an error, before any update). */
static gboolean
forward_loss (PfTrainStep *s, bool training, int n, double *loss, PfLossParts *parts,
              GError **error)
{
  PfGraph *g = s->g;
  s->loss.lambda = s->pending_lambda;
  upload_batch (s);
  pf_graph_set_training (g, training);
  pf_graph_forward (g);
  pf_graph_set_training (g, true);
  PfTensor *y = pf_graph_tensor (g, pf_graph_output_id (g));
  PfLossDesc d = s->loss;
  d.n = n;
  double l = NAN;
  if (!s->mem->loss (&d, y->data, s->dev_target, training ? y->grad : NULL, s->loss_ws, &l, parts,
                     error))
    return FALSE;
  if (loss)
    *loss = l;
  return !training || check_finite (s, l, error);
}

/* Records forward, loss and backward of a training step (nothing runs). FALSE, with the
 * reason kept in graph_note and the device's pending errors cleared, when recording failed:
 * the caller then runs the step eagerly. */
static bool
record_step (PfTrainStep *s)
{
  PfGraph *g = s->g;
  GError *e = NULL;
  if (!s->mem->capture_begin (&e))
    goto fail;
  pf_graph_set_training (g, true);
  pf_graph_forward (g);
  PfTensor *y = pf_graph_tensor (g, pf_graph_output_id (g));
  gboolean queued = s->mem->loss_queue (&s->loss, y->data, s->dev_target, y->grad, s->loss_ws, &e);
  if (queued)
    pf_graph_backward (g);
  void *graph = s->mem->capture_end (queued ? &e : NULL);
  if (!queued || !graph)
    goto fail;
  /* errors a callback kept while recording (the recording itself then usually fails too) */
  if (!s->mem->sync (&e))
    {
      s->mem->graph_free (graph);
      goto fail;
    }
  s->graph = graph;
  s->graph_lambda = s->loss.lambda;
  return true;

fail:
  g_free (s->graph_note);
  s->graph_note = g_strdup_printf ("not used: recording failed (%s)", e ? e->message : "no message");
  g_clear_error (&e);
  s->mem->sync (&e); /* drop what the failed recording left pending */
  g_clear_error (&e);
  s->use_graph = false;
  return false;
}

/* A training step through the recorded graph; FALSE with *ran = false when it could not be
 * used (the caller runs the step eagerly). */
static gboolean
run_graph (PfTrainStep *s, double *loss, PfLossParts *parts, bool *ran, GError **error)
{
  *ran = false;
  s->loss.lambda = s->pending_lambda;
  if (s->graph && s->graph_lambda != s->loss.lambda)
    {
      s->mem->graph_free (s->graph);
      s->graph = NULL;
    }
  if (!s->graph && !record_step (s))
    return FALSE;
  upload_batch (s);
  *ran = true;
  double l = NAN;
  if (!s->mem->replay (s->graph, error) || !s->mem->loss_read (&s->loss, &l, parts, error))
    return FALSE;
  if (loss)
    *loss = l;
  return check_finite (s, l, error);
}

gboolean
pf_train_step_run (PfTrainStep *s, double *loss, PfLossParts *parts, GError **error)
{
  PfGraph *g = s->g;
  bool ran = false;
  if (s->use_graph && s->eager_steps >= 2)
    {
      if (!run_graph (s, loss, parts, &ran, error) && ran)
        return FALSE;
    }
  if (!ran)
    {
      if (!forward_loss (s, true, s->loss.n, loss, parts, error))
        return FALSE;
      pf_graph_backward (g);
      s->eager_steps++;
    }
  s->t++;
  s->mem->adam (&s->adam, s->t, g->param_floats, g->param_data, g->param_grad, g->adam_m, g->adam_v);
  return TRUE;
}

gboolean
pf_train_step_eval (PfTrainStep *s, double *loss, PfLossParts *parts, GError **error)
{
  return forward_loss (s, false, s->loss.n, loss, parts, error);
}

gboolean
pf_train_step_eval_n (PfTrainStep *s, int n, double *loss, PfLossParts *parts, GError **error)
{
  g_return_val_if_fail (n >= 1 && n <= s->loss.n, FALSE);
  return forward_loss (s, false, n, loss, parts, error);
}

void pf_train_step_set_lr (PfTrainStep *s, double lr) { s->adam.lr = lr; }
void pf_train_step_set_lambda (PfTrainStep *s, float lambda) { s->pending_lambda = lambda; }
float pf_train_step_lambda (const PfTrainStep *s) { return s->pending_lambda; }
int64_t pf_train_step_count (const PfTrainStep *s) { return s->t; }
void pf_train_step_set_count (PfTrainStep *s, int64_t t) { s->t = t; }
PfGraph *pf_train_step_graph (PfTrainStep *s) { return s->g; }
void pf_train_step_set_resident (PfTrainStep *s, bool resident) { s->resident = resident; s->uploaded = false; }

const char *
pf_train_step_graph_state (const PfTrainStep *s)
{
  if (s->graph)
    return "recorded, replayed every step";
  if (s->graph_note)
    return s->graph_note;
  return s->use_graph ? "to be recorded after two steps" : "not available on this device";
}
