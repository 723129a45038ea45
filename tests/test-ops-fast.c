/* test-ops-fast.c — the fast CPU path (oneDNN, BLAS, OpenMP) against the reference ops.
 *
 * Random inputs (never zeros), outputs poisoned with NaN before each forward so an unwritten
 * element fails, and every gradient pre-filled with random values so the test also checks
 * that backward accumulates (+=) rather than overwrites. Odd sizes on purpose: widths that
 * are not multiples of the 8-float vectors, channel counts that are not multiples of 16. */
#include "pf-ops-fast.h"
#include "pf-error.h"
#include "pf-test-util.h"

static GRand *rng;

static float *
rand_buf (size_t n)
{
  float *p = g_new (float, n);
  for (size_t i = 0; i < n; i++)
    p[i] = (float) g_rand_double_range (rng, -1.0, 1.0);
  return p;
}

static float *
dup_buf (const float *p, size_t n)
{
  return g_memdup2 (p, n * sizeof (float));
}

static float *
nan_buf (size_t n)
{
  float *p = g_new (float, n);
  for (size_t i = 0; i < n; i++)
    p[i] = NAN;
  return p;
}

/* ---- convolution --------------------------------------------------------------------- */

static const char *
impl_name (PfConvImpl impl)
{
  switch (impl)
    {
    case PF_CONV_IMPL_DNNL: return "dnnl";
    case PF_CONV_IMPL_DIRECT: return "direct";
    default: return "auto";
    }
}

/* Forward and backward of one plan against the reference; `times` backward calls must add
 * `times` gradients to the initial values. */
static void
check_conv2d (const PfConv2dDesc *d, bool bias, PfConvImpl impl, int times)
{
  const int ho = pf_conv2d_out_h (d), wo = pf_conv2d_out_w (d);
  const size_t xn = (size_t) d->n * d->c_in * d->h * d->w;
  const size_t yn = (size_t) d->n * d->c_out * ho * wo;
  const size_t wn = (size_t) d->c_out * d->c_in * d->kh * d->kw;
  GError *error = NULL;
  PfConv2dFast *p = pf_conv2d_fast_new_with_impl (d, bias, impl, &error);
  g_assert_no_error (error);
  g_assert_nonnull (p);
  if (impl != PF_CONV_IMPL_AUTO)
    g_assert_cmpint (pf_conv2d_fast_impl (p), ==, impl);
  char *what = g_strdup_printf ("conv2d %s n%d %d->%d %dx%d k%dx%d s%dx%d p%dx%d%s",
                                impl_name (pf_conv2d_fast_impl (p)), d->n, d->c_in, d->c_out,
                                d->h, d->w, d->kh, d->kw, d->sh, d->sw, d->ph, d->pw,
                                bias ? " bias" : "");
  float *x = rand_buf (xn), *w = rand_buf (wn), *b = rand_buf (d->c_out), *dy = rand_buf (yn);
  float *y = nan_buf (yn), *y_ref = g_new (float, yn);
  pf_conv2d_forward_ref (d, x, w, bias ? b : NULL, y_ref);
  pf_conv2d_fast_forward (p, x, w, b, y);
  char *m = g_strconcat (what, " forward", NULL);
  pf_assert_close (m, y, y_ref, yn, 1e-4);
  g_free (m);

  float *dx = rand_buf (xn), *dw = rand_buf (wn), *db = rand_buf (d->c_out);
  float *dx_ref = dup_buf (dx, xn), *dw_ref = dup_buf (dw, wn), *db_ref = dup_buf (db, d->c_out);
  for (int t = 0; t < times; t++)
    {
      pf_conv2d_backward_ref (d, x, w, dy, dx_ref, dw_ref, bias ? db_ref : NULL);
      pf_conv2d_fast_backward (p, x, w, dy, dx, dw, db);
    }
  m = g_strconcat (what, " dx", NULL);
  pf_assert_close (m, dx, dx_ref, xn, 1e-3);
  g_free (m);
  m = g_strconcat (what, " dw", NULL);
  pf_assert_close (m, dw, dw_ref, wn, 1e-3);
  g_free (m);
  m = g_strconcat (what, " db", NULL);
  pf_assert_close (m, db, db_ref, d->c_out, 1e-3);
  g_free (m);

  /* NULL gradients are skipped; the others are still produced. */
  float *dw2 = rand_buf (wn), *dw2_ref = dup_buf (dw2, wn);
  pf_conv2d_backward_ref (d, x, w, dy, NULL, dw2_ref, NULL);
  pf_conv2d_fast_backward (p, x, w, dy, NULL, dw2, NULL);
  m = g_strconcat (what, " dw only", NULL);
  pf_assert_close (m, dw2, dw2_ref, wn, 1e-3);
  g_free (m);

  pf_conv2d_fast_free (p);
  g_free (what);
  g_free (x); g_free (w); g_free (b); g_free (dy); g_free (y); g_free (y_ref);
  g_free (dx); g_free (dw); g_free (db); g_free (dx_ref); g_free (dw_ref); g_free (db_ref);
  g_free (dw2); g_free (dw2_ref);
}

