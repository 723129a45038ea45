/* pf-dataset-writer.c — the streaming dataset writer (see pf-dataset.h).
 *
 * Speed: HDF5's own deflate filter runs zlib on one core. We deflate whole chunks ourselves
 * on every core, after the byte shuffle when asked, then hand the finished chunks to
 * H5Dwrite_chunk, serially since HDF5 is not thread-safe. Level 1 uses ISA-L's igzip (level 1,
 * ~2.4x libdeflate level 1's speed for 3% less ratio), levels 2-9 libdeflate at the same level
 * (several times faster than zlib at the same ratio); see PF_DATASET_DEFAULT_LEVEL. Both write
 * a plain zlib stream (isal_deflate_stateless with IGZIP_ZLIB, libdeflate_zlib_compress),
 * exactly what HDF5's deflate filter decodes, and the pipeline declared on the dataset is the
 * standard one ([shuffle,] deflate), so any reader copes. Compressor state (libdeflate
 * compressors, or ISA-L streams with their level buffers) is allocated once per writer and
 * thread, never per chunk. */
#include "pf-dataset.h"
#include "pf-error.h"
#include "pf-h5-private.h"

#include <errno.h>
#include <fcntl.h>
#include <isa-l/igzip_lib.h>
#include <libdeflate.h>
#include <math.h>
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>
#ifdef _OPENMP
#include <omp.h>
#endif

/* ISA-L level used for each of our levels 0..9, or -1 for libdeflate at that level (level 0
 * writes no filter at all). Measured single-core on 2,000 simulated events, no shuffle:
 * ISA-L 0 596 MB/s ratio 2.73, ISA-L 1 531 MB/s 3.13, ISA-L 2 498 MB/s 3.14, ISA-L 3 259 MB/s
 * 3.08; libdeflate 1 224 MB/s 3.24, 2 185 MB/s 3.25, 6 118 MB/s 3.31. ISA-L 1 is the fast
 * point; ISA-L 0 buys 12% speed for 13% larger files, ISA-L 2 is ISA-L 1 again, ISA-L 3 is
 * slower than libdeflate 1 and compresses less, so none of them gets a level. */
static const int isal_level_of[10] = { -1, 1, -1, -1, -1, -1, -1, -1, -1, -1 };

/* Level buffer ISA-L asks for at each of its levels (none at 0). */
static uint32_t
isal_level_buf_size (int isal_level)
{
  switch (isal_level)
    {
    case 1:
      return ISAL_DEF_LVL1_DEFAULT;
    case 2:
      return ISAL_DEF_LVL2_DEFAULT;
    case 3:
      return ISAL_DEF_LVL3_DEFAULT;
    default:
      return 0;
    }
}

typedef struct {
  int ch;
  int64_t chunk;    /* chunk index along events */
  const float *src; /* chunk_events * S * S floats */
} ChunkJob;

struct _PfDatasetWriter {
  char *path;
  char *tmp_path;
  hid_t file;
  hid_t dset[PF_DATASET_MAX_CHANNELS];
  int n_channels, S, level, chunk_events, n_threads;
  gboolean shuffle;
  size_t chunk_floats;
  int64_t n_events;  /* appended so far */
  int64_t n_chunks;  /* full chunks on disk */
  float *pending;    /* [n_channels][chunk_events][S*S]: the chunk being filled */
  int pending_n;
  int isal_level;                      /* ISA-L level, or -1: libdeflate (level > 0) */
  struct libdeflate_compressor **comp; /* one per thread (libdeflate levels) */
  struct isal_zstream **zs;            /* one per thread (ISA-L levels) */
  uint8_t **level_buf;                 /* ISA-L level buffer per thread */
  uint32_t level_buf_size;
  uint8_t **scratch;                   /* one shuffle buffer per thread */
  ChunkJob *jobs;
  uint8_t **out;
  size_t *out_size;
  int batch_cap;
  size_t out_cap;
  gboolean failed;
};

