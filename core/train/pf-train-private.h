/* pf-train-private.h — helpers shared inside core/train (not public API). */
#pragma once
#include <glib.h>
#include <hdf5.h>
#include "pf-graph.h"
#include "pf-backend.h"

G_BEGIN_DECLS

/* The memory functions of the device a planned graph runs on (its nodes' backends say which). */
const PfMemory *_pf_train_graph_memory (PfGraph *g);

/* A new temporary ".BASE.tmp-XXXXXX" beside `path` (created empty, so the name is ours), or NULL
 * with an error naming `path`. */
char *_pf_train_tmp_beside (const char *path, GError **error);
/* fsync()s tmp and renames it onto path; on failure removes tmp. */
gboolean _pf_train_commit (const char *tmp, const char *path, GError **error);

/* Scalar root attributes; a name written twice replaces the first. */
gboolean _pf_train_attr_int (hid_t loc, const char *name, int64_t v);
gboolean _pf_train_attr_double (hid_t loc, const char *name, double v);
gboolean _pf_train_attr_bool (hid_t loc, const char *name, gboolean v);
gboolean _pf_train_attr_string (hid_t loc, const char *name, const char *v);
/* Reading: FALSE when absent, not scalar or not convertible. */
gboolean _pf_train_attr_read_int (hid_t loc, const char *name, int64_t *v);
gboolean _pf_train_attr_read_double (hid_t loc, const char *name, double *v);

G_END_DECLS
