/* pflow-cmd-models.c — `pflow models`: every model of the zoo with its scales, the paper's batch
 * size and its trainable parameter count (built as a graph, not planned: nothing is allocated
 * beyond the layer list). */
#include "pflow-cli.h"
#include "pf-model.h"
#include <glib/gi18n.h>
#include <stdio.h>
#include <string.h>

int
pflow_cmd_models (int argc, char **argv)
{
  GOptionEntry entries[] = { { NULL } };
  GOptionContext *ctx = g_option_context_new (_("- list the models with their scales and parameter counts"));
  g_option_context_add_main_entries (ctx, entries, GETTEXT_PACKAGE);
  gboolean parsed = pflow_parse_options (ctx, &argc, &argv, "models");
  g_option_context_free (ctx);
  if (!parsed)
    return 2;
  if (argc != 1)
    {
      fprintf (stderr, "pflow models: no arguments expected\nTry 'pflow models --help'.\n");
      return 2;
    }
  printf ("%-10s %5s %6s %14s  %s\n", _("model"), _("scale"), _("batch"), _("parameters"), _("description"));
  const PfModelInfo *const *list = pf_model_list ();
  for (int i = 0; list[i]; i++)
    {
      const PfModelInfo *m = list[i];
      for (int s = m->min_scale; s <= m->max_scale; s++)
        {
          size_t n = 0;
          GError *error = NULL;
          if (!pf_model_param_count (m->name, s, &n, &error))
            return pflow_fail ("models", error);
          char *count = pflow_thousands (n);
          char *scale = m->max_scale > 0 ? g_strdup_printf ("%d", s) : g_strdup ("-");
          bool first = s == m->min_scale;
          printf ("%-10s %5s %6d %14s%s%s\n", first ? m->name : "", scale, m->paper_batch[s], count,
                  first ? "  " : "", first ? m->description : "");
          g_free (scale);
          g_free (count);
        }
    }
  return 0;
}
