/* pf-conv-dnnl.c — convolution plans for the fast CPU path.
 *
 * Two implementations behind one plan type, chosen per shape when the plan is made:
 *  - oneDNN: primitives created once with format_tag_any, so oneDNN picks its blocked layouts
 *    (nChw16c, OIhw16i16o...); the caller's NCHW tensors go through reorders cached in the
 *    plan. Gradients are accumulated by the output reorders themselves (a sum post-op), so the
 *    += of pf-ops.h costs no extra pass.
 *  - direct: row-vectorised loops over a zero-padded copy of the input, for layers whose
 *    channel counts are too small for oneDNN's 16-channel blocks (4->8, 16->1, the 3->2 of the
 *    3D front end): oneDNN pads those to 16 and wastes up to 16x the work. Those loops live in
 *    pf-conv-direct.c (internal API in pf-conv-private.h); this file holds the oneDNN part,
 *    the plan lifecycle and the rule that picks one of the two.
 * The rule (measured on the 56x56 layers of DESIGN.md §5, AMD EPYC, 2 threads; see
 * conv_pick_impl) is deterministic: no timing at run time.
 *
 * Conv3d with a kernel as deep as the input and no depth padding (the 3D front end: depth 3,
 * kernel 3xKxK) is exactly a Conv2d over c_in*depth channels, so it runs as one. */
#include "pf-conv-private.h"
#include "pf-error.h"
#include <oneapi/dnnl/dnnl.h>
#include <omp.h>
#include <string.h>

/* ---- oneDNN part --------------------------------------------------------------------- */

static dnnl_engine_t
pf_dnnl_engine (void)
{
  static gsize once = 0;
  static dnnl_engine_t engine = NULL;
  if (g_once_init_enter (&once))
    {
      if (dnnl_engine_create (&engine, dnnl_cpu, 0) != dnnl_success)
        engine = NULL;
      g_once_init_leave (&once, 1);
    }
  return engine;
}

/* One message for every failed oneDNN call made while building a plan; true on success. */
static gboolean
dnnl_ok (dnnl_status_t s, const char *what, GError **error)
{
  if (s == dnnl_success)
    return TRUE;
  g_set_error (error, PF_ERROR, PF_ERROR_UNSUPPORTED, "oneDNN: %s failed (status %d)", what, (int) s);
  return FALSE;
}

#define DNNL_TRY(call, what) \
  G_STMT_START { \
    if (!dnnl_ok ((call), (what), error)) \
      return FALSE; \
  } G_STMT_END

/* One tensor argument of a primitive: the caller's memory (plain layout, handle set per call)
 * and, when the primitive wants another layout, an internal buffer and the reorder between. */
typedef struct {
  dnnl_memory_t user;       /* plain layout; handle set at each call */
  dnnl_memory_t inner;      /* primitive's layout; == user when no reorder */
  dnnl_primitive_t reorder; /* user->inner for inputs, inner->user for outputs; NULL if none */
  float *buf;               /* backing of inner when it differs */
} PfDnnlArg;

typedef struct {
  int ndims;                /* 4 or 5 */
  int nthreads;             /* oneDNN sized its scratchpad for this many threads */
  dnnl_stream_t stream;
  dnnl_primitive_t fwd, bwd_data, bwd_w;
  PfDnnlArg f_src, f_w, f_dst;              /* forward */
  PfDnnlArg d_ddst, d_w, d_dsrc;            /* backward data */
  PfDnnlArg w_src, w_ddst, w_dw;            /* backward weights */
  dnnl_memory_t f_b, w_db, scratch_mem;
  float *db_buf;
  void *scratch;
  bool w_ddst_shared;       /* backward weights reads the same reordered dy as backward data */
  bool w_src_shared;        /* backward weights wants x in the layout the forward made */
  const float *last_x;      /* x of the last forward, still in f_src's buffer */
} PfDnnlConv;

static dnnl_memory_t
mem_new (const dnnl_memory_desc_t *md, void *handle)
{
  dnnl_memory_t m = NULL;
  if (dnnl_memory_create (&m, md, pf_dnnl_engine (), handle) != dnnl_success)
    return NULL;
  return m;
}

