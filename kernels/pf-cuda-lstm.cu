/* pf-cuda-lstm.cu — the multi-layer LSTM of pf-lstm.h on the GPU: the algorithm of
 * pf_lstm_forward_fast / pf_lstm_backward_fast with cublasSgemm for the products and fused
 * kernels for the gate arithmetic.
 *
 * Why not cuDNN's RNN API: its weights live in a weight space whose layout cuDNN chooses
 * (cudnnGetRNNWeightParams hands out per-gate pointers into it), and its reserve space, what
 * the backward pass reads, is opaque. Using it would mean copying the flat torch-ordered
 * parameters into that space and the weight gradients back out (accumulating) at every step,
 * plus a reserve buffer the graph's plan does not have, and cudnnRNNBackwardWeights_v8 adds
 * into dweights only in its own layout. Plain GEMMs read the parameters and the saved
 * workspace exactly where the planner put them (the same tensors as on the CPU, so one plan for
 * both devices), compute in the context's precision (_pf_cuda_sgemm: FP32 unless
 * pf_cuda_context_set_precision asks otherwise), and every step is deterministic.
 *
 * Per layer, forward writes b_ih + b_hh into the gate rows, adds the input projection of all
 * B*T rows as ONE product ([B*T, in] x W_ih^T), then per step adds the recurrent product
 * ([B, H] x W_hh^T, rows T apart in the batch-major buffers) and runs one kernel that turns the
 * four pre-activations of a unit into activations and the new c and h. Backward runs, per step,
 * one kernel for the gate gradients and the product dh_{t-1} = da_t W_hh; after the time loop
 * dW_ih, dW_hh and the input gradient are one product each over all B*T rows, the bias
 * gradients a fixed-order column sum in double.
 *
 * Workspace (floats), the layout of pf-lstm-fast.c (batch-major: row r = b*T + t, the order of
 * x and y, so the all-steps products are single calls), sizes pf_lstm_forward_workspace_size and
 * pf_lstm_workspace_size:
 *   gates [L][B*T][4H]  activations i, f, g, o (pre-activations while a step is computed)
 *   hseq  [L][B*T][H]   h_t, t = 1..T (layer L-1's block is copied to y)
 *   h0    [L][B][H]     the initial state
 *   cseq  [L][B*T][H], c0 [L][B][H]   likewise for c
 * backward scratch:
 *   da    [B*T][4H]     pre-activation gradients of the layer being processed
 *   dseq  [B*T][H]      gradient w.r.t. this layer's outputs; after the time loop it holds
 *                       h_{t-1} of every row for the dW_hh product, then the gradient w.r.t.
 *                       this layer's inputs (the outputs of the layer below)
 *   dh, dc [B][H]       recurrent gradients carried from step t to step t-1.
 *
 * cuBLAS is column-major: a row-major [r, c] matrix with row stride ld is the column-major
 * [c, r] matrix with leading dimension ld, so every row-major C = A op(B) below is written as
 * the column-major C^T = op(B)^T A^T (as in pf-cuda-blas.cu). Everything is queued on the
 * context's stream, so kernels and products run in the order they are issued. */
#include <limits.h>
#include <math.h>
#include "pf-cuda-private.h"
#include "pf-cuda-lstm.h"

#define GRID_STRIDE(i, n) \
  for (size_t i = blockIdx.x * (size_t) blockDim.x + threadIdx.x; i < (n); \
       i += (size_t) gridDim.x * blockDim.x)

typedef struct {
  float *gates, *hseq, *h0, *cseq, *c0; /* saved by forward */
  float *da, *dseq, *dh, *dc;           /* backward scratch */
} LstmWs;