static const PfConv2dDesc conv_shapes[] = {
  /* n, c_in, h, w, c_out, kh, kw, sh, sw, ph, pw */
  { 2, 4, 12, 11, 8, 5, 5, 1, 1, 2, 2 },     /* scale-1 first layer, odd width */
  { 3, 16, 9, 13, 1, 5, 5, 1, 1, 2, 2 },     /* last layer */
  { 2, 8, 10, 10, 32, 5, 5, 1, 1, 2, 2 },    /* oneDNN territory */
  { 2, 32, 7, 9, 16, 5, 5, 1, 1, 2, 2 },
  { 1, 3, 6, 21, 2, 3, 7, 1, 1, 1, 3 },      /* 3D front end widths, kw 7 */
  { 2, 5, 8, 19, 3, 3, 4, 1, 1, 0, 1 },      /* even kernel, asymmetric output */
  { 2, 6, 11, 9, 5, 3, 3, 2, 2, 1, 1 },      /* strided: oneDNN only */
  { 2, 2, 5, 40, 7, 1, 1, 1, 1, 0, 0 },      /* 1x1 */
};

static void
test_conv2d (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (conv_shapes); i++)
    {
      const PfConv2dDesc *d = &conv_shapes[i];
      const bool direct_ok = d->sh == 1 && d->sw == 1;
      for (int bias = 0; bias <= 1; bias++)
        {
          check_conv2d (d, bias, PF_CONV_IMPL_AUTO, 1);
          check_conv2d (d, bias, PF_CONV_IMPL_DNNL, 1);
          if (direct_ok)
            check_conv2d (d, bias, PF_CONV_IMPL_DIRECT, 1);
        }
    }
}

static void
test_conv2d_accumulate (void)
{
  check_conv2d (&conv_shapes[0], true, PF_CONV_IMPL_DNNL, 3);
  check_conv2d (&conv_shapes[0], true, PF_CONV_IMPL_DIRECT, 3);
  check_conv2d (&conv_shapes[3], true, PF_CONV_IMPL_DNNL, 2);
}

static void
test_conv2d_bad_shape (void)
{
  PfConv2dDesc d = { 2, 4, 3, 3, 8, 5, 5, 1, 1, 0, 0 }; /* kernel larger than the input */
  GError *error = NULL;
  g_assert_null (pf_conv2d_fast_new (&d, true, &error));
  g_assert_error (error, PF_ERROR, PF_ERROR_SHAPE);
  g_clear_error (&error);
  PfConv2dDesc s = { 2, 4, 9, 9, 8, 3, 3, 2, 2, 1, 1 };
  g_assert_null (pf_conv2d_fast_new_with_impl (&s, true, PF_CONV_IMPL_DIRECT, &error));
  g_assert_error (error, PF_ERROR, PF_ERROR_UNSUPPORTED);
  g_clear_error (&error);
}

