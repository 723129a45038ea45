/* grad-spread — how far two correct implementations' gradients fall apart on one model: one
 * MIX training step of MODEL at SCALE (batch 4, 56x56, the same weights and batch) with two
 * backends, and the relative difference of every parameter's gradient. It measures the
 * conditioning of the gradient (deep BatchNorm stacks cancel in sum(dy)), which sets what a
 * GPU-against-CPU comparison can ask for. Not a test: the reference backend takes minutes at
 * scale 4.
 *   grad-spread MODEL SCALE [ref|cuda]    (fast CPU backend against the one named; default ref) */
#include <glib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pf-backend.h"
#include "pf-model.h"
#include "pf-train-step.h"
#ifdef PF_HAVE_CUDA
#include "pf-backend-cuda.h"
#endif

static void
fill (float *v, size_t n, guint32 seed)
{
  GRand *r = g_rand_new_with_seed (seed);
  for (size_t i = 0; i < n; i++)
    v[i] = g_rand_double (r) < 0.4 ? (float) g_rand_double (r) : 0.0f;
  g_rand_free (r);
}

int
main (int argc, char **argv)
{
  if (argc < 3)
    {
      fprintf (stderr, "usage: grad-spread MODEL SCALE [ref|cuda]\n");
      return 2;
    }
  const char *other = argc > 3 ? argv[3] : "ref";
  const int scale = atoi (argv[2]), batch = 4, size = 56;
  GError *error = NULL;
  PfGraph *g[2];
  PfTrainStep *st[2];
  for (int k = 0; k < 2; k++)
    {
      PfPlanOptions o = { PF_DEVICE_CPU, true, k == 1 && !strcmp (other, "ref"), 26 };
#ifdef PF_HAVE_CUDA
      if (k == 1 && !strcmp (other, "cuda"))
        {
          if (!pf_backend_cuda_register (&error))
            g_error ("%s", error->message);
          o.device = PF_DEVICE_CUDA;
        }
#endif
      PfLossDesc ld;
      pf_loss_desc_init (&ld, PF_LOSS_MIX, batch, size, size);
      if (!(g[k] = pf_model_build (argv[1], scale, batch, size, &error)) || !pf_graph_plan (g[k], &o, &error)
          || !(st[k] = pf_train_step_new (g[k], &ld, 1e-3, &error)))
        g_error ("%s", error->message);
      fill (pf_train_step_input (st[k]), (size_t) batch * 4 * size * size, 1);
      fill (pf_train_step_target (st[k]), (size_t) batch * size * size, 2);
      double loss;
      gint64 t0 = g_get_monotonic_time ();
      if (!pf_train_step_run (st[k], &loss, NULL, &error))
        g_error ("%s", error->message);
      printf ("%-5s loss %.9g (%.1f s)\n", k ? other : "fast", loss, (g_get_monotonic_time () - t0) / 1e6);
    }
  /* the same seed gives both plans the same initial weights: the gradients are comparable */
  double d_all = 0, r_all = 0;
  for (int i = 0; i < pf_graph_n_tensors (g[0]); i++)
    {
      PfTensor *a = pf_graph_tensor (g[0], i), *b = pf_graph_tensor (g[1], i);
      if (a->kind != PF_TENSOR_PARAM)
        continue;
      float *bg = g_new (float, a->numel);
      pf_memory_for (strcmp (other, "cuda") ? PF_DEVICE_CPU : PF_DEVICE_CUDA)->download (bg, b->grad, a->numel * sizeof (float));
      double d = 0, r = 0;
      for (size_t j = 0; j < a->numel; j++)
        {
          d += ((double) a->grad[j] - bg[j]) * ((double) a->grad[j] - bg[j]);
          r += (double) a->grad[j] * a->grad[j];
        }
      d_all += d;
      r_all += r;
      printf ("  %-22s %9zu  |g| %-9.3g rel %.3g\n", a->name, a->numel, sqrt (r), sqrt (d / (r > 0 ? r : 1)));
      g_free (bg);
    }
  printf ("all parameters: rel %.3g\n", sqrt (d_all / r_all));
  return 0;
}
