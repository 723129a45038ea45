/* pf-lstm-fast.c — the multi-layer LSTM of pf-lstm.h with its products as cblas_sgemm calls and
 * the gate arithmetic spread over OpenMP threads.
 *
 * Per layer, the input projection of every time step is one product ([B*T, in] x W_ih^T),
 * written over the biases; each step then adds its recurrent product ([B, H] x W_hh^T) in place
 * and applies the gates. Backward mirrors it: per step the product dh_{t-1} = da_t W_hh, and
 * after the time loop dW_ih, dW_hh and the input gradient are one product each over all B*T rows.
 *
 * Threads: a layer runs in ONE OpenMP team. The all-steps products are split by rows across
 * the team (one sgemm per thread); in the time loop each thread owns a range of hidden units
 * (all four gates of them), makes the recurrent product of its units and applies their gates,
 * with one barrier per step. OpenBLAS is set to one thread while the LSTM runs (and set back
 * after): switching at every step between an OpenMP team and OpenBLAS's own pthread pool leaves
 * the two pools spinning against each other on the same cores (4x slower on 2 cores).
 *
 * To make the all-steps products single calls the workspace is laid out batch-major (row
 * r = b*T + t, the order of x and y), not time-major as in pf-lstm-ref.c. The sizes are the
 * same (pf_lstm_forward_workspace_size / pf_lstm_workspace_size), the layout is not: a workspace
 * filled by pf_lstm_forward_fast must be read by pf_lstm_backward_fast.
 *   gates [L][B*T][4H]  activations i, f, g, o (pre-activations while a step is computed)
 *   hseq  [L][B*T][H]   h_t, t = 1..T (layer L-1's block is y)
 *   h0    [L][B][H]     the initial state
 *   cseq  [L][B*T][H], c0 [L][B][H]   likewise for c
 * backward scratch:
 *   da    [B*T][4H]     pre-activation gradients of the layer being processed
 *   dseq  [B*T][H]      gradient w.r.t. this layer's outputs; after the time loop it holds
 *                       h_{t-1} for the dW_hh product, then the gradient w.r.t. this layer's
 *                       inputs (the layer below's outputs)
 *   dh, dc [B][H]       recurrent gradients carried from step t to step t-1.
 * The sums run in another order than the reference's dot products: results agree within float
 * rounding, not bit for bit. */
#include "pf-ops-fast.h"
#include "pf-lstm.h"

#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <string.h>

typedef struct {
  float *gates, *hseq, *h0, *cseq, *c0; /* saved by forward */
  float *da, *dseq, *dh, *dc;           /* backward scratch */
} FastWs;

static FastWs
fast_ws_split (const PfLstmDesc *d, float *ws)
{
  const size_t bt = (size_t) d->batch * d->seq_len, bh = (size_t) d->batch * d->hidden_size;
  const size_t h = d->hidden_size, g = 4 * h, l = d->num_layers;
  FastWs v;
  v.gates = ws;
  v.hseq = v.gates + l * bt * g;
  v.h0 = v.hseq + l * bt * h;
  v.cseq = v.h0 + l * bh;
  v.c0 = v.cseq + l * bt * h;
  v.da = v.c0 + l * bh;
  v.dseq = v.da + bt * g;
  v.dh = v.dseq + bt * h;
  v.dc = v.dh + bh;
  return v;
}

static inline size_t
layer_in (const PfLstmDesc *d, int layer)
{
  return layer == 0 ? (size_t) d->input_size : (size_t) d->hidden_size;
}

static inline float
sigmoid (float a)
{
  return 1.0f / (1.0f + expf (-a));
}

static void
copy_or_zero (float *dst, const float *src, size_t n)
{
  if (src)
    memcpy (dst, src, n * sizeof (float));
  else
    memset (dst, 0, n * sizeof (float));
}

/* The team size: at most one thread per 8 hidden units, one thread for small problems (fewer
 * than ~1 MFLOP per step). While a team of several runs, OpenBLAS runs on the calling thread. */
