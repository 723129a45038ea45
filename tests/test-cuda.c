/* test-cuda.c — the CUDA backend against the CPU reference ops.
 *
 * Every GPU op runs on random data (never zeros) with its outputs poisoned with NaN first, so
 * an element the kernel forgets fails the comparison; backward passes start from random
 * gradients, so the accumulate (+=) contract is checked too. Tolerances: relative error 1e-4
 * for forward results, 1e-3 for gradients. Without a GPU (or without a CUDA build) every test
 * skips itself and says why; /cuda/no-device checks the error path, which runs anywhere. */
#include <glib.h>
#include <math.h>
#include <string.h>
#include "pf-test-util.h"

#ifdef PF_HAVE_CUDA
#include "pf-ops.h"
#include "pf-loss.h"
#include "pf-optim.h"
#include "pf-cuda.h"

#include "pf-test-cuda.h"
#include "pf-test-cuda-conv.h"

/* ---- context ------------------------------------------------------------------------- */
static void
test_no_device (void)
{
  GError *error = NULL;
  int count = pf_cuda_device_count ();
  char *why = NULL;
  g_assert_cmpint (pf_cuda_available (&why), ==, count > 0);
  if (count > 0)
    {
      /* one past the last device must be refused, not crash */
      PfCudaContext *bad = pf_cuda_context_new (count, &error);
      g_assert_null (bad);
      g_assert_error (error, PF_CUDA_ERROR, PF_CUDA_ERROR_NO_DEVICE);
    }
  else
    {
      g_assert_nonnull (why);
      g_test_message ("no GPU: %s", why);
      PfCudaContext *bad = pf_cuda_context_new (0, &error);
      g_assert_null (bad);
      g_assert_true (error && error->domain == PF_CUDA_ERROR);
      g_assert_nonnull (strstr (error->message, "cudaGetDeviceCount"));
    }
  g_clear_error (&error);
  g_free (why);
}

static void
test_context (void)
{
  NEED_GPU ();
  g_test_message ("device %d: %s", pf_cuda_context_device (ctx), pf_cuda_context_device_name (ctx));
  g_assert_cmpstr (pf_cuda_context_device_name (ctx), !=, "");
  g_assert_cmpint (pf_cuda_context_get_precision (ctx), ==, PF_CUDA_PRECISION_FP32);

  GRand *r = g_rand_new_with_seed (1);
  const size_t n = 1000;
  float *h = rand_host (r, n, -1, 1);
  float *a = dev_from (h, n), *b = dev_poisoned (n);
  OK (pf_cuda_copy_device (ctx, b, a, n * sizeof (float), &error));
  check_dev ("device copy", b, h, n, 1e-30);
  OK (pf_cuda_memset (ctx, b, 0, n * sizeof (float), &error));
  float *back = host_from (b, n);
  for (size_t i = 0; i < n; i++)
    g_assert_cmpfloat (back[i], ==, 0.0f);
  g_free (back);

  /* bad parameters are errors, not crashes */
  GError *error = NULL;
  g_assert_false (pf_cuda_linear_forward (ctx, 0, 3, 4, a, a, NULL, b, &error));
  g_assert_error (error, PF_CUDA_ERROR, PF_CUDA_ERROR_INVALID);
  g_clear_error (&error);
  PfConv2dDesc bad = { 1, 1, 3, 3, 1, 5, 5, 1, 1, 0, 0 }; /* kernel larger than the input */
  g_assert_null (pf_cuda_conv2d_plan_new (ctx, &bad, &error));
  g_assert_error (error, PF_CUDA_ERROR, PF_CUDA_ERROR_INVALID);
  g_clear_error (&error);
  PfAdamConfig cfg;
  pf_adam_config_init (&cfg, 1e-3);
  g_assert_false (pf_cuda_adam_step (ctx, &cfg, 0, n, a, a, b, b, &error));
  g_assert_error (error, PF_CUDA_ERROR, PF_CUDA_ERROR_INVALID);
  g_clear_error (&error);

  dev_free (a);
  dev_free (b);
  g_free (h);
  g_rand_free (r);
}

/* ---- convolution --------------------------------------------------------------------- */
static void
check_conv (const PfConv2dDesc *d, guint32 seed)
{
  GError *perr = NULL;
  PfCudaConv2dPlan *plan = pf_cuda_conv2d_plan_new (ctx, d, &perr);
  g_assert_no_error (perr);
  g_test_message ("conv plan workspace: %zu bytes", pf_cuda_conv2d_plan_workspace (plan));
  PfTestConv c = pf_test_conv2d (d, plan);
  pf_test_conv_check (&c, "conv2d", seed, TOL_FWD, TOL_BWD, TOL_BWD);

  /* the bias and a fused ReLU in one pass, with and without a bias: max(reference, 0) */
  GRand *r = g_rand_new_with_seed (seed + 1000);
  float *x = rand_host (r, c.nx, -1, 1), *w = rand_host (r, c.nw, -1, 1);
  float *b = rand_host (r, c.nb, -1, 1), *y_ref = g_new (float, c.ny);
  float *x_d = dev_from (x, c.nx), *w_d = dev_from (w, c.nw), *b_d = dev_from (b, c.nb);
  float *y_d = dev_poisoned (c.ny);
  for (int with_bias = 0; with_bias < 2; with_bias++)
    {
      pf_conv2d_forward_ref (d, x, w, with_bias ? b : NULL, y_ref);
      size_t negative = 0;
      for (size_t i = 0; i < c.ny; i++)
        if (y_ref[i] < 0.0f)
          {
            y_ref[i] = 0.0f;
            negative++;
          }
      g_assert_cmpuint (negative, >, c.ny / 5); /* the ReLU has work to do */
      OK (pf_cuda_fill (ctx, c.ny, NAN, y_d, &error));
      OK (pf_cuda_conv2d_forward_relu (plan, x_d, w_d, with_bias ? b_d : NULL, y_d, &error));
      check_dev (with_bias ? "conv2d forward + bias + relu" : "conv2d forward + relu", y_d, y_ref,
                 c.ny, TOL_FWD);
    }
  float *devs[] = { x_d, w_d, b_d, y_d };
  for (guint i = 0; i < G_N_ELEMENTS (devs); i++)
    dev_free (devs[i]);
  g_free (x);
  g_free (w);
  g_free (b);
  g_free (y_ref);
  g_rand_free (r);
  pf_cuda_conv2d_plan_free (plan);
}

