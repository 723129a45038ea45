/* pf-tiff-import.c — folder of TIFF images -> pflow dataset (see pf-tiff-import.h). */
#include "pf-tiff-import.h"
#include "pf-error.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <tiffio.h>
#include <glib/gstdio.h>

/* File prefixes in channel order (PF_CH_*). */
static const char *const tiff_prefix[PF_N_CHANNELS] = { "emcal", "hcal", "trkn", "trkp", "truth" };

/* Events read per writer call: a few MiB of buffer whatever the folder holds. */
#define IMPORT_BLOCK_BYTES (16u << 20)

/* libtiff's messages go to the GError of the file being read, not to stderr. */
static int
tiff_error_cb (TIFF *tif, void *user_data, const char *module, const char *fmt, va_list ap)
{
  GString *msg = user_data;
  if (msg->len == 0)
    g_string_append_vprintf (msg, fmt, ap);
  return 1;
}

static int
tiff_warning_cb (TIFF *tif, void *user_data, const char *module, const char *fmt, va_list ap)
{
  return 1;
}

/* Reads `path`. *S > 0 is the size it must have; otherwise the file's size is stored there.
 * `out` (S * S floats) may be NULL to only check the header. */
static gboolean
read_tiff (const char *path, int *S, float *out, GError **error)
{
  GString *msg = g_string_new (NULL);
  TIFFOpenOptions *opts = TIFFOpenOptionsAlloc ();
  TIFFOpenOptionsSetErrorHandlerExtR (opts, tiff_error_cb, msg);
  TIFFOpenOptionsSetWarningHandlerExtR (opts, tiff_warning_cb, NULL);
  TIFF *tif = TIFFOpenExt (path, "r", opts);
  TIFFOpenOptionsFree (opts);
  gboolean ok = FALSE;
  uint8_t *line = NULL;
  if (!tif)
    {
      g_set_error (error, PF_ERROR, g_file_test (path, G_FILE_TEST_EXISTS) ? PF_ERROR_FORMAT
                   : PF_ERROR_IO, "%s: cannot read as TIFF: %s", path,
                   msg->len ? msg->str : "unknown error");
      goto out;
    }
  uint32_t width = 0, height = 0;
  uint16_t spp = 1, bps = 1, fmt = SAMPLEFORMAT_UINT;
  TIFFGetField (tif, TIFFTAG_IMAGEWIDTH, &width);
  TIFFGetField (tif, TIFFTAG_IMAGELENGTH, &height);
  TIFFGetFieldDefaulted (tif, TIFFTAG_SAMPLESPERPIXEL, &spp);
  TIFFGetFieldDefaulted (tif, TIFFTAG_BITSPERSAMPLE, &bps);
  TIFFGetFieldDefaulted (tif, TIFFTAG_SAMPLEFORMAT, &fmt);
  if (spp != 1)
    {
      g_set_error (error, PF_ERROR, PF_ERROR_FORMAT,
                   "%s: %u samples per pixel, expected 1 (a single channel)", path, spp);
      goto out;
    }
  gboolean is_float = bps == 32 && fmt == SAMPLEFORMAT_IEEEFP;
  gboolean is_u8 = bps == 8 && fmt == SAMPLEFORMAT_UINT;
  if (!is_float && !is_u8)
    {
      const char *kind = fmt == SAMPLEFORMAT_IEEEFP ? "float" : fmt == SAMPLEFORMAT_INT ? "signed"
                         : fmt == SAMPLEFORMAT_UINT ? "unsigned" : "other";
      g_set_error (error, PF_ERROR, PF_ERROR_FORMAT,
                   "%s: %u-bit %s samples, expected 32-bit float or 8-bit unsigned", path, bps,
                   kind);
      goto out;
    }
  if (width == 0 || width != height || width > 4096 || (*S > 0 && width != (uint32_t) *S))
    {
      if (*S > 0)
        g_set_error (error, PF_ERROR, PF_ERROR_SHAPE, "%s: image is %ux%u, expected %dx%d",
                     path, width, height, *S, *S);
      else
        g_set_error (error, PF_ERROR, PF_ERROR_SHAPE,
                     "%s: image is %ux%u, expected a square of at most 4096x4096", path, width,
                     height);
      goto out;
    }
  tdir_t pages = TIFFNumberOfDirectories (tif);
  if (pages != 1)
    {
      g_set_error (error, PF_ERROR, PF_ERROR_FORMAT, "%s: %u pages, expected 1", path,
                   (unsigned) pages);
      goto out;
    }
  *S = (int) width;
  if (!out)
    {
      ok = TRUE;
      goto out;
    }

  const size_t bpp = bps / 8, n = width;
  if (TIFFIsTiled (tif))
    {
      uint32_t tw = 0, th = 0;
      TIFFGetField (tif, TIFFTAG_TILEWIDTH, &tw);
      TIFFGetField (tif, TIFFTAG_TILELENGTH, &th);
      tmsize_t tsize = TIFFTileSize (tif);
      /* The tile buffer is allocated from the header: an 8x8 image declaring 2^20 x 2^20
       * tiles asked for 4 TiB. No tile needs to be larger than the largest image. */
      if (tw > 4096 || th > 4096)
        {
          g_set_error (error, PF_ERROR, PF_ERROR_FORMAT,
                       "%s: tiles of %ux%u, expected at most 4096x4096", path, tw, th);
          goto out;
        }
      if (tw == 0 || th == 0 || tsize != (tmsize_t) ((size_t) tw * th * bpp))
        {
          g_set_error (error, PF_ERROR, PF_ERROR_FORMAT, "%s: unsupported tile layout", path);
          goto out;
        }
      line = g_malloc (tsize);
      for (uint32_t y = 0; y < height; y += th)
        for (uint32_t x = 0; x < width; x += tw)
          {
            if (TIFFReadTile (tif, line, x, y, 0, 0) < 0)
              {
                g_set_error (error, PF_ERROR, PF_ERROR_FORMAT, "%s: cannot read tile at (%u, %u): %s",
                             path, x, y, msg->len ? msg->str : "corrupt data");
                goto out;
              }
            for (uint32_t r = 0; r < th && y + r < height; r++)
              for (uint32_t c = 0; c < tw && x + c < width; c++)
                {
                  const uint8_t *p = line + ((size_t) r * tw + c) * bpp;
                  float v;
                  if (is_float)
                    memcpy (&v, p, 4);
                  else
                    v = *p;
                  out[(size_t) (y + r) * n + x + c] = v;
                }
          }
    }
  else
    {
      tmsize_t lsize = TIFFScanlineSize (tif);
      if (lsize != (tmsize_t) (n * bpp))
        {
          g_set_error (error, PF_ERROR, PF_ERROR_FORMAT, "%s: unexpected scanline of %lld bytes",
                       path, (long long) lsize);
          goto out;
        }
      line = g_malloc (lsize);
      for (uint32_t y = 0; y < height; y++)
        {
          if (TIFFReadScanline (tif, line, y, 0) < 0)
            {
              g_set_error (error, PF_ERROR, PF_ERROR_FORMAT, "%s: cannot read row %u: %s", path, y,
                           msg->len ? msg->str : "corrupt or truncated data");
              goto out;
            }
          float *dst = out + (size_t) y * n;
          if (is_float)
            memcpy (dst, line, n * 4);
          else
            for (size_t c = 0; c < n; c++)
              dst[c] = line[c];
        }
    }
  for (size_t i = 0; i < n * n; i++)
    if (!isfinite (out[i]))
      {
        g_set_error (error, PF_ERROR, PF_ERROR_NUMERIC,
                     "%s: row %zu col %zu holds %s, expected a finite value", path, i / n, i % n,
                     isnan (out[i]) ? "NaN" : "an infinite value");
        goto out;
      }
  ok = TRUE;
out:
  g_free (line);
  if (tif)
    TIFFClose (tif);
  g_string_free (msg, TRUE);
  return ok;
}

