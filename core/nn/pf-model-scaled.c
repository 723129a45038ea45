/* pf-model-scaled.c — the scaled family of the ablation study (DESIGN.md §5): CNN, SE,
 * RowAttention, 3D and SE+3D at scales 1-5. Every conv is 5x5, padding 2, with bias; the
 * encoder is Conv -> BN -> ReLU per width; the last conv is linear. */
#include "pf-model-private.h"
#include "pf-error.h"
#include <math.h>
#include <string.h>

typedef struct {
  int enc[6], n_enc;      /* encoder widths */
  int enc3d[6], n_enc3d;  /* encoder widths of the 3D variants */
  int dec[4], n_dec;      /* decoder hidden widths (the last conv goes to 1) */
  bool dec_bn;            /* decoder hidden layers have BN */
} ScaleSpec;

static const ScaleSpec scales[6] = {
  [1] = { { 8, 32 }, 2, { 8, 32 }, 2, { 16 }, 1, false },
  [2] = { { 16, 32, 64 }, 3, { 32, 64 }, 2, { 16 }, 1, false },
  [3] = { { 64, 128, 256 }, 3, { 64, 128, 256 }, 3, { 64 }, 1, true },
  [4] = { { 64, 128, 256, 512 }, 4, { 64, 128, 256, 512 }, 4, { 128, 32 }, 2, true },
  [5] = { { 64, 128, 256, 512, 1024 }, 5, { 64, 128, 256, 512, 1024 }, 5, { 256, 64, 32 }, 3, true },
};

typedef enum { V_CNN, V_SE, V_ROWATT, V_3D, V_SE3D } Variant;

static const PfModelInfo info_cnn = { "cnn", "Scaled CNN: Enc -> Dec", 1, 5, { 0, 200, 200, 200, 128, 80 } };
static const PfModelInfo info_se = { "se", "Scaled CNN with Squeeze-and-Excitation", 1, 5, { 0, 200, 200, 200, 128, 80 } };
static const PfModelInfo info_rowatt = { "rowatt", "Scaled CNN with row self-attention", 1, 5, { 0, 200, 200, 200, 128, 80 } };
static const PfModelInfo info_3d = { "3d", "Scaled CNN with the 3D-convolution front end", 1, 5, { 0, 200, 200, 200, 128, 80 } };
static const PfModelInfo info_se3d = { "se3d", "3D front end, CNN and Squeeze-and-Excitation", 1, 5, { 0, 200, 200, 200, 128, 80 } };

const PfModelInfo *const _pf_models_scaled[] = { &info_cnn, &info_se, &info_rowatt, &info_3d,
                                                 &info_se3d, NULL };

/* The 3D front end: three Conv3d(1 -> 2) with kernels 3x3x3, 3x5x5, 3x7x7 (depth padding 0,
 * "same" in eta/phi), shared between the stacks [emcal, hcal, trk_n] and [emcal, hcal, trk_p];
 * the six outputs are concatenated to 12 channels (stack-major, then kernel). */
int
_pf_model_front_3d (PfGraph *g, int x, int batch, int size)
{
  static const int stacks[2][3] = { { 0, 1, 2 }, { 0, 1, 3 } };
  int outs[6], k = 0;
  int first[3] = { -1, -1, -1 };
  for (int s = 0; s < 2; s++)
    {
      char *gname = g_strdup_printf ("front.stack%d", s);
      int st = pf_graph_gather_channels (g, gname, x, 3, stacks[s]);
      g_free (gname);
      int shape5[5] = { batch, 1, 3, size, size };
      int st5 = pf_graph_reshape (g, st, 5, shape5);
      for (int c = 0; c < 3; c++)
        {
          int ks = 3 + 2 * c;
          char *name = g_strdup_printf ("front.%d", c);
          int y = s == 0 ? pf_graph_conv3d (g, name, st5, 1, 2, 3, ks, ks, 0, ks / 2, ks / 2, true)
                         : pf_graph_conv3d_shared (g, name, st5, first[c], 0, ks / 2, ks / 2);
          if (s == 0)
            first[c] = y;
          g_free (name);
          int shape4[4] = { batch, 2, size, size };
          outs[k++] = pf_graph_reshape (g, y, 4, shape4);
        }
    }
  return pf_graph_concat (g, "front.concat", 6, outs);
}

