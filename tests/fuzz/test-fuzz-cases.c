/* test-fuzz-cases.c — what the fuzz targets cannot say: which inputs must be ACCEPTED and which
 * rejected, and with what. A fuzz target only checks "success, or an error naming the file",
 * which a reader that refused everything would pass. Here the seeds are made afresh
 * (pf-fuzz-seeds.c) and the classic bad inputs checked by hand: empty and truncated files,
 * declared sizes far beyond the data, NaN/Inf values, wrong shapes and types, a checkpoint for
 * another model or scale; and the inputs the fuzzers found (corpus/TARGET/found-*). */
#include <glib.h>
#include <glib/gstdio.h>
#include <hdf5.h>
#include <math.h>
#include <string.h>
#include <unistd.h>
#include "pf-fuzz-seeds.h"
#include "pf-checkpoint.h"
#include "pf-dataset.h"
#include "pf-error.h"
#include "pf-model.h"
#include "pf-tiff-import.h"
#include "pf-train-log.h"

static char *tmpdir;

/* The seeds of `target`, written once into tmpdir/target. */
static const char *
seeds (const char *target)
{
  static GHashTable *done;
  if (!done)
    done = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  char *dir = g_hash_table_lookup (done, target);
  if (!dir)
    {
      dir = g_build_filename (tmpdir, target, NULL);
      g_assert_cmpint (g_mkdir (dir, 0700), ==, 0);
      GError *error = NULL;
      g_assert_true (pf_fuzz_seeds_write (target, dir, &error));
      g_assert_no_error (error);
      g_hash_table_insert (done, g_strdup (target), dir);
    }
  return dir;
}

static char *
seed_path (const char *target, const char *name)
{
  return g_build_filename (seeds (target), name, NULL);
}

static char *
corpus_path (const char *target, const char *name)
{
  const char *src = g_getenv ("PF_SOURCE_DIR");
  g_assert_nonnull (src);
  return g_build_filename (src, "tests", "fuzz", "corpus", target, name, NULL);
}

/* The error is `code`, names `path` and holds `needle`. Frees it. */
static void
assert_error (GError **error, const char *path, int code, const char *needle)
{
  g_assert_nonnull (*error);
  if (!g_error_matches (*error, PF_ERROR, code) || !strstr ((*error)->message, path)
      || !strstr ((*error)->message, needle))
    g_error ("expected error %d naming %s with '%s', got %d: %s", code, path, needle,
             (*error)->code, (*error)->message);
  g_clear_error (error);
}

/* ---- datasets ---- */

