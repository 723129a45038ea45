/* test-cuda-shape.c — the CUDA Conv3d and layout ops (kernels/pf-cuda-shape.h) against the CPU
 * reference ops, and the models that need them on PF_DEVICE_CUDA against the CPU plan.
 *
 * Op tests: random data (never zeros), outputs poisoned with NaN first so an element a kernel
 * forgets fails, backward passes into random existing gradients so the accumulate (+=)
 * contract is checked, several shapes including odd ones. Tolerances: relative error 1e-4
 * forward, 1e-3 backward; the dropout mask and the max-pooling argmax must be identical.
 * Graph tests: a model is planned on the CPU and on CUDA from one seed, the CPU's parameters
 * and buffers are copied to the GPU, and the inference output, one WMSE training step's loss
 * (1e-4) and every parameter gradient (1e-3, except the tensors whose exact gradient is zero,
 * pf_test_noise_tensors) are compared. A model that needs an op no CUDA backend runs yet skips
 * with the planner's message. Without a GPU (or a CUDA build) every test skips and says why. */
#include <glib.h>
#include <math.h>
#include <string.h>
#include "pf-test-util.h"

#ifdef PF_HAVE_CUDA
#include "pf-test-cuda-graph.h"
#include "pf-ops.h"
#include "pf-cuda.h"
#include "pf-cuda-shape.h"
#include "pf-test-cuda.h"
#include "pf-test-cuda-conv.h"
#include "pf-test-graph.h"
#include "pf-backend.h"
#include "pf-backend-cuda.h"
#include "pf-error.h"
#include "pf-model.h"
#include "pf-rng.h"
#include "pf-train-step.h"

static char *graph_skip_reason; /* NULL when the CUDA graph backend is registered */

static void *
dev_bytes (size_t bytes)
{
  GError *error = NULL;
  void *d = pf_cuda_malloc (ctx, MAX (bytes, 1), &error);
  g_assert_no_error (error);
  return d;
}

static void *
host_bytes_from (const void *dev, size_t bytes)
{
  void *h = g_malloc (MAX (bytes, 1));
  OK (pf_cuda_synchronize (ctx, &error));
  OK (pf_cuda_copy_to_host (ctx, h, dev, bytes, &error));
  return h;
}

/* The accumulate contract: the GPU gradient starts from dx0 and must end at ref. */
static void
check_backward (const char *what, const float *dx_d, const float *ref, size_t n)
{
  check_dev (what, dx_d, ref, n, TOL_BWD);
}

/* ---- LeakyReLU ------------------------------------------------------------------------- */
static void
test_leaky_relu (void)
{
  NEED_GPU ();
  GRand *r = g_rand_new_with_seed (31);
  const size_t sizes[] = { 1, 1000, 4099 };
  const float slopes[] = { 0.01f, 0.2f };
  for (guint s = 0; s < G_N_ELEMENTS (sizes); s++)
    for (guint k = 0; k < G_N_ELEMENTS (slopes); k++)
      {
        const size_t n = sizes[s];
        const float slope = slopes[k];
        float *x = rand_host (r, n, -1, 1), *dy = rand_host (r, n, -1, 1), *dx0 = rand_host (r, n, -1, 1);
        float *y_ref = g_new (float, n), *dx_ref = dup_floats (dx0, n);
        pf_leaky_relu_forward_ref (n, slope, x, y_ref);
        pf_leaky_relu_backward_ref (n, slope, x, dy, dx_ref);
        float *x_d = dev_from (x, n), *dy_d = dev_from (dy, n), *dx_d = dev_from (dx0, n);
        float *y_d = dev_poisoned (n);
        OK (pf_cuda_leaky_relu_forward (ctx, n, slope, x_d, y_d, &error));
        check_dev ("leaky_relu forward", y_d, y_ref, n, TOL_FWD);
        OK (pf_cuda_leaky_relu_backward (ctx, n, slope, x_d, dy_d, NULL, &error));
        OK (pf_cuda_leaky_relu_backward (ctx, n, slope, x_d, dy_d, dx_d, &error));
        check_backward ("leaky_relu backward", dx_d, dx_ref, n);
        dev_free (x_d), dev_free (dy_d), dev_free (dx_d), dev_free (y_d);
        g_free (x), g_free (dy), g_free (dx0), g_free (y_ref), g_free (dx_ref);
      }
  g_rand_free (r);
}

