/* pf-graph.h — the static computation graph of the training core.
 *
 * A model is built once for a batch shape with the pf_graph_* builder calls, then planned:
 * every tensor (activations, parameters, gradients, optimiser moments, saved statistics) gets its
 * place in a few arenas allocated once, and each node is bound to the first backend that
 * supports it. Forward and backward then run many times without allocating.
 *
 * Builder calls never fail loudly: a wrong shape records the first error (naming the layer and
 * both shapes), returns -1, and later calls with -1 inputs are ignored; pf_graph_plan reports it. */
#pragma once
#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "pf-ops.h"
#include "pf-lstm.h"

G_BEGIN_DECLS

#define PF_MAX_DIMS 6
#define PF_MAX_INPUTS 8

typedef enum {
  PF_TENSOR_ACTIVATION, /* computed by a node; has a gradient in training */
  PF_TENSOR_INPUT,      /* filled by the caller; no gradient */
  PF_TENSOR_PARAM,      /* trainable; state_dict name; gradient and Adam moments */
  PF_TENSOR_BUFFER,     /* persistent, not trained (BN running statistics); state_dict name */
  PF_TENSOR_SAVED,      /* per-step scratch a node keeps for its backward (BN mean/invstd, masks) */
} PfTensorKind;

/* How a parameter or buffer starts (PyTorch's defaults for the layer that owns it). */
typedef enum {
  PF_PARAM_INIT_KAIMING, /* conv/linear weight: kaiming_uniform(a=sqrt(5)) = U(+-1/sqrt(fan_in)) */
  PF_PARAM_INIT_BIAS,    /* conv/linear bias: U(+-1/sqrt(fan_in)) */
  PF_PARAM_INIT_ONES,    /* BN weight, running_var */
  PF_PARAM_INIT_ZEROS,   /* BN bias, running_mean */
} PfParamInit;

typedef struct {
  PfTensorKind kind;
  int ndim;
  int shape[PF_MAX_DIMS];
  size_t numel;
  char *name;     /* state_dict name for params and buffers, else the producing layer */
  int alias_of;   /* >= 0: shares storage (data and grad) with that tensor (fused in-place ops) */
  float *data;    /* set by pf_graph_plan (device memory for a GPU backend) */
  float *grad;    /* NULL when no gradient is needed */
  int init_fan_in;   /* parameters: fan-in for PyTorch's default initialisation (0 = BN weight/bias) */
  PfParamInit init_kind;
} PfTensor;

typedef enum {
  PF_OP_CONV2D,
  PF_OP_CONV3D,
  PF_OP_BATCHNORM,
  PF_OP_RELU,
  PF_OP_LEAKY_RELU,
  PF_OP_SIGMOID,
  PF_OP_ADD,
  PF_OP_DROPOUT,
  PF_OP_MAXPOOL2,
  PF_OP_UPSAMPLE_NEAREST2,
  PF_OP_UPSAMPLE_BILINEAR2,
  PF_OP_CONCAT,
  PF_OP_GATHER,
  PF_OP_CHANNEL_SCALE,
  PF_OP_GLOBAL_AVGPOOL,
  PF_OP_LINEAR,
  PF_OP_BMM,
  PF_OP_SOFTMAX,
  PF_OP_PERMUTE,
  PF_OP_RESHAPE,
  PF_OP_LSTM,
  PF_OP_COUNT
} PfOpKind;

const char *pf_op_name (PfOpKind op);

typedef struct PfBackend PfBackend;

