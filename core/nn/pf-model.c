/* pf-model.c — the model registry: the scaled family (pf-model-scaled.c) and the earlier one
 * (pf-model-earlier.c) in one list, lookup by name, and the checks every build shares. */
#include "pf-model-private.h"
#include "pf-graph-private.h"
#include "pf-error.h"

static const struct {
  const PfModelInfo *const *list;
  PfModelBuildFunc build;
} families[] = {
  { _pf_models_scaled, _pf_model_scaled_build },
  { _pf_models_earlier, _pf_model_earlier_build },
};

#define MAX_MODELS 32

const PfModelInfo *const *
pf_model_list (void)
{
  static const PfModelInfo *all[MAX_MODELS + 1];
  static gsize done = 0;
  if (g_once_init_enter (&done))
    {
      int k = 0;
      for (gsize f = 0; f < G_N_ELEMENTS (families); f++)
        for (int i = 0; families[f].list[i]; i++)
          {
            g_assert (k < MAX_MODELS);
            all[k++] = families[f].list[i];
          }
      all[k] = NULL;
      g_once_init_leave (&done, 1);
    }
  return all;
}

const PfModelInfo *
pf_model_find (const char *name)
{
  const PfModelInfo *const *models = pf_model_list ();
  for (int i = 0; name && models[i]; i++)
    if (!g_ascii_strcasecmp (models[i]->name, name))
      return models[i];
  return NULL;
}

static PfModelBuildFunc
builder_of (const PfModelInfo *info)
{
  for (gsize f = 0; f < G_N_ELEMENTS (families); f++)
    for (int i = 0; families[f].list[i]; i++)
      if (families[f].list[i] == info)
        return families[f].build;
  return NULL;
}

PfGraph *
pf_model_build_with (const char *name, int scale, int batch, int size, const PfModelOptions *opts,
                     GError **error)
{
  static const PfModelOptions defaults = { 0 };
  const PfModelInfo *info = pf_model_find (name);
  if (!info)
    {
      const PfModelInfo *const *models = pf_model_list ();
      GString *known = g_string_new (NULL);
      for (int i = 0; models[i]; i++)
        g_string_append_printf (known, "%s%s", i ? ", " : "", models[i]->name);
      g_set_error (error, PF_ERROR, PF_ERROR_INVALID, "unknown model '%s' (known: %s)",
                   name ? name : "(null)", known->str);
      g_string_free (known, TRUE);
      return NULL;
    }
  if (scale < info->min_scale || scale > info->max_scale)
    {
      if (info->max_scale == 0)
        g_set_error (error, PF_ERROR, PF_ERROR_INVALID, "model '%s' has no scales (use scale 0), not %d",
                     info->name, scale);
      else
        g_set_error (error, PF_ERROR, PF_ERROR_INVALID, "model '%s' has scales %d-%d, not %d",
                     info->name, info->min_scale, info->max_scale, scale);
      return NULL;
    }
  if (batch <= 0 || size <= 0)
    {
      g_set_error (error, PF_ERROR, PF_ERROR_INVALID, "batch (%d) and image size (%d) must be positive",
                   batch, size);
      return NULL;
    }
  PfGraph *g = builder_of (info) (info, scale, batch, size, opts ? opts : &defaults, error);
  if (!g)
    return NULL;
  if (pf_graph_error (g))
    {
      g_propagate_error (error, g_error_copy (pf_graph_error (g)));
      pf_graph_free (g);
      return NULL;
    }
  /* every model maps [B, 4, size, size] to [B, 1, size, size] */
  PfTensor *y = pf_graph_tensor (g, pf_graph_output_id (g));
  if (y->ndim != 4 || y->shape[0] != batch || y->shape[1] != 1 || y->shape[2] != size ||
      y->shape[3] != size)
    {
      g_set_error (error, PF_ERROR, PF_ERROR_SHAPE, "model '%s': output %s for input [%d, 4, %d, %d]",
                   info->name, PF_SHAPE (y), batch, size, size);
      pf_graph_free (g);
      return NULL;
    }
  return g;
}

PfGraph *
pf_model_build (const char *name, int scale, int batch, int size, GError **error)
{
  return pf_model_build_with (name, scale, batch, size, NULL, error);
}

gboolean
pf_model_param_count (const char *name, int scale, size_t *out, GError **error)
{
  PfGraph *g = pf_model_build (name, scale, 1, 56, error);
  if (!g)
    return FALSE;
  *out = pf_graph_n_params (g);
  pf_graph_free (g);
  return TRUE;
}

int
pf_model_paper_batch (const PfModelInfo *info, int scale)
{
  return info && scale >= 0 && scale < (int) G_N_ELEMENTS (info->paper_batch) && info->paper_batch[scale] > 0
           ? info->paper_batch[scale] : 200;
}

char *
pf_model_label (const char *name, int scale)
{
  return scale > 0 ? g_strdup_printf ("%s-s%d", name, scale) : g_strdup (name);
}
