/* pf-eval-report.c — model, baseline and raw sum side by side, and the JSON report. */
#include "pf-eval-report.h"
#include "pf-error.h"

#include <math.h>
#include <string.h>

#ifndef PF_VERSION
#define PF_VERSION "unknown"
#endif

struct _PfEvaluation {
  PfMetricsOptions o;
  gboolean has_baseline;
  PfBaseline baseline, raw;
  PfMetrics *m[PF_EVAL_N_SOURCES];
  GPtrArray *meta_keys, *meta_values; /* in insertion order, for a stable report */
  float *work;                        /* a reference prediction for one block */
  size_t work_len;
};

const char *
pf_eval_source_name (PfEvalSource s)
{
  static const char *names[] = { "model", "baseline", "raw_sum" };
  return s < PF_EVAL_N_SOURCES ? names[s] : "unknown";
}

PfEvaluation *
pf_evaluation_new (const PfMetricsOptions *o, const PfBaseline *baseline, GError **error)
{
  if (!pf_metrics_options_check (o, error))
    return NULL;
  if (baseline && (!isfinite (baseline->a) || !isfinite (baseline->b)))
    {
      g_set_error (error, PF_ERROR, PF_ERROR_INVALID, "evaluation: baseline constants "
                   "a = %g, b = %g are not finite", baseline->a, baseline->b);
      return NULL;
    }
  PfEvaluation *ev = g_new0 (PfEvaluation, 1);
  ev->o = *o;
  if (baseline)
    {
      ev->has_baseline = TRUE;
      ev->baseline = *baseline;
    }
  pf_baseline_init_raw (&ev->raw);
  for (int s = 0; s < PF_EVAL_N_SOURCES; s++)
    ev->m[s] = pf_metrics_new (o, NULL); /* options already checked */
  ev->meta_keys = g_ptr_array_new_with_free_func (g_free);
  ev->meta_values = g_ptr_array_new_with_free_func (g_free);
  return ev;
}

void
pf_evaluation_free (PfEvaluation *ev)
{
  if (!ev)
    return;
  for (int s = 0; s < PF_EVAL_N_SOURCES; s++)
    pf_metrics_free (ev->m[s]);
  g_ptr_array_unref (ev->meta_keys);
  g_ptr_array_unref (ev->meta_values);
  g_free (ev->work);
  g_free (ev);
}

void
pf_evaluation_set_meta (PfEvaluation *ev, const char *key, const char *value)
{
  g_return_if_fail (key && value);
  for (guint i = 0; i < ev->meta_keys->len; i++)
    if (strcmp (g_ptr_array_index (ev->meta_keys, i), key) == 0)
      {
        g_free (ev->meta_values->pdata[i]);
        ev->meta_values->pdata[i] = g_strdup (value);
        return;
      }
  g_ptr_array_add (ev->meta_keys, g_strdup (key));
  g_ptr_array_add (ev->meta_values, g_strdup (value));
}

const PfMetrics *
pf_evaluation_metrics (const PfEvaluation *ev, PfEvalSource s)
{
  g_return_val_if_fail (s < PF_EVAL_N_SOURCES, NULL);
  return ev->m[s];
}

static gboolean
check_finite (const char *what, const float *v, size_t count, size_t px, GError **error)
{
  for (size_t i = 0; i < count; i++)
    if (!isfinite (v[i]))
      {
        g_set_error (error, PF_ERROR, PF_ERROR_NUMERIC,
                     "evaluation: %s is not finite in event %zu of the block", what,
                     i / px);
        return FALSE;
      }
  return TRUE;
}

gboolean
pf_evaluation_add (PfEvaluation *ev, int64_t n, const float *pred, const float *inputs,
                   const float *truth, GError **error)
{
  const size_t px = (size_t) ev->o.image_size * ev->o.image_size;
  const size_t plane = (size_t) n * px;
  if (n <= 0 || !truth || (!pred && !inputs))
    {
      g_set_error (error, PF_ERROR, PF_ERROR_INVALID,
                   "evaluation: a block needs events, the truth and a prediction or inputs");
      return FALSE;
    }
  /* Everything is checked before anything is added, so the sources keep the same events. */
  if (!check_finite ("the truth", truth, plane, px, error)
      || (pred && !check_finite ("the prediction", pred, plane, px, error))
      || (inputs && (!check_finite ("emcal", inputs, plane, px, error)
                     || !check_finite ("hcal", inputs + plane, plane, px, error)
                     || !check_finite ("trk_n", inputs + 2 * plane, plane, px, error)
                     || !check_finite ("trk_p", inputs + 3 * plane, plane, px, error))))
    return FALSE;
  if (pred && !pf_metrics_add (ev->m[PF_EVAL_MODEL], n, pred, truth, error))
    return FALSE;
  if (!inputs)
    return TRUE;
  if (ev->work_len < plane)
    {
      g_free (ev->work);
      ev->work = g_new (float, plane);
      ev->work_len = plane;
    }
  if (ev->has_baseline)
    {
      pf_baseline_apply (&ev->baseline, n, ev->o.image_size, inputs, ev->work);
      if (!pf_metrics_add (ev->m[PF_EVAL_BASELINE], n, ev->work, truth, error))
        return FALSE;
    }
  pf_baseline_apply (&ev->raw, n, ev->o.image_size, inputs, ev->work);
  return pf_metrics_add (ev->m[PF_EVAL_RAW_SUM], n, ev->work, truth, error);
}