void
pf_dataset_writer_options_init (PfDatasetWriterOptions *o)
{
  memset (o, 0, sizeof *o);
  o->image_size = 56;
  o->n_channels = PF_N_CHANNELS;
  o->compression_level = PF_DATASET_DEFAULT_LEVEL;
  o->chunk_events = PF_DATASET_DEFAULT_CHUNK_EVENTS;
  o->shuffle = FALSE;
}

static void
writer_free (PfDatasetWriter *w)
{
  for (int t = 0; w->comp && t < w->n_threads; t++)
    if (w->comp[t])
      libdeflate_free_compressor (w->comp[t]);
  for (int t = 0; w->zs && t < w->n_threads; t++)
    g_free (w->zs[t]);
  for (int t = 0; w->level_buf && t < w->n_threads; t++)
    g_free (w->level_buf[t]);
  for (int t = 0; w->scratch && t < w->n_threads; t++)
    g_free (w->scratch[t]);
  for (int j = 0; w->out && j < w->batch_cap; j++)
    g_free (w->out[j]);
  g_free (w->comp);
  g_free (w->zs);
  g_free (w->level_buf);
  g_free (w->scratch);
  g_free (w->out);
  g_free (w->out_size);
  g_free (w->jobs);
  g_free (w->pending);
  g_free (w->path);
  g_free (w->tmp_path);
  g_free (w);
}

/* Closes the HDF5 handles; TRUE when all closed cleanly (a failed close may lose data). */
static gboolean
writer_close_h5 (PfDatasetWriter *w)
{
  gboolean ok = TRUE;
  for (int c = 0; c < PF_DATASET_MAX_CHANNELS; c++)
    if (w->dset[c] >= 0)
      {
        ok &= H5Dclose (w->dset[c]) >= 0;
        w->dset[c] = -1;
      }
  if (w->file >= 0)
    {
      ok &= H5Fclose (w->file) >= 0;
      w->file = -1;
    }
  return ok;
}

/* Any error: drop the temporary at once so nothing partial survives even if the caller
 * forgets to abort. */
static void
writer_fail (PfDatasetWriter *w)
{
  writer_close_h5 (w);
  H5Eclear2 (H5E_DEFAULT);
  if (w->tmp_path)
    g_unlink (w->tmp_path);
  w->failed = TRUE;
}

static gboolean
set_h5_error (PfDatasetWriter *w, GError **error, const char *what)
{
  char *m = _pf_h5_error_message ();
  g_set_error (error, PF_ERROR, PF_ERROR_IO, "%s: %s: %s", w->path, what, m);
  g_free (m);
  writer_fail (w);
  return FALSE;
}

static gboolean
write_param_attrs (PfDatasetWriter *w, const PfSimParams *p)
{
  guint n = 0;
  const PfSimParamInfo *tab = pf_sim_param_table (&n);
  gboolean ok = TRUE, have_seed = FALSE;
  hid_t btype = _pf_h5_bool_type ();
  for (guint i = 0; ok && i < n; i++)
    {
      const char *base = (const char *) p + tab[i].offset;
      switch (tab[i].type)
        {
        case PF_PARAM_DOUBLE:
          ok = _pf_h5_attr_write (w->file, tab[i].name, H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, base);
          break;
        case PF_PARAM_INT:
          ok = _pf_h5_attr_write (w->file, tab[i].name, H5T_NATIVE_INT, H5T_STD_I32LE, base);
          break;
        case PF_PARAM_BOOL:
          {
            int8_t b = *(const gboolean *) base ? 1 : 0;
            ok = _pf_h5_attr_write (w->file, tab[i].name, btype, btype, &b);
          }
          break;
        case PF_PARAM_U64:
          ok = _pf_h5_attr_write (w->file, tab[i].name, H5T_NATIVE_UINT64, H5T_STD_U64LE, base);
          break;
        default:
          ok = FALSE;
        }
      have_seed |= strcmp (tab[i].name, "seed") == 0;
    }
  H5Tclose (btype);
  if (ok && !have_seed)
    ok = _pf_h5_attr_write (w->file, "seed", H5T_NATIVE_UINT64, H5T_STD_U64LE, &p->seed);
  int gv = PF_SIM_GENERATOR_VERSION;
  ok = ok && _pf_h5_attr_write_string (w->file, "generator", PF_SIM_GENERATOR_NAME)
       && _pf_h5_attr_write (w->file, "generator_version", H5T_NATIVE_INT, H5T_STD_I32LE, &gv);
  return ok;
}

