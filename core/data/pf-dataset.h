/* pf-dataset.h — pflow datasets in HDF5 (DESIGN.md §3).
 *
 * One file per dataset: float32 datasets `emcal`, `hcal`, `trk_n`, `trk_p`, `truth` (and `jet`
 * for jet sets), each [N, S, S] in GeV, rows = eta bins, columns = phi bins, chunked by events
 * with the standard deflate (optionally shuffle) filters so plain h5py reads them. Root attributes hold
 * every simulator parameter (names from pf_sim_param_table), the generator name and version,
 * the pflow version and `source` ("pflow-sim" or "tiff-import").
 *
 * The writer streams: blocks go to disk as they arrive (memory does not grow with N), into a
 * temporary ".NAME.tmp-XXXXXX" beside the target that is renamed into place on commit, so the
 * final name never holds a partial file. For speed it byte-shuffles and deflates chunks itself
 * (ISA-L or libdeflate by level, in parallel over the cores) and hands them to HDF5 with
 * H5Dwrite_chunk; the filter pipeline declared in the file is the ordinary shuffle + deflate
 * one.
 *
 * The reader treats the file as untrusted: shapes, dtypes, channel agreement, N > 0 and the
 * values it reads (no NaN/Inf) are checked, every failure is a PF_ERROR naming the file. */
#pragma once
#include <glib.h>
#include <stdint.h>
#include "pf-sim.h"

G_BEGIN_DECLS

/* Channels in file order; the first PF_N_CHANNELS match PF_CH_* of pf-sim.h. A jet set adds
 * `jet` after them, so channel indices of the five base images never move. */
enum { PF_DATASET_CH_JET = PF_N_CHANNELS, PF_DATASET_MAX_CHANNELS };

/* Compression: 0 = no filters at all (raw speed); 1..9 = deflate, optionally after HDF5's byte
 * shuffle. Every level writes a standard zlib stream under the standard deflate filter (h5py
 * and any HDF5 reader decode it); the level picks the engine:
 *   0     no filter
 *   1     ISA-L igzip level 1 (default)
 *   2..9  libdeflate at the same level
 * Measured on 2,000 simulated events (125 MB, 74% zero pixels), single core, no shuffle:
 * ISA-L 1 530 MB/s ratio 3.13; libdeflate 1 224 MB/s 3.24, 2 185 MB/s 3.25, 4 177 MB/s
 * 3.27, 6 118 MB/s 3.31, 9 9 MB/s 3.35. ISA-L 0 (596 MB/s, ~1.5% faster end to end, files 15%
 * larger at ratio 2.73), ISA-L 2 (the ratio of ISA-L 1, slower) and ISA-L 3 (slower than
 * libdeflate 1, ratio 3.08) get no level. `pflow bench sim` on 2 cores (simulate + write):
 * level 1 ~12,100 events/s, 40.1 MB (libdeflate 1 there: ~6,000 events/s, 38.8 MB); no
 * compression ~20,700 events/s, 128.5 MB. Hence the default: twice libdeflate's pipeline
 * speed for 3% more bytes, still 3.1x smaller than raw. Shuffle lowers the ratio (ISA-L 1:
 * 2.54, libdeflate 1: 2.63) and is slower, so it stays off. A chunk of 64 events (784 KiB)
 * keeps per-chunk overhead low and still fits HDF5's default 1 MiB chunk cache, so h5py
 * reading one event at a time does not decompress the chunk again for every event. */
#define PF_DATASET_DEFAULT_LEVEL 1
#define PF_DATASET_DEFAULT_CHUNK_EVENTS 64

/* Dataset name of channel `ch` (0 <= ch < PF_DATASET_MAX_CHANNELS), e.g. "trk_n". */
const char *pf_dataset_channel_name (int ch);

/* Called every block with the work done so far (events) and the total. */
typedef void (*PfDatasetProgressFunc) (int64_t done, int64_t total, gpointer user_data);

/* ---- writing ---- */

typedef struct _PfDatasetWriter PfDatasetWriter;

typedef struct {
  int image_size;        /* S: 56 for the published sets */
  int n_channels;        /* PF_N_CHANNELS, or PF_DATASET_MAX_CHANNELS with `jet` */
  int compression_level; /* 0..9, see above */
  int chunk_events;      /* events per chunk; <= 0 means PF_DATASET_DEFAULT_CHUNK_EVENTS */
  int n_threads;         /* compression threads; <= 0 means all cores */
  gboolean shuffle;      /* byte-shuffle before deflate (off: see PF_DATASET_DEFAULT_LEVEL) */
  const char *source;    /* "pflow-sim", "tiff-import"...; NULL: "pflow-sim" when params */
} PfDatasetWriterOptions;

