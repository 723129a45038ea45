/* test-loss.c — MSE, WMSE, SSIM and MIX (core/ops/pf-loss.c): PyTorch parity of value and
 * gradient in both modes, finite differences, and the identities SSIM(x, x) = 1, WMSE(y, y) = 0. */
#include "pf-loss.h"
#include "pf-error.h"
#include "pf-rng.h"
#include "pf-test-util.h"

static const PfLossKind all_kinds[] = { PF_LOSS_MSE, PF_LOSS_WMSE, PF_LOSS_SSIM, PF_LOSS_MIX };

/* Sparse non-negative images like the calorimeter's: most pixels 0. */
static void
fill_calo (float *x, size_t n, uint64_t seed, uint32_t which, float occupancy)
{
  for (size_t i = 0; i < n; i++)
    {
      philox4x32_ctr_t r = pf_rng_block (seed, PF_RNG_STREAM_SIM, which, (uint32_t) i, 7);
      x[i] = pf_rng_u01 (r.v[0]) < occupancy ? -0.3f * logf (pf_rng_u01 (r.v[1])) : 0.0f;
    }
}

static double
run_loss (const PfLossDesc *d, const float *p, const float *y, float *dp, PfLossParts *parts)
{
  size_t nws = pf_loss_workspace_floats (d);
  float *ws = nws ? g_new (float, nws) : NULL;
  /* poison the workspace: nothing may read what it did not write */
  for (size_t i = 0; i < nws; i++)
    ws[i] = NAN;
  double v = pf_loss_forward_parts (d, p, y, dp, ws, parts);
  g_free (ws);
  return v;
}

static void
test_names (void)
{
  PfLossKind k;
  for (guint i = 0; i < G_N_ELEMENTS (all_kinds); i++)
    {
      g_assert_true (pf_loss_kind_parse (pf_loss_kind_name (all_kinds[i]), &k));
      g_assert_cmpint (k, ==, all_kinds[i]);
    }
  g_assert_true (pf_loss_kind_parse ("MIX", &k));
  g_assert_cmpint (k, ==, PF_LOSS_MIX);
  g_assert_true (pf_loss_kind_parse ("wmse", &k));
  g_assert_cmpint (k, ==, PF_LOSS_WMSE);
  g_assert_false (pf_loss_kind_parse ("l1", &k));
  g_assert_false (pf_loss_kind_parse ("", &k));
  g_assert_false (pf_loss_kind_parse ("mse ", &k));
  g_assert_cmpstr (pf_loss_kind_name (PF_LOSS_SSIM), ==, "ssim");
}

static void
test_check (void)
{
  PfLossDesc d;
  GError *error = NULL;
  pf_loss_desc_init (&d, PF_LOSS_MIX, 4, 56, 56);
  g_assert_cmpfloat (d.lambda, ==, 0.05f);
  g_assert_cmpfloat (d.data_range, ==, 1.0f);
  g_assert_false (d.paper_compat);
  g_assert_true (pf_loss_desc_check (&d, &error));
  g_assert_no_error (error);

  /* the 11x11 valid window does not fit a 10-row image; the published padded one does */
  pf_loss_desc_init (&d, PF_LOSS_SSIM, 1, 10, 30);
  g_assert_false (pf_loss_desc_check (&d, &error));
  g_assert_error (error, PF_ERROR, PF_ERROR_SHAPE);
  g_clear_error (&error);
  d.paper_compat = true;
  g_assert_true (pf_loss_desc_check (&d, NULL));
  /* MSE/WMSE need no window */
  pf_loss_desc_init (&d, PF_LOSS_WMSE, 1, 3, 2);
  g_assert_true (pf_loss_desc_check (&d, NULL));
  g_assert_cmpuint (pf_loss_workspace_floats (&d), ==, 0);

  pf_loss_desc_init (&d, PF_LOSS_SSIM, 1, 56, 56);
  d.data_range = 0;
  g_assert_false (pf_loss_desc_check (&d, &error));
  g_assert_error (error, PF_ERROR, PF_ERROR_INVALID);
  g_clear_error (&error);
  pf_loss_desc_init (&d, PF_LOSS_MIX, 1, 56, 56);
  d.lambda = NAN;
  g_assert_false (pf_loss_desc_check (&d, NULL));
  pf_loss_desc_init (&d, PF_LOSS_MSE, 0, 56, 56);
  g_assert_false (pf_loss_desc_check (&d, &error));
  g_assert_error (error, PF_ERROR, PF_ERROR_SHAPE);
  g_clear_error (&error);
}

static void
test_window (void)
{
  float win[PF_SSIM_WINDOW];
  pf_ssim_window_1d (win);
  double sum = 0;
  for (int i = 0; i < PF_SSIM_WINDOW; i++)
    {
      sum += win[i];
      g_assert_cmpfloat (win[i], ==, win[PF_SSIM_WINDOW - 1 - i]);
      if (i > 0 && i <= PF_SSIM_WINDOW / 2)
        g_assert_cmpfloat (win[i], >, win[i - 1]);
    }
  g_assert_cmpfloat_with_epsilon (sum, 1.0, 1e-6);
  /* exp(-1/(2 * 1.5^2)) between neighbours of the centre */
  g_assert_cmpfloat_with_epsilon (win[4] / win[5], exp (-1.0 / 4.5), 1e-6);
}

