/* pf-application.h — the GtkApplication of the workbench (org.pflow.Workbench): application
 * actions (quit, about, preferences), accelerators of the window actions, the style sheet, the
 * settings (GSettings when the schema is installed) and the command-line options --screenshot,
 * --train-steps, --events and --measure-frames. */
#pragma once
#include <gtk/gtk.h>

G_BEGIN_DECLS

#define PF_TYPE_APPLICATION (pf_application_get_type ())
G_DECLARE_FINAL_TYPE (PfApplication, pf_application, PF, APPLICATION, GtkApplication)

PfApplication *pf_application_new (void);
/* The status g_application_run returns once the main loop ends (non-interactive modes). */
void pf_application_set_exit_status (PfApplication *self, int status);
int pf_application_get_exit_status (PfApplication *self);

G_END_DECLS
