/* test-cuda-loss.c — the GPU losses (kernels/pf-cuda-loss.h) against pf_loss_forward_parts.
 *
 * Every kind (MSE, WMSE, SSIM, MIX) with and without paper_compat, on calorimeter-like random
 * data (most pixels small and positive, about a third exactly zero in the target, predictions
 * that may dip below zero), for n = 1, 3, 17 of 56x56 and 23x31 images (and 7x9 where only the
 * padded published SSIM allows it). Checked: each of the four parts {total, mse, wmse, ssim}
 * (NaN where the CPU has NaN, else relative error < 1e-5: the GPU reduces in double and
 * stores a float), the gradient (relative error < 1e-4, with dpred poisoned with NaN first so
 * an unwritten element fails), the same bits on a second run and on a value-only run, and the
 * workspace size of pf_cuda_loss_workspace_floats (a caller-provided workspace of exactly that
 * size, with a NaN guard after it, gives the same bits and leaves the guard alone). Without a
 * GPU (or without a CUDA build) every test skips itself and says why. */
#include <glib.h>
#include <math.h>
#include <string.h>
#include "pf-test-util.h"

#ifdef PF_HAVE_CUDA
#include "pf-loss.h"
#include "pf-error.h"
#include "pf-cuda.h"
#include "pf-cuda-loss.h"

#include "pf-test-cuda.h"

#define TOL_VALUE 1e-5
#define TOL_GRAD 1e-4
#define GUARD 64

typedef struct {
  int n, h, w;
} Shape;

static const Shape shapes[] = {
  { 1, 56, 56 }, { 3, 56, 56 }, { 17, 56, 56 },
  { 1, 23, 31 }, { 3, 23, 31 }, { 17, 23, 31 },
  { 2, 7, 9 }, /* below the 11x11 window: only MSE, WMSE and the padded published SSIM */
};

/* target: ~35% zeros, else exponential with mean 0.1; pred: the target with 30% relative and
 * 0.01 absolute noise (so it can be slightly negative), never exactly zero */
static void
calo_pair (GRand *r, size_t count, float **pred, float **target)
{
  float *p = g_new (float, count), *t = g_new (float, count);
  for (size_t i = 0; i < count; i++)
    {
      float y = 0.0f;
      if (g_rand_double (r) >= 0.35)
        y = (float) (-0.1 * log (1.0 - g_rand_double (r)));
      float v;
      do
        v = (float) (y * (1.0 + 0.3 * (g_rand_double (r) - 0.5)) + 0.02 * (g_rand_double (r) - 0.5));
      while (v == 0.0f);
      t[i] = y;
      p[i] = v;
    }
  *pred = p;
  *target = t;
}

static void
check_parts (const char *what, const float *got, const PfLossParts *ref)
{
  static const char *const names[4] = { "total", "mse", "wmse", "ssim" };
  const double r[4] = { ref->total, ref->mse, ref->wmse, ref->ssim };
  for (int i = 0; i < 4; i++)
    {
      if (isnan (r[i]))
        {
          if (!isnan (got[i]))
            g_error ("%s %s: expected NaN (the kind has no such term), found %.9g", what,
                     names[i], (double) got[i]);
          continue;
        }
      double e = fabs ((double) got[i] - r[i]) / fmax (fabs (r[i]), 1e-30);
      g_test_message ("%s %s: GPU %.9g, CPU %.9g, rel err %.3g", what, names[i], (double) got[i],
                      r[i], e);
      if (!(e < TOL_VALUE))
        g_error ("%s %s: GPU %.9g, CPU %.9g: rel err %.3g >= %.1g", what, names[i],
                 (double) got[i], r[i], e, TOL_VALUE);
    }
}

static void
assert_same_bits (const char *what, const float *a, const float *b, size_t n)
{
  if (memcmp (a, b, n * sizeof (float)) != 0)
    g_error ("%s: not the same bits on a second run", what);
}