static void
test_conv2d (void)
{
  NEED_GPU ();
  /* the scaled family's layer: 5x5, padding 2, stride 1 */
  PfConv2dDesc a = { .n = 2, .c_in = 4, .h = 13, .w = 11, .c_out = 8, .kh = 5, .kw = 5,
                     .sh = 1, .sw = 1, .ph = 2, .pw = 2 };
  check_conv (&a, 11);
  /* odd shapes: non-square kernel, stride 2 */
  PfConv2dDesc b = { .n = 3, .c_in = 5, .h = 9, .w = 10, .c_out = 6, .kh = 3, .kw = 2,
                     .sh = 2, .sw = 2, .ph = 1, .pw = 0 };
  check_conv (&b, 12);
}

/* ---- batch normalisation ------------------------------------------------------------- */
static void
check_batchnorm (const PfBatchNormDesc *shape, guint32 seed)
{
  GRand *r = g_rand_new_with_seed (seed);
  const PfBatchNormDesc d = *shape;
  const size_t nx = (size_t) d.n * d.c * d.hw, nc = d.c;
  float *x = rand_host (r, nx, -1, 3); /* a mean away from zero */
  float *gamma = rand_host (r, nc, 0.5, 1.5), *beta = rand_host (r, nc, -1, 1);
  float *rm0 = rand_host (r, nc, -1, 1), *rv0 = rand_host (r, nc, 0.5, 1.5);
  float *dy = rand_host (r, nx, -1, 1);
  float *dx0 = rand_host (r, nx, -1, 1), *dg0 = rand_host (r, nc, -1, 1), *db0 = rand_host (r, nc, -1, 1);

  float *y_ref = g_new (float, nx), *sm_ref = g_new (float, nc), *si_ref = g_new (float, nc);
  float *rm_ref = dup_floats (rm0, nc), *rv_ref = dup_floats (rv0, nc);
  pf_batchnorm_forward_train_ref (&d, x, gamma, beta, y_ref, rm_ref, rv_ref, sm_ref, si_ref);

  float *x_d = dev_from (x, nx), *g_d = dev_from (gamma, nc), *b_d = dev_from (beta, nc);
  float *rm_d = dev_from (rm0, nc), *rv_d = dev_from (rv0, nc);
  float *y_d = dev_poisoned (nx), *sm_d = dev_poisoned (nc), *si_d = dev_poisoned (nc);
  OK (pf_cuda_batchnorm_forward_train (ctx, &d, x_d, NULL, g_d, b_d, y_d, FALSE, rm_d, rv_d, sm_d, si_d,
                                       &error));
  check_dev ("batchnorm train y", y_d, y_ref, nx, TOL_FWD);
  check_dev ("batchnorm running_mean", rm_d, rm_ref, nc, TOL_FWD);
  check_dev ("batchnorm running_var (unbiased)", rv_d, rv_ref, nc, TOL_FWD);
  check_dev ("batchnorm save_mean", sm_d, sm_ref, nc, TOL_FWD);
  check_dev ("batchnorm save_invstd", si_d, si_ref, nc, TOL_FWD);

  /* without affine parameters or running statistics */
  pf_batchnorm_forward_train_ref (&d, x, NULL, NULL, y_ref, NULL, NULL, NULL, NULL);
  OK (pf_cuda_fill (ctx, nx, NAN, y_d, &error));
  OK (pf_cuda_batchnorm_forward_train (ctx, &d, x_d, NULL, NULL, NULL, y_d, FALSE, NULL, NULL, NULL, NULL,
                                       &error));
  check_dev ("batchnorm train y, no affine", y_d, y_ref, nx, TOL_FWD);

  /* the fused ReLU: max(y, 0) in the same pass (normalised data: about half is negative) */
  for (size_t i = 0; i < nx; i++)
    y_ref[i] = y_ref[i] < 0.0f ? 0.0f : y_ref[i];
  OK (pf_cuda_fill (ctx, nx, NAN, y_d, &error));
  OK (pf_cuda_batchnorm_forward_train (ctx, &d, x_d, NULL, NULL, NULL, y_d, TRUE, NULL, NULL, NULL, NULL,
                                       &error));
  check_dev ("batchnorm train y + relu", y_d, y_ref, nx, TOL_FWD);

  /* inference from the (random) running statistics */
  pf_batchnorm_forward_infer_ref (&d, x, gamma, beta, rm0, rv0, y_ref);
  float *rm0_d = dev_from (rm0, nc), *rv0_d = dev_from (rv0, nc);
  OK (pf_cuda_fill (ctx, nx, NAN, y_d, &error));
  OK (pf_cuda_batchnorm_forward_infer (ctx, &d, x_d, NULL, g_d, b_d, rm0_d, rv0_d, y_d, FALSE, &error));
  check_dev ("batchnorm infer y", y_d, y_ref, nx, TOL_FWD);
  for (size_t i = 0; i < nx; i++)
    y_ref[i] = y_ref[i] < 0.0f ? 0.0f : y_ref[i];
  OK (pf_cuda_fill (ctx, nx, NAN, y_d, &error));
  OK (pf_cuda_batchnorm_forward_infer (ctx, &d, x_d, NULL, g_d, b_d, rm0_d, rv0_d, y_d, TRUE, &error));
  check_dev ("batchnorm infer y + relu", y_d, y_ref, nx, TOL_FWD);

  /* backward from the CPU's saved statistics, into random gradients */
  float *dx_ref = dup_floats (dx0, nx), *dg_ref = dup_floats (dg0, nc), *db_ref = dup_floats (db0, nc);
  pf_batchnorm_backward_ref (&d, x, gamma, sm_ref, si_ref, dy, dx_ref, dg_ref, db_ref);
  float *sm_h_d = dev_from (sm_ref, nc), *si_h_d = dev_from (si_ref, nc), *dy_d = dev_from (dy, nx);
  float *dx_d = dev_from (dx0, nx), *dg_d = dev_from (dg0, nc), *db_d = dev_from (db0, nc);
  OK (pf_cuda_batchnorm_backward (ctx, &d, x_d, NULL, g_d, sm_h_d, si_h_d, dy_d, NULL, dx_d, FALSE,
                                  dg_d, db_d, &error));
  check_dev ("batchnorm backward dx", dx_d, dx_ref, nx, TOL_BWD);
  check_dev ("batchnorm backward dgamma", dg_d, dg_ref, nc, TOL_BWD);
  check_dev ("batchnorm backward dbeta", db_d, db_ref, nc, TOL_BWD);
  /* set_dx: dx written over NaN, which is never read */
  float *dxs_ref = g_new0 (float, nx), *dgs = g_new0 (float, nc), *dbs = g_new0 (float, nc);
  pf_batchnorm_backward_ref (&d, x, gamma, sm_ref, si_ref, dy, dxs_ref, dgs, dbs);
  OK (pf_cuda_fill (ctx, nx, NAN, dx_d, &error));
  OK (pf_cuda_batchnorm_backward (ctx, &d, x_d, NULL, g_d, sm_h_d, si_h_d, dy_d, NULL, dx_d, TRUE,
                                  NULL, NULL, &error));
  check_dev ("batchnorm backward dx, set (not added)", dx_d, dxs_ref, nx, TOL_BWD);
  g_free (dxs_ref);
  g_free (dgs);
  g_free (dbs);

  /* a convolution's bias deferred to the layer (x_bias) and a fused ReLU: every pass as on
   * x + x_bias, the backward's dy masked where the ReLU's output is not positive */
  float *xb = rand_host (r, nc, -2, 2), *xpb = g_new (float, nx);
  for (size_t i = 0; i < nx; i++)
    xpb[i] = x[i] + xb[(i / d.hw) % d.c];
  float *xb_d = dev_from (xb, nc);
  float *rm2_ref = dup_floats (rm0, nc), *rv2_ref = dup_floats (rv0, nc);
  pf_batchnorm_forward_train_ref (&d, xpb, gamma, beta, y_ref, rm2_ref, rv2_ref, sm_ref, si_ref);
  for (size_t i = 0; i < nx; i++)
    y_ref[i] = y_ref[i] < 0.0f ? 0.0f : y_ref[i];
  OK (pf_cuda_copy_to_device (ctx, rm_d, rm0, nc * sizeof (float), &error));
  OK (pf_cuda_copy_to_device (ctx, rv_d, rv0, nc * sizeof (float), &error));
  OK (pf_cuda_fill (ctx, nx, NAN, y_d, &error));
  OK (pf_cuda_batchnorm_forward_train (ctx, &d, x_d, xb_d, g_d, b_d, y_d, TRUE, rm_d, rv_d, sm_d,
                                       si_d, &error));
  check_dev ("batchnorm train y, deferred bias + relu", y_d, y_ref, nx, TOL_FWD);
  float *ry = dup_floats (y_ref, nx), *dy_masked = g_new (float, nx);
  for (size_t i = 0; i < nx; i++)
    dy_masked[i] = ry[i] > 0.0f ? dy[i] : 0.0f;
  float *ry_d = dev_from (ry, nx);
  check_dev ("batchnorm running_mean, deferred bias", rm_d, rm2_ref, nc, TOL_FWD);
  check_dev ("batchnorm running_var, deferred bias", rv_d, rv2_ref, nc, TOL_FWD);
  check_dev ("batchnorm save_mean, deferred bias", sm_d, sm_ref, nc, TOL_FWD);
  pf_batchnorm_forward_infer_ref (&d, xpb, gamma, beta, rm0, rv0, y_ref);
  OK (pf_cuda_fill (ctx, nx, NAN, y_d, &error));
  OK (pf_cuda_batchnorm_forward_infer (ctx, &d, x_d, xb_d, g_d, b_d, rm0_d, rv0_d, y_d, FALSE,
                                       &error));
  check_dev ("batchnorm infer y, deferred bias", y_d, y_ref, nx, TOL_FWD);
  memcpy (dx_ref, dx0, nx * sizeof (float));
  memcpy (dg_ref, dg0, nc * sizeof (float));
  memcpy (db_ref, db0, nc * sizeof (float));
  pf_batchnorm_backward_ref (&d, xpb, gamma, sm_ref, si_ref, dy_masked, dx_ref, dg_ref, db_ref);
  float *sm2_d = dev_from (sm_ref, nc), *si2_d = dev_from (si_ref, nc);
  OK (pf_cuda_copy_to_device (ctx, dx_d, dx0, nx * sizeof (float), &error));
  OK (pf_cuda_copy_to_device (ctx, dg_d, dg0, nc * sizeof (float), &error));
  OK (pf_cuda_copy_to_device (ctx, db_d, db0, nc * sizeof (float), &error));
  OK (pf_cuda_batchnorm_backward (ctx, &d, x_d, xb_d, g_d, sm2_d, si2_d, dy_d, ry_d, dx_d, FALSE,
                                  dg_d, db_d, &error));
  check_dev ("batchnorm backward: dy left as it is", dy_d, dy, nx, 1e-30);
  check_dev ("batchnorm backward dx, deferred bias", dx_d, dx_ref, nx, TOL_BWD);
  check_dev ("batchnorm backward dgamma, deferred bias", dg_d, dg_ref, nc, TOL_BWD);
  check_dev ("batchnorm backward dbeta, deferred bias", db_d, db_ref, nc, TOL_BWD);
  dev_free (xb_d);
  dev_free (ry_d);
  g_free (ry);
  g_free (dy_masked);
  dev_free (sm2_d);
  dev_free (si2_d);
  g_free (xb);
  g_free (xpb);
  g_free (rm2_ref);
  g_free (rv2_ref);

  float *devs[] = { x_d, g_d, b_d, rm_d, rv_d, y_d, sm_d, si_d, rm0_d, rv0_d, sm_h_d, si_h_d,
                    dy_d, dx_d, dg_d, db_d };
  for (guint i = 0; i < G_N_ELEMENTS (devs); i++)
    dev_free (devs[i]);
  float *hosts[] = { x, gamma, beta, rm0, rv0, dy, dx0, dg0, db0, y_ref, sm_ref, si_ref, rm_ref,
                     rv_ref, dx_ref, dg_ref, db_ref };
  for (guint i = 0; i < G_N_ELEMENTS (hosts); i++)
    g_free (hosts[i]);
  g_rand_free (r);
}