PfDatasetWriter *
pf_dataset_writer_new (const char *path, const PfSimParams *params, int image_size,
                       int compression_level, GError **error)
{
  PfDatasetWriterOptions o;
  pf_dataset_writer_options_init (&o);
  o.image_size = image_size;
  o.compression_level = compression_level;
  return pf_dataset_writer_new_full (path, params, &o, error);
}

PfDatasetWriter *
pf_dataset_writer_new_full (const char *path, const PfSimParams *params,
                            const PfDatasetWriterOptions *o, GError **error)
{
  g_return_val_if_fail (path != NULL && o != NULL, NULL);
  _pf_h5_quiet ();
  int C = o->chunk_events > 0 ? o->chunk_events : PF_DATASET_DEFAULT_CHUNK_EVENTS;
  if (o->image_size < 1 || o->image_size > 4096)
    {
      g_set_error (error, PF_ERROR, PF_ERROR_INVALID, "%s: image size %d outside 1..4096",
                   path, o->image_size);
      return NULL;
    }
  if (o->n_channels != PF_N_CHANNELS && o->n_channels != PF_DATASET_MAX_CHANNELS)
    {
      g_set_error (error, PF_ERROR, PF_ERROR_INVALID, "%s: %d channels, expected %d or %d",
                   path, o->n_channels, PF_N_CHANNELS, PF_DATASET_MAX_CHANNELS);
      return NULL;
    }
  if (o->compression_level < 0 || o->compression_level > 9)
    {
      g_set_error (error, PF_ERROR, PF_ERROR_INVALID,
                   "%s: compression level %d outside 0..9", path, o->compression_level);
      return NULL;
    }
  /* HDF5 caps a chunk at 4 GiB; stay far below so a chunk stays a cache-sized unit. */
  if ((double) C * o->image_size * o->image_size * sizeof (float) > 256.0 * 1024 * 1024)
    {
      g_set_error (error, PF_ERROR, PF_ERROR_INVALID, "%s: chunk of %d events is too large",
                   path, C);
      return NULL;
    }
  if (params)
    {
      if (!pf_sim_params_validate (params, error))
        return NULL;
      if (params->image_size != o->image_size)
        {
          g_set_error (error, PF_ERROR, PF_ERROR_SHAPE,
                       "%s: simulator image size %d differs from the dataset's %d",
                       path, params->image_size, o->image_size);
          return NULL;
        }
    }
  if (g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, PF_ERROR, PF_ERROR_IO, "%s: is a directory", path);
      return NULL;
    }

  PfDatasetWriter *w = g_new0 (PfDatasetWriter, 1);
  w->path = g_strdup (path);
  w->file = -1;
  for (int c = 0; c < PF_DATASET_MAX_CHANNELS; c++)
    w->dset[c] = -1;
  w->n_channels = o->n_channels;
  w->S = o->image_size;
  w->level = o->compression_level;
  w->isal_level = isal_level_of[w->level];
  w->shuffle = o->shuffle && w->level > 0;
  w->chunk_events = C;
  w->chunk_floats = (size_t) C * w->S * w->S;
  w->n_threads = o->n_threads > 0 ? o->n_threads : (int) g_get_num_processors ();

  /* The temporary sits beside the target so the final rename stays on one file system. */
  char *dir = g_path_get_dirname (path);
  char *base = g_path_get_basename (path);
  char *tmpl_name = g_strdup_printf (".%s.tmp-XXXXXX", base);
  w->tmp_path = g_build_filename (dir, tmpl_name, NULL);
  g_free (tmpl_name);
  g_free (base);
  int fd = g_mkstemp_full (w->tmp_path, O_RDWR | O_CLOEXEC, 0666);
  if (fd < 0)
    {
      int e = errno;
      g_set_error (error, PF_ERROR, PF_ERROR_IO, "%s: cannot create a file in %s: %s",
                   path, dir, g_strerror (e));
      g_free (dir);
      g_free (w->tmp_path);
      w->tmp_path = NULL;
      writer_free (w);
      return NULL;
    }
  close (fd);
  g_free (dir);

  w->file = H5Fcreate (w->tmp_path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  if (w->file < 0)
    {
      set_h5_error (w, error, "cannot create the HDF5 file");
      writer_free (w);
      return NULL;
    }

  hsize_t dims[3] = { 0, w->S, w->S };
  hsize_t maxdims[3] = { H5S_UNLIMITED, w->S, w->S };
  hsize_t chunk[3] = { C, w->S, w->S };
  hid_t space = H5Screate_simple (3, dims, maxdims);
  hid_t dcpl = H5Pcreate (H5P_DATASET_CREATE);
  gboolean ok = space >= 0 && dcpl >= 0 && H5Pset_chunk (dcpl, 3, chunk) >= 0;
  if (ok && w->shuffle)
    ok = H5Pset_shuffle (dcpl) >= 0;
  if (ok && w->level > 0)
    ok = H5Pset_deflate (dcpl, w->level) >= 0;
  for (int c = 0; ok && c < w->n_channels; c++)
    {
      w->dset[c] = H5Dcreate2 (w->file, pf_dataset_channel_name (c), H5T_IEEE_F32LE, space,
                               H5P_DEFAULT, dcpl, H5P_DEFAULT);
      ok = w->dset[c] >= 0 && _pf_h5_attr_write_string (w->dset[c], "units", "GeV")
           && _pf_h5_attr_write_string (w->dset[c], "axes", "event,eta,phi");
    }
  /* Closing clears HDF5's error stack: keep its message first. */
  char *h5msg = ok ? NULL : _pf_h5_error_message ();
  if (space >= 0)
    H5Sclose (space);
  if (dcpl >= 0)
    H5Pclose (dcpl);
  const char *source = o->source ? o->source : params ? "pflow-sim" : "unknown";
  ok = ok && _pf_h5_attr_write_string (w->file, "source", source)
       && _pf_h5_attr_write_string (w->file, "pflow_version", PF_VERSION)
       && (!params || write_param_attrs (w, params));
  if (!ok)
    {
      if (h5msg)
        {
          g_set_error (error, PF_ERROR, PF_ERROR_IO, "%s: cannot create the datasets: %s",
                       path, h5msg);
          writer_fail (w);
        }
      else
        set_h5_error (w, error, "cannot write the attributes");
      g_free (h5msg);
      writer_free (w);
      return NULL;
    }

  w->pending = g_new0 (float, w->chunk_floats * w->n_channels);
  w->batch_cap = MAX (4 * w->n_threads, 2 * w->n_channels);
  w->jobs = g_new (ChunkJob, w->batch_cap);
  if (w->level > 0)
    {
      const size_t bytes = w->chunk_floats * sizeof (float);
      w->scratch = g_new0 (uint8_t *, w->n_threads);
      if (w->isal_level >= 0)
        {
          w->zs = g_new0 (struct isal_zstream *, w->n_threads);
          w->level_buf = g_new0 (uint8_t *, w->n_threads);
          w->level_buf_size = isal_level_buf_size (w->isal_level);
        }
      else
        w->comp = g_new0 (struct libdeflate_compressor *, w->n_threads);
      for (int t = 0; t < w->n_threads; t++)
        {
          if (w->isal_level >= 0)
            {
              w->zs[t] = g_new0 (struct isal_zstream, 1);
              if (w->level_buf_size > 0)
                w->level_buf[t] = g_malloc (w->level_buf_size);
            }
          else
            w->comp[t] = libdeflate_alloc_compressor (w->level);
          if (w->shuffle)
            w->scratch[t] = g_malloc (bytes);
        }
      /* isal_deflate_stateless falls back to stored blocks when data does not compress: the
       * input plus a 5-byte header per 64 KiB block and the zlib header and trailer. Both
       * bounds stay far below 4 GiB (chunks are at most 256 MiB), as ISA-L's 32-bit avail_out
       * needs. */
      w->out_cap = w->isal_level >= 0 ? bytes + 5 * (bytes / 65535 + 1) + 1024
                                       : libdeflate_zlib_compress_bound (w->comp[0], bytes);
      w->out = g_new0 (uint8_t *, w->batch_cap);
      w->out_size = g_new0 (size_t, w->batch_cap);
      for (int j = 0; j < w->batch_cap; j++)
        w->out[j] = g_malloc (w->out_cap);
    }
  return w;
}