float *
pf_tiff_read_image (const char *path, int *size, GError **error)
{
  int S = 0;
  if (!read_tiff (path, &S, NULL, error))
    return NULL;
  float *img = g_new (float, (size_t) S * S);
  if (!read_tiff (path, &S, img, error))
    {
      g_free (img);
      return NULL;
    }
  *size = S;
  return img;
}

static char *
tiff_path (const char *dir, int ch, int64_t event)
{
  char name[64];
  snprintf (name, sizeof name, "%s_%" G_GINT64_FORMAT ".tiff", tiff_prefix[ch], event);
  return g_build_filename (dir, name, NULL);
}

gboolean
pf_tiff_import_dir (const char *dir, const char *out_h5, int compression_level,
                    PfDatasetProgressFunc progress, gpointer user_data,
                    const volatile gint *cancel, GError **error)
{
  g_return_val_if_fail (dir != NULL && out_h5 != NULL, FALSE);
  if (!g_file_test (dir, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, PF_ERROR, PF_ERROR_IO, "%s: not a folder", dir);
      return FALSE;
    }
  /* N = consecutive emcal files from 0; then every other channel must have all of them, checked
   * before anything is written. */
  int64_t n = 0;
  for (;; n++)
    {
      char *p = tiff_path (dir, PF_CH_EMCAL, n);
      gboolean exists = g_file_test (p, G_FILE_TEST_EXISTS);
      g_free (p);
      if (!exists)
        break;
    }
  if (n == 0)
    {
      char *p = tiff_path (dir, PF_CH_EMCAL, 0);
      g_set_error (error, PF_ERROR, PF_ERROR_IO,
                   "%s: no TIFF images (expected %s and hcal_0, trkn_0, trkp_0, truth_0.tiff)",
                   dir, p);
      g_free (p);
      return FALSE;
    }
  for (int64_t e = 0; e < n; e++)
    for (int c = 1; c < PF_N_CHANNELS; c++)
      {
        char *p = tiff_path (dir, c, e);
        gboolean exists = g_file_test (p, G_FILE_TEST_IS_REGULAR);
        if (!exists)
          g_set_error (error, PF_ERROR, PF_ERROR_IO,
                       "%s: missing (the folder has %" G_GINT64_FORMAT " emcal images, so every "
                       "channel needs files 0..%" G_GINT64_FORMAT ")", p, n, n - 1);
        g_free (p);
        if (!exists)
          return FALSE;
      }
  int S = 0;
  char *first = tiff_path (dir, PF_CH_EMCAL, 0);
  gboolean ok = read_tiff (first, &S, NULL, error);
  g_free (first);
  if (!ok)
    return FALSE;

  PfDatasetWriterOptions o;
  pf_dataset_writer_options_init (&o);
  o.image_size = S;
  o.compression_level = compression_level < 0 ? PF_DATASET_DEFAULT_LEVEL : compression_level;
  o.source = "tiff-import";
  PfDatasetWriter *w = pf_dataset_writer_new_full (out_h5, NULL, &o, error);
  if (!w)
    return FALSE;
  char *folder = g_path_get_basename (dir);
  ok = pf_dataset_writer_set_attr_string (w, "tiff_folder", folder, error);
  g_free (folder);

  const size_t per = (size_t) S * S;
  int64_t B = MAX (1, (int64_t) (IMPORT_BLOCK_BYTES / (PF_N_CHANNELS * per * sizeof (float))));
  B = MIN (B, n);
  float *block = g_new (float, (size_t) B * PF_N_CHANNELS * per);
  for (int64_t start = 0; ok && start < n; start += B)
    {
      if (cancel && *cancel)
        {
          g_set_error (error, PF_ERROR, PF_ERROR_CANCELLED, "%s: import cancelled", dir);
          ok = FALSE;
          break;
        }
      int64_t nb = MIN (B, n - start);
      for (int64_t e = 0; ok && e < nb; e++)
        for (int c = 0; ok && c < PF_N_CHANNELS; c++)
          {
            char *p = tiff_path (dir, c, start + e);
            int s = S;
            ok = read_tiff (p, &s, block + ((size_t) c * nb + e) * per, error);
            g_free (p);
          }
      ok = ok && pf_dataset_writer_append (w, nb, block, error);
      if (ok && progress)
        progress (start + nb, n, user_data);
    }
  g_free (block);
  if (!ok)
    {
      pf_dataset_writer_abort (w);
      return FALSE;
    }
  return pf_dataset_writer_commit (w, error);
}