typedef struct {
  PfOpKind op;
  char *name;                 /* layer name, e.g. "encoder.0" */
  int n_in;
  int in[PF_MAX_INPUTS];      /* tensor ids */
  int out;
  int w, b;                   /* parameter tensors (weight/gamma, bias/beta) or -1 */
  int buf[2];                 /* buffers (running mean, running var) or -1 */
  int saved[2];               /* saved tensors (BN mean/invstd, argmax, dropout mask) or -1 */
  union {
    PfConv2dDesc conv2d;
    PfConv3dDesc conv3d;
    PfBatchNormDesc bn;
    struct { int m, in, out; } linear;
    struct { int batch, m, n, k; bool ta, tb; } bmm;
    struct { int rows, cols; float scale; } softmax;
    struct { int n, c, hw; } chan;          /* channel scale, global avgpool */
    struct { int nc, h, w; } plane;         /* pooling, up-sampling */
    struct { int n, hw, k; int c[PF_MAX_INPUTS]; } concat;
    struct { int n, c, hw, k; int idx[PF_MAX_INPUTS]; } gather;
    struct { int ndim; int shape[PF_MAX_DIMS]; int perm[PF_MAX_DIMS]; } permute;
    struct { float p; uint64_t seed; } dropout;
    struct { float slope; } leaky;
    /* in[0] = x; the parameters are the 4L tensors from w on, in torch's order (weight_ih_l0,
     * weight_hh_l0, bias_ih_l0, bias_hh_l0, weight_ih_l1, ...); saved[0] is the workspace.
     * h0, c0 (inputs) and hn, cn (extra outputs) are tensor ids or -1. */
    struct { PfLstmDesc desc; int h0, c0, hn, cn; } lstm;
  } d;
  bool relu_after;            /* a ReLU fused into this node's output (set by the planner) */
  bool skip;                  /* folded into its producer (a fused ReLU): nothing to run */
  bool set_dx;                /* backward WRITES in[0]'s gradient (its only writer; planner) */
  const PfBackend *backend;   /* chosen by pf_graph_plan */
  void *plan;                 /* backend-private state (oneDNN/cuDNN plans) */
} PfNode;

typedef struct PfGraph PfGraph;

PfGraph *pf_graph_new (const char *model_name);
void pf_graph_free (PfGraph *g);

/* ---- building ------------------------------------------------------------------------ */
int pf_graph_input (PfGraph *g, const char *name, int ndim, const int *shape);
int pf_graph_conv2d (PfGraph *g, const char *name, int x, int c_in, int c_out, int k, int stride,
                     int pad, bool bias);
int pf_graph_conv2d_k (PfGraph *g, const char *name, int x, int c_in, int c_out, int kh, int kw,
                       int sh, int sw, int ph, int pw, bool bias);
int pf_graph_conv3d (PfGraph *g, const char *name, int x, int c_in, int c_out, int kd, int kh,
                     int kw, int pd, int ph, int pw, bool bias);
/* A Conv3d that shares the weight and bias of the layer that produced like_y (the 3D front end
 * runs the same kernels over both stacks); gradients from both uses add up. */
int pf_graph_conv3d_shared (PfGraph *g, const char *name, int x, int like_y, int pd, int ph, int pw);
int pf_graph_batchnorm (PfGraph *g, const char *name, int x, int c);
int pf_graph_relu (PfGraph *g, int x);
int pf_graph_leaky_relu (PfGraph *g, int x, float slope);
int pf_graph_sigmoid (PfGraph *g, int x);
int pf_graph_add (PfGraph *g, const char *name, int a, int b);
int pf_graph_dropout (PfGraph *g, int x, float p);
int pf_graph_maxpool2 (PfGraph *g, int x);
int pf_graph_upsample2 (PfGraph *g, int x, bool bilinear);
int pf_graph_concat (PfGraph *g, const char *name, int k, const int *xs);
int pf_graph_gather_channels (PfGraph *g, const char *name, int x, int k, const int *idx);
int pf_graph_channel_scale (PfGraph *g, const char *name, int x, int s);
/* y = gamma * x, gamma one learnt scalar "<name>.gamma" (shape [1]) that starts at 0: the gain
 * of SAGAN's attention block (Zhang et al. 2019), which lets a network start without a branch
 * and grow it. */
