/* pf-fuzz-h5.h — the HDF5 part of the fuzz checks: a reader that returns must have closed
 * every HDF5 identifier it opened. A leaked one keeps the file open inside HDF5, and the next
 * open of the same name would silently get the old file's cached contents. */
#pragma once
#include <hdf5.h>
#include "pf-fuzz.h"

static inline void
pf_fuzz_check_h5_closed (const char *path)
{
  ssize_t n = H5Fget_obj_count (H5F_OBJ_ALL, H5F_OBJ_ALL);
  PF_FUZZ_CHECK (n == 0, "%zd HDF5 objects still open after reading %s", n, path);
}
