/* test-ops-misc.c — reference elementwise, resampling, channel and layout ops (core/ops):
 * PyTorch parity (bundles from tests/ref/torch_ops_misc.py), finite-difference gradient checks,
 * accumulation of backward passes, and the statistics and determinism of the dropout mask. */
#include "pf-ops.h"
#include "pf-test-util.h"

#define TOL_FWD 1e-4
#define TOL_BWD 1e-3

/* ------------------------------------------------------------------------------------------ */
/* helpers */

static float *
poisoned (size_t n)
{
  /* NaN everywhere: an element the op forgets to write makes the relative error infinite. */
  float *p = g_new (float, n ? n : 1);
  for (size_t i = 0; i < n; i++)
    p[i] = NAN;
  return p;
}

static int *
ints_of (const PfRefTensor *t)
{
  int *v = g_new (int, t->count ? t->count : 1);
  for (size_t i = 0; i < t->count; i++)
    v[i] = (int) lrintf (t->data[i]);
  return v;
}

static const float *
get_n (const PfRefBundle *b, const char *name, size_t n)
{
  const PfRefTensor *t = pf_ref_get (b, name);
  if (t->count != n)
    g_error ("%s: '%s' has %zu elements, expected %zu", b->path, name, t->count, n);
  return t->data;
}

static float
uniform (GRand *r, double lo, double hi)
{
  return (float) g_rand_double_range (r, lo, hi);
}

/* Values of magnitude in [lo, hi] with a random sign: keeps piecewise-linear ops off their kinks. */
static void
fill_away_from_zero (GRand *r, float *x, size_t n, double lo, double hi)
{
  for (size_t i = 0; i < n; i++)
    x[i] = uniform (r, lo, hi) * (g_rand_boolean (r) ? 1.0f : -1.0f);
}

static void
fill_uniform (GRand *r, float *x, size_t n, double lo, double hi)
{
  for (size_t i = 0; i < n; i++)
    x[i] = uniform (r, lo, hi);
}

/* The reference bundles are made once per run (one python start) and shared by the tests. */
static char *ref_dir;
static gboolean ref_tried;

static const char *
ref_dir_get (void)
{
  if (!ref_tried)
    {
      ref_tried = TRUE;
      ref_dir = pf_test_run_reference ("torch_ops_misc.py", NULL); /* skips when no torch */
      return ref_dir;
    }
  if (!ref_dir)
    g_test_skip ("python3-torch is not installed: PyTorch parity not checked");
  return ref_dir;
}

/* Runs check() on every bundle OP_<i>.pfref; at least two cases must exist. */
static void
for_each_case (const char *op, void (*check) (const PfRefBundle *b))
{
  const char *dir = ref_dir_get ();
  if (!dir)
    return;
  int found = 0;
  for (int i = 0; i < 64; i++)
    {
      char *name = g_strdup_printf ("%s_%d.pfref", op, i);
      char *path = g_build_filename (dir, name, NULL);
      if (g_file_test (path, G_FILE_TEST_EXISTS))
        {
          g_test_message ("case %s", name);
          PfRefBundle *b = pf_ref_load (path);
          check (b);
          pf_ref_free (b);
          found++;
        }
      g_free (path);
      g_free (name);
    }
  g_assert_cmpint (found, >=, 2);
}

/* ------------------------------------------------------------------------------------------ */
/* finite differences
 *
 * L(x) = sum(y(x) * r) in double. For random directions v (uniform in [-1, 1] for each input)
 * the analytic <grad, v> must match (L(x + hv) - L(x - hv)) / 2h.
 * h = 1e-2: the central difference has truncation error h^2/6 |L'''| ~ 2e-5 of the scale for
 * the smooth op (sigmoid, |x| <~ 3) and none for the others, which are linear or bilinear in
 * their inputs, or piecewise linear with inputs kept farther than h from every kink. Rounding:
 * float32 outputs and perturbed inputs carry a relative error ~6e-8, i.e. ~6e-8 / 2h = 3e-6
 * relative to the scale after the division by 2h. The scale is sum |g_i v_i| (it does not cancel
 * the way <g, v> can), and tol 1e-3 of it leaves ~50x margin while a wrong weight or a missing
 * term shows up at the percent level. */

#define FD_H 1e-2
#define FD_TOL 1e-3
#define FD_DIRS 3
#define FD_MAX_IN 4

typedef struct {
  const char *name;
  int n_in;
  size_t in_size[FD_MAX_IN];
  size_t out_size;
  void (*forward) (void *ctx, float *const *in, float *out);
  /* accumulates into din[i]; din[i] may be NULL */
  void (*backward) (void *ctx, float *const *in, const float *out, const float *dy, float *const *din);
  void *ctx;
} FdOp;

static double
fd_loss (const FdOp *op, float *const *in, const float *r, float *y)
{
  op->forward (op->ctx, in, y);
  double l = 0.0;
  for (size_t i = 0; i < op->out_size; i++)
    l += (double) y[i] * r[i];
  return l;
}

