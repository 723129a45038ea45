/* pf-cuda-ssim.cu — the training losses of core/ops/pf-loss.h on the GPU (pf-cuda-loss.h):
 * MSE, WMSE, SSIM and MIX, default and paper_compat, value parts and gradient.
 *
 * Each kernel repeats the arithmetic of pf-loss.c where it rounds: products of the SSIM
 * inputs in float, each separable pass summed in double and stored as float, the per-position
 * SSIM and its derivatives in double stored as float, the gradient assembled in float in the
 * CPU's order (__f*_rn keeps nvcc from contracting it). The GPU then agrees with the CPU to a
 * few float ulps, not just to a tolerance.
 *
 * SSIM runs in two tiled kernels over 16x16 tiles, one block (256 threads) per tile of one
 * image, everything in shared memory:
 *  - forward: a map tile plus its halo of inputs is loaded, the horizontal pass makes the 5
 *    row-filtered maps (x, y, xx, yy, xy) over the tile's rows + halo, the vertical pass the
 *    5 filtered values at each map position; each thread computes S and the three map
 *    gradients dS/dmx, dS/dF(xx), dS/dF(xy) (times -1/(n m), or -lambda/(n m) for MIX),
 *    written to the workspace, and the block's sum of S goes to a per-block partial;
 *  - backward: an input tile gathers the gradient maps over the positions whose windows
 *    cover it, applies the adjoint of the vertical pass then of the horizontal one (the
 *    filter's transpose, taps in the CPU's order) and combines them with x and y into dpred.
 * The window is 11 taps wide; its height is a template parameter (11, or 1 for the published
 * 1x11 window, whose map also has 5 zero-padded rows and columns on each side).
 *
 * Reductions: fixed-size partial sums in double, one per block (per image for WMSE, per tile
 * for SSIM, a count fixed by the size for MSE), then one block sums them in a fixed order and
 * writes {total, mse, wmse, ssim}. No atomics: the same bits on every run. */
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <math_constants.h>
#include "pf-cuda-private.h"
#include "pf-cuda-loss.h"
#include "pf-loss.h"

#define TILE 16                 /* a tile is TILE x TILE map positions or pixels */
#define KW PF_SSIM_WINDOW       /* taps along a row (both variants) */
#define MSE_MAX_BLOCKS 1024     /* blocks of the MSE partial sums: a function of the size only */

static_assert (TILE * TILE == PF_CUDA_BLOCK, "one thread per tile position");

/* What the SSIM kernels need to know, passed by value. */
typedef struct {
  int h, w;        /* image */
  int ph, pw;      /* zero padding of the filter (5 for paper_compat, else 0) */
  int oh, ow;      /* SSIM map */
  int map_tx, map_tiles; /* map tiles per row of tiles, per image */
  int img_tx, img_tiles; /* input tiles, the same */
  double c1, c2;
  double k;        /* d(loss)/d(S at one position): -1/(n m), or -lambda/(n m) for MIX */
  float gv[PF_SSIM_WINDOW]; /* vertical taps (only gv[0] = 1 with the 1x11 window) */
  float gh[PF_SSIM_WINDOW]; /* horizontal taps */
} SsimGeom;

/* ---- MSE and WMSE ------------------------------------------------------------------- */

/* partial[block] = sum of (p - t)^2 over a grid-stride share; dp = k (p - t), k = 2 / count */
__global__ static void
mse_kernel (size_t count, const float *__restrict__ p, const float *__restrict__ t, double k,
            float *__restrict__ dp, double *__restrict__ partial)
{
  __shared__ double sh[PF_CUDA_BLOCK];
  double s = 0;
  for (size_t i = blockIdx.x * (size_t) PF_CUDA_BLOCK + threadIdx.x; i < count;
       i += (size_t) gridDim.x * PF_CUDA_BLOCK)
    {
      double e = (double) p[i] - (double) t[i];
      s += e * e;
      if (dp)
        dp[i] = (float) (k * e);
    }
  s = _pf_block_sum (s, sh);
  if (threadIdx.x == 0)
    partial[blockIdx.x] = s;
}

/* One block per image: per_image[b] = sum t (p - t)^2 / (sum t + 1e-8);
 * dp = 2 t (p - t) / (den n), OVERWRITTEN. */
