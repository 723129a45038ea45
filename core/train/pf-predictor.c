/* pf-predictor.c — inference from a checkpoint, and the prediction file of `pflow predict`. */
#include "pf-predictor.h"
#include "pf-train-private.h"
#include "pf-h5-private.h"
#include "pf-dataset.h"
#include "pf-error.h"
#include "pf-model.h"
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

struct PfPredictor {
  PfCheckpointInfo info;
  PfGraph *g;
  const PfMemory *mem;
  int batch, S;
  float *host_x, *host_y;
  gboolean on_host;
};

void
pf_predictor_free (PfPredictor *p)
{
  if (!p)
    return;
  if (!p->on_host)
    g_free (p->host_x);
  g_free (p->host_y);
  pf_graph_free (p->g);
  pf_checkpoint_info_clear (&p->info);
  g_free (p);
}

PfPredictor *
pf_predictor_new_full (const char *ckpt_path, int batch, PfDevice device, GError **error)
{
  PfPredictor *p = g_new0 (PfPredictor, 1);
  pf_checkpoint_info_init (&p->info);
  p->batch = batch > 0 ? batch : 64;
  if (!pf_checkpoint_read_info (ckpt_path, &p->info, error))
    goto fail;
  p->S = p->info.image_size;
  p->g = pf_model_build (p->info.model, p->info.scale, p->batch, p->S, error);
  if (!p->g)
    {
      g_prefix_error (error, "%s: ", ckpt_path);
      goto fail;
    }
  PfPlanOptions po = { device, false, false, p->info.seed };
  if (!pf_graph_plan (p->g, &po, error)
      || !pf_checkpoint_load (ckpt_path, p->g, FALSE, NULL, NULL, error))
    goto fail;
  pf_graph_set_training (p->g, false);
  p->mem = _pf_train_graph_memory (p->g);
  p->on_host = device == PF_DEVICE_CPU;
  PfTensor *x = pf_graph_tensor (p->g, pf_graph_input_id (p->g));
  PfTensor *y = pf_graph_tensor (p->g, pf_graph_output_id (p->g));
  p->host_x = p->on_host ? x->data : g_new0 (float, x->numel);
  p->host_y = g_new0 (float, y->numel);
  return p;

fail:
  pf_predictor_free (p);
  return NULL;
}

PfPredictor *
pf_predictor_new (const char *ckpt_path, int batch, GError **error)
{
  return pf_predictor_new_full (ckpt_path, batch, PF_DEVICE_CPU, error);
}

const PfCheckpointInfo *pf_predictor_info (const PfPredictor *p) { return &p->info; }
int pf_predictor_image_size (const PfPredictor *p) { return p->S; }

gboolean
pf_predictor_run (PfPredictor *p, const float *in, int64_t n, float *pred, GError **error)
{
  size_t SS = (size_t) p->S * p->S;
  PfTensor *x = pf_graph_tensor (p->g, pf_graph_input_id (p->g));
  PfTensor *y = pf_graph_tensor (p->g, pf_graph_output_id (p->g));
  /* the same float arithmetic as the trainer's normalisation */
  const float fmin = (float) p->info.norm_min, fr = (float) (p->info.norm_max - p->info.norm_min);
  for (int64_t b = 0; b < n; b += p->batch)
    {
      int k = (int) MIN ((int64_t) p->batch, n - b);
      for (int i = 0; i < k; i++)
        for (int ch = 0; ch < 4; ch++)
          {
            const float *src = in + ((size_t) ch * n + b + i) * SS;
            float *dst = p->host_x + ((size_t) i * 4 + ch) * SS;
            for (size_t j = 0; j < SS; j++)
              {
                if (!isfinite (src[j]))
                  {
                    g_set_error (error, PF_ERROR, PF_ERROR_NUMERIC,
                                 "prediction input: event %" G_GINT64_FORMAT " channel %d holds a "
                                 "non-finite value", b + i, ch);
                    return FALSE;
                  }
                dst[j] = (src[j] - fmin) / fr;
              }
          }
      if (k < p->batch)
        memset (p->host_x + (size_t) k * 4 * SS, 0, (size_t) (p->batch - k) * 4 * SS * sizeof (float));
      if (!p->on_host)
        p->mem->upload (x->data, p->host_x, x->numel * sizeof (float));
      pf_graph_forward (p->g);
      p->mem->download (p->host_y, y->data, y->numel * sizeof (float));
      /* a device reports what failed in the forward pass or the copy here */
      if (!pf_graph_synchronize (p->g, error))
        return FALSE;
      float *out = pred + (size_t) b * SS;
      for (size_t j = 0; j < (size_t) k * SS; j++)
        out[j] = p->host_y[j] * fr + fmin;
    }
  return TRUE;
}

/* ---- the prediction file ---- */

static gboolean
write_pred_attrs (hid_t f, const PfCheckpointInfo *ck, const char *ckpt_path, const char *data_path,
                  PfSplit split, int64_t first, int64_t n)
{
  return _pf_train_attr_int (f, "first_event", first)
         && _pf_train_attr_int (f, "n_events", n)
         && _pf_train_attr_string (f, "split", pf_split_name (split))
         && _pf_train_attr_string (f, "checkpoint", ckpt_path)
         && _pf_train_attr_string (f, "model", ck->model)
         && _pf_train_attr_int (f, "scale", ck->scale)
         && _pf_train_attr_string (f, "dataset", data_path)
         && _pf_train_attr_int (f, "best_epoch", ck->best_epoch)
         && _pf_train_attr_string (f, "units", "GeV")
         && _pf_train_attr_string (f, "pflow_version", PF_VERSION)
         && _pf_train_attr_string (f, "source", "pflow-predict");
}

