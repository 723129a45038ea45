/* cuda-emu.cc — the runtime of cuda-emu.h: a launch runs its blocks one after another, the
 * threads of a block as fibers (ucontext) switched only at barriers. A fiber waiting at
 * __syncthreads resumes when every live thread of the block has arrived (threads that have
 * returned do not count, as on the GPU); a warp shuffle is the same among the warp's live
 * lanes. A block whose threads all wait with none able to go on is a deadlock, and a launch
 * configuration the GPU refuses is an error: both abort with a message. */
#include "cuda-emu.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <map>
#include <set>
#include <ucontext.h>
#include <vector>

uint3 threadIdx, blockIdx;
dim3 blockDim, gridDim;

namespace {

enum Wait { NONE, BLOCK, WARP };

struct Fiber {
  ucontext_t ctx;
  uint3 tid;
  int warp, lane;
  bool done;
  Wait wait;
  unsigned long wait_gen;
};

struct Barrier {
  int arrived = 0, live = 0;
  unsigned long gen = 0;
  int any[2] = { 0, 0 }; /* __syncthreads_or of the barrier with gen's parity */
};

struct WarpState {
  Barrier bar;
  double slot[32];
};

const size_t STACK = 256 << 10;
ucontext_t scheduler;
std::vector<Fiber> fibers;
std::vector<char *> stacks;
std::vector<WarpState> warps;
Barrier block_bar;
Fiber *cur;
const std::function<void ()> *body;
std::vector<char> dyn_smem;
std::set<const void *> barrier_free; /* kernels whose first block met no barrier */
std::map<const void *, int> smem_optin; /* cudaFuncAttributeMaxDynamicSharedMemorySize */
bool direct;                         /* threads run as plain calls */
bool met_barrier;                    /* in the block that runs now */
/* PF_EMU_REVERSE=1: threads run in reverse order between barriers, which shows the missing
 * barriers the forward order hides (a thread reading what an earlier one wrote) */
const bool reverse = getenv ("PF_EMU_REVERSE") && *getenv ("PF_EMU_REVERSE") == '1';

[[noreturn]] void
fail (const char *what)
{
  fprintf (stderr, "cuda-emu: %s (block %u,%u,%u of %u,%u,%u; %u,%u,%u threads)\n", what,
           blockIdx.x, blockIdx.y, blockIdx.z, gridDim.x, gridDim.y, gridDim.z, blockDim.x,
           blockDim.y, blockDim.z);
  abort ();
}

/* Every thread has passed the barrier before the one now opening, so the OR of that one can
 * be cleared for the one after. */
void
open_barrier (Barrier &b)
{
  b.arrived = 0;
  b.gen++;
  b.any[b.gen & 1] = 0;
}

/* the last live thread to arrive opens the barrier */
void
arrive (Barrier &b, Wait kind)
{
  if (direct)
    fail ("a barrier in a kernel whose first block met none");
  met_barrier = true;
  if (++b.arrived >= b.live)
    {
      open_barrier (b);
      return;
    }
  cur->wait = kind;
  cur->wait_gen = b.gen;
  swapcontext (&cur->ctx, &scheduler);
}

/* a thread returned: it no longer counts, which may open a barrier the others wait at */
void
leave (Barrier &b)
{
  b.live--;
  if (b.arrived > 0 && b.arrived >= b.live)
    open_barrier (b);
}

void
fiber_main ()
{
  (*body) ();
  cur->done = true;
  leave (block_bar);
  leave (warps[cur->warp].bar);
  swapcontext (&cur->ctx, &scheduler);
}

bool
blocked (const Fiber &f)
{
  if (f.wait == BLOCK)
    return block_bar.gen == f.wait_gen;
  if (f.wait == WARP)
    return warps[f.warp].bar.gen == f.wait_gen;
  return false;
}

void
run_block_direct (int nthreads)
{
  warps.assign ((nthreads + 31) / 32, WarpState ());
  for (int k = 0; k < nthreads; k++)
    {
      const int t = reverse ? nthreads - 1 - k : k;
      threadIdx.x = t % blockDim.x;
      threadIdx.y = (t / blockDim.x) % blockDim.y;
      threadIdx.z = t / (blockDim.x * blockDim.y);
      (*body) ();
    }
}

void
run_block (int nthreads)
{
  block_bar = Barrier ();
  block_bar.live = nthreads;
  int nwarps = (nthreads + 31) / 32;
  warps.assign (nwarps, WarpState ());
  for (int w = 0; w < nwarps; w++)
    warps[w].bar.live = w + 1 < nwarps ? 32 : nthreads - 32 * w;
  while ((int) stacks.size () < nthreads)
    stacks.push_back ((char *) malloc (STACK));
  fibers.assign (nthreads, Fiber ());
  for (int t = 0; t < nthreads; t++)
    {
      Fiber &f = fibers[t];
      f.tid.x = t % blockDim.x;
      f.tid.y = (t / blockDim.x) % blockDim.y;
      f.tid.z = t / (blockDim.x * blockDim.y);
      f.warp = t / 32;
      f.lane = t % 32;
      getcontext (&f.ctx);
      f.ctx.uc_stack.ss_sp = stacks[t];
      f.ctx.uc_stack.ss_size = STACK;
      f.ctx.uc_link = &scheduler;
      makecontext (&f.ctx, fiber_main, 0);
    }
  int left = nthreads;
  while (left > 0)
    {
      bool progress = false;
      for (int k = 0; k < nthreads; k++)
        {
          Fiber &f = fibers[reverse ? nthreads - 1 - k : k];
          if (f.done || blocked (f))
            continue;
          f.wait = NONE;
          cur = &f;
          threadIdx = f.tid;
          swapcontext (&scheduler, &f.ctx);
          progress = true;
          if (f.done)
            left--;
        }
      if (!progress)
        fail ("deadlock: every live thread waits at a barrier the others never reach");
    }
}

} // namespace

