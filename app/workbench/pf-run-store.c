/* pf-run-store.c — the run history: PfRun objects in a GListModel, saved as JSON (pf-json.h). */
#include "pf-run-store.h"
#include "pf-error.h"
#include "pf-json.h"
#include "pf-model.h"
#include "pf-train-log.h"
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <errno.h>
#include <math.h>
#include <string.h>

/* ---- PfRun ---- */

struct _PfRun
{
  GObject parent_instance;
  char *id, *state, *model, *loss, *dataset, *checkpoint;
  gint64 date;
  int scale, batch, epochs_planned, best_epoch;
  double lambda, lr, best_val_loss;
  guint64 seed;
  GArray *log;           /* PfTrainLogRow */
  GHashTable *metrics;   /* char* -> double* */
};

G_DEFINE_FINAL_TYPE (PfRun, pf_run, G_TYPE_OBJECT)

enum {
  RUN_PROP_0, RUN_PROP_ID, RUN_PROP_DATE, RUN_PROP_STATE, RUN_PROP_MODEL, RUN_PROP_SCALE,
  RUN_PROP_LOSS, RUN_PROP_LAMBDA, RUN_PROP_BATCH, RUN_PROP_LR, RUN_PROP_EPOCHS,
  RUN_PROP_EPOCHS_PLANNED, RUN_PROP_DATASET, RUN_PROP_CHECKPOINT, RUN_PROP_BEST_VAL_LOSS,
  RUN_PROP_BEST_EPOCH, RUN_N_PROPS
};
static GParamSpec *run_props[RUN_N_PROPS];

static void
pf_run_get_property (GObject *object, guint id, GValue *value, GParamSpec *pspec)
{
  PfRun *r = PF_RUN (object);
  switch (id)
    {
    case RUN_PROP_ID: g_value_set_string (value, r->id); break;
    case RUN_PROP_DATE: g_value_set_int64 (value, r->date); break;
    case RUN_PROP_STATE: g_value_set_string (value, r->state); break;
    case RUN_PROP_MODEL: g_value_set_string (value, r->model); break;
    case RUN_PROP_SCALE: g_value_set_int (value, r->scale); break;
    case RUN_PROP_LOSS: g_value_set_string (value, r->loss); break;
    case RUN_PROP_LAMBDA: g_value_set_double (value, r->lambda); break;
    case RUN_PROP_BATCH: g_value_set_int (value, r->batch); break;
    case RUN_PROP_LR: g_value_set_double (value, r->lr); break;
    case RUN_PROP_EPOCHS: g_value_set_int (value, (int) r->log->len); break;
    case RUN_PROP_EPOCHS_PLANNED: g_value_set_int (value, r->epochs_planned); break;
    case RUN_PROP_DATASET: g_value_set_string (value, r->dataset); break;
    case RUN_PROP_CHECKPOINT: g_value_set_string (value, r->checkpoint); break;
    case RUN_PROP_BEST_VAL_LOSS: g_value_set_double (value, r->best_val_loss); break;
    case RUN_PROP_BEST_EPOCH: g_value_set_int (value, r->best_epoch); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, id, pspec);
    }
}

static void
pf_run_finalize (GObject *object)
{
  PfRun *r = PF_RUN (object);
  g_free (r->id);
  g_free (r->state);
  g_free (r->model);
  g_free (r->loss);
  g_free (r->dataset);
  g_free (r->checkpoint);
  g_array_unref (r->log);
  g_hash_table_unref (r->metrics);
  G_OBJECT_CLASS (pf_run_parent_class)->finalize (object);
}

