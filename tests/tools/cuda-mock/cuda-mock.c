/* cuda-mock.c — a call-tracing stand-in for the CUDA runtime, cuDNN and cuBLAS.
 *
 * Loaded with LD_PRELOAD in front of a pflow built with the CUDA backend, it answers every
 * cuda* / cudnn* / cublas* call the backend makes (and the hidden launch ABI of nvcc's host
 * stubs) without a GPU, and writes one line per call to the file named by PF_MOCK_TRACE, in a
 * canonical form so that the traces of two builds can be diffed (README.md).
 *
 * Memory is host memory (calloc), copies and memsets really happen; kernels and the library
 * compute calls do nothing but are recorded with their arguments. Nothing is computed: the
 * trace checks calls and arguments, not numbers. */
#define _GNU_SOURCE
#include <ctype.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cuda_runtime_api.h>
#include <cudnn.h>
#include <cublas_v2.h>

#define EXPORT __attribute__ ((visibility ("default")))

/* ==== state ================================================================================ */

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static FILE *trace;
static int trace_api; /* PF_MOCK_API=1: the API that was called as a trailing "# via" comment */

/* one buffer: device (cudaMalloc) or pinned host (cudaMallocHost); never returned to libc, so
 * that a pointer into a freed buffer stays recognisable */
typedef struct {
  uintptr_t base;
  size_t bytes;
  int id;
  char host;  /* cudaMallocHost */
  char freed;
} Alloc;
static Alloc *allocs; /* sorted by base */
static size_t n_allocs, cap_allocs;
static int next_buf = 1, next_host = 1;

/* kernels registered by the host stubs */
typedef struct {
  const void *stub;
  char *mangled;
  char *name;      /* demangled function name with template arguments */
  int nparams;     /* -1: unknown */
  int psize[32];   /* bytes of each parameter */
  char pkind[32];  /* 'p' pointer, 'i' int, 'u' unsigned, 'f' float, 'd' double, 'b' bool, 's' other */
  char ptype[32][64]; /* the type's name (structs) */
  int maxdyn;      /* cudaFuncAttributeMaxDynamicSharedMemorySize */
} Kernel;
static Kernel *kernels;
static size_t n_kernels, cap_kernels;

/* the hidden launch configuration stack (one per thread) */
typedef struct { dim3 grid, block; size_t shmem; void *stream; } CallConfig;
static __thread CallConfig cfg_stack[16];
static __thread int cfg_depth;

/* opaque objects */
/* the buffers a graph's nodes point into (a set of allocations: index 2 id + host) */
typedef struct { unsigned char *has; size_t n; } BufSet;
/* PF_MOCK_COMPUTE: the work a capture recorded, run at each launch of the graph */
typedef struct { void (*run) (void *); void *arg; } Op;
typedef struct { Op *op; size_t n, cap; } OpList;
struct CUstream_st { int id; int capturing; int capture_graph; int captured_nodes; BufSet bufs; OpList ops; };
struct CUevent_st { int id; };
struct CUgraph_st { int id; int nodes; BufSet bufs; OpList ops; };
struct CUgraphExec_st { int id; int nodes; BufSet bufs; OpList ops; };
static int next_stream = 1, next_event = 1, next_graph = 1, next_exec = 1;
static int active_captures;

struct cudnnContext { int id; cudaStream_t stream; };
struct cublasContext { int id; cudaStream_t stream; cublasMath_t math; void *ws; size_t ws_bytes; };
static int next_dnn = 1, next_blas = 1;

enum { D_TENSOR, D_FILTER, D_CONV };
typedef struct {
  int kind, id, set;
  cudnnDataType_t type;
  cudnnTensorFormat_t format;
  int nd, dim[8], stride[8]; /* tensor and filter */
  int nsp, pad[8], cstride[8], dil[8]; /* convolution */
  cudnnConvolutionMode_t mode;
  cudnnDataType_t compute;
  cudnnMathType_t math;
  int groups;
} Desc;
struct cudnnTensorStruct { Desc d; };
struct cudnnFilterStruct { Desc d; };
struct cudnnConvolutionStruct { Desc d; };
static int next_tdesc = 1, next_fdesc = 1, next_cdesc = 1;

static __thread int thread_id;
static int next_thread = 1;
/* PF_MOCK_COMPUTE=1: cuDNN's convolutions and cuBLAS's GEMMs compute their results on the
 * host (tests/tools/cuda-emu runs the hand-written kernels), see "compute" below */
static int compute_on;

static void
init_once (void)
{
  const char *path = getenv ("PF_MOCK_TRACE");
  if (path && *path)
    {
      trace = fopen (path, "w");
      if (!trace)
        {
          fprintf (stderr, "cuda-mock: cannot open %s\n", path);
          exit (99);
        }
      setvbuf (trace, NULL, _IOFBF, 1 << 20);
    }
  const char *api = getenv ("PF_MOCK_API");
  trace_api = api && *api == '1';
  const char *compute = getenv ("PF_MOCK_COMPUTE");
  compute_on = compute && *compute == '1';
}

static pthread_once_t once = PTHREAD_ONCE_INIT;

static void
fini (void)
{
  if (trace)
    fflush (trace);
}

__attribute__ ((constructor)) static void
mock_ctor (void)
{
  pthread_once (&once, init_once);
  atexit (fini);
}

/* ---- output -------------------------------------------------------------------------------- */
/* A line is assembled in a thread-local buffer, then written under the lock. */
static __thread char line[16384];
static __thread size_t line_len;
/* the buffers the current line points into, and the capturing stream it goes to */
static __thread int line_bufs[256];
static __thread int n_line_bufs;
static __thread struct CUstream_st *line_capture;

static void
add (const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  int n = vsnprintf (line + line_len, sizeof line - line_len, fmt, ap);
  va_end (ap);
  if (n > 0)
    line_len = line_len + (size_t) n < sizeof line ? line_len + (size_t) n : sizeof line - 1;
}

static void
begin (const char *name)
{
  pthread_once (&once, init_once);
  if (!thread_id)
    {
      pthread_mutex_lock (&lock);
      thread_id = next_thread++;
      pthread_mutex_unlock (&lock);
    }
  line_len = 0;
  line[0] = 0;
  n_line_bufs = 0;
  line_capture = NULL;
  add ("%s", name);
}

static void
bufset_add (BufSet *b, int key)
{
  if ((size_t) key >= b->n)
    {
      size_t n = b->n ? b->n : 256;
      while (n <= (size_t) key)
        n *= 2;
      b->has = realloc (b->has, n);
      memset (b->has + b->n, 0, n - b->n);
      b->n = n;
    }
  b->has[key] = 1;
}

static void
bufset_copy (BufSet *to, const BufSet *from)
{
  to->n = from->n;
  to->has = from->n ? malloc (from->n) : NULL;
  if (from->n)
    memcpy (to->has, from->has, from->n);
}

/* ends the line; `capt` marks a stream-ordered call that goes into a graph being captured */
static void
end_capt (int capt, const char *api)
{
  pthread_mutex_lock (&lock);
  if (capt && line_capture)
    for (int i = 0; i < n_line_bufs; i++)
      bufset_add (&line_capture->bufs, line_bufs[i]);
  if (trace)
    {
      if (capt)
        fputs ("cap| ", trace);
      fputs (line, trace);
      if (thread_id != 1)
        fprintf (trace, " @T%d", thread_id);
      if (trace_api && api)
        fprintf (trace, "  # via %s", api);
      fputc ('\n', trace);
      if (getenv ("PF_MOCK_FLUSH"))
        fflush (trace);
    }
  pthread_mutex_unlock (&lock);
}

static void
end (void)
{
  end_capt (0, NULL);
}

/* ---- allocations ------------------------------------------------------------------------ */
static Alloc *
find_alloc_locked (uintptr_t p)
{
  size_t lo = 0, hi = n_allocs;
  while (lo < hi)
    {
      size_t mid = (lo + hi) / 2;
      if (allocs[mid].base <= p)
        lo = mid + 1;
      else
        hi = mid;
    }
  if (lo == 0)
    return NULL;
  Alloc *a = &allocs[lo - 1];
  /* one past the end belongs to nobody (a zero-size end pointer is printed as such below) */
  if (p < a->base + (a->bytes ? a->bytes : 1))
    return a;
  return NULL;
}

static Alloc *
find_alloc (const void *p)
{
  pthread_mutex_lock (&lock);
  Alloc *a = find_alloc_locked ((uintptr_t) p);
  pthread_mutex_unlock (&lock);
  return a;
}

static Alloc *
new_alloc (size_t bytes, int host, void **out)
{
  /* calloc: reads are defined (zeros); large blocks are mmap'ed and cost nothing until touched */
  void *p = calloc (1, bytes ? bytes : 1);
  if (!p)
    return NULL;
  pthread_mutex_lock (&lock);
  if (n_allocs == cap_allocs)
    {
      cap_allocs = cap_allocs ? 2 * cap_allocs : 1024;
      allocs = realloc (allocs, cap_allocs * sizeof *allocs);
    }
  size_t i = n_allocs;
  while (i > 0 && allocs[i - 1].base > (uintptr_t) p)
    i--;
  memmove (&allocs[i + 1], &allocs[i], (n_allocs - i) * sizeof *allocs);
  n_allocs++;
  Alloc *a = &allocs[i];
  a->base = (uintptr_t) p;
  a->bytes = bytes;
  a->host = (char) host;
  a->freed = 0;
  a->id = host ? next_host++ : next_buf++;
  pthread_mutex_unlock (&lock);
  *out = p;
  return a;
}

/* "buf12+256", "host3+0", "NULL", "pageable" (plain host memory), "freed:buf4+0" */
static void
add_ptr (const void *p)
{
  if (!p)
    {
      add ("NULL");
      return;
    }
  Alloc *a = find_alloc (p);
  if (!a)
    {
      add ("pageable");
      return;
    }
  add ("%s%s%d+%zu", a->freed ? "!FREED:" : "", a->host ? "host" : "buf", a->id,
       (size_t) ((uintptr_t) p - a->base));
  if (n_line_bufs < 256)
    line_bufs[n_line_bufs++] = 2 * a->id + a->host;
}

/* flags an access of `bytes` at p that leaves its buffer */
static void
check_extent (const char *what, const void *p, size_t bytes)
{
  if (!p || !bytes)
    return;
  Alloc *a = find_alloc (p);
  if (!a)
    return; /* host memory the mock does not know */
  size_t off = (uintptr_t) p - a->base;
  if (off + bytes > a->bytes)
    add (" !OOB(%s: %zu bytes at +%zu of %s%d, %zu bytes)", what, bytes, off,
         a->host ? "host" : "buf", a->id, a->bytes);
  if (a->freed)
    add (" !USE-AFTER-FREE(%s)", what);
}

/* bytes from p to the end of its buffer (SIZE_MAX for memory the mock does not know): copies
 * and memsets are clamped to it, so that an out-of-bounds call is reported, not executed */
static size_t
avail (const void *p)
{
  Alloc *a = p ? find_alloc (p) : NULL;
  return a ? a->bytes - (size_t) ((uintptr_t) p - a->base) : SIZE_MAX;
}

static size_t
min3 (size_t a, size_t b, size_t c)
{
  size_t m = a < b ? a : b;
  return m < c ? m : c;
}

/* flags two operands of one call that share bytes (an output over an input or the workspace:
 * cuDNN and cuBLAS compute out of place) */
static void
check_overlap (const char *an, const void *a, size_t abytes, const char *bn, const void *b,
               size_t bbytes)
{
  if (!a || !b || !abytes || !bbytes)
    return;
  uintptr_t a0 = (uintptr_t) a, b0 = (uintptr_t) b;
  if (a0 < b0 + bbytes && b0 < a0 + abytes)
    add (" !OVERLAP(%s,%s)", an, bn);
}

/* ---- streams and capture -------------------------------------------------------------------- */
static void
add_stream (cudaStream_t s)
{
  if (!s)
    add ("s0");
  else if (s == cudaStreamLegacy)
    add ("sLegacy");
  else if (s == cudaStreamPerThread)
    add ("sPerThread");
  else
    add ("s%d", s->id);
}

static int
is_capturing (cudaStream_t s)
{
  return s && s != cudaStreamLegacy && s != cudaStreamPerThread && s->capturing;
}

/* a stream-ordered call on `s`: returns whether it is captured; flags one on another stream
 * while a capture is active (the NULL stream is illegal then; an uncaptured stream runs at
 * once, outside the graph) */
static int
stream_op (cudaStream_t s)
{
  if (is_capturing (s))
    {
      s->captured_nodes++;
      line_capture = s;
      return 1;
    }
  if (active_captures)
    add (" !OUTSIDE-CAPTURE(stream not captured while a capture is active)");
  return 0;
}

static void
unsafe_in_capture (void)
{
  if (active_captures)
    add (" !UNSAFE-IN-CAPTURE");
}

static void
oplist_add (OpList *l, void (*run) (void *), void *arg)
{
  if (l->n == l->cap)
    {
      l->cap = l->cap ? 2 * l->cap : 64;
      l->op = realloc (l->op, l->cap * sizeof *l->op);
    }
  l->op[l->n++] = (Op) { run, arg };
}

/* PF_MOCK_COMPUTE: work on a capturing stream is recorded for the graph (a captured stream
 * does not run it), other work runs now; `arg` is the op's (heap) copy of its arguments,
 * kept for the graph's launches. Returns whether it was recorded. Exported for the kernel
 * launches of tests/tools/cuda-emu. */
EXPORT int
pf_mock_defer (cudaStream_t s, void (*run) (void *), void *arg)
{
  if (!compute_on || !is_capturing (s))
    return 0;
  pthread_mutex_lock (&lock);
  oplist_add (&s->ops, run, arg);
  pthread_mutex_unlock (&lock);
  return 1;
}

static void
run_or_defer (cudaStream_t s, void (*run) (void *), void *arg)
{
  if (!pf_mock_defer (s, run, arg))
    {
      run (arg);
      free (arg);
    }
}

/* ==== kernels ================================================================================ */

/* A small Itanium demangler for kernel signatures: the name, template arguments and the kind
 * of each parameter (enough to print it). */
typedef struct { char kind; int size; char name[64]; } PType;
typedef struct {
  const char *s;
  PType subs[64];
  int nsubs;
  PType targs[16];
  int ntargs;
  int ok;
} Demangle;

static void
sub_push (Demangle *d, const PType *t)
{
  if (d->nsubs < 64)
    d->subs[d->nsubs++] = *t;
}

static int
source_name (Demangle *d, char *out, size_t outsz)
{
  if (!isdigit ((unsigned char) *d->s))
    return 0;
  int n = 0;
  while (isdigit ((unsigned char) *d->s))
    n = n * 10 + (*d->s++ - '0');
  if ((int) strlen (d->s) < n)
    return 0;
  snprintf (out, outsz, "%.*s", n, d->s);
  d->s += n;
  return 1;
}

static int parse_type (Demangle *d, PType *t);

static int
seq_id (Demangle *d, char term)
{
  /* "_" -> 0, "<base36>_" -> n + 1 */
  if (*d->s == term)
    {
      d->s++;
      return 0;
    }
  int n = 0;
  while (*d->s && *d->s != term)
    {
      char c = *d->s++;
      n = n * 36 + (isdigit ((unsigned char) c) ? c - '0' : c - 'A' + 10);
    }
  if (*d->s != term)
    return -1;
  d->s++;
  return n + 1;
}

