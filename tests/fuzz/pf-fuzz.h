/* pf-fuzz.h — what every fuzz target of tests/fuzz shares (docs/fuzzing.md).
 *
 * The readers take paths, so each input goes to one file per process, rewritten in place for
 * every input (a fuzzer runs thousands a second). The rule checked on every input is the
 * project's: the reader returns success, or FALSE with a GError whose message names the file;
 * anything else aborts, so libFuzzer (or the replay test) reports it as a crash. */
#pragma once
#include <glib.h>
#include <glib/gstdio.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

/* Not g_assert: it compiles away with G_DISABLE_ASSERT and must not here. */
#define PF_FUZZ_CHECK(cond, ...)                                                               \
  do                                                                                           \
    {                                                                                          \
      if (G_UNLIKELY (!(cond)))                                                                \
        {                                                                                      \
          fprintf (stderr, "%s:%d: fuzz check failed: %s: ", __FILE__, __LINE__, #cond);       \
          fprintf (stderr, __VA_ARGS__);                                                       \
          fputc ('\n', stderr);                                                                \
          abort ();                                                                            \
        }                                                                                      \
    }                                                                                          \
  while (0)

static char *pf_fuzz_dir_path;

static void
pf_fuzz_remove_dir (void)
{
  if (!pf_fuzz_dir_path)
    return;
  GDir *d = g_dir_open (pf_fuzz_dir_path, 0, NULL);
  const char *name;
  while (d && (name = g_dir_read_name (d)))
    {
      char *p = g_build_filename (pf_fuzz_dir_path, name, NULL);
      g_remove (p);
      g_free (p);
    }
  if (d)
    g_dir_close (d);
  g_rmdir (pf_fuzz_dir_path);
  g_clear_pointer (&pf_fuzz_dir_path, g_free);
}

/* The process's scratch folder, created on first use and removed at exit. */
static inline const char *
pf_fuzz_dir (void)
{
  if (!pf_fuzz_dir_path)
    {
      pf_fuzz_dir_path = g_dir_make_tmp ("pf-fuzz-XXXXXX", NULL);
      PF_FUZZ_CHECK (pf_fuzz_dir_path != NULL, "cannot create a temporary folder");
      atexit (pf_fuzz_remove_dir);
    }
  return pf_fuzz_dir_path;
}

/* A path in the scratch folder; the string lives until exit (one per name is cached). */
static inline const char *
pf_fuzz_path (const char *name)
{
  static GHashTable *paths;
  if (!paths)
    paths = g_hash_table_new (g_str_hash, g_str_equal);
  char *p = g_hash_table_lookup (paths, name);
  if (!p)
    {
      p = g_build_filename (pf_fuzz_dir (), name, NULL);
      g_hash_table_insert (paths, g_strdup (name), p);
    }
  return p;
}

/* Writes the input to `name` in the scratch folder (the same file every time) and returns
 * its path. */
static inline const char *
pf_fuzz_write_input (const char *name, const uint8_t *data, size_t size)
{
  const char *path = pf_fuzz_path (name);
  FILE *f = fopen (path, "wb");
  PF_FUZZ_CHECK (f != NULL, "cannot write %s", path);
  PF_FUZZ_CHECK (size == 0 || fwrite (data, 1, size, f) == size, "short write to %s", path);
  PF_FUZZ_CHECK (fclose (f) == 0, "cannot close %s", path);
  return path;
}

/* A failed call: its error must exist, have a message and name `path`. Frees the error. */
static inline void
pf_fuzz_check_error (GError **error, const char *path)
{
  PF_FUZZ_CHECK (*error != NULL, "failed without a GError (%s)", path);
  PF_FUZZ_CHECK ((*error)->message != NULL && (*error)->message[0],
                 "GError without a message (%s)", path);
  PF_FUZZ_CHECK (strstr ((*error)->message, path) != NULL,
                 "the message does not name the file %s: %s", path, (*error)->message);
  g_clear_error (error);
}