/* in[] holds the point to check (the caller chose it away from kinks); it is restored. */
static void
fd_check (const FdOp *op, float *const *in, GRand *rng)
{
  float *r = g_new (float, op->out_size);
  float *y = poisoned (op->out_size);
  fill_uniform (rng, r, op->out_size, -1, 1);
  op->forward (op->ctx, in, y);

  float *g[FD_MAX_IN], *g2[FD_MAX_IN], *x0[FD_MAX_IN], *v[FD_MAX_IN];
  for (int i = 0; i < op->n_in; i++)
    {
      g[i] = g_new0 (float, op->in_size[i]);
      x0[i] = g_memdup2 (in[i], op->in_size[i] * sizeof (float));
      v[i] = g_new (float, op->in_size[i]);
    }
  op->backward (op->ctx, in, y, r, g);

  /* backward accumulates: a second call on the same buffers doubles them */
  for (int i = 0; i < op->n_in; i++)
    g2[i] = g_memdup2 (g[i], op->in_size[i] * sizeof (float));
  op->backward (op->ctx, in, y, r, g2);
  for (int i = 0; i < op->n_in; i++)
    {
      float *twice = g_new (float, op->in_size[i]);
      for (size_t j = 0; j < op->in_size[i]; j++)
        twice[j] = 2.0f * g[i][j];
      char *what = g_strdup_printf ("%s: backward twice = 2x (input %d)", op->name, i);
      pf_assert_close (what, g2[i], twice, op->in_size[i], 1e-6);
      g_free (what);
      g_free (twice);
    }

  /* a NULL gradient is skipped and does not change the others */
  if (op->n_in > 1)
    {
      float *part[FD_MAX_IN] = { NULL };
      for (int i = 1; i < op->n_in; i++)
        part[i] = g_new0 (float, op->in_size[i]);
      op->backward (op->ctx, in, y, r, part);
      for (int i = 1; i < op->n_in; i++)
        {
          char *what = g_strdup_printf ("%s: NULL gradient 0 leaves gradient %d", op->name, i);
          pf_assert_close (what, part[i], g[i], op->in_size[i], 1e-6);
          g_free (what);
          g_free (part[i]);
        }
    }

  for (int dir = 0; dir < FD_DIRS; dir++)
    {
      double an = 0.0, scale = 0.0;
      for (int i = 0; i < op->n_in; i++)
        for (size_t j = 0; j < op->in_size[i]; j++)
          {
            v[i][j] = uniform (rng, -1, 1);
            an += (double) g[i][j] * v[i][j];
            scale += fabs ((double) g[i][j] * v[i][j]);
          }
      for (int i = 0; i < op->n_in; i++)
        for (size_t j = 0; j < op->in_size[i]; j++)
          in[i][j] = x0[i][j] + (float) FD_H * v[i][j];
      double lp = fd_loss (op, in, r, y);
      for (int i = 0; i < op->n_in; i++)
        for (size_t j = 0; j < op->in_size[i]; j++)
          in[i][j] = x0[i][j] - (float) FD_H * v[i][j];
      double lm = fd_loss (op, in, r, y);
      for (int i = 0; i < op->n_in; i++)
        memcpy (in[i], x0[i], op->in_size[i] * sizeof (float));
      double fd = (lp - lm) / (2.0 * FD_H);
      g_test_message ("%s: <g,v> = %.7g, central difference %.7g, scale %.4g", op->name, an, fd, scale);
      g_assert_cmpfloat (scale, >, 0.0);
      if (!(fabs (fd - an) <= FD_TOL * scale))
        g_error ("%s: finite difference %.7g vs analytic %.7g (scale %.4g)", op->name, fd, an, scale);
    }

  for (int i = 0; i < op->n_in; i++)
    {
      g_free (g[i]);
      g_free (g2[i]);
      g_free (x0[i]);
      g_free (v[i]);
    }
  g_free (r);
  g_free (y);
}

/* Allocates the inputs of op (filled by the caller), runs fd_check, frees them. */
typedef void (*FdFill) (GRand *rng, const FdOp *op, float *const *in);

static void
fd_run (const FdOp *op, FdFill fill, guint32 seed)
{
  GRand *rng = g_rand_new_with_seed (seed);
  float *in[FD_MAX_IN] = { NULL };
  for (int i = 0; i < op->n_in; i++)
    in[i] = g_new (float, op->in_size[i]);
  fill (rng, op, in);
  fd_check (op, in, rng);
  for (int i = 0; i < op->n_in; i++)
    g_free (in[i]);
  g_rand_free (rng);
}

static void
fill_normalish (GRand *rng, const FdOp *op, float *const *in)
{
  for (int i = 0; i < op->n_in; i++)
    fill_uniform (rng, in[i], op->in_size[i], -2, 2);
}

