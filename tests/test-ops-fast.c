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

/* ---- layout, channel, resampling, dropout: bit-identical to the reference --------------- */

static void
assert_same (const char *what, const float *a, const float *ref, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (memcmp (&a[i], &ref[i], sizeof (float)) != 0)
      g_error ("%s: element %zu is %.9g, reference %.9g", what, i, a[i], ref[i]);
  g_test_message ("%s: %zu elements bit-identical", what, n);
}

/* Forward into a NaN-poisoned output; backward twice into random gradients (accumulation). */
#define CHECK_PAIR(what, yn, FWD_FAST, FWD_REF, xn, BWD_FAST, BWD_REF) \
  G_STMT_START { \
    float *y_ = nan_buf (yn), *yr_ = nan_buf (yn); \
    { float *y = y_; FWD_FAST; } \
    { float *y = yr_; FWD_REF; } \
    assert_same (what " forward", y_, yr_, yn); \
    float *dx_ = rand_buf (xn), *dxr_ = dup_buf (dx_, xn); \
    for (int rep_ = 0; rep_ < 2; rep_++) \
      { \
        { float *dx = dx_; BWD_FAST; } \
        { float *dx = dxr_; BWD_REF; } \
      } \
    assert_same (what " backward", dx_, dxr_, xn); \
    { float *dx = NULL; BWD_FAST; } /* NULL = skip */ \
    g_free (y_); g_free (yr_); g_free (dx_); g_free (dxr_); \
  } G_STMT_END