static void
test_batchnorm (void)
{
  NEED_GPU ();
  PfBatchNormDesc small = { .n = 3, .c = 5, .hw = 37, .eps = 1e-5f, .momentum = 0.1f };
  check_batchnorm (&small, 21);
  /* more (sample, channel) planes than the plane grid has rows, and planes longer than a block */
  PfBatchNormDesc many = { .n = 61, .c = 47, .hw = 301, .eps = 1e-5f, .momentum = 0.1f };
  check_batchnorm (&many, 22);
}

/* ---- linear -------------------------------------------------------------------------- */
static void
test_linear (void)
{
  NEED_GPU ();
  GRand *r = g_rand_new_with_seed (31);
  const int m = 37, in = 19, out = 11;
  const size_t nx = (size_t) m * in, nw = (size_t) out * in, ny = (size_t) m * out;
  float *x = rand_host (r, nx, -1, 1), *w = rand_host (r, nw, -1, 1), *b = rand_host (r, out, -1, 1);
  float *dy = rand_host (r, ny, -1, 1);
  float *dx0 = rand_host (r, nx, -1, 1), *dw0 = rand_host (r, nw, -1, 1), *db0 = rand_host (r, out, -1, 1);

  float *x_d = dev_from (x, nx), *w_d = dev_from (w, nw), *b_d = dev_from (b, out);
  float *y_d = dev_poisoned (ny), *y_ref = g_new (float, ny);
  pf_linear_forward_ref (m, in, out, x, w, b, y_ref);
  OK (pf_cuda_linear_forward (ctx, m, in, out, x_d, w_d, b_d, y_d, &error));
  check_dev ("linear forward", y_d, y_ref, ny, TOL_FWD);
  pf_linear_forward_ref (m, in, out, x, w, NULL, y_ref);
  OK (pf_cuda_fill (ctx, ny, NAN, y_d, &error));
  OK (pf_cuda_linear_forward (ctx, m, in, out, x_d, w_d, NULL, y_d, &error));
  check_dev ("linear forward, no bias", y_d, y_ref, ny, TOL_FWD);

  float *dx_ref = dup_floats (dx0, nx), *dw_ref = dup_floats (dw0, nw), *db_ref = dup_floats (db0, out);
  pf_linear_backward_ref (m, in, out, x, w, dy, dx_ref, dw_ref, db_ref);
  float *dy_d = dev_from (dy, ny);
  float *dx_d = dev_from (dx0, nx), *dw_d = dev_from (dw0, nw), *db_d = dev_from (db0, out);
  OK (pf_cuda_linear_backward (ctx, m, in, out, x_d, w_d, dy_d, NULL, FALSE, dw_d, db_d, &error));
  check_dev ("linear backward dx untouched", dx_d, dx0, nx, 1e-30);
  OK (pf_cuda_linear_backward (ctx, m, in, out, x_d, w_d, dy_d, dx_d, FALSE, NULL, NULL, &error));
  check_dev ("linear backward dx", dx_d, dx_ref, nx, TOL_BWD);
  check_dev ("linear backward dw", dw_d, dw_ref, nw, TOL_BWD);
  check_dev ("linear backward db", db_d, db_ref, out, TOL_BWD);
  /* set_dx: dx written over NaN, which is never read */
  float *dxs_ref = g_new0 (float, nx), *dws = g_new0 (float, nw), *dbs = g_new0 (float, out);
  pf_linear_backward_ref (m, in, out, x, w, dy, dxs_ref, dws, dbs);
  OK (pf_cuda_fill (ctx, nx, NAN, dx_d, &error));
  OK (pf_cuda_linear_backward (ctx, m, in, out, x_d, w_d, dy_d, dx_d, TRUE, NULL, NULL, &error));
  check_dev ("linear backward dx, set (not added)", dx_d, dxs_ref, nx, TOL_BWD);
  g_free (dxs_ref);
  g_free (dws);
  g_free (dbs);

  float *devs[] = { x_d, w_d, b_d, y_d, dy_d, dx_d, dw_d, db_d };
  for (guint i = 0; i < G_N_ELEMENTS (devs); i++)
    dev_free (devs[i]);
  float *hosts[] = { x, w, b, dy, dx0, dw0, db0, y_ref, dx_ref, dw_ref, db_ref };
  for (guint i = 0; i < G_N_ELEMENTS (hosts); i++)
    g_free (hosts[i]);
  g_rand_free (r);
}