__global__ static void
wmse_kernel (size_t hw, int n, const float *__restrict__ p, const float *__restrict__ t,
             float *__restrict__ dp, double *__restrict__ per_image)
{
  __shared__ double sh[PF_CUDA_BLOCK];
  const size_t off = (size_t) blockIdx.x * hw;
  const float *pb = p + off, *yb = t + off;
  double num = 0, den = 0;
  for (size_t i = threadIdx.x; i < hw; i += PF_CUDA_BLOCK)
    {
      double y = yb[i], e = (double) pb[i] - y;
      num += y * e * e;
      den += y;
    }
  num = _pf_block_sum (num, sh);
  den = _pf_block_sum (den, sh) + PF_LOSS_WMSE_EPS;
  if (threadIdx.x == 0)
    per_image[blockIdx.x] = num / den;
  if (dp)
    {
      const double k = 2.0 / (den * n);
      float *db = dp + off;
      for (size_t i = threadIdx.x; i < hw; i += PF_CUDA_BLOCK)
        db[i] = (float) (k * yb[i] * ((double) pb[i] - yb[i]));
    }
}

/* paper_compat: one block per image, one thread per phi column (sum over the eta rows);
 * per_image[b] = sum over the columns of num / den; dp = 2 t (p - t) / (den n w). */
__global__ static void
wmse_cols_kernel (int h, int w, int n, const float *__restrict__ p, const float *__restrict__ t,
                  float *__restrict__ dp, double *__restrict__ per_image)
{
  __shared__ double sh[PF_CUDA_BLOCK];
  const size_t off = (size_t) blockIdx.x * h * w;
  double acc = 0;
  for (int j = threadIdx.x; j < w; j += PF_CUDA_BLOCK)
    {
      const float *pb = p + off + j, *yb = t + off + j;
      double num = 0, den = 0;
      for (int i = 0; i < h; i++)
        {
          size_t o = (size_t) i * w;
          double y = yb[o], e = (double) pb[o] - y;
          num += y * e * e;
          den += y;
        }
      den += PF_LOSS_WMSE_EPS;
      acc += num / den;
      if (dp)
        {
          const double k = 2.0 / (den * n * w);
          float *db = dp + off + j;
          for (int i = 0; i < h; i++)
            {
              size_t o = (size_t) i * w;
              db[o] = (float) (k * yb[o] * ((double) pb[o] - yb[o]));
            }
        }
    }
  acc = _pf_block_sum (acc, sh);
  if (threadIdx.x == 0)
    per_image[blockIdx.x] = acc;
}

/* ---- SSIM --------------------------------------------------------------------------- */

/* One block per (image, map tile). Map position (r, c) filters input rows r - ph + a
 * (a < KH) and columns c - pw + b (b < KW); outside the image the input is zero, which adds
 * exact zeros to the double sums, so they equal the CPU's sums over the taps inside. */