static void
test_layout (void)
{
  /* small odd planes, and sizes past the threading threshold */
  const int planes[][3] = { { 3, 5, 7 }, { 64, 28, 28 }, { 130, 9, 40 } };
  for (guint s = 0; s < G_N_ELEMENTS (planes); s++)
    {
      const int nc = planes[s][0], h = planes[s][1], w = planes[s][2];
      const size_t xn = (size_t) nc * h * w, un = xn * 4, pn = (size_t) nc * (h / 2) * (w / 2);
      float *x = rand_buf (xn), *dy = rand_buf (un);
      if (xn > 8)
        x[1] = x[0], x[5] = NAN;  /* ties and a NaN in a pooling window */
      int32_t *am = g_new (int32_t, pn), *am_ref = g_new (int32_t, pn);
      CHECK_PAIR ("maxpool", pn, pf_maxpool2x2_forward_fast (nc, h, w, x, y, am),
                  pf_maxpool2x2_forward_ref (nc, h, w, x, y, am_ref), xn,
                  pf_maxpool2x2_backward_fast (nc, h, w, am_ref, dy, dx),
                  pf_maxpool2x2_backward_ref (nc, h, w, am_ref, dy, dx));
      g_assert_true (memcmp (am, am_ref, pn * sizeof (int32_t)) == 0);
      x[5] = 0.5f;
      CHECK_PAIR ("upsample nearest", un, pf_upsample_nearest2x_forward_fast (nc, h, w, x, y),
                  pf_upsample_nearest2x_forward_ref (nc, h, w, x, y), xn,
                  pf_upsample_nearest2x_backward_fast (nc, h, w, dy, dx),
                  pf_upsample_nearest2x_backward_ref (nc, h, w, dy, dx));
      CHECK_PAIR ("upsample bilinear", un, pf_upsample_bilinear2x_forward_fast (nc, h, w, x, y),
                  pf_upsample_bilinear2x_forward_ref (nc, h, w, x, y), xn,
                  pf_upsample_bilinear2x_backward_fast (nc, h, w, dy, dx),
                  pf_upsample_bilinear2x_backward_ref (nc, h, w, dy, dx));

      /* channel ops on [n, c, hw] with n * c = nc */
      const int n = nc % 2 == 0 ? 2 : 1, c = nc / n, hw = h * w;
      float *sc = rand_buf ((size_t) n * c);
      CHECK_PAIR ("global avgpool", (size_t) n * c, pf_global_avgpool_forward_fast (n, c, hw, x, y),
                  pf_global_avgpool_forward_ref (n, c, hw, x, y), xn,
                  pf_global_avgpool_backward_fast (n, c, hw, dy, dx),
                  pf_global_avgpool_backward_ref (n, c, hw, dy, dx));
      float *ds = rand_buf ((size_t) n * c), *ds_ref = dup_buf (ds, (size_t) n * c);
      CHECK_PAIR ("channel scale", xn, pf_channel_scale_forward_fast (n, c, hw, x, sc, y),
                  pf_channel_scale_forward_ref (n, c, hw, x, sc, y), xn,
                  pf_channel_scale_backward_fast (n, c, hw, x, sc, dy, dx, dx ? ds : NULL),
                  pf_channel_scale_backward_ref (n, c, hw, x, sc, dy, dx, ds_ref));
      assert_same ("channel scale ds", ds, ds_ref, (size_t) n * c);
      const int idx[5] = { c - 1, 0, c / 2, 0, c - 1 }; /* repeated picks */
      CHECK_PAIR ("channel gather", (size_t) n * 5 * hw,
                  pf_channel_gather_forward_fast (n, c, hw, 5, idx, x, y),
                  pf_channel_gather_forward_ref (n, c, hw, 5, idx, x, y), xn,
                  pf_channel_gather_backward_fast (n, c, hw, 5, idx, dy, dx),
                  pf_channel_gather_backward_ref (n, c, hw, 5, idx, dy, dx));

      /* concat of three parts along the channels */
      const int cs[3] = { 1, c, 3 }, ctot = c + 4;
      float *parts[3], *dparts[3], *dparts_ref[3];
      for (int i = 0; i < 3; i++)
        {
          size_t m = (size_t) n * cs[i] * hw;
          parts[i] = rand_buf (m);
          dparts[i] = rand_buf (m);
          dparts_ref[i] = dup_buf (dparts[i], m);
        }
      const size_t cn = (size_t) n * ctot * hw;
      float *cy = nan_buf (cn), *cy_ref = nan_buf (cn), *cdy = rand_buf (cn);
      pf_concat_forward_fast (n, hw, 3, cs, (const float *const *) parts, cy);
      pf_concat_forward_ref (n, hw, 3, cs, (const float *const *) parts, cy_ref);
      assert_same ("concat forward", cy, cy_ref, cn);
      float *skip_mid[3] = { dparts[0], NULL, dparts[2] }, *skip_mid_ref[3] = { dparts_ref[0], NULL, dparts_ref[2] };
      pf_concat_backward_fast (n, hw, 3, cs, cdy, dparts);
      pf_concat_backward_ref (n, hw, 3, cs, cdy, dparts_ref);
      pf_concat_backward_fast (n, hw, 3, cs, cdy, skip_mid);
      pf_concat_backward_ref (n, hw, 3, cs, cdy, skip_mid_ref);
      for (int i = 0; i < 3; i++)
        assert_same ("concat backward", dparts[i], dparts_ref[i], (size_t) n * cs[i] * hw);
      for (int i = 0; i < 3; i++)
        {
          g_free (parts[i]); g_free (dparts[i]); g_free (dparts_ref[i]);
        }
      g_free (cy); g_free (cy_ref); g_free (cdy);

      /* permutes of [n, c, h, w] (the sequence model's rows-first one among them) */
      const int shape[4] = { n, c, h, w };
      const int perms[][4] = { { 0, 2, 1, 3 }, { 0, 2, 3, 1 }, { 3, 1, 0, 2 }, { 0, 1, 2, 3 } };
      for (guint k = 0; k < G_N_ELEMENTS (perms); k++)
        CHECK_PAIR ("permute", xn, pf_permute_forward_fast (4, shape, perms[k], x, y),
                    pf_permute_forward_ref (4, shape, perms[k], x, y), xn,
                    pf_permute_backward_fast (4, shape, perms[k], dy, dx),
                    pf_permute_backward_ref (4, shape, perms[k], dy, dx));

      g_free (x); g_free (dy); g_free (am); g_free (am_ref); g_free (sc); g_free (ds); g_free (ds_ref);
    }
}

