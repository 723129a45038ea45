/* pf-dense-ref.c — reference linear layer, batched matmul and row softmax.
 *
 * Plain loops with double accumulators (the test oracle for the BLAS and CUDA paths). Each
 * gradient element is one gathered sum added once, so backward accumulates exactly. */
#include <math.h>
#include "pf-ops.h"

void
pf_linear_forward_ref (int m, int in, int out, const float *x, const float *w, const float *b, float *y)
{
  for (int i = 0; i < m; i++)
    for (int o = 0; o < out; o++)
      {
        double acc = b ? b[o] : 0.0;
        for (int j = 0; j < in; j++)
          acc += (double) x[(size_t) i * in + j] * w[(size_t) o * in + j];
        y[(size_t) i * out + o] = (float) acc;
      }
}

void
pf_linear_backward_ref (int m, int in, int out, const float *x, const float *w, const float *dy,
                        float *dx, float *dw, float *db)
{
  if (dx)
    for (int i = 0; i < m; i++)
      for (int j = 0; j < in; j++)
        {
          double acc = 0.0;
          for (int o = 0; o < out; o++)
            acc += (double) dy[(size_t) i * out + o] * w[(size_t) o * in + j];
          dx[(size_t) i * in + j] += (float) acc;
        }
  if (dw)
    for (int o = 0; o < out; o++)
      for (int j = 0; j < in; j++)
        {
          double acc = 0.0;
          for (int i = 0; i < m; i++)
            acc += (double) dy[(size_t) i * out + o] * x[(size_t) i * in + j];
          dw[(size_t) o * in + j] += (float) acc;
        }
  if (db)
    for (int o = 0; o < out; o++)
      {
        double acc = 0.0;
        for (int i = 0; i < m; i++)
          acc += dy[(size_t) i * out + o];
        db[o] += (float) acc;
      }
}

/* Offsets of op(A)[i, p] (op(A) is [m, k]) and op(B)[p, j] (op(B) is [k, n]) in one batch. */
static inline size_t
a_off (int m, int k, bool trans_a, int i, int p)
{
  return trans_a ? (size_t) p * m + i : (size_t) i * k + p;
}

static inline size_t
b_off (int n, int k, bool trans_b, int p, int j)
{
  return trans_b ? (size_t) j * k + p : (size_t) p * n + j;
}

void
pf_bmm_forward_ref (int batch, int m, int n, int k, bool trans_a, bool trans_b,
                    const float *a, const float *b, float *c)
{
  for (int t = 0; t < batch; t++)
    {
      const float *at = a + (size_t) t * m * k, *bt = b + (size_t) t * k * n;
      float *ct = c + (size_t) t * m * n;
      for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++)
          {
            double acc = 0.0;
            for (int p = 0; p < k; p++)
              acc += (double) at[a_off (m, k, trans_a, i, p)] * bt[b_off (n, k, trans_b, p, j)];
            ct[(size_t) i * n + j] = (float) acc;
          }
    }
}

/* d op(A)[i, p] = sum_j dC[i, j] op(B)[p, j];  d op(B)[p, j] = sum_i op(A)[i, p] dC[i, j].
 * Writing through a_off/b_off puts each into the stored (possibly transposed) layout. */
void
pf_bmm_backward_ref (int batch, int m, int n, int k, bool trans_a, bool trans_b,
                     const float *a, const float *b, const float *dc, float *da, float *db)
{
  for (int t = 0; t < batch; t++)
    {
      const float *at = a + (size_t) t * m * k, *bt = b + (size_t) t * k * n;
      const float *dct = dc + (size_t) t * m * n;
      if (da)
        {
          float *dat = da + (size_t) t * m * k;
          for (int i = 0; i < m; i++)
            for (int p = 0; p < k; p++)
              {
                double acc = 0.0;
                for (int j = 0; j < n; j++)
                  acc += (double) dct[(size_t) i * n + j] * bt[b_off (n, k, trans_b, p, j)];
                dat[a_off (m, k, trans_a, i, p)] += (float) acc;
              }
        }
      if (db)
        {
          float *dbt = db + (size_t) t * k * n;
          for (int p = 0; p < k; p++)
            for (int j = 0; j < n; j++)
              {
                double acc = 0.0;
                for (int i = 0; i < m; i++)
                  acc += (double) at[a_off (m, k, trans_a, i, p)] * dct[(size_t) i * n + j];
                dbt[b_off (n, k, trans_b, p, j)] += (float) acc;
              }
        }
    }
}

/* y = softmax(scale * x) per row; the row maximum is subtracted first so large logits
 * (attention scores) cannot overflow exp. */
void
pf_softmax_forward_ref (int rows, int cols, float scale, const float *x, float *y)
{
  for (int r = 0; r < rows; r++)
    {
      const float *xr = x + (size_t) r * cols;
      float *yr = y + (size_t) r * cols;
      double mx = -INFINITY;
      for (int j = 0; j < cols; j++)
        mx = fmax (mx, (double) scale * xr[j]);
      double sum = 0.0;
      for (int j = 0; j < cols; j++)
        sum += exp ((double) scale * xr[j] - mx);
      for (int j = 0; j < cols; j++)
        yr[j] = (float) (exp ((double) scale * xr[j] - mx) / sum);
    }
}

/* dx = scale * y * (dy - sum_j dy_j y_j), per row. */
void
pf_softmax_backward_ref (int rows, int cols, float scale, const float *y, const float *dy, float *dx)
{
  if (!dx)
    return;
  for (int r = 0; r < rows; r++)
    {
      const float *yr = y + (size_t) r * cols, *gr = dy + (size_t) r * cols;
      float *dr = dx + (size_t) r * cols;
      double dot = 0.0;
      for (int j = 0; j < cols; j++)
        dot += (double) gr[j] * yr[j];
      for (int j = 0; j < cols; j++)
        dr[j] += (float) ((double) scale * yr[j] * (gr[j] - dot));
    }
}
