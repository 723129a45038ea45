/* test-train-parity.c — end to end against PyTorch: from identical initial weights, 10 Adam
 * steps of the scale-1 CNN (and the other scale-1 variants) on the MIX loss give the same
 * losses as PyTorch (tests/ref/torch_train_parity.py) within 1e-4 relative, and the same
 * final weights. */
#include "pf-test-util.h"
#include "pf-test-graph.h"
#include "pf-model.h"
#include "pf-train-step.h"
#include "pf-rng.h"

#define STEPS 10
#define BATCH 6
#define SIZE 56

/* Sparse non-negative images in [0, 1] like normalised calorimeter read-outs. */
static void
fill_sparse (float *v, size_t n, uint32_t stream, double occupancy)
{
  for (size_t i = 0; i < n; i++)
    {
      philox4x32_ctr_t r = pf_rng_block (99, stream, (uint32_t) i, 0, 0);
      v[i] = pf_rng_u01 (r.v[0]) < occupancy ? pf_rng_u01 (r.v[1]) : 0.0f;
    }
}

static void
check_variant (gconstpointer data)
{
  const char *variant = data;
  static const char *const variants[] = { "cnn", "se", "rowatt", "3d", "se3d" };
  int variant_index = -1;
  for (int i = 0; i < 5; i++)
    if (!strcmp (variants[i], variant))
      variant_index = i;
  g_assert_cmpint (variant_index, >=, 0);

  GError *error = NULL;
  PfGraph *g = pf_model_build (variant, 1, BATCH, SIZE, &error);
  g_assert_no_error (error);
  PfPlanOptions opts = { PF_DEVICE_CPU, true, false, 7 };
  g_assert_true (pf_graph_plan (g, &opts, &error));
  PfLossDesc ld;
  pf_loss_desc_init (&ld, PF_LOSS_MIX, BATCH, SIZE, SIZE);
  const double lr = 1e-3;
  PfTrainStep *s = pf_train_step_new (g, &ld, lr, &error);
  g_assert_no_error (error);
  size_t nx = (size_t) BATCH * 4 * SIZE * SIZE, ny = (size_t) BATCH * SIZE * SIZE;
  fill_sparse (pf_train_step_input (s), nx, 1, 0.3);
  fill_sparse (pf_train_step_target (s), ny, 2, 0.3);

  /* The reference gets pflow's initial state, the batch and the settings. */
  char *tmp = g_dir_make_tmp ("pflow-parity-XXXXXX", &error);
  g_assert_no_error (error);
  char *in_path = g_build_filename (tmp, "init.pfref", NULL);
  PfRefWriter *w = pf_ref_writer_new (in_path);
  for (int i = 0; i < pf_graph_n_tensors (g); i++)
    {
      PfTensor *t = pf_graph_tensor (g, i);
      if (t->kind == PF_TENSOR_PARAM || t->kind == PF_TENSOR_BUFFER)
        pf_ref_writer_add (w, t->name, t->ndim, t->shape, t->data);
    }
  int xs[4] = { BATCH, 4, SIZE, SIZE }, ys[4] = { BATCH, 1, SIZE, SIZE };
  pf_ref_writer_add (w, "x", 4, xs, pf_train_step_input (s));
  pf_ref_writer_add (w, "y", 4, ys, pf_train_step_target (s));
  pf_ref_writer_scalar (w, "steps", STEPS);
  pf_ref_writer_scalar (w, "lr", lr);
  pf_ref_writer_scalar (w, "lambda", ld.lambda);
  pf_ref_writer_scalar (w, "scale", 1);
  pf_ref_writer_scalar (w, "variant_index", variant_index);
  pf_ref_writer_close (w);

  char *in_arg = g_strconcat ("--in=", in_path, NULL);
  const char *args[] = { in_arg, NULL };
  char *dir = pf_test_run_reference ("torch_train_parity.py", args);
  if (dir)
    {
      char *out_path = g_build_filename (dir, "losses.pfref", NULL);
      PfRefBundle *ref = pf_ref_load (out_path);
      const PfRefTensor *losses = pf_ref_get (ref, "losses");
      g_assert_cmpint ((int) losses->count, ==, STEPS);
      for (int k = 0; k < STEPS; k++)
        {
          double loss = 0;
          g_assert_true (pf_train_step_run (s, &loss, NULL, &error));
          g_assert_no_error (error);
          double rel = fabs (loss - losses->data[k]) / fabs (losses->data[k]);
          g_test_message ("%s step %d: pflow %.8g torch %.8g rel %.2g", variant, k + 1, loss,
                          losses->data[k], rel);
          if (!(rel < 1e-4))
            g_error ("%s step %d: loss %.8g vs PyTorch %.8g (rel %.3g)", variant, k + 1, loss,
                     losses->data[k], rel);
        }
      /* The trained weights agree too. Not the bias of a conv that feeds a BatchNorm: its exact
       * gradient is zero (BN removes the mean), so both sides hold rounding noise that Adam
       * normalises to steps of size lr — different noise, different but meaningless values.
       * The BN's running mean carries that bias, so it is skipped too (running_var is not). */
      GHashTable *noise = pf_test_noise_tensors (g);
      for (int i = 0; i < pf_graph_n_tensors (g); i++)
        {
          PfTensor *t = pf_graph_tensor (g, i);
          if (t->kind != PF_TENSOR_PARAM && t->kind != PF_TENSOR_BUFFER)
            continue;
          if (g_hash_table_contains (noise, GINT_TO_POINTER (i)))
            continue;
          const PfRefTensor *r = pf_ref_get (ref, t->name);
          g_assert_cmpuint (r->count, ==, t->numel);
          /* 1e-2: Adam's step is ~lr * sign(g) where |g| is tiny, so float rounding that differs
           * between the two implementations moves such weights by up to lr per step; a wrong
           * gradient gives errors of order one. */
          pf_assert_close (t->name, t->data, r->data, t->numel, 1e-2);
        }
      g_hash_table_unref (noise);
      pf_ref_free (ref);
      g_free (out_path);
      pf_test_rm_dir (dir);
      g_free (dir);
    }
  g_free (in_arg);
  pf_test_rm_dir (tmp);
  g_free (tmp);
  g_free (in_path);
  pf_train_step_free (s);
  pf_graph_free (g);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_data_func ("/train/parity/cnn", "cnn", check_variant);
  g_test_add_data_func ("/train/parity/se", "se", check_variant);
  g_test_add_data_func ("/train/parity/rowatt", "rowatt", check_variant);
  g_test_add_data_func ("/train/parity/3d", "3d", check_variant);
  g_test_add_data_func ("/train/parity/se3d", "se3d", check_variant);
  return g_test_run ();
}