/* The bias gradient over many rows (the row attention's linears see m = 627,200 tokens) and a
 * width that is not a multiple of the 32-column tile: the two-launch column sum. */
static void
test_linear_long (void)
{
  NEED_GPU ();
  GRand *r = g_rand_new_with_seed (33);
  const int m = 200003, in = 3;
  for (int out = 45; out <= 64; out += 19)
    {
      const size_t nx = (size_t) m * in, nw = (size_t) out * in, ny = (size_t) m * out;
      float *x = rand_host (r, nx, -1, 1), *w = rand_host (r, nw, -1, 1);
      float *dy = rand_host (r, ny, -1, 1), *db0 = rand_host (r, out, -1, 1);
      float *dw0 = rand_host (r, nw, -1, 1);
      float *dw_ref = dup_floats (dw0, nw), *db_ref = dup_floats (db0, out);
      pf_linear_backward_ref (m, in, out, x, w, dy, NULL, dw_ref, db_ref);
      float *x_d = dev_from (x, nx), *w_d = dev_from (w, nw), *dy_d = dev_from (dy, ny);
      float *dw_d = dev_from (dw0, nw), *db_d = dev_from (db0, out);
      /* the forward's bias over several grid strides (a stride is not a multiple of out) */
      float *y_ref = g_new (float, ny), *y_d = dev_poisoned (ny);
      pf_linear_forward_ref (m, in, out, x, w, db0, y_ref);
      OK (pf_cuda_linear_forward (ctx, m, in, out, x_d, w_d, db_d, y_d, &error));
      check_dev ("linear forward, long", y_d, y_ref, ny, TOL_FWD);
      dev_free (y_d);
      g_free (y_ref);
      OK (pf_cuda_linear_backward (ctx, m, in, out, x_d, w_d, dy_d, NULL, FALSE, dw_d, db_d, &error));
      check_dev ("linear backward db, long", db_d, db_ref, out, TOL_BWD);
      check_dev ("linear backward dw, long", dw_d, dw_ref, nw, TOL_BWD);
      float *devs[] = { x_d, w_d, dy_d, dw_d, db_d };
      for (guint i = 0; i < G_N_ELEMENTS (devs); i++)
        dev_free (devs[i]);
      float *hosts[] = { x, w, dy, db0, dw0, dw_ref, db_ref };
      for (guint i = 0; i < G_N_ELEMENTS (hosts); i++)
        g_free (hosts[i]);
    }
  g_rand_free (r);
}

