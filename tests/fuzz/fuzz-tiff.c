/* fuzz-tiff.c — the TIFF reader of `pflow import-tiff`: pf_tiff_read_image on the input, and
 * when that reads an image, pf_tiff_import_dir on a folder whose five channel files are the
 * input, then the imported dataset opened again. The reader must return S x S finite floats
 * or a GError naming the file; a failed import must leave no file at all behind. */
#include "pf-fuzz.h"
#include "pf-dataset.h"
#include "pf-tiff-import.h"
#include <math.h>
#include <unistd.h>

static const char *const names[] = { "emcal_0.tiff", "hcal_0.tiff", "trkn_0.tiff",
                                     "trkp_0.tiff", "truth_0.tiff" };

/* The import folder: emcal_0.tiff is the input, the other channels link to it. */
static const char *
import_dir (void)
{
  static char *dir;
  if (!dir)
    {
      dir = g_build_filename (pf_fuzz_dir (), "import", NULL);
      PF_FUZZ_CHECK (g_mkdir (dir, 0700) == 0, "cannot create %s", dir);
      for (guint i = 1; i < G_N_ELEMENTS (names); i++)
        {
          char *link = g_build_filename (dir, names[i], NULL);
          PF_FUZZ_CHECK (symlink (names[0], link) == 0, "cannot link %s", link);
          g_free (link);
        }
    }
  return dir;
}

/* Only the five inputs (and `keep`, when not NULL) may be in the folder. */
static void
check_folder (const char *dir, const char *keep)
{
  GDir *d = g_dir_open (dir, 0, NULL);
  const char *name;
  while (d && (name = g_dir_read_name (d)))
    {
      gboolean known = !g_strcmp0 (name, keep);
      for (guint i = 0; i < G_N_ELEMENTS (names); i++)
        known = known || !strcmp (name, names[i]);
      PF_FUZZ_CHECK (known, "the import left %s in %s", name, dir);
    }
  if (d)
    g_dir_close (d);
}

static void
check_import (const uint8_t *data, size_t size, int S)
{
  const char *dir = import_dir ();
  char *in = g_build_filename (dir, names[0], NULL);
  char *out = g_build_filename (dir, "out.h5", NULL);
  FILE *f = fopen (in, "wb");
  PF_FUZZ_CHECK (f && fwrite (data, 1, size, f) == size && fclose (f) == 0, "cannot write %s", in);
  GError *error = NULL;
  if (pf_tiff_import_dir (dir, out, 0, NULL, NULL, NULL, &error))
    {
      check_folder (dir, "out.h5");
      PfDataset *d = pf_dataset_open (out, &error);
      PF_FUZZ_CHECK (d != NULL, "the import wrote %s but it does not open: %s", out,
                     error->message);
      PF_FUZZ_CHECK (pf_dataset_n_events (d) == 1 && pf_dataset_image_size (d) == S,
                     "the import of one %dx%d event wrote [%" G_GINT64_FORMAT ",%d,%d]", S, S,
                     pf_dataset_n_events (d), pf_dataset_image_size (d),
                     pf_dataset_image_size (d));
      pf_dataset_close (d);
      g_remove (out);
    }
  else
    {
      /* the error names the folder or the image */
      PF_FUZZ_CHECK (error && strstr (error->message, dir), "import error without the folder: %s",
                     error ? error->message : "(none)");
      g_clear_error (&error);
      check_folder (dir, NULL);
    }
  g_free (in);
  g_free (out);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  const char *path = pf_fuzz_write_input ("input.tiff", data, size);
  GError *error = NULL;
  int S = -1;
  float *img = pf_tiff_read_image (path, &S, &error);
  if (!img)
    {
      pf_fuzz_check_error (&error, path);
      return 0;
    }
  PF_FUZZ_CHECK (S >= 1 && S <= 4096, "image size %d", S);
  for (size_t i = 0; i < (size_t) S * S; i++)
    PF_FUZZ_CHECK (isfinite (img[i]), "pixel %zu of %s is not finite", i, path);
  g_free (img);
  /* one import per image that reads: the writer round trip costs more than a read */
  check_import (data, size, S);
  return 0;
}