/* ---- dropout ----------------------------------------------------------------------------- */
static void
check_dropout (GRand *r, size_t n, float p, uint64_t seed, uint64_t step)
{
  float *x = rand_host (r, n, -1, 1), *dy = rand_host (r, n, -1, 1), *dx0 = rand_host (r, n, -1, 1);
  float *y_ref = g_new (float, n), *dx_ref = dup_floats (dx0, n);
  uint8_t *mask_ref = g_new (uint8_t, n);
  pf_dropout_forward_ref (n, p, seed, step, x, y_ref, mask_ref);
  pf_dropout_backward_ref (n, p, mask_ref, dy, dx_ref);

  float *x_d = dev_from (x, n), *dy_d = dev_from (dy, n), *dx_d = dev_from (dx0, n);
  float *y_d = dev_poisoned (n);
  uint8_t *mask_d = dev_bytes (n);
  OK (pf_cuda_memset (ctx, mask_d, 0xab, n, &error)); /* neither 0 nor 1 */
  OK (pf_cuda_dropout_forward (ctx, n, p, seed, step, x_d, y_d, mask_d, &error));
  uint8_t *mask = host_bytes_from (mask_d, n);
  size_t kept = 0;
  for (size_t i = 0; i < n; i++)
    {
      if (mask[i] != mask_ref[i])
        g_error ("dropout n=%zu p=%g step=%" G_GUINT64_FORMAT ": mask[%zu] = %u on the GPU, %u on "
                 "the CPU", n, p, (guint64) step, i, mask[i], mask_ref[i]);
      kept += mask[i];
    }
  g_test_message ("dropout n=%zu p=%g: %zu kept (%.3f)", n, p, kept, (double) kept / n);
  char *what = g_strdup_printf ("dropout forward n=%zu p=%g", n, p);
  check_dev (what, y_d, y_ref, n, TOL_FWD);
  g_free (what);
  OK (pf_cuda_dropout_backward (ctx, n, p, mask_d, dy_d, NULL, &error));
  OK (pf_cuda_dropout_backward (ctx, n, p, mask_d, dy_d, dx_d, &error));
  check_backward ("dropout backward", dx_d, dx_ref, n);

  dev_free (x_d), dev_free (dy_d), dev_free (dx_d), dev_free (y_d);
  pf_cuda_free (ctx, mask_d);
  g_free (x), g_free (dy), g_free (dx0), g_free (y_ref), g_free (dx_ref);
  g_free (mask_ref), g_free (mask);
}

static void
test_dropout (void)
{
  NEED_GPU ();
  GRand *r = g_rand_new_with_seed (41);
  const size_t sizes[] = { 1, 7, 1001, 65539 };
  const float ps[] = { 0.0f, 0.3f, 0.4f, 0.9f };
  for (guint s = 0; s < G_N_ELEMENTS (sizes); s++)
    for (guint k = 0; k < G_N_ELEMENTS (ps); k++)
      check_dropout (r, sizes[s], ps[k], 0x0123456789abcdefull + s, 5 + k);
  /* only the low 32 bits of the step count, on both sides; a graph-like derived seed */
  check_dropout (r, 4097, 0.4f, 11 * 1000003ull + 7, ((uint64_t) 1 << 32) + 3);
  g_rand_free (r);
}

/* ---- max pooling ----------------------------------------------------------------------- */
/* Values on a coarse grid (multiples of 1/4, never zero), so windows hold ties: the first
 * maximum must win on both sides. */
static float *
rand_ties (GRand *r, size_t n)
{
  float *p = g_new (float, n);
  for (size_t i = 0; i < n; i++)
    p[i] = (float) g_rand_int_range (r, 1, 5) * 0.25f * (g_rand_boolean (r) ? 1.0f : -1.0f);
  return p;
}