static int
team_begin (const PfLstmDesc *d)
{
  const int H = d->hidden_size;
  int nt = MIN (pf_ops_fast_threads (), H / 8);
  if ((double) d->batch * H * 4.0 * H < 131072.0)
    nt = 1;
  nt = MAX (nt, 1);
  if (nt > 1)
    openblas_set_num_threads (1);
  return nt;
}

static void
team_end (int nt)
{
  if (nt > 1)
    openblas_set_num_threads (pf_ops_fast_threads ());
}

/* Rows [r0, r1) of n for this thread of the team actually running (it may be smaller than
 * asked for), in ranges of a multiple of `align`. */
static void
my_range (int n, int align, int *r0, int *r1)
{
  const int tid = omp_get_thread_num (), threads = omp_get_num_threads ();
  int per = (n + threads - 1) / threads;
  per = (per + align - 1) / align * align;
  *r0 = MIN (n, tid * per);
  *r1 = MIN (n, *r0 + per);
}

void
pf_lstm_forward_fast (const PfLstmDesc *d, const float *x, const float *w,
                      const float *h0, const float *c0,
                      float *y, float *hn, float *cn, float *ws)
{
  g_return_if_fail (pf_lstm_desc_valid (d));
  g_return_if_fail (x && w && y && ws);
  const int B = d->batch, T = d->seq_len, L = d->num_layers, H = d->hidden_size, G = 4 * H;
  const size_t BT = (size_t) B * T, BH = (size_t) B * H;
  FastWs v = fast_ws_split (d, ws);
  const int nt = team_begin (d);

  for (int l = 0; l < L; l++)
    {
      const int in = (int) layer_in (d, l);
      const float *w_ih = w + pf_lstm_param_offset (d, l, PF_LSTM_PARAM_W_IH);
      const float *w_hh = w + pf_lstm_param_offset (d, l, PF_LSTM_PARAM_W_HH);
      const float *b_ih = w + pf_lstm_param_offset (d, l, PF_LSTM_PARAM_B_IH);
      const float *b_hh = w + pf_lstm_param_offset (d, l, PF_LSTM_PARAM_B_HH);
      const float *xin = l == 0 ? x : v.hseq + (size_t) (l - 1) * BT * H;
      float *gl = v.gates + (size_t) l * BT * G;
      float *hseq = v.hseq + (size_t) l * BT * H, *cseq = v.cseq + (size_t) l * BT * H;
      float *hl0 = v.h0 + (size_t) l * BH, *cl0 = v.c0 + (size_t) l * BH;
      copy_or_zero (hl0, h0 ? h0 + l * BH : NULL, BH);
      copy_or_zero (cl0, c0 ? c0 + l * BH : NULL, BH);

#pragma omp parallel num_threads(nt)
      {
        /* biases, then the input projection of all steps added on top: rows split */
        int r0, r1, j0, j1;
        my_range ((int) BT, 8, &r0, &r1);
        for (int r = r0; r < r1; r++)
          for (int j = 0; j < G; j++)
            gl[(size_t) r * G + j] = b_ih[j] + b_hh[j];
        if (r1 > r0)
          cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, r1 - r0, G, in, 1.0f,
                       xin + (size_t) r0 * in, in, w_ih, in, 1.0f, gl + (size_t) r0 * G, G);
#pragma omp barrier
        /* the time loop: units split */
        my_range (H, 8, &j0, &j1);
        for (int t = 0; t < T; t++)
          {
            /* rows (b, t) of the batch-major buffers are T rows apart */
            const float *hp = t == 0 ? hl0 : hseq + (size_t) (t - 1) * H;
            const int ldh = t == 0 ? H : T * H;
            /* gate q of units [j0, j1): rows q*H + j of W_hh, columns q*H + j of the gates */
            if (j1 > j0)
              for (int q = 0; q < 4; q++)
                cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, B, j1 - j0, H, 1.0f, hp, ldh,
                             w_hh + ((size_t) q * H + j0) * H, H, 1.0f,
                             gl + (size_t) t * G + (size_t) q * H + j0, T * G);
            for (int b = 0; b < B; b++)
              {
                const size_t row = (size_t) b * T + t;
                float *a = gl + row * G;
                const float *cp = t == 0 ? cl0 + (size_t) b * H : cseq + (row - 1) * H;
                for (int j = j0; j < j1; j++)
                  {
                    float ig = sigmoid (a[j]), fg = sigmoid (a[H + j]);
                    float gg = tanhf (a[2 * H + j]), og = sigmoid (a[3 * H + j]);
                    a[j] = ig, a[H + j] = fg, a[2 * H + j] = gg, a[3 * H + j] = og;
                    float c = fg * cp[j] + ig * gg;
                    cseq[row * H + j] = c;
                    hseq[row * H + j] = og * tanhf (c);
                  }
              }
            /* the next step's products read every unit of h_t */
#pragma omp barrier
          }
      }
      for (int b = 0; b < B; b++)
        {
          const size_t last = ((size_t) b * T + T - 1) * H;
          if (hn)
            memcpy (hn + l * BH + (size_t) b * H, hseq + last, H * sizeof (float));
          if (cn)
            memcpy (cn + l * BH + (size_t) b * H, cseq + last, H * sizeof (float));
        }
    }
  memcpy (y, v.hseq + (size_t) (L - 1) * BT * H, BT * H * sizeof (float));
  team_end (nt);
}