gboolean
pf_dataset_writer_set_attr_string (PfDatasetWriter *w, const char *name, const char *value,
                                   GError **error)
{
  g_return_val_if_fail (w && name && value, FALSE);
  if (w->failed)
    {
      g_set_error (error, PF_ERROR, PF_ERROR_IO, "%s: the writer already failed", w->path);
      return FALSE;
    }
  _pf_h5_quiet ();
  if (!_pf_h5_attr_write_string (w->file, name, value))
    {
      char *what = g_strdup_printf ("cannot write attribute '%s'", name);
      set_h5_error (w, error, what);
      g_free (what);
      return FALSE;
    }
  return TRUE;
}

/* Index of the first non-finite value in x[0..n), or -1. */
static int64_t
first_non_finite (const float *x, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (!isfinite (x[i]))
      return (int64_t) i;
  return -1;
}

static gboolean
non_finite_error (PfDatasetWriter *w, int ch, int64_t event, size_t pixel, float v,
                  GError **error)
{
  g_set_error (error, PF_ERROR, PF_ERROR_NUMERIC,
               "%s: dataset '%s' event %" G_GINT64_FORMAT " row %zu col %zu: %s value, "
               "expected finite numbers", w->path, pf_dataset_channel_name (ch), event,
               pixel / w->S, pixel % w->S, isnan (v) ? "NaN" : "infinite");
  writer_fail (w);
  return FALSE;
}

