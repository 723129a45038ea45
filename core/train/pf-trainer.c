/* pf-trainer.c — the training loop: data in memory, normalisation, shuffled batches, Adam with
 * StepLR, validation, early stopping, checkpoints and logs (recipe in pf-trainer.h).
 *
 * Each batch and each validation batch runs through PfTrainStep (its host buffers, loss and Adam
 * on the graph's device); resuming restores Adam's step count with pf_train_step_set_count. */
#include "pf-trainer.h"
#include "pf-checkpoint.h"
#include "pf-train-log.h"
#include "pf-train-private.h"
#include "pf-dataset.h"
#include "pf-error.h"
#include "pf-loss.h"
#include "pf-model.h"
#include "pf-optim.h"
#include "pf-rng.h"
#include "pf-train-step.h"
#include <errno.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

struct PfTrainer {
  PfTrainOptions o;          /* resolved; strings point into the owned copies below */
  char *data_path, *out_dir, *model, *loss_name;
  float *data;               /* every event, 5 channels channel-major, normalised */
  int64_t n, n_train, n_val, n_test;
  int S;
  double nmin, nmax;
  PfGraph *g;
  PfTrainStep *step;         /* holds Adam's step count and the MIX weight */
  uint32_t *perm;
  /* progress state (restored on resume) */
  int epoch, batch_in_epoch, best_epoch;
  double partial[5], best_val;
  GArray *log;               /* PfTrainLogRow */
  char *best_path, *last_path, *csv_path, *json_path;
  char *precision;           /* t->o.precision points here */
};

void
pf_train_options_init (PfTrainOptions *o)
{
  memset (o, 0, sizeof *o);
  o->model = "cnn";
  o->scale = 1;
  o->loss = "mix";
  o->lambda = PF_LOSS_DEFAULT_LAMBDA;
  o->patience = -1;  /* 20, or the checkpoint's when resuming */
  o->seed = 26;
  o->lr_step = 30;
  o->lr_gamma = 0.5;
  o->device = PF_DEVICE_CPU;
  o->precision = "fp32";
}

void
pf_train_result_clear (PfTrainResult *r)
{
  g_free (r->best_path);
  g_free (r->last_path);
  memset (r, 0, sizeof *r);
}

void
pf_trainer_free (PfTrainer *t)
{
  if (!t)
    return;
  pf_train_step_free (t->step);
  pf_graph_free (t->g);
  g_free (t->data);
  g_free (t->perm);
  if (t->log)
    g_array_unref (t->log);
  g_free (t->data_path);
  g_free (t->out_dir);
  g_free (t->model);
  g_free (t->loss_name);
  g_free (t->precision);
  g_free (t->best_path);
  g_free (t->last_path);
  g_free (t->csv_path);
  g_free (t->json_path);
  g_free (t);
}

/* Settings from last.h5: everything that shapes the run comes from the checkpoint. */
static gboolean
apply_resume (PfTrainer *t, PfCheckpointInfo *ck, GError **error)
{
  if (!pf_checkpoint_read_info (t->last_path, ck, error))
    return FALSE;
  if (!t->data_path || !*t->data_path)
    {
      g_free (t->data_path);
      t->data_path = g_strdup (ck->dataset);
    }
  g_free (t->model);
  t->model = g_strdup (ck->model);
  g_free (t->loss_name);
  t->loss_name = g_strdup (ck->loss);
  t->o.scale = ck->scale;
  t->o.batch = ck->batch;
  t->o.lambda = ck->lambda;
  t->o.lr = ck->lr;
  t->o.paper_compat = ck->paper_compat;
  t->o.seed = ck->seed;
  t->o.progressive = ck->progressive;
  t->o.max_events = ck->max_events;
  if (t->o.epochs <= 0)
    t->o.epochs = ck->epochs;
  if (t->o.patience < 0)
    t->o.patience = ck->patience;
  return TRUE;
}