static void
test_torch_parity (void)
{
  char *dir = pf_test_run_reference ("torch_loss.py", NULL);
  if (!dir)
    return;
  char *path = g_build_filename (dir, "loss.pfref", NULL);
  PfRefBundle *b = pf_ref_load (path);

  float win[PF_SSIM_WINDOW];
  pf_ssim_window_1d (win);
  pf_assert_close ("ssim window", win, pf_ref_get (b, "window")->data, PF_SSIM_WINDOW, 1e-6);

  int ncases = pf_ref_int (b, "ncases");
  g_assert_cmpint (ncases, >=, 4);
  for (int c = 0; c < ncases; c++)
    {
      char name[128];
      g_snprintf (name, sizeof name, "c%d.pred", c);
      const PfRefTensor *tp = pf_ref_get (b, name);
      g_snprintf (name, sizeof name, "c%d.target", c);
      const PfRefTensor *ty = pf_ref_get (b, name);
      g_assert_cmpint (tp->ndim, ==, 4);
      g_assert_cmpint (tp->dims[1], ==, 1);
      g_assert_cmpuint (tp->count, ==, ty->count);
      g_snprintf (name, sizeof name, "c%d.lambda", c);
      float lambda = pf_ref_scalar (b, name);
      g_snprintf (name, sizeof name, "c%d.range", c);
      float range = pf_ref_scalar (b, name);
      float *dp = g_new (float, tp->count);

      for (int mode = 0; mode < 2; mode++)
        {
          double parts_ref[G_N_ELEMENTS (all_kinds)];
          for (guint k = 0; k < G_N_ELEMENTS (all_kinds); k++)
            {
              PfLossDesc d;
              pf_loss_desc_init (&d, all_kinds[k], tp->dims[0], tp->dims[2], tp->dims[3]);
              d.lambda = lambda;
              d.data_range = range;
              d.paper_compat = mode == 1;
              const char *tag = mode ? "paper" : "std";
              g_snprintf (name, sizeof name, "c%d.%s.%s.value", c, pf_loss_kind_name (d.kind), tag);
              double vref = pf_ref_scalar (b, name);
              parts_ref[k] = vref;
              g_snprintf (name, sizeof name, "c%d.%s.%s.grad", c, pf_loss_kind_name (d.kind), tag);
              const PfRefTensor *gref = pf_ref_get (b, name);

              for (size_t i = 0; i < tp->count; i++)
                dp[i] = NAN; /* the gradient must be overwritten everywhere */
              PfLossParts parts;
              double v = run_loss (&d, tp->data, ty->data, dp, &parts);
              double v0 = run_loss (&d, tp->data, ty->data, NULL, NULL);
              char what[160];
              g_snprintf (what, sizeof what, "case %d [%d,1,%d,%d] %s %s", c, d.n, d.h, d.w,
                          pf_loss_kind_name (d.kind), tag);
              double e = fabs (v - vref) / fabs (vref);
              g_test_message ("%s: value %.8g ref %.8g rel err %.3g", what, v, vref, e);
              if (!(e < 1e-4))
                g_error ("%s: value %.8g vs torch %.8g (rel err %.3g)", what, v, vref, e);
              g_assert_cmpfloat (v0, ==, v);
              g_assert_cmpfloat (parts.total, ==, v);
              g_snprintf (what, sizeof what, "case %d %s %s gradient", c, pf_loss_kind_name (d.kind), tag);
              pf_assert_close (what, dp, gref->data, tp->count, 1e-3);
              if (d.kind == PF_LOSS_MIX)
                {
                  /* the logged parts are the WMSE and the SSIM of the same batch */
                  g_assert_cmpfloat (fabs (parts.wmse - parts_ref[1]) / parts_ref[1], <, 1e-4);
                  g_assert_cmpfloat (fabs ((1 - parts.ssim) - parts_ref[2]) / parts_ref[2], <, 1e-4);
                  g_assert_cmpfloat (fabs (parts.wmse + d.lambda * (1 - parts.ssim) - v), <, 1e-12);
                }
              else if (d.kind == PF_LOSS_SSIM)
                g_assert_cmpfloat (fabs (1 - parts.ssim - v), <, 1e-12);
            }
        }
      g_free (dp);
    }
  pf_ref_free (b);
  g_free (path);
  pf_test_rm_dir (dir);
}