template <int KH>
__global__ static void __launch_bounds__ (PF_CUDA_BLOCK)
ssim_forward_kernel (SsimGeom g, const float *__restrict__ pred, const float *__restrict__ target,
                     float *__restrict__ gmx, float *__restrict__ gxx, float *__restrict__ gxy,
                     double *__restrict__ partial)
{
  constexpr int ROWS = TILE + KH - 1, COLS = TILE + KW - 1;
  __shared__ float sx[ROWS][COLS], sy[ROWS][COLS];
  __shared__ float hs[5][ROWS][TILE];
  __shared__ double red[PF_CUDA_BLOCK];

  const int img = blockIdx.x / g.map_tiles, tile = blockIdx.x % g.map_tiles;
  const int r0 = tile / g.map_tx * TILE, c0 = tile % g.map_tx * TILE;
  const size_t hw = (size_t) g.h * g.w;
  const float *x = pred + img * hw, *y = target + img * hw;

  /* the inputs under the tile's windows */
  for (int e = threadIdx.x; e < ROWS * COLS; e += PF_CUDA_BLOCK)
    {
      const int lr = e / COLS, lc = e % COLS;
      const int i = r0 - g.ph + lr, j = c0 - g.pw + lc;
      float vx = 0.0f, vy = 0.0f;
      if (i >= 0 && i < g.h && j >= 0 && j < g.w)
        {
          const size_t o = (size_t) i * g.w + j;
          vx = x[o];
          vy = y[o];
        }
      sx[lr][lc] = vx;
      sy[lr][lc] = vy;
    }
  __syncthreads ();

  /* horizontal pass over every loaded row: 5 maps, double sums stored as float */
  for (int e = threadIdx.x; e < ROWS * TILE; e += PF_CUDA_BLOCK)
    {
      const int lr = e / TILE, lc = e % TILE;
      double s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0;
#pragma unroll
      for (int b = 0; b < KW; b++)
        {
          const float vx = sx[lr][lc + b], vy = sy[lr][lc + b];
          const double wb = g.gh[b];
          s0 += wb * vx;
          s1 += wb * vy;
          s2 += wb * __fmul_rn (vx, vx);
          s3 += wb * __fmul_rn (vy, vy);
          s4 += wb * __fmul_rn (vx, vy);
        }
      hs[0][lr][lc] = (float) s0;
      hs[1][lr][lc] = (float) s1;
      hs[2][lr][lc] = (float) s2;
      hs[3][lr][lc] = (float) s3;
      hs[4][lr][lc] = (float) s4;
    }
  __syncthreads ();

  /* vertical pass, then S and its map gradients at this thread's position */
  const int lr = threadIdx.x / TILE, lc = threadIdx.x % TILE;
  const int r = r0 + lr, c = c0 + lc;
  double s = 0;
  if (r < g.oh && c < g.ow)
    {
      double m0 = 0, m1 = 0, m2 = 0, m3 = 0, m4 = 0;
#pragma unroll
      for (int a = 0; a < KH; a++)
        {
          const double wa = g.gv[a];
          m0 += wa * hs[0][lr + a][lc];
          m1 += wa * hs[1][lr + a][lc];
          m2 += wa * hs[2][lr + a][lc];
          m3 += wa * hs[3][lr + a][lc];
          m4 += wa * hs[4][lr + a][lc];
        }
      /* the CPU keeps the filtered maps as float */
      const double ux = (float) m0, uy = (float) m1;
      const double exx = (float) m2, eyy = (float) m3, exy = (float) m4;
      const double sxx = exx - ux * ux, syy = eyy - uy * uy, sxy = exy - ux * uy;
      const double a1 = 2 * ux * uy + g.c1, a2 = 2 * sxy + g.c2;
      const double b1 = ux * ux + uy * uy + g.c1, b2 = sxx + syy + g.c2;
      const double bb = b1 * b2;
      s = a1 * a2 / bb;
      if (gmx)
        {
          const size_t q = (size_t) img * g.oh * g.ow + (size_t) r * g.ow + c;
          gmx[q] = (float) (g.k * (2 * uy * (a2 - a1) / bb - 2 * ux * s * (1 / b1 - 1 / b2)));
          gxx[q] = (float) (g.k * (-s / b2));
          gxy[q] = (float) (g.k * (2 * a1 / bb));
        }
    }
  s = _pf_block_sum (s, red);
  if (threadIdx.x == 0)
    partial[blockIdx.x] = s;
}

/* One block per (image, input tile). Pixel (i, j) is covered by the map positions
 * (i + ph - a, j + pw - b); the adjoint sums over the taps in the CPU's order, with zeros
 * for positions outside the map. dpred = [dpred +] F^T gmx + 2 x F^T gxx + y F^T gxy. */