/* Reads the events, checks the split, finds and applies the normalisation. */
static gboolean
load_data (PfTrainer *t, GError **error)
{
  PfDataset *d = pf_dataset_open (t->data_path, error);
  if (!d)
    return FALSE;
  int64_t n = pf_dataset_n_events (d);
  if (t->o.max_events > 0 && t->o.max_events < n)
    n = t->o.max_events;
  t->S = pf_dataset_image_size (d);
  int64_t first;
  pf_split_range (n, PF_SPLIT_TRAIN, &first, &t->n_train);
  pf_split_range (n, PF_SPLIT_VAL, &first, &t->n_val);
  pf_split_range (n, PF_SPLIT_TEST, &first, &t->n_test);
  int K = MAX (t->o.progressive, 1);
  /* the first stage must still fill one batch (the short last batch is dropped) */
  int64_t need = (int64_t) t->o.batch * K;
  if (t->n_train / K < t->o.batch || t->n_val < 1 || t->n_test < 1)
    {
      int64_t n_min = MAX ((need * 10 + 7) / 8, 10);
      g_set_error (error, PF_ERROR, PF_ERROR_INVALID,
                   "%s: %" G_GINT64_FORMAT " events give a %" G_GINT64_FORMAT "/%" G_GINT64_FORMAT
                   "/%" G_GINT64_FORMAT " train/val/test split; training needs at least one full "
                   "batch of %d%s and one event each for validation and test: use at least %"
                   G_GINT64_FORMAT " events (or a smaller --batch)", t->data_path, n, t->n_train,
                   t->n_val, t->n_test, t->o.batch, K > 1 ? " in the first progressive stage" : "",
                   n_min);
      pf_dataset_close (d);
      return FALSE;
    }
  size_t SS = (size_t) t->S * t->S;
  if ((uint64_t) n > (SIZE_MAX / sizeof (float)) / (PF_N_CHANNELS * SS))
    {
      g_set_error (error, PF_ERROR, PF_ERROR_INVALID, "%s: %" G_GINT64_FORMAT " events do not fit in memory",
                   t->data_path, n);
      pf_dataset_close (d);
      return FALSE;
    }
  t->data = g_try_malloc ((size_t) n * PF_N_CHANNELS * SS * sizeof (float));
  if (!t->data)
    {
      g_set_error (error, PF_ERROR, PF_ERROR_IO, "%s: cannot allocate %.2f GB for %" G_GINT64_FORMAT " events",
                   t->data_path, n * PF_N_CHANNELS * SS * 4.0 / 1e9, n);
      pf_dataset_close (d);
      return FALSE;
    }
  /* channel by channel, so a jet set's extra channel is never read */
  for (int ch = 0; ch < PF_N_CHANNELS; ch++)
    if (!pf_dataset_read_channel (d, ch, 0, n, t->data + (size_t) ch * n * SS, error))
      {
        pf_dataset_close (d);
        return FALSE;
      }
  pf_dataset_close (d);
  t->n = n;
  /* one global min/max over the four input channels of the training events */
  double lo = INFINITY, hi = -INFINITY;
  for (int ch = 0; ch < 4; ch++)
    {
      const float *p = t->data + (size_t) ch * n * SS;
      size_t m = (size_t) t->n_train * SS;
      float clo = INFINITY, chi = -INFINITY;
#pragma omp parallel for reduction(min:clo) reduction(max:chi)
      for (size_t i = 0; i < m; i++)
        {
          clo = MIN (clo, p[i]);
          chi = MAX (chi, p[i]);
        }
      lo = MIN (lo, clo);
      hi = MAX (hi, chi);
    }
  if (!(hi > lo))
    {
      g_set_error (error, PF_ERROR, PF_ERROR_INVALID,
                   "%s: the input channels of the training events are constant (%g): nothing to learn",
                   t->data_path, lo);
      return FALSE;
    }
  t->nmin = lo;
  t->nmax = hi;
  const float fmin = (float) lo, fr = (float) (hi - lo);
  size_t all = (size_t) n * PF_N_CHANNELS * SS;
#pragma omp parallel for
  for (size_t i = 0; i < all; i++)
    t->data[i] = (t->data[i] - fmin) / fr;
  return TRUE;
}