static void
check_maxpool (GRand *r, int nc, int h, int w)
{
  const size_t nx = (size_t) nc * h * w, ny = (size_t) nc * (h / 2) * (w / 2);
  float *x = rand_ties (r, nx), *dy = rand_host (r, ny, -1, 1), *dx0 = rand_host (r, nx, -1, 1);
  float *y_ref = g_new (float, ny), *dx_ref = dup_floats (dx0, nx);
  int32_t *am_ref = g_new (int32_t, ny);
  pf_maxpool2x2_forward_ref (nc, h, w, x, y_ref, am_ref);
  pf_maxpool2x2_backward_ref (nc, h, w, am_ref, dy, dx_ref);

  float *x_d = dev_from (x, nx), *dy_d = dev_from (dy, ny), *dx_d = dev_from (dx0, nx);
  float *y_d = dev_poisoned (ny);
  int32_t *am_d = dev_bytes (ny * sizeof (int32_t));
  OK (pf_cuda_memset (ctx, am_d, 0xff, ny * sizeof (int32_t), &error)); /* -1 everywhere */
  OK (pf_cuda_maxpool2x2_forward (ctx, nc, h, w, x_d, y_d, am_d, &error));
  char *what = g_strdup_printf ("maxpool2x2 forward %dx%dx%d", nc, h, w);
  check_dev (what, y_d, y_ref, ny, TOL_FWD);
  g_free (what);
  int32_t *am = host_bytes_from (am_d, ny * sizeof (int32_t));
  for (size_t i = 0; i < ny; i++)
    if (am[i] != am_ref[i])
      g_error ("maxpool2x2 %dx%dx%d: argmax[%zu] = %d on the GPU, %d on the CPU", nc, h, w, i,
               am[i], am_ref[i]);
  OK (pf_cuda_maxpool2x2_backward (ctx, nc, h, w, am_d, dy_d, NULL, &error));
  OK (pf_cuda_maxpool2x2_backward (ctx, nc, h, w, am_d, dy_d, dx_d, &error));
  check_backward ("maxpool2x2 backward", dx_d, dx_ref, nx);

  /* without an argmax buffer (inference) the output is the same */
  OK (pf_cuda_fill (ctx, ny, NAN, y_d, &error));
  OK (pf_cuda_maxpool2x2_forward (ctx, nc, h, w, x_d, y_d, NULL, &error));
  check_dev ("maxpool2x2 forward, no argmax", y_d, y_ref, ny, TOL_FWD);

  dev_free (x_d), dev_free (dy_d), dev_free (dx_d), dev_free (y_d);
  pf_cuda_free (ctx, am_d);
  g_free (x), g_free (dy), g_free (dx0), g_free (y_ref), g_free (dx_ref), g_free (am_ref), g_free (am);
}

static void
test_maxpool (void)
{
  NEED_GPU ();
  GRand *r = g_rand_new_with_seed (51);
  check_maxpool (r, 3, 8, 8);
  check_maxpool (r, 5, 7, 9);   /* odd sizes: the last row and column are not pooled */
  check_maxpool (r, 4, 2, 3);
  check_maxpool (r, 2, 31, 17);
  check_maxpool (r, 64, 56, 56);
  g_rand_free (r);
}

/* ---- up-sampling ------------------------------------------------------------------------- */
static void
check_upsample (GRand *r, int nc, int h, int w, gboolean bilinear)
{
  const size_t nx = (size_t) nc * h * w, ny = 4 * nx;
  float *x = rand_host (r, nx, -1, 1), *dy = rand_host (r, ny, -1, 1), *dx0 = rand_host (r, nx, -1, 1);
  float *y_ref = g_new (float, ny), *dx_ref = dup_floats (dx0, nx);
  float *x_d = dev_from (x, nx), *dy_d = dev_from (dy, ny), *dx_d = dev_from (dx0, nx);
  float *y_d = dev_poisoned (ny);
  const char *name = bilinear ? "bilinear" : "nearest";
  char *fwd = g_strdup_printf ("upsample %s forward %dx%dx%d", name, nc, h, w);
  char *bwd = g_strdup_printf ("upsample %s backward %dx%dx%d", name, nc, h, w);
  if (bilinear)
    {
      pf_upsample_bilinear2x_forward_ref (nc, h, w, x, y_ref);
      pf_upsample_bilinear2x_backward_ref (nc, h, w, dy, dx_ref);
      OK (pf_cuda_upsample_bilinear2x_forward (ctx, nc, h, w, x_d, y_d, &error));
      OK (pf_cuda_upsample_bilinear2x_backward (ctx, nc, h, w, dy_d, NULL, &error));
      OK (pf_cuda_upsample_bilinear2x_backward (ctx, nc, h, w, dy_d, dx_d, &error));
    }
  else
    {
      pf_upsample_nearest2x_forward_ref (nc, h, w, x, y_ref);
      pf_upsample_nearest2x_backward_ref (nc, h, w, dy, dx_ref);
      OK (pf_cuda_upsample_nearest2x_forward (ctx, nc, h, w, x_d, y_d, &error));
      OK (pf_cuda_upsample_nearest2x_backward (ctx, nc, h, w, dy_d, NULL, &error));
      OK (pf_cuda_upsample_nearest2x_backward (ctx, nc, h, w, dy_d, dx_d, &error));
    }
  check_dev (fwd, y_d, y_ref, ny, TOL_FWD);
  check_backward (bwd, dx_d, dx_ref, nx);
  g_free (fwd), g_free (bwd);
  dev_free (x_d), dev_free (dy_d), dev_free (dx_d), dev_free (y_d);
  g_free (x), g_free (dy), g_free (dx0), g_free (y_ref), g_free (dx_ref);
}