static void
fill_off_kinks (GRand *rng, const FdOp *op, float *const *in)
{
  /* |x| >= 0.1 > h |v|: no element crosses zero during the difference */
  for (int i = 0; i < op->n_in; i++)
    fill_away_from_zero (rng, in[i], op->in_size[i], 0.1, 2.0);
}

/* ------------------------------------------------------------------------------------------ */
/* elementwise */

/* ReLU and sigmoid: y = f(x) and a backward that reads y (not x). */
typedef struct {
  const char *y_name, *dx_name;
  void (*forward) (size_t n, const float *x, float *y);
  void (*backward) (size_t n, const float *y, const float *dy, float *dx);
} UnaryOp;

static const UnaryOp relu_op = { "relu y", "relu dx", pf_relu_forward_ref, pf_relu_backward_ref };
static const UnaryOp sigmoid_op = { "sigmoid y", "sigmoid dx", pf_sigmoid_forward_ref,
                                    pf_sigmoid_backward_ref };

static void
check_unary (const PfRefBundle *b, const UnaryOp *op)
{
  size_t n = pf_ref_int (b, "n");
  const float *x = get_n (b, "x", n), *dy = get_n (b, "dy", n);
  float *y = poisoned (n), *dx = g_new0 (float, n);
  op->forward (n, x, y);
  pf_assert_close (op->y_name, y, get_n (b, "y", n), n, TOL_FWD);
  op->backward (n, y, dy, dx);
  pf_assert_close (op->dx_name, dx, get_n (b, "dx", n), n, TOL_BWD);
  g_free (y);
  g_free (dx);
}

static void check_relu (const PfRefBundle *b) { check_unary (b, &relu_op); }
static void check_sigmoid (const PfRefBundle *b) { check_unary (b, &sigmoid_op); }

static void
check_leaky_relu (const PfRefBundle *b)
{
  size_t n = pf_ref_int (b, "n");
  float slope = pf_ref_scalar (b, "slope");
  const float *x = get_n (b, "x", n), *dy = get_n (b, "dy", n);
  float *y = poisoned (n), *dx = g_new0 (float, n);
  pf_leaky_relu_forward_ref (n, slope, x, y);
  pf_assert_close ("leaky relu y", y, get_n (b, "y", n), n, TOL_FWD);
  pf_leaky_relu_backward_ref (n, slope, x, dy, dx);
  pf_assert_close ("leaky relu dx", dx, get_n (b, "dx", n), n, TOL_BWD);
  g_free (y);
  g_free (dx);
}

static void
check_add (const PfRefBundle *b)
{
  size_t n = pf_ref_int (b, "n");
  const float *dy = get_n (b, "dy", n);
  float *y = poisoned (n), *da = g_new0 (float, n), *db = g_new0 (float, n);
  pf_add_forward_ref (n, get_n (b, "a", n), get_n (b, "b", n), y);
  pf_assert_close ("add y", y, get_n (b, "y", n), n, TOL_FWD);
  pf_add_backward_ref (n, dy, da, db);
  pf_assert_close ("add da", da, get_n (b, "da", n), n, TOL_BWD);
  pf_assert_close ("add db", db, get_n (b, "db", n), n, TOL_BWD);
  g_free (y);
  g_free (da);
  g_free (db);
}

static void test_relu_parity (void) { for_each_case ("relu", check_relu); }
static void test_leaky_relu_parity (void) { for_each_case ("leaky_relu", check_leaky_relu); }
static void test_sigmoid_parity (void) { for_each_case ("sigmoid", check_sigmoid); }
static void test_add_parity (void) { for_each_case ("add", check_add); }

/* ctx: the UnaryOp */
static void
fd_unary_fwd (void *ctx, float *const *in, float *out)
{
  ((const UnaryOp *) ctx)->forward (37, in[0], out);
}

static void
fd_unary_bwd (void *ctx, float *const *in, const float *out, const float *dy, float *const *din)
{
  ((const UnaryOp *) ctx)->backward (37, out, dy, din[0]);
}

static void
fd_leaky_fwd (void *ctx, float *const *in, float *out)
{
  pf_leaky_relu_forward_ref (37, *(float *) ctx, in[0], out);
}

static void
fd_leaky_bwd (void *ctx, float *const *in, const float *out, const float *dy, float *const *din)
{
  pf_leaky_relu_backward_ref (37, *(float *) ctx, in[0], dy, din[0]);
}

static void
fd_add_fwd (void *ctx, float *const *in, float *out)
{
  pf_add_forward_ref (37, in[0], in[1], out);
}

static void
fd_add_bwd (void *ctx, float *const *in, const float *out, const float *dy, float *const *din)
{
  pf_add_backward_ref (37, dy, din[0], din[1]);
}

