/* pf-main.c — entry point of pflow-workbench. */
#include <glib/gi18n.h>
#include <locale.h>
#include "pf-application.h"

int
main (int argc, char **argv)
{
  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, PF_LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);
  g_set_application_name (_("pflow Workbench"));

  PfApplication *app = pf_application_new ();
  int status = g_application_run (G_APPLICATION (app), argc, argv);
  if (status == 0)
    status = pf_application_get_exit_status (app);
  g_object_unref (app);
  return status;
}