static int
parse_template_args (Demangle *d, char *text, size_t textsz)
{
  /* after 'I', up to and including 'E' */
  size_t len = strlen (text);
  snprintf (text + len, textsz - len, "<");
  int first = 1;
  while (*d->s && *d->s != 'E')
    {
      len = strlen (text);
      if (!first)
        snprintf (text + len, textsz - len, ",");
      first = 0;
      len = strlen (text);
      if (*d->s == 'L')
        {
          /* literal: L <type> <value> E */
          d->s++;
          PType lt;
          if (!parse_type (d, &lt))
            return 0;
          const char *v = d->s;
          while (*d->s && *d->s != 'E')
            d->s++;
          if (!*d->s)
            return 0;
          if (lt.kind == 'b')
            snprintf (text + len, textsz - len, "%s", *v == '1' ? "true" : "false");
          else
            snprintf (text + len, textsz - len, "%.*s", (int) (d->s - v), v);
          d->s++;
          PType lit = { 'i', 4, "" };
          if (d->ntargs < 16)
            d->targs[d->ntargs++] = lit;
        }
      else
        {
          PType at;
          if (!parse_type (d, &at))
            return 0;
          snprintf (text + len, textsz - len, "%s", at.name[0] ? at.name : "?");
          if (d->ntargs < 16)
            d->targs[d->ntargs++] = at;
        }
    }
  if (*d->s != 'E')
    return 0;
  d->s++;
  len = strlen (text);
  snprintf (text + len, textsz - len, ">");
  return 1;
}

static int
parse_type (Demangle *d, PType *t)
{
  memset (t, 0, sizeof *t);
  char c = *d->s;
  switch (c)
    {
    case 'K': case 'V': case 'r':
      {
        d->s++;
        PType inner;
        if (!parse_type (d, &inner))
          return 0;
        *t = inner;
        sub_push (d, t); /* a cv-qualified type is a substitution candidate */
        return 1;
      }
    case 'P': case 'R': case 'O':
      {
        d->s++;
        PType inner;
        if (!parse_type (d, &inner))
          return 0;
        t->kind = 'p';
        t->size = 8;
        snprintf (t->name, sizeof t->name, "%.60s*", inner.name);
        sub_push (d, t);
        return 1;
      }
    case 'S':
      {
        d->s++;
        int i = seq_id (d, '_');
        if (i < 0 || i >= d->nsubs)
          return 0;
        *t = d->subs[i];
        return 1;
      }
    case 'T':
      {
        d->s++;
        int i = seq_id (d, '_');
        if (i < 0 || i >= d->ntargs)
          return 0;
        *t = d->targs[i];
        sub_push (d, t);
        return 1;
      }
    case 'N':
      {
        d->s++;
        char part[64] = "";
        while (*d->s && *d->s != 'E')
          {
            if (!source_name (d, part, sizeof part))
              return 0;
            PType pre = { 's', 0, "" };
            snprintf (pre.name, sizeof pre.name, "%s", part);
            sub_push (d, &pre);
          }
        if (*d->s != 'E')
          return 0;
        d->s++;
        t->kind = 's';
        snprintf (t->name, sizeof t->name, "%s", part);
        return 1;
      }
    default:
      break;
    }
  if (isdigit ((unsigned char) c))
    {
      t->kind = 's';
      if (!source_name (d, t->name, sizeof t->name))
        return 0;
      sub_push (d, t);
      if (*d->s == 'I')
        {
          d->s++;
          char ta[64] = "";
          if (!parse_template_args (d, ta, sizeof ta))
            return 0;
          sub_push (d, t);
        }
      return 1;
    }
  d->s++;
  static const struct { char c; char kind; int size; const char *name; } builtin[] = {
    { 'v', 'v', 0, "void" }, { 'b', 'b', 1, "bool" }, { 'c', 'i', 1, "char" },
    { 'a', 'i', 1, "schar" }, { 'h', 'u', 1, "uchar" }, { 's', 'i', 2, "short" },
    { 't', 'u', 2, "ushort" }, { 'i', 'i', 4, "int" }, { 'j', 'u', 4, "uint" },
    { 'l', 'i', 8, "long" }, { 'm', 'u', 8, "ulong" }, { 'x', 'i', 8, "llong" },
    { 'y', 'u', 8, "ullong" }, { 'f', 'f', 4, "float" }, { 'd', 'd', 8, "double" },
  };
  for (size_t i = 0; i < sizeof builtin / sizeof builtin[0]; i++)
    if (builtin[i].c == c)
      {
        t->kind = builtin[i].kind;
        t->size = builtin[i].size;
        snprintf (t->name, sizeof t->name, "%s", builtin[i].name);
        return 1;
      }
  return 0;
}

static void
demangle_kernel (Kernel *k)
{
  Demangle d;
  memset (&d, 0, sizeof d);
  d.s = k->mangled;
  char name[256] = "";
  k->nparams = -1;
  if (strncmp (d.s, "_Z", 2) != 0)
    {
      k->name = strdup (k->mangled);
      return;
    }
  d.s += 2;
  if (*d.s == 'L')
    d.s++;
  int is_template = 0;
  if (*d.s == 'N')
    {
      PType nt;
      if (!parse_type (&d, &nt))
        goto fail;
      snprintf (name, sizeof name, "%s", nt.name);
    }
  else if (!source_name (&d, name, sizeof name))
    goto fail;
  if (*d.s == 'I')
    {
      PType tn = { 's', 0, "" };
      snprintf (tn.name, sizeof tn.name, "%s", name);
      sub_push (&d, &tn); /* the template's name */
      d.s++;
      if (!parse_template_args (&d, name, sizeof name))
        goto fail;
      is_template = 1;
    }
  if (is_template)
    {
      PType ret;
      if (!parse_type (&d, &ret))
        goto fail;
    }
  k->name = strdup (name);
  int n = 0;
  while (*d.s && n < 32)
    {
      PType p;
      if (!parse_type (&d, &p))
        goto fail;
      if (p.kind == 'v' && n == 0 && !*d.s)
        break; /* f(void) */
      k->pkind[n] = p.kind;
      k->psize[n] = p.size; /* 0 for a struct: from PF_MOCK_KPARAMS if given */
      snprintf (k->ptype[n], sizeof k->ptype[n], "%s", p.name);
      n++;
    }
  k->nparams = n;
  return;
fail:
  if (!k->name)
    k->name = strdup (name[0] ? name : k->mangled);
  k->nparams = -1;
}

/* PF_MOCK_KPARAMS: lines "mangled size0 size1 ..." (the .param sizes of the PTX .entry), for the
 * sizes of the parameters that are structs passed by value */
static char *kparams_text;

static void
kparams_apply (Kernel *k)
{
  if (!kparams_text)
    {
      const char *path = getenv ("PF_MOCK_KPARAMS");
      if (!path || !*path)
        return;
      FILE *f = fopen (path, "r");
      if (!f)
        return;
      fseek (f, 0, SEEK_END);
      long len = ftell (f);
      fseek (f, 0, SEEK_SET);
      kparams_text = calloc (1, (size_t) len + 2);
      if (fread (kparams_text, 1, (size_t) len, f) != (size_t) len)
        kparams_text[0] = 0;
      fclose (f);
    }
  /* internal-linkage kernels: "_ZL" on the host, "_Z" in the PTX */
  char want[512];
  if (strncmp (k->mangled, "_ZL", 3) == 0)
    snprintf (want, sizeof want, "_Z%s", k->mangled + 3);
  else
    snprintf (want, sizeof want, "%s", k->mangled);
  size_t wl = strlen (want);
  for (char *l = kparams_text; l && *l;)
    {
      char *nl = strchr (l, '\n');
      if (strncmp (l, want, wl) == 0 && (l[wl] == ' ' || l[wl] == '\n' || l[wl] == 0))
        {
          char *q = l + wl;
          int n = 0, sizes[32];
          while (*q == ' ' && n < 32)
            sizes[n++] = (int) strtol (q, &q, 10);
          if (k->nparams < 0)
            {
              k->nparams = n;
              for (int i = 0; i < n; i++)
                k->pkind[i] = 's';
            }
          if (n == k->nparams)
            for (int i = 0; i < n; i++)
              k->psize[i] = sizes[i];
          return;
        }
      l = nl ? nl + 1 : NULL;
    }
}

static Kernel *
kernel_of (const void *stub)
{
  pthread_mutex_lock (&lock);
  Kernel *r = NULL;
  for (size_t i = 0; i < n_kernels; i++)
    if (kernels[i].stub == stub)
      {
        r = &kernels[i];
        break;
      }
  pthread_mutex_unlock (&lock);
  return r;
}

static void
add_kernel_name (const void *stub)
{
  Kernel *k = kernel_of (stub);
  add ("%s", k ? k->name : "?unregistered");
}

/* Struct arguments of the project's kernels whose layout the mock knows: printed field by
 * field, arrays only up to their used length (the rest is uninitialised stack memory the
 * kernel never reads, which would make every trace differ). Printed without the type's name,
 * so that renaming a struct (SimConst -> PfSimConst) is no difference. Fields: name=TYPE or
 * name=TYPE[N] or name=TYPE[N:COUNTFIELD]; TYPE i32 u32 f32 u64 f64; natural alignment. A
 * struct whose computed size differs from the PTX's is printed as raw words instead. */
static const struct { const char *name; const char *layout; } struct_layouts[] = {
  { "PermWalk", "ndim=i32 out_shape=i32[6:ndim] in_stride=u64[6:ndim]" },
  { "PermTiles", "na=i32 nb=i32 xs_b=u64 ys_a=u64 nrest=i32 rest_shape=i32[4:nrest] "
                 "rest_xs=u64[4:nrest] rest_ys=u64[4:nrest] rest_total=u64" },
  { "SsimGeom", "h=i32 w=i32 ph=i32 pw=i32 oh=i32 ow=i32 map_tx=i32 map_tiles=i32 img_tx=i32 "
                "img_tiles=i32 c1=f64 c2=f64 k=f64 gv=f32[11] gh=f32[11]" },
  { "SimConst", "k0=u32 k1=u32 frac_pi0=f32 frac_neutral_cum=f32 two_eta_max=f32 eta_max=f32 "
                "charged_range=f32 bfield=f32 sig_trk=f32 sig_emc=f32 sig_hcal=f32 nonlin=f32 "
                "trk_thr=f32 emc_thr=f32 hcal_thr=f32 sampling=f32 leak=f32 had_frac=f32 "
                "eta_w=f32 eta_inv_w=f32 phi_w=f32 phi_inv_w=f32 inv_two_pi=f32 wrap=i32 "
                "size=i32 n_particles=i32" },
  { "PfSimConst", "k0=u32 k1=u32 frac_pi0=f32 frac_neutral_cum=f32 two_eta_max=f32 eta_max=f32 "
                  "charged_range=f32 bfield=f32 sig_trk=f32 sig_emc=f32 sig_hcal=f32 nonlin=f32 "
                  "trk_thr=f32 emc_thr=f32 hcal_thr=f32 sampling=f32 leak=f32 had_frac=f32 "
                  "eta_w=f32 eta_inv_w=f32 phi_w=f32 phi_inv_w=f32 inv_two_pi=f32 wrap=i32 "
                  "size=i32 n_particles=i32" },
};

typedef struct { char name[32]; char type[4]; int n; char count[32]; size_t off, esz; } Field;

static int
parse_layout (const char *layout, Field *f, int max, size_t *total)
{
  int nf = 0;
  size_t off = 0, align = 1;
  const char *p = layout;
  while (*p && nf < max)
    {
      while (*p == ' ')
        p++;
      if (!*p)
        break;
      Field *x = &f[nf++];
      memset (x, 0, sizeof *x);
      const char *eq = strchr (p, '=');
      if (!eq)
        return -1;
      snprintf (x->name, sizeof x->name, "%.*s", (int) (eq - p), p);
      p = eq + 1;
      snprintf (x->type, sizeof x->type, "%.3s", p);
      p += 3;
      x->n = 1;
      if (*p == '[')
        {
          x->n = (int) strtol (p + 1, (char **) &p, 10);
          if (*p == ':')
            {
              const char *e = strchr (p, ']');
              if (!e)
                return -1;
              snprintf (x->count, sizeof x->count, "%.*s", (int) (e - p - 1), p + 1);
              p = e;
            }
          if (*p != ']')
            return -1;
          p++;
        }
      x->esz = x->type[1] == '6' ? 8 : 4;
      off = (off + x->esz - 1) & ~(x->esz - 1);
      x->off = off;
      off += x->esz * (size_t) x->n;
      if (x->esz > align)
        align = x->esz;
    }
  *total = (off + align - 1) & ~(align - 1);
  return nf;
}

static void
add_field_value (const Field *x, const unsigned char *b)
{
  if (!strcmp (x->type, "i32")) { int32_t v; memcpy (&v, b, 4); add ("%d", v); }
  else if (!strcmp (x->type, "u32")) { uint32_t v; memcpy (&v, b, 4); add ("%u", v); }
  else if (!strcmp (x->type, "f32")) { float v; memcpy (&v, b, 4); add ("%.9g", v); }
  else if (!strcmp (x->type, "u64")) { uint64_t v; memcpy (&v, b, 8); add ("%" PRIu64, v); }
  else { double v; memcpy (&v, b, 8); add ("%.17g", v); }
}

/* prints a known struct; returns 0 when it does not know it or the size disagrees */
static int
add_struct (const char *tname, const unsigned char *b, int size)
{
  for (size_t i = 0; i < sizeof struct_layouts / sizeof struct_layouts[0]; i++)
    {
      if (strcmp (struct_layouts[i].name, tname) != 0)
        continue;
      Field f[40];
      size_t total;
      int nf = parse_layout (struct_layouts[i].layout, f, 40, &total);
      if (nf < 0 || (int) total != size)
        return 0;
      add ("{");
      for (int j = 0; j < nf; j++)
        {
          int n = f[j].n;
          if (f[j].count[0])
            for (int c = 0; c < j; c++)
              if (!strcmp (f[c].name, f[j].count))
                {
                  int32_t v;
                  memcpy (&v, b + f[c].off, 4);
                  n = v < 0 ? 0 : v < n ? v : n;
                }
          add (j ? " %s=" : "%s=", f[j].name);
          if (f[j].n > 1)
            add ("[");
          for (int e = 0; e < n; e++)
            {
              if (e)
                add (",");
              add_field_value (&f[j], b + f[j].off + (size_t) e * f[j].esz);
            }
          if (f[j].n > 1)
            add ("]");
        }
      add ("}");
      return 1;
    }
  return 0;
}

static void
add_kernel_args (Kernel *k, void **args)
{
  add ("(");
  if (!k || k->nparams < 0)
    {
      add ("?)");
      return;
    }
  for (int i = 0; i < k->nparams; i++)
    {
      if (i)
        add (", ");
      const void *a = args[i];
      int sz = k->psize[i];
      switch (k->pkind[i])
        {
        case 'p':
          add_ptr (*(void *const *) a);
          break;
        case 'i':
          if (sz == 8) add ("%" PRId64, *(const int64_t *) a);
          else if (sz == 4) add ("%" PRId32, *(const int32_t *) a);
          else if (sz == 2) add ("%d", *(const int16_t *) a);
          else add ("%d", *(const int8_t *) a);
          break;
        case 'u':
          if (sz == 8) add ("%" PRIu64, *(const uint64_t *) a);
          else if (sz == 4) add ("%" PRIu32, *(const uint32_t *) a);
          else if (sz == 2) add ("%u", *(const uint16_t *) a);
          else add ("%u", *(const uint8_t *) a);
          break;
        case 'f':
          add ("%.9gf", *(const float *) a);
          break;
        case 'd':
          add ("%.17g", *(const double *) a);
          break;
        case 'b':
          add ("%s", *(const unsigned char *) a ? "true" : "false");
          break;
        default:
          /* a struct by value: its bytes as 32-bit words (padding included) */
          if (sz <= 0)
            add ("{?}");
          else if (add_struct (k->ptype[i], a, sz))
            ;
          else
            {
              add ("{");
              const unsigned char *b = a;
              for (int o = 0; o < sz; o += 4)
                {
                  uint32_t w = 0;
                  memcpy (&w, b + o, (size_t) (sz - o < 4 ? sz - o : 4));
                  add (o ? " %08x" : "%08x", w);
                }
              add ("}");
            }
        }
    }
  add (")");
}

