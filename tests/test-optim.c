/* test-optim.c — Adam and StepLR against PyTorch (core/nn/pf-optim.c), and the default
 * initialisation (core/nn/pf-init.c): fan_in like torch, bounds, moments, determinism. */
#include "pf-optim.h"
#include "pf-init.h"
#include "pf-test-util.h"

/* ---- Adam ----------------------------------------------------------------------------- */

static void
test_adam_torch (void)
{
  char *dir = pf_test_run_reference ("torch_optim.py", NULL);
  if (!dir)
    return;
  char *path = g_build_filename (dir, "optim.pfref", NULL);
  PfRefBundle *b = pf_ref_load (path);
  const PfRefTensor *p0 = pf_ref_get (b, "adam.p0"), *grads = pf_ref_get (b, "adam.grads");
  const PfRefTensor *lr = pf_ref_get (b, "adam.lr_e4"), *after = pf_ref_get (b, "adam.p");
  size_t n = p0->count;
  int steps = grads->dims[0];
  g_assert_cmpint (steps, ==, 20);
  g_assert_cmpuint (grads->count, ==, (size_t) steps * n);
  g_assert_cmpuint (after->count, ==, (size_t) steps * n);

  float *p = g_memdup2 (p0->data, n * sizeof (float));
  float *m = g_new0 (float, n), *v = g_new0 (float, n);
  PfAdamConfig cfg;
  size_t exact = 0;
  for (int t = 1; t <= steps; t++)
    {
      pf_adam_config_init (&cfg, lr->data[t - 1] / 1e4);
      pf_adam_step (&cfg, t, n, p, grads->data + (t - 1) * n, m, v);
      const float *ref = after->data + (t - 1) * n;
      char what[64];
      g_snprintf (what, sizeof what, "adam step %d (lr %g)", t, cfg.lr);
      pf_assert_close (what, p, ref, n, 1e-6);
      /* the update itself, not just the parameters (which hardly move in one step) */
      const float *prev = t > 1 ? after->data + (t - 2) * n : p0->data;
      double num = 0, den = 0;
      for (size_t i = 0; i < n; i++)
        {
          double du = ((double) p[i] - prev[i]) - ((double) ref[i] - prev[i]);
          num += du * du;
          den += ((double) ref[i] - prev[i]) * ((double) ref[i] - prev[i]);
          exact += p[i] == ref[i];
        }
      g_assert_cmpfloat (den, >, 0);
      g_assert_cmpfloat (sqrt (num / den), <, 1e-4);
    }
  g_test_message ("adam: %zu of %zu parameter values bit-identical to torch", exact, (size_t) steps * n);
  pf_assert_close ("adam exp_avg", m, pf_ref_get (b, "adam.m")->data, n, 1e-6);
  pf_assert_close ("adam exp_avg_sq", v, pf_ref_get (b, "adam.v")->data, n, 1e-6);

  int nsched = pf_ref_int (b, "nsteplr");
  g_assert_cmpint (nsched, >=, 3);
  for (int k = 0; k < nsched; k++)
    {
      char name[64];
      g_snprintf (name, sizeof name, "steplr.%d.cfg", k);
      const PfRefTensor *c = pf_ref_get (b, name);
      g_snprintf (name, sizeof name, "steplr.%d.lr", k);
      const PfRefTensor *lrs = pf_ref_get (b, name);
      double base = c->data[0] / 1e4, gamma = c->data[2] / 10.0;
      int step = lrintf (c->data[1]);
      for (size_t e = 0; e < lrs->count; e++)
        {
          double mine = pf_step_lr (base, (int) e, step, gamma);
          if (!(fabs (mine - lrs->data[e]) <= 1e-7 * lrs->data[e]))
            g_error ("StepLR(%g, %d, %g) epoch %zu: %.9g vs torch %.9g", base, step, gamma, e,
                     mine, (double) lrs->data[e]);
        }
    }

  int nfan = pf_ref_int (b, "nfan");
  g_assert_cmpint (nfan, >=, 5);
  for (int k = 0; k < nfan; k++)
    {
      char name[64];
      g_snprintf (name, sizeof name, "fan.%d.shape", k);
      const PfRefTensor *s = pf_ref_get (b, name);
      int shape[8];
      for (size_t i = 0; i < s->count; i++)
        shape[i] = lrintf (s->data[i]);
      g_snprintf (name, sizeof name, "fan.%d.fan_in", k);
      g_assert_cmpint (pf_init_fan_in ((int) s->count, shape), ==, pf_ref_int (b, name));
    }

  /* torch's own layers never exceed 1/sqrt(fan_in) and come close to it: the same bound */
  const char *layers[] = { "conv2d.weight", "conv2d.bias", "conv3d.weight", "conv3d.bias",
                           "linear.weight", "linear.bias" };
  for (guint k = 0; k < G_N_ELEMENTS (layers); k++)
    {
      char name[64];
      g_snprintf (name, sizeof name, "layer.%s.absmax", layers[k]);
      double amax = pf_ref_scalar (b, name);
      g_snprintf (name, sizeof name, "layer.%s.fan_in", layers[k]);
      double bound = pf_init_default_bound (pf_ref_int (b, name));
      g_snprintf (name, sizeof name, "layer.%s.count", layers[k]);
      int count = pf_ref_int (b, name);
      g_test_message ("torch %s: max |x| %.7g, our bound %.7g", layers[k], amax, bound);
      g_assert_cmpfloat (amax, <=, bound * (1 + 1e-6));
      if (count >= 100) /* P(max < b (1 - 20/count)) < e^-20 */
        g_assert_cmpfloat (amax, >=, bound * (1 - 20.0 / count));
    }
  double lstm_bound = pf_init_default_bound (pf_ref_int (b, "layer.lstm.hidden"));
  g_assert_cmpfloat (pf_ref_scalar (b, "layer.lstm.absmax"), <=, lstm_bound * (1 + 1e-6));
  g_assert_cmpfloat (pf_ref_scalar (b, "layer.lstm.absmax"), >=, lstm_bound * 0.999);
  float bn[4][32];
  pf_init_batchnorm (32, bn[0], bn[1], bn[2], bn[3]);
  pf_assert_close ("bn weight", bn[0], pf_ref_get (b, "layer.bn.weight")->data, 32, 1e-7);
  pf_assert_close ("bn bias", bn[1], pf_ref_get (b, "layer.bn.bias")->data, 32, 1e-7);
  pf_assert_close ("bn running_mean", bn[2], pf_ref_get (b, "layer.bn.running_mean")->data, 32, 1e-7);
  pf_assert_close ("bn running_var", bn[3], pf_ref_get (b, "layer.bn.running_var")->data, 32, 1e-7);

  g_free (p);
  g_free (m);
  g_free (v);
  pf_ref_free (b);
  g_free (path);
  pf_test_rm_dir (dir);
}

