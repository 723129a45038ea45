/* pf-train-step.c — forward, loss, backward and Adam over the graph's flat parameter array. */
#include "pf-train-step.h"
#include "pf-graph-private.h"
#include "pf-error.h"
#include <math.h>
#include <string.h>

struct PfTrainStep {
  PfGraph *g;
  PfLossDesc loss;
  float *loss_ws;
  float *target;
  PfAdamConfig adam;
  int64_t t;
  volatile float pending_lambda; /* set from another thread, read at the next step */
};

PfTrainStep *
pf_train_step_new (PfGraph *g, const PfLossDesc *loss, double lr, GError **error)
{
  PfTensor *y = pf_graph_tensor (g, pf_graph_output_id (g));
  if (!g->planned || !g->has_grads)
    {
      g_set_error (error, PF_ERROR, PF_ERROR_INVALID, "%s: the graph is not planned for training",
                   g->model_name);
      return NULL;
    }
  if (g->opts.device != PF_DEVICE_CPU)
    {
      g_set_error (error, PF_ERROR, PF_ERROR_UNSUPPORTED, "%s: the training step runs on the CPU only",
                   g->model_name);
      return NULL;
    }
  if (y->ndim != 4 || y->shape[0] != loss->n || y->shape[1] != 1 || y->shape[2] != loss->h ||
      y->shape[3] != loss->w)
    {
      char *s = _pf_shape_str (y);
      g_set_error (error, PF_ERROR, PF_ERROR_SHAPE, "%s: output %s does not match the loss [%d, 1, %d, %d]",
                   g->model_name, s, loss->n, loss->h, loss->w);
      g_free (s);
      return NULL;
    }
  if (!pf_loss_desc_check (loss, error))
    return NULL;
  PfTrainStep *s = g_new0 (PfTrainStep, 1);
  s->g = g;
  s->loss = *loss;
  s->pending_lambda = loss->lambda;
  size_t ws = pf_loss_workspace_floats (loss);
  s->loss_ws = ws ? g_new (float, ws) : NULL;
  s->target = g_new0 (float, y->numel);
  pf_adam_config_init (&s->adam, lr);
  return s;
}

void
pf_train_step_free (PfTrainStep *s)
{
  if (!s)
    return;
  g_free (s->loss_ws);
  g_free (s->target);
  g_free (s);
}

float *
pf_train_step_input (PfTrainStep *s)
{
  return pf_graph_tensor (s->g, pf_graph_input_id (s->g))->data;
}

float *
pf_train_step_target (PfTrainStep *s)
{
  return s->target;
}

const float *
pf_train_step_output (PfTrainStep *s)
{
  return pf_graph_tensor (s->g, pf_graph_output_id (s->g))->data;
}

static gboolean
check_finite (PfTrainStep *s, double loss, GError **error)
{
  if (isfinite (loss))
    return TRUE;
  g_set_error (error, PF_ERROR, PF_ERROR_NUMERIC,
               "%s: the loss is %s at step %" G_GINT64_FORMAT "; training stopped before the update "
               "(try a lower learning rate)",
               s->g->model_name, isnan (loss) ? "NaN" : "infinite", s->t + 1);
  return FALSE;
}

gboolean
pf_train_step_run (PfTrainStep *s, double *loss, PfLossParts *parts, GError **error)
{
  PfGraph *g = s->g;
  s->loss.lambda = s->pending_lambda;
  pf_graph_set_training (g, true);
  pf_graph_forward (g);
  PfTensor *y = pf_graph_tensor (g, pf_graph_output_id (g));
  double l = pf_loss_forward_parts (&s->loss, y->data, s->target, y->grad, s->loss_ws, parts);
  if (loss)
    *loss = l;
  if (!check_finite (s, l, error))
    return FALSE;
  pf_graph_backward (g);
  s->t++;
  pf_adam_step (&s->adam, s->t, g->param_floats, g->param_data, g->param_grad, g->adam_m, g->adam_v);
  return TRUE;
}

gboolean
pf_train_step_eval (PfTrainStep *s, double *loss, PfLossParts *parts, GError **error)
{
  PfGraph *g = s->g;
  s->loss.lambda = s->pending_lambda;
  pf_graph_set_training (g, false);
  pf_graph_forward (g);
  pf_graph_set_training (g, true);
  PfTensor *y = pf_graph_tensor (g, pf_graph_output_id (g));
  double l = pf_loss_forward_parts (&s->loss, y->data, s->target, NULL, s->loss_ws, parts);
  if (loss)
    *loss = l;
  return check_finite (s, l, error);
}

void pf_train_step_set_lr (PfTrainStep *s, double lr) { s->adam.lr = lr; }
void pf_train_step_set_lambda (PfTrainStep *s, float lambda) { s->pending_lambda = lambda; }
int64_t pf_train_step_count (const PfTrainStep *s) { return s->t; }
PfGraph *pf_train_step_graph (PfTrainStep *s) { return s->g; }