PfTrainer *
pf_trainer_new (const PfTrainOptions *options, GError **error)
{
  PfTrainer *t = g_new0 (PfTrainer, 1);
  t->o = *options;
  t->data_path = g_strdup (options->data_path);
  t->out_dir = g_strdup (options->out_dir ? options->out_dir : ".");
  t->model = g_strdup (options->model ? options->model : "cnn");
  t->loss_name = g_strdup (options->loss ? options->loss : "mix");
  t->precision = g_strdup (options->precision ? options->precision : "fp32");
  t->best_path = g_build_filename (t->out_dir, "best.h5", NULL);
  t->last_path = g_build_filename (t->out_dir, "last.h5", NULL);
  t->csv_path = g_build_filename (t->out_dir, "log.csv", NULL);
  t->json_path = g_build_filename (t->out_dir, "log.json", NULL);
  t->log = g_array_new (FALSE, TRUE, sizeof (PfTrainLogRow));
  t->best_val = INFINITY;
  PfCheckpointInfo ck;
  pf_checkpoint_info_init (&ck);
  PfLossKind lk;
  PfLossDesc loss;
  int64_t adam_t = 0;

  if (t->o.resume && !apply_resume (t, &ck, error))
    goto fail;
  const PfModelInfo *mi = pf_model_find (t->model);
  if (!mi)
    {
      GString *known = g_string_new (NULL);
      for (const PfModelInfo *const *m = pf_model_list (); *m; m++)
        g_string_append_printf (known, "%s%s", known->len ? ", " : "", (*m)->name);
      g_set_error (error, PF_ERROR, PF_ERROR_INVALID, "unknown model '%s' (known: %s)", t->model, known->str);
      g_string_free (known, TRUE);
      goto fail;
    }
  if (!pf_loss_kind_parse (t->loss_name, &lk))
    {
      g_set_error (error, PF_ERROR, PF_ERROR_INVALID, "unknown loss '%s' (mse, wmse, ssim, mix)", t->loss_name);
      goto fail;
    }
  if (t->o.batch <= 0)
    t->o.batch = pf_model_paper_batch (mi, t->o.scale);
  if (t->o.lr <= 0)
    t->o.lr = 1e-3 * t->o.batch / 200.0;
  if (t->o.epochs <= 0)
    t->o.epochs = 100;
  if (t->o.patience < 0)
    t->o.patience = 20;
  if (t->o.lr_step <= 0)
    t->o.lr_step = 30;
  if (!(t->o.lr_gamma > 0))
    t->o.lr_gamma = 0.5;
  if (t->o.progressive < 0 || t->o.progressive > t->o.epochs || !isfinite (t->o.lr)
      || !isfinite (t->o.lambda) || t->o.lambda < 0)
    {
      g_set_error (error, PF_ERROR, PF_ERROR_INVALID,
                   "invalid settings: progressive %d (0..epochs %d), lr %g, lambda %g (>= 0)",
                   t->o.progressive, t->o.epochs, t->o.lr, t->o.lambda);
      goto fail;
    }
  if (!t->data_path)
    {
      g_set_error (error, PF_ERROR, PF_ERROR_INVALID, "no dataset given");
      goto fail;
    }
  t->o.model = t->model;
  t->o.loss = t->loss_name;
  t->o.precision = t->precision;
  t->o.data_path = t->data_path;
  t->o.out_dir = t->out_dir;
  if (g_mkdir_with_parents (t->out_dir, 0777) != 0)
    {
      g_set_error (error, PF_ERROR, PF_ERROR_IO, "%s: cannot create the output folder: %s",
                   t->out_dir, g_strerror (errno));
      goto fail;
    }
  if (!load_data (t, error))
    goto fail;
  t->g = pf_model_build (t->model, t->o.scale, t->o.batch, t->S, error);
  if (!t->g)
    {
      g_prefix_error (error, "%s: images are %dx%d: ", t->data_path, t->S, t->S);
      goto fail;
    }
  PfPlanOptions po = { t->o.device, true, false, t->o.seed };
  if (!pf_graph_plan (t->g, &po, error))
    goto fail;
  pf_loss_desc_init (&loss, lk, t->o.batch, t->S, t->S);
  loss.lambda = (float) t->o.lambda;
  loss.paper_compat = t->o.paper_compat;
  if (!pf_loss_desc_check (&loss, error))
    {
      g_prefix_error (error, "%s: ", t->data_path);
      goto fail;
    }
  if (!(t->step = pf_train_step_new (t->g, &loss, t->o.lr, error)))
    goto fail;
  t->perm = g_new (uint32_t, MAX (t->n_train, 1));
  if (t->o.resume)
    {
      if (ck.n_train != t->n_train || ck.n_val != t->n_val || ck.image_size != t->S
          || ck.norm_min != t->nmin || ck.norm_max != t->nmax)
        {
          g_set_error (error, PF_ERROR, PF_ERROR_INVALID,
                       "%s: the dataset %s does not match the checkpoint (split %" G_GINT64_FORMAT "/%"
                       G_GINT64_FORMAT " vs %" G_GINT64_FORMAT "/%" G_GINT64_FORMAT ", range [%g, %g] vs [%g, %g])",
                       t->last_path, t->data_path, t->n_train, t->n_val, ck.n_train, ck.n_val, t->nmin,
                       t->nmax, ck.norm_min, ck.norm_max);
          goto fail;
        }
      pf_checkpoint_info_clear (&ck);
      if (!pf_checkpoint_load (t->last_path, t->g, TRUE, &ck, &adam_t, error))
        goto fail;
      pf_train_step_set_count (t->step, adam_t);
      t->epoch = ck.epoch;
      t->batch_in_epoch = ck.batch_in_epoch;
      memcpy (t->partial, ck.partial, sizeof t->partial);
      t->best_epoch = ck.best_epoch;
      t->best_val = ck.best_val_loss;
      for (int r = 0; ck.log_cols == PF_TRAIN_LOG_COLS && r < ck.log_rows; r++)
        {
          PfTrainLogRow row;
          pf_train_log_row_from_doubles (ck.log + (size_t) r * ck.log_cols, &row);
          g_array_append_val (t->log, row);
        }
    }
  pf_checkpoint_info_clear (&ck);
  return t;

fail:
  pf_checkpoint_info_clear (&ck);
  pf_trainer_free (t);
  return NULL;
}

