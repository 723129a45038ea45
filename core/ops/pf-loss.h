/* pf-loss.h — the training losses (DESIGN.md §6): value and gradient w.r.t. the prediction.
 *
 * Images are [n, 1, h, w] float32 (rows = eta, columns = phi). Values are accumulated in double.
 *  - MSE:  mean over all elements of (p - y)^2.
 *  - WMSE: per image sum(y (p - y)^2) / (sum(y) + 1e-8), mean over the batch.
 *  - SSIM: 11x11 Gaussian window (sigma 1.5, the outer product of the normalised 1-D window),
 *          C1 = (0.01 L)^2, C2 = (0.03 L)^2, over VALID positions only ((h-10) x (w-10) map),
 *          mean over map and batch; the loss is 1 - SSIM. Needs h, w >= 11.
 *  - MIX:  WMSE + lambda (1 - SSIM).
 * paper_compat reproduces the published code, whose numbers differ: WMSE per phi column
 * (sum over rows / (column sum + 1e-8), mean over columns and batch), and pytorch-ssim with a
 * 1x11 window (horizontal only) applied by F.conv2d(padding=5) on both axes, so the map has
 * h + 10 rows and the 10 zero-padded rows (SSIM = 1 there) enter the mean.
 *
 * Unlike the ops in pf-ops.h, the gradient is OVERWRITTEN: the loss is the root of backward.
 * The Gaussian filtering runs as two separable 1-D passes in a workspace planned once, so a
 * training step does not allocate. */
#pragma once
#include <stddef.h>
#include <stdbool.h>
#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  PF_LOSS_MSE,
  PF_LOSS_WMSE,
  PF_LOSS_SSIM,
  PF_LOSS_MIX,
} PfLossKind;

typedef struct {
  PfLossKind kind;
  int n, h, w;          /* [n, 1, h, w] */
  float lambda;         /* MIX weight of (1 - SSIM); 0.05 by default */
  float data_range;     /* L of C1, C2; 1 after normalisation */
  bool paper_compat;
} PfLossDesc;

/* The separate terms, for the training logs. Terms a kind does not compute are NAN. */
typedef struct {
  double total;         /* what pf_loss_forward returns */
  double mse;           /* MSE only */
  double wmse;          /* WMSE and MIX */
  double ssim;          /* SSIM and MIX: the similarity itself (1 - loss term) */
} PfLossParts;

#define PF_LOSS_DEFAULT_LAMBDA 0.05f
#define PF_LOSS_WMSE_EPS 1e-8
#define PF_SSIM_WINDOW 11
#define PF_SSIM_SIGMA 1.5

/* Fills d with the defaults (lambda 0.05, data range 1, published behaviour off). */
void pf_loss_desc_init (PfLossDesc *d, PfLossKind kind, int n, int h, int w);

/* FALSE with PF_ERROR_INVALID/PF_ERROR_SHAPE when the shape cannot carry the loss (e.g. an
 * image smaller than the 11x11 SSIM window, a non-finite lambda, a data range <= 0). */
gboolean pf_loss_desc_check (const PfLossDesc *d, GError **error);

/* "mse", "wmse", "ssim", "mix" (case-insensitive). FALSE for anything else. */
gboolean pf_loss_kind_parse (const char *s, PfLossKind *out);
const char *pf_loss_kind_name (PfLossKind kind);

/* Floats of workspace pf_loss_forward needs (0 for MSE and WMSE). Plan it once per shape. */
size_t pf_loss_workspace_floats (const PfLossDesc *d);

/* The loss value. dpred NULL = value only; otherwise it is OVERWRITTEN with dL/dpred
 * [n, 1, h, w]. workspace holds pf_loss_workspace_floats (d) floats (may be NULL when that
 * is 0). The description must pass pf_loss_desc_check. */
double pf_loss_forward (const PfLossDesc *d, const float *pred, const float *target,
                        float *dpred, float *workspace);
/* The same, and the separate terms in *parts (may be NULL). */
double pf_loss_forward_parts (const PfLossDesc *d, const float *pred, const float *target,
                              float *dpred, float *workspace, PfLossParts *parts);

/* The normalised 1-D Gaussian window of size PF_SSIM_WINDOW, sigma PF_SSIM_SIGMA
 * (pytorch-ssim's `gaussian`): the taps of both separable passes. */
void pf_ssim_window_1d (float win[PF_SSIM_WINDOW]);

G_END_DECLS
