/* test-cuda-precision.c — the CUDA backend's reduced-precision modes (TF32, BF16) against the
 * CPU's float32 reference ops, and whole training steps in BF16 against the CPU.
 *
 * Tolerances follow from the formats (docs/cuda-backend.md, "Precision"): rounding an operand
 * to bf16 (8 significant bits) errs by at most 2^-9 = 2e-3 relative, ~1.1e-3 rms; a product
 * sums many such errors incoherently and its bf16 result is rounded once more, so ~2e-3 rms
 * relative to the result's norm; the tests ask 1e-2. TF32 (11 significant bits) is 4x finer:
 * 3e-3 asked. Whole training steps compound a few layers: 5e-2 on the gradients, 1e-2 on the
 * loss. tests/ref/precision_emu.py emulates both modes on the CPU in float64: bf16 ops 2.1e-3
 * to 2.7e-3, TF32 ops 2.6e-4 to 2.7e-4, bf16 steps 3e-4 to 5e-4 (loss) and 3.6e-3 to 8e-3
 * (gradients). Convolutions and GEMMs in BF16 must also differ from float32 by more than float32
 * rounding (1e-5): the mode is not silently ignored (TF32's difference is reported). Training
 * steps run four times, the last two recorded and replayed as a CUDA graph. The tests run on random data with poisoned
 * outputs; without a GPU they skip and say why. */
#include <glib.h>
#include <math.h>
#include <string.h>
#include "pf-test-util.h"

#ifdef PF_HAVE_CUDA
#include "pf-ops.h"
#include "pf-cuda.h"
#include "pf-cuda-attn.h"
#include "pf-cuda-shape.h"
#include "pf-backend-cuda.h"
#include "pf-model.h"
#include "pf-train-step.h"

#include "pf-test-cuda.h"
#include "pf-test-cuda-conv.h"
#include "pf-test-cuda-graph.h"

#define TOL_BF16 1e-2
#define TOL_TF32 3e-3
/* a BF16 convolution further than this from float32 really ran in bf16 */
#define MIN_BF16_EFFECT 1e-5

static double
tol_for (PfCudaPrecision p)
{
  return p == PF_CUDA_PRECISION_BF16 ? TOL_BF16 : TOL_TF32;
}

/* Sets the mode for one test; every test ends with set_mode (FP32). */
static void
set_mode (PfCudaPrecision p)
{
  OK (pf_cuda_context_set_precision (ctx, p, &error));
  g_assert_cmpint (pf_cuda_context_get_precision (ctx), ==, p);
}

/* The relative error of a device result against a host reference, and the assertion. */
static double
check_rel (const char *what, const float *dev, const float *ref, size_t n, double tol)
{
  float *h = host_from (dev, n);
  double e = pf_rel_err (h, ref, n);
  g_free (h);
  g_test_message ("%s: rel err %.3g (tol %.1g)", what, e, tol);
  if (!(e < tol))
    g_error ("%s: rel err %.3g >= %.1g", what, e, tol);
  return e;
}

static void
test_modes (void)
{
  NEED_GPU ();
  g_assert_cmpint (pf_cuda_context_get_precision (ctx), ==, PF_CUDA_PRECISION_FP32);
  g_assert_cmpstr (pf_cuda_precision_name (PF_CUDA_PRECISION_FP32), ==, "fp32");
  g_assert_cmpstr (pf_cuda_precision_name (PF_CUDA_PRECISION_TF32), ==, "tf32");
  g_assert_cmpstr (pf_cuda_precision_name (PF_CUDA_PRECISION_BF16), ==, "bf16");
  set_mode (PF_CUDA_PRECISION_BF16);
  set_mode (PF_CUDA_PRECISION_TF32);
  GError *error = NULL;
  g_assert_false (pf_cuda_context_set_precision (ctx, (PfCudaPrecision) 7, &error));
  g_assert_error (error, PF_CUDA_ERROR, PF_CUDA_ERROR_INVALID);
  g_clear_error (&error);
  /* a refused mode leaves the last one */
  g_assert_cmpint (pf_cuda_context_get_precision (ctx), ==, PF_CUDA_PRECISION_TF32);
  set_mode (PF_CUDA_PRECISION_FP32);
}

