/* pf-model-earlier.c — the earlier model family of the comparison study (DESIGN.md §5): MLP,
 * CNN with SE, CNN with the 3D front end, CNN with spatial self-attention, U-Net, U-Net with
 * self-attention, and the LSTM sequence model. They have no scales (scale 0).
 *
 * Where §5 leaves a detail open, the builders take the choice written next to them, and
 * tests/ref/torch_models.py makes exactly the same one:
 * - MLP: per pixel as 1x1 convs, ReLU after each hidden layer, linear output.
 * - CNN: ReLU between the decoder convs (as in every other decoder of §5: two linear convs
 *   would collapse into one); the SE block (reduction 16, bias-free FCs) sits between encoder
 *   and decoder, where the scaled SE variant has it; the 3D variant has no SE.
 * - Self-attention: SAGAN's block (Zhang et al. 2019, whose Q^T K without scaling §5 follows):
 *   Q, K, V are 1x1 convs C -> C with bias (§5 names no reduction), scores S = Q^T K over the
 *   h*w positions, softmax over the keys, out = gamma * V S^T + x with a learnt scalar gamma
 *   that starts at 0. Without the residual, where the energy lies reaches CNN + SA's decoder
 *   only through attention weights that start uniform, and it did not learn (docs/results.md).
 *   Convs are 3x3 with padding 1, ReLU after each (the up-sampling convs too); no output
 *   activation (§5 lists none for the attention models).
 * - U-Net: LeakyReLU slope 0.01 (PyTorch's default); the up path is cat([up, c1]).
 * - U-Net + SA: after each bilinear up-sampling and its 3x3 conv, concatenation with the
 *   encoder output of that size ([up, skip]), then a linear 1x1 conv back to the conv's width.
 * - LSTM: eta rows (image height) are the tokens, each [emcal row, hcal row, trk_n row,
 *   trk_p row]; hidden 224 whatever the image size; no output activation.
 * The paper does not give their batch sizes here: 32 is used for every one. */
#include "pf-model-private.h"
#include "pf-error.h"

#define EARLIER_BATCH { 32, 0, 0, 0, 0, 0 }

static const PfModelInfo info_mlp = { "mlp", "Per-pixel MLP 4-1024-1024-1", 0, 0, EARLIER_BATCH };
static const PfModelInfo info_cnn_se = { "cnn-se", "Earlier CNN (3/5/7 front convs) with SE, sigmoid", 0, 0, EARLIER_BATCH };
static const PfModelInfo info_cnn3d = { "cnn3d", "Earlier CNN with the 3D front end, sigmoid", 0, 0, EARLIER_BATCH };
static const PfModelInfo info_cnn_sa = { "cnn-sa", "CNN with spatial self-attention at 1/4 size", 0, 0, EARLIER_BATCH };
static const PfModelInfo info_unet = { "unet", "U-Net with BatchNorm and dropout, sigmoid", 0, 0, EARLIER_BATCH };
static const PfModelInfo info_unet_sa = { "unet-sa", "U-Net with spatial self-attention", 0, 0, EARLIER_BATCH };
static const PfModelInfo info_lstm = { "lstm", "Sequence model: eta rows through LSTM encoder-decoder", 0, 0, EARLIER_BATCH };

const PfModelInfo *const _pf_models_earlier[] = { &info_mlp, &info_cnn_se, &info_cnn3d, &info_cnn_sa,
                                                  &info_unet, &info_unet_sa, &info_lstm, NULL };

static int
conv (PfGraph *g, const char *name, int x, int c_in, int c_out, int k)
{
  return pf_graph_conv2d (g, name, x, c_in, c_out, k, 1, k / 2, true);
}

static int
conv_relu (PfGraph *g, const char *name, int x, int c_in, int c_out, int k)
{
  return pf_graph_relu (g, conv (g, name, x, c_in, c_out, k));
}

/* ---- MLP ---------------------------------------------------------------------------------- */
static int
build_mlp (PfGraph *g, int x)
{
  x = conv_relu (g, "mlp.0", x, 4, 1024, 1);
  x = conv_relu (g, "mlp.2", x, 1024, 1024, 1);
  return conv (g, "mlp.4", x, 1024, 1, 1);
}

