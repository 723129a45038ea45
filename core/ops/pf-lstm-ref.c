/* pf-lstm-ref.c — reference multi-layer LSTM (torch.nn.LSTM semantics), plain loops.
 *
 * Workspace layout (floats), saved part first:
 *   gates [L][T][B][4H]    activations i, f, g, o of every step (not pre-activations: the
 *                          derivatives s' = s(1-s) and tanh' = 1-g^2 need only these);
 *   hs    [L][T+1][B][H]   h_{t-1} for t = 0..T (slot 0 holds h0), time-major so one step of
 *                          one layer is a contiguous [B, H] block;
 *   cs    [L][T+1][B][H]   c likewise;
 * then the backward scratch:
 *   da    [T][B][4H]       pre-activation gradients of the layer being processed, kept for all
 *                          steps so the weight gradients are one pass over rows of W;
 *   dseq  [T][B][H]        gradient w.r.t. the outputs of the current layer; it is read in the
 *                          time loop and then overwritten with the gradient w.r.t. its inputs,
 *                          which are the outputs of the layer below;
 *   dh, dc [B][H]          recurrent gradients carried from step t to step t-1. */
#include "pf-lstm.h"

#include <glib.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

bool
pf_lstm_desc_valid (const PfLstmDesc *d)
{
  if (!d || d->batch <= 0 || d->seq_len <= 0 || d->input_size <= 0 || d->hidden_size <= 0
      || d->num_layers <= 0)
    return false;
  /* Every product below fits when the largest total does (all terms are positive). */
  size_t b = d->batch, t = d->seq_len, h = d->hidden_size, l = d->num_layers;
  size_t in = (size_t) MAX (d->input_size, d->hidden_size);
  size_t a, s1, s2, s3;
  if (__builtin_mul_overflow (t + 1, b, &a) || __builtin_mul_overflow (a, 4 * h, &a)
      || __builtin_mul_overflow (a, l + 1, &s1)
      || __builtin_mul_overflow (a, 2 * l + 2, &s2) /* hs, cs, dseq, dh, dc <= this */
      || __builtin_mul_overflow (4 * h, in + h + 2, &s3)
      || __builtin_mul_overflow (s3, l, &s3)
      || s1 > SIZE_MAX / 2 - s2)
    return false;
  return true;
}

static inline size_t
layer_in (const PfLstmDesc *d, int layer)
{
  return layer == 0 ? (size_t) d->input_size : (size_t) d->hidden_size;
}

static inline size_t
layer_param_count (const PfLstmDesc *d, int layer)
{
  size_t g = 4 * (size_t) d->hidden_size;
  return g * (layer_in (d, layer) + d->hidden_size + 2);
}

size_t
pf_lstm_param_count (const PfLstmDesc *d)
{
  size_t n = 0;
  for (int l = 0; l < d->num_layers; l++)
    n += layer_param_count (d, l);
  return n;
}

size_t
pf_lstm_param_offset (const PfLstmDesc *d, int layer, PfLstmParam which)
{
  g_return_val_if_fail (layer >= 0 && layer < d->num_layers, 0);
  size_t g = 4 * (size_t) d->hidden_size;
  size_t off = 0;
  for (int l = 0; l < layer; l++)
    off += layer_param_count (d, l);
  switch (which)
    {
    case PF_LSTM_PARAM_W_IH:
      return off;
    case PF_LSTM_PARAM_W_HH:
      return off + g * layer_in (d, layer);
    case PF_LSTM_PARAM_B_IH:
      return off + g * (layer_in (d, layer) + d->hidden_size);
    case PF_LSTM_PARAM_B_HH:
      return off + g * (layer_in (d, layer) + d->hidden_size) + g;
    default:
      g_return_val_if_reached (0);
    }
}

size_t
pf_lstm_forward_workspace_size (const PfLstmDesc *d)
{
  size_t b = d->batch, t = d->seq_len, h = d->hidden_size, l = d->num_layers;
  return l * t * b * 4 * h + 2 * l * (t + 1) * b * h;
}

size_t
pf_lstm_workspace_size (const PfLstmDesc *d)
{
  size_t b = d->batch, t = d->seq_len, h = d->hidden_size;
  return pf_lstm_forward_workspace_size (d) + t * b * 4 * h + t * b * h + 2 * b * h;
}

/* Views into the workspace. */
typedef struct {
  float *gates, *hs, *cs;        /* saved by forward */
  float *da, *dseq, *dh, *dc;    /* backward scratch */
} Ws;

static Ws
ws_split (const PfLstmDesc *d, float *ws)
{
  size_t b = d->batch, t = d->seq_len, h = d->hidden_size, l = d->num_layers;
  Ws v;
  v.gates = ws;
  v.hs = v.gates + l * t * b * 4 * h;
  v.cs = v.hs + l * (t + 1) * b * h;
  v.da = v.cs + l * (t + 1) * b * h;
  v.dseq = v.da + t * b * 4 * h;
  v.dh = v.dseq + t * b * h;
  v.dc = v.dh + b * h;
  return v;
}

