/* pf-device.h — which device trains: the command line and the workbench pick the GPU when one
 * is usable (a CUDA build, a driver and a device) and say which one runs. GTK-free. */
#pragma once
#include <glib.h>
#include "pf-graph.h"

G_BEGIN_DECLS

/* want: "auto" (the GPU when usable, else the CPU), "cpu" or "cuda". On success *device is
 * set and *what (may be NULL) describes the choice in words, e.g. "GPU: NVIDIA H100 80GB HBM3
 * (cuDNN/cuBLAS)" or "CPU (oneDNN/OpenBLAS; no GPU: <why>)". "cuda" without a usable GPU, or
 * an unknown name, is an error. */
gboolean pf_device_pick (const char *want, PfDevice *device, char **what, GError **error);

/* name: "fp32" (NULL means it), "tf32" or "bf16": how the GPU's convolutions and matrix
 * products compute, for the graphs planned from now on (pf-cuda.h, PfCudaPrecision). The CPU
 * has only fp32: another name there is an error, as is an unknown name. */
gboolean pf_device_set_precision (PfDevice device, const char *name, GError **error);

G_END_DECLS