static void
test_eltwise_fd (void)
{
  float slope = 0.2f;
  FdOp relu = { "relu", 1, { 37 }, 37, fd_unary_fwd, fd_unary_bwd, (void *) &relu_op };
  FdOp leaky = { "leaky relu", 1, { 37 }, 37, fd_leaky_fwd, fd_leaky_bwd, &slope };
  FdOp sig = { "sigmoid", 1, { 37 }, 37, fd_unary_fwd, fd_unary_bwd, (void *) &sigmoid_op };
  FdOp add = { "add", 2, { 37, 37 }, 37, fd_add_fwd, fd_add_bwd, NULL };
  fd_run (&relu, fill_off_kinks, 1);
  fd_run (&leaky, fill_off_kinks, 2);
  fd_run (&sig, fill_normalish, 3);
  fd_run (&add, fill_normalish, 4);
}

/* ------------------------------------------------------------------------------------------ */
/* dropout: no parity with torch's generator is possible; check the mask's statistics and
 * determinism, the scaling and the backward pass. */

static size_t
count_kept (const uint8_t *m, size_t n)
{
  size_t k = 0;
  for (size_t i = 0; i < n; i++)
    k += m[i];
  return k;
}

/* |observed - n q| within 5 binomial standard deviations. */
static void
assert_binomial (const char *what, size_t observed, size_t n, double q)
{
  double mean = n * q, sd = sqrt (n * q * (1.0 - q));
  g_test_message ("%s: %zu of %zu, expected %.1f +- %.1f", what, observed, n, mean, sd);
  if (!(fabs ((double) observed - mean) <= 5.0 * sd))
    g_error ("%s: %zu of %zu, expected %.1f +- 5 * %.1f", what, observed, n, mean, sd);
}

static void
test_dropout (void)
{
  const size_t n = 200003;
  const float ps[] = { 0.1f, 0.3f, 0.4f, 0.8f };
  GRand *rng = g_rand_new_with_seed (11);
  float *x = g_new (float, n), *y = g_new (float, n), *y2 = g_new (float, n);
  float *dy = g_new (float, n), *dx = g_new (float, n), *dx0 = g_new (float, n);
  uint8_t *m = g_new (uint8_t, n), *m2 = g_new (uint8_t, n);
  fill_away_from_zero (rng, x, n, 0.5, 1.5);
  fill_uniform (rng, dy, n, -1, 1);

  for (guint t = 0; t < G_N_ELEMENTS (ps); t++)
    {
      float p = ps[t];
      double q = 1.0 - p, scale = 1.0 / (1.0 - (double) p);
      uint64_t seed = 0x9e3779b97f4a7c15ull + t, step = 1000 + t;
      pf_dropout_forward_ref (n, p, seed, step, x, y, m);

      /* keep fraction, and independence of neighbours (both kept: q^2), which catches a
       * Philox word reused for several elements */
      assert_binomial ("kept", count_kept (m, n), n, q);
      size_t pairs = 0;
      for (size_t i = 0; i + 1 < n; i += 2)
        pairs += m[i] && m[i + 1];
      assert_binomial ("neighbour pairs kept", pairs, n / 2, q * q);

      /* kept values scaled by exactly 1/(1-p) (to float rounding: two roundings of 2^-24),
       * dropped ones exactly zero */
      for (size_t i = 0; i < n; i++)
        {
          g_assert_true (m[i] == 0 || m[i] == 1);
          if (m[i])
            {
              double ratio = (double) y[i] / x[i];
              if (!(fabs (ratio - scale) <= 1.5e-7 * scale))
                g_error ("dropout p=%g: y/x = %.9g, expected %.9g", p, ratio, scale);
            }
          else
            g_assert_cmpfloat (y[i], ==, 0.0f);
        }

      /* same (seed, step): the same mask; another step or seed: an independent one (the two
       * masks disagree on a fraction 2pq of the elements) */
      pf_dropout_forward_ref (n, p, seed, step, x, y2, m2);
      g_assert_true (memcmp (m, m2, n) == 0);
      g_assert_true (memcmp (y, y2, n * sizeof (float)) == 0);
      for (int which = 0; which < 2; which++)
        {
          pf_dropout_forward_ref (n, p, seed + (which == 1), step + (which == 0), x, y2, m2);
          size_t differ = 0;
          for (size_t i = 0; i < n; i++)
            differ += m[i] != m2[i];
          assert_binomial (which == 0 ? "differ, next step" : "differ, next seed", differ, n,
                           2.0 * p * q);
        }

      /* the mask is a function of the index alone: a shorter tensor gets its prefix */
      pf_dropout_forward_ref (1003, p, seed, step, x, y2, m2);
      g_assert_true (memcmp (m, m2, 1003) == 0);

      /* backward: dx += dy * mask / (1 - p), accumulated onto what dx held */
      fill_uniform (rng, dx0, n, -1, 1);
      memcpy (dx, dx0, n * sizeof (float));
      pf_dropout_backward_ref (n, p, m, dy, dx);
      for (size_t i = 0; i < n; i++)
        {
          double want = dx0[i] + (m[i] ? dy[i] * scale : 0.0);
          if (!(fabs (dx[i] - want) <= 1e-6 * (fabs (want) + scale)))
            g_error ("dropout p=%g: dx[%zu] = %.9g, expected %.9g", p, i, dx[i], want);
        }
      pf_dropout_backward_ref (n, p, m, dy, NULL); /* skipped */
    }

  /* p = 0 keeps everything unchanged; p = 1 drops everything (as PyTorch) */
  pf_dropout_forward_ref (n, 0.0f, 5, 6, x, y, m);
  g_assert_cmpuint (count_kept (m, n), ==, n);
  g_assert_true (memcmp (x, y, n * sizeof (float)) == 0);
  pf_dropout_forward_ref (n, 1.0f, 5, 6, x, y, m);
  g_assert_cmpuint (count_kept (m, n), ==, 0);
  for (size_t i = 0; i < n; i++)
    g_assert_cmpfloat (y[i], ==, 0.0f);

  g_free (x); g_free (y); g_free (y2); g_free (dy); g_free (dx); g_free (dx0);
  g_free (m); g_free (m2);
  g_rand_free (rng);
}