void
__syncthreads (void)
{
  arrive (block_bar, BLOCK);
}

int
__syncthreads_or (int predicate)
{
  const int slot = block_bar.gen & 1;
  block_bar.any[slot] |= predicate != 0;
  arrive (block_bar, BLOCK);
  return block_bar.any[slot];
}

void
__syncwarp (unsigned)
{
  if (direct)
    fail ("__syncwarp in a kernel whose first block met no barrier");
  arrive (warps[cur->warp].bar, WARP);
}

double
pf_emu_shfl_xor (double v, int mask)
{
  if (direct)
    fail ("a warp shuffle in a kernel whose first block met no barrier");
  WarpState &w = warps[cur->warp];
  if (w.bar.live != 32)
    fail ("warp shuffle in a partial warp");
  w.slot[cur->lane] = v;
  arrive (w.bar, WARP);
  double r = w.slot[(cur->lane ^ mask) & 31];
  arrive (w.bar, WARP); /* nobody writes the slots again before all have read */
  return r;
}

void
pf_emu_note_smem_optin (const void *kernel, int bytes)
{
  smem_optin[kernel] = bytes;
}

void *
pf_emu_dynamic_smem (void)
{
  return dyn_smem.data ();
}

void
pf_emu_run_grid (const void *kernel, dim3 grid, dim3 block, size_t smem,
                 const std::function<void ()> &thread)
{
  gridDim = grid;
  blockDim = block;
  blockIdx = make_uint3 (0, 0, 0);
  size_t nthreads = (size_t) block.x * block.y * block.z;
  if (nthreads == 0 || nthreads > 1024 || block.z > 64)
    fail ("invalid block size");
  if (grid.x == 0 || grid.y == 0 || grid.z == 0 || grid.y > 65535 || grid.z > 65535)
    fail ("invalid grid size");
  if (smem > (227u << 10))
    fail ("too much dynamic shared memory");
  if (smem > (48u << 10) && (size_t) smem_optin[kernel] < smem)
    fail ("more than 48 KiB of dynamic shared memory without the opt-in (cudaFuncSetAttribute)");
  dyn_smem.assign (smem + 16, 0x7f); /* not zeroed on a GPU either */
  body = &thread;
  direct = barrier_free.count (kernel) > 0;
  met_barrier = false;
  for (unsigned z = 0; z < grid.z; z++)
    for (unsigned y = 0; y < grid.y; y++)
      for (unsigned x = 0; x < grid.x; x++)
        {
          blockIdx = make_uint3 (x, y, z);
          if (direct)
            run_block_direct ((int) nthreads);
          else
            {
              run_block ((int) nthreads);
              if (!met_barrier)
                {
                  barrier_free.insert (kernel);
                  direct = true;
                }
            }
        }
  direct = false;
}
