/* test-cuda-attn.c — the SE and attention ops on CUDA (kernels/pf-cuda-attn.cu and
 * kernels/pf-backend-cuda-attn.c) against the CPU reference.
 *
 * Op level: global average pooling, channel scale, bmm (all four transpose cases), softmax,
 * the fused attention (softmax(scale Q K^T) V against the three reference ops it replaces) and
 * permute run on random data (never zeros) with their outputs poisoned with NaN first, and
 * their backward passes start from random gradients, so the accumulate (+=) contract and the
 * NULL-gradient skip are checked too. Shapes include sizes that are not multiples of the block
 * (256), the warp (32) or the permute tile (32), both plane-sum paths (warp per plane, block per
 * plane) and more permute slices than one grid dimension holds. Tolerances: relative error
 * 1e-4 forward, 1e-3 backward; permute moves values without arithmetic (one addition in
 * backward, the same on both sides) and must match exactly.
 *
 * Graph level: se-s1 and rowatt-s1 (its attention fused, and unfused) planned on
 * PF_DEVICE_CUDA with the CPU reference plan's weights uploaded: the inference output (1e-4), then one WMSE training
 * step: the loss (1e-4), every parameter gradient and every parameter after the Adam update
 * (1e-3), except the tensors whose exact gradient is zero (pf_test_noise_tensors).
 *
 * Without a GPU (or without a CUDA build) every test that needs one skips and says why;
 * /cuda-attn/invalid checks the shape validation, which runs before any CUDA call. */
#include <glib.h>
#include <math.h>
#include <string.h>
#include "pf-test-util.h"

#ifdef PF_HAVE_CUDA
#include "pf-test-cuda-graph.h"
#include "pf-ops.h"
#include "pf-cuda.h"
#include "pf-cuda-attn.h"
#include "pf-test-cuda.h"
#include "pf-test-graph.h"
#include "pf-backend.h"
#include "pf-backend-cuda.h"
#include "pf-model.h"
#include "pf-rng.h"
#include "pf-train-step.h"

#define TOL_EXACT 1e-30

static void
free_all (float **p, guint n, gboolean device)
{
  for (guint i = 0; i < n; i++)
    if (device)
      dev_free (p[i]);
    else
      g_free (p[i]);
}

