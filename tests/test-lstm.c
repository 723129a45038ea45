/* test-lstm.c — the reference LSTM against torch.nn.LSTM (tests/ref/torch_lstm.py), a
 * finite-difference gradient check, and the accumulate/NULL conventions of pf-ops.h. */
#include "pf-test-util.h"
#include "pf-lstm.h"

static float *
randn (GRand *r, size_t n, double scale)
{
  float *p = g_new (float, n);
  for (size_t i = 0; i < n; i++)
    {
      /* Box-Muller: a normal draw, never exactly zero in practice. */
      double u = g_rand_double_range (r, 1e-12, 1.0), v = g_rand_double (r);
      p[i] = (float) (scale * sqrt (-2.0 * log (u)) * cos (2.0 * G_PI * v));
    }
  return p;
}

static float *
poisoned (size_t n)
{
  float *p = g_new (float, n);
  for (size_t i = 0; i < n; i++)
    p[i] = NAN;
  return p;
}

static size_t
state_count (const PfLstmDesc *d)
{
  return (size_t) d->num_layers * d->batch * d->hidden_size;
}

/* ---- parity with PyTorch ------------------------------------------------------------ */

static void
check_case (const char *path)
{
  PfRefBundle *rb = pf_ref_load (path);
  PfLstmDesc d = {
    .batch = pf_ref_int (rb, "B"), .seq_len = pf_ref_int (rb, "T"),
    .input_size = pf_ref_int (rb, "I"), .hidden_size = pf_ref_int (rb, "H"),
    .num_layers = pf_ref_int (rb, "L"),
  };
  gboolean has_h0 = pf_ref_int (rb, "has_h0c0"), has_dhn = pf_ref_int (rb, "has_dhn");
  g_test_message ("%s: B=%d T=%d I=%d H=%d L=%d h0/c0=%d dhn/dcn=%d", path, d.batch, d.seq_len,
                  d.input_size, d.hidden_size, d.num_layers, has_h0, has_dhn);
  g_assert_true (pf_lstm_desc_valid (&d));
  size_t nx = (size_t) d.batch * d.seq_len * d.input_size;
  size_t ny = (size_t) d.batch * d.seq_len * d.hidden_size;
  size_t ns = state_count (&d), nw = pf_lstm_param_count (&d);
  const PfRefTensor *w = pf_ref_get (rb, "w");
  g_assert_cmpuint (w->count, ==, nw);

  const float *x = pf_ref_get (rb, "x")->data;
  const float *h0 = has_h0 ? pf_ref_get (rb, "h0")->data : NULL;
  const float *c0 = has_h0 ? pf_ref_get (rb, "c0")->data : NULL;
  float *y = poisoned (ny), *hn = poisoned (ns), *cn = poisoned (ns);
  float *ws = poisoned (pf_lstm_workspace_size (&d));
  pf_lstm_forward_ref (&d, x, w->data, h0, c0, y, hn, cn, ws);
  pf_assert_close ("y", y, pf_ref_get (rb, "y")->data, ny, 1e-4);
  pf_assert_close ("hn", hn, pf_ref_get (rb, "hn")->data, ns, 1e-4);
  pf_assert_close ("cn", cn, pf_ref_get (rb, "cn")->data, ns, 1e-4);

  float *dx = g_new0 (float, nx), *dw = g_new0 (float, nw);
  float *dh0 = g_new0 (float, ns), *dc0 = g_new0 (float, ns);
  pf_lstm_backward_ref (&d, x, w->data, pf_ref_get (rb, "dy")->data,
                        has_dhn ? pf_ref_get (rb, "dhn")->data : NULL,
                        has_dhn ? pf_ref_get (rb, "dcn")->data : NULL,
                        dx, dw, has_h0 ? dh0 : NULL, has_h0 ? dc0 : NULL, ws);
  pf_assert_close ("dx", dx, pf_ref_get (rb, "dx")->data, nx, 1e-3);
  pf_assert_close ("dw (all)", dw, pf_ref_get (rb, "dw")->data, nw, 1e-3);
  /* Each parameter tensor on its own, so a small one (a bias) cannot hide in the total. */
  static const char *pname[] = { "weight_ih", "weight_hh", "bias_ih", "bias_hh" };
  for (int l = 0; l < d.num_layers; l++)
    for (int p = 0; p < 4; p++)
      {
        size_t off = pf_lstm_param_offset (&d, l, p);
        size_t end = p < 3 ? pf_lstm_param_offset (&d, l, p + 1)
                     : (l + 1 < d.num_layers ? pf_lstm_param_offset (&d, l + 1, 0) : nw);
        char *what = g_strdup_printf ("d%s_l%d", pname[p], l);
        pf_assert_close (what, dw + off, pf_ref_get (rb, "dw")->data + off, end - off, 1e-3);
        g_free (what);
      }
  if (has_h0)
    {
      pf_assert_close ("dh0", dh0, pf_ref_get (rb, "dh0")->data, ns, 1e-3);
      pf_assert_close ("dc0", dc0, pf_ref_get (rb, "dc0")->data, ns, 1e-3);
    }
  g_free (y); g_free (hn); g_free (cn); g_free (ws);
  g_free (dx); g_free (dw); g_free (dh0); g_free (dc0);
  pf_ref_free (rb);
}