EXPORT void **
__cudaRegisterFatBinary (void *fatCubin)
{
  pthread_once (&once, init_once);
  static int handles;
  void **h = calloc (1, sizeof (void *) * 2);
  h[0] = fatCubin;
  h[1] = (void *) (intptr_t) ++handles;
  return h;
}

EXPORT void
__cudaRegisterFatBinaryEnd (void **h)
{
}

EXPORT void
__cudaUnregisterFatBinary (void **h)
{
}

EXPORT void
__cudaRegisterFunction (void **h, const char *hostFun, char *deviceFun, const char *deviceName,
                        int thread_limit, uint3 *tid, uint3 *bid, dim3 *bDim, dim3 *gDim,
                        int *wSize)
{
  pthread_once (&once, init_once);
  pthread_mutex_lock (&lock);
  if (n_kernels == cap_kernels)
    {
      cap_kernels = cap_kernels ? 2 * cap_kernels : 256;
      kernels = realloc (kernels, cap_kernels * sizeof *kernels);
    }
  Kernel *k = &kernels[n_kernels++];
  memset (k, 0, sizeof *k);
  k->stub = hostFun;
  k->mangled = strdup (deviceName);
  pthread_mutex_unlock (&lock);
  demangle_kernel (k);
  kparams_apply (k);
}

EXPORT void
__cudaRegisterVar (void **h, char *hostVar, char *deviceAddress, const char *deviceName, int ext,
                   size_t size, int constant, int global)
{
}

EXPORT void
__cudaRegisterManagedVar (void **h, void **hostVarPtrAddress, char *deviceAddress,
                          const char *deviceName, int ext, size_t size, int constant, int global)
{
}

EXPORT char
__cudaInitModule (void **h)
{
  return 1;
}

EXPORT unsigned
__cudaPushCallConfiguration (dim3 grid, dim3 block, size_t shmem, struct CUstream_st *stream)
{
  if (cfg_depth < 16)
    {
      CallConfig *c = &cfg_stack[cfg_depth++];
      c->grid = grid;
      c->block = block;
      c->shmem = shmem;
      c->stream = stream;
    }
  return 0;
}

EXPORT cudaError_t
__cudaPopCallConfiguration (dim3 *grid, dim3 *block, size_t *shmem, void *stream)
{
  if (cfg_depth <= 0)
    return cudaErrorMissingConfiguration;
  CallConfig *c = &cfg_stack[--cfg_depth];
  *grid = c->grid;
  *block = c->block;
  *shmem = c->shmem;
  *(void **) stream = c->stream;
  return cudaSuccess;
}

/* the kernel handle is the stub itself */
EXPORT cudaError_t
__cudaGetKernel (cudaKernel_t *kernel, const void *fun)
{
  *kernel = (cudaKernel_t) fun;
  return cudaSuccess;
}

static cudaError_t
launch (const char *api, const void *stub, dim3 grid, dim3 block, void **args, size_t shmem,
        cudaStream_t stream)
{
  begin ("launch ");
  Kernel *k = kernel_of (stub);
  add_kernel_name (stub);
  add (" grid=(%u,%u,%u) block=(%u,%u,%u) smem=%zu stream=", grid.x, grid.y, grid.z, block.x,
       block.y, block.z, shmem);
  add_stream (stream);
  add (" ");
  add_kernel_args (k, args);
  if (k && shmem > 48 * 1024 && (size_t) k->maxdyn < shmem)
    add (" !SMEM(%zu bytes of dynamic shared memory, opt-in %d)", shmem, k->maxdyn);
  if (grid.x == 0 || grid.y == 0 || grid.z == 0 || block.x * block.y * block.z == 0
      || block.x * block.y * block.z > 1024)
    add (" !BAD-CONFIG");
  int c = stream_op (stream);
  end_capt (c, api);
  return cudaSuccess;
}

EXPORT cudaError_t
__cudaLaunchKernel (cudaKernel_t kernel, dim3 grid, dim3 block, void **args, size_t shmem,
                    cudaStream_t stream)
{
  return launch ("__cudaLaunchKernel", kernel, grid, block, args, shmem, stream);
}

EXPORT cudaError_t
__cudaLaunchKernel_ptsz (cudaKernel_t kernel, dim3 grid, dim3 block, void **args, size_t shmem,
                         cudaStream_t stream)
{
  return launch ("__cudaLaunchKernel_ptsz", kernel, grid, block, args, shmem, stream);
}

EXPORT cudaError_t
cudaLaunchKernel (const void *func, dim3 grid, dim3 block, void **args, size_t shmem,
                  cudaStream_t stream)
{
  return launch ("cudaLaunchKernel", func, grid, block, args, shmem, stream);
}

EXPORT cudaError_t
cudaFuncSetAttribute (const void *func, enum cudaFuncAttribute attr, int value)
{
  begin ("cudaFuncSetAttribute ");
  add_kernel_name (func);
  add (" attr=%d value=%d", (int) attr, value);
  Kernel *k = kernel_of (func);
  if (k && attr == cudaFuncAttributeMaxDynamicSharedMemorySize)
    k->maxdyn = value;
  if (attr == cudaFuncAttributeMaxDynamicSharedMemorySize && value > 232448 - 1024)
    add (" !TOO-BIG(opt-in max 227 KiB)");
  end ();
  return cudaSuccess;
}

EXPORT cudaError_t
cudaOccupancyMaxActiveBlocksPerMultiprocessorWithFlags (int *numBlocks, const void *func,
                                                        int blockSize, size_t dyn, unsigned flags)
{
  /* a plausible H100 answer: threads, shared memory (228 KiB per SM, 1 KiB reserved per
   * block) and 32 blocks per SM limit the count */
  int by_threads = blockSize > 0 ? 2048 / blockSize : 0;
  int by_smem = (int) (233472 / (dyn + 1024));
  int n = by_threads < by_smem ? by_threads : by_smem;
  if (n > 32)
    n = 32;
  *numBlocks = n;
  begin ("cudaOccupancyMaxActiveBlocksPerMultiprocessor ");
  add_kernel_name (func);
  add (" block=%d dynsmem=%zu flags=%u -> %d", blockSize, dyn, flags, n);
  end ();
  return cudaSuccess;
}

EXPORT cudaError_t
cudaOccupancyMaxActiveBlocksPerMultiprocessor (int *numBlocks, const void *func, int blockSize,
                                               size_t dyn)
{
  return cudaOccupancyMaxActiveBlocksPerMultiprocessorWithFlags (numBlocks, func, blockSize, dyn, 0);
}

/* ==== runtime: device ========================================================================= */

#define MOCK_SMS mock_sms ()
/* 132 as an H100; PF_MOCK_SMS=N makes the backend size its grids for a smaller device (the
 * emulated kernels of tests/tools/cuda-emu run one block after another) */
static int
mock_sms (void)
{
  const char *e = getenv ("PF_MOCK_SMS");
  int n = e ? atoi (e) : 0;
  return n > 0 ? n : 132;
}
#define MOCK_MEM ((size_t) 80 << 30)

EXPORT cudaError_t
cudaGetDeviceCount (int *count)
{
  *count = 1;
  begin ("cudaGetDeviceCount -> 1");
  end ();
  return cudaSuccess;
}

EXPORT cudaError_t
cudaSetDevice (int device)
{
  begin ("cudaSetDevice ");
  add ("%d", device);
  end ();
  return device == 0 ? cudaSuccess : cudaErrorInvalidDevice;
}

EXPORT cudaError_t
cudaGetDevice (int *device)
{
  *device = 0;
  return cudaSuccess;
}

EXPORT cudaError_t
cudaGetDeviceProperties (struct cudaDeviceProp *p, int device)
{
  memset (p, 0, sizeof *p);
  snprintf (p->name, sizeof p->name, "Mock H100");
  p->totalGlobalMem = MOCK_MEM;
  p->sharedMemPerBlock = 49152;
  p->regsPerBlock = 65536;
  p->warpSize = 32;
  p->memPitch = (size_t) 2147483647;
  p->maxThreadsPerBlock = 1024;
  p->maxThreadsDim[0] = 1024; p->maxThreadsDim[1] = 1024; p->maxThreadsDim[2] = 64;
  p->maxGridSize[0] = 2147483647; p->maxGridSize[1] = 65535; p->maxGridSize[2] = 65535;
  p->totalConstMem = 65536;
  p->major = 9;
  p->minor = 0;
  p->textureAlignment = 512;
  p->texturePitchAlignment = 32;
  p->multiProcessorCount = MOCK_SMS;
  p->canMapHostMemory = 1;
  p->concurrentKernels = 1;
  p->ECCEnabled = 1;
  p->asyncEngineCount = 3;
  p->unifiedAddressing = 1;
  p->memoryBusWidth = 5120;
  p->l2CacheSize = 52428800;
  p->persistingL2CacheMaxSize = 32505856;
  p->maxThreadsPerMultiProcessor = 2048;
  p->streamPrioritiesSupported = 1;
  p->globalL1CacheSupported = 1;
  p->localL1CacheSupported = 1;
  p->sharedMemPerMultiprocessor = 233472;
  p->regsPerMultiprocessor = 65536;
  p->managedMemory = 1;
  p->computePreemptionSupported = 1;
  p->cooperativeLaunch = 1;
  p->sharedMemPerBlockOptin = 232448;
  p->maxBlocksPerMultiProcessor = 32;
  p->reservedSharedMemPerBlock = 1024;
  p->memoryPoolsSupported = 1;
  p->clusterLaunch = 1;
  begin ("cudaGetDeviceProperties ");
  add ("%d", device);
  end ();
  return device == 0 ? cudaSuccess : cudaErrorInvalidDevice;
}

EXPORT cudaError_t
cudaDeviceGetAttribute (int *value, enum cudaDeviceAttr attr, int device)
{
  int v = 0;
  switch (attr)
    {
    case cudaDevAttrMaxSharedMemoryPerBlockOptin: v = 232448; break;
    case cudaDevAttrMaxSharedMemoryPerBlock: v = 49152; break;
    case cudaDevAttrMaxSharedMemoryPerMultiprocessor: v = 233472; break;
    case cudaDevAttrMultiProcessorCount: v = MOCK_SMS; break;
    case cudaDevAttrComputeCapabilityMajor: v = 9; break;
    case cudaDevAttrComputeCapabilityMinor: v = 0; break;
    case cudaDevAttrMaxThreadsPerBlock: v = 1024; break;
    case cudaDevAttrMaxThreadsPerMultiProcessor: v = 2048; break;
    case cudaDevAttrWarpSize: v = 32; break;
    case cudaDevAttrL2CacheSize: v = 52428800; break;
    case cudaDevAttrMaxRegistersPerBlock: v = 65536; break;
    default: v = 0;
    }
  *value = v;
  begin ("cudaDeviceGetAttribute ");
  add ("attr=%d device=%d -> %d", (int) attr, device, v);
  end ();
  return cudaSuccess;
}

EXPORT cudaError_t
cudaDriverGetVersion (int *v)
{
  *v = CUDART_VERSION;
  begin ("cudaDriverGetVersion ");
  add ("-> %d", *v);
  end ();
  return cudaSuccess;
}

EXPORT cudaError_t
cudaRuntimeGetVersion (int *v)
{
  *v = CUDART_VERSION;
  begin ("cudaRuntimeGetVersion ");
  add ("-> %d", *v);
  end ();
  return cudaSuccess;
}

EXPORT cudaError_t
cudaDeviceSynchronize (void)
{
  begin ("cudaDeviceSynchronize");
  unsafe_in_capture ();
  end ();
  return cudaSuccess;
}

EXPORT cudaError_t
cudaMemGetInfo (size_t *free_, size_t *total)
{
  *free_ = MOCK_MEM - ((size_t) 1 << 30);
  *total = MOCK_MEM;
  return cudaSuccess;
}

/* ==== runtime: errors ==================================================================== */

EXPORT cudaError_t
cudaGetLastError (void)
{
  return cudaSuccess;
}

EXPORT cudaError_t
cudaPeekAtLastError (void)
{
  return cudaSuccess;
}

EXPORT const char *
cudaGetErrorString (cudaError_t e)
{
  return e == cudaSuccess ? "no error" : "mock error";
}

EXPORT const char *
cudaGetErrorName (cudaError_t e)
{
  return e == cudaSuccess ? "cudaSuccess" : "cudaErrorMock";
}

/* ==== runtime: memory ======================================================================= */

/* PF_MOCK_FAIL_MALLOC=N: the N-th cudaMalloc (from 1) fails with cudaErrorMemoryAllocation,
 * to trace the error paths */
static int malloc_calls;

EXPORT cudaError_t
cudaMalloc (void **p, size_t bytes)
{
  begin ("cudaMalloc ");
  const char *fail = getenv ("PF_MOCK_FAIL_MALLOC");
  pthread_mutex_lock (&lock);
  int call = ++malloc_calls;
  pthread_mutex_unlock (&lock);
  if (fail && atoi (fail) == call)
    {
      add ("bytes=%zu -> cudaErrorMemoryAllocation (PF_MOCK_FAIL_MALLOC)", bytes);
      end ();
      *p = NULL;
      return cudaErrorMemoryAllocation;
    }
  Alloc *a = new_alloc (bytes, 0, p);
  if (!a)
    {
      add ("bytes=%zu -> out of memory", bytes);
      end ();
      return cudaErrorMemoryAllocation;
    }
  add ("buf%d bytes=%zu", a->id, bytes);
  unsafe_in_capture ();
  end ();
  return cudaSuccess;
}

EXPORT cudaError_t
cudaMallocHost (void **p, size_t bytes)
{
  begin ("cudaMallocHost ");
  Alloc *a = new_alloc (bytes, 1, p);
  if (!a)
    {
      end ();
      return cudaErrorMemoryAllocation;
    }
  add ("host%d bytes=%zu", a->id, bytes);
  unsafe_in_capture ();
  end ();
  return cudaSuccess;
}

static cudaError_t
free_common (const char *name, void *p, int host)
{
  begin (name);
  add (" ");
  if (!p)
    {
      add ("NULL");
      end ();
      return cudaSuccess;
    }
  pthread_mutex_lock (&lock);
  Alloc *a = find_alloc_locked ((uintptr_t) p);
  int bad = !a || a->base != (uintptr_t) p || a->freed || a->host != host;
  int id = a ? a->id : 0;
  if (a && !bad)
    a->freed = 1; /* the memory stays mapped: later uses are reported */
  pthread_mutex_unlock (&lock);
  if (bad)
    {
      add_ptr (p);
      add (" !BAD-FREE");
    }
  else
    add ("%s%d", host ? "host" : "buf", id);
  unsafe_in_capture ();
  end ();
  return bad ? cudaErrorInvalidValue : cudaSuccess;
}

EXPORT cudaError_t
cudaFree (void *p)
{
  return free_common ("cudaFree", p, 0);
}

EXPORT cudaError_t
cudaFreeHost (void *p)
{
  return free_common ("cudaFreeHost", p, 1);
}

static const char *
kind_name (enum cudaMemcpyKind k)
{
  switch (k)
    {
    case cudaMemcpyHostToHost: return "H2H";
    case cudaMemcpyHostToDevice: return "H2D";
    case cudaMemcpyDeviceToHost: return "D2H";
    case cudaMemcpyDeviceToDevice: return "D2D";
    case cudaMemcpyDefault: return "default";
    }
  return "?";
}

static uint32_t
fnv1a (const void *p, size_t n)
{
  const unsigned char *b = p;
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < n; i++)
    h = (h ^ b[i]) * 16777619u;
  return h;
}

