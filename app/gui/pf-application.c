/* pf-application.c — see pf-application.h. */
#include <string.h>
#include <glib/gi18n.h>
#include "pf-application.h"
#include "pf-window.h"

#define APP_ID "org.pflow.Workbench"

struct _PfApplication
{
  GtkApplication parent_instance;

  GSettings *settings;      /* NULL without the installed schema */
  char *screenshot;
  char *checkpoint;         /* --checkpoint, absolute */
  gint64 event;             /* --event, 1-based; 0 = not given */
  gboolean show_jets;
  int train_steps;
  int n_events;
  double measure_seconds;
  int exit_status;
};

G_DEFINE_FINAL_TYPE (PfApplication, pf_application, GTK_TYPE_APPLICATION)

void
pf_application_set_exit_status (PfApplication *self, int status)
{
  self->exit_status = status;
}

int
pf_application_get_exit_status (PfApplication *self)
{
  return self->exit_status;
}

static void
action_quit (GSimpleAction *a, GVariant *p, gpointer user_data)
{
  GtkApplication *app = GTK_APPLICATION (user_data);
  for (GList *l = gtk_application_get_windows (app); l; l = gtk_application_get_windows (app))
    gtk_window_destroy (GTK_WINDOW (l->data));
}

static void
action_about (GSimpleAction *a, GVariant *p, gpointer user_data)
{
  static const char *authors[] = { "The pflow authors", NULL };
  gtk_show_about_dialog (gtk_application_get_active_window (GTK_APPLICATION (user_data)),
                         "program-name", _("pflow Workbench"),
                         "logo-icon-name", APP_ID,
                         "version", PF_VERSION,
                         "comments", _("Deep-learning energy reconstruction in calorimeters: "
                                       "simulate events, train networks and inspect their predictions"),
                         "license-type", GTK_LICENSE_GPL_3_0,
                         "authors", authors,
                         "translator-credits", _("translator-credits"),
                         NULL);
}

/* the precision drop-down's rows, in the order of the schema's choices */
static const char *const precision_names[] = { "fp32", "tf32", "bf16" };

static gboolean
precision_to_row (GValue *value, GVariant *variant, gpointer user_data)
{
  const char *name = g_variant_get_string (variant, NULL);
  for (guint i = 0; i < G_N_ELEMENTS (precision_names); i++)
    if (!strcmp (name, precision_names[i]))
      {
        g_value_set_uint (value, i);
        return TRUE;
      }
  return FALSE;
}

static GVariant *
row_to_precision (const GValue *value, const GVariantType *type, gpointer user_data)
{
  guint row = g_value_get_uint (value);
  return row < G_N_ELEMENTS (precision_names) ? g_variant_new_string (precision_names[row]) : NULL;
}

static void
action_preferences (GSimpleAction *a, GVariant *p, gpointer user_data)
{
  PfApplication *self = PF_APPLICATION (user_data);
  g_autoptr (GtkBuilder) builder = gtk_builder_new_from_resource ("/org/pflow/Workbench/pf-preferences.ui");
  GtkWindow *win = GTK_WINDOW (gtk_builder_get_object (builder, "preferences"));
  gtk_window_set_transient_for (win, gtk_application_get_active_window (GTK_APPLICATION (self)));
  if (self->settings)
    {
      g_settings_bind (self->settings, "slideshow-interval", gtk_builder_get_object (builder, "slideshow_adj"),
                       "value", G_SETTINGS_BIND_DEFAULT);
      g_settings_bind (self->settings, "events", gtk_builder_get_object (builder, "events_adj"),
                       "value", G_SETTINGS_BIND_DEFAULT);
      g_settings_bind (self->settings, "max-load-events", gtk_builder_get_object (builder, "load_adj"),
                       "value", G_SETTINGS_BIND_DEFAULT);
      g_settings_bind_with_mapping (self->settings, "gpu-precision",
                                    gtk_builder_get_object (builder, "precision_dropdown"), "selected",
                                    G_SETTINGS_BIND_DEFAULT, precision_to_row, row_to_precision, NULL, NULL);
    }
  else
    gtk_widget_set_visible (GTK_WIDGET (gtk_builder_get_object (builder, "no_settings_label")), TRUE);
  gtk_window_present (win);
}

static const GActionEntry app_entries[] = {
  { "quit", action_quit },
  { "about", action_about },
  { "preferences", action_preferences },
};

