/* fuzz-checkpoint.c — the checkpoint reader as `pflow predict`, `eval` and `train --resume`
 * use it: pf_checkpoint_read_info, then pf_checkpoint_load into a graph of the model and scale
 * the file names (an inference graph, and a training graph with Adam's moments), and the log
 * table turned into rows as the trainer does. A load that fails must leave the graph exactly
 * as it was; every failure is a GError naming the file; no HDF5 object stays open. */
#include "pf-fuzz-h5.h"
#include "pf-checkpoint.h"
#include "pf-model.h"
#include "pf-train-log.h"
#include <math.h>

/* Models above this many parameters are not built (time per input, not a reader limit). */
#define MAX_PARAMS 150000

typedef struct {
  PfGraph *infer, *train;
} Graphs;

/* One pair of planned graphs per model and scale, kept for the whole run: planning costs far
 * more than reading a checkpoint. NULL when the model is too large for the harness. */
static Graphs *
graphs_for (const char *model, int scale)
{
  static GHashTable *cache;
  if (!cache)
    cache = g_hash_table_new (g_str_hash, g_str_equal);
  char *key = g_strdup_printf ("%s-s%d", model, scale);
  Graphs *gr;
  if (g_hash_table_lookup_extended (cache, key, NULL, (gpointer *) &gr))
    {
      g_free (key);
      return gr;
    }
  gr = NULL;
  size_t n = 0;
  if (pf_model_param_count (model, scale, &n, NULL) && n <= MAX_PARAMS)
    {
      gr = g_new0 (Graphs, 1);
      GError *error = NULL;
      for (int training = 0; training <= 1; training++)
        {
          PfGraph *g = pf_model_build (model, scale, 1, 56, &error);
          PF_FUZZ_CHECK (g != NULL, "cannot build %s: %s", key, error->message);
          PfPlanOptions po = { PF_DEVICE_CPU, training, false, 1 };
          PF_FUZZ_CHECK (pf_graph_plan (g, &po, &error), "cannot plan %s: %s", key,
                         error->message);
          *(training ? &gr->train : &gr->infer) = g;
        }
    }
  g_hash_table_insert (cache, key, gr);
  return gr;
}

/* A hash of everything a load may write: parameters, buffers and Adam's moments. */
static guint64
state_hash (PfGraph *g)
{
  guint64 h = 1469598103934665603ull;
  for (int i = 0; i < pf_graph_n_tensors (g); i++)
    {
      PfTensor *t = pf_graph_tensor (g, i);
      if (t->kind != PF_TENSOR_PARAM && t->kind != PF_TENSOR_BUFFER)
        continue;
      const guint8 *b = (const guint8 *) t->data;
      for (size_t k = 0; k < t->numel * sizeof (float); k++)
        h = (h ^ b[k]) * 1099511628211ull;
    }
  const guint8 *m = (const guint8 *) pf_graph_adam_m (g), *v = (const guint8 *) pf_graph_adam_v (g);
  size_t n = pf_graph_n_params (g) * sizeof (float);
  for (size_t k = 0; m && v && k < n; k++)
    h = (h ^ m[k] ^ ((guint64) v[k] << 8)) * 1099511628211ull;
  return h;
}

static void
check_info (const PfCheckpointInfo *info, const char *path)
{
  PF_FUZZ_CHECK (info->model && pf_model_find (info->model) && info->loss,
                 "%s: read_info accepted a checkpoint without a known model or a loss", path);
  PF_FUZZ_CHECK (isfinite (info->lr) && isfinite (info->lambda) && isfinite (info->norm_min)
                 && isfinite (info->norm_max) && info->norm_max > info->norm_min
                 && !isnan (info->best_val_loss),
                 "%s: read_info accepted non-finite settings", path);
  PF_FUZZ_CHECK (info->log_rows >= 0 && info->log_cols >= 0
                 && (info->log_rows * info->log_cols == 0 || info->log != NULL),
                 "%s: log table %d x %d without data", path, info->log_rows, info->log_cols);
  /* what the trainer does with the table on --resume */
  for (int r = 0; info->log_cols == PF_TRAIN_LOG_COLS && r < info->log_rows; r++)
    {
      PfTrainLogRow row;
      pf_train_log_row_from_doubles (info->log + (size_t) r * info->log_cols, &row);
      PF_FUZZ_CHECK (row.epoch >= 0, "%s: log row %d has epoch %d", path, r, row.epoch);
    }
}

static void
load_into (PfGraph *g, gboolean with_optimizer, const char *path)
{
  GError *error = NULL;
  PfCheckpointInfo info;
  pf_checkpoint_info_init (&info);
  int64_t step = -1;
  guint64 before = state_hash (g);
  if (pf_checkpoint_load (path, g, with_optimizer, &info, &step, &error))
    {
      check_info (&info, path);
      PF_FUZZ_CHECK (!with_optimizer || step >= 0, "%s: Adam step %" G_GINT64_FORMAT, path,
                     step);
      for (int i = 0; i < pf_graph_n_tensors (g); i++)
        {
          PfTensor *t = pf_graph_tensor (g, i);
          for (size_t k = 0; (t->kind == PF_TENSOR_PARAM || t->kind == PF_TENSOR_BUFFER)
                             && k < t->numel; k++)
            PF_FUZZ_CHECK (isfinite (t->data[k]), "%s: loaded a non-finite '%s'", path,
                           t->name);
        }
    }
  else
    {
      pf_fuzz_check_error (&error, path);
      PF_FUZZ_CHECK (state_hash (g) == before, "%s: a failed load changed the graph", path);
    }
  pf_checkpoint_info_clear (&info);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  const char *path = pf_fuzz_write_input ("input.h5", data, size);
  GError *error = NULL;
  PfCheckpointInfo info;
  pf_checkpoint_info_init (&info);
  if (!pf_checkpoint_read_info (path, &info, &error))
    {
      pf_fuzz_check_error (&error, path);
      pf_checkpoint_info_clear (&info);
      pf_fuzz_check_h5_closed (path);
      return 0;
    }
  check_info (&info, path);
  Graphs *gr = graphs_for (info.model, info.scale);
  if (gr)
    {
      load_into (gr->infer, FALSE, path);
      load_into (gr->train, TRUE, path);
      /* a graph of another model or scale refuses the file */
      Graphs *other = graphs_for (strcmp (info.model, "cnn") ? "cnn" : "se", 1);
      if (other)
        load_into (other->infer, FALSE, path);
    }
  pf_checkpoint_info_clear (&info);
  pf_fuzz_check_h5_closed (path);
  return 0;
}