/* where a pointer of a copy should be: 'd' device, 'h' host */
static void
check_side (const char *what, const void *p, char want)
{
  if (!p)
    return;
  Alloc *a = find_alloc (p);
  int is_dev = a && !a->host;
  if (want == 'd' && !is_dev)
    add (" !NOT-DEVICE(%s)", what);
  if (want == 'h' && is_dev)
    add (" !NOT-HOST(%s)", what);
}

/* a copy or a memset, run now or at a graph's launch (PF_MOCK_COMPUTE) */
typedef struct { void *dst; const void *src; size_t bytes; int value; } CopyArgs;
static void run_copy (void *p) { CopyArgs *a = p; memmove (a->dst, a->src, a->bytes); }
static void run_set (void *p) { CopyArgs *a = p; memset (a->dst, a->value, a->bytes); }

typedef struct { void *dst; size_t dpitch; const void *src; size_t spitch, width, height; } Copy2DArgs;

static void
run_copy2d (void *p)
{
  Copy2DArgs *a = p;
  for (size_t r = 0; r < a->height && a->dst && a->src; r++)
    {
      char *d = (char *) a->dst + r * a->dpitch;
      const char *sr = (const char *) a->src + r * a->spitch;
      size_t da = avail (a->dst), sa = avail (a->src);
      if (da != SIZE_MAX && r * a->dpitch >= da)
        break;
      if (sa != SIZE_MAX && r * a->spitch >= sa)
        break;
      memmove (d, sr, min3 (a->width, da == SIZE_MAX ? SIZE_MAX : da - r * a->dpitch,
                            sa == SIZE_MAX ? SIZE_MAX : sa - r * a->spitch));
    }
}

static cudaError_t
memcpy_common (const char *api, void *dst, const void *src, size_t bytes,
               enum cudaMemcpyKind kind, cudaStream_t stream, int async)
{
  begin (api);
  add (" dst=");
  add_ptr (dst);
  add (" src=");
  add_ptr (src);
  add (" bytes=%zu %s stream=", bytes, kind_name (kind));
  add_stream (stream);
  if (kind == cudaMemcpyHostToDevice && src && bytes)
    add (" data=%08x", fnv1a (src, bytes));
  check_extent ("dst", dst, bytes);
  check_extent ("src", src, bytes);
  if (kind == cudaMemcpyHostToDevice) { check_side ("dst", dst, 'd'); check_side ("src", src, 'h'); }
  if (kind == cudaMemcpyDeviceToHost) { check_side ("dst", dst, 'h'); check_side ("src", src, 'd'); }
  if (kind == cudaMemcpyDeviceToDevice) { check_side ("dst", dst, 'd'); check_side ("src", src, 'd'); }
  int c = async ? stream_op (stream) : 0;
  if (!async)
    unsafe_in_capture ();
  /* a capture records a copy from pageable memory only if it is ... not allowed at all */
  if (c && kind != cudaMemcpyDeviceToDevice)
    {
      const void *h = kind == cudaMemcpyHostToDevice ? src : dst;
      Alloc *a = find_alloc (h);
      if (!a || !a->host)
        add (" !PAGEABLE-IN-CAPTURE");
    }
  end_capt (c, api);
  if (bytes && dst && src)
    {
      CopyArgs *a = malloc (sizeof *a);
      *a = (CopyArgs) { dst, src, min3 (bytes, avail (dst), avail (src)), 0 };
      run_or_defer (async ? stream : NULL, run_copy, a);
    }
  return cudaSuccess;
}

EXPORT cudaError_t
cudaMemcpyAsync (void *dst, const void *src, size_t bytes, enum cudaMemcpyKind kind,
                 cudaStream_t stream)
{
  return memcpy_common ("cudaMemcpyAsync", dst, src, bytes, kind, stream, 1);
}

EXPORT cudaError_t
cudaMemcpy (void *dst, const void *src, size_t bytes, enum cudaMemcpyKind kind)
{
  return memcpy_common ("cudaMemcpy", dst, src, bytes, kind, NULL, 0);
}

EXPORT cudaError_t
cudaMemcpy2DAsync (void *dst, size_t dpitch, const void *src, size_t spitch, size_t width,
                   size_t height, enum cudaMemcpyKind kind, cudaStream_t stream)
{
  begin ("cudaMemcpy2DAsync dst=");
  add_ptr (dst);
  add (" dpitch=%zu src=", dpitch);
  add_ptr (src);
  add (" spitch=%zu width=%zu height=%zu %s stream=", spitch, width, height, kind_name (kind));
  add_stream (stream);
  if (height)
    {
      check_extent ("dst", dst, dpitch * (height - 1) + width);
      check_extent ("src", src, spitch * (height - 1) + width);
    }
  if (width > dpitch || width > spitch)
    add (" !PITCH");
  int c = stream_op (stream);
  end_capt (c, NULL);
  Copy2DArgs *a = malloc (sizeof *a);
  *a = (Copy2DArgs) { dst, dpitch, src, spitch, width, height };
  run_or_defer (stream, run_copy2d, a);
  return cudaSuccess;
}

EXPORT cudaError_t
cudaMemsetAsync (void *dst, int value, size_t bytes, cudaStream_t stream)
{
  begin ("cudaMemsetAsync dst=");
  add_ptr (dst);
  add (" value=%d bytes=%zu stream=", value, bytes);
  add_stream (stream);
  check_extent ("dst", dst, bytes);
  check_side ("dst", dst, 'd');
  int c = stream_op (stream);
  end_capt (c, NULL);
  if (dst && bytes)
    {
      CopyArgs *a = malloc (sizeof *a);
      *a = (CopyArgs) { dst, NULL, bytes < avail (dst) ? bytes : avail (dst), value };
      run_or_defer (stream, run_set, a);
    }
  return cudaSuccess;
}

EXPORT cudaError_t
cudaMemset (void *dst, int value, size_t bytes)
{
  begin ("cudaMemset dst=");
  add_ptr (dst);
  add (" value=%d bytes=%zu", value, bytes);
  check_extent ("dst", dst, bytes);
  unsafe_in_capture ();
  end ();
  if (dst && bytes)
    memset (dst, value, bytes < avail (dst) ? bytes : avail (dst));
  return cudaSuccess;
}

/* ==== runtime: streams, events, graphs ======================================================= */

EXPORT cudaError_t
cudaStreamCreateWithFlags (cudaStream_t *s, unsigned flags)
{
  struct CUstream_st *st = calloc (1, sizeof *st);
  pthread_mutex_lock (&lock);
  st->id = next_stream++;
  pthread_mutex_unlock (&lock);
  *s = st;
  begin ("cudaStreamCreateWithFlags ");
  add ("s%d flags=%u", st->id, flags);
  end ();
  return cudaSuccess;
}

EXPORT cudaError_t
cudaStreamCreate (cudaStream_t *s)
{
  return cudaStreamCreateWithFlags (s, 0);
}

EXPORT cudaError_t
cudaStreamDestroy (cudaStream_t s)
{
  begin ("cudaStreamDestroy ");
  add_stream (s);
  if (is_capturing (s))
    add (" !DESTROYED-WHILE-CAPTURING");
  end ();
  return cudaSuccess;
}

EXPORT cudaError_t
cudaStreamSynchronize (cudaStream_t s)
{
  begin ("cudaStreamSynchronize ");
  add_stream (s);
  if (is_capturing (s))
    add (" !SYNC-OF-CAPTURING-STREAM");
  else
    unsafe_in_capture ();
  end ();
  return cudaSuccess;
}

EXPORT cudaError_t
cudaStreamBeginCapture (cudaStream_t s, enum cudaStreamCaptureMode mode)
{
  begin ("cudaStreamBeginCapture ");
  add_stream (s);
  add (" mode=%s", mode == cudaStreamCaptureModeGlobal ? "global"
                   : mode == cudaStreamCaptureModeThreadLocal ? "thread-local" : "relaxed");
  if (!s || s == cudaStreamLegacy || s == cudaStreamPerThread)
    {
      add (" !CAPTURE-OF-NULL-STREAM");
      end ();
      return cudaErrorStreamCaptureUnsupported;
    }
  if (s->capturing)
    add (" !ALREADY-CAPTURING");
  pthread_mutex_lock (&lock);
  s->capturing = 1;
  s->captured_nodes = 0;
  free (s->bufs.has);
  memset (&s->bufs, 0, sizeof s->bufs);
  s->capture_graph = next_graph++;
  active_captures++;
  pthread_mutex_unlock (&lock);
  add (" -> graph%d", s->capture_graph);
  end ();
  return cudaSuccess;
}

EXPORT cudaError_t
cudaStreamEndCapture (cudaStream_t s, cudaGraph_t *graph)
{
  begin ("cudaStreamEndCapture ");
  add_stream (s);
  if (!is_capturing (s))
    {
      add (" !NOT-CAPTURING");
      end ();
      *graph = NULL;
      return cudaErrorIllegalState;
    }
  struct CUgraph_st *g = calloc (1, sizeof *g);
  pthread_mutex_lock (&lock);
  g->id = s->capture_graph;
  g->nodes = s->captured_nodes;
  g->bufs = s->bufs;
  memset (&s->bufs, 0, sizeof s->bufs);
  g->ops = s->ops;
  memset (&s->ops, 0, sizeof s->ops);
  s->capturing = 0;
  active_captures--;
  pthread_mutex_unlock (&lock);
  add (" -> graph%d nodes=%d", g->id, g->nodes);
  end ();
  *graph = g;
  return cudaSuccess;
}

EXPORT cudaError_t
cudaStreamIsCapturing (cudaStream_t s, enum cudaStreamCaptureStatus *st)
{
  *st = is_capturing (s) ? cudaStreamCaptureStatusActive : cudaStreamCaptureStatusNone;
  return cudaSuccess;
}

EXPORT cudaError_t
cudaGraphInstantiate (cudaGraphExec_t *exec, cudaGraph_t graph, unsigned long long flags)
{
  struct CUgraphExec_st *e = calloc (1, sizeof *e);
  pthread_mutex_lock (&lock);
  e->id = next_exec++;
  pthread_mutex_unlock (&lock);
  e->nodes = graph ? graph->nodes : 0;
  if (graph)
    {
      bufset_copy (&e->bufs, &graph->bufs);
      for (size_t i = 0; i < graph->ops.n; i++) /* the arguments are shared, never freed */
        oplist_add (&e->ops, graph->ops.op[i].run, graph->ops.op[i].arg);
    }
  *exec = e;
  begin ("cudaGraphInstantiate ");
  add ("graph%d flags=%llu -> exec%d", graph ? graph->id : 0, flags, e->id);
  end ();
  return cudaSuccess;
}

EXPORT cudaError_t
cudaGraphLaunch (cudaGraphExec_t exec, cudaStream_t s)
{
  begin ("cudaGraphLaunch ");
  add ("exec%d (%d nodes) stream=", exec ? exec->id : 0, exec ? exec->nodes : 0);
  add_stream (s);
  /* a graph replays the pointers it recorded: none may have been freed since */
  pthread_mutex_lock (&lock);
  for (size_t i = 0; exec && i < n_allocs; i++)
    {
      int key = 2 * allocs[i].id + allocs[i].host;
      if (allocs[i].freed && (size_t) key < exec->bufs.n && exec->bufs.has[key])
        {
          pthread_mutex_unlock (&lock);
          add (" !GRAPH-USES-FREED(%s%d)", allocs[i].host ? "host" : "buf", allocs[i].id);
          pthread_mutex_lock (&lock);
        }
    }
  pthread_mutex_unlock (&lock);
  int c = stream_op (s);
  end_capt (c, NULL);
  for (size_t i = 0; exec && i < exec->ops.n; i++)
    exec->ops.op[i].run (exec->ops.op[i].arg);
  return cudaSuccess;
}

EXPORT cudaError_t
cudaGraphDestroy (cudaGraph_t g)
{
  begin ("cudaGraphDestroy ");
  add ("graph%d", g ? g->id : 0);
  end ();
  return cudaSuccess;
}

EXPORT cudaError_t
cudaGraphExecDestroy (cudaGraphExec_t e)
{
  begin ("cudaGraphExecDestroy ");
  add ("exec%d", e ? e->id : 0);
  end ();
  return cudaSuccess;
}

EXPORT cudaError_t
cudaEventCreateWithFlags (cudaEvent_t *ev, unsigned flags)
{
  struct CUevent_st *e = calloc (1, sizeof *e);
  pthread_mutex_lock (&lock);
  e->id = next_event++;
  pthread_mutex_unlock (&lock);
  *ev = e;
  begin ("cudaEventCreateWithFlags ");
  add ("ev%d flags=%u", e->id, flags);
  end ();
  return cudaSuccess;
}

EXPORT cudaError_t
cudaEventCreate (cudaEvent_t *ev)
{
  return cudaEventCreateWithFlags (ev, 0);
}

EXPORT cudaError_t
cudaEventDestroy (cudaEvent_t e)
{
  begin ("cudaEventDestroy ");
  add ("ev%d", e ? e->id : 0);
  end ();
  return cudaSuccess;
}

EXPORT cudaError_t
cudaEventRecord (cudaEvent_t e, cudaStream_t s)
{
  begin ("cudaEventRecord ");
  add ("ev%d stream=", e ? e->id : 0);
  add_stream (s);
  int c = stream_op (s);
  end_capt (c, NULL);
  return cudaSuccess;
}

EXPORT cudaError_t
cudaEventSynchronize (cudaEvent_t e)
{
  begin ("cudaEventSynchronize ");
  add ("ev%d", e ? e->id : 0);
  unsafe_in_capture ();
  end ();
  return cudaSuccess;
}

EXPORT cudaError_t
cudaEventElapsedTime (float *ms, cudaEvent_t a, cudaEvent_t b)
{
  *ms = 1.0f;
  return cudaSuccess;
}

EXPORT cudaError_t
cudaStreamWaitEvent (cudaStream_t s, cudaEvent_t e, unsigned flags)
{
  begin ("cudaStreamWaitEvent ");
  add_stream (s);
  add (" ev%d flags=%u", e ? e->id : 0, flags);
  int c = stream_op (s);
  end_capt (c, NULL);
  return cudaSuccess;
}

/* ==== compute (PF_MOCK_COMPUTE=1) ========================================================== */
/* Plain host loops in double for what the libraries compute, so that the backend's own
 * kernels (run on the host by tests/tools/cuda-emu) see real operands and results. Operand
 * rounding follows the mode: bf16 data is bf16 already; float32 operands are rounded to TF32
 * where the library may use tensor cores (a convolution not under CUDNN_FMA_MATH, a handle
 * under CUBLAS_TF32_TENSOR_OP_MATH) and to bf16 under CUBLAS_COMPUTE_32F_FAST_16BF. The real
 * libraries may do less (or sum in another order); the tests' tolerances allow for both. */
enum { ROUND_NONE, ROUND_TF32, ROUND_BF16 };

static float
round_bits (float v, int keep) /* round to nearest even, `keep` mantissa bits */
{
  uint32_t u;
  memcpy (&u, &v, 4);
  if ((u & 0x7f800000u) == 0x7f800000u)
    return v; /* inf, NaN */
  const int drop = 23 - keep;
  uint32_t half = 1u << (drop - 1), lsb = (u >> drop) & 1u;
  u = (u + half - 1 + lsb) & ~((1u << drop) - 1);
  memcpy (&v, &u, 4);
  return v;
}

static double
rounded (float v, int mode)
{
  return mode == ROUND_TF32 ? round_bits (v, 10) : mode == ROUND_BF16 ? round_bits (v, 7) : v;
}

static double
load_elem (cudnnDataType_t t, const void *p, size_t i, int mode)
{
  if (t == CUDNN_DATA_BFLOAT16)
    {
      uint32_t u = (uint32_t) ((const uint16_t *) p)[i] << 16;
      float f;
      memcpy (&f, &u, 4);
      return f;
    }
  return rounded (((const float *) p)[i], mode);
}

