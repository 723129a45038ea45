/* test-trainer.c — short training runs on a tiny simulated dataset (300 events, scale-1 CNN,
 * batch 16): the validation loss falls and the logs are written; resuming after one epoch, or
 * after a cancellation in mid-epoch, gives bit-identical weights to the uninterrupted run;
 * early stopping hands back the best epoch; bad inputs fail clearly; predictions are written. */
#include "pf-test-util.h"
#include "pf-trainer.h"
#include "pf-checkpoint.h"
#include "pf-predictor.h"
#include "pf-dataset.h"
#include "pf-error.h"
#include "pf-sim.h"
#include <hdf5.h>

#define N_EVENTS 300

static char *tmpdir, *data_path;

static void
make_dataset (void)
{
  PfSimParams p;
  pf_sim_params_init_default (&p);
  p.seed = 5;
  size_t SS = (size_t) p.image_size * p.image_size;
  float *block = g_new (float, (size_t) PF_N_CHANNELS * N_EVENTS * SS);
  pf_sim_run (&p, 0, N_EVENTS, block, 0);
  data_path = g_build_filename (tmpdir, "tiny.h5", NULL);
  GError *error = NULL;
  PfDatasetWriter *w = pf_dataset_writer_new (data_path, &p, p.image_size, 1, &error);
  g_assert_no_error (error);
  g_assert_true (pf_dataset_writer_append (w, N_EVENTS, block, &error));
  g_assert_true (pf_dataset_writer_commit (w, &error));
  g_free (block);
}

static void
options (PfTrainOptions *o, const char *sub, int epochs)
{
  pf_train_options_init (o);
  o->data_path = data_path;
  o->out_dir = g_build_filename (tmpdir, sub, NULL); /* leaked: a test's lifetime */
  o->batch = 16;
  o->epochs = epochs;
}

/* Every parameter and buffer of two checkpoints, byte for byte. */
static void
assert_same_weights (const char *a, const char *b)
{
  hid_t fa = H5Fopen (a, H5F_ACC_RDONLY, H5P_DEFAULT), fb = H5Fopen (b, H5F_ACC_RDONLY, H5P_DEFAULT);
  g_assert_cmpint (fa, >=, 0);
  g_assert_cmpint (fb, >=, 0);
  static const char *const names[] = { "encoder.0.weight", "encoder.0.bias", "encoder.1.weight",
                                       "encoder.1.running_mean", "encoder.4.running_var",
                                       "decoder.0.weight", "decoder.2.weight", "decoder.2.bias" };
  const char *groups[] = { "state_dict", "optimizer/exp_avg_sq" };
  for (int gi = 0; gi < 2; gi++)
    for (guint i = 0; i < G_N_ELEMENTS (names); i++)
      {
        if (gi == 1 && strstr (names[i], "running"))
          continue;
        char *n = g_strdup_printf ("%s/%s", groups[gi], names[i]);
        hid_t da = H5Dopen2 (fa, n, H5P_DEFAULT), db = H5Dopen2 (fb, n, H5P_DEFAULT);
        g_assert_cmpint (da, >=, 0);
        hid_t sp = H5Dget_space (da);
        hssize_t cnt = H5Sget_simple_extent_npoints (sp);
        float *va = g_new (float, cnt), *vb = g_new (float, cnt);
        H5Dread (da, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, va);
        H5Dread (db, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, vb);
        if (memcmp (va, vb, cnt * 4) != 0)
          g_error ("%s differs between %s and %s (rel %.3g)", n, a, b, pf_rel_err (vb, va, cnt));
        g_free (va);
        g_free (vb);
        H5Sclose (sp);
        H5Dclose (da);
        H5Dclose (db);
        g_free (n);
      }
  int64_t sa = 0, sb = 0;
  hid_t oa = H5Gopen2 (fa, "optimizer", H5P_DEFAULT), ob = H5Gopen2 (fb, "optimizer", H5P_DEFAULT);
  hid_t aa = H5Aopen (oa, "step", H5P_DEFAULT), ab = H5Aopen (ob, "step", H5P_DEFAULT);
  H5Aread (aa, H5T_NATIVE_INT64, &sa);
  H5Aread (ab, H5T_NATIVE_INT64, &sb);
  g_assert_cmpint (sa, ==, sb);
  g_assert_cmpint (sa, >, 0);
  H5Aclose (aa);
  H5Aclose (ab);
  H5Gclose (oa);
  H5Gclose (ob);
  H5Fclose (fa);
  H5Fclose (fb);
}