static void
pf_run_class_init (PfRunClass *klass)
{
  GObjectClass *oc = G_OBJECT_CLASS (klass);
  oc->get_property = pf_run_get_property;
  oc->finalize = pf_run_finalize;
  const GParamFlags f = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY;
  run_props[RUN_PROP_ID] = g_param_spec_string ("id", NULL, NULL, NULL, f);
  run_props[RUN_PROP_DATE] = g_param_spec_int64 ("date", NULL, NULL, 0, G_MAXINT64, 0, f);
  run_props[RUN_PROP_STATE] = g_param_spec_string ("state", NULL, NULL, NULL, f);
  run_props[RUN_PROP_MODEL] = g_param_spec_string ("model", NULL, NULL, NULL, f);
  run_props[RUN_PROP_SCALE] = g_param_spec_int ("scale", NULL, NULL, 0, G_MAXINT, 0, f);
  run_props[RUN_PROP_LOSS] = g_param_spec_string ("loss", NULL, NULL, NULL, f);
  run_props[RUN_PROP_LAMBDA] = g_param_spec_double ("lambda", NULL, NULL, 0, G_MAXDOUBLE, 0, f);
  run_props[RUN_PROP_BATCH] = g_param_spec_int ("batch", NULL, NULL, 0, G_MAXINT, 0, f);
  run_props[RUN_PROP_LR] = g_param_spec_double ("lr", NULL, NULL, 0, G_MAXDOUBLE, 0, f);
  run_props[RUN_PROP_EPOCHS] = g_param_spec_int ("epochs", NULL, NULL, 0, G_MAXINT, 0, f);
  run_props[RUN_PROP_EPOCHS_PLANNED] = g_param_spec_int ("epochs-planned", NULL, NULL, 0,
                                                         G_MAXINT, 0, f);
  run_props[RUN_PROP_DATASET] = g_param_spec_string ("dataset", NULL, NULL, NULL, f);
  run_props[RUN_PROP_CHECKPOINT] = g_param_spec_string ("checkpoint", NULL, NULL, NULL, f);
  run_props[RUN_PROP_BEST_VAL_LOSS] = g_param_spec_double ("best-val-loss", NULL, NULL,
                                                           -G_MAXDOUBLE, G_MAXDOUBLE, 0, f);
  run_props[RUN_PROP_BEST_EPOCH] = g_param_spec_int ("best-epoch", NULL, NULL, 0, G_MAXINT, 0, f);
  g_object_class_install_properties (oc, RUN_N_PROPS, run_props);
}

static void
pf_run_init (PfRun *r)
{
  r->log = g_array_new (FALSE, TRUE, sizeof (PfTrainLogRow));
  r->metrics = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  r->best_val_loss = INFINITY;
  r->state = g_strdup ("running");
}

static void
set_str (char **field, const char *v)
{
  char *old = *field;
  *field = g_strdup (v ? v : "");
  g_free (old);
}

void
pf_run_set_options (PfRun *r, const PfTrainOptions *o)
{
  set_str (&r->model, o->model ? o->model : "cnn");
  set_str (&r->loss, o->loss ? o->loss : "mix");
  set_str (&r->dataset, o->data_path);
  set_str (&r->checkpoint, o->out_dir);
  r->scale = o->scale;
  r->lambda = o->lambda;
  r->batch = o->batch;
  r->lr = o->lr;
  r->epochs_planned = o->epochs;
  r->seed = o->seed;
  for (int p = RUN_PROP_MODEL; p <= RUN_PROP_CHECKPOINT; p++)
    if (p != RUN_PROP_EPOCHS)
      g_object_notify_by_pspec (G_OBJECT (r), run_props[p]);
}

PfRun *
pf_run_new (const PfTrainOptions *o)
{
  PfRun *r = g_object_new (PF_TYPE_RUN, NULL);
  GDateTime *now = g_date_time_new_now_local ();
  r->date = g_date_time_to_unix (now);
  char *stamp = g_date_time_format (now, "%Y%m%d-%H%M%S");
  g_date_time_unref (now);
  pf_run_set_options (r, o);
  /* the earlier models have no scales: "...-lstm", not "...-lstm-s0" */
  g_autofree char *label = pf_model_label (r->model, pf_run_has_scale (r) ? r->scale : 0);
  r->id = g_strdup_printf ("%s-%s", stamp, label);
  g_free (stamp);
  return r;
}

gboolean
pf_run_has_scale (PfRun *r)
{
  const PfModelInfo *info = pf_model_find (r->model);
  return info ? info->max_scale > 0 : r->scale > 0;
}