static void
check_conv3d (const PfConv3dDesc *d, bool bias)
{
  const size_t xn = (size_t) d->n * d->c_in * d->d * d->h * d->w;
  const size_t yn = (size_t) d->n * d->c_out * pf_conv3d_out_d (d) * pf_conv3d_out_h (d)
                    * pf_conv3d_out_w (d);
  const size_t wn = (size_t) d->c_out * d->c_in * d->kd * d->kh * d->kw;
  GError *error = NULL;
  PfConv3dFast *p = pf_conv3d_fast_new (d, bias, &error);
  g_assert_no_error (error);
  float *x = rand_buf (xn), *w = rand_buf (wn), *b = rand_buf (d->c_out), *dy = rand_buf (yn);
  float *y = nan_buf (yn), *y_ref = g_new (float, yn);
  pf_conv3d_forward_ref (d, x, w, bias ? b : NULL, y_ref);
  pf_conv3d_fast_forward (p, x, w, b, y);
  pf_assert_close ("conv3d forward", y, y_ref, yn, 1e-4);
  float *dx = rand_buf (xn), *dw = rand_buf (wn), *db = rand_buf (d->c_out);
  float *dx_ref = dup_buf (dx, xn), *dw_ref = dup_buf (dw, wn), *db_ref = dup_buf (db, d->c_out);
  pf_conv3d_backward_ref (d, x, w, dy, dx_ref, dw_ref, bias ? db_ref : NULL);
  pf_conv3d_fast_backward (p, x, w, dy, dx, dw, db);
  pf_assert_close ("conv3d dx", dx, dx_ref, xn, 1e-3);
  pf_assert_close ("conv3d dw", dw, dw_ref, wn, 1e-3);
  pf_assert_close ("conv3d db", db, db_ref, d->c_out, 1e-3);
  pf_conv3d_fast_free (p);
  g_free (x); g_free (w); g_free (b); g_free (dy); g_free (y); g_free (y_ref);
  g_free (dx); g_free (dw); g_free (db); g_free (dx_ref); g_free (dw_ref); g_free (db_ref);
}

static void
test_conv3d (void)
{
  /* The 3D front end: depth 3, kernels 3xKxK, no depth padding (runs as a 2D plan). */
  for (int k = 3; k <= 7; k += 2)
    {
      PfConv3dDesc d = { 2, 1, 3, 10, 13, 2, 3, k, k, 1, 1, 1, 0, k / 2, k / 2 };
      check_conv3d (&d, true);
    }
  /* A general 3D convolution (oneDNN 3D primitives). */
  PfConv3dDesc g = { 2, 3, 5, 6, 7, 4, 3, 3, 3, 1, 1, 1, 1, 1, 1 };
  check_conv3d (&g, true);
  check_conv3d (&g, false);
}

/* ---- batch normalisation -------------------------------------------------------------- */

static void
check_bn (int n, int c, int hw, bool relu, bool affine)
{
  PfBatchNormDesc d = { n, c, hw, 1e-5f, 0.1f };
  const size_t total = (size_t) n * c * hw;
  char *what = g_strdup_printf ("bn n%d c%d hw%d%s%s", n, c, hw, relu ? " relu" : "",
                                affine ? "" : " no-affine");
  float *x = rand_buf (total), *dy = rand_buf (total);
  /* A large mean, as activations after a conv can have: the variance must not cancel. */
  for (size_t i = 0; i < total; i++)
    x[i] = 3.0f + 2.0f * x[i];
  float *gamma = affine ? rand_buf (c) : NULL, *beta = affine ? rand_buf (c) : NULL;
  float *rm = rand_buf (c), *rv = rand_buf (c);
  for (int i = 0; i < c; i++)
    rv[i] = 1.5f + rv[i];
  float *rm_ref = dup_buf (rm, c), *rv_ref = dup_buf (rv, c);
  float *y = nan_buf (total), *y_ref = g_new (float, total);
  float *sm = nan_buf (c), *si = nan_buf (c), *sm_ref = g_new (float, c), *si_ref = g_new (float, c);
  pf_batchnorm_forward_train_ref (&d, x, gamma, beta, y_ref, rm_ref, rv_ref, sm_ref, si_ref);
  if (relu)
    pf_relu_forward_ref (total, y_ref, y_ref);
  pf_batchnorm_forward_train_fast (&d, relu, x, gamma, beta, y, rm, rv, sm, si);
  pf_assert_close (what, y, y_ref, total, 1e-4);
  pf_assert_close ("running mean", rm, rm_ref, c, 1e-5);
  pf_assert_close ("running var", rv, rv_ref, c, 1e-5);
  pf_assert_close ("save mean", sm, sm_ref, c, 1e-5);
  pf_assert_close ("save invstd", si, si_ref, c, 1e-5);

  /* Backward: the reference path is ReLU backward into a zeroed buffer, then BN backward. */
  float *dx = rand_buf (total), *dx_ref = dup_buf (dx, total);
  float *dg = rand_buf (c), *dbt = rand_buf (c), *dg_ref = dup_buf (dg, c), *dbt_ref = dup_buf (dbt, c);
  float *dz = g_new0 (float, total);
  if (relu)
    pf_relu_backward_ref (total, y_ref, dy, dz);
  else
    memcpy (dz, dy, total * sizeof (float));
  pf_batchnorm_backward_ref (&d, x, gamma, sm_ref, si_ref, dz, dx_ref, dg_ref, dbt_ref);
  pf_batchnorm_backward_fast (&d, relu ? y : NULL, x, gamma, sm, si, dy, dx, dg, dbt);
  pf_assert_close ("bn dx", dx, dx_ref, total, 1e-3);
  pf_assert_close ("bn dgamma", dg, dg_ref, c, 1e-3);
  pf_assert_close ("bn dbeta", dbt, dbt_ref, c, 1e-3);

  /* Inference with the running statistics. */
  pf_batchnorm_forward_infer_ref (&d, x, gamma, beta, rm_ref, rv_ref, y_ref);
  if (relu)
    pf_relu_forward_ref (total, y_ref, y_ref);
  for (size_t i = 0; i < total; i++)
    y[i] = NAN;
  pf_batchnorm_forward_infer_fast (&d, relu, x, gamma, beta, rm_ref, rv_ref, y);
  pf_assert_close ("bn infer", y, y_ref, total, 1e-4);

  g_free (what);
  g_free (x); g_free (dy); g_free (gamma); g_free (beta); g_free (rm); g_free (rv);
  g_free (rm_ref); g_free (rv_ref); g_free (y); g_free (y_ref); g_free (sm); g_free (si);
  g_free (sm_ref); g_free (si_ref); g_free (dx); g_free (dx_ref); g_free (dg); g_free (dbt);
  g_free (dg_ref); g_free (dbt_ref); g_free (dz);
}