template <int KH>
__global__ static void __launch_bounds__ (PF_CUDA_BLOCK)
ssim_backward_kernel (SsimGeom g, const float *__restrict__ pred,
                      const float *__restrict__ target, const float *__restrict__ gmx,
                      const float *__restrict__ gxx, const float *__restrict__ gxy,
                      float *dpred, int accumulate)
{
  constexpr int ROWS = TILE + KH - 1, COLS = TILE + KW - 1;
  __shared__ float sm[3][ROWS][COLS];
  __shared__ float sv[3][TILE][COLS];

  const int img = blockIdx.x / g.img_tiles, tile = blockIdx.x % g.img_tiles;
  const int i0 = tile / g.img_tx * TILE, j0 = tile % g.img_tx * TILE;
  /* map row of local row 0: pixel i0 with the last vertical tap; the same for columns */
  const int mr0 = i0 + g.ph - (KH - 1), mc0 = j0 + g.pw - (KW - 1);
  const size_t mo = (size_t) img * g.oh * g.ow;

  for (int e = threadIdx.x; e < ROWS * COLS; e += PF_CUDA_BLOCK)
    {
      const int lr = e / COLS, lc = e % COLS;
      const int r = mr0 + lr, c = mc0 + lc;
      float v0 = 0.0f, v1 = 0.0f, v2 = 0.0f;
      if (r >= 0 && r < g.oh && c >= 0 && c < g.ow)
        {
          const size_t q = mo + (size_t) r * g.ow + c;
          v0 = gmx[q];
          v1 = gxx[q];
          v2 = gxy[q];
        }
      sm[0][lr][lc] = v0;
      sm[1][lr][lc] = v1;
      sm[2][lr][lc] = v2;
    }
  __syncthreads ();

  /* adjoint of the vertical pass: pixel row i0 + li, every map column of the tile's span */
  for (int e = threadIdx.x; e < TILE * COLS; e += PF_CUDA_BLOCK)
    {
      const int li = e / COLS, lc = e % COLS;
      double s0 = 0, s1 = 0, s2 = 0;
#pragma unroll
      for (int a = 0; a < KH; a++)
        {
          const double wa = g.gv[a];
          const int lr = li - a + KH - 1; /* map row i + ph - a */
          s0 += wa * sm[0][lr][lc];
          s1 += wa * sm[1][lr][lc];
          s2 += wa * sm[2][lr][lc];
        }
      sv[0][li][lc] = (float) s0;
      sv[1][li][lc] = (float) s1;
      sv[2][li][lc] = (float) s2;
    }
  __syncthreads ();

  /* adjoint of the horizontal pass and the chain rule through x x and x y */
  const int li = threadIdx.x / TILE, lj = threadIdx.x % TILE;
  const int i = i0 + li, j = j0 + lj;
  if (i >= g.h || j >= g.w)
    return;
  double s0 = 0, s1 = 0, s2 = 0;
#pragma unroll
  for (int b = 0; b < KW; b++)
    {
      const double wb = g.gh[b];
      const int lc = lj - b + KW - 1; /* map column j + pw - b */
      s0 += wb * sv[0][li][lc];
      s1 += wb * sv[1][li][lc];
      s2 += wb * sv[2][li][lc];
    }
  const size_t o = (size_t) img * g.h * g.w + (size_t) i * g.w + j;
  const float xv = pred[o], yv = target[o];
  float v = accumulate ? dpred[o] : 0.0f;
  v = __fadd_rn (v, (float) s0);
  v = __fadd_rn (v, __fmul_rn (__fmul_rn (2.0f, xv), (float) s1));
  v = __fadd_rn (v, __fmul_rn (yv, (float) s2));
  dpred[o] = v;
}

/* ---- the parts ---------------------------------------------------------------------- */

/* One block: A = sum(a) / diva (MSE or WMSE), S = sum(s) / divs (mean SSIM), then
 * parts = {total, mse, wmse, ssim} as PfLossParts has them. */
__global__ static void
finish_kernel (int kind, const double *__restrict__ a, int na, double diva,
               const double *__restrict__ s, int ns, double divs, double lambda,
               float *__restrict__ parts)
{
  __shared__ double sh[PF_CUDA_BLOCK];
  double sa = 0, ss = 0;
  for (int i = threadIdx.x; i < na; i += PF_CUDA_BLOCK)
    sa += a[i];
  for (int i = threadIdx.x; i < ns; i += PF_CUDA_BLOCK)
    ss += s[i];
  sa = _pf_block_sum (sa, sh);
  ss = _pf_block_sum (ss, sh);
  if (threadIdx.x != 0)
    return;
  const double A = sa / diva, S = ss / divs;
  double total = CUDART_NAN, mse = CUDART_NAN, wmse = CUDART_NAN, ssim = CUDART_NAN;
  switch (kind)
    {
    case PF_LOSS_MSE:
      total = mse = A;
      break;
    case PF_LOSS_WMSE:
      total = wmse = A;
      break;
    case PF_LOSS_SSIM:
      ssim = S;
      total = 1.0 - S;
      break;
    case PF_LOSS_MIX:
      wmse = A;
      ssim = S;
      total = A + lambda * (1.0 - S);
      break;
    default:
      break;
    }
  parts[0] = (float) total;
  parts[1] = (float) mse;
  parts[2] = (float) wmse;
  parts[3] = (float) ssim;
}

