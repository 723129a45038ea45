/* pf-conv-private.h — internal API shared by the two convolution files of the fast path.
 *
 * pf-conv-dnnl.c owns the plans (lifecycle, the per-shape choice of implementation, the
 * conv3d-as-conv2d folding) and the oneDNN implementation; pf-conv-direct.c holds the direct
 * row-vectorised loops for tiny channel counts. The plan embeds a PfDirectConv by value, so its
 * layout is declared here; everything else of the direct path stays private to its file.
 * Not installed, not part of pf-ops-fast.h. */
#pragma once

#include "pf-ops-fast.h"

G_BEGIN_DECLS

/* Per-thread buffers of the direct path; defined in pf-conv-direct.c. */
typedef struct _PfDirectThread PfDirectThread;

/* State of one direct-path plan: geometry, padded sizes, per-thread buffers. */
typedef struct {
  int n, ci, co, h, w, kh, kw, ph, pw, ho, wo;
  int hp, wp;       /* padded input planes */
  int qh, qw;       /* backward-data padding: kh - 1 - ph */
  int hp2, wp2;     /* padded dy planes */
  int wo8;
  int nthreads;
  float *wt;        /* flipped, transposed weights [ci][co][kh][kw] */
  PfDirectThread **t;
} PfDirectConv;

/* The direct path handles stride 1, padding smaller than the kernel, kw <= 8. */
bool _pf_conv_direct_supported (const PfConv2dDesc *d);
/* Sizes and allocates the buffers for d; the caller checked _pf_conv_direct_supported. */
void _pf_conv_direct_init (PfDirectConv *c, const PfConv2dDesc *d);
void _pf_conv_direct_clear (PfDirectConv *c);
/* Semantics of pf_conv2d_fast_forward/_backward (y =, dx/dw/db +=); b and db may be NULL. */
void _pf_conv_direct_forward (PfDirectConv *c, const float *x, const float *w, const float *b,
                              float *y);
void _pf_conv_direct_backward (PfDirectConv *c, const float *x, const float *w, const float *dy,
                               float *dx, float *dw, float *db);

G_END_DECLS
