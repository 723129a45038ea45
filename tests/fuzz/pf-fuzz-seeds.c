/* pf-fuzz-seeds.c — seed inputs of the fuzz targets (see pf-fuzz-seeds.h). Kept small (8x8
 * images, four events, a scale-1 CNN) so the committed corpus stays well under 1 MB and every
 * input is quick to read. */
#include "pf-fuzz-seeds.h"
#include "pf-baseline.h"
#include "pf-checkpoint.h"
#include "pf-dataset.h"
#include "pf-error.h"
#include "pf-hepmc3.h"
#include "pf-model.h"
#include "pf-run-store.h"
#include "pf-train-log.h"
#include <hdf5.h>
#include <math.h>
#include <string.h>
#include <tiffio.h>
#include <glib/gstdio.h>

#define S 8
#define N 4
#define PER (S * S)

const char *const pf_fuzz_seed_targets[] = { "dataset", "tiff", "checkpoint", "hepmc3",
                                             "particles", "baseline", "runs", NULL };

static gboolean
put (const char *dir, const char *name, const char *text, GError **error)
{
  char *p = g_build_filename (dir, name, NULL);
  gboolean ok = g_file_set_contents (p, text, -1, error);
  g_free (p);
  return ok;
}

/* ---- datasets ---- */

/* Channel-major events with structure: zeros, small and large deposits. */
static float *
make_block (int n_channels)
{
  float *b = g_new (float, (size_t) n_channels * N * PER);
  for (size_t i = 0; i < (size_t) n_channels * N * PER; i++)
    b[i] = i % 3 == 0 ? 0.0f : (float) ((i * 37) % 101) * 0.25f;
  return b;
}

static gboolean
write_pflow_dataset (const char *path, gboolean with_params, int n_channels, int level,
                     gboolean shuffle, GError **error)
{
  PfSimParams p;
  pf_sim_params_init_default (&p);
  p.image_size = S;
  PfDatasetWriterOptions o;
  pf_dataset_writer_options_init (&o);
  o.image_size = S;
  o.n_channels = n_channels;
  o.compression_level = level;
  o.shuffle = shuffle;
  o.chunk_events = 2;
  if (!with_params)
    o.source = "tiff-import";
  PfDatasetWriter *w = pf_dataset_writer_new_full (path, with_params ? &p : NULL, &o, error);
  if (!w)
    return FALSE;
  float *b = make_block (n_channels);
  gboolean ok = (with_params || pf_dataset_writer_set_attr_string (w, "tiff_folder", "seed",
                                                                    error))
                && pf_dataset_writer_append (w, N, b, error);
  g_free (b);
  if (!ok)
    {
      pf_dataset_writer_abort (w);
      return FALSE;
    }
  return pf_dataset_writer_commit (w, error);
}

typedef struct {
  const char *name;
  hid_t type;
  int rank;
  hsize_t dims[3];
  gboolean chunked_empty; /* chunked, extent declared, nothing written */
} RawSpec;

