/* grad-spread — how far two correct implementations' gradients fall apart on one model: one
 * MIX training step of MODEL at SCALE (batch 4, 56x56, the same weights and batch) with two
 * backends, and the relative difference of every parameter's gradient. It measures the
 * conditioning of the gradient (deep BatchNorm stacks cancel in sum(dy)), which sets what a
 * GPU-against-CPU comparison can ask for. Not a test: the reference backend takes minutes at
 * scale 4.
 *   grad-spread MODEL SCALE [ref|cuda|cuda-tf32|cuda-bf16|none] [BUNDLE]
 * compares the fast CPU backend with the one named (default ref; cuda-tf32 and cuda-bf16 are
 * the GPU in that precision). With BUNDLE, the initial
 * weights, the batch and every backend's gradients are written there (tests/ref/pfref.py's
 * format) for tests/ref/grad_f64.py, which computes the same gradients in float64 with PyTorch
 * and says how far each backend is from them. */
#include <glib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pf-backend.h"
#include "pf-model.h"
#include "pf-train-step.h"
#include "pf-test-util.h"
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
      fprintf (stderr, "usage: grad-spread MODEL SCALE [ref|cuda|cuda-tf32|cuda-bf16|none] [BUNDLE]\n");
      return 2;
    }
  const char *other = argc > 3 ? argv[3] : "ref";
  const gboolean on_gpu = g_str_has_prefix (other, "cuda");
  const char *bundle = argc > 4 ? argv[4] : NULL;
  const int scale = atoi (argv[2]), batch = 4, size = 56;
  const int nb = strcmp (other, "none") ? 2 : 1;
  GError *error = NULL;
  PfGraph *g[2] = { NULL, NULL };
  PfTrainStep *st[2] = { NULL, NULL };
  PfRefWriter *w = bundle ? pf_ref_writer_new (bundle) : NULL;
  for (int k = 0; k < nb; k++)
    {
      PfPlanOptions o = { PF_DEVICE_CPU, true, k == 1 && !strcmp (other, "ref"), 26 };
#ifdef PF_HAVE_CUDA
      if (k == 1 && on_gpu)
        {
          PfCudaPrecision p = !strcmp (other, "cuda-bf16")   ? PF_CUDA_PRECISION_BF16
                              : !strcmp (other, "cuda-tf32") ? PF_CUDA_PRECISION_TF32
                                                             : PF_CUDA_PRECISION_FP32;
          if (!pf_backend_cuda_register (&error)
              || !pf_cuda_context_set_precision (pf_backend_cuda_context (), p, &error))
            g_error ("%s", error->message);
          o.device = PF_DEVICE_CUDA;
        }
#else
      if (on_gpu)
        g_error ("built without CUDA");
#endif
      PfLossDesc ld;
      pf_loss_desc_init (&ld, PF_LOSS_MIX, batch, size, size);
      if (!(g[k] = pf_model_build (argv[1], scale, batch, size, &error)) || !pf_graph_plan (g[k], &o, &error)
          || !(st[k] = pf_train_step_new (g[k], &ld, 1e-3, &error)))
        g_error ("%s", error->message);
      fill (pf_train_step_input (st[k]), (size_t) batch * 4 * size * size, 1);
      fill (pf_train_step_target (st[k]), (size_t) batch * size * size, 2);
      if (w && k == 0)
        {
          /* the state the step starts from (Adam changes the weights after the gradients) */
          for (int i = 0; i < pf_graph_n_tensors (g[0]); i++)
            {
              PfTensor *t = pf_graph_tensor (g[0], i);
              if (t->kind == PF_TENSOR_PARAM || t->kind == PF_TENSOR_BUFFER)
                pf_ref_writer_add (w, t->name, t->ndim, t->shape, t->data);
            }
          int xs[4] = { batch, 4, size, size }, ys[4] = { batch, 1, size, size };
          pf_ref_writer_add (w, "x", 4, xs, pf_train_step_input (st[0]));
          pf_ref_writer_add (w, "y", 4, ys, pf_train_step_target (st[0]));
          pf_ref_writer_scalar (w, "lambda", ld.lambda);
        }
      double loss;
      gint64 t0 = g_get_monotonic_time ();
      if (!pf_train_step_run (st[k], &loss, NULL, &error))
        g_error ("%s", error->message);
      printf ("%-5s loss %.9g (%.1f s)\n", k ? other : "fast", loss, (g_get_monotonic_time () - t0) / 1e6);
      if (w)
        for (int i = 0; i < pf_graph_n_tensors (g[k]); i++)
          {
            PfTensor *t = pf_graph_tensor (g[k], i);
            if (t->kind != PF_TENSOR_PARAM)
              continue;
            float *h = g_new (float, t->numel);
            pf_memory_for (k && on_gpu ? PF_DEVICE_CUDA : PF_DEVICE_CPU)
              ->download (h, t->grad, t->numel * sizeof (float));
            char *name = g_strdup_printf ("grad.%s.%s", k ? other : "fast", t->name);
            pf_ref_writer_add (w, name, t->ndim, t->shape, h);
            g_free (name);
            g_free (h);
          }
    }
  if (w)
    pf_ref_writer_close (w);
  if (nb == 1)
    return 0;
  /* the same seed gives both plans the same initial weights: the gradients are comparable */
  double d_all = 0, r_all = 0;
  for (int i = 0; i < pf_graph_n_tensors (g[0]); i++)
    {
      PfTensor *a = pf_graph_tensor (g[0], i), *b = pf_graph_tensor (g[1], i);
      if (a->kind != PF_TENSOR_PARAM)
        continue;
      float *bg = g_new (float, a->numel);
      pf_memory_for (on_gpu ? PF_DEVICE_CUDA : PF_DEVICE_CPU)->download (bg, b->grad, a->numel * sizeof (float));
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
