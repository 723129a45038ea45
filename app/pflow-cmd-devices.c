/* pflow-cmd-devices.c — `pflow devices`: what this machine offers pflow: the CPU path's threads
 * and libraries, the GPU with its library versions (or why there is none), and where
 * `--device auto` trains. */
#include "pflow-cli.h"
#include "pf-device.h"
#include "pf-ops-fast.h"
#include <glib/gi18n.h>
#include <stdio.h>
#ifdef PF_HAVE_CUDA
#include "pf-backend-cuda.h"
#endif

int
pflow_cmd_devices (int argc, char **argv)
{
  GOptionEntry entries[] = { { NULL } };
  GOptionContext *octx = g_option_context_new (_("- the CPU and GPU pflow can compute on"));
  g_option_context_add_main_entries (octx, entries, GETTEXT_PACKAGE);
  gboolean parsed = pflow_parse_options (octx, &argc, &argv, "devices");
  g_option_context_free (octx);
  if (!parsed)
    return 2;
  if (argc != 1)
    {
      fprintf (stderr, "pflow devices: %s\n", _("takes no arguments"));
      return 2;
    }
  char *cpu = pf_ops_fast_describe ();
  printf (_("CPU: %s\n"), cpu);
  g_free (cpu);

  PfDevice device = PF_DEVICE_CPU;
  char *what = NULL;
  GError *error = NULL;
  if (!pf_device_pick ("auto", &device, &what, &error))
    return pflow_fail ("devices", error);
#ifdef PF_HAVE_CUDA
  if (device == PF_DEVICE_CUDA)
    {
      char *gpu = pf_cuda_context_describe (pf_backend_cuda_context ());
      printf (_("GPU: %s\n"), gpu);
      printf (_("GPU precisions (--precision): fp32 (default, as the CPU), tf32, bf16\n"));
      g_free (gpu);
    }
  else
    {
      char *why = NULL;
      pf_cuda_available (&why);
      printf (_("GPU: none (%s)\n"), why ? why : "?");
      g_free (why);
    }
#else
  printf (_("GPU: none (%s)\n"), _("this build has no CUDA backend"));
#endif
  g_free (what);
  printf ("%s\n", device == PF_DEVICE_CUDA ? _("--device auto (the default) computes on the GPU")
                                           : _("--device auto (the default) computes on the CPU"));
  return 0;
}