/* The fast dropout draws the reference's mask: same seed and step, same mask, any size. */
static void
test_dropout (void)
{
  const size_t sizes[] = { 1, 7, 1001, 100003 };
  const float ps[] = { 0.0f, 0.3f, 0.5f };
  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++)
    for (guint k = 0; k < G_N_ELEMENTS (ps); k++)
      {
        const size_t n = sizes[i];
        float *x = rand_buf (n), *y = nan_buf (n), *y_ref = nan_buf (n);
        uint8_t *m = g_malloc (n), *m_ref = g_malloc (n);
        memset (m, 7, n);
        pf_dropout_forward_fast (n, ps[k], 1234567 + i, 42 + k, x, y, m);
        pf_dropout_forward_ref (n, ps[k], 1234567 + i, 42 + k, x, y_ref, m_ref);
        g_assert_true (memcmp (m, m_ref, n) == 0);
        assert_same ("dropout forward", y, y_ref, n);
        float *dy = rand_buf (n), *dx = rand_buf (n), *dx_ref = dup_buf (dx, n);
        pf_dropout_backward_fast (n, ps[k], m, dy, dx);
        pf_dropout_backward_ref (n, ps[k], m_ref, dy, dx_ref);
        assert_same ("dropout backward", dx, dx_ref, n);
        pf_dropout_backward_fast (n, ps[k], m, dy, NULL);
        /* another step gives another mask */
        if (n > 1000 && ps[k] > 0.0f)
          {
            pf_dropout_forward_fast (n, ps[k], 1234567 + i, 43 + k, x, y, m);
            g_assert_true (memcmp (m, m_ref, n) != 0);
          }
        g_free (x); g_free (y); g_free (y_ref); g_free (m); g_free (m_ref);
        g_free (dy); g_free (dx); g_free (dx_ref);
      }
}

/* ---- LSTM ------------------------------------------------------------------------------ */

/* Fast LSTM against the reference: forward (y, hn, cn), then backward twice into random
 * gradients (accumulation), with optional states and state gradients. */