/* One chunk through ISA-L with thread t's stream into `out` (w->out_cap bytes): the size of the
 * zlib stream, or 0 on failure. The stream is re-initialised per chunk (that only resets
 * fields); its memory and the level buffer were allocated with the writer. */
static size_t
isal_compress (PfDatasetWriter *w, int t, const void *in, size_t n, uint8_t *out)
{
  struct isal_zstream *z = w->zs[t];
  isal_deflate_stateless_init (z);
  z->level = (uint32_t) w->isal_level;
  z->level_buf = w->level_buf[t];
  z->level_buf_size = w->level_buf_size;
  z->gzip_flag = IGZIP_ZLIB;
  z->flush = NO_FLUSH;
  z->end_of_stream = 1;
  z->next_in = (uint8_t *) (uintptr_t) in;
  z->avail_in = (uint32_t) n;
  z->next_out = out;
  z->avail_out = (uint32_t) w->out_cap;
  if (isal_deflate_stateless (z) != COMP_OK || z->avail_in != 0)
    return 0;
  return z->total_out;
}

/* Compresses (or checks, at level 0) the batch in parallel, then writes it in order. */
static gboolean
write_jobs (PfDatasetWriter *w, int n_jobs, GError **error)
{
  if (n_jobs == 0)
    return TRUE;
  int64_t bad_job = -1, bad_at = -1;
  const size_t bytes = w->chunk_floats * sizeof (float);
#pragma omp parallel for num_threads (w->n_threads) schedule (dynamic, 1) if (n_jobs > 1)
  for (int j = 0; j < n_jobs; j++)
    {
      const ChunkJob *job = &w->jobs[j];
      int64_t at = first_non_finite (job->src, w->chunk_floats);
      if (at >= 0)
        {
#pragma omp critical (pf_writer_bad)
          if (bad_job < 0 || j < bad_job)
            {
              bad_job = j;
              bad_at = at;
            }
          continue;
        }
      if (w->level == 0)
        continue;
#ifdef _OPENMP
      int t = omp_get_thread_num ();
#else
      int t = 0;
#endif
      const void *in = job->src;
      if (w->shuffle)
        {
          _pf_shuffle4 (job->src, w->scratch[t], w->chunk_floats);
          in = w->scratch[t];
        }
      if (w->isal_level >= 0)
        w->out_size[j] = isal_compress (w, t, in, bytes, w->out[j]);
      else
        w->out_size[j] = libdeflate_zlib_compress (w->comp[t], in, bytes, w->out[j], w->out_cap);
    }
  if (bad_job >= 0)
    {
      const ChunkJob *job = &w->jobs[bad_job];
      size_t per = (size_t) w->S * w->S;
      return non_finite_error (w, job->ch, job->chunk * w->chunk_events + bad_at / per,
                               bad_at % per, job->src[bad_at], error);
    }
  for (int j = 0; w->level > 0 && j < n_jobs; j++)
    if (w->out_size[j] == 0)
      {
        g_set_error (error, PF_ERROR, PF_ERROR_IO,
                     "%s: cannot compress dataset '%s' at event %" G_GINT64_FORMAT
                     " (%s level %d)", w->path, pf_dataset_channel_name (w->jobs[j].ch),
                     w->jobs[j].chunk * w->chunk_events,
                     w->isal_level >= 0 ? "ISA-L" : "libdeflate",
                     w->isal_level >= 0 ? w->isal_level : w->level);
        writer_fail (w);
        return FALSE;
      }
  for (int j = 0; j < n_jobs; j++)
    {
      const ChunkJob *job = &w->jobs[j];
      hsize_t off[3] = { (hsize_t) job->chunk * w->chunk_events, 0, 0 };
      const void *data = w->level > 0 ? (const void *) w->out[j] : (const void *) job->src;
      size_t size = w->level > 0 ? w->out_size[j] : bytes;
      if (size == 0 || H5Dwrite_chunk (w->dset[job->ch], H5P_DEFAULT, 0, off, size, data) < 0)
        {
          char *what = g_strdup_printf ("cannot write dataset '%s' at event %" G_GINT64_FORMAT,
                                        pf_dataset_channel_name (job->ch),
                                        job->chunk * w->chunk_events);
          set_h5_error (w, error, what);
          g_free (what);
          return FALSE;
        }
    }
  return TRUE;
}

