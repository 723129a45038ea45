/* pf-test-cuda-conv.h — one check of a CUDA convolution plan (2-D or 3-D) against its CPU
 * reference, shared by test-cuda, test-cuda-shape and test-cuda-precision: random data, output
 * poisoned, forward with and without bias, backward accumulating into random gradients in two
 * calls (so each NULL must leave its buffer alone), and the 2-D plan's dx written (set_dx)
 * over NaN. Include after pf-test-cuda.h, inside
 * #ifdef PF_HAVE_CUDA. */
#pragma once
#include "pf-test-cuda.h"
#include "pf-cuda-shape.h"

/* A plan and its shape, seen through the passes both dimensions share. */
typedef struct {
  const char *name;
  size_t nx, nw, ny, nb;
  const void *desc;
  void *plan;
  gboolean (*fwd) (void *plan, const float *x, const float *w, const float *b, float *y,
                   GError **error);
  gboolean (*bwd) (void *plan, const float *x, const float *w, const float *dy, float *dx,
                   gboolean set_dx, float *dw, float *db, GError **error);
  void (*ref_fwd) (const void *desc, const float *x, const float *w, const float *b, float *y);
  void (*ref_bwd) (const void *desc, const float *x, const float *w, const float *dy, float *dx,
                   float *dw, float *db);
  gboolean has_set_dx; /* bwd honours set_dx (the 2-D plan; the 3-D one always adds) */
} PfTestConv;

static inline gboolean
pf_test_conv2d_fwd (void *p, const float *x, const float *w, const float *b, float *y, GError **error)
{
  return pf_cuda_conv2d_forward ((PfCudaConv2dPlan *) p, x, w, b, y, error);
}

static inline gboolean
pf_test_conv2d_bwd (void *p, const float *x, const float *w, const float *dy, float *dx,
                    gboolean set_dx, float *dw, float *db, GError **error)
{
  return pf_cuda_conv2d_backward ((PfCudaConv2dPlan *) p, x, w, dy, dx, set_dx, dw, db, error);
}

static inline void
pf_test_conv2d_ref_fwd (const void *d, const float *x, const float *w, const float *b, float *y)
{
  pf_conv2d_forward_ref ((const PfConv2dDesc *) d, x, w, b, y);
}

static inline void
pf_test_conv2d_ref_bwd (const void *d, const float *x, const float *w, const float *dy, float *dx,
                        float *dw, float *db)
{
  pf_conv2d_backward_ref ((const PfConv2dDesc *) d, x, w, dy, dx, dw, db);
}

static inline gboolean
pf_test_conv3d_fwd (void *p, const float *x, const float *w, const float *b, float *y, GError **error)
{
  return pf_cuda_conv3d_forward ((PfCudaConv3dPlan *) p, x, w, b, y, error);
}

static inline gboolean
pf_test_conv3d_bwd (void *p, const float *x, const float *w, const float *dy, float *dx,
                    gboolean set_dx, float *dw, float *db, GError **error)
{
  g_assert_false (set_dx);
  return pf_cuda_conv3d_backward ((PfCudaConv3dPlan *) p, x, w, dy, dx, dw, db, error);
}

static inline void
pf_test_conv3d_ref_fwd (const void *d, const float *x, const float *w, const float *b, float *y)
{
  pf_conv3d_forward_ref ((const PfConv3dDesc *) d, x, w, b, y);
}

static inline void
pf_test_conv3d_ref_bwd (const void *d, const float *x, const float *w, const float *dy, float *dx,
                        float *dw, float *db)
{
  pf_conv3d_backward_ref ((const PfConv3dDesc *) d, x, w, dy, dx, dw, db);
}

static inline PfTestConv
pf_test_conv2d (const PfConv2dDesc *d, PfCudaConv2dPlan *plan)
{
  PfTestConv c = { "conv2d", (size_t) d->n * d->c_in * d->h * d->w,
                   (size_t) d->c_out * d->c_in * d->kh * d->kw,
                   (size_t) d->n * d->c_out * pf_conv2d_out_h (d) * pf_conv2d_out_w (d),
                   (size_t) d->c_out, d, plan, pf_test_conv2d_fwd, pf_test_conv2d_bwd,
                   pf_test_conv2d_ref_fwd, pf_test_conv2d_ref_bwd, TRUE };
  return c;
}

static inline PfTestConv
pf_test_conv3d (const PfConv3dDesc *d, PfCudaConv3dPlan *plan)
{
  PfTestConv c = { "conv3d", (size_t) d->n * d->c_in * d->d * d->h * d->w,
                   (size_t) d->c_out * d->c_in * d->kd * d->kh * d->kw,
                   (size_t) d->n * d->c_out * pf_conv3d_out_d (d) * pf_conv3d_out_h (d)
                     * pf_conv3d_out_w (d),
                   (size_t) d->c_out, d, plan, pf_test_conv3d_fwd, pf_test_conv3d_bwd,
                   pf_test_conv3d_ref_fwd, pf_test_conv3d_ref_bwd, FALSE };
  return c;
}

/* Asserts the device result within tol of the reference and returns the relative error. */
static inline double
pf_test_conv_compare (const char *what, const char *pass, const float *dev, const float *ref,
                      size_t n, double tol)
{
  char *label = g_strdup_printf ("%s %s", what, pass);
  float *h = host_from (dev, n);
  double e = pf_rel_err (h, ref, n);
  g_test_message ("%s: rel err %.3g (tol %.1g)", label, e, tol);
  if (!(e < tol))
    g_error ("%s: rel err %.3g >= %.1g", label, e, tol);
  g_free (h);
  g_free (label);
  return e;
}