/* Sets up `a` for a tensor whose caller layout is `user_md` and whose primitive layout is
 * `inner_md`. Outputs that must be accumulated always get an inner buffer and a reorder with a
 * sum post-op, even when the layouts agree. */
static gboolean
arg_init (PfDnnlArg *a, const dnnl_memory_desc_t *user_md, const dnnl_memory_desc_t *inner_md,
          bool is_output, bool accumulate, GError **error)
{
  dnnl_engine_t eng = pf_dnnl_engine ();
  DNNL_TRY (dnnl_memory_create (&a->user, user_md, eng, DNNL_MEMORY_NONE), "memory");
  if (dnnl_memory_desc_equal (user_md, inner_md) && !accumulate)
    {
      a->inner = a->user;
      return TRUE;
    }
  a->buf = g_malloc (MAX (dnnl_memory_desc_get_size (inner_md), 64));
  DNNL_TRY (dnnl_memory_create (&a->inner, inner_md, eng, a->buf), "memory");
  dnnl_primitive_attr_t attr = NULL;
  dnnl_post_ops_t po = NULL;
  DNNL_TRY (dnnl_primitive_attr_create (&attr), "attr");
  if (accumulate)
    {
      DNNL_TRY (dnnl_post_ops_create (&po), "post-ops");
      DNNL_TRY (dnnl_post_ops_append_sum (po, 1.0f), "sum post-op");
      DNNL_TRY (dnnl_primitive_attr_set_post_ops (attr, po), "post-ops");
      dnnl_post_ops_destroy (po);
    }
  dnnl_primitive_desc_t rpd = NULL;
  dnnl_status_t s = is_output
    ? dnnl_reorder_primitive_desc_create (&rpd, inner_md, eng, user_md, eng, attr)
    : dnnl_reorder_primitive_desc_create (&rpd, user_md, eng, inner_md, eng, attr);
  dnnl_primitive_attr_destroy (attr);
  DNNL_TRY (s, "reorder descriptor");
  s = dnnl_primitive_create (&a->reorder, rpd);
  dnnl_primitive_desc_destroy (rpd);
  DNNL_TRY (s, "reorder");
  return TRUE;
}

static void
arg_clear (PfDnnlArg *a)
{
  if (a->reorder)
    dnnl_primitive_destroy (a->reorder);
  if (a->inner && a->inner != a->user)
    dnnl_memory_destroy (a->inner);
  if (a->user)
    dnnl_memory_destroy (a->user);
  g_free (a->buf);
  memset (a, 0, sizeof *a);
}

static void
dnnl_check_exec (dnnl_status_t s, const char *what)
{
  if (s != dnnl_success)
    g_critical ("oneDNN %s failed at run time (status %d)", what, (int) s);
}

static void
run_reorder (PfDnnlConv *c, PfDnnlArg *a, bool is_output)
{
  dnnl_exec_arg_t args[2] = {
    { DNNL_ARG_FROM, is_output ? a->inner : a->user },
    { DNNL_ARG_TO, is_output ? a->user : a->inner },
  };
  dnnl_check_exec (dnnl_primitive_execute (a->reorder, c->stream, 2, args), "reorder");
}

/* Points the caller's memory at p and brings an input into the primitive's layout. */
static dnnl_memory_t
arg_in (PfDnnlConv *c, PfDnnlArg *a, const float *p)
{
  dnnl_memory_set_data_handle (a->user, (void *) p);
  if (a->reorder)
    run_reorder (c, a, false);
  return a->inner;
}

static void
arg_out (PfDnnlConv *c, PfDnnlArg *a, float *p)
{
  dnnl_memory_set_data_handle (a->user, p);
  if (a->reorder)
    run_reorder (c, a, true);
}

static size_t
pd_scratch_size (const_dnnl_primitive_desc_t pd)
{
  const dnnl_memory_desc_t *md = dnnl_primitive_desc_query_md (pd, dnnl_query_scratchpad_md, 0);
  return md ? dnnl_memory_desc_get_size (md) : 0;
}

