/* test-data.c — HDF5 datasets and TIFF import: round trips (C and h5py), and every kind of bad
 * input giving a clear GError with no partial file left behind. */
#include <glib.h>
#include <glib/gstdio.h>
#include <hdf5.h>
#include <math.h>
#include <string.h>
#include <tiffio.h>
#include <unistd.h>

#include "pf-dataset.h"
#include "pf-error.h"
#include "pf-sim.h"
#include "pf-test-util.h"
#include "pf-tiff-import.h"

#define S 56
#define PER (S * S)

/* ---- helpers ---- */

/* Sparse random images like the simulator's: most pixels zero, a few GeV-sized values. */
static float *
random_block (GRand *r, int n_channels, int64_t n)
{
  size_t total = (size_t) n_channels * n * PER;
  float *b = g_new (float, total);
  for (size_t i = 0; i < total; i++)
    b[i] = g_rand_double (r) < 0.6 ? 0.0f : (float) (g_rand_double_range (r, -0.5, 40.0));
  return b;
}

/* Finite floats with random bits everywhere else: deflate cannot shrink them, so the
 * compressors take their stored-block paths (the output bound of ISA-L's stateless mode). */
static float *
noise_block (GRand *r, int n_channels, int64_t n)
{
  size_t total = (size_t) n_channels * n * PER;
  float *b = g_new (float, total);
  for (size_t i = 0; i < total; i++)
    {
      uint32_t u = g_rand_int (r);
      if ((u & 0x7f800000u) == 0x7f800000u)
        u &= ~0x00800000u; /* exponent all ones would be Inf/NaN */
      memcpy (&b[i], &u, sizeof u);
    }
  return b;
}

/* Bit-identical, or fail naming the first differing float. */
static void
assert_same_floats (const float *got, const float *want, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (memcmp (&got[i], &want[i], sizeof (float)) != 0)
      g_error ("float %zu (channel-major block, image %zu pixel %zu) is %.9g, expected %.9g", i,
               i / PER, i % PER, got[i], want[i]);
}

/* Event e of channel c in a channel-major block of n events. */
static const float *
image_of (const float *block, int64_t n, int c, int64_t e)
{
  return block + ((size_t) c * n + e) * PER;
}

static gint
cmp_names (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(char *const *) a, *(char *const *) b);
}

/* The names in `dir`, sorted, joined by spaces ("" when empty). */
static char *
dir_listing (const char *dir)
{
  GDir *d = g_dir_open (dir, 0, NULL);
  g_assert_nonnull (d);
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
  const char *name;
  while ((name = g_dir_read_name (d)))
    g_ptr_array_add (names, g_strdup (name));
  g_dir_close (d);
  g_ptr_array_sort (names, cmp_names);
  g_ptr_array_add (names, NULL);
  char *s = g_strjoinv (" ", (char **) names->pdata);
  g_ptr_array_unref (names);
  return s;
}

static void
assert_dir_is (const char *dir, const char *expected)
{
  char *got = dir_listing (dir);
  g_assert_cmpstr (got, ==, expected);
  g_free (got);
}

static void
rm_rf (const char *dir)
{
  GDir *d = g_dir_open (dir, 0, NULL);
  if (d)
    {
      const char *name;
      while ((name = g_dir_read_name (d)))
        {
          char *p = g_build_filename (dir, name, NULL);
          if (g_file_test (p, G_FILE_TEST_IS_DIR))
            rm_rf (p);
          else
            g_unlink (p);
          g_free (p);
        }
      g_dir_close (d);
    }
  g_rmdir (dir);
}

static char *
make_tmp_dir (void)
{
  GError *error = NULL;
  char *dir = g_dir_make_tmp ("pflow-data-XXXXXX", &error);
  g_assert_no_error (error);
  return dir;
}

/* Asserts a PF_ERROR of `code` whose message mentions every string of `needles`. */
static void
assert_pf_error (GError *error, int code, const char *const *needles)
{
  g_assert_nonnull (error);
  g_test_message ("expected error: %s", error->message);
  g_assert_error (error, PF_ERROR, code);
  for (int i = 0; needles && needles[i]; i++)
    if (!strstr (error->message, needles[i]))
      g_error ("error message \"%s\" does not mention \"%s\"", error->message, needles[i]);
}

static void
test_params (PfSimParams *p)
{
  pf_sim_params_init_default (p);
  /* Values exact in binary so the h5py test can compare their text. */
  p->bfield = 0.75;
  p->res_scale = 1.5;
  p->wrap_phi = TRUE;
  p->n_particles = 1234;
  p->seed = G_GUINT64_CONSTANT (0xfedcba9876543210);
}

static void
assert_params_equal (const PfSimParams *a, const PfSimParams *b)
{
  guint n = 0;
  const PfSimParamInfo *tab = pf_sim_param_table (&n);
  g_assert_cmpuint (n, >, 0);
  for (guint i = 0; i < n; i++)
    {
      const char *x = (const char *) a + tab[i].offset, *y = (const char *) b + tab[i].offset;
      size_t size = tab[i].type == PF_PARAM_DOUBLE ? sizeof (double)
                    : tab[i].type == PF_PARAM_U64 ? sizeof (uint64_t) : sizeof (int);
      if (memcmp (x, y, size) != 0)
        g_error ("parameter %s differs after the round trip", tab[i].name);
    }
  g_assert_cmpuint (a->seed, ==, b->seed);
}

/* Writes `total` events of `data` in appends of the given sizes (0-terminated, repeated). */
static void
write_dataset (const char *path, const PfSimParams *params, const PfDatasetWriterOptions *o,
               const float *data, int64_t total, const int *sizes)
{
  GError *error = NULL;
  PfDatasetWriter *w = pf_dataset_writer_new_full (path, params, o, &error);
  g_assert_no_error (error);
  const size_t per = (size_t) o->image_size * o->image_size;
  int64_t done = 0;
  for (int k = 0; done < total; k = sizes[k + 1] ? k + 1 : 0)
    {
      int64_t n = MIN (sizes[k], total - done);
      /* Repack the slice channel-major, as pf_sim_run hands it over. */
      float *blk = g_new (float, (size_t) o->n_channels * n * per);
      for (int c = 0; c < o->n_channels; c++)
        memcpy (blk + (size_t) c * n * per, data + ((size_t) c * total + done) * per,
                n * per * sizeof (float));
      g_assert_true (pf_dataset_writer_append (w, n, blk, &error));
      g_assert_no_error (error);
      g_free (blk);
      done += n;
    }
  g_assert_cmpint (pf_dataset_writer_n_events (w), ==, total);
  g_assert_true (pf_dataset_writer_commit (w, &error));
  g_assert_no_error (error);
}

