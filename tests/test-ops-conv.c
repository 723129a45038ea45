/* test-ops-conv.c — reference conv2d, conv3d, BatchNorm2d, linear, bmm and softmax.
 *
 * Three kinds of check per op:
 *  - parity with PyTorch: tests/ref/torch_ops_conv.py writes OP-NN.pfref bundles (inputs,
 *    outputs, and the gradients of sum(y * dy)); forward must agree to 1e-4, backward to 1e-3;
 *  - a finite-difference gradient check on a small random case, independent of PyTorch;
 *  - the contract of pf-ops.h: forward writes every output (outputs are poisoned with NaN
 *    first) and backward accumulates (a second call doubles the gradients). */
#include <glib.h>
#include <math.h>
#include <string.h>
#include "pf-ops.h"
#include "pf-test-util.h"

#define TOL_FWD 1e-4
#define TOL_BWD 1e-3

/* ---- reference bundles, produced once per run ------------------------------------------ */

static char *ref_dir;
static gboolean ref_tried;

/* The directory of bundles, or NULL after g_test_skip() when torch is missing. */
static const char *
ref_dir_or_skip (void)
{
  if (!ref_tried)
    {
      ref_tried = TRUE;
      ref_dir = pf_test_run_reference ("torch_ops_conv.py", NULL);
      return ref_dir;
    }
  if (!ref_dir)
    g_test_skip ("python3-torch is not installed: PyTorch parity not checked");
  return ref_dir;
}

/* Case number i of op, or NULL when the script wrote fewer cases. */
static PfRefBundle *
load_case (const char *dir, const char *op, int i)
{
  char *name = g_strdup_printf ("%s-%02d.pfref", op, i);
  char *path = g_build_filename (dir, name, NULL);
  PfRefBundle *b = g_file_test (path, G_FILE_TEST_EXISTS) ? pf_ref_load (path) : NULL;
  g_free (path);
  g_free (name);
  return b;
}

/* The tensor `name` of a bundle, checked to hold `count` values. */
static const float *
ref_data (const PfRefBundle *b, const char *name, size_t count)
{
  const PfRefTensor *t = pf_ref_get (b, name);
  if (t->count != count)
    g_error ("%s: '%s' has %zu values, expected %zu", b->path, name, t->count, count);
  return t->data;
}

static float *
poisoned (size_t n)
{
  float *p = g_new (float, n ? n : 1);
  for (size_t i = 0; i < n; i++)
    p[i] = NAN;
  return p;
}

static void
check (const PfRefBundle *b, const char *what, const float *out, const char *name, size_t n,
       double tol)
{
  char *label = g_strdup_printf ("%s %s", b->path, what);
  pf_assert_close (label, out, ref_data (b, name, n), n, tol);
  g_free (label);
}

/* ---- random data and the finite-difference check ---------------------------------------- */

static float *
randn (GRand *rng, size_t n, double scale)
{
  float *p = g_new (float, n ? n : 1);
  for (size_t i = 0; i < n; i++)
    {
      /* Box-Muller: a normal draw, never zero, so no element hides an unwritten output */
      double u1 = g_rand_double_range (rng, 1e-12, 1.0), u2 = g_rand_double (rng);
      p[i] = (float) (scale * sqrt (-2.0 * log (u1)) * cos (2.0 * G_PI * u2));
    }
  return p;
}

static double
dot_loss (const float *y, const float *r, size_t n)
{
  double s = 0.0;
  for (size_t i = 0; i < n; i++)
    s += (double) y[i] * r[i];
  return s;
}

typedef double (*LossFn) (gpointer ctx);

/* Checks the analytic gradient g of L against central differences along random directions v:
 *   L(t + h v) - L(t - h v)  ~=  <g, dt>,  dt = fl(t + h v) - fl(t - h v).
 * Using the perturbation actually stored in float32 (dt) instead of 2 h v removes the rounding
 * of the perturbed inputs from the comparison. What is left: the central-difference truncation,
 * O(h^3 L''') — zero for the (bi)linear ops, ~h^2 = 1e-4 relative for batchnorm and softmax
 * with O(1) data — and the float32 rounding of the outputs, ~6e-8 |y| per element, i.e. ~1e-6
 * of L, divided by the 2h = 2e-2 step: ~5e-5 relative. h = 1e-2 balances the two; a tolerance
 * of 2e-3 leaves an order of magnitude over both, while a wrong gradient (a missed tap, a
 * missing correction term, a transposed index) is off by O(1). The scale of the comparison is
 * |<g, dt>| or, when a direction happens to be nearly orthogonal to g, ||g|| ||dt|| / sqrt(n),
 * the typical size of the product, so an unlucky direction cannot make the test flaky. */
