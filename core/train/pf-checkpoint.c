/* pf-checkpoint.c — write and validate training checkpoints (layout in pf-checkpoint.h). */
#include "pf-checkpoint.h"
#include "pf-train-private.h"
#include "pf-h5-private.h"
#include "pf-error.h"
#include "pf-loss.h"
#include "pf-model.h"
#include "pf-train-log.h"
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

void
pf_checkpoint_info_init (PfCheckpointInfo *info)
{
  memset (info, 0, sizeof *info);
  info->best_val_loss = INFINITY;
  info->image_size = 56;
}

void
pf_checkpoint_info_clear (PfCheckpointInfo *info)
{
  g_free (info->model);
  g_free (info->loss);
  g_free (info->dataset);
  g_free (info->pflow_version);
  g_free (info->log);
  g_free (info->log_columns);
  pf_checkpoint_info_init (info);
}

static gboolean
is_state (const PfTensor *t)
{
  return t->kind == PF_TENSOR_PARAM || t->kind == PF_TENSOR_BUFFER;
}

/* ---- writing ---------------------------------------------------------------------------- */

static gboolean
write_tensor (hid_t group, const char *name, const PfTensor *t, const float *host)
{
  hsize_t dims[PF_MAX_DIMS];
  for (int i = 0; i < t->ndim; i++)
    dims[i] = t->shape[i];
  hid_t sp = H5Screate_simple (t->ndim, dims, NULL);
  hid_t ds = sp < 0 ? -1 : H5Dcreate2 (group, name, H5T_IEEE_F32LE, sp, H5P_DEFAULT, H5P_DEFAULT,
                                       H5P_DEFAULT);
  gboolean ok = ds >= 0 && H5Dwrite (ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, host) >= 0;
  if (ds >= 0)
    H5Dclose (ds);
  if (sp >= 0)
    H5Sclose (sp);
  return ok;
}

static gboolean
write_attrs (hid_t f, const PfCheckpointInfo *in)
{
  return _pf_train_attr_string (f, "model", in->model)
         && _pf_train_attr_int (f, "scale", in->scale)
         && _pf_train_attr_int (f, "image_size", in->image_size)
         && _pf_train_attr_int (f, "batch", in->batch)
         && _pf_train_attr_string (f, "loss", in->loss)
         && _pf_train_attr_double (f, "lambda", in->lambda)
         && _pf_train_attr_double (f, "lr", in->lr)
         && _pf_train_attr_bool (f, "paper_compat", in->paper_compat)
         && _pf_train_attr_int (f, "epoch", in->epoch)
         && _pf_train_attr_int (f, "batch_in_epoch", in->batch_in_epoch)
         && _pf_train_attr_double (f, "partial_loss", in->partial[0])
         && _pf_train_attr_double (f, "partial_mse", in->partial[1])
         && _pf_train_attr_double (f, "partial_wmse", in->partial[2])
         && _pf_train_attr_double (f, "partial_ssim", in->partial[3])
         && _pf_train_attr_double (f, "partial_batches", in->partial[4])
         && _pf_train_attr_int (f, "best_epoch", in->best_epoch)
         && _pf_train_attr_double (f, "best_val_loss", in->best_val_loss)
         && _pf_train_attr_double (f, "norm_min", in->norm_min)
         && _pf_train_attr_double (f, "norm_max", in->norm_max)
         && _pf_train_attr_string (f, "dataset", in->dataset)
         && _pf_train_attr_int (f, "n_train", in->n_train)
         && _pf_train_attr_int (f, "n_val", in->n_val)
         && _pf_train_attr_int (f, "n_test", in->n_test)
         && _pf_train_attr_int (f, "seed", (int64_t) in->seed)
         && _pf_train_attr_int (f, "epochs", in->epochs)
         && _pf_train_attr_int (f, "patience", in->patience)
         && _pf_train_attr_int (f, "progressive", in->progressive)
         && _pf_train_attr_int (f, "max_events", in->max_events)
         && _pf_train_attr_string (f, "pflow_version", PF_VERSION)
         && _pf_train_attr_string (f, "format", "pflow-checkpoint-1");
}

