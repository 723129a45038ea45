/* pf-backend-cuda.c — PF_DEVICE_CUDA for the graph executor: a PfBackend over the plain C API
 * of pf-cuda.h (cuDNN conv plans made in prepare, own BN kernels, cuBLAS linear, elementwise
 * kernels) and a PfMemory whose loss and Adam run on the device, so a training step only
 * copies the input, the target and one loss value.
 *
 * The layout mirrors pf-backend-cpu.c: forward overwrites, backward accumulates, a fused ReLU
 * runs in the op's last pass (convolution, BatchNorm) or in place after it, and masks dy
 * before the op's backward (BatchNorm: as it reads dy); a convolution that only feeds a
 * BatchNorm leaves its bias to it (bias_taker). Everything is queued on the context's one
 * stream, so the order of the host calls is the order on the device.
 *
 * The PfBackend/PfMemory callbacks that return void keep the first error in `pending` (under
 * a lock: training runs on a worker thread); the device loss reports it before computing
 * anything, and pf_backend_cuda_take_error hands it out after work that ends without a loss. */
#include <math.h>
#include <string.h>
#include "pf-backend-cuda.h"
#include "pf-backend-cuda-private.h"
#include "pf-cuda-loss.h"
#include "pf-backend.h"
#include "pf-error.h"

static GMutex state_lock;
static PfCudaContext *cuda_ctx; /* process-wide; lives until exit (plans borrow it) */
static float *dev_loss;         /* the loss and its parts {total, mse, wmse, ssim}, on the device */
static GError *pending;         /* first error raised where the callback cannot return it */
static gboolean registered;

/* The context, created on first use. */
static PfCudaContext *
get_context (GError **error)
{
  g_mutex_lock (&state_lock);
  if (!cuda_ctx)
    {
      char *why = NULL;
      if (!pf_cuda_available (&why))
        {
          g_set_error (error, PF_CUDA_ERROR, PF_CUDA_ERROR_NO_DEVICE,
                       "no usable GPU for the CUDA backend: %s", why);
          g_free (why);
        }
      else if ((cuda_ctx = pf_cuda_context_new (0, error)))
        {
          dev_loss = pf_cuda_malloc (cuda_ctx, 4 * sizeof (float), error);
          if (!dev_loss)
            g_clear_pointer (&cuda_ctx, pf_cuda_context_free);
        }
    }
  PfCudaContext *ctx = cuda_ctx;
  g_mutex_unlock (&state_lock);
  return ctx;
}

/* Keeps e (taking it) when no earlier error is pending; what follows a failure is noise. */
static void
record (GError *e)
{
  if (!e) /* every pf_cuda_* failure sets one; never let a failure pass unseen */
    e = g_error_new_literal (PF_CUDA_ERROR, PF_CUDA_ERROR_RUNTIME, "a CUDA call failed without a message");
  g_mutex_lock (&state_lock);
  if (!pending)
    pending = e;
  else
    g_error_free (e);
  g_mutex_unlock (&state_lock);
}

static gboolean
take_pending (GError **error)
{
  g_mutex_lock (&state_lock);
  GError *e = g_steal_pointer (&pending);
  g_mutex_unlock (&state_lock);
  if (!e)
    return TRUE;
  g_propagate_error (error, e);
  return FALSE;
}

/* ---- memory ------------------------------------------------------------------------------ */
static void *
cuda_alloc (size_t bytes, GError **error)
{
  PfCudaContext *ctx = get_context (error);
  return ctx ? pf_cuda_malloc (ctx, bytes, error) : NULL;
}

static void
cuda_free (void *p)
{
  pf_cuda_free (cuda_ctx, p);
}

static void
cuda_zero (void *p, size_t bytes)
{
  GError *e = NULL;
  if (!pf_cuda_memset (cuda_ctx, p, 0, bytes, &e))
    record (e);
}

