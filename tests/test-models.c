/* test-models.c — the earlier model family (core/nn/pf-model-earlier.c) and the LSTM graph op:
 * every model is listed, builds at batch 2 and size 56 with its exact parameter count, and
 * matches PyTorch (tests/ref/torch_models.py, from pflow's weights) on one forward pass in
 * training mode and the gradients of one backward pass, on the fast CPU backend at size 56 and
 * on the reference backend (at a smaller size for the heavy ones: plain loops). The U-Net is
 * compared with dropout p = 0 (PfModelOptions.no_dropout): PyTorch's masks cannot be
 * reproduced. The LSTM op in the graph gives the op's own numbers (core/ops, itself checked
 * against torch.nn.LSTM by test-lstm), through h0/c0 inputs and hn/cn outputs, also when its
 * parameters are not adjacent in the arena. */
#include "pf-test-util.h"
#include "pf-test-graph.h"
#include "pf-model.h"
#include "pf-error.h"
#include "pf-rng.h"

static void
fill_random (float *v, size_t n, uint32_t stream, double occupancy, double lo)
{
  for (size_t i = 0; i < n; i++)
    {
      philox4x32_ctr_t r = pf_rng_block (17, stream, (uint32_t) i, 0, 0);
      v[i] = pf_rng_u01 (r.v[0]) < occupancy ? lo + (1.0 - lo) * pf_rng_u01 (r.v[1]) : 0.0f;
    }
}

/* ---- the list --------------------------------------------------------------------------- */
static const struct {
  const char *name;
  size_t params;  /* exact, from the layer definitions (torch_models.py gives the same) */
  /* Image size of the reference-backend parity check. A ReLU whose input is within rounding
   * of zero masks the gradient differently on two correct implementations (one such element
   * gives errors of 1e-3): the sizes are ones whose Philox batch has none (cnn3d at 32 has). */
  int ref_size;
} earlier[] = {
  { "mlp", 1055745, 8 },
  { "cnn-se", 83487, 32 },
  { "cnn3d", 87609, 24 },
  { "cnn-sa", 938178, 16 },
  { "unet", 487937, 16 },
  { "unet-sa", 979330, 16 },
  { "lstm", 1625400, 56 },
};

static void
test_list (void)
{
  const PfModelInfo *const *list = pf_model_list ();
  int n = 0;
  while (list[n])
    n++;
  g_assert_cmpint (n, ==, 5 + (int) G_N_ELEMENTS (earlier));
  for (gsize i = 0; i < G_N_ELEMENTS (earlier); i++)
    {
      const PfModelInfo *info = pf_model_find (earlier[i].name);
      g_assert_nonnull (info);
      g_assert_cmpint (info->min_scale, ==, 0);
      g_assert_cmpint (info->max_scale, ==, 0);
      g_assert_cmpint (info->paper_batch[0], >, 0);
      GError *error = NULL;
      PfGraph *g = pf_model_build (earlier[i].name, 0, 2, 56, &error);
      g_assert_no_error (error);
      PfTensor *x = pf_graph_tensor (g, pf_graph_input_id (g));
      PfTensor *y = pf_graph_tensor (g, pf_graph_output_id (g));
      g_assert_cmpint (x->numel, ==, 2 * 4 * 56 * 56);
      g_assert_cmpint (y->numel, ==, 2 * 56 * 56);
      g_assert_cmpint (y->shape[1], ==, 1);
      g_test_message ("%s: %zu parameters, %.2f GFLOP forward at batch 2", earlier[i].name,
                      pf_graph_n_params (g), pf_graph_forward_flops (g) / 1e9);
      g_assert_cmpuint (pf_graph_n_params (g), ==, earlier[i].params);
      size_t count = 0;
      g_assert_true (pf_model_param_count (earlier[i].name, 0, &count, &error));
      g_assert_cmpuint (count, ==, earlier[i].params);
      pf_graph_free (g);
    }
}