static void
test_torch_parity (void)
{
  char *dir = pf_test_run_reference ("torch_lstm.py", NULL);
  if (!dir)
    return;
  char *ipath = g_build_filename (dir, "index.pfref", NULL);
  PfRefBundle *index = pf_ref_load (ipath);
  int n = pf_ref_int (index, "n_cases");
  g_assert_cmpint (n, >=, 8);
  for (int k = 0; k < n; k++)
    {
      char *name = g_strdup_printf ("case%d.pfref", k);
      char *path = g_build_filename (dir, name, NULL);
      check_case (path);
      g_free (path);
      g_free (name);
    }
  pf_ref_free (index);
  g_free (ipath);
  pf_test_rm_dir (dir);
}

/* ---- finite differences ------------------------------------------------------------- */

typedef struct {
  PfLstmDesc d;
  float *x, *w, *h0, *c0, *dy, *dhn, *dcn;
  float *y, *hn, *cn, *ws;
} Problem;

static Problem *
problem_new (const PfLstmDesc *d, guint32 seed)
{
  Problem *p = g_new0 (Problem, 1);
  GRand *r = g_rand_new_with_seed (seed);
  size_t ny = (size_t) d->batch * d->seq_len * d->hidden_size, ns = state_count (d);
  p->d = *d;
  p->x = randn (r, (size_t) d->batch * d->seq_len * d->input_size, 1.0);
  p->w = randn (r, pf_lstm_param_count (d), 0.5);
  p->h0 = randn (r, ns, 0.5);
  p->c0 = randn (r, ns, 0.5);
  p->dy = randn (r, ny, 1.0);
  p->dhn = randn (r, ns, 1.0);
  p->dcn = randn (r, ns, 1.0);
  p->y = g_new (float, ny);
  p->hn = g_new (float, ns);
  p->cn = g_new (float, ns);
  p->ws = g_new (float, pf_lstm_workspace_size (d));
  g_rand_free (r);
  return p;
}

static void
problem_free (Problem *p)
{
  float **all[] = { &p->x, &p->w, &p->h0, &p->c0, &p->dy, &p->dhn, &p->dcn, &p->y, &p->hn,
                    &p->cn, &p->ws };
  for (guint i = 0; i < G_N_ELEMENTS (all); i++)
    g_free (*all[i]);
  g_free (p);
}

/* The scalar whose gradient backward computes: sum(y*dy) + sum(hn*dhn) + sum(cn*dcn). */
static double
problem_loss (Problem *p)
{
  pf_lstm_forward_ref (&p->d, p->x, p->w, p->h0, p->c0, p->y, p->hn, p->cn, p->ws);
  size_t ny = (size_t) p->d.batch * p->d.seq_len * p->d.hidden_size, ns = state_count (&p->d);
  double s = 0;
  for (size_t i = 0; i < ny; i++)
    s += (double) p->y[i] * p->dy[i];
  for (size_t i = 0; i < ns; i++)
    s += (double) p->hn[i] * p->dhn[i] + (double) p->cn[i] * p->dcn[i];
  return s;
}

