/* pf-test-cuda.h — what the CUDA tests share: one context per test program, random host data
 * (never zero), device buffers filled from the host or poisoned with NaN, and comparisons of a
 * device buffer with a host reference. Include after pf-cuda.h, inside #ifdef PF_HAVE_CUDA. */
#pragma once
#include <glib.h>
#include "pf-test-util.h"
#include "pf-cuda.h"
#include "pf-backend-cuda.h"

#define TOL_FWD 1e-4
#define TOL_BWD 1e-3

static PfCudaContext *ctx G_GNUC_UNUSED; /* set by main() */
static char *skip_reason G_GNUC_UNUSED;

/* Opens the test program's context, or sets skip_reason ("... `what` not checked") when
 * there is no usable GPU. With `backend` the context is the graph backend's (registered here),
 * for programs that also plan graphs on it; otherwise one of the program's own on device 0.
 * A GPU whose context or backend fails is a test failure. */
static inline void
pf_test_cuda_open_full (const char *what, gboolean backend)
{
  char *why = NULL;
  if (pf_cuda_available (&why))
    {
      GError *error = NULL;
      if (backend && !pf_backend_cuda_register (&error))
        g_error ("a CUDA device is present but the backend fails: %s", error->message);
      ctx = backend ? pf_backend_cuda_context () : pf_cuda_context_new (0, &error);
      if (!ctx)
        g_error ("a CUDA device is present but the context fails: %s",
                 error ? error->message : "the backend has none");
    }
  else
    skip_reason = g_strdup_printf ("no usable GPU (%s): %s not checked", why, what);
  g_free (why);
}

static inline void
pf_test_cuda_open (const char *what)
{
  pf_test_cuda_open_full (what, FALSE);
}

#define NEED_GPU() \
  G_STMT_START { if (!ctx) { g_test_skip (skip_reason); return; } } G_STMT_END

/* a test the host emulation of the GPU cannot serve (pf_test_skip_if_emulated) */
#define NEED_REAL_GPU(why) \
  G_STMT_START { \
    NEED_GPU (); \
    if (pf_test_skip_if_emulated (why)) \
      return; \
  } G_STMT_END

/* Runs a backend call that takes `&error` and fails the test with its message. */
#define OK(call) \
  G_STMT_START { \
    GError *error = NULL; \
    if (!(call)) \
      g_error ("%s failed: %s", #call, error ? error->message : "(no message)"); \
  } G_STMT_END

/* n floats uniform in [lo, hi), none exactly zero */
static inline float *
rand_host (GRand *r, size_t n, double lo, double hi)
{
  float *p = g_new (float, n);
  for (size_t i = 0; i < n; i++)
    {
      float v;
      do
        v = (float) g_rand_double_range (r, lo, hi);
      while (v == 0.0f);
      p[i] = v;
    }
  return p;
}

static inline float *
dev_from (const float *host, size_t n)
{
  float *d;
  GError *error = NULL;
  d = pf_cuda_malloc (ctx, n * sizeof (float), &error);
  g_assert_no_error (error);
  OK (pf_cuda_copy_to_device (ctx, d, host, n * sizeof (float), &error));
  return d;
}

static inline float *
dev_poisoned (size_t n)
{
  GError *error = NULL;
  float *d = pf_cuda_malloc (ctx, n * sizeof (float), &error);
  g_assert_no_error (error);
  OK (pf_cuda_fill (ctx, n, NAN, d, &error));
  return d;
}

static inline float *
host_from (const float *dev, size_t n)
{
  float *h = g_new (float, n);
  OK (pf_cuda_synchronize (ctx, &error));
  OK (pf_cuda_copy_to_host (ctx, h, dev, n * sizeof (float), &error));
  return h;
}

static inline void
check_dev (const char *what, const float *dev, const float *ref, size_t n, double tol)
{
  float *h = host_from (dev, n);
  pf_assert_close (what, h, ref, n, tol);
  g_free (h);
}

static inline float *
dup_floats (const float *p, size_t n)
{
  return g_memdup2 (p, n * sizeof (float));
}

static inline void
dev_free (float *d)
{
  pf_cuda_free (ctx, d);
}
