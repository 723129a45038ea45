/* pf-train-step.c — forward, loss, backward and Adam over the graph's flat parameter array.
 *
 * The caller fills host buffers (input and target batch); on the CPU the input buffer is the
 * graph's input tensor itself, on a GPU it is uploaded before the forward pass. The loss and
 * Adam run on the graph's device (PfMemory), so only the loss value comes back each step. */
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
};

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
      s->host_input = g_new0 (float, x->numel);
      s->host_output = g_new0 (float, y->numel);
      s->host_target = g_new0 (float, y->numel);
      if (!(s->dev_target = s->mem->alloc (y->numel * sizeof (float), error)))
        goto fail;
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
      g_free (s->host_input);
      g_free (s->host_output);
      if (s->dev_target)
        s->mem->free (s->dev_target);
    }
  g_free (s->host_target);
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

/* Forward in the given mode and the loss over the first n images (with its gradient when
 * training; a non-finite training loss is an error, before any update). */
static gboolean
forward_loss (PfTrainStep *s, bool training, int n, double *loss, PfLossParts *parts,
              GError **error)
{
  PfGraph *g = s->g;
  s->loss.lambda = s->pending_lambda;
  if (!s->on_host)
    {
      s->mem->upload (pf_graph_tensor (g, pf_graph_input_id (g))->data, s->host_input,
                      s->n_input * sizeof (float));
      s->mem->upload (s->dev_target, s->host_target, s->n_output * sizeof (float));
    }
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

gboolean
pf_train_step_run (PfTrainStep *s, double *loss, PfLossParts *parts, GError **error)
{
  if (!forward_loss (s, true, s->loss.n, loss, parts, error))
    return FALSE;
  PfGraph *g = s->g;
  pf_graph_backward (g);
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
