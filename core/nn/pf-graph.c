/* pf-graph.c — building the static graph: shape inference and layer-naming errors. */
#include <limits.h>
#include "pf-graph-private.h"
#include "pf-error.h"
#include <string.h>

static const char *op_names[PF_OP_COUNT] = {
  [PF_OP_CONV2D] = "conv2d", [PF_OP_CONV3D] = "conv3d", [PF_OP_BATCHNORM] = "batchnorm",
  [PF_OP_RELU] = "relu", [PF_OP_LEAKY_RELU] = "leaky_relu", [PF_OP_SIGMOID] = "sigmoid",
  [PF_OP_ADD] = "add", [PF_OP_DROPOUT] = "dropout", [PF_OP_MAXPOOL2] = "maxpool2",
  [PF_OP_UPSAMPLE_NEAREST2] = "upsample_nearest2", [PF_OP_UPSAMPLE_BILINEAR2] = "upsample_bilinear2",
  [PF_OP_CONCAT] = "concat", [PF_OP_GATHER] = "gather", [PF_OP_CHANNEL_SCALE] = "channel_scale",
  [PF_OP_GLOBAL_AVGPOOL] = "global_avgpool", [PF_OP_LINEAR] = "linear", [PF_OP_BMM] = "bmm",
  [PF_OP_SOFTMAX] = "softmax", [PF_OP_PERMUTE] = "permute", [PF_OP_RESHAPE] = "reshape",
  [PF_OP_LSTM] = "lstm",
};

const char *
pf_op_name (PfOpKind op)
{
  return op >= 0 && op < PF_OP_COUNT ? op_names[op] : "?";
}

PfGraph *
pf_graph_new (const char *model_name)
{
  PfGraph *g = g_new0 (PfGraph, 1);
  g->model_name = g_strdup (model_name ? model_name : "model");
  g->tensors = g_array_new (FALSE, TRUE, sizeof (PfTensor));
  g->nodes = g_array_new (FALSE, TRUE, sizeof (PfNode));
  g->input = g->output = -1;
  return g;
}

const char *
_pf_shape_fmt (const PfTensor *t, char *buf)
{
  int o = g_snprintf (buf, PF_SHAPE_BUF, "[");
  for (int i = 0; i < t->ndim && o < PF_SHAPE_BUF; i++)
    o += g_snprintf (buf + o, PF_SHAPE_BUF - o, "%s%d", i ? ", " : "", t->shape[i]);
  if (o < PF_SHAPE_BUF)
    g_snprintf (buf + o, PF_SHAPE_BUF - o, "]");
  return buf;
}

static void G_GNUC_PRINTF (3, 4)
fail (PfGraph *g, const char *layer, const char *fmt, ...)
{
  if (g->error)
    return;
  va_list ap;
  va_start (ap, fmt);
  char *msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_set_error (&g->error, PF_ERROR, PF_ERROR_SHAPE, "%s: layer '%s': %s", g->model_name,
               layer ? layer : "?", msg);
  g_free (msg);
}

const GError *
pf_graph_error (const PfGraph *g)
{
  return g->error;
}

/* Adding a tensor may move the tensor array: builders work on copies of the PfTensor structs
 * they read, never on pointers into the array across an add. */
static int
add_tensor (PfGraph *g, PfTensorKind kind, const char *name, int ndim, const int *shape)
{
  PfTensor t = { 0 };
  t.kind = kind;
  t.ndim = ndim;
  t.numel = 1;
  for (int i = 0; i < ndim; i++)
    {
      t.shape[i] = shape[i];
      t.numel *= (size_t) shape[i];
    }
  t.name = g_strdup (name);
  t.alias_of = -1;
  g_array_append_val (g->tensors, t);
  return (int) g->tensors->len - 1;
}

static int
add_param (PfGraph *g, const char *layer, const char *suffix, int ndim, const int *shape,
           PfTensorKind kind, int init_kind, int fan_in)
{
  char *name = g_strconcat (layer, ".", suffix, NULL);
  int id = add_tensor (g, kind, name, ndim, shape);
  g_free (name);
  _pf_t (g, id)->init_kind = init_kind;
  _pf_t (g, id)->init_fan_in = fan_in;
  return id;
}

static PfNode *
add_node (PfGraph *g, PfOpKind op, const char *name, int n_in, const int *in)
{
  PfNode n = { 0 };
  n.op = op;
  n.name = g_strdup (name ? name : op_names[op]);
  n.n_in = n_in;
  for (int i = 0; i < n_in; i++)
    n.in[i] = in[i];
  n.out = n.w = n.b = -1;
  n.buf[0] = n.buf[1] = n.saved[0] = n.saved[1] = -1;
  g_array_append_val (g->nodes, n);
  return _pf_n (g, g->nodes->len - 1);
}

