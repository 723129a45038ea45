/* pflow-cli.h — the `pflow` command line: one file per command, shared helpers here. */
#pragma once
#include <glib.h>
#include <signal.h>
#include "pf-sim.h"

/* Each command parses its own options from argv (argv[0] is the command name) and returns the
 * process exit status: 0 on success, 1 on error (message already printed), 2 on bad usage,
 * 130 when interrupted. */
int pflow_cmd_simulate (int argc, char **argv);
int pflow_cmd_info (int argc, char **argv);
int pflow_cmd_import_tiff (int argc, char **argv);
int pflow_cmd_bench (int argc, char **argv);
int pflow_cmd_bench_train (int argc, char **argv);
int pflow_cmd_eval (int argc, char **argv);
int pflow_cmd_models (int argc, char **argv);
int pflow_cmd_devices (int argc, char **argv);
int pflow_cmd_ablate (int argc, char **argv);

/* Simulates events [0, n_events) of `p` into the dataset `path` (temporary file renamed into
 * place when complete; nothing left behind on error or Ctrl-C). compression: deflate level. */
gboolean pflow_simulate_to_file (const PfSimParams *p, gint64 n_events, const char *path,
                                 int threads, int compression, gboolean quiet, GError **error);

/* Ctrl-C: the first SIGINT/SIGTERM sets the flag that long work polls, so it can stop cleanly
 * (temporary files removed, nothing half-written under a final name); a second one kills. */
extern volatile gint pflow_cancel_flag;
void pflow_install_signal_handlers (void);

/* Progress on a terminal (stderr is a tty and --quiet not given); silent otherwise. */
typedef struct PflowProgress PflowProgress;
PflowProgress *pflow_progress_new (const char *label, gint64 total, gboolean quiet);
void pflow_progress_update (PflowProgress *p, gint64 done);
void pflow_progress_finish (PflowProgress *p); /* frees p */

/* Prints "pflow CMD: MESSAGE" to stderr and returns 1 (or 130 when error is a cancellation). */
int pflow_fail (const char *cmd, GError *error);
/* Parses options; on error prints the message and the usage hint, returns FALSE. */
gboolean pflow_parse_options (GOptionContext *ctx, int *argc, char ***argv, const char *cmd);

/* Median of v[0..n) (sorts v). */
double pflow_median (double *v, int n);

/* 1234567 -> "1,234,567" (newly allocated) */
char *pflow_thousands (size_t n);
/* A file of the source tree (tests/ref scripts): $PFLOW_SOURCE_DIR, else the tree this binary
 * was built from. */
char *pflow_source_path (const char *rel);