static void
check_case (const PfLossDesc *d, guint32 seed)
{
  char *what = g_strdup_printf ("%s%s [%d, 1, %d, %d] lambda %g range %g",
                                pf_loss_kind_name (d->kind), d->paper_compat ? " (paper)" : "",
                                d->n, d->h, d->w, (double) d->lambda, (double) d->data_range);
  const size_t count = (size_t) d->n * d->h * d->w;
  GRand *r = g_rand_new_with_seed (seed);
  float *p, *t;
  calo_pair (r, count, &p, &t);

  /* the CPU reference */
  size_t nws = pf_loss_workspace_floats (d);
  float *ws = nws ? g_new (float, nws) : NULL;
  float *dref = g_new (float, count);
  PfLossParts ref;
  pf_loss_forward_parts (d, p, t, dref, ws, &ref);
  g_free (ws);

  /* the GPU as the backend calls it: the CPU's workspace size */
  float *p_d = dev_from (p, count), *t_d = dev_from (t, count);
  float *ws_d = nws ? dev_poisoned (nws) : NULL;
  float *g_d = dev_poisoned (count), *parts_d = dev_poisoned (4);
  OK (pf_cuda_loss_forward (ctx, d, p_d, t_d, g_d, ws_d, parts_d, &error));
  float *parts = host_from (parts_d, 4), *grad = host_from (g_d, count);
  check_parts (what, parts, &ref);
  for (size_t i = 0; i < count; i++)
    if (!isfinite (grad[i]))
      g_error ("%s: gradient element %zu is %g (not written?)", what, i, (double) grad[i]);
  char *gwhat = g_strdup_printf ("%s gradient", what);
  pf_assert_close (gwhat, grad, dref, count, TOL_GRAD);
  g_free (gwhat);

  /* a second run: the same bits (fixed-order reductions) */
  float *g2_d = dev_poisoned (count), *parts2_d = dev_poisoned (4);
  OK (pf_cuda_loss_forward (ctx, d, p_d, t_d, g2_d, ws_d, parts2_d, &error));
  float *parts2 = host_from (parts2_d, 4), *grad2 = host_from (g2_d, count);
  assert_same_bits ("parts", parts, parts2, 4);
  assert_same_bits ("gradient", grad, grad2, count);
  g_free (parts2);
  g_free (grad2);

  /* value only (dpred NULL): the same parts */
  OK (pf_cuda_fill (ctx, 4, NAN, parts2_d, &error));
  OK (pf_cuda_loss_forward (ctx, d, p_d, t_d, NULL, ws_d, parts2_d, &error));
  parts2 = host_from (parts2_d, 4);
  assert_same_bits ("value-only parts", parts, parts2, 4);
  g_free (parts2);

  /* a workspace of exactly pf_cuda_loss_workspace_floats: used alone, nothing past its end */
  size_t need = pf_cuda_loss_workspace_floats (d);
  g_assert_cmpuint (need, >, 0);
  float *big_d = dev_poisoned (need + GUARD);
  OK (pf_cuda_fill (ctx, count, NAN, g2_d, &error));
  OK (pf_cuda_fill (ctx, 4, NAN, parts2_d, &error));
  OK (pf_cuda_loss_forward_ws (ctx, d, p_d, t_d, g2_d, big_d, need, parts2_d, &error));
  parts2 = host_from (parts2_d, 4);
  grad2 = host_from (g2_d, count);
  assert_same_bits ("parts (own workspace)", parts, parts2, 4);
  assert_same_bits ("gradient (own workspace)", grad, grad2, count);
  float *guard = host_from (big_d + need, GUARD);
  for (int i = 0; i < GUARD; i++)
    if (!isnan (guard[i]))
      g_error ("%s: the loss wrote past pf_cuda_loss_workspace_floats (%zu floats)", what, need);
  g_free (guard);
  g_free (parts2);
  g_free (grad2);

  dev_free (big_d);
  dev_free (g2_d);
  dev_free (parts2_d);
  dev_free (p_d);
  dev_free (t_d);
  if (ws_d)
    dev_free (ws_d);
  dev_free (g_d);
  dev_free (parts_d);
  g_free (parts);
  g_free (grad);
  g_free (p);
  g_free (t);
  g_free (dref);
  g_rand_free (r);
  g_free (what);
}

/* Every shape the CPU loss accepts; the others must be refused by the GPU entry point too. */
static void
check_kind (PfLossKind kind, gboolean paper)
{
  NEED_GPU ();
  for (guint s = 0; s < G_N_ELEMENTS (shapes); s++)
    {
      PfLossDesc d;
      pf_loss_desc_init (&d, kind, shapes[s].n, shapes[s].h, shapes[s].w);
      d.paper_compat = paper;
      if (!pf_loss_desc_check (&d, NULL))
        {
          GError *error = NULL;
          float *dummy = dev_poisoned (4);
          g_assert_false (pf_cuda_loss_forward (ctx, &d, dummy, dummy, NULL, NULL, dummy, &error));
          g_assert_error (error, PF_ERROR, PF_ERROR_SHAPE);
          g_test_message ("refused as on the CPU: %s", error->message);
          g_clear_error (&error);
          dev_free (dummy);
          continue;
        }
      check_case (&d, 1000 + 100 * kind + 10 * paper + s);
    }
}

static void test_mse (void) { check_kind (PF_LOSS_MSE, FALSE); }
static void test_mse_paper (void) { check_kind (PF_LOSS_MSE, TRUE); }
static void test_wmse (void) { check_kind (PF_LOSS_WMSE, FALSE); }
static void test_wmse_paper (void) { check_kind (PF_LOSS_WMSE, TRUE); }
static void test_ssim (void) { check_kind (PF_LOSS_SSIM, FALSE); }
static void test_ssim_paper (void) { check_kind (PF_LOSS_SSIM, TRUE); }
static void test_mix (void) { check_kind (PF_LOSS_MIX, FALSE); }
static void test_mix_paper (void) { check_kind (PF_LOSS_MIX, TRUE); }