char *
pf_evaluation_to_json (const PfEvaluation *ev, GError **error)
{
  gboolean any = FALSE;
  for (int s = 0; s < PF_EVAL_N_SOURCES; s++)
    any |= pf_metrics_n_events (ev->m[s]) > 0;
  if (!any)
    {
      g_set_error (error, PF_ERROR, PF_ERROR_INVALID, "evaluation: no event was evaluated");
      return NULL;
    }
  GString *str = g_string_new ("{\n");
  g_string_append (str, "  \"format\": \"pflow-eval\",\n  \"schema\": 1,\n");
  g_string_append (str, "  \"pflow_version\": ");
  pf_json_append_string (str, PF_VERSION);
  g_string_append (str, ",\n  \"meta\": {");
  for (guint i = 0; i < ev->meta_keys->len; i++)
    {
      g_string_append (str, i ? ",\n    " : "\n    ");
      pf_json_append_string (str, g_ptr_array_index (ev->meta_keys, i));
      g_string_append (str, ": ");
      pf_json_append_string (str, g_ptr_array_index (ev->meta_values, i));
    }
  g_string_append (str, ev->meta_keys->len ? "\n  },\n" : "},\n");
  g_string_append_printf (str, "  \"image_size\": %d,\n  \"paper_compat\": %s,\n",
                          ev->o.image_size, ev->o.paper_compat ? "true" : "false");
  g_string_append (str, "  \"pixel_threshold_gev\": ");
  pf_json_append_double (str, ev->o.pixel_threshold);
  g_string_append (str, ",\n  \"band_edges_gev\": [");
  for (int b = 0; b < ev->o.n_bands; b++)
    {
      if (b)
        g_string_append (str, ", ");
      pf_json_append_double (str, ev->o.band_edges[b]);
    }
  g_string_append (str, "],\n  \"baseline_constants\": ");
  if (ev->has_baseline)
    {
      const PfBaseline *b = &ev->baseline;
      const char *k[] = { "a", "a_error", "b", "b_error", "rms_gev" };
      double v[] = { b->a, b->a_err, b->b, b->b_err, b->rms };
      g_string_append (str, "{");
      for (guint i = 0; i < G_N_ELEMENTS (k); i++)
        {
          g_string_append_printf (str, "\"%s\": ", k[i]);
          pf_json_append_double (str, v[i]);
          g_string_append (str, ", ");
        }
      g_string_append_printf (str, "\"n_events\": %" G_GINT64_FORMAT ", \"n_pixels\": %"
                              G_GINT64_FORMAT "},\n  \"baseline_constants_reason\": null,\n",
                              b->n_events, b->n_pixels);
    }
  else
    g_string_append (str, "null,\n  \"baseline_constants_reason\": \"no fitted baseline "
                     "was given\",\n");

  for (int s = 0; s < PF_EVAL_N_SOURCES; s++)
    {
      const char *name = pf_eval_source_name (s);
      gboolean last = s + 1 == PF_EVAL_N_SOURCES;
      PfMetricsSummary sum;
      GError *err = NULL;
      g_string_append_printf (str, "  \"%s\": ", name);
      if (pf_metrics_summarize (ev->m[s], &sum, &err))
        {
          pf_metrics_summary_to_json (&sum, &ev->o, str, 2);
          g_string_append_printf (str, ",\n  \"%s_reason\": null%s\n", name, last ? "" : ",");
          pf_metrics_summary_clear (&sum);
        }
      else
        {
          const char *why = s == PF_EVAL_MODEL ? "no prediction was given"
                            : s == PF_EVAL_BASELINE && !ev->has_baseline
                            ? "no fitted baseline was given"
                            : "no input channels were given";
          g_string_append_printf (str, "null,\n  \"%s_reason\": ", name);
          pf_json_append_string (str, why);
          g_string_append (str, last ? "\n" : ",\n");
          g_clear_error (&err);
        }
    }
  g_string_append (str, "}\n");
  return g_string_free (str, FALSE);
}

gboolean
pf_evaluation_write_json (const PfEvaluation *ev, const char *path, GError **error)
{
  char *json = pf_evaluation_to_json (ev, error);
  if (!json)
    return FALSE;
  GError *err = NULL;
  /* g_file_set_contents: a temporary beside the target, renamed into place. */
  gboolean ok = g_file_set_contents (path, json, -1, &err);
  g_free (json);
  if (!ok)
    {
      g_set_error (error, PF_ERROR, PF_ERROR_IO, "%s: cannot write the report: %s", path,
                   err->message);
      g_error_free (err);
    }
  return ok;
}