/* Central differences for every element of v, compared as a whole with the analytic grad. */
static void
fd_check (Problem *p, const char *what, float *v, size_t n, const float *grad)
{
  const float eps = 1e-2f;
  float *num = g_new (float, n);
  for (size_t i = 0; i < n; i++)
    {
      float keep = v[i];
      v[i] = keep + eps;
      double lp = problem_loss (p);
      v[i] = keep - eps;
      double lm = problem_loss (p);
      v[i] = keep;
      num[i] = (float) ((lp - lm) / (2.0 * eps));
    }
  pf_assert_close (what, grad, num, n, 1e-3);
  g_free (num);
}

static void
test_gradcheck (void)
{
  /* Tiny but complete: two layers, I != H, initial states and final-state gradients. */
  PfLstmDesc d = { .batch = 2, .seq_len = 4, .input_size = 3, .hidden_size = 5, .num_layers = 2 };
  Problem *p = problem_new (&d, 7);
  size_t nx = (size_t) d.batch * d.seq_len * d.input_size, ns = state_count (&d);
  size_t nw = pf_lstm_param_count (&d);
  float *dx = g_new0 (float, nx), *dw = g_new0 (float, nw);
  float *dh0 = g_new0 (float, ns), *dc0 = g_new0 (float, ns);
  problem_loss (p);
  pf_lstm_backward_ref (&d, p->x, p->w, p->dy, p->dhn, p->dcn, dx, dw, dh0, dc0, p->ws);
  fd_check (p, "fd dx", p->x, nx, dx);
  fd_check (p, "fd dw", p->w, nw, dw);
  fd_check (p, "fd dh0", p->h0, ns, dh0);
  fd_check (p, "fd dc0", p->c0, ns, dc0);
  g_free (dx); g_free (dw); g_free (dh0); g_free (dc0);
  problem_free (p);
}

/* ---- conventions: backward accumulates, NULL is skipped, the saved part survives ------- */

static void
test_accumulate (void)
{
  PfLstmDesc d = { .batch = 3, .seq_len = 5, .input_size = 6, .hidden_size = 4, .num_layers = 2 };
  Problem *p = problem_new (&d, 11);
  size_t nx = (size_t) d.batch * d.seq_len * d.input_size, ns = state_count (&d);
  size_t nw = pf_lstm_param_count (&d);
  size_t n[4] = { nx, nw, ns, ns };
  static const char *names[4] = { "dx", "dw", "dh0", "dc0" };
  problem_loss (p);

  /* Fresh gradients from zero. */
  float *g[4];
  for (int k = 0; k < 4; k++)
    g[k] = g_new0 (float, n[k]);
  pf_lstm_backward_ref (&d, p->x, p->w, p->dy, p->dhn, p->dcn, g[0], g[1], g[2], g[3], p->ws);

  /* From random starting values, twice: each call must add the same gradient. */
  GRand *r = g_rand_new_with_seed (3);
  float *a[4], *want[4];
  for (int k = 0; k < 4; k++)
    {
      a[k] = randn (r, n[k], 1.0);
      want[k] = g_new (float, n[k]);
      for (size_t i = 0; i < n[k]; i++)
        want[k][i] = a[k][i] + 2.0f * g[k][i];
    }
  g_rand_free (r);
  for (int call = 0; call < 2; call++)
    pf_lstm_backward_ref (&d, p->x, p->w, p->dy, p->dhn, p->dcn, a[0], a[1], a[2], a[3], p->ws);
  for (int k = 0; k < 4; k++)
    pf_assert_close (names[k], a[k], want[k], n[k], 1e-5);

  /* Each gradient alone (the others NULL) is the same as with all of them. */
  for (int k = 0; k < 4; k++)
    {
      float *only = g_new0 (float, n[k]);
      pf_lstm_backward_ref (&d, p->x, p->w, p->dy, p->dhn, p->dcn, k == 0 ? only : NULL,
                            k == 1 ? only : NULL, k == 2 ? only : NULL, k == 3 ? only : NULL,
                            p->ws);
      pf_assert_close (names[k], only, g[k], n[k], 1e-6);
      g_free (only);
    }
  /* The fresh gradients are not trivially zero (the checks above would then prove nothing). */
  for (int k = 0; k < 4; k++)
    {
      double s = 0;
      for (size_t i = 0; i < n[k]; i++)
        s += fabs (g[k][i]);
      g_assert_cmpfloat (s, >, 1e-3);
      g_free (g[k]); g_free (a[k]); g_free (want[k]);
    }
  problem_free (p);
}