typedef struct { size_t n; float p; uint8_t *mask; } DropCtx;

static void
fd_dropout_fwd (void *ctx, float *const *in, float *out)
{
  DropCtx *c = ctx;
  pf_dropout_forward_ref (c->n, c->p, 77, 3, in[0], out, c->mask);
}

static void
fd_dropout_bwd (void *ctx, float *const *in, const float *out, const float *dy, float *const *din)
{
  DropCtx *c = ctx;
  pf_dropout_backward_ref (c->n, c->p, c->mask, dy, din[0]);
}

static void
test_dropout_fd (void)
{
  /* with a fixed (seed, step) dropout is linear in x */
  DropCtx c = { 53, 0.3f, g_new (uint8_t, 53) };
  FdOp op = { "dropout", 1, { 53 }, 53, fd_dropout_fwd, fd_dropout_bwd, &c };
  fd_run (&op, fill_normalish, 5);
  g_free (c.mask);
}

/* ------------------------------------------------------------------------------------------ */
/* pooling and up-sampling */

static void
check_maxpool (const PfRefBundle *b)
{
  int nc = pf_ref_int (b, "nc"), h = pf_ref_int (b, "h"), w = pf_ref_int (b, "w");
  size_t nin = (size_t) nc * h * w, nout = (size_t) nc * (h / 2) * (w / 2);
  float *y = poisoned (nout), *dx = g_new0 (float, nin);
  int32_t *am = g_new (int32_t, nout);
  pf_maxpool2x2_forward_ref (nc, h, w, get_n (b, "x", nin), y, am);
  pf_assert_close ("maxpool y", y, get_n (b, "y", nout), nout, TOL_FWD);
  /* ties resolve like PyTorch: the same argmax everywhere */
  const float *ref_am = get_n (b, "argmax", nout);
  for (size_t i = 0; i < nout; i++)
    if (am[i] != (int32_t) lrintf (ref_am[i]))
      g_error ("%s: argmax[%zu] = %d, PyTorch %d", b->path, i, am[i], (int) lrintf (ref_am[i]));
  pf_maxpool2x2_backward_ref (nc, h, w, am, get_n (b, "dy", nout), dx);
  pf_assert_close ("maxpool dx", dx, get_n (b, "dx", nin), nin, TOL_BWD);
  g_free (y);
  g_free (dx);
  g_free (am);
}

/* The two x2 up-samplings: same signature forward (x -> y) and backward (dy -> dx). */
typedef struct {
  const char *y_name, *dx_name;
  void (*forward) (int nc, int h, int w, const float *x, float *y);
  void (*backward) (int nc, int h, int w, const float *dy, float *dx);
} PlaneOp;

static const PlaneOp nearest_op = { "nearest y", "nearest dx", pf_upsample_nearest2x_forward_ref,
                                    pf_upsample_nearest2x_backward_ref };
static const PlaneOp bilinear_op = { "bilinear y", "bilinear dx", pf_upsample_bilinear2x_forward_ref,
                                     pf_upsample_bilinear2x_backward_ref };

static void
check_upsample (const PfRefBundle *b, bool bilinear)
{
  int nc = pf_ref_int (b, "nc"), h = pf_ref_int (b, "h"), w = pf_ref_int (b, "w");
  size_t nin = (size_t) nc * h * w, nout = 4 * nin;
  float *y = poisoned (nout), *dx = g_new0 (float, nin);
  const float *x = get_n (b, "x", nin), *dy = get_n (b, "dy", nout);
  const PlaneOp *op = bilinear ? &bilinear_op : &nearest_op;
  op->forward (nc, h, w, x, y);
  pf_assert_close (op->y_name, y, get_n (b, "y", nout), nout, TOL_FWD);
  op->backward (nc, h, w, dy, dx);
  pf_assert_close (op->dx_name, dx, get_n (b, "dx", nin), nin, TOL_BWD);
  g_free (y);
  g_free (dx);
}

