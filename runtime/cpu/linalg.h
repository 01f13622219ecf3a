// Linalg-family kernels of the cpu provider: factories and the batched matmul shape plan.
#pragma once

#include <cstdint>
#include <vector>

#include "lib/status.h"
#include "runtime/cpu/reduce.h"  // element conversions, parallel_ranges, normalize_axis
#include "runtime/kernel.h"

namespace ortool::rt::cpu {

// Shapes of a numpy-style matmul: 1-D operands promoted (and the added dim dropped from the
// output), batch dims broadcast. Batch b multiplies A at a_offsets[b] (M x K, row-major) by B at
// b_offsets[b] (K x N) into the output at b * M * N.
struct MatMulPlan {
  int64_t M = 0, K = 0, N = 0;
  std::vector<int64_t> out_dims;
  std::vector<int64_t> a_offsets, b_offsets;
};
// Error message (without node context) when the shapes do not multiply.
Result<MatMulPlan> plan_matmul(const std::vector<int64_t>& a, const std::vector<int64_t>& b);

// Quantization parameters applied along one axis: per tensor (one value), per axis (one value per
// index of `axis`), or blocked (opset 21: `block` consecutive indices along `axis` share a value).
struct QuantParamLayout {
  int64_t outer = 1, axis_dim = 1, inner = 1;  // x viewed as [outer, axis_dim, inner]
  int64_t per_axis = 1;                        // number of parameter slots along the axis (1: per tensor)
  int64_t block = 0;                           // > 0: blocked
  bool per_tensor = true;
  // Index of the parameter for element i of x.
  int64_t index(int64_t i) const {
    if (per_tensor) return 0;
    const int64_t o = i / (axis_dim * inner), a = (i / inner) % axis_dim, in = i % inner;
    if (block > 0) return (o * per_axis + a / block) * inner + in;
    return a;
  }
};

KernelFactory matmul_kernel();
KernelFactory gemm_kernel();
KernelFactory matmul_integer_kernel();
KernelFactory qlinear_matmul_kernel();
KernelFactory einsum_kernel();
KernelFactory quantize_linear_kernel();
KernelFactory dequantize_linear_kernel();
KernelFactory dynamic_quantize_linear_kernel();
KernelFactory det_kernel();
KernelFactory attention_kernel();         // attention.cpp
KernelFactory rotary_embedding_kernel();  // rotary_embedding.cpp

}  // namespace ortool::rt::cpu