/* ---- the earlier CNN ---------------------------------------------------------------------- */
/* Conv 3x3, 5x5, 7x7 (4 -> 2 each, same padding) concatenated to 6 channels. */
static int
front_2d (PfGraph *g, int x)
{
  int outs[3];
  for (int i = 0; i < 3; i++)
    {
      char *name = g_strdup_printf ("front.%d", i);
      outs[i] = conv (g, name, x, 4, 2, 3 + 2 * i);
      g_free (name);
    }
  return pf_graph_concat (g, "front.concat", 3, outs);
}

/* encoder 5x5 c_in -> 32 -> 64 (BN ReLU each), [SE], decoder 64 -> 16 ReLU -> 1, sigmoid */
static int
cnn_body (PfGraph *g, int x, int c_in, bool se)
{
  x = conv (g, "encoder.0", x, c_in, 32, 5);
  x = pf_graph_relu (g, pf_graph_batchnorm (g, "encoder.1", x, 32));
  x = conv (g, "encoder.3", x, 32, 64, 5);
  x = pf_graph_relu (g, pf_graph_batchnorm (g, "encoder.4", x, 64));
  if (se)
    x = _pf_model_se_block (g, x, 64);
  x = conv_relu (g, "decoder.0", x, 64, 16, 5);
  x = conv (g, "decoder.2", x, 16, 1, 5);
  return pf_graph_sigmoid (g, x);
}

/* ---- spatial self-attention --------------------------------------------------------------- */
/* x [B, C, h, w]: N = h*w positions; out = gamma V softmax(Q^T K)^T + x, the products on
 * [B, C, N] matrices. */
static int
spatial_attention (PfGraph *g, int x, int batch, int c, int h, int w)
{
  int n = h * w;
  int mat[3] = { batch, c, n };
  int q = pf_graph_reshape (g, conv (g, "attn.query", x, c, c, 1), 3, mat);
  int k = pf_graph_reshape (g, conv (g, "attn.key", x, c, c, 1), 3, mat);
  int v = pf_graph_reshape (g, conv (g, "attn.value", x, c, c, 1), 3, mat);
  int s = pf_graph_bmm (g, "attn.scores", q, k, true, false); /* [B, N, N] = Q^T K */
  int p = pf_graph_softmax (g, s, 1.0f);
  int o = pf_graph_bmm (g, "attn.output", v, p, false, true); /* [B, C, N] = V P^T */
  int img[4] = { batch, c, h, w };
  o = pf_graph_scalar_gain (g, "attn", pf_graph_reshape (g, o, 4, img));
  return pf_graph_add (g, "attn.residual", o, x);
}

/* Conv3x3 4->64, maxpool, 64->128, maxpool, 128->256 (ReLU each), then attention; the outputs
 * before each pooling are the skips of the U-Net variant. */
static int
sa_encoder (PfGraph *g, int x, int batch, int size, int *e1, int *e2)
{
  *e1 = conv_relu (g, "enc1", x, 4, 64, 3);
  *e2 = conv_relu (g, "enc2", pf_graph_maxpool2 (g, *e1), 64, 128, 3);
  x = conv_relu (g, "enc3", pf_graph_maxpool2 (g, *e2), 128, 256, 3);
  return spatial_attention (g, x, batch, 256, size / 4, size / 4);
}

static int
build_sa (PfGraph *g, int x, int batch, int size, bool unet)
{
  int e1, e2;
  x = sa_encoder (g, x, batch, size, &e1, &e2);
  x = conv_relu (g, "dec1", pf_graph_upsample2 (g, x, true), 256, 128, 3);
  if (unet)
    {
      int cat[2] = { x, e2 };
      x = conv (g, "skip1", pf_graph_concat (g, "skip1.concat", 2, cat), 256, 128, 1);
    }
  x = conv_relu (g, "dec2", pf_graph_upsample2 (g, x, true), 128, 64, 3);
  if (unet)
    {
      int cat[2] = { x, e1 };
      x = conv (g, "skip2", pf_graph_concat (g, "skip2.concat", 2, cat), 128, 64, 1);
    }
  return conv (g, "out", x, 64, 1, 3);
}

