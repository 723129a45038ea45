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

char *
_pf_h5_describe_dims (int rank, const hsize_t *v)
{
  GString *s = g_string_new ("[");
  for (int i = 0; i < rank; i++)
    g_string_append_printf (s, "%s%llu", i ? "," : "", (unsigned long long) v[i]);
  g_string_append_c (s, ']');
  return g_string_free (s, FALSE);
}

gboolean
_pf_h5_check_storage (hid_t ds, char **why)
{
  hid_t sp = H5Dget_space (ds);
  hssize_t n_points = sp >= 0 ? H5Sget_simple_extent_npoints (sp) : -1;
  int rank = sp >= 0 ? H5Sget_simple_extent_ndims (sp) : -1;
  hsize_t dims[H5S_MAX_RANK] = { 0 }, maxdims[H5S_MAX_RANK] = { 0 };
  if (rank > 0)
    H5Sget_simple_extent_dims (sp, dims, maxdims);
  hid_t type = H5Dget_type (ds);
  size_t type_size = type >= 0 ? H5Tget_size (type) : 0;
  if (type >= 0)
    H5Tclose (type);
  hid_t dcpl = H5Dget_create_plist (ds);
  H5D_layout_t layout = dcpl >= 0 ? H5Pget_layout (dcpl) : H5D_LAYOUT_ERROR;
  int n_external = dcpl >= 0 ? H5Pget_external_count (dcpl) : -1;
  hsize_t chunk[H5S_MAX_RANK] = { 0 };
  gboolean chunk_ok = layout == H5D_CHUNKED && rank > 0 && H5Pget_chunk (dcpl, rank, chunk) == rank;
  for (int i = 0; chunk_ok && i < rank; i++)
    chunk_ok = chunk[i] > 0;
  if (dcpl >= 0)
    H5Pclose (dcpl);
  H5Eclear2 (H5E_DEFAULT);

  gboolean ok = TRUE;
  if (n_points < 0 || type_size == 0 || n_external != 0 || (layout == H5D_CHUNKED && !chunk_ok)
      || (layout != H5D_CHUNKED && layout != H5D_CONTIGUOUS && layout != H5D_COMPACT))
    {
      *why = g_strdup ("does not keep its data in the file (external, virtual or unreadable "
                       "storage)");
      ok = FALSE;
    }
  /* HDF5's own rules for chunks when it writes them: within fixed dimensions, < 4 GiB */
  hsize_t bytes = type_size;
  for (int i = 0; ok && layout == H5D_CHUNKED && i < rank; i++)
    {
      ok = (maxdims[i] == H5S_UNLIMITED || chunk[i] <= maxdims[i])
           && chunk[i] <= G_MAXUINT32 / bytes;
      bytes *= chunk[i];
      if (!ok)
        {
          char *c = _pf_h5_describe_dims (rank, chunk), *d = _pf_h5_describe_dims (rank, dims);
          *why = g_strdup_printf ("has chunks of %s that do not fit its shape %s (damaged file)",
                                  c, d);
          g_free (c);
          g_free (d);
        }
    }
  if (ok && n_points > 0 && layout == H5D_CHUNKED)
    {
      /* the chunk count is at most the element count, which fits a hsize_t */
      hsize_t want = 1, have = 0;
      for (int i = 0; i < rank; i++)
        want *= dims[i] / chunk[i] + (dims[i] % chunk[i] != 0);
      /* HDF5 1.10.8's H5Dget_num_chunks refuses H5S_ALL: it gets the dataset's own space */
      herr_t st = H5Dget_num_chunks (ds, sp, &have);
      if (st < 0 || have < want)
        {
          *why = g_strdup_printf ("stores %llu of the %llu chunks its shape needs (damaged or "
                                  "truncated file)", st < 0 ? 0ull : (unsigned long long) have,
                                  (unsigned long long) want);
          ok = FALSE;
        }
    }
  else if (ok && n_points > 0 && layout == H5D_COMPACT)
    {
      /* HDF5 1.10 does not compare the stored bytes with the extent: a compact dataset of
       * 1024 bytes storing 0 made H5Dread copy from a NULL buffer (a segfault) */
      hsize_t stored = H5Dget_storage_size (ds), want = (hsize_t) n_points * type_size;
      if (stored != want)
        {
          *why = g_strdup_printf ("stores %llu bytes in its header for the %llu its shape "
                                  "needs (damaged file)", (unsigned long long) stored,
                                  (unsigned long long) want);
          ok = FALSE;
        }
    }
  else if (ok && n_points > 0 && layout == H5D_CONTIGUOUS)
    {
      H5D_space_status_t status = H5D_SPACE_STATUS_ERROR;
      if (H5Dget_space_status (ds, &status) < 0 || status != H5D_SPACE_STATUS_ALLOCATED)
        {
          *why = g_strdup ("has no data stored (damaged file, or never written)");
          ok = FALSE;
        }
    }
  if (sp >= 0)
    H5Sclose (sp);
  H5Eclear2 (H5E_DEFAULT);
  return ok;
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