static const dnnl_memory_desc_t *
pd_md (const_dnnl_primitive_desc_t pd, dnnl_query_t q)
{
  return dnnl_primitive_desc_query_md (pd, q, 0);
}

/* dims in oneDNN order: x [n, ci, (d,) h, w], w [co, ci, (kd,) kh, kw]. */
typedef struct {
  int ndims;
  dnnl_dims_t src, wei, dst, strides, pad_l, pad_r;
  int c_out;
} PfConvGeom;

static gboolean
dnnl_conv_init (PfDnnlConv *c, const PfConvGeom *g, bool bias, GError **error)
{
  dnnl_engine_t eng = pf_dnnl_engine ();
  if (!eng)
    {
      g_set_error (error, PF_ERROR, PF_ERROR_UNSUPPORTED, "oneDNN: no CPU engine");
      return FALSE;
    }
  const int nd = g->ndims, sp = nd - 2;
  const dnnl_format_tag_t plain = nd == 4 ? dnnl_nchw : dnnl_ncdhw;
  const dnnl_format_tag_t wplain = nd == 4 ? dnnl_oihw : dnnl_oidhw;
  c->ndims = nd;
  c->nthreads = pf_ops_fast_threads ();
  dnnl_memory_desc_t src_u, wei_u, dst_u, src_a, wei_a, dst_a, b_md;
  DNNL_TRY (dnnl_memory_desc_init_by_tag (&src_u, nd, g->src, dnnl_f32, plain), "md");
  DNNL_TRY (dnnl_memory_desc_init_by_tag (&wei_u, nd, g->wei, dnnl_f32, wplain), "md");
  DNNL_TRY (dnnl_memory_desc_init_by_tag (&dst_u, nd, g->dst, dnnl_f32, plain), "md");
  DNNL_TRY (dnnl_memory_desc_init_by_tag (&src_a, nd, g->src, dnnl_f32, dnnl_format_tag_any), "md");
  DNNL_TRY (dnnl_memory_desc_init_by_tag (&wei_a, nd, g->wei, dnnl_f32, dnnl_format_tag_any), "md");
  DNNL_TRY (dnnl_memory_desc_init_by_tag (&dst_a, nd, g->dst, dnnl_f32, dnnl_format_tag_any), "md");
  dnnl_dims_t bd = { g->c_out };
  DNNL_TRY (dnnl_memory_desc_init_by_tag (&b_md, 1, bd, dnnl_f32, dnnl_x), "md");
  dnnl_dims_t strides, pl, pr;
  memcpy (strides, g->strides, sizeof strides);
  memcpy (pl, g->pad_l, sizeof pl);
  memcpy (pr, g->pad_r, sizeof pr);
  (void) sp;

  DNNL_TRY (dnnl_stream_create (&c->stream, eng, dnnl_stream_default_flags), "stream");
  dnnl_primitive_attr_t attr = NULL;
  DNNL_TRY (dnnl_primitive_attr_create (&attr), "attr");
  /* The scratchpad is ours (one buffer for the three primitives), not allocated per call. */
  DNNL_TRY (dnnl_primitive_attr_set_scratchpad_mode (attr, dnnl_scratchpad_mode_user), "attr");

  dnnl_convolution_desc_t fd, dd, wd;
  dnnl_primitive_desc_t fpd = NULL, dpd = NULL, wpd = NULL;
  gboolean ok = FALSE;
#define STEP(call, what) \
  G_STMT_START { \
    if (!dnnl_ok ((call), (what), error)) \
      goto out; \
  } G_STMT_END
  STEP (dnnl_convolution_forward_desc_init (&fd, dnnl_forward_training, dnnl_convolution_direct,
                                            &src_a, &wei_a, bias ? &b_md : NULL, &dst_a,
                                            strides, pl, pr), "forward descriptor");
  STEP (dnnl_primitive_desc_create (&fpd, &fd, attr, eng, NULL), "forward primitive descriptor");
  STEP (dnnl_convolution_backward_data_desc_init (&dd, dnnl_convolution_direct, &src_a, &wei_a,
                                                  &dst_a, strides, pl, pr), "backward-data descriptor");
  STEP (dnnl_primitive_desc_create (&dpd, &dd, attr, eng, fpd), "backward-data primitive descriptor");
  STEP (dnnl_convolution_backward_weights_desc_init (&wd, dnnl_convolution_direct, &src_a, &wei_a,
                                                     bias ? &b_md : NULL, &dst_a, strides, pl, pr),
        "backward-weights descriptor");
  STEP (dnnl_primitive_desc_create (&wpd, &wd, attr, eng, fpd), "backward-weights primitive descriptor");

  STEP (dnnl_primitive_create (&c->fwd, fpd), "forward primitive");
  STEP (dnnl_primitive_create (&c->bwd_data, dpd), "backward-data primitive");
  STEP (dnnl_primitive_create (&c->bwd_w, wpd), "backward-weights primitive");

  if (!arg_init (&c->f_src, &src_u, pd_md (fpd, dnnl_query_src_md), false, false, error)
      || !arg_init (&c->f_w, &wei_u, pd_md (fpd, dnnl_query_weights_md), false, false, error)
      || !arg_init (&c->f_dst, &dst_u, pd_md (fpd, dnnl_query_dst_md), true, false, error)
      || !arg_init (&c->d_ddst, &dst_u, pd_md (dpd, dnnl_query_diff_dst_md), false, false, error)
      || !arg_init (&c->d_w, &wei_u, pd_md (dpd, dnnl_query_weights_md), false, false, error)
      || !arg_init (&c->d_dsrc, &src_u, pd_md (dpd, dnnl_query_diff_src_md), true, true, error)
      || !arg_init (&c->w_src, &src_u, pd_md (wpd, dnnl_query_src_md), false, false, error)
      || !arg_init (&c->w_dw, &wei_u, pd_md (wpd, dnnl_query_diff_weights_md), true, true, error))
    goto out;
  /* Backward data and backward weights usually want dy in the same layout: reorder it once. */
  c->w_ddst_shared = dnnl_memory_desc_equal (pd_md (dpd, dnnl_query_diff_dst_md),
                                             pd_md (wpd, dnnl_query_diff_dst_md));
  c->w_src_shared = c->f_src.reorder != NULL
                    && dnnl_memory_desc_equal (pd_md (fpd, dnnl_query_src_md),
                                               pd_md (wpd, dnnl_query_src_md));
  if (!c->w_ddst_shared
      && !arg_init (&c->w_ddst, &dst_u, pd_md (wpd, dnnl_query_diff_dst_md), false, false, error))
    goto out;
  if (bias)
    {
      c->db_buf = g_new (float, g->c_out);
      c->f_b = mem_new (&b_md, DNNL_MEMORY_NONE);
      c->w_db = mem_new (&b_md, c->db_buf);
      if (!c->f_b || !c->w_db)
        {
          g_set_error (error, PF_ERROR, PF_ERROR_UNSUPPORTED, "oneDNN: bias memory");
          goto out;
        }
    }
  size_t ss = MAX (pd_scratch_size (fpd), MAX (pd_scratch_size (dpd), pd_scratch_size (wpd)));
  dnnl_memory_desc_t smd;
  dnnl_dims_t sdims = { (dnnl_dim_t) MAX (ss, 64) };
  STEP (dnnl_memory_desc_init_by_tag (&smd, 1, sdims, dnnl_u8, dnnl_x), "scratchpad md");
  c->scratch = g_malloc (MAX (ss, 64));
  c->scratch_mem = mem_new (&smd, c->scratch);
  if (!c->scratch_mem)
    {
      g_set_error (error, PF_ERROR, PF_ERROR_UNSUPPORTED, "oneDNN: scratchpad memory");
      goto out;
    }
  ok = TRUE;
out:
#undef STEP
  if (fpd)
    dnnl_primitive_desc_destroy (fpd);
  if (dpd)
    dnnl_primitive_desc_destroy (dpd);
  if (wpd)
    dnnl_primitive_desc_destroy (wpd);
  dnnl_primitive_attr_destroy (attr);
  return ok;
}