/* ---- elementwise --------------------------------------------------------------------- */
static void
test_eltwise (void)
{
  NEED_GPU ();
  GRand *r = g_rand_new_with_seed (41);
  const size_t n = 100003; /* not a multiple of the block, more than one grid pass */
  float *a = rand_host (r, n, -2, 2), *b = rand_host (r, n, -2, 2), *dy = rand_host (r, n, -1, 1);
  float *g0 = rand_host (r, n, -1, 1), *g1 = rand_host (r, n, -1, 1);
  float *ref = g_new (float, n), *ref2 = g_new (float, n);
  float *a_d = dev_from (a, n), *b_d = dev_from (b, n), *dy_d = dev_from (dy, n);
  float *y_d = dev_poisoned (n), *z_d = dev_poisoned (n);

  OK (pf_cuda_fill (ctx, n, 3.25f, y_d, &error));
  for (size_t i = 0; i < n; i++)
    ref[i] = 3.25f;
  check_dev ("fill", y_d, ref, n, TOL_FWD);

  /* y += alpha x, on the CPU as a plain loop (no reference op for it) */
  OK (pf_cuda_copy_device (ctx, y_d, b_d, n * sizeof (float), &error));
  OK (pf_cuda_axpy (ctx, n, -0.75f, a_d, y_d, &error));
  for (size_t i = 0; i < n; i++)
    ref[i] = b[i] + -0.75f * a[i];
  check_dev ("axpy", y_d, ref, n, TOL_FWD);

  /* relu: forward output feeds backward, as in the graph */
  OK (pf_cuda_fill (ctx, n, NAN, y_d, &error));
  pf_relu_forward_ref (n, a, ref);
  OK (pf_cuda_relu_forward (ctx, n, a_d, y_d, &error));
  check_dev ("relu forward", y_d, ref, n, TOL_FWD);
  memcpy (ref2, g0, n * sizeof (float));
  pf_relu_backward_ref (n, ref, dy, ref2);
  OK (pf_cuda_copy_to_device (ctx, z_d, g0, n * sizeof (float), &error));
  OK (pf_cuda_relu_backward (ctx, n, y_d, dy_d, z_d, &error));
  check_dev ("relu backward", z_d, ref2, n, TOL_BWD);

  OK (pf_cuda_fill (ctx, n, NAN, y_d, &error));
  pf_sigmoid_forward_ref (n, a, ref);
  OK (pf_cuda_sigmoid_forward (ctx, n, a_d, y_d, &error));
  check_dev ("sigmoid forward", y_d, ref, n, TOL_FWD);
  memcpy (ref2, g0, n * sizeof (float));
  pf_sigmoid_backward_ref (n, ref, dy, ref2);
  OK (pf_cuda_copy_to_device (ctx, z_d, g0, n * sizeof (float), &error));
  OK (pf_cuda_sigmoid_backward (ctx, n, y_d, dy_d, z_d, &error));
  check_dev ("sigmoid backward", z_d, ref2, n, TOL_BWD);

  OK (pf_cuda_fill (ctx, n, NAN, y_d, &error));
  pf_add_forward_ref (n, a, b, ref);
  OK (pf_cuda_add_forward (ctx, n, a_d, b_d, y_d, &error));
  check_dev ("add forward", y_d, ref, n, TOL_FWD);
  memcpy (ref, g0, n * sizeof (float));
  memcpy (ref2, g1, n * sizeof (float));
  pf_add_backward_ref (n, dy, ref, ref2);
  OK (pf_cuda_copy_to_device (ctx, y_d, g0, n * sizeof (float), &error));
  OK (pf_cuda_copy_to_device (ctx, z_d, g1, n * sizeof (float), &error));
  OK (pf_cuda_add_backward (ctx, n, dy_d, y_d, z_d, &error));
  check_dev ("add backward da", y_d, ref, n, TOL_BWD);
  check_dev ("add backward db", z_d, ref2, n, TOL_BWD);

  float *devs[] = { a_d, b_d, dy_d, y_d, z_d };
  for (guint i = 0; i < G_N_ELEMENTS (devs); i++)
    dev_free (devs[i]);
  float *hosts[] = { a, b, dy, g0, g1, ref, ref2 };
  for (guint i = 0; i < G_N_ELEMENTS (hosts); i++)
    g_free (hosts[i]);
  g_rand_free (r);
}

