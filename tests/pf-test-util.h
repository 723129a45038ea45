/* pf-test-util.h — helpers shared by the C tests: reference bundles written by the PyTorch
 * scripts in tests/ref/ (format in tests/ref/pfref.py), relative errors, and running those
 * scripts with Debian's /usr/bin/python3 (the test skips itself when torch is missing). */
#pragma once
#include <glib.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>
#include <stdio.h>

typedef struct {
  char *name;
  int ndim;
  int dims[8];
  size_t count;
  float *data;
} PfRefTensor;

typedef struct {
  GPtrArray *tensors; /* PfRefTensor* */
  char *path;
} PfRefBundle;

static inline void
pf_ref_tensor_free (gpointer p)
{
  PfRefTensor *t = p;
  g_free (t->name);
  g_free (t->data);
  g_free (t);
}

static inline PfRefBundle *
pf_ref_load (const char *path)
{
  gchar *buf = NULL;
  gsize len = 0;
  GError *error = NULL;
  if (!g_file_get_contents (path, &buf, &len, &error))
    g_error ("cannot read reference bundle: %s", error->message);
  g_assert_cmpuint (len, >=, 8);
  g_assert_true (memcmp (buf, "PFREF1\0\0", 8) == 0);
  PfRefBundle *b = g_new0 (PfRefBundle, 1);
  b->path = g_strdup (path);
  b->tensors = g_ptr_array_new_with_free_func (pf_ref_tensor_free);
  gsize off = 8;
  while (off < len)
    {
      guint32 ln, nd;
      g_assert_cmpuint (off + 4, <=, len);
      memcpy (&ln, buf + off, 4); off += 4;
      g_assert_cmpuint (off + ln + 4, <=, len);
      PfRefTensor *t = g_new0 (PfRefTensor, 1);
      t->name = g_strndup (buf + off, ln); off += ln;
      memcpy (&nd, buf + off, 4); off += 4;
      g_assert_cmpuint (nd, <=, 8);
      t->ndim = nd;
      t->count = 1;
      for (guint i = 0; i < nd; i++)
        {
          guint32 d;
          g_assert_cmpuint (off + 4, <=, len);
          memcpy (&d, buf + off, 4); off += 4;
          t->dims[i] = d;
          t->count *= d;
        }
      g_assert_cmpuint (off + 4 * t->count, <=, len);
      t->data = g_new (float, t->count ? t->count : 1);
      memcpy (t->data, buf + off, 4 * t->count);
      off += 4 * t->count;
      g_ptr_array_add (b->tensors, t);
    }
  g_free (buf);
  return b;
}

static inline void
pf_ref_free (PfRefBundle *b)
{
  g_ptr_array_unref (b->tensors);
  g_free (b->path);
  g_free (b);
}

/* The tensor called `name`, or NULL. */
static inline const PfRefTensor *
pf_ref_find (const PfRefBundle *b, const char *name)
{
  for (guint i = 0; i < b->tensors->len; i++)
    {
      const PfRefTensor *t = g_ptr_array_index (b->tensors, i);
      if (strcmp (t->name, name) == 0)
        return t;
    }
  return NULL;
}

/* The tensor called `name`; fails the test when it is missing. */
static inline const PfRefTensor *
pf_ref_get (const PfRefBundle *b, const char *name)
{
  const PfRefTensor *t = pf_ref_find (b, name);
  if (!t)
    g_error ("%s: no tensor '%s'", b->path, name);
  return t;
}

static inline int
pf_ref_int (const PfRefBundle *b, const char *name)
{
  return (int) lrintf (pf_ref_get (b, name)->data[0]);
}

static inline double
pf_ref_scalar (const PfRefBundle *b, const char *name)
{
  return pf_ref_get (b, name)->data[0];
}

/* ||a - ref|| / ||ref|| (absolute norm when ref is all zeros). */
static inline double
pf_rel_err (const float *a, const float *ref, size_t n)
{
  double num = 0, den = 0;
  for (size_t i = 0; i < n; i++)
    {
      double d = (double) a[i] - ref[i];
      num += d * d;
      den += (double) ref[i] * ref[i];
    }
  if (!isfinite (num))
    return INFINITY;
  return den > 0 ? sqrt (num / den) : sqrt (num);
}

/* Asserts rel err < tol and logs it. */
#define pf_assert_close(what, a, ref, n, tol) \
  G_STMT_START { \
    double _e = pf_rel_err ((a), (ref), (n)); \
    g_test_message ("%s: rel err %.3g (tol %.1g)", (what), _e, (double) (tol)); \
    if (!(_e < (tol))) \
      g_error ("%s: rel err %.3g >= %.1g", (what), _e, (double) (tol)); \
  } G_STMT_END

/* Under the host emulation of the GPU (tests/tools/cuda-emu; meson's cuda-emu suite sets
 * PF_CUDA_EMULATED) a timing means nothing and the largest models take hours of plain loops:
 * such a test calls this first, which skips it there and says why. */
