/* fuzz-make-corpus.c — writes the seed inputs of the fuzz targets (pf-fuzz-seeds.c):
 *   fuzz-make-corpus DIR [TARGET...]
 * makes DIR/TARGET/ for each target (all by default). tests/fuzz/corpus/ was made with it,
 * plus tests/jets/corpus/ in hepmc3/, the inputs the fuzzers found (found-*), their merged
 * text corpora (grown-*) and header-4096-no-data.tiff, a seed with its size tags edited
 * (docs/fuzzing.md). */
#include <glib.h>
#include <glib/gstdio.h>
#include <errno.h>
#include <stdio.h>
#include "pf-fuzz-seeds.h"

int
main (int argc, char **argv)
{
  if (argc < 2)
    {
      fprintf (stderr, "usage: %s DIR [TARGET...]\n", argv[0]);
      return 2;
    }
  const char *const *targets = argc > 2 ? (const char *const *) argv + 2 : pf_fuzz_seed_targets;
  for (; *targets; targets++)
    {
      char *dir = g_build_filename (argv[1], *targets, NULL);
      GError *error = NULL;
      if (g_mkdir_with_parents (dir, 0777) != 0 || !pf_fuzz_seeds_write (*targets, dir, &error))
        {
          fprintf (stderr, "%s: %s\n", dir, error ? error->message : g_strerror (errno));
          return 1;
        }
      printf ("%s\n", dir);
      g_free (dir);
    }
  return 0;
}