static void
pf_application_startup (GApplication *app)
{
  PfApplication *self = PF_APPLICATION (app);
  static const struct { const char *action; const char *accels[3]; } accels[] = {
    { "app.quit", { "<Control>q", NULL } },
    { "app.preferences", { "<Control>comma", NULL } },
    { "win.open-dataset", { "<Control>o", NULL } },
    { "win.save-dataset", { "<Control>s", NULL } },
    { "win.import-tiff", { "<Control>i", NULL } },
    { "win.open-checkpoint", { "<Control><Shift>o", NULL } },
    { "win.save-checkpoint", { "<Control><Shift>s", NULL } },
    { "win.export-figure(5)", { "<Control>e", NULL } },
    { "win.export-metrics", { "<Control><Shift>e", NULL } },
    { "win.next-event", { "Page_Down", "<Alt>Right", NULL } },
    { "win.prev-event", { "Page_Up", "<Alt>Left", NULL } },
    { "win.jump-event", { "<Control>j", NULL } },
    { "win.slideshow", { "F5", NULL } },
    { "win.train-start", { "<Control>t", NULL } },
    { "win.train-pause", { "<Control>p", NULL } },
    { "win.train-stop", { "<Control><Shift>t", NULL } },
    { "win.dismiss-banner", { "Escape", NULL } },
  };

  G_APPLICATION_CLASS (pf_application_parent_class)->startup (app);
  g_action_map_add_action_entries (G_ACTION_MAP (app), app_entries, G_N_ELEMENTS (app_entries), app);
  for (guint i = 0; i < G_N_ELEMENTS (accels); i++)
    gtk_application_set_accels_for_action (GTK_APPLICATION (app), accels[i].action, accels[i].accels);

  GtkCssProvider *css = gtk_css_provider_new ();
  gtk_css_provider_load_from_resource (css, "/org/pflow/Workbench/style.css");
  gtk_style_context_add_provider_for_display (gdk_display_get_default (), GTK_STYLE_PROVIDER (css),
                                              GTK_STYLE_PROVIDER_PRIORITY_APPLICATION);
  g_object_unref (css);
  gtk_window_set_default_icon_name (APP_ID);

  GSettingsSchemaSource *source = g_settings_schema_source_get_default ();
  g_autoptr (GSettingsSchema) schema = source ? g_settings_schema_source_lookup (source, APP_ID, TRUE) : NULL;
  if (schema)
    self->settings = g_settings_new (APP_ID);
  else
    g_message (_("GSettings schema %s is not installed: preferences will not be kept"), APP_ID);
}

static void
pf_application_activate (GApplication *app)
{
  PfApplication *self = PF_APPLICATION (app);
  GtkWindow *win = gtk_application_get_active_window (GTK_APPLICATION (app));
  if (!win)
    {
      PfWindow *w = pf_window_new (GTK_APPLICATION (app), self->settings, self->n_events);
      if (self->screenshot)
        pf_window_set_screenshot (w, self->screenshot, self->train_steps);
      if (self->measure_seconds > 0)
        pf_window_set_measure_frames (w, self->measure_seconds);
      if (self->show_jets)
        pf_window_set_show_jets (w, TRUE);
      if (self->event > 0)
        pf_window_set_event (w, self->event - 1);
      if (self->checkpoint)
        {
          g_autoptr (GFile) file = g_file_new_for_path (self->checkpoint);
          pf_window_open_checkpoint (w, file);
        }
      win = GTK_WINDOW (w);
    }
  gtk_window_present (win);
}

static void
pf_application_open (GApplication *app, GFile **files, int n_files, const char *hint)
{
  pf_application_activate (app);
  GtkWindow *win = gtk_application_get_active_window (GTK_APPLICATION (app));
  if (n_files > 0 && PF_IS_WINDOW (win))
    pf_window_open_dataset (PF_WINDOW (win), files[0]);
}