static inline gboolean
pf_test_skip_if_emulated (const char *why)
{
  if (!g_getenv ("PF_CUDA_EMULATED"))
    return FALSE;
  char *msg = g_strdup_printf ("emulated GPU: %s", why);
  g_test_skip (msg);
  g_free (msg);
  return TRUE;
}

/* Path of a source file: meson sets PF_SOURCE_DIR for the tests. */
static inline char *
pf_test_source_path (const char *rel)
{
  const char *src = g_getenv ("PF_SOURCE_DIR");
  return g_build_filename (src ? src : ".", rel, NULL);
}

/* Runs /usr/bin/python3 SCRIPT --out DIR ARGS... with the script under tests/ref/.
 * Returns a new temporary directory holding what it wrote, or NULL after calling
 * g_test_skip() when python3 or torch is not available. Fails the test if the script fails. */
static inline char *
pf_test_run_reference (const char *script, const char *const *extra_args)
{
  const char *py = "/usr/bin/python3";
  if (!g_file_test (py, G_FILE_TEST_IS_EXECUTABLE))
    {
      g_test_skip ("no /usr/bin/python3: PyTorch reference not available");
      return NULL;
    }
  int status = 0;
  const char *probe[] = { py, "-c", "import torch, numpy", NULL };
  if (!g_spawn_sync (NULL, (char **) probe, NULL, G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL,
                     NULL, NULL, NULL, NULL, &status, NULL) || !g_spawn_check_wait_status (status, NULL))
    {
      g_test_skip ("python3-torch is not installed: PyTorch parity not checked (install it with scripts/install-deps.sh)");
      return NULL;
    }
  GError *error = NULL;
  char *dir = g_dir_make_tmp ("pflow-ref-XXXXXX", &error);
  g_assert_no_error (error);
  char *spath = g_strconcat ("tests/ref/", script, NULL);
  char *full = pf_test_source_path (spath);
  GPtrArray *argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (gpointer) py);
  g_ptr_array_add (argv, full);
  g_ptr_array_add (argv, (gpointer) "--out");
  g_ptr_array_add (argv, dir);
  for (int i = 0; extra_args && extra_args[i]; i++)
    g_ptr_array_add (argv, (gpointer) extra_args[i]);
  g_ptr_array_add (argv, NULL);
  char *err_out = NULL;
  if (!g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL,
                     NULL, &err_out, &status, &error))
    g_error ("cannot run %s: %s", full, error->message);
  if (!g_spawn_check_wait_status (status, NULL))
    g_error ("%s failed:\n%s", full, err_out);
  g_free (err_out);
  g_ptr_array_unref (argv);
  g_free (full);
  g_free (spath);
  return dir;
}

/* Removes a directory made by pf_test_run_reference and the files in it. */
static inline void
pf_test_rm_dir (const char *dir)
{
  GDir *d = g_dir_open (dir, 0, NULL);
  if (d)
    {
      const char *name;
      while ((name = g_dir_read_name (d)))
        {
          char *p = g_build_filename (dir, name, NULL);
          g_unlink (p);
          g_free (p);
        }
      g_dir_close (d);
    }
  g_rmdir (dir);
}

/* Writing bundles from C (inputs for a reference script). */
typedef struct {
  FILE *f;
  char *path;
} PfRefWriter;

static inline PfRefWriter *
pf_ref_writer_new (const char *path)
{
  PfRefWriter *w = g_new0 (PfRefWriter, 1);
  w->path = g_strdup (path);
  w->f = fopen (path, "wb");
  if (!w->f)
    g_error ("cannot write %s", path);
  fwrite ("PFREF1\0\0", 1, 8, w->f);
  return w;
}

static inline void
pf_ref_writer_add (PfRefWriter *w, const char *name, int ndim, const int *dims, const float *data)
{
  guint32 ln = strlen (name), nd = ndim;
  size_t count = 1;
  fwrite (&ln, 4, 1, w->f);
  fwrite (name, 1, ln, w->f);
  fwrite (&nd, 4, 1, w->f);
  for (int i = 0; i < ndim; i++)
    {
      guint32 d = dims[i];
      fwrite (&d, 4, 1, w->f);
      count *= dims[i];
    }
  fwrite (data, sizeof (float), count, w->f);
}

static inline void
pf_ref_writer_scalar (PfRefWriter *w, const char *name, float v)
{
  int one = 1;
  pf_ref_writer_add (w, name, 1, &one, &v);
}

static inline void
pf_ref_writer_close (PfRefWriter *w)
{
  if (fclose (w->f) != 0)
    g_error ("cannot write %s", w->path);
  g_free (w->path);
  g_free (w);
}

/* The whole program of a CUDA test built without CUDA: one test that skips and says what was
 * not checked (CI and any machine without the toolkit). */
#define PF_TEST_MAIN_WITHOUT_CUDA(path, what) \
  static void \
  pf_test_not_built (void) \
  { \
    g_test_skip ("built without CUDA (nvcc, cuDNN or cuBLAS not found): " what " not checked"); \
  } \
  int \
  main (int argc, char **argv) \
  { \
    g_test_init (&argc, &argv, NULL); \
    g_test_add_func (path, pf_test_not_built); \
    return g_test_run (); \
  }
