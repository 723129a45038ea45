/* pf-weight-snapshot.c — weights copied off the training graph, and inference from them. */
#include "pf-weight-snapshot.h"
#include "pf-backend.h"
#include "pf-error.h"
#include "pf-model.h"
#include <glib/gi18n.h>
#include <math.h>
#include <string.h>

typedef struct {
  char *name;
  size_t offset, numel;
} Entry;

struct PfWeightSnapshot {
  gatomicrefcount ref;
  GMutex lock;           /* data and serial */
  float *data;
  GArray *entries;       /* Entry */
  guint serial;
  const PfMemory *mem;
  char *model;
  int scale, S;
  double nmin, nmax;
};

PfWeightSnapshot *
pf_weight_snapshot_new (PfGraph *g, PfDevice device, const char *model, int scale,
                        double norm_min, double norm_max)
{
  PfWeightSnapshot *s = g_new0 (PfWeightSnapshot, 1);
  g_atomic_ref_count_init (&s->ref);
  g_mutex_init (&s->lock);
  s->entries = g_array_new (FALSE, TRUE, sizeof (Entry));
  size_t total = 0;
  for (int i = 0; i < pf_graph_n_tensors (g); i++)
    {
      PfTensor *t = pf_graph_tensor (g, i);
      if ((t->kind != PF_TENSOR_PARAM && t->kind != PF_TENSOR_BUFFER) || t->alias_of >= 0
          || !t->name)
        continue;
      Entry e = { g_strdup (t->name), total, t->numel };
      g_array_append_val (s->entries, e);
      total += t->numel;
    }
  s->data = g_new0 (float, MAX (total, 1));
  s->mem = pf_memory_for (device);
  s->model = g_strdup (model);
  s->scale = scale;
  s->S = pf_graph_tensor (g, pf_graph_input_id (g))->shape[2];
  s->nmin = norm_min;
  s->nmax = norm_max;
  return s;
}

PfWeightSnapshot *
pf_weight_snapshot_ref (PfWeightSnapshot *s)
{
  g_atomic_ref_count_inc (&s->ref);
  return s;
}

void
pf_weight_snapshot_unref (PfWeightSnapshot *s)
{
  if (!s || !g_atomic_ref_count_dec (&s->ref))
    return;
  for (guint i = 0; i < s->entries->len; i++)
    g_free (g_array_index (s->entries, Entry, i).name);
  g_array_unref (s->entries);
  g_mutex_clear (&s->lock);
  g_free (s->data);
  g_free (s->model);
  g_free (s);
}

guint
pf_weight_snapshot_take (PfWeightSnapshot *s, PfGraph *g)
{
  g_mutex_lock (&s->lock);
  for (guint i = 0; i < s->entries->len; i++)
    {
      Entry *e = &g_array_index (s->entries, Entry, i);
      PfTensor *t = pf_graph_tensor (g, pf_graph_find (g, e->name));
      s->mem->download (s->data + e->offset, t->data, e->numel * sizeof (float));
    }
  guint serial = ++s->serial;
  g_mutex_unlock (&s->lock);
  return serial;
}

guint
pf_weight_snapshot_serial (PfWeightSnapshot *s)
{
  g_mutex_lock (&s->lock);
  guint serial = s->serial;
  g_mutex_unlock (&s->lock);
  return serial;
}

void
pf_weight_snapshot_norm (PfWeightSnapshot *s, double *norm_min, double *norm_max)
{
  *norm_min = s->nmin;
  *norm_max = s->nmax;
}

int pf_weight_snapshot_image_size (PfWeightSnapshot *s) { return s->S; }

/* ---- predictions ---- */

struct PfSnapshotPredictor {
  PfGraph *g;
  char *model;
  int scale, S;
  PfWeightSnapshot *loaded; /* whose weights g holds, at serial */
  guint serial;
};

PfSnapshotPredictor *
pf_snapshot_predictor_new (void)
{
  return g_new0 (PfSnapshotPredictor, 1);
}

void
pf_snapshot_predictor_free (PfSnapshotPredictor *p)
{
  if (!p)
    return;
  pf_graph_free (p->g);
  g_free (p->model);
  pf_weight_snapshot_unref (p->loaded);
  g_free (p);
}

static gboolean
ensure_graph (PfSnapshotPredictor *p, PfWeightSnapshot *s, GError **error)
{
  if (p->g && p->scale == s->scale && p->S == s->S && g_strcmp0 (p->model, s->model) == 0)
    return TRUE;
  pf_graph_free (p->g);
  g_clear_pointer (&p->model, g_free);
  g_clear_pointer (&p->loaded, pf_weight_snapshot_unref);
  p->g = pf_model_build (s->model, s->scale, 1, s->S, error);
  PfPlanOptions po = { PF_DEVICE_CPU, false, false, 0 };
  if (!p->g || !pf_graph_plan (p->g, &po, error))
    {
      pf_graph_free (p->g);
      p->g = NULL;
      return FALSE;
    }
  pf_graph_set_training (p->g, false);
  p->model = g_strdup (s->model);
  p->scale = s->scale;
  p->S = s->S;
  return TRUE;
}

gboolean
pf_snapshot_predictor_run (PfSnapshotPredictor *p, PfWeightSnapshot *s, const float *inputs4,
                           int S, float *pred, guint *serial, GError **error)
{
  if (!s || pf_weight_snapshot_serial (s) == 0)
    {
      g_set_error_literal (error, PF_ERROR, PF_ERROR_INVALID, _("No trained weights yet"));
      return FALSE;
    }
  if (S != s->S)
    {
      g_set_error (error, PF_ERROR, PF_ERROR_SHAPE,
                   _("The event is %dx%d, the model was trained on %dx%d images"), S, S, s->S, s->S);
      return FALSE;
    }
  size_t SS = (size_t) S * S;
  for (size_t j = 0; j < 4 * SS; j++)
    if (!isfinite (inputs4[j]))
      {
        g_set_error (error, PF_ERROR, PF_ERROR_NUMERIC,
                     _("Prediction input: channel %d holds a non-finite value"), (int) (j / SS));
        return FALSE;
      }
  if (!ensure_graph (p, s, error))
    return FALSE;
  g_mutex_lock (&s->lock);
  if (p->loaded != s || p->serial != s->serial)
    {
      for (guint i = 0; i < s->entries->len; i++)
        {
          Entry *e = &g_array_index (s->entries, Entry, i);
          int id = pf_graph_find (p->g, e->name);
          PfTensor *t = id >= 0 ? pf_graph_tensor (p->g, id) : NULL;
          if (t && t->numel == e->numel)
            memcpy (t->data, s->data + e->offset, e->numel * sizeof (float));
        }
      p->serial = s->serial;
      if (p->loaded != s)
        {
          pf_weight_snapshot_unref (p->loaded);
          p->loaded = pf_weight_snapshot_ref (s);
        }
    }
  g_mutex_unlock (&s->lock);
  /* the same float arithmetic as the trainer's normalisation (pf-predictor.c) */
  const float fmin = (float) s->nmin, fr = (float) (s->nmax - s->nmin);
  float *x = pf_graph_tensor (p->g, pf_graph_input_id (p->g))->data;
  for (size_t j = 0; j < 4 * SS; j++)
    x[j] = (inputs4[j] - fmin) / fr;
  pf_graph_forward (p->g);
  const float *y = pf_graph_tensor (p->g, pf_graph_output_id (p->g))->data;
  for (size_t j = 0; j < SS; j++)
    pred[j] = y[j] * fr + fmin;
  if (serial)
    *serial = p->serial;
  return TRUE;
}