static void
fd_check (const char *what, LossFn loss, gpointer ctx, float *t, size_t n, const float *g,
          GRand *rng)
{
  const double h = 1e-2, tol = 2e-3;
  float *save = g_memdup2 (t, n * sizeof (float));
  float *v = randn (rng, n, 1.0);
  for (int dir = 0; dir < 3; dir++)
    {
      if (dir > 0)
        {
          g_free (v);
          v = randn (rng, n, 1.0);
        }
      double an = 0.0, gg = 0.0, dd = 0.0;
      for (size_t i = 0; i < n; i++)
        {
          const float tp = save[i] + (float) (h * v[i]), tm = save[i] - (float) (h * v[i]);
          const double dt = (double) tp - tm;
          an += g[i] * dt;
          gg += (double) g[i] * g[i];
          dd += dt * dt;
        }
      for (size_t i = 0; i < n; i++)
        t[i] = save[i] + (float) (h * v[i]);
      const double lp = loss (ctx);
      for (size_t i = 0; i < n; i++)
        t[i] = save[i] - (float) (h * v[i]);
      const double lm = loss (ctx);
      memcpy (t, save, n * sizeof (float));
      const double fd = lp - lm;
      const double scale = fmax (fabs (an), sqrt (gg * dd / n));
      g_test_message ("%s dir %d: fd %.6g analytic %.6g rel %.3g", what, dir, fd, an,
                      fabs (fd - an) / scale);
      if (!(scale > 0) || !(fabs (fd - an) <= tol * scale))
        g_error ("%s: finite difference %.8g vs analytic %.8g (rel %.3g, tol %.1g)", what, fd, an,
                 fabs (fd - an) / scale, tol);
    }
  g_free (v);
  g_free (save);
}

/* After a first backward call filled g1 (from zero), a second must give exactly 2 g1. */
static void
check_doubled (const char *what, const float *g2, const float *g1, size_t n)
{
  float *two = g_new (float, n);
  for (size_t i = 0; i < n; i++)
    two[i] = 2.0f * g1[i];
  char *label = g_strdup_printf ("%s accumulates", what);
  pf_assert_close (label, g2, two, n, 1e-6);
  g_free (label);
  g_free (two);
}

/* ---- conv2d ------------------------------------------------------------------------------ */

static void
test_conv2d_parity (void)
{
  const char *dir = ref_dir_or_skip ();
  if (!dir)
    return;
  int i = 0;
  for (PfRefBundle *b; (b = load_case (dir, "conv2d", i)); i++)
    {
      PfConv2dDesc d = {
        .n = pf_ref_int (b, "n"), .c_in = pf_ref_int (b, "c_in"), .h = pf_ref_int (b, "h"),
        .w = pf_ref_int (b, "w"), .c_out = pf_ref_int (b, "c_out"), .kh = pf_ref_int (b, "kh"),
        .kw = pf_ref_int (b, "kw"), .sh = pf_ref_int (b, "sh"), .sw = pf_ref_int (b, "sw"),
        .ph = pf_ref_int (b, "ph"), .pw = pf_ref_int (b, "pw"),
      };
      const size_t nx = (size_t) d.n * d.c_in * d.h * d.w;
      const size_t nw = (size_t) d.c_out * d.c_in * d.kh * d.kw;
      const size_t ny = (size_t) d.n * d.c_out * pf_conv2d_out_h (&d) * pf_conv2d_out_w (&d);
      const gboolean has_bias = pf_ref_find (b, "bias") != NULL;
      const float *x = ref_data (b, "x", nx), *w = ref_data (b, "weight", nw);
      const float *bias = has_bias ? ref_data (b, "bias", d.c_out) : NULL;

      float *y = poisoned (ny);
      pf_conv2d_forward_ref (&d, x, w, bias, y);
      check (b, "y", y, "y", ny, TOL_FWD);

      float *dx = g_new0 (float, nx), *dw = g_new0 (float, nw), *db = g_new0 (float, d.c_out);
      pf_conv2d_backward_ref (&d, x, w, ref_data (b, "dy", ny), dx, dw, has_bias ? db : NULL);
      check (b, "dx", dx, "dx", nx, TOL_BWD);
      check (b, "dweight", dw, "dweight", nw, TOL_BWD);
      if (has_bias)
        check (b, "dbias", db, "dbias", d.c_out, TOL_BWD);
      else
        for (int c = 0; c < d.c_out; c++)
          g_assert_cmpfloat (db[c], ==, 0.0f); /* NULL db: nothing written anywhere */
      g_free (y); g_free (dx); g_free (dw); g_free (db);
      pf_ref_free (b);
    }
  g_assert_cmpint (i, >=, 5);
}