/* lambda and the data range reach the kernels */
static void
test_params (void)
{
  NEED_GPU ();
  for (int paper = 0; paper < 2; paper++)
    {
      PfLossDesc d;
      pf_loss_desc_init (&d, PF_LOSS_MIX, 3, 23, 31);
      d.paper_compat = paper;
      d.lambda = 0.7f;
      d.data_range = 0.25f;
      check_case (&d, 77 + paper);
      d.kind = PF_LOSS_SSIM;
      d.data_range = 3.0f;
      check_case (&d, 79 + paper);
    }
}

/* bad input is an error, not a crash */
static void
test_errors (void)
{
  NEED_GPU ();
  GError *error = NULL;
  PfLossDesc d;
  float *buf = dev_poisoned (64 * 64);
  pf_loss_desc_init (&d, PF_LOSS_SSIM, 1, 10, 30); /* the valid 11x11 window does not fit */
  g_assert_false (pf_cuda_loss_forward (ctx, &d, buf, buf, buf, buf, buf, &error));
  g_assert_error (error, PF_ERROR, PF_ERROR_SHAPE);
  g_clear_error (&error);
  g_assert_cmpuint (pf_cuda_loss_workspace_floats (&d), ==, 0);
  pf_loss_desc_init (&d, PF_LOSS_MSE, 1, 8, 8);
  g_assert_false (pf_cuda_loss_forward (ctx, &d, NULL, buf, buf, NULL, buf, &error));
  g_assert_error (error, PF_CUDA_ERROR, PF_CUDA_ERROR_INVALID);
  g_clear_error (&error);
  pf_loss_desc_init (&d, PF_LOSS_MIX, 1, 56, 56);
  d.lambda = NAN;
  g_assert_false (pf_cuda_loss_forward (ctx, &d, buf, buf, buf, buf, buf, &error));
  g_assert_error (error, PF_ERROR, PF_ERROR_INVALID);
  g_clear_error (&error);
  dev_free (buf);
}

/* Not a timed test (tests never assert on time): prints what one loss call costs at the
 * paper's batch sizes, for whoever reads the log. */
static void
test_throughput (void)
{
  NEED_REAL_GPU ("a timing");
  static const PfLossKind kinds[] = { PF_LOSS_MSE, PF_LOSS_WMSE, PF_LOSS_SSIM, PF_LOSS_MIX };
  const int n = 1000, reps = 20;
  const size_t count = (size_t) n * 56 * 56;
  GRand *r = g_rand_new_with_seed (5);
  float *p, *t;
  calo_pair (r, count, &p, &t);
  float *p_d = dev_from (p, count), *t_d = dev_from (t, count);
  float *g_d = dev_poisoned (count), *parts_d = dev_poisoned (4);
  for (guint k = 0; k < G_N_ELEMENTS (kinds); k++)
    for (int paper = 0; paper < 2; paper++)
      {
        PfLossDesc d;
        pf_loss_desc_init (&d, kinds[k], n, 56, 56);
        d.paper_compat = paper;
        size_t need = pf_cuda_loss_workspace_floats (&d);
        float *ws_d = dev_poisoned (need);
        OK (pf_cuda_loss_forward_ws (ctx, &d, p_d, t_d, g_d, ws_d, need, parts_d, &error));
        OK (pf_cuda_synchronize (ctx, &error));
        gint64 t0 = g_get_monotonic_time ();
        for (int i = 0; i < reps; i++)
          OK (pf_cuda_loss_forward_ws (ctx, &d, p_d, t_d, g_d, ws_d, need, parts_d, &error));
        OK (pf_cuda_synchronize (ctx, &error));
        double us = (double) (g_get_monotonic_time () - t0) / reps;
        g_test_message ("%s%s, %d x 56x56 with gradient: %.1f us per call (workspace %.1f MiB)",
                        pf_loss_kind_name (d.kind), paper ? " (paper)" : "", n, us,
                        need * 4.0 / (1 << 20));
        dev_free (ws_d);
      }
  dev_free (p_d);
  dev_free (t_d);
  dev_free (g_d);
  dev_free (parts_d);
  g_free (p);
  g_free (t);
  g_rand_free (r);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  pf_test_cuda_open ("GPU losses");

  g_test_add_func ("/cuda-loss/mse", test_mse);
  g_test_add_func ("/cuda-loss/mse-paper", test_mse_paper);
  g_test_add_func ("/cuda-loss/wmse", test_wmse);
  g_test_add_func ("/cuda-loss/wmse-paper", test_wmse_paper);
  g_test_add_func ("/cuda-loss/ssim", test_ssim);
  g_test_add_func ("/cuda-loss/ssim-paper", test_ssim_paper);
  g_test_add_func ("/cuda-loss/mix", test_mix);
  g_test_add_func ("/cuda-loss/mix-paper", test_mix_paper);
  g_test_add_func ("/cuda-loss/params", test_params);
  g_test_add_func ("/cuda-loss/errors", test_errors);
  g_test_add_func ("/cuda-loss/throughput", test_throughput);
  int rc = g_test_run ();
  pf_cuda_context_free (ctx);
  g_free (skip_reason);
  return rc;
}

#else /* !PF_HAVE_CUDA */

PF_TEST_MAIN_WITHOUT_CUDA ("/cuda-loss/not-built", "GPU losses")

#endif
