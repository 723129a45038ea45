/* pf-fuzz-seeds.h — the seed inputs of the fuzz targets, made with pflow's own writers (and
 * the HDF5 and libtiff APIs for the malformed ones), so tests/fuzz/corpus/ can be made again
 * with `fuzz-make-corpus` (docs/fuzzing.md). Random bytes almost never form valid HDF5 or
 * TIFF: seeded with real files, a fuzzer mutates their structure instead. */
#pragma once
#include <glib.h>

G_BEGIN_DECLS

/* The targets that have seeds, NULL-terminated: "dataset", "tiff", "checkpoint", "hepmc3",
 * "particles", "baseline", "runs". */
extern const char *const pf_fuzz_seed_targets[];

/* Writes the seeds of `target` into `dir` (which exists). FALSE for an unknown target. */
gboolean pf_fuzz_seeds_write (const char *target, const char *dir, GError **error);

G_END_DECLS