const char *pf_run_get_id (PfRun *r) { return r->id; }
gint64 pf_run_get_date (PfRun *r) { return r->date; }
const char *pf_run_get_state (PfRun *r) { return r->state; }
const char *pf_run_get_model (PfRun *r) { return r->model; }
int pf_run_get_scale (PfRun *r) { return r->scale; }
const char *pf_run_get_loss (PfRun *r) { return r->loss; }
double pf_run_get_lambda (PfRun *r) { return r->lambda; }
int pf_run_get_epochs (PfRun *r) { return (int) r->log->len; }
const char *pf_run_get_dataset (PfRun *r) { return r->dataset; }
const char *pf_run_get_checkpoint (PfRun *r) { return r->checkpoint; }
double pf_run_get_best_val_loss (PfRun *r) { return r->best_val_loss; }
int pf_run_get_best_epoch (PfRun *r) { return r->best_epoch; }
GArray *pf_run_get_log (PfRun *r) { return r->log; }

void
pf_run_set_state (PfRun *r, const char *state)
{
  g_return_if_fail (PF_IS_RUN (r) && state);
  set_str (&r->state, state);
  g_object_notify_by_pspec (G_OBJECT (r), run_props[RUN_PROP_STATE]);
}

void
pf_run_set_lambda (PfRun *r, double lambda)
{
  r->lambda = lambda;
  g_object_notify_by_pspec (G_OBJECT (r), run_props[RUN_PROP_LAMBDA]);
}

void
pf_run_append_epoch (PfRun *r, const PfTrainLogRow *row)
{
  g_array_append_val (r->log, *row);
  g_object_notify_by_pspec (G_OBJECT (r), run_props[RUN_PROP_EPOCHS]);
  if (row->best || row->val_loss < r->best_val_loss)
    {
      r->best_val_loss = row->val_loss;
      r->best_epoch = row->epoch;
      g_object_notify_by_pspec (G_OBJECT (r), run_props[RUN_PROP_BEST_VAL_LOSS]);
      g_object_notify_by_pspec (G_OBJECT (r), run_props[RUN_PROP_BEST_EPOCH]);
    }
}

void
pf_run_set_metric (PfRun *r, const char *name, double value)
{
  g_hash_table_replace (r->metrics, g_strdup (name), g_memdup2 (&value, sizeof value));
}

double
pf_run_get_metric (PfRun *r, const char *name)
{
  const double *v = g_hash_table_lookup (r->metrics, name);
  return v ? *v : NAN;
}

static gint
compare_names (gconstpointer a, gconstpointer b, gpointer data)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

char **
pf_run_list_metrics (PfRun *r)
{
  guint n = 0;
  const char **keys = (const char **) g_hash_table_get_keys_as_array (r->metrics, &n);
  char **out = g_new0 (char *, n + 1);
  for (guint i = 0; i < n; i++)
    out[i] = g_strdup (keys[i]);
  g_free (keys);
  g_qsort_with_data (out, n, sizeof (char *), compare_names, NULL);
  return out;
}

