/* pf-cuda.cu — context (device, stream, cuDNN and cuBLAS handles), device memory, errors. */
#include <stdarg.h>
#include <string.h>
#include "pf-cuda-private.h"

G_DEFINE_QUARK (pf-cuda-error-quark, pf_cuda_error)

/* ---- errors -------------------------------------------------------------------------- */
gboolean
_pf_cuda_check (cudaError_t e, const char *call, GError **error)
{
  if (e == cudaSuccess)
    return TRUE;
  int code = (e == cudaErrorNoDevice || e == cudaErrorInsufficientDriver)
             ? PF_CUDA_ERROR_NO_DEVICE : PF_CUDA_ERROR_RUNTIME;
  g_set_error (error, PF_CUDA_ERROR, code, "%s failed: %s (%s)", call, cudaGetErrorString (e),
               cudaGetErrorName (e));
  return FALSE;
}

gboolean
_pf_cudnn_check (cudnnStatus_t s, const char *call, GError **error)
{
  if (s == CUDNN_STATUS_SUCCESS)
    return TRUE;
  char detail[512] = "";
  cudnnGetLastErrorString (detail, sizeof detail);
  g_set_error (error, PF_CUDA_ERROR, PF_CUDA_ERROR_CUDNN, "%s failed: %s%s%s", call,
               cudnnGetErrorString (s), detail[0] ? ": " : "", detail);
  return FALSE;
}

gboolean
_pf_cublas_check (cublasStatus_t s, const char *call, GError **error)
{
  if (s == CUBLAS_STATUS_SUCCESS)
    return TRUE;
  g_set_error (error, PF_CUDA_ERROR, PF_CUDA_ERROR_CUBLAS, "%s failed: %s (%s)", call,
               cublasGetStatusString (s), cublasGetStatusName (s));
  return FALSE;
}

gboolean
_pf_cuda_launch_check (const char *kernel, GError **error)
{
  cudaError_t e = cudaGetLastError ();
  if (e == cudaSuccess)
    return TRUE;
  g_set_error (error, PF_CUDA_ERROR, PF_CUDA_ERROR_RUNTIME, "launch of kernel %s failed: %s (%s)",
               kernel, cudaGetErrorString (e), cudaGetErrorName (e));
  return FALSE;
}

gboolean
_pf_cuda_invalid (GError **error, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  char *msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_set_error_literal (error, PF_CUDA_ERROR, PF_CUDA_ERROR_INVALID, msg);
  g_free (msg);
  return FALSE;
}

/* ---- devices and context ------------------------------------------------------------- */
int
pf_cuda_device_count (void)
{
  int n = 0;
  cudaError_t e = cudaGetDeviceCount (&n);
  if (e != cudaSuccess)
    {
      cudaGetLastError (); /* a missing driver is not an error of later calls */
      return 0;
    }
  return n;
}

gboolean
pf_cuda_available (char **why)
{
  int n = 0;
  cudaError_t e = cudaGetDeviceCount (&n);
  if (e != cudaSuccess)
    {
      cudaGetLastError ();
      if (why)
        *why = g_strdup_printf ("cudaGetDeviceCount failed: %s (%s)", cudaGetErrorString (e),
                                cudaGetErrorName (e));
      return FALSE;
    }
  if (n <= 0)
    {
      if (why)
        *why = g_strdup ("cudaGetDeviceCount found no CUDA device");
      return FALSE;
    }
  if (why)
    *why = NULL;
  return TRUE;
}

/* What NVIDIA advises for Hopper (cuBLAS docs, "cublasSetWorkspace"): 32 MiB. */
#define PF_CUBLAS_WORKSPACE ((size_t) 32 << 20)

