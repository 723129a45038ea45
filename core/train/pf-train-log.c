/* pf-train-log.c — the split and the per-epoch log (CSV, JSON, and the table in checkpoints). */
#include "pf-trainer.h"
#include "pf-train-log.h"
#include "pf-error.h"
#include <math.h>
#include <string.h>

void
pf_split_range (int64_t n_events, PfSplit which, int64_t *first, int64_t *count)
{
  int64_t n = MAX (n_events, 0);
  /* floor(0.8 n) and floor(0.1 n) in integers (no rounding surprises for large n) */
  int64_t n_train = n / 10 * 8 + (n % 10) * 8 / 10;
  int64_t n_val = n / 10;
  int64_t n_test = n - n_train - n_val;
  switch (which)
    {
    case PF_SPLIT_TRAIN: *first = 0; *count = n_train; break;
    case PF_SPLIT_VAL: *first = n_train; *count = n_val; break;
    case PF_SPLIT_TEST: *first = n_train + n_val; *count = n_test; break;
    case PF_SPLIT_ALL: default: *first = 0; *count = n; break;
    }
}

static const char *const split_names[] = { "train", "val", "test", "all" };

gboolean
pf_split_parse (const char *s, PfSplit *out)
{
  for (int i = 0; i < 4; i++)
    if (s && !g_ascii_strcasecmp (s, split_names[i]))
      {
        *out = (PfSplit) i;
        return TRUE;
      }
  return FALSE;
}

const char *
pf_split_name (PfSplit which)
{
  return (unsigned) which < 4 ? split_names[which] : "?";
}

const char *const pf_train_log_columns =
  "epoch,train_loss,val_loss,lr,seconds,train_mse,train_wmse,train_ssim,val_mse,val_wmse,val_ssim,"
  "n_train_used,best";

void
pf_train_log_row_to_doubles (const PfTrainLogRow *r, double *v)
{
  double a[PF_TRAIN_LOG_COLS] = { r->epoch, r->train_loss, r->val_loss, r->lr, r->seconds,
                                  r->train_mse, r->train_wmse, r->train_ssim, r->val_mse,
                                  r->val_wmse, r->val_ssim, (double) r->n_train_used, r->best };
  memcpy (v, a, sizeof a);
}

void
pf_train_log_row_from_doubles (const double *v, PfTrainLogRow *r)
{
  r->epoch = (int) v[0];
  r->train_loss = v[1];
  r->val_loss = v[2];
  r->lr = v[3];
  r->seconds = v[4];
  r->train_mse = v[5];
  r->train_wmse = v[6];
  r->train_ssim = v[7];
  r->val_mse = v[8];
  r->val_wmse = v[9];
  r->val_ssim = v[10];
  r->n_train_used = (int64_t) v[11];
  r->best = v[12] != 0;
}

gboolean
pf_train_log_row_check (const double *v, const char **column, double *value)
{
  /* converted to int and int64 above: a NaN or an out-of-range value is undefined behaviour */
  if (!(v[0] >= 0 && v[0] <= G_MAXINT && v[0] == floor (v[0])))
    {
      *column = "epoch";
      *value = v[0];
      return FALSE;
    }
  if (!(v[11] >= 0 && v[11] <= (double) (G_MAXINT64 / 2) && v[11] == floor (v[11])))
    {
      *column = "n_train_used";
      *value = v[11];
      return FALSE;
    }
  return TRUE;
}

/* %.9g keeps a float32-derived double readable and exact enough; JSON has no NaN: null. */
static void
num (GString *s, double v, gboolean json)
{
  if (isfinite (v))
    g_string_append_printf (s, "%.9g", v);
  else
    g_string_append (s, json ? "null" : (isnan (v) ? "nan" : (v > 0 ? "inf" : "-inf")));
}

static void
append_values (GString *s, const PfTrainLogRow *r, gboolean json)
{
  static const char *const names[] = { "epoch", "train_loss", "val_loss", "lr", "seconds",
                                       "train_mse", "train_wmse", "train_ssim", "val_mse",
                                       "val_wmse", "val_ssim", "n_train_used", "best" };
  double v[PF_TRAIN_LOG_COLS];
  pf_train_log_row_to_doubles (r, v);
  for (int c = 0; c < PF_TRAIN_LOG_COLS; c++)
    {
      if (c)
        g_string_append (s, json ? ", " : ",");
      if (json)
        g_string_append_printf (s, "\"%s\": ", names[c]);
      if (c == PF_TRAIN_LOG_COLS - 1 && json)
        g_string_append (s, r->best ? "true" : "false");
      else
        num (s, v[c], json);
    }
}

static void
json_string (GString *s, const char *v)
{
  g_string_append_c (s, '"');
  for (const char *p = v ? v : ""; *p; p++)
    {
      if (*p == '"' || *p == '\\')
        g_string_append_printf (s, "\\%c", *p);
      else if ((unsigned char) *p < 0x20)
        g_string_append_printf (s, "\\u%04x", (unsigned char) *p);
      else
        g_string_append_c (s, *p);
    }
  g_string_append_c (s, '"');
}

gboolean
pf_train_log_write (const char *csv_path, const char *json_path, const PfTrainLogMeta *meta,
                    const PfTrainLogRow *rows, int n, GError **error)
{
  GString *csv = g_string_new (pf_train_log_columns);
  g_string_append_c (csv, '\n');
  GString *js = g_string_new ("{\n  \"model\": ");
  json_string (js, meta->model);
  g_string_append_printf (js, ",\n  \"scale\": %d,\n  \"batch\": %d,\n  \"loss\": ", meta->scale,
                          meta->batch);
  json_string (js, meta->loss);
  g_string_append (js, ",\n  \"lambda\": ");
  num (js, meta->lambda, TRUE);
  g_string_append (js, ",\n  \"dataset\": ");
  json_string (js, meta->dataset);
  g_string_append (js, ",\n  \"device\": ");
  json_string (js, meta->device ? meta->device : "cpu");
  g_string_append (js, ",\n  \"precision\": ");
  json_string (js, meta->precision ? meta->precision : "fp32");
  g_string_append_printf (js, ",\n  \"best_epoch\": %d,\n  \"best_val_loss\": ", meta->best_epoch);
  num (js, meta->best_val_loss, TRUE);
  g_string_append_printf (js, ",\n  \"early_stopped\": %s,\n  \"epochs\": [",
                          meta->early_stopped ? "true" : "false");
  for (int i = 0; i < n; i++)
    {
      append_values (csv, &rows[i], FALSE);
      g_string_append_c (csv, '\n');
      g_string_append (js, i ? ",\n    {" : "\n    {");
      append_values (js, &rows[i], TRUE);
      g_string_append_c (js, '}');
    }
  g_string_append (js, n ? "\n  ]\n}\n" : "]\n}\n");
  /* g_file_set_contents writes a temporary beside the file and renames it: atomic */
  gboolean ok = g_file_set_contents (csv_path, csv->str, csv->len, error)
                && g_file_set_contents (json_path, js->str, js->len, error);
  g_string_free (csv, TRUE);
  g_string_free (js, TRUE);
  return ok;
}
