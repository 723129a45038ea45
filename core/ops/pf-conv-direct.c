/* pf-conv-direct.c — direct convolution loops of the fast CPU path, for tiny channel counts.
 *
 * Row-vectorised loops over a zero-padded copy of the input, for layers whose channel counts
 * are too small for oneDNN's 16-channel blocks (4->8, 16->1, the 3->2 of the 3D front end):
 * oneDNN pads those to 16 and wastes up to 16x the work. Stride 1 only; backward data is the
 * same loop on dy with flipped weights, backward weights a separate vectorised reduction.
 * Per-thread partial gradients are summed in thread order, so results are reproducible.
 * The plans that choose this path live in pf-conv-dnnl.c; the entry points are declared in
 * pf-conv-private.h. */
#include "pf-conv-private.h"
#include <omp.h>
#include <string.h>

/* 8 floats: one AVX register; GCC lowers it to whatever the target has. */
typedef float pf_v8 __attribute__ ((vector_size (32)));
#define PF_VL 8

static inline pf_v8
v8_load (const float *p)
{
  pf_v8 v;
  memcpy (&v, p, sizeof v);
  return v;
}

static inline void
v8_store (float *p, pf_v8 v)
{
  memcpy (p, &v, sizeof v);
}

static inline int
round_up (int a, int m)
{
  return (a + m - 1) / m * m;
}

/* Stride-1 correlation of a zero-padded input: for every output row oh and width block,
 *   y[o][oh][ow] (= or +=) b[o] + sum_{c,r,s} w[o][c][r][s] * xp[c][oh + r][ow + s]
 * with NO output channels and NV vectors of 8 outputs held in registers, so each input load
 * feeds NO multiply-adds. xp rows are wide enough (wp >= round_up(wo, 8) + kw - 1) that the
 * last, partial vector reads padding rather than past the row. */
typedef struct {
  int ci, co, kh, kw, hp, wp, ho, wo;
  const float *xp, *w, *b;
  float *y;
  bool accumulate;
} PfDirectRows;

static inline __attribute__ ((always_inline)) void
direct_block (const PfDirectRows *a, int oh, int ow0, int o0, const int NO, const int NV)
{
  pf_v8 acc[4][4];
  const int plane = a->ho * a->wo;
  const int valid = a->wo - ow0; /* outputs left in this row */
  for (int o = 0; o < NO; o++)
    for (int j = 0; j < NV; j++)
      {
        float *yp = a->y + (size_t) (o0 + o) * plane + (size_t) oh * a->wo + ow0 + j * PF_VL;
        if (a->accumulate)
          {
            if (valid >= (j + 1) * PF_VL)
              acc[o][j] = v8_load (yp);
            else
              {
                float t[PF_VL] = { 0 };
                for (int l = 0; l < valid - j * PF_VL && l < PF_VL; l++)
                  t[l] = yp[l];
                acc[o][j] = v8_load (t);
              }
          }
        else
          {
            const float bv = a->b ? a->b[o0 + o] : 0.0f;
            acc[o][j] = (pf_v8) { bv, bv, bv, bv, bv, bv, bv, bv };
          }
      }
  const int taps = a->kh * a->kw;
  for (int c = 0; c < a->ci; c++)
    for (int r = 0; r < a->kh; r++)
      {
        const float *xr = a->xp + ((size_t) c * a->hp + oh + r) * a->wp + ow0;
        const float *wr = a->w + ((size_t) o0 * a->ci + c) * taps + r * a->kw;
        for (int s = 0; s < a->kw; s++)
          {
            pf_v8 xv[4];
            for (int j = 0; j < NV; j++)
              xv[j] = v8_load (xr + s + j * PF_VL);
            for (int o = 0; o < NO; o++)
              {
                const float wv = wr[(size_t) o * a->ci * taps + s];
                for (int j = 0; j < NV; j++)
                  acc[o][j] += wv * xv[j];
              }
          }
      }
  for (int o = 0; o < NO; o++)
    for (int j = 0; j < NV; j++)
      {
        float *yp = a->y + (size_t) (o0 + o) * plane + (size_t) oh * a->wo + ow0 + j * PF_VL;
        if (valid >= (j + 1) * PF_VL)
          v8_store (yp, acc[o][j]);
        else
          {
            float t[PF_VL];
            v8_store (t, acc[o][j]);
            for (int l = 0; l < valid - j * PF_VL && l < PF_VL; l++)
              yp[l] = t[l];
          }
      }
}

#define DIRECT_NV(NO) \
  switch (nv) \
    { \
    case 4: direct_block (a, oh, ow0, o0, NO, 4); break; \
    case 3: direct_block (a, oh, ow0, o0, NO, 3); break; \
    case 2: direct_block (a, oh, ow0, o0, NO, 2); break; \
    default: direct_block (a, oh, ow0, o0, NO, 1); break; \
    }