static void
run_to_json (PfRun *r, GString *s)
{
  g_string_append (s, "    {\n      \"id\": ");
  pf_json_append_string (s, r->id);
  g_string_append_printf (s, ",\n      \"date\": %" G_GINT64_FORMAT ",\n      \"state\": ", r->date);
  pf_json_append_string (s, r->state);
  g_string_append (s, ",\n      \"model\": ");
  pf_json_append_string (s, r->model);
  g_string_append_printf (s, ",\n      \"scale\": %d,\n      \"loss\": ", r->scale);
  pf_json_append_string (s, r->loss);
  g_string_append (s, ",\n      \"lambda\": ");
  pf_json_append_number (s, r->lambda);
  g_string_append_printf (s, ",\n      \"batch\": %d,\n      \"lr\": ", r->batch);
  pf_json_append_number (s, r->lr);
  g_string_append_printf (s, ",\n      \"epochs_planned\": %d,\n      \"seed\": \"%" G_GUINT64_FORMAT
                          "\",\n      \"dataset\": ", r->epochs_planned, r->seed);
  pf_json_append_string (s, r->dataset);
  g_string_append (s, ",\n      \"checkpoint\": ");
  pf_json_append_string (s, r->checkpoint);
  g_string_append_printf (s, ",\n      \"best_epoch\": %d,\n      \"best_val_loss\": ", r->best_epoch);
  pf_json_append_number (s, r->best_val_loss);
  g_string_append (s, ",\n      \"log_columns\": ");
  pf_json_append_string (s, pf_train_log_columns);
  g_string_append (s, ",\n      \"log\": [");
  for (guint i = 0; i < r->log->len; i++)
    {
      double v[PF_TRAIN_LOG_COLS];
      pf_train_log_row_to_doubles (&g_array_index (r->log, PfTrainLogRow, i), v);
      g_string_append (s, i ? ",\n        [" : "\n        [");
      for (int c = 0; c < PF_TRAIN_LOG_COLS; c++)
        {
          if (c)
            g_string_append (s, ", ");
          pf_json_append_number (s, v[c]);
        }
      g_string_append_c (s, ']');
    }
  g_string_append (s, r->log->len ? "\n      ],\n      \"metrics\": {" : "],\n      \"metrics\": {");
  char **names = pf_run_list_metrics (r);
  for (int i = 0; names[i]; i++)
    {
      g_string_append (s, i ? ", " : "");
      pf_json_append_string (s, names[i]);
      g_string_append (s, ": ");
      pf_json_append_number (s, pf_run_get_metric (r, names[i]));
    }
  g_strfreev (names);
  g_string_append (s, "}\n    }");
}

/* ---- reading a run ---- */

typedef struct {
  GVariant *obj;
  const char *what;
  guint index;
  GError **error;
} Fields;

/* The member `key` if present with the type, NULL when absent or null; a wrong type is an
 * error (*bad set). */
static GVariant *
member (Fields *f, const char *key, const GVariantType *type, gboolean *bad)
{
  GVariant *v = g_variant_lookup_value (f->obj, key, NULL);
  if (!v || g_variant_is_of_type (v, G_VARIANT_TYPE_MAYBE))
    {
      if (v)
        g_variant_unref (v);
      return NULL;
    }
  if (!g_variant_is_of_type (v, type))
    {
      if (!*bad)
        g_set_error (f->error, PF_ERROR, PF_ERROR_FORMAT,
                     _("%s: run %u: \"%s\" has the wrong type"), f->what, f->index, key);
      *bad = TRUE;
      g_variant_unref (v);
      return NULL;
    }
  return v;
}

static char *
member_str (Fields *f, const char *key, gboolean *bad)
{
  GVariant *v = member (f, key, G_VARIANT_TYPE_STRING, bad);
  char *s = v ? g_variant_dup_string (v, NULL) : NULL;
  if (v)
    g_variant_unref (v);
  return s;
}

static double
member_num (Fields *f, const char *key, double dflt, gboolean *bad)
{
  GVariant *v = member (f, key, G_VARIANT_TYPE_DOUBLE, bad);
  double d = v ? g_variant_get_double (v) : dflt;
  if (v)
    g_variant_unref (v);
  return d;
}

static int
member_int (Fields *f, const char *key, gboolean *bad)
{
  double d = member_num (f, key, 0, bad);
  if (!(d >= 0 && d <= G_MAXINT && d == floor (d)))
    {
      if (!*bad)
        g_set_error (f->error, PF_ERROR, PF_ERROR_FORMAT,
                     _("%s: run %u: \"%s\" should be a whole number >= 0"), f->what, f->index, key);
      *bad = TRUE;
      return 0;
    }
  return (int) d;
}

