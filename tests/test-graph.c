/* test-graph.c — the engine: building errors name the layer and both shapes, parameter counts
 * of the model zoo match DESIGN.md §5 exactly, the fast CPU backend gives the reference
 * backend's numbers for whole models (forward, every gradient), inference mode uses the running
 * statistics, and a non-finite loss stops the step with a message naming it. */
#include "pf-test-util.h"
#include "pf-test-graph.h"
#include "pf-model.h"
#include "pf-train-step.h"
#include "pf-error.h"
#include "pf-rng.h"

static void
fill_random (float *v, size_t n, uint32_t stream)
{
  for (size_t i = 0; i < n; i++)
    {
      philox4x32_ctr_t r = pf_rng_block (5, stream, (uint32_t) i, 0, 0);
      v[i] = pf_rng_u01 (r.v[0]) < 0.4 ? pf_rng_u01 (r.v[1]) : 0.0f;
    }
}

static void
test_param_counts (void)
{
  /* DESIGN.md §5, exact. */
  static const struct { const char *name; size_t count[6]; } table[] = {
    { "cnn", { 0, 20537, 91953, 1443137, 6052161, 24436609 } },
    { "se", { 0, 20665, 92465, 1451329, 6084929, 24567681 } },
    { "rowatt", { 0, 23705, 104433, 1640513, 6840129, 27585409 } },
    { "3d", { 0, 22641, 87609, 1456441, 6065465, 24449913 } },
    { "se3d", { 0, 22769, 96169, 1464633, 6098233, 24580985 } },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (table); i++)
    for (int s = 1; s <= 5; s++)
      {
        size_t n = 0;
        GError *error = NULL;
        g_assert_true (pf_model_param_count (table[i].name, s, &n, &error));
        g_assert_no_error (error);
        g_test_message ("%s scale %d: %zu parameters", table[i].name, s, n);
        g_assert_cmpuint (n, ==, table[i].count[s]);
      }
}

static void
test_shape_errors (void)
{
  PfGraph *g = pf_graph_new ("broken");
  int shape[4] = { 2, 4, 8, 8 };
  int x = pf_graph_input (g, "input", 4, shape);
  int y = pf_graph_conv2d (g, "encoder.0", x, 3, 8, 5, 1, 2, true);
  g_assert_cmpint (y, ==, -1);
  /* later calls on a failed tensor are ignored; the first error stays */
  g_assert_cmpint (pf_graph_relu (g, y), ==, -1);
  const GError *e = pf_graph_error (g);
  g_assert_nonnull (e);
  g_assert_true (g_error_matches (e, PF_ERROR, PF_ERROR_SHAPE));
  g_test_message ("%s", e->message);
  g_assert_nonnull (strstr (e->message, "encoder.0"));
  g_assert_nonnull (strstr (e->message, "[2, 4, 8, 8]"));
  g_assert_nonnull (strstr (e->message, "3 input channels"));
  PfPlanOptions opts = { PF_DEVICE_CPU, true, false, 1 };
  GError *error = NULL;
  g_assert_false (pf_graph_plan (g, &opts, &error));
  g_assert_error (error, PF_ERROR, PF_ERROR_SHAPE);
  g_clear_error (&error);
  pf_graph_free (g);

  g = pf_graph_new ("adder");
  int s1[4] = { 2, 4, 8, 8 }, s2[4] = { 2, 4, 8, 7 };
  int a = pf_graph_input (g, "a", 4, s1), b = pf_graph_input (g, "b", 4, s2);
  g_assert_cmpint (pf_graph_add (g, "skip.add", a, b), ==, -1);
  e = pf_graph_error (g);
  g_assert_nonnull (strstr (e->message, "skip.add"));
  g_assert_nonnull (strstr (e->message, "[2, 4, 8, 8]"));
  g_assert_nonnull (strstr (e->message, "[2, 4, 8, 7]"));
  pf_graph_free (g);

  g_assert_null (pf_model_build ("resnet", 1, 2, 56, &error));
  g_assert_error (error, PF_ERROR, PF_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "resnet"));
  g_clear_error (&error);
  g_assert_null (pf_model_build ("cnn", 7, 2, 56, &error));
  g_assert_error (error, PF_ERROR, PF_ERROR_INVALID);
  g_clear_error (&error);
}

/* One training step on the fast backend and on the reference backend from the same weights and
 * batch: same loss, same gradients. */
