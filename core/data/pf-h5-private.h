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