static void
test_build_errors (void)
{
  GError *error = NULL;
  g_assert_null (pf_model_build ("unet", 1, 2, 56, &error));
  g_assert_error (error, PF_ERROR, PF_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "unet"));
  g_clear_error (&error);
  g_assert_null (pf_model_build ("cnn-sa", 0, 2, 54, &error));
  g_assert_error (error, PF_ERROR, PF_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "divisible by 4"));
  g_clear_error (&error);
  /* the unknown-name message lists both families */
  g_assert_null (pf_model_build ("resnet", 0, 2, 56, &error));
  g_assert_nonnull (strstr (error->message, "rowatt"));
  g_assert_nonnull (strstr (error->message, "unet-sa"));
  g_clear_error (&error);
  /* an LSTM state of the wrong shape names the layer and both shapes */
  PfGraph *g = pf_graph_new ("bad-lstm");
  int xs[3] = { 2, 5, 3 }, hs[3] = { 1, 2, 4 };
  int x = pf_graph_input (g, "x", 3, xs), h0 = pf_graph_input (g, "h0", 3, hs);
  g_assert_cmpint (pf_graph_lstm (g, "seq", x, 4, 2, h0, -1, NULL, NULL), ==, -1);
  const GError *e = pf_graph_error (g);
  g_assert_nonnull (e);
  g_test_message ("%s", e->message);
  g_assert_nonnull (strstr (e->message, "seq"));
  g_assert_nonnull (strstr (e->message, "[2, 2, 4]"));
  g_assert_nonnull (strstr (e->message, "[1, 2, 4]"));
  pf_graph_free (g);
}

/* ---- the LSTM op in the graph --------------------------------------------------------------- */
/* Two stacked LSTMs, the second started from the first's final state, against the op called
 * directly on flat copies of the graph's parameters. H = 5 leaves gaps between the parameters
 * in the arena (the packing path), H = 8 does not. */