/* ---- losses -------------------------------------------------------------------------- */
static void
check_loss (PfLossKind kind)
{
  GRand *r = g_rand_new_with_seed (51 + kind);
  PfLossDesc d;
  pf_loss_desc_init (&d, kind, 3, 20, 17);
  const size_t image = (size_t) d.h * d.w, n = image * d.n;
  /* energies after normalisation: positive */
  float *p = rand_host (r, n, 0, 1), *t = rand_host (r, n, 0, 1);
  float *dref = g_new (float, n);
  g_assert_cmpuint (pf_loss_workspace_floats (&d), ==, 0);
  float ref = (float) pf_loss_forward (&d, p, t, dref, NULL);

  float *p_d = dev_from (p, n), *t_d = dev_from (t, n);
  float *loss_d = dev_poisoned (1), *g_d = dev_poisoned (n);
  const float scale = 0.5f;
  if (kind == PF_LOSS_MSE)
    OK (pf_cuda_mse_loss (ctx, n, p_d, t_d, 1.0f, loss_d, g_d, &error));
  else
    OK (pf_cuda_wmse_loss (ctx, d.n, image, p_d, t_d, 1.0f, loss_d, g_d, &error));
  const char *name = pf_loss_kind_name (kind);
  char *what = g_strdup_printf ("%s value", name);
  check_dev (what, loss_d, &ref, 1, TOL_FWD);
  g_free (what);
  what = g_strdup_printf ("%s gradient", name);
  check_dev (what, g_d, dref, n, TOL_BWD);
  g_free (what);

  /* the gradient is overwritten (not accumulated) and scaled */
  for (size_t i = 0; i < n; i++)
    dref[i] *= scale;
  if (kind == PF_LOSS_MSE)
    OK (pf_cuda_mse_loss (ctx, n, p_d, t_d, scale, NULL, g_d, &error));
  else
    OK (pf_cuda_wmse_loss (ctx, d.n, image, p_d, t_d, scale, NULL, g_d, &error));
  what = g_strdup_printf ("%s gradient, scale %g", name, scale);
  check_dev (what, g_d, dref, n, TOL_BWD);
  g_free (what);

  dev_free (p_d);
  dev_free (t_d);
  dev_free (loss_d);
  dev_free (g_d);
  g_free (p);
  g_free (t);
  g_free (dref);
  g_rand_free (r);
}

static void
test_loss_mse (void)
{
  NEED_GPU ();
  check_loss (PF_LOSS_MSE);
}

static void
test_loss_wmse (void)
{
  NEED_GPU ();
  check_loss (PF_LOSS_WMSE);
}