PfCudaContext *
pf_cuda_context_new (int device, GError **error)
{
  int count = 0;
  if (!_pf_cuda_check (cudaGetDeviceCount (&count), "cudaGetDeviceCount", error))
    return NULL;
  if (device < 0 || device >= count)
    {
      g_set_error (error, PF_CUDA_ERROR, PF_CUDA_ERROR_NO_DEVICE,
                   "CUDA device %d requested, %d available", device, count);
      return NULL;
    }
  PfCudaContext *ctx = g_new0 (PfCudaContext, 1);
  ctx->device = device;
  cudaDeviceProp prop;
  if (!_pf_cuda_check (cudaSetDevice (device), "cudaSetDevice", error)
      || !_pf_cuda_check (cudaGetDeviceProperties (&prop, device), "cudaGetDeviceProperties", error))
    goto fail;
  g_strlcpy (ctx->name, prop.name, sizeof ctx->name);
  ctx->sm_count = prop.multiProcessorCount;
  ctx->cc_major = prop.major;
  ctx->cc_minor = prop.minor;
  ctx->total_memory = prop.totalGlobalMem;
  ctx->smem_optin = prop.sharedMemPerBlockOptin;
  if (!_pf_cuda_check (cudaStreamCreateWithFlags (&ctx->stream, cudaStreamNonBlocking),
                       "cudaStreamCreateWithFlags", error))
    goto fail;
  if (!_pf_cudnn_check (cudnnCreate (&ctx->cudnn), "cudnnCreate", error))
    goto fail;
  if (!_pf_cudnn_check (cudnnSetStream (ctx->cudnn, ctx->stream), "cudnnSetStream", error))
    goto fail;
  if (!_pf_cublas_check (cublasCreate (&ctx->cublas), "cublasCreate", error))
    goto fail;
  if (!_pf_cublas_check (cublasSetStream (ctx->cublas, ctx->stream), "cublasSetStream", error))
    goto fail;
  if (!_pf_cuda_check (cudaMalloc (&ctx->cublas_ws, PF_CUBLAS_WORKSPACE), "cudaMalloc (cuBLAS workspace)", error)
      || !_pf_cublas_check (cublasSetWorkspace (ctx->cublas, ctx->cublas_ws, PF_CUBLAS_WORKSPACE),
                            "cublasSetWorkspace", error))
    goto fail;
  /* full FP32 unless asked otherwise: the GPU must agree with the CPU reference */
  if (!pf_cuda_context_set_precision (ctx, PF_CUDA_PRECISION_FP32, error))
    goto fail;
  return ctx;

fail:
  pf_cuda_context_free (ctx);
  return NULL;
}

void
pf_cuda_context_free (PfCudaContext *ctx)
{
  if (!ctx)
    return;
  if (ctx->stream)
    cudaStreamSynchronize (ctx->stream);
  if (ctx->scratch)
    cudaFree (ctx->scratch);
  if (ctx->conv_ws)
    cudaFree (ctx->conv_ws);
  if (ctx->bf16_ws)
    cudaFree (ctx->bf16_ws);
  for (guint i = 0; ctx->retired && i < ctx->retired->len; i++)
    cudaFree (g_ptr_array_index (ctx->retired, i));
  if (ctx->retired)
    g_ptr_array_free (ctx->retired, TRUE);
  if (ctx->cublas)
    cublasDestroy (ctx->cublas);
  if (ctx->cublas_ws)
    cudaFree (ctx->cublas_ws);
  if (ctx->cudnn)
    cudnnDestroy (ctx->cudnn);
  if (ctx->stream)
    cudaStreamDestroy (ctx->stream);
  cudaGetLastError ();
  g_free (ctx);
}

const char *
pf_cuda_context_device_name (const PfCudaContext *ctx)
{
  return ctx->name;
}

int
pf_cuda_context_device (const PfCudaContext *ctx)
{
  return ctx->device;
}

/* CUDA reports versions as 1000 major + 10 minor */
static char *
cuda_version (int v)
{
  return g_strdup_printf ("%d.%d", v / 1000, (v % 1000) / 10);
}

char *
pf_cuda_context_describe (const PfCudaContext *ctx)
{
  int driver = 0, runtime = 0, blas[3] = { 0, 0, 0 };
  cudaDriverGetVersion (&driver);
  cudaRuntimeGetVersion (&runtime);
  cublasGetProperty (MAJOR_VERSION, &blas[0]);
  cublasGetProperty (MINOR_VERSION, &blas[1]);
  cublasGetProperty (PATCH_LEVEL, &blas[2]);
  /* cuDNN 9 encodes its version as 10000 major + 100 minor + patch */
  size_t dnn = cudnnGetVersion ();
  char *d = cuda_version (driver), *r = cuda_version (runtime);
  char *s = g_strdup_printf ("%s: compute capability %d.%d, %d SMs, %.1f GiB; driver CUDA %s, "
                             "runtime %s, cuDNN %zu.%zu.%zu, cuBLAS %d.%d.%d", ctx->name,
                             ctx->cc_major, ctx->cc_minor, ctx->sm_count,
                             ctx->total_memory / (1024.0 * 1024 * 1024), d, r, dnn / 10000,
                             dnn / 100 % 100, dnn % 100, blas[0], blas[1], blas[2]);
  g_free (d);
  g_free (r);
  return s;
}

