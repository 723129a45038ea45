/* pf-backend-cpu.c — CPU memory, the reference backend (the plain loops of core/ops, every op:
 * the oracle) and the device tables. The fast backend (pf-backend-fast.c) shares the dispatcher
 * of pf-backend-cpu-ops.c and falls back to this one for anything it does not claim. */
#include "pf-backend-cpu-private.h"
#include "pf-error.h"
#include <stdlib.h>
#include <string.h>

/* ---- memory ------------------------------------------------------------------------------ */
static void *
cpu_alloc (size_t bytes, GError **error)
{
  void *p = NULL;
  if (posix_memalign (&p, 64, bytes) != 0)
    {
      g_set_error (error, PF_ERROR, PF_ERROR_IO, "cannot allocate %.1f MB", bytes / 1e6);
      return NULL;
    }
  return p;
}

static void cpu_free (void *p) { free (p); }
static void cpu_zero (void *p, size_t bytes) { memset (p, 0, bytes); }
static void cpu_copy (void *dst, const void *src, size_t bytes) { memcpy (dst, src, bytes); }

static gboolean
cpu_loss (const PfLossDesc *d, const float *pred, const float *target, float *dpred, float *ws,
          double *value, PfLossParts *parts, GError **error)
{
  *value = pf_loss_forward_parts (d, pred, target, dpred, ws, parts);
  return TRUE;
}

const PfMemory pf_memory_cpu = {
  .name = "cpu",
  .alloc = cpu_alloc,
  .free = cpu_free,
  .zero = cpu_zero,
  .upload = cpu_copy,
  .download = cpu_copy,
  .loss = cpu_loss,
  .adam = pf_adam_step,
};

/* ---- reference backend -------------------------------------------------------------------- */
static const PfCpuOps ref_ops = {
  pf_relu_forward_ref, pf_relu_backward_ref, pf_leaky_relu_forward_ref, pf_leaky_relu_backward_ref,
  pf_sigmoid_forward_ref, pf_sigmoid_backward_ref, pf_add_forward_ref, pf_add_backward_ref,
  pf_dropout_forward_ref, pf_dropout_backward_ref, pf_maxpool2x2_forward_ref,
  pf_maxpool2x2_backward_ref, pf_upsample_nearest2x_forward_ref,
  pf_upsample_nearest2x_backward_ref, pf_upsample_bilinear2x_forward_ref,
  pf_upsample_bilinear2x_backward_ref, pf_concat_forward_ref, pf_concat_backward_ref,
  pf_channel_gather_forward_ref, pf_channel_gather_backward_ref, pf_channel_scale_forward_ref,
  pf_channel_scale_backward_ref, pf_global_avgpool_forward_ref, pf_global_avgpool_backward_ref,
  pf_linear_forward_ref, pf_linear_backward_ref, pf_bmm_forward_ref, pf_bmm_backward_ref,
  pf_softmax_forward_ref, pf_softmax_backward_ref, pf_permute_forward_ref,
  pf_permute_backward_ref, pf_lstm_forward_ref, pf_lstm_backward_ref,
};

static bool
ref_supports (const PfBackend *be, PfGraph *g, const PfNode *n)
{
  return n->op != PF_OP_RESHAPE; /* reshape is a view, never run */
}

static void
ref_forward (const PfBackend *be, PfGraph *g, PfNode *n, bool training)
{
  PfTensor *y = pf_node_out (g, n);
  const float *x = pf_node_in (g, n, 0)->data;
  switch (n->op)
    {
    case PF_OP_CONV2D:
      pf_conv2d_forward_ref (&n->d.conv2d, x, pf_t_data (g, n->w), pf_t_data (g, n->b), y->data);
      break;
    case PF_OP_CONV3D:
      pf_conv3d_forward_ref (&n->d.conv3d, x, pf_t_data (g, n->w), pf_t_data (g, n->b), y->data);
      break;
    case PF_OP_BATCHNORM:
      if (training)
        pf_batchnorm_forward_train_ref (&n->d.bn, x, pf_t_data (g, n->w), pf_t_data (g, n->b), y->data,
                                        pf_t_data (g, n->buf[0]), pf_t_data (g, n->buf[1]),
                                        pf_t_data (g, n->saved[0]), pf_t_data (g, n->saved[1]));
      else
        pf_batchnorm_forward_infer_ref (&n->d.bn, x, pf_t_data (g, n->w), pf_t_data (g, n->b),
                                        pf_t_data (g, n->buf[0]), pf_t_data (g, n->buf[1]), y->data);
      break;
    default:
      if (!_pf_cpu_forward (&ref_ops, g, n, training))
        g_assert_not_reached ();
    }
  if (n->relu_after)
    _pf_cpu_relu_inplace (y->data, y->numel);
}

static void
ref_backward (const PfBackend *be, PfGraph *g, PfNode *n)
{
  PfTensor *y = pf_node_out (g, n);
  PfTensor *tx = pf_node_in (g, n, 0);
  const float *x = tx->data;
  float *dx = tx->grad, *dy = y->grad;
  if (n->relu_after)
    _pf_cpu_relu_mask_grad (y->data, dy, y->numel);
  switch (n->op)
    {
    case PF_OP_CONV2D:
      pf_conv2d_backward_ref (&n->d.conv2d, x, pf_t_data (g, n->w), dy, dx, pf_t_grad (g, n->w),
                              pf_t_grad (g, n->b));
      break;
    case PF_OP_CONV3D:
      pf_conv3d_backward_ref (&n->d.conv3d, x, pf_t_data (g, n->w), dy, dx, pf_t_grad (g, n->w),
                              pf_t_grad (g, n->b));
      break;
    case PF_OP_BATCHNORM:
      pf_batchnorm_backward_ref (&n->d.bn, x, pf_t_data (g, n->w), pf_t_data (g, n->saved[0]),
                                 pf_t_data (g, n->saved[1]), dy, dx, pf_t_grad (g, n->w),
                                 pf_t_grad (g, n->b));
      break;
    default:
      if (!_pf_cpu_backward (&ref_ops, g, n))
        g_assert_not_reached ();
    }
}

const PfBackend pf_backend_cpu_ref = {
  .name = "cpu-ref",
  .device = PF_DEVICE_CPU,
  .supports = ref_supports,
  .forward = ref_forward,
  .backward = ref_backward,
};

/* ---- device tables ---------------------------------------------------------------------------- */
static const PfBackend *const cpu_fast_list[] = { &pf_backend_cpu_fast, &pf_backend_cpu_ref, NULL };
static const PfBackend *const cpu_ref_list[] = { &pf_backend_cpu_ref, NULL };

static const PfBackend *const *cuda_list;
static const PfMemory *cuda_mem;

void
pf_backend_register (PfDevice device, const PfBackend *const *list, const PfMemory *mem)
{
  g_return_if_fail (device == PF_DEVICE_CUDA);
  cuda_list = list;
  cuda_mem = mem;
}

const PfBackend *const *
pf_backends_for (PfDevice device, bool reference_only)
{
  if (device == PF_DEVICE_CPU)
    return reference_only ? cpu_ref_list : cpu_fast_list;
  return cuda_list;
}

const PfMemory *
pf_memory_for (PfDevice device)
{
  return device == PF_DEVICE_CPU ? &pf_memory_cpu : cuda_mem;
}