static void
test_fast_vs_ref (gconstpointer data)
{
  const char *name = data;
  const int batch = 3, size = 24;
  GError *error = NULL;
  PfGraph *g[2];
  PfTrainStep *st[2];
  for (int k = 0; k < 2; k++)
    {
      g[k] = pf_model_build (name, 1, batch, size, &error);
      g_assert_no_error (error);
      PfPlanOptions opts = { PF_DEVICE_CPU, true, k == 1, 11 };
      g_assert_true (pf_graph_plan (g[k], &opts, &error));
      g_assert_no_error (error);
      PfLossDesc ld;
      pf_loss_desc_init (&ld, PF_LOSS_MIX, batch, size, size);
      st[k] = pf_train_step_new (g[k], &ld, 1e-3, &error);
      g_assert_no_error (error);
      fill_random (pf_train_step_input (st[k]), (size_t) batch * 4 * size * size, 1);
      fill_random (pf_train_step_target (st[k]), (size_t) batch * size * size, 2);
    }
  /* Same initial parameters by construction (same seed). */
  size_t np = pf_graph_n_params (g[0]);
  g_assert_cmpmem (pf_graph_param_data (g[0]), np * 4, pf_graph_param_data (g[1]), np * 4);
  for (int k = 0; k < 2; k++)
    {
      pf_graph_set_training (g[k], true);
      pf_graph_forward (g[k]);
    }
  PfTensor *y0 = pf_graph_tensor (g[0], pf_graph_output_id (g[0]));
  PfTensor *y1 = pf_graph_tensor (g[1], pf_graph_output_id (g[1]));
  pf_assert_close ("forward output", y0->data, y1->data, y0->numel, 1e-5);
  double l[2];
  for (int k = 0; k < 2; k++)
    g_assert_true (pf_train_step_run (st[k], &l[k], NULL, &error));
  g_test_message ("%s loss fast %.9g ref %.9g", name, l[0], l[1]);
  g_assert_cmpfloat (fabs (l[0] - l[1]), <=, 1e-5 * fabs (l[1]));
  /* The gradients of this step, tensor by tensor (not those that are exactly zero in exact
   * arithmetic: both sides hold different rounding noise there). */
  GHashTable *noise = pf_test_noise_tensors (g[0]);
  for (int i = 0; i < pf_graph_n_tensors (g[0]); i++)
    {
      PfTensor *a = pf_graph_tensor (g[0], i), *b = pf_graph_tensor (g[1], i);
      if (a->kind != PF_TENSOR_PARAM || g_hash_table_contains (noise, GINT_TO_POINTER (i)))
        continue;
      char *what = g_strdup_printf ("%s grad %s", name, a->name);
      pf_assert_close (what, a->grad, b->grad, a->numel, 1e-3);
      g_free (what);
    }
  g_hash_table_unref (noise);
  for (int k = 0; k < 2; k++)
    {
      pf_train_step_free (st[k]);
      pf_graph_free (g[k]);
    }
}

static void
test_inference_uses_running_stats (void)
{
  GError *error = NULL;
  PfGraph *g = pf_model_build ("cnn", 1, 2, 16, &error);
  PfPlanOptions opts = { PF_DEVICE_CPU, true, false, 3 };
  g_assert_true (pf_graph_plan (g, &opts, &error));
  PfTensor *x = pf_graph_tensor (g, pf_graph_input_id (g));
  fill_random (x->data, x->numel, 3);
  PfTensor *y = pf_graph_tensor (g, pf_graph_output_id (g));
  int rm = pf_graph_find (g, "encoder.1.running_mean");
  g_assert_cmpint (rm, >=, 0);
  float before = pf_graph_tensor (g, rm)->data[0];
  pf_graph_set_training (g, false);
  pf_graph_forward (g);
  float *a = g_memdup2 (y->data, y->numel * 4);
  /* inference leaves running statistics alone and is repeatable */
  g_assert_cmpfloat (pf_graph_tensor (g, rm)->data[0], ==, before);
  pf_graph_forward (g);
  g_assert_cmpmem (a, y->numel * 4, y->data, y->numel * 4);
  /* training mode updates them and gives different outputs (batch statistics) */
  pf_graph_set_training (g, true);
  pf_graph_forward (g);
  g_assert_cmpfloat (pf_graph_tensor (g, rm)->data[0], !=, before);
  g_assert_true (pf_rel_err (y->data, a, y->numel) > 1e-3);
  g_free (a);
  pf_graph_free (g);
}

static void
test_nonfinite_loss_stops (void)
{
  GError *error = NULL;
  PfGraph *g = pf_model_build ("cnn", 1, 2, 16, &error);
  PfPlanOptions opts = { PF_DEVICE_CPU, true, false, 3 };
  g_assert_true (pf_graph_plan (g, &opts, &error));
  PfLossDesc ld;
  pf_loss_desc_init (&ld, PF_LOSS_WMSE, 2, 16, 16);
  PfTrainStep *s = pf_train_step_new (g, &ld, 1e-3, &error);
  fill_random (pf_train_step_input (s), 2 * 4 * 16 * 16, 4);
  fill_random (pf_train_step_target (s), 2 * 16 * 16, 5);
  double loss;
  g_assert_true (pf_train_step_run (s, &loss, NULL, &error));
  pf_train_step_input (s)[17] = NAN;
  size_t np = pf_graph_n_params (g);
  float *before = g_memdup2 (pf_graph_param_data (g), np * 4);
  g_assert_false (pf_train_step_run (s, &loss, NULL, &error));
  g_assert_error (error, PF_ERROR, PF_ERROR_NUMERIC);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "step 2"));
  g_clear_error (&error);
  /* the weights were not touched */
  g_assert_cmpmem (before, np * 4, pf_graph_param_data (g), np * 4);
  g_free (before);
  pf_train_step_free (s);
  pf_graph_free (g);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/graph/param-counts", test_param_counts);
  g_test_add_func ("/graph/shape-errors", test_shape_errors);
  g_test_add_func ("/graph/inference-mode", test_inference_uses_running_stats);
  g_test_add_func ("/graph/nonfinite-loss", test_nonfinite_loss_stops);
  g_test_add_data_func ("/graph/fast-vs-ref/cnn", "cnn", test_fast_vs_ref);
  g_test_add_data_func ("/graph/fast-vs-ref/se", "se", test_fast_vs_ref);
  g_test_add_data_func ("/graph/fast-vs-ref/rowatt", "rowatt", test_fast_vs_ref);
  g_test_add_data_func ("/graph/fast-vs-ref/3d", "3d", test_fast_vs_ref);
  g_test_add_data_func ("/graph/fast-vs-ref/se3d", "se3d", test_fast_vs_ref);
  return g_test_run ();
}