gboolean
pf_cuda_context_make_current (PfCudaContext *ctx, GError **error)
{
  PF_CUDA_TRY (cudaSetDevice (ctx->device));
  return TRUE;
}

gboolean
pf_cuda_context_set_precision (PfCudaContext *ctx, PfCudaPrecision precision, GError **error)
{
  if (precision != PF_CUDA_PRECISION_FP32 && precision != PF_CUDA_PRECISION_TF32
      && precision != PF_CUDA_PRECISION_BF16)
    return _pf_cuda_invalid (error, "unknown precision %d", (int) precision);
  /* CUBLAS_DEFAULT_MATH keeps FP32 GEMMs in FP32; TF32 must be asked for explicitly. BF16
   * GEMMs name their compute type in each call (_pf_cuda_sgemm). */
  PF_CUBLAS_TRY (cublasSetMathMode (ctx->cublas, precision == PF_CUDA_PRECISION_TF32
                                                     ? CUBLAS_TF32_TENSOR_OP_MATH
                                                     : CUBLAS_DEFAULT_MATH));
  ctx->precision = precision;
  return TRUE;
}

PfCudaPrecision
pf_cuda_context_get_precision (const PfCudaContext *ctx)
{
  return ctx->precision;
}

const char *
pf_cuda_precision_name (PfCudaPrecision precision)
{
  switch (precision)
    {
    case PF_CUDA_PRECISION_FP32: return "fp32";
    case PF_CUDA_PRECISION_TF32: return "tf32";
    case PF_CUDA_PRECISION_BF16: return "bf16";
    }
  return "?";
}

gboolean
pf_cuda_synchronize (PfCudaContext *ctx, GError **error)
{
  PF_CUDA_TRY (cudaStreamSynchronize (ctx->stream));
  PF_CUDA_TRY (cudaGetLastError ());
  return TRUE;
}

void *
_pf_cuda_grow (PfCudaContext *ctx, void **buf, size_t *buf_bytes, size_t bytes, const char *what,
               GError **error)
{
  if (bytes <= *buf_bytes)
    return *buf;
  /* allocate first: if it fails, the current buffer stays, and what was planned before
   * still fits in it (plans read the buffer's address at every call). A buffer that grows
   * takes headroom, up to its old size and at most 256 MiB, so that a run of slightly larger
   * needs (one plan after another) does not retire a buffer at each; the exact size is the
   * fallback when the headroom does not fit. */
  const size_t headroom = MIN (*buf_bytes, (size_t) 256 << 20);
  void *fresh = NULL;
  cudaError_t e = cudaErrorMemoryAllocation;
  if (bytes < *buf_bytes + headroom)
    {
      e = cudaMalloc (&fresh, *buf_bytes + headroom);
      if (e == cudaSuccess)
        bytes = *buf_bytes + headroom;
      else
        cudaGetLastError ();
    }
  if (e != cudaSuccess)
    e = cudaMalloc (&fresh, bytes);
  if (e != cudaSuccess)
    {
      cudaGetLastError ();
      g_set_error (error, PF_CUDA_ERROR, PF_CUDA_ERROR_RUNTIME,
                   "cudaMalloc of %zu bytes (%s) on %s failed: %s (%s)", bytes, what, ctx->name,
                   cudaGetErrorString (e), cudaGetErrorName (e));
      return NULL;
    }
  if (*buf)
    {
      /* a recorded graph may still point into it: kept until the context goes */
      if (!ctx->retired)
        ctx->retired = g_ptr_array_new ();
      g_ptr_array_add (ctx->retired, *buf);
    }
  *buf = fresh;
  *buf_bytes = bytes;
  return *buf;
}

void *
_pf_cuda_scratch (PfCudaContext *ctx, size_t bytes, GError **error)
{
  return _pf_cuda_grow (ctx, &ctx->scratch, &ctx->scratch_bytes, MAX (bytes, (size_t) 4096),
                        "scratch", error);
}

/* ---- memory -------------------------------------------------------------------------- */
void *
pf_cuda_malloc (PfCudaContext *ctx, size_t bytes, GError **error)
{
  void *p = NULL;
  cudaError_t e = cudaMalloc (&p, bytes ? bytes : 1);
  if (e != cudaSuccess)
    {
      cudaGetLastError ();
      g_set_error (error, PF_CUDA_ERROR, PF_CUDA_ERROR_RUNTIME,
                   "cudaMalloc of %zu bytes on %s failed: %s (%s)", bytes, ctx->name,
                   cudaGetErrorString (e), cudaGetErrorName (e));
      return NULL;
    }
  return p;
}