static void
cuda_upload (void *dst, const void *src, size_t bytes)
{
  GError *e = NULL;
  if (!pf_cuda_copy_to_device (cuda_ctx, dst, src, bytes, &e))
    record (e);
}

static void
cuda_download (void *dst, const void *src, size_t bytes)
{
  GError *e = NULL;
  if (!pf_cuda_copy_to_host (cuda_ctx, dst, src, bytes, &e))
    {
      /* NaN instead of stale values, in case the caller looks before taking the error */
      float *f = dst;
      for (size_t i = 0; i < bytes / sizeof (float); i++)
        f[i] = NAN;
      record (e);
    }
}

/* The loss, queued: its value and parts go to dev_loss on the device, dL/dpred to dpred. */
static gboolean
cuda_loss_queue (const PfLossDesc *d, const float *pred, const float *target, float *dpred,
                 float *ws, GError **error)
{
  gboolean ok = pf_cuda_loss_forward (cuda_ctx, d, pred, target, dpred, ws, dev_loss, error);
  if (!ok)
    g_prefix_error (error, "%s loss on the GPU: ", pf_loss_kind_name (d->kind));
  return ok;
}

/* Waits for the device and reads the loss queued last. */
static gboolean
cuda_loss_read (const PfLossDesc *d, double *value, PfLossParts *parts, GError **error)
{
  /* a failed forward or backward would make this loss meaningless: report that first */
  if (!take_pending (error))
    return FALSE;
  float v[4] = { NAN, NAN, NAN, NAN };
  /* the copy waits for the stream, so errors of the kernels queued so far surface here */
  if (!pf_cuda_copy_to_host (cuda_ctx, v, dev_loss, sizeof v, error))
    {
      g_prefix_error (error, "%s loss on the GPU: ", pf_loss_kind_name (d->kind));
      return FALSE;
    }
  /* the device reduces in double and stores floats: 1e-7 relative, far under any tolerance */
  *value = v[0];
  if (parts)
    *parts = (PfLossParts) { v[0], v[1], v[2], v[3] };
  return TRUE;
}

static gboolean
cuda_loss (const PfLossDesc *d, const float *pred, const float *target, float *dpred, float *ws,
           double *value, PfLossParts *parts, GError **error)
{
  if (!take_pending (error))
    return FALSE;
  return cuda_loss_queue (d, pred, target, dpred, ws, error)
         && cuda_loss_read (d, value, parts, error);
}

static void
cuda_adam (const PfAdamConfig *c, int64_t t, size_t n, float *param, const float *grad, float *m,
           float *v)
{
  GError *e = NULL;
  if (!pf_cuda_adam_step (cuda_ctx, c, t, n, param, grad, m, v, &e))
    {
      g_prefix_error (&e, "Adam step %" G_GINT64_FORMAT ": ", (gint64) t);
      record (e);
    }
}

/* Waits for the stream; with error NULL a failure stays pending for the next caller. */
static gboolean
cuda_sync (GError **error)
{
  GError *e = NULL;
  if (!pf_cuda_synchronize (cuda_ctx, &e))
    record (e);
  if (!error)
    return TRUE;
  return take_pending (error);
}

static void *
cuda_host_alloc (size_t bytes, GError **error)
{
  return pf_cuda_host_alloc (cuda_ctx, bytes, error);
}

static void
cuda_host_free (void *p)
{
  pf_cuda_host_free (cuda_ctx, p);
}

static gboolean
cuda_capture_begin (GError **error)
{
  return take_pending (error) && pf_cuda_capture_begin (cuda_ctx, error);
}

static void *
cuda_capture_end (GError **error)
{
  GError *e = NULL;
  PfCudaGraph *graph = pf_cuda_capture_end (cuda_ctx, &e);
  if (!graph)
    {
      if (error)
        g_propagate_error (error, e);
      else
        g_error_free (e);
    }
  return graph;
}