typedef struct {
  PfConv2dDesc d;
  float *x, *w, *b, *y, *r;
  size_t ny;
} Conv2dCtx;

static double
conv2d_loss (gpointer p)
{
  Conv2dCtx *c = p;
  pf_conv2d_forward_ref (&c->d, c->x, c->w, c->b, c->y);
  return dot_loss (c->y, c->r, c->ny);
}

static void
test_conv2d_gradcheck (void)
{
  GRand *rng = g_rand_new_with_seed (21);
  /* stride 2 and padding 1 with odd sizes: taps that skip inputs and fall in the padding */
  Conv2dCtx c = { .d = { .n = 2, .c_in = 3, .h = 7, .w = 6, .c_out = 2, .kh = 3, .kw = 3,
                         .sh = 2, .sw = 1, .ph = 1, .pw = 2 } };
  const size_t nx = (size_t) c.d.n * c.d.c_in * c.d.h * c.d.w;
  const size_t nw = (size_t) c.d.c_out * c.d.c_in * c.d.kh * c.d.kw;
  c.ny = (size_t) c.d.n * c.d.c_out * pf_conv2d_out_h (&c.d) * pf_conv2d_out_w (&c.d);
  c.x = randn (rng, nx, 1.0); c.w = randn (rng, nw, 0.3); c.b = randn (rng, c.d.c_out, 1.0);
  c.r = randn (rng, c.ny, 1.0); c.y = poisoned (c.ny);

  float *dx = g_new0 (float, nx), *dw = g_new0 (float, nw), *db = g_new0 (float, c.d.c_out);
  pf_conv2d_backward_ref (&c.d, c.x, c.w, c.r, dx, dw, db);
  fd_check ("conv2d dx", conv2d_loss, &c, c.x, nx, dx, rng);
  fd_check ("conv2d dw", conv2d_loss, &c, c.w, nw, dw, rng);
  fd_check ("conv2d db", conv2d_loss, &c, c.b, c.d.c_out, db, rng);

  float *dx2 = g_memdup2 (dx, nx * 4), *dw2 = g_memdup2 (dw, nw * 4), *db2 = g_memdup2 (db, c.d.c_out * 4);
  pf_conv2d_backward_ref (&c.d, c.x, c.w, c.r, dx2, dw2, db2);
  check_doubled ("conv2d dx", dx2, dx, nx);
  check_doubled ("conv2d dw", dw2, dw, nw);
  check_doubled ("conv2d db", db2, db, c.d.c_out);

  g_free (dx); g_free (dw); g_free (db); g_free (dx2); g_free (dw2); g_free (db2);
  g_free (c.x); g_free (c.w); g_free (c.b); g_free (c.r); g_free (c.y);
  g_rand_free (rng);
}

/* ---- conv3d ------------------------------------------------------------------------------ */