/* Checks the inputs exist (a -1 means an earlier error) and have the expected rank. */
static gboolean
check_in (PfGraph *g, const char *layer, int x, int ndim)
{
  if (g->error || x < 0)
    return FALSE;
  g_return_val_if_fail (x < (int) g->tensors->len, FALSE);
  PfTensor t = *_pf_t (g, x);
  if (ndim > 0 && t.ndim != ndim)
    {
      fail (g, layer, "expects a %d-d input, got %s", ndim, PF_SHAPE (&t));
      return FALSE;
    }
  return TRUE;
}

/* check_in, then a copy of the input's PfTensor: what every builder works on (see add_tensor). */
static gboolean
read_in (PfGraph *g, const char *layer, int x, int ndim, PfTensor *t)
{
  if (!check_in (g, layer, x, ndim))
    return FALSE;
  *t = *_pf_t (g, x);
  return TRUE;
}

int
pf_graph_input (PfGraph *g, const char *name, int ndim, const int *shape)
{
  for (int i = 0; i < ndim; i++)
    if (shape[i] <= 0)
      {
        fail (g, name, "input dimension %d is %d", i, shape[i]);
        return -1;
      }
  int id = add_tensor (g, PF_TENSOR_INPUT, name, ndim, shape);
  if (g->input < 0)
    g->input = id;
  return id;
}

static int
activation_like (PfGraph *g, const char *layer, int ndim, const int *shape)
{
  return add_tensor (g, PF_TENSOR_ACTIVATION, layer, ndim, shape);
}

/* A layer's output activation of the given shape and the node that writes it; the tensor is
 * added first, as every layer but LSTM (which adds its state outputs in between) does. */
static PfNode *
add_layer (PfGraph *g, PfOpKind op, const char *name, int n_in, const int *in, int ndim,
           const int *shape)
{
  int y = activation_like (g, name, ndim, shape);
  PfNode *n = add_node (g, op, name, n_in, in);
  n->out = y;
  return n;
}

int
pf_graph_conv2d_k (PfGraph *g, const char *name, int x, int c_in, int c_out, int kh, int kw,
                   int sh, int sw, int ph, int pw, bool bias)
{
  PfTensor t;
  if (!read_in (g, name, x, 4, &t))
    return -1;
  if (t.shape[1] != c_in)
    {
      fail (g, name, "Conv2d(%d -> %d) expects %d input channels, got input %s", c_in, c_out, c_in,
            PF_SHAPE (&t));
      return -1;
    }
  PfConv2dDesc d = { t.shape[0], c_in, t.shape[2], t.shape[3], c_out, kh, kw, sh, sw, ph, pw };
  int oh = pf_conv2d_out_h (&d), ow = pf_conv2d_out_w (&d);
  if (oh <= 0 || ow <= 0 || sh <= 0 || sw <= 0)
    {
      fail (g, name, "kernel %dx%d stride %d padding %d does not fit a %dx%d input", kh, kw, sh, ph,
            d.h, d.w);
      return -1;
    }
  int fan_in = c_in * kh * kw;
  int wshape[4] = { c_out, c_in, kh, kw };
  int w = add_param (g, name, "weight", 4, wshape, PF_TENSOR_PARAM, PF_PARAM_INIT_KAIMING, fan_in);
  int b = bias ? add_param (g, name, "bias", 1, &c_out, PF_TENSOR_PARAM, PF_PARAM_INIT_BIAS, fan_in) : -1;
  int oshape[4] = { d.n, c_out, oh, ow };
  PfNode *n = add_layer (g, PF_OP_CONV2D, name, 1, &x, 4, oshape);
  n->d.conv2d = d;
  n->w = w;
  n->b = b;
  return n->out;
}

int
pf_graph_conv2d (PfGraph *g, const char *name, int x, int c_in, int c_out, int k, int stride,
                 int pad, bool bias)
{
  return pf_graph_conv2d_k (g, name, x, c_in, c_out, k, k, stride, stride, pad, pad, bias);
}

