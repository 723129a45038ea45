/* pf-h5-util.c — HDF5 error capture, attributes and the byte shuffle. */
#include "pf-h5-private.h"
#include <string.h>

void
_pf_h5_quiet (void)
{
  H5Eset_auto2 (H5E_DEFAULT, NULL, NULL);
}

typedef struct {
  char *outer; /* the API call's own message ("unable to open file") */
  char *inner; /* where it was detected ("truncated file: eof = ...") */
} PfH5ErrWalk;

static herr_t
walk_cb (unsigned n, const H5E_error2_t *e, void *data)
{
  PfH5ErrWalk *w = data;
  if (!e->desc || !e->desc[0])
    return 0;
  if (n == 0)
    {
      g_free (w->outer);
      w->outer = g_strdup (e->desc);
    }
  g_free (w->inner);
  w->inner = g_strdup (e->desc);
  return 0;
}

char *
_pf_h5_error_message (void)
{
  PfH5ErrWalk w = { NULL, NULL };
  H5Ewalk2 (H5E_DEFAULT, H5E_WALK_DOWNWARD, walk_cb, &w);
  H5Eclear2 (H5E_DEFAULT);
  char *msg;
  if (!w.outer)
    msg = g_strdup ("HDF5 error");
  else if (!w.inner || strcmp (w.outer, w.inner) == 0)
    msg = g_strdup (w.outer);
  else
    msg = g_strdup_printf ("%s (%s)", w.outer, w.inner);
  g_free (w.outer);
  g_free (w.inner);
  return msg;
}

gboolean
_pf_h5_attr_write (hid_t loc, const char *name, hid_t mem_type, hid_t file_type,
                   const void *value)
{
  hid_t space = H5Screate (H5S_SCALAR);
  hid_t attr = space < 0 ? -1 : H5Acreate2 (loc, name, file_type, space, H5P_DEFAULT, H5P_DEFAULT);
  gboolean ok = attr >= 0 && H5Awrite (attr, mem_type, value) >= 0;
  if (attr >= 0)
    H5Aclose (attr);
  if (space >= 0)
    H5Sclose (space);
  return ok;
}

static hid_t
vlen_string_type (void)
{
  hid_t t = H5Tcopy (H5T_C_S1);
  H5Tset_size (t, H5T_VARIABLE);
  H5Tset_cset (t, H5T_CSET_UTF8);
  return t;
}

gboolean
_pf_h5_attr_write_string (hid_t loc, const char *name, const char *value)
{
  hid_t t = vlen_string_type ();
  if (t < 0)
    return FALSE;
  /* An attribute set twice (e.g. `source` overridden) replaces the first. */
  if (H5Aexists (loc, name) > 0)
    H5Adelete (loc, name);
  gboolean ok = _pf_h5_attr_write (loc, name, t, t, &value);
  H5Tclose (t);
  return ok;
}

hid_t
_pf_h5_bool_type (void)
{
  hid_t t = H5Tenum_create (H5T_NATIVE_INT8);
  int8_t v = 0;
  H5Tenum_insert (t, "FALSE", &v);
  v = 1;
  H5Tenum_insert (t, "TRUE", &v);
  return t;
}

char *
_pf_h5_attr_read_string (hid_t loc, const char *name)
{
  if (H5Aexists (loc, name) <= 0)
    return NULL;
  hid_t attr = H5Aopen (loc, name, H5P_DEFAULT);
  if (attr < 0)
    return NULL;
  char *result = NULL;
  hid_t ft = H5Aget_type (attr);
  hid_t space = H5Aget_space (attr);
  if (ft >= 0 && space >= 0 && H5Tget_class (ft) == H5T_STRING
      && H5Sget_simple_extent_npoints (space) == 1)
    {
      if (H5Tis_variable_str (ft) > 0)
        {
          hid_t mt = vlen_string_type ();
          char *s = NULL;
          if (H5Aread (attr, mt, &s) >= 0 && s)
            {
              result = g_strdup (s);
              H5free_memory (s);
            }
          H5Tclose (mt);
        }
      else
        {
          size_t size = H5Tget_size (ft);
          if (size > 0 && size < (1u << 20))
            {
              hid_t mt = H5Tcopy (H5T_C_S1);
              H5Tset_size (mt, size + 1);
              H5Tset_strpad (mt, H5T_STR_NULLTERM);
              char *buf = g_malloc0 (size + 1);
              if (H5Aread (attr, mt, buf) >= 0)
                result = buf;
              else
                g_free (buf);
              H5Tclose (mt);
            }
        }
    }
  if (space >= 0)
    H5Sclose (space);
  if (ft >= 0)
    H5Tclose (ft);
  H5Aclose (attr);
  H5Eclear2 (H5E_DEFAULT);
  return result;
}

/* Plain loops over 4 output streams: GCC vectorises them at -O2/-O3, which is all the shuffle
 * needs next to deflate. */
void
_pf_shuffle4 (const void *src, void *dst, size_t n)
{
  const uint8_t *s = src;
  uint8_t *d0 = dst, *d1 = d0 + n, *d2 = d1 + n, *d3 = d2 + n;
  for (size_t i = 0; i < n; i++)
    {
      d0[i] = s[4 * i];
      d1[i] = s[4 * i + 1];
      d2[i] = s[4 * i + 2];
      d3[i] = s[4 * i + 3];
    }
}

void
_pf_unshuffle4 (const void *src, void *dst, size_t n)
{
  const uint8_t *s0 = src, *s1 = s0 + n, *s2 = s1 + n, *s3 = s2 + n;
  uint8_t *d = dst;
  for (size_t i = 0; i < n; i++)
    {
      d[4 * i] = s0[i];
      d[4 * i + 1] = s1[i];
      d[4 * i + 2] = s2[i];
      d[4 * i + 3] = s3[i];
    }
}