static void check_nearest (const PfRefBundle *b) { check_upsample (b, false); }
static void check_bilinear (const PfRefBundle *b) { check_upsample (b, true); }

static void test_maxpool_parity (void) { for_each_case ("maxpool", check_maxpool); }
static void test_nearest_parity (void) { for_each_case ("nearest", check_nearest); }
static void test_bilinear_parity (void) { for_each_case ("bilinear", check_bilinear); }

typedef struct { int nc, h, w; int32_t *argmax; const PlaneOp *op; } PlaneCtx;

static void
fd_maxpool_fwd (void *ctx, float *const *in, float *out)
{
  PlaneCtx *c = ctx;
  pf_maxpool2x2_forward_ref (c->nc, c->h, c->w, in[0], out, c->argmax);
}

static void
fd_maxpool_bwd (void *ctx, float *const *in, const float *out, const float *dy, float *const *din)
{
  PlaneCtx *c = ctx;
  pf_maxpool2x2_backward_ref (c->nc, c->h, c->w, c->argmax, dy, din[0]);
}

static void
fill_distinct (GRand *rng, const FdOp *op, float *const *in)
{
  /* a shuffled ladder with steps of 0.05 > 2 h |v|: the argmax of a window cannot change
   * within the difference */
  size_t n = op->in_size[0];
  for (size_t i = 0; i < n; i++)
    in[0][i] = 0.05f * (float) i - 0.025f * (float) n;
  for (size_t i = n - 1; i > 0; i--)
    {
      size_t j = g_rand_int_range (rng, 0, (gint32) i + 1);
      float t = in[0][i];
      in[0][i] = in[0][j];
      in[0][j] = t;
    }
}

static void
fd_upsample_fwd (void *ctx, float *const *in, float *out)
{
  PlaneCtx *c = ctx;
  c->op->forward (c->nc, c->h, c->w, in[0], out);
}

static void
fd_upsample_bwd (void *ctx, float *const *in, const float *out, const float *dy, float *const *din)
{
  PlaneCtx *c = ctx;
  c->op->backward (c->nc, c->h, c->w, dy, din[0]);
}

static void
test_resample_fd (void)
{
  PlaneCtx mp = { 3, 7, 6, g_new (int32_t, 3 * 3 * 3), NULL };
  FdOp pool = { "maxpool", 1, { 3 * 7 * 6 }, 3 * 3 * 3, fd_maxpool_fwd, fd_maxpool_bwd, &mp };
  fd_run (&pool, fill_distinct, 6);
  g_free (mp.argmax);

  PlaneCtx up_near = { 2, 5, 3, NULL, &nearest_op }, up_bil = { 2, 5, 3, NULL, &bilinear_op };
  FdOp near = { "nearest x2", 1, { 30 }, 120, fd_upsample_fwd, fd_upsample_bwd, &up_near };
  FdOp bil = { "bilinear x2", 1, { 30 }, 120, fd_upsample_fwd, fd_upsample_bwd, &up_bil };
  fd_run (&near, fill_normalish, 7);
  fd_run (&bil, fill_normalish, 8);
}

/* ------------------------------------------------------------------------------------------ */
/* channel ops */

static void
check_concat (const PfRefBundle *b)
{
  int n = pf_ref_int (b, "n"), hw = pf_ref_int (b, "hw"), k = pf_ref_int (b, "k");
  get_n (b, "c", k);
  int *c = ints_of (pf_ref_get (b, "c"));
  int ctot = 0;
  const float **x = g_new (const float *, k);
  float **dx = g_new (float *, k);
  for (int i = 0; i < k; i++)
    {
      char *name = g_strdup_printf ("x%d", i);
      x[i] = get_n (b, name, (size_t) n * c[i] * hw);
      dx[i] = g_new0 (float, (size_t) n * c[i] * hw);
      ctot += c[i];
      g_free (name);
    }
  size_t ny = (size_t) n * ctot * hw;
  float *y = poisoned (ny);
  pf_concat_forward_ref (n, hw, k, c, x, y);
  pf_assert_close ("concat y", y, get_n (b, "y", ny), ny, TOL_FWD);
  pf_concat_backward_ref (n, hw, k, c, get_n (b, "dy", ny), dx);
  for (int i = 0; i < k; i++)
    {
      char *name = g_strdup_printf ("dx%d", i);
      size_t ni = (size_t) n * c[i] * hw;
      pf_assert_close (name, dx[i], get_n (b, name, ni), ni, TOL_BWD);
      g_free (name);
      g_free (dx[i]);
    }
  g_free (x);
  g_free (dx);
  g_free (y);
  g_free (c);
}