static void
test_upsample (gconstpointer data)
{
  NEED_GPU ();
  gboolean bilinear = GPOINTER_TO_INT (data);
  GRand *r = g_rand_new_with_seed (61 + bilinear);
  static const int shapes[][3] = { { 3, 4, 4 }, { 2, 5, 7 }, { 1, 1, 1 }, { 2, 1, 6 },
                                   { 3, 13, 2 }, { 16, 28, 28 } };
  for (guint i = 0; i < G_N_ELEMENTS (shapes); i++)
    check_upsample (r, shapes[i][0], shapes[i][1], shapes[i][2], bilinear);
  g_rand_free (r);
}

/* ---- concat and gather ------------------------------------------------------------------- */
/* `same` makes every input the same tensor (and every gradient the same buffer), as a graph
 * concatenating one tensor with itself: backward must add all contributions. */
static void
check_concat (GRand *r, int n, int hw, int k, const int *c, gboolean same)
{
  int ctot = 0;
  for (int i = 0; i < k; i++)
    ctot += c[i];
  const size_t ny = (size_t) n * ctot * hw;
  float *xs[8], *dx0[8], *dx_ref[8], *x_d[8], *dx_d[8];
  for (int i = 0; i < k; i++)
    {
      size_t ni = (size_t) n * c[i] * hw;
      if (same && i > 0)
        {
          xs[i] = xs[0], dx0[i] = dx0[0], dx_ref[i] = dx_ref[0], x_d[i] = x_d[0], dx_d[i] = dx_d[0];
          continue;
        }
      xs[i] = rand_host (r, ni, -1, 1);
      dx0[i] = rand_host (r, ni, -1, 1);
      dx_ref[i] = dup_floats (dx0[i], ni);
      x_d[i] = dev_from (xs[i], ni);
      dx_d[i] = dev_from (dx0[i], ni);
    }
  float *dy = rand_host (r, ny, -1, 1), *y_ref = g_new (float, ny);
  pf_concat_forward_ref (n, hw, k, c, (const float *const *) xs, y_ref);
  pf_concat_backward_ref (n, hw, k, c, dy, dx_ref);
  float *y_d = dev_poisoned (ny), *dy_d = dev_from (dy, ny);
  OK (pf_cuda_concat_forward (ctx, n, hw, k, c, (const float *const *) x_d, y_d, &error));
  check_dev ("concat forward", y_d, y_ref, ny, TOL_FWD);
  OK (pf_cuda_concat_backward (ctx, n, hw, k, c, dy_d, NULL, &error));
  if (!same && k > 1)
    {
      /* a NULL entry skips its input and leaves its buffer alone */
      float *skip1[8];
      memcpy (skip1, dx_d, sizeof skip1);
      skip1[1] = NULL;
      size_t n1 = (size_t) n * c[1] * hw;
      OK (pf_cuda_concat_backward (ctx, n, hw, k, c, dy_d, skip1, &error));
      check_dev ("concat backward, NULL entry untouched", dx_d[1], dx0[1], n1, 1e-30);
      /* now the missing input alone */
      float *only1[8] = { NULL };
      only1[1] = dx_d[1];
      OK (pf_cuda_concat_backward (ctx, n, hw, k, c, dy_d, only1, &error));
    }
  else
    OK (pf_cuda_concat_backward (ctx, n, hw, k, c, dy_d, dx_d, &error));
  for (int i = 0; i < (same ? 1 : k); i++)
    check_backward ("concat backward", dx_d[i], dx_ref[i], (size_t) n * c[i] * hw);
  for (int i = 0; i < (same ? 1 : k); i++)
    {
      dev_free (x_d[i]), dev_free (dx_d[i]);
      g_free (xs[i]), g_free (dx0[i]), g_free (dx_ref[i]);
    }
  dev_free (y_d), dev_free (dy_d);
  g_free (dy), g_free (y_ref);
}

