/* pf-cuda-loss.h — every training loss of core/ops/pf-loss.h on the GPU, in one entry point.
 *
 * pf_cuda_loss_forward computes what pf_loss_forward_parts computes on the CPU — MSE, WMSE,
 * SSIM (valid 11x11 Gaussian window) and MIX, each also with paper_compat (per-column WMSE,
 * 1x11 window zero-padded by 5 on both axes) — on DEVICE pointers:
 *  - pred, target [n, 1, h, w] as described by `d` (which must pass pf_loss_desc_check);
 *  - dev_parts (may be NULL): a device array of 4 floats receiving
 *    {total, mse, wmse, ssim} exactly as PfLossParts is filled (NAN for the terms the kind
 *    does not have);
 *  - dpred (may be NULL: value only) is OVERWRITTEN with dL/dpred, the loss being the root
 *    of backward.
 * It only queues kernels on the context's stream: no host synchronisation, no host copy, so
 * a training step can be captured in a CUDA graph. Reductions are fixed-order partial sums
 * in double (the same bits on every run, no float atomics), and the SSIM maps and the
 * gradient are rounded to float where the CPU reference rounds them, so the GPU agrees with
 * pf_loss_forward_parts to float rounding.
 *
 * Workspace. The GPU needs more than the CPU (pf_loss_workspace_floats is one image's
 * worth; the GPU works on the whole batch at once): pf_cuda_loss_workspace_floats (d) floats
 * (3 float maps of the batch's SSIM map size for the SSIM gradient, and the double partial
 * sums of every loss, MSE and WMSE included). pf_cuda_loss_forward_ws uses `ws` when it is
 * that large; otherwise, and always for pf_cuda_loss_forward (whose ws holds the CPU's
 * pf_loss_workspace_floats, as PfMemory.loss hands it out), what does not fit goes to the
 * context's scratch buffer, which is allocated on the first call and reused after (the same
 * scheme as pf_cuda_mse_loss; growing it waits for the stream). To capture a step in a CUDA
 * graph, either run one step before capturing, or pass a large enough ws to
 * pf_cuda_loss_forward_ws. No CUDA type here. */
#pragma once
#include <glib.h>
#include <stddef.h>
#include "pf-cuda.h"
#include "pf-loss.h"

G_BEGIN_DECLS

/* Floats of device workspace that pf_cuda_loss_forward_ws uses without touching the context's
 * scratch buffer; 0 when d does not pass pf_loss_desc_check. */
size_t pf_cuda_loss_workspace_floats (const PfLossDesc *d);

/* ws holds pf_loss_workspace_floats (d) floats (may be NULL when that is 0). */
gboolean pf_cuda_loss_forward (PfCudaContext *ctx, const PfLossDesc *d, const float *pred,
                               const float *target, float *dpred, float *ws, float *dev_parts,
                               GError **error);

/* The same with a workspace of ws_floats floats (ws may be NULL when ws_floats is 0): when
 * ws_floats >= pf_cuda_loss_workspace_floats (d) only ws is used, never the scratch buffer
 * (nothing is allocated and nothing waits: safe inside a CUDA graph capture); ws must then be
 * 8-byte aligned, as cudaMalloc's memory is. */
gboolean pf_cuda_loss_forward_ws (PfCudaContext *ctx, const PfLossDesc *d, const float *pred,
                                  const float *target, float *dpred, float *ws, size_t ws_floats,
                                  float *dev_parts, GError **error);

G_END_DECLS
