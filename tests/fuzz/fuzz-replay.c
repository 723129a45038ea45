/* fuzz-replay.c — a fuzz target as a GLib test: one test case per file of corpus/<target>/
 * (the seeds and every input that once failed), so each build checks the readers on them
 * without clang or libFuzzer. A broken rule aborts inside the target: the test fails there. */
#include <glib.h>
#include <stdint.h>
#include <string.h>

#ifndef PF_FUZZ_TARGET
#error "PF_FUZZ_TARGET names the target (meson sets it)"
#endif

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
replay_file (gconstpointer user_data)
{
  const char *path = user_data;
  gchar *buf = NULL;
  gsize len = 0;
  GError *error = NULL;
  g_assert_true (g_file_get_contents (path, &buf, &len, &error));
  g_assert_no_error (error);
  /* libFuzzer hands its inputs over in exactly-sized buffers: keep that (ASan sees overreads) */
  guint8 *data = g_memdup2 (buf, len);
  g_free (buf);
  g_assert_cmpint (LLVMFuzzerTestOneInput (data, len), ==, 0);
  g_free (data);
}

static gint
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  if (argc != 2)
    g_error ("usage: %s [--tap] CORPUS_DIR", argv[0]);
  GError *error = NULL;
  GDir *d = g_dir_open (argv[1], 0, &error);
  if (!d)
    g_error ("%s", error->message);
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
  const char *name;
  while ((name = g_dir_read_name (d)))
    g_ptr_array_add (names, g_strdup (name));
  g_dir_close (d);
  if (names->len == 0)
    g_error ("%s: an empty corpus replays nothing", argv[1]);
  g_ptr_array_sort (names, compare_names);
  GPtrArray *paths = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < names->len; i++)
    {
      const char *n = g_ptr_array_index (names, i);
      char *path = g_build_filename (argv[1], n, NULL);
      g_ptr_array_add (paths, path);
      char *test = g_strdup_printf ("/fuzz/%s/%s", PF_FUZZ_TARGET, n);
      g_test_add_data_func (test, path, replay_file);
      g_free (test);
    }
  int rc = g_test_run ();
  g_ptr_array_unref (paths);
  g_ptr_array_unref (names);
  return rc;
}