static void
check_gather (const PfRefBundle *b)
{
  int n = pf_ref_int (b, "n"), c = pf_ref_int (b, "c"), hw = pf_ref_int (b, "hw");
  int k = pf_ref_int (b, "k");
  get_n (b, "idx", k);
  int *idx = ints_of (pf_ref_get (b, "idx"));
  size_t nin = (size_t) n * c * hw, nout = (size_t) n * k * hw;
  float *y = poisoned (nout), *dx = g_new0 (float, nin);
  pf_channel_gather_forward_ref (n, c, hw, k, idx, get_n (b, "x", nin), y);
  pf_assert_close ("gather y", y, get_n (b, "y", nout), nout, TOL_FWD);
  pf_channel_gather_backward_ref (n, c, hw, k, idx, get_n (b, "dy", nout), dx);
  pf_assert_close ("gather dx", dx, get_n (b, "dx", nin), nin, TOL_BWD);
  g_free (y);
  g_free (dx);
  g_free (idx);
}

static void
check_scale (const PfRefBundle *b)
{
  int n = pf_ref_int (b, "n"), c = pf_ref_int (b, "c"), hw = pf_ref_int (b, "hw");
  size_t nx = (size_t) n * c * hw, ns = (size_t) n * c;
  const float *x = get_n (b, "x", nx), *s = get_n (b, "s", ns);
  float *y = poisoned (nx), *dx = g_new0 (float, nx), *ds = g_new0 (float, ns);
  pf_channel_scale_forward_ref (n, c, hw, x, s, y);
  pf_assert_close ("channel scale y", y, get_n (b, "y", nx), nx, TOL_FWD);
  pf_channel_scale_backward_ref (n, c, hw, x, s, get_n (b, "dy", nx), dx, ds);
  pf_assert_close ("channel scale dx", dx, get_n (b, "dx", nx), nx, TOL_BWD);
  pf_assert_close ("channel scale ds", ds, get_n (b, "ds", ns), ns, TOL_BWD);
  g_free (y);
  g_free (dx);
  g_free (ds);
}

static void
check_avgpool (const PfRefBundle *b)
{
  int n = pf_ref_int (b, "n"), c = pf_ref_int (b, "c"), hw = pf_ref_int (b, "hw");
  size_t nx = (size_t) n * c * hw, ny = (size_t) n * c;
  float *y = poisoned (ny), *dx = g_new0 (float, nx);
  pf_global_avgpool_forward_ref (n, c, hw, get_n (b, "x", nx), y);
  pf_assert_close ("global avgpool y", y, get_n (b, "y", ny), ny, TOL_FWD);
  pf_global_avgpool_backward_ref (n, c, hw, get_n (b, "dy", ny), dx);
  pf_assert_close ("global avgpool dx", dx, get_n (b, "dx", nx), nx, TOL_BWD);
  g_free (y);
  g_free (dx);
}

static void test_concat_parity (void) { for_each_case ("concat", check_concat); }
static void test_gather_parity (void) { for_each_case ("gather", check_gather); }
static void test_scale_parity (void) { for_each_case ("scale", check_scale); }
static void test_avgpool_parity (void) { for_each_case ("avgpool", check_avgpool); }

/* concat of three inputs with 2, 1, 3 channels, n = 2, hw = 5 */
static const int fd_cat_c[3] = { 2, 1, 3 };

static void
fd_concat_fwd (void *ctx, float *const *in, float *out)
{
  const float *x[3] = { in[0], in[1], in[2] };
  pf_concat_forward_ref (2, 5, 3, fd_cat_c, x, out);
}

static void
fd_concat_bwd (void *ctx, float *const *in, const float *out, const float *dy, float *const *din)
{
  pf_concat_backward_ref (2, 5, 3, fd_cat_c, dy, din);
}

/* gather of 5 picks (with repeats) out of 4 channels, n = 2, hw = 3 */
static const int fd_gather_idx[5] = { 0, 1, 3, 0, 1 };

static void
fd_gather_fwd (void *ctx, float *const *in, float *out)
{
  pf_channel_gather_forward_ref (2, 4, 3, 5, fd_gather_idx, in[0], out);
}

static void
fd_gather_bwd (void *ctx, float *const *in, const float *out, const float *dy, float *const *din)
{
  pf_channel_gather_backward_ref (2, 4, 3, 5, fd_gather_idx, dy, din[0]);
}

/* channel scale and global average pool: n = 2, c = 3, hw = 7 */
static void
fd_scale_fwd (void *ctx, float *const *in, float *out)
{
  pf_channel_scale_forward_ref (2, 3, 7, in[0], in[1], out);
}

static void
fd_scale_bwd (void *ctx, float *const *in, const float *out, const float *dy, float *const *din)
{
  pf_channel_scale_backward_ref (2, 3, 7, in[0], in[1], dy, din[0], din[1]);
}

static void
fd_avgpool_fwd (void *ctx, float *const *in, float *out)
{
  pf_global_avgpool_forward_ref (2, 3, 7, in[0], out);
}

static void
fd_avgpool_bwd (void *ctx, float *const *in, const float *out, const float *dy, float *const *din)
{
  pf_global_avgpool_backward_ref (2, 3, 7, dy, din[0]);
}