static void
test_conv3d_parity (void)
{
  const char *dir = ref_dir_or_skip ();
  if (!dir)
    return;
  int i = 0;
  for (PfRefBundle *b; (b = load_case (dir, "conv3d", i)); i++)
    {
      PfConv3dDesc d = {
        .n = pf_ref_int (b, "n"), .c_in = pf_ref_int (b, "c_in"), .d = pf_ref_int (b, "d"),
        .h = pf_ref_int (b, "h"), .w = pf_ref_int (b, "w"), .c_out = pf_ref_int (b, "c_out"),
        .kd = pf_ref_int (b, "kd"), .kh = pf_ref_int (b, "kh"), .kw = pf_ref_int (b, "kw"),
        .sd = pf_ref_int (b, "sd"), .sh = pf_ref_int (b, "sh"), .sw = pf_ref_int (b, "sw"),
        .pd = pf_ref_int (b, "pd"), .ph = pf_ref_int (b, "ph"), .pw = pf_ref_int (b, "pw"),
      };
      const size_t nx = (size_t) d.n * d.c_in * d.d * d.h * d.w;
      const size_t nw = (size_t) d.c_out * d.c_in * d.kd * d.kh * d.kw;
      const size_t ny = (size_t) d.n * d.c_out * pf_conv3d_out_d (&d) * pf_conv3d_out_h (&d)
                        * pf_conv3d_out_w (&d);
      const gboolean has_bias = pf_ref_find (b, "bias") != NULL;
      const float *x = ref_data (b, "x", nx), *w = ref_data (b, "weight", nw);
      const float *bias = has_bias ? ref_data (b, "bias", d.c_out) : NULL;

      float *y = poisoned (ny);
      pf_conv3d_forward_ref (&d, x, w, bias, y);
      check (b, "y", y, "y", ny, TOL_FWD);

      float *dx = g_new0 (float, nx), *dw = g_new0 (float, nw), *db = g_new0 (float, d.c_out);
      pf_conv3d_backward_ref (&d, x, w, ref_data (b, "dy", ny), dx, dw, has_bias ? db : NULL);
      check (b, "dx", dx, "dx", nx, TOL_BWD);
      check (b, "dweight", dw, "dweight", nw, TOL_BWD);
      if (has_bias)
        check (b, "dbias", db, "dbias", d.c_out, TOL_BWD);
      g_free (y); g_free (dx); g_free (dw); g_free (db);
      pf_ref_free (b);
    }
  g_assert_cmpint (i, >=, 4);
}

typedef struct {
  PfConv3dDesc d;
  float *x, *w, *b, *y, *r;
  size_t ny;
} Conv3dCtx;

static double
conv3d_loss (gpointer p)
{
  Conv3dCtx *c = p;
  pf_conv3d_forward_ref (&c->d, c->x, c->w, c->b, c->y);
  return dot_loss (c->y, c->r, c->ny);
}

static void
test_conv3d_gradcheck (void)
{
  GRand *rng = g_rand_new_with_seed (31);
  Conv3dCtx c = { .d = { .n = 2, .c_in = 2, .d = 4, .h = 5, .w = 6, .c_out = 3, .kd = 2,
                         .kh = 3, .kw = 3, .sd = 2, .sh = 1, .sw = 2, .pd = 1, .ph = 1, .pw = 0 } };
  const size_t nx = (size_t) c.d.n * c.d.c_in * c.d.d * c.d.h * c.d.w;
  const size_t nw = (size_t) c.d.c_out * c.d.c_in * c.d.kd * c.d.kh * c.d.kw;
  c.ny = (size_t) c.d.n * c.d.c_out * pf_conv3d_out_d (&c.d) * pf_conv3d_out_h (&c.d)
         * pf_conv3d_out_w (&c.d);
  c.x = randn (rng, nx, 1.0); c.w = randn (rng, nw, 0.3); c.b = randn (rng, c.d.c_out, 1.0);
  c.r = randn (rng, c.ny, 1.0); c.y = poisoned (c.ny);

  float *dx = g_new0 (float, nx), *dw = g_new0 (float, nw), *db = g_new0 (float, c.d.c_out);
  pf_conv3d_backward_ref (&c.d, c.x, c.w, c.r, dx, dw, db);
  fd_check ("conv3d dx", conv3d_loss, &c, c.x, nx, dx, rng);
  fd_check ("conv3d dw", conv3d_loss, &c, c.w, nw, dw, rng);
  fd_check ("conv3d db", conv3d_loss, &c, c.b, c.d.c_out, db, rng);

  float *dx2 = g_memdup2 (dx, nx * 4), *dw2 = g_memdup2 (dw, nw * 4), *db2 = g_memdup2 (db, c.d.c_out * 4);
  pf_conv3d_backward_ref (&c.d, c.x, c.w, c.r, dx2, dw2, db2);
  check_doubled ("conv3d dx", dx2, dx, nx);
  check_doubled ("conv3d dw", dw2, dw, nw);
  check_doubled ("conv3d db", db2, db, c.d.c_out);

  g_free (dx); g_free (dw); g_free (db); g_free (dx2); g_free (dw2); g_free (db2);
  g_free (c.x); g_free (c.w); g_free (c.b); g_free (c.r); g_free (c.y);
  g_rand_free (rng);
}

/* ---- batchnorm --------------------------------------------------------------------------- */

