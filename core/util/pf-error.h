/* pf-error.h — the GError domain of libpflow.
 *
 * Every core function that can fail on input returns FALSE/NULL and fills a GError whose
 * message names the file, the dataset and what was expected versus found. */
#pragma once
#include <glib.h>

G_BEGIN_DECLS

#define PF_ERROR (pf_error_quark ())
GQuark pf_error_quark (void);

typedef enum {
  PF_ERROR_IO,        /* cannot open, read, write or rename a file */
  PF_ERROR_FORMAT,    /* a file exists but is not what it should be */
  PF_ERROR_INVALID,   /* a parameter out of range (negative, NaN, zero events...) */
  PF_ERROR_SHAPE,     /* tensor or dataset shapes do not agree */
  PF_ERROR_NUMERIC,   /* a non-finite value where it would poison the result */
  PF_ERROR_CANCELLED, /* the user stopped the work */
  PF_ERROR_UNSUPPORTED,
} PfError;

G_END_DECLS