void
pf_trainer_set_lambda (PfTrainer *t, float lambda)
{
  pf_train_step_set_lambda (t->step, lambda);
}

const PfTrainOptions *pf_trainer_options (const PfTrainer *t) { return &t->o; }
PfGraph *pf_trainer_graph (PfTrainer *t) { return t->g; }

void
pf_trainer_norm (const PfTrainer *t, double *min, double *max)
{
  *min = t->nmin;
  *max = t->nmax;
}

/* Fisher-Yates from the identity: a pure function of (seed, epoch, n), so a resumed run draws
 * exactly the batches the uninterrupted one would. */
static void
shuffle (PfTrainer *t, int epoch, int64_t n)
{
  for (int64_t i = 0; i < n; i++)
    t->perm[i] = (uint32_t) i;
  for (int64_t i = n - 1; i > 0; i--)
    {
      philox4x32_ctr_t r = pf_rng_block (t->o.seed, PF_RNG_STREAM_SHUFFLE, (uint32_t) epoch,
                                         (uint32_t) i, (uint32_t) (i >> 32));
      uint64_t u = ((uint64_t) r.v[0] << 32) | r.v[1];
      int64_t j = (int64_t) (u % (uint64_t) (i + 1));
      uint32_t tmp = t->perm[i];
      t->perm[i] = t->perm[j];
      t->perm[j] = tmp;
    }
}

/* Copies events idx[0..k) into the step's input and target (sample-major [k, 4, S, S]). */
static void
gather (PfTrainer *t, const uint32_t *idx, int64_t base, int k)
{
  size_t SS = (size_t) t->S * t->S;
  float *x = pf_train_step_input (t->step), *y = pf_train_step_target (t->step);
  for (int i = 0; i < k; i++)
    {
      int64_t e = idx ? idx[i] : base + i;
      for (int ch = 0; ch < 4; ch++)
        memcpy (x + ((size_t) i * 4 + ch) * SS, t->data + ((size_t) ch * t->n + e) * SS,
                SS * sizeof (float));
      memcpy (y + (size_t) i * SS, t->data + ((size_t) PF_CH_TRUTH * t->n + e) * SS,
              SS * sizeof (float));
    }
  /* a short batch (validation only) is padded with zeros; only its k images are scored */
  if (k < t->o.batch)
    {
      memset (x + (size_t) k * 4 * SS, 0, (size_t) (t->o.batch - k) * 4 * SS * sizeof (float));
      memset (y + (size_t) k * SS, 0, (size_t) (t->o.batch - k) * SS * sizeof (float));
    }
}