static void
test_batchnorm (void)
{
  for (int relu = 0; relu <= 1; relu++)
    {
      check_bn (3, 5, 37, relu, true);
      check_bn (2, 16, 56 * 56, relu, true);
      check_bn (4, 1, 7, relu, true);
      check_bn (3, 3, 11, relu, false);
    }
}

/* ---- elementwise --------------------------------------------------------------------- */

typedef void (*PfUnaryFwd) (size_t, const float *, float *);
typedef void (*PfUnaryBwd) (size_t, const float *, const float *, float *);

static void
check_unary (const char *name, size_t n, PfUnaryFwd fast, PfUnaryFwd ref, PfUnaryBwd fast_b,
             PfUnaryBwd ref_b, bool bwd_uses_y)
{
  float *x = rand_buf (n), *dy = rand_buf (n);
  for (size_t i = 0; i < n; i++)
    x[i] *= 8.0f; /* both tails of the sigmoid */
  float *y = nan_buf (n), *y_ref = g_new (float, n);
  ref (n, x, y_ref);
  fast (n, x, y);
  char *m = g_strdup_printf ("%s n%zu forward", name, n);
  pf_assert_close (m, y, y_ref, n, 1e-6);
  g_free (m);
  float *dx = rand_buf (n), *dx_ref = dup_buf (dx, n);
  ref_b (n, bwd_uses_y ? y_ref : x, dy, dx_ref);
  fast_b (n, bwd_uses_y ? y : x, dy, dx);
  m = g_strdup_printf ("%s n%zu backward", name, n);
  pf_assert_close (m, dx, dx_ref, n, 1e-6);
  g_free (m);
  fast_b (n, bwd_uses_y ? y : x, dy, NULL); /* NULL = skip, must not crash */
  g_free (x); g_free (dy); g_free (y); g_free (y_ref); g_free (dx); g_free (dx_ref);
}

static float leaky_slope = 0.01f;
static void lr_fwd_fast (size_t n, const float *x, float *y) { pf_leaky_relu_forward_fast (n, leaky_slope, x, y); }
static void lr_fwd_ref (size_t n, const float *x, float *y) { pf_leaky_relu_forward_ref (n, leaky_slope, x, y); }
static void lr_bwd_fast (size_t n, const float *x, const float *dy, float *dx) { pf_leaky_relu_backward_fast (n, leaky_slope, x, dy, dx); }
static void lr_bwd_ref (size_t n, const float *x, const float *dy, float *dx) { pf_leaky_relu_backward_ref (n, leaky_slope, x, dy, dx); }

