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

gboolean
pf_device_set_precision (PfDevice device, const char *name, GError **error)
{
  static const char *const names[] = { "fp32", "tf32", "bf16" };
  if (!name)
    name = "fp32";
  int which = -1;
  for (int i = 0; i < (int) G_N_ELEMENTS (names); i++)
    if (!strcmp (name, names[i]))
      which = i;
  if (which < 0)
    {
      g_set_error (error, PF_ERROR, PF_ERROR_INVALID, _("unknown precision '%s' (fp32, tf32, bf16)"), name);
      return FALSE;
    }
  if (device != PF_DEVICE_CUDA)
    {
      if (which == 0)
        return TRUE;
      g_set_error (error, PF_ERROR, PF_ERROR_UNSUPPORTED,
                   _("precision '%s' needs the GPU; the CPU computes in fp32"), name);
      return FALSE;
    }
#ifdef PF_HAVE_CUDA
  static const PfCudaPrecision modes[] = { PF_CUDA_PRECISION_FP32, PF_CUDA_PRECISION_TF32,
                                           PF_CUDA_PRECISION_BF16 };
  return pf_cuda_context_set_precision (pf_backend_cuda_context (), modes[which], error);
#else
  g_set_error (error, PF_ERROR, PF_ERROR_UNSUPPORTED, "%s", _("this build has no CUDA backend"));
  return FALSE;
#endif
}