static void
dnnl_conv_clear (PfDnnlConv *c)
{
  PfDnnlArg *args[] = { &c->f_src, &c->f_w, &c->f_dst, &c->d_ddst, &c->d_w, &c->d_dsrc,
                        &c->w_src, &c->w_ddst, &c->w_dw };
  for (guint i = 0; i < G_N_ELEMENTS (args); i++)
    arg_clear (args[i]);
  if (c->fwd)
    dnnl_primitive_destroy (c->fwd);
  if (c->bwd_data)
    dnnl_primitive_destroy (c->bwd_data);
  if (c->bwd_w)
    dnnl_primitive_destroy (c->bwd_w);
  if (c->f_b)
    dnnl_memory_destroy (c->f_b);
  if (c->w_db)
    dnnl_memory_destroy (c->w_db);
  if (c->scratch_mem)
    dnnl_memory_destroy (c->scratch_mem);
  if (c->stream)
    dnnl_stream_destroy (c->stream);
  g_free (c->db_buf);
  g_free (c->scratch);
  memset (c, 0, sizeof *c);
}

/* oneDNN sizes its scratchpad for the thread count at creation: run with that count even if
 * pf_ops_fast_set_threads changed it since (omp_set_num_threads only affects this thread). */
static int
threads_enter (const PfDnnlConv *c)
{
  const int saved = omp_get_max_threads ();
  if (saved != c->nthreads)
    omp_set_num_threads (c->nthreads);
  return saved;
}