static void
test_batchnorm_parity (void)
{
  const char *dir = ref_dir_or_skip ();
  if (!dir)
    return;
  int i = 0;
  for (PfRefBundle *b; (b = load_case (dir, "batchnorm", i)); i++)
    {
      PfBatchNormDesc d = { .n = pf_ref_int (b, "n"), .c = pf_ref_int (b, "c"),
                            .hw = pf_ref_int (b, "hw"), .eps = pf_ref_scalar (b, "eps"),
                            .momentum = pf_ref_scalar (b, "momentum") };
      const size_t nx = (size_t) d.n * d.c * d.hw, nc = d.c;
      const float *x = ref_data (b, "x", nx);
      const float *gamma = ref_data (b, "gamma", nc), *beta = ref_data (b, "beta", nc);

      /* training: batch statistics, running statistics updated in place */
      float *y = poisoned (nx), *mean = poisoned (nc), *invstd = poisoned (nc);
      float *rm = g_memdup2 (ref_data (b, "running_mean_in", nc), nc * 4);
      float *rv = g_memdup2 (ref_data (b, "running_var_in", nc), nc * 4);
      pf_batchnorm_forward_train_ref (&d, x, gamma, beta, y, rm, rv, mean, invstd);
      check (b, "train y", y, "y", nx, TOL_FWD);
      check (b, "running_mean", rm, "running_mean", nc, TOL_FWD);
      check (b, "running_var", rv, "running_var", nc, TOL_FWD);
      check (b, "save_mean", mean, "save_mean", nc, TOL_FWD);
      check (b, "save_invstd", invstd, "save_invstd", nc, TOL_FWD);

      float *dx = g_new0 (float, nx), *dg = g_new0 (float, nc), *dbt = g_new0 (float, nc);
      pf_batchnorm_backward_ref (&d, x, gamma, mean, invstd, ref_data (b, "dy", nx), dx, dg, dbt);
      check (b, "dx", dx, "dx", nx, TOL_BWD);
      check (b, "dgamma", dg, "dgamma", nc, TOL_BWD);
      check (b, "dbeta", dbt, "dbeta", nc, TOL_BWD);

      /* inference: the running statistics as they were before the training step */
      float *yi = poisoned (nx);
      pf_batchnorm_forward_infer_ref (&d, x, gamma, beta, ref_data (b, "running_mean_in", nc),
                                      ref_data (b, "running_var_in", nc), yi);
      check (b, "infer y", yi, "y_infer", nx, TOL_FWD);

      g_free (y); g_free (mean); g_free (invstd); g_free (rm); g_free (rv);
      g_free (dx); g_free (dg); g_free (dbt); g_free (yi);
      pf_ref_free (b);
    }
  g_assert_cmpint (i, >=, 4);
}

typedef struct {
  PfBatchNormDesc d;
  float *x, *gamma, *beta, *y, *r, *rm, *rv, *mean, *invstd;
  size_t nx;
} BnCtx;

static double
bn_loss (gpointer p)
{
  BnCtx *c = p;
  pf_batchnorm_forward_train_ref (&c->d, c->x, c->gamma, c->beta, c->y, c->rm, c->rv, c->mean,
                                  c->invstd);
  return dot_loss (c->y, c->r, c->nx);
}

