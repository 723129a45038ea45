/* pf-train-util.c — temporary files, HDF5 attributes and the graph's device for core/train. */
#include "pf-train-private.h"
#include "pf-h5-private.h"
#include "pf-error.h"
#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <unistd.h>

const PfMemory *
_pf_train_graph_memory (PfGraph *g)
{
  /* Every node of a planned graph is bound to a backend of the graph's one device. */
  PfDevice dev = PF_DEVICE_CPU;
  if (pf_graph_n_nodes (g) > 0 && pf_graph_node (g, 0)->backend)
    dev = pf_graph_node (g, 0)->backend->device;
  return pf_memory_for (dev);
}

char *
_pf_train_tmp_beside (const char *path, GError **error)
{
  char *dir = g_path_get_dirname (path);
  char *base = g_path_get_basename (path);
  char *name = g_strdup_printf (".%s.tmp-XXXXXX", base);
  char *tmp = g_build_filename (dir, name, NULL);
  g_free (name);
  g_free (base);
  int fd = g_mkstemp_full (tmp, O_RDWR | O_CLOEXEC, 0666);
  if (fd < 0)
    {
      int e = errno;
      g_set_error (error, PF_ERROR, PF_ERROR_IO, "%s: cannot create a file in %s: %s", path, dir,
                   g_strerror (e));
      g_free (tmp);
      tmp = NULL;
    }
  else
    close (fd);
  g_free (dir);
  return tmp;
}

gboolean
_pf_train_commit (const char *tmp, const char *path, GError **error)
{
  int fd = open (tmp, O_RDONLY | O_CLOEXEC);
  if (fd >= 0)
    {
      fsync (fd);
      close (fd);
    }
  if (g_rename (tmp, path) != 0)
    {
      int e = errno;
      g_set_error (error, PF_ERROR, PF_ERROR_IO, "%s: cannot rename %s into place: %s", path, tmp,
                   g_strerror (e));
      g_unlink (tmp);
      return FALSE;
    }
  return TRUE;
}

static void
drop (hid_t loc, const char *name)
{
  if (H5Aexists (loc, name) > 0)
    H5Adelete (loc, name);
}

gboolean
_pf_train_attr_int (hid_t loc, const char *name, int64_t v)
{
  drop (loc, name);
  return _pf_h5_attr_write (loc, name, H5T_NATIVE_INT64, H5T_STD_I64LE, &v);
}

gboolean
_pf_train_attr_double (hid_t loc, const char *name, double v)
{
  drop (loc, name);
  return _pf_h5_attr_write (loc, name, H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, &v);
}

gboolean
_pf_train_attr_bool (hid_t loc, const char *name, gboolean v)
{
  drop (loc, name);
  hid_t t = _pf_h5_bool_type ();
  int8_t b = v ? 1 : 0;
  gboolean ok = t >= 0 && _pf_h5_attr_write (loc, name, t, t, &b);
  if (t >= 0)
    H5Tclose (t);
  return ok;
}

gboolean
_pf_train_attr_string (hid_t loc, const char *name, const char *v)
{
  return _pf_h5_attr_write_string (loc, name, v ? v : "");
}

static gboolean
attr_read (hid_t loc, const char *name, hid_t mem_type, void *out)
{
  if (H5Aexists (loc, name) <= 0)
    {
      H5Eclear2 (H5E_DEFAULT);
      return FALSE;
    }
  hid_t a = H5Aopen (loc, name, H5P_DEFAULT);
  if (a < 0)
    return FALSE;
  hid_t sp = H5Aget_space (a), ft = H5Aget_type (a);
  gboolean ok = sp >= 0 && ft >= 0 && H5Sget_simple_extent_npoints (sp) == 1;
  /* bools are int8 enums (h5py): read them through their integer base */
  if (ok && H5Tget_class (ft) == H5T_ENUM && mem_type == H5T_NATIVE_INT64)
    {
      int8_t b = 0;
      hid_t bt = _pf_h5_bool_type ();
      ok = H5Aread (a, bt, &b) >= 0;
      H5Tclose (bt);
      *(int64_t *) out = b;
    }
  else
    ok = ok && (H5Tget_class (ft) == H5T_INTEGER || H5Tget_class (ft) == H5T_FLOAT)
         && H5Aread (a, mem_type, out) >= 0;
  if (ft >= 0)
    H5Tclose (ft);
  if (sp >= 0)
    H5Sclose (sp);
  H5Aclose (a);
  H5Eclear2 (H5E_DEFAULT);
  return ok;
}

gboolean
_pf_train_attr_read_int (hid_t loc, const char *name, int64_t *v)
{
  return attr_read (loc, name, H5T_NATIVE_INT64, v);
}

gboolean
_pf_train_attr_read_double (hid_t loc, const char *name, double *v)
{
  return attr_read (loc, name, H5T_NATIVE_DOUBLE, v);
}