void
pf_cuda_free (PfCudaContext *ctx, void *dev)
{
  if (!dev)
    return;
  /* cudaFree waits for the device; an error here would belong to an earlier kernel, which
   * the next synchronising call reports */
  cudaFree (dev);
}

gboolean
pf_cuda_memset (PfCudaContext *ctx, void *dev, int value, size_t bytes, GError **error)
{
  if (bytes == 0)
    return TRUE;
  PF_CUDA_TRY (cudaMemsetAsync (dev, value, bytes, ctx->stream));
  return TRUE;
}

static gboolean
copy_sync (PfCudaContext *ctx, void *dst, const void *src, size_t bytes, cudaMemcpyKind kind,
           const char *what, GError **error)
{
  if (bytes == 0)
    return TRUE;
  cudaError_t e = cudaMemcpyAsync (dst, src, bytes, kind, ctx->stream);
  if (e == cudaSuccess)
    e = cudaStreamSynchronize (ctx->stream);
  if (e != cudaSuccess)
    {
      cudaGetLastError ();
      g_set_error (error, PF_CUDA_ERROR, PF_CUDA_ERROR_RUNTIME, "%s of %zu bytes failed: %s (%s)",
                   what, bytes, cudaGetErrorString (e), cudaGetErrorName (e));
      return FALSE;
    }
  return TRUE;
}

gboolean
pf_cuda_copy_to_device (PfCudaContext *ctx, void *dev, const void *host, size_t bytes,
                        GError **error)
{
  return copy_sync (ctx, dev, host, bytes, cudaMemcpyHostToDevice,
                    "cudaMemcpyAsync (host to device)", error);
}

gboolean
pf_cuda_copy_to_host (PfCudaContext *ctx, void *host, const void *dev, size_t bytes,
                      GError **error)
{
  return copy_sync (ctx, host, dev, bytes, cudaMemcpyDeviceToHost,
                    "cudaMemcpyAsync (device to host)", error);
}

gboolean
pf_cuda_copy_device (PfCudaContext *ctx, void *dst, const void *src, size_t bytes, GError **error)
{
  if (bytes == 0)
    return TRUE;
  PF_CUDA_TRY (cudaMemcpyAsync (dst, src, bytes, cudaMemcpyDeviceToDevice, ctx->stream));
  return TRUE;
}

/* ---- pinned host memory and graphs ------------------------------------------------------ */
void *
pf_cuda_host_alloc (PfCudaContext *ctx, size_t bytes, GError **error)
{
  void *p = NULL;
  if (!_pf_cuda_check (cudaMallocHost (&p, bytes ? bytes : 1), "cudaMallocHost", error))
    return NULL;
  return p;
}

void
pf_cuda_host_free (PfCudaContext *ctx, void *p)
{
  if (p)
    cudaFreeHost (p);
}

gboolean
pf_cuda_copy_to_device_async (PfCudaContext *ctx, void *dev, const void *host, size_t bytes,
                              GError **error)
{
  PF_CUDA_TRY (cudaMemcpyAsync (dev, host, bytes, cudaMemcpyHostToDevice, ctx->stream));
  return TRUE;
}

gboolean
pf_cuda_capture_begin (PfCudaContext *ctx, GError **error)
{
  /* thread-local: a call from another thread (the UI drawing, say) cannot join the capture */
  PF_CUDA_TRY (cudaStreamBeginCapture (ctx->stream, cudaStreamCaptureModeThreadLocal));
  return TRUE;
}

PfCudaGraph *
pf_cuda_capture_end (PfCudaContext *ctx, GError **error)
{
  cudaGraph_t graph = NULL;
  cudaGraphExec_t exec = NULL;
  cudaError_t e = cudaStreamEndCapture (ctx->stream, &graph);
  if (e == cudaSuccess)
    e = cudaGraphInstantiate (&exec, graph, 0);
  if (graph)
    cudaGraphDestroy (graph);
  if (!_pf_cuda_check (e, "capturing a CUDA graph", error))
    {
      cudaGetLastError (); /* a failed capture leaves a sticky error for the next launch */
      return NULL;
    }
  return (PfCudaGraph *) exec;
}

gboolean
pf_cuda_graph_launch (PfCudaContext *ctx, PfCudaGraph *graph, GError **error)
{
  PF_CUDA_TRY (cudaGraphLaunch ((cudaGraphExec_t) graph, ctx->stream));
  return TRUE;
}

void
pf_cuda_graph_free (PfCudaGraph *graph)
{
  if (graph)
    cudaGraphExecDestroy ((cudaGraphExec_t) graph);
}