/* Conv3d with the given weight and bias tensors (w, b < 0: new ones named after the layer). */
static int
conv3d_with (PfGraph *g, const char *name, int x, int c_in, int c_out, int kd, int kh, int kw,
             int pd, int ph, int pw, bool bias, int w, int b)
{
  PfTensor t;
  if (!read_in (g, name, x, 5, &t))
    return -1;
  if (t.shape[1] != c_in)
    {
      fail (g, name, "Conv3d(%d -> %d) expects %d input channels, got input %s", c_in, c_out, c_in,
            PF_SHAPE (&t));
      return -1;
    }
  PfConv3dDesc d = { t.shape[0], c_in, t.shape[2], t.shape[3], t.shape[4], c_out, kd, kh, kw,
                     1, 1, 1, pd, ph, pw };
  int od = pf_conv3d_out_d (&d), oh = pf_conv3d_out_h (&d), ow = pf_conv3d_out_w (&d);
  if (od <= 0 || oh <= 0 || ow <= 0)
    {
      fail (g, name, "kernel %dx%dx%d does not fit a %dx%dx%d input", kd, kh, kw, d.d, d.h, d.w);
      return -1;
    }
  int fan_in = c_in * kd * kh * kw;
  int wshape[5] = { c_out, c_in, kd, kh, kw };
  if (w < 0)
    {
      w = add_param (g, name, "weight", 5, wshape, PF_TENSOR_PARAM, PF_PARAM_INIT_KAIMING, fan_in);
      b = bias ? add_param (g, name, "bias", 1, &c_out, PF_TENSOR_PARAM, PF_PARAM_INIT_BIAS, fan_in) : -1;
    }
  else
    {
      PfTensor *tw = _pf_t (g, w);
      if (tw->ndim != 5 || memcmp (tw->shape, wshape, sizeof wshape) != 0 || (b >= 0) != bias)
        {
          fail (g, name, "shared weight %s does not fit Conv3d(%d -> %d, %dx%dx%d)", PF_SHAPE (tw), c_in,
                c_out,
                kd, kh, kw);
          return -1;
        }
    }
  int oshape[5] = { d.n, c_out, od, oh, ow };
  PfNode *n = add_layer (g, PF_OP_CONV3D, name, 1, &x, 5, oshape);
  n->d.conv3d = d;
  n->w = w;
  n->b = b;
  return n->out;
}

int
pf_graph_conv3d (PfGraph *g, const char *name, int x, int c_in, int c_out, int kd, int kh, int kw,
                 int pd, int ph, int pw, bool bias)
{
  return conv3d_with (g, name, x, c_in, c_out, kd, kh, kw, pd, ph, pw, bias, -1, -1);
}

int
pf_graph_conv3d_shared (PfGraph *g, const char *name, int x, int like_y, int pd, int ph, int pw)
{
  if (g->error || like_y < 0)
    return -1;
  /* the node that produced like_y holds the weights to share */
  for (guint i = 0; i < g->nodes->len; i++)
    {
      PfNode *n = _pf_n (g, i);
      if (n->out == like_y && n->op == PF_OP_CONV3D)
        {
          PfConv3dDesc d = n->d.conv3d;
          return conv3d_with (g, name, x, d.c_in, d.c_out, d.kd, d.kh, d.kw, pd, ph, pw, n->b >= 0,
                              n->w, n->b);
        }
    }
  fail (g, name, "no Conv3d layer to share weights with");
  return -1;
}

int
pf_graph_batchnorm (PfGraph *g, const char *name, int x, int c)
{
  PfTensor t;
  if (!read_in (g, name, x, 4, &t))
    return -1;
  if (t.shape[1] != c)
    {
      fail (g, name, "BatchNorm2d(%d) got input %s", c, PF_SHAPE (&t));
      return -1;
    }
  int shape[4] = { t.shape[0], t.shape[1], t.shape[2], t.shape[3] };
  PfNode tmp_desc = { 0 };
  tmp_desc.d.bn = (PfBatchNormDesc) { shape[0], c, shape[2] * shape[3], 1e-5f, 0.1f };
  int w = add_param (g, name, "weight", 1, &c, PF_TENSOR_PARAM, PF_PARAM_INIT_ONES, 0);
  int b = add_param (g, name, "bias", 1, &c, PF_TENSOR_PARAM, PF_PARAM_INIT_ZEROS, 0);
  int rm = add_param (g, name, "running_mean", 1, &c, PF_TENSOR_BUFFER, PF_PARAM_INIT_ZEROS, 0);
  int rv = add_param (g, name, "running_var", 1, &c, PF_TENSOR_BUFFER, PF_PARAM_INIT_ONES, 0);
  int sm = add_tensor (g, PF_TENSOR_SAVED, name, 1, &c);
  int si = add_tensor (g, PF_TENSOR_SAVED, name, 1, &c);
  PfNode *n = add_layer (g, PF_OP_BATCHNORM, name, 1, &x, 4, shape);
  n->d.bn = tmp_desc.d.bn;
  n->w = w;
  n->b = b;
  n->buf[0] = rm;
  n->buf[1] = rv;
  n->saved[0] = sm;
  n->saved[1] = si;
  return n->out;
}