static void
check_lstm_graph (int H, bool reference_only)
{
  const int B = 2, T = 6, I = 3, L = 2;
  PfGraph *g = pf_graph_new ("lstm-op");
  int xs[3] = { B, T, I };
  int x = pf_graph_input (g, "x", 3, xs);
  int hn = -1, cn = -1;
  int a = pf_graph_lstm (g, "enc", x, H, L, -1, -1, &hn, &cn);
  int y = pf_graph_lstm (g, "dec", a, H, L, hn, cn, NULL, NULL);
  pf_graph_set_output (g, y);
  g_assert_null (pf_graph_error (g));
  PfPlanOptions opts = { PF_DEVICE_CPU, true, reference_only, 5 };
  GError *error = NULL;
  g_assert_true (pf_graph_plan (g, &opts, &error));
  g_assert_no_error (error);

  /* PyTorch's initialisation: U(+-1/sqrt(H)), not constant */
  PfLstmDesc d1 = { B, T, I, H, L }, d2 = { B, T, H, H, L };
  int w_enc = pf_graph_find (g, "enc.weight_ih_l0"), w_dec = pf_graph_find (g, "dec.weight_ih_l0");
  g_assert_cmpint (w_enc, >=, 0);
  g_assert_cmpint (pf_graph_find (g, "dec.bias_hh_l1"), ==, w_dec + 4 * L - 1);
  float *flat[2] = { g_new (float, pf_lstm_param_count (&d1)), g_new (float, pf_lstm_param_count (&d2)) };
  int first[2] = { w_enc, w_dec };
  /* The op reads each LSTM's parameters as one flat buffer: the planner lays them out back to
   * back whatever their sizes (H = 5 gives 60-float tensors, not a multiple of the alignment). */
  for (int k = 0; k < 2; k++)
    for (int j = 1; j < 4 * L; j++)
      {
        PfTensor *prev = pf_graph_tensor (g, first[k] + j - 1), *t = pf_graph_tensor (g, first[k] + j);
        g_assert_true (t->data == prev->data + prev->numel);
        g_assert_true (t->grad == prev->grad + prev->numel);
      }
  float bound = 1.0f / sqrtf ((float) H);
  for (int k = 0; k < 2; k++)
    {
      size_t off = 0;
      for (int j = 0; j < 4 * L; j++)
        {
          PfTensor *t = pf_graph_tensor (g, first[k] + j);
          for (size_t i = 0; i < t->numel; i++)
            g_assert_cmpfloat (fabsf (t->data[i]), <=, bound);
          g_assert_cmpfloat (t->data[0], !=, t->data[t->numel - 1]);
          memcpy (flat[k] + off, t->data, t->numel * sizeof (float));
          off += t->numel;
        }
    }
  PfTensor *tx = pf_graph_tensor (g, x), *ty = pf_graph_tensor (g, y);
  fill_random (tx->data, tx->numel, 30 + H, 1.0, -1.0);
  pf_graph_forward (g);

  size_t ns = (size_t) L * B * H, ny = (size_t) B * T * H;
  float *ya = g_new (float, ny), *yb = g_new (float, ny), *hn_ = g_new (float, ns), *cn_ = g_new (float, ns);
  float *ws1 = g_new (float, pf_lstm_workspace_size (&d1)), *ws2 = g_new (float, pf_lstm_workspace_size (&d2));
  pf_lstm_forward_ref (&d1, tx->data, flat[0], NULL, NULL, ya, hn_, cn_, ws1);
  pf_lstm_forward_ref (&d2, ya, flat[1], hn_, cn_, yb, NULL, NULL, ws2);
  pf_assert_close ("lstm graph forward", ty->data, yb, ny, 1e-6);
  pf_assert_close ("lstm graph hn", pf_graph_tensor (g, hn)->data, hn_, ns, 1e-6);

  float *dy = g_new (float, ny);
  fill_random (dy, ny, 40 + H, 1.0, -1.0);
  memcpy (ty->grad, dy, ny * sizeof (float));
  pf_graph_backward (g);
  float *dw[2] = { g_new0 (float, pf_lstm_param_count (&d1)), g_new0 (float, pf_lstm_param_count (&d2)) };
  float *da = g_new0 (float, ny), *dh = g_new0 (float, ns), *dc = g_new0 (float, ns);
  pf_lstm_backward_ref (&d2, ya, flat[1], dy, NULL, NULL, da, dw[1], dh, dc, ws2);
  pf_lstm_backward_ref (&d1, tx->data, flat[0], da, dh, dc, NULL, dw[0], NULL, NULL, ws1);
  for (int k = 0; k < 2; k++)
    {
      size_t off = 0;
      for (int j = 0; j < 4 * L; j++)
        {
          PfTensor *t = pf_graph_tensor (g, first[k] + j);
          char *what = g_strdup_printf ("H=%d grad %s", H, t->name);
          pf_assert_close (what, t->grad, dw[k] + off, t->numel, 1e-6);
          g_free (what);
          off += t->numel;
        }
      g_free (dw[k]);
      g_free (flat[k]);
    }
  g_free (ya);
  g_free (yb);
  g_free (hn_);
  g_free (cn_);
  g_free (ws1);
  g_free (ws2);
  g_free (dy);
  g_free (da);
  g_free (dh);
  g_free (dc);
  pf_graph_free (g);
}

static void
test_lstm_graph (void)
{
  check_lstm_graph (5, false); /* gaps: packed */
  check_lstm_graph (8, true);  /* adjacent: in place */
  check_lstm_graph (8, false);
}

/* The U-Net as built by default has its dropout layers: active (a new mask every training pass)
 * in training mode, the identity in inference mode, where it gives the dropout-free build's
 * numbers from the same weights. */