/* db_ih[c] += sum of da[:, c], db_hh likewise, for the columns [c0, c1); sums in double. */
#define COL_CHUNK 256
static void
bias_grad (size_t rows, int cols, int c0, int c1, const float *da, float *db_ih, float *db_hh)
{
  for (int cb = c0; cb < c1; cb += COL_CHUNK)
    {
      const int nc = MIN (COL_CHUNK, c1 - cb);
      double acc[COL_CHUNK] = { 0 };
      for (size_t r = 0; r < rows; r++)
        {
          const float *src = da + r * cols + cb;
          for (int j = 0; j < nc; j++)
            acc[j] += src[j];
        }
      for (int j = 0; j < nc; j++)
        {
          db_ih[cb + j] += (float) acc[j];
          db_hh[cb + j] += (float) acc[j];
        }
    }
}

void
pf_lstm_backward_fast (const PfLstmDesc *d, const float *x, const float *w,
                       const float *dy, const float *dhn, const float *dcn,
                       float *dx, float *dw, float *dh0, float *dc0, float *ws)
{
  g_return_if_fail (pf_lstm_desc_valid (d));
  g_return_if_fail (x && w && ws);
  const int B = d->batch, T = d->seq_len, L = d->num_layers, H = d->hidden_size, G = 4 * H;
  const size_t BT = (size_t) B * T, BH = (size_t) B * H;
  FastWs v = fast_ws_split (d, ws);
  const int nt = team_begin (d);

  /* dy is batch first, as the workspace */
  copy_or_zero (v.dseq, dy, BT * H);

  for (int l = L - 1; l >= 0; l--)
    {
      const int in = (int) layer_in (d, l);
      const float *w_ih = w + pf_lstm_param_offset (d, l, PF_LSTM_PARAM_W_IH);
      const float *w_hh = w + pf_lstm_param_offset (d, l, PF_LSTM_PARAM_W_HH);
      const float *xin = l == 0 ? x : v.hseq + (size_t) (l - 1) * BT * H;
      const float *gl = v.gates + (size_t) l * BT * G;
      const float *hseq = v.hseq + (size_t) l * BT * H, *cseq = v.cseq + (size_t) l * BT * H;
      const float *hl0 = v.h0 + (size_t) l * BH, *cl0 = v.c0 + (size_t) l * BH;
      float *da = v.da, *dseq = v.dseq, *dh = v.dh, *dc = v.dc;
      float *dw_ih = NULL, *dw_hh = NULL, *db_ih = NULL, *db_hh = NULL;
      if (dw)
        {
          dw_ih = dw + pf_lstm_param_offset (d, l, PF_LSTM_PARAM_W_IH);
          dw_hh = dw + pf_lstm_param_offset (d, l, PF_LSTM_PARAM_W_HH);
          db_ih = dw + pf_lstm_param_offset (d, l, PF_LSTM_PARAM_B_IH);
          db_hh = dw + pf_lstm_param_offset (d, l, PF_LSTM_PARAM_B_HH);
        }
      float *din = l > 0 ? dseq : dx; /* where this layer's input gradient goes, if anywhere */
      copy_or_zero (dh, dhn ? dhn + l * BH : NULL, BH);
      copy_or_zero (dc, dcn ? dcn + l * BH : NULL, BH);

#pragma omp parallel num_threads(nt)
      {
        int j0, j1, r0, r1, g0, g1, b0, b1;
        my_range (H, 8, &j0, &j1);
        for (int t = T - 1; t >= 0; t--)
          {
            for (int b = 0; b < B; b++)
              {
                const size_t row = (size_t) b * T + t;
                const float *gt = gl + row * G;
                float *dar = da + row * G;
                const float *cp = t == 0 ? cl0 + (size_t) b * H : cseq + (row - 1) * H;
                const float *cc = cseq + row * H, *dout = dseq + row * H;
                float *dhb = dh + (size_t) b * H, *dcb = dc + (size_t) b * H;
                for (int j = j0; j < j1; j++)
                  {
                    float ig = gt[j], fg = gt[H + j], gg = gt[2 * H + j], og = gt[3 * H + j];
                    float tc = tanhf (cc[j]);
                    float dhj = dout[j] + dhb[j];
                    float dcj = dcb[j] + dhj * og * (1.0f - tc * tc);
                    dar[j] = dcj * gg * ig * (1.0f - ig);
                    dar[H + j] = dcj * cp[j] * fg * (1.0f - fg);
                    dar[2 * H + j] = dcj * ig * (1.0f - gg * gg);
                    dar[3 * H + j] = dhj * tc * og * (1.0f - og);
                    dcb[j] = dcj * fg;
                  }
              }
            /* dh_{t-1}[:, j0:j1] = da_t W_hh[:, j0:j1] reads every unit's da_t; it overwrites
             * the units of dh that only this thread reads */
#pragma omp barrier
            if (j1 > j0)
              cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, B, j1 - j0, G, 1.0f,
                           da + (size_t) t * G, T * G, w_hh + j0, H, 0.0f, dh + j0, H);
          }
        for (int b = 0; b < B; b++)
          for (int j = j0; j < j1; j++)
            {
              if (dh0)
                dh0[l * BH + (size_t) b * H + j] += dh[(size_t) b * H + j];
              if (dc0)
                dc0[l * BH + (size_t) b * H + j] += dc[(size_t) b * H + j];
            }
        /* every row of da is complete, dseq's output gradients are consumed */
#pragma omp barrier
        if (dw)
          {
            /* h_{t-1} of every row into dseq, rows of the batch split */
            my_range (B, 1, &b0, &b1);
            for (int b = b0; b < b1; b++)
              {
                float *dst = dseq + (size_t) b * T * H;
                memcpy (dst, hl0 + (size_t) b * H, H * sizeof (float));
                memcpy (dst + H, hseq + (size_t) b * T * H, (size_t) (T - 1) * H * sizeof (float));
              }
#pragma omp barrier
            /* rows [g0, g1) of the weight gradients: da[:, g0:g1]^T times inputs and states */
            my_range (G, 8, &g0, &g1);
            if (g1 > g0)
              {
                cblas_sgemm (CblasRowMajor, CblasTrans, CblasNoTrans, g1 - g0, in, (int) BT, 1.0f,
                             da + g0, G, xin, in, 1.0f, dw_ih + (size_t) g0 * in, in);
                cblas_sgemm (CblasRowMajor, CblasTrans, CblasNoTrans, g1 - g0, H, (int) BT, 1.0f,
                             da + g0, G, dseq, H, 1.0f, dw_hh + (size_t) g0 * H, H);
              }
            bias_grad (BT, G, g0, g1, da, db_ih, db_hh);
            /* the states in dseq are read by every thread until here */
#pragma omp barrier
          }
        /* Gradient w.r.t. this layer's inputs, rows split: overwrites dseq for the layer below,
         * or adds into dx for layer 0. */
        my_range ((int) BT, 8, &r0, &r1);
        if (din && r1 > r0)
          cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, r1 - r0, in, G, 1.0f,
                       da + (size_t) r0 * G, G, w_ih, in, l > 0 ? 0.0f : 1.0f,
                       din + (size_t) r0 * in, in);
      }
    }
  team_end (nt);
}