static void
store_elem (cudnnDataType_t t, void *p, size_t i, double v)
{
  if (t == CUDNN_DATA_BFLOAT16)
    {
      float f = round_bits ((float) v, 7);
      uint32_t u;
      memcpy (&u, &f, 4);
      ((uint16_t *) p)[i] = (uint16_t) (u >> 16);
    }
  else
    ((float *) p)[i] = (float) v;
}

/* element strides of a tensor (its own) or a filter (packed) */
static void
elem_strides (const Desc *d, long *st)
{
  long s = 1;
  for (int i = d->nd - 1; i >= 0; i--)
    {
      st[i] = d->kind == D_FILTER ? s : d->stride[i];
      s *= d->dim[i];
    }
}

static size_t desc_elems (const Desc *d); /* the product of its dims (cuDNN section) */

/* the offset of dense index `lin` (row-major over dims) in a tensor with strides st */
static size_t
strided_offset (const Desc *d, const long *st, size_t lin)
{
  size_t off = 0;
  for (int i = d->nd - 1; i >= 0; i--)
    {
      off += (lin % (size_t) d->dim[i]) * (size_t) st[i];
      lin /= (size_t) d->dim[i];
    }
  return off;
}

/* out = alpha acc + beta out, with out's beta term skipped when beta is 0 (NaN there is
 * overwritten, as by the libraries) */
static void
store_scaled (const Desc *d, void *out, const double *acc, double alpha, double beta)
{
  long st[8];
  elem_strides (d, st);
  size_t n = desc_elems (d);
  for (size_t i = 0; i < n; i++)
    {
      size_t o = strided_offset (d, st, i);
      double v = alpha * acc[i];
      if (beta != 0.0)
        v += beta * load_elem (d->type, out, o, ROUND_NONE);
      store_elem (d->type, out, o, v);
    }
}

enum { CONV_FWD, CONV_BWD_DATA, CONV_BWD_FILTER };

/* One convolution pass: y = x (*) w forward, dx from dy and w, dw from x and dy. */
static void
compute_conv (int pass, const Desc *xd, const void *x, const Desc *wd, const void *w,
              const Desc *cv, const Desc *yd, const void *y, void *out, double alpha,
              double beta)
{
  const int nsp = xd->nd - 2;
  const int mode = xd->type == CUDNN_DATA_FLOAT && cv->math != CUDNN_FMA_MATH ? ROUND_TF32
                                                                              : ROUND_NONE;
  long xs[8], ws[8], ys[8];
  elem_strides (xd, xs);
  elem_strides (wd, ws);
  elem_strides (yd, ys);
  const Desc *od = pass == CONV_FWD ? yd : pass == CONV_BWD_DATA ? xd : wd;
  double *acc = calloc (desc_elems (od), sizeof (double));
  const int N = xd->dim[0], C = xd->dim[1], K = wd->dim[0];
  size_t nout = 1, nker = 1;
  for (int i = 0; i < nsp; i++)
    {
      nout *= (size_t) yd->dim[2 + i];
      nker *= (size_t) wd->dim[2 + i];
    }
  for (int n = 0; n < N; n++)
    for (int k = 0; k < K; k++)
      for (int c = 0; c < C; c++)
        for (size_t o = 0; o < nout; o++)
          for (size_t r = 0; r < nker; r++)
            {
              /* spatial indices of the output position o and the kernel tap r */
              int oi[6], ri[6], xi[6];
              size_t oo = o, rr = r;
              int inside = 1;
              for (int i = nsp - 1; i >= 0; i--)
                {
                  oi[i] = (int) (oo % (size_t) yd->dim[2 + i]);
                  oo /= (size_t) yd->dim[2 + i];
                  ri[i] = (int) (rr % (size_t) wd->dim[2 + i]);
                  rr /= (size_t) wd->dim[2 + i];
                  int tap = cv->mode == CUDNN_CONVOLUTION ? wd->dim[2 + i] - 1 - ri[i] : ri[i];
                  xi[i] = oi[i] * cv->cstride[i] - cv->pad[i] + tap * cv->dil[i];
                  inside &= xi[i] >= 0 && xi[i] < xd->dim[2 + i];
                }
              if (!inside)
                continue;
              size_t xo = (size_t) n * xs[0] + (size_t) c * xs[1];
              size_t wo = (size_t) k * ws[0] + (size_t) c * ws[1];
              size_t yo = (size_t) n * ys[0] + (size_t) k * ys[1];
              size_t xl = (size_t) n * C + c, yl = (size_t) n * K + k, wl = (size_t) k * C + c;
              for (int i = 0; i < nsp; i++)
                {
                  xo += (size_t) xi[i] * xs[2 + i];
                  wo += (size_t) ri[i] * ws[2 + i];
                  yo += (size_t) oi[i] * ys[2 + i];
                  xl = xl * xd->dim[2 + i] + xi[i];
                  wl = wl * wd->dim[2 + i] + ri[i];
                  yl = yl * yd->dim[2 + i] + oi[i];
                }
              if (pass == CONV_FWD)
                acc[yl] += load_elem (xd->type, x, xo, mode) * load_elem (wd->type, w, wo, mode);
              else if (pass == CONV_BWD_DATA)
                acc[xl] += load_elem (yd->type, y, yo, mode) * load_elem (wd->type, w, wo, mode);
              else
                acc[wl] += load_elem (xd->type, x, xo, mode) * load_elem (yd->type, y, yo, mode);
            }
  store_scaled (od, out, acc, alpha, beta);
  free (acc);
}

/* c = alpha a + beta c, a broadcast over c's dimensions where its own are 1 */
static void
compute_add (const Desc *ad, const void *a, const Desc *cd, void *c, double alpha, double beta)
{
  long as[8], cs[8];
  elem_strides (ad, as);
  elem_strides (cd, cs);
  size_t n = desc_elems (cd);
  for (size_t i = 0; i < n; i++)
    {
      size_t lin = i, ao = 0;
      for (int d = cd->nd - 1; d >= 0; d--)
        {
          size_t idx = lin % (size_t) cd->dim[d];
          lin /= (size_t) cd->dim[d];
          if (ad->dim[d] != 1)
            ao += idx * (size_t) as[d];
        }
      size_t co = strided_offset (cd, cs, i);
      double v = alpha * load_elem (ad->type, a, ao, ROUND_NONE);
      if (beta != 0.0)
        v += beta * load_elem (cd->type, c, co, ROUND_NONE);
      store_elem (cd->type, c, co, v);
    }
}

/* db = alpha (sums of dy over every dimension but the channel) + beta db */
static void
compute_bias_grad (const Desc *yd, const void *dy, const Desc *bd, void *db, double alpha,
                   double beta)
{
  long ys[8];
  elem_strides (yd, ys);
  double *acc = calloc ((size_t) yd->dim[1], sizeof (double));
  size_t n = desc_elems (yd), inner = n / ((size_t) yd->dim[0] * yd->dim[1]);
  for (size_t i = 0; i < n; i++)
    acc[(i / inner) % (size_t) yd->dim[1]] += load_elem (yd->type, dy, strided_offset (yd, ys, i),
                                                         ROUND_NONE);
  store_scaled (bd, db, acc, alpha, beta);
  free (acc);
}

/* C = alpha op(A) op(B) + beta C, column-major, `batch` of them */
static void
compute_gemm (cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k, double alpha,
              const float *A, int lda, long long sa, const float *B, int ldb, long long sb,
              double beta, float *C, int ldc, long long sc, int batch, int mode)
{
  for (int b = 0; b < batch; b++)
    {
      const float *Ab = A + b * sa, *Bb = B + b * sb;
      float *Cb = C + b * sc;
      for (int j = 0; j < n; j++)
        for (int i = 0; i < m; i++)
          {
            double acc = 0;
            for (int l = 0; l < k; l++)
              {
                float av = ta == CUBLAS_OP_N ? Ab[i + (size_t) l * lda] : Ab[l + (size_t) i * lda];
                float bv = tb == CUBLAS_OP_N ? Bb[l + (size_t) j * ldb] : Bb[j + (size_t) l * ldb];
                acc += rounded (av, mode) * rounded (bv, mode);
              }
            float *c = &Cb[i + (size_t) j * ldc];
            *c = (float) (alpha * acc + (beta != 0.0 ? beta * *c : 0.0));
          }
    }
}

typedef struct {
  int pass;
  Desc x, w, cv, y;
  const void *xp, *wp, *yp;
  void *out;
  double alpha, beta;
} ConvArgs;

static void
run_conv (void *p)
{
  ConvArgs *a = p;
  compute_conv (a->pass, &a->x, a->xp, &a->w, a->wp, &a->cv, &a->y, a->yp, a->out, a->alpha,
                a->beta);
}

static void
queue_conv (cudaStream_t s, int pass, const Desc *x, const void *xp, const Desc *w,
            const void *wp, const Desc *cv, const Desc *y, const void *yp, void *out,
            const void *alpha, const void *beta)
{
  if (!compute_on)
    return;
  ConvArgs *a = malloc (sizeof *a);
  *a = (ConvArgs) { pass, *x, *w, *cv, *y, xp, wp, yp, out, *(const float *) alpha,
                    *(const float *) beta };
  run_or_defer (s, run_conv, a);
}

enum { TENSOR_ADD, TENSOR_BIAS_GRAD };

typedef struct {
  int kind; /* TENSOR_* */
  Desc a, c;
  const void *ap;
  void *cp;
  double alpha, beta;
} TensorArgs;

static void
run_tensor (void *p)
{
  TensorArgs *t = p;
  if (t->kind == TENSOR_ADD)
    compute_add (&t->a, t->ap, &t->c, t->cp, t->alpha, t->beta);
  else
    compute_bias_grad (&t->a, t->ap, &t->c, t->cp, t->alpha, t->beta);
}

static void
queue_tensor (cudaStream_t s, int kind, const Desc *a, const void *ap, const Desc *c, void *cp,
              const void *alpha, const void *beta)
{
  if (!compute_on)
    return;
  TensorArgs *t = malloc (sizeof *t);
  *t = (TensorArgs) { kind, *a, *c, ap, cp, *(const float *) alpha, *(const float *) beta };
  run_or_defer (s, run_tensor, t);
}

typedef struct {
  cublasOperation_t ta, tb;
  int m, n, k, lda, ldb, ldc, batch, mode;
  long long sa, sb, sc;
  double alpha, beta;
  const float *A, *B;
  float *C;
} GemmArgs;

static void
run_gemm (void *p)
{
  GemmArgs *g = p;
  compute_gemm (g->ta, g->tb, g->m, g->n, g->k, g->alpha, g->A, g->lda, g->sa, g->B, g->ldb,
                g->sb, g->beta, g->C, g->ldc, g->sc, g->batch, g->mode);
}

static void
queue_gemm (cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
            const void *alpha, const void *A, int lda, long long sa, const void *B, int ldb,
            long long sb, const void *beta, void *C, int ldc, long long sc, int batch, int mode)
{
  if (!compute_on || m <= 0 || n <= 0 || batch <= 0)
    return;
  GemmArgs *g = malloc (sizeof *g);
  *g = (GemmArgs) { ta, tb, m, n, k, lda, ldb, ldc, batch, mode, sa, sb, sc,
                    *(const float *) alpha, *(const float *) beta, A, B, C };
  run_or_defer (h->stream, run_gemm, g);
}

/* ==== cuDNN ================================================================================= */

static const char *
dnn_type (cudnnDataType_t t)
{
  switch (t)
    {
    case CUDNN_DATA_FLOAT: return "float";
    case CUDNN_DATA_DOUBLE: return "double";
    case CUDNN_DATA_HALF: return "half";
    case CUDNN_DATA_BFLOAT16: return "bf16";
    case CUDNN_DATA_INT8: return "int8";
    case CUDNN_DATA_INT32: return "int32";
    default: return "type?";
    }
}

static size_t
dnn_size (cudnnDataType_t t)
{
  switch (t)
    {
    case CUDNN_DATA_DOUBLE: return 8;
    case CUDNN_DATA_HALF: case CUDNN_DATA_BFLOAT16: return 2;
    case CUDNN_DATA_INT8: return 1;
    default: return 4;
    }
}

static const char *
dnn_math (cudnnMathType_t m)
{
  switch (m)
    {
    case CUDNN_DEFAULT_MATH: return "DEFAULT_MATH";
    case CUDNN_TENSOR_OP_MATH: return "TENSOR_OP_MATH";
    case CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION: return "TENSOR_OP_MATH_ALLOW_CONVERSION";
    case CUDNN_FMA_MATH: return "FMA_MATH";
    }
  return "math?";
}

static const char *
dnn_format (cudnnTensorFormat_t f)
{
  return f == CUDNN_TENSOR_NCHW ? "NCHW" : f == CUDNN_TENSOR_NHWC ? "NHWC" : "NCHW_VECT_C";
}

static void
add_ints (const int *v, int n)
{
  add ("[");
  for (int i = 0; i < n; i++)
    add (i ? ",%d" : "%d", v[i]);
  add ("]");
}

/* the contents of a descriptor, the same whatever API set it */
static void
add_desc (const Desc *d)
{
  if (!d)
    {
      add ("NULL");
      return;
    }
  if (!d->set)
    {
      add ("<unset %s%d>", d->kind == D_TENSOR ? "tdesc" : d->kind == D_FILTER ? "fdesc" : "cdesc",
           d->id);
      return;
    }
  switch (d->kind)
    {
    case D_TENSOR:
      add ("tensor %s dims=", dnn_type (d->type));
      add_ints (d->dim, d->nd);
      add (" strides=");
      add_ints (d->stride, d->nd);
      break;
    case D_FILTER:
      add ("filter %s %s dims=", dnn_type (d->type), dnn_format (d->format));
      add_ints (d->dim, d->nd);
      break;
    case D_CONV:
      add ("conv %dd pad=", d->nsp);
      add_ints (d->pad, d->nsp);
      add (" stride=");
      add_ints (d->cstride, d->nsp);
      add (" dilation=");
      add_ints (d->dil, d->nsp);
      add (" %s compute=%s math=%s groups=%d",
           d->mode == CUDNN_CROSS_CORRELATION ? "cross-correlation" : "convolution",
           dnn_type (d->compute), dnn_math (d->math), d->groups);
      break;
    }
}

/* bytes a tensor or filter spans from its first element */
static size_t
desc_extent (const Desc *d)
{
  if (!d || !d->set || d->kind == D_CONV)
    return 0;
  size_t last = 0;
  for (int i = 0; i < d->nd; i++)
    {
      if (d->dim[i] <= 0)
        return 0;
      size_t st = d->kind == D_FILTER ? 0 : (size_t) d->stride[i];
      last += (size_t) (d->dim[i] - 1) * st;
    }
  if (d->kind == D_FILTER)
    {
      last = 1;
      for (int i = 0; i < d->nd; i++)
        last *= (size_t) d->dim[i];
      return last * dnn_size (d->type);
    }
  return (last + 1) * dnn_size (d->type);
}

static size_t
desc_elems (const Desc *d)
{
  size_t n = 1;
  for (int i = 0; i < d->nd; i++)
    n *= (size_t) d->dim[i];
  return n;
}

/* an operand of a compute call: "x=tensor ... @buf3+0" with its bounds checked */
static void
add_operand (const char *name, const Desc *d, const void *p)
{
  add (" %s=", name);
  add_desc (d);
  add ("@");
  add_ptr (p);
  check_extent (name, p, desc_extent (d));
}

static void
add_scalar (const char *name, const void *p)
{
  if (!p)
    add (" %s=NULL", name);
  else
    add (" %s=%.9g", name, *(const float *) p);
}