static int epoch_calls;
static void on_epoch (const PfTrainLogRow *r, gpointer u) { epoch_calls++; }

static void
test_short_run (void)
{
  PfTrainOptions o;
  options (&o, "straight", 2);
  PfTrainCallbacks cb = { .epoch = on_epoch };
  PfTrainResult res = { 0 };
  GError *error = NULL;
  epoch_calls = 0;
  PfTrainer *t = pf_trainer_new (&o, &error);
  g_assert_no_error (error);
  g_assert_cmpint (pf_trainer_options (t)->batch, ==, 16);
  g_assert_cmpfloat (pf_trainer_options (t)->lr, ==, 1e-3 * 16 / 200);
  g_assert_true (pf_trainer_run (t, &cb, NULL, &res, &error));
  g_assert_no_error (error);
  pf_trainer_free (t);
  g_assert_cmpint (epoch_calls, ==, 2);
  g_assert_cmpint (res.epochs_run, ==, 2);
  PfCheckpointInfo ck;
  pf_checkpoint_info_init (&ck);
  g_assert_true (pf_checkpoint_read_info (res.last_path, &ck, &error));
  g_assert_cmpint (ck.n_train, ==, 240);
  g_assert_cmpint (ck.n_val, ==, 30);
  g_assert_cmpint (ck.n_test, ==, 30);
  g_assert_cmpint (ck.log_rows, ==, 2);
  double v1 = ck.log[2], v2 = ck.log[ck.log_cols + 2];
  g_test_message ("val loss epoch 1 %.6g, epoch 2 %.6g; train %.6g, %.6g", v1, v2, ck.log[1],
                  ck.log[ck.log_cols + 1]);
  g_assert_cmpfloat (v2, <, v1);
  g_assert_cmpint (ck.best_epoch, ==, 2);
  g_assert_cmpfloat (ck.norm_max, >, ck.norm_min);
  pf_checkpoint_info_clear (&ck);
  char *csv = g_build_filename (o.out_dir, "log.csv", NULL), *js = g_build_filename (o.out_dir, "log.json", NULL);
  char *text = NULL;
  g_assert_true (g_file_get_contents (csv, &text, NULL, NULL));
  char **lines = g_strsplit (g_strchomp (text), "\n", -1);
  g_assert_cmpint (g_strv_length (lines), ==, 3);
  g_assert_true (g_str_has_prefix (lines[0], "epoch,train_loss,val_loss,lr,seconds,"));
  g_assert_true (g_str_has_prefix (lines[2], "2,"));
  g_strfreev (lines);
  g_free (text);
  g_assert_true (g_file_get_contents (js, &text, NULL, NULL));
  g_assert_nonnull (strstr (text, "\"val_wmse\": "));
  g_assert_nonnull (strstr (text, "\"best_epoch\": 2"));
  g_free (text);
  g_free (csv);
  g_free (js);
  pf_train_result_clear (&res);
}