static void
threads_leave (const PfDnnlConv *c, int saved)
{
  if (saved != c->nthreads)
    omp_set_num_threads (saved);
}

static void
dnnl_conv_forward (PfDnnlConv *c, const float *x, const float *w, const float *b, float *y)
{
  const int saved = threads_enter (c);
  dnnl_exec_arg_t args[5];
  int na = 0;
  args[na++] = (dnnl_exec_arg_t) { DNNL_ARG_SRC, arg_in (c, &c->f_src, x) };
  args[na++] = (dnnl_exec_arg_t) { DNNL_ARG_WEIGHTS, arg_in (c, &c->f_w, w) };
  c->last_x = x;
  if (c->f_b)
    {
      dnnl_memory_set_data_handle (c->f_b, (void *) b);
      args[na++] = (dnnl_exec_arg_t) { DNNL_ARG_BIAS, c->f_b };
    }
  /* Without a reorder the primitive writes straight into y. */
  if (!c->f_dst.reorder)
    dnnl_memory_set_data_handle (c->f_dst.user, y);
  args[na++] = (dnnl_exec_arg_t) { DNNL_ARG_DST, c->f_dst.inner };
  args[na++] = (dnnl_exec_arg_t) { DNNL_ARG_SCRATCHPAD, c->scratch_mem };
  dnnl_check_exec (dnnl_primitive_execute (c->fwd, c->stream, na, args), "convolution forward");
  arg_out (c, &c->f_dst, y);
  dnnl_stream_wait (c->stream);
  threads_leave (c, saved);
}