static int
unary (PfGraph *g, PfOpKind op, const char *name, int x)
{
  PfTensor t;
  if (!read_in (g, name, x, 0, &t))
    return -1;
  int shape[PF_MAX_DIMS];
  memcpy (shape, t.shape, sizeof shape);
  return add_layer (g, op, name, 1, &x, t.ndim, shape)->out;
}

int pf_graph_relu (PfGraph *g, int x) { return unary (g, PF_OP_RELU, "relu", x); }
int pf_graph_sigmoid (PfGraph *g, int x) { return unary (g, PF_OP_SIGMOID, "sigmoid", x); }

int
pf_graph_leaky_relu (PfGraph *g, int x, float slope)
{
  int y = unary (g, PF_OP_LEAKY_RELU, "leaky_relu", x);
  if (y >= 0)
    _pf_n (g, g->nodes->len - 1)->d.leaky.slope = slope;
  return y;
}

int
pf_graph_dropout (PfGraph *g, int x, float p)
{
  if (!(p >= 0 && p < 1))
    {
      fail (g, "dropout", "probability %g is not in [0, 1)", p);
      return -1;
    }
  int y = unary (g, PF_OP_DROPOUT, "dropout", x);
  if (y < 0)
    return -1;
  PfNode *n = _pf_n (g, g->nodes->len - 1);
  n->d.dropout.p = p;
  n->d.dropout.seed = g->nodes->len; /* distinct stream per dropout layer */
  PfTensor t = *_pf_t (g, y);
  /* The mask is kept as float (0 or 1): one arena type, and exact. */
  n->saved[0] = add_tensor (g, PF_TENSOR_SAVED, "dropout.mask", t.ndim, t.shape);
  return y;
}

static gboolean
same_shape (const PfTensor *a, const PfTensor *b)
{
  if (a->ndim != b->ndim)
    return FALSE;
  for (int i = 0; i < a->ndim; i++)
    if (a->shape[i] != b->shape[i])
      return FALSE;
  return TRUE;
}

int
pf_graph_add (PfGraph *g, const char *name, int a, int b)
{
  PfTensor ta, tb;
  if (!read_in (g, name, a, 0, &ta) || !read_in (g, name, b, 0, &tb))
    return -1;
  if (!same_shape (&ta, &tb))
    {
      fail (g, name, "cannot add %s and %s", PF_SHAPE (&ta), PF_SHAPE (&tb));
      return -1;
    }
  int in[2] = { a, b };
  return add_layer (g, PF_OP_ADD, name, 2, in, ta.ndim, ta.shape)->out;
}

int
pf_graph_maxpool2 (PfGraph *g, int x)
{
  PfTensor t;
  if (!read_in (g, "maxpool", x, 4, &t))
    return -1;
  int shape[4] = { t.shape[0], t.shape[1], t.shape[2] / 2, t.shape[3] / 2 };
  if (shape[2] == 0 || shape[3] == 0)
    {
      fail (g, "maxpool", "input %dx%d too small for 2x2 pooling", t.shape[2], t.shape[3]);
      return -1;
    }
  PfNode *n = add_layer (g, PF_OP_MAXPOOL2, "maxpool", 1, &x, 4, shape);
  n->d.plane.nc = t.shape[0] * t.shape[1];
  n->d.plane.h = t.shape[2];
  n->d.plane.w = t.shape[3];
  /* argmax indices stored as float: exact below 2^24, far above any plane size here */
  n->saved[0] = add_tensor (g, PF_TENSOR_SAVED, "maxpool.argmax", 4, shape);
  return n->out;
}

int
pf_graph_upsample2 (PfGraph *g, int x, bool bilinear)
{
  const char *name = bilinear ? "upsample_bilinear" : "upsample_nearest";
  PfTensor t;
  if (!read_in (g, name, x, 4, &t))
    return -1;
  int shape[4] = { t.shape[0], t.shape[1], t.shape[2] * 2, t.shape[3] * 2 };
  PfOpKind op = bilinear ? PF_OP_UPSAMPLE_BILINEAR2 : PF_OP_UPSAMPLE_NEAREST2;
  PfNode *n = add_layer (g, op, name, 1, &x, 4, shape);
  n->d.plane.nc = t.shape[0] * t.shape[1];
  n->d.plane.h = t.shape[2];
  n->d.plane.w = t.shape[3];
  return n->out;
}

