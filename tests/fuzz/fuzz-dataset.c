/* fuzz-dataset.c — the HDF5 dataset reader: pf_dataset_open, then everything `pflow info`,
 * `train`, `eval` and `jets --data` ask of an open dataset (params, string attributes, reads
 * of events and channels, the summary). Each call succeeds or fails with a GError naming the
 * file; reads that succeed hold only finite values; no HDF5 object stays open. */
#include "pf-fuzz-h5.h"
#include "pf-dataset.h"
#include "pf-error.h"
#include <math.h>

/* Floats one read may ask for: the harness's limit, not the reader's (16 MiB). */
#define READ_BUDGET ((size_t) 1 << 22)
/* Pixels the summary may stream through: bounds the time of one input, not a limit of the
 * reader (a real file of 10^9 events takes as long as it takes). */
#define SUMMARY_BUDGET ((double) (1 << 26))

static void
check_finite (const float *v, size_t n, const char *path)
{
  for (size_t i = 0; i < n; i++)
    PF_FUZZ_CHECK (isfinite (v[i]), "%s: a read returned a non-finite value at %zu", path, i);
}

static void
exercise (PfDataset *d, const char *path)
{
  GError *error = NULL;
  const int64_t N = pf_dataset_n_events (d);
  const int S = pf_dataset_image_size (d), C = pf_dataset_n_channels (d);
  PF_FUZZ_CHECK (N >= 1 && S >= 1 && S <= 4096 && (C == 5 || C == 6),
                 "%s: opened as [%" G_GINT64_FORMAT ",%d,%d] x %d channels", path, N, S, S, C);
  PF_FUZZ_CHECK (!strcmp (pf_dataset_path (d), path), "path %s", pf_dataset_path (d));
  PF_FUZZ_CHECK (pf_dataset_source (d) != NULL, "%s: NULL source", path);

  PfSimParams p;
  if (pf_dataset_params (d, &p))
    PF_FUZZ_CHECK (p.image_size == S, "%s: params image_size %d, images %d", path,
                   p.image_size, S);
  static const char *const attrs[] = { "source", "tiff_folder", "generator", "model", "nothing" };
  for (guint i = 0; i < G_N_ELEMENTS (attrs); i++)
    g_free (pf_dataset_attr_string (d, attrs[i]));

  const size_t per = (size_t) S * S;
  /* every channel of the first events, then one channel of the last event */
  if ((size_t) C * per <= READ_BUDGET)
    {
      int64_t n = MIN (N, (int64_t) (READ_BUDGET / ((size_t) C * per)));
      n = MIN (n, 4);
      float *block = g_new (float, (size_t) C * n * per);
      if (pf_dataset_read (d, 0, n, block, &error))
        check_finite (block, (size_t) C * n * per, path);
      else
        pf_fuzz_check_error (&error, path);
      if (pf_dataset_read_channel (d, C - 1, N - 1, 1, block, &error))
        check_finite (block, per, path);
      else
        pf_fuzz_check_error (&error, path);
      g_free (block);
    }
  /* a range outside the file is the caller's mistake, still an error naming the file */
  PF_FUZZ_CHECK (!pf_dataset_read_channel (d, 0, N, 1, NULL, &error), "%s: read past N", path);
  PF_FUZZ_CHECK (g_error_matches (error, PF_ERROR, PF_ERROR_INVALID), "%s: range error", path);
  pf_fuzz_check_error (&error, path);

  if ((double) N * per * C <= SUMMARY_BUDGET)
    {
      PfChannelSummary sum[PF_DATASET_MAX_CHANNELS];
      if (pf_dataset_summarize (d, sum, NULL, NULL, NULL, &error))
        for (int c = 0; c < C; c++)
          PF_FUZZ_CHECK (isfinite (sum[c].sum_mean) && isfinite (sum[c].sum_std)
                         && isfinite (sum[c].min) && isfinite (sum[c].max)
                         && sum[c].n_events == N, "%s: summary of channel %d is not finite",
                         path, c);
      else
        pf_fuzz_check_error (&error, path);
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  const char *path = pf_fuzz_write_input ("input.h5", data, size);
  GError *error = NULL;
  PfDataset *d = pf_dataset_open (path, &error);
  if (d)
    {
      exercise (d, path);
      pf_dataset_close (d);
    }
  else
    pf_fuzz_check_error (&error, path);
  pf_fuzz_check_h5_closed (path);
  return 0;
}