static void
direct_rows (const PfDirectRows *a)
{
  for (int oh = 0; oh < a->ho; oh++)
    for (int ow0 = 0; ow0 < a->wo; ow0 += 4 * PF_VL)
      {
        const int nv = MIN (4, (a->wo - ow0 + PF_VL - 1) / PF_VL);
        for (int o0 = 0; o0 < a->co; o0 += 4)
          switch (MIN (4, a->co - o0))
            {
            case 4: DIRECT_NV (4); break;
            case 3: DIRECT_NV (3); break;
            case 2: DIRECT_NV (2); break;
            default: DIRECT_NV (1); break;
            }
      }
}

/* dw[o][c][r][s] += sum_{oh,ow} dyp[o][oh][ow] * xp[c][oh + r][ow + s]; dyp rows are wo8 wide
 * with zeros past wo, so whole vectors can be used. KW is a constant for the common widths. */
static inline __attribute__ ((always_inline)) void
direct_dw_kw (int ci, int co, int kh, int hp, int wp, int ho, int wo8, const float *xp,
              const float *dyp, float *dw, const int KW)
{
  for (int o = 0; o < co; o++)
    for (int c = 0; c < ci; c++)
      for (int r = 0; r < kh; r++)
        {
          pf_v8 acc[8] = { 0 };
          for (int oh = 0; oh < ho; oh++)
            {
              const float *dr = dyp + ((size_t) o * ho + oh) * wo8;
              const float *xr = xp + ((size_t) c * hp + oh + r) * wp;
              for (int j = 0; j < wo8; j += PF_VL)
                {
                  const pf_v8 dv = v8_load (dr + j);
                  for (int s = 0; s < KW; s++)
                    acc[s] += dv * v8_load (xr + j + s);
                }
            }
          float *dwr = dw + (((size_t) o * ci + c) * kh + r) * KW;
          for (int s = 0; s < KW; s++)
            {
              float t = 0;
              for (int l = 0; l < PF_VL; l++)
                t += acc[s][l];
              dwr[s] += t;
            }
        }
}

static void
direct_dw (int ci, int co, int kh, int kw, int hp, int wp, int ho, int wo8, const float *xp,
           const float *dyp, float *dw)
{
  switch (kw)
    {
    case 1: direct_dw_kw (ci, co, kh, hp, wp, ho, wo8, xp, dyp, dw, 1); break;
    case 3: direct_dw_kw (ci, co, kh, hp, wp, ho, wo8, xp, dyp, dw, 3); break;
    case 5: direct_dw_kw (ci, co, kh, hp, wp, ho, wo8, xp, dyp, dw, 5); break;
    case 7: direct_dw_kw (ci, co, kh, hp, wp, ho, wo8, xp, dyp, dw, 7); break;
    default:
      /* Any other width (<= 8), without unrolling. */
      direct_dw_kw (ci, co, kh, hp, wp, ho, wo8, xp, dyp, dw, kw);
      break;
    }
}

/* Per-thread buffers of the direct path; borders are zeroed once and never written. */
struct _PfDirectThread {
  float *xp;    /* ci planes hp x wp: padded input */
  float *dyp;   /* co planes hp2 x wp2: dy padded for the backward-data correlation */
  float *dy8;   /* co planes ho x wo8: dy with rows widened to whole vectors */
  float *dw;    /* co*ci*kh*kw partial weight gradient */
  double db[]; /* partial bias gradient, co doubles, allocated after the struct */
};

/* The direct path handles stride 1, padding smaller than the kernel, kw <= 8. */
bool
_pf_conv_direct_supported (const PfConv2dDesc *d)
{
  return d->sh == 1 && d->sw == 1 && d->ph < d->kh && d->pw < d->kw && d->kw <= 8
         && d->ph >= 0 && d->pw >= 0;
}

void
_pf_conv_direct_init (PfDirectConv *c, const PfConv2dDesc *d)
{
  c->n = d->n; c->ci = d->c_in; c->co = d->c_out; c->h = d->h; c->w = d->w;
  c->kh = d->kh; c->kw = d->kw; c->ph = d->ph; c->pw = d->pw;
  c->ho = pf_conv2d_out_h (d);
  c->wo = pf_conv2d_out_w (d);
  c->wo8 = round_up (c->wo, PF_VL);
  c->hp = d->h + 2 * d->ph;
  c->wp = MAX (d->w + 2 * d->pw, c->wo8 + d->kw - 1);
  c->qh = d->kh - 1 - d->ph;
  c->qw = d->kw - 1 - d->pw;
  c->hp2 = c->ho + 2 * c->qh;
  c->wp2 = MAX (c->wo + 2 * c->qw, round_up (d->w, PF_VL) + d->kw - 1);
  c->nthreads = pf_ops_fast_threads ();
  c->wt = g_new (float, (size_t) c->ci * c->co * c->kh * c->kw);
  c->t = g_new0 (PfDirectThread *, c->nthreads);
  for (int i = 0; i < c->nthreads; i++)
    {
      PfDirectThread *t = g_malloc0 (sizeof *t + sizeof (double) * c->co);
      t->xp = g_new0 (float, (size_t) c->ci * c->hp * c->wp);
      t->dyp = g_new0 (float, (size_t) c->co * c->hp2 * c->wp2);
      t->dy8 = g_new0 (float, (size_t) c->co * c->ho * c->wo8);
      t->dw = g_new0 (float, (size_t) c->co * c->ci * c->kh * c->kw);
      c->t[i] = t;
    }
}