int
pf_graph_concat (PfGraph *g, const char *name, int k, const int *xs)
{
  if (k < 1 || k > PF_MAX_INPUTS)
    {
      fail (g, name, "concat of %d inputs (1..%d supported)", k, PF_MAX_INPUTS);
      return -1;
    }
  for (int i = 0; i < k; i++)
    if (!check_in (g, name, xs[i], 4))
      return -1;
  PfTensor *t0 = _pf_t (g, xs[0]);
  int csum = 0;
  for (int i = 0; i < k; i++)
    {
      PfTensor *t = _pf_t (g, xs[i]);
      if (t->shape[0] != t0->shape[0] || t->shape[2] != t0->shape[2] || t->shape[3] != t0->shape[3])
        {
          fail (g, name, "cannot concatenate %s and %s along channels", PF_SHAPE (t0), PF_SHAPE (t));
          return -1;
        }
      csum += t->shape[1];
    }
  int shape[4] = { t0->shape[0], csum, t0->shape[2], t0->shape[3] };
  PfNode *n = add_layer (g, PF_OP_CONCAT, name, k, xs, 4, shape);
  n->d.concat.n = shape[0];
  n->d.concat.hw = shape[2] * shape[3];
  n->d.concat.k = k;
  for (int i = 0; i < k; i++)
    n->d.concat.c[i] = _pf_t (g, xs[i])->shape[1];
  return n->out;
}

int
pf_graph_gather_channels (PfGraph *g, const char *name, int x, int k, const int *idx)
{
  PfTensor t;
  if (!read_in (g, name, x, 4, &t))
    return -1;
  if (k < 1 || k > PF_MAX_INPUTS)
    {
      fail (g, name, "gather of %d channels (1..%d supported)", k, PF_MAX_INPUTS);
      return -1;
    }
  for (int i = 0; i < k; i++)
    if (idx[i] < 0 || idx[i] >= t.shape[1])
      {
        fail (g, name, "channel %d out of range for input %s", idx[i], PF_SHAPE (&t));
        return -1;
      }
  int shape[4] = { t.shape[0], k, t.shape[2], t.shape[3] };
  PfNode *n = add_layer (g, PF_OP_GATHER, name, 1, &x, 4, shape);
  n->d.gather.n = t.shape[0];
  n->d.gather.c = t.shape[1];
  n->d.gather.hw = t.shape[2] * t.shape[3];
  n->d.gather.k = k;
  memcpy (n->d.gather.idx, idx, k * sizeof (int));
  return n->out;
}

int
pf_graph_channel_scale (PfGraph *g, const char *name, int x, int s)
{
  PfTensor t, ts;
  if (!read_in (g, name, x, 4, &t) || !read_in (g, name, s, 2, &ts))
    return -1;
  if (ts.shape[0] != t.shape[0] || ts.shape[1] != t.shape[1])
    {
      fail (g, name, "cannot scale %s by %s", PF_SHAPE (&t), PF_SHAPE (&ts));
      return -1;
    }
  int in[2] = { x, s };
  PfNode *n = add_layer (g, PF_OP_CHANNEL_SCALE, name, 2, in, 4, t.shape);
  n->d.chan.n = t.shape[0];
  n->d.chan.c = t.shape[1];
  n->d.chan.hw = t.shape[2] * t.shape[3];
  return n->out;
}

/* A view of the whole of x as one channel, scaled by a [1, 1] view of gamma: the channel scale
 * op does the work and gives gamma its gradient, so every backend runs this with ops it has. */
int
pf_graph_scalar_gain (PfGraph *g, const char *name, int x)
{
  PfTensor t;
  if (!read_in (g, name, x, 0, &t))
    return -1;
  if (t.numel > INT_MAX)
    {
      fail (g, name, "%s has too many elements for a scalar gain", PF_SHAPE (&t));
      return -1;
    }
  int one = 1, s_shape[2] = { 1, 1 }, flat[4] = { 1, 1, (int) t.numel, 1 };
  int gamma = add_param (g, name, "gamma", 1, &one, PF_TENSOR_PARAM, PF_PARAM_INIT_ZEROS, 0);
  int s = pf_graph_reshape (g, gamma, 2, s_shape);
  char *node = g_strconcat (name, ".gain", NULL);
  int y = pf_graph_channel_scale (g, node, pf_graph_reshape (g, x, 4, flat), s);
  g_free (node);
  return pf_graph_reshape (g, y, t.ndim, t.shape);
}