static PfRun *
run_from_variant (GVariant *obj, const char *what, guint index, GError **error)
{
  if (!g_variant_is_of_type (obj, G_VARIANT_TYPE_VARDICT))
    {
      g_set_error (error, PF_ERROR, PF_ERROR_FORMAT, _("%s: run %u is not an object"), what, index);
      return NULL;
    }
  Fields f = { obj, what, index, error };
  gboolean bad = FALSE;
  PfRun *r = g_object_new (PF_TYPE_RUN, NULL);
  r->id = member_str (&f, "id", &bad);
  r->model = member_str (&f, "model", &bad);
  if (!bad && (!r->id || !*r->id || !r->model || !*r->model))
    {
      g_set_error (error, PF_ERROR, PF_ERROR_FORMAT, _("%s: run %u has no id or no model"), what, index);
      bad = TRUE;
    }
  char *state = member_str (&f, "state", &bad);
  if (state)
    {
      g_free (r->state);
      r->state = state;
    }
  r->loss = member_str (&f, "loss", &bad);
  r->dataset = member_str (&f, "dataset", &bad);
  r->checkpoint = member_str (&f, "checkpoint", &bad);
  double date = member_num (&f, "date", 0, &bad);
  r->date = date >= 0 && date < 1e15 ? (gint64) date : 0;
  r->scale = member_int (&f, "scale", &bad);
  r->batch = member_int (&f, "batch", &bad);
  r->epochs_planned = member_int (&f, "epochs_planned", &bad);
  r->best_epoch = member_int (&f, "best_epoch", &bad);
  r->lambda = member_num (&f, "lambda", NAN, &bad);
  r->lr = member_num (&f, "lr", NAN, &bad);
  r->best_val_loss = member_num (&f, "best_val_loss", INFINITY, &bad);
  char *seed = member_str (&f, "seed", &bad);
  if (seed && !g_ascii_string_to_unsigned (seed, 10, 0, G_MAXUINT64, &r->seed, NULL) && !bad)
    {
      g_set_error (error, PF_ERROR, PF_ERROR_FORMAT, _("%s: run %u: bad seed \"%s\""), what, index, seed);
      bad = TRUE;
    }
  g_free (seed);
  GVariant *log = member (&f, "log", G_VARIANT_TYPE ("av"), &bad);
  for (gsize i = 0; log && !bad && i < g_variant_n_children (log); i++)
    {
      GVariant *row = g_variant_get_child_value (log, i), *rv = g_variant_get_variant (row);
      double v[PF_TRAIN_LOG_COLS];
      gboolean ok = g_variant_is_of_type (rv, G_VARIANT_TYPE ("av"))
                    && g_variant_n_children (rv) == PF_TRAIN_LOG_COLS;
      for (int c = 0; ok && c < PF_TRAIN_LOG_COLS; c++)
        {
          GVariant *cell = g_variant_get_child_value (rv, c), *x = g_variant_get_variant (cell);
          if (g_variant_is_of_type (x, G_VARIANT_TYPE_DOUBLE))
            v[c] = g_variant_get_double (x);
          else if (g_variant_is_of_type (x, G_VARIANT_TYPE_MAYBE))
            v[c] = NAN;
          else
            ok = FALSE;
          g_variant_unref (x);
          g_variant_unref (cell);
        }
      if (ok)
        {
          PfTrainLogRow lr;
          pf_train_log_row_from_doubles (v, &lr);
          g_array_append_val (r->log, lr);
        }
      else
        {
          g_set_error (error, PF_ERROR, PF_ERROR_FORMAT,
                       _("%s: run %u: log row %zu should be %d numbers"), what, index, i,
                       PF_TRAIN_LOG_COLS);
          bad = TRUE;
        }
      g_variant_unref (rv);
      g_variant_unref (row);
    }
  if (log)
    g_variant_unref (log);
  GVariant *metrics = member (&f, "metrics", G_VARIANT_TYPE_VARDICT, &bad);
  if (metrics && !bad)
    {
      GVariantIter it;
      const char *name;
      GVariant *x;
      g_variant_iter_init (&it, metrics);
      while (g_variant_iter_next (&it, "{&sv}", &name, &x))
        {
          if (g_variant_is_of_type (x, G_VARIANT_TYPE_DOUBLE))
            pf_run_set_metric (r, name, g_variant_get_double (x));
          else if (g_variant_is_of_type (x, G_VARIANT_TYPE_MAYBE))
            pf_run_set_metric (r, name, NAN);
          else if (!bad)
            {
              g_set_error (error, PF_ERROR, PF_ERROR_FORMAT,
                           _("%s: run %u: metric \"%s\" is not a number"), what, index, name);
              bad = TRUE;
            }
          g_variant_unref (x);
        }
    }
  if (metrics)
    g_variant_unref (metrics);
  if (bad)
    {
      g_object_unref (r);
      return NULL;
    }
  if (!r->loss)
    r->loss = g_strdup ("");
  if (!r->dataset)
    r->dataset = g_strdup ("");
  if (!r->checkpoint)
    r->checkpoint = g_strdup ("");
  return r;
}