void
_pf_conv_direct_clear (PfDirectConv *c)
{
  for (int i = 0; c->t && i < c->nthreads; i++)
    {
      g_free (c->t[i]->xp);
      g_free (c->t[i]->dyp);
      g_free (c->t[i]->dy8);
      g_free (c->t[i]->dw);
      g_free (c->t[i]);
    }
  g_free (c->t);
  g_free (c->wt);
  memset (c, 0, sizeof *c);
}

/* Copies planes [np][rows][cols] into the interior of padded planes [np][prows][pcols] at
 * offset (r0, c0); the padding is left as it is (zero). */
static void
pad_planes (int np, int rows, int cols, const float *src, int prows, int pcols, int r0, int c0,
            float *dst)
{
  for (int p = 0; p < np; p++)
    for (int r = 0; r < rows; r++)
      memcpy (dst + ((size_t) p * prows + r + r0) * pcols + c0,
              src + ((size_t) p * rows + r) * cols, sizeof (float) * cols);
}

void
_pf_conv_direct_forward (PfDirectConv *c, const float *x, const float *w, const float *b, float *y)
{
  const size_t xs = (size_t) c->ci * c->h * c->w, ys = (size_t) c->co * c->ho * c->wo;
#pragma omp parallel for schedule(static) num_threads(c->nthreads)
  for (int n = 0; n < c->n; n++)
    {
      PfDirectThread *t = c->t[omp_get_thread_num ()];
      pad_planes (c->ci, c->h, c->w, x + n * xs, c->hp, c->wp, c->ph, c->pw, t->xp);
      PfDirectRows a = { c->ci, c->co, c->kh, c->kw, c->hp, c->wp, c->ho, c->wo,
                         t->xp, w, b, y + n * ys, false };
      direct_rows (&a);
    }
}

void
_pf_conv_direct_backward (PfDirectConv *c, const float *x, const float *w, const float *dy,
                          float *dx, float *dw, float *db)
{
  const size_t xs = (size_t) c->ci * c->h * c->w, ys = (size_t) c->co * c->ho * c->wo;
  const int taps = c->kh * c->kw;
  const size_t wn = (size_t) c->co * c->ci * taps;
  if (dx)
    {
      /* dx is the correlation of dy with the weights flipped in space and with in/out swapped. */
      for (int o = 0; o < c->co; o++)
        for (int i = 0; i < c->ci; i++)
          for (int k = 0; k < taps; k++)
            c->wt[((size_t) i * c->co + o) * taps + k] = w[((size_t) o * c->ci + i) * taps + taps - 1 - k];
    }
#pragma omp parallel num_threads(c->nthreads)
  {
    PfDirectThread *t = c->t[omp_get_thread_num ()];
    if (dw)
      memset (t->dw, 0, sizeof (float) * wn);
    memset (t->db, 0, sizeof (double) * c->co);
#pragma omp for schedule(static)
    for (int n = 0; n < c->n; n++)
      {
        const float *dyn = dy + n * ys;
        if (dx)
          {
            pad_planes (c->co, c->ho, c->wo, dyn, c->hp2, c->wp2, c->qh, c->qw, t->dyp);
            PfDirectRows a = { c->co, c->ci, c->kh, c->kw, c->hp2, c->wp2, c->h, c->w,
                               t->dyp, c->wt, NULL, dx + n * xs, true };
            direct_rows (&a);
          }
        if (dw)
          {
            pad_planes (c->ci, c->h, c->w, x + n * xs, c->hp, c->wp, c->ph, c->pw, t->xp);
            const float *d8 = dyn;
            if (c->wo8 != c->wo)
              {
                pad_planes (c->co, c->ho, c->wo, dyn, c->ho, c->wo8, 0, 0, t->dy8);
                d8 = t->dy8;
              }
            direct_dw (c->ci, c->co, c->kh, c->kw, c->hp, c->wp, c->ho, c->wo8, t->xp, d8, t->dw);
          }
        if (db)
          for (int o = 0; o < c->co; o++)
            {
              const float *p = dyn + (size_t) o * c->ho * c->wo;
              float s = 0;
              for (int i = 0; i < c->ho * c->wo; i++)
                s += p[i];
              t->db[o] += s;
            }
      }
  }
  /* Partials summed in thread order: the same result at every call. */
  for (int i = 0; i < c->nthreads; i++)
    {
      if (dw)
        for (size_t k = 0; k < wn; k++)
          dw[k] += c->t[i]->dw[k];
      if (db)
        for (int o = 0; o < c->co; o++)
          db[o] += (float) c->t[i]->db[o];
    }
}