/* NULL h0/c0 means zeros, and NULL dy/dhn/dcn means zero gradient. */
static void
test_optional_inputs (void)
{
  PfLstmDesc d = { .batch = 2, .seq_len = 3, .input_size = 4, .hidden_size = 3, .num_layers = 2 };
  Problem *p = problem_new (&d, 5);
  size_t ny = (size_t) d.batch * d.seq_len * d.hidden_size, ns = state_count (&d);
  size_t nw = pf_lstm_param_count (&d);
  float *zeros = g_new0 (float, MAX (ny, ns));
  float *y1 = g_new (float, ny), *y2 = g_new (float, ny);
  pf_lstm_forward_ref (&d, p->x, p->w, NULL, NULL, y1, NULL, NULL, p->ws);
  pf_lstm_forward_ref (&d, p->x, p->w, zeros, zeros, y2, NULL, NULL, p->ws);
  pf_assert_close ("y (h0 NULL vs zeros)", y1, y2, ny, 1e-7);
  /* h0 given, c0 NULL: differs from the all-zero start. */
  pf_lstm_forward_ref (&d, p->x, p->w, p->h0, NULL, y2, NULL, NULL, p->ws);
  g_assert_cmpfloat (pf_rel_err (y2, y1, ny), >, 1e-3);

  float *dw1 = g_new0 (float, nw), *dw2 = g_new0 (float, nw);
  pf_lstm_forward_ref (&d, p->x, p->w, p->h0, p->c0, p->y, p->hn, p->cn, p->ws);
  pf_lstm_backward_ref (&d, p->x, p->w, NULL, p->dhn, NULL, NULL, dw1, NULL, NULL, p->ws);
  pf_lstm_backward_ref (&d, p->x, p->w, zeros, p->dhn, zeros, NULL, dw2, NULL, NULL, p->ws);
  pf_assert_close ("dw (dy, dcn NULL vs zeros)", dw1, dw2, nw, 1e-7);
  g_free (zeros); g_free (y1); g_free (y2); g_free (dw1); g_free (dw2);
  problem_free (p);
}

static void
test_desc (void)
{
  PfLstmDesc d = { .batch = 2, .seq_len = 3, .input_size = 7, .hidden_size = 5, .num_layers = 2 };
  g_assert_true (pf_lstm_desc_valid (&d));
  /* torch: 4H*(I+H+2) for layer 0, 4H*(2H+2) for the others. */
  g_assert_cmpuint (pf_lstm_param_count (&d), ==, 20 * (7 + 5 + 2) + 20 * (5 + 5 + 2));
  g_assert_cmpuint (pf_lstm_param_offset (&d, 1, PF_LSTM_PARAM_W_IH), ==, 20 * 14);
  g_assert_cmpuint (pf_lstm_param_offset (&d, 1, PF_LSTM_PARAM_B_HH), ==, 20 * 14 + 20 * 10 + 20);
  g_assert_cmpuint (pf_lstm_forward_workspace_size (&d), <, pf_lstm_workspace_size (&d));
  PfLstmDesc bad[] = {
    { 0, 3, 7, 5, 2 }, { 2, 0, 7, 5, 2 }, { 2, 3, -1, 5, 2 }, { 2, 3, 7, 0, 2 }, { 2, 3, 7, 5, 0 },
    { G_MAXINT, G_MAXINT, G_MAXINT, G_MAXINT, G_MAXINT },
  };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    g_assert_false (pf_lstm_desc_valid (&bad[i]));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/lstm/desc", test_desc);
  g_test_add_func ("/lstm/optional-inputs", test_optional_inputs);
  g_test_add_func ("/lstm/accumulate", test_accumulate);
  g_test_add_func ("/lstm/gradcheck", test_gradcheck);
  g_test_add_func ("/lstm/torch-parity", test_torch_parity);
  return g_test_run ();
}