/* ---- Adam ---------------------------------------------------------------------------- */
static void
test_adam (void)
{
  NEED_GPU ();
  GRand *r = g_rand_new_with_seed (61);
  const size_t n = 5000;
  PfAdamConfig c;
  pf_adam_config_init (&c, 1e-2);
  float *p = rand_host (r, n, -1, 1), *m = g_new0 (float, n), *v = g_new0 (float, n);
  float *p_d = dev_from (p, n), *m_d = dev_from (m, n), *v_d = dev_from (v, n);
  for (int64_t t = 1; t <= 3; t++)
    {
      float *g = rand_host (r, n, -1, 1);
      float *g_d = dev_from (g, n);
      pf_adam_step (&c, t, n, p, g, m, v);
      OK (pf_cuda_adam_step (ctx, &c, t, n, p_d, g_d, m_d, v_d, &error));
      dev_free (g_d);
      g_free (g);
    }
  check_dev ("adam param", p_d, p, n, TOL_FWD);
  check_dev ("adam m", m_d, m, n, TOL_FWD);
  check_dev ("adam v", v_d, v, n, TOL_FWD);
  dev_free (p_d);
  dev_free (m_d);
  dev_free (v_d);
  g_free (p);
  g_free (m);
  g_free (v);
  g_rand_free (r);
}

/* ---- one training step ----------------------------------------------------------------- */
/* conv(4->8, 5x5) -> BN -> ReLU -> conv(8->1, 5x5) -> WMSE -> backward -> Adam, twice, on the
 * GPU and with the CPU reference ops: the ops compose (buffers, accumulation, the loss as the
 * root of backward) the way the scale-1 CNN uses them. */
typedef struct {
  float *w1, *b1, *gamma, *beta, *w2, *b2;
} Params;

static void
test_train_step (void)
{
  NEED_GPU ();
  GRand *r = g_rand_new_with_seed (71);
  const int B = 2, H = 12, W = 12, C1 = 8;
  PfConv2dDesc c1 = { B, 4, H, W, C1, 5, 5, 1, 1, 2, 2 };
  PfConv2dDesc c2 = { B, C1, H, W, 1, 5, 5, 1, 1, 2, 2 };
  PfBatchNormDesc bn = { B, C1, H * W, 1e-5f, 0.1f };
  PfLossDesc ld;
  pf_loss_desc_init (&ld, PF_LOSS_WMSE, B, H, W);
  PfAdamConfig ac;
  pf_adam_config_init (&ac, 1e-3);

  /* flat parameter array, as the optimiser sees it */
  const size_t sizes[] = { (size_t) C1 * 4 * 25, C1, C1, C1, (size_t) C1 * 25, 1 };
  size_t np = 0;
  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++)
    np += sizes[i];
  float *P = rand_host (r, np, -0.2, 0.2);
  for (size_t i = sizes[0] + sizes[1]; i < sizes[0] + sizes[1] + sizes[2]; i++)
    P[i] = 1.0f + P[i]; /* gamma near 1 */
  const size_t nx = (size_t) B * 4 * H * W, nh = (size_t) B * C1 * H * W, ny = (size_t) B * H * W;
  float *x = rand_host (r, nx, 0, 1), *t = rand_host (r, ny, 0, 1);

  /* CPU buffers */
  float *G = g_new (float, np), *M = g_new0 (float, np), *V = g_new0 (float, np);
  float *h1 = g_new (float, nh), *h2 = g_new (float, nh), *y = g_new (float, ny);
  float *dh1 = g_new (float, nh), *dh2 = g_new (float, nh), *dy = g_new (float, ny);
  float *rm = g_new0 (float, C1), *rv = g_new (float, C1), *sm = g_new (float, C1), *si = g_new (float, C1);
  for (int i = 0; i < C1; i++)
    rv[i] = 1.0f;
  /* GPU buffers */
  float *P_d = dev_from (P, np), *G_d = dev_poisoned (np), *M_d = dev_from (M, np), *V_d = dev_from (V, np);
  float *x_d = dev_from (x, nx), *t_d = dev_from (t, ny);
  float *h1_d = dev_poisoned (nh), *h2_d = dev_poisoned (nh), *y_d = dev_poisoned (ny);
  float *dh1_d = dev_poisoned (nh), *dh2_d = dev_poisoned (nh), *dy_d = dev_poisoned (ny);
  float *rm_d = dev_from (rm, C1), *rv_d = dev_from (rv, C1), *sm_d = dev_poisoned (C1), *si_d = dev_poisoned (C1);
  float *loss_d = dev_poisoned (1);
  GError *perr = NULL;
  PfCudaConv2dPlan *p1 = pf_cuda_conv2d_plan_new (ctx, &c1, &perr);
  g_assert_no_error (perr);
  PfCudaConv2dPlan *p2 = pf_cuda_conv2d_plan_new (ctx, &c2, &perr);
  g_assert_no_error (perr);

  size_t off[G_N_ELEMENTS (sizes)];
  off[0] = 0;
  for (guint i = 1; i < G_N_ELEMENTS (sizes); i++)
    off[i] = off[i - 1] + sizes[i - 1];