/* ---- U-Net -------------------------------------------------------------------------------- */
/* [Conv3x3 BN Dropout(0.3) LeakyReLU, Conv3x3 BN Dropout(0.4) LeakyReLU] as nn.Sequential. */
static int
unet_block (PfGraph *g, const char *name, int x, int c_in, int c_out, bool no_dropout)
{
  static const float p[2] = { 0.3f, 0.4f };
  for (int i = 0; i < 2; i++)
    {
      char *cn = g_strdup_printf ("%s.%d", name, 4 * i), *bn = g_strdup_printf ("%s.%d", name, 4 * i + 1);
      x = conv (g, cn, x, i == 0 ? c_in : c_out, c_out, 3);
      x = pf_graph_batchnorm (g, bn, x, c_out);
      /* without dropout the layer is left out: same numbers, no mask to keep */
      if (!no_dropout)
        x = pf_graph_dropout (g, x, p[i]);
      x = pf_graph_leaky_relu (g, x, 0.01f);
      g_free (cn);
      g_free (bn);
    }
  return x;
}

static int
build_unet (PfGraph *g, int x, bool no_dropout)
{
  int c1 = unet_block (g, "c1", x, 4, 64, no_dropout);
  x = pf_graph_conv2d (g, "down.0", c1, 64, 128, 2, 2, 0, true);
  x = pf_graph_leaky_relu (g, x, 0.01f);
  x = unet_block (g, "c2", x, 128, 128, no_dropout);
  x = conv (g, "up", pf_graph_upsample2 (g, x, false), 128, 64, 1);
  int cat[2] = { x, c1 };
  x = pf_graph_concat (g, "up.concat", 2, cat);
  x = unet_block (g, "c5", x, 128, 64, no_dropout);
  x = conv (g, "out", x, 64, 1, 3);
  return pf_graph_sigmoid (g, x);
}

/* ---- sequence model ----------------------------------------------------------------------- */
#define LSTM_HIDDEN 224

static int
build_lstm (PfGraph *g, int x, int batch, int size)
{
  int rows_first[4] = { 0, 2, 1, 3 }; /* [B, 4, H, W] -> [B, H, 4, W] */
  x = pf_graph_permute (g, x, 4, rows_first);
  int tokens[3] = { batch, size, 4 * size };
  x = pf_graph_reshape (g, x, 3, tokens);
  int hn = -1, cn = -1;
  x = pf_graph_lstm (g, "encoder", x, LSTM_HIDDEN, 2, -1, -1, &hn, &cn);
  x = pf_graph_lstm (g, "decoder", x, LSTM_HIDDEN, 2, hn, cn, NULL, NULL);
  x = pf_graph_linear (g, "head", x, LSTM_HIDDEN, size, true);
  int img[4] = { batch, 1, size, size };
  return pf_graph_reshape (g, x, 4, img);
}

PfGraph *
_pf_model_earlier_build (const PfModelInfo *info, int scale, int batch, int size,
                         const PfModelOptions *opts, GError **error)
{
  /* two poolings and two up-samplings, or one stride-2 conv and one up-sampling */
  int multiple = info == &info_cnn_sa || info == &info_unet_sa ? 4 : info == &info_unet ? 2 : 1;
  if (size % multiple != 0)
    {
      g_set_error (error, PF_ERROR, PF_ERROR_INVALID, "model '%s' needs an image size divisible by %d, not %d",
                   info->name, multiple, size);
      return NULL;
    }
  PfGraph *g = pf_graph_new (info->name);
  int in_shape[4] = { batch, 4, size, size };
  int x = pf_graph_input (g, "input", 4, in_shape);
  if (info == &info_mlp)
    x = build_mlp (g, x);
  else if (info == &info_cnn_se)
    x = cnn_body (g, front_2d (g, x), 6, true);
  else if (info == &info_cnn3d)
    x = cnn_body (g, _pf_model_front_3d (g, x, batch, size), 12, false);
  else if (info == &info_cnn_sa || info == &info_unet_sa)
    x = build_sa (g, x, batch, size, info == &info_unet_sa);
  else if (info == &info_unet)
    x = build_unet (g, x, opts->no_dropout);
  else
    x = build_lstm (g, x, batch, size);
  pf_graph_set_output (g, x);
  return g;
}
