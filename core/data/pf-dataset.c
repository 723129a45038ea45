/* pf-dataset.c — opening, validating, reading and summarising datasets (see pf-dataset.h). */
#include "pf-dataset.h"
#include "pf-error.h"
#include "pf-h5-private.h"

#include <errno.h>
#include <math.h>
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>

static const char *const channel_names[PF_DATASET_MAX_CHANNELS] = {
  [PF_CH_EMCAL] = "emcal",
  [PF_CH_HCAL] = "hcal",
  [PF_CH_TRK_N] = "trk_n",
  [PF_CH_TRK_P] = "trk_p",
  [PF_CH_TRUTH] = "truth",
  [PF_DATASET_CH_JET] = "jet",
};

const char *
pf_dataset_channel_name (int ch)
{
  g_return_val_if_fail (ch >= 0 && ch < PF_DATASET_MAX_CHANNELS, NULL);
  return channel_names[ch];
}

struct _PfDataset {
  char *path;
  hid_t file;
  hid_t dset[PF_DATASET_MAX_CHANNELS];
  int n_channels;
  int S;
  int64_t n_events;
  char *source;
  gboolean has_params;
  PfSimParams params;
};

void
pf_dataset_close (PfDataset *d)
{
  if (!d)
    return;
  for (int c = 0; c < PF_DATASET_MAX_CHANNELS; c++)
    if (d->dset[c] >= 0)
      H5Dclose (d->dset[c]);
  if (d->file >= 0)
    H5Fclose (d->file);
  H5Eclear2 (H5E_DEFAULT);
  g_free (d->path);
  g_free (d->source);
  g_free (d);
}

/* "float64", "int32", "uint8", "string"... for messages. */
static char *
describe_type (hid_t t)
{
  size_t bits = H5Tget_size (t) * 8;
  switch (H5Tget_class (t))
    {
    case H5T_FLOAT:
      return g_strdup_printf ("float%zu", bits);
    case H5T_INTEGER:
      return g_strdup_printf ("%sint%zu", H5Tget_sign (t) == H5T_SGN_NONE ? "u" : "", bits);
    case H5T_STRING:
      return g_strdup ("string");
    case H5T_COMPOUND:
      return g_strdup ("compound");
    case H5T_ENUM:
      return g_strdup ("enum");
    default:
      return g_strdup_printf ("an HDF5 type of %zu bytes", bits / 8);
    }
}

/* Opens channel ch and checks it is float32 [N,S,S]; fills *n and *S. */
static gboolean
open_channel (PfDataset *d, int ch, int64_t *n, int *S, GError **error)
{
  const char *name = channel_names[ch];
  H5O_info_t info;
  if (H5Oget_info_by_name (d->file, name, &info, H5P_DEFAULT) < 0 || info.type != H5O_TYPE_DATASET)
    {
      H5Eclear2 (H5E_DEFAULT);
      g_set_error (error, PF_ERROR, PF_ERROR_FORMAT,
                   "%s: '%s' is not a dataset (expected float32 [N,S,S])", d->path, name);
      return FALSE;
    }
  hid_t ds = d->dset[ch] = H5Dopen2 (d->file, name, H5P_DEFAULT);
  if (ds < 0)
    {
      char *m = _pf_h5_error_message ();
      g_set_error (error, PF_ERROR, PF_ERROR_FORMAT, "%s: cannot open dataset '%s': %s",
                   d->path, name, m);
      g_free (m);
      return FALSE;
    }
  hid_t t = H5Dget_type (ds);
  gboolean ok = t >= 0 && H5Tget_class (t) == H5T_FLOAT && H5Tget_size (t) == 4;
  if (!ok)
    {
      char *found = t >= 0 ? describe_type (t) : g_strdup ("an unreadable type");
      g_set_error (error, PF_ERROR, PF_ERROR_FORMAT,
                   "%s: dataset '%s' holds %s, expected float32", d->path, name, found);
      g_free (found);
    }
  if (t >= 0)
    H5Tclose (t);
  if (!ok)
    return FALSE;

  hid_t sp = H5Dget_space (ds);
  int rank = sp >= 0 ? H5Sget_simple_extent_ndims (sp) : -1;
  hsize_t dims[H5S_MAX_RANK] = { 0 };
  if (rank > 0)
    H5Sget_simple_extent_dims (sp, dims, NULL);
  if (sp >= 0)
    H5Sclose (sp);
  if (rank != 3 || dims[1] != dims[2] || dims[1] == 0 || dims[1] > 4096)
    {
      char *found = rank >= 0 ? _pf_h5_describe_dims (rank, dims) : g_strdup ("no simple shape");
      g_set_error (error, PF_ERROR, PF_ERROR_SHAPE,
                   "%s: dataset '%s' has shape %s, expected [N,S,S] with 1 <= S <= 4096",
                   d->path, name, found);
      g_free (found);
      return FALSE;
    }
  if (dims[0] > (hsize_t) G_MAXINT64 / (dims[1] * dims[2]))
    {
      g_set_error (error, PF_ERROR, PF_ERROR_SHAPE, "%s: dataset '%s' is impossibly large",
                   d->path, name);
      return FALSE;
    }
  /* a few hundred bytes could otherwise declare 2^40 events of fill-value zeros */
  char *why = NULL;
  if (!_pf_h5_check_storage (ds, &why))
    {
      g_set_error (error, PF_ERROR, PF_ERROR_FORMAT, "%s: dataset '%s' %s", d->path, name, why);
      g_free (why);
      return FALSE;
    }
  *n = (int64_t) dims[0];
  *S = (int) dims[1];
  return TRUE;
}

