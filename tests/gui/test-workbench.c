/* test-workbench.c — the pflow workbench under a display (meson runs it in xvfb-run -a).
 *
 * /workbench/corrupt-dataset opens a garbage file through pf_window_open_dataset, the code path
 * of File ▸ Open Dataset, and checks that the error banner names the file and the window lives
 * on. /workbench/screenshot runs the real binary with --screenshot --train-steps 3 and checks a
 * PNG of the window's size was written. /workbench/preferences opens Preferences and checks
 * that its GPU-precision drop-down writes the setting training reads. Without a display all
 * skip. */
#include <gtk/gtk.h>
#include <glib/gstdio.h>
#include <string.h>
#include "pf-window.h"
#include "pf-application.h"

static gboolean have_display;

#define REQUIRE_DISPLAY()                                                       \
  G_STMT_START {                                                                \
    if (!have_display)                                                          \
      {                                                                         \
        g_test_skip ("no display (gtk_init_check failed): run under xvfb-run"); \
        return;                                                                 \
      }                                                                         \
  } G_STMT_END

static gboolean
timeout_cb (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

static void
test_corrupt_dataset (void)
{
  REQUIRE_DISPLAY ();
  g_autofree char *dir = g_dir_make_tmp ("pf-gui-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "corrupt.h5", NULL);
  g_assert_true (g_file_set_contents (path, "\x89HDF\r\n\x1a\nthis is not a dataset", -1, NULL));

  GtkApplication *app = gtk_application_new ("org.pflow.WorkbenchTest", G_APPLICATION_NON_UNIQUE);
  g_assert_true (g_application_register (G_APPLICATION (app), NULL, NULL));
  PfWindow *win = pf_window_new (app, NULL, 20);
  gtk_window_present (GTK_WINDOW (win));
  g_assert_null (pf_window_get_banner_message (win));

  g_autoptr (GFile) file = g_file_new_for_path (path);
  pf_window_open_dataset (win, file);
  gboolean timed_out = FALSE;
  guint id = g_timeout_add_seconds (60, timeout_cb, &timed_out);
  while (!timed_out && !pf_window_get_banner_message (win))
    g_main_context_iteration (NULL, TRUE);
  g_assert_false (timed_out);
  g_source_remove (id);

  const char *msg = pf_window_get_banner_message (win);
  g_test_message ("banner: %s", msg);
  g_assert_nonnull (strstr (msg, "corrupt.h5"));

  /* The window still works: the simulated events arrive and are shown. */
  timed_out = FALSE;
  id = g_timeout_add_seconds (60, timeout_cb, &timed_out);
  while (!timed_out && pf_window_get_generation (win) == 0)
    g_main_context_iteration (NULL, TRUE);
  g_assert_false (timed_out);
  g_source_remove (id);
  g_assert_cmpuint (pf_window_get_generation (win), >, 0);

  gtk_window_destroy (GTK_WINDOW (win));
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_object_unref (app);
  g_unlink (path);
  g_rmdir (dir);
}

static void
test_screenshot (void)
{
  REQUIRE_DISPLAY ();
  const char *bin = g_getenv ("PFLOW_WORKBENCH_BIN");
  if (!bin)
    {
      g_test_skip ("PFLOW_WORKBENCH_BIN not set (run through meson test)");
      return;
    }
  g_autofree char *dir = g_dir_make_tmp ("pf-shot-XXXXXX", NULL);
  g_autofree char *png = g_build_filename (dir, "out.png", NULL);
  g_autofree char *data_home = g_build_filename (dir, "data", NULL);
  g_autofree char *cache_home = g_build_filename (dir, "cache", NULL);
  const char *argv[] = { bin, "--screenshot", png, "--train-steps", "3", "--events", "40", NULL };
  g_auto (GStrv) envp = g_get_environ ();
  envp = g_environ_setenv (envp, "XDG_DATA_HOME", data_home, TRUE);
  envp = g_environ_setenv (envp, "XDG_CACHE_HOME", cache_home, TRUE);
  envp = g_environ_setenv (envp, "GSETTINGS_BACKEND", "memory", TRUE);
  envp = g_environ_unsetenv (envp, "PFLOW_RUNS_FILE");
  int status = -1;
  g_autoptr (GError) error = NULL;
  g_autofree char *out = NULL, *err = NULL;
  g_assert_true (g_spawn_sync (NULL, (char **) argv, envp, G_SPAWN_DEFAULT, NULL, NULL, &out, &err,
                               &status, &error));
  g_test_message ("stderr: %s", err);
  g_assert_true (g_spawn_check_wait_status (status, &error));

  gsize len = 0;
  g_autofree char *bytes = NULL;
  g_assert_true (g_file_get_contents (png, &bytes, &len, NULL));
  g_assert_cmpuint (len, >, 20000);   /* seven panes of colour, not a blank window */
  g_assert_cmpmem (bytes, 8, "\x89PNG\r\n\x1a\n", 8);
  g_autoptr (GdkTexture) tex = gdk_texture_new_from_filename (png, &error);
  g_assert_no_error (error);
  g_assert_cmpint (gdk_texture_get_width (tex), >=, 800);
  g_assert_cmpint (gdk_texture_get_height (tex), >=, 500);

  /* The run it trained is in the runs file. */
  g_autofree char *runs = g_build_filename (data_home, "pflow", "runs.json", NULL);
  g_autofree char *json = NULL;
  g_assert_true (g_file_get_contents (runs, &json, NULL, NULL));
  g_assert_nonnull (strstr (json, "\"model\""));
}

static void
collect_dropdowns (GtkWidget *w, GPtrArray *out)
{
  if (GTK_IS_DROP_DOWN (w))
    g_ptr_array_add (out, w);
  for (GtkWidget *c = gtk_widget_get_first_child (w); c; c = gtk_widget_get_next_sibling (c))
    collect_dropdowns (c, out);
}

static void
test_preferences (void)
{
  REQUIRE_DISPLAY ();
  GSettingsSchemaSource *src = g_settings_schema_source_get_default ();
  g_autoptr (GSettingsSchema) schema = src ? g_settings_schema_source_lookup (src, "org.pflow.Workbench", TRUE) : NULL;
  if (!schema)
    {
      g_test_skip ("the settings schema is not installed (run through meson test)");
      return;
    }
  g_autoptr (PfApplication) app = pf_application_new ();
  g_application_set_flags (G_APPLICATION (app), G_APPLICATION_HANDLES_OPEN | G_APPLICATION_NON_UNIQUE);
  g_assert_true (g_application_register (G_APPLICATION (app), NULL, NULL));
  g_autoptr (GSettings) settings = g_settings_new ("org.pflow.Workbench");
  g_settings_set_string (settings, "gpu-precision", "tf32");
  g_action_group_activate_action (G_ACTION_GROUP (app), "preferences", NULL);

  /* the Preferences window is the toplevel with the drop-down; its one drop-down is the
   * precision, showing the setting's row */
  GtkDropDown *dd = NULL;
  GListModel *tops = gtk_window_get_toplevels ();
  for (guint i = 0; i < g_list_model_get_n_items (tops) && !dd; i++)
    {
      g_autoptr (GtkWidget) w = g_list_model_get_item (tops, i);
      g_autoptr (GPtrArray) found = g_ptr_array_new ();
      collect_dropdowns (w, found);
      if (found->len == 1)
        dd = GTK_DROP_DOWN (g_ptr_array_index (found, 0));
    }
  g_assert_nonnull (dd);
  g_assert_cmpuint (gtk_drop_down_get_selected (dd), ==, 1);
  gtk_drop_down_set_selected (dd, 2);
  g_autofree char *now = g_settings_get_string (settings, "gpu-precision");
  g_assert_cmpstr (now, ==, "bf16");
  gtk_drop_down_set_selected (dd, 0);
  g_free (now);
  now = g_settings_get_string (settings, "gpu-precision");
  g_assert_cmpstr (now, ==, "fp32");
  gtk_window_destroy (GTK_WINDOW (gtk_widget_get_root (GTK_WIDGET (dd))));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  have_display = gtk_init_check ();
  g_test_add_func ("/workbench/corrupt-dataset", test_corrupt_dataset);
  g_test_add_func ("/workbench/screenshot", test_screenshot);
  g_test_add_func ("/workbench/preferences", test_preferences);
  return g_test_run ();
}