/* Without torch: the first Adam step moves every parameter with a gradient by about lr
 * against its sign (m / sqrt(v) = g / |g| after bias correction), and a zero gradient not at all. */
static void
test_adam_first_step (void)
{
  enum { N = 40000 };
  float *p = g_new (float, N), *g = g_new (float, N), *m = g_new0 (float, N), *v = g_new0 (float, N);
  for (int i = 0; i < N; i++)
    {
      p[i] = 0.5f;
      g[i] = i % 10 == 0 ? 0.0f : (float) ((i % 7) - 3 + 0.25) * (i % 3 ? 1e-3f : 10.0f);
    }
  PfAdamConfig c;
  pf_adam_config_init (&c, 0.01);
  g_assert_cmpfloat (c.beta1, ==, 0.9);
  g_assert_cmpfloat (c.beta2, ==, 0.999);
  g_assert_cmpfloat (c.eps, ==, 1e-8);
  pf_adam_step (&c, 1, N, p, g, m, v);
  for (int i = 0; i < N; i++)
    {
      double expect = g[i] == 0 ? 0.5 : 0.5 - 0.01 * (g[i] > 0 ? 1 : -1);
      g_assert_cmpfloat (fabs (p[i] - expect), <, 1e-6);
      g_assert_cmpfloat (fabs (m[i] - 0.1 * g[i]), <=, 1e-6 * fabs (g[i]));
      g_assert_cmpfloat (fabs (v[i] - 0.001 * g[i] * g[i]), <=, 1e-6 * g[i] * g[i]);
    }
  /* step 2 with the same gradient: the bias-corrected moments are g and g^2 again */
  pf_adam_step (&c, 2, N, p, g, m, v);
  for (int i = 0; i < N; i++)
    {
      double expect = g[i] == 0 ? 0.5 : 0.5 - 0.02 * (g[i] > 0 ? 1 : -1);
      g_assert_cmpfloat (fabs (p[i] - expect), <, 1e-5);
    }
  g_free (p);
  g_free (g);
  g_free (m);
  g_free (v);
}