static gboolean
set_extent (PfDatasetWriter *w, int64_t n_events, GError **error)
{
  hsize_t dims[3] = { (hsize_t) n_events, w->S, w->S };
  for (int c = 0; c < w->n_channels; c++)
    if (H5Dset_extent (w->dset[c], dims) < 0)
      return set_h5_error (w, error, "cannot extend the datasets");
  return TRUE;
}

/* Queues the chunks of the pending buffer (all channels) and writes them. */
static gboolean
flush_pending (PfDatasetWriter *w, GError **error)
{
  size_t used = (size_t) w->pending_n * w->S * w->S;
  for (int c = 0; c < w->n_channels; c++)
    {
      float *p = w->pending + c * w->chunk_floats;
      /* The edge chunk is stored whole; zeros past the end keep it deterministic. */
      memset (p + used, 0, (w->chunk_floats - used) * sizeof (float));
      w->jobs[c] = (ChunkJob) { c, w->n_chunks, p };
    }
  if (!write_jobs (w, w->n_channels, error))
    return FALSE;
  w->n_chunks++;
  w->pending_n = 0;
  return TRUE;
}

static gboolean
check_usable (PfDatasetWriter *w, GError **error)
{
  if (w->failed)
    {
      g_set_error (error, PF_ERROR, PF_ERROR_IO, "%s: the writer already failed", w->path);
      return FALSE;
    }
  return TRUE;
}

