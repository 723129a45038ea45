/* pflow-cli-util.c — helpers of the CLI: terminal progress bar, Ctrl-C handling, errors, paths. */
#include "pflow-cli.h"
#include "pf-error.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

volatile gint pflow_cancel_flag = 0;

static void
on_signal (int sig)
{
  if (g_atomic_int_get (&pflow_cancel_flag))
    {
      /* Second signal: the user insists. Default action, no cleanup. */
      signal (sig, SIG_DFL);
      raise (sig);
      return;
    }
  g_atomic_int_set (&pflow_cancel_flag, 1);
}

void
pflow_install_signal_handlers (void)
{
  struct sigaction sa = { 0 };
  sa.sa_handler = on_signal;
  sigemptyset (&sa.sa_mask);
  sigaction (SIGINT, &sa, NULL);
  sigaction (SIGTERM, &sa, NULL);
}

struct PflowProgress {
  char *label;
  gint64 total;
  gboolean show;
  gint64 t0;
  gint64 last_draw;
};

PflowProgress *
pflow_progress_new (const char *label, gint64 total, gboolean quiet)
{
  PflowProgress *p = g_new0 (PflowProgress, 1);
  p->label = g_strdup (label);
  p->total = total;
  p->show = !quiet && isatty (STDERR_FILENO);
  p->t0 = g_get_monotonic_time ();
  return p;
}

void
pflow_progress_update (PflowProgress *p, gint64 done)
{
  if (!p->show)
    return;
  gint64 now = g_get_monotonic_time ();
  if (done < p->total && now - p->last_draw < 100000)
    return; /* redraw at most 10 times a second */
  p->last_draw = now;
  const int width = 30;
  double frac = p->total > 0 ? (double) done / p->total : 1.0;
  int fill = (int) (frac * width);
  double secs = (now - p->t0) / 1e6;
  char bar[64];
  for (int i = 0; i < width; i++)
    bar[i] = i < fill ? '#' : '.';
  bar[width] = 0;
  fprintf (stderr, "\r%s [%s] %3.0f%% %" G_GINT64_FORMAT "/%" G_GINT64_FORMAT " %.0f/s ",
           p->label, bar, 100 * frac, done, p->total, secs > 0 ? done / secs : 0.0);
  fflush (stderr);
}

void
pflow_progress_finish (PflowProgress *p)
{
  if (p->show)
    fputc ('\n', stderr);
  g_free (p->label);
  g_free (p);
}

int
pflow_fail (const char *cmd, GError *error)
{
  gboolean cancelled = g_error_matches (error, PF_ERROR, PF_ERROR_CANCELLED);
  fprintf (stderr, "pflow %s: %s\n", cmd, error->message);
  g_error_free (error);
  return cancelled ? 130 : 1;
}

gboolean
pflow_parse_options (GOptionContext *ctx, int *argc, char ***argv, const char *cmd)
{
  GError *error = NULL;
  if (!g_option_context_parse (ctx, argc, argv, &error))
    {
      fprintf (stderr, "pflow %s: %s\nTry 'pflow %s --help'.\n", cmd, error->message, cmd);
      g_error_free (error);
      return FALSE;
    }
  return TRUE;
}

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

double
pflow_median (double *v, int n)
{
  qsort (v, n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

char *
pflow_source_path (const char *rel)
{
  const char *src = g_getenv ("PFLOW_SOURCE_DIR");
  return g_build_filename (src ? src : PF_SOURCE_DIR, rel, NULL);
}

char *
pflow_thousands (size_t n)
{
  char *digits = g_strdup_printf ("%zu", n);
  GString *s = g_string_new (NULL);
  size_t len = strlen (digits);
  for (size_t i = 0; i < len; i++)
    {
      if (i > 0 && (len - i) % 3 == 0)
        g_string_append_c (s, ',');
      g_string_append_c (s, digits[i]);
    }
  g_free (digits);
  return g_string_free (s, FALSE);
}