int
pf_graph_global_avgpool (PfGraph *g, int x)
{
  PfTensor t;
  if (!read_in (g, "avgpool", x, 4, &t))
    return -1;
  int shape[2] = { t.shape[0], t.shape[1] };
  PfNode *n = add_layer (g, PF_OP_GLOBAL_AVGPOOL, "avgpool", 1, &x, 2, shape);
  n->d.chan.n = t.shape[0];
  n->d.chan.c = t.shape[1];
  n->d.chan.hw = t.shape[2] * t.shape[3];
  return n->out;
}

int
pf_graph_linear (PfGraph *g, const char *name, int x, int in, int out, bool bias)
{
  PfTensor t;
  if (!read_in (g, name, x, 0, &t))
    return -1;
  if (t.shape[t.ndim - 1] != in)
    {
      fail (g, name, "Linear(%d -> %d) expects last dimension %d, got input %s", in, out, in, PF_SHAPE (&t));
      return -1;
    }
  int shape[PF_MAX_DIMS];
  memcpy (shape, t.shape, sizeof shape);
  shape[t.ndim - 1] = out;
  int wshape[2] = { out, in };
  int w = add_param (g, name, "weight", 2, wshape, PF_TENSOR_PARAM, PF_PARAM_INIT_KAIMING, in);
  int b = bias ? add_param (g, name, "bias", 1, &out, PF_TENSOR_PARAM, PF_PARAM_INIT_BIAS, in) : -1;
  PfNode *n = add_layer (g, PF_OP_LINEAR, name, 1, &x, t.ndim, shape);
  n->d.linear.m = (int) (t.numel / in);
  n->d.linear.in = in;
  n->d.linear.out = out;
  n->w = w;
  n->b = b;
  return n->out;
}

int
pf_graph_bmm (PfGraph *g, const char *name, int a, int b, bool ta, bool tb)
{
  PfTensor A, B;
  if (!read_in (g, name, a, 3, &A) || !read_in (g, name, b, 3, &B))
    return -1;
  int m = ta ? A.shape[2] : A.shape[1], ka = ta ? A.shape[1] : A.shape[2];
  int kb = tb ? B.shape[2] : B.shape[1], nn = tb ? B.shape[1] : B.shape[2];
  if (A.shape[0] != B.shape[0] || ka != kb)
    {
      fail (g, name, "cannot multiply %s%s by %s%s", PF_SHAPE (&A), ta ? "^T" : "", PF_SHAPE (&B),
            tb ? "^T" : "");
      return -1;
    }
  int shape[3] = { A.shape[0], m, nn };
  int in[2] = { a, b };
  PfNode *n = add_layer (g, PF_OP_BMM, name, 2, in, 3, shape);
  n->d.bmm.batch = A.shape[0];
  n->d.bmm.m = m;
  n->d.bmm.n = nn;
  n->d.bmm.k = ka;
  n->d.bmm.ta = ta;
  n->d.bmm.tb = tb;
  return n->out;
}

int
pf_graph_softmax (PfGraph *g, int x, float scale)
{
  int y = unary (g, PF_OP_SOFTMAX, "softmax", x);
  if (y < 0)
    return -1;
  PfTensor t = *_pf_t (g, x);
  PfNode *n = _pf_n (g, g->nodes->len - 1);
  n->d.softmax.cols = t.shape[t.ndim - 1];
  n->d.softmax.rows = (int) (t.numel / n->d.softmax.cols);
  n->d.softmax.scale = scale;
  return y;
}

int
pf_graph_permute (PfGraph *g, int x, int ndim, const int *perm)
{
  PfTensor t;
  if (!read_in (g, "permute", x, ndim, &t))
    return -1;
  int shape[PF_MAX_DIMS] = { 0 };
  guint seen = 0;
  for (int i = 0; i < ndim; i++)
    {
      if (perm[i] < 0 || perm[i] >= ndim || (seen & (1u << perm[i])))
        {
          fail (g, "permute", "invalid permutation for a %d-d tensor", ndim);
          return -1;
        }
      seen |= 1u << perm[i];
      shape[i] = t.shape[perm[i]];
    }
  PfNode *n = add_layer (g, PF_OP_PERMUTE, "permute", 1, &x, ndim, shape);
  n->d.permute.ndim = ndim;
  memcpy (n->d.permute.shape, t.shape, sizeof n->d.permute.shape);
  memcpy (n->d.permute.perm, perm, ndim * sizeof (int));
  return n->out;
}