/* ---- convolutions ------------------------------------------------------------------------ */
/* The shared plan check in mode p; the bias gradient is a plain float32 sum in every mode.
 * In BF16 the forward result and both gradients must also differ from float32 (the passes
 * run on bf16 copies of their operands whatever algorithm cuDNN picks). */
static void
check_conv_mode (const PfTestConv *c, PfCudaPrecision p, guint32 seed)
{
  char *what = g_strdup_printf ("%s %s", c->name, pf_cuda_precision_name (p));
  PfTestConvErrors e = pf_test_conv_check (c, what, seed, tol_for (p), tol_for (p), TOL_BWD);
  if (p == PF_CUDA_PRECISION_BF16)
    {
      g_assert_cmpfloat (e.fwd, >, MIN_BF16_EFFECT);
      g_assert_cmpfloat (e.dx, >, MIN_BF16_EFFECT);
      g_assert_cmpfloat (e.dw, >, MIN_BF16_EFFECT);
    }
  else if (!(e.fwd > MIN_BF16_EFFECT)) /* cuDNN's Find may keep an FMA algorithm in TF32 */
    g_test_message ("note: cuDNN chose no TF32 algorithm for %s", what);
  g_free (what);
}

static void
test_conv2d (gconstpointer data)
{
  NEED_GPU ();
  PfCudaPrecision p = (PfCudaPrecision) GPOINTER_TO_INT (data);
  const PfConv2dDesc d = { 4, 16, 20, 20, 32, 3, 3, 1, 1, 1, 1 };
  set_mode (p);
  GError *error = NULL;
  PfCudaConv2dPlan *plan = pf_cuda_conv2d_plan_new (ctx, &d, &error);
  g_assert_no_error (error);
  PfTestConv c = pf_test_conv2d (&d, plan);
  check_conv_mode (&c, p, 31);
  pf_cuda_conv2d_plan_free (plan);
  set_mode (PF_CUDA_PRECISION_FP32);
}

static void
test_conv3d (gconstpointer data)
{
  NEED_GPU ();
  PfCudaPrecision p = (PfCudaPrecision) GPOINTER_TO_INT (data);
  PfConv3dDesc d;
  memset (&d, 0, sizeof d);
  d.n = 2; d.c_in = 4; d.d = 6; d.h = 12; d.w = 12; d.c_out = 8;
  d.kd = 3; d.kh = 3; d.kw = 3; d.sd = d.sh = d.sw = 1; d.pd = d.ph = d.pw = 1;
  set_mode (p);
  GError *error = NULL;
  PfCudaConv3dPlan *plan = pf_cuda_conv3d_plan_new (ctx, &d, &error);
  g_assert_no_error (error);
  PfTestConv c = pf_test_conv3d (&d, plan);
  check_conv_mode (&c, p, 32);
  pf_cuda_conv3d_plan_free (plan);
  set_mode (PF_CUDA_PRECISION_FP32);
}

/* A plan keeps the mode it was made in when the context's changes: a float32 plan stays exact
 * under BF16, a bf16 plan stays bf16 under FP32 (and neither breaks). */
static void
test_plan_keeps_mode (void)
{
  NEED_GPU ();
  const PfConv2dDesc d = { 2, 8, 12, 12, 16, 3, 3, 1, 1, 1, 1 };
  const size_t nx = 2 * 8 * 144, nw = 16 * 8 * 9, ny = 2 * 16 * 144;
  GRand *r = g_rand_new_with_seed (35);
  float *x = rand_host (r, nx, -1, 1), *w = rand_host (r, nw, -0.5, 0.5), *y = g_new (float, ny);
  pf_conv2d_forward_ref (&d, x, w, NULL, y);
  float *x_d = dev_from (x, nx), *w_d = dev_from (w, nw), *y_d = dev_poisoned (ny);
  GError *error = NULL;
  PfCudaConv2dPlan *exact = pf_cuda_conv2d_plan_new (ctx, &d, &error);
  g_assert_no_error (error);
  set_mode (PF_CUDA_PRECISION_BF16);
  PfCudaConv2dPlan *bf16 = pf_cuda_conv2d_plan_new (ctx, &d, &error);
  g_assert_no_error (error);
  OK (pf_cuda_conv2d_forward (exact, x_d, w_d, NULL, y_d, &error));
  check_rel ("float32 plan run under BF16", y_d, y, ny, TOL_FWD);
  set_mode (PF_CUDA_PRECISION_FP32);
  OK (pf_cuda_fill (ctx, ny, NAN, y_d, &error));
  OK (pf_cuda_conv2d_forward (bf16, x_d, w_d, NULL, y_d, &error));
  double e = check_rel ("bf16 plan run under FP32", y_d, y, ny, TOL_BF16);
  g_assert_cmpfloat (e, >, MIN_BF16_EFFECT);
  pf_cuda_conv2d_plan_free (exact);
  pf_cuda_conv2d_plan_free (bf16);
  dev_free (x_d);
  dev_free (w_d);
  dev_free (y_d);
  g_free (x);
  g_free (w);
  g_free (y);
  g_rand_free (r);
}