static void
test_step_lr (void)
{
  /* the paper's schedule: halved every 30 epochs */
  g_assert_cmpfloat (pf_step_lr (1e-3, 0, 30, 0.5), ==, 1e-3);
  g_assert_cmpfloat (pf_step_lr (1e-3, 29, 30, 0.5), ==, 1e-3);
  g_assert_cmpfloat (pf_step_lr (1e-3, 30, 30, 0.5), ==, 5e-4);
  g_assert_cmpfloat (pf_step_lr (1e-3, 59, 30, 0.5), ==, 5e-4);
  g_assert_cmpfloat (pf_step_lr (1e-3, 60, 30, 0.5), ==, 2.5e-4);
  g_assert_cmpfloat (pf_step_lr (1e-3, 95, 30, 0.5), ==, 1.25e-4);
  g_assert_cmpfloat_with_epsilon (pf_step_lr (0.1, 10, 1, 0.9), 0.1 * pow (0.9, 10), 1e-15);
  g_assert_cmpfloat (pf_step_lr (1e-3, -3, 30, 0.5), ==, 1e-3);
}

/* ---- initialisation ------------------------------------------------------------------- */

static void
test_fan_in (void)
{
  int conv2d[] = { 32, 8, 5, 5 }, conv3d[] = { 2, 1, 3, 7, 7 }, linear[] = { 16, 1024 };
  int conv1x1[] = { 64, 128, 1, 1 }, bad[] = { 5 };
  g_assert_cmpint (pf_init_fan_in (4, conv2d), ==, 200);
  g_assert_cmpint (pf_init_fan_in (5, conv3d), ==, 147);
  g_assert_cmpint (pf_init_fan_in (2, linear), ==, 1024);
  g_assert_cmpint (pf_init_fan_in (4, conv1x1), ==, 128);
  g_assert_cmpint (pf_init_fan_in (1, bad), ==, -1);
  g_assert_cmpfloat (pf_init_default_bound (25), ==, 0.2f);
  g_assert_cmpfloat (pf_init_default_bound (0), ==, 0.0f);
}

/* All |x| < bound; mean and variance of U(-b, b) (0 and b^2/3) within 5 sigma; the range is
 * used up to its ends; neighbours uncorrelated. */
static void
check_uniform (const float *x, size_t n, double b, const char *what)
{
  double s1 = 0, s2 = 0, lag = 0, amax = 0;
  for (size_t i = 0; i < n; i++)
    {
      g_assert_true (isfinite (x[i]));
      if (!(fabs (x[i]) <= b))
        g_error ("%s: |x[%zu]| = %g beyond the bound %g", what, i, (double) x[i], b);
      s1 += x[i];
      s2 += (double) x[i] * x[i];
      if (i + 1 < n)
        lag += (double) x[i] * x[i + 1];
      amax = MAX (amax, fabs (x[i]));
    }
  double mean = s1 / n, msq = s2 / n;
  double sd_mean = b / sqrt (3.0 * n);                /* Var x = b^2 / 3 */
  double sd_msq = b * b * sqrt (4.0 / 45.0 / n);      /* Var x^2 = b^4/5 - b^4/9 */
  double sd_lag = b * b / 3.0 / sqrt ((double) n);    /* Var(x y) = (b^2/3)^2 */
  g_test_message ("%s: n %zu mean %.3g (5 sd %.3g), E x^2 / (b^2/3) = %.5f, max/b %.6f", what, n,
                  mean, 5 * sd_mean, msq / (b * b / 3), amax / b);
  g_assert_cmpfloat (fabs (mean), <, 5 * sd_mean);
  g_assert_cmpfloat (fabs (msq - b * b / 3), <, 5 * sd_msq);
  g_assert_cmpfloat (fabs (lag / (n - 1)), <, 5 * sd_lag);
  g_assert_cmpfloat (amax, >, b * (1 - 20.0 / n));
}