static void
test_batchnorm_gradcheck (void)
{
  GRand *rng = g_rand_new_with_seed (41);
  BnCtx c = { .d = { .n = 3, .c = 2, .hw = 5, .eps = 1e-5f, .momentum = 0.1f } };
  const size_t nc = c.d.c;
  c.nx = (size_t) c.d.n * c.d.c * c.d.hw;
  c.x = randn (rng, c.nx, 1.0); c.gamma = randn (rng, nc, 1.0); c.beta = randn (rng, nc, 1.0);
  c.r = randn (rng, c.nx, 1.0); c.y = poisoned (c.nx);
  c.rm = g_new0 (float, nc); c.rv = g_new0 (float, nc);
  c.mean = poisoned (nc); c.invstd = poisoned (nc);

  bn_loss (&c); /* fills mean and invstd for the backward pass */
  float *save_mean = g_memdup2 (c.mean, nc * 4), *save_invstd = g_memdup2 (c.invstd, nc * 4);
  float *dx = g_new0 (float, c.nx), *dg = g_new0 (float, nc), *dbt = g_new0 (float, nc);
  pf_batchnorm_backward_ref (&c.d, c.x, c.gamma, save_mean, save_invstd, c.r, dx, dg, dbt);
  fd_check ("batchnorm dx", bn_loss, &c, c.x, c.nx, dx, rng);
  fd_check ("batchnorm dgamma", bn_loss, &c, c.gamma, nc, dg, rng);
  fd_check ("batchnorm dbeta", bn_loss, &c, c.beta, nc, dbt, rng);

  float *dx2 = g_memdup2 (dx, c.nx * 4), *dg2 = g_memdup2 (dg, nc * 4), *db2 = g_memdup2 (dbt, nc * 4);
  pf_batchnorm_backward_ref (&c.d, c.x, c.gamma, save_mean, save_invstd, c.r, dx2, dg2, db2);
  check_doubled ("batchnorm dx", dx2, dx, c.nx);
  check_doubled ("batchnorm dgamma", dg2, dg, nc);
  check_doubled ("batchnorm dbeta", db2, dbt, nc);

  /* NULL gradients are skipped: only dx is produced here */
  float *dx3 = g_new0 (float, c.nx);
  pf_batchnorm_backward_ref (&c.d, c.x, c.gamma, save_mean, save_invstd, c.r, dx3, NULL, NULL);
  pf_assert_close ("batchnorm dx alone", dx3, dx, c.nx, 1e-6);

  g_free (dx); g_free (dg); g_free (dbt); g_free (dx2); g_free (dg2); g_free (db2); g_free (dx3);
  g_free (save_mean); g_free (save_invstd);
  g_free (c.x); g_free (c.gamma); g_free (c.beta); g_free (c.r); g_free (c.y);
  g_free (c.rm); g_free (c.rv); g_free (c.mean); g_free (c.invstd);
  g_rand_free (rng);
}

/* ---- linear ------------------------------------------------------------------------------ */

static void
test_linear_parity (void)
{
  const char *dir = ref_dir_or_skip ();
  if (!dir)
    return;
  int i = 0;
  for (PfRefBundle *b; (b = load_case (dir, "linear", i)); i++)
    {
      const int m = pf_ref_int (b, "m"), in = pf_ref_int (b, "n_in"), out = pf_ref_int (b, "n_out");
      const size_t nx = (size_t) m * in, nw = (size_t) out * in, ny = (size_t) m * out;
      const gboolean has_bias = pf_ref_find (b, "bias") != NULL;
      const float *x = ref_data (b, "x", nx), *w = ref_data (b, "weight", nw);
      float *y = poisoned (ny);
      pf_linear_forward_ref (m, in, out, x, w, has_bias ? ref_data (b, "bias", out) : NULL, y);
      check (b, "y", y, "y", ny, TOL_FWD);

      float *dx = g_new0 (float, nx), *dw = g_new0 (float, nw), *db = g_new0 (float, out);
      pf_linear_backward_ref (m, in, out, x, w, ref_data (b, "dy", ny), dx, dw, has_bias ? db : NULL);
      check (b, "dx", dx, "dx", nx, TOL_BWD);
      check (b, "dweight", dw, "dweight", nw, TOL_BWD);
      if (has_bias)
        check (b, "dbias", db, "dbias", out, TOL_BWD);
      g_free (y); g_free (dx); g_free (dw); g_free (db);
      pf_ref_free (b);
    }
  g_assert_cmpint (i, >=, 3);
}

typedef struct {
  int m, in, out;
  float *x, *w, *b, *y, *r;
} LinearCtx;

static double
linear_loss (gpointer p)
{
  LinearCtx *c = p;
  pf_linear_forward_ref (c->m, c->in, c->out, c->x, c->w, c->b, c->y);
  return dot_loss (c->y, c->r, (size_t) c->m * c->out);
}