/* A file written with the HDF5 API directly; `poison` goes into element 5 of `poison_in`. */
static gboolean
write_raw (const char *path, const RawSpec *spec, int n, const char *poison_in, float poison,
           GError **error)
{
  hid_t f = H5Fcreate (path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  gboolean ok = f >= 0;
  for (int i = 0; ok && i < n; i++)
    {
      hsize_t maxdims[3] = { H5S_UNLIMITED, spec[i].dims[1], spec[i].dims[2] };
      hid_t sp = H5Screate_simple (spec[i].rank, spec[i].dims,
                                   spec[i].chunked_empty ? maxdims : NULL);
      hid_t dcpl = H5Pcreate (H5P_DATASET_CREATE);
      if (spec[i].chunked_empty)
        {
          hsize_t chunk[3] = { 1, spec[i].dims[1], spec[i].dims[2] };
          H5Pset_chunk (dcpl, 3, chunk);
        }
      hid_t ds = H5Dcreate2 (f, spec[i].name, spec[i].type, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
      ok = ds >= 0;
      size_t count = 1;
      for (int k = 0; k < spec[i].rank; k++)
        count *= spec[i].dims[k];
      if (ok && !spec[i].chunked_empty && count > 0)
        {
          void *buf = g_malloc0 (count * H5Tget_size (spec[i].type));
          if (poison_in && !strcmp (poison_in, spec[i].name) && count > 5)
            ((float *) buf)[5] = poison;
          ok = H5Dwrite (ds, spec[i].type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) >= 0;
          g_free (buf);
        }
      if (ds >= 0)
        H5Dclose (ds);
      H5Pclose (dcpl);
      H5Sclose (sp);
    }
  if (f >= 0)
    H5Fclose (f);
  if (!ok)
    g_set_error (error, PF_ERROR, PF_ERROR_IO, "%s: cannot write the seed", path);
  return ok;
}

static void
five (RawSpec *s, hid_t type, hsize_t n)
{
  static const char *const names[] = { "emcal", "hcal", "trk_n", "trk_p", "truth" };
  for (int i = 0; i < 5; i++)
    s[i] = (RawSpec) { names[i], type, 3, { n, S, S }, FALSE };
}

static gboolean
seeds_dataset (const char *dir, GError **error)
{
#define P(name) g_build_filename (dir, name, NULL)
  struct {
    const char *name;
    gboolean params;
    int channels, level;
    gboolean shuffle;
  } good[] = {
    { "sim-raw.h5", TRUE, PF_N_CHANNELS, 0, FALSE },
    { "import-jet-deflate-shuffle.h5", FALSE, PF_DATASET_MAX_CHANNELS, 1, TRUE },
    { "import-libdeflate6.h5", FALSE, PF_N_CHANNELS, 6, FALSE },
  };
  for (guint i = 0; i < G_N_ELEMENTS (good); i++)
    {
      char *p = P (good[i].name);
      gboolean ok = write_pflow_dataset (p, good[i].params, good[i].channels, good[i].level,
                                         good[i].shuffle, error);
      g_free (p);
      if (!ok)
        return FALSE;
    }
  /* malformed files, written with the HDF5 API: what each changes from five float32 [N,8,8] */
  enum { NOT_SQUARE, INT32, NO_TRUTH, NAN_HCAL, INF_TRUTH, SPARSE, N_RAW };
  static const char *const raw_names[N_RAW] = {
    [NOT_SQUARE] = "emcal-not-square.h5", [INT32] = "emcal-int32.h5",
    [NO_TRUTH] = "no-truth.h5", [NAN_HCAL] = "nan-hcal.h5", [INF_TRUTH] = "inf-truth.h5",
    /* extents declared, no chunk ever written: a few KB that claim 2^40 events */
    [SPARSE] = "sparse-2e40-events.h5",
  };
  gboolean ok = TRUE;
  for (int k = 0; ok && k < N_RAW; k++)
    {
      RawSpec s[5];
      five (s, H5T_NATIVE_FLOAT, k == SPARSE ? (hsize_t) 1 << 40 : N);
      s[0].dims[1] = k == NOT_SQUARE ? 7 : S;
      s[0].type = k == INT32 ? H5T_NATIVE_INT32 : H5T_NATIVE_FLOAT;
      for (int i = 0; i < 5; i++)
        s[i].chunked_empty = k == SPARSE;
      const char *poison_in = k == NAN_HCAL ? "hcal" : k == INF_TRUTH ? "truth" : NULL;
      char *p = P (raw_names[k]);
      ok = write_raw (p, s, k == NO_TRUTH ? 4 : 5, poison_in, k == NAN_HCAL ? NAN : -INFINITY,
                      error);
      g_free (p);
    }
  ok = ok && put (dir, "empty.h5", "", error);
  return ok;
#undef P
}

/* ---- TIFF ---- */

/* bits 32: float, 8: uint8. tile > 0: tiles of that size. compression: a libtiff codec. */
static gboolean
write_tiff (const char *path, int width, int height, int spp, int bits, int tile,
            int compression, float poison)
{
  TIFF *t = TIFFOpen (path, "w");
  if (!t)
    return FALSE;
  TIFFSetField (t, TIFFTAG_IMAGEWIDTH, width);
  TIFFSetField (t, TIFFTAG_IMAGELENGTH, height);
  TIFFSetField (t, TIFFTAG_SAMPLESPERPIXEL, spp);
  TIFFSetField (t, TIFFTAG_BITSPERSAMPLE, bits);
  TIFFSetField (t, TIFFTAG_SAMPLEFORMAT, bits == 32 ? SAMPLEFORMAT_IEEEFP : SAMPLEFORMAT_UINT);
  TIFFSetField (t, TIFFTAG_PHOTOMETRIC, spp == 3 ? PHOTOMETRIC_RGB : PHOTOMETRIC_MINISBLACK);
  TIFFSetField (t, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
  TIFFSetField (t, TIFFTAG_COMPRESSION, compression);
  const size_t bpp = (size_t) spp * bits / 8, side = MAX (width, tile);
  guint8 *buf = g_malloc0 (side * MAX (tile, 1) * bpp);
  gboolean ok = TRUE;
  /* pixel value: a ramp, with `poison` in pixel (1, 2) when it is not 0 */
#define VALUE(x, y)                                                                     \
  ((poison != 0 && (y) == 1 && (x) == 2) ? poison : (float) (((x) + 3 * (y)) % 17))
#define STORE(dst, v)                                                                  \
  do                                                                                   \
    {                                                                                  \
      float v_ = (v);                                                                  \
      if (bits == 32)                                                                  \
        memcpy ((dst), &v_, 4);                                                        \
      else                                                                             \
        memset ((dst), (int) v_, bits / 8);                                            \
    }                                                                                  \
  while (0)
  if (tile > 0)
    {
      TIFFSetField (t, TIFFTAG_TILEWIDTH, tile);
      TIFFSetField (t, TIFFTAG_TILELENGTH, tile);
      for (int y = 0; ok && y < height; y += tile)
        for (int x = 0; ok && x < width; x += tile)
          {
            memset (buf, 0, (size_t) tile * tile * bpp);
            for (int r = 0; r < tile && y + r < height; r++)
              for (int c = 0; c < tile && x + c < width; c++)
                STORE (buf + ((size_t) r * tile + c) * bpp, VALUE (x + c, y + r));
            ok = TIFFWriteTile (t, buf, x, y, 0, 0) > 0;
          }
    }
  else
    {
      TIFFSetField (t, TIFFTAG_ROWSPERSTRIP, 4);
      for (int y = 0; ok && y < height; y++)
        {
          for (int x = 0; x < width; x++)
            for (int s = 0; s < spp; s++)
              STORE (buf + ((size_t) x * spp + s) * (bits / 8), VALUE (x, y));
          ok = TIFFWriteScanline (t, buf, y, 0) == 1;
        }
    }
#undef VALUE
#undef STORE
  TIFFClose (t);
  g_free (buf);
  return ok;
}

static gboolean
seeds_tiff (const char *dir, GError **error)
{
  struct {
    const char *name;
    int w, h, spp, bits, tile, compression;
    float poison;
  } seeds[] = {
    { "float32-strips.tiff", S, S, 1, 32, 0, COMPRESSION_NONE, 0 },
    { "float32-deflate.tiff", S, S, 1, 32, 0, COMPRESSION_ADOBE_DEFLATE, 0 },
    { "float32-tiled.tiff", 20, 20, 1, 32, 16, COMPRESSION_NONE, 0 },
    { "uint8-strips.tiff", S, S, 1, 8, 0, COMPRESSION_NONE, 0 },
    { "uint8-lzw.tiff", S, S, 1, 8, 0, COMPRESSION_LZW, 0 },
    { "uint8-packbits-tiled.tiff", S, S, 1, 8, 16, COMPRESSION_PACKBITS, 0 },
    { "nan.tiff", S, S, 1, 32, 0, COMPRESSION_NONE, NAN },
    { "inf.tiff", S, S, 1, 32, 0, COMPRESSION_NONE, INFINITY },
    { "rgb.tiff", S, S, 3, 8, 0, COMPRESSION_NONE, 0 },
    { "uint16.tiff", S, S, 1, 16, 0, COMPRESSION_NONE, 0 },
    { "not-square.tiff", S, S / 2, 1, 32, 0, COMPRESSION_NONE, 0 },
  };
  for (guint i = 0; i < G_N_ELEMENTS (seeds); i++)
    {
      char *p = g_build_filename (dir, seeds[i].name, NULL);
      gboolean ok = write_tiff (p, seeds[i].w, seeds[i].h, seeds[i].spp, seeds[i].bits,
                                seeds[i].tile, seeds[i].compression, seeds[i].poison);
      if (!ok)
        g_set_error (error, PF_ERROR, PF_ERROR_IO, "%s: cannot write the seed", p);
      g_free (p);
      if (!ok)
        return FALSE;
    }
  return put (dir, "empty.tiff", "", error);
}

/* ---- checkpoint ---- */

static gboolean
seeds_checkpoint (const char *dir, GError **error)
{
  PfGraph *g = pf_model_build ("cnn", 1, 1, 56, error);
  PfPlanOptions po = { PF_DEVICE_CPU, true, false, 26 };
  if (!g || !pf_graph_plan (g, &po, error))
    {
      pf_graph_free (g);
      return FALSE;
    }
  /* moments not all zero, so a mutation that swaps them is visible */
  for (size_t j = 0; j < pf_graph_n_params (g); j++)
    {
      pf_graph_adam_m (g)[j] = (float) ((j % 7) * 1e-3);
      pf_graph_adam_v (g)[j] = (float) ((j % 5) * 1e-6);
    }
  PfCheckpointInfo ck;
  pf_checkpoint_info_init (&ck);
  ck.model = (char *) "cnn";
  ck.scale = 1;
  ck.batch = 2;
  ck.loss = (char *) "mix";
  ck.lambda = 0.05;
  ck.lr = 1e-4;
  ck.epoch = 2;
  ck.best_epoch = 1;
  ck.best_val_loss = 0.25;
  ck.norm_min = 0.0;
  ck.norm_max = 37.5;
  ck.dataset = (char *) "data.h5";
  ck.n_train = 8;
  ck.n_val = 1;
  ck.n_test = 1;
  ck.seed = 26;
  ck.epochs = 3;
  /* two epochs of log, the MIX parts of the second NaN as for an MSE run */
  PfTrainLogRow rows[2] = {
    { 1, 0.5, 0.4, 1e-4, 2.0, 0.1, 0.2, 0.3, 0.1, 0.2, 0.3, 8, TRUE },
    { 2, 0.45, 0.41, 1e-4, 2.0, NAN, NAN, NAN, NAN, NAN, NAN, 8, FALSE },
  };
  double log[2 * PF_TRAIN_LOG_COLS];
  for (int r = 0; r < 2; r++)
    pf_train_log_row_to_doubles (&rows[r], log + r * PF_TRAIN_LOG_COLS);
  ck.log_rows = 2;
  ck.log_cols = PF_TRAIN_LOG_COLS;
  ck.log = log;
  ck.log_columns = (char *) pf_train_log_columns;
  char *p = g_build_filename (dir, "cnn-s1-adam.h5", NULL);
  gboolean ok = pf_checkpoint_save (p, g, &ck, TRUE, 7, error);
  g_free (p);
  pf_graph_free (g);
  return ok && put (dir, "empty.h5", "", error);
}

/* ---- text formats ---- */

static gboolean
seeds_hepmc3 (const char *dir, GError **error)
{
  PfParticleList ev[3];
  for (int i = 0; i < 3; i++)
    {
      pf_particle_list_init (&ev[i]);
      for (int j = 0; j < 3 * i; j++)
        {
          PfParticle p = { .pdg = j % 2 ? 211 : 22 };
          pf_particle_set_massless (&p, 1.5 + j, -1.0 + 0.3 * j, 0.7 * j - 2);
          pf_particle_list_append (&ev[i], &p);
        }
    }
  char *gev = g_build_filename (dir, "written-gev.hepmc3", NULL);
  char *mev = g_build_filename (dir, "written-mev.hepmc3", NULL);
  gboolean ok = pf_hepmc3_write (gev, ev, 3, FALSE, error)
                && pf_hepmc3_write (mev, ev, 3, TRUE, error);
  g_free (gev);
  g_free (mev);
  for (int i = 0; i < 3; i++)
    pf_particle_list_clear (&ev[i]);
  return ok && put (dir, "records.hepmc3",
                    "HepMC::Version 3.02.05\n"
                    "HepMC::Asciiv3-START_EVENT_LISTING\n"
                    "W 1.0\n"
                    "N 1 \"0\"\n"
                    "T Pythia8 8.3\n"
                    "E 7 1 3\n"
                    "U GEV CM\n"
                    "A 0 GenCrossSection 1.0 0.1 -1 -1\n"
                    "P 1 0 2212 0 0 10 10.04 0.938 4\n"
                    "P 2 1 22 1 2 3 3.7416573867739413 0 1\n"
                    "V -1 0 [1]\n"
                    "P 3 -1 -211 -1 0 4 4.1255 0.13957 1\n"
                    "HepMC::Asciiv3-END_EVENT_LISTING\n", error);
}

static gboolean
seeds_particles (const char *dir, GError **error)
{
  return put (dir, "three.txt", "# px py pz E\n1 2 3 4\n\n-0.5 0.25 10 12.5 # a comment\n"
              "0 0 0 0\n", error)
         && put (dir, "exponents.txt", "1e-3 -2.5E+2 +3 1e3\r\n", error)
         && put (dir, "bad-fields.txt", "1 2 3\n", error)
         && put (dir, "bad-nan.txt", "1 2 nan 4\n", error);
}

static gboolean
seeds_baseline (const char *dir, GError **error)
{
  PfBaseline bl = { 1.25, 1.75, 0.01, 0.02, 8, 300, 0.5 };
  char *p = g_build_filename (dir, "fitted.ini", NULL);
  gboolean ok = pf_baseline_save (&bl, p, error);
  g_free (p);
  pf_baseline_init_raw (&bl);
  p = g_build_filename (dir, "raw.ini", NULL);
  ok = ok && pf_baseline_save (&bl, p, error);
  g_free (p);
  return ok && put (dir, "bad-inf.ini", "[baseline]\na=inf\nb=1\na_err=0\nb_err=0\nrms=1\n"
                    "n_events=1\nn_pixels=1\n", error);
}

static gboolean
seeds_runs (const char *dir, GError **error)
{
  char *p = g_build_filename (dir, "two-runs.json", NULL);
  PfRunStore *s = pf_run_store_new (p);
  PfTrainOptions o;
  pf_train_options_init (&o);
  o.model = "cnn";
  o.data_path = "data.h5";
  for (int i = 0; i < 2; i++)
    {
      o.scale = i + 1;
      PfRun *r = pf_run_new (&o);
      PfTrainLogRow row = { 1, 0.5, 0.4, 1e-3, 2.0, 0.1, 0.2, 0.3, 0.1, 0.2, NAN, 8, TRUE };
      pf_run_append_epoch (r, &row);
      pf_run_set_metric (r, "wmse", 0.125);
      pf_run_set_state (r, i ? "stopped" : "finished");
      pf_run_store_add (s, r);
      g_object_unref (r);
    }
  gboolean ok = pf_run_store_save (s, error);
  g_object_unref (s);
  g_free (p);
  return ok && put (dir, "empty-list.json", "{\"version\": 1, \"runs\": []}\n", error)
         && put (dir, "escapes.json", "{\"version\": 1, \"runs\": [{\"id\": "
                 "\"a\\u00e9\\ud83d\\ude00\", \"model\": \"cnn\", \"log\": [], "
                 "\"metrics\": {\"x\": -1.5e-3}}]}", error);
}

gboolean
pf_fuzz_seeds_write (const char *target, const char *dir, GError **error)
{
  static const struct {
    const char *target;
    gboolean (*write) (const char *dir, GError **error);
  } writers[] = {
    { "dataset", seeds_dataset }, { "tiff", seeds_tiff }, { "checkpoint", seeds_checkpoint },
    { "hepmc3", seeds_hepmc3 }, { "particles", seeds_particles }, { "baseline", seeds_baseline },
    { "runs", seeds_runs },
  };
  H5Eset_auto2 (H5E_DEFAULT, NULL, NULL);
  for (guint i = 0; i < G_N_ELEMENTS (writers); i++)
    if (!strcmp (target, writers[i].target))
      return writers[i].write (dir, error);
  g_set_error (error, PF_ERROR, PF_ERROR_INVALID, "unknown fuzz target '%s'", target);
  return FALSE;
}
