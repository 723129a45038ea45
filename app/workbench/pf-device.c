/* pf-device.c — see pf-device.h. */
#include "pf-device.h"
#include <string.h>
#include <glib/gi18n.h>
#include "pf-error.h"
#ifdef PF_HAVE_CUDA
#include "pf-backend-cuda.h"
#endif

gboolean
pf_device_pick (const char *want, PfDevice *device, char **what, GError **error)
{
  if (!want)
    want = "auto";
  if (strcmp (want, "auto") && strcmp (want, "cpu") && strcmp (want, "cuda"))
    {
      g_set_error (error, PF_ERROR, PF_ERROR_INVALID, _("unknown device '%s' (auto, cpu, cuda)"), want);
      return FALSE;
    }
  char *why = NULL;
  if (strcmp (want, "cpu") != 0)
    {
#ifdef PF_HAVE_CUDA
      GError *e = NULL;
      if (pf_backend_cuda_register (&e))
        {
          *device = PF_DEVICE_CUDA;
          if (what)
            *what = g_strdup_printf (_("GPU: %s (cuDNN/cuBLAS)"),
                                     pf_cuda_context_device_name (pf_backend_cuda_context ()));
          return TRUE;
        }
      why = g_strdup (e->message);
      if (!strcmp (want, "cuda"))
        {
          g_propagate_error (error, e);
          g_free (why);
          return FALSE;
        }
      g_error_free (e);
#else
      why = g_strdup (_("this build has no CUDA backend"));
      if (!strcmp (want, "cuda"))
        {
          g_set_error (error, PF_ERROR, PF_ERROR_UNSUPPORTED, "%s", why);
          g_free (why);
          return FALSE;
        }
#endif
    }
  *device = PF_DEVICE_CPU;
  if (what)
    *what = why ? g_strdup_printf (_("CPU (oneDNN/OpenBLAS; no GPU: %s)"), why)
                : g_strdup (_("CPU (oneDNN/OpenBLAS)"));
  g_free (why);
  return TRUE;
}