/* Opens, reads every event and summarises; returns the channel count. */
static int
dataset_accepts (const char *path, gboolean *has_params)
{
  GError *error = NULL;
  PfDataset *d = pf_dataset_open (path, &error);
  g_assert_no_error (error);
  int C = pf_dataset_n_channels (d), S = pf_dataset_image_size (d);
  int64_t N = pf_dataset_n_events (d);
  float *block = g_new (float, (size_t) C * N * S * S);
  g_assert_true (pf_dataset_read (d, 0, N, block, &error));
  g_assert_no_error (error);
  PfChannelSummary sum[PF_DATASET_MAX_CHANNELS];
  g_assert_true (pf_dataset_summarize (d, sum, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpfloat (sum[0].max, >, 0);
  PfSimParams p;
  *has_params = pf_dataset_params (d, &p);
  g_free (block);
  pf_dataset_close (d);
  return C;
}

/* Opening fails (or, with read = TRUE, opening works and reading every event fails). */
static void
dataset_rejects (const char *path, gboolean read, int code, const char *needle)
{
  GError *error = NULL;
  PfDataset *d = pf_dataset_open (path, &error);
  if (read)
    {
      g_assert_no_error (error);
      int64_t N = pf_dataset_n_events (d);
      int S = pf_dataset_image_size (d);
      float *block = g_new (float, (size_t) pf_dataset_n_channels (d) * N * S * S);
      g_assert_false (pf_dataset_read (d, 0, N, block, &error));
      g_free (block);
      pf_dataset_close (d);
    }
  else
    g_assert_null (d);
  assert_error (&error, path, code, needle);
}

/* A five-channel [2, 8, 8] file whose `emcal` is written by `make`. */
static char *
dataset_with_emcal (const char *name, hid_t (*make) (hid_t f, hid_t sp))
{
  char *path = g_build_filename (tmpdir, name, NULL);
  hid_t f = H5Fcreate (path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  hsize_t dims[3] = { 2, 8, 8 };
  hid_t sp = H5Screate_simple (3, dims, NULL);
  float zeros[2 * 64] = { 1 };
  static const char *const names[] = { "hcal", "trk_n", "trk_p", "truth" };
  for (int i = 0; i < 4; i++)
    {
      hid_t ds = H5Dcreate2 (f, names[i], H5T_NATIVE_FLOAT, sp, H5P_DEFAULT, H5P_DEFAULT,
                             H5P_DEFAULT);
      g_assert_cmpint (H5Dwrite (ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, zeros),
                       >=, 0);
      H5Dclose (ds);
    }
  hid_t ds = make (f, sp);
  g_assert_cmpint (ds, >=, 0);
  H5Dclose (ds);
  H5Sclose (sp);
  H5Fclose (f);
  return path;
}

static hid_t
emcal_never_written (hid_t f, hid_t sp)
{
  return H5Dcreate2 (f, "emcal", H5T_NATIVE_FLOAT, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
}

static hid_t
emcal_half_written (hid_t f, hid_t sp)
{
  hid_t dcpl = H5Pcreate (H5P_DATASET_CREATE);
  hsize_t chunk[3] = { 1, 8, 8 };
  H5Pset_chunk (dcpl, 3, chunk);
  hid_t ds = H5Dcreate2 (f, "emcal", H5T_NATIVE_FLOAT, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  H5Pclose (dcpl);
  /* event 0 only: event 1's chunk is never allocated */
  hsize_t start[3] = { 0, 0, 0 }, count[3] = { 1, 8, 8 };
  hid_t fsp = H5Dget_space (ds), msp = H5Screate_simple (3, count, NULL);
  H5Sselect_hyperslab (fsp, H5S_SELECT_SET, start, NULL, count, NULL);
  float v[64] = { 2 };
  g_assert_cmpint (H5Dwrite (ds, H5T_NATIVE_FLOAT, msp, fsp, H5P_DEFAULT, v), >=, 0);
  H5Sclose (msp);
  H5Sclose (fsp);
  return ds;
}

static hid_t
emcal_external (hid_t f, hid_t sp)
{
  hid_t dcpl = H5Pcreate (H5P_DATASET_CREATE);
  H5Pset_external (dcpl, "/dev/zero", 0, 2 * 64 * sizeof (float));
  hid_t ds = H5Dcreate2 (f, "emcal", H5T_NATIVE_FLOAT, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  H5Pclose (dcpl);
  return ds;
}

static void
test_dataset (void)
{
  static const struct {
    const char *name;
    int channels;
    gboolean params;
  } good[] = {
    { "sim-raw.h5", 5, TRUE },
    { "import-jet-deflate-shuffle.h5", 6, FALSE },
    { "import-libdeflate6.h5", 5, FALSE },
  };
  for (guint i = 0; i < G_N_ELEMENTS (good); i++)
    {
      char *p = seed_path ("dataset", good[i].name);
      gboolean params = FALSE;
      g_assert_cmpint (dataset_accepts (p, &params), ==, good[i].channels);
      g_assert_cmpint (params, ==, good[i].params);
      g_free (p);
    }
  static const struct {
    const char *name;
    gboolean read;
    int code;
    const char *needle;
  } bad[] = {
    { "empty.h5", FALSE, PF_ERROR_FORMAT, "not an HDF5 file" },
    { "emcal-not-square.h5", FALSE, PF_ERROR_SHAPE, "[4,7,8]" },
    { "emcal-int32.h5", FALSE, PF_ERROR_FORMAT, "int32" },
    { "no-truth.h5", FALSE, PF_ERROR_FORMAT, "'truth'" },
    { "nan-hcal.h5", TRUE, PF_ERROR_NUMERIC, "NaN" },
    { "inf-truth.h5", TRUE, PF_ERROR_NUMERIC, "infinite" },
    /* was: opened as 2^40 events of zeros, `pflow info` summarised them for days */
    { "sparse-2e40-events.h5", FALSE, PF_ERROR_FORMAT, "0 of the 1099511627776 chunks" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      char *p = seed_path ("dataset", bad[i].name);
      dataset_rejects (p, bad[i].read, bad[i].code, bad[i].needle);
      g_free (p);
    }

  /* a good file cut at several points: an error every time, never a crash or zeros */
  char *good_path = seed_path ("dataset", "sim-raw.h5");
  gchar *content = NULL;
  gsize len = 0;
  g_assert_true (g_file_get_contents (good_path, &content, &len, NULL));
  char *cut = g_build_filename (tmpdir, "cut.h5", NULL);
  for (int k = 1; k < 8; k++)
    {
      g_assert_true (g_file_set_contents (cut, content, len * k / 8, NULL));
      GError *error = NULL;
      PfDataset *d = pf_dataset_open (cut, &error);
      if (d)
        {
          float *block = g_new (float, (size_t) 5 * 4 * 64);
          g_assert_false (pf_dataset_read (d, 0, 4, block, &error));
          g_free (block);
          pf_dataset_close (d);
        }
      g_assert_nonnull (error);
      g_assert_nonnull (strstr (error->message, cut));
      g_clear_error (&error);
    }
  g_free (cut);
  g_free (content);
  g_free (good_path);

  /* found by fuzz-dataset: HDF5 1.10 trusts a chunk larger than the dataset, and a compact
   * dataset that stores fewer bytes than its extent; H5Dread then ran off its buffer (a
   * segfault in `pflow info`) */
  char *p = corpus_path ("dataset", "found-chunk-beyond-extent-segv.h5");
  dataset_rejects (p, FALSE, PF_ERROR_FORMAT, "'truth' has chunks of [2,524296,8] that do not "
                   "fit its shape [4,8,8]");
  g_free (p);
  p = corpus_path ("dataset", "found-compact-no-bytes-segv.h5");
  dataset_rejects (p, FALSE, PF_ERROR_FORMAT, "'truth' stores 0 bytes in its header for the "
                   "1024");
  g_free (p);

  H5Eset_auto2 (H5E_DEFAULT, NULL, NULL);
  p = dataset_with_emcal ("never-written.h5", emcal_never_written);
  dataset_rejects (p, FALSE, PF_ERROR_FORMAT, "no data stored");
  g_free (p);
  p = dataset_with_emcal ("half-written.h5", emcal_half_written);
  dataset_rejects (p, FALSE, PF_ERROR_FORMAT, "stores 1 of the 2 chunks");
  g_free (p);
  p = dataset_with_emcal ("external.h5", emcal_external);
  dataset_rejects (p, FALSE, PF_ERROR_FORMAT, "does not keep its data in the file");
  g_free (p);
}

/* ---- TIFF ---- */

static void
tiff_rejects (const char *path, int code, const char *needle)
{
  GError *error = NULL;
  int S = 0;
  g_assert_null (pf_tiff_read_image (path, &S, &error));
  assert_error (&error, path, code, needle);
}

static void
test_tiff (void)
{
  static const struct {
    const char *name;
    int size;
  } good[] = {
    { "float32-strips.tiff", 8 }, { "float32-deflate.tiff", 8 }, { "float32-tiled.tiff", 20 },
    { "uint8-strips.tiff", 8 }, { "uint8-lzw.tiff", 8 }, { "uint8-packbits-tiled.tiff", 8 },
  };
  for (guint i = 0; i < G_N_ELEMENTS (good); i++)
    {
      char *p = seed_path ("tiff", good[i].name);
      GError *error = NULL;
      int S = 0;
      float *img = pf_tiff_read_image (p, &S, &error);
      g_assert_no_error (error);
      g_assert_cmpint (S, ==, good[i].size);
      /* the seeds hold (x + 3 y) % 17 */
      g_assert_cmpfloat (img[2 * S + 5], ==, (float) ((5 + 3 * 2) % 17));
      g_free (img);
      g_free (p);
    }
  static const struct {
    const char *name;
    int code;
    const char *needle;
  } bad[] = {
    { "empty.tiff", PF_ERROR_FORMAT, "cannot read as TIFF" },
    { "nan.tiff", PF_ERROR_NUMERIC, "row 1 col 2 holds NaN" },
    { "inf.tiff", PF_ERROR_NUMERIC, "row 1 col 2 holds an infinite value" },
    { "rgb.tiff", PF_ERROR_FORMAT, "3 samples per pixel" },
    { "uint16.tiff", PF_ERROR_FORMAT, "16-bit unsigned" },
    { "not-square.tiff", PF_ERROR_SHAPE, "8x4" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      char *p = seed_path ("tiff", bad[i].name);
      tiff_rejects (p, bad[i].code, bad[i].needle);
      g_free (p);
    }
  /* found by fuzz-tiff: the tile buffer was allocated from the header (g_malloc aborted) */
  static const char *const found[] = { "found-tile-1m-alloc-4tib.tiff",
                                       "found-tile-64k-alloc-4gib.tiff" };
  for (guint i = 0; i < G_N_ELEMENTS (found); i++)
    {
      char *p = corpus_path ("tiff", found[i]);
      tiff_rejects (p, PF_ERROR_FORMAT, "expected at most 4096x4096");
      g_free (p);
    }
  /* 4096x4096 declared over 64 bytes of pixels: an error, not 64 MB of garbage */
  char *p = corpus_path ("tiff", "header-4096-no-data.tiff");
  tiff_rejects (p, PF_ERROR_FORMAT, "cannot read row");
  g_free (p);

  /* truncated: every cut of a strip file fails cleanly */
  char *good_path = seed_path ("tiff", "float32-strips.tiff");
  gchar *content = NULL;
  gsize len = 0;
  g_assert_true (g_file_get_contents (good_path, &content, &len, NULL));
  char *cut = g_build_filename (tmpdir, "cut.tiff", NULL);
  for (gsize k = 0; k < len; k += 7)
    {
      g_assert_true (g_file_set_contents (cut, content, k, NULL));
      GError *error = NULL;
      int S = 0;
      float *img = pf_tiff_read_image (cut, &S, &error);
      g_assert_null (img);
      g_assert_nonnull (error);
      g_assert_nonnull (strstr (error->message, cut));
      g_clear_error (&error);
    }
  g_free (cut);
  g_free (content);
  g_free (good_path);
}

/* ---- checkpoints ---- */

static PfGraph *
planned (const char *model, int scale, gboolean training)
{
  GError *error = NULL;
  PfGraph *g = pf_model_build (model, scale, 1, 56, &error);
  g_assert_no_error (error);
  PfPlanOptions po = { PF_DEVICE_CPU, training, false, 3 };
  g_assert_true (pf_graph_plan (g, &po, &error));
  return g;
}

static void
checkpoint_rejects (const char *path, PfGraph *g, gboolean with_optimizer, int code,
                    const char *needle)
{
  GError *error = NULL;
  g_assert_false (pf_checkpoint_load (path, g, with_optimizer, NULL, NULL, &error));
  assert_error (&error, path, code, needle);
}

/* A copy of the seed checkpoint, changed by `edit` through the HDF5 API. */
static char *
edited_checkpoint (const char *name, void (*edit) (hid_t f))
{
  char *src = seed_path ("checkpoint", "cnn-s1-adam.h5");
  gchar *content = NULL;
  gsize len = 0;
  g_assert_true (g_file_get_contents (src, &content, &len, NULL));
  char *path = g_build_filename (tmpdir, name, NULL);
  g_assert_true (g_file_set_contents (path, content, len, NULL));
  g_free (content);
  g_free (src);
  hid_t f = H5Fopen (path, H5F_ACC_RDWR, H5P_DEFAULT);
  g_assert_cmpint (f, >=, 0);
  edit (f);
  g_assert_cmpint (H5Fclose (f), >=, 0);
  return path;
}

#define WEIGHT "state_dict/encoder.0.weight"

/* encoder.0.weight replaced by a dataset of the same shape whose chunks were never written */
static void
edit_sparse_weight (hid_t f)
{
  hid_t ds = H5Dopen2 (f, WEIGHT, H5P_DEFAULT);
  hid_t sp = H5Dget_space (ds);
  int nd = H5Sget_simple_extent_ndims (sp);
  hsize_t dims[8], chunk[8];
  H5Sget_simple_extent_dims (sp, dims, NULL);
  H5Dclose (ds);
  g_assert_cmpint (H5Ldelete (f, WEIGHT, H5P_DEFAULT), >=, 0);
  for (int i = 0; i < nd; i++)
    chunk[i] = 1;
  hid_t dcpl = H5Pcreate (H5P_DATASET_CREATE);
  H5Pset_chunk (dcpl, nd, chunk);
  ds = H5Dcreate2 (f, WEIGHT, H5T_IEEE_F32LE, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  g_assert_cmpint (ds, >=, 0);
  H5Dclose (ds);
  H5Pclose (dcpl);
  H5Sclose (sp);
}

/* encoder.0.weight replaced by a rank-1 [7] */
static void
edit_rank1_weight (hid_t f)
{
  g_assert_cmpint (H5Ldelete (f, WEIGHT, H5P_DEFAULT), >=, 0);
  hsize_t dims[1] = { 7 };
  hid_t sp = H5Screate_simple (1, dims, NULL);
  hid_t ds = H5Dcreate2 (f, WEIGHT, H5T_IEEE_F32LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  float v[7] = { 0 };
  H5Dwrite (ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v);
  H5Dclose (ds);
  H5Sclose (sp);
}

static void
set_log_value (hid_t f, int row, int col, double v)
{
  hid_t ds = H5Dopen2 (f, "train_log", H5P_DEFAULT);
  hid_t fsp = H5Dget_space (ds);
  hsize_t start[2] = { row, col }, count[2] = { 1, 1 };
  H5Sselect_hyperslab (fsp, H5S_SELECT_SET, start, NULL, count, NULL);
  hid_t msp = H5Screate_simple (2, count, NULL);
  g_assert_cmpint (H5Dwrite (ds, H5T_NATIVE_DOUBLE, msp, fsp, H5P_DEFAULT, &v), >=, 0);
  H5Sclose (msp);
  H5Sclose (fsp);
  H5Dclose (ds);
}

static void
edit_log_epoch_nan (hid_t f)
{
  set_log_value (f, 1, 0, NAN);
}

static void
edit_log_n_train_huge (hid_t f)
{
  set_log_value (f, 0, 11, 1e300);
}

static void
test_checkpoint (void)
{
  H5Eset_auto2 (H5E_DEFAULT, NULL, NULL);
  char *good = seed_path ("checkpoint", "cnn-s1-adam.h5");
  GError *error = NULL;
  PfCheckpointInfo info;
  pf_checkpoint_info_init (&info);
  g_assert_true (pf_checkpoint_read_info (good, &info, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (info.model, ==, "cnn");
  g_assert_cmpint (info.log_rows, ==, 2);
  g_assert_cmpint (info.log_cols, ==, PF_TRAIN_LOG_COLS);
  PfTrainLogRow row;
  pf_train_log_row_from_doubles (info.log + PF_TRAIN_LOG_COLS, &row);
  g_assert_cmpint (row.epoch, ==, 2);
  g_assert_true (isnan (row.train_mse)); /* NaN MIX parts are the log's own, kept */
  pf_checkpoint_info_clear (&info);

  PfGraph *infer = planned ("cnn", 1, FALSE), *train = planned ("cnn", 1, TRUE);
  int64_t step = 0;
  g_assert_true (pf_checkpoint_load (good, infer, FALSE, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (pf_checkpoint_load (good, train, TRUE, NULL, &step, &error));
  g_assert_no_error (error);
  g_assert_cmpint (step, ==, 7);

  /* a checkpoint for another model, or the same model at another scale */
  PfGraph *se = planned ("se", 1, FALSE), *cnn2 = planned ("cnn", 2, FALSE);
  checkpoint_rejects (good, se, FALSE, PF_ERROR_FORMAT,
                      "holds model cnn (scale 1), expected se-s1");
  checkpoint_rejects (good, cnn2, FALSE, PF_ERROR_FORMAT, "expected cnn-s2");
  pf_graph_free (se);
  pf_graph_free (cnn2);

  char *p = edited_checkpoint ("sparse-weight.h5", edit_sparse_weight);
  checkpoint_rejects (p, infer, FALSE, PF_ERROR_FORMAT, "stores 0 of the");
  g_free (p);
  /* the found shape in the message is the file's, not uninitialised memory */
  p = edited_checkpoint ("rank1-weight.h5", edit_rank1_weight);
  checkpoint_rejects (p, infer, FALSE, PF_ERROR_SHAPE, "has shape [7], expected [");
  g_free (p);
  /* the log's epoch and event count become integers on --resume: NaN or 1e300 there was
   * undefined behaviour (a float-to-int conversion out of range) */
  p = edited_checkpoint ("log-epoch-nan.h5", edit_log_epoch_nan);
  g_assert_false (pf_checkpoint_read_info (p, &info, &error));
  assert_error (&error, p, PF_ERROR_FORMAT, "'train_log' row 2");
  pf_checkpoint_info_clear (&info);
  checkpoint_rejects (p, train, TRUE, PF_ERROR_FORMAT, "epoch");
  g_free (p);
  p = edited_checkpoint ("log-n-train-huge.h5", edit_log_n_train_huge);
  g_assert_false (pf_checkpoint_read_info (p, &info, &error));
  assert_error (&error, p, PF_ERROR_FORMAT, "n_train_used");
  pf_checkpoint_info_clear (&info);
  g_free (p);

  pf_graph_free (infer);
  pf_graph_free (train);
  g_free (good);
}

static void
remove_tree (const char *dir)
{
  GDir *d = g_dir_open (dir, 0, NULL);
  const char *name;
  while (d && (name = g_dir_read_name (d)))
    {
      char *p = g_build_filename (dir, name, NULL);
      if (g_file_test (p, G_FILE_TEST_IS_DIR))
        remove_tree (p);
      else
        g_remove (p);
      g_free (p);
    }
  if (d)
    g_dir_close (d);
  g_rmdir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  tmpdir = g_dir_make_tmp ("pf-fuzz-cases-XXXXXX", NULL);
  g_test_add_func ("/fuzz-cases/dataset", test_dataset);
  g_test_add_func ("/fuzz-cases/tiff", test_tiff);
  g_test_add_func ("/fuzz-cases/checkpoint", test_checkpoint);
  int rc = g_test_run ();
  remove_tree (tmpdir);
  g_free (tmpdir);
  return rc;
}