static void
test_unet_dropout (void)
{
  const int size = 16;
  GError *error = NULL;
  PfModelOptions mo = { .no_dropout = true };
  PfGraph *g[2] = { pf_model_build ("unet", 0, 2, size, &error),
                    pf_model_build_with ("unet", 0, 2, size, &mo, &error) };
  g_assert_no_error (error);
  PfPlanOptions opts = { PF_DEVICE_CPU, true, false, 9 };
  for (int k = 0; k < 2; k++)
    g_assert_true (pf_graph_plan (g[k], &opts, &error));
  g_assert_cmpint (pf_graph_n_nodes (g[0]), ==, pf_graph_n_nodes (g[1]) + 6);
  for (int i = 0; i < pf_graph_n_tensors (g[1]); i++)
    {
      PfTensor *t = pf_graph_tensor (g[1], i);
      if (t->kind == PF_TENSOR_PARAM || t->kind == PF_TENSOR_BUFFER)
        {
          int j = pf_graph_find (g[0], t->name);
          g_assert_cmpint (j, >=, 0);
          memcpy (t->data, pf_graph_tensor (g[0], j)->data, t->numel * sizeof (float));
        }
    }
  PfTensor *x[2], *y[2];
  for (int k = 0; k < 2; k++)
    {
      x[k] = pf_graph_tensor (g[k], pf_graph_input_id (g[k]));
      y[k] = pf_graph_tensor (g[k], pf_graph_output_id (g[k]));
      fill_random (x[k]->data, x[k]->numel, 7, 0.5, 0.0);
      pf_graph_set_training (g[k], false);
      pf_graph_forward (g[k]);
    }
  pf_assert_close ("unet inference with dropout layers", y[0]->data, y[1]->data, y[0]->numel, 1e-6);
  float *a = g_memdup2 (y[0]->data, y[0]->numel * sizeof (float));
  pf_graph_set_training (g[0], true);
  pf_graph_forward (g[0]);
  float *b = g_memdup2 (y[0]->data, y[0]->numel * sizeof (float));
  pf_graph_forward (g[0]);
  g_assert_true (pf_rel_err (b, a, y[0]->numel) > 1e-3);
  g_assert_true (pf_rel_err (y[0]->data, b, y[0]->numel) > 1e-3);
  g_free (a);
  g_free (b);
  for (int k = 0; k < 2; k++)
    pf_graph_free (g[k]);
}

/* ---- parity with PyTorch ------------------------------------------------------------------ */
typedef struct {
  PfGraph *g;
  char *path;
  float *dy;
} Case;

static Case
make_case (const char *tmp, int k, const char *name, int model_index, int size, bool reference_only)
{
  const int batch = 2;
  Case c = { 0 };
  GError *error = NULL;
  PfModelOptions mo = { .no_dropout = true };
  c.g = pf_model_build_with (name, 0, batch, size, &mo, &error);
  g_assert_no_error (error);
  PfPlanOptions opts = { PF_DEVICE_CPU, true, reference_only, 23 };
  g_assert_true (pf_graph_plan (c.g, &opts, &error));
  g_assert_no_error (error);
  PfTensor *x = pf_graph_tensor (c.g, pf_graph_input_id (c.g));
  PfTensor *y = pf_graph_tensor (c.g, pf_graph_output_id (c.g));
  fill_random (x->data, x->numel, 1, 0.5, 0.0);
  c.dy = g_new (float, y->numel);
  fill_random (c.dy, y->numel, 2, 1.0, -1.0);

  c.path = g_strdup_printf ("%s/in%d.pfref", tmp, k);
  PfRefWriter *w = pf_ref_writer_new (c.path);
  for (int i = 0; i < pf_graph_n_tensors (c.g); i++)
    {
      PfTensor *t = pf_graph_tensor (c.g, i);
      /* an attention gain starts at 0, which would hide the attention from the comparison */
      if (g_str_has_suffix (t->name, ".gamma"))
        t->data[0] = 0.75f;
      if (t->kind == PF_TENSOR_PARAM || t->kind == PF_TENSOR_BUFFER)
        pf_ref_writer_add (w, t->name, t->ndim, t->shape, t->data);
    }
  pf_ref_writer_add (w, "x", x->ndim, x->shape, x->data);
  pf_ref_writer_add (w, "dy", y->ndim, y->shape, c.dy);
  pf_ref_writer_scalar (w, "model_index", model_index);
  pf_ref_writer_scalar (w, "scale", 0);
  pf_ref_writer_scalar (w, "size", size);
  pf_ref_writer_scalar (w, "dropout", 0);
  pf_ref_writer_scalar (w, "training", 1);
  pf_ref_writer_close (w);
  return c;
}

