/* pf-tiff-import.h — turn a folder of TIFF images into a pflow dataset.
 *
 * The folder holds emcal_N.tiff, hcal_N.tiff, trkn_N.tiff, trkp_N.tiff and truth_N.tiff for
 * N = 0, 1, ... (as many events as there are consecutive emcal files). Each is one S x S
 * single-channel page, float32 or 8-bit unsigned (8-bit values become floats as they are),
 * with the same S everywhere. The events stream into a pf_dataset writer (no simulator
 * attributes, source "tiff-import", the folder name in attribute `tiff_folder`). */
#pragma once
#include <glib.h>
#include "pf-dataset.h"

G_BEGIN_DECLS

/* Imports `dir` into `out_h5`. compression_level < 0 means PF_DATASET_DEFAULT_LEVEL.
 * Every problem (no files, a missing channel file, a wrong size, type or channel count,
 * a NaN) is a PF_ERROR naming the file; nothing is left under out_h5 on failure.
 * `cancel` (may be NULL) is polled between blocks (PF_ERROR_CANCELLED). */
gboolean pf_tiff_import_dir (const char *dir, const char *out_h5, int compression_level,
                             PfDatasetProgressFunc progress, gpointer user_data,
                             const volatile gint *cancel, GError **error);

/* Reads one such TIFF: a new array of S * S floats (g_free it), S stored in *size. */
float *pf_tiff_read_image (const char *path, int *size, GError **error);

G_END_DECLS