/* ---- shape validation (no GPU needed: checked before the context is used) ---------------- */
static void
test_invalid (void)
{
  GError *error = NULL;
  float dummy = 1.0f;
  g_assert_false (pf_cuda_bmm_forward (NULL, 2, 0, 3, 4, false, false, &dummy, &dummy, &dummy, &error));
  g_assert_error (error, PF_CUDA_ERROR, PF_CUDA_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (pf_cuda_attention_forward (NULL, 0, 20, 32, 1.0f, &dummy, &dummy, &dummy, &dummy,
                                             &dummy, &error));
  g_assert_error (error, PF_CUDA_ERROR, PF_CUDA_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (pf_cuda_attention_backward (NULL, 3, 20, -1, 1.0f, &dummy, &dummy, &dummy, &dummy,
                                              &dummy, &dummy, &dummy, &dummy, &error));
  g_assert_error (error, PF_CUDA_ERROR, PF_CUDA_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (pf_cuda_softmax_forward (NULL, 4, -1, 1.0f, &dummy, &dummy, &error));
  g_assert_error (error, PF_CUDA_ERROR, PF_CUDA_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (pf_cuda_global_avgpool_forward (NULL, 1, 0, 4, &dummy, &dummy, &error));
  g_assert_error (error, PF_CUDA_ERROR, PF_CUDA_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (pf_cuda_channel_scale_backward (NULL, 1, 2, 0, &dummy, &dummy, &dummy, NULL, NULL, &error));
  g_assert_error (error, PF_CUDA_ERROR, PF_CUDA_ERROR_INVALID);
  g_clear_error (&error);
  const int shape[3] = { 2, 3, 4 }, dup[3] = { 0, 1, 1 }, out_of_range[3] = { 0, 3, 1 };
  g_assert_false (pf_cuda_permute_forward (NULL, 3, shape, dup, &dummy, &dummy, &error));
  g_assert_error (error, PF_CUDA_ERROR, PF_CUDA_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (pf_cuda_permute_backward (NULL, 3, shape, out_of_range, &dummy, &dummy, FALSE, &error));
  g_assert_error (error, PF_CUDA_ERROR, PF_CUDA_ERROR_INVALID);
  g_clear_error (&error);
  const int seven[7] = { 1, 1, 1, 1, 1, 1, 1 }, id7[7] = { 0, 1, 2, 3, 4, 5, 6 };
  g_assert_false (pf_cuda_permute_forward (NULL, 7, seven, id7, &dummy, &dummy, &error));
  g_assert_error (error, PF_CUDA_ERROR, PF_CUDA_ERROR_INVALID);
  g_clear_error (&error);
}

/* ---- global average pooling and channel scale ------------------------------------------ */
static void
check_channel_ops (int n, int c, int hw, guint32 seed)
{
  GRand *r = g_rand_new_with_seed (seed);
  const size_t nx = (size_t) n * c * hw, ns = (size_t) n * c;
  float *x = rand_host (r, nx, -1, 2), *s = rand_host (r, ns, 0, 1);
  float *dyx = rand_host (r, nx, -1, 1), *dys = rand_host (r, ns, -1, 1);
  float *dx0 = rand_host (r, nx, -1, 1), *ds0 = rand_host (r, ns, -1, 1);
  float *x_d = dev_from (x, nx), *s_d = dev_from (s, ns);
  float *dyx_d = dev_from (dyx, nx), *dys_d = dev_from (dys, ns);
  char *what;

  /* global average pooling */
  float *p_ref = g_new (float, ns), *p_d = dev_poisoned (ns);
  pf_global_avgpool_forward_ref (n, c, hw, x, p_ref);
  OK (pf_cuda_global_avgpool_forward (ctx, n, c, hw, x_d, p_d, &error));
  what = g_strdup_printf ("avgpool forward [%d, %d, %d]", n, c, hw);
  check_dev (what, p_d, p_ref, ns, TOL_FWD);
  g_free (what);
  float *dx_ref = dup_floats (dx0, nx), *dx_d = dev_from (dx0, nx);
  pf_global_avgpool_backward_ref (n, c, hw, dys, dx_ref);
  OK (pf_cuda_global_avgpool_backward (ctx, n, c, hw, dys_d, NULL, &error));
  OK (pf_cuda_global_avgpool_backward (ctx, n, c, hw, dys_d, dx_d, &error));
  what = g_strdup_printf ("avgpool backward dx [%d, %d, %d]", n, c, hw);
  check_dev (what, dx_d, dx_ref, nx, TOL_BWD);
  g_free (what);

  /* channel scale */
  float *y_ref = g_new (float, nx), *y_d = dev_poisoned (nx);
  pf_channel_scale_forward_ref (n, c, hw, x, s, y_ref);
  OK (pf_cuda_channel_scale_forward (ctx, n, c, hw, x_d, s_d, y_d, &error));
  what = g_strdup_printf ("channel scale forward [%d, %d, %d]", n, c, hw);
  check_dev (what, y_d, y_ref, nx, TOL_FWD);
  g_free (what);
  memcpy (dx_ref, dx0, nx * sizeof (float));
  float *ds_ref = dup_floats (ds0, ns);
  pf_channel_scale_backward_ref (n, c, hw, x, s, dyx, dx_ref, ds_ref);
  OK (pf_cuda_copy_to_device (ctx, dx_d, dx0, nx * sizeof (float), &error));
  float *ds_d = dev_from (ds0, ns);
  /* in two calls: each NULL must leave the other buffer alone */
  OK (pf_cuda_channel_scale_backward (ctx, n, c, hw, x_d, s_d, dyx_d, NULL, ds_d, &error));
  check_dev ("channel scale backward: dx untouched", dx_d, dx0, nx, TOL_EXACT);
  OK (pf_cuda_channel_scale_backward (ctx, n, c, hw, x_d, s_d, dyx_d, dx_d, NULL, &error));
  what = g_strdup_printf ("channel scale backward dx [%d, %d, %d]", n, c, hw);
  check_dev (what, dx_d, dx_ref, nx, TOL_BWD);
  g_free (what);
  what = g_strdup_printf ("channel scale backward ds [%d, %d, %d]", n, c, hw);
  check_dev (what, ds_d, ds_ref, ns, TOL_BWD);
  g_free (what);

  float *devs[] = { x_d, s_d, dyx_d, dys_d, p_d, dx_d, y_d, ds_d };
  free_all (devs, G_N_ELEMENTS (devs), TRUE);
  float *hosts[] = { x, s, dyx, dys, dx0, ds0, p_ref, dx_ref, y_ref, ds_ref };
  free_all (hosts, G_N_ELEMENTS (hosts), FALSE);
  g_rand_free (r);
}

static void
test_channel_ops (void)
{
  NEED_GPU ();
  check_channel_ops (3, 5, 37, 101);    /* warp per plane, odd sizes */
  check_channel_ops (2, 3, 1500, 102);  /* block per plane (hw >= 1024), not a block multiple */
  check_channel_ops (4, 32, 400, 103);  /* se-s1's shape at 20x20 */
  check_channel_ops (1, 7, 1, 104);     /* 1x1 planes */
  check_channel_ops (70, 40, 9, 105);   /* more planes than one pass of warps */
}

/* ---- bmm ---------------------------------------------------------------------------------- */
static void
check_bmm (int batch, int m, int n, int k, bool ta, bool tb, guint32 seed)
{
  GRand *r = g_rand_new_with_seed (seed);
  const size_t na = (size_t) batch * m * k, nb = (size_t) batch * k * n, nc = (size_t) batch * m * n;
  float *a = rand_host (r, na, -1, 1), *b = rand_host (r, nb, -1, 1), *dc = rand_host (r, nc, -1, 1);
  float *da0 = rand_host (r, na, -1, 1), *db0 = rand_host (r, nb, -1, 1);
  float *a_d = dev_from (a, na), *b_d = dev_from (b, nb), *dc_d = dev_from (dc, nc);
  char *what;

  float *c_ref = g_new (float, nc), *c_d = dev_poisoned (nc);
  pf_bmm_forward_ref (batch, m, n, k, ta, tb, a, b, c_ref);
  OK (pf_cuda_bmm_forward (ctx, batch, m, n, k, ta, tb, a_d, b_d, c_d, &error));
  what = g_strdup_printf ("bmm forward b%d m%d n%d k%d ta%d tb%d", batch, m, n, k, ta, tb);
  check_dev (what, c_d, c_ref, nc, TOL_FWD);
  g_free (what);

  float *da_ref = dup_floats (da0, na), *db_ref = dup_floats (db0, nb);
  pf_bmm_backward_ref (batch, m, n, k, ta, tb, a, b, dc, da_ref, db_ref);
  float *da_d = dev_from (da0, na), *db_d = dev_from (db0, nb);
  OK (pf_cuda_bmm_backward (ctx, batch, m, n, k, ta, tb, a_d, b_d, dc_d, NULL, db_d, &error));
  check_dev ("bmm backward: da untouched", da_d, da0, na, TOL_EXACT);
  OK (pf_cuda_bmm_backward (ctx, batch, m, n, k, ta, tb, a_d, b_d, dc_d, da_d, NULL, &error));
  what = g_strdup_printf ("bmm backward da b%d m%d n%d k%d ta%d tb%d", batch, m, n, k, ta, tb);
  check_dev (what, da_d, da_ref, na, TOL_BWD);
  g_free (what);
  what = g_strdup_printf ("bmm backward db b%d m%d n%d k%d ta%d tb%d", batch, m, n, k, ta, tb);
  check_dev (what, db_d, db_ref, nb, TOL_BWD);
  g_free (what);

  float *devs[] = { a_d, b_d, dc_d, c_d, da_d, db_d };
  free_all (devs, G_N_ELEMENTS (devs), TRUE);
  float *hosts[] = { a, b, dc, da0, db0, c_ref, da_ref, db_ref };
  free_all (hosts, G_N_ELEMENTS (hosts), FALSE);
  g_rand_free (r);
}

static void
test_bmm (void)
{
  NEED_GPU ();
  g_assert_cmpint (pf_cuda_context_get_precision (ctx), ==, PF_CUDA_PRECISION_FP32); /* the tolerances assume full FP32 */
  static const int shapes[][4] = {
    { 3, 17, 33, 9 },   /* batch, m, n, k: odd sizes */
    { 5, 40, 7, 65 },
    { 60, 20, 20, 32 }, /* rowatt-s1 at 20x20, batch 3: scores and output */
    { 2, 25, 25, 256 }, /* cnn-sa's scores (C = 256) on a 5x5 map */
    { 1, 1, 1, 1 },
  };
  for (guint i = 0; i < G_N_ELEMENTS (shapes); i++)
    for (int t = 0; t < 4; t++)
      check_bmm (shapes[i][0], shapes[i][1], shapes[i][2], shapes[i][3], t & 1, (t >> 1) & 1,
                 200 + 4 * i + t);
}

/* ---- softmax -------------------------------------------------------------------------- */
static void
check_softmax (int rows, int cols, float scale, double lo, double hi, guint32 seed)
{
  GRand *r = g_rand_new_with_seed (seed);
  const size_t nx = (size_t) rows * cols;
  float *x = rand_host (r, nx, lo, hi), *dy = rand_host (r, nx, -1, 1), *dx0 = rand_host (r, nx, -1, 1);
  float *x_d = dev_from (x, nx), *y_d = dev_poisoned (nx);
  float *y_ref = g_new (float, nx);
  char *what;
  pf_softmax_forward_ref (rows, cols, scale, x, y_ref);
  OK (pf_cuda_softmax_forward (ctx, rows, cols, scale, x_d, y_d, &error));
  what = g_strdup_printf ("softmax forward [%d, %d] scale %g, x in [%g, %g]", rows, cols, scale, lo, hi);
  check_dev (what, y_d, y_ref, nx, TOL_FWD);
  g_free (what);

  /* backward from the CPU's y on both sides, so only the backward op is compared */
  float *dx_ref = dup_floats (dx0, nx);
  pf_softmax_backward_ref (rows, cols, scale, y_ref, dy, dx_ref);
  float *yr_d = dev_from (y_ref, nx), *dy_d = dev_from (dy, nx), *dx_d = dev_from (dx0, nx);
  OK (pf_cuda_softmax_backward (ctx, rows, cols, scale, yr_d, dy_d, NULL, &error));
  OK (pf_cuda_softmax_backward (ctx, rows, cols, scale, yr_d, dy_d, dx_d, &error));
  what = g_strdup_printf ("softmax backward [%d, %d] scale %g", rows, cols, scale);
  check_dev (what, dx_d, dx_ref, nx, TOL_BWD);
  g_free (what);

  float *devs[] = { x_d, y_d, yr_d, dy_d, dx_d };
  free_all (devs, G_N_ELEMENTS (devs), TRUE);
  float *hosts[] = { x, dy, dx0, y_ref, dx_ref };
  free_all (hosts, G_N_ELEMENTS (hosts), FALSE);
  g_rand_free (r);
}

static void
test_softmax (void)
{
  NEED_GPU ();
  check_softmax (37, 20, 1.0f / sqrtf (32.0f), -3, 3, 301); /* rowatt: a row of 20 tokens */
  check_softmax (5, 300, 1.0f, -3, 3, 302);                  /* rows longer than a warp */
  check_softmax (1000, 1, 1.0f, -3, 3, 303);                 /* one column: all ones */
  check_softmax (50, 196, 1.0f, -80, 80, 304);               /* logits that overflow exp unshifted */
  check_softmax (3000, 33, 0.5f, -3, 3, 305);                /* more rows than one pass of warps */
}

/* ---- fused attention ------------------------------------------------------------------- */
/* pf_cuda_attention_* against the reference ops they fuse: scores = q k^T (bmm), p =
 * softmax(scale scores), o = p v (bmm), and the three backward passes in reverse. */
static void
check_attention (int batch, int len, int dim, guint32 seed)
{
  GRand *r = g_rand_new_with_seed (seed);
  const size_t nm = (size_t) batch * len * dim, np = (size_t) batch * len * len;
  const float scale = 1.0f / sqrtf ((float) dim);
  float *q = rand_host (r, nm, -1, 1), *k = rand_host (r, nm, -1, 1), *v = rand_host (r, nm, -1, 1);
  float *dout = rand_host (r, nm, -1, 1);
  float *dq0 = rand_host (r, nm, -1, 1), *dk0 = rand_host (r, nm, -1, 1), *dv0 = rand_host (r, nm, -1, 1);
  float *scores = g_new (float, np), *p_ref = g_new (float, np), *o_ref = g_new (float, nm);
  pf_bmm_forward_ref (batch, len, len, dim, false, true, q, k, scores);
  pf_softmax_forward_ref (batch * len, len, scale, scores, p_ref);
  pf_bmm_forward_ref (batch, len, dim, len, false, false, p_ref, v, o_ref);

  float *q_d = dev_from (q, nm), *k_d = dev_from (k, nm), *v_d = dev_from (v, nm);
  float *p_d = dev_poisoned (np), *o_d = dev_poisoned (nm);
  OK (pf_cuda_attention_forward (ctx, batch, len, dim, scale, q_d, k_d, v_d, p_d, o_d, &error));
  char *what = g_strdup_printf ("attention forward p, b%d len%d dim%d", batch, len, dim);
  check_dev (what, p_d, p_ref, np, TOL_FWD);
  g_free (what);
  what = g_strdup_printf ("attention forward o, b%d len%d dim%d", batch, len, dim);
  check_dev (what, o_d, o_ref, nm, TOL_FWD);
  g_free (what);

  /* backward from the reference p, so that it is checked on its own */
  float *dp = g_new0 (float, np), *ds = g_new0 (float, np);
  float *dq_ref = dup_floats (dq0, nm), *dk_ref = dup_floats (dk0, nm), *dv_ref = dup_floats (dv0, nm);
  pf_bmm_backward_ref (batch, len, dim, len, false, false, p_ref, v, dout, dp, dv_ref);
  pf_softmax_backward_ref (batch * len, len, scale, p_ref, dp, ds);
  pf_bmm_backward_ref (batch, len, len, dim, false, true, q, k, ds, dq_ref, dk_ref);
  float *pr_d = dev_from (p_ref, np), *dout_d = dev_from (dout, nm);
  float *dq_d = dev_from (dq0, nm), *dk_d = dev_from (dk0, nm), *dv_d = dev_from (dv0, nm);
  /* each gradient alone, the others NULL (skipped), so each is written once */
  OK (pf_cuda_attention_backward (ctx, batch, len, dim, scale, q_d, k_d, v_d, pr_d, dout_d, NULL,
                                  NULL, dv_d, &error));
  OK (pf_cuda_attention_backward (ctx, batch, len, dim, scale, q_d, k_d, v_d, pr_d, dout_d, dq_d,
                                  NULL, NULL, &error));
  OK (pf_cuda_attention_backward (ctx, batch, len, dim, scale, q_d, k_d, v_d, pr_d, dout_d, NULL,
                                  dk_d, NULL, &error));
  OK (pf_cuda_attention_backward (ctx, batch, len, dim, scale, q_d, k_d, v_d, pr_d, dout_d, NULL,
                                  NULL, NULL, &error));
  const char *names[] = { "dq", "dk", "dv" };
  float *got[] = { dq_d, dk_d, dv_d }, *want[] = { dq_ref, dk_ref, dv_ref };
  for (int i = 0; i < 3; i++)
    {
      what = g_strdup_printf ("attention backward %s, b%d len%d dim%d", names[i], batch, len, dim);
      check_dev (what, got[i], want[i], nm, TOL_BWD);
      g_free (what);
    }
  /* and all three in one call */
  float *all[] = { dev_from (dq0, nm), dev_from (dk0, nm), dev_from (dv0, nm) };
  OK (pf_cuda_attention_backward (ctx, batch, len, dim, scale, q_d, k_d, v_d, pr_d, dout_d, all[0],
                                  all[1], all[2], &error));
  for (int i = 0; i < 3; i++)
    {
      what = g_strdup_printf ("attention backward %s (all three), b%d len%d dim%d", names[i],
                              batch, len, dim);
      check_dev (what, all[i], want[i], nm, TOL_BWD);
      g_free (what);
    }

  float *devs[] = { q_d, k_d, v_d, p_d, o_d, pr_d, dout_d, dq_d, dk_d, dv_d, all[0], all[1], all[2] };
  free_all (devs, G_N_ELEMENTS (devs), TRUE);
  float *hosts[] = { q, k, v, dout, dq0, dk0, dv0, scores, p_ref, o_ref, dp, ds, dq_ref, dk_ref, dv_ref };
  free_all (hosts, G_N_ELEMENTS (hosts), FALSE);
  g_rand_free (r);
}

static void
test_attention (void)
{
  NEED_GPU ();
  static const int shapes[][3] = {
    { 60, 20, 32 }, /* batch, len, dim: rowatt-s1 at 20x20, batch 3 */
    { 9, 56, 32 },  /* rowatt-s1 rows */
    { 5, 56, 64 },  /* rowatt-s2 rows: more than 48 KiB of shared memory */
    { 3, 64, 64 },  /* the largest served */
    { 4, 33, 5 },   /* odd sizes, a row longer than a warp */
    { 7, 1, 1 },
  };
  for (guint i = 0; i < G_N_ELEMENTS (shapes); i++)
    check_attention (shapes[i][0], shapes[i][1], shapes[i][2], 500 + i);

  /* what the kernels do not serve is refused, not run */
  g_assert_true (pf_cuda_attention_fits (ctx, 56, 64));
  g_assert_false (pf_cuda_attention_fits (ctx, 65, 32));
  g_assert_false (pf_cuda_attention_fits (ctx, 56, 128)); /* rowatt-s3: the unfused ops */
  float dummy = 1.0f;
  GError *error = NULL;
  g_assert_false (pf_cuda_attention_forward (ctx, 2, 20, 256, 1.0f, &dummy, &dummy, &dummy,
                                             &dummy, &dummy, &error));
  g_assert_error (error, PF_CUDA_ERROR, PF_CUDA_ERROR_INVALID);
  g_clear_error (&error);
}

/* ---- permute -------------------------------------------------------------------------- */
static void
check_permute (int ndim, const int *shape, const int *perm, guint32 seed)
{
  GRand *r = g_rand_new_with_seed (seed);
  size_t nx = 1;
  for (int i = 0; i < ndim; i++)
    nx *= (size_t) shape[i];
  GString *desc = g_string_new ("[");
  for (int i = 0; i < ndim; i++)
    g_string_append_printf (desc, "%s%d", i ? ", " : "", shape[i]);
  g_string_append (desc, "] perm (");
  for (int i = 0; i < ndim; i++)
    g_string_append_printf (desc, "%s%d", i ? ", " : "", perm[i]);
  g_string_append (desc, ")");
  float *x = rand_host (r, nx, -1, 1), *dy = rand_host (r, nx, -1, 1), *dx0 = rand_host (r, nx, -1, 1);
  float *x_d = dev_from (x, nx), *y_d = dev_poisoned (nx), *y_ref = g_new (float, nx);
  char *what;
  pf_permute_forward_ref (ndim, shape, perm, x, y_ref);
  OK (pf_cuda_permute_forward (ctx, ndim, shape, perm, x_d, y_d, &error));
  what = g_strdup_printf ("permute forward %s", desc->str);
  check_dev (what, y_d, y_ref, nx, TOL_EXACT);
  g_free (what);

  float *dx_ref = dup_floats (dx0, nx);
  pf_permute_backward_ref (ndim, shape, perm, dy, dx_ref);
  float *dy_d = dev_from (dy, nx), *dx_d = dev_from (dx0, nx);
  OK (pf_cuda_permute_backward (ctx, ndim, shape, perm, dy_d, NULL, FALSE, &error));
  OK (pf_cuda_permute_backward (ctx, ndim, shape, perm, dy_d, dx_d, FALSE, &error));
  what = g_strdup_printf ("permute backward %s", desc->str);
  check_dev (what, dx_d, dx_ref, nx, TOL_EXACT);
  g_free (what);
  /* set_dx: dx written over NaN, which is never read */
  float *dxs_ref = g_new0 (float, nx);
  pf_permute_backward_ref (ndim, shape, perm, dy, dxs_ref);
  OK (pf_cuda_fill (ctx, nx, NAN, dx_d, &error));
  OK (pf_cuda_permute_backward (ctx, ndim, shape, perm, dy_d, dx_d, TRUE, &error));
  what = g_strdup_printf ("permute backward %s, set (not added)", desc->str);
  check_dev (what, dx_d, dxs_ref, nx, TOL_EXACT);
  g_free (what);
  g_free (dxs_ref);

  float *devs[] = { x_d, y_d, dy_d, dx_d };
  free_all (devs, G_N_ELEMENTS (devs), TRUE);
  float *hosts[] = { x, dy, dx0, y_ref, dx_ref };
  free_all (hosts, G_N_ELEMENTS (hosts), FALSE);
  g_string_free (desc, TRUE);
  g_rand_free (r);
}

static void
test_permute (void)
{
  NEED_GPU ();
  static const struct { int ndim; int shape[6]; int perm[6]; } cases[] = {
    { 4, { 3, 32, 20, 20 }, { 0, 2, 3, 1 } },   /* rowatt: [B, C, H, W] -> [B, H, W, C] (tiled) */
    { 4, { 3, 20, 20, 32 }, { 0, 3, 1, 2 } },   /* and back */
    { 4, { 2, 5, 7, 3 }, { 0, 2, 3, 1 } },      /* tiles larger than the axes */
    { 4, { 2, 37, 33, 70 }, { 0, 3, 1, 2 } },   /* partial tiles on both axes */
    { 4, { 3, 4, 5, 6 }, { 0, 2, 1, 3 } },      /* innermost axis stays (the LSTM model's) */
    { 2, { 33, 65 }, { 1, 0 } },                /* plain transpose */
    { 3, { 40, 3, 70 }, { 2, 1, 0 } },          /* a middle axis between the tiled ones */
    { 6, { 2, 3, 1, 4, 5, 2 }, { 5, 3, 0, 2, 1, 4 } }, /* six axes, one of size 1 */
    { 3, { 1, 1, 1 }, { 2, 0, 1 } },            /* a single element */
    { 3, { 4, 5, 6 }, { 0, 1, 2 } },            /* identity */
    { 3, { 70000, 2, 3 }, { 0, 2, 1 } },        /* more tile slices than gridDim.z holds */
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    check_permute (cases[i].ndim, cases[i].shape, cases[i].perm, 400 + i);
}

/* ---- graph level: se-s1 and rowatt-s1 --------------------------------------------------- */
#define BATCH 3
#define SIZE 20
#define SEED 17
#define LR 1e-3

static void
fill_sparse (float *v, size_t n, uint32_t stream)
{
  pf_test_fill_sparse (v, n, SEED, stream);
}

static PfGraph *
build_planned (const char *model, PfDevice device)
{
  GError *error = NULL;
  PfGraph *g = pf_model_build (model, 1, BATCH, SIZE, &error);
  g_assert_no_error (error);
  /* the CPU side runs the plain reference ops: the oracle */
  PfPlanOptions opts = { device, true, device == PF_DEVICE_CPU, SEED };
  if (!pf_graph_plan (g, &opts, &error))
    g_error ("planning %s on %s: %s", model, device == PF_DEVICE_CUDA ? "CUDA" : "CPU", error->message);
  return g;
}

static float *
download (const float *dev, size_t n)
{
  return pf_test_download (dev, n);
}

static PfTrainStep *
new_step (PfGraph *g)
{
  GError *error = NULL;
  PfLossDesc ld;
  pf_loss_desc_init (&ld, PF_LOSS_WMSE, BATCH, SIZE, SIZE);
  PfTrainStep *s = pf_train_step_new (g, &ld, LR, &error);
  g_assert_no_error (error);
  fill_sparse (pf_train_step_input (s), (size_t) BATCH * 4 * SIZE * SIZE, 1);
  fill_sparse (pf_train_step_target (s), (size_t) BATCH * SIZE * SIZE, 2);
  return s;
}

/* Each parameter tensor's gradient (grads) or value of the GPU graph against the CPU one;
 * the zero-gradient tensors are skipped. Returns how many were compared. */
static int
compare_params (PfGraph *cpu, PfGraph *gpu, GHashTable *noise, bool grads, double tol)
{
  int compared = 0;
  for (int i = 0; i < pf_graph_n_tensors (cpu); i++)
    {
      PfTensor *tc = pf_graph_tensor (cpu, i), *tg = pf_graph_tensor (gpu, i);
      if (tc->kind != PF_TENSOR_PARAM || g_hash_table_contains (noise, GINT_TO_POINTER (i)))
        continue;
      g_assert_cmpstr (tc->name, ==, tg->name);
      g_assert_cmpuint (tc->numel, ==, tg->numel);
      g_assert_nonnull (grads ? tg->grad : tg->data);
      float *h = download (grads ? tg->grad : tg->data, tg->numel);
      char *what = g_strdup_printf ("%s %s", grads ? "gradient of" : "after Adam:", tc->name);
      pf_assert_close (what, h, grads ? tc->grad : tc->data, tc->numel, tol);
      g_free (what);
      g_free (h);
      compared++;
    }
  return compared;
}

static void
test_graph (gconstpointer data)
{
  NEED_GPU ();
  const char *model = data;
  /* "rowatt-unfused": the row attention through the bmm and softmax ops one by one */
  gboolean unfused = g_str_has_suffix (model, "-unfused");
  if (unfused)
    {
      g_setenv ("PF_CUDA_UNFUSED_ATTENTION", "1", TRUE);
      model = "rowatt";
    }
  PfGraph *cpu = build_planned (model, PF_DEVICE_CPU), *gpu = build_planned (model, PF_DEVICE_CUDA);

  /* the attention and SE nodes are on this backend */
  int ours = 0;
  for (int i = 0; i < pf_graph_n_nodes (gpu); i++)
    {
      const PfNode *n = pf_graph_node (gpu, i);
      if (!n->skip && n->backend && g_strcmp0 (n->backend->name, "cuda-attn") == 0)
        ours++;
    }
  g_test_message ("%s: %d nodes on cuda-attn", model, ours);
  g_assert_cmpint (ours, >, 0);
  /* rowatt's scores bmm, softmax and output bmm run fused (20 tokens of 32 features) */
  int fused = 0;
  for (int i = 0; i < pf_graph_n_nodes (gpu); i++)
    {
      const PfNode *n = pf_graph_node (gpu, i);
      if (!pf_backend_cuda_node_fused (n))
        continue;
      fused++;
      /* the scores' and P's gradients, which nothing reads, are not zeroed; Q's is */
      g_assert_true (n->set_dx == (n->op == PF_OP_SOFTMAX || !n->d.bmm.tb));
    }
  g_assert_cmpint (fused, ==, strcmp (model, "rowatt") == 0 && !unfused ? 3 : 0);
  g_unsetenv ("PF_CUDA_UNFUSED_ATTENTION");
  /* gradients with one writer that overwrites them (not zeroed each step): the convolutions,
   * BatchNorms and permutes of this backend; none on the CPU backends */
  int set_gpu = 0, set_cpu = 0;
  for (int i = 0; i < pf_graph_n_nodes (gpu); i++)
    {
      set_gpu += pf_graph_node (gpu, i)->set_dx;
      set_cpu += pf_graph_node (cpu, i)->set_dx;
    }
  g_test_message ("%s: %d nodes write their input's gradient", model, set_gpu);
  g_assert_cmpint (set_gpu, >, 0);
  g_assert_cmpint (set_cpu, ==, 0);

  /* start from the CPU plan's weights and buffers */
  g_assert_cmpuint (pf_graph_n_params (cpu), ==, pf_graph_n_params (gpu));
  pf_test_upload_state (cpu, gpu, FALSE);

  PfTrainStep *sc = new_step (cpu), *sg = new_step (gpu);
  GError *error = NULL;
  const size_t nout = (size_t) BATCH * SIZE * SIZE;

  /* inference */
  double lc = NAN, lg = NAN;
  g_assert_true (pf_train_step_eval (sc, &lc, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (pf_train_step_eval (sg, &lg, NULL, &error));
  g_assert_no_error (error);
  NO_GPU_ERROR ();
  pf_assert_close ("inference output", pf_train_step_output (sg), pf_train_step_output (sc), nout, TOL_FWD);
  g_test_message ("%s eval WMSE: cpu %.9g cuda %.9g", model, lc, lg);
  g_assert_cmpfloat (fabs (lg - lc), <, TOL_FWD * fabs (lc));

  /* one training step */
  g_assert_true (pf_train_step_run (sc, &lc, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (pf_train_step_run (sg, &lg, NULL, &error));
  g_assert_no_error (error);
  NO_GPU_ERROR ();
  double rel = fabs (lg - lc) / fabs (lc);
  g_test_message ("%s train WMSE: cpu %.9g cuda %.9g rel %.2g", model, lc, lg, rel);
  if (!(rel < TOL_FWD))
    g_error ("%s: CUDA loss %.9g vs CPU %.9g (rel %.3g)", model, lg, lc, rel);
  pf_assert_close ("training output", pf_train_step_output (sg), pf_train_step_output (sc), nout, TOL_FWD);

  GHashTable *noise = pf_test_noise_tensors (cpu);
  /* the gradients stay in place after the Adam update */
  int n_grads = compare_params (cpu, gpu, noise, true, TOL_BWD);
  int n_params = compare_params (cpu, gpu, noise, false, TOL_BWD);
  g_assert_cmpint (n_grads, >, 0);
  g_assert_cmpint (n_grads, ==, n_params);
  g_test_message ("%s: %d parameter tensors compared, %u zero-gradient tensors skipped", model,
                  n_grads, g_hash_table_size (noise));
  g_hash_table_unref (noise);

  pf_train_step_free (sc);
  pf_train_step_free (sg);
  pf_graph_free (cpu);
  pf_graph_free (gpu);
  NO_GPU_ERROR ();
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  /* the op tests run on the graph backend's context, so the graph tests share it */
  pf_test_cuda_open_full ("CUDA attention ops", TRUE);

  g_test_add_func ("/cuda-attn/invalid", test_invalid);
  g_test_add_func ("/cuda-attn/channel-ops", test_channel_ops);
  g_test_add_func ("/cuda-attn/bmm", test_bmm);
  g_test_add_func ("/cuda-attn/softmax", test_softmax);
  g_test_add_func ("/cuda-attn/attention", test_attention);
  g_test_add_func ("/cuda-attn/permute", test_permute);
  g_test_add_data_func ("/cuda-attn/graph/se", "se", test_graph);
  g_test_add_data_func ("/cuda-attn/graph/rowatt", "rowatt", test_graph);
  g_test_add_data_func ("/cuda-attn/graph/rowatt-unfused", "rowatt-unfused", test_graph);
  int rc = g_test_run ();
  g_free (skip_reason);
  return rc;
}

#else /* !PF_HAVE_CUDA */

PF_TEST_MAIN_WITHOUT_CUDA ("/cuda-attn/not-built", "CUDA attention ops")

#endif
