// Shared pieces of the reference kernels for ONNX Runtime's com.microsoft quantized ops (QLinearAdd,
// QLinearMul, QLinearConcat, QLinearGlobalAveragePool, QLinearSigmoid, QLinearLeakyRelu, QLinearSoftmax,
// QGemm): per-tensor parameters, and the dequantize -> float op -> quantize path every one of them
// follows (the reference semantics; ONNX Runtime's fast kernels agree within a rounding step).
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "lib/tensor.h"
#include "runtime/kernel.h"
#include "runtime/registry.h"

namespace ortool::rt::qdq {
struct AddGroup;
struct GapGroup;
}

namespace ortool::rt::cpu::qlinear {

// One tensor's scale and zero point.
struct QParam {
  float scale = 1.0f;
  int32_t zero_point = 0;
};

// An 8-bit (uint8 or int8) input; errors name the node and `what`.
Result<const Tensor*> q8_input(const KernelContext& ctx, size_t i, std::string_view what);
// The per-tensor parameters of inputs `scale_input` (float32, one element) and `zp_input` (absent: 0;
// else one element of `type`).
Result<QParam> read_param(const KernelContext& ctx, size_t scale_input, size_t zp_input, DType type,
                          std::string_view what);
// (x - zero_point) * scale as floats.
std::vector<float> dequantize(const Tensor& x, const QParam& p);
// q = clamp(round_half_even(y / scale) + zero_point) into `out` (uint8 or int8), as QuantizeLinear does.
void quantize_into(const float* y, const QParam& p, Tensor& out);

KernelFactory qlinear_add_kernel();
// A "DQ, DQ -> Add -> Q" group (runtime/qdq_add_group.h) in QLinearAdd's arithmetic, in the plain
// layout (any broadcast); run_add_group is its step, for providers that wrap it.
KernelFactory qdq_add_group_kernel(const qdq::AddGroup& g);
struct AddForm;
Status run_add_group(KernelContext& ctx, const qdq::AddGroup& g, const AddForm& f);
// A "DQ -> GlobalAveragePool -> Q" group (runtime/qdq_gap_group.h) as QLinearGlobalAveragePool computes it.
KernelFactory qdq_gap_group_kernel(const qdq::GapGroup& g);
KernelFactory qlinear_mul_kernel();
KernelFactory qlinear_sigmoid_kernel();
KernelFactory qlinear_leaky_relu_kernel();
KernelFactory qlinear_concat_kernel();
KernelFactory qlinear_global_average_pool_kernel();
KernelFactory qlinear_softmax_kernel();
KernelFactory qgemm_kernel();

}  // namespace ortool::rt::cpu::qlinear
