/* pf-train-step.h — one optimisation step of a planned graph: forward, loss, backward, Adam.
 *
 * Everything the step touches is allocated when it is created; running it allocates nothing.
 * A non-finite loss stops with an error naming the step, before any weight is changed. */
#pragma once
#include "pf-graph.h"
#include "pf-loss.h"
#include "pf-optim.h"

G_BEGIN_DECLS

typedef struct PfTrainStep PfTrainStep;

/* g must be planned for training; loss->n/h/w must match the graph's output [n, 1, h, w]. */
PfTrainStep *pf_train_step_new (PfGraph *g, const PfLossDesc *loss, double lr, GError **error);
void pf_train_step_free (PfTrainStep *s);

/* Host buffers the caller fills before each run: the input batch and the target batch. */
float *pf_train_step_input (PfTrainStep *s);
float *pf_train_step_target (PfTrainStep *s);

/* Training step; *loss gets the loss before the update. */
gboolean pf_train_step_run (PfTrainStep *s, double *loss, PfLossParts *parts, GError **error);
/* Forward in inference mode and the loss, no update (validation). The loss is returned as it
 * is: a non-finite value is the caller's to judge. */
gboolean pf_train_step_eval (PfTrainStep *s, double *loss, PfLossParts *parts, GError **error);
/* The same, scoring only the first n images of the batch (1 <= n <= the batch): a short last
 * batch, its remaining images padded by the caller. */
gboolean pf_train_step_eval_n (PfTrainStep *s, int n, double *loss, PfLossParts *parts,
                               GError **error);
/* Prediction of the last forward pass (host memory). */
const float *pf_train_step_output (PfTrainStep *s);

void pf_train_step_set_lr (PfTrainStep *s, double lr);
/* The MIX weight; takes effect at the next step (the workbench changes it while training). */
void pf_train_step_set_lambda (PfTrainStep *s, float lambda);
/* The MIX weight the next step will use. */
float pf_train_step_lambda (const PfTrainStep *s);
/* Adam's step count t: steps run so far (it sets Adam's bias corrections). Setting it restores
 * a checkpoint's when resuming; the next step runs as step t + 1. */
int64_t pf_train_step_count (const PfTrainStep *s);
void pf_train_step_set_count (PfTrainStep *s, int64_t t);
PfGraph *pf_train_step_graph (PfTrainStep *s);
/* With resident set, the batch is uploaded at the next step only and then stays on the device
 * (a benchmark that, like its PyTorch peer, reuses one batch). */
void pf_train_step_set_resident (PfTrainStep *s, bool resident);
/* Whether training steps are recorded and replayed as a device graph, in words. */
const char *pf_train_step_graph_state (const PfTrainStep *s);

G_END_DECLS