/* Reads attribute `name` into `mem` converted to `mem_type`; checks class and scalarity. */
static gboolean
read_scalar_attr (PfDataset *d, const char *name, H5T_class_t want, hid_t mem_type, void *mem,
                  GError **error)
{
  hid_t a = H5Aopen (d->file, name, H5P_DEFAULT);
  hid_t t = a >= 0 ? H5Aget_type (a) : -1;
  hid_t sp = a >= 0 ? H5Aget_space (a) : -1;
  H5T_class_t cls = t >= 0 ? H5Tget_class (t) : H5T_NO_CLASS;
  gboolean ok = sp >= 0 && H5Sget_simple_extent_npoints (sp) == 1 && cls == want
                && H5Aread (a, mem_type, mem) >= 0;
  if (!ok)
    {
      char *found = t >= 0 ? describe_type (t) : g_strdup ("nothing readable");
      g_set_error (error, PF_ERROR, PF_ERROR_FORMAT,
                   "%s: attribute '%s' holds %s, expected a single %s", d->path, name, found,
                   want == H5T_FLOAT ? "float" : want == H5T_ENUM ? "bool" : "integer");
      g_free (found);
    }
  if (sp >= 0)
    H5Sclose (sp);
  if (t >= 0)
    H5Tclose (t);
  if (a >= 0)
    H5Aclose (a);
  H5Eclear2 (H5E_DEFAULT);
  return ok;
}

static gboolean
read_bool_attr (PfDataset *d, const char *name, gboolean *out, GError **error)
{
  /* h5py's bool enum, or a plain integer from another writer. */
  hid_t a = H5Aopen (d->file, name, H5P_DEFAULT);
  hid_t t = a >= 0 ? H5Aget_type (a) : -1;
  H5T_class_t cls = t >= 0 ? H5Tget_class (t) : H5T_NO_CLASS;
  if (t >= 0)
    H5Tclose (t);
  if (a >= 0)
    H5Aclose (a);
  if (cls == H5T_ENUM)
    {
      hid_t bt = _pf_h5_bool_type ();
      int8_t v = 0;
      gboolean ok = read_scalar_attr (d, name, H5T_ENUM, bt, &v, error);
      H5Tclose (bt);
      *out = v != 0;
      return ok;
    }
  int v = 0;
  gboolean ok = read_scalar_attr (d, name, H5T_INTEGER, H5T_NATIVE_INT, &v, error);
  *out = v != 0;
  return ok;
}