/* ---- host side ---------------------------------------------------------------------- */

/* The workspace of one description: double partials first (na for MSE/WMSE, ns for SSIM),
 * then the three SSIM gradient maps of `map` floats each. */
typedef struct {
  gboolean ssim, padded;
  int mse_blocks;
  size_t na, ns, map;
  SsimGeom g;
} LossPlan;

static size_t
plan_floats (const LossPlan *p)
{
  return 2 * (p->na + p->ns) + 3 * p->map;
}

/* d has passed pf_loss_desc_check. The geometry follows ssim_geom of pf-loss.c. */
static void
loss_plan (const PfLossDesc *d, LossPlan *p)
{
  memset (p, 0, sizeof *p);
  const size_t count = (size_t) d->n * d->h * d->w;
  p->ssim = d->kind == PF_LOSS_SSIM || d->kind == PF_LOSS_MIX;
  switch (d->kind)
    {
    case PF_LOSS_MSE:
      {
        size_t need = (count + PF_CUDA_BLOCK - 1) / PF_CUDA_BLOCK;
        p->mse_blocks = (int) MIN (need, (size_t) MSE_MAX_BLOCKS);
        p->na = p->mse_blocks;
      }
      break;
    case PF_LOSS_WMSE:
    case PF_LOSS_MIX:
      p->na = d->n;
      break;
    default:
      break;
    }
  if (!p->ssim)
    return;
  SsimGeom *g = &p->g;
  p->padded = d->paper_compat;
  const int kh = p->padded ? 1 : PF_SSIM_WINDOW;
  g->h = d->h;
  g->w = d->w;
  pf_ssim_window_1d (g->gh);
  if (p->padded)
    {
      for (int a = 0; a < PF_SSIM_WINDOW; a++)
        g->gv[a] = a == 0 ? 1.0f : 0.0f;
      g->ph = g->pw = PF_SSIM_WINDOW / 2;
    }
  else
    {
      memcpy (g->gv, g->gh, sizeof g->gv);
      g->ph = g->pw = 0;
    }
  g->oh = g->h + 2 * g->ph - kh + 1;
  g->ow = g->w + 2 * g->pw - KW + 1;
  g->map_tx = (g->ow + TILE - 1) / TILE;
  g->map_tiles = g->map_tx * ((g->oh + TILE - 1) / TILE);
  g->img_tx = (g->w + TILE - 1) / TILE;
  g->img_tiles = g->img_tx * ((g->h + TILE - 1) / TILE);
  double c1 = 0.01 * d->data_range, c2 = 0.03 * d->data_range;
  g->c1 = c1 * c1;
  g->c2 = c2 * c2;
  const double m = (double) g->oh * g->ow;
  const double scale = d->kind == PF_LOSS_MIX ? -(double) d->lambda : -1.0;
  g->k = scale / (m * d->n);
  p->ns = (size_t) d->n * g->map_tiles;
  p->map = (size_t) d->n * g->oh * g->ow;
}

size_t
pf_cuda_loss_workspace_floats (const PfLossDesc *d)
{
  if (!d || !pf_loss_desc_check (d, NULL))
    return 0;
  LossPlan p;
  loss_plan (d, &p);
  return plan_floats (&p);
}

