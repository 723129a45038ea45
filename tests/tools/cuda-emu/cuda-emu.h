/* cuda-emu.h — compiles pflow's CUDA kernels as host C++ (g++), so that their logic runs on a
 * machine without a GPU: force-included into every kernels/ source after emu-cu.py has turned
 * each `kernel<<<grid, block, smem, stream>>> (args)` into `pf_emu_launch (kernel, grid, block,
 * smem, stream) (args)`. A launch runs the whole grid before it returns, one block after
 * another, each thread of a block a fiber of its own (cuda-emu.cc): __syncthreads and the warp
 * shuffles are real barriers among the block's or the warp's live threads, so a kernel that
 * reads what another thread has not written yet, or skips a barrier, goes wrong here as on a
 * GPU. Everything else CUDA (memory, copies, cuDNN, cuBLAS, graphs) is tests/tools/cuda-mock's,
 * run with PF_MOCK_COMPUTE=1 so that the libraries compute and a captured stream records
 * its work (kernels included) for the graph's launches. */
#pragma once
#define PF_CUDA_HOST_EMU 1 /* pf-cuda-private.h: the device helpers compile for the host too */
#define __shared__ static /* one block at a time: a static is the block's shared memory */
#include <cuda_runtime.h>
#include <functional>
#include <math.h>
#include <string.h>
#include <type_traits>

#undef __launch_bounds__
#define __launch_bounds__(...)

extern uint3 threadIdx, blockIdx;
extern dim3 blockDim, gridDim;
constexpr int warpSize = 32;

void __syncthreads (void);
int __syncthreads_or (int predicate);
void __syncwarp (unsigned mask = 0xffffffffu);
/* the value v of the lane (this lane ^ mask) of the warp */
double pf_emu_shfl_xor (double v, int mask);
static inline float __shfl_xor_sync (unsigned, float v, int m, int = 32) { return (float) pf_emu_shfl_xor (v, m); }
static inline double __shfl_xor_sync (unsigned, double v, int m, int = 32) { return pf_emu_shfl_xor (v, m); }
static inline int __shfl_xor_sync (unsigned, int v, int m, int = 32) { return (int) pf_emu_shfl_xor (v, m); }
/* fibers switch only at barriers, so a read-modify-write is atomic */
template <typename T> static inline T atomicMin (T *p, T v) { T o = *p; if (v < o) *p = v; return o; }
template <typename T> static inline T atomicMax (T *p, T v) { T o = *p; if (v > o) *p = v; return o; }
template <typename T> static inline T atomicAdd (T *p, T v) { T o = *p; *p = o + v; return o; }

/* x86-64 SSE arithmetic rounds each operation to float, as these intrinsics do (meson
 * compiles with -ffp-contract=off, so that g++ does not fuse a * b + c) */
static inline float __fmul_rn (float a, float b) { return a * b; }
static inline float __fadd_rn (float a, float b) { return a + b; }
static inline float __fsub_rn (float a, float b) { return a - b; }
static inline float __fdiv_rn (float a, float b) { return a / b; }
static inline float __fsqrt_rn (float a) { return sqrtf (a); }
static inline double __longlong_as_double (long long x) { double d; memcpy (&d, &x, sizeof d); return d; }
static inline float __int_as_float (int x) { float f; memcpy (&f, &x, sizeof f); return f; }
/* CUDA's min and max of mixed arithmetic types */
template <typename A, typename B>
static inline typename std::common_type<A, B>::type min (A a, B b) { return a < b ? a : b; }
template <typename A, typename B>
static inline typename std::common_type<A, B>::type max (A a, B b) { return a > b ? a : b; }

/* the block's dynamic shared memory (extern __shared__, rewritten by emu-cu.py) */
void *pf_emu_dynamic_smem (void);

/* kernel: an identity for what the runtime learns about it (whether it uses barriers) */
void pf_emu_run_grid (const void *kernel, dim3 grid, dim3 block, size_t smem,
                      const std::function<void ()> &thread);

/* a kernel's opt-in to more than 48 KiB of dynamic shared memory, which its launches need */
void pf_emu_note_smem_optin (const void *kernel, int bytes);

/* the runtime's templates for kernels (nvcc-only in cuda_runtime.h) */
template <typename... P>
static inline cudaError_t
cudaFuncSetAttribute (void (*f) (P...), enum cudaFuncAttribute attr, int value)
{
  cudaError_t e = cudaFuncSetAttribute ((const void *) f, attr, value);
  if (e == cudaSuccess && attr == cudaFuncAttributeMaxDynamicSharedMemorySize)
    pf_emu_note_smem_optin ((const void *) f, value);
  return e;
}
template <typename... P>
static inline cudaError_t
cudaOccupancyMaxActiveBlocksPerMultiprocessor (int *n, void (*f) (P...), int threads, size_t smem)
{
  return cudaOccupancyMaxActiveBlocksPerMultiprocessor (n, (const void *) f, threads, smem);
}

/* tests/tools/cuda-mock (PF_MOCK_COMPUTE=1): records `run (arg)` when the stream is being
 * captured, for each launch of the graph, and returns 1; else 0 (run it now) */
extern "C" int pf_mock_defer (cudaStream_t s, void (*run) (void *), void *arg);

static inline void
pf_emu_run_job (void *job)
{
  (*(std::function<void ()> *) job) ();
}

/* the kernel's own parameter types, so that arguments convert as in a launch (NULL, int) */
template <typename... P> struct PfEmuLaunch {
  void (*f) (P...);
  dim3 grid, block;
  size_t smem;
  cudaStream_t stream;
  void operator() (P... a) const
  {
    void (*fn) (P...) = f;
    dim3 g = grid, b = block;
    size_t sm = smem;
    /* the arguments by value: a captured launch runs later, with the values of now */
    auto *job = new std::function<void ()> ([fn, g, b, sm, a...] () {
      pf_emu_run_grid ((const void *) fn, g, b, sm, [&] () { fn (a...); });
    });
    if (!pf_mock_defer (stream, pf_emu_run_job, job))
      {
        (*job) ();
        delete job;
      }
  }
};

template <typename... P>
static inline PfEmuLaunch<P...>
pf_emu_launch (void (*f) (P...), dim3 grid, dim3 block, size_t smem = 0, cudaStream_t stream = 0)
{
  return PfEmuLaunch<P...> { f, grid, block, smem, stream };
}