/* Simulator parameters: all or none (imports). */
static gboolean
read_params (PfDataset *d, GError **error)
{
  guint n = 0;
  const PfSimParamInfo *tab = pf_sim_param_table (&n);
  guint present = 0;
  const char *missing = NULL;
  for (guint i = 0; i < n; i++)
    {
      if (H5Aexists (d->file, tab[i].name) > 0)
        present++;
      else if (!missing)
        missing = tab[i].name;
    }
  H5Eclear2 (H5E_DEFAULT);
  if (present == 0)
    {
      if (g_strcmp0 (d->source, "pflow-sim") == 0)
        {
          g_set_error (error, PF_ERROR, PF_ERROR_FORMAT,
                       "%s: source is pflow-sim but the simulator attributes are missing "
                       "(expected '%s' and the others)", d->path, n ? tab[0].name : "?");
          return FALSE;
        }
      return TRUE;
    }
  if (missing)
    {
      g_set_error (error, PF_ERROR, PF_ERROR_FORMAT,
                   "%s: simulator attribute '%s' is missing (%u of %u present)", d->path,
                   missing, present, n);
      return FALSE;
    }
  PfSimParams *p = &d->params;
  pf_sim_params_init_default (p);
  for (guint i = 0; i < n; i++)
    {
      char *base = (char *) p + tab[i].offset;
      gboolean ok;
      switch (tab[i].type)
        {
        case PF_PARAM_DOUBLE:
          ok = read_scalar_attr (d, tab[i].name, H5T_FLOAT, H5T_NATIVE_DOUBLE, base, error);
          break;
        case PF_PARAM_INT:
          ok = read_scalar_attr (d, tab[i].name, H5T_INTEGER, H5T_NATIVE_INT, base, error);
          break;
        case PF_PARAM_BOOL:
          ok = read_bool_attr (d, tab[i].name, (gboolean *) base, error);
          break;
        case PF_PARAM_U64:
          ok = read_scalar_attr (d, tab[i].name, H5T_INTEGER, H5T_NATIVE_UINT64, base, error);
          break;
        default:
          ok = FALSE;
          g_set_error (error, PF_ERROR, PF_ERROR_FORMAT, "%s: unknown parameter type", d->path);
        }
      if (!ok)
        return FALSE;
    }
  GError *inner = NULL;
  if (!pf_sim_params_validate (p, &inner))
    {
      g_set_error (error, PF_ERROR, PF_ERROR_FORMAT, "%s: invalid simulator attributes: %s",
                   d->path, inner->message);
      g_error_free (inner);
      return FALSE;
    }
  if (p->image_size != d->S)
    {
      g_set_error (error, PF_ERROR, PF_ERROR_SHAPE,
                   "%s: attribute image_size is %d but the datasets are %dx%d", d->path,
                   p->image_size, d->S, d->S);
      return FALSE;
    }
  d->has_params = TRUE;
  return TRUE;
}

PfDataset *
pf_dataset_open (const char *path, GError **error)
{
  g_return_val_if_fail (path != NULL, NULL);
  _pf_h5_quiet ();
  GStatBuf st;
  if (g_stat (path, &st) != 0)
    {
      int e = errno;
      g_set_error (error, PF_ERROR, PF_ERROR_IO, "%s: cannot open: %s", path, g_strerror (e));
      return NULL;
    }
  if (!S_ISREG (st.st_mode))
    {
      g_set_error (error, PF_ERROR, PF_ERROR_IO, "%s: not a regular file", path);
      return NULL;
    }
  if (g_access (path, R_OK) != 0)
    {
      int e = errno;
      g_set_error (error, PF_ERROR, PF_ERROR_IO, "%s: cannot read: %s", path, g_strerror (e));
      return NULL;
    }
  if (H5Fis_hdf5 (path) <= 0)
    {
      H5Eclear2 (H5E_DEFAULT);
      g_set_error (error, PF_ERROR, PF_ERROR_FORMAT,
                   "%s: not an HDF5 file (no HDF5 signature in %lld bytes)", path,
                   (long long) st.st_size);
      return NULL;
    }
  PfDataset *d = g_new0 (PfDataset, 1);
  d->path = g_strdup (path);
  for (int c = 0; c < PF_DATASET_MAX_CHANNELS; c++)
    d->dset[c] = -1;
  d->file = H5Fopen (path, H5F_ACC_RDONLY, H5P_DEFAULT);
  if (d->file < 0)
    {
      char *m = _pf_h5_error_message ();
      g_set_error (error, PF_ERROR, PF_ERROR_FORMAT,
                   "%s: damaged or truncated HDF5 file (%lld bytes): %s", path,
                   (long long) st.st_size, m);
      g_free (m);
      pf_dataset_close (d);
      return NULL;
    }

  d->n_channels = PF_N_CHANNELS;
  if (H5Lexists (d->file, channel_names[PF_DATASET_CH_JET], H5P_DEFAULT) > 0)
    d->n_channels = PF_DATASET_MAX_CHANNELS;
  H5Eclear2 (H5E_DEFAULT);
  for (int c = 0; c < d->n_channels; c++)
    {
      if (H5Lexists (d->file, channel_names[c], H5P_DEFAULT) <= 0)
        {
          H5Eclear2 (H5E_DEFAULT);
          g_set_error (error, PF_ERROR, PF_ERROR_FORMAT,
                       "%s: no dataset '%s' (expected float32 [N,S,S] datasets emcal, hcal, "
                       "trk_n, trk_p, truth)", path, channel_names[c]);
          pf_dataset_close (d);
          return NULL;
        }
      int64_t n = 0;
      int S = 0;
      if (!open_channel (d, c, &n, &S, error))
        {
          pf_dataset_close (d);
          return NULL;
        }
      if (c == 0)
        {
          d->n_events = n;
          d->S = S;
        }
      else if (n != d->n_events || S != d->S)
        {
          g_set_error (error, PF_ERROR, PF_ERROR_SHAPE,
                       "%s: dataset '%s' is [%" G_GINT64_FORMAT ",%d,%d] but '%s' is [%"
                       G_GINT64_FORMAT ",%d,%d]; all channels must agree", path,
                       channel_names[c], n, S, S, channel_names[0], d->n_events, d->S, d->S);
          pf_dataset_close (d);
          return NULL;
        }
    }
  if (d->n_events == 0)
    {
      g_set_error (error, PF_ERROR, PF_ERROR_FORMAT,
                   "%s: dataset '%s' holds no events (expected N >= 1)", path, channel_names[0]);
      pf_dataset_close (d);
      return NULL;
    }
  d->source = _pf_h5_attr_read_string (d->file, "source");
  if (!d->source)
    d->source = g_strdup ("");
  if (!read_params (d, error))
    {
      pf_dataset_close (d);
      return NULL;
    }
  return d;
}