/* The errors a check measured: forward with bias, and the data and weight gradients of the
 * call that makes both (what a training step runs). */
typedef struct {
  double fwd, dx, dw;
} PfTestConvErrors;

/* The whole check (`what` names it in messages); tol_grad for dx and dw, tol_db for the bias
 * gradient (a plain float32 sum in every precision). */
static inline PfTestConvErrors
pf_test_conv_check (const PfTestConv *c, const char *what, guint32 seed, double tol_fwd,
                    double tol_grad, double tol_db)
{
  PfTestConvErrors e;
  GRand *r = g_rand_new_with_seed (seed);
  float *x = rand_host (r, c->nx, -1, 1), *w = rand_host (r, c->nw, -0.5, 0.5);
  float *b = rand_host (r, c->nb, -1, 1), *dy = rand_host (r, c->ny, -1, 1);
  float *dx0 = rand_host (r, c->nx, -1, 1), *dw0 = rand_host (r, c->nw, -1, 1);
  float *db0 = rand_host (r, c->nb, -1, 1);
  float *x_d = dev_from (x, c->nx), *w_d = dev_from (w, c->nw), *b_d = dev_from (b, c->nb);
  float *dy_d = dev_from (dy, c->ny);

  float *y_ref = g_new (float, c->ny), *y_d = dev_poisoned (c->ny);
  c->ref_fwd (c->desc, x, w, b, y_ref);
  OK (c->fwd (c->plan, x_d, w_d, b_d, y_d, &error));
  e.fwd = pf_test_conv_compare (what, "forward", y_d, y_ref, c->ny, tol_fwd);
  OK (pf_cuda_fill (ctx, c->ny, NAN, y_d, &error));
  c->ref_fwd (c->desc, x, w, NULL, y_ref);
  OK (c->fwd (c->plan, x_d, w_d, NULL, y_d, &error));
  pf_test_conv_compare (what, "forward, no bias", y_d, y_ref, c->ny, tol_fwd);

  float *dx_ref = dup_floats (dx0, c->nx), *dw_ref = dup_floats (dw0, c->nw);
  float *db_ref = dup_floats (db0, c->nb);
  c->ref_bwd (c->desc, x, w, dy, dx_ref, dw_ref, db_ref);
  float *dx_d = dev_from (dx0, c->nx), *dw_d = dev_from (dw0, c->nw), *db_d = dev_from (db0, c->nb);
  OK (c->bwd (c->plan, x_d, w_d, dy_d, NULL, FALSE, dw_d, db_d, &error));
  pf_test_conv_compare (what, "backward dx untouched", dx_d, dx0, c->nx, 1e-30);
  OK (c->bwd (c->plan, x_d, w_d, dy_d, dx_d, FALSE, NULL, NULL, &error));
  pf_test_conv_compare (what, "backward dx", dx_d, dx_ref, c->nx, tol_grad);
  pf_test_conv_compare (what, "backward dw", dw_d, dw_ref, c->nw, tol_grad);
  pf_test_conv_compare (what, "backward db", db_d, db_ref, c->nb, tol_db);
  /* dx and dw in one call, as a training step makes it (in BF16 the data gradient overwrites
   * x's bf16 copy, so the weight gradient has to come first) */
  OK (pf_cuda_copy_to_device (ctx, dx_d, dx0, c->nx * sizeof (float), &error));
  OK (pf_cuda_copy_to_device (ctx, dw_d, dw0, c->nw * sizeof (float), &error));
  OK (c->bwd (c->plan, x_d, w_d, dy_d, dx_d, FALSE, dw_d, NULL, &error));
  e.dx = pf_test_conv_compare (what, "backward dx and dw together: dx", dx_d, dx_ref, c->nx,
                               tol_grad);
  e.dw = pf_test_conv_compare (what, "backward dx and dw together: dw", dw_d, dw_ref, c->nw,
                               tol_grad);
  if (c->has_set_dx)
    {
      /* set_dx: dx written over NaN, which is never read (the planner's only-writer case) */
      float *dxs_ref = g_new0 (float, c->nx), *dws = g_new0 (float, c->nw);
      float *dbs = g_new0 (float, c->nb);
      c->ref_bwd (c->desc, x, w, dy, dxs_ref, dws, dbs);
      OK (pf_cuda_fill (ctx, c->nx, NAN, dx_d, &error));
      OK (c->bwd (c->plan, x_d, w_d, dy_d, dx_d, TRUE, NULL, NULL, &error));
      pf_test_conv_compare (what, "backward dx, set (not added)", dx_d, dxs_ref, c->nx, tol_grad);
      g_free (dxs_ref);
      g_free (dws);
      g_free (dbs);
    }

  float *devs[] = { x_d, w_d, b_d, dy_d, y_d, dx_d, dw_d, db_d };
  for (guint i = 0; i < G_N_ELEMENTS (devs); i++)
    dev_free (devs[i]);
  float *hosts[] = { x, w, b, dy, dx0, dw0, db0, y_ref, dx_ref, dw_ref, db_ref };
  for (guint i = 0; i < G_N_ELEMENTS (hosts); i++)
    g_free (hosts[i]);
  g_rand_free (r);
  return e;
}