/* Squeeze-and-Excitation: GAP -> FC(C, C/16) -> ReLU -> FC(C/16, C) -> sigmoid -> scale. */
int
_pf_model_se_block (PfGraph *g, int x, int c)
{
  int r = MAX (c / 16, 1);
  int s = pf_graph_global_avgpool (g, x);
  s = pf_graph_linear (g, "se.fc1", s, c, r, false);
  s = pf_graph_relu (g, s);
  s = pf_graph_linear (g, "se.fc2", s, r, c, false);
  s = pf_graph_sigmoid (g, s);
  return pf_graph_channel_scale (g, "se.scale", x, s);
}

/* Row self-attention: every eta row is a sequence of `size` phi tokens of C features;
 * softmax(Q K^T / sqrt(C)) V, single head, no residual. */
static int
row_attention (PfGraph *g, int x, int batch, int c, int size)
{
  int to_tokens[4] = { 0, 2, 3, 1 }; /* [B, C, H, W] -> [B, H, W, C] */
  int t = pf_graph_permute (g, x, 4, to_tokens);
  int seq[3] = { batch * size, size, c };
  t = pf_graph_reshape (g, t, 3, seq);
  int q = pf_graph_linear (g, "attn.query", t, c, c, true);
  int k = pf_graph_linear (g, "attn.key", t, c, c, true);
  int v = pf_graph_linear (g, "attn.value", t, c, c, true);
  int scores = pf_graph_bmm (g, "attn.scores", q, k, false, true);
  int p = pf_graph_softmax (g, scores, 1.0f / sqrtf ((float) c));
  int o = pf_graph_bmm (g, "attn.output", p, v, false, false);
  int bhwc[4] = { batch, size, size, c };
  o = pf_graph_reshape (g, o, 4, bhwc);
  int to_image[4] = { 0, 3, 1, 2 }; /* [B, H, W, C] -> [B, C, H, W] */
  return pf_graph_permute (g, o, 4, to_image);
}

PfGraph *
_pf_model_scaled_build (const PfModelInfo *info, int scale, int batch, int size,
                        const PfModelOptions *opts, GError **error)
{
  Variant v = info == &info_cnn ? V_CNN : info == &info_se ? V_SE : info == &info_rowatt ? V_ROWATT
            : info == &info_3d ? V_3D : V_SE3D;
  const ScaleSpec *sp = &scales[scale];
  bool is3d = v == V_3D || v == V_SE3D;
  /* The table's own encoder for the plain 3D variant (it differs at scale 2 only); SE+3D keeps
   * the CNN widths — that is what its published parameter counts (96,169 at scale 2) require. */
  const int *enc = v == V_3D ? sp->enc3d : sp->enc;
  int n_enc = v == V_3D ? sp->n_enc3d : sp->n_enc;

  char *gname = pf_model_label (info->name, scale);
  PfGraph *g = pf_graph_new (gname);
  g_free (gname);
  int in_shape[4] = { batch, 4, size, size };
  int x = pf_graph_input (g, "input", 4, in_shape);
  int c = 4;
  if (is3d)
    {
      x = _pf_model_front_3d (g, x, batch, size);
      c = 12;
    }
  /* encoder: nn.Sequential of (Conv2d, BatchNorm2d, ReLU) per width */
  for (int i = 0; i < n_enc; i++)
    {
      char *cn = g_strdup_printf ("encoder.%d", 3 * i), *bn = g_strdup_printf ("encoder.%d", 3 * i + 1);
      x = pf_graph_conv2d (g, cn, x, c, enc[i], 5, 1, 2, true);
      x = pf_graph_batchnorm (g, bn, x, enc[i]);
      x = pf_graph_relu (g, x);
      c = enc[i];
      g_free (cn);
      g_free (bn);
    }
  if (v == V_SE || v == V_SE3D)
    x = _pf_model_se_block (g, x, c);
  else if (v == V_ROWATT)
    x = row_attention (g, x, batch, c, size);
  /* decoder: nn.Sequential of Conv2d [BN] ReLU per hidden width, then Conv2d(-> 1) */
  int idx = 0;
  for (int i = 0; i < sp->n_dec; i++)
    {
      char *cn = g_strdup_printf ("decoder.%d", idx++);
      x = pf_graph_conv2d (g, cn, x, c, sp->dec[i], 5, 1, 2, true);
      g_free (cn);
      if (sp->dec_bn)
        {
          char *bn = g_strdup_printf ("decoder.%d", idx++);
          x = pf_graph_batchnorm (g, bn, x, sp->dec[i]);
          g_free (bn);
        }
      x = pf_graph_relu (g, x);
      idx++;
      c = sp->dec[i];
    }
  char *last = g_strdup_printf ("decoder.%d", idx);
  x = pf_graph_conv2d (g, last, x, c, 1, 5, 1, 2, true);
  g_free (last);
  pf_graph_set_output (g, x);
  return g;
}