static void
test_concat (void)
{
  NEED_GPU ();
  GRand *r = g_rand_new_with_seed (71);
  const int c3[] = { 3, 1, 5 }, c1[] = { 4 }, c2[] = { 64, 64 }, c6[] = { 2, 2, 2, 2, 2, 2 };
  const int c8[] = { 1, 2, 3, 1, 2, 3, 1, 2 };
  check_concat (r, 2, 35, 3, c3, FALSE);
  check_concat (r, 3, 17, 1, c1, FALSE);
  check_concat (r, 2, 16 * 16, 2, c2, FALSE);
  check_concat (r, 4, 13 * 11, 6, c6, FALSE);
  check_concat (r, 1, 9, 8, c8, FALSE);
  check_concat (r, 2, 23, 2, c3, TRUE); /* torch.cat([x, x]) */
  g_rand_free (r);
}

static void
check_gather (GRand *r, int n, int c, int hw, int k, const int *idx)
{
  const size_t nx = (size_t) n * c * hw, ny = (size_t) n * k * hw;
  float *x = rand_host (r, nx, -1, 1), *dy = rand_host (r, ny, -1, 1), *dx0 = rand_host (r, nx, -1, 1);
  float *y_ref = g_new (float, ny), *dx_ref = dup_floats (dx0, nx);
  pf_channel_gather_forward_ref (n, c, hw, k, idx, x, y_ref);
  pf_channel_gather_backward_ref (n, c, hw, k, idx, dy, dx_ref);
  float *x_d = dev_from (x, nx), *dy_d = dev_from (dy, ny), *dx_d = dev_from (dx0, nx);
  float *y_d = dev_poisoned (ny);
  OK (pf_cuda_channel_gather_forward (ctx, n, c, hw, k, idx, x_d, y_d, &error));
  check_dev ("gather forward", y_d, y_ref, ny, TOL_FWD);
  OK (pf_cuda_channel_gather_backward (ctx, n, c, hw, k, idx, dy_d, NULL, &error));
  OK (pf_cuda_channel_gather_backward (ctx, n, c, hw, k, idx, dy_d, dx_d, &error));
  check_backward ("gather backward", dx_d, dx_ref, nx);
  dev_free (x_d), dev_free (dy_d), dev_free (dx_d), dev_free (y_d);
  g_free (x), g_free (dy), g_free (dx0), g_free (y_ref), g_free (dx_ref);
}

static void
test_gather (void)
{
  NEED_GPU ();
  GRand *r = g_rand_new_with_seed (81);
  const int s0[] = { 0, 1, 2 }, s1[] = { 0, 1, 3 }, dup[] = { 2, 0, 2, 2 }, one[] = { 3 };
  check_gather (r, 3, 4, 29, 3, s0); /* the 3D front end's two stacks */
  check_gather (r, 3, 4, 29, 3, s1);
  check_gather (r, 2, 5, 7 * 9, 4, dup); /* a channel picked three times */
  check_gather (r, 1, 4, 1, 1, one);
  check_gather (r, 8, 4, 56 * 56, 3, s1);

  /* bad indices are an error, not a stray write */
  GError *error = NULL;
  const int bad[] = { 0, 4 };
  float *d = dev_poisoned (64);
  g_assert_false (pf_cuda_channel_gather_forward (ctx, 1, 4, 8, 2, bad, d, d, &error));
  g_assert_error (error, PF_CUDA_ERROR, PF_CUDA_ERROR_INVALID);
  g_clear_error (&error);
  dev_free (d);
  g_rand_free (r);
}