gboolean
pf_predict_file (const char *ckpt_path, const char *data_path, PfSplit split, const char *out_path,
                 int batch, PfDevice device, void (*progress) (int64_t, int64_t, gpointer),
                 gpointer user_data, const volatile gint *cancel, GError **error)
{
  PfPredictor *p = pf_predictor_new_full (ckpt_path, batch, device, error);
  if (!p)
    return FALSE;
  PfDataset *d = pf_dataset_open (data_path, error);
  if (!d)
    {
      pf_predictor_free (p);
      return FALSE;
    }
  gboolean ok = FALSE;
  char *tmp = NULL;
  hid_t f = -1, sp = -1, ds = -1, dcpl = -1;
  float *in = NULL, *pred = NULL;
  int S = p->S;
  size_t SS = (size_t) S * S;
  if (pf_dataset_image_size (d) != S)
    {
      g_set_error (error, PF_ERROR, PF_ERROR_SHAPE, "%s: images are %dx%d, the model %s expects %dx%d",
                   data_path, pf_dataset_image_size (d), pf_dataset_image_size (d), ckpt_path, S, S);
      goto out;
    }
  /* the split of the events the model was trained with, when the file has them all */
  int64_t N = pf_dataset_n_events (d);
  int64_t n_ck = p->info.n_train + p->info.n_val + p->info.n_test;
  int64_t first, n;
  pf_split_range (n_ck > 0 && n_ck <= N ? n_ck : N, split, &first, &n);
  if (n <= 0)
    {
      g_set_error (error, PF_ERROR, PF_ERROR_INVALID, "%s: the %s split of %" G_GINT64_FORMAT " events is empty",
                   data_path, pf_split_name (split), N);
      goto out;
    }
  if (!(tmp = _pf_train_tmp_beside (out_path, error)))
    goto out;
  _pf_h5_quiet ();
  f = H5Fcreate (tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  hsize_t dims[3] = { n, S, S }, chunk[3] = { MIN (n, 64), S, S };
  sp = H5Screate_simple (3, dims, NULL);
  dcpl = H5Pcreate (H5P_DATASET_CREATE);
  gboolean h5ok = f >= 0 && sp >= 0 && dcpl >= 0 && H5Pset_chunk (dcpl, 3, chunk) >= 0
                  && H5Pset_deflate (dcpl, 1) >= 0;
  ds = h5ok ? H5Dcreate2 (f, "pred", H5T_IEEE_F32LE, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT) : -1;
  h5ok = ds >= 0 && _pf_train_attr_string (ds, "units", "GeV")
         && _pf_train_attr_string (ds, "axes", "event,eta,phi")
         && write_pred_attrs (f, &p->info, ckpt_path, data_path, split, first, n);
  if (!h5ok)
    {
      char *m = _pf_h5_error_message ();
      g_set_error (error, PF_ERROR, PF_ERROR_IO, "%s: cannot write: %s", out_path, m);
      g_free (m);
      goto out;
    }
  /* blocks of whole batches keep memory flat for any N */
  int64_t block = MAX ((int64_t) p->batch, (1024 / p->batch) * p->batch);
  in = g_new (float, (size_t) block * pf_dataset_n_channels (d) * SS); /* jet sets have 6 */
  pred = g_new (float, (size_t) block * SS);
  for (int64_t b = 0; b < n; b += block)
    {
      if (cancel && g_atomic_int_get (cancel))
        {
          g_set_error (error, PF_ERROR, PF_ERROR_CANCELLED, "prediction cancelled; %s not written", out_path);
          goto out;
        }
      int64_t k = MIN (block, n - b);
      if (!pf_dataset_read (d, first + b, k, in, error) || !pf_predictor_run (p, in, k, pred, error))
        goto out;
      hsize_t off[3] = { b, 0, 0 }, cnt[3] = { k, S, S };
      hid_t ms = H5Screate_simple (3, cnt, NULL);
      hid_t fs = H5Dget_space (ds);
      h5ok = ms >= 0 && fs >= 0 && H5Sselect_hyperslab (fs, H5S_SELECT_SET, off, NULL, cnt, NULL) >= 0
             && H5Dwrite (ds, H5T_NATIVE_FLOAT, ms, fs, H5P_DEFAULT, pred) >= 0;
      if (ms >= 0)
        H5Sclose (ms);
      if (fs >= 0)
        H5Sclose (fs);
      if (!h5ok)
        {
          char *m = _pf_h5_error_message ();
          g_set_error (error, PF_ERROR, PF_ERROR_IO, "%s: cannot write: %s", out_path, m);
          g_free (m);
          goto out;
        }
      if (progress)
        progress (b + k, n, user_data);
    }
  ok = TRUE;
out:
  if (ds >= 0)
    H5Dclose (ds);
  if (dcpl >= 0)
    H5Pclose (dcpl);
  if (sp >= 0)
    H5Sclose (sp);
  if (f >= 0 && H5Fclose (f) < 0 && ok)
    {
      g_set_error (error, PF_ERROR, PF_ERROR_IO, "%s: cannot close the file", out_path);
      ok = FALSE;
    }
  if (tmp)
    {
      if (ok)
        ok = _pf_train_commit (tmp, out_path, error);
      else
        g_unlink (tmp);
    }
  g_free (tmp);
  g_free (in);
  g_free (pred);
  pf_dataset_close (d);
  pf_predictor_free (p);
  return ok;
}