static void
test_init_distribution (void)
{
  /* a Conv2d(64, 128, 5) weight and bias, a Linear, an LSTM weight */
  int conv[] = { 128, 64, 5, 5 };
  size_t nw = 128 * 64 * 25;
  float *w = g_new (float, nw), bias[128];
  g_assert_cmpint (pf_init_conv_linear (26, 0, 1, 4, conv, w, bias), ==, 1600);
  check_uniform (w, nw, 1.0 / 40, "conv2d weight");
  for (int i = 0; i < 128; i++)
    g_assert_cmpfloat (fabs (bias[i]), <=, 1.0f / 40);
  float bias2[128];
  g_assert_cmpint (pf_init_conv_linear (26, 0, 1, 4, conv, w, NULL), ==, 1600);
  pf_init_uniform (26, 1, 1.0f / 40, 128, bias2);
  g_assert_cmpmem (bias, sizeof bias, bias2, sizeof bias2);

  int lin[] = { 3, 1000 };
  float lw[3000];
  pf_init_conv_linear (7, 4, 5, 2, lin, lw, NULL);
  check_uniform (lw, 3000, 1.0 / sqrt (1000.0), "linear weight");

  size_t nl = 4 * 224 * 224;
  float *lstm = g_new (float, nl);
  pf_init_lstm (26, 9, 224, nl, lstm);
  check_uniform (lstm, nl, 1.0 / sqrt (224.0), "lstm weight_hh");

  int bad[] = { 3 };
  g_assert_cmpint (pf_init_conv_linear (1, 0, 1, 1, bad, lw, NULL), ==, -1);
  g_free (w);
  g_free (lstm);
}

static void
test_init_determinism (void)
{
  size_t n = 100003;
  float *a = g_new (float, n), *b = g_new (float, n), *c = g_new (float, n);
  pf_init_uniform (26, 3, 0.1f, n, a);
  pf_init_uniform (26, 3, 0.1f, n, b);
  g_assert_cmpmem (a, n * sizeof (float), b, n * sizeof (float));
  /* a prefix does not depend on the length: counters are per element block */
  pf_init_uniform (26, 3, 0.1f, 1001, c);
  g_assert_cmpmem (a, 1001 * sizeof (float), c, 1001 * sizeof (float));

  /* another seed or another parameter index gives other numbers */
  size_t same = 0;
  pf_init_uniform (27, 3, 0.1f, n, b);
  pf_init_uniform (26, 4, 0.1f, n, c);
  for (size_t i = 0; i < n; i++)
    same += (a[i] == b[i]) + (a[i] == c[i]);
  g_assert_cmpuint (same, <, 10);
  /* the bound only scales the same draws */
  pf_init_uniform (26, 3, 0.4f, n, b);
  for (size_t i = 0; i < n; i++)
    g_assert_cmpfloat (b[i], ==, 4.0f * a[i]);
  g_free (a);
  g_free (b);
  g_free (c);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/optim/adam-torch", test_adam_torch);
  g_test_add_func ("/optim/adam-first-step", test_adam_first_step);
  g_test_add_func ("/optim/step-lr", test_step_lr);
  g_test_add_func ("/init/fan-in", test_fan_in);
  g_test_add_func ("/init/distribution", test_init_distribution);
  g_test_add_func ("/init/determinism", test_init_determinism);
  return g_test_run ();
}