/* ---- matrix products --------------------------------------------------------------------- */
/* What the mode did to a product: the same call in FP32 for comparison. The modes only allow
 * cuBLAS to round operands (CUBLAS_COMPUTE_32F_FAST_16BF may down-convert to bf16 or TF32,
 * CUBLAS_TF32_TENSOR_OP_MATH to TF32); for a small shape it may keep a float32 kernel, so the
 * difference is reported, not asserted. The convolutions' bf16 effect is asserted: their
 * operands are bf16 copies whatever cuDNN picks. */
static void
check_effect (const char *what, PfCudaPrecision p, const float *dev_mode, const float *dev_fp32,
              size_t n)
{
  float *a = host_from (dev_mode, n), *b = host_from (dev_fp32, n);
  double diff = pf_rel_err (a, b, n);
  g_free (a);
  g_free (b);
  g_test_message ("%s %s against float32 cuBLAS: %.3g", what, pf_cuda_precision_name (p), diff);
  if (!(diff > MIN_BF16_EFFECT))
    g_test_message ("note: cuBLAS kept a float32 kernel for %s in %s", what,
                    pf_cuda_precision_name (p));
}

static void
test_linear (gconstpointer data)
{
  NEED_GPU ();
  PfCudaPrecision p = (PfCudaPrecision) GPOINTER_TO_INT (data);
  const int m = 64, in = 300, out = 96;
  GRand *r = g_rand_new_with_seed (33);
  float *x = rand_host (r, (size_t) m * in, -1, 1), *w = rand_host (r, (size_t) out * in, -0.2, 0.2);
  float *b = rand_host (r, out, -1, 1), *dy = rand_host (r, (size_t) m * out, -1, 1);
  float *y = g_new (float, (size_t) m * out), *dx = g_new0 (float, (size_t) m * in);
  float *dw = g_new0 (float, (size_t) out * in), *db = g_new0 (float, out);
  pf_linear_forward_ref (m, in, out, x, w, b, y);
  pf_linear_backward_ref (m, in, out, x, w, dy, dx, dw, db);
  set_mode (p);
  float *x_d = dev_from (x, (size_t) m * in), *w_d = dev_from (w, (size_t) out * in), *b_d = dev_from (b, out);
  float *dy_d = dev_from (dy, (size_t) m * out), *y_d = dev_poisoned ((size_t) m * out);
  float *dx_d = dev_poisoned ((size_t) m * in), *dw_d = dev_poisoned ((size_t) out * in);
  OK (pf_cuda_fill (ctx, (size_t) m * in, 0, dx_d, &error));
  OK (pf_cuda_fill (ctx, (size_t) out * in, 0, dw_d, &error));
  OK (pf_cuda_linear_forward (ctx, m, in, out, x_d, w_d, b_d, y_d, &error));
  check_rel ("linear forward", y_d, y, (size_t) m * out, tol_for (p));
  float *y32_d = dev_poisoned ((size_t) m * out);
  set_mode (PF_CUDA_PRECISION_FP32);
  OK (pf_cuda_linear_forward (ctx, m, in, out, x_d, w_d, b_d, y32_d, &error));
  set_mode (p);
  check_effect ("linear forward", p, y_d, y32_d, (size_t) m * out);
  dev_free (y32_d);
  OK (pf_cuda_linear_backward (ctx, m, in, out, x_d, w_d, dy_d, dx_d, FALSE, dw_d, NULL, &error));
  check_rel ("linear dx", dx_d, dx, (size_t) m * in, tol_for (p));
  check_rel ("linear dw", dw_d, dw, (size_t) out * in, tol_for (p));
  set_mode (PF_CUDA_PRECISION_FP32);
  float *dev[] = { x_d, w_d, b_d, dy_d, y_d, dx_d, dw_d };
  for (size_t i = 0; i < G_N_ELEMENTS (dev); i++)
    dev_free (dev[i]);
  float *host[] = { x, w, b, dy, y, dx, dw, db };
  for (size_t i = 0; i < G_N_ELEMENTS (host); i++)
    g_free (host[i]);
  g_rand_free (r);
}