static void
dnnl_conv_backward (PfDnnlConv *c, const float *x, const float *w, const float *dy, float *dx,
                    float *dw, float *db, int c_out)
{
  const int saved = threads_enter (c);
  dnnl_memory_t ddst_d = NULL;
  if (dx)
    {
      ddst_d = arg_in (c, &c->d_ddst, dy);
      dnnl_exec_arg_t args[] = {
        { DNNL_ARG_DIFF_DST, ddst_d },
        { DNNL_ARG_WEIGHTS, arg_in (c, &c->d_w, w) },
        { DNNL_ARG_DIFF_SRC, c->d_dsrc.inner },
        { DNNL_ARG_SCRATCHPAD, c->scratch_mem },
      };
      dnnl_check_exec (dnnl_primitive_execute (c->bwd_data, c->stream, 4, args),
                       "convolution backward data");
      arg_out (c, &c->d_dsrc, dx);
    }
  if (dw || db)
    {
      dnnl_memory_t ddst_w;
      if (c->w_ddst_shared)
        ddst_w = ddst_d ? ddst_d : arg_in (c, &c->d_ddst, dy);
      else
        ddst_w = arg_in (c, &c->w_ddst, dy);
      dnnl_exec_arg_t args[5];
      int na = 0;
      /* The forward already reordered this x (the contract in pf-ops-fast.h: x is unchanged
       * between the forward and the backward of a step): skip a full pass over it. */
      const bool reuse = c->w_src_shared && x == c->last_x;
      args[na++] = (dnnl_exec_arg_t) { DNNL_ARG_SRC, reuse ? c->f_src.inner : arg_in (c, &c->w_src, x) };
      args[na++] = (dnnl_exec_arg_t) { DNNL_ARG_DIFF_DST, ddst_w };
      args[na++] = (dnnl_exec_arg_t) { DNNL_ARG_DIFF_WEIGHTS, c->w_dw.inner };
      if (c->w_db)
        args[na++] = (dnnl_exec_arg_t) { DNNL_ARG_DIFF_BIAS, c->w_db };
      args[na++] = (dnnl_exec_arg_t) { DNNL_ARG_SCRATCHPAD, c->scratch_mem };
      dnnl_check_exec (dnnl_primitive_execute (c->bwd_w, c->stream, na, args),
                       "convolution backward weights");
      if (dw)
        arg_out (c, &c->w_dw, dw);
      dnnl_stream_wait (c->stream);
      if (db && c->db_buf)
        for (int i = 0; i < c_out; i++)
          db[i] += c->db_buf[i];
    }
  dnnl_stream_wait (c->stream);
  threads_leave (c, saved);
}

/* ---- plans --------------------------------------------------------------------------- */

typedef struct {
  PfConvImpl impl;
  bool bias;
  int c_out;
  PfDnnlConv dnnl;
  PfDirectConv direct;
} PfConvPlan;

struct _PfConv2dFast { PfConvPlan p; };
struct _PfConv3dFast { PfConvPlan p; };

/* The rule, from timing both paths on the layers of DESIGN.md §5 (batch 200, 56x56, 5x5):
 * oneDNN works in blocks of 16 channels, so a layer with few input and output channels wastes
 * most of each block, and the direct loops win there (16->1: 8x, 4->8: 3x, 3->2 of the 3D
 * front end). From 16 channels on both sides oneDNN wins. The cut: c_in * c_out <= 64, or
 * c_out <= 2 (the last layer of every model), and the direct path supports the shape. */
static PfConvImpl
conv_pick_impl (const PfConv2dDesc *d)
{
  if (!_pf_conv_direct_supported (d))
    return PF_CONV_IMPL_DNNL;
  if ((long) d->c_in * d->c_out <= 64 || d->c_out <= 2)
    return PF_CONV_IMPL_DIRECT;
  return PF_CONV_IMPL_DNNL;
}

static gboolean
conv2d_desc_check (const PfConv2dDesc *d, GError **error)
{
  if (d->n <= 0 || d->c_in <= 0 || d->c_out <= 0 || d->h <= 0 || d->w <= 0 || d->kh <= 0
      || d->kw <= 0 || d->sh <= 0 || d->sw <= 0 || d->ph < 0 || d->pw < 0
      || pf_conv2d_out_h (d) <= 0 || pf_conv2d_out_w (d) <= 0
      || d->h + 2 * d->ph < d->kh || d->w + 2 * d->pw < d->kw)
    {
      g_set_error (error, PF_ERROR, PF_ERROR_SHAPE,
                   "conv2d: invalid shape x [%d, %d, %d, %d], w [%d, %d, %d, %d], stride %dx%d, pad %dx%d",
                   d->n, d->c_in, d->h, d->w, d->c_out, d->c_in, d->kh, d->kw, d->sh, d->sw,
                   d->ph, d->pw);
      return FALSE;
    }
  return TRUE;
}