gboolean
pf_cuda_loss_forward_ws (PfCudaContext *ctx, const PfLossDesc *d, const float *pred,
                         const float *target, float *dpred, float *ws, size_t ws_floats,
                         float *dev_parts, GError **error)
{
  if (!pf_loss_desc_check (d, error))
    return FALSE;
  const char *name = pf_loss_kind_name (d->kind);
  if (!pred || !target)
    return _pf_cuda_invalid (error, "loss %s on the GPU: NULL prediction or target", name);
  LossPlan p;
  loss_plan (d, &p);
  const size_t count = (size_t) d->n * d->h * d->w;
  if (p.ssim && ((size_t) d->n * MAX (p.g.map_tiles, p.g.img_tiles) > (size_t) INT_MAX))
    return _pf_cuda_invalid (error, "loss %s on the GPU: batch of %d images too large", name, d->n);

  const size_t need = plan_floats (&p);
  void *base;
  if (ws && ws_floats >= need)
    {
      if ((uintptr_t) ws % sizeof (double) != 0)
        return _pf_cuda_invalid (error, "loss %s on the GPU: workspace not 8-byte aligned", name);
      base = ws;
    }
  else if (!(base = _pf_cuda_scratch (ctx, need * sizeof (float), error)))
    return FALSE;
  double *part_a = (double *) base;
  double *part_s = part_a + p.na;
  float *gmx = (float *) (part_s + p.ns);
  float *gxx = gmx + p.map, *gxy = gxx + p.map;
  double div_a = 1.0;

  /* the MSE or WMSE term first: it OVERWRITES dpred, SSIM adds to it in MIX */
  switch (d->kind)
    {
    case PF_LOSS_MSE:
      mse_kernel<<<p.mse_blocks, PF_CUDA_BLOCK, 0, ctx->stream>>> (count, pred, target,
                                                                   2.0 / (double) count, dpred,
                                                                   part_a);
      PF_CUDA_LAUNCHED ("mse_kernel");
      div_a = (double) count;
      break;
    case PF_LOSS_WMSE:
    case PF_LOSS_MIX:
      if (d->paper_compat)
        {
          wmse_cols_kernel<<<d->n, PF_CUDA_BLOCK, 0, ctx->stream>>> (d->h, d->w, d->n, pred,
                                                                     target, dpred, part_a);
          PF_CUDA_LAUNCHED ("wmse_cols_kernel");
          div_a = (double) d->n * d->w;
        }
      else
        {
          wmse_kernel<<<d->n, PF_CUDA_BLOCK, 0, ctx->stream>>> ((size_t) d->h * d->w, d->n, pred,
                                                                target, dpred, part_a);
          PF_CUDA_LAUNCHED ("wmse_kernel");
          div_a = (double) d->n;
        }
      break;
    default:
      break;
    }

  double div_s = 1.0;
  if (p.ssim)
    {
      const unsigned int fwd_blocks = (unsigned int) p.ns;
      const unsigned int bwd_blocks = (unsigned int) ((size_t) d->n * p.g.img_tiles);
      float *mx = dpred ? gmx : NULL; /* no gradient maps for a value-only call */
      const int accumulate = d->kind == PF_LOSS_MIX;
      if (p.padded)
        {
          ssim_forward_kernel<1><<<fwd_blocks, PF_CUDA_BLOCK, 0, ctx->stream>>> (
              p.g, pred, target, mx, gxx, gxy, part_s);
          PF_CUDA_LAUNCHED ("ssim_forward_kernel<1>");
          if (dpred)
            {
              ssim_backward_kernel<1><<<bwd_blocks, PF_CUDA_BLOCK, 0, ctx->stream>>> (
                  p.g, pred, target, gmx, gxx, gxy, dpred, accumulate);
              PF_CUDA_LAUNCHED ("ssim_backward_kernel<1>");
            }
        }
      else
        {
          ssim_forward_kernel<PF_SSIM_WINDOW><<<fwd_blocks, PF_CUDA_BLOCK, 0, ctx->stream>>> (
              p.g, pred, target, mx, gxx, gxy, part_s);
          PF_CUDA_LAUNCHED ("ssim_forward_kernel<11>");
          if (dpred)
            {
              ssim_backward_kernel<PF_SSIM_WINDOW><<<bwd_blocks, PF_CUDA_BLOCK, 0, ctx->stream>>> (
                  p.g, pred, target, gmx, gxx, gxy, dpred, accumulate);
              PF_CUDA_LAUNCHED ("ssim_backward_kernel<11>");
            }
        }
      div_s = (double) p.g.oh * p.g.ow * d->n;
    }

  if (dev_parts)
    {
      finish_kernel<<<1, PF_CUDA_BLOCK, 0, ctx->stream>>> ((int) d->kind, part_a, (int) p.na,
                                                           div_a, part_s, (int) p.ns, div_s,
                                                           (double) d->lambda, dev_parts);
      PF_CUDA_LAUNCHED ("finish_kernel");
    }
  return TRUE;
}

gboolean
pf_cuda_loss_forward (PfCudaContext *ctx, const PfLossDesc *d, const float *pred,
                      const float *target, float *dpred, float *ws, float *dev_parts,
                      GError **error)
{
  if (!pf_loss_desc_check (d, error))
    return FALSE;
  return pf_cuda_loss_forward_ws (ctx, d, pred, target, dpred, ws, pf_loss_workspace_floats (d),
                                  dev_parts, error);
}