/* ---- PfRunStore ---- */

struct _PfRunStore
{
  GObject parent_instance;
  char *path;
  GPtrArray *runs; /* PfRun */
};

static void pf_run_store_list_init (GListModelInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (PfRunStore, pf_run_store, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_LIST_MODEL, pf_run_store_list_init))

static GType list_item_type (GListModel *m) { return PF_TYPE_RUN; }
static guint list_n_items (GListModel *m) { return PF_RUN_STORE (m)->runs->len; }

static gpointer
list_get_item (GListModel *m, guint i)
{
  PfRunStore *s = PF_RUN_STORE (m);
  return i < s->runs->len ? g_object_ref (g_ptr_array_index (s->runs, i)) : NULL;
}

static void
pf_run_store_list_init (GListModelInterface *iface)
{
  iface->get_item_type = list_item_type;
  iface->get_n_items = list_n_items;
  iface->get_item = list_get_item;
}

static void
pf_run_store_finalize (GObject *object)
{
  PfRunStore *s = PF_RUN_STORE (object);
  g_free (s->path);
  g_ptr_array_unref (s->runs);
  G_OBJECT_CLASS (pf_run_store_parent_class)->finalize (object);
}

static void
pf_run_store_class_init (PfRunStoreClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = pf_run_store_finalize;
}

static void
pf_run_store_init (PfRunStore *s)
{
  s->runs = g_ptr_array_new_with_free_func (g_object_unref);
}

PfRunStore *
pf_run_store_new (const char *path)
{
  PfRunStore *s = g_object_new (PF_TYPE_RUN_STORE, NULL);
  s->path = path ? g_strdup (path)
                 : g_build_filename (g_get_user_data_dir (), "pflow", "runs.json", NULL);
  return s;
}

const char *pf_run_store_get_path (PfRunStore *s) { return s->path; }

PfRun *
pf_run_store_find (PfRunStore *s, const char *id, guint *position)
{
  for (guint i = 0; i < s->runs->len; i++)
    {
      PfRun *r = g_ptr_array_index (s->runs, i);
      if (g_strcmp0 (r->id, id) == 0)
        {
          if (position)
            *position = i;
          return r;
        }
    }
  return NULL;
}

void
pf_run_store_add (PfRunStore *s, PfRun *run)
{
  g_return_if_fail (PF_IS_RUN_STORE (s) && PF_IS_RUN (run));
  if (pf_run_store_find (s, run->id, NULL))
    {
      char *base = g_strdup (run->id);
      for (int k = 2; pf_run_store_find (s, run->id, NULL); k++)
        {
          g_free (run->id);
          run->id = g_strdup_printf ("%s-%d", base, k);
        }
      g_free (base);
      g_object_notify_by_pspec (G_OBJECT (run), run_props[RUN_PROP_ID]);
    }
  g_ptr_array_add (s->runs, g_object_ref (run));
  g_list_model_items_changed (G_LIST_MODEL (s), s->runs->len - 1, 0, 1);
}

gboolean
pf_run_store_remove (PfRunStore *s, const char *id)
{
  guint pos;
  if (!pf_run_store_find (s, id, &pos))
    return FALSE;
  g_ptr_array_remove_index (s->runs, pos);
  g_list_model_items_changed (G_LIST_MODEL (s), pos, 1, 0);
  return TRUE;
}

void
pf_run_store_changed (PfRunStore *s, PfRun *run)
{
  guint pos;
  if (g_ptr_array_find (s->runs, run, &pos))
    g_list_model_items_changed (G_LIST_MODEL (s), pos, 1, 1);
}