static void
test_eltwise (void)
{
  const size_t sizes[] = { 1, 1001, 100003 };
  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++)
    {
      const size_t n = sizes[i];
      check_unary ("relu", n, pf_relu_forward_fast, pf_relu_forward_ref, pf_relu_backward_fast,
                   pf_relu_backward_ref, true);
      check_unary ("sigmoid", n, pf_sigmoid_forward_fast, pf_sigmoid_forward_ref,
                   pf_sigmoid_backward_fast, pf_sigmoid_backward_ref, true);
      check_unary ("leaky relu", n, lr_fwd_fast, lr_fwd_ref, lr_bwd_fast, lr_bwd_ref, false);

      float *a = rand_buf (n), *b = rand_buf (n), *y = nan_buf (n), *y_ref = g_new (float, n);
      pf_add_forward_ref (n, a, b, y_ref);
      pf_add_forward_fast (n, a, b, y);
      pf_assert_close ("add forward", y, y_ref, n, 1e-6);
      float *da = rand_buf (n), *db = rand_buf (n), *da_ref = dup_buf (da, n), *db_ref = dup_buf (db, n);
      pf_add_backward_ref (n, y, da_ref, db_ref);
      pf_add_backward_fast (n, y, da, db);
      pf_assert_close ("add da", da, da_ref, n, 1e-6);
      pf_assert_close ("add db", db, db_ref, n, 1e-6);
      pf_add_backward_ref (n, y, NULL, db_ref);
      pf_add_backward_fast (n, y, NULL, db);
      pf_assert_close ("add db only", db, db_ref, n, 1e-6);
      g_free (a); g_free (b); g_free (y); g_free (y_ref);
      g_free (da); g_free (db); g_free (da_ref); g_free (db_ref);
    }
}

/* Softmax rows (the attention's 56 keys, odd widths, one column) against the reference. */
static void
test_softmax (void)
{
  const int shapes[][2] = { { 1, 1 }, { 7, 13 }, { 3136, 56 } };
  for (guint i = 0; i < G_N_ELEMENTS (shapes); i++)
    {
      int rows = shapes[i][0], cols = shapes[i][1];
      size_t n = (size_t) rows * cols;
      float *x = rand_buf (n), *y = nan_buf (n), *y_ref = nan_buf (n);
      for (size_t j = 0; j < n; j++)
        x[j] *= 40.0f; /* large logits: the row maximum must be subtracted */
      pf_softmax_forward_ref (rows, cols, 0.2f, x, y_ref);
      pf_softmax_forward_fast (rows, cols, 0.2f, x, y);
      pf_assert_close ("softmax forward", y, y_ref, n, 1e-5);
      float *dy = rand_buf (n), *dx = rand_buf (n), *dx_ref = dup_buf (dx, n);
      pf_softmax_backward_ref (rows, cols, 0.2f, y_ref, dy, dx_ref);
      pf_softmax_backward_fast (rows, cols, 0.2f, y_ref, dy, dx);
      pf_assert_close ("softmax backward (accumulated)", dx, dx_ref, n, 1e-5);
      g_free (x); g_free (y); g_free (y_ref); g_free (dy); g_free (dx); g_free (dx_ref);
    }
}

/* ---- dense --------------------------------------------------------------------------- */

static void
check_linear (int m, int in, int out, bool bias)
{
  float *x = rand_buf ((size_t) m * in), *w = rand_buf ((size_t) out * in), *b = rand_buf (out);
  float *dy = rand_buf ((size_t) m * out);
  float *y = nan_buf ((size_t) m * out), *y_ref = g_new (float, (size_t) m * out);
  char *what = g_strdup_printf ("linear %dx%d->%d%s", m, in, out, bias ? " bias" : "");
  pf_linear_forward_ref (m, in, out, x, w, bias ? b : NULL, y_ref);
  pf_linear_forward_fast (m, in, out, x, w, bias ? b : NULL, y);
  pf_assert_close (what, y, y_ref, (size_t) m * out, 1e-4);
  float *dx = rand_buf ((size_t) m * in), *dw = rand_buf ((size_t) out * in), *db = rand_buf (out);
  float *dx_ref = dup_buf (dx, (size_t) m * in), *dw_ref = dup_buf (dw, (size_t) out * in);
  float *db_ref = dup_buf (db, out);
  for (int t = 0; t < 2; t++) /* twice: accumulation */
    {
      pf_linear_backward_ref (m, in, out, x, w, dy, dx_ref, dw_ref, bias ? db_ref : NULL);
      pf_linear_backward_fast (m, in, out, x, w, dy, dx, dw, bias ? db : NULL);
    }
  pf_assert_close ("linear dx", dx, dx_ref, (size_t) m * in, 1e-3);
  pf_assert_close ("linear dw", dw, dw_ref, (size_t) out * in, 1e-3);
  pf_assert_close ("linear db", db, db_ref, out, 1e-3);
  g_free (what);
  g_free (x); g_free (w); g_free (b); g_free (dy); g_free (y); g_free (y_ref);
  g_free (dx); g_free (dw); g_free (db); g_free (dx_ref); g_free (dw_ref); g_free (db_ref);
}

