/* pf-dense-blas.c — linear layer and batched matmul through cblas_sgemm (OpenBLAS).
 *
 * Backward accumulation is free: sgemm's beta = 1 adds into the caller's gradient. Batched
 * matmuls of small matrices (the attention products, 56x56 per eta row) are spread over the
 * batch with OpenMP; OpenBLAS runs a call that small on the calling thread, single-threaded
 * (below its multithreading threshold). Larger ones go one after another, each threaded by
 * OpenBLAS itself. */
#include "pf-ops-fast.h"
#include <cblas.h>
#include <string.h>

/* OpenBLAS computes m*n*k below 65536 * 4 on the calling thread (GEMM_MULTITHREAD_THRESHOLD
 * default); below that, parallelism has to come from the batch. */
#define PF_GEMM_SMALL (65536L * 4)

void
pf_linear_forward_fast (int m, int in, int out, const float *x, const float *w, const float *b,
                        float *y)
{
  if (m <= 0 || out <= 0)
    return;
  float beta = 0.0f;
  if (b)
    {
      for (int i = 0; i < m; i++)
        memcpy (y + (size_t) i * out, b, sizeof (float) * out);
      beta = 1.0f;
    }
  if (in <= 0)
    {
      if (!b)
        memset (y, 0, sizeof (float) * m * out);
      return;
    }
  cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, m, out, in, 1.0f, x, in, w, in, beta, y,
               out);
}

void
pf_linear_backward_fast (int m, int in, int out, const float *x, const float *w, const float *dy,
                         float *dx, float *dw, float *db)
{
  if (m <= 0 || out <= 0)
    return;
  if (dx && in > 0)
    cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, m, in, out, 1.0f, dy, out, w, in,
                 1.0f, dx, in);
  if (dw && in > 0)
    cblas_sgemm (CblasRowMajor, CblasTrans, CblasNoTrans, out, in, m, 1.0f, dy, out, x, in, 1.0f,
                 dw, in);
  if (db)
    {
      /* Column sums in double, row by row (contiguous reads). */
      double *acc = g_new0 (double, out);
      for (int i = 0; i < m; i++)
        {
          const float *r = dy + (size_t) i * out;
          for (int o = 0; o < out; o++)
            acc[o] += r[o];
        }
      for (int o = 0; o < out; o++)
        db[o] += (float) acc[o];
      g_free (acc);
    }
}

/* C[t] = alpha op(A[t]) op(B[t]) + beta C[t] for t < batch, where A[t] is rows_a x cols_a as
 * stored, and so on: the one loop behind the forward and both backward products. */
static void
gemm_batch (int batch, CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int m, int n, int k,
            const float *a, int lda, size_t sa, const float *b, int ldb, size_t sb, float beta,
            float *c, int ldc, size_t sc)
{
  if (batch <= 0 || m <= 0 || n <= 0)
    return;
  if (k <= 0)
    {
      if (beta == 0.0f)
        memset (c, 0, sizeof (float) * sc * batch);
      return;
    }
  const bool small = (long) m * n * k < PF_GEMM_SMALL && batch > 1;
#pragma omp parallel for schedule(static) if (small) num_threads(pf_ops_fast_threads ())
  for (int t = 0; t < batch; t++)
    cblas_sgemm (CblasRowMajor, ta, tb, m, n, k, 1.0f, a + sa * t, lda, b + sb * t, ldb, beta,
                 c + sc * t, ldc);
}

void
pf_bmm_forward_fast (int batch, int m, int n, int k, bool trans_a, bool trans_b,
                     const float *a, const float *b, float *c)
{
  gemm_batch (batch, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
              m, n, k, a, trans_a ? m : k, (size_t) m * k, b, trans_b ? k : n, (size_t) k * n,
              0.0f, c, n, (size_t) m * n);
}

/* With op(A) [m, k], op(B) [k, n], dC [m, n]:
 *   d op(A) = dC op(B)^T     stored A = op(A) (or its transpose when trans_a)
 *   d op(B) = op(A)^T dC     stored B likewise.
 * A transposed store is produced by computing the transposed product: (dC op(B)^T)^T =
 * op(B) dC^T, which keeps everything one sgemm with beta = 1. */
void
pf_bmm_backward_fast (int batch, int m, int n, int k, bool trans_a, bool trans_b,
                      const float *a, const float *b, const float *dc, float *da, float *db)
{
  const size_t sa = (size_t) m * k, sb = (size_t) k * n, sc = (size_t) m * n;
  /* op(B) as stored: B is [k, n] (ldb n) or, with trans_b, [n, k] (ldb k). */
  const int ldb = trans_b ? k : n, lda = trans_a ? m : k;
  if (da)
    {
      if (!trans_a) /* dA [m, k] = dC [m, n] op(B)^T */
        gemm_batch (batch, CblasNoTrans, trans_b ? CblasNoTrans : CblasTrans, m, k, n,
                    dc, n, sc, b, ldb, sb, 1.0f, da, k, sa);
      else          /* dA stored [k, m] = op(B) [k, n] dC^T */
        gemm_batch (batch, trans_b ? CblasTrans : CblasNoTrans, CblasTrans, k, m, n,
                    b, ldb, sb, dc, n, sc, 1.0f, da, m, sa);
    }
  if (db)
    {
      if (!trans_b) /* dB [k, n] = op(A)^T [k, m] dC [m, n] */
        gemm_batch (batch, trans_a ? CblasNoTrans : CblasTrans, CblasNoTrans, k, n, m,
                    a, lda, sa, dc, n, sc, 1.0f, db, n, sb);
      else          /* dB stored [n, k] = dC^T [n, m] op(A) [m, k] */
        gemm_batch (batch, CblasTrans, trans_a ? CblasTrans : CblasNoTrans, n, k, m,
                    dc, n, sc, a, lda, sa, 1.0f, db, k, sb);
    }
}