static int
pf_application_handle_local_options (GApplication *app, GVariantDict *options)
{
  PfApplication *self = PF_APPLICATION (app);
  const char *shot = NULL, *ckpt = NULL, *event = NULL;

  if (g_variant_dict_lookup (options, "version", "b", NULL))
    {
      g_print ("pflow-workbench %s\n", PF_VERSION);
      return 0;
    }
  if (g_variant_dict_lookup (options, "screenshot", "^&ay", &shot))
    self->screenshot = g_strdup (shot);
  g_variant_dict_lookup (options, "train-steps", "i", &self->train_steps);
  g_variant_dict_lookup (options, "events", "i", &self->n_events);
  g_variant_dict_lookup (options, "measure-frames", "d", &self->measure_seconds);
  if (self->train_steps < 0 || self->n_events < 0 || self->measure_seconds < 0)
    {
      g_printerr ("pflow-workbench: %s\n", _("--train-steps, --events and --measure-frames take non-negative values"));
      return 2;
    }
  /* a string: GApplication does not pass an integer option given as 0 at all */
  if (g_variant_dict_lookup (options, "event", "&s", &event)
      && !g_ascii_string_to_signed (event, 10, 1, G_MAXINT64, &self->event, NULL))
    {
      g_autofree char *msg = g_strdup_printf (_("--event takes an event number from 1 (the first event), not “%s”"),
                                              event);
      g_printerr ("pflow-workbench: %s\n", msg);
      return 2;
    }
  /* absolute: the working directory of the process that opens it may not be ours */
  if (g_variant_dict_lookup (options, "checkpoint", "^&ay", &ckpt))
    self->checkpoint = g_canonicalize_filename (ckpt, NULL);
  self->show_jets = g_variant_dict_contains (options, "show-jets");
  /* The non-interactive modes run in their own process, never in an instance already open; so
   * do the options that describe the window to open (another instance would not see them). */
  if (self->screenshot || self->measure_seconds > 0 || self->checkpoint || self->event > 0
      || self->show_jets)
    g_application_set_flags (app, g_application_get_flags (app) | G_APPLICATION_NON_UNIQUE);
  return -1;
}

/* The main loop has ended, but the windows (and their training threads) may outlive it:
 * stop and join those threads before exit runs the libraries' destructors under them. */
static void
pf_application_shutdown (GApplication *app)
{
  for (GList *l = gtk_application_get_windows (GTK_APPLICATION (app)); l; l = l->next)
    if (PF_IS_WINDOW (l->data))
      pf_window_shutdown (PF_WINDOW (l->data));
  G_APPLICATION_CLASS (pf_application_parent_class)->shutdown (app);
}

static void
pf_application_dispose (GObject *object)
{
  PfApplication *self = PF_APPLICATION (object);
  g_clear_object (&self->settings);
  g_clear_pointer (&self->screenshot, g_free);
  g_clear_pointer (&self->checkpoint, g_free);
  G_OBJECT_CLASS (pf_application_parent_class)->dispose (object);
}

static void
pf_application_class_init (PfApplicationClass *klass)
{
  GApplicationClass *app_class = G_APPLICATION_CLASS (klass);

  G_OBJECT_CLASS (klass)->dispose = pf_application_dispose;
  app_class->startup = pf_application_startup;
  app_class->shutdown = pf_application_shutdown;
  app_class->activate = pf_application_activate;
  app_class->open = pf_application_open;
  app_class->handle_local_options = pf_application_handle_local_options;
}

static void
pf_application_init (PfApplication *self)
{
  const GOptionEntry entries[] = {
    { "screenshot", 0, 0, G_OPTION_ARG_FILENAME, NULL,
      N_("Write a PNG of the window once it has drawn, then quit"), N_("FILE") },
    { "train-steps", 0, 0, G_OPTION_ARG_INT, NULL,
      N_("With --screenshot: train this many batches first"), N_("N") },
    { "events", 0, 0, G_OPTION_ARG_INT, NULL, N_("Number of events to simulate"), N_("N") },
    { "checkpoint", 0, 0, G_OPTION_ARG_FILENAME, NULL,
      N_("Open this checkpoint and show its predictions (as File ▸ Open Checkpoint)"), N_("FILE") },
    { "event", 0, 0, G_OPTION_ARG_STRING, NULL, N_("Start at this event (1 is the first)"), N_("N") },
    { "show-jets", 0, 0, G_OPTION_ARG_NONE, NULL, N_("Start with the jet circles shown"), NULL },
    { "measure-frames", 0, 0, G_OPTION_ARG_DOUBLE, NULL,
      N_("Train for this many seconds, print frame-time percentiles and quit"), N_("SECONDS") },
    { "version", 0, 0, G_OPTION_ARG_NONE, NULL, N_("Print the version and quit"), NULL },
    { NULL },
  };
  g_application_add_main_option_entries (G_APPLICATION (self), entries);
  g_application_set_option_context_parameter_string (G_APPLICATION (self), _("[DATASET]"));
  g_application_set_option_context_summary (G_APPLICATION (self),
                                            _("The pflow workbench: simulate calorimeter events, train "
                                              "networks and inspect their reconstructions."));
}

PfApplication *
pf_application_new (void)
{
  return g_object_new (PF_TYPE_APPLICATION, "application-id", APP_ID,
                       "flags", G_APPLICATION_HANDLES_OPEN, NULL);
}