static void
add_handle_dnn (cudnnHandle_t h)
{
  add (" h=dnn%d stream=", h ? h->id : 0);
  add_stream (h ? h->stream : NULL);
}

static int
dnn_stream_op (cudnnHandle_t h)
{
  return stream_op (h ? h->stream : NULL);
}

EXPORT size_t
cudnnGetVersion (void)
{
  begin ("cudnnGetVersion ");
  add ("-> %d", CUDNN_VERSION);
  end ();
  return CUDNN_VERSION;
}

EXPORT const char *
cudnnGetErrorString (cudnnStatus_t s)
{
  return s == CUDNN_STATUS_SUCCESS ? "CUDNN_STATUS_SUCCESS" : "CUDNN_STATUS_MOCK_ERROR";
}

EXPORT void
cudnnGetLastErrorString (char *message, size_t max)
{
  if (max)
    message[0] = 0;
}

EXPORT cudnnStatus_t
cudnnCreate (cudnnHandle_t *h)
{
  struct cudnnContext *c = calloc (1, sizeof *c);
  pthread_mutex_lock (&lock);
  c->id = next_dnn++;
  pthread_mutex_unlock (&lock);
  *h = c;
  begin ("cudnnCreate ");
  add ("dnn%d", c->id);
  end ();
  return CUDNN_STATUS_SUCCESS;
}

EXPORT cudnnStatus_t
cudnnDestroy (cudnnHandle_t h)
{
  begin ("cudnnDestroy ");
  add ("dnn%d", h ? h->id : 0);
  end ();
  return CUDNN_STATUS_SUCCESS;
}

EXPORT cudnnStatus_t
cudnnSetStream (cudnnHandle_t h, cudaStream_t s)
{
  h->stream = s;
  begin ("cudnnSetStream ");
  add ("dnn%d ", h->id);
  add_stream (s);
  end ();
  return CUDNN_STATUS_SUCCESS;
}

