/* test-checkpoint.c — checkpoints: bit-identical round trip, clear failures on bad files, and
 * the PyTorch interop (tests/ref/torch_checkpoint.py loads the file with h5py into
 * torch_models.Scaled('cnn', 1) and predicts; pflow's predictor must agree within 1e-4). */
#include "pf-test-util.h"
#include "pf-checkpoint.h"
#include "pf-predictor.h"
#include "pf-model.h"
#include "pf-error.h"
#include "pf-rng.h"
#include <hdf5.h>

#define S 56

static char *tmpdir;

/* A planned scale-1 CNN whose every parameter, buffer and Adam moment is random. */
static PfGraph *
random_graph (const char *model, uint64_t seed, gboolean training)
{
  GError *error = NULL;
  PfGraph *g = pf_model_build (model, 1, 2, S, &error);
  g_assert_no_error (error);
  PfPlanOptions po = { PF_DEVICE_CPU, training, false, seed };
  g_assert_true (pf_graph_plan (g, &po, &error));
  for (int i = 0; i < pf_graph_n_tensors (g); i++)
    {
      PfTensor *t = pf_graph_tensor (g, i);
      if (t->kind != PF_TENSOR_BUFFER)
        continue;
      /* running statistics away from (0, 1), so inference mode is really tested */
      gboolean var = g_str_has_suffix (t->name, "running_var");
      for (size_t j = 0; j < t->numel; j++)
        {
          philox4x32_ctr_t r = pf_rng_block (seed, 9, i, j, 0);
          t->data[j] = var ? 0.5f + pf_rng_u01 (r.v[0]) : 0.2f * (pf_rng_u01 (r.v[0]) - 0.5f);
        }
    }
  if (training)
    for (size_t j = 0; j < pf_graph_n_params (g); j++)
      {
        philox4x32_ctr_t r = pf_rng_block (seed, 10, j, 0, 0);
        pf_graph_adam_m (g)[j] = pf_rng_u01 (r.v[0]) - 0.5f;
        pf_graph_adam_v (g)[j] = pf_rng_u01 (r.v[1]) * 1e-3f;
      }
  return g;
}

static void
fill_info (PfCheckpointInfo *ck, const char *model)
{
  pf_checkpoint_info_init (ck);
  ck->model = (char *) model;
  ck->scale = 1;
  ck->batch = 2;
  ck->loss = (char *) "mix";
  ck->lambda = 0.05;
  ck->lr = 1e-4;
  ck->epoch = 3;
  ck->best_epoch = 2;
  ck->best_val_loss = 0.125;
  ck->norm_min = 0.0;
  ck->norm_max = 37.5;
  ck->dataset = (char *) "data.h5";
  ck->n_train = 80;
  ck->n_val = 10;
  ck->n_test = 10;
  ck->seed = 26;
}

static char *
save_random (const char *name, const char *model, uint64_t seed, PfGraph **keep)
{
  PfGraph *g = random_graph (model, seed, TRUE);
  PfCheckpointInfo ck;
  fill_info (&ck, model);
  char *path = g_build_filename (tmpdir, name, NULL);
  GError *error = NULL;
  g_assert_true (pf_checkpoint_save (path, g, &ck, TRUE, 42, &error));
  g_assert_no_error (error);
  if (keep)
    *keep = g;
  else
    pf_graph_free (g);
  return path;
}