/* [B, H] block of state `s` (hs or cs) of layer l before step t (t = 0 is the initial state). */
static inline float *
state_at (const PfLstmDesc *d, float *s, int l, int t)
{
  size_t bh = (size_t) d->batch * d->hidden_size;
  return s + ((size_t) l * (d->seq_len + 1) + t) * bh;
}

/* Input vector of layer l at step t for batch row b: x (batch first) or the layer below's h_t. */
static inline const float *
input_at (const PfLstmDesc *d, const float *x, const Ws *v, int l, int t, int b)
{
  if (l == 0)
    return x + ((size_t) b * d->seq_len + t) * d->input_size;
  return state_at (d, v->hs, l - 1, t + 1) + (size_t) b * d->hidden_size;
}

/* Eight independent partial sums, so gcc vectorises the dot product without -ffast-math. */
static inline float
dot (const float *restrict a, const float *restrict b, size_t n)
{
  float acc[8] = { 0 };
  size_t k = 0;
  for (; k + 8 <= n; k += 8)
    for (int j = 0; j < 8; j++)
      acc[j] += a[k + j] * b[k + j];
  float s = 0;
  for (; k < n; k++)
    s += a[k] * b[k];
  for (int j = 0; j < 8; j++)
    s += acc[j];
  return s;
}

static inline void
axpy (float *restrict y, float a, const float *restrict x, size_t n)
{
  for (size_t k = 0; k < n; k++)
    y[k] += a * x[k];
}

static inline float
sigmoid (float a)
{
  return 1.0f / (1.0f + expf (-a));
}

void
pf_lstm_forward_ref (const PfLstmDesc *d, const float *x, const float *w,
                     const float *h0, const float *c0,
                     float *y, float *hn, float *cn, float *ws)
{
  g_return_if_fail (pf_lstm_desc_valid (d));
  g_return_if_fail (x && w && y && ws);
  const int B = d->batch, T = d->seq_len, L = d->num_layers;
  const size_t H = d->hidden_size, G = 4 * H, BH = (size_t) B * H;
  Ws v = ws_split (d, ws);

  for (int l = 0; l < L; l++)
    {
      const size_t in = layer_in (d, l);
      const float *w_ih = w + pf_lstm_param_offset (d, l, PF_LSTM_PARAM_W_IH);
      const float *w_hh = w + pf_lstm_param_offset (d, l, PF_LSTM_PARAM_W_HH);
      const float *b_ih = w + pf_lstm_param_offset (d, l, PF_LSTM_PARAM_B_IH);
      const float *b_hh = w + pf_lstm_param_offset (d, l, PF_LSTM_PARAM_B_HH);
      float *hs0 = state_at (d, v.hs, l, 0), *cs0 = state_at (d, v.cs, l, 0);
      if (h0)
        memcpy (hs0, h0 + l * BH, BH * sizeof (float));
      else
        memset (hs0, 0, BH * sizeof (float));
      if (c0)
        memcpy (cs0, c0 + l * BH, BH * sizeof (float));
      else
        memset (cs0, 0, BH * sizeof (float));

      for (int t = 0; t < T; t++)
        {
          const float *hp = state_at (d, v.hs, l, t), *cp = state_at (d, v.cs, l, t);
          float *hc = state_at (d, v.hs, l, t + 1), *cc = state_at (d, v.cs, l, t + 1);
          for (int b = 0; b < B; b++)
            {
              const float *xin = input_at (d, x, &v, l, t, b);
              const float *hprev = hp + b * H;
              float *a = v.gates + (((size_t) l * T + t) * B + b) * G;
              for (size_t r = 0; r < G; r++)
                a[r] = b_ih[r] + b_hh[r] + dot (w_ih + r * in, xin, in)
                       + dot (w_hh + r * H, hprev, H);
              for (size_t j = 0; j < H; j++)
                {
                  float ig = sigmoid (a[j]), fg = sigmoid (a[H + j]);
                  float gg = tanhf (a[2 * H + j]), og = sigmoid (a[3 * H + j]);
                  a[j] = ig, a[H + j] = fg, a[2 * H + j] = gg, a[3 * H + j] = og;
                  float c = fg * cp[b * H + j] + ig * gg;
                  cc[b * H + j] = c;
                  hc[b * H + j] = og * tanhf (c);
                }
            }
        }
      if (hn)
        memcpy (hn + l * BH, state_at (d, v.hs, l, T), BH * sizeof (float));
      if (cn)
        memcpy (cn + l * BH, state_at (d, v.cs, l, T), BH * sizeof (float));
    }

  /* y is batch first; the saved states are time-major. */
  for (int t = 0; t < T; t++)
    {
      const float *h = state_at (d, v.hs, L - 1, t + 1);
      for (int b = 0; b < B; b++)
        memcpy (y + ((size_t) b * T + t) * H, h + b * H, H * sizeof (float));
    }
}

