/* selftest.c — the mock's own checks fire: each call below is wrong on purpose, and the
 * trace must carry the flag named beside it (selftest.sh compares). Linked against the mock
 * directly, no GPU and no real CUDA library involved. */
#include <stdio.h>
#include <cuda_runtime_api.h>
#include <cudnn.h>
#include <cublas_v2.h>

int
main (void)
{
  cudaStream_t s;
  cudaStreamCreateWithFlags (&s, cudaStreamNonBlocking);
  float *a, *b, *c;
  cudaMalloc ((void **) &a, 64 * sizeof (float));
  cudaMalloc ((void **) &b, 64 * sizeof (float));
  cudaMalloc ((void **) &c, 16 * sizeof (float));
  float host[64] = { 0 };

  /* !OOB: 64 floats into a 16-float buffer */
  cudaMemcpyAsync (c, host, sizeof host, cudaMemcpyHostToDevice, s);

  /* !UNSAFE-IN-CAPTURE: cudaMalloc while capturing; !PAGEABLE-IN-CAPTURE */
  cudaGraph_t g;
  cudaStreamBeginCapture (s, cudaStreamCaptureModeThreadLocal);
  float *d;
  cudaMalloc ((void **) &d, 4);
  cudaMemcpyAsync (a, host, 16, cudaMemcpyHostToDevice, s);
  cudaStreamEndCapture (s, &g);

  /* !GRAPH-USES-FREED: a graph replayed after a buffer it writes was freed */
  float *e;
  cudaMalloc ((void **) &e, 64);
  cudaGraph_t g2;
  cudaGraphExec_t x2;
  cudaStreamBeginCapture (s, cudaStreamCaptureModeThreadLocal);
  cudaMemsetAsync (e, 0, 64, s);
  cudaStreamEndCapture (s, &g2);
  cudaGraphInstantiate (&x2, g2, 0);
  cudaFree (e);
  cudaGraphLaunch (x2, s);

  /* cuBLAS: !OOB(C) (C is 16 floats, 8 x 8 written) and !INVALID-TYPE-COMBINATION */
  cublasHandle_t h;
  cublasCreate (&h);
  cublasSetStream (h, s);
  const float one = 1.0f, zero = 0.0f;
  cublasSgemm (h, CUBLAS_OP_N, CUBLAS_OP_N, 8, 8, 8, &one, a, 8, b, 8, &zero, c, 8);
  cublasGemmEx (h, CUBLAS_OP_N, CUBLAS_OP_N, 8, 8, 8, &one, a, CUDA_R_16BF, 8, b, CUDA_R_32F, 8,
                &zero, b, CUDA_R_32F, 8, CUBLAS_COMPUTE_32F_FAST_16BF, CUBLAS_GEMM_DEFAULT);

  /* cuDNN: a bf16 convolution left in FMA math (!FMA-MATH-ON-bf16), output over its input
   * (!OVERLAP(y,x)) */
  cudnnHandle_t dnn;
  cudnnCreate (&dnn);
  cudnnSetStream (dnn, s);
  cudnnTensorDescriptor_t xd, yd;
  cudnnFilterDescriptor_t wd;
  cudnnConvolutionDescriptor_t cd;
  cudnnCreateTensorDescriptor (&xd);
  cudnnCreateTensorDescriptor (&yd);
  cudnnCreateFilterDescriptor (&wd);
  cudnnCreateConvolutionDescriptor (&cd);
  int xdim[4] = { 1, 1, 4, 4 }, wdim[4] = { 1, 1, 1, 1 }, pad[2] = { 0, 0 }, st[2] = { 1, 1 },
      dil[2] = { 1, 1 };
  cudnnSetTensorNdDescriptorEx (xd, CUDNN_TENSOR_NCHW, CUDNN_DATA_BFLOAT16, 4, xdim);
  cudnnSetTensorNdDescriptorEx (yd, CUDNN_TENSOR_NCHW, CUDNN_DATA_BFLOAT16, 4, xdim);
  cudnnSetFilterNdDescriptor (wd, CUDNN_DATA_BFLOAT16, CUDNN_TENSOR_NCHW, 4, wdim);
  cudnnSetConvolutionNdDescriptor (cd, 2, pad, st, dil, CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT);
  cudnnSetConvolutionMathType (cd, CUDNN_FMA_MATH);
  cudnnConvolutionForward (dnn, &one, xd, a, wd, b, cd, CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM,
                           NULL, 0, &zero, yd, a);
  puts ("selftest done");
  return 0;
}