const char *pf_dataset_path (const PfDataset *d) { return d->path; }
int64_t pf_dataset_n_events (const PfDataset *d) { return d->n_events; }
int pf_dataset_image_size (const PfDataset *d) { return d->S; }
int pf_dataset_n_channels (const PfDataset *d) { return d->n_channels; }
const char *pf_dataset_source (const PfDataset *d) { return d->source; }

char *
pf_dataset_attr_string (const PfDataset *d, const char *name)
{
  _pf_h5_quiet ();
  return _pf_h5_attr_read_string (d->file, name);
}

gboolean
pf_dataset_params (const PfDataset *d, PfSimParams *out)
{
  if (!d->has_params)
    return FALSE;
  *out = d->params;
  return TRUE;
}

static gboolean
check_range (PfDataset *d, int64_t first, int64_t n, GError **error)
{
  if (first < 0 || n < 0 || first > d->n_events || n > d->n_events - first)
    {
      g_set_error (error, PF_ERROR, PF_ERROR_INVALID,
                   "%s: events [%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT ") outside the "
                   "file's [0, %" G_GINT64_FORMAT ")", d->path, first, first + n, d->n_events);
      return FALSE;
    }
  return TRUE;
}

gboolean
pf_dataset_read_channel (PfDataset *d, int ch, int64_t first, int64_t n, float *out,
                         GError **error)
{
  g_return_val_if_fail (d != NULL && ch >= 0 && ch < d->n_channels, FALSE);
  if (!check_range (d, first, n, error))
    return FALSE;
  if (n == 0)
    return TRUE;
  _pf_h5_quiet ();
  hsize_t start[3] = { (hsize_t) first, 0, 0 };
  hsize_t count[3] = { (hsize_t) n, d->S, d->S };
  hid_t fsp = H5Dget_space (d->dset[ch]);
  hid_t msp = H5Screate_simple (3, count, NULL);
  gboolean ok = fsp >= 0 && msp >= 0
                && H5Sselect_hyperslab (fsp, H5S_SELECT_SET, start, NULL, count, NULL) >= 0
                && H5Dread (d->dset[ch], H5T_NATIVE_FLOAT, msp, fsp, H5P_DEFAULT, out) >= 0;
  /* Take HDF5's message before the next API call clears its error stack. */
  char *m = ok ? NULL : _pf_h5_error_message ();
  if (msp >= 0)
    H5Sclose (msp);
  if (fsp >= 0)
    H5Sclose (fsp);
  if (!ok)
    {
      g_set_error (error, PF_ERROR, PF_ERROR_IO,
                   "%s: cannot read dataset '%s' events [%" G_GINT64_FORMAT ", %"
                   G_GINT64_FORMAT "): %s", d->path, channel_names[ch], first, first + n, m);
      g_free (m);
      return FALSE;
    }
  const size_t per = (size_t) d->S * d->S, total = (size_t) n * per;
  for (size_t i = 0; i < total; i++)
    if (G_UNLIKELY (!isfinite (out[i])))
      {
        g_set_error (error, PF_ERROR, PF_ERROR_NUMERIC,
                     "%s: dataset '%s' event %" G_GINT64_FORMAT " row %zu col %zu holds %s, "
                     "expected a finite value", d->path, channel_names[ch],
                     first + (int64_t) (i / per), (i % per) / d->S, i % d->S,
                     isnan (out[i]) ? "NaN" : "an infinite value");
        return FALSE;
      }
  return TRUE;
}