/* ---- round trips ---- */

static void
check_roundtrip_data (int level, gboolean shuffle, int chunk_events, int n_channels,
                      gboolean noise)
{
  g_test_message ("round trip: level %d%s, chunk %d, %d channels%s", level,
                  shuffle ? " + shuffle" : "", chunk_events, n_channels,
                  noise ? ", incompressible" : "");
  char *dir = make_tmp_dir ();
  char *path = g_build_filename (dir, "round.h5", NULL);
  GRand *r = g_rand_new_with_seed (level * 100 + chunk_events + n_channels);
  const int64_t N = 101;
  float *data = noise ? noise_block (r, n_channels, N) : random_block (r, n_channels, N);
  PfSimParams p;
  test_params (&p);
  PfDatasetWriterOptions o;
  pf_dataset_writer_options_init (&o);
  o.compression_level = level;
  o.shuffle = shuffle;
  o.chunk_events = chunk_events;
  o.n_channels = n_channels;
  const int sizes[] = { 1, 17, 40, 5, 33, 0 };
  write_dataset (path, &p, &o, data, N, sizes);
  assert_dir_is (dir, "round.h5");

  GError *error = NULL;
  PfDataset *d = pf_dataset_open (path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (pf_dataset_n_events (d), ==, N);
  g_assert_cmpint (pf_dataset_image_size (d), ==, S);
  g_assert_cmpint (pf_dataset_n_channels (d), ==, n_channels);
  g_assert_cmpstr (pf_dataset_source (d), ==, "pflow-sim");
  PfSimParams q;
  g_assert_true (pf_dataset_params (d, &q));
  assert_params_equal (&p, &q);
  char *gen = pf_dataset_attr_string (d, "generator");
  g_assert_cmpstr (gen, ==, PF_SIM_GENERATOR_NAME);
  g_free (gen);
  char *ver = pf_dataset_attr_string (d, "pflow_version");
  g_assert_cmpstr (ver, ==, PF_VERSION);
  g_free (ver);

  float *back = g_new (float, (size_t) n_channels * N * PER);
  memset (back, 0xff, (size_t) n_channels * N * PER * sizeof (float));
  g_assert_true (pf_dataset_read (d, 0, N, back, &error));
  g_assert_no_error (error);
  assert_same_floats (back, data, (size_t) n_channels * N * PER);

  /* A window that starts and ends inside chunks. */
  const int64_t first = 13, n = 50;
  g_assert_true (pf_dataset_read (d, first, n, back, &error));
  g_assert_no_error (error);
  for (int c = 0; c < n_channels; c++)
    for (int64_t e = 0; e < n; e++)
      g_assert_true (memcmp (image_of (back, n, c, e), image_of (data, N, c, first + e),
                             PER * sizeof (float)) == 0);
  /* Out of range reads are refused. */
  g_assert_false (pf_dataset_read (d, N - 2, 3, back, &error));
  assert_pf_error (error, PF_ERROR_INVALID, (const char *[]) { "round.h5", NULL });
  g_clear_error (&error);
  pf_dataset_close (d);

  g_free (back);
  g_free (data);
  g_rand_free (r);
  rm_rf (dir);
  g_free (path);
  g_free (dir);
}

static void
check_roundtrip (int level, gboolean shuffle, int chunk_events, int n_channels)
{
  check_roundtrip_data (level, shuffle, chunk_events, n_channels, FALSE);
}

static void
test_roundtrip_default (void)
{
  check_roundtrip (PF_DATASET_DEFAULT_LEVEL, FALSE, 0, PF_N_CHANNELS);
}

static void
test_roundtrip_raw (void)
{
  check_roundtrip (0, TRUE, 7, PF_N_CHANNELS); /* shuffle ignored without deflate */
}

static void
test_roundtrip_level6_jet (void)
{
  check_roundtrip (6, TRUE, 64, PF_DATASET_MAX_CHANNELS);
}

static void
test_roundtrip_chunk1 (void)
{
  check_roundtrip (1, FALSE, 1, PF_N_CHANNELS);
}

/* Every level, whichever engine writes it (ISA-L for the fast levels, libdeflate above; see
 * PF_DATASET_DEFAULT_LEVEL), with and without shuffle, and data deflate cannot shrink. */
static void
test_roundtrip_all_levels (void)
{
  for (int level = 0; level <= 9; level++)
    check_roundtrip (level, FALSE, 0, PF_N_CHANNELS);
  check_roundtrip (1, TRUE, 64, PF_DATASET_MAX_CHANNELS);
  check_roundtrip (2, TRUE, 5, PF_N_CHANNELS);
  for (int level = 1; level <= 2; level++)
    {
      check_roundtrip_data (level, FALSE, 0, PF_N_CHANNELS, TRUE);
      check_roundtrip_data (level, TRUE, 3, PF_N_CHANNELS, TRUE);
    }
}

/* Simulated events through the convenience writer, as `pflow simulate` does it. */
static void
test_roundtrip_sim (void)
{
  char *dir = make_tmp_dir ();
  char *path = g_build_filename (dir, "sim.h5", NULL);
  PfSimParams p;
  pf_sim_params_init_default (&p);
  p.n_particles = 200;
  p.seed = 7;
  const int64_t N = 40;
  float *data = g_new (float, (size_t) PF_N_CHANNELS * N * PER);
  pf_sim_run (&p, 0, N, data, 0);
  GError *error = NULL;
  PfDatasetWriter *w = pf_dataset_writer_new (path, &p, S, 1, &error);
  g_assert_no_error (error);
  g_assert_true (pf_dataset_writer_append (w, N, data, &error));
  g_assert_no_error (error);
  g_assert_true (pf_dataset_writer_commit (w, &error));
  g_assert_no_error (error);

  PfDataset *d = pf_dataset_open (path, &error);
  g_assert_no_error (error);
  float *back = g_new (float, (size_t) PF_N_CHANNELS * N * PER);
  g_assert_true (pf_dataset_read (d, 0, N, back, &error));
  g_assert_no_error (error);
  assert_same_floats (back, data, (size_t) PF_N_CHANNELS * N * PER);
  PfSimParams q;
  g_assert_true (pf_dataset_params (d, &q));
  assert_params_equal (&p, &q);

  /* Summary against plain loops. */
  PfChannelSummary sum[PF_DATASET_MAX_CHANNELS];
  g_assert_true (pf_dataset_summarize (d, sum, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  for (int c = 0; c < PF_N_CHANNELS; c++)
    {
      double s1 = 0, s2 = 0, mx = -INFINITY;
      size_t nz = 0;
      for (int64_t e = 0; e < N; e++)
        {
          const float *img = image_of (data, N, c, e);
          double s = 0;
          for (int i = 0; i < PER; i++)
            {
              s += img[i];
              nz += img[i] != 0;
              mx = MAX (mx, img[i]);
            }
          s1 += s;
          s2 += s * s;
        }
      double mean = s1 / N, sd = sqrt (MAX (0, s2 / N - mean * mean));
      g_assert_cmpint (sum[c].n_events, ==, N);
      g_assert_cmpfloat_with_epsilon (sum[c].sum_mean, mean, 1e-9 * (1 + fabs (mean)));
      g_assert_cmpfloat_with_epsilon (sum[c].sum_std, sd, 1e-6 * (1 + sd));
      g_assert_cmpfloat_with_epsilon (sum[c].occupancy, (double) nz / (N * PER), 1e-12);
      g_assert_cmpfloat (sum[c].max, ==, mx);
      g_assert_cmpfloat (sum[c].occupancy, >, 0);
    }
  pf_dataset_close (d);
  g_free (back);
  g_free (data);
  rm_rf (dir);
  g_free (path);
  g_free (dir);
}

typedef struct {
  int calls;
  int64_t last_done, total;
  volatile gint *cancel;
} Progress;

static void
progress_cb (int64_t done, int64_t total, gpointer user_data)
{
  Progress *pr = user_data;
  g_assert_cmpint (done, >, pr->last_done);
  pr->calls++;
  pr->last_done = done;
  pr->total = total;
  if (pr->cancel)
    *pr->cancel = 1;
}

/* Enough events for several summary blocks: progress rises to N, cancel stops it. */
static void
test_summary_progress_cancel (void)
{
  char *dir = make_tmp_dir ();
  char *path = g_build_filename (dir, "big.h5", NULL);
  GRand *r = g_rand_new_with_seed (3);
  const int64_t N = 1500;
  float *data = random_block (r, PF_N_CHANNELS, N);
  PfDatasetWriterOptions o;
  pf_dataset_writer_options_init (&o);
  const int sizes[] = { 700, 0 };
  write_dataset (path, NULL, &o, data, N, sizes);
  GError *error = NULL;
  PfDataset *d = pf_dataset_open (path, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (pf_dataset_source (d), ==, "unknown");
  PfSimParams q;
  g_assert_false (pf_dataset_params (d, &q));
  PfChannelSummary sum[PF_DATASET_MAX_CHANNELS];
  Progress pr = { 0 };
  g_assert_true (pf_dataset_summarize (d, sum, progress_cb, &pr, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (pr.calls, >, 1);
  g_assert_cmpint (pr.last_done, ==, N);
  g_assert_cmpint (pr.total, ==, N);
  g_assert_cmpfloat_with_epsilon (sum[PF_CH_HCAL].occupancy, 0.4, 0.01);

  volatile gint cancel = 0;
  Progress pc = { 0, 0, 0, &cancel };
  g_assert_false (pf_dataset_summarize (d, sum, progress_cb, &pc, &cancel, &error));
  assert_pf_error (error, PF_ERROR_CANCELLED, NULL);
  g_clear_error (&error);
  g_assert_cmpint (pc.calls, ==, 1);
  pf_dataset_close (d);
  g_free (data);
  g_rand_free (r);
  rm_rf (dir);
  g_free (path);
  g_free (dir);
}

/* ---- h5py ---- */

/* Arguments: groups of (file, raw output, attribute output, shuffle 0/1, level). */
static const char h5py_script[] =
  "import sys, h5py, numpy as np\n"
  "names = ['emcal', 'hcal', 'trk_n', 'trk_p', 'truth']\n"
  "a = sys.argv[1:]\n"
  "for i in range(0, len(a), 5):\n"
  "    path, raw, attrs, shuffle, level = a[i:i + 5]\n"
  "    f = h5py.File(path, 'r')\n"
  "    for k in names:\n"
  "        d = f[k]\n"
  "        assert d.dtype == np.float32 and d.shape[1:] == (56, 56), (path, k)\n"
  "        if level == '0':\n"
  "            assert d.compression is None and not d.shuffle, (path, k)\n"
  "        else:\n"
  "            assert d.compression == 'gzip' and d.compression_opts == int(level), (path, k)\n"
  "            assert d.shuffle == (shuffle == '1'), (path, k)\n"
  "    np.stack([f[k][...] for k in names]).astype('<f4').tofile(raw)\n"
  "    with open(attrs, 'w') as out:\n"
  "        for k in sorted(f.attrs):\n"
  "            v = f.attrs[k]\n"
  "            v = v.item() if hasattr(v, 'item') else v\n"
  "            out.write('%s=%s:%r\\n' % (k, type(v).__name__, v))\n";

/* The files h5py reads: every level without shuffle, and shuffle on an ISA-L level (1) and a
 * libdeflate one (4): our own shuffle must match HDF5's filter. */
static const struct {
  int level;
  gboolean shuffle;
} h5py_cases[] = { { 0, FALSE }, { 1, FALSE }, { 2, FALSE }, { 3, FALSE }, { 4, FALSE },
                   { 5, FALSE }, { 6, FALSE }, { 7, FALSE }, { 8, FALSE }, { 9, FALSE },
                   { 1, TRUE },  { 4, TRUE } };
#define N_H5PY_CASES G_N_ELEMENTS (h5py_cases)

/* Attributes as h5py printed them (file `attrs`) must hold the simulator parameters. */
static void
check_h5py_attrs (const char *attrs, const PfSimParams *p)
{
  gchar *buf = NULL;
  GError *error = NULL;
  g_assert_true (g_file_get_contents (attrs, &buf, NULL, &error));
  g_assert_no_error (error);
  char *seed_line = g_strdup_printf ("\nseed=int:%" G_GUINT64_FORMAT "\n", p->seed);
  const char *expect[] = {
    "\nbfield=float:0.75\n", "\nres_scale=float:1.5\n", "\nwrap_phi=bool:True\n",
    "\nn_particles=int:1234\n", "\nsource=str:'pflow-sim'\n",
    "\ngenerator=str:'" PF_SIM_GENERATOR_NAME "'\n", "\npflow_version=str:'" PF_VERSION "'\n",
    seed_line, NULL
  };
  char *text = g_strconcat ("\n", buf, NULL);
  for (int i = 0; expect[i]; i++)
    if (!strstr (text, expect[i]))
      g_error ("h5py attributes of %s lack \"%s\"", attrs, g_strstrip (g_strdup (expect[i])));
  char *gv = g_strdup_printf ("\ngenerator_version=int:%d\n", PF_SIM_GENERATOR_VERSION);
  g_assert_nonnull (strstr (text, gv));
  g_free (gv);
  g_free (text);
  g_free (seed_line);
  g_free (buf);
}

/* Every level (and shuffle) written by pflow, read back by plain h5py bit for bit: half the
 * events simulated (long zero runs, noisy mantissas: what the ISA-L levels were tuned on),
 * half random sparse images. One python3 process reads all the files. */
static void
test_h5py_reads (void)
{
  const char *py = "/usr/bin/python3";
  int status = 0;
  const char *probe[] = { py, "-c", "import h5py, numpy", NULL };
  if (!g_file_test (py, G_FILE_TEST_IS_EXECUTABLE)
      || !g_spawn_sync (NULL, (char **) probe, NULL,
                        G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL,
                        NULL, NULL, &status, NULL)
      || !g_spawn_check_wait_status (status, NULL))
    {
      g_test_skip ("python3 with h5py and numpy is not installed: h5py compatibility not checked");
      return;
    }
  char *dir = make_tmp_dir ();
  PfSimParams p;
  test_params (&p);
  const int64_t N = 37, NS = 20; /* events 0..NS-1 simulated, the rest random */
  const size_t per_ch = (size_t) N * PER;
  float *data = g_new (float, PF_N_CHANNELS * per_ch);
  float *sim = g_new (float, (size_t) PF_N_CHANNELS * NS * PER);
  pf_sim_run (&p, 0, NS, sim, 0);
  GRand *r = g_rand_new_with_seed (11);
  float *rnd = random_block (r, PF_N_CHANNELS, N - NS);
  for (int c = 0; c < PF_N_CHANNELS; c++)
    {
      memcpy (data + c * per_ch, sim + (size_t) c * NS * PER, NS * PER * sizeof (float));
      memcpy (data + c * per_ch + NS * PER, rnd + (size_t) c * (N - NS) * PER,
              (N - NS) * PER * sizeof (float));
    }
  g_free (sim);
  g_free (rnd);

  GPtrArray *args = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (args, g_strdup (py));
  g_ptr_array_add (args, g_strdup ("-c"));
  g_ptr_array_add (args, g_strdup (h5py_script));
  char *paths[N_H5PY_CASES][3];
  const int sizes[] = { 9, 20, 0 };
  for (guint i = 0; i < N_H5PY_CASES; i++)
    {
      PfDatasetWriterOptions o;
      pf_dataset_writer_options_init (&o);
      o.shuffle = h5py_cases[i].shuffle;
      o.compression_level = h5py_cases[i].level;
      o.chunk_events = i % 2 ? 16 : 0; /* an edge chunk, and one chunk bigger than N */
      for (int k = 0; k < 3; k++)
        paths[i][k] = g_strdup_printf ("%s/py%u.%s", dir, i, (const char *[]) { "h5", "raw", "txt" }[k]);
      write_dataset (paths[i][0], &p, &o, data, N, sizes);
      for (int k = 0; k < 3; k++)
        g_ptr_array_add (args, g_strdup (paths[i][k]));
      g_ptr_array_add (args, g_strdup (o.shuffle ? "1" : "0"));
      g_ptr_array_add (args, g_strdup_printf ("%d", o.compression_level));
    }
  g_ptr_array_add (args, NULL);

  char *err_out = NULL;
  GError *error = NULL;
  g_assert_true (g_spawn_sync (NULL, (char **) args->pdata, NULL, G_SPAWN_STDOUT_TO_DEV_NULL,
                               NULL, NULL, NULL, &err_out, &status, &error));
  g_assert_no_error (error);
  if (!g_spawn_check_wait_status (status, NULL))
    g_error ("h5py could not read the files in %s:\n%s", dir, err_out);
  g_free (err_out);
  g_ptr_array_unref (args);

  for (guint i = 0; i < N_H5PY_CASES; i++)
    {
      gchar *buf = NULL;
      gsize len = 0;
      g_assert_true (g_file_get_contents (paths[i][1], &buf, &len, &error));
      g_assert_no_error (error);
      g_assert_cmpuint (len, ==, (gsize) PF_N_CHANNELS * per_ch * sizeof (float));
      if (memcmp (buf, data, len) != 0)
        {
          g_test_message ("h5py read different values at level %d%s", h5py_cases[i].level,
                          h5py_cases[i].shuffle ? " + shuffle" : "");
          assert_same_floats ((const float *) buf, data, PF_N_CHANNELS * per_ch);
        }
      g_free (buf);
      if (i == 0)
        {
          gchar *text = NULL;
          g_assert_true (g_file_get_contents (paths[i][2], &text, NULL, NULL));
          g_test_message ("attributes seen by h5py:\n%s", text);
          g_free (text);
        }
      check_h5py_attrs (paths[i][2], &p);
      g_test_message ("h5py: level %d%s read back bit-identically", h5py_cases[i].level,
                      h5py_cases[i].shuffle ? " + shuffle" : "");
      for (int k = 0; k < 3; k++)
        g_free (paths[i][k]);
    }

  g_free (data);
  g_rand_free (r);
  rm_rf (dir);
  g_free (dir);
}

/* ---- TIFF ---- */

static const char *const tiff_prefix[PF_N_CHANNELS] = { "emcal", "hcal", "trkn", "trkp", "truth" };

/* bits 32: float; bits 8: uint8. tile > 0 writes tiles of that size instead of strips. */
static void
write_tiff (const char *path, int width, int height, int spp, int bits, int tile,
            const float *img)
{
  TIFF *t = TIFFOpen (path, "w");
  g_assert_nonnull (t);
  TIFFSetField (t, TIFFTAG_IMAGEWIDTH, width);
  TIFFSetField (t, TIFFTAG_IMAGELENGTH, height);
  TIFFSetField (t, TIFFTAG_SAMPLESPERPIXEL, spp);
  TIFFSetField (t, TIFFTAG_BITSPERSAMPLE, bits);
  TIFFSetField (t, TIFFTAG_SAMPLEFORMAT, bits == 32 ? SAMPLEFORMAT_IEEEFP : SAMPLEFORMAT_UINT);
  TIFFSetField (t, TIFFTAG_PHOTOMETRIC, spp == 3 ? PHOTOMETRIC_RGB : PHOTOMETRIC_MINISBLACK);
  TIFFSetField (t, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
  TIFFSetField (t, TIFFTAG_COMPRESSION, bits == 32 ? COMPRESSION_ADOBE_DEFLATE : COMPRESSION_NONE);
  size_t bpp = (size_t) spp * bits / 8;
  guint8 *row = g_malloc0 ((size_t) MAX (width, tile) * MAX (tile, 1) * bpp);
  if (tile > 0)
    {
      TIFFSetField (t, TIFFTAG_TILEWIDTH, tile);
      TIFFSetField (t, TIFFTAG_TILELENGTH, tile);
      for (int y = 0; y < height; y += tile)
        for (int x = 0; x < width; x += tile)
          {
            memset (row, 0, (size_t) tile * tile * bpp);
            for (int r = 0; r < tile && y + r < height; r++)
              for (int c = 0; c < tile && x + c < width; c++)
                {
                  float v = img[(size_t) (y + r) * width + x + c];
                  if (bits == 32)
                    memcpy (row + ((size_t) r * tile + c) * 4, &v, 4);
                  else
                    row[(size_t) r * tile + c] = (guint8) v;
                }
            g_assert_cmpint (TIFFWriteTile (t, row, x, y, 0, 0), >, 0);
          }
    }
  else
    {
      TIFFSetField (t, TIFFTAG_ROWSPERSTRIP, 8);
      for (int y = 0; y < height; y++)
        {
          for (int x = 0; x < width; x++)
            for (int s = 0; s < spp; s++)
              {
                float v = img ? img[(size_t) y * width + x] : 1.0f;
                if (bits == 32)
                  memcpy (row + ((size_t) x * spp + s) * 4, &v, 4);
                else if (bits == 16)
                  memset (row + ((size_t) x * spp + s) * 2, 1, 2);
                else
                  row[(size_t) x * spp + s] = (guint8) v;
              }
          g_assert_cmpint (TIFFWriteScanline (t, row, y, 0), ==, 1);
        }
    }
  TIFFClose (t);
  g_free (row);
}

/* A folder of n events; trk channels as 8-bit, the others float32, one file tiled.
 * Returns the expected block (channel-major). */
static float *
write_tiff_folder (const char *dir, int64_t n, GRand *r)
{
  float *data = g_new (float, (size_t) PF_N_CHANNELS * n * PER);
  for (int c = 0; c < PF_N_CHANNELS; c++)
    for (int64_t e = 0; e < n; e++)
      {
        float *img = data + ((size_t) c * n + e) * PER;
        gboolean u8 = c == PF_CH_TRK_N || c == PF_CH_TRK_P;
        for (int i = 0; i < PER; i++)
          img[i] = g_rand_double (r) < 0.5 ? 0.0f
                   : u8 ? (float) g_rand_int_range (r, 0, 256)
                        : (float) g_rand_double_range (r, 0, 100);
        char *name = g_strdup_printf ("%s_%" G_GINT64_FORMAT ".tiff", tiff_prefix[c], e);
        char *p = g_build_filename (dir, name, NULL);
        write_tiff (p, S, S, 1, u8 ? 8 : 32, (c == PF_CH_HCAL && e == 1) ? 16 : 0, img);
        g_free (p);
        g_free (name);
      }
  return data;
}

static void
test_tiff_roundtrip (void)
{
  char *in = make_tmp_dir ();
  char *outdir = make_tmp_dir ();
  char *out = g_build_filename (outdir, "imported.h5", NULL);
  GRand *r = g_rand_new_with_seed (5);
  const int64_t N = 6;
  float *data = write_tiff_folder (in, N, r);
  /* A stray file past the first gap is not an event. */
  char *stray = g_build_filename (in, "emcal_9.tiff", NULL);
  write_tiff (stray, S, S, 1, 32, 0, data);

  GError *error = NULL;
  Progress pr = { 0 };
  g_assert_true (pf_tiff_import_dir (in, out, -1, progress_cb, &pr, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (pr.last_done, ==, N);
  assert_dir_is (outdir, "imported.h5");

  PfDataset *d = pf_dataset_open (out, &error);
  g_assert_no_error (error);
  g_assert_cmpint (pf_dataset_n_events (d), ==, N);
  g_assert_cmpstr (pf_dataset_source (d), ==, "tiff-import");
  PfSimParams q;
  g_assert_false (pf_dataset_params (d, &q));
  char *folder = pf_dataset_attr_string (d, "tiff_folder");
  char *base = g_path_get_basename (in);
  g_assert_cmpstr (folder, ==, base);
  g_free (folder);
  g_free (base);
  float *back = g_new (float, (size_t) PF_N_CHANNELS * N * PER);
  g_assert_true (pf_dataset_read (d, 0, N, back, &error));
  g_assert_no_error (error);
  assert_same_floats (back, data, (size_t) PF_N_CHANNELS * N * PER);
  pf_dataset_close (d);

  int size = 0;
  char *one = g_build_filename (in, "trkp_3.tiff", NULL);
  float *img = pf_tiff_read_image (one, &size, &error);
  g_assert_no_error (error);
  g_assert_cmpint (size, ==, S);
  g_assert_true (memcmp (img, image_of (data, N, PF_CH_TRK_P, 3), PER * sizeof (float)) == 0);
  g_free (img);
  g_free (one);

  g_free (back);
  g_free (data);
  g_free (stray);
  g_rand_free (r);
  rm_rf (in);
  rm_rf (outdir);
  g_free (in);
  g_free (outdir);
  g_free (out);
}

/* Imports `in` expecting an error of `code` that names `needle`; nothing written. */
static void
expect_import_error (const char *in, int code, const char *needle)
{
  char *outdir = make_tmp_dir ();
  char *out = g_build_filename (outdir, "x.h5", NULL);
  GError *error = NULL;
  g_assert_false (pf_tiff_import_dir (in, out, 1, NULL, NULL, NULL, &error));
  assert_pf_error (error, code, (const char *[]) { needle, NULL });
  g_error_free (error);
  assert_dir_is (outdir, "");
  rm_rf (outdir);
  g_free (out);
  g_free (outdir);
}

static void
replace_tiff (const char *dir, const char *name, int width, int height, int spp, int bits)
{
  char *p = g_build_filename (dir, name, NULL);
  float *img = g_new0 (float, (size_t) width * height);
  write_tiff (p, width, height, spp, bits, 0, spp == 1 ? img : NULL);
  g_free (img);
  g_free (p);
}

static void
test_tiff_bad (void)
{
  GRand *r = g_rand_new_with_seed (6);
  char *in = make_tmp_dir ();
  expect_import_error (in, PF_ERROR_IO, "emcal_0.tiff");  /* no files at all */
  g_free (write_tiff_folder (in, 5, r));

  char *gone = g_build_filename (in, "trkp_3.tiff", NULL);
  char *keep = g_build_filename (in, "keep.tiff", NULL);
  g_assert_cmpint (g_rename (gone, keep), ==, 0);
  expect_import_error (in, PF_ERROR_IO, "trkp_3.tiff");
  g_assert_cmpint (g_rename (keep, gone), ==, 0);

  replace_tiff (in, "truth_2.tiff", 30, 30, 1, 32);
  expect_import_error (in, PF_ERROR_SHAPE, "truth_2.tiff");
  replace_tiff (in, "truth_2.tiff", S, S, 3, 8);
  expect_import_error (in, PF_ERROR_FORMAT, "truth_2.tiff");
  replace_tiff (in, "truth_2.tiff", S, S, 1, 16);
  expect_import_error (in, PF_ERROR_FORMAT, "truth_2.tiff");
  replace_tiff (in, "truth_2.tiff", S, S, 1, 32);

  float *nan_img = g_new0 (float, PER);
  nan_img[S + 3] = NAN;
  char *p = g_build_filename (in, "hcal_4.tiff", NULL);
  write_tiff (p, S, S, 1, 32, 0, nan_img);
  expect_import_error (in, PF_ERROR_NUMERIC, "hcal_4.tiff");
  g_file_set_contents (p, "not a tiff", -1, NULL);
  expect_import_error (in, PF_ERROR_FORMAT, "hcal_4.tiff");
  g_free (p);
  g_free (nan_img);

  g_free (gone);
  g_free (keep);
  rm_rf (in);
  g_free (in);
  g_rand_free (r);
}

/* ---- bad HDF5 input ---- */

typedef struct {
  const char *name;
  hid_t type; /* file and memory type */
  int rank;
  hsize_t dims[3];
} DsSpec;

/* Writes datasets of zeros (NaN at element `nan_at` of `nan_in` when given). */
static void
write_h5 (const char *path, const DsSpec *spec, int n, const char *nan_in, size_t nan_at)
{
  hid_t f = H5Fcreate (path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  g_assert_cmpint (f, >=, 0);
  for (int i = 0; i < n; i++)
    {
      hid_t sp = H5Screate_simple (spec[i].rank, spec[i].dims, NULL);
      hid_t ds = H5Dcreate2 (f, spec[i].name, spec[i].type, sp, H5P_DEFAULT, H5P_DEFAULT,
                             H5P_DEFAULT);
      g_assert_cmpint (ds, >=, 0);
      size_t count = 1;
      for (int k = 0; k < spec[i].rank; k++)
        count *= spec[i].dims[k];
      if (count > 0)
        {
          void *buf = g_malloc0 (count * H5Tget_size (spec[i].type));
          if (nan_in && strcmp (nan_in, spec[i].name) == 0)
            ((float *) buf)[nan_at] = NAN;
          g_assert_cmpint (H5Dwrite (ds, spec[i].type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf), >=, 0);
          g_free (buf);
        }
      H5Dclose (ds);
      H5Sclose (sp);
    }
  H5Fclose (f);
}

static void
expect_open_error (const char *path, int code, const char *needle)
{
  GError *error = NULL;
  PfDataset *d = pf_dataset_open (path, &error);
  g_assert_null (d);
  char *base = g_path_get_basename (path);
  assert_pf_error (error, code, (const char *[]) { base, needle, NULL });
  g_free (base);
  g_error_free (error);
}

static void
five (DsSpec *s, hid_t type, hsize_t n)
{
  const char *names[] = { "emcal", "hcal", "trk_n", "trk_p", "truth" };
  for (int i = 0; i < 5; i++)
    s[i] = (DsSpec) { names[i], type, 3, { n, S, S } };
}

static void
test_bad_h5 (void)
{
  char *dir = make_tmp_dir ();
  char *path = g_build_filename (dir, "bad.h5", NULL);
  DsSpec s[5];

  expect_open_error (path, PF_ERROR_IO, "No such file");
  g_file_set_contents (path, "emcal,hcal\n1,2\n", -1, NULL);
  expect_open_error (path, PF_ERROR_FORMAT, "not an HDF5 file");

  five (s, H5T_NATIVE_FLOAT, 4);
  write_h5 (path, s, 2, NULL, 0);
  expect_open_error (path, PF_ERROR_FORMAT, "trk_n");

  five (s, H5T_NATIVE_FLOAT, 4);
  s[1].dims[2] = 55;
  write_h5 (path, s, 5, NULL, 0);
  expect_open_error (path, PF_ERROR_SHAPE, "[4,56,55]");

  five (s, H5T_NATIVE_FLOAT, 4);
  s[3].rank = 2;
  write_h5 (path, s, 5, NULL, 0);
  expect_open_error (path, PF_ERROR_SHAPE, "trk_p");

  five (s, H5T_NATIVE_FLOAT, 4);
  s[4].dims[0] = 5;
  write_h5 (path, s, 5, NULL, 0);
  expect_open_error (path, PF_ERROR_SHAPE, "truth");

  five (s, H5T_NATIVE_FLOAT, 4);
  s[2].type = H5T_NATIVE_DOUBLE;
  write_h5 (path, s, 5, NULL, 0);
  expect_open_error (path, PF_ERROR_FORMAT, "float64");
  s[2].type = H5T_NATIVE_UINT8;
  write_h5 (path, s, 5, NULL, 0);
  expect_open_error (path, PF_ERROR_FORMAT, "uint8");

  five (s, H5T_NATIVE_FLOAT, 0);
  write_h5 (path, s, 5, NULL, 0);
  expect_open_error (path, PF_ERROR_FORMAT, "no events");

  /* NaN: opening is fine (values are not scanned), reading the event fails. */
  five (s, H5T_NATIVE_FLOAT, 4);
  write_h5 (path, s, 5, "hcal", 2 * PER + 5 * S + 7);
  GError *error = NULL;
  PfDataset *d = pf_dataset_open (path, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (pf_dataset_source (d), ==, "");
  float *buf = g_new (float, 5 * 4 * PER);
  g_assert_true (pf_dataset_read (d, 0, 2, buf, &error));
  g_assert_no_error (error);
  g_assert_false (pf_dataset_read (d, 0, 4, buf, &error));
  assert_pf_error (error, PF_ERROR_NUMERIC, (const char *[]) { "bad.h5", "hcal", "event 2",
                                                               "row 5 col 7", "NaN", NULL });
  g_clear_error (&error);
  PfChannelSummary sum[PF_DATASET_MAX_CHANNELS];
  g_assert_false (pf_dataset_summarize (d, sum, NULL, NULL, NULL, &error));
  assert_pf_error (error, PF_ERROR_NUMERIC, (const char *[]) { "hcal", NULL });
  g_clear_error (&error);
  pf_dataset_close (d);
  g_free (buf);

  /* Truncated: a good file cut in half. */
  GRand *r = g_rand_new_with_seed (9);
  float *data = random_block (r, PF_N_CHANNELS, 64);
  PfDatasetWriterOptions o;
  pf_dataset_writer_options_init (&o);
  const int sizes[] = { 64, 0 };
  g_unlink (path);
  write_dataset (path, NULL, &o, data, 64, sizes);
  gchar *content = NULL;
  gsize len = 0;
  g_assert_true (g_file_get_contents (path, &content, &len, NULL));
  g_assert_true (g_file_set_contents (path, content, len / 2, NULL));
  expect_open_error (path, PF_ERROR_FORMAT, "truncated");
  g_free (content);
  g_free (data);
  g_rand_free (r);

  /* Damaged chunk: the file opens, reading the chunk fails with a message, no crash. */
  r = g_rand_new_with_seed (19);
  data = random_block (r, PF_N_CHANNELS, 64);
  g_unlink (path);
  write_dataset (path, NULL, &o, data, 64, sizes);
  hid_t f = H5Fopen (path, H5F_ACC_RDONLY, H5P_DEFAULT);
  hid_t ds = H5Dopen2 (f, "hcal", H5P_DEFAULT);
  hsize_t off[3] = { 0, 0, 0 }, size = 0;
  haddr_t addr = 0;
  unsigned mask = 0;
  g_assert_cmpint (H5Dget_chunk_info_by_coord (ds, off, &mask, &addr, &size), >=, 0);
  H5Dclose (ds);
  H5Fclose (f);
  g_assert_cmpuint (size, >, 1000);
  FILE *fp = fopen (path, "r+b");
  g_assert_nonnull (fp);
  fseek (fp, (long) (addr + size / 2), SEEK_SET);
  for (int i = 0; i < 200; i++)
    fputc (0xA5 ^ i, fp);
  fclose (fp);
  d = pf_dataset_open (path, &error);
  g_assert_no_error (error);
  buf = g_new (float, 5 * 64 * PER);
  g_assert_true (pf_dataset_read_channel (d, PF_CH_EMCAL, 0, 64, buf, &error));
  g_assert_no_error (error);
  g_assert_false (pf_dataset_read_channel (d, PF_CH_HCAL, 0, 64, buf, &error));
  assert_pf_error (error, PF_ERROR_IO, (const char *[]) { "bad.h5", "hcal", NULL });
  g_clear_error (&error);
  pf_dataset_close (d);
  g_free (buf);
  g_free (data);
  g_rand_free (r);

  assert_dir_is (dir, "bad.h5");
  rm_rf (dir);
  g_free (path);
  g_free (dir);
}

/* Wrong simulator attributes are caught when the file claims to come from the simulator. */
static void
test_bad_attrs (void)
{
  char *dir = make_tmp_dir ();
  char *path = g_build_filename (dir, "attrs.h5", NULL);
  GRand *r = g_rand_new_with_seed (10);
  float *data = random_block (r, PF_N_CHANNELS, 3);
  PfSimParams p;
  test_params (&p);
  PfDatasetWriterOptions o;
  pf_dataset_writer_options_init (&o);
  const int sizes[] = { 3, 0 };
  write_dataset (path, &p, &o, data, 3, sizes);

  guint n = 0;
  const PfSimParamInfo *tab = pf_sim_param_table (&n);
  hid_t f = H5Fopen (path, H5F_ACC_RDWR, H5P_DEFAULT);
  g_assert_cmpint (H5Adelete (f, tab[n - 1].name), >=, 0);
  H5Fclose (f);
  expect_open_error (path, PF_ERROR_FORMAT, tab[n - 1].name);

  g_free (data);
  g_rand_free (r);
  rm_rf (dir);
  g_free (path);
  g_free (dir);
}

/* ---- writer failures ---- */

static void
test_writer_failures (void)
{
  GError *error = NULL;
  char *dir = make_tmp_dir ();
  char *path = g_build_filename (dir, "w.h5", NULL);

  /* Unwritable or missing directories: refused at creation. /proc refuses even root. */
  const char *unwritable[] = { "/proc/pflow-test.h5", "/nonexistent-pflow-dir/x.h5", NULL };
  for (int i = 0; unwritable[i]; i++)
    {
      PfDatasetWriter *w = pf_dataset_writer_new (unwritable[i], NULL, S, 1, &error);
      g_assert_null (w);
      char *dname = g_path_get_dirname (unwritable[i]);
      assert_pf_error (error, PF_ERROR_IO, (const char *[]) { dname, NULL });
      g_free (dname);
      g_clear_error (&error);
    }
  if (geteuid () != 0)
    {
      char *ro = g_build_filename (dir, "ro", NULL);
      g_mkdir (ro, 0555);
      char *rp = g_build_filename (ro, "x.h5", NULL);
      g_assert_null (pf_dataset_writer_new (rp, NULL, S, 1, &error));
      assert_pf_error (error, PF_ERROR_IO, (const char *[]) { "ro", NULL });
      g_clear_error (&error);
      assert_dir_is (ro, "");
      g_rmdir (ro);
      g_free (rp);
      g_free (ro);
    }
  else
    g_test_message ("running as root: read-only directory case covered by /proc only");

  /* Bad options. */
  g_assert_null (pf_dataset_writer_new (path, NULL, S, 12, &error));
  assert_pf_error (error, PF_ERROR_INVALID, (const char *[]) { "compression level", NULL });
  g_clear_error (&error);

  /* An older file under the final name survives a failed write untouched. */
  g_assert_true (g_file_set_contents (path, "old", -1, NULL));

  /* NaN in the second append (inside a full chunk and then in the pending part). */
  GRand *r = g_rand_new_with_seed (12);
  for (int where = 0; where < 2; where++)
    {
      PfDatasetWriter *w = pf_dataset_writer_new (path, NULL, S, 1, &error);
      g_assert_no_error (error);
      float *a = random_block (r, PF_N_CHANNELS, 10);
      g_assert_true (pf_dataset_writer_append (w, 10, a, &error));
      g_assert_no_error (error);
      int64_t nb = 40;
      float *b = random_block (r, PF_N_CHANNELS, nb);
      int64_t e = where == 0 ? 20 : 38; /* global events 30 (full chunk) and 48 (pending) */
      b[((size_t) PF_CH_TRUTH * nb + e) * PER + 3 * S + 4] = INFINITY;
      g_assert_false (pf_dataset_writer_append (w, nb, b, &error));
      char *ev = g_strdup_printf ("event %" G_GINT64_FORMAT, 10 + e);
      assert_pf_error (error, PF_ERROR_NUMERIC, (const char *[]) { "truth", ev, "row 3 col 4",
                                                                   "infinite", NULL });
      g_free (ev);
      g_clear_error (&error);
      assert_dir_is (dir, "w.h5"); /* the temporary is already gone */
      g_assert_false (pf_dataset_writer_commit (w, &error));
      g_assert_error (error, PF_ERROR, PF_ERROR_IO);
      g_clear_error (&error);
      g_free (a);
      g_free (b);
    }
  gchar *old = NULL;
  g_assert_true (g_file_get_contents (path, &old, NULL, NULL));
  g_assert_cmpstr (old, ==, "old");
  g_free (old);

  /* N = 0: commit refuses and leaves nothing new. */
  PfDatasetWriter *w = pf_dataset_writer_new (path, NULL, S, 1, &error);
  g_assert_no_error (error);
  g_assert_false (pf_dataset_writer_commit (w, &error));
  assert_pf_error (error, PF_ERROR_INVALID, (const char *[]) { "w.h5", "no events", NULL });
  g_clear_error (&error);
  assert_dir_is (dir, "w.h5");

  /* Abort after data: temporary removed, old file untouched. */
  w = pf_dataset_writer_new (path, NULL, S, 0, &error);
  g_assert_no_error (error);
  float *a = random_block (r, PF_N_CHANNELS, 33);
  g_assert_true (pf_dataset_writer_append (w, 33, a, &error));
  char *listing = dir_listing (dir);
  g_assert_nonnull (strstr (listing, ".w.h5.tmp-")); /* written beside the target meanwhile */
  g_free (listing);
  pf_dataset_writer_abort (w);
  assert_dir_is (dir, "w.h5");
  g_assert_true (g_file_get_contents (path, &old, NULL, NULL));
  g_assert_cmpstr (old, ==, "old");
  g_free (old);

  /* And a successful commit replaces it. */
  w = pf_dataset_writer_new (path, NULL, S, 3, &error);
  g_assert_true (pf_dataset_writer_append (w, 33, a, &error));
  g_assert_true (pf_dataset_writer_commit (w, &error));
  g_assert_no_error (error);
  PfDataset *d = pf_dataset_open (path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (pf_dataset_n_events (d), ==, 33);
  pf_dataset_close (d);
  assert_dir_is (dir, "w.h5");

  g_free (a);
  g_rand_free (r);
  rm_rf (dir);
  g_free (path);
  g_free (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/data/roundtrip/default", test_roundtrip_default);
  g_test_add_func ("/data/roundtrip/raw-level0", test_roundtrip_raw);
  g_test_add_func ("/data/roundtrip/level6-shuffle-jet", test_roundtrip_level6_jet);
  g_test_add_func ("/data/roundtrip/chunk1", test_roundtrip_chunk1);
  g_test_add_func ("/data/roundtrip/all-levels", test_roundtrip_all_levels);
  g_test_add_func ("/data/roundtrip/simulated", test_roundtrip_sim);
  g_test_add_func ("/data/summary/progress-cancel", test_summary_progress_cancel);
  g_test_add_func ("/data/h5py", test_h5py_reads);
  g_test_add_func ("/data/tiff/roundtrip", test_tiff_roundtrip);
  g_test_add_func ("/data/tiff/bad", test_tiff_bad);
  g_test_add_func ("/data/bad/h5", test_bad_h5);
  g_test_add_func ("/data/bad/attrs", test_bad_attrs);
  g_test_add_func ("/data/bad/writer", test_writer_failures);
  return g_test_run ();
}