static gboolean
cuda_replay (void *graph, GError **error)
{
  return take_pending (error) && pf_cuda_graph_launch (cuda_ctx, graph, error);
}

static void
cuda_graph_free (void *graph)
{
  pf_cuda_graph_free (graph);
}

static const PfMemory pf_memory_cuda = {
  .name = "cuda",
  .alloc = cuda_alloc,
  .free = cuda_free,
  .zero = cuda_zero,
  .upload = cuda_upload,
  .download = cuda_download,
  .loss = cuda_loss,
  .adam = cuda_adam,
  .sync = cuda_sync,
  .host_alloc = cuda_host_alloc,
  .host_free = cuda_host_free,
  .loss_queue = cuda_loss_queue,
  .loss_read = cuda_loss_read,
  .capture_begin = cuda_capture_begin,
  .capture_end = cuda_capture_end,
  .replay = cuda_replay,
  .graph_free = cuda_graph_free,
};

/* ---- backend ------------------------------------------------------------------------------- */
static bool
cuda_supports (const PfBackend *be, PfGraph *g, const PfNode *n)
{
  switch (n->op)
    {
    case PF_OP_CONV2D:
    case PF_OP_BATCHNORM:
    case PF_OP_RELU:
    case PF_OP_SIGMOID:
    case PF_OP_ADD:
    case PF_OP_LINEAR:
      return true;
    default:
      return false;
    }
}

/* The ops whose backward writes dx without reading it when asked (PfBackend.can_set_dx). */
static bool
cuda_can_set_dx (const PfBackend *be, PfGraph *g, const PfNode *n)
{
  return n->op == PF_OP_CONV2D || n->op == PF_OP_BATCHNORM || n->op == PF_OP_LINEAR;
}

/* The backend's state of a node (n->plan): a convolution's cuDNN plan, and for a convolution
 * followed by a BatchNorm, the bias the BatchNorm adds for it. */
typedef struct {
  PfCudaConv2dPlan *conv; /* PF_OP_CONV2D */
  gboolean bias_deferred; /* PF_OP_CONV2D: the BatchNorm that reads y adds the bias */
  int x_bias;             /* PF_OP_BATCHNORM: that bias's tensor, or -1 */
} CudaNode;

/* A convolution whose output only a BatchNorm of this backend reads leaves its bias to that
 * BatchNorm, which adds it to x in each of its passes (in float, as cudnnAddTensor would), so
 * the convolution's output is not read and written once more just for the bias. The bias's
 * gradient is still the convolution's (the sum of its dy). Returns that BatchNorm, or NULL. */
static PfNode *
bias_taker (const PfBackend *be, PfGraph *g, const PfNode *conv)
{
  if (conv->op != PF_OP_CONV2D || conv->b < 0 || conv->relu_after
      || conv->out == pf_graph_output_id (g))
    return NULL;
  PfNode *taker = pf_graph_sole_reader (g, conv->out);
  if (!taker || taker->skip || taker->op != PF_OP_BATCHNORM || taker->in[0] != conv->out)
    return NULL;
  return be->supports (be, g, taker) ? taker : NULL;
}

/* the convolution whose bias the BatchNorm bn adds, or NULL */
static const PfNode *
bias_giver (const PfBackend *be, PfGraph *g, const PfNode *bn)
{
  const PfNode *conv = pf_graph_producer (g, bn->in[0]);
  return conv && bias_taker (be, g, conv) == bn ? conv : NULL;
}

