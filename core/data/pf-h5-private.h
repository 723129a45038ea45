/* pf-h5-private.h — HDF5 helpers shared by the dataset writer and reader (not public API). */
#pragma once
#include <glib.h>
#include <hdf5.h>
#include <stdint.h>
#include <stddef.h>

G_BEGIN_DECLS

/* Silences HDF5's own printing on the calling thread's default stack; call at every entry. */
void _pf_h5_quiet (void);
/* The innermost message of HDF5's error stack (what went wrong), newly allocated. */
char *_pf_h5_error_message (void);

/* "[4,56,56]", newly allocated. */
char *_pf_h5_describe_dims (int rank, const hsize_t *dims);

/* Whether the storage of dataset `ds` is sound and all in the file, checked before reading:
 *  - chunks no larger than a fixed dimension and under 4 GiB (HDF5's own rules when it
 *    writes; HDF5 1.10 does not check them when it reads, and a chunk of [2,524296,8] in an
 *    [4,8,8] dataset made H5Dread overrun its buffer: a segfault);
 *  - a compact dataset's bytes match its extent (HDF5 1.10 does not check either: a compact
 *    dataset storing 0 of its 1024 bytes made H5Dread copy from NULL);
 *  - every chunk stored: HDF5 reads chunks never written, and a contiguous dataset never
 *    allocated, as the fill value, so a tiny file could declare any extent (pflow writes
 *    every chunk);
 *  - no external or virtual storage (they read other files, any path).
 * FALSE with *why ("stores 3 of the 10 chunks its shape needs (damaged or truncated file)"...),
 * newly allocated, to follow "FILE: dataset 'NAME' ". */
gboolean _pf_h5_check_storage (hid_t ds, char **why);

/* Root attributes. Strings are written variable-length UTF-8 (h5py reads them as str). */
gboolean _pf_h5_attr_write (hid_t loc, const char *name, hid_t mem_type, hid_t file_type,
                            const void *value);
gboolean _pf_h5_attr_write_string (hid_t loc, const char *name, const char *value);
/* h5py's bool: an int8 enum with FALSE = 0 and TRUE = 1. The caller closes it. */
hid_t _pf_h5_bool_type (void);
/* Reads a string attribute (fixed or variable length); NULL when absent or not a string. */
char *_pf_h5_attr_read_string (hid_t loc, const char *name);

/* Byte shuffle as HDF5's shuffle filter does it for 4-byte elements: all first bytes, then
 * all second bytes... `n` elements. */
void _pf_shuffle4 (const void *src, void *dst, size_t n);
void _pf_unshuffle4 (const void *src, void *dst, size_t n);

G_END_DECLS
