// Registration functions of the cpu provider's kernel families, one per group of files.
#pragma once

#include "runtime/registry.h"

namespace ortool::rt::cpu {

void register_elementwise_kernels(KernelRegistry& r);   // math, logic, activations, Cast, Softmax, ...
void register_reduce_kernels(KernelRegistry& r);        // reductions, normalizations, ArgMax, TopK, CumSum
void register_linalg_kernels(KernelRegistry& r);        // MatMul, Gemm, Einsum, quantization ops
void register_conv_kernels(KernelRegistry& r);          // Conv, ConvTranspose, pooling, Resize, ...
void register_tensor_kernels(KernelRegistry& r);        // shape, indexing, data movement, generators
void register_control_kernels(KernelRegistry& r);       // If, Loop, Scan, sequences, optionals
void register_rnn_kernels(KernelRegistry& r);           // RNN, LSTM, GRU
void register_misc_kernels(KernelRegistry& r);          // random, strings, training ops, others
void register_qlinear_kernels(KernelRegistry& r);       // com.microsoft quantized ops (QLinearAdd, QGemm, ...)

}  // namespace ortool::rt::cpu
