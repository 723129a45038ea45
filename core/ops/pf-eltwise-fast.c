/* pf-eltwise-fast.c — elementwise ops with OpenMP, and the thread count of the fast path.
 *
 * The loops are the reference ones split across threads (each element is independent, so the
 * results are bit-identical to the _ref ops). Small tensors stay on one thread: waking the
 * team costs more than a few thousand elements. */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#include "pf-ops-fast.h"
#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <sched.h>
#include <stdlib.h>

/* Below this many elements a loop runs on the calling thread. */
#define PF_ELT_PAR_MIN 32768

static int pf_fast_threads = 0;

/* The default: OMP_NUM_THREADS when the user set it (the usual knob, which oneDNN and OpenMP
 * honour too), else the CPUs in our affinity mask: on a shared or containerised machine that is
 * what we may use, while sysconf would count every host core and oversubscribe. */
static int
default_threads (void)
{
  const char *env = g_getenv ("OMP_NUM_THREADS");
  if (env && atoi (env) > 0)
    return atoi (env);
  cpu_set_t set;
  if (sched_getaffinity (0, sizeof set, &set) == 0 && CPU_COUNT (&set) > 0)
    return CPU_COUNT (&set);
  return MAX (1, (int) g_get_num_processors ());
}

void
pf_ops_fast_set_threads (int n)
{
  pf_fast_threads = n > 0 ? n : default_threads ();
  /* oneDNN (OpenMP runtime) sizes its parallel regions by omp_get_max_threads(); OpenBLAS
   * (pthread build) keeps a pool of its own, which we keep the same size so both stay on the
   * same cores instead of 2 x cores threads fighting. */
  omp_set_num_threads (pf_fast_threads);
  openblas_set_num_threads (pf_fast_threads);
}

int
pf_ops_fast_threads (void)
{
  if (g_atomic_int_get (&pf_fast_threads) <= 0)
    pf_ops_fast_set_threads (0);
  return pf_fast_threads;
}

static inline int
nthreads_for (size_t n)
{
  return n < PF_ELT_PAR_MIN ? 1 : pf_ops_fast_threads ();
}

void
pf_relu_forward_fast (size_t n, const float *x, float *y)
{
#pragma omp parallel for simd schedule(static) num_threads(nthreads_for (n))
  for (size_t i = 0; i < n; i++)
    y[i] = x[i] < 0.0f ? 0.0f : x[i]; /* NaN passes through, as in PyTorch */
}

void
pf_relu_backward_fast (size_t n, const float *y, const float *dy, float *dx)
{
  if (!dx)
    return;
#pragma omp parallel for simd schedule(static) num_threads(nthreads_for (n))
  for (size_t i = 0; i < n; i++)
    dx[i] += y[i] > 0.0f ? dy[i] : 0.0f;
}

void
pf_leaky_relu_forward_fast (size_t n, float slope, const float *x, float *y)
{
#pragma omp parallel for simd schedule(static) num_threads(nthreads_for (n))
  for (size_t i = 0; i < n; i++)
    y[i] = x[i] > 0.0f ? x[i] : slope * x[i];
}

void
pf_leaky_relu_backward_fast (size_t n, float slope, const float *x, const float *dy, float *dx)
{
  if (!dx)
    return;
#pragma omp parallel for simd schedule(static) num_threads(nthreads_for (n))
  for (size_t i = 0; i < n; i++)
    dx[i] += x[i] > 0.0f ? dy[i] : slope * dy[i];
}

void
pf_sigmoid_forward_fast (size_t n, const float *x, float *y)
{
#pragma omp parallel for schedule(static) num_threads(nthreads_for (n / 8))
  for (size_t i = 0; i < n; i++)
    {
      /* exp of a non-positive argument only, as the reference: no overflow in either tail. */
      const float e = expf (-fabsf (x[i]));
      y[i] = x[i] >= 0.0f ? 1.0f / (1.0f + e) : e / (1.0f + e);
    }
}

void
pf_sigmoid_backward_fast (size_t n, const float *y, const float *dy, float *dx)
{
  if (!dx)
    return;
#pragma omp parallel for simd schedule(static) num_threads(nthreads_for (n))
  for (size_t i = 0; i < n; i++)
    dx[i] += dy[i] * y[i] * (1.0f - y[i]);
}

void
pf_add_forward_fast (size_t n, const float *a, const float *b, float *y)
{
#pragma omp parallel for simd schedule(static) num_threads(nthreads_for (n))
  for (size_t i = 0; i < n; i++)
    y[i] = a[i] + b[i];
}

void
pf_add_backward_fast (size_t n, const float *dy, float *da, float *db)
{
#pragma omp parallel num_threads(nthreads_for (n))
  {
    if (da)
      {
#pragma omp for simd schedule(static)
        for (size_t i = 0; i < n; i++)
          da[i] += dy[i];
      }
    if (db)
      {
#pragma omp for simd schedule(static)
        for (size_t i = 0; i < n; i++)
          db[i] += dy[i];
      }
  }
}

/* Softmax over rows: rows in parallel, one float exp per element (stored, then scaled by the
 * double-precision sum) instead of the reference's two double exps. */
void
pf_softmax_forward_fast (int rows, int cols, float scale, const float *x, float *y)
{
#pragma omp parallel for schedule(static) num_threads(nthreads_for ((size_t) rows * cols))
  for (int r = 0; r < rows; r++)
    {
      const float *xr = x + (size_t) r * cols;
      float *yr = y + (size_t) r * cols;
      float mx = -INFINITY;
      for (int j = 0; j < cols; j++)
        mx = fmaxf (mx, scale * xr[j]);
      double sum = 0.0;
      for (int j = 0; j < cols; j++)
        {
          yr[j] = expf (scale * xr[j] - mx);
          sum += yr[j];
        }
      float inv = (float) (1.0 / sum);
      for (int j = 0; j < cols; j++)
        yr[j] *= inv;
    }
}

void
pf_softmax_backward_fast (int rows, int cols, float scale, const float *y, const float *dy, float *dx)
{
  if (!dx)
    return;
#pragma omp parallel for schedule(static) num_threads(nthreads_for ((size_t) rows * cols))
  for (int r = 0; r < rows; r++)
    {
      const float *yr = y + (size_t) r * cols, *gr = dy + (size_t) r * cols;
      float *dr = dx + (size_t) r * cols;
      double dot = 0.0;
      for (int j = 0; j < cols; j++)
        dot += (double) gr[j] * yr[j];
      float d = (float) dot;
      for (int j = 0; j < cols; j++)
        dr[j] += scale * yr[j] * (gr[j] - d);
    }
}