gboolean
pf_dataset_writer_append (PfDatasetWriter *w, int64_t n, const float *block, GError **error)
{
  g_return_val_if_fail (w != NULL, FALSE);
  if (!check_usable (w, error))
    return FALSE;
  if (n < 0 || (n > 0 && !block))
    {
      g_set_error (error, PF_ERROR, PF_ERROR_INVALID, "%s: invalid block of %" G_GINT64_FORMAT
                   " events", w->path, n);
      writer_fail (w);
      return FALSE;
    }
  if (n == 0)
    return TRUE;
  _pf_h5_quiet ();
  const size_t per = (size_t) w->S * w->S;
  const int C = w->chunk_events;
  int64_t e = 0;

  /* 1. Top up the chunk left open by the previous call. */
  if (w->pending_n > 0)
    {
      int64_t take = MIN (C - w->pending_n, n);
      for (int c = 0; c < w->n_channels; c++)
        {
          const float *src = block + (size_t) c * n * per;
          int64_t at = first_non_finite (src, take * per);
          if (at >= 0)
            return non_finite_error (w, c, w->n_events + at / per, at % per, src[at], error);
          memcpy (w->pending + c * w->chunk_floats + (size_t) w->pending_n * per, src,
                  take * per * sizeof (float));
        }
      w->pending_n += take;
      e = take;
      if (w->pending_n == C)
        {
          if (!set_extent (w, (w->n_chunks + 1) * C, error) || !flush_pending (w, error))
            return FALSE;
        }
    }

  /* 2. Whole chunks straight from the caller's block, a batch at a time. */
  int64_t n_full = (n - e) / C;
  if (n_full > 0 && !set_extent (w, (w->n_chunks + n_full) * C, error))
    return FALSE;
  int per_batch = MAX (1, w->batch_cap / w->n_channels);
  for (int64_t k = 0; k < n_full; k += per_batch)
    {
      int nb = (int) MIN (per_batch, n_full - k);
      int j = 0;
      for (int b = 0; b < nb; b++)
        for (int c = 0; c < w->n_channels; c++)
          w->jobs[j++] = (ChunkJob) { c, w->n_chunks + b,
                                      block + ((size_t) c * n + e + (size_t) (k + b) * C) * per };
      if (!write_jobs (w, j, error))
        return FALSE;
      w->n_chunks += nb;
    }
  e += n_full * C;

  /* 3. Keep the tail for the next call or commit. A tail exists only when step 1 closed the
   * open chunk (or there was none), so pending is empty here. */
  int64_t rest = n - e;
  if (rest > 0)
    {
      g_assert (w->pending_n == 0);
      for (int c = 0; c < w->n_channels; c++)
        {
          const float *src = block + ((size_t) c * n + e) * per;
          int64_t at = first_non_finite (src, rest * per);
          if (at >= 0)
            return non_finite_error (w, c, w->n_events + e + at / per, at % per, src[at], error);
          memcpy (w->pending + c * w->chunk_floats, src, rest * per * sizeof (float));
        }
      w->pending_n = (int) rest;
    }
  w->n_events += n;
  return TRUE;
}

int64_t
pf_dataset_writer_n_events (const PfDatasetWriter *w)
{
  return w->n_events;
}

gboolean
pf_dataset_writer_commit (PfDatasetWriter *w, GError **error)
{
  g_return_val_if_fail (w != NULL, FALSE);
  gboolean ok = check_usable (w, error);
  _pf_h5_quiet ();
  if (ok && w->n_events == 0)
    {
      g_set_error (error, PF_ERROR, PF_ERROR_INVALID, "%s: no events to write", w->path);
      writer_fail (w);
      ok = FALSE;
    }
  if (ok && w->pending_n > 0)
    ok = set_extent (w, w->n_events, error) && flush_pending (w, error);
  if (ok && !writer_close_h5 (w))
    ok = set_h5_error (w, error, "cannot finish the file");
  if (ok && g_rename (w->tmp_path, w->path) != 0)
    {
      int e = errno;
      g_set_error (error, PF_ERROR, PF_ERROR_IO, "%s: cannot rename %s into place: %s",
                   w->path, w->tmp_path, g_strerror (e));
      writer_fail (w);
      ok = FALSE;
    }
  if (!ok && !w->failed)
    writer_fail (w);
  writer_free (w);
  return ok;
}

void
pf_dataset_writer_abort (PfDatasetWriter *w)
{
  if (!w)
    return;
  _pf_h5_quiet ();
  if (!w->failed)
    writer_fail (w);
  writer_free (w);
}