static void
check_case (Case *c, const char *ref_path, const char *what)
{
  PfGraph *g = c->g;
  PfRefBundle *ref = pf_ref_load (ref_path);
  PfTensor *y = pf_graph_tensor (g, pf_graph_output_id (g));
  pf_graph_set_training (g, true);
  gint64 t0 = g_get_monotonic_time ();
  pf_graph_forward (g);
  char *s = g_strdup_printf ("%s forward", what);
  const PfRefTensor *ry = pf_ref_get (ref, "y");
  g_assert_cmpuint (ry->count, ==, y->numel);
  pf_assert_close (s, y->data, ry->data, y->numel, 1e-4);
  g_free (s);
  memcpy (y->grad, c->dy, y->numel * sizeof (float));
  pf_graph_backward (g);
  g_test_message ("%s: pflow forward + backward %.2f s", what, (g_get_monotonic_time () - t0) / 1e6);

  /* Exactly-zero gradients hold rounding noise on both sides: the helper's, and the key bias
   * of the spatial attention (softmax over the keys ignores the constant q_i . b_k). */
  GHashTable *noise = pf_test_noise_tensors (g);
  int key_bias = pf_graph_find (g, "attn.key.bias");
  if (key_bias >= 0)
    g_hash_table_add (noise, GINT_TO_POINTER (key_bias));
  int checked = 0;
  for (int i = 0; i < pf_graph_n_tensors (g); i++)
    {
      PfTensor *t = pf_graph_tensor (g, i);
      if ((t->kind != PF_TENSOR_PARAM && t->kind != PF_TENSOR_BUFFER) ||
          g_hash_table_contains (noise, GINT_TO_POINTER (i)))
        continue;
      bool param = t->kind == PF_TENSOR_PARAM;
      char *key = g_strconcat (param ? "grad." : "state.", t->name, NULL);
      const PfRefTensor *r = pf_ref_get (ref, key);
      g_assert_cmpuint (r->count, ==, t->numel);
      char *label = g_strdup_printf ("%s %s", what, key);
      pf_assert_close (label, param ? t->grad : t->data, r->data, t->numel, param ? 1e-3 : 1e-4);
      g_free (label);
      g_free (key);
      checked++;
    }
  g_assert_cmpint (checked, >, 0);
  g_hash_table_unref (noise);
  pf_ref_free (ref);
}

static void
test_parity (gconstpointer data)
{
  int i = GPOINTER_TO_INT (data);
  const char *name = earlier[i].name;
  GError *error = NULL;
  char *tmp = g_dir_make_tmp ("pflow-models-XXXXXX", &error);
  g_assert_no_error (error);
  /* torch_models.ALL = the 5 scaled variants, then the earlier family in this order */
  Case c[2] = { make_case (tmp, 0, name, 5 + i, 56, false),
                make_case (tmp, 1, name, 5 + i, earlier[i].ref_size, true) };
  char *a0 = g_strconcat ("--in=", c[0].path, NULL), *a1 = g_strconcat ("--in=", c[1].path, NULL);
  const char *args[] = { a0, a1, NULL };
  char *dir = pf_test_run_reference ("torch_models.py", args);
  if (dir)
    {
      for (int k = 0; k < 2; k++)
        {
          char *out = g_strdup_printf ("%s/out%d.pfref", dir, k);
          char *what = g_strdup_printf ("%s (%s, size %d)", name, k == 0 ? "fast" : "reference",
                                        k == 0 ? 56 : earlier[i].ref_size);
          check_case (&c[k], out, what);
          g_free (what);
          g_free (out);
        }
      pf_test_rm_dir (dir);
      g_free (dir);
    }
  for (int k = 0; k < 2; k++)
    {
      pf_graph_free (c[k].g);
      g_free (c[k].path);
      g_free (c[k].dy);
    }
  g_free (a0);
  g_free (a1);
  pf_test_rm_dir (tmp);
  g_free (tmp);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/models/list", test_list);
  g_test_add_func ("/models/build-errors", test_build_errors);
  g_test_add_func ("/models/lstm-graph", test_lstm_graph);
  g_test_add_func ("/models/unet-dropout", test_unet_dropout);
  for (gsize i = 0; i < G_N_ELEMENTS (earlier); i++)
    {
      char *path = g_strdup_printf ("/models/parity/%s", earlier[i].name);
      g_test_add_data_func (path, GINT_TO_POINTER ((int) i), test_parity);
      g_free (path);
    }
  return g_test_run ();
}
