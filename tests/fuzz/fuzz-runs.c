/* fuzz-runs.c — the workbench's run list (runs.json, pf-run-store.c over pf-json.c): a load
 * replaces the list with well-formed runs or fails with a GError naming the file and leaves
 * the list as it was. */
#include "pf-fuzz.h"
#include "pf-run-store.h"
#include <math.h>

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  const char *path = pf_fuzz_write_input ("runs.json", data, size);
  GError *error = NULL;
  PfRunStore *s = pf_run_store_new (path);
  if (pf_run_store_load (s, &error))
    {
      guint n = g_list_model_get_n_items (G_LIST_MODEL (s));
      for (guint i = 0; i < n; i++)
        {
          PfRun *r = g_list_model_get_item (G_LIST_MODEL (s), i);
          PF_FUZZ_CHECK (pf_run_get_id (r) && pf_run_get_model (r), "%s: run %u without an id "
                         "or a model", path, i);
          GArray *log = pf_run_get_log (r);
          PF_FUZZ_CHECK (pf_run_get_epochs (r) >= 0 && log, "%s: run %u log", path, i);
          char **metrics = pf_run_list_metrics (r);
          for (char **m = metrics; m && *m; m++)
            pf_run_get_metric (r, *m);
          g_strfreev (metrics);
          g_object_unref (r);
        }
      /* a list a load accepted must save and load again (the workbench rewrites it) */
      char *saved = g_build_filename (pf_fuzz_dir (), "saved.json", NULL);
      PfRunStore *copy = pf_run_store_new (saved);
      for (guint i = 0; i < n; i++)
        {
          PfRun *r = g_list_model_get_item (G_LIST_MODEL (s), i);
          pf_run_store_add (copy, r);
          g_object_unref (r);
        }
      PF_FUZZ_CHECK (pf_run_store_save (copy, &error), "%s: cannot save: %s", saved,
                     error->message);
      PF_FUZZ_CHECK (pf_run_store_load (copy, &error), "%s: the saved list does not load: %s",
                     saved, error->message);
      PF_FUZZ_CHECK (g_list_model_get_n_items (G_LIST_MODEL (copy)) == n,
                     "%s: %u runs saved, %u loaded", saved, n,
                     g_list_model_get_n_items (G_LIST_MODEL (copy)));
      g_object_unref (copy);
      g_remove (saved);
      g_free (saved);
    }
  else
    {
      pf_fuzz_check_error (&error, path);
      PF_FUZZ_CHECK (g_list_model_get_n_items (G_LIST_MODEL (s)) == 0,
                     "%s: a failed load changed the list", path);
    }
  g_object_unref (s);
  return 0;
}