static void
test_bmm (void)
{
  NEED_GPU ();
  const int batch = 6, m = 28, n = 28, k = 56;
  GRand *r = g_rand_new_with_seed (34);
  float *a = rand_host (r, (size_t) batch * k * m, -1, 1), *b = rand_host (r, (size_t) batch * n * k, -1, 1);
  float *c = g_new (float, (size_t) batch * m * n);
  /* transposed operands, as the row attention multiplies them */
  pf_bmm_forward_ref (batch, m, n, k, true, true, a, b, c);
  set_mode (PF_CUDA_PRECISION_BF16);
  float *a_d = dev_from (a, (size_t) batch * k * m), *b_d = dev_from (b, (size_t) batch * n * k);
  float *c_d = dev_poisoned ((size_t) batch * m * n);
  OK (pf_cuda_bmm_forward (ctx, batch, m, n, k, true, true, a_d, b_d, c_d, &error));
  check_rel ("bmm bf16 forward", c_d, c, (size_t) batch * m * n, TOL_BF16);
  set_mode (PF_CUDA_PRECISION_FP32);
  float *c32_d = dev_poisoned ((size_t) batch * m * n);
  OK (pf_cuda_bmm_forward (ctx, batch, m, n, k, true, true, a_d, b_d, c32_d, &error));
  check_effect ("bmm forward", PF_CUDA_PRECISION_BF16, c_d, c32_d, (size_t) batch * m * n);
  dev_free (c32_d);
  dev_free (a_d);
  dev_free (b_d);
  dev_free (c_d);
  g_free (a);
  g_free (b);
  g_free (c);
  g_rand_free (r);
}

/* ---- whole training steps ---------------------------------------------------------------- */
/* Four MIX training steps of a model in BF16 (or TF32) on the GPU against the same steps in
 * float32 on the CPU, each from the same weights, Adam state and batch: the loss and all
 * parameter gradients. The GPU records its step as a CUDA graph at the third step and replays
 * it at the fourth, so the reduced-precision kernels run captured too. (Each step starts from
 * the CPU's state because Adam moves an element whose gradient is rounding noise by up to lr
 * either way: free-running, the two sides would drift apart for that reason alone.) */