/* ---- Conv3d -------------------------------------------------------------------------------- */
static void
check_conv3d (const PfConv3dDesc *d, guint32 seed)
{
  GError *perr = NULL;
  PfCudaConv3dPlan *plan = pf_cuda_conv3d_plan_new (ctx, d, &perr);
  g_assert_no_error (perr);
  g_test_message ("conv3d plan workspace: %zu bytes", pf_cuda_conv3d_plan_workspace (plan));
  PfTestConv c = pf_test_conv3d (d, plan);
  pf_test_conv_check (&c, "conv3d", seed, TOL_FWD, TOL_BWD, TOL_BWD);
  pf_cuda_conv3d_plan_free (plan);
}

static void
test_conv3d (void)
{
  NEED_GPU ();
  /* the 3D front end: one channel, depth 3 reduced to 1, "same" in the plane, 3x7x7 (the plan
   * runs a kernel spanning the whole unpadded depth as a 2-D convolution of c_in x depth
   * channels: these three cases) */
  PfConv3dDesc a = { .n = 2, .c_in = 1, .d = 3, .h = 13, .w = 11, .c_out = 2, .kd = 3, .kh = 7,
                     .kw = 7, .sd = 1, .sh = 1, .sw = 1, .pd = 0, .ph = 3, .pw = 3 };
  check_conv3d (&a, 91);
  PfConv3dDesc a3 = a;
  a3.kh = a3.kw = 3, a3.ph = a3.pw = 1;
  check_conv3d (&a3, 92);
  PfConv3dDesc a2 = { .n = 2, .c_in = 2, .d = 3, .h = 9, .w = 10, .c_out = 3, .kd = 3, .kh = 3,
                      .kw = 5, .sd = 2, .sh = 2, .sw = 1, .pd = 0, .ph = 1, .pw = 2 };
  check_conv3d (&a2, 94);
  /* a kernel shallower than the unpadded depth stays a 3-D convolution */
  PfConv3dDesc c = { .n = 2, .c_in = 2, .d = 4, .h = 8, .w = 8, .c_out = 3, .kd = 2, .kh = 3,
                     .kw = 3, .sd = 1, .sh = 1, .sw = 1, .pd = 0, .ph = 1, .pw = 1 };
  check_conv3d (&c, 95);
  /* odd: several channels, non-cubic kernel, strides, depth padding */
  PfConv3dDesc b = { .n = 3, .c_in = 3, .d = 5, .h = 6, .w = 7, .c_out = 4, .kd = 3, .kh = 2,
                     .kw = 3, .sd = 2, .sh = 1, .sw = 2, .pd = 1, .ph = 0, .pw = 1 };
  check_conv3d (&b, 93);

  GError *error = NULL;
  PfConv3dDesc bad = a;
  bad.kd = 5; /* deeper than the padded input */
  g_assert_null (pf_cuda_conv3d_plan_new (ctx, &bad, &error));
  g_assert_error (error, PF_CUDA_ERROR, PF_CUDA_ERROR_INVALID);
  g_clear_error (&error);
}

/* ---- graphs ---------------------------------------------------------------------------------- */
#define G_BATCH 2
#define G_SIZE 16
#define G_SEED 17

#define NEED_GRAPH() \
  G_STMT_START { if (graph_skip_reason) { g_test_skip (graph_skip_reason); return; } } G_STMT_END

static void
fill_sparse (float *v, size_t n, uint32_t stream)
{
  pf_test_fill_sparse (v, n, G_SEED, stream);
}

typedef PfGraph *(*GraphBuilder) (const char *model, int scale);

static PfGraph *
build_model (const char *model, int scale)
{
  GError *error = NULL;
  PfGraph *g = pf_model_build (model, scale, G_BATCH, G_SIZE, &error);
  g_assert_no_error (error);
  return g;
}

/* The pooling/bilinear path that only the attention models use otherwise:
 * conv 4->8, maxpool, LeakyReLU, bilinear x2, dropout, conv 8->1, sigmoid. */
static PfGraph *
build_pool_upsample (const char *model, int scale)
{
  PfGraph *g = pf_graph_new (model);
  int shape[4] = { G_BATCH, 4, G_SIZE, G_SIZE };
  int x = pf_graph_input (g, "input", 4, shape);
  x = pf_graph_conv2d (g, "conv0", x, 4, 8, 3, 1, 1, true);
  x = pf_graph_maxpool2 (g, x);
  x = pf_graph_leaky_relu (g, x, 0.1f);
  x = pf_graph_upsample2 (g, x, true);
  x = pf_graph_dropout (g, x, 0.25f);
  x = pf_graph_conv2d (g, "conv1", x, 8, 1, 3, 1, 1, true);
  x = pf_graph_sigmoid (g, x);
  pf_graph_set_output (g, x);
  g_assert_null (pf_graph_error (g));
  return g;
}

