/* fuzz-replay.c — runs the fuzz target over files given on the command line or over every
 * file of a directory (the seed corpus and the inputs that once crashed), as a plain test. */
#include <glib.h>
#include <stdint.h>
#include <stdio.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static int
run_file (const char *path)
{
  gchar *buf = NULL;
  gsize len = 0;
  GError *error = NULL;
  if (!g_file_get_contents (path, &buf, &len, &error))
    {
      fprintf (stderr, "%s\n", error->message);
      g_error_free (error);
      return 1;
    }
  LLVMFuzzerTestOneInput ((const uint8_t *) buf, len);
  g_free (buf);
  return 0;
}

int
main (int argc, char **argv)
{
  int n = 0, bad = 0;
  for (int i = 1; i < argc; i++)
    {
      if (g_file_test (argv[i], G_FILE_TEST_IS_DIR))
        {
          GDir *d = g_dir_open (argv[i], 0, NULL);
          const char *name;
          while (d && (name = g_dir_read_name (d)))
            {
              char *p = g_build_filename (argv[i], name, NULL);
              bad += run_file (p);
              n++;
              g_free (p);
            }
          if (d)
            g_dir_close (d);
          else
            bad++;
        }
      else
        {
          bad += run_file (argv[i]);
          n++;
        }
    }
  printf ("replayed %d inputs\n", n);
  return bad || n == 0;
}