static void
test_resume (void)
{
  PfTrainOptions o;
  options (&o, "resumed", 1);
  GError *error = NULL;
  g_assert_true (pf_train (&o, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  pf_train_options_init (&o);
  o.out_dir = g_build_filename (tmpdir, "resumed", NULL);
  o.epochs = 2;
  o.resume = TRUE; /* dataset, batch, seed... come from last.h5 */
  g_assert_true (pf_train (&o, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  char *a = g_build_filename (tmpdir, "straight", "last.h5", NULL);
  char *b = g_build_filename (o.out_dir, "last.h5", NULL);
  assert_same_weights (a, b);
  g_free (a);
  g_free (b);
}

static volatile gint cancel_flag;
static void
on_batch (int64_t step, double loss, int done, int total, gpointer u)
{
  if (step == GPOINTER_TO_INT (u))
    g_atomic_int_set (&cancel_flag, 1);
}

static void
test_cancel (void)
{
  PfTrainOptions o;
  options (&o, "cancelled", 2);
  /* 15 batches an epoch: stop after step 18, in the middle of epoch 2 */
  PfTrainCallbacks cb = { .batch = on_batch, .user_data = GINT_TO_POINTER (18) };
  GError *error = NULL;
  PfTrainResult res = { 0 };
  cancel_flag = 0;
  g_assert_false (pf_train (&o, &cb, &cancel_flag, &res, &error));
  g_assert_error (error, PF_ERROR, PF_ERROR_CANCELLED);
  g_test_message ("%s", error->message);
  g_clear_error (&error);
  g_assert_true (res.cancelled);
  PfCheckpointInfo ck;
  pf_checkpoint_info_init (&ck);
  g_assert_true (pf_checkpoint_read_info (res.last_path, &ck, &error));
  g_assert_cmpint (ck.epoch, ==, 1);
  g_assert_cmpint (ck.batch_in_epoch, ==, 3);
  pf_checkpoint_info_clear (&ck);
  PfPredictor *p = pf_predictor_new (res.last_path, 4, &error); /* loadable */
  g_assert_no_error (error);
  pf_predictor_free (p);
  /* and it continues where it stopped, to the very same weights */
  pf_train_options_init (&o);
  o.out_dir = g_build_filename (tmpdir, "cancelled", NULL);
  o.resume = TRUE;
  cancel_flag = 0;
  g_assert_true (pf_train (&o, NULL, &cancel_flag, NULL, &error));
  g_assert_no_error (error);
  char *a = g_build_filename (tmpdir, "straight", "last.h5", NULL);
  assert_same_weights (a, res.last_path);
  g_free (a);
  pf_train_result_clear (&res);
}

static void
test_early_stop (void)
{
  PfTrainOptions o;
  options (&o, "early", 12);
  o.patience = 2;
  o.lr = 0.05; /* far too large: the validation loss stops improving quickly */
  o.loss = "mse";
  PfTrainResult res = { 0 };
  GError *error = NULL;
  PfTrainer *t = pf_trainer_new (&o, &error);
  g_assert_no_error (error);
  g_assert_true (pf_trainer_run (t, NULL, NULL, &res, &error));
  g_assert_no_error (error);
  g_test_message ("ran %d epochs, best %d (%.6g)", res.epochs_run, res.best_epoch, res.best_val_loss);
  g_assert_true (res.early_stopped);
  g_assert_cmpint (res.epochs_run, <, 12);
  g_assert_cmpint (res.epochs_run - res.best_epoch, ==, 2);
  /* best.h5 is the best epoch, and the trainer's graph holds its weights */
  PfCheckpointInfo ck;
  pf_checkpoint_info_init (&ck);
  PfGraph *g = pf_trainer_graph (t);
  int id = pf_graph_find (g, "encoder.0.weight");
  float *w = g_memdup2 (pf_graph_tensor (g, id)->data, pf_graph_tensor (g, id)->numel * 4);
  g_assert_true (pf_checkpoint_load (res.best_path, g, FALSE, &ck, NULL, &error));
  g_assert_cmpint (ck.epoch, ==, res.best_epoch);
  g_assert_true (memcmp (w, pf_graph_tensor (g, id)->data, pf_graph_tensor (g, id)->numel * 4) == 0);
  double min_val = INFINITY;
  for (int r = 0; r < ck.log_rows; r++)
    min_val = MIN (min_val, ck.log[r * ck.log_cols + 2]);
  g_assert_cmpfloat (min_val, ==, res.best_val_loss);
  pf_checkpoint_info_clear (&ck);
  g_free (w);
  pf_trainer_free (t);
  pf_train_result_clear (&res);
}

static void
test_bad_input (void)
{
  PfTrainOptions o;
  options (&o, "bad", 1);
  o.max_events = 19; /* 15 train events: no full batch of 16 */
  GError *error = NULL;
  g_assert_null (pf_trainer_new (&o, &error));
  g_assert_error (error, PF_ERROR, PF_ERROR_INVALID);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "one full batch of 16"));
  g_clear_error (&error);
  options (&o, "bad", 1);
  o.model = "nope";
  g_assert_null (pf_trainer_new (&o, &error));
  g_assert_nonnull (strstr (error->message, "unknown model 'nope'"));
  g_clear_error (&error);
  options (&o, "bad", 1);
  o.data_path = "/nonexistent/data.h5";
  g_assert_null (pf_trainer_new (&o, &error));
  g_assert_nonnull (strstr (error->message, "/nonexistent/data.h5"));
  g_clear_error (&error);
}

static void
test_predict_file (void)
{
  char *ckpt = g_build_filename (tmpdir, "straight", "best.h5", NULL);
  char *out = g_build_filename (tmpdir, "pred.h5", NULL);
  GError *error = NULL;
  g_assert_true (pf_predict_file (ckpt, data_path, PF_SPLIT_TEST, out, 7, PF_DEVICE_CPU, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  /* the file equals the predictor run on the same events */
  hid_t f = H5Fopen (out, H5F_ACC_RDONLY, H5P_DEFAULT);
  hid_t ds = H5Dopen2 (f, "pred", H5P_DEFAULT);
  hsize_t dims[3];
  hid_t sp = H5Dget_space (ds);
  g_assert_cmpint (H5Sget_simple_extent_dims (sp, dims, NULL), ==, 3);
  g_assert_cmpint (dims[0], ==, 30);
  size_t SS = 56 * 56;
  float *got = g_new (float, 30 * SS), *want = g_new (float, 30 * SS), *in = g_new (float, 5 * 30 * SS);
  H5Dread (ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, got);
  int64_t first = -1;
  hid_t a = H5Aopen (f, "first_event", H5P_DEFAULT);
  H5Aread (a, H5T_NATIVE_INT64, &first);
  H5Aclose (a);
  g_assert_cmpint (first, ==, 270);
  H5Sclose (sp);
  H5Dclose (ds);
  H5Fclose (f);
  PfDataset *d = pf_dataset_open (data_path, &error);
  g_assert_true (pf_dataset_read (d, 270, 30, in, &error));
  pf_dataset_close (d);
  PfPredictor *p = pf_predictor_new (ckpt, 16, &error);
  g_assert_true (pf_predictor_run (p, in, 30, want, &error));
  pf_predictor_free (p);
  pf_assert_close ("pred file vs predictor", got, want, 30 * SS, 1e-6);
  double sum = 0;
  for (size_t i = 0; i < 30 * SS; i++)
    sum += got[i];
  g_assert_cmpfloat (sum, !=, 0);
  g_free (got);
  g_free (want);
  g_free (in);
  g_free (ckpt);
  g_free (out);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  GError *error = NULL;
  tmpdir = g_dir_make_tmp ("pflow-train-XXXXXX", &error);
  g_assert_no_error (error);
  make_dataset ();
  /* order matters: resume, cancel and predict compare with the straight run */
  g_test_add_func ("/trainer/short-run", test_short_run);
  g_test_add_func ("/trainer/resume", test_resume);
  g_test_add_func ("/trainer/cancel", test_cancel);
  g_test_add_func ("/trainer/early-stop", test_early_stop);
  g_test_add_func ("/trainer/bad-input", test_bad_input);
  g_test_add_func ("/trainer/predict-file", test_predict_file);
  int rc = g_test_run ();
  const char *subs[] = { "straight", "resumed", "cancelled", "early", "bad", NULL };
  for (int i = 0; subs[i]; i++)
    {
      char *d = g_build_filename (tmpdir, subs[i], NULL);
      pf_test_rm_dir (d);
      g_free (d);
    }
  pf_test_rm_dir (tmpdir);
  g_free (tmpdir);
  g_free (data_path);
  return rc;
}