#define PRM(base, i) ((base) + off[i])

  float loss_ref = 0;
  for (int64_t step = 1; step <= 2; step++)
    {
      /* CPU */
      memset (G, 0, np * sizeof (float));
      memset (dh1, 0, nh * sizeof (float));
      memset (dh2, 0, nh * sizeof (float));
      pf_conv2d_forward_ref (&c1, x, PRM (P, 0), PRM (P, 1), h1);
      pf_batchnorm_forward_train_ref (&bn, h1, PRM (P, 2), PRM (P, 3), h2, rm, rv, sm, si);
      pf_relu_forward_ref (nh, h2, h2);
      pf_conv2d_forward_ref (&c2, h2, PRM (P, 4), PRM (P, 5), y);
      loss_ref = (float) pf_loss_forward (&ld, y, t, dy, NULL);
      pf_conv2d_backward_ref (&c2, h2, PRM (P, 4), dy, dh2, PRM (G, 4), PRM (G, 5));
      float *dmask = g_new0 (float, nh);
      pf_relu_backward_ref (nh, h2, dh2, dmask);
      pf_batchnorm_backward_ref (&bn, h1, PRM (P, 2), sm, si, dmask, dh1, PRM (G, 2), PRM (G, 3));
      g_free (dmask);
      pf_conv2d_backward_ref (&c1, x, PRM (P, 0), dh1, NULL, PRM (G, 0), PRM (G, 1));
      pf_adam_step (&ac, step, np, P, G, M, V);

      /* GPU, the same sequence; the ReLU gradient goes to its own buffer (dh1_d, reused) */
      OK (pf_cuda_memset (ctx, G_d, 0, np * sizeof (float), &error));
      OK (pf_cuda_memset (ctx, dh2_d, 0, nh * sizeof (float), &error));
      OK (pf_cuda_conv2d_forward (p1, x_d, PRM (P_d, 0), PRM (P_d, 1), h1_d, &error));
      OK (pf_cuda_batchnorm_forward_train (ctx, &bn, h1_d, NULL, PRM (P_d, 2), PRM (P_d, 3), h2_d,
                                           FALSE, rm_d, rv_d, sm_d, si_d, &error));
      OK (pf_cuda_relu_forward (ctx, nh, h2_d, h2_d, &error));
      OK (pf_cuda_conv2d_forward (p2, h2_d, PRM (P_d, 4), PRM (P_d, 5), y_d, &error));
      OK (pf_cuda_wmse_loss (ctx, B, (size_t) H * W, y_d, t_d, 1.0f, loss_d, dy_d, &error));
      OK (pf_cuda_conv2d_backward (p2, h2_d, PRM (P_d, 4), dy_d, dh2_d, FALSE, PRM (G_d, 4), PRM (G_d, 5),
                                   &error));
      OK (pf_cuda_memset (ctx, dh1_d, 0, nh * sizeof (float), &error));
      OK (pf_cuda_relu_backward (ctx, nh, h2_d, dh2_d, dh1_d, &error));
      OK (pf_cuda_copy_device (ctx, dh2_d, dh1_d, nh * sizeof (float), &error));
      OK (pf_cuda_memset (ctx, dh1_d, 0, nh * sizeof (float), &error));
      OK (pf_cuda_batchnorm_backward (ctx, &bn, h1_d, NULL, PRM (P_d, 2), sm_d, si_d, dh2_d, NULL,
                                      dh1_d, FALSE, PRM (G_d, 2), PRM (G_d, 3), &error));
      OK (pf_cuda_conv2d_backward (p1, x_d, PRM (P_d, 0), dh1_d, NULL, FALSE, PRM (G_d, 0), PRM (G_d, 1),
                                   &error));
      OK (pf_cuda_adam_step (ctx, &ac, step, np, P_d, G_d, M_d, V_d, &error));
      check_dev ("train step: loss", loss_d, &loss_ref, 1, TOL_FWD);
      check_dev ("train step: gradients", G_d, G, np, TOL_BWD);
      /* The first conv's bias has an exact gradient of zero (the BN after it removes any
       * per-channel constant), so both sides hold rounding noise there, and Adam, dividing
       * each gradient by its own magnitude, moves it by up to lr either way: from step 2 on
       * the running mean (which sees that bias) differs by ~momentum * lr, not by rounding. */
      if (step == 1)
        check_dev ("train step: running_mean", rm_d, rm, C1, TOL_FWD);
    }
#undef PRM
  check_dev ("train step: running_var", rv_d, rv, C1, TOL_FWD);
  float *P_h = host_from (P_d, np);
  for (size_t i = off[1]; i < off[2]; i++) /* the noise bias, as above */
    P_h[i] = P[i];
  pf_assert_close ("train step: parameters after 2 steps (but the first bias)", P_h, P, np, TOL_BWD);
  g_free (P_h);

  pf_cuda_conv2d_plan_free (p1);
  pf_cuda_conv2d_plan_free (p2);
  float *devs[] = { P_d, G_d, M_d, V_d, x_d, t_d, h1_d, h2_d, y_d, dh1_d, dh2_d, dy_d, rm_d,
                    rv_d, sm_d, si_d, loss_d };
  for (guint i = 0; i < G_N_ELEMENTS (devs); i++)
    dev_free (devs[i]);
  float *hosts[] = { P, G, M, V, x, t, h1, h2, y, dh1, dh2, dy, rm, rv, sm, si };
  for (guint i = 0; i < G_N_ELEMENTS (hosts); i++)
    g_free (hosts[i]);
  g_rand_free (r);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  pf_test_cuda_open ("CUDA backend");

  g_test_add_func ("/cuda/no-device", test_no_device);
  g_test_add_func ("/cuda/context", test_context);
  g_test_add_func ("/cuda/conv2d", test_conv2d);
  g_test_add_func ("/cuda/batchnorm", test_batchnorm);
  g_test_add_func ("/cuda/linear", test_linear);
  g_test_add_func ("/cuda/linear-long", test_linear_long);
  g_test_add_func ("/cuda/eltwise", test_eltwise);
  g_test_add_func ("/cuda/loss/mse", test_loss_mse);
  g_test_add_func ("/cuda/loss/wmse", test_loss_wmse);
  g_test_add_func ("/cuda/adam", test_adam);
  g_test_add_func ("/cuda/train-step", test_train_step);
  int rc = g_test_run ();
  pf_cuda_context_free (ctx);
  g_free (skip_reason);
  return rc;
}

#else /* !PF_HAVE_CUDA */

PF_TEST_MAIN_WITHOUT_CUDA ("/cuda/not-built", "CUDA backend")

#endif