typedef struct {
  const char *model;
  int scale;
  GraphBuilder build;
} GraphCase;

static float *
download (PfTensor *t, gboolean grad)
{
  return pf_test_download (grad ? t->grad : t->data, t->numel);
}

static PfTrainStep *
new_step (PfGraph *g)
{
  GError *error = NULL;
  PfLossDesc ld;
  pf_loss_desc_init (&ld, PF_LOSS_WMSE, G_BATCH, G_SIZE, G_SIZE);
  PfTrainStep *s = pf_train_step_new (g, &ld, 1e-3, &error);
  g_assert_no_error (error);
  fill_sparse (pf_train_step_input (s), (size_t) G_BATCH * 4 * G_SIZE * G_SIZE, 1);
  fill_sparse (pf_train_step_target (s), (size_t) G_BATCH * G_SIZE * G_SIZE, 2);
  return s;
}

static void
test_graph (gconstpointer data)
{
  const GraphCase *gc = data;
  NEED_GRAPH ();
  GError *error = NULL;
  PfGraph *cpu = gc->build (gc->model, gc->scale), *gpu = gc->build (gc->model, gc->scale);
  PfPlanOptions copts = { PF_DEVICE_CPU, true, false, G_SEED };
  PfPlanOptions gopts = { PF_DEVICE_CUDA, true, false, G_SEED };
  if (!pf_graph_plan (cpu, &copts, &error))
    g_error ("planning %s on the CPU: %s", gc->model, error->message);
  if (!pf_graph_plan (gpu, &gopts, &error))
    {
      /* an op another CUDA backend file does not run yet: not this file's failure */
      if (g_error_matches (error, PF_ERROR, PF_ERROR_UNSUPPORTED))
        {
          char *msg = g_strdup_printf ("%s does not plan on CUDA yet: %s", gc->model, error->message);
          g_clear_error (&error);
          pf_graph_free (gpu);
          pf_graph_free (cpu);
          NO_GPU_ERROR ();
          g_test_skip (msg);
          g_free (msg);
          return;
        }
      g_error ("planning %s on CUDA: %s", gc->model, error->message);
    }
  /* which nodes this file's backend runs */
  int ours = 0;
  for (int i = 0; i < pf_graph_n_nodes (gpu); i++)
    {
      PfNode *n = pf_graph_node (gpu, i);
      if (!n->skip && n->backend && strcmp (n->backend->name, "cuda-shape") == 0)
        ours++;
    }
  g_test_message ("%s: %d of %d nodes on cuda-shape", gc->model, ours, pf_graph_n_nodes (gpu));
  g_assert_cmpint (ours, >, 0);

  /* the CPU's parameters and buffers, so both start from the same state whatever the init */
  for (int i = 0; i < pf_graph_n_tensors (cpu); i++)
    {
      PfTensor *tc = pf_graph_tensor (cpu, i), *tg = pf_graph_tensor (gpu, i);
      g_assert_cmpstr (tc->name, ==, tg->name);
      g_assert_cmpuint (tc->numel, ==, tg->numel);
      /* an attention gain starts at 0, which would hide the attention from the comparison */
      if (tc->kind == PF_TENSOR_PARAM && g_str_has_suffix (tc->name, ".gamma"))
        tc->data[0] = 0.75f;
    }
  pf_test_upload_state (cpu, gpu, FALSE);

  PfTrainStep *sc = new_step (cpu), *sg = new_step (gpu);
  /* inference */
  double lc = NAN, lg = NAN;
  g_assert_true (pf_train_step_eval (sc, &lc, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (pf_train_step_eval (sg, &lg, NULL, &error));
  g_assert_no_error (error);
  size_t nout = (size_t) G_BATCH * G_SIZE * G_SIZE;
  const float *oc = pf_train_step_output (sc), *og = pf_train_step_output (sg);
  NO_GPU_ERROR ();
  pf_assert_close ("inference output", og, oc, nout, 1e-4);
  g_test_message ("%s eval WMSE: cpu %.9g cuda %.9g", gc->model, lc, lg);
  g_assert_cmpfloat (fabs (lg - lc), <=, 1e-4 * fabs (lc));

  /* one training step (dropout masks included) */
  g_assert_true (pf_train_step_run (sc, &lc, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (pf_train_step_run (sg, &lg, NULL, &error));
  g_assert_no_error (error);
  NO_GPU_ERROR ();
  double rel = fabs (lg - lc) / fabs (lc);
  g_test_message ("%s train WMSE: cpu %.9g cuda %.9g rel %.2g", gc->model, lc, lg, rel);
  if (!(rel < 1e-4))
    g_error ("%s: CUDA training loss %.9g vs CPU %.9g (rel %.3g)", gc->model, lg, lc, rel);

  GHashTable *noise = pf_test_noise_tensors (cpu);
  int compared = 0;
  for (int i = 0; i < pf_graph_n_tensors (cpu); i++)
    {
      PfTensor *tc = pf_graph_tensor (cpu, i), *tg = pf_graph_tensor (gpu, i);
      if (tc->kind != PF_TENSOR_PARAM || g_hash_table_contains (noise, GINT_TO_POINTER (i)))
        continue;
      g_assert_nonnull (tc->grad);
      g_assert_nonnull (tg->grad);
      float *h = download (tg, TRUE);
      char *what = g_strdup_printf ("%s gradient of %s", gc->model, tc->name);
      pf_assert_close (what, h, tc->grad, tc->numel, TOL_BWD);
      g_free (what);
      g_free (h);
      compared++;
    }
  g_assert_cmpint (compared, >, 0);
  g_hash_table_unref (noise);

  pf_train_step_free (sc);
  pf_train_step_free (sg);
  pf_graph_free (cpu);
  pf_graph_free (gpu);
  NO_GPU_ERROR ();
}

static const GraphCase graph_cases[] = {
  { "3d", 1, build_model },
  { "cnn3d", 0, build_model },
  { "unet", 0, build_model },
  { "se3d", 1, build_model },
  { "unet-sa", 0, build_model },
  { "pool-upsample", 0, build_pool_upsample },
};

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  char *why = NULL;
  if (pf_cuda_available (&why))
    {
      GError *error = NULL;
      ctx = pf_cuda_context_new (0, &error);
      if (!ctx)
        g_error ("a CUDA device is present but the context fails: %s", error->message);
      if (!pf_backend_cuda_register (&error))
        g_error ("a CUDA device is present but the graph backend does not register: %s",
                 error->message);
    }
  else
    {
      skip_reason = g_strdup_printf ("no usable GPU (%s): CUDA shape ops not checked", why);
      graph_skip_reason = g_strdup_printf ("no usable GPU (%s): CUDA shape ops in graphs not "
                                           "checked", why);
    }
  g_free (why);

  g_test_add_func ("/cuda-shape/leaky-relu", test_leaky_relu);
  g_test_add_func ("/cuda-shape/dropout", test_dropout);
  g_test_add_func ("/cuda-shape/maxpool", test_maxpool);
  g_test_add_data_func ("/cuda-shape/upsample/nearest", GINT_TO_POINTER (FALSE), test_upsample);
  g_test_add_data_func ("/cuda-shape/upsample/bilinear", GINT_TO_POINTER (TRUE), test_upsample);
  g_test_add_func ("/cuda-shape/concat", test_concat);
  g_test_add_func ("/cuda-shape/gather", test_gather);
  g_test_add_func ("/cuda-shape/conv3d", test_conv3d);
  for (guint i = 0; i < G_N_ELEMENTS (graph_cases); i++)
    {
      char *path = g_strdup_printf ("/cuda-shape/graph/%s", graph_cases[i].model);
      g_test_add_data_func (path, &graph_cases[i], test_graph);
      g_free (path);
    }
  int rc = g_test_run ();
  pf_cuda_context_free (ctx);
  g_free (skip_reason);
  g_free (graph_skip_reason);
  return rc;
}

#else /* !PF_HAVE_CUDA */

PF_TEST_MAIN_WITHOUT_CUDA ("/cuda-shape/not-built", "CUDA shape ops")

#endif
