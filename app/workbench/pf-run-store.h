/* pf-run-store.h — every training run of the workbench, kept in a JSON file (GLib/GIO only).
 *
 * A PfRun holds the run's settings, its per-epoch log (the curves), its final metrics when it was
 * evaluated and the folder of its checkpoints; its properties are what a run table sorts by.
 * PfRunStore is a GListModel of PfRun, loaded from and saved to
 * g_get_user_data_dir()/pflow/runs.json (another path for tests), written atomically
 * (g_file_set_contents). The file is untrusted on reading: wrong types are errors, and a run
 * without an id or model is rejected with the file name and the run's index.
 *
 * File layout (version 1):
 *   { "version": 1, "runs": [ { "id", "date" (Unix seconds, UTC), "state", "model", "scale",
 *     "loss", "lambda", "batch", "lr", "epochs_planned", "seed", "dataset", "checkpoint",
 *     "best_epoch", "best_val_loss" (null when none), "log_columns" (pf_train_log_columns),
 *     "log" ([[13 numbers, null for NaN] per epoch]), "metrics" ({name: number}) } ] } */
#pragma once
#include <gio/gio.h>
#include "pf-trainer.h"

G_BEGIN_DECLS

#define PF_TYPE_RUN (pf_run_get_type ())
G_DECLARE_FINAL_TYPE (PfRun, pf_run, PF, RUN, GObject)

/* A new run from the settings it starts with (resolved ones, or the caller's): id from the
 * local date, model and scale ("20250131-142501-cnn-s1"; "20250131-142501-lstm" for the earlier
 * models, which have no scales), date now, state "running". Files written before kept their ids
 * ("...-lstm-s0"): an id is only a name. */
PfRun *pf_run_new (const PfTrainOptions *o);

/* Properties (read-only ones have only getters):
 *   "id", "date" (gint64, Unix s), "state" ("running", "finished", "stopped", "failed"),
 *   "model", "scale", "loss", "lambda", "batch", "lr", "epochs" (completed: log rows),
 *   "epochs-planned", "dataset", "checkpoint" (the output folder), "best-val-loss" (+inf when
 *   none), "best-epoch". */
const char *pf_run_get_id (PfRun *r);
gint64 pf_run_get_date (PfRun *r);
const char *pf_run_get_state (PfRun *r);
const char *pf_run_get_model (PfRun *r);
int pf_run_get_scale (PfRun *r);
/* FALSE for the earlier models (lstm, unet, ...: PfModelInfo.max_scale 0), whose scale is 0 and
 * means nothing; for a model this build does not know, whether the scale is > 0. */
gboolean pf_run_has_scale (PfRun *r);
const char *pf_run_get_loss (PfRun *r);
double pf_run_get_lambda (PfRun *r);
int pf_run_get_epochs (PfRun *r);
const char *pf_run_get_dataset (PfRun *r);
const char *pf_run_get_checkpoint (PfRun *r);
double pf_run_get_best_val_loss (PfRun *r);
int pf_run_get_best_epoch (PfRun *r);

void pf_run_set_state (PfRun *r, const char *state);
void pf_run_set_lambda (PfRun *r, double lambda);
/* Settings resolved by the trainer (batch, lr...): the "started" signal's options. */
void pf_run_set_options (PfRun *r, const PfTrainOptions *resolved);
/* Appends an epoch row; best-val-loss and best-epoch follow the rows flagged best. */
void pf_run_append_epoch (PfRun *r, const PfTrainLogRow *row);
/* The per-epoch rows (PfTrainLogRow). */
GArray *pf_run_get_log (PfRun *r);

/* Final metrics (e.g. "wmse", "rel_residual_2_5"). NAN when absent. */
void pf_run_set_metric (PfRun *r, const char *name, double value);
double pf_run_get_metric (PfRun *r, const char *name);
/* Sorted metric names, NULL-terminated (g_strfreev). */
char **pf_run_list_metrics (PfRun *r);

#define PF_TYPE_RUN_STORE (pf_run_store_get_type ())
G_DECLARE_FINAL_TYPE (PfRunStore, pf_run_store, PF, RUN_STORE, GObject)

/* path NULL: g_get_user_data_dir()/pflow/runs.json. Nothing is read until pf_run_store_load. */
PfRunStore *pf_run_store_new (const char *path);
const char *pf_run_store_get_path (PfRunStore *s);

/* Replaces the list with the file's runs; a missing file is an empty list (TRUE). On error the
 * list is unchanged. */
gboolean pf_run_store_load (PfRunStore *s, GError **error);
/* Writes every run atomically, creating the folder if needed. */
gboolean pf_run_store_save (PfRunStore *s, GError **error);

/* Appends a run (its id made unique by a suffix when taken). */
void pf_run_store_add (PfRunStore *s, PfRun *run);
gboolean pf_run_store_remove (PfRunStore *s, const char *id);
/* The run with this id, or NULL (transfer none). */
PfRun *pf_run_store_find (PfRunStore *s, const char *id, guint *position);
/* Tells the list's observers that a run changed (items-changed), so sorted views re-sort. */
void pf_run_store_changed (PfRunStore *s, PfRun *run);

/* Serialisation, exposed for tests: the whole file as a string, and back. */
char *pf_run_store_to_json (PfRunStore *s);
gboolean pf_run_store_load_from_data (PfRunStore *s, const char *json, gssize length,
                                      GError **error);

G_END_DECLS