static gboolean
write_log (hid_t f, const PfCheckpointInfo *in)
{
  hsize_t dims[2] = { in->log_rows, in->log_cols };
  hid_t sp = H5Screate_simple (2, dims, NULL);
  hid_t ds = sp < 0 ? -1 : H5Dcreate2 (f, "train_log", H5T_IEEE_F64LE, sp, H5P_DEFAULT,
                                       H5P_DEFAULT, H5P_DEFAULT);
  gboolean ok = ds >= 0
                && (in->log_rows == 0
                    || H5Dwrite (ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, in->log) >= 0)
                && _pf_train_attr_string (ds, "columns", in->log_columns ? in->log_columns : "");
  if (ds >= 0)
    H5Dclose (ds);
  if (sp >= 0)
    H5Sclose (sp);
  return ok;
}

gboolean
pf_checkpoint_save (const char *path, PfGraph *g, const PfCheckpointInfo *info,
                    gboolean with_optimizer, int64_t adam_step, GError **error)
{
  _pf_h5_quiet ();
  const PfMemory *mem = _pf_train_graph_memory (g);
  float *adam_m = pf_graph_adam_m (g), *adam_v = pf_graph_adam_v (g);
  float *param0 = pf_graph_param_data (g);
  if (with_optimizer && (!adam_m || !adam_v))
    {
      g_set_error (error, PF_ERROR, PF_ERROR_INVALID,
                   "%s: the graph has no optimiser state (not planned for training)", path);
      return FALSE;
    }
  char *tmp = _pf_train_tmp_beside (path, error);
  if (!tmp)
    return FALSE;
  hid_t fapl = H5Pcreate (H5P_FILE_ACCESS);
  H5Pset_fclose_degree (fapl, H5F_CLOSE_STRONG);
  hid_t f = H5Fcreate (tmp, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
  H5Pclose (fapl);
  hid_t sd = f < 0 ? -1 : H5Gcreate2 (f, "state_dict", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  hid_t opt = -1, gm = -1, gv = -1;
  gboolean ok = sd >= 0;
  if (ok && with_optimizer)
    {
      opt = H5Gcreate2 (f, "optimizer", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
      gm = opt < 0 ? -1 : H5Gcreate2 (opt, "exp_avg", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
      gv = opt < 0 ? -1 : H5Gcreate2 (opt, "exp_avg_sq", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
      ok = gm >= 0 && gv >= 0 && _pf_train_attr_int (opt, "step", adam_step)
           && _pf_train_attr_string (opt, "kind", "adam")
           && _pf_train_attr_double (opt, "beta1", 0.9)
           && _pf_train_attr_double (opt, "beta2", 0.999)
           && _pf_train_attr_double (opt, "eps", 1e-8);
    }
  GHashTable *seen = g_hash_table_new (g_str_hash, g_str_equal);
  float *host = NULL;
  size_t host_n = 0;
  for (int i = 0; ok && i < pf_graph_n_tensors (g); i++)
    {
      PfTensor *t = pf_graph_tensor (g, i);
      /* shared weights (the 3D front end) appear once */
      if (!is_state (t) || !g_hash_table_add (seen, t->name))
        continue;
      if (host_n < t->numel)
        host = g_renew (float, host, host_n = t->numel);
      mem->download (host, t->data, t->numel * sizeof (float));
      ok = write_tensor (sd, t->name, t, host);
      if (ok && with_optimizer && t->kind == PF_TENSOR_PARAM)
        {
          size_t off = (size_t) (t->data - param0);
          mem->download (host, adam_m + off, t->numel * sizeof (float));
          ok = write_tensor (gm, t->name, t, host);
          mem->download (host, adam_v + off, t->numel * sizeof (float));
          ok = ok && write_tensor (gv, t->name, t, host);
        }
    }
  g_hash_table_unref (seen);
  g_free (host);
  ok = ok && write_attrs (f, info) && write_log (f, info);
  char *h5msg = ok ? NULL : _pf_h5_error_message ();
  if (gm >= 0)
    H5Gclose (gm);
  if (gv >= 0)
    H5Gclose (gv);
  if (opt >= 0)
    H5Gclose (opt);
  if (sd >= 0)
    H5Gclose (sd);
  if (f >= 0 && H5Fclose (f) < 0 && ok)
    {
      ok = FALSE;
      h5msg = _pf_h5_error_message ();
    }
  if (!ok)
    {
      g_set_error (error, PF_ERROR, PF_ERROR_IO, "%s: cannot write the checkpoint: %s", path,
                   h5msg ? h5msg : "HDF5 error");
      g_free (h5msg);
      g_unlink (tmp);
      g_free (tmp);
      return FALSE;
    }
  ok = _pf_train_commit (tmp, path, error);
  g_free (tmp);
  return ok;
}

/* ---- reading ---------------------------------------------------------------------------- */

static hid_t
open_file (const char *path, GError **error)
{
  _pf_h5_quiet ();
  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR))
    {
      g_set_error (error, PF_ERROR, PF_ERROR_IO, "%s: no such checkpoint file", path);
      return -1;
    }
  hid_t f = H5Fopen (path, H5F_ACC_RDONLY, H5P_DEFAULT);
  if (f < 0)
    {
      char *m = _pf_h5_error_message ();
      g_set_error (error, PF_ERROR, PF_ERROR_FORMAT, "%s: not a readable HDF5 checkpoint (%s)", path, m);
      g_free (m);
    }
  return f;
}

static gboolean
need_int (hid_t f, const char *path, const char *name, int64_t lo, int64_t hi, int64_t *v,
          GError **error)
{
  if (!_pf_train_attr_read_int (f, name, v))
    {
      g_set_error (error, PF_ERROR, PF_ERROR_FORMAT,
                   "%s: attribute '%s' is missing or not a number (is this a pflow checkpoint?)",
                   path, name);
      return FALSE;
    }
  if (*v < lo || *v > hi)
    {
      g_set_error (error, PF_ERROR, PF_ERROR_FORMAT,
                   "%s: attribute '%s' is %" G_GINT64_FORMAT ", expected %" G_GINT64_FORMAT
                   "..%" G_GINT64_FORMAT, path, name, *v, lo, hi);
      return FALSE;
    }
  return TRUE;
}

static gboolean
need_double (hid_t f, const char *path, const char *name, gboolean finite, double *v, GError **error)
{
  if (!_pf_train_attr_read_double (f, name, v))
    {
      g_set_error (error, PF_ERROR, PF_ERROR_FORMAT, "%s: attribute '%s' is missing or not a number",
                   path, name);
      return FALSE;
    }
  if (isnan (*v) || (finite && !isfinite (*v)))
    {
      g_set_error (error, PF_ERROR, PF_ERROR_NUMERIC, "%s: attribute '%s' is %g, expected a finite number",
                   path, name, *v);
      return FALSE;
    }
  return TRUE;
}

static gboolean
read_log (hid_t f, const char *path, PfCheckpointInfo *info, GError **error)
{
  if (H5Lexists (f, "train_log", H5P_DEFAULT) <= 0)
    return TRUE; /* optional */
  hid_t ds = H5Dopen2 (f, "train_log", H5P_DEFAULT);
  hid_t sp = ds < 0 ? -1 : H5Dget_space (ds);
  hsize_t dims[2] = { 0, 0 };
  gboolean ok = sp >= 0 && H5Sget_simple_extent_ndims (sp) == 2
                && H5Sget_simple_extent_dims (sp, dims, NULL) == 2 && dims[0] <= 1000000
                && dims[1] <= 64;
  /* up to 512 MB are allocated below: only for a table whose data is really in the file */
  char *why = NULL;
  if (ok && !_pf_h5_check_storage (ds, &why))
    {
      g_set_error (error, PF_ERROR, PF_ERROR_FORMAT, "%s: dataset 'train_log' %s", path, why);
      g_free (why);
      H5Sclose (sp);
      H5Dclose (ds);
      return FALSE;
    }
  if (ok && dims[0] * dims[1] > 0)
    {
      info->log = g_new (double, dims[0] * dims[1]);
      ok = H5Dread (ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, info->log) >= 0;
    }
  if (ok)
    {
      info->log_rows = dims[0];
      info->log_cols = dims[1];
      info->log_columns = _pf_h5_attr_read_string (ds, "columns");
    }
  if (sp >= 0)
    H5Sclose (sp);
  if (ds >= 0)
    H5Dclose (ds);
  H5Eclear2 (H5E_DEFAULT);
  if (!ok)
    {
      g_set_error (error, PF_ERROR, PF_ERROR_FORMAT,
                   "%s: 'train_log' is not a float64 [epochs, columns] table", path);
      return FALSE;
    }
  /* --resume turns the trainer's rows into PfTrainLogRow: check what becomes an integer */
  for (int r = 0; info->log_cols == PF_TRAIN_LOG_COLS && r < info->log_rows; r++)
    {
      const double *v = info->log + (size_t) r * PF_TRAIN_LOG_COLS;
      const char *column = NULL;
      double value = 0;
      if (!pf_train_log_row_check (v, &column, &value))
        {
          g_set_error (error, PF_ERROR, PF_ERROR_FORMAT,
                       "%s: 'train_log' row %d: %s is %g, expected a whole number >= 0 that "
                       "fits an integer", path, r + 1, column, value);
          return FALSE;
        }
    }
  return TRUE;
}

static gboolean
read_info (hid_t f, const char *path, PfCheckpointInfo *info, GError **error)
{
  pf_checkpoint_info_clear (info);
  info->model = _pf_h5_attr_read_string (f, "model");
  if (!info->model || !pf_model_find (info->model))
    {
      g_set_error (error, PF_ERROR, PF_ERROR_FORMAT, "%s: attribute 'model' is %s%s%s, expected a known model",
                   path, info->model ? "'" : "", info->model ? info->model : "missing",
                   info->model ? "'" : "");
      return FALSE;
    }
  const PfModelInfo *mi = pf_model_find (info->model);
  info->loss = _pf_h5_attr_read_string (f, "loss");
  PfLossKind lk;
  if (!info->loss || !pf_loss_kind_parse (info->loss, &lk))
    {
      g_set_error (error, PF_ERROR, PF_ERROR_FORMAT, "%s: attribute 'loss' is %s, expected mse, wmse, ssim or mix",
                   path, info->loss ? info->loss : "missing");
      return FALSE;
    }
  info->dataset = _pf_h5_attr_read_string (f, "dataset");
  info->pflow_version = _pf_h5_attr_read_string (f, "pflow_version");
  int64_t v[16];
  double lo = mi->min_scale, hi = mi->max_scale;
  if (!need_int (f, path, "scale", (int64_t) lo, (int64_t) hi, &v[0], error)
      || !need_int (f, path, "image_size", 11, 4096, &v[1], error)
      || !need_int (f, path, "batch", 1, 1 << 20, &v[2], error)
      || !need_int (f, path, "paper_compat", 0, 1, &v[3], error)
      || !need_int (f, path, "epoch", 0, 1 << 24, &v[4], error)
      || !need_int (f, path, "best_epoch", 0, 1 << 24, &v[5], error)
      || !need_int (f, path, "n_train", 0, INT64_MAX / 2, &info->n_train, error)
      || !need_int (f, path, "n_val", 0, INT64_MAX / 2, &info->n_val, error)
      || !need_int (f, path, "n_test", 0, INT64_MAX / 2, &info->n_test, error)
      || !need_int (f, path, "seed", INT64_MIN, INT64_MAX, &v[6], error)
      || !need_double (f, path, "lambda", TRUE, &info->lambda, error)
      || !need_double (f, path, "lr", TRUE, &info->lr, error)
      || !need_double (f, path, "best_val_loss", FALSE, &info->best_val_loss, error)
      || !need_double (f, path, "norm_min", TRUE, &info->norm_min, error)
      || !need_double (f, path, "norm_max", TRUE, &info->norm_max, error))
    return FALSE;
  info->scale = v[0];
  info->image_size = v[1];
  info->batch = v[2];
  info->paper_compat = v[3] != 0;
  info->epoch = v[4];
  info->best_epoch = v[5];
  info->seed = (uint64_t) v[6];
  if (!(info->norm_max > info->norm_min))
    {
      g_set_error (error, PF_ERROR, PF_ERROR_FORMAT,
                   "%s: normalisation range [%g, %g] is empty, expected norm_max > norm_min", path,
                   info->norm_min, info->norm_max);
      return FALSE;
    }
  /* run settings and a cancelled epoch's partial sums: absent means defaults */
  int64_t x;
  info->epochs = _pf_train_attr_read_int (f, "epochs", &x) && x >= 0 && x < (1 << 24) ? x : 0;
  info->patience = _pf_train_attr_read_int (f, "patience", &x) && x >= 0 && x < (1 << 24) ? x : 0;
  info->progressive = _pf_train_attr_read_int (f, "progressive", &x) && x >= 0 && x < 1024 ? x : 0;
  info->max_events = _pf_train_attr_read_int (f, "max_events", &x) && x >= 0 ? x : 0;
  info->batch_in_epoch = _pf_train_attr_read_int (f, "batch_in_epoch", &x) && x >= 0 && x < (1 << 30) ? x : 0;
  static const char *const pn[5] = { "partial_loss", "partial_mse", "partial_wmse", "partial_ssim",
                                     "partial_batches" };
  for (int i = 0; i < 5; i++)
    if (!_pf_train_attr_read_double (f, pn[i], &info->partial[i]))
      info->partial[i] = 0;
  return read_log (f, path, info, error);
}

gboolean
pf_checkpoint_read_info (const char *path, PfCheckpointInfo *info, GError **error)
{
  hid_t f = open_file (path, error);
  if (f < 0)
    return FALSE;
  gboolean ok = read_info (f, path, info, error);
  H5Fclose (f);
  return ok;
}

/* Reads group/name into dst after checking its shape against t and its values. */
static gboolean
read_tensor (hid_t f, const char *path, const char *group, const PfTensor *t, float *dst,
             GError **error)
{
  char *full = g_strdup_printf ("%s/%s", group, t->name);
  hid_t ds = -1, sp = -1, ty = -1;
  gboolean ok = FALSE;
  if (H5Lexists (f, group, H5P_DEFAULT) <= 0 || H5Lexists (f, full, H5P_DEFAULT) <= 0)
    {
      g_set_error (error, PF_ERROR, PF_ERROR_FORMAT, "%s: tensor '%s' is missing (the model needs it)",
                   path, full);
      goto out;
    }
  ds = H5Dopen2 (f, full, H5P_DEFAULT);
  sp = ds < 0 ? -1 : H5Dget_space (ds);
  ty = ds < 0 ? -1 : H5Dget_type (ds);
  if (sp < 0 || ty < 0 || H5Tget_class (ty) != H5T_FLOAT)
    {
      g_set_error (error, PF_ERROR, PF_ERROR_FORMAT, "%s: '%s' is not a floating-point dataset", path, full);
      goto out;
    }
  hsize_t dims[8] = { 0 };
  int nd = H5Sget_simple_extent_ndims (sp);
  /* the dims go into the message below when the rank differs too: read them whatever it is */
  gboolean have_dims = nd >= 0 && nd <= 8 && H5Sget_simple_extent_dims (sp, dims, NULL) == nd;
  gboolean same = have_dims && nd == t->ndim;
  for (int i = 0; same && i < nd; i++)
    same = dims[i] == (hsize_t) t->shape[i];
  if (!same)
    {
      GString *found = g_string_new ("[");
      for (int i = 0; have_dims && i < nd; i++)
        g_string_append_printf (found, "%s%llu", i ? ", " : "", (unsigned long long) dims[i]);
      g_string_append (found, "]");
      GString *want = g_string_new ("[");
      for (int i = 0; i < t->ndim; i++)
        g_string_append_printf (want, "%s%d", i ? ", " : "", t->shape[i]);
      g_string_append (want, "]");
      g_set_error (error, PF_ERROR, PF_ERROR_SHAPE, "%s: tensor '%s' has shape %s, expected %s",
                   path, full, found->str, want->str);
      g_string_free (found, TRUE);
      g_string_free (want, TRUE);
      goto out;
    }
  /* chunks never written would load as zeros: weights nobody trained */
  char *why = NULL;
  if (!_pf_h5_check_storage (ds, &why))
    {
      g_set_error (error, PF_ERROR, PF_ERROR_FORMAT, "%s: tensor '%s' %s", path, full, why);
      g_free (why);
      goto out;
    }
  if (H5Dread (ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, dst) < 0)
    {
      char *m = _pf_h5_error_message ();
      g_set_error (error, PF_ERROR, PF_ERROR_FORMAT, "%s: cannot read '%s': %s (truncated file?)",
                   path, full, m);
      g_free (m);
      goto out;
    }
  for (size_t i = 0; i < t->numel; i++)
    if (!isfinite (dst[i]))
      {
        g_set_error (error, PF_ERROR, PF_ERROR_NUMERIC,
                     "%s: tensor '%s' holds %s at element %zu, expected finite weights", path, full,
                     isnan (dst[i]) ? "NaN" : "Inf", i);
        goto out;
      }
  ok = TRUE;
out:
  if (ty >= 0)
    H5Tclose (ty);
  if (sp >= 0)
    H5Sclose (sp);
  if (ds >= 0)
    H5Dclose (ds);
  H5Eclear2 (H5E_DEFAULT);
  g_free (full);
  return ok;
}

typedef struct {
  GHashTable *known;
  char *extra;
} ExtraScan;

static herr_t
scan_cb (hid_t loc, const char *name, const H5L_info_t *li, void *data)
{
  ExtraScan *s = data;
  if (!g_hash_table_contains (s->known, name))
    {
      s->extra = g_strdup (name);
      return 1;
    }
  return 0;
}

gboolean
pf_checkpoint_load (const char *path, PfGraph *g, gboolean with_optimizer,
                    PfCheckpointInfo *info_out, int64_t *adam_step, GError **error)
{
  PfCheckpointInfo info;
  pf_checkpoint_info_init (&info);
  hid_t f = open_file (path, error);
  if (f < 0)
    return FALSE;
  const PfMemory *mem = _pf_train_graph_memory (g);
  float *param0 = pf_graph_param_data (g);
  gboolean ok = read_info (f, path, &info, error);
  if (ok)
    {
      char *want = pf_model_label (info.model, info.scale);
      if (strcmp (want, pf_graph_model_name (g)) != 0)
        {
          g_set_error (error, PF_ERROR, PF_ERROR_FORMAT,
                       "%s: the checkpoint holds model %s (scale %d), expected %s", path,
                       info.model, info.scale, pf_graph_model_name (g));
          ok = FALSE;
        }
      g_free (want);
    }
  if (ok && with_optimizer && !pf_graph_adam_m (g))
    {
      g_set_error (error, PF_ERROR, PF_ERROR_INVALID,
                   "%s: cannot restore the optimiser into a graph planned for inference", path);
      ok = FALSE;
    }
  int64_t step = 0;
  if (ok && with_optimizer)
    {
      hid_t opt = H5Lexists (f, "optimizer", H5P_DEFAULT) > 0 ? H5Gopen2 (f, "optimizer", H5P_DEFAULT) : -1;
      if (opt < 0 || !_pf_train_attr_read_int (opt, "step", &step) || step < 0)
        {
          g_set_error (error, PF_ERROR, PF_ERROR_FORMAT,
                       "%s: '/optimizer' with an integer attribute 'step' is missing (saved without "
                       "the optimiser state?)", path);
          ok = FALSE;
        }
      if (opt >= 0)
        H5Gclose (opt);
      H5Eclear2 (H5E_DEFAULT);
    }
  /* Stage everything on the host: the graph changes only when the whole file is valid. */
  GHashTable *known = g_hash_table_new (g_str_hash, g_str_equal);
  GPtrArray *staged = g_ptr_array_new_with_free_func (g_free);
  GArray *ids = g_array_new (FALSE, FALSE, sizeof (int));
  for (int i = 0; ok && i < pf_graph_n_tensors (g); i++)
    {
      PfTensor *t = pf_graph_tensor (g, i);
      if (!is_state (t) || !g_hash_table_add (known, t->name))
        continue;
      int parts = with_optimizer && t->kind == PF_TENSOR_PARAM ? 3 : 1;
      float *buf = g_new (float, t->numel * parts);
      g_ptr_array_add (staged, buf);
      g_array_append_val (ids, i);
      ok = read_tensor (f, path, "state_dict", t, buf, error);
      if (ok && parts == 3)
        ok = read_tensor (f, path, "optimizer/exp_avg", t, buf + t->numel, error)
             && read_tensor (f, path, "optimizer/exp_avg_sq", t, buf + 2 * t->numel, error);
    }
  if (ok)
    {
      /* a tensor the model does not have means a different architecture */
      ExtraScan scan = { known, NULL };
      hid_t sd = H5Gopen2 (f, "state_dict", H5P_DEFAULT);
      if (sd >= 0)
        {
          H5Literate (sd, H5_INDEX_NAME, H5_ITER_NATIVE, NULL, scan_cb, &scan);
          H5Gclose (sd);
        }
      if (scan.extra)
        {
          g_set_error (error, PF_ERROR, PF_ERROR_FORMAT,
                       "%s: unexpected tensor '/state_dict/%s' (not part of %s)", path, scan.extra,
                       pf_graph_model_name (g));
          g_free (scan.extra);
          ok = FALSE;
        }
    }
  if (ok)
    for (guint k = 0; k < ids->len; k++)
      {
        PfTensor *t = pf_graph_tensor (g, g_array_index (ids, int, k));
        const float *buf = g_ptr_array_index (staged, k);
        mem->upload (t->data, buf, t->numel * sizeof (float));
        if (with_optimizer && t->kind == PF_TENSOR_PARAM)
          {
            size_t off = (size_t) (t->data - param0);
            mem->upload (pf_graph_adam_m (g) + off, buf + t->numel, t->numel * sizeof (float));
            mem->upload (pf_graph_adam_v (g) + off, buf + 2 * t->numel, t->numel * sizeof (float));
          }
      }
  g_array_unref (ids);
  g_ptr_array_unref (staged);
  g_hash_table_unref (known);
  H5Fclose (f);
  if (ok && adam_step)
    *adam_step = step;
  if (ok && info_out)
    {
      pf_checkpoint_info_clear (info_out);
      *info_out = info;
    }
  else
    pf_checkpoint_info_clear (&info);
  return ok;
}