int
pf_graph_reshape (PfGraph *g, int x, int ndim, const int *shape)
{
  PfTensor t;
  if (!read_in (g, "reshape", x, 0, &t))
    return -1;
  size_t numel = 1;
  for (int i = 0; i < ndim; i++)
    numel *= (size_t) shape[i];
  if (numel != t.numel || ndim > PF_MAX_DIMS)
    {
      fail (g, "reshape", "cannot reshape %s to %d dims of %zu elements", PF_SHAPE (&t), ndim, numel);
      return -1;
    }
  /* A view: same storage, no work in either direction. */
  PfNode *n = add_layer (g, PF_OP_RESHAPE, "reshape", 1, &x, ndim, shape);
  _pf_t (g, n->out)->alias_of = x;
  n->skip = true;
  return n->out;
}

/* An optional state tensor must be [L, B, H]. */
static gboolean
check_state (PfGraph *g, const char *name, const char *what, int s, int l, int b, int h)
{
  if (s < 0)
    return TRUE;
  if (!check_in (g, name, s, 3))
    return FALSE;
  PfTensor t = *_pf_t (g, s);
  if (t.shape[0] != l || t.shape[1] != b || t.shape[2] != h)
    {
      fail (g, name, "LSTM(%d layers, hidden %d) expects %s [%d, %d, %d], got %s", l, h, what, l, b,
            h, PF_SHAPE (&t));
      return FALSE;
    }
  return TRUE;
}

int
pf_graph_lstm (PfGraph *g, const char *name, int x, int hidden, int layers, int h0, int c0,
               int *hn, int *cn)
{
  if (hn)
    *hn = -1;
  if (cn)
    *cn = -1;
  if (!check_in (g, name, x, 3))
    return -1;
  PfTensor t = *_pf_t (g, x);
  PfLstmDesc d = { t.shape[0], t.shape[1], t.shape[2], hidden, layers };
  if (hidden <= 0 || layers <= 0 || !pf_lstm_desc_valid (&d))
    {
      fail (g, name, "LSTM(hidden %d, %d layers) cannot take input %s", hidden, layers, PF_SHAPE (&t));
      return -1;
    }
  if (!check_state (g, name, "h0", h0, layers, d.batch, hidden) ||
      !check_state (g, name, "c0", c0, layers, d.batch, hidden))
    return -1;
  /* torch's parameter order, consecutive ids: the backends address them as one flat buffer */
  static const char *const kinds[4] = { "weight_ih_l", "weight_hh_l", "bias_ih_l", "bias_hh_l" };
  int w = -1;
  for (int l = 0; l < layers; l++)
    for (int k = 0; k < 4; k++)
      {
        int in_k = l == 0 ? d.input_size : hidden;
        int shape[2] = { 4 * hidden, k == 0 ? in_k : hidden };
        char *suffix = g_strdup_printf ("%s%d", kinds[k], l);
        /* every LSTM parameter starts as U(+-1/sqrt(hidden)): fan_in = hidden */
        int id = add_param (g, name, suffix, k < 2 ? 2 : 1, shape, PF_TENSOR_PARAM,
                            k < 2 ? PF_PARAM_INIT_KAIMING : PF_PARAM_INIT_BIAS, hidden);
        g_free (suffix);
        if (w < 0)
          w = id;
      }
  size_t ws_floats = pf_lstm_workspace_size (&d);
  if (ws_floats > (size_t) G_MAXINT)
    {
      fail (g, name, "LSTM workspace of %zu floats is too large", ws_floats);
      return -1;
    }
  int ws_shape[1] = { (int) ws_floats };
  int ws = add_tensor (g, PF_TENSOR_SAVED, name, 1, ws_shape);
  int yshape[3] = { d.batch, d.seq_len, hidden };
  int y = activation_like (g, name, 3, yshape);
  int sshape[3] = { layers, d.batch, hidden };
  int hn_id = hn ? activation_like (g, name, 3, sshape) : -1;
  int cn_id = cn ? activation_like (g, name, 3, sshape) : -1;
  int in[3] = { x, -1, -1 }, n_in = 1;
  if (h0 >= 0)
    in[n_in++] = h0;
  if (c0 >= 0)
    in[n_in++] = c0;
  PfNode *n = add_node (g, PF_OP_LSTM, name, n_in, in);
  n->d.lstm.desc = d;
  n->d.lstm.h0 = h0;
  n->d.lstm.c0 = c0;
  n->d.lstm.hn = hn_id;
  n->d.lstm.cn = cn_id;
  n->w = w;
  n->saved[0] = ws;
  n->out = y;
  if (hn)
    *hn = hn_id;
  if (cn)
    *cn = cn_id;
  return y;
}