/* Validation loss over every validation event (inference mode, the loss on k images). */
static gboolean
validate (PfTrainer *t, const volatile gint *cancel, PfLossParts *out, gboolean *cancelled,
          GError **error)
{
  double sum[4] = { 0, 0, 0, 0 };
  int64_t first, count;
  pf_split_range (t->n, PF_SPLIT_VAL, &first, &count);
  for (int64_t b = 0; b < count; b += t->o.batch)
    {
      if (cancel && g_atomic_int_get (cancel))
        {
          *cancelled = TRUE;
          return FALSE;
        }
      int k = (int) MIN ((int64_t) t->o.batch, count - b);
      gather (t, NULL, first + b, k);
      double l = NAN;
      PfLossParts p;
      if (!pf_train_step_eval_n (t->step, k, &l, &p, error))
        return FALSE;
      /* every term is a mean over images: weight by the batch's images */
      sum[0] += l * k;
      sum[1] += p.mse * k;
      sum[2] += p.wmse * k;
      sum[3] += p.ssim * k;
    }
  out->total = sum[0] / count;
  out->mse = sum[1] / count;
  out->wmse = sum[2] / count;
  out->ssim = sum[3] / count;
  if (!isfinite (out->total))
    {
      g_set_error (error, PF_ERROR, PF_ERROR_NUMERIC, "%s: the validation loss is not finite at epoch %d",
                   pf_graph_model_name (t->g), t->epoch + 1);
      return FALSE;
    }
  return TRUE;
}

static int
stage_of (const PfTrainer *t, int epoch)
{
  int K = MAX (t->o.progressive, 1);
  return (int) MIN ((int64_t) K - 1, (int64_t) epoch * K / t->o.epochs);
}

static int
stage_start (const PfTrainer *t, int stage)
{
  int K = MAX (t->o.progressive, 1);
  return (int) (((int64_t) stage * t->o.epochs + K - 1) / K);
}

static int64_t
stage_events (const PfTrainer *t, int stage)
{
  int K = MAX (t->o.progressive, 1);
  return (t->n_train * (stage + 1) + K - 1) / K;
}

static gboolean
save (PfTrainer *t, const char *path, GError **error)
{
  PfCheckpointInfo ck;
  pf_checkpoint_info_init (&ck);
  ck.model = t->model;
  ck.scale = t->o.scale;
  ck.image_size = t->S;
  ck.batch = t->o.batch;
  ck.loss = t->loss_name;
  ck.lambda = pf_train_step_lambda (t->step);
  ck.lr = t->o.lr;
  ck.paper_compat = t->o.paper_compat;
  ck.epoch = t->epoch;
  ck.batch_in_epoch = t->batch_in_epoch;
  memcpy (ck.partial, t->partial, sizeof ck.partial);
  ck.best_epoch = t->best_epoch;
  ck.best_val_loss = t->best_val;
  ck.norm_min = t->nmin;
  ck.norm_max = t->nmax;
  ck.dataset = t->data_path;
  ck.n_train = t->n_train;
  ck.n_val = t->n_val;
  ck.n_test = t->n_test;
  ck.seed = t->o.seed;
  ck.epochs = t->o.epochs;
  ck.patience = t->o.patience;
  ck.progressive = t->o.progressive;
  ck.max_events = t->o.max_events;
  ck.log_rows = t->log->len;
  ck.log_cols = PF_TRAIN_LOG_COLS;
  ck.log = g_new (double, (size_t) MAX (t->log->len, 1) * PF_TRAIN_LOG_COLS);
  for (guint r = 0; r < t->log->len; r++)
    pf_train_log_row_to_doubles (&g_array_index (t->log, PfTrainLogRow, r),
                                 ck.log + (size_t) r * PF_TRAIN_LOG_COLS);
  ck.log_columns = (char *) pf_train_log_columns;
  gboolean ok = pf_checkpoint_save (path, t->g, &ck, TRUE, pf_train_step_count (t->step),
                                    error);
  g_free (ck.log);
  return ok;
}

static gboolean
write_logs (PfTrainer *t, gboolean early_stopped, GError **error)
{
  PfTrainLogMeta m = { t->model, t->loss_name, t->data_path, t->o.scale, t->o.batch,
                       pf_train_step_lambda (t->step), t->best_epoch, t->best_val, early_stopped,
                       t->o.device == PF_DEVICE_CUDA ? "cuda" : "cpu",
                       t->o.device == PF_DEVICE_CUDA ? t->o.precision : "fp32" };
  return pf_train_log_write (t->csv_path, t->json_path, &m, (const PfTrainLogRow *) t->log->data,
                             t->log->len, error);
}