static gboolean
cuda_prepare (const PfBackend *be, PfGraph *g, PfNode *n, GError **error)
{
  if (n->op != PF_OP_CONV2D && n->op != PF_OP_BATCHNORM)
    return TRUE;
  PfCudaContext *ctx = get_context (error);
  if (!ctx)
    return FALSE;
  CudaNode *cn = g_new0 (CudaNode, 1);
  cn->x_bias = -1;
  if (n->op == PF_OP_CONV2D)
    {
      cn->conv = pf_cuda_conv2d_plan_new (ctx, &n->d.conv2d, error);
      if (!cn->conv)
        {
          g_free (cn);
          return FALSE;
        }
      cn->bias_deferred = bias_taker (be, g, n) != NULL;
    }
  else
    {
      const PfNode *giver = bias_giver (be, g, n);
      cn->x_bias = giver ? giver->b : -1;
    }
  n->plan = cn;
  return TRUE;
}

static void
cuda_release (const PfBackend *be, PfNode *n)
{
  CudaNode *cn = n->plan;
  if (cn && cn->conv)
    pf_cuda_conv2d_plan_free (cn->conv);
  g_free (cn);
  n->plan = NULL;
}

void
pf_backend_cuda_record_node (const PfNode *n, const char *pass, GError *e)
{
  g_prefix_error (&e, "layer '%s' (%s) %s: ", n->name, pf_op_name (n->op), pass);
  record (e);
}

static void
cuda_forward (const PfBackend *be, PfGraph *g, PfNode *n, bool training)
{
  PfCudaContext *ctx = cuda_ctx;
  PfTensor *y = pf_node_out (g, n);
  const float *x = pf_node_in (g, n, 0)->data;
  GError *e = NULL;
  gboolean ok = FALSE;
  const CudaNode *cn = n->plan;
  gboolean relu_done = FALSE; /* the op applied the fused ReLU in its own last pass */
  switch (n->op)
    {
    case PF_OP_CONV2D:
      relu_done = n->relu_after;
      ok = (relu_done ? pf_cuda_conv2d_forward_relu : pf_cuda_conv2d_forward)
        (cn->conv, x, pf_t_data (g, n->w), cn->bias_deferred ? NULL : pf_t_data (g, n->b),
         y->data, &e);
      break;
    case PF_OP_BATCHNORM:
      relu_done = n->relu_after;
      if (training)
        ok = pf_cuda_batchnorm_forward_train (ctx, &n->d.bn, x, pf_t_data (g, cn->x_bias),
                                              pf_t_data (g, n->w), pf_t_data (g, n->b), y->data,
                                              relu_done, pf_t_data (g, n->buf[0]),
                                              pf_t_data (g, n->buf[1]), pf_t_data (g, n->saved[0]),
                                              pf_t_data (g, n->saved[1]), &e);
      else
        ok = pf_cuda_batchnorm_forward_infer (ctx, &n->d.bn, x, pf_t_data (g, cn->x_bias),
                                              pf_t_data (g, n->w), pf_t_data (g, n->b),
                                              pf_t_data (g, n->buf[0]), pf_t_data (g, n->buf[1]),
                                              y->data, relu_done, &e);
      break;
    case PF_OP_RELU:
      ok = pf_cuda_relu_forward (ctx, y->numel, x, y->data, &e);
      break;
    case PF_OP_SIGMOID:
      ok = pf_cuda_sigmoid_forward (ctx, y->numel, x, y->data, &e);
      break;
    case PF_OP_ADD:
      ok = pf_cuda_add_forward (ctx, y->numel, x, pf_node_in (g, n, 1)->data, y->data, &e);
      break;
    case PF_OP_LINEAR:
      ok = pf_cuda_linear_forward (ctx, n->d.linear.m, n->d.linear.in, n->d.linear.out, x,
                                   pf_t_data (g, n->w), pf_t_data (g, n->b), y->data, &e);
      break;
    default:
      g_assert_not_reached (); /* cuda_supports said no */
    }
  if (ok && n->relu_after && !relu_done)
    ok = pf_cuda_relu_forward (ctx, y->numel, y->data, y->data, &e);
  if (!ok)
    pf_backend_cuda_record_node (n, "forward", e);
}