static void
test_roundtrip (void)
{
  PfGraph *a = NULL;
  char *path = save_random ("rt.h5", "cnn", 7, &a);
  PfGraph *b = random_graph ("cnn", 8, TRUE);
  g_assert_true (memcmp (pf_graph_tensor (a, pf_graph_find (a, "encoder.0.weight"))->data,
                         pf_graph_tensor (b, pf_graph_find (b, "encoder.0.weight"))->data, 4 * 8) != 0);
  GError *error = NULL;
  PfCheckpointInfo info;
  pf_checkpoint_info_init (&info);
  int64_t step = 0;
  g_assert_true (pf_checkpoint_load (path, b, TRUE, &info, &step, &error));
  g_assert_no_error (error);
  g_assert_cmpint (step, ==, 42);
  for (int i = 0; i < pf_graph_n_tensors (a); i++)
    {
      PfTensor *ta = pf_graph_tensor (a, i), *tb = pf_graph_tensor (b, i);
      if (ta->kind == PF_TENSOR_PARAM || ta->kind == PF_TENSOR_BUFFER)
        g_assert_true (memcmp (ta->data, tb->data, ta->numel * 4) == 0);
    }
  /* the moments, tensor by tensor (the flat arrays hold alignment padding) */
  size_t n = pf_graph_n_params (a), checked = 0;
  for (int i = 0; i < pf_graph_n_tensors (a); i++)
    {
      PfTensor *ta = pf_graph_tensor (a, i), *tb = pf_graph_tensor (b, i);
      if (ta->kind != PF_TENSOR_PARAM)
        continue;
      size_t oa = ta->data - pf_graph_param_data (a), ob = tb->data - pf_graph_param_data (b);
      g_assert_true (memcmp (pf_graph_adam_m (a) + oa, pf_graph_adam_m (b) + ob, ta->numel * 4) == 0);
      g_assert_true (memcmp (pf_graph_adam_v (a) + oa, pf_graph_adam_v (b) + ob, ta->numel * 4) == 0);
      checked += ta->numel;
    }
  g_assert_cmpuint (checked, ==, n);
  g_assert_cmpstr (info.model, ==, "cnn");
  g_assert_cmpint (info.epoch, ==, 3);
  g_assert_cmpint (info.best_epoch, ==, 2);
  g_assert_cmpfloat (info.norm_max, ==, 37.5);
  g_assert_cmpfloat (info.lr, ==, 1e-4);
  g_assert_cmpint (info.n_val, ==, 10);
  g_assert_cmpint (info.seed, ==, 26);
  g_assert_cmpstr (info.pflow_version, ==, PF_VERSION);
  /* an inference graph takes the weights without the optimiser */
  PfGraph *c = random_graph ("cnn", 9, FALSE);
  g_assert_true (pf_checkpoint_load (path, c, FALSE, NULL, NULL, &error));
  for (int i = 0; i < pf_graph_n_tensors (a); i++)
    if (pf_graph_tensor (a, i)->kind == PF_TENSOR_PARAM)
      g_assert_true (memcmp (pf_graph_tensor (a, i)->data, pf_graph_tensor (c, i)->data,
                             pf_graph_tensor (a, i)->numel * 4) == 0);
  g_assert_false (pf_checkpoint_load (path, c, TRUE, NULL, NULL, &error));
  g_assert_error (error, PF_ERROR, PF_ERROR_INVALID);
  g_clear_error (&error);
  pf_checkpoint_info_clear (&info);
  pf_graph_free (a);
  pf_graph_free (b);
  pf_graph_free (c);
  g_free (path);
}

/* Loads `path` into a fresh cnn-s1 and expects a failure of `code` whose message holds `what`;
 * the graph must be unchanged. */
static void
expect_fail (const char *path, const char *model, int code, const char *what)
{
  PfGraph *g = random_graph (model, 11, TRUE);
  size_t n = pf_graph_n_params (g);
  float *before = g_memdup2 (pf_graph_param_data (g), n * 4);
  GError *error = NULL;
  g_assert_false (pf_checkpoint_load (path, g, TRUE, NULL, NULL, &error));
  g_assert_error (error, PF_ERROR, code);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, path));
  g_assert_nonnull (strstr (error->message, what));
  g_assert_true (memcmp (before, pf_graph_param_data (g), n * 4) == 0);
  g_error_free (error);
  g_free (before);
  pf_graph_free (g);
}

static void
test_wrong_model (void)
{
  char *path = save_random ("cnn.h5", "cnn", 7, NULL);
  expect_fail (path, "se", PF_ERROR_FORMAT, "expected se-s1");
  g_free (path);
}

/* Opens the file read-write for surgery. */
static hid_t
open_rw (const char *path)
{
  hid_t f = H5Fopen (path, H5F_ACC_RDWR, H5P_DEFAULT);
  g_assert_cmpint (f, >=, 0);
  return f;
}

static void
test_missing_tensor (void)
{
  char *path = save_random ("missing.h5", "cnn", 7, NULL);
  hid_t f = open_rw (path);
  g_assert_cmpint (H5Ldelete (f, "state_dict/encoder.3.weight", H5P_DEFAULT), >=, 0);
  H5Fclose (f);
  expect_fail (path, "cnn", PF_ERROR_FORMAT, "state_dict/encoder.3.weight' is missing");
  g_free (path);
}