gboolean
pf_trainer_run (PfTrainer *t, const PfTrainCallbacks *cb, const volatile gint *cancel,
                PfTrainResult *result, GError **error)
{
  static const PfTrainCallbacks none = { 0 };
  if (!cb)
    cb = &none;
  if (cb->start)
    cb->start (&t->o, t->n_train, t->n_val, t->n_test, cb->user_data);
  gboolean ok = TRUE, cancelled = FALSE, stopped = FALSE;
  GError *local = NULL;
  while (ok && !stopped && t->epoch < t->o.epochs)
    {
      gint64 t0 = g_get_monotonic_time ();
      int stage = stage_of (t, t->epoch);
      int64_t n_used = stage_events (t, stage);
      int nb = (int) (n_used / t->o.batch);
      double lr = pf_step_lr (t->o.lr, t->epoch, t->o.lr_step, t->o.lr_gamma);
      pf_train_step_set_lr (t->step, lr);
      shuffle (t, t->epoch, n_used);
      for (int b = t->batch_in_epoch; ok && b < nb; b++)
        {
          if (cancel && g_atomic_int_get (cancel))
            {
              cancelled = TRUE;
              break;
            }
          gather (t, t->perm + (size_t) b * t->o.batch, 0, t->o.batch);
          double l = 0;
          PfLossParts p;
          if (!(ok = pf_train_step_run (t->step, &l, &p, &local)))
            {
              g_prefix_error (&local, "epoch %d: ", t->epoch + 1);
              break;
            }
          t->partial[0] += l;
          t->partial[1] += p.mse;
          t->partial[2] += p.wmse;
          t->partial[3] += p.ssim;
          t->partial[4] += 1;
          t->batch_in_epoch = b + 1;
          if (cb->batch)
            cb->batch (pf_train_step_count (t->step), l, b + 1, nb, cb->user_data);
        }
      if (!ok || cancelled)
        break;
      PfLossParts v;
      if (!validate (t, cancel, &v, &cancelled, &local))
        {
          ok = cancelled;
          break;
        }
      double nbd = t->partial[4];
      PfTrainLogRow row = { t->epoch + 1, t->partial[0] / nbd, v.total, lr,
                            (g_get_monotonic_time () - t0) / 1e6, t->partial[1] / nbd,
                            t->partial[2] / nbd, t->partial[3] / nbd, v.mse, v.wmse, v.ssim,
                            n_used, FALSE };
      t->epoch++;
      t->batch_in_epoch = 0;
      memset (t->partial, 0, sizeof t->partial);
      if (v.total < t->best_val)
        {
          t->best_val = v.total;
          t->best_epoch = t->epoch;
          row.best = TRUE;
        }
      g_array_append_val (t->log, row);
      int since = t->epoch - MAX (t->best_epoch, stage_start (t, stage_of (t, t->epoch - 1)));
      stopped = t->o.patience > 0 && since >= t->o.patience && t->epoch < t->o.epochs;
      ok = (!row.best || save (t, t->best_path, &local)) && save (t, t->last_path, &local)
           && write_logs (t, stopped, &local);
      if (ok && cb->epoch)
        cb->epoch (&row, cb->user_data);
    }
  if (cancelled)
    {
      /* the state at the batch we stopped at: resume continues from there */
      ok = save (t, t->last_path, &local) && write_logs (t, FALSE, &local);
      if (ok)
        g_set_error (&local, PF_ERROR, PF_ERROR_CANCELLED,
                     "training cancelled in epoch %d after batch %d; %s holds that state (--resume "
                     "continues)", t->epoch + 1, t->batch_in_epoch, t->last_path);
      ok = FALSE;
    }
  /* hand back the best weights, as the recipe says (the published code kept the last ones) */
  if (ok && t->best_epoch > 0 && t->best_epoch != t->epoch)
    ok = pf_checkpoint_load (t->best_path, t->g, FALSE, NULL, NULL, &local);
  if (result)
    {
      pf_train_result_clear (result);
      result->epochs_run = t->epoch;
      result->best_epoch = t->best_epoch;
      result->best_val_loss = t->best_val;
      result->early_stopped = stopped;
      result->cancelled = cancelled;
      result->best_path = g_strdup (t->best_path);
      result->last_path = g_strdup (t->last_path);
    }
  if (local)
    g_propagate_error (error, local);
  return ok;
}

gboolean
pf_train (const PfTrainOptions *options, const PfTrainCallbacks *cb, const volatile gint *cancel,
          PfTrainResult *result, GError **error)
{
  PfTrainer *t = pf_trainer_new (options, error);
  if (!t)
    return FALSE;
  gboolean ok = pf_trainer_run (t, cb, cancel, result, error);
  pf_trainer_free (t);
  return ok;
}