int pf_graph_scalar_gain (PfGraph *g, const char *name, int x);
int pf_graph_global_avgpool (PfGraph *g, int x);
int pf_graph_linear (PfGraph *g, const char *name, int x, int in, int out, bool bias);
int pf_graph_bmm (PfGraph *g, const char *name, int a, int b, bool ta, bool tb);
int pf_graph_softmax (PfGraph *g, int x, float scale);
int pf_graph_permute (PfGraph *g, int x, int ndim, const int *perm);
int pf_graph_reshape (PfGraph *g, int x, int ndim, const int *shape);
/* torch.nn.LSTM(I, hidden, layers, batch_first=True): x [B, T, I] -> y [B, T, hidden].
 * h0, c0: initial states [layers, B, hidden] (tensor ids), or -1 for zeros. hn, cn: when not
 * NULL, receive the ids of the final states [layers, B, hidden], extra outputs of the node that
 * later layers may read (their gradients flow back through the LSTM). Parameters are named like
 * torch's, "<name>.weight_ih_l0" ..., and start as U(+-1/sqrt(hidden)); the workspace that
 * backpropagation through time reads is a saved tensor. */
int pf_graph_lstm (PfGraph *g, const char *name, int x, int hidden, int layers, int h0, int c0,
                   int *hn, int *cn);
void pf_graph_set_output (PfGraph *g, int y);

/* The first building error, or NULL. */
const GError *pf_graph_error (const PfGraph *g);

/* ---- planning and running -------------------------------------------------------------- */
typedef enum { PF_DEVICE_CPU, PF_DEVICE_CUDA } PfDevice;

typedef struct {
  PfDevice device;
  bool training;       /* allocate gradients, saved tensors, optimiser moments */
  bool reference_only; /* CPU: use the plain reference ops only (tests) */
  uint64_t seed;       /* parameter initialisation and dropout */
} PfPlanOptions;

gboolean pf_graph_plan (PfGraph *g, const PfPlanOptions *opts, GError **error);

/* Training mode (batch statistics, dropout) or inference mode (running statistics). */
void pf_graph_set_training (PfGraph *g, bool training);
void pf_graph_forward (PfGraph *g);
/* Waits for the work queued on the graph's device (a GPU runs it asynchronously); FALSE with
 * the first error raised there. Immediate on the CPU. */
gboolean pf_graph_synchronize (PfGraph *g, GError **error);
/* Zeroes every gradient, seeds the output gradient from `dout` (device memory like the
 * tensors, or NULL when the caller already wrote output's grad), and runs the backward pass. */
void pf_graph_backward (PfGraph *g);
void pf_graph_zero_grad (PfGraph *g);

/* Per-layer timing (accumulated over the passes run while on), for `pflow bench train --profile`. */
void pf_graph_set_profiling (PfGraph *g, bool on);
void pf_graph_print_profile (PfGraph *g, FILE *out);

/* Introspection. */
int pf_graph_n_tensors (const PfGraph *g);
PfTensor *pf_graph_tensor (PfGraph *g, int id);
int pf_graph_n_nodes (const PfGraph *g);
PfNode *pf_graph_node (PfGraph *g, int i);
int pf_graph_input_id (const PfGraph *g);
int pf_graph_output_id (const PfGraph *g);
const char *pf_graph_model_name (const PfGraph *g);
size_t pf_graph_n_params (const PfGraph *g);     /* trainable scalars */
/* Length of the flat parameter, gradient and Adam arrays, alignment padding included. */
size_t pf_graph_param_floats (const PfGraph *g);
/* All parameters live contiguously: one flat array (and its gradient, Adam m and v), so the
 * optimiser is a single call. */
float *pf_graph_param_data (PfGraph *g);
float *pf_graph_param_grad (PfGraph *g);
float *pf_graph_adam_m (PfGraph *g);
float *pf_graph_adam_v (PfGraph *g);
/* The one node that reads tensor t (an LSTM's h0 and c0 count, and so does a skipped node,
 * such as a reshape's view), or NULL when none or several do: what a backend checks before it
 * fuses a producer into its reader. */
PfNode *pf_graph_sole_reader (PfGraph *g, int t);
/* The node that writes tensor t (an LSTM's hn and cn included), or NULL for an input,
 * parameter or buffer. */
PfNode *pf_graph_producer (PfGraph *g, int t);
/* The tensor id of a parameter or buffer by state_dict name, or -1. */
int pf_graph_find (const PfGraph *g, const char *name);
/* Bytes held by the arenas (for reports). */
size_t pf_graph_arena_bytes (const PfGraph *g);
/* Floating-point operations of one forward pass (multiply-adds count 2). */
double pf_graph_forward_flops (const PfGraph *g);

G_END_DECLS