static void
test_channel_fd (void)
{
  FdOp cat = { "concat", 3, { 20, 10, 30 }, 60, fd_concat_fwd, fd_concat_bwd, NULL };
  FdOp gat = { "channel gather", 1, { 24 }, 30, fd_gather_fwd, fd_gather_bwd, NULL };
  FdOp scl = { "channel scale", 2, { 42, 6 }, 42, fd_scale_fwd, fd_scale_bwd, NULL };
  FdOp avg = { "global avgpool", 1, { 42 }, 6, fd_avgpool_fwd, fd_avgpool_bwd, NULL };
  fd_run (&cat, fill_normalish, 9);
  fd_run (&gat, fill_normalish, 10);
  fd_run (&scl, fill_normalish, 11);
  fd_run (&avg, fill_normalish, 12);
}

/* ------------------------------------------------------------------------------------------ */
/* layout */

static void
check_permute (const PfRefBundle *b)
{
  int ndim = pf_ref_int (b, "ndim");
  get_n (b, "shape", ndim);
  get_n (b, "perm", ndim);
  int *shape = ints_of (pf_ref_get (b, "shape")), *perm = ints_of (pf_ref_get (b, "perm"));
  size_t n = 1;
  for (int i = 0; i < ndim; i++)
    n *= shape[i];
  float *y = poisoned (n), *dx = g_new0 (float, n);
  pf_permute_forward_ref (ndim, shape, perm, get_n (b, "x", n), y);
  pf_assert_close ("permute y", y, get_n (b, "y", n), n, TOL_FWD);
  pf_permute_backward_ref (ndim, shape, perm, get_n (b, "dy", n), dx);
  pf_assert_close ("permute dx", dx, get_n (b, "dx", n), n, TOL_BWD);
  g_free (y);
  g_free (dx);
  g_free (shape);
  g_free (perm);
}

static void test_permute_parity (void) { for_each_case ("permute", check_permute); }

static const int fd_perm_shape[4] = { 2, 3, 1, 4 };
static const int fd_perm[4] = { 3, 0, 2, 1 };

static void
fd_permute_fwd (void *ctx, float *const *in, float *out)
{
  pf_permute_forward_ref (4, fd_perm_shape, fd_perm, in[0], out);
}

static void
fd_permute_bwd (void *ctx, float *const *in, const float *out, const float *dy, float *const *din)
{
  pf_permute_backward_ref (4, fd_perm_shape, fd_perm, dy, din[0]);
}

static void
test_permute_fd (void)
{
  FdOp op = { "permute", 1, { 24 }, 24, fd_permute_fwd, fd_permute_bwd, NULL };
  fd_run (&op, fill_normalish, 13);
}

/* A hand-checked case independent of PyTorch: x [2, 3] transposed. */
static void
test_permute_small (void)
{
  const int shape[2] = { 2, 3 }, perm[2] = { 1, 0 };
  const float x[6] = { 0, 1, 2, 3, 4, 5 };
  const float want[6] = { 0, 3, 1, 4, 2, 5 };
  float y[6];
  pf_permute_forward_ref (2, shape, perm, x, y);
  g_assert_true (memcmp (y, want, sizeof y) == 0);
  float dx[6] = { 0 };
  pf_permute_backward_ref (2, shape, perm, want, dx);
  g_assert_true (memcmp (dx, x, sizeof dx) == 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/ops/relu/parity", test_relu_parity);
  g_test_add_func ("/ops/leaky-relu/parity", test_leaky_relu_parity);
  g_test_add_func ("/ops/sigmoid/parity", test_sigmoid_parity);
  g_test_add_func ("/ops/add/parity", test_add_parity);
  g_test_add_func ("/ops/eltwise/finite-difference", test_eltwise_fd);
  g_test_add_func ("/ops/dropout/mask", test_dropout);
  g_test_add_func ("/ops/dropout/finite-difference", test_dropout_fd);
  g_test_add_func ("/ops/maxpool/parity", test_maxpool_parity);
  g_test_add_func ("/ops/upsample-nearest/parity", test_nearest_parity);
  g_test_add_func ("/ops/upsample-bilinear/parity", test_bilinear_parity);
  g_test_add_func ("/ops/resample/finite-difference", test_resample_fd);
  g_test_add_func ("/ops/concat/parity", test_concat_parity);
  g_test_add_func ("/ops/channel-gather/parity", test_gather_parity);
  g_test_add_func ("/ops/channel-scale/parity", test_scale_parity);
  g_test_add_func ("/ops/global-avgpool/parity", test_avgpool_parity);
  g_test_add_func ("/ops/channel/finite-difference", test_channel_fd);
  g_test_add_func ("/ops/permute/small", test_permute_small);
  g_test_add_func ("/ops/permute/parity", test_permute_parity);
  g_test_add_func ("/ops/permute/finite-difference", test_permute_fd);
  int rc = g_test_run ();
  if (ref_dir)
    {
      pf_test_rm_dir (ref_dir);
      g_free (ref_dir);
    }
  return rc;
}