/* The oneDNN half of a plan, for a 2D or 3D geometry whose pad_l is set: pad_r makes the output
 * size match floor((in + 2p - k) / s) + 1 exactly. A failed init releases what it made. */
static gboolean
plan_init_dnnl (PfConvPlan *p, PfConvGeom *g, bool bias, GError **error)
{
  for (int i = 0; i < g->ndims - 2; i++)
    g->pad_r[i] = (g->dst[2 + i] - 1) * g->strides[i] + g->wei[2 + i] - g->src[2 + i] - g->pad_l[i];
  if (!dnnl_conv_init (&p->dnnl, g, bias, error))
    {
      dnnl_conv_clear (&p->dnnl);
      return FALSE;
    }
  return TRUE;
}

static gboolean
plan_init_2d (PfConvPlan *p, const PfConv2dDesc *d, bool bias, PfConvImpl impl, GError **error)
{
  if (!conv2d_desc_check (d, error))
    return FALSE;
  if (impl == PF_CONV_IMPL_AUTO)
    impl = conv_pick_impl (d);
  if (impl == PF_CONV_IMPL_DIRECT && !_pf_conv_direct_supported (d))
    {
      g_set_error (error, PF_ERROR, PF_ERROR_UNSUPPORTED,
                   "conv2d: the direct path needs stride 1, padding < kernel and kw <= 8");
      return FALSE;
    }
  p->impl = impl;
  p->bias = bias;
  p->c_out = d->c_out;
  if (impl == PF_CONV_IMPL_DIRECT)
    {
      _pf_conv_direct_init (&p->direct, d);
      return TRUE;
    }
  PfConvGeom g = { .ndims = 4, .c_out = d->c_out,
                   .src = { d->n, d->c_in, d->h, d->w },
                   .wei = { d->c_out, d->c_in, d->kh, d->kw },
                   .dst = { d->n, d->c_out, pf_conv2d_out_h (d), pf_conv2d_out_w (d) },
                   .strides = { d->sh, d->sw },
                   .pad_l = { d->ph, d->pw } };
  return plan_init_dnnl (p, &g, bias, error);
}

static void
plan_clear (PfConvPlan *p)
{
  if (p->impl == PF_CONV_IMPL_DIRECT)
    _pf_conv_direct_clear (&p->direct);
  else
    dnnl_conv_clear (&p->dnnl);
}

static void
plan_forward (PfConvPlan *p, const float *x, const float *w, const float *b, float *y)
{
  if (!p->bias)
    b = NULL;
  if (p->impl == PF_CONV_IMPL_DIRECT)
    _pf_conv_direct_forward (&p->direct, x, w, b, y);
  else
    dnnl_conv_forward (&p->dnnl, x, w, b, y);
}

static void
plan_backward (PfConvPlan *p, const float *x, const float *w, const float *dy, float *dx,
               float *dw, float *db)
{
  if (!p->bias)
    db = NULL;
  if (!dx && !dw && !db)
    return;
  if (p->impl == PF_CONV_IMPL_DIRECT)
    _pf_conv_direct_backward (&p->direct, x, w, dy, dx, dw, db);
  else
    dnnl_conv_backward (&p->dnnl, x, w, dy, dx, dw, db, p->c_out);
}

PfConv2dFast *
pf_conv2d_fast_new_with_impl (const PfConv2dDesc *d, bool bias, PfConvImpl impl, GError **error)
{
  g_return_val_if_fail (d != NULL, NULL);
  PfConv2dFast *c = g_new0 (PfConv2dFast, 1);
  if (!plan_init_2d (&c->p, d, bias, impl, error))
    {
      g_free (c);
      return NULL;
    }
  return c;
}

PfConv2dFast *
pf_conv2d_fast_new (const PfConv2dDesc *d, bool bias, GError **error)
{
  return pf_conv2d_fast_new_with_impl (d, bias, PF_CONV_IMPL_AUTO, error);
}

PfConvImpl
pf_conv2d_fast_impl (const PfConv2dFast *p)
{
  return p->p.impl;
}