#define CREATE_DESC(fn, type, kind_, counter, prefix) \
  EXPORT cudnnStatus_t fn (type *d) \
  { \
    Desc *m = calloc (1, sizeof (Desc)); \
    pthread_mutex_lock (&lock); \
    m->id = counter++; \
    pthread_mutex_unlock (&lock); \
    m->kind = kind_; \
    m->groups = 1; \
    *d = (type) m; \
    begin (#fn " "); \
    add (prefix "%d", m->id); \
    end (); \
    return CUDNN_STATUS_SUCCESS; \
  }

CREATE_DESC (cudnnCreateTensorDescriptor, cudnnTensorDescriptor_t, D_TENSOR, next_tdesc, "tdesc")
CREATE_DESC (cudnnCreateFilterDescriptor, cudnnFilterDescriptor_t, D_FILTER, next_fdesc, "fdesc")
CREATE_DESC (cudnnCreateConvolutionDescriptor, cudnnConvolutionDescriptor_t, D_CONV, next_cdesc, "cdesc")

#define DESTROY_DESC(fn, type, prefix) \
  EXPORT cudnnStatus_t fn (type d) \
  { \
    begin (#fn " "); \
    add (prefix "%d", d ? ((Desc *) d)->id : 0); \
    end (); \
    return CUDNN_STATUS_SUCCESS; \
  }

DESTROY_DESC (cudnnDestroyTensorDescriptor, cudnnTensorDescriptor_t, "tdesc")
DESTROY_DESC (cudnnDestroyFilterDescriptor, cudnnFilterDescriptor_t, "fdesc")
DESTROY_DESC (cudnnDestroyConvolutionDescriptor, cudnnConvolutionDescriptor_t, "cdesc")

static void
packed_strides (Desc *d)
{
  /* NCHW: row-major over the dims; NHWC: C innermost */
  if (d->format == CUDNN_TENSOR_NHWC && d->nd >= 3)
    {
      int c = d->dim[1];
      int s = c;
      for (int i = d->nd - 1; i >= 2; i--)
        {
          d->stride[i] = s;
          s *= d->dim[i];
        }
      d->stride[1] = 1;
      d->stride[0] = s;
      return;
    }
  int s = 1;
  for (int i = d->nd - 1; i >= 0; i--)
    {
      d->stride[i] = s;
      s *= d->dim[i];
    }
}

/* every tensor setter ends here: the line is "cudnnSetTensor tdescN := <contents>" */
static cudnnStatus_t
set_tensor (cudnnTensorDescriptor_t t, cudnnDataType_t type, int nd, const int *dim,
            const int *stride, cudnnTensorFormat_t format, const char *api)
{
  Desc *d = (Desc *) t;
  begin ("cudnnSetTensor ");
  add ("tdesc%d := ", d->id);
  if (nd < 1 || nd > 8)
    {
      add ("!BAD-NBDIMS(%d)", nd);
      end_capt (0, api);
      return CUDNN_STATUS_BAD_PARAM;
    }
  d->type = type;
  d->format = format;
  d->nd = nd;
  memcpy (d->dim, dim, nd * sizeof (int));
  if (stride)
    memcpy (d->stride, stride, nd * sizeof (int));
  else
    packed_strides (d);
  d->set = 1;
  add_desc (d);
  if (nd < 4 && strcmp (api, "cudnnSetTensorNdDescriptorEx") == 0)
    add (" !NDEX-NEEDS-4-DIMS");
  end_capt (0, api);
  return CUDNN_STATUS_SUCCESS;
}

EXPORT cudnnStatus_t
cudnnSetTensor4dDescriptor (cudnnTensorDescriptor_t t, cudnnTensorFormat_t format,
                            cudnnDataType_t type, int n, int c, int h, int w)
{
  int dim[4] = { n, c, h, w };
  return set_tensor (t, type, 4, dim, NULL, format, "cudnnSetTensor4dDescriptor");
}

EXPORT cudnnStatus_t
cudnnSetTensor4dDescriptorEx (cudnnTensorDescriptor_t t, cudnnDataType_t type, int n, int c,
                              int h, int w, int ns, int cs, int hs, int ws)
{
  int dim[4] = { n, c, h, w }, st[4] = { ns, cs, hs, ws };
  return set_tensor (t, type, 4, dim, st, CUDNN_TENSOR_NCHW, "cudnnSetTensor4dDescriptorEx");
}

EXPORT cudnnStatus_t
cudnnSetTensorNdDescriptor (cudnnTensorDescriptor_t t, cudnnDataType_t type, int nd,
                            const int dim[], const int stride[])
{
  return set_tensor (t, type, nd, dim, stride, CUDNN_TENSOR_NCHW, "cudnnSetTensorNdDescriptor");
}

EXPORT cudnnStatus_t
cudnnSetTensorNdDescriptorEx (cudnnTensorDescriptor_t t, cudnnTensorFormat_t format,
                              cudnnDataType_t type, int nd, const int dim[])
{
  return set_tensor (t, type, nd, dim, NULL, format, "cudnnSetTensorNdDescriptorEx");
}

static cudnnStatus_t
set_filter (cudnnFilterDescriptor_t f, cudnnDataType_t type, cudnnTensorFormat_t format, int nd,
            const int *dim, const char *api)
{
  Desc *d = (Desc *) f;
  begin ("cudnnSetFilter ");
  add ("fdesc%d := ", d->id);
  if (nd < 3 || nd > 8)
    {
      add ("!BAD-NBDIMS(%d)", nd);
      end_capt (0, api);
      return CUDNN_STATUS_BAD_PARAM;
    }
  d->type = type;
  d->format = format;
  d->nd = nd;
  memcpy (d->dim, dim, nd * sizeof (int));
  d->set = 1;
  add_desc (d);
  end_capt (0, api);
  return CUDNN_STATUS_SUCCESS;
}

EXPORT cudnnStatus_t
cudnnSetFilter4dDescriptor (cudnnFilterDescriptor_t f, cudnnDataType_t type,
                            cudnnTensorFormat_t format, int k, int c, int h, int w)
{
  int dim[4] = { k, c, h, w };
  return set_filter (f, type, format, 4, dim, "cudnnSetFilter4dDescriptor");
}

EXPORT cudnnStatus_t
cudnnSetFilterNdDescriptor (cudnnFilterDescriptor_t f, cudnnDataType_t type,
                            cudnnTensorFormat_t format, int nd, const int dim[])
{
  return set_filter (f, type, format, nd, dim, "cudnnSetFilterNdDescriptor");
}

static cudnnStatus_t
set_conv (cudnnConvolutionDescriptor_t cv, int nsp, const int *pad, const int *stride,
          const int *dil, cudnnConvolutionMode_t mode, cudnnDataType_t compute, const char *api)
{
  Desc *d = (Desc *) cv;
  begin ("cudnnSetConvolution ");
  add ("cdesc%d := ", d->id);
  if (nsp < 1 || nsp > 6)
    {
      add ("!BAD-ARRAYLENGTH(%d)", nsp);
      end_capt (0, api);
      return CUDNN_STATUS_BAD_PARAM;
    }
  d->nsp = nsp;
  memcpy (d->pad, pad, nsp * sizeof (int));
  memcpy (d->cstride, stride, nsp * sizeof (int));
  memcpy (d->dil, dil, nsp * sizeof (int));
  d->mode = mode;
  d->compute = compute;
  d->set = 1;
  /* the math type keeps its value: cuDNN's default is CUDNN_DEFAULT_MATH */
  add_desc (d);
  end_capt (0, api);
  return CUDNN_STATUS_SUCCESS;
}

EXPORT cudnnStatus_t
cudnnSetConvolution2dDescriptor (cudnnConvolutionDescriptor_t cv, int ph, int pw, int u, int v,
                                 int dh, int dw, cudnnConvolutionMode_t mode,
                                 cudnnDataType_t compute)
{
  int pad[2] = { ph, pw }, st[2] = { u, v }, dil[2] = { dh, dw };
  return set_conv (cv, 2, pad, st, dil, mode, compute, "cudnnSetConvolution2dDescriptor");
}

EXPORT cudnnStatus_t
cudnnSetConvolutionNdDescriptor (cudnnConvolutionDescriptor_t cv, int n, const int pad[],
                                 const int stride[], const int dil[],
                                 cudnnConvolutionMode_t mode, cudnnDataType_t compute)
{
  return set_conv (cv, n, pad, stride, dil, mode, compute, "cudnnSetConvolutionNdDescriptor");
}

EXPORT cudnnStatus_t
cudnnSetConvolutionMathType (cudnnConvolutionDescriptor_t cv, cudnnMathType_t math)
{
  Desc *d = (Desc *) cv;
  d->math = math;
  begin ("cudnnSetConvolutionMathType ");
  add ("cdesc%d %s", d->id, dnn_math (math));
  end ();
  return CUDNN_STATUS_SUCCESS;
}

EXPORT cudnnStatus_t
cudnnGetConvolutionMathType (cudnnConvolutionDescriptor_t cv, cudnnMathType_t *math)
{
  const Desc *d = (const Desc *) cv;
  *math = d->math;
  begin ("cudnnGetConvolutionMathType ");
  add ("cdesc%d -> %s", d->id, dnn_math (d->math));
  end ();
  return CUDNN_STATUS_SUCCESS;
}

EXPORT cudnnStatus_t
cudnnSetConvolutionGroupCount (cudnnConvolutionDescriptor_t cv, int groups)
{
  Desc *d = (Desc *) cv;
  d->groups = groups;
  begin ("cudnnSetConvolutionGroupCount ");
  add ("cdesc%d %d", d->id, groups);
  end ();
  return CUDNN_STATUS_SUCCESS;
}

/* the real output shape: n, k, then 1 + (in + 2 pad - ((f - 1) dil + 1)) / stride */
static int
conv_out (const Desc *cv, const Desc *x, const Desc *w, int nd, int *out)
{
  if (!cv->set || !x->set || !w->set || x->nd != w->nd || cv->nsp != x->nd - 2 || nd != x->nd)
    return 0;
  out[0] = x->dim[0];
  out[1] = w->dim[0];
  for (int i = 0; i < cv->nsp; i++)
    {
      int eff = (w->dim[i + 2] - 1) * cv->dil[i] + 1;
      out[i + 2] = 1 + (x->dim[i + 2] + 2 * cv->pad[i] - eff) / cv->cstride[i];
    }
  return 1;
}

/* operand checks shared by the conv calls: types agree; a bf16/half convolution is not FMA */
static void
check_conv (const Desc *x, const Desc *w, const Desc *cv, const Desc *y)
{
  if (x->type != w->type || x->type != y->type)
    add (" !TYPE-MISMATCH(x %s w %s y %s)", dnn_type (x->type), dnn_type (w->type),
         dnn_type (y->type));
  if ((x->type == CUDNN_DATA_BFLOAT16 || x->type == CUDNN_DATA_HALF) && cv->math == CUDNN_FMA_MATH)
    add (" !FMA-MATH-ON-%s", dnn_type (x->type));
  if (x->type == CUDNN_DATA_BFLOAT16 && cv->compute != CUDNN_DATA_FLOAT)
    add (" !BF16-NEEDS-FLOAT-COMPUTE");
  int want[8];
  if (conv_out (cv, x, w, x->nd, want))
    for (int i = 0; i < x->nd; i++)
      if (want[i] != y->dim[i])
        {
          add (" !Y-SHAPE(expected ");
          add_ints (want, x->nd);
          add (")");
          break;
        }
  if (x->dim[1] != w->dim[1] * cv->groups)
    add (" !CHANNELS");
}

EXPORT cudnnStatus_t
cudnnGetConvolutionNdForwardOutputDim (const cudnnConvolutionDescriptor_t cv,
                                       const cudnnTensorDescriptor_t x,
                                       const cudnnFilterDescriptor_t w, int nd, int out[])
{
  begin ("cudnnGetConvolutionForwardOutputDim ");
  add_desc ((Desc *) cv);
  add (" x=");
  add_desc ((Desc *) x);
  add (" w=");
  add_desc ((Desc *) w);
  if (!conv_out ((Desc *) cv, (Desc *) x, (Desc *) w, nd, out))
    {
      add (" !BAD-PARAM");
      end_capt (0, "cudnnGetConvolutionNdForwardOutputDim");
      return CUDNN_STATUS_BAD_PARAM;
    }
  add (" -> ");
  add_ints (out, nd);
  end_capt (0, "cudnnGetConvolutionNdForwardOutputDim");
  return CUDNN_STATUS_SUCCESS;
}

EXPORT cudnnStatus_t
cudnnGetConvolution2dForwardOutputDim (const cudnnConvolutionDescriptor_t cv,
                                       const cudnnTensorDescriptor_t x,
                                       const cudnnFilterDescriptor_t w, int *n, int *c, int *h,
                                       int *wd)
{
  int out[4];
  begin ("cudnnGetConvolutionForwardOutputDim ");
  add_desc ((Desc *) cv);
  add (" x=");
  add_desc ((Desc *) x);
  add (" w=");
  add_desc ((Desc *) w);
  if (!conv_out ((Desc *) cv, (Desc *) x, (Desc *) w, 4, out))
    {
      add (" !BAD-PARAM");
      end_capt (0, "cudnnGetConvolution2dForwardOutputDim");
      return CUDNN_STATUS_BAD_PARAM;
    }
  *n = out[0];
  *c = out[1];
  *h = out[2];
  *wd = out[3];
  add (" -> ");
  add_ints (out, 4);
  end_capt (0, "cudnnGetConvolution2dForwardOutputDim");
  return CUDNN_STATUS_SUCCESS;
}

/* Algorithm choice. Deterministic: with FMA math one result (an FMA algorithm), otherwise two,
 * a tensor-op one first (what a GPU with tensor cores reports fastest), then the FMA one. The
 * workspace of an algorithm is a function of the operands' shapes: the bytes of x (forward),
 * w (backward data) or y (backward filter), plus 256 per algorithm number. */
enum { PASS_FWD, PASS_BWD_DATA, PASS_BWD_FILTER };

static size_t
mock_ws (int pass, int algo, const Desc *x, const Desc *w, const Desc *y)
{
  const Desc *d = pass == PASS_FWD ? x : pass == PASS_BWD_DATA ? w : y;
  size_t b = desc_elems (d) * dnn_size (d->type);
  return ((b + 255) & ~(size_t) 255) + 256 * (size_t) algo;
}

static int
fma_algo (int pass)
{
  return pass == PASS_FWD ? CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM
         : pass == PASS_BWD_DATA ? CUDNN_CONVOLUTION_BWD_DATA_ALGO_1
                                 : CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1;
}

static int
tensor_algo (int pass)
{
  return pass == PASS_FWD ? CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM
         : pass == PASS_BWD_DATA ? CUDNN_CONVOLUTION_BWD_DATA_ALGO_0
                                 : CUDNN_CONVOLUTION_BWD_FILTER_ALGO_0;
}

/* PF_MOCK_OFFER_TENSOR_OP=1: the tensor-op result is offered first whatever the math type (a
 * cuDNN that ignored CUDNN_FMA_MATH), so that the backend's own filter is exercised */
static int
offer_tensor_op (void)
{
  const char *e = getenv ("PF_MOCK_OFFER_TENSOR_OP");
  return e && *e == '1';
}

/* PF_MOCK_NO_BF16=1: the algorithm queries return no result for bf16 operands, as a cuDNN
 * without bf16 kernels for a shape would (exercises the backend's float32 fallback) */
static int
no_bf16 (void)
{
  const char *e = getenv ("PF_MOCK_NO_BF16");
  return e && *e == '1';
}

/* fills up to `req` results into the perf array (all three perf structs share the layout of
 * their first six fields) */
#define FILL_RESULTS(perf_t, perf, req, got, pass, cv, x, w, y) \
  do { \
    int n_ = 0; \
    if (no_bf16 () && (x)->type == CUDNN_DATA_BFLOAT16) \
      { \
        *(got) = 0; \
        break; \
      } \
    if (((cv)->math != CUDNN_FMA_MATH || offer_tensor_op ()) && n_ < (req)) \
      { \
        memset (&(perf)[n_], 0, sizeof (perf_t)); \
        (perf)[n_].algo = tensor_algo (pass); \
        (perf)[n_].status = CUDNN_STATUS_SUCCESS; \
        (perf)[n_].time = 0.5f; \
        (perf)[n_].memory = mock_ws (pass, tensor_algo (pass), x, w, y); \
        (perf)[n_].determinism = CUDNN_DETERMINISTIC; \
        (perf)[n_].mathType = CUDNN_TENSOR_OP_MATH; \
        n_++; \
      } \
    if (n_ < (req)) \
      { \
        memset (&(perf)[n_], 0, sizeof (perf_t)); \
        (perf)[n_].algo = fma_algo (pass); \
        (perf)[n_].status = CUDNN_STATUS_SUCCESS; \
        (perf)[n_].time = 1.0f; \
        (perf)[n_].memory = mock_ws (pass, fma_algo (pass), x, w, y); \
        (perf)[n_].determinism = CUDNN_DETERMINISTIC; \
        (perf)[n_].mathType = CUDNN_FMA_MATH; \
        n_++; \
      } \
    *(got) = n_; \
  } while (0)

static void
add_results (int n, const int *algo, const size_t *mem, const int *math)
{
  add (" -> [");
  for (int i = 0; i < n; i++)
    add ("%s{algo=%d mem=%zu %s}", i ? " " : "", algo[i], mem[i], dnn_math ((cudnnMathType_t) math[i]));
  add ("]");
}

#define CHOOSE_FN(fn, perf_t, pass, A, B, Y, api_kind) \
  EXPORT cudnnStatus_t fn (cudnnHandle_t h, const A##_t a, const B##_t b, \
                           const cudnnConvolutionDescriptor_t cv, const Y##_t c, int req, \
                           int *got, perf_t *perf) \
  { \
    const Desc *x_, *w_, *y_; \
    const Desc *da = (const Desc *) a, *db = (const Desc *) b, *dc = (const Desc *) c; \
    if (pass == PASS_FWD) { x_ = da; w_ = db; y_ = dc; } \
    else if (pass == PASS_BWD_DATA) { w_ = da; y_ = db; x_ = dc; } \
    else { x_ = da; y_ = db; w_ = dc; } \
    begin (#fn " "); \
    add_handle_dnn (h); \
    add (" x="); add_desc (x_); \
    add (" w="); add_desc (w_); \
    add (" conv="); add_desc ((const Desc *) cv); \
    add (" y="); add_desc (y_); \
    add (" requested=%d", req); \
    check_conv (x_, w_, (const Desc *) cv, y_); \
    FILL_RESULTS (perf_t, perf, req, got, pass, (const Desc *) cv, x_, w_, y_); \
    int al[2], ma[2]; size_t me[2]; \
    for (int i = 0; i < *got; i++) \
      { al[i] = perf[i].algo; me[i] = perf[i].memory; ma[i] = perf[i].mathType; } \
    add_results (*got, al, me, ma); \
    if (api_kind) unsafe_in_capture (); /* Find runs the convolutions and allocates */ \
    end (); \
    return CUDNN_STATUS_SUCCESS; \
  }

CHOOSE_FN (cudnnFindConvolutionForwardAlgorithm, cudnnConvolutionFwdAlgoPerf_t, PASS_FWD,
           cudnnTensorDescriptor, cudnnFilterDescriptor, cudnnTensorDescriptor, 1)
CHOOSE_FN (cudnnGetConvolutionForwardAlgorithm_v7, cudnnConvolutionFwdAlgoPerf_t, PASS_FWD,
           cudnnTensorDescriptor, cudnnFilterDescriptor, cudnnTensorDescriptor, 0)
CHOOSE_FN (cudnnFindConvolutionBackwardDataAlgorithm, cudnnConvolutionBwdDataAlgoPerf_t,
           PASS_BWD_DATA, cudnnFilterDescriptor, cudnnTensorDescriptor, cudnnTensorDescriptor, 1)
CHOOSE_FN (cudnnGetConvolutionBackwardDataAlgorithm_v7, cudnnConvolutionBwdDataAlgoPerf_t,
           PASS_BWD_DATA, cudnnFilterDescriptor, cudnnTensorDescriptor, cudnnTensorDescriptor, 0)
CHOOSE_FN (cudnnFindConvolutionBackwardFilterAlgorithm, cudnnConvolutionBwdFilterAlgoPerf_t,
           PASS_BWD_FILTER, cudnnTensorDescriptor, cudnnTensorDescriptor, cudnnFilterDescriptor, 1)
CHOOSE_FN (cudnnGetConvolutionBackwardFilterAlgorithm_v7, cudnnConvolutionBwdFilterAlgoPerf_t,
           PASS_BWD_FILTER, cudnnTensorDescriptor, cudnnTensorDescriptor, cudnnFilterDescriptor, 0)

#define WS_FN(fn, pass, A, B, Y, algo_t) \
  EXPORT cudnnStatus_t fn (cudnnHandle_t h, const A##_t a, const B##_t b, \
                           const cudnnConvolutionDescriptor_t cv, const Y##_t c, algo_t algo, \
                           size_t *bytes) \
  { \
    const Desc *x_, *w_, *y_; \
    const Desc *da = (const Desc *) a, *db = (const Desc *) b, *dc = (const Desc *) c; \
    if (pass == PASS_FWD) { x_ = da; w_ = db; y_ = dc; } \
    else if (pass == PASS_BWD_DATA) { w_ = da; y_ = db; x_ = dc; } \
    else { x_ = da; y_ = db; w_ = dc; } \
    *bytes = mock_ws (pass, (int) algo, x_, w_, y_); \
    begin (#fn " "); \
    add_handle_dnn (h); \
    add (" x="); add_desc (x_); \
    add (" w="); add_desc (w_); \
    add (" conv="); add_desc ((const Desc *) cv); \
    add (" y="); add_desc (y_); \
    add (" algo=%d -> %zu", (int) algo, *bytes); \
    end (); \
    return CUDNN_STATUS_SUCCESS; \
  }

WS_FN (cudnnGetConvolutionForwardWorkspaceSize, PASS_FWD, cudnnTensorDescriptor,
       cudnnFilterDescriptor, cudnnTensorDescriptor, cudnnConvolutionFwdAlgo_t)
WS_FN (cudnnGetConvolutionBackwardDataWorkspaceSize, PASS_BWD_DATA, cudnnFilterDescriptor,
       cudnnTensorDescriptor, cudnnTensorDescriptor, cudnnConvolutionBwdDataAlgo_t)
WS_FN (cudnnGetConvolutionBackwardFilterWorkspaceSize, PASS_BWD_FILTER, cudnnTensorDescriptor,
       cudnnTensorDescriptor, cudnnFilterDescriptor, cudnnConvolutionBwdFilterAlgo_t)

static void
add_workspace (void *ws, size_t bytes)
{
  add (" ws=");
  add_ptr (ws);
  add (" wsbytes=%zu", bytes);
  check_extent ("ws", ws, bytes);
  if (bytes && !ws)
    add (" !NULL-WORKSPACE");
}

EXPORT cudnnStatus_t
cudnnConvolutionForward (cudnnHandle_t h, const void *alpha, const cudnnTensorDescriptor_t xd,
                         const void *x, const cudnnFilterDescriptor_t wd, const void *w,
                         const cudnnConvolutionDescriptor_t cv, cudnnConvolutionFwdAlgo_t algo,
                         void *ws, size_t wsb, const void *beta,
                         const cudnnTensorDescriptor_t yd, void *y)
{
  begin ("cudnnConvolutionForward");
  add_handle_dnn (h);
  add_scalar ("alpha", alpha);
  add_operand ("x", (Desc *) xd, x);
  add_operand ("w", (Desc *) wd, w);
  add (" conv=");
  add_desc ((Desc *) cv);
  add (" algo=%d", (int) algo);
  add_workspace (ws, wsb);
  add_scalar ("beta", beta);
  add_operand ("y", (Desc *) yd, y);
  check_conv ((Desc *) xd, (Desc *) wd, (Desc *) cv, (Desc *) yd);
  size_t ye = desc_extent ((Desc *) yd);
  check_overlap ("y", y, ye, "x", x, desc_extent ((Desc *) xd));
  check_overlap ("y", y, ye, "w", w, desc_extent ((Desc *) wd));
  check_overlap ("y", y, ye, "ws", ws, wsb);
  check_overlap ("x", x, desc_extent ((Desc *) xd), "ws", ws, wsb);
  end_capt (dnn_stream_op (h), NULL);
  queue_conv (h->stream, CONV_FWD, (Desc *) xd, x, (Desc *) wd, w, (Desc *) cv, (Desc *) yd,
              NULL, y, alpha, beta);
  return CUDNN_STATUS_SUCCESS;
}

EXPORT cudnnStatus_t
cudnnConvolutionBackwardData (cudnnHandle_t h, const void *alpha,
                              const cudnnFilterDescriptor_t wd, const void *w,
                              const cudnnTensorDescriptor_t dyd, const void *dy,
                              const cudnnConvolutionDescriptor_t cv,
                              cudnnConvolutionBwdDataAlgo_t algo, void *ws, size_t wsb,
                              const void *beta, const cudnnTensorDescriptor_t dxd, void *dx)
{
  begin ("cudnnConvolutionBackwardData");
  add_handle_dnn (h);
  add_scalar ("alpha", alpha);
  add_operand ("w", (Desc *) wd, w);
  add_operand ("dy", (Desc *) dyd, dy);
  add (" conv=");
  add_desc ((Desc *) cv);
  add (" algo=%d", (int) algo);
  add_workspace (ws, wsb);
  add_scalar ("beta", beta);
  add_operand ("dx", (Desc *) dxd, dx);
  check_conv ((Desc *) dxd, (Desc *) wd, (Desc *) cv, (Desc *) dyd);
  size_t xe = desc_extent ((Desc *) dxd);
  check_overlap ("dx", dx, xe, "w", w, desc_extent ((Desc *) wd));
  check_overlap ("dx", dx, xe, "dy", dy, desc_extent ((Desc *) dyd));
  check_overlap ("dx", dx, xe, "ws", ws, wsb);
  check_overlap ("dy", dy, desc_extent ((Desc *) dyd), "ws", ws, wsb);
  end_capt (dnn_stream_op (h), NULL);
  queue_conv (h->stream, CONV_BWD_DATA, (Desc *) dxd, NULL, (Desc *) wd, w, (Desc *) cv,
              (Desc *) dyd, dy, dx, alpha, beta);
  return CUDNN_STATUS_SUCCESS;
}

EXPORT cudnnStatus_t
cudnnConvolutionBackwardFilter (cudnnHandle_t h, const void *alpha,
                                const cudnnTensorDescriptor_t xd, const void *x,
                                const cudnnTensorDescriptor_t dyd, const void *dy,
                                const cudnnConvolutionDescriptor_t cv,
                                cudnnConvolutionBwdFilterAlgo_t algo, void *ws, size_t wsb,
                                const void *beta, const cudnnFilterDescriptor_t dwd, void *dw)
{
  begin ("cudnnConvolutionBackwardFilter");
  add_handle_dnn (h);
  add_scalar ("alpha", alpha);
  add_operand ("x", (Desc *) xd, x);
  add_operand ("dy", (Desc *) dyd, dy);
  add (" conv=");
  add_desc ((Desc *) cv);
  add (" algo=%d", (int) algo);
  add_workspace (ws, wsb);
  add_scalar ("beta", beta);
  add_operand ("dw", (Desc *) dwd, dw);
  check_conv ((Desc *) xd, (Desc *) dwd, (Desc *) cv, (Desc *) dyd);
  size_t we = desc_extent ((Desc *) dwd);
  check_overlap ("dw", dw, we, "x", x, desc_extent ((Desc *) xd));
  check_overlap ("dw", dw, we, "dy", dy, desc_extent ((Desc *) dyd));
  check_overlap ("dw", dw, we, "ws", ws, wsb);
  check_overlap ("x", x, desc_extent ((Desc *) xd), "ws", ws, wsb);
  end_capt (dnn_stream_op (h), NULL);
  queue_conv (h->stream, CONV_BWD_FILTER, (Desc *) xd, x, (Desc *) dwd, NULL, (Desc *) cv,
              (Desc *) dyd, dy, dw, alpha, beta);
  return CUDNN_STATUS_SUCCESS;
}

EXPORT cudnnStatus_t
cudnnConvolutionBackwardBias (cudnnHandle_t h, const void *alpha,
                              const cudnnTensorDescriptor_t dyd, const void *dy, const void *beta,
                              const cudnnTensorDescriptor_t dbd, void *db)
{
  begin ("cudnnConvolutionBackwardBias");
  add_handle_dnn (h);
  add_scalar ("alpha", alpha);
  add_operand ("dy", (Desc *) dyd, dy);
  add_scalar ("beta", beta);
  add_operand ("db", (Desc *) dbd, db);
  end_capt (dnn_stream_op (h), NULL);
  queue_tensor (h->stream, TENSOR_BIAS_GRAD, (Desc *) dyd, dy, (Desc *) dbd, db, alpha, beta);
  return CUDNN_STATUS_SUCCESS;
}

EXPORT cudnnStatus_t
cudnnAddTensor (cudnnHandle_t h, const void *alpha, const cudnnTensorDescriptor_t ad,
                const void *a, const void *beta, const cudnnTensorDescriptor_t cd, void *c)
{
  begin ("cudnnAddTensor");
  add_handle_dnn (h);
  add_scalar ("alpha", alpha);
  add_operand ("a", (Desc *) ad, a);
  add_scalar ("beta", beta);
  add_operand ("c", (Desc *) cd, c);
  const Desc *A = (const Desc *) ad, *C = (const Desc *) cd;
  if (A->nd != C->nd)
    add (" !RANK-MISMATCH");
  else
    for (int i = 0; i < A->nd; i++)
      if (A->dim[i] != 1 && A->dim[i] != C->dim[i])
        {
          add (" !NOT-BROADCASTABLE");
          break;
        }
  end_capt (dnn_stream_op (h), NULL);
  queue_tensor (h->stream, TENSOR_ADD, A, a, C, c, alpha, beta);
  return CUDNN_STATUS_SUCCESS;
}

/* ==== cuBLAS =============================================================================== */

static const char *
blas_op (cublasOperation_t o)
{
  return o == CUBLAS_OP_N ? "N" : o == CUBLAS_OP_T ? "T" : o == CUBLAS_OP_C ? "C" : "?";
}

static const char *
blas_math (cublasMath_t m)
{
  int base = (int) m & ~(int) CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION;
  const char *s = base == CUBLAS_DEFAULT_MATH ? "DEFAULT_MATH"
                  : base == CUBLAS_TENSOR_OP_MATH ? "TENSOR_OP_MATH"
                  : base == CUBLAS_PEDANTIC_MATH ? "PEDANTIC_MATH"
                  : base == CUBLAS_TF32_TENSOR_OP_MATH ? "TF32_TENSOR_OP_MATH" : "math?";
  return s;
}

static const char *
cuda_type (cudaDataType t)
{
  switch (t)
    {
    case CUDA_R_32F: return "R_32F";
    case CUDA_R_16F: return "R_16F";
    case CUDA_R_16BF: return "R_16BF";
    case CUDA_R_64F: return "R_64F";
    case CUDA_R_8I: return "R_8I";
    case CUDA_R_32I: return "R_32I";
    default: return "type?";
    }
}

static size_t
cuda_type_size (cudaDataType t)
{
  switch (t)
    {
    case CUDA_R_16F: case CUDA_R_16BF: return 2;
    case CUDA_R_64F: return 8;
    case CUDA_R_8I: return 1;
    default: return 4;
    }
}

static const char *
compute_name (cublasComputeType_t c)
{
  switch (c)
    {
    case CUBLAS_COMPUTE_16F: return "COMPUTE_16F";
    case CUBLAS_COMPUTE_16F_PEDANTIC: return "COMPUTE_16F_PEDANTIC";
    case CUBLAS_COMPUTE_32F: return "COMPUTE_32F";
    case CUBLAS_COMPUTE_32F_PEDANTIC: return "COMPUTE_32F_PEDANTIC";
    case CUBLAS_COMPUTE_32F_FAST_16F: return "COMPUTE_32F_FAST_16F";
    case CUBLAS_COMPUTE_32F_FAST_16BF: return "COMPUTE_32F_FAST_16BF";
    case CUBLAS_COMPUTE_32F_FAST_TF32: return "COMPUTE_32F_FAST_TF32";
    case CUBLAS_COMPUTE_64F: return "COMPUTE_64F";
    case CUBLAS_COMPUTE_32I: return "COMPUTE_32I";
    default: return "compute?";
    }
}

/* The type combinations cublasGemmEx accepts (the table of the cuBLAS documentation,
 * "cublasGemmEx"; real types only). The scale type of the 32F compute types is float. */
static int
gemm_ex_valid (cublasComputeType_t c, cudaDataType a, cudaDataType b, cudaDataType cc)
{
  if (a != b)
    return 0;
  switch (c)
    {
    case CUBLAS_COMPUTE_16F: case CUBLAS_COMPUTE_16F_PEDANTIC:
      return a == CUDA_R_16F && cc == CUDA_R_16F;
    case CUBLAS_COMPUTE_32I: case CUBLAS_COMPUTE_32I_PEDANTIC:
      return a == CUDA_R_8I && cc == CUDA_R_32I;
    case CUBLAS_COMPUTE_32F: case CUBLAS_COMPUTE_32F_PEDANTIC:
      return (a == CUDA_R_16BF && (cc == CUDA_R_16BF || cc == CUDA_R_32F))
             || (a == CUDA_R_16F && (cc == CUDA_R_16F || cc == CUDA_R_32F))
             || (a == CUDA_R_8I && cc == CUDA_R_32F) || (a == CUDA_R_32F && cc == CUDA_R_32F);
    case CUBLAS_COMPUTE_32F_FAST_16F: case CUBLAS_COMPUTE_32F_FAST_16BF:
    case CUBLAS_COMPUTE_32F_FAST_TF32:
      return a == CUDA_R_32F && cc == CUDA_R_32F;
    case CUBLAS_COMPUTE_64F: case CUBLAS_COMPUTE_64F_PEDANTIC:
      return a == CUDA_R_64F && cc == CUDA_R_64F;
    default:
      return 0;
    }
}

static void
add_handle_blas (cublasHandle_t h)
{
  add (" h=blas%d stream=", h ? h->id : 0);
  add_stream (h ? h->stream : NULL);
  add (" %s", h ? blas_math (h->math) : "?");
}

/* a column-major matrix of `rows` x `cols` with leading dimension ld, `batch` of them
 * `stride` elements apart: the bytes it spans; flags ld < rows */
static size_t
mat_extent (const char *name, int rows, int cols, int ld, long long stride, int batch,
            size_t esize)
{
  if (ld < (rows > 1 ? rows : 1))
    add (" !LD(%s: ld %d < rows %d)", name, ld, rows);
  if (rows <= 0 || cols <= 0 || batch <= 0)
    return 0;
  size_t last = (size_t) ld * (size_t) (cols - 1) + (size_t) rows;
  last += (size_t) (batch - 1) * (size_t) (stride > 0 ? stride : 0);
  return last * esize;
}

static void
add_gemm_operands (cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                   const void *alpha, const void *A, int lda, long long sa, const void *B,
                   int ldb, long long sb, const void *beta, void *C, int ldc, long long sc,
                   int batch, size_t ea, size_t eb, size_t ec)
{
  add (" %s%s m=%d n=%d k=%d", blas_op (ta), blas_op (tb), m, n, k);
  add_scalar ("alpha", alpha);
  add (" A=");
  add_ptr (A);
  add (" lda=%d", lda);
  if (batch > 1 || sa)
    add (" sA=%lld", sa);
  add (" B=");
  add_ptr (B);
  add (" ldb=%d", ldb);
  if (batch > 1 || sb)
    add (" sB=%lld", sb);
  add_scalar ("beta", beta);
  add (" C=");
  add_ptr (C);
  add (" ldc=%d", ldc);
  if (batch > 1 || sc)
    add (" sC=%lld batch=%d", sc, batch);
  int ar = ta == CUBLAS_OP_N ? m : k, ac = ta == CUBLAS_OP_N ? k : m;
  int br = tb == CUBLAS_OP_N ? k : n, bc = tb == CUBLAS_OP_N ? n : k;
  size_t xa = mat_extent ("A", ar, ac, lda, sa, batch, ea);
  size_t xb = mat_extent ("B", br, bc, ldb, sb, batch, eb);
  size_t xc = mat_extent ("C", m, n, ldc, sc, batch, ec);
  check_extent ("A", A, xa);
  check_extent ("B", B, xb);
  check_extent ("C", C, xc);
  /* span overlap (strided operands may interleave legally: only flagged when unbatched) */
  if (batch <= 1)
    {
      check_overlap ("C", C, xc, "A", A, xa);
      check_overlap ("C", C, xc, "B", B, xb);
    }
}

EXPORT cublasStatus_t
cublasCreate_v2 (cublasHandle_t *h)
{
  struct cublasContext *c = calloc (1, sizeof *c);
  pthread_mutex_lock (&lock);
  c->id = next_blas++;
  pthread_mutex_unlock (&lock);
  c->math = CUBLAS_DEFAULT_MATH;
  *h = c;
  begin ("cublasCreate ");
  add ("blas%d", c->id);
  end ();
  return CUBLAS_STATUS_SUCCESS;
}

EXPORT cublasStatus_t
cublasDestroy_v2 (cublasHandle_t h)
{
  begin ("cublasDestroy ");
  add ("blas%d", h ? h->id : 0);
  end ();
  return CUBLAS_STATUS_SUCCESS;
}

EXPORT cublasStatus_t
cublasSetStream_v2 (cublasHandle_t h, cudaStream_t s)
{
  h->stream = s;
  begin ("cublasSetStream ");
  add ("blas%d ", h->id);
  add_stream (s);
  end ();
  return CUBLAS_STATUS_SUCCESS;
}

EXPORT cublasStatus_t
cublasSetWorkspace_v2 (cublasHandle_t h, void *ws, size_t bytes)
{
  h->ws = ws;
  h->ws_bytes = bytes;
  begin ("cublasSetWorkspace ");
  add ("blas%d ws=", h->id);
  add_ptr (ws);
  add (" bytes=%zu", bytes);
  check_extent ("ws", ws, bytes);
  end ();
  return CUBLAS_STATUS_SUCCESS;
}

EXPORT cublasStatus_t
cublasSetMathMode (cublasHandle_t h, cublasMath_t mode)
{
  h->math = mode;
  begin ("cublasSetMathMode ");
  add ("blas%d %s", h->id, blas_math (mode));
  end ();
  return CUBLAS_STATUS_SUCCESS;
}

EXPORT cublasStatus_t
cublasGetMathMode (cublasHandle_t h, cublasMath_t *mode)
{
  *mode = h->math;
  return CUBLAS_STATUS_SUCCESS;
}

EXPORT cublasStatus_t
cublasGetProperty (libraryPropertyType type, int *value)
{
  *value = type == MAJOR_VERSION ? CUBLAS_VER_MAJOR
           : type == MINOR_VERSION ? CUBLAS_VER_MINOR : CUBLAS_VER_PATCH;
  begin ("cublasGetProperty ");
  add ("%d -> %d", (int) type, *value);
  end ();
  return CUBLAS_STATUS_SUCCESS;
}

EXPORT const char *
cublasGetStatusName (cublasStatus_t s)
{
  return s == CUBLAS_STATUS_SUCCESS ? "CUBLAS_STATUS_SUCCESS" : "CUBLAS_STATUS_MOCK_ERROR";
}

EXPORT const char *
cublasGetStatusString (cublasStatus_t s)
{
  return s == CUBLAS_STATUS_SUCCESS ? "success" : "mock error";
}

/* the operand rounding of a float32 GEMM under the handle's math mode */
static int
blas_round (cublasHandle_t h)
{
  return h->math == CUBLAS_TF32_TENSOR_OP_MATH ? ROUND_TF32 : ROUND_NONE;
}

/* GemmEx: float32 operands only (what the backend uses); FAST_16BF rounds them to bf16 */
static void
ex_gemm (cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
         const void *alpha, const void *A, cudaDataType at, int lda, long long sa, const void *B,
         cudaDataType bt, int ldb, long long sb, const void *beta, void *C, cudaDataType ct,
         int ldc, long long sc, int batch, cublasComputeType_t c)
{
  if (!compute_on)
    return;
  if (at != CUDA_R_32F || bt != CUDA_R_32F || ct != CUDA_R_32F)
    {
      fprintf (stderr, "cuda-mock: PF_MOCK_COMPUTE: GemmEx computes float32 operands only\n");
      abort ();
    }
  int mode = c == CUBLAS_COMPUTE_32F_FAST_16BF ? ROUND_BF16
             : c == CUBLAS_COMPUTE_32F_FAST_TF32 ? ROUND_TF32 : blas_round (h);
  queue_gemm (h, ta, tb, m, n, k, alpha, A, lda, sa, B, ldb, sb, beta, C, ldc, sc, batch, mode);
}

/* cublasSgemm is printed as "gemm ... types=R_32F/R_32F/R_32F compute=sgemm" so that a
 * GemmEx of the same types stays visibly different (its compute type is explicit) */
EXPORT cublasStatus_t
cublasSgemm_v2 (cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n,
                int k, const float *alpha, const float *A, int lda, const float *B, int ldb,
                const float *beta, float *C, int ldc)
{
  begin ("cublasSgemm");
  add_handle_blas (h);
  add_gemm_operands (ta, tb, m, n, k, alpha, A, lda, 0, B, ldb, 0, beta, C, ldc, 0, 1, 4, 4, 4);
  end_capt (stream_op (h->stream), NULL);
  queue_gemm (h, ta, tb, m, n, k, alpha, A, lda, 0, B, ldb, 0, beta, C, ldc, 0, 1, blas_round (h));
  return CUBLAS_STATUS_SUCCESS;
}

EXPORT cublasStatus_t
cublasSgemmStridedBatched (cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m,
                           int n, int k, const float *alpha, const float *A, int lda,
                           long long sa, const float *B, int ldb, long long sb, const float *beta,
                           float *C, int ldc, long long sc, int batch)
{
  begin ("cublasSgemmStridedBatched");
  add_handle_blas (h);
  add_gemm_operands (ta, tb, m, n, k, alpha, A, lda, sa, B, ldb, sb, beta, C, ldc, sc, batch, 4,
                     4, 4);
  end_capt (stream_op (h->stream), NULL);
  queue_gemm (h, ta, tb, m, n, k, alpha, A, lda, sa, B, ldb, sb, beta, C, ldc, sc, batch,
              blas_round (h));
  return CUBLAS_STATUS_SUCCESS;
}

static void
add_ex_types (cudaDataType at, cudaDataType bt, cudaDataType ct, cublasComputeType_t c,
              cublasGemmAlgo_t algo)
{
  add (" types=%s/%s/%s %s algo=%d", cuda_type (at), cuda_type (bt), cuda_type (ct),
       compute_name (c), (int) algo);
  if (!gemm_ex_valid (c, at, bt, ct))
    add (" !INVALID-TYPE-COMBINATION");
}

EXPORT cublasStatus_t
cublasGemmEx (cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
              const void *alpha, const void *A, cudaDataType at, int lda, const void *B,
              cudaDataType bt, int ldb, const void *beta, void *C, cudaDataType ct, int ldc,
              cublasComputeType_t c, cublasGemmAlgo_t algo)
{
  begin ("cublasGemmEx");
  add_handle_blas (h);
  add_ex_types (at, bt, ct, c, algo);
  add_gemm_operands (ta, tb, m, n, k, alpha, A, lda, 0, B, ldb, 0, beta, C, ldc, 0, 1,
                     cuda_type_size (at), cuda_type_size (bt), cuda_type_size (ct));
  end_capt (stream_op (h->stream), NULL);
  ex_gemm (h, ta, tb, m, n, k, alpha, A, at, lda, 0, B, bt, ldb, 0, beta, C, ct, ldc, 0, 1, c);
  return CUBLAS_STATUS_SUCCESS;
}

EXPORT cublasStatus_t
cublasGemmStridedBatchedEx (cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m,
                            int n, int k, const void *alpha, const void *A, cudaDataType at,
                            int lda, long long sa, const void *B, cudaDataType bt, int ldb,
                            long long sb, const void *beta, void *C, cudaDataType ct, int ldc,
                            long long sc, int batch, cublasComputeType_t c, cublasGemmAlgo_t algo)
{
  begin ("cublasGemmStridedBatchedEx");
  add_handle_blas (h);
  add_ex_types (at, bt, ct, c, algo);
  add_gemm_operands (ta, tb, m, n, k, alpha, A, lda, sa, B, ldb, sb, beta, C, ldc, sc, batch,
                     cuda_type_size (at), cuda_type_size (bt), cuda_type_size (ct));
  end_capt (stream_op (h->stream), NULL);
  ex_gemm (h, ta, tb, m, n, k, alpha, A, at, lda, sa, B, bt, ldb, sb, beta, C, ct, ldc, sc, batch,
           c);
  return CUBLAS_STATUS_SUCCESS;
}