static void
check_lstm (int B, int T, int I, int H, int L, bool states, bool dstates)
{
  PfLstmDesc d = { B, T, I, H, L };
  const size_t xn = (size_t) B * T * I, yn = (size_t) B * T * H, sn = (size_t) L * B * H;
  const size_t wn = pf_lstm_param_count (&d), wsn = pf_lstm_workspace_size (&d);
  char *what = g_strdup_printf ("lstm B%d T%d I%d H%d L%d%s%s", B, T, I, H, L,
                                states ? " h0/c0" : "", dstates ? " dhn/dcn" : "");
  float *x = rand_buf (xn), *w = rand_buf (wn), *h0 = rand_buf (sn), *c0 = rand_buf (sn);
  for (size_t i = 0; i < wn; i++)
    w[i] *= 0.5f;
  float *ws = nan_buf (wsn), *ws_ref = nan_buf (wsn);
  float *y = nan_buf (yn), *hn = nan_buf (sn), *cn = nan_buf (sn);
  float *y_ref = nan_buf (yn), *hn_ref = nan_buf (sn), *cn_ref = nan_buf (sn);
  pf_lstm_forward_ref (&d, x, w, states ? h0 : NULL, states ? c0 : NULL, y_ref, hn_ref, cn_ref, ws_ref);
  pf_lstm_forward_fast (&d, x, w, states ? h0 : NULL, states ? c0 : NULL, y, hn, cn, ws);
  g_test_message ("%s", what);
  pf_assert_close ("lstm y", y, y_ref, yn, 1e-4);
  pf_assert_close ("lstm hn", hn, hn_ref, sn, 1e-4);
  pf_assert_close ("lstm cn", cn, cn_ref, sn, 1e-4);

  float *dy = rand_buf (yn), *dhn = rand_buf (sn), *dcn = rand_buf (sn);
  float *dx = rand_buf (xn), *dw = rand_buf (wn), *dh0 = rand_buf (sn), *dc0 = rand_buf (sn);
  float *dx_ref = dup_buf (dx, xn), *dw_ref = dup_buf (dw, wn);
  float *dh0_ref = dup_buf (dh0, sn), *dc0_ref = dup_buf (dc0, sn);
  float *dw0 = dup_buf (dw, wn), *dx0 = dup_buf (dx, xn);
  for (int rep = 0; rep < 2; rep++)
    {
      pf_lstm_backward_ref (&d, x, w, dy, dstates ? dhn : NULL, dstates ? dcn : NULL, dx_ref, dw_ref,
                            dh0_ref, dc0_ref, ws_ref);
      pf_lstm_backward_fast (&d, x, w, dy, dstates ? dhn : NULL, dstates ? dcn : NULL, dx, dw, dh0,
                             dc0, ws);
    }
  pf_assert_close ("lstm dx", dx, dx_ref, xn, 1e-3);
  pf_assert_close ("lstm dw", dw, dw_ref, wn, 1e-3);
  pf_assert_close ("lstm dh0", dh0, dh0_ref, sn, 1e-3);
  pf_assert_close ("lstm dc0", dc0, dc0_ref, sn, 1e-3);
  /* one pass alone (dx and the state gradients NULL) against the reference's one pass, and the
   * two passes above added exactly twice that onto the starting values */
  float *one = g_new0 (float, wn), *one_ref = g_new0 (float, wn);
  pf_lstm_backward_fast (&d, x, w, dy, dstates ? dhn : NULL, dstates ? dcn : NULL, NULL, one, NULL,
                         NULL, ws);
  pf_lstm_backward_ref (&d, x, w, dy, dstates ? dhn : NULL, dstates ? dcn : NULL, NULL, one_ref, NULL,
                        NULL, ws_ref);
  pf_assert_close ("lstm dw (one pass, dx NULL)", one, one_ref, wn, 1e-3);
  for (size_t i = 0; i < wn; i++)
    {
      dw0[i] = dw[i] - dw0[i];
      one_ref[i] *= 2.0f;
    }
  pf_assert_close ("lstm dw accumulated twice", dw0, one_ref, wn, 1e-3);
  float *dx1 = g_new0 (float, xn), *dx1_ref = g_new0 (float, xn);
  pf_lstm_backward_ref (&d, x, w, dy, dstates ? dhn : NULL, dstates ? dcn : NULL, dx1_ref, NULL,
                        NULL, NULL, ws_ref);
  for (size_t i = 0; i < xn; i++)
    {
      dx0[i] = dx[i] - dx0[i];
      dx1_ref[i] *= 2.0f;
    }
  pf_assert_close ("lstm dx accumulated twice", dx0, dx1_ref, xn, 1e-3);
  /* dy NULL: only the state gradients drive it */
  float *dxn = g_new0 (float, xn), *dxn_ref = g_new0 (float, xn);
  pf_lstm_backward_ref (&d, x, w, NULL, dhn, dcn, dxn_ref, NULL, NULL, NULL, ws_ref);
  pf_lstm_backward_fast (&d, x, w, NULL, dhn, dcn, dxn, NULL, NULL, NULL, ws);
  pf_assert_close ("lstm dx (dy NULL)", dxn, dxn_ref, xn, 1e-3);

  g_free (what);
  g_free (x); g_free (w); g_free (h0); g_free (c0); g_free (ws); g_free (ws_ref);
  g_free (y); g_free (hn); g_free (cn); g_free (y_ref); g_free (hn_ref); g_free (cn_ref);
  g_free (dy); g_free (dhn); g_free (dcn); g_free (dx); g_free (dw); g_free (dh0); g_free (dc0);
  g_free (dx_ref); g_free (dw_ref); g_free (dh0_ref); g_free (dc0_ref);
  g_free (dw0); g_free (dx0); g_free (one); g_free (one_ref); g_free (dx1); g_free (dx1_ref);
  g_free (dxn); g_free (dxn_ref);
}

static void
test_lstm (void)
{
  for (int s = 0; s < 4; s++)
    {
      const bool states = s & 1, dstates = s & 2;
      check_lstm (3, 5, 7, 9, 1, states, dstates);
      check_lstm (2, 4, 6, 17, 2, states, dstates);
    }
  /* big enough for a team of threads (units split across them) */
  check_lstm (8, 6, 12, 72, 2, true, true);
  check_lstm (5, 3, 30, 64, 1, false, false);
  const int saved = pf_ops_fast_threads ();
  pf_ops_fast_set_threads (3);
  check_lstm (8, 6, 12, 72, 2, true, false);
  pf_ops_fast_set_threads (saved);
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
  g_test_add_func ("/ops-fast/layout", test_layout);
  g_test_add_func ("/ops-fast/dropout", test_dropout);
  g_test_add_func ("/ops-fast/lstm", test_lstm);
  int r = g_test_run ();
  g_rand_free (rng);
  return r;
}