void pf_dataset_writer_options_init (PfDatasetWriterOptions *o);

/* Five channels, default chunking. `params` may be NULL (imports): no simulator attributes. */
PfDatasetWriter *pf_dataset_writer_new (const char *path, const PfSimParams *params,
                                        int image_size, int compression_level, GError **error);
PfDatasetWriter *pf_dataset_writer_new_full (const char *path, const PfSimParams *params,
                                             const PfDatasetWriterOptions *options,
                                             GError **error);
/* An extra string attribute on the root (e.g. the folder a TIFF import came from). */
gboolean pf_dataset_writer_set_attr_string (PfDatasetWriter *w, const char *name,
                                            const char *value, GError **error);
/* Appends n events. `block` is channel-major exactly as pf_sim_run writes it:
 * block[((ch * n) + e) * S * S + row * S + col] for ch < n_channels.
 * Non-finite values are rejected (PF_ERROR_NUMERIC). After an error the temporary file is
 * already gone and the writer only accepts pf_dataset_writer_abort. */
gboolean pf_dataset_writer_append (PfDatasetWriter *w, int64_t n, const float *block,
                                   GError **error);
int64_t pf_dataset_writer_n_events (const PfDatasetWriter *w);
/* Flushes, closes and renames into place. Always frees w; on failure nothing is left. */
gboolean pf_dataset_writer_commit (PfDatasetWriter *w, GError **error);
/* Frees w and removes the temporary file. NULL is allowed. */
void pf_dataset_writer_abort (PfDatasetWriter *w);

/* ---- reading ---- */

typedef struct _PfDataset PfDataset;

/* Opens and validates: an HDF5 file, the five channels present (plus optional `jet`),
 * float32 of rank 3, [N, S, S] with the same N and S everywhere, N > 0, their data all stored
 * in the file (every chunk written, sane chunk sizes), and the simulator attributes complete
 * and valid when the file has any. */
PfDataset *pf_dataset_open (const char *path, GError **error);
void pf_dataset_close (PfDataset *d);

const char *pf_dataset_path (const PfDataset *d);
int64_t pf_dataset_n_events (const PfDataset *d);
int pf_dataset_image_size (const PfDataset *d);
int pf_dataset_n_channels (const PfDataset *d); /* 5, or 6 with `jet` */
/* The `source` attribute ("pflow-sim", "tiff-import"; "" when absent). */
const char *pf_dataset_source (const PfDataset *d);
/* A string attribute of the root, newly allocated, or NULL when absent or not a string. */
char *pf_dataset_attr_string (const PfDataset *d, const char *name);
/* The simulator parameters (seed included); FALSE when the file has none (imports). */
gboolean pf_dataset_params (const PfDataset *d, PfSimParams *out);

/* Reads events [first, first + n) of every channel, channel-major like the writer's blocks
 * (n_channels * n * S * S floats). Fails on a range outside [0, N) or non-finite values. */
gboolean pf_dataset_read (PfDataset *d, int64_t first, int64_t n, float *block,
                          GError **error);
/* The same for one channel: n * S * S floats. */
gboolean pf_dataset_read_channel (PfDataset *d, int ch, int64_t first, int64_t n,
                                  float *out, GError **error);

/* ---- summary for `pflow info` ---- */

typedef struct {
  int64_t n_events;
  double sum_mean;  /* mean over events of the image sum (GeV) */
  double sum_std;   /* population standard deviation of the image sums */
  double occupancy; /* fraction of pixels != 0 over all events */
  double min;       /* smallest pixel value */
  double max;       /* largest pixel value */
} PfChannelSummary;

/* Streams the whole file in blocks; out[ch] for ch < pf_dataset_n_channels (d).
 * `cancel` (may be NULL) is polled between blocks: non-zero stops with PF_ERROR_CANCELLED. */
gboolean pf_dataset_summarize (PfDataset *d, PfChannelSummary *out,
                               PfDatasetProgressFunc progress, gpointer user_data,
                               const volatile gint *cancel, GError **error);

G_END_DECLS