char *
pf_run_store_to_json (PfRunStore *s)
{
  GString *js = g_string_new ("{\n  \"version\": 1,\n  \"runs\": [");
  for (guint i = 0; i < s->runs->len; i++)
    {
      g_string_append (js, i ? ",\n" : "\n");
      run_to_json (g_ptr_array_index (s->runs, i), js);
    }
  g_string_append (js, s->runs->len ? "\n  ]\n}\n" : "]\n}\n");
  return g_string_free (js, FALSE);
}

gboolean
pf_run_store_load_from_data (PfRunStore *s, const char *json, gssize length, GError **error)
{
  gsize len = length < 0 ? strlen (json) : (gsize) length;
  GVariant *root = pf_json_parse (json, len, s->path, error);
  if (!root)
    return FALSE;
  GVariant *runs = NULL;
  gdouble version = 0;
  if (!g_variant_is_of_type (root, G_VARIANT_TYPE_VARDICT)
      || !g_variant_lookup (root, "version", "d", &version)
      || !(runs = g_variant_lookup_value (root, "runs", G_VARIANT_TYPE ("av"))))
    {
      g_set_error (error, PF_ERROR, PF_ERROR_FORMAT,
                   _("%s: not a pflow run list (an object with \"version\" and \"runs\")"), s->path);
      g_variant_unref (root);
      return FALSE;
    }
  if (version != 1)
    {
      g_set_error (error, PF_ERROR, PF_ERROR_FORMAT, _("%s: version %g of the run list is not known (1)"),
                   s->path, version);
      g_variant_unref (runs);
      g_variant_unref (root);
      return FALSE;
    }
  GPtrArray *list = g_ptr_array_new_with_free_func (g_object_unref);
  gboolean ok = TRUE;
  for (gsize i = 0; ok && i < g_variant_n_children (runs); i++)
    {
      GVariant *child = g_variant_get_child_value (runs, i), *obj = g_variant_get_variant (child);
      PfRun *r = run_from_variant (obj, s->path, (guint) i, error);
      if (r)
        g_ptr_array_add (list, r);
      ok = r != NULL;
      g_variant_unref (obj);
      g_variant_unref (child);
    }
  g_variant_unref (runs);
  g_variant_unref (root);
  if (!ok)
    {
      g_ptr_array_unref (list);
      return FALSE;
    }
  guint removed = s->runs->len;
  g_ptr_array_unref (s->runs);
  s->runs = list;
  g_list_model_items_changed (G_LIST_MODEL (s), 0, removed, list->len);
  return TRUE;
}

gboolean
pf_run_store_load (PfRunStore *s, GError **error)
{
  char *data = NULL;
  gsize len = 0;
  GError *local = NULL;
  if (!g_file_get_contents (s->path, &data, &len, &local))
    {
      if (g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        {
          g_error_free (local);
          guint removed = s->runs->len;
          g_ptr_array_set_size (s->runs, 0);
          if (removed)
            g_list_model_items_changed (G_LIST_MODEL (s), 0, removed, 0);
          return TRUE;
        }
      g_set_error (error, PF_ERROR, PF_ERROR_IO, _("%s: cannot read: %s"), s->path, local->message);
      g_error_free (local);
      return FALSE;
    }
  gboolean ok = pf_run_store_load_from_data (s, data, len, error);
  g_free (data);
  return ok;
}

gboolean
pf_run_store_save (PfRunStore *s, GError **error)
{
  char *dir = g_path_get_dirname (s->path);
  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      int e = errno;
      g_set_error (error, PF_ERROR, PF_ERROR_IO, _("%s: cannot create the folder: %s"), dir,
                   g_strerror (e));
      g_free (dir);
      return FALSE;
    }
  g_free (dir);
  char *js = pf_run_store_to_json (s);
  GError *local = NULL;
  gboolean ok = g_file_set_contents_full (s->path, js, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0644,
                                          &local);
  if (!ok)
    {
      g_set_error (error, PF_ERROR, PF_ERROR_IO, _("%s: cannot write: %s"), s->path, local->message);
      g_error_free (local);
    }
  g_free (js);
  return ok;
}