static void
test_linear_gradcheck (void)
{
  GRand *rng = g_rand_new_with_seed (51);
  LinearCtx c = { .m = 5, .in = 7, .out = 3 };
  const size_t nx = (size_t) c.m * c.in, nw = (size_t) c.out * c.in, ny = (size_t) c.m * c.out;
  c.x = randn (rng, nx, 1.0); c.w = randn (rng, nw, 0.5); c.b = randn (rng, c.out, 1.0);
  c.r = randn (rng, ny, 1.0); c.y = poisoned (ny);

  float *dx = g_new0 (float, nx), *dw = g_new0 (float, nw), *db = g_new0 (float, c.out);
  pf_linear_backward_ref (c.m, c.in, c.out, c.x, c.w, c.r, dx, dw, db);
  fd_check ("linear dx", linear_loss, &c, c.x, nx, dx, rng);
  fd_check ("linear dw", linear_loss, &c, c.w, nw, dw, rng);
  fd_check ("linear db", linear_loss, &c, c.b, c.out, db, rng);

  float *dx2 = g_memdup2 (dx, nx * 4), *dw2 = g_memdup2 (dw, nw * 4), *db2 = g_memdup2 (db, c.out * 4);
  pf_linear_backward_ref (c.m, c.in, c.out, c.x, c.w, c.r, dx2, dw2, db2);
  check_doubled ("linear dx", dx2, dx, nx);
  check_doubled ("linear dw", dw2, dw, nw);
  check_doubled ("linear db", db2, db, c.out);

  g_free (dx); g_free (dw); g_free (db); g_free (dx2); g_free (dw2); g_free (db2);
  g_free (c.x); g_free (c.w); g_free (c.b); g_free (c.r); g_free (c.y);
  g_rand_free (rng);
}

/* ---- bmm --------------------------------------------------------------------------------- */

static void
test_bmm_parity (void)
{
  const char *dir = ref_dir_or_skip ();
  if (!dir)
    return;
  int i = 0, seen[4] = { 0 };
  for (PfRefBundle *b; (b = load_case (dir, "bmm", i)); i++)
    {
      const int batch = pf_ref_int (b, "batch"), m = pf_ref_int (b, "m"), n = pf_ref_int (b, "n");
      const int k = pf_ref_int (b, "k");
      const bool ta = pf_ref_int (b, "trans_a"), tb = pf_ref_int (b, "trans_b");
      seen[ta * 2 + tb]++;
      const size_t na = (size_t) batch * m * k, nb = (size_t) batch * k * n;
      const size_t nc = (size_t) batch * m * n;
      const float *a = ref_data (b, "a", na), *bm = ref_data (b, "b", nb);
      float *c = poisoned (nc);
      pf_bmm_forward_ref (batch, m, n, k, ta, tb, a, bm, c);
      check (b, "c", c, "c", nc, TOL_FWD);

      float *da = g_new0 (float, na), *db = g_new0 (float, nb);
      pf_bmm_backward_ref (batch, m, n, k, ta, tb, a, bm, ref_data (b, "dc", nc), da, db);
      check (b, "da", da, "da", na, TOL_BWD);
      check (b, "db", db, "db", nb, TOL_BWD);
      g_free (c); g_free (da); g_free (db);
      pf_ref_free (b);
    }
  for (int t = 0; t < 4; t++)
    g_assert_cmpint (seen[t], >=, 1); /* all four transpose combinations */
}

typedef struct {
  int batch, m, n, k;
  bool ta, tb;
  float *a, *b, *c, *r;
} BmmCtx;

static double
bmm_loss (gpointer p)
{
  BmmCtx *c = p;
  pf_bmm_forward_ref (c->batch, c->m, c->n, c->k, c->ta, c->tb, c->a, c->b, c->c);
  return dot_loss (c->c, c->r, (size_t) c->batch * c->m * c->n);
}

static void
test_bmm_gradcheck (void)
{
  GRand *rng = g_rand_new_with_seed (61);
  for (int t = 0; t < 4; t++)
    {
      /* m, n, k all different so a swapped index cannot go unnoticed */
      BmmCtx c = { .batch = 2, .m = 3, .n = 4, .k = 5, .ta = t & 2, .tb = t & 1 };
      const size_t na = (size_t) c.batch * c.m * c.k, nb = (size_t) c.batch * c.k * c.n;
      const size_t nc = (size_t) c.batch * c.m * c.n;
      c.a = randn (rng, na, 1.0); c.b = randn (rng, nb, 1.0);
      c.r = randn (rng, nc, 1.0); c.c = poisoned (nc);
      char *wa = g_strdup_printf ("bmm ta=%d tb=%d da", c.ta, c.tb);
      char *wb = g_strdup_printf ("bmm ta=%d tb=%d db", c.ta, c.tb);

      float *da = g_new0 (float, na), *db = g_new0 (float, nb);
      pf_bmm_backward_ref (c.batch, c.m, c.n, c.k, c.ta, c.tb, c.a, c.b, c.r, da, db);
      fd_check (wa, bmm_loss, &c, c.a, na, da, rng);
      fd_check (wb, bmm_loss, &c, c.b, nb, db, rng);

      float *da2 = g_memdup2 (da, na * 4), *db2 = g_memdup2 (db, nb * 4);
      pf_bmm_backward_ref (c.batch, c.m, c.n, c.k, c.ta, c.tb, c.a, c.b, c.r, da2, db2);
      check_doubled (wa, da2, da, na);
      check_doubled (wb, db2, db, nb);

      g_free (wa); g_free (wb);
      g_free (da); g_free (db); g_free (da2); g_free (db2);
      g_free (c.a); g_free (c.b); g_free (c.r); g_free (c.c);
    }
  g_rand_free (rng);
}