void
pf_graph_set_output (PfGraph *g, int y)
{
  if (y >= 0)
    g->output = y;
}

int pf_graph_n_tensors (const PfGraph *g) { return (int) g->tensors->len; }
PfTensor *pf_graph_tensor (PfGraph *g, int id) { return _pf_t (g, id); }
int pf_graph_n_nodes (const PfGraph *g) { return (int) g->nodes->len; }
PfNode *pf_graph_node (PfGraph *g, int i) { return _pf_n (g, i); }
int pf_graph_input_id (const PfGraph *g) { return g->input; }
int pf_graph_output_id (const PfGraph *g) { return g->output; }
const char *pf_graph_model_name (const PfGraph *g) { return g->model_name; }

static bool
node_reads (const PfNode *n, int t)
{
  if (n->op == PF_OP_LSTM && (n->d.lstm.h0 == t || n->d.lstm.c0 == t))
    return true;
  for (int k = 0; k < n->n_in; k++)
    if (n->in[k] == t)
      return true;
  return false;
}

PfNode *
pf_graph_sole_reader (PfGraph *g, int t)
{
  PfNode *reader = NULL;
  for (guint i = 0; i < g->nodes->len; i++)
    {
      PfNode *n = _pf_n (g, i);
      if (!node_reads (n, t))
        continue;
      if (reader)
        return NULL;
      reader = n;
    }
  return reader;
}

PfNode *
pf_graph_producer (PfGraph *g, int t)
{
  for (guint i = 0; i < g->nodes->len; i++)
    {
      PfNode *n = _pf_n (g, i);
      if (n->out == t || (n->op == PF_OP_LSTM && (n->d.lstm.hn == t || n->d.lstm.cn == t)))
        return n;
    }
  return NULL;
}

int
pf_graph_find (const PfGraph *g, const char *name)
{
  for (guint i = 0; i < g->tensors->len; i++)
    {
      const PfTensor *t = &g_array_index (g->tensors, PfTensor, i);
      if ((t->kind == PF_TENSOR_PARAM || t->kind == PF_TENSOR_BUFFER) && !strcmp (t->name, name))
        return (int) i;
    }
  return -1;
}

size_t
pf_graph_n_params (const PfGraph *g)
{
  size_t n = 0;
  for (guint i = 0; i < g->tensors->len; i++)
    {
      const PfTensor *t = &g_array_index (g->tensors, PfTensor, i);
      if (t->kind == PF_TENSOR_PARAM)
        n += t->numel;
    }
  return n;
}

double
pf_graph_forward_flops (const PfGraph *g)
{
  double f = 0;
  for (guint i = 0; i < g->nodes->len; i++)
    {
      const PfNode *n = &g_array_index (g->nodes, PfNode, i);
      const PfTensor *y = &g_array_index (g->tensors, PfTensor, n->out);
      switch (n->op)
        {
        case PF_OP_CONV2D:
          f += 2.0 * y->numel * n->d.conv2d.c_in * n->d.conv2d.kh * n->d.conv2d.kw;
          break;
        case PF_OP_CONV3D:
          f += 2.0 * y->numel * n->d.conv3d.c_in * n->d.conv3d.kd * n->d.conv3d.kh * n->d.conv3d.kw;
          break;
        case PF_OP_LINEAR:
          f += 2.0 * y->numel * n->d.linear.in;
          break;
        case PF_OP_BMM:
          f += 2.0 * y->numel * n->d.bmm.k;
          break;
        case PF_OP_LSTM:
          {
            /* 4H gates from input and state per step and layer, plus the cell update */
            const PfLstmDesc *d = &n->d.lstm.desc;
            double steps = (double) d->batch * d->seq_len;
            f += steps * 8.0 * d->hidden_size * (d->input_size + d->hidden_size);
            f += (d->num_layers - 1) * steps * 8.0 * d->hidden_size * 2 * d->hidden_size;
            f += d->num_layers * steps * 10.0 * d->hidden_size;
            break;
          }
        default:
          f += y->numel; /* elementwise-like */
        }
    }
  return f;
}