static void
test_linear (void)
{
  check_linear (7, 13, 5, true);
  check_linear (7, 13, 5, false);
  check_linear (300, 224, 56, true);
  check_linear (1, 1, 1, true);
}

static void
check_bmm (int batch, int m, int n, int k, bool ta, bool tb)
{
  const size_t an = (size_t) batch * m * k, bn = (size_t) batch * k * n, cn = (size_t) batch * m * n;
  float *a = rand_buf (an), *b = rand_buf (bn), *dc = rand_buf (cn);
  float *c = nan_buf (cn), *c_ref = g_new (float, cn);
  char *what = g_strdup_printf ("bmm b%d %dx%dx%d ta%d tb%d", batch, m, n, k, ta, tb);
  pf_bmm_forward_ref (batch, m, n, k, ta, tb, a, b, c_ref);
  pf_bmm_forward_fast (batch, m, n, k, ta, tb, a, b, c);
  pf_assert_close (what, c, c_ref, cn, 1e-4);
  float *da = rand_buf (an), *db = rand_buf (bn), *da_ref = dup_buf (da, an), *db_ref = dup_buf (db, bn);
  pf_bmm_backward_ref (batch, m, n, k, ta, tb, a, b, dc, da_ref, db_ref);
  pf_bmm_backward_fast (batch, m, n, k, ta, tb, a, b, dc, da, db);
  pf_assert_close ("bmm da", da, da_ref, an, 1e-3);
  pf_assert_close ("bmm db", db, db_ref, bn, 1e-3);
  pf_bmm_backward_ref (batch, m, n, k, ta, tb, a, b, dc, NULL, db_ref);
  pf_bmm_backward_fast (batch, m, n, k, ta, tb, a, b, dc, NULL, db);
  pf_assert_close ("bmm db only", db, db_ref, bn, 1e-3);
  g_free (what);
  g_free (a); g_free (b); g_free (dc); g_free (c); g_free (c_ref);
  g_free (da); g_free (db); g_free (da_ref); g_free (db_ref);
}

static void
test_bmm (void)
{
  for (int ta = 0; ta <= 1; ta++)
    for (int tb = 0; tb <= 1; tb++)
      {
        check_bmm (5, 7, 9, 11, ta, tb);      /* small: threads over the batch */
        check_bmm (2, 70, 90, 65, ta, tb);    /* large: OpenBLAS threads each product */
        check_bmm (1, 1, 3, 2, ta, tb);
      }
}

/* The fast ops give the same numbers with one thread and with several. */
static void
test_threads (void)
{
  const int saved = pf_ops_fast_threads ();
  g_assert_cmpint (saved, >=, 1);
  PfConv2dDesc d = conv_shapes[1];
  check_conv2d (&d, true, PF_CONV_IMPL_DIRECT, 1);
  pf_ops_fast_set_threads (1);
  g_assert_cmpint (pf_ops_fast_threads (), ==, 1);
  check_conv2d (&d, true, PF_CONV_IMPL_DIRECT, 1);
  check_bn (3, 5, 37, true, true);
  pf_ops_fast_set_threads (3);
  check_conv2d (&d, true, PF_CONV_IMPL_AUTO, 1);
  check_bn (3, 5, 37, true, true);
  pf_ops_fast_set_threads (saved);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  rng = g_rand_new_with_seed (26);
  g_test_add_func ("/ops-fast/conv2d", test_conv2d);
  g_test_add_func ("/ops-fast/conv2d/accumulate", test_conv2d_accumulate);
  g_test_add_func ("/ops-fast/conv2d/bad-shape", test_conv2d_bad_shape);
  g_test_add_func ("/ops-fast/conv3d", test_conv3d);
  g_test_add_func ("/ops-fast/batchnorm", test_batchnorm);
  g_test_add_func ("/ops-fast/eltwise", test_eltwise);
  g_test_add_func ("/ops-fast/softmax", test_softmax);
  g_test_add_func ("/ops-fast/linear", test_linear);
  g_test_add_func ("/ops-fast/bmm", test_bmm);
  g_test_add_func ("/ops-fast/threads", test_threads);
  int r = g_test_run ();
  g_rand_free (rng);
  return r;
}