static void
check_model_step (const char *model, int scale, PfCudaPrecision p)
{
  GError *error = NULL;
  const int batch = 4, size = 24;
  PfGraph *gc = pf_model_build (model, scale, batch, size, &error);
  g_assert_no_error (error);
  PfGraph *gg = pf_model_build (model, scale, batch, size, &error);
  g_assert_no_error (error);
  set_mode (p); /* before planning: the convolution plans read it */
  PfPlanOptions oc = { PF_DEVICE_CPU, true, false, 11 }, og = { PF_DEVICE_CUDA, true, false, 11 };
  if (!pf_graph_plan (gc, &oc, &error) || !pf_graph_plan (gg, &og, &error))
    g_error ("%s: %s", model, error->message);
  pf_test_upload_state (gc, gg, TRUE);
  PfLossDesc ld;
  pf_loss_desc_init (&ld, PF_LOSS_MIX, batch, size, size);
  PfTrainStep *sc = pf_train_step_new (gc, &ld, 1e-3, &error);
  g_assert_no_error (error);
  PfTrainStep *sg = pf_train_step_new (gg, &ld, 1e-3, &error);
  g_assert_no_error (error);
  const size_t nin = (size_t) batch * 4 * size * size, nt = (size_t) batch * size * size;
  pf_test_fill_sparse (pf_train_step_input (sc), nin, 11, 1);
  pf_test_fill_sparse (pf_train_step_target (sc), nt, 11, 2);
  pf_test_fill_sparse (pf_train_step_input (sg), nin, 11, 1);
  pf_test_fill_sparse (pf_train_step_target (sg), nt, 11, 2);
  size_t n = pf_graph_param_floats (gc);
  float *h = g_new (float, n);
  for (int step = 1; step <= 4; step++)
    {
      double lc = NAN, lg = NAN;
      g_assert_true (pf_train_step_run (sc, &lc, NULL, &error));
      g_assert_true (pf_train_step_run (sg, &lg, NULL, &error));
      g_assert_no_error (error);
      NO_GPU_ERROR ();
      double rel = fabs (lg - lc) / fabs (lc);
      g_test_message ("%s-s%d %s step %d (%s) MIX loss: cpu %.9g cuda %.9g rel %.2g", model,
                      scale, pf_cuda_precision_name (p), step, pf_train_step_graph_state (sg), lc,
                      lg, rel);
      g_assert_cmpfloat (rel, <, 1e-2);
      pf_memory_for (PF_DEVICE_CUDA)->download (h, pf_graph_param_grad (gg), n * sizeof (float));
      NO_GPU_ERROR ();
      char *what = g_strdup_printf ("%s-s%d %s step %d gradients", model, scale,
                                    pf_cuda_precision_name (p), step);
      pf_assert_close (what, h, pf_graph_param_grad (gc), n, 5e-2);
      g_free (what);
      pf_test_upload_state (gc, gg, TRUE);
    }
  /* a failed recording only leaves a note and runs eagerly: make sure the graph ran */
  if (g_strcmp0 (g_getenv ("PF_CUDA_GRAPHS"), "0") != 0)
    g_assert_cmpstr (pf_train_step_graph_state (sg), ==, "recorded, replayed every step");
  g_free (h);
  pf_train_step_free (sc);
  pf_train_step_free (sg);
  pf_graph_free (gc);
  pf_graph_free (gg);
  set_mode (PF_CUDA_PRECISION_FP32);
}

static void
test_models (gconstpointer data)
{
  NEED_GPU ();
  PfCudaPrecision p = (PfCudaPrecision) GPOINTER_TO_INT (data);
  /* the 2-D convolutions, the 3-D ones, the row attention's products, the LSTM's GEMMs */
  check_model_step ("cnn", 1, p);
  check_model_step ("3d", 1, p);
  check_model_step ("rowatt", 1, p);
  check_model_step ("lstm", 0, p);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  /* the backend's own context: the model tests plan graphs on it */
  pf_test_cuda_open_full ("reduced-precision modes", TRUE);
  const gconstpointer tf32 = GINT_TO_POINTER (PF_CUDA_PRECISION_TF32);
  const gconstpointer bf16 = GINT_TO_POINTER (PF_CUDA_PRECISION_BF16);
  g_test_add_func ("/cuda-precision/modes", test_modes);
  g_test_add_data_func ("/cuda-precision/conv2d/tf32", tf32, test_conv2d);
  g_test_add_data_func ("/cuda-precision/conv2d/bf16", bf16, test_conv2d);
  g_test_add_data_func ("/cuda-precision/conv3d/tf32", tf32, test_conv3d);
  g_test_add_data_func ("/cuda-precision/conv3d/bf16", bf16, test_conv3d);
  g_test_add_func ("/cuda-precision/plan-keeps-mode", test_plan_keeps_mode);
  g_test_add_data_func ("/cuda-precision/linear/tf32", tf32, test_linear);
  g_test_add_data_func ("/cuda-precision/linear/bf16", bf16, test_linear);
  g_test_add_func ("/cuda-precision/bmm/bf16", test_bmm);
  g_test_add_data_func ("/cuda-precision/models/tf32", tf32, test_models);
  g_test_add_data_func ("/cuda-precision/models/bf16", bf16, test_models);
  int rc = g_test_run ();
  g_free (skip_reason);
  return rc;
}

#else /* !PF_HAVE_CUDA */

PF_TEST_MAIN_WITHOUT_CUDA ("/cuda-precision/not-built", "reduced-precision modes")

#endif