static LstmWs
ws_split (const PfLstmDesc *d, float *ws)
{
  const size_t bt = (size_t) d->batch * d->seq_len, bh = (size_t) d->batch * d->hidden_size;
  const size_t h = d->hidden_size, g = 4 * h, l = d->num_layers;
  LstmWs v;
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

static inline int
layer_in (const PfLstmDesc *d, int layer)
{
  return layer == 0 ? d->input_size : d->hidden_size;
}

/* ---- kernels ------------------------------------------------------------------------------ */
static __device__ __forceinline__ float
sigmoid (float a)
{
  return 1.0f / (1.0f + expf (-a)); /* as the CPU ops */
}

/* gates[r, j] = b_ih[j] + b_hh[j] over a [rows, g] row-major matrix (total = rows * g) */
__global__ static void
bias_rows_kernel (size_t total, int g, const float *b_ih, const float *b_hh, float *gates)
{
  GRID_STRIDE (i, total)
    {
      const int j = (int) (i % (size_t) g);
      gates[i] = b_ih[j] + b_hh[j];
    }
}

/* Step t of one layer, one thread per (b, j) of the B*H units: the four pre-activations of
 * unit j in row b*T + t become activations, then c_t and h_t. Each thread reads and writes only
 * its own unit's entries. c_init is the layer's c0 [B][H]. */
__global__ static void
gates_forward_kernel (size_t total, int T, int H, int t, const float *c_init, float *gates,
                      float *hseq, float *cseq)
{
  GRID_STRIDE (i, total)
    {
      const size_t b = i / (size_t) H, j = i % (size_t) H, h = (size_t) H;
      const size_t row = b * T + t;
      float *a = gates + row * 4 * h;
      const float cp = t == 0 ? c_init[i] : cseq[(row - 1) * h + j];
      const float ig = sigmoid (a[j]), fg = sigmoid (a[h + j]);
      const float gg = tanhf (a[2 * h + j]), og = sigmoid (a[3 * h + j]);
      a[j] = ig;
      a[h + j] = fg;
      a[2 * h + j] = gg;
      a[3 * h + j] = og;
      const float c = fg * cp + ig * gg;
      cseq[row * h + j] = c;
      hseq[row * h + j] = og * tanhf (c);
    }
}

/* Backward of step t, one thread per unit (b, j): with dh, dc [B][H] the gradients w.r.t.
 * h_t, c_t from step t+1 and dseq the gradient w.r.t. the layer's output h_t, writes the four
 * pre-activation gradients of the unit into row b*T + t of da and dc_{t-1} over dc. dh is only
 * read here (the product that follows overwrites it with dh_{t-1}). */
__global__ static void
gates_backward_kernel (size_t total, int T, int H, int t, const float *gates, const float *cseq,
                       const float *c_init, const float *dseq, const float *dh, float *dc,
                       float *da)
{
  GRID_STRIDE (i, total)
    {
      const size_t b = i / (size_t) H, j = i % (size_t) H, h = (size_t) H;
      const size_t row = b * T + t;
      const float *gt = gates + row * 4 * h;
      const float ig = gt[j], fg = gt[h + j], gg = gt[2 * h + j], og = gt[3 * h + j];
      const float cp = t == 0 ? c_init[i] : cseq[(row - 1) * h + j];
      const float tc = tanhf (cseq[row * h + j]);
      const float dhj = dseq[row * h + j] + dh[i];
      const float dcj = dc[i] + dhj * og * (1.0f - tc * tc);
      float *dar = da + row * 4 * h;
      dar[j] = dcj * gg * ig * (1.0f - ig);
      dar[h + j] = dcj * cp * fg * (1.0f - fg);
      dar[2 * h + j] = dcj * ig * (1.0f - gg * gg);
      dar[3 * h + j] = dhj * tc * og * (1.0f - og);
      dc[i] = dcj * fg;
    }
}

/* ---- helpers ------------------------------------------------------------------------------ */
/* dst = src (n floats), or zeros when src is NULL; queued on the stream */
static gboolean
copy_or_zero (PfCudaContext *ctx, float *dst, const float *src, size_t n, GError **error)
{
  if (src)
    PF_CUDA_TRY (cudaMemcpyAsync (dst, src, n * sizeof (float), cudaMemcpyDeviceToDevice,
                                  ctx->stream));
  else
    PF_CUDA_TRY (cudaMemsetAsync (dst, 0, n * sizeof (float), ctx->stream));
  return TRUE;
}

/* `rows` rows of `width` floats from src (row stride spitch floats) to dst (stride dpitch) */
static gboolean
copy_rows (PfCudaContext *ctx, float *dst, size_t dpitch, const float *src, size_t spitch,
           size_t width, size_t rows, GError **error)
{
  PF_CUDA_TRY (cudaMemcpy2DAsync (dst, dpitch * sizeof (float), src, spitch * sizeof (float),
                                  width * sizeof (float), rows, cudaMemcpyDeviceToDevice,
                                  ctx->stream));
  return TRUE;
}

gboolean
pf_cuda_lstm_check (const PfLstmDesc *d, GError **error)
{
  if (!d)
    return _pf_cuda_invalid (error, "LSTM: no descriptor");
  if (!pf_lstm_desc_valid (d))
    return _pf_cuda_invalid (error, "invalid LSTM shape: batch %d, seq_len %d, input %d, "
                             "hidden %d, layers %d", d->batch, d->seq_len, d->input_size,
                             d->hidden_size, d->num_layers);
  /* cuBLAS takes int sizes and leading dimensions: the largest are T*4H (the gate rows of one
   * step are that far apart) and B*T (the rows of the all-steps products) */
  const size_t t = d->seq_len, g = 4 * (size_t) d->hidden_size;
  if (t * g > INT_MAX || (size_t) d->batch * t > INT_MAX)
    return _pf_cuda_invalid (error, "LSTM too large for cuBLAS: batch %d, seq_len %d, hidden %d "
                             "(seq_len * 4 * hidden and batch * seq_len must fit an int)",
                             d->batch, d->seq_len, d->hidden_size);
  return TRUE;
}

/* ---- forward ------------------------------------------------------------------------------ */
gboolean
pf_cuda_lstm_forward (PfCudaContext *ctx, const PfLstmDesc *d, const float *x, const float *w,
                      const float *h0, const float *c0, float *y, float *hn, float *cn, float *ws,
                      GError **error)
{
  if (!ctx || !x || !w || !y || !ws)
    return _pf_cuda_invalid (error, "LSTM forward: no context, x, w, y or workspace");
  if (!pf_cuda_lstm_check (d, error))
    return FALSE;
  const int B = d->batch, T = d->seq_len, L = d->num_layers, H = d->hidden_size, G = 4 * H;
  const size_t BT = (size_t) B * T, BH = (size_t) B * H;
  const LstmWs v = ws_split (d, ws);
  const float one = 1.0f;

  for (int l = 0; l < L; l++)
    {
      const int in = layer_in (d, l);
      const float *w_ih = w + pf_lstm_param_offset (d, l, PF_LSTM_PARAM_W_IH);
      const float *w_hh = w + pf_lstm_param_offset (d, l, PF_LSTM_PARAM_W_HH);
      const float *b_ih = w + pf_lstm_param_offset (d, l, PF_LSTM_PARAM_B_IH);
      const float *b_hh = w + pf_lstm_param_offset (d, l, PF_LSTM_PARAM_B_HH);
      const float *xin = l == 0 ? x : v.hseq + (size_t) (l - 1) * BT * H;
      float *gl = v.gates + (size_t) l * BT * G;
      float *hseq = v.hseq + (size_t) l * BT * H, *cseq = v.cseq + (size_t) l * BT * H;
      float *hl0 = v.h0 + (size_t) l * BH, *cl0 = v.c0 + (size_t) l * BH;
      if (!copy_or_zero (ctx, hl0, h0 ? h0 + (size_t) l * BH : NULL, BH, error) ||
          !copy_or_zero (ctx, cl0, c0 ? c0 + (size_t) l * BH : NULL, BH, error))
        return FALSE;

      /* biases into every gate row, then the input projection of all steps added on top:
       * gates [BT, G] += xin [BT, in] W_ih^T, i.e. column-major gates^T += W_ih xin^T where the
       * row-major W_ih [G, in] is the column-major W_ih^T (ld in), hence CUBLAS_OP_T */
      const size_t ng = BT * G;
      bias_rows_kernel<<<_pf_cuda_grid (ctx, ng), PF_CUDA_BLOCK, 0, ctx->stream>>>
        (ng, G, b_ih, b_hh, gl);
      PF_CUDA_LAUNCHED ("bias_rows_kernel");
      PF_TRY (_pf_cuda_sgemm (ctx, CUBLAS_OP_T, CUBLAS_OP_N, G, (int) BT, in, &one,
                              w_ih, in, xin, in, &one, gl, G, error));

      for (int t = 0; t < T; t++)
        {
          /* rows (b, t) of the batch-major buffers are T rows apart; h_{-1} is h0 [B][H] */
          const float *hp = t == 0 ? hl0 : hseq + (size_t) (t - 1) * H;
          const int ldh = t == 0 ? H : T * H;
          /* gates_t [B, G] (row stride T*G) += h_{t-1} [B, H] W_hh^T */
          PF_TRY (_pf_cuda_sgemm (ctx, CUBLAS_OP_T, CUBLAS_OP_N, G, B, H, &one, w_hh,
                                  H, hp, ldh, &one, gl + (size_t) t * G, T * G, error));
          gates_forward_kernel<<<_pf_cuda_grid (ctx, BH), PF_CUDA_BLOCK, 0, ctx->stream>>>
            (BH, T, H, t, cl0, gl, hseq, cseq);
          PF_CUDA_LAUNCHED ("gates_forward_kernel");
        }
      /* the last step of every batch row: rows b*T + T-1 */
      if (hn && !copy_rows (ctx, hn + (size_t) l * BH, H, hseq + (size_t) (T - 1) * H,
                            (size_t) T * H, H, B, error))
        return FALSE;
      if (cn && !copy_rows (ctx, cn + (size_t) l * BH, H, cseq + (size_t) (T - 1) * H,
                            (size_t) T * H, H, B, error))
        return FALSE;
    }
  /* y is batch first, as the workspace */
  return copy_or_zero (ctx, y, v.hseq + (size_t) (L - 1) * BT * H, BT * H, error);
}

/* ---- backward ----------------------------------------------------------------------------- */
gboolean
pf_cuda_lstm_backward (PfCudaContext *ctx, const PfLstmDesc *d, const float *x, const float *w,
                       const float *dy, const float *dhn, const float *dcn, float *dx, float *dw,
                       float *dh0, float *dc0, float *ws, GError **error)
{
  if (!ctx || !x || !w || !ws)
    return _pf_cuda_invalid (error, "LSTM backward: no context, x, w or workspace");
  if (!pf_cuda_lstm_check (d, error))
    return FALSE;
  const int B = d->batch, T = d->seq_len, L = d->num_layers, H = d->hidden_size, G = 4 * H;
  const size_t BT = (size_t) B * T, BH = (size_t) B * H;
  const LstmWs v = ws_split (d, ws);
  const float one = 1.0f, zero = 0.0f;

  /* dy is batch first, as the workspace */
  if (!copy_or_zero (ctx, v.dseq, dy, BT * H, error))
    return FALSE;

  for (int l = L - 1; l >= 0; l--)
    {
      const int in = layer_in (d, l);
      const float *w_ih = w + pf_lstm_param_offset (d, l, PF_LSTM_PARAM_W_IH);
      const float *w_hh = w + pf_lstm_param_offset (d, l, PF_LSTM_PARAM_W_HH);
      const float *xin = l == 0 ? x : v.hseq + (size_t) (l - 1) * BT * H;
      const float *gl = v.gates + (size_t) l * BT * G;
      const float *hseq = v.hseq + (size_t) l * BT * H, *cseq = v.cseq + (size_t) l * BT * H;
      const float *hl0 = v.h0 + (size_t) l * BH, *cl0 = v.c0 + (size_t) l * BH;
      if (!copy_or_zero (ctx, v.dh, dhn ? dhn + (size_t) l * BH : NULL, BH, error) ||
          !copy_or_zero (ctx, v.dc, dcn ? dcn + (size_t) l * BH : NULL, BH, error))
        return FALSE;

      for (int t = T - 1; t >= 0; t--)
        {
          gates_backward_kernel<<<_pf_cuda_grid (ctx, BH), PF_CUDA_BLOCK, 0, ctx->stream>>>
            (BH, T, H, t, gl, cseq, cl0, v.dseq, v.dh, v.dc, v.da);
          PF_CUDA_LAUNCHED ("gates_backward_kernel");
          /* dh_{t-1} [B, H] = da_t [B, G] (row stride T*G) W_hh [G, H], overwritten (beta 0
           * never reads dh); at t = 0 this is the gradient w.r.t. h0 */
          PF_TRY (_pf_cuda_sgemm (ctx, CUBLAS_OP_N, CUBLAS_OP_N, H, B, G, &one, w_hh,
                                  H, v.da + (size_t) t * G, T * G, &zero, v.dh, H, error));
        }
      if (dh0 && !pf_cuda_axpy (ctx, BH, 1.0f, v.dh, dh0 + (size_t) l * BH, error))
        return FALSE;
      if (dc0 && !pf_cuda_axpy (ctx, BH, 1.0f, v.dc, dc0 + (size_t) l * BH, error))
        return FALSE;

      /* every row of da is complete and dseq's output gradients are consumed */
      if (dw)
        {
          float *dw_ih = dw + pf_lstm_param_offset (d, l, PF_LSTM_PARAM_W_IH);
          float *dw_hh = dw + pf_lstm_param_offset (d, l, PF_LSTM_PARAM_W_HH);
          float *db_ih = dw + pf_lstm_param_offset (d, l, PF_LSTM_PARAM_B_IH);
          float *db_hh = dw + pf_lstm_param_offset (d, l, PF_LSTM_PARAM_B_HH);
          /* h_{t-1} of every row (b, t) into dseq: h0[b] for t = 0, then h_0 .. h_{T-2} */
          if (!copy_rows (ctx, v.dseq, (size_t) T * H, hl0, H, H, B, error))
            return FALSE;
          if (T > 1 && !copy_rows (ctx, v.dseq + H, (size_t) T * H, hseq, (size_t) T * H,
                                   (size_t) (T - 1) * H, B, error))
            return FALSE;
          /* dW_ih [G, in] += da^T [G, BT] xin [BT, in] */
          PF_TRY (_pf_cuda_sgemm (ctx, CUBLAS_OP_N, CUBLAS_OP_T, in, G, (int) BT, &one,
                                  xin, in, v.da, G, &one, dw_ih, in, error));
          /* dW_hh [G, H] += da^T [G, BT] h_prev [BT, H] */
          PF_TRY (_pf_cuda_sgemm (ctx, CUBLAS_OP_N, CUBLAS_OP_T, H, G, (int) BT, &one,
                                  v.dseq, H, v.da, G, &one, dw_hh, H, error));
          /* db_ih and db_hh both get the column sums of da */
          PF_TRY (_pf_cuda_column_sum (ctx, (int) BT, G, v.da, db_ih, db_hh, error));
        }

      /* Gradient w.r.t. this layer's inputs, da [BT, G] W_ih [G, in]: overwrites dseq for the
       * layer below (beta 0 never reads the states left there), or adds into dx for layer 0. */
      float *din = l > 0 ? v.dseq : dx;
      if (din)
        {
          const float beta = l > 0 ? 0.0f : 1.0f;
          PF_TRY (_pf_cuda_sgemm (ctx, CUBLAS_OP_N, CUBLAS_OP_N, in, (int) BT, G, &one,
                                  w_ih, in, v.da, G, &beta, din, in, error));
        }
    }
  return TRUE;
}