/* ---- softmax ----------------------------------------------------------------------------- */

static void
test_softmax_parity (void)
{
  const char *dir = ref_dir_or_skip ();
  if (!dir)
    return;
  int i = 0;
  for (PfRefBundle *b; (b = load_case (dir, "softmax", i)); i++)
    {
      const int rows = pf_ref_int (b, "rows"), cols = pf_ref_int (b, "cols");
      const float scale = pf_ref_scalar (b, "scale");
      const size_t n = (size_t) rows * cols;
      float *y = poisoned (n);
      pf_softmax_forward_ref (rows, cols, scale, ref_data (b, "x", n), y);
      check (b, "y", y, "y", n, TOL_FWD);

      /* backward from our own forward output, as the graph would call it */
      float *dx = g_new0 (float, n);
      pf_softmax_backward_ref (rows, cols, scale, y, ref_data (b, "dy", n), dx);
      check (b, "dx", dx, "dx", n, TOL_BWD);
      g_free (y); g_free (dx);
      pf_ref_free (b);
    }
  g_assert_cmpint (i, >=, 3);
}

typedef struct {
  int rows, cols;
  float scale;
  float *x, *y, *r;
} SoftmaxCtx;

static double
softmax_loss (gpointer p)
{
  SoftmaxCtx *c = p;
  pf_softmax_forward_ref (c->rows, c->cols, c->scale, c->x, c->y);
  return dot_loss (c->y, c->r, (size_t) c->rows * c->cols);
}

static void
test_softmax_gradcheck (void)
{
  GRand *rng = g_rand_new_with_seed (71);
  SoftmaxCtx c = { .rows = 4, .cols = 9, .scale = 0.35f };
  const size_t n = (size_t) c.rows * c.cols;
  c.x = randn (rng, n, 1.0); c.r = randn (rng, n, 1.0); c.y = poisoned (n);

  softmax_loss (&c);
  float *y = g_memdup2 (c.y, n * 4);
  float *dx = g_new0 (float, n);
  pf_softmax_backward_ref (c.rows, c.cols, c.scale, y, c.r, dx);
  fd_check ("softmax dx", softmax_loss, &c, c.x, n, dx, rng);

  float *dx2 = g_memdup2 (dx, n * 4);
  pf_softmax_backward_ref (c.rows, c.cols, c.scale, y, c.r, dx2);
  check_doubled ("softmax dx", dx2, dx, n);

  g_free (y); g_free (dx); g_free (dx2);
  g_free (c.x); g_free (c.r); g_free (c.y);
  g_rand_free (rng);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/ops/conv2d/parity", test_conv2d_parity);
  g_test_add_func ("/ops/conv2d/gradcheck", test_conv2d_gradcheck);
  g_test_add_func ("/ops/conv3d/parity", test_conv3d_parity);
  g_test_add_func ("/ops/conv3d/gradcheck", test_conv3d_gradcheck);
  g_test_add_func ("/ops/batchnorm/parity", test_batchnorm_parity);
  g_test_add_func ("/ops/batchnorm/gradcheck", test_batchnorm_gradcheck);
  g_test_add_func ("/ops/linear/parity", test_linear_parity);
  g_test_add_func ("/ops/linear/gradcheck", test_linear_gradcheck);
  g_test_add_func ("/ops/bmm/parity", test_bmm_parity);
  g_test_add_func ("/ops/bmm/gradcheck", test_bmm_gradcheck);
  g_test_add_func ("/ops/softmax/parity", test_softmax_parity);
  g_test_add_func ("/ops/softmax/gradcheck", test_softmax_gradcheck);
  int rc = g_test_run ();
  if (ref_dir)
    pf_test_rm_dir (ref_dir);
  g_free (ref_dir);
  return rc;
}