static void
test_wrong_shape (void)
{
  char *path = save_random ("shape.h5", "cnn", 7, NULL);
  hid_t f = open_rw (path);
  g_assert_cmpint (H5Ldelete (f, "state_dict/decoder.0.bias", H5P_DEFAULT), >=, 0);
  hsize_t dims[1] = { 17 };
  float v[17] = { 0 };
  hid_t sp = H5Screate_simple (1, dims, NULL);
  hid_t ds = H5Dcreate2 (f, "state_dict/decoder.0.bias", H5T_IEEE_F32LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  H5Dwrite (ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v);
  H5Dclose (ds);
  H5Sclose (sp);
  H5Fclose (f);
  expect_fail (path, "cnn", PF_ERROR_SHAPE, "has shape [17], expected [16]");
  g_free (path);
}

static void
test_nan (void)
{
  char *path = save_random ("nan.h5", "cnn", 7, NULL);
  hid_t f = open_rw (path);
  hid_t ds = H5Dopen2 (f, "state_dict/encoder.1.running_var", H5P_DEFAULT);
  float v[8];
  H5Dread (ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v);
  v[5] = NAN;
  H5Dwrite (ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v);
  H5Dclose (ds);
  H5Fclose (f);
  expect_fail (path, "cnn", PF_ERROR_NUMERIC, "encoder.1.running_var' holds NaN at element 5");
  g_free (path);
}

static void
test_truncated (void)
{
  char *path = save_random ("trunc.h5", "cnn", 7, NULL);
  gchar *buf = NULL;
  gsize len = 0;
  g_assert_true (g_file_get_contents (path, &buf, &len, NULL));
  g_assert_true (g_file_set_contents (path, buf, len / 2, NULL));
  g_free (buf);
  PfGraph *g = random_graph ("cnn", 11, TRUE);
  GError *error = NULL;
  g_assert_false (pf_checkpoint_load (path, g, TRUE, NULL, NULL, &error));
  g_assert_nonnull (error);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, path));
  g_clear_error (&error);
  char *none = g_build_filename (tmpdir, "absent.h5", NULL);
  g_assert_false (pf_checkpoint_load (none, g, TRUE, NULL, NULL, &error));
  g_assert_error (error, PF_ERROR, PF_ERROR_IO);
  g_clear_error (&error);
  pf_graph_free (g);
  g_free (none);
  g_free (path);
}

/* pflow's predictions against PyTorch loading the same file with h5py. */
static void
test_torch_interop (void)
{
  char *path = save_random ("interop.h5", "cnn", 5, NULL);
  const int n = 5;
  size_t SS = S * S;
  float *in = g_new (float, 4 * n * SS), *pred = g_new (float, n * SS);
  for (size_t i = 0; i < 4 * n * SS; i++)
    {
      philox4x32_ctr_t r = pf_rng_block (3, 11, i, 0, 0);
      in[i] = pf_rng_u01 (r.v[0]) < 0.3f ? 20.0f * pf_rng_u01 (r.v[1]) : 0.0f; /* GeV */
    }
  GError *error = NULL;
  PfPredictor *p = pf_predictor_new (path, 2, &error); /* 5 = 2 + 2 + a padded 1 */
  g_assert_no_error (error);
  g_assert_true (pf_predictor_run (p, in, n, pred, &error));
  g_assert_no_error (error);
  char *in_path = g_build_filename (tmpdir, "inputs.pfref", NULL);
  PfRefWriter *w = pf_ref_writer_new (in_path);
  int dims[4] = { 4, n, S, S };
  pf_ref_writer_add (w, "inputs", 4, dims, in);
  pf_ref_writer_close (w);
  char *a1 = g_strconcat ("--ckpt=", path, NULL), *a2 = g_strconcat ("--in=", in_path, NULL);
  const char *args[] = { a1, a2, NULL };
  char *dir = pf_test_run_reference ("torch_checkpoint.py", args);
  if (dir)
    {
      char *out = g_build_filename (dir, "pred.pfref", NULL);
      PfRefBundle *ref = pf_ref_load (out);
      const PfRefTensor *t = pf_ref_get (ref, "pred");
      g_assert_cmpuint (t->count, ==, n * SS);
      pf_assert_close ("pred (GeV) vs torch", pred, t->data, n * SS, 1e-4);
      pf_ref_free (ref);
      g_free (out);
      pf_test_rm_dir (dir);
      g_free (dir);
    }
  g_free (a1);
  g_free (a2);
  g_free (in_path);
  pf_predictor_free (p);
  g_free (in);
  g_free (pred);
  g_free (path);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  GError *error = NULL;
  tmpdir = g_dir_make_tmp ("pflow-ckpt-XXXXXX", &error);
  g_assert_no_error (error);
  g_test_add_func ("/checkpoint/roundtrip", test_roundtrip);
  g_test_add_func ("/checkpoint/wrong-model", test_wrong_model);
  g_test_add_func ("/checkpoint/missing-tensor", test_missing_tensor);
  g_test_add_func ("/checkpoint/wrong-shape", test_wrong_shape);
  g_test_add_func ("/checkpoint/nan", test_nan);
  g_test_add_func ("/checkpoint/truncated", test_truncated);
  g_test_add_func ("/checkpoint/torch-interop", test_torch_interop);
  int rc = g_test_run ();
  pf_test_rm_dir (tmpdir);
  g_free (tmpdir);
  return rc;
}