gboolean
pf_dataset_read (PfDataset *d, int64_t first, int64_t n, float *block, GError **error)
{
  g_return_val_if_fail (d != NULL, FALSE);
  if (!check_range (d, first, n, error))
    return FALSE;
  const size_t per = (size_t) d->S * d->S;
  for (int c = 0; c < d->n_channels; c++)
    if (!pf_dataset_read_channel (d, c, first, n, block + (size_t) c * n * per, error))
      return FALSE;
  return TRUE;
}

gboolean
pf_dataset_summarize (PfDataset *d, PfChannelSummary *out, PfDatasetProgressFunc progress,
                      gpointer user_data, const volatile gint *cancel, GError **error)
{
  g_return_val_if_fail (d != NULL && out != NULL, FALSE);
  const size_t per = (size_t) d->S * d->S;
  /* About 8 MiB per channel per block: bounded memory whatever N is. */
  int64_t B = MAX (1, (int64_t) ((8u << 20) / (per * sizeof (float))));
  B = MIN (B, d->n_events);
  float *buf = g_try_malloc (B * per * sizeof (float));
  if (!buf)
    {
      g_set_error (error, PF_ERROR, PF_ERROR_IO, "%s: out of memory for a read block", d->path);
      return FALSE;
    }
  double mean[PF_DATASET_MAX_CHANNELS] = { 0 }, m2[PF_DATASET_MAX_CHANNELS] = { 0 };
  int64_t nonzero[PF_DATASET_MAX_CHANNELS] = { 0 };
  double lo[PF_DATASET_MAX_CHANNELS], hi[PF_DATASET_MAX_CHANNELS];
  for (int c = 0; c < d->n_channels; c++)
    lo[c] = INFINITY, hi[c] = -INFINITY;
  gboolean ok = TRUE;
  for (int64_t first = 0; ok && first < d->n_events; first += B)
    {
      if (cancel && *cancel)
        {
          g_set_error (error, PF_ERROR, PF_ERROR_CANCELLED, "%s: summary cancelled", d->path);
          ok = FALSE;
          break;
        }
      int64_t n = MIN (B, d->n_events - first);
      for (int c = 0; ok && c < d->n_channels; c++)
        {
          ok = pf_dataset_read_channel (d, c, first, n, buf, error);
          for (int64_t e = 0; ok && e < n; e++)
            {
              const float *img = buf + e * per;
              double s = 0;
              int64_t nz = 0;
              float mn = img[0], mx = img[0];
              for (size_t i = 0; i < per; i++)
                {
                  s += img[i];
                  nz += img[i] != 0.0f;
                  mn = fminf (mn, img[i]);
                  mx = fmaxf (mx, img[i]);
                }
              /* Welford: stable over millions of events. */
              int64_t k = first + e + 1;
              double delta = s - mean[c];
              mean[c] += delta / k;
              m2[c] += delta * (s - mean[c]);
              nonzero[c] += nz;
              lo[c] = MIN (lo[c], mn);
              hi[c] = MAX (hi[c], mx);
            }
        }
      if (ok && progress)
        progress (first + n, d->n_events, user_data);
    }
  g_free (buf);
  if (!ok)
    return FALSE;
  for (int c = 0; c < d->n_channels; c++)
    {
      out[c].n_events = d->n_events;
      out[c].sum_mean = mean[c];
      out[c].sum_std = sqrt (m2[c] / d->n_events);
      out[c].occupancy = (double) nonzero[c] / ((double) d->n_events * per);
      out[c].min = lo[c];
      out[c].max = hi[c];
    }
  return TRUE;
}