void
pf_conv2d_fast_forward (PfConv2dFast *p, const float *x, const float *w, const float *b, float *y)
{
  plan_forward (&p->p, x, w, b, y);
}

void
pf_conv2d_fast_backward (PfConv2dFast *p, const float *x, const float *w, const float *dy,
                         float *dx, float *dw, float *db)
{
  plan_backward (&p->p, x, w, dy, dx, dw, db);
}

void
pf_conv2d_fast_free (PfConv2dFast *p)
{
  if (!p)
    return;
  plan_clear (&p->p);
  g_free (p);
}

/* ---- conv3d -------------------------------------------------------------------------- */

PfConv3dFast *
pf_conv3d_fast_new (const PfConv3dDesc *d, bool bias, GError **error)
{
  g_return_val_if_fail (d != NULL, NULL);
  if (d->n <= 0 || d->c_in <= 0 || d->c_out <= 0 || d->d <= 0 || d->h <= 0 || d->w <= 0
      || d->kd <= 0 || d->kh <= 0 || d->kw <= 0 || d->sd <= 0 || d->sh <= 0 || d->sw <= 0
      || d->pd < 0 || d->ph < 0 || d->pw < 0 || pf_conv3d_out_d (d) <= 0
      || pf_conv3d_out_h (d) <= 0 || pf_conv3d_out_w (d) <= 0
      || d->d + 2 * d->pd < d->kd || d->h + 2 * d->ph < d->kh || d->w + 2 * d->pw < d->kw)
    {
      g_set_error (error, PF_ERROR, PF_ERROR_SHAPE,
                   "conv3d: invalid shape x [%d, %d, %d, %d, %d], w [%d, %d, %d, %d, %d]",
                   d->n, d->c_in, d->d, d->h, d->w, d->c_out, d->c_in, d->kd, d->kh, d->kw);
      return NULL;
    }
  PfConv3dFast *c = g_new0 (PfConv3dFast, 1);
  gboolean ok;
  if (d->kd == d->d && d->pd == 0)
    {
      /* Depth fully covered by the kernel: x [n, ci, d, h, w] is x [n, ci*d, h, w] and
       * w [co, ci, d, kh, kw] is w [co, ci*d, kh, kw] in memory, and the output depth is 1. */
      PfConv2dDesc d2 = { d->n, d->c_in * d->d, d->h, d->w, d->c_out, d->kh, d->kw,
                          d->sh, d->sw, d->ph, d->pw };
      ok = plan_init_2d (&c->p, &d2, bias, PF_CONV_IMPL_AUTO, error);
    }
  else
    {
      PfConvGeom g = { .ndims = 5, .c_out = d->c_out,
                       .src = { d->n, d->c_in, d->d, d->h, d->w },
                       .wei = { d->c_out, d->c_in, d->kd, d->kh, d->kw },
                       .dst = { d->n, d->c_out, pf_conv3d_out_d (d), pf_conv3d_out_h (d),
                                pf_conv3d_out_w (d) },
                       .strides = { d->sd, d->sh, d->sw },
                       .pad_l = { d->pd, d->ph, d->pw } };
      c->p.impl = PF_CONV_IMPL_DNNL;
      c->p.bias = bias;
      c->p.c_out = d->c_out;
      ok = plan_init_dnnl (&c->p, &g, bias, error);
    }
  if (!ok)
    {
      g_free (c);
      return NULL;
    }
  return c;
}

void
pf_conv3d_fast_forward (PfConv3dFast *p, const float *x, const float *w, const float *b, float *y)
{
  plan_forward (&p->p, x, w, b, y);
}

void
pf_conv3d_fast_backward (PfConv3dFast *p, const float *x, const float *w, const float *dy,
                         float *dx, float *dw, float *db)
{
  plan_backward (&p->p, x, w, dy, dx, dw, db);
}

void
pf_conv3d_fast_free (PfConv3dFast *p)
{
  if (!p)
    return;
  plan_clear (&p->p);
  g_free (p);
}