static void
cuda_backward (const PfBackend *be, PfGraph *g, PfNode *n)
{
  PfCudaContext *ctx = cuda_ctx;
  PfTensor *y = pf_node_out (g, n);
  PfTensor *tx = pf_node_in (g, n, 0);
  const float *x = tx->data;
  float *dx = tx->grad, *dy = y->grad;
  const CudaNode *cn = n->plan;
  GError *e = NULL;
  gboolean ok = TRUE;
  /* BatchNorm masks dy as it reads it */
  if (n->relu_after && n->op != PF_OP_BATCHNORM)
    ok = pf_cuda_relu_mask (ctx, y->numel, y->data, dy, &e);
  if (ok)
    switch (n->op)
      {
      case PF_OP_CONV2D:
        ok = pf_cuda_conv2d_backward (cn->conv, x, pf_t_data (g, n->w), dy, dx, n->set_dx,
                                      pf_t_grad (g, n->w), pf_t_grad (g, n->b), &e);
        break;
      case PF_OP_BATCHNORM:
        ok = pf_cuda_batchnorm_backward (ctx, &n->d.bn, x, pf_t_data (g, cn->x_bias),
                                         pf_t_data (g, n->w), pf_t_data (g, n->saved[0]),
                                         pf_t_data (g, n->saved[1]), dy,
                                         n->relu_after ? y->data : NULL, dx, n->set_dx,
                                         pf_t_grad (g, n->w), pf_t_grad (g, n->b), &e);
        break;
      case PF_OP_RELU:
        ok = pf_cuda_relu_backward (ctx, y->numel, y->data, dy, dx, &e);
        break;
      case PF_OP_SIGMOID:
        ok = pf_cuda_sigmoid_backward (ctx, y->numel, y->data, dy, dx, &e);
        break;
      case PF_OP_ADD:
        ok = pf_cuda_add_backward (ctx, y->numel, dy, dx, pf_node_in (g, n, 1)->grad, &e);
        break;
      case PF_OP_LINEAR:
        ok = pf_cuda_linear_backward (ctx, n->d.linear.m, n->d.linear.in, n->d.linear.out, x,
                                      pf_t_data (g, n->w), dy, dx, n->set_dx,
                                      pf_t_grad (g, n->w), pf_t_grad (g, n->b), &e);
        break;
      default:
        g_assert_not_reached ();
      }
  if (!ok)
    pf_backend_cuda_record_node (n, "backward", e);
}

static const PfBackend pf_backend_cuda = {
  .name = "cuda",
  .device = PF_DEVICE_CUDA,
  .supports = cuda_supports,
  .prepare = cuda_prepare,
  .forward = cuda_forward,
  .backward = cuda_backward,
  .release = cuda_release,
  .can_set_dx = cuda_can_set_dx,
};

static const PfBackend *const cuda_list[] = { &pf_backend_cuda, &pf_backend_cuda_attn, &pf_backend_cuda_shape,
                                               &pf_backend_cuda_lstm, NULL };

/* ---- public ------------------------------------------------------------------------------ */
gboolean
pf_backend_cuda_register (GError **error)
{
  if (!get_context (error))
    return FALSE;
  g_mutex_lock (&state_lock);
  if (!registered)
    pf_backend_register (PF_DEVICE_CUDA, cuda_list, &pf_memory_cuda);
  registered = TRUE;
  g_mutex_unlock (&state_lock);
  return TRUE;
}

gboolean
pf_backend_cuda_take_error (GError **error)
{
  PfCudaContext *ctx = pf_backend_cuda_context ();
  if (!ctx)
    return TRUE;
  GError *e = NULL;
  if (!pf_cuda_synchronize (ctx, &e))
    record (e);
  return take_pending (error);
}

PfCudaContext *
pf_backend_cuda_context (void)
{
  g_mutex_lock (&state_lock);
  PfCudaContext *ctx = cuda_ctx;
  g_mutex_unlock (&state_lock);
  return ctx;
}