/* Central differences of the loss in double-step h at a spread of pixels (empty ones included). */
static void
check_fd (PfLossKind kind, bool paper, int n, int h, int w, float occupancy)
{
  PfLossDesc d;
  pf_loss_desc_init (&d, kind, n, h, w);
  d.paper_compat = paper;
  d.lambda = 0.5f; /* a MIX where both terms weigh */
  size_t count = (size_t) n * h * w;
  float *p = g_new (float, count), *y = g_new (float, count), *dp = g_new (float, count);
  fill_calo (y, count, 11, 1, occupancy);
  fill_calo (p, count, 11, 2, occupancy);
  for (size_t i = 0; i < count; i++)
    p[i] += 0.6f * y[i];
  run_loss (&d, p, y, dp, NULL);

  int npts = 0;
  double num = 0, den = 0;
  for (size_t i = 0; i < count; i += 1 + count / 60)
    {
      const float step = 3e-3f;
      float keep = p[i];
      p[i] = keep + step;
      double lp = run_loss (&d, p, y, NULL, NULL);
      p[i] = keep - step;
      double lm = run_loss (&d, p, y, NULL, NULL);
      p[i] = keep;
      double fd = (lp - lm) / ((double) (keep + step) - (double) (keep - step));
      num += (fd - dp[i]) * (fd - dp[i]);
      den += fd * fd;
      npts++;
    }
  double e = sqrt (num / den);
  g_test_message ("fd %s%s [%d,1,%d,%d]: %d points, rel err %.3g", pf_loss_kind_name (kind),
                  paper ? " paper" : "", n, h, w, npts, e);
  if (!(den > 0 && e < 1e-3))
    g_error ("finite differences %s%s: rel err %.3g", pf_loss_kind_name (kind), paper ? " paper" : "", e);
  g_free (p);
  g_free (y);
  g_free (dp);
}

static void
test_finite_difference (void)
{
  for (guint k = 0; k < G_N_ELEMENTS (all_kinds); k++)
    for (int paper = 0; paper < 2; paper++)
      {
        check_fd (all_kinds[k], paper, 2, 13, 15, 0.5f);
        check_fd (all_kinds[k], paper, 1, 16, 12, 0.9f);
      }
}

static void
test_identities (void)
{
  int n = 2, h = 24, w = 19;
  size_t count = (size_t) n * h * w;
  float *y = g_new (float, count), *dp = g_new (float, count);
  fill_calo (y, count, 5, 3, 0.3f);
  for (int paper = 0; paper < 2; paper++)
    for (guint k = 0; k < G_N_ELEMENTS (all_kinds); k++)
      {
        PfLossDesc d;
        PfLossParts parts;
        pf_loss_desc_init (&d, all_kinds[k], n, h, w);
        d.paper_compat = paper;
        double v = run_loss (&d, y, y, dp, &parts);
        /* every loss is 0 at p = y, and so is its gradient (it is a minimum) */
        g_assert_cmpfloat (fabs (v), <, 1e-6);
        for (size_t i = 0; i < count; i++)
          g_assert_cmpfloat (fabs (dp[i]), <, 1e-6);
        if (d.kind == PF_LOSS_SSIM || d.kind == PF_LOSS_MIX)
          g_assert_cmpfloat_with_epsilon (parts.ssim, 1.0, 1e-6);
        if (d.kind == PF_LOSS_WMSE || d.kind == PF_LOSS_MIX)
          g_assert_cmpfloat (parts.wmse, ==, 0.0);
      }

  /* and a different image is not similar: the test above can fail */
  float *p = g_new (float, count);
  fill_calo (p, count, 5, 4, 0.3f);
  PfLossDesc d;
  pf_loss_desc_init (&d, PF_LOSS_SSIM, n, h, w);
  g_assert_cmpfloat (run_loss (&d, p, y, NULL, NULL), >, 0.1);
  /* WMSE ignores pixels with no true energy; MSE does not */
  for (size_t i = 0; i < count; i++)
    p[i] = y[i] > 0 ? y[i] : 5.0f;
  pf_loss_desc_init (&d, PF_LOSS_WMSE, n, h, w);
  g_assert_cmpfloat (run_loss (&d, p, y, NULL, NULL), ==, 0.0);
  d.paper_compat = true;
  g_assert_cmpfloat (run_loss (&d, p, y, NULL, NULL), ==, 0.0);
  pf_loss_desc_init (&d, PF_LOSS_MSE, n, h, w);
  g_assert_cmpfloat (run_loss (&d, p, y, NULL, NULL), >, 1.0);
  /* an empty truth image gives WMSE 0, not NaN */
  memset (y, 0, sizeof (float) * count);
  pf_loss_desc_init (&d, PF_LOSS_WMSE, n, h, w);
  g_assert_cmpfloat (run_loss (&d, p, y, dp, NULL), ==, 0.0);
  for (size_t i = 0; i < count; i++)
    g_assert_cmpfloat (dp[i], ==, 0.0f);
  g_free (p);
  g_free (y);
  g_free (dp);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/loss/names", test_names);
  g_test_add_func ("/loss/check", test_check);
  g_test_add_func ("/loss/ssim-window", test_window);
  g_test_add_func ("/loss/torch-parity", test_torch_parity);
  g_test_add_func ("/loss/finite-difference", test_finite_difference);
  g_test_add_func ("/loss/identities", test_identities);
  return g_test_run ();
}