void
pf_lstm_backward_ref (const PfLstmDesc *d, const float *x, const float *w,
                      const float *dy, const float *dhn, const float *dcn,
                      float *dx, float *dw, float *dh0, float *dc0, float *ws)
{
  g_return_if_fail (pf_lstm_desc_valid (d));
  g_return_if_fail (x && w && ws);
  const int B = d->batch, T = d->seq_len, L = d->num_layers;
  const size_t H = d->hidden_size, G = 4 * H, BH = (size_t) B * H;
  Ws v = ws_split (d, ws);

  /* Gradient w.r.t. the top layer's outputs, time-major like the saved states. */
  for (int t = 0; t < T; t++)
    for (int b = 0; b < B; b++)
      {
        float *dst = v.dseq + ((size_t) t * B + b) * H;
        if (dy)
          memcpy (dst, dy + ((size_t) b * T + t) * H, H * sizeof (float));
        else
          memset (dst, 0, H * sizeof (float));
      }

  for (int l = L - 1; l >= 0; l--)
    {
      const size_t in = layer_in (d, l);
      const float *w_ih = w + pf_lstm_param_offset (d, l, PF_LSTM_PARAM_W_IH);
      const float *w_hh = w + pf_lstm_param_offset (d, l, PF_LSTM_PARAM_W_HH);
      if (dhn)
        memcpy (v.dh, dhn + l * BH, BH * sizeof (float));
      else
        memset (v.dh, 0, BH * sizeof (float));
      if (dcn)
        memcpy (v.dc, dcn + l * BH, BH * sizeof (float));
      else
        memset (v.dc, 0, BH * sizeof (float));

      /* Through time: dh, dc hold the gradients w.r.t. h_t, c_t coming from step t+1. */
      for (int t = T - 1; t >= 0; t--)
        {
          const float *cp = state_at (d, v.cs, l, t), *cc = state_at (d, v.cs, l, t + 1);
          for (int b = 0; b < B; b++)
            {
              const float *gt = v.gates + (((size_t) l * T + t) * B + b) * G;
              const float *dout = v.dseq + ((size_t) t * B + b) * H;
              float *da = v.da + ((size_t) t * B + b) * G;
              float *dh = v.dh + b * H, *dc = v.dc + b * H;
              for (size_t j = 0; j < H; j++)
                {
                  float ig = gt[j], fg = gt[H + j], gg = gt[2 * H + j], og = gt[3 * H + j];
                  float tc = tanhf (cc[b * H + j]);
                  float dhj = dout[j] + dh[j];
                  float dcj = dc[j] + dhj * og * (1.0f - tc * tc);
                  da[j] = dcj * gg * ig * (1.0f - ig);
                  da[H + j] = dcj * cp[b * H + j] * fg * (1.0f - fg);
                  da[2 * H + j] = dcj * ig * (1.0f - gg * gg);
                  da[3 * H + j] = dhj * tc * og * (1.0f - og);
                  dc[j] = dcj * fg;
                }
              /* dh_{t-1} = W_hh^T da, as rows of W_hh scaled and summed. */
              memset (dh, 0, H * sizeof (float));
              for (size_t r = 0; r < G; r++)
                axpy (dh, da[r], w_hh + r * H, H);
            }
        }
      if (dh0)
        for (size_t k = 0; k < BH; k++)
          dh0[l * BH + k] += v.dh[k];
      if (dc0)
        for (size_t k = 0; k < BH; k++)
          dc0[l * BH + k] += v.dc[k];

      if (dw)
        {
          float *dw_ih = dw + pf_lstm_param_offset (d, l, PF_LSTM_PARAM_W_IH);
          float *dw_hh = dw + pf_lstm_param_offset (d, l, PF_LSTM_PARAM_W_HH);
          float *db_ih = dw + pf_lstm_param_offset (d, l, PF_LSTM_PARAM_B_IH);
          float *db_hh = dw + pf_lstm_param_offset (d, l, PF_LSTM_PARAM_B_HH);
          for (size_t r = 0; r < G; r++)
            {
              float sb = 0;
              for (int t = 0; t < T; t++)
                {
                  const float *hp = state_at (d, v.hs, l, t);
                  for (int b = 0; b < B; b++)
                    {
                      float g = v.da[((size_t) t * B + b) * G + r];
                      axpy (dw_ih + r * in, g, input_at (d, x, &v, l, t, b), in);
                      axpy (dw_hh + r * H, g, hp + b * H, H);
                      sb += g;
                    }
                }
              db_ih[r] += sb;
              db_hh[r] += sb;
            }
        }

      /* Gradient w.r.t. this layer's inputs: into dseq for the layer below (dseq's old content,
       * this layer's output gradient, is fully consumed above), or into dx for layer 0. */
      if (l == 0 && !dx)
        continue;
      for (int t = 0; t < T; t++)
        for (int b = 0; b < B; b++)
          {
            const float *da = v.da + ((size_t) t * B + b) * G;
            float *dst;
            if (l > 0)
              {
                dst = v.dseq + ((size_t) t * B + b) * H;
                memset (dst, 0, H * sizeof (float));
              }
            else
              dst = dx + ((size_t) b * T + t) * in;
            for (size_t r = 0; r < G; r++)
              axpy (dst, da[r], w_ih + r * in, in);
          }
    }
}
